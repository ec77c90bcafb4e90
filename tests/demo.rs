//! The demo workload (`strom demo`) against a real bundled broker: its topics, records and the
//! three consumer groups in the states the console is meant to show; and the loopback guard.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use strom::cluster::connect::ConnectionSpec;
use strom::demo::{self, DemoError, DemoOptions};

use common::BrokerProcess;

const BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n";

#[test]
fn loopback_guard_accepts_only_this_machine() {
    for local in [
        "127.0.0.1:9092",
        "localhost:9092",
        "LOCALHOST:9092",
        "[::1]:9092",
        "::1",
        "127.1.2.3:1",
        "localhost",
        "PLAINTEXT://127.0.0.1:9092",
        "127.0.0.1:9092, localhost:9093",
        "[::ffff:127.0.0.1]:9092",
    ] {
        assert!(demo::is_loopback(local), "{local} is loopback");
    }
    for remote in [
        "a:1,127.0.0.1:2",
        "127.0.0.1:2,a:1",
        "kafka.example.com:9092",
        "10.0.0.5:9092",
        "[2001:db8::1]:9092",
        "0.0.0.0:9092",
        "localhost.example.com:9092",
        "128.0.0.1:9092",
        "",
        " , ",
    ] {
        assert!(!demo::is_loopback(remote), "{remote:?} is not loopback");
    }
}

#[test]
fn run_refuses_a_remote_cluster_without_force() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = DemoOptions {
        connection: ConnectionSpec::bootstrap("kafka.example.com:9092"),
        rate: 50,
        force: false,
    };
    let err = rt.block_on(demo::run(opts, rx)).unwrap_err();
    assert!(matches!(err, DemoError::NotLoopback { .. }), "{err}");
    assert!(
        err.to_string().contains("--force"),
        "the message says how to proceed: {err}"
    );
}

/// What the test reads back from the cluster while the demo runs.
struct Seen {
    partitions: HashMap<String, usize>,
    records: HashMap<String, i64>,
}

#[test]
fn demo_creates_topics_and_groups_in_their_three_states() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(BROKER_TOML));
    let addr = broker.addr.clone();

    let (tx, rx) = tokio::sync::watch::channel(false);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let opts = DemoOptions {
        connection: ConnectionSpec::bootstrap(&addr),
        rate: 400,
        force: false,
    };
    let demo_thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let _ = done_tx.send(rt.block_on(demo::run(opts, rx)));
    });

    let started = Instant::now();
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &addr).create().unwrap();
    let observer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("group.id", "demo-test-observer")
        .create()
        .unwrap();

    // Let the workload run for a while, then check until everything holds (bounded).
    std::thread::sleep(Duration::from_secs(10));
    let deadline = started + Duration::from_secs(60);
    loop {
        let last_problem = match check(&addr, &observer) {
            Ok(seen) => {
                for (topic, want) in demo::TOPICS {
                    assert_eq!(seen.partitions[topic], want as usize, "{topic} partitions");
                    assert!(seen.records[topic] > 0, "{topic} has records");
                }
                break;
            }
            Err(problem) => problem,
        };
        assert!(
            Instant::now() < deadline,
            "demo did not reach the expected state in 60 s: {last_problem}"
        );
        assert!(done_rx.try_recv().is_err(), "demo::run ended early");
        std::thread::sleep(Duration::from_secs(1));
    }

    keys_land_where_java_clients_put_them(&addr);
    event_records_carry_headers_and_json(&addr);
    let configs = block(admin.describe_configs(
        &[ResourceSpecifier::Topic(demo::INVENTORY_TOPIC)],
        &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
    ))
    .unwrap();
    let inventory = configs[0].as_ref().unwrap();
    assert_eq!(
        inventory.get("retention.ms").and_then(|e| e.value.as_deref()),
        Some("86400000")
    );

    tx.send(true).unwrap();
    let result = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("demo::run returns within 30 s of shutdown");
    result.unwrap();
    demo_thread.join().unwrap();

    // Shut down cleanly: the consumers left, so the live groups are Empty now.
    let groups = observer
        .fetch_group_list(Some(demo::MONITOR_GROUP), Duration::from_secs(10))
        .unwrap();
    assert_eq!(groups.groups()[0].state(), "Empty");

    // A second run finds its topics in place and leaves the stopped group stopped.
    let sync_before = committed(&addr, demo::SYNC_GROUP, demo::INVENTORY_TOPIC, 3).unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = DemoOptions {
        connection: ConnectionSpec::bootstrap(&addr),
        rate: 400,
        force: false,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let again = rt.spawn(demo::run(opts, rx));
    std::thread::sleep(Duration::from_secs(5));
    tx.send(true).unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), again).await })
        .expect("second run stops")
        .unwrap()
        .unwrap();
    assert_eq!(
        committed(&addr, demo::SYNC_GROUP, demo::INVENTORY_TOPIC, 3).unwrap(),
        sync_before
    );
    drop(broker);
}

fn check(addr: &str, observer: &BaseConsumer) -> Result<Seen, String> {
    let timeout = Duration::from_secs(5);
    let md = observer
        .fetch_metadata(None, timeout)
        .map_err(|e| format!("metadata: {e}"))?;
    let mut seen = Seen {
        partitions: HashMap::new(),
        records: HashMap::new(),
    };
    for (topic, _) in demo::TOPICS {
        let t = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or(format!("topic {topic} missing"))?;
        seen.partitions.insert(topic.to_string(), t.partitions().len());
        let mut total = 0;
        for p in t.partitions() {
            let (lo, hi) = observer
                .fetch_watermarks(topic, p.id(), timeout)
                .map_err(|e| format!("watermarks: {e}"))?;
            total += hi - lo;
        }
        if total == 0 {
            return Err(format!("no records in {topic} yet"));
        }
        seen.records.insert(topic.to_string(), total);
    }

    let list = observer
        .fetch_group_list(None, timeout)
        .map_err(|e| format!("group list: {e}"))?;
    let state = |name: &str| {
        list.groups()
            .iter()
            .find(|g| g.name() == name)
            .map(|g| (g.state().to_string(), g.members().len()))
    };
    match state(demo::MONITOR_GROUP) {
        Some((s, n)) if s == "Stable" && n > 0 => {}
        other => {
            return Err(format!(
                "{} is {other:?}, want Stable with members",
                demo::MONITOR_GROUP
            ))
        }
    }
    match state(demo::ARCHIVER_GROUP) {
        Some((s, n)) if s == "Stable" && n > 0 => {}
        other => {
            return Err(format!(
                "{} is {other:?}, want Stable with members",
                demo::ARCHIVER_GROUP
            ))
        }
    }
    match state(demo::SYNC_GROUP) {
        Some((s, 0)) if s == "Empty" => {}
        other => return Err(format!("{} is {other:?}, want Empty without members", demo::SYNC_GROUP)),
    }

    let sync = committed(addr, demo::SYNC_GROUP, demo::INVENTORY_TOPIC, 3)?;
    if sync.iter().all(|c| c.is_none()) {
        return Err("inventory-sync has no committed offsets".into());
    }

    // The archiver commits, but far behind the heartbeats it is supposed to keep up with.
    let archived = committed(addr, demo::ARCHIVER_GROUP, demo::HEARTBEAT_TOPIC, 6)?;
    let mut worst_lag = 0;
    for (p, c) in archived.iter().enumerate() {
        if let Some(c) = c {
            let (_, hi) = observer
                .fetch_watermarks(demo::HEARTBEAT_TOPIC, p as i32, timeout)
                .map_err(|e| e.to_string())?;
            worst_lag = worst_lag.max(hi - c);
        }
    }
    if worst_lag < 100 {
        return Err(format!(
            "event-archiver's worst committed lag on device-heartbeat is {worst_lag}, want >= 100"
        ));
    }
    Ok(seen)
}

/// Committed offsets of `group` on `topic`, read without joining the group.
fn committed(addr: &str, group: &str, topic: &str, partitions: i32) -> Result<Vec<Option<i64>>, String> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", group)
        .create()
        .map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(5))
        .map_err(|e| format!("committed offsets of {group}: {e}"))?;
    Ok((0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => Some(o),
            _ => None,
        })
        .collect())
}

/// One record as read back, owned.
struct Read {
    partition: i32,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

/// Reads the first records of each partition of a topic without a group.
fn read_some(addr: &str, topic: &str, partitions: i32, per_partition: usize) -> Vec<Read> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "demo-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    c.assign(&tpl).unwrap();
    let want = partitions as usize * per_partition;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < want && Instant::now() < deadline {
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Read {
                partition: m.partition(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().unwrap_or_default().to_vec(),
                headers,
            });
        }
    }
    assert!(
        out.len() >= want,
        "read {} of {want} records from {topic} in 20 s",
        out.len()
    );
    out
}

fn keys_land_where_java_clients_put_them(addr: &str) {
    assert_eq!(
        murmur2(b"21") as i32,
        -973932308,
        "the test's murmur2 matches Kafka's Utils.murmur2"
    );
    for (topic, partitions) in [(demo::HEARTBEAT_TOPIC, 6), (demo::INVENTORY_TOPIC, 3)] {
        for r in read_some(addr, topic, partitions, 5) {
            let key = r.key.expect("keyed topic");
            let java = (murmur2(&key) & 0x7fff_ffff) % partitions as u32;
            assert_eq!(
                r.partition as u32,
                java,
                "{topic} key {:?}",
                String::from_utf8_lossy(&key)
            );
        }
    }
}

fn event_records_carry_headers_and_json(addr: &str) {
    let records = read_some(addr, demo::EVENT_TOPIC, 3, 3);
    for Read {
        key, value, headers, ..
    } in &records
    {
        let key = String::from_utf8(key.clone().expect("keyed by device")).unwrap();
        let value = String::from_utf8(value.clone()).unwrap();
        assert!(
            value.starts_with(&format!("{{\"device\":\"{key}\",\"event\":\"")),
            "{value}"
        );
        assert!(
            headers.iter().any(|(k, v)| k == "trace-id" && v.len() == 32),
            "{headers:?}"
        );
        assert!(headers.iter().any(|(k, _)| k == "source"), "{headers:?}");
    }
}

/// Kafka's `Utils.murmur2`, the Java client's default partitioner hash.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() >= 3 {
            h ^= u32::from(rest[2]) << 16;
        }
        if rest.len() >= 2 {
            h ^= u32::from(rest[1]) << 8;
        }
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// CPU cost of the demo at its default rate: run by hand (`--ignored --nocapture`), prints the
/// share of one core used by this process (the demo's clients) and by the broker serving it.
#[test]
#[ignore]
fn demo_cpu_at_default_rate() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(BROKER_TOML));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = DemoOptions {
        connection: ConnectionSpec::bootstrap(&broker.addr),
        rate: demo::DEFAULT_RATE,
        force: false,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.spawn(demo::run(opts, rx));
    // Skip start-up (topic creation, group joins): the steady state is what runs for hours.
    std::thread::sleep(Duration::from_secs(5));
    let (self0, broker0, t0) = (
        cpu_ticks("self"),
        cpu_ticks(&broker.child.id().to_string()),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(20));
    let (self1, broker1, elapsed) = (
        cpu_ticks("self"),
        cpu_ticks(&broker.child.id().to_string()),
        t0.elapsed(),
    );
    tx.send(true).unwrap();
    rt.block_on(handle).unwrap().unwrap();
    let hz = 100.0; // USER_HZ on Linux
    let pct = |ticks: u64| ticks as f64 / hz / elapsed.as_secs_f64() * 100.0;
    let demo_pct = pct(self1 - self0);
    println!(
        "demo at {} rec/s for {:.1} s: demo clients {:.2}% of one core ({} ticks), broker {:.2}% ({} ticks)",
        demo::DEFAULT_RATE,
        elapsed.as_secs_f64(),
        demo_pct,
        self1 - self0,
        pct(broker1 - broker0),
        broker1 - broker0
    );
    assert!(
        demo_pct < 10.0,
        "the demo should cost a few % of one core, not {demo_pct:.1}%"
    );
}

/// utime + stime of a process from /proc/PID/stat, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may contain spaces; the fields after its ')' are fixed.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn run_reports_a_cluster_that_is_not_there() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = DemoOptions {
        connection: ConnectionSpec::bootstrap("127.0.0.1:1"),
        rate: 50,
        force: false,
    };
    let started = Instant::now();
    let err = rt.block_on(demo::run(opts, rx)).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "gave up in {:?}",
        started.elapsed()
    );
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:1") && text.contains("listening"), "{text}");
}
