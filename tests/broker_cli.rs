//! `strom broker` as an operator meets it: a bad config file exits non-zero naming the file,
//! key and reason; a second broker on a data dir in use refuses to start and leaves the data
//! alone; SIGTERM stops the broker cleanly (exit 0) and the next start skips recovery.

mod common;

use std::process::Command;

use common::BrokerProcess;

/// Runs `strom broker` with a config file to completion (it must exit by itself).
fn broker_with_config(data: &std::path::Path, cfg: &std::path::Path) -> std::process::Output {
    Command::new(common::strom_bin())
        .args(["broker", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap()
}

#[test]
fn bad_config_file_exits_non_zero_with_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("broker.toml");
    std::fs::write(&cfg, "\"log.retention.ms\" = \"soon\"\n").unwrap();
    let out = broker_with_config(&dir.path().join("data"), &cfg);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&cfg.display().to_string()), "names the file: {err}");
    assert!(err.contains("log.retention.ms"), "names the key: {err}");
    assert!(err.contains("Not a number of type LONG"), "says why: {err}");
    assert!(out.stdout.is_empty(), "never claims to listen");

    std::fs::write(&cfg, "\"log.retention.msec\" = 5\n").unwrap();
    let out = broker_with_config(&dir.path().join("data"), &cfg);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown broker config"));
}

#[test]
fn second_broker_on_the_same_data_dir_refuses_and_first_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = BrokerProcess::start(&data, None);
    let out = Command::new(common::strom_bin())
        .args(["broker", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another broker"), "{err}");
    assert!(
        err.contains(&first.child.id().to_string()),
        "names the owner's pid: {err}"
    );
    // The first broker still answers.
    let mut s = common::wire::connect(&first.addr);
    let resp = common::wire::call(&mut s, &kafka_protocol::messages::ApiVersionsRequest::default(), 0);
    assert_eq!(resp.error_code, 0);
    assert_eq!(first.terminate(), Some(0), "SIGTERM: clean exit");
    assert!(data.join(".clean_shutdown").exists(), "clean shutdown is marked");
    let again = first.restart();
    // The fresh data dir was verified once at first start; the clean restart is not.
    assert_eq!(
        again.log_text().matches("verifying log tails").count(),
        1,
        "a clean restart skips recovery"
    );
}

/// `advertised.listeners` (and `--advertise`, its command-line form) is what Metadata tells
/// clients, for a broker whose bound address they cannot use (0.0.0.0, a container); an
/// unusable advertised address stops the broker before it starts.
#[test]
fn advertised_listeners_are_what_metadata_tells_clients() {
    use kafka_protocol::messages::MetadataRequest;
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"advertised.listeners\" = \"PLAINTEXT://kafka.example:19092\"\n"),
    );
    let mut s = common::wire::connect(&broker.addr);
    let meta = common::wire::call(&mut s, &MetadataRequest::default(), 9);
    let b = &meta.brokers[0];
    assert_eq!((b.host.as_str(), b.port), ("kafka.example", 19092));

    for bad in ["0.0.0.0:9092", "kafka.example", "kafka.example:0"] {
        let out = Command::new(common::strom_bin())
            .args(["broker", "--listen", "127.0.0.1:0", "--advertise", bad, "--data-dir"])
            .arg(dir.path().join("other"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--advertise") && err.contains(bad), "{bad}: {err}");
        assert!(out.stdout.is_empty(), "never claims to listen");
    }
}
