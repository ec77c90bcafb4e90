//! kafkajs (pinned in tests/js/package.json and package-lock.json) against the bundled broker:
//! each test runs one script from tests/js/ with Node.js and the bootstrap address of a fresh
//! broker, and passes when the script exits 0; the scripts say what they check. kafkajs never
//! uses flexible versions, ignores the broker's minimum versions and refuses to work when an API
//! key it needs is missing from ApiVersions, so it checks the broker's older request versions.
//!
//! Node.js is `node` on PATH (or `$STROM_NODE`); kafkajs is tests/js/node_modules (`npm ci` in
//! tests/js). When either is missing the test fails and says how to install it; nothing is
//! skipped.

mod common;

use std::process::Command;
use std::time::Duration;

use common::scripts::{manifest_dir, node_with, run_to_end, Script};
use common::BrokerProcess;

/// A script that runs longer than this fails (each also bounds itself at 150 s).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Fast rebalances: no initial delay, short sessions allowed.
const GROUP_BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n\"group.min.session.timeout.ms\" = 1000\n";

fn script(name: &str, addr: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(node_with("kafkajs"));
    cmd.arg(manifest_dir().join("tests/js").join(name)).arg(addr).args(args);
    cmd
}

fn run_script(name: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(GROUP_BROKER_TOML));
    run_to_end(script(name, &broker.addr, &[]), name, SCRIPT_TIMEOUT, &broker);
}

#[test]
fn kafkajs_producer_and_consumer_roundtrip_with_acks_codecs_idempotence_and_seek() {
    run_script("kafkajs_roundtrip.js");
}

#[test]
fn kafkajs_admin_client_manages_topics_configs_records_offsets_and_groups() {
    run_script("kafkajs_admin.js");
}

/// Two idempotent kafkajs producers send while the broker is SIGKILLed twice and comes back on
/// the same port: kafkajs resends what was not answered with the same sequence numbers, and
/// every record ends up stored exactly once and in order (the script checks with a consumer).
#[test]
fn kafkajs_idempotent_producers_through_broker_sigkills_store_every_record_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listen = common::free_port();
    let mut broker = BrokerProcess::start_on(&dir.path().join("data"), Some(GROUP_BROKER_TOML), &listen);
    let name = "kafkajs_idempotent.js";
    let mut run = Script::spawn(script(name, &broker.addr, &["12000"]), name);
    for at in ["ACKED 3000", "ACKED 7000"] {
        run.wait_line(at, Duration::from_secs(90), &broker);
        broker.kill9();
        broker = broker.restart();
        assert_eq!(broker.addr, listen, "the broker came back on another address");
    }
    run.finish(SCRIPT_TIMEOUT, &broker);
}

/// A kafkajs group of two rebalances on a join and a leave and commits; the broker is SIGKILLed
/// and restarted; the committed offsets are still there and a new member resumes from them.
#[test]
fn kafkajs_group_rebalances_commits_and_resumes_after_a_broker_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut broker = BrokerProcess::start(&dir.path().join("data"), Some(GROUP_BROKER_TOML));
    let name = "kafkajs_group.js";
    run_to_end(script(name, &broker.addr, &["first"]), name, SCRIPT_TIMEOUT, &broker);
    broker.kill9();
    let broker = broker.restart();
    run_to_end(script(name, &broker.addr, &["resume"]), name, SCRIPT_TIMEOUT, &broker);
}

/// A transactional kafkajs producer is refused at once with a non-retriable error; without it,
/// kafkajs retried the coordinator lookup until its retries ran out.
#[test]
fn kafkajs_transactional_producer_fails_fast_with_a_fatal_error() {
    run_script("kafkajs_transactional.js");
}
