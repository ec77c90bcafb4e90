//! The headless twins of the console's actions, as the built `strom` binary runs them against a
//! real broker process, each change checked by a client that is not strom's: offset resets with
//! kafka-python's committed offsets (tests/python/committed.py), added partitions with
//! `kcat -L` and with where murmur2 and consistent_random producers then send the planned keys,
//! configs with rdkafka's DescribeConfigs, records with watermarks and a consumer. Plans change
//! nothing; `--execute` applies; read-only (flag or profile) refuses every `--execute`; each
//! applied action writes one audit line.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use common::scripts::python_with;
use common::{strom_bin, BrokerProcess};

/// A strom run with its own XDG directories under `xdg`, bounded in time.
fn strom(xdg: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(strom_bin())
        .args(args)
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_STATE_HOME", xdg.join("state"))
        .env("USER", "ops-test")
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

/// Runs strom and requires success; returns stdout.
fn ok(xdg: &Path, args: &[&str]) -> String {
    let out = strom(xdg, args);
    assert!(
        out.status.success(),
        "strom {args:?} failed ({:?}):\n{}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs strom with `--json` appended and parses its one JSON object.
fn ok_json(xdg: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = ok(xdg, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("strom {args:?}: not one JSON object ({e}): {out}"))
}

fn audit_lines(xdg: &Path) -> Vec<Value> {
    std::fs::read_to_string(xdg.join("state/strom/audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

fn client(addr: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr);
    c
}

/// The committed offsets of `group` as kafka-python reads them.
fn committed(addr: &str, group: &str) -> BTreeMap<String, i64> {
    let python = python_with(&[("kafka", "kafka-python")]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/committed.py");
    let out = Command::new(python)
        .arg(script)
        .args([addr, group])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python");
    assert!(out.status.success(), "committed.py: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("committed.py prints JSON")
}

fn offsets(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn commit(addr: &str, group: &str, topic: &str, at: &[i64]) {
    let c: BaseConsumer = client(addr).set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for (p, o) in at.iter().enumerate() {
        tpl.add_partition_offset(topic, p as i32, Offset::Offset(*o)).unwrap();
    }
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

/// A member of `group` subscribed to `topic`, once it has its assignment.
fn live_member(addr: &str, group: &str, topic: &str) -> BaseConsumer {
    let c: BaseConsumer = client(addr)
        .set("group.id", group)
        .set("session.timeout.ms", "10000")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.assignment().map_or(true, |a| a.count() == 0) {
        assert!(Instant::now() < deadline, "the member of {group} got no assignment");
        let _ = c.poll(Duration::from_millis(100));
    }
    c
}

fn wait_group_empty(xdg: &Path, addr: &str, group: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let groups = ok_json(xdg, &["groups", "-b", addr]);
        let state = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == group)
            .map(|g| g["state"].as_str().unwrap_or_default().to_string());
        if state.as_deref() == Some("Empty") {
            return;
        }
        assert!(Instant::now() < deadline, "group {group} still {state:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn offset_resets_plan_apply_refuse_while_active_undo_after_restart_and_round_trip_csv() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"group.initial.rebalance.delay.ms\" = 0\n"),
    );
    let addr = broker.addr.as_str();
    let xdg = dir.path();
    ok(
        xdg,
        &[
            "topic",
            "create",
            "-b",
            addr,
            "--topic",
            "orders",
            "--partitions",
            "3",
            "--execute",
        ],
    );
    // Per partition: 5 records two hours old, then 5 from now.
    let p: BaseProducer = client(addr).create().unwrap();
    let old = now_ms() - 2 * 3_600_000;
    for part in 0..3 {
        for i in 0..10 {
            let ts = if i < 5 { old + i } else { now_ms() };
            p.send(
                BaseRecord::<(), _>::to("orders")
                    .payload("x")
                    .partition(part)
                    .timestamp(ts),
            )
            .unwrap();
        }
    }
    p.flush(Duration::from_secs(10)).unwrap();
    commit(addr, "billing", "orders", &[7, 7, 7]);
    let at = |o: [i64; 3]| offsets(&[("orders:0", o[0]), ("orders:1", o[1]), ("orders:2", o[2])]);

    // The plan alone changes nothing, and says what each partition would do.
    let plan = ok_json(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--to-earliest",
        ],
    );
    assert_eq!(plan["executed"], false);
    let rows = plan["plan"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (
            rows[0]["current"].as_str(),
            rows[0]["new"].as_str(),
            rows[0]["lag after"].as_str()
        ),
        (Some("7"), Some("0"), Some("10"))
    );
    assert_eq!(rows[0]["change"], "re-reads 7");
    assert_eq!(committed(addr, "billing"), at([7, 7, 7]), "a plan changes nothing");

    // By duration: the first record of the last hour.
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--topic",
            "orders",
            "--by-duration",
            "PT1H",
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "billing"), at([5, 5, 5]));
    // Shift on chosen partitions only, clamped at the log start.
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--topic",
            "orders:0,2",
            "--shift-by",
            "-6",
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "billing"), at([0, 5, 0]));

    // Export a plan, import it: the CSV is kafka-consumer-groups.sh's.
    let csv = dir.path().join("latest.csv");
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--to-latest",
            "--export",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "orders,0,10\norders,1,10\norders,2,10\n"
    );
    assert_eq!(
        committed(addr, "billing"),
        at([0, 5, 0]),
        "--export alone changes nothing"
    );
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--from-file",
            csv.to_str().unwrap(),
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "billing"), at([10, 10, 10]));

    // From another group, and to a date-time.
    commit(addr, "mirror", "orders", &[2, 3, 4]);
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--from-group",
            "mirror",
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "billing"), at([2, 3, 4]));
    let t = chrono::DateTime::from_timestamp_millis(old + 3)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--to-datetime",
            &t,
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "billing"), at([3, 3, 3]));

    // Refused while a member is in the group, with Kafka's reason; nothing committed.
    let member = live_member(addr, "billing", "orders");
    let out = strom(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--to-latest",
            "--execute",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("can only be reset if the group 'billing' is inactive") && err.contains("Stable"),
        "{err}"
    );
    drop(member);
    wait_group_empty(xdg, addr, "billing");
    assert_eq!(committed(addr, "billing"), at([3, 3, 3]));

    // Allowed once it left; then undo (a new process: the saved offsets are on disk) restores.
    ok(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--to-latest",
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "billing"), at([10, 10, 10]));
    let saved = xdg.join("state/strom/offsets");
    assert!(saved.exists(), "previous offsets saved under the state dir");
    let undo = ok(
        xdg,
        &["reset-offsets", "-b", addr, "--group", "billing", "--undo", "--execute"],
    );
    assert!(undo.contains("Applied"), "{undo}");
    assert_eq!(committed(addr, "billing"), at([3, 3, 3]));
    // Undo again: the reset before that one.
    ok(
        xdg,
        &["reset-offsets", "-b", addr, "--group", "billing", "--undo", "--execute"],
    );
    assert_eq!(committed(addr, "billing"), at([2, 3, 4]));

    // Usage errors: 2, before any connection.
    let out = strom(xdg, &["reset-offsets", "-b", addr, "--group", "billing", "--to-latest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--all-topics"), "{}", text(&out.stderr));
    let out = strom(
        xdg,
        &[
            "reset-offsets",
            "-b",
            addr,
            "--group",
            "billing",
            "--all-topics",
            "--to-datetime",
            "yesterday",
            "--execute",
        ],
    );
    assert_eq!(out.status.code(), Some(2));

    // One audit line per applied reset, with who, where, before and after.
    let audit = audit_lines(xdg);
    let resets: Vec<&Value> = audit
        .iter()
        .filter(|l| l["action"].as_str().unwrap().contains("group 'billing'"))
        .collect();
    assert_eq!(resets.len(), 8, "{audit:?}");
    assert!(resets
        .iter()
        .all(|l| l["user"] == "ops-test" && l["cluster"] == addr && l["result"] == "ok"));
    assert_eq!(resets[1]["before"], "orders:0=5 orders:2=5");
    assert_eq!(resets[1]["after"], "orders:0=0 orders:2=0");
}

/// The plan's key table as (key, murmur2 after, consistent_random after).
fn planned_moves(plan: &Value) -> Vec<(String, i32, i32)> {
    let after = |cell: &str| -> i32 {
        let cell = cell.trim_end_matches(" (stays)");
        cell.rsplit(" -> ")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("cell {cell}"))
    };
    plan["plan"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["key"].as_str().unwrap().starts_with('…'))
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                after(r["murmur2 (Java, strom)"].as_str().unwrap()),
                after(r["consistent_random (librdkafka)"].as_str().unwrap()),
            )
        })
        .collect()
}

/// Sends each key once with `partitioner`; returns where each went.
fn send_keys(addr: &str, topic: &str, keys: &[String], partitioner: &str) -> HashMap<String, i32> {
    let p: BaseProducer = client(addr).set("partitioner", partitioner).create().unwrap();
    // Learn the topic's partition count before sending keyed records.
    p.client().fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let c: BaseConsumer = client(addr).set("group.id", "probe").create().unwrap();
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let parts = md.topics()[0].partitions().len();
    let mut ends = Vec::new();
    for i in 0..parts {
        ends.push(c.fetch_watermarks(topic, i as i32, Duration::from_secs(10)).unwrap().1);
    }
    for k in keys {
        p.send(BaseRecord::to(topic).key(k.as_str()).payload(k.as_str()))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    // Read back what was just sent, partition by partition.
    let mut tpl = TopicPartitionList::new();
    for (i, e) in ends.iter().enumerate() {
        tpl.add_partition_offset(topic, i as i32, Offset::Offset(*e)).unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut got = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < keys.len() && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            let k = String::from_utf8_lossy(m.key().unwrap()).into_owned();
            got.insert(k, m.partition());
        }
    }
    assert_eq!(got.len(), keys.len(), "every key read back");
    got
}

#[test]
fn add_partitions_plan_says_where_murmur2_and_consistent_random_producers_send_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let addr = broker.addr.as_str();
    let xdg = dir.path();
    ok(
        xdg,
        &[
            "topic",
            "create",
            "-b",
            addr,
            "--topic",
            "parties",
            "--partitions",
            "2",
            "--execute",
        ],
    );
    let keys: Vec<String> = (0..40).map(|i| format!("party-{i}")).collect();
    send_keys(addr, "parties", &keys, "murmur2_random");

    let plan = ok_json(
        xdg,
        &["add-partitions", "-b", addr, "--topic", "parties", "--partitions", "5"],
    );
    let moves = planned_moves(&plan);
    assert_eq!(moves.len(), keys.len(), "every sampled key in the table");
    let warnings = plan["plan"]["warnings"].to_string();
    assert!(warnings.contains("per-key ordering breaks"), "{warnings}");
    assert!(warnings.contains("of 40 sampled keys move"), "{warnings}");
    assert!(
        moves.iter().any(|(_, m, _)| *m >= 2),
        "some keys go to the new partitions"
    );

    ok(
        xdg,
        &[
            "add-partitions",
            "-b",
            addr,
            "--topic",
            "parties",
            "--partitions",
            "5",
            "--execute",
        ],
    );
    let out = Command::new("kcat")
        .args(["-L", "-b", addr, "-t", "parties"])
        .output()
        .expect("kcat");
    assert!(
        text(&out.stdout).contains("topic \"parties\" with 5 partitions"),
        "{}",
        text(&out.stdout)
    );
    let murmur = send_keys(addr, "parties", &keys, "murmur2_random");
    let crc = send_keys(addr, "parties", &keys, "consistent_random");
    for (k, m, c) in &moves {
        assert_eq!(murmur[k], *m, "murmur2 producer sent {k} elsewhere than planned");
        assert_eq!(crc[k], *c, "consistent_random producer sent {k} elsewhere than planned");
    }
    // Not more than the topic has: refused with the reason.
    let out = strom(
        xdg,
        &["add-partitions", "-b", addr, "--topic", "parties", "--partitions", "5"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has 5 partitions; the new count must be greater"),
        "{}",
        text(&out.stderr)
    );
}

fn describe_configs(addr: &str, topic: &str) -> HashMap<String, (String, bool)> {
    let admin: AdminClient<DefaultClientContext> = client(addr).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let res = rt
        .block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new()))
        .unwrap();
    let r = res.into_iter().next().unwrap().unwrap();
    r.entries
        .into_iter()
        .map(|e| (e.name.clone(), (e.value.clone().unwrap_or_default(), e.is_default)))
        .collect()
}

#[test]
fn configs_topics_records_groups_and_produce_change_exactly_what_was_planned() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"group.initial.rebalance.delay.ms\" = 0\n"),
    );
    let addr = broker.addr.as_str();
    let xdg = dir.path();

    // Create: Kafka's name rules before anything is sent (2), the cluster's refusal (1).
    let out = strom(xdg, &["topic", "create", "-b", addr, "--topic", "bad/name"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("may contain only ASCII letters"),
        "{}",
        text(&out.stderr)
    );
    ok(
        xdg,
        &[
            "topic",
            "create",
            "-b",
            addr,
            "--topic",
            "inventory",
            "--partitions",
            "2",
            "--topic-config",
            "segment.ms=1d",
            "--execute",
        ],
    );
    let out = strom(
        xdg,
        &["topic", "create", "-b", addr, "--topic", "inventory", "--execute"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("TOPIC_ALREADY_EXISTS"),
        "{}",
        text(&out.stderr)
    );

    // 6 records two days old and 4 of now on partition 0.
    let p: BaseProducer = client(addr).create().unwrap();
    for i in 0..10 {
        let ts = if i < 6 { now_ms() - 2 * 86_400_000 } else { now_ms() };
        p.send(
            BaseRecord::<(), _>::to("inventory")
                .payload("v")
                .partition(0)
                .timestamp(ts),
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();

    // Retention: the plan says what a shorter one would delete now; the apply keeps segment.ms.
    let plan = ok_json(
        xdg,
        &[
            "config",
            "set",
            "-b",
            addr,
            "--topic",
            "inventory",
            "retention.ms=1d",
            "retention.bytes=10GiB",
        ],
    );
    let warnings = plan["plan"]["warnings"].to_string();
    assert!(
        warnings.contains("deletes now: up to 6 records in 1 partition of 2"),
        "{warnings}"
    );
    let row = &plan["plan"]["rows"][0];
    assert_eq!(row["after"], "86400000 (1d)");
    assert_eq!(row["default"], "604800000 (7d)");
    assert_eq!(
        describe_configs(addr, "inventory")["retention.ms"].1,
        true,
        "a plan changes nothing"
    );
    ok(
        xdg,
        &[
            "config",
            "set",
            "-b",
            addr,
            "--topic",
            "inventory",
            "retention.ms=7d",
            "retention.bytes=10GiB",
            "--execute",
        ],
    );
    let cfg = describe_configs(addr, "inventory");
    assert_eq!(cfg["retention.ms"], ("604800000".to_string(), false));
    assert_eq!(cfg["retention.bytes"], ("10737418240".to_string(), false));
    assert_eq!(
        cfg["segment.ms"],
        ("86400000".to_string(), false),
        "the other override is kept"
    );
    ok(
        xdg,
        &[
            "config",
            "set",
            "-b",
            addr,
            "--topic",
            "inventory",
            "--delete",
            "retention.bytes",
            "--execute",
        ],
    );
    assert!(
        describe_configs(addr, "inventory")["retention.bytes"].1,
        "back to the default"
    );
    let out = strom(
        xdg,
        &["config", "set", "-b", addr, "--topic", "inventory", "retention.ms=soon"],
    );
    assert_eq!(out.status.code(), Some(2));

    // Delete records before offset 4 of partition 0.
    let plan = ok_json(
        xdg,
        &["delete-records", "-b", addr, "--topic", "inventory:0", "--before", "4"],
    );
    assert_eq!(plan["plan"]["rows"][0]["records deleted"], "4");
    ok(
        xdg,
        &[
            "delete-records",
            "-b",
            addr,
            "--topic",
            "inventory:0",
            "--before",
            "4",
            "--execute",
        ],
    );
    let c: BaseConsumer = client(addr).set("group.id", "probe").create().unwrap();
    assert_eq!(
        c.fetch_watermarks("inventory", 0, Duration::from_secs(10)).unwrap(),
        (4, 10)
    );
    let out = strom(
        xdg,
        &["delete-records", "-b", addr, "--topic", "inventory:0", "--before", "11"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("OFFSET_OUT_OF_RANGE"),
        "{}",
        text(&out.stderr)
    );

    // Produce: the key partitioned with murmur2, headers and value as given.
    let res = ok_json(
        xdg,
        &[
            "produce",
            "-b",
            addr,
            "--topic",
            "inventory",
            "--key",
            "sku-1",
            "--header",
            "source=strom",
            "--value-json",
            "{\"qty\":3}",
            "--execute",
        ],
    );
    let summary = res["result"]["summary"].as_str().unwrap();
    let expected_partition = {
        let moves = send_keys(addr, "inventory", &["sku-1".to_string()], "murmur2_random");
        moves["sku-1"]
    };
    assert!(
        summary.starts_with(&format!("produced to inventory:{expected_partition} at offset")),
        "{summary}"
    );
    let offset: i64 = summary.rsplit(' ').next().unwrap().parse().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("inventory", expected_partition, Offset::Offset(offset))
        .unwrap();
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        assert!(Instant::now() < deadline, "the produced record is not readable");
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            break m.detach();
        }
    };
    assert_eq!(m.payload(), Some(&b"{\"qty\":3}"[..]));
    let h = m.headers().unwrap().get(0);
    assert_eq!((h.key, h.value), ("source", Some(&b"strom"[..])));

    // Groups: a group with a member is not deleted (Kafka's reason), its offsets for a topic
    // can be; once empty it is.
    commit(addr, "stock", "inventory", &[1, 1]);
    ok(
        xdg,
        &[
            "topic",
            "create",
            "-b",
            addr,
            "--topic",
            "events",
            "--partitions",
            "1",
            "--execute",
        ],
    );
    let member = live_member(addr, "stock", "events");
    let out = strom(xdg, &["group", "delete", "-b", addr, "stock", "--execute"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("NON_EMPTY_GROUP"), "{}", text(&out.stderr));
    ok(
        xdg,
        &[
            "group",
            "delete",
            "-b",
            addr,
            "stock",
            "--topic",
            "inventory",
            "--execute",
        ],
    );
    assert_eq!(committed(addr, "stock"), BTreeMap::new());
    drop(member);
    wait_group_empty(xdg, addr, "stock");
    commit(addr, "stock", "inventory", &[1, 1]);
    ok(xdg, &["group", "delete", "-b", addr, "stock", "--execute"]);
    let groups = ok_json(xdg, &["groups", "-b", addr]);
    assert!(!groups.to_string().contains("\"stock\""), "{groups}");

    // Delete topic.
    let plan = ok(xdg, &["topic", "delete", "-b", addr, "--topic", "inventory"]);
    assert!(plan.contains("delete topic 'inventory' and its"), "{plan}");
    ok(
        xdg,
        &["topic", "delete", "-b", addr, "--topic", "inventory", "--execute"],
    );
    let md = c.fetch_metadata(None, Duration::from_secs(10)).unwrap();
    assert!(md.topics().iter().all(|t| t.name() != "inventory"));

    // Each applied action wrote one audit line.
    let audit = audit_lines(xdg);
    let actions: Vec<&str> = audit.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "create topic 'inventory'",
            "alter configs of topic 'inventory'",
            "alter configs of topic 'inventory'",
            "delete records of inventory:0",
            "produce a record to 'inventory'",
            "create topic 'events'",
            "delete committed offsets of group 'stock' for topic 'inventory'",
            "delete group 'stock'",
            "delete topic 'inventory'",
        ]
    );
    assert!(audit.iter().all(|l| l["result"] == "ok"), "{audit:?}");
    assert_eq!(audit[3]["before"], "log start 0");
    assert_eq!(audit[3]["after"], "log start 4");
}

#[test]
fn read_only_flag_and_profile_refuse_every_execute_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let addr = broker.addr.as_str();
    let xdg = dir.path();
    ok(
        xdg,
        &[
            "topic",
            "create",
            "-b",
            addr,
            "--topic",
            "t",
            "--partitions",
            "1",
            "--execute",
        ],
    );
    commit(addr, "g", "t", &[0]);
    std::fs::create_dir_all(xdg.join("config/strom")).unwrap();
    std::fs::write(
        xdg.join("config/strom/config.toml"),
        format!("[profiles.prod]\nbootstrap = \"{addr}\"\nread_only = true\n"),
    )
    .unwrap();
    let before = audit_lines(xdg).len();
    let actions: [&[&str]; 8] = [
        &["reset-offsets", "--group", "g", "--all-topics", "--to-latest"],
        &["reset-offsets", "--group", "g", "--undo"],
        &["add-partitions", "--topic", "t", "--partitions", "3"],
        &["config", "set", "--topic", "t", "retention.ms=1h"],
        &["topic", "create", "--topic", "t2"],
        &["topic", "delete", "--topic", "t"],
        &["delete-records", "--topic", "t:0", "--before", "0"],
        &["produce", "--topic", "t", "--value", "v"],
    ];
    let group_delete: &[&str] = &["group", "delete", "g"];
    for action in actions.iter().copied().chain([group_delete]) {
        for how in [vec!["--read-only", "-b", addr], vec!["--profile", "prod"]] {
            let mut args: Vec<&str> = action.to_vec();
            args.extend(&how);
            args.push("--execute");
            let out = strom(xdg, &args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stdout));
            let err = text(&out.stderr);
            assert!(
                err.contains("is read-only") && err.contains("nothing was changed"),
                "{args:?}: {err}"
            );
            assert!(
                err.contains("(--read-only)") || err.contains("read_only"),
                "says why it is read-only: {err}"
            );
        }
    }
    // Nothing changed: still one partition, the topics, the group's offset, no audit line.
    let c: BaseConsumer = client(addr).set("group.id", "probe").create().unwrap();
    let md = c.fetch_metadata(None, Duration::from_secs(10)).unwrap();
    let names: Vec<&str> = md.topics().iter().map(|t| t.name()).collect();
    assert!(names.contains(&"t") && !names.contains(&"t2"), "{names:?}");
    assert_eq!(
        md.topics().iter().find(|t| t.name() == "t").unwrap().partitions().len(),
        1
    );
    assert_eq!(c.fetch_watermarks("t", 0, Duration::from_secs(10)).unwrap(), (0, 0));
    assert_eq!(committed(addr, "g"), offsets(&[("t:0", 0)]));
    assert_eq!(audit_lines(xdg).len(), before);
    // Plans are reads: they still work on a read-only connection.
    ok(
        xdg,
        &[
            "--profile",
            "prod",
            "add-partitions",
            "--topic",
            "t",
            "--partitions",
            "3",
        ],
    );
}
