//! The headless commands and the console's start-up checks, as the built `strom` binary runs
//! them: `strom topics` and `strom groups` (table and `--json`) against a real broker, their
//! JSON checked independently with kafka-python (tests/python/listing.py); their exit status for
//! a cluster that does not answer (1) and for usage problems (2); and the console refusing to
//! start without a terminal (2) before it starts anything.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use common::{strom_bin, BrokerProcess};

/// A strom run with fresh XDG directories (no config, no bundled broker), bounded in time.
fn strom(xdg: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(strom_bin())
        .args(args)
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_STATE_HOME", xdg.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strom");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("strom {args:?} ran for more than 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Topics `orders` (3 partitions, 30 records, retention 1 h) and `audit` (1 partition, 1
/// record); group `billing` with committed offsets and no members; group `live` with one
/// rdkafka member (returned: it leaves when dropped).
fn setup(addr: &str) -> BaseConsumer {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let topics = [
        NewTopic::new("orders", 3, TopicReplication::Fixed(1)).set("retention.ms", "3600000"),
        NewTopic::new("audit", 1, TopicReplication::Fixed(1)),
    ];
    for r in rt.block_on(admin.create_topics(&topics, &AdminOptions::new())).unwrap() {
        r.unwrap();
    }
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    for i in 0..30 {
        let v = format!("order-{i}");
        p.send(BaseRecord::<(), _>::to("orders").payload(&v).partition(i % 3))
            .unwrap();
    }
    p.send(BaseRecord::<(), _>::to("audit").payload("one")).unwrap();
    p.flush(Duration::from_secs(10)).unwrap();

    let billing: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "billing")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("orders", 0, Offset::Offset(7)).unwrap();
    billing.commit(&tpl, CommitMode::Sync).unwrap();

    let live: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "live")
        .set("session.timeout.ms", "10000")
        .create()
        .unwrap();
    live.subscribe(&["audit"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while live.assignment().map_or(true, |a| a.count() == 0) {
        assert!(Instant::now() < deadline, "the live group's member got no assignment");
        let _ = live.poll(Duration::from_millis(100));
    }
    live
}

fn python() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = std::env::var_os("STROM_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join(".venv/bin/python"));
    assert!(
        path.exists(),
        "Python interpreter {} not found: run `bash .ci/run` or point STROM_PYTHON at a Python with kafka-python",
        path.display()
    );
    path
}

#[test]
fn topics_and_groups_json_match_what_kafka_python_reads() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"group.initial.rebalance.delay.ms\" = 0\n"),
    );
    let live = setup(&broker.addr);
    let xdg = dir.path();

    // -b before the subcommand name.
    let out = strom(xdg, &["-b", &broker.addr, "topics", "--json"]);
    assert!(out.status.success(), "strom topics --json: {}", text(&out.stderr));
    let topics: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let list = topics.as_array().expect("a JSON array");
    let orders = list.iter().find(|t| t["name"] == "orders").expect("orders listed");
    assert_eq!(orders["partitions"], 3);
    assert_eq!(orders["replication_factor"], 1);
    assert_eq!(orders["records"], 30);
    assert!(orders["size_bytes"].as_u64().unwrap_or(0) > 0, "{orders}");
    assert_eq!(orders["retention_ms"], 3_600_000);
    assert_eq!(orders["internal"], false);

    // -b after it.
    let out = strom(xdg, &["groups", "--json", "-b", &broker.addr]);
    assert!(out.status.success(), "strom groups --json: {}", text(&out.stderr));
    let groups: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let by = |name: &str| {
        groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == name)
            .unwrap_or_else(|| panic!("{name} listed: {groups}"))
            .clone()
    };
    let billing = by("billing");
    assert_eq!(
        (billing["state"].as_str(), billing["members"].as_u64()),
        (Some("Empty"), Some(0))
    );
    let live_g = by("live");
    assert_eq!(
        (live_g["state"].as_str(), live_g["members"].as_u64()),
        (Some("Stable"), Some(1))
    );
    assert_eq!(live_g["protocol_type"], "consumer");
    assert!(live_g["protocol"].is_string(), "the assignor: {live_g}");

    // The same, read independently by kafka-python.
    let topics_file = dir.path().join("topics.json");
    let groups_file = dir.path().join("groups.json");
    std::fs::write(&topics_file, serde_json::to_vec(&topics).unwrap()).unwrap();
    std::fs::write(&groups_file, serde_json::to_vec(&groups).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/listing.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(&broker.addr)
        .arg(&topics_file)
        .arg(&groups_file)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "kafka-python disagrees:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprint!("{}", text(&out.stdout));
    drop(live);
}

#[test]
fn tables_by_default_and_exit_statuses_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let _live = setup(&broker.addr);
    let xdg = dir.path();

    let out = strom(xdg, &["topics", "-b", &broker.addr]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("Name") && header.contains("Partitions") && header.contains("Records"),
        "{table}"
    );
    let orders = table.lines().find(|l| l.starts_with("orders ")).expect("an orders row");
    let cells: Vec<&str> = orders.split_whitespace().collect();
    assert_eq!(&cells[..4], ["orders", "3", "1", "30"], "{orders}");

    let out = strom(xdg, &["groups", "-b", &broker.addr]);
    assert!(out.status.success());
    assert!(text(&out.stdout)
        .lines()
        .any(|l| l.starts_with("billing ") && l.contains("Empty")));

    // A cluster that does not answer: 1, with the address and the reason.
    let out = strom(xdg, &["topics", "-b", "127.0.0.1:1", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("127.0.0.1:1"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing half-printed");

    // Usage problems: 2, before any connection.
    let out = strom(xdg, &["topics", "--profile", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no profile named 'prod'"),
        "{}",
        text(&out.stderr)
    );
    let out = strom(xdg, &["groups"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no cluster given"), "{}", text(&out.stderr));
    let out = strom(xdg, &["topics", "--jsn"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");

    // A profile from the config file names the cluster.
    std::fs::create_dir_all(xdg.join("config/strom")).unwrap();
    std::fs::write(
        xdg.join("config/strom/config.toml"),
        format!("[profiles.local]\nbootstrap = \"{}\"\n", broker.addr),
    )
    .unwrap();
    let out = strom(xdg, &["--profile", "local", "topics", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"name\": \"orders\""));
}

#[test]
fn the_console_without_a_terminal_exits_2_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path();
    // stdin /dev/null, stdout a pipe: `strom </dev/null >out`.
    let out = strom(xdg, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("strom topics"), "says what to use instead: {err}");
    assert!(out.stdout.is_empty());
    assert!(
        !xdg.join("data/strom/broker").exists(),
        "no bundled broker was started (its data dir does not exist)"
    );
}
