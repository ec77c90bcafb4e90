//! Client scripts in other languages (tests/python, tests/js) run against a test broker: find
//! the interpreter, check that it has the client library, run one script to its end with a time
//! bound, and fail with its output and the broker's log.
//!
//! A missing interpreter or library fails the test with the command that installs it; nothing
//! is skipped.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::BrokerProcess;

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub const PYTHON_INSTALL: &str = "run `bash .ci/run` (it creates .venv from tests/python/requirements.txt), or \
     `python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt`, \
     or point STROM_PYTHON at a Python that has them";

/// `$STROM_PYTHON`, else `.venv/bin/python` in the package root, after checking that it can
/// import every module of `modules` (`(module, what to call it in the message)`).
pub fn python_with(modules: &[(&str, &str)]) -> PathBuf {
    let (path, origin) = match std::env::var_os("STROM_PYTHON").filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), "STROM_PYTHON"),
        None => (manifest_dir().join(".venv/bin/python"), "the default"),
    };
    if !path.exists() {
        panic!(
            "Python interpreter {} ({origin}) not found: {PYTHON_INSTALL}",
            path.display()
        );
    }
    for (module, package) in modules {
        let probe = Command::new(&path)
            .args(["-c", &format!("import {module}")])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        if !probe.status.success() {
            panic!(
                "{} cannot import {package} ({}): {PYTHON_INSTALL}",
                path.display(),
                String::from_utf8_lossy(&probe.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
            );
        }
    }
    path
}

pub const NODE_INSTALL: &str = "install Node.js and npm (`apt-get install nodejs npm`), then run `npm ci` in tests/js \
     (`bash .ci/run` does both)";

/// `node` from PATH (or `$STROM_NODE`), after checking that tests/js/node_modules has `package`.
pub fn node_with(package: &str) -> PathBuf {
    let node = std::env::var_os("STROM_NODE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"));
    let version = Command::new(&node).arg("--version").output();
    match version {
        Ok(out) if out.status.success() => {}
        _ => panic!("Node.js ({}) not found: {NODE_INSTALL}", node.display()),
    }
    let module = manifest_dir().join("tests/js/node_modules").join(package);
    if !module.join("package.json").exists() {
        panic!("{} is missing: {NODE_INSTALL}", module.display());
    }
    node
}

/// A running client script: its stdout arrives line by line (so a test can act on what the
/// script reports while it runs), its stderr is collected for the failure message.
pub struct Script {
    what: String,
    child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: JoinHandle<String>,
}

impl Script {
    /// Spawns `cmd`; `what` names it in failure messages.
    pub fn spawn(mut cmd: Command, what: &str) -> Script {
        let mut child = cmd
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout pipe");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr pipe");
        let stderr = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Script {
            what: what.to_string(),
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Waits (at most `timeout`) for a stdout line starting with `prefix` and returns it; fails
    /// the test when the script exits or the time runs out first.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration, broker: &BrokerProcess) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("printed no line {prefix:?} within {timeout:?}"), broker)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("ended before printing a line {prefix:?}"), broker)
                }
            }
        }
    }

    /// Waits (at most `timeout`) for the script to exit; returns its whole stdout when it
    /// exited 0, else fails the test with its output and the broker's log.
    pub fn finish(mut self, timeout: Duration, broker: &BrokerProcess) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the script") {
                // The reader thread ends at EOF; collect every line it sent.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.stdout.push(line);
                }
                if !status.success() {
                    self.fail(&format!("failed ({status})"), broker);
                }
                let text = self.stdout.join("\n");
                println!("{text}");
                return text;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("did not finish within {timeout:?}"), broker);
            }
            while let Ok(line) = self.lines.try_recv() {
                self.stdout.push(line);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the script and fails the test with `why`, its output and the broker's log.
    pub fn fail(&mut self, why: &str, broker: &BrokerProcess) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.stdout.push(line);
        }
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        let stderr = stderr.join().unwrap_or_default();
        panic!(
            "{} {why}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}\n--- broker log (last 40 lines) ---\n{}",
            self.what,
            self.stdout.join("\n"),
            log_tail(broker, 40)
        );
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` (a client script, given the broker's address by the caller) to its end, at most
/// `timeout`. Returns its stdout when it exits 0; otherwise fails the test with its stdout,
/// stderr and the end of the broker's log.
pub fn run_to_end(cmd: Command, what: &str, timeout: Duration, broker: &BrokerProcess) -> String {
    Script::spawn(cmd, what).finish(timeout, broker)
}

pub fn log_tail(broker: &BrokerProcess, n: usize) -> String {
    let log = broker.log_text();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The values of the lines `KEY value` a script printed, in order.
pub fn reported<'a>(stdout: &'a str, key: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(' ')))
        .collect()
}
