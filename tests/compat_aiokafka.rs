//! aiokafka (pinned in tests/python/requirements.txt) against the bundled broker: each test runs
//! one script from tests/python/aiokafka_*.py with the bootstrap address of a fresh broker and
//! passes when the script exits 0; the scripts say what they check. Two tests also restart the
//! broker while (or between) the script runs: idempotent producers across SIGKILLs, and a
//! consumer group's committed offsets across a restart.
//!
//! The interpreter is `$STROM_PYTHON`, else `.venv/bin/python` in the package root. A missing
//! interpreter or package fails the test with the command that installs it; nothing is skipped.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::scripts::{manifest_dir, python_with, run_to_end, Script};
use common::BrokerProcess;

/// A script that runs longer than this fails (its loops are bounded well below it).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Fast rebalances for the group scripts: no initial delay, short sessions allowed.
const GROUP_BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n\"group.min.session.timeout.ms\" = 1000\n";

fn python() -> PathBuf {
    python_with(&[
        ("aiokafka", "aiokafka"),
        ("cramjam", "cramjam (aiokafka's snappy, lz4 and zstd codecs)"),
    ])
}

fn script(name: &str, addr: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg(manifest_dir().join("tests/python").join(name))
        .arg(addr)
        .args(args);
    cmd
}

/// Runs tests/python/`name` against a fresh broker started with `config_toml`.
fn run_script(name: &str, config_toml: Option<&str>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), config_toml);
    run_to_end(script(name, &broker.addr, &[]), name, SCRIPT_TIMEOUT, &broker);
}

#[test]
fn aiokafka_producer_and_consumer_roundtrip_every_codec_and_acks_setting() {
    run_script("aiokafka_roundtrip.py", None);
}

#[test]
fn aiokafka_admin_client_manages_topics_configs_partitions_records_and_reads_groups() {
    run_script("aiokafka_admin.py", None);
}

/// Two idempotent aiokafka producers write while the broker is SIGKILLed twice and comes back
/// on the same port: the producers resend what was not answered with the same sequence
/// numbers, and every record ends up stored exactly once, in order, at the offset it was acked
/// with (the script checks that with a consumer at the end).
#[test]
fn aiokafka_idempotent_producers_through_broker_sigkills_store_every_record_once() {
    const PER_PRODUCER: &str = "20000";
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let listen = common::free_port();
    let mut broker = BrokerProcess::start_on(&data, None, &listen);
    let name = "aiokafka_idempotent.py";
    let mut run = Script::spawn(script(name, &broker.addr, &[PER_PRODUCER]), name);
    // Kill at two points of producer "a"'s progress (it reports every 500 acks).
    for at in ["ACKED 4000", "ACKED 11000"] {
        run.wait_line(at, Duration::from_secs(90), &broker);
        broker.kill9();
        broker = broker.restart();
        assert_eq!(broker.addr, listen, "the broker came back on another address");
    }
    let out = run.finish(SCRIPT_TIMEOUT, &broker);
    let ids = common::scripts::reported(&out, "PRODUCER_ID");
    assert_eq!(ids.len(), 2, "two producers reported their ids: {ids:?}");
}

/// An aiokafka group of three rebalances through joins and a leave and commits; the broker is
/// SIGKILLed and restarted; the committed offsets are still there and a new member resumes from
/// them.
#[test]
fn aiokafka_group_rebalances_commits_and_resumes_after_a_broker_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut broker = BrokerProcess::start(&dir.path().join("data"), Some(GROUP_BROKER_TOML));
    let name = "aiokafka_group.py";
    run_to_end(script(name, &broker.addr, &["first"]), name, SCRIPT_TIMEOUT, &broker);
    broker.kill9();
    let broker = broker.restart();
    run_to_end(script(name, &broker.addr, &["resume"]), name, SCRIPT_TIMEOUT, &broker);
}
