//! confluent-kafka for Python (pinned in tests/python/requirements.txt; its wheel carries its
//! own librdkafka, a newer one than the rdkafka crate builds) against the bundled broker: each
//! test runs one script from tests/python/confluent_*.py with the bootstrap address of a fresh
//! broker and passes when the script exits 0; the scripts say what they check.
//!
//! The interpreter is `$STROM_PYTHON`, else `.venv/bin/python` in the package root. A missing
//! interpreter or package fails the test with the command that installs it; nothing is skipped.

mod common;

use std::process::Command;
use std::time::Duration;

use common::scripts::{manifest_dir, python_with, run_to_end};
use common::BrokerProcess;

/// A script that runs longer than this fails (its loops are bounded well below it).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Fast rebalances for the group parts: no initial delay, short sessions allowed.
const GROUP_BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n\"group.min.session.timeout.ms\" = 1000\n";

/// Runs tests/python/`name` against a fresh broker.
fn run_script(name: &str) {
    let python = python_with(&[("confluent_kafka", "confluent-kafka")]);
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(GROUP_BROKER_TOML));
    let mut cmd = Command::new(python);
    cmd.arg(manifest_dir().join("tests/python").join(name))
        .arg(&broker.addr);
    run_to_end(cmd, name, SCRIPT_TIMEOUT, &broker);
}

#[test]
fn confluent_producer_and_consumer_roundtrip_every_codec_and_acks_setting_and_a_group() {
    run_script("confluent_clients.py");
}

#[test]
fn confluent_admin_client_every_topic_config_record_offset_and_group_call() {
    run_script("confluent_admin.py");
}
