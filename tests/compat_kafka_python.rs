//! kafka-python (2.x, pinned in tests/python/requirements.txt) against the bundled broker: each
//! test runs one script from tests/python/ with the bootstrap address of a fresh broker, and
//! passes when the script exits 0. The scripts say what they check.
//!
//! The interpreter is `$STROM_PYTHON`, else `.venv/bin/python` in the package root. A missing
//! interpreter or package fails the test with the command that installs it; nothing is skipped.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::BrokerProcess;

/// A script that runs longer than this fails (its loops are bounded well below it).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

const HOW_TO_INSTALL: &str = "run `bash .ci/run` (it creates .venv with kafka-python and the codec packages), or \
     `python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt`, \
     or point STROM_PYTHON at a Python that has them";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let (path, origin) = match std::env::var_os("STROM_PYTHON").filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), "STROM_PYTHON"),
        None => (manifest_dir().join(".venv/bin/python"), "the default"),
    };
    if !path.exists() {
        panic!("Python interpreter {} ({origin}) not found: {HOW_TO_INSTALL}", path.display());
    }
    let probe = Command::new(&path)
        .args(["-c", "import kafka, sys; sys.stdout.write(kafka.__version__)"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    if !probe.status.success() {
        panic!(
            "{} cannot import kafka-python ({}): {HOW_TO_INSTALL}",
            path.display(),
            String::from_utf8_lossy(&probe.stderr).trim()
        );
    }
    path
}

/// Runs tests/python/`script` against a fresh broker; panics with the script's output and the
/// broker's log when it fails or runs past [`SCRIPT_TIMEOUT`].
fn run_script(script: &str) {
    run_script_with(script, None)
}

/// Fast rebalances for the group scripts: no initial delay, short sessions allowed.
const GROUP_BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n\"group.min.session.timeout.ms\" = 1000\n";

/// [`run_script`] against a broker started with `config_toml`.
fn run_script_with(script: &str, config_toml: Option<&str>) {
    let python = python();
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), config_toml);
    let path = manifest_dir().join("tests/python").join(script);
    let mut child = Command::new(&python)
        .arg(&path)
        .arg(&broker.addr)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {} {}: {e}", python.display(), path.display()));
    let readers: Vec<_> = [child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>), child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)]
        .into_iter()
        .map(|pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut p) = pipe {
                    let mut bytes = Vec::new();
                    let _ = p.read_to_end(&mut bytes);
                    text = String::from_utf8_lossy(&bytes).into_owned();
                }
                text
            })
        })
        .collect();
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut outputs = readers.into_iter().map(|r| r.join().unwrap_or_default());
    let (stdout, stderr) = (outputs.next().unwrap_or_default(), outputs.next().unwrap_or_default());
    let ok = matches!(status, Some(s) if s.success());
    if ok {
        print!("{stdout}");
    } else {
        let what = match status {
            None => format!("did not finish within {SCRIPT_TIMEOUT:?}"),
            Some(s) => format!("failed ({s})"),
        };
        let log = broker.log_text();
        let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        panic!(
            "{script} {what}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- broker log (last 40 lines) ---\n{}",
            tail.join("\n")
        );
    }
}

#[test]
fn kafka_python_producer_and_consumer_roundtrip_every_codec() {
    run_script("roundtrip.py");
}

#[test]
fn kafka_python_admin_client_creates_describes_alters_grows_and_deletes_a_topic() {
    run_script("admin.py");
}

#[test]
fn kafka_python_acks0_records_are_all_appended_in_order() {
    run_script("producer_acks0.py");
}

#[test]
fn kafka_python_group_of_three_consumes_exactly_once_and_rebalances_on_close() {
    run_script_with("group_consume.py", Some(GROUP_BROKER_TOML));
}

#[test]
fn kafka_python_admin_client_lists_describes_and_deletes_a_consumer_group() {
    run_script_with("group_admin.py", Some(GROUP_BROKER_TOML));
}
