//! `strom lag` and `strom tail` as the built binary runs them against a real broker, with
//! groups and records made by librdkafka (the `rdkafka` crate): lag per partition (no commit,
//! caught up, behind, below the log start after DeleteRecords) checked against what
//! kafka-python computes independently (tests/python/lag_check.py) and against the console's
//! own groups pane fed by its worker; the exit statuses scripts rely on; the tail's records
//! (keys, headers, binary and JSON values, control characters) in text and `--json`, its start
//! points, and that it never creates a consumer group.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use common::{strom_bin, BrokerProcess};

/// A strom run with fresh XDG directories, bounded in time.
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

fn python() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = std::env::var_os("STROM_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join(".venv/bin/python"));
    assert!(path.exists(), "Python interpreter {} not found", path.display());
    path
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn admin(addr: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new().set("bootstrap.servers", addr).create().unwrap()
}

fn create(addr: &str, topics: &[(&str, i32)]) {
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
        .collect();
    for r in runtime()
        .block_on(admin(addr).create_topics(&new, &AdminOptions::new()))
        .unwrap()
    {
        r.unwrap();
    }
}

fn commit(addr: &str, group: &str, offsets: &[(&str, i32, i64)]) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in offsets {
        tpl.add_partition_offset(t, *p, Offset::Offset(*o)).unwrap();
    }
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

/// `orders` (3 partitions, 10 records each; orders-0's record at offset 4 written a minute
/// ago), `audit` (1 partition, 10 records, the first 6 deleted); groups `billing` (orders-0 at 4,
/// orders-1 at 10, nothing for orders-2) and `audit-reader` (audit-0 at 2, below the log start).
fn lag_setup(addr: &str) -> i64 {
    create(addr, &[("orders", 3), ("audit", 1)]);
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let now = strom::app::worker::wall_ms();
    let old = now - 60_000;
    for part in 0..3 {
        for i in 0..10 {
            let v = format!("order-{part}-{i}");
            let ts = if i >= 4 { now } else { old - 1000 };
            let ts = if part == 0 && i == 4 { old } else { ts };
            p.send(
                BaseRecord::<(), _>::to("orders")
                    .payload(&v)
                    .partition(part)
                    .timestamp(ts),
            )
            .unwrap();
        }
    }
    for i in 0..10 {
        p.send(BaseRecord::<(), _>::to("audit").payload(&format!("a{i}")).partition(0))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("audit", 0, Offset::Offset(6)).unwrap();
    runtime()
        .block_on(admin(addr).delete_records(&tpl, &AdminOptions::new()))
        .unwrap();
    commit(addr, "billing", &[("orders", 0, 4), ("orders", 1, 10)]);
    commit(addr, "audit-reader", &[("audit", 0, 2)]);
    old
}

/// A live member of `group` subscribed to `topic` that never commits.
fn member(addr: &str, group: &str, topic: &str) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", "10000")
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

fn partition<'a>(report: &'a Value, topic: &str, p: i64) -> &'a Value {
    report["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["topic"] == topic && x["partition"] == p)
        .unwrap_or_else(|| panic!("{topic}-{p} in {report}"))
}

#[test]
fn lag_matches_kafka_python_and_the_console_and_exits_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"group.initial.rebalance.delay.ms\" = 0\n"),
    );
    let addr = broker.addr.clone();
    let written = lag_setup(&addr);
    let xdg = dir.path();
    let _fresh = member(&addr, "fresh", "orders");

    // One sample: numbers exact, nothing judged but what one sample shows.
    let out = strom(xdg, &["lag", "billing", "--json", "-b", &addr]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let billing: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        (billing["group"].as_str(), billing["state"].as_str()),
        (Some("billing"), Some("Empty"))
    );
    assert_eq!(billing["total_lag"], 6, "{billing}");
    let p0 = partition(&billing, "orders", 0);
    assert_eq!(
        (p0["committed"].as_i64(), p0["lag"].as_i64()),
        (Some(4), Some(6)),
        "{p0}"
    );
    assert_eq!(p0["high_watermark"], 10);
    // The record at the committed offset was written a minute ago: its age is the time lag.
    let tl = p0["time_lag_ms"].as_i64().expect("a time lag from the record");
    let age = strom::app::worker::wall_ms() - written;
    assert!(
        (60_000..=age).contains(&tl),
        "time lag {tl} ms, the record is {age} ms old"
    );
    let p1 = partition(&billing, "orders", 1);
    assert_eq!(
        (p1["lag"].as_i64(), p1["time_lag_ms"].as_i64()),
        (Some(0), Some(0)),
        "{p1}"
    );
    assert_eq!(
        billing["partitions"].as_array().unwrap().len(),
        2,
        "only what it committed"
    );

    // A member assigned every partition that never committed: null lag, not 0.
    let fresh = strom(xdg, &["lag", "fresh", "--json", "-b", &addr]);
    assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh.stderr));
    let fresh: Value = serde_json::from_slice(&fresh.stdout).unwrap();
    assert_eq!(fresh["state"], "Stable");
    for p in 0..3 {
        let x = partition(&fresh, "orders", p);
        assert!(x["committed"].is_null() && x["lag"].is_null(), "{x}");
        assert!(x["member"].is_string(), "the member holding it: {x}");
    }
    for p in billing["partitions"].as_array().unwrap() {
        assert_eq!(p["status"], "OK", "one sample cannot see a stall: {p}");
    }

    // Below the log start: ERROR on one sample, exit 3, the lag counts what is left.
    let out = strom(xdg, &["lag", "audit-reader", "--json", "-b", &addr]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a0 = partition(&audit, "audit", 0);
    assert_eq!(
        (
            a0["committed"].as_i64(),
            a0["log_start"].as_i64(),
            a0["lag"].as_i64(),
            a0["status"].as_str()
        ),
        (Some(2), Some(6), Some(4), Some("ERROR")),
        "{a0}"
    );
    assert!(a0["reason"].as_str().unwrap().contains("deleted 4"), "{a0}");
    assert_eq!(audit["status"], "ERROR");

    // Both agree with kafka-python.
    for (group, report) in [("billing", &billing), ("audit-reader", &audit), ("fresh", &fresh)] {
        let file = dir.path().join(format!("{group}.json"));
        std::fs::write(&file, serde_json::to_vec(report).unwrap()).unwrap();
        let out = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/lag_check.py"))
            .args([addr.as_str(), group])
            .arg(&file)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "kafka-python disagrees on {group}:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    // The table: a header line with the verdict, then the partitions.
    let out = strom(xdg, &["lag", "audit-reader", "-b", &addr]);
    assert_eq!(out.status.code(), Some(3));
    let table = text(&out.stdout);
    assert!(table.starts_with("group audit-reader  state Empty"), "{table}");
    assert!(table.contains("status ERROR"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("audit ") && l.contains("(+4 deleted)")),
        "{table}"
    );

    // Over a window: billing's offsets do not move, nobody is assigned, lag > 0: STOP, exit 3.
    let out = strom(
        xdg,
        &[
            "lag",
            "billing",
            "--json",
            "--window",
            "4s",
            "--interval",
            "1s",
            "-b",
            &addr,
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    let judged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(partition(&judged, "orders", 0)["status"], "STOP", "{judged}");
    assert_eq!(partition(&judged, "orders", 1)["status"], "OK", "caught up: {judged}");

    // A group that does not exist: 1 with the reason.
    let out = strom(xdg, &["lag", "nobody", "-b", &addr]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("consumer group 'nobody' does not exist"),
        "{}",
        text(&out.stderr)
    );

    // The console's groups pane shows the same numbers.
    console_shows(&addr);
}

fn console_shows(addr: &str) {
    use strom::app::action::Action;
    use strom::app::keymap::Keymap;
    use strom::app::panes::PaneId;
    use strom::app::run::Console;
    use strom::app::state::AppState;
    use strom::app::worker::WorkerConfig;
    use strom::cluster::client::ClusterClient;
    use strom::cluster::connect::ConnectionSpec;

    runtime().block_on(async {
        let spec = ConnectionSpec::bootstrap(addr);
        let client = ClusterClient::new(&spec).unwrap();
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(256);
        let (_sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(
            Arc::new(client),
            WorkerConfig::new(spec.timeout),
            cmd_rx,
            upd_tx,
            sd_rx,
        ));
        let mut console = Console::new(AppState::new(spec, Instant::now()), Keymap::load(None).unwrap());
        console.act(Action::GoTo(PaneId::Groups));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            console.state.now = Instant::now();
            console.settle();
            while let Some(cmd) = console.outbox.pop() {
                cmd_tx.send(cmd).await.unwrap();
            }
            let rows = &console.state.panes.groups.table.rows;
            let lag = |g: &str| rows.iter().find(|r| r.summary.name == g).and_then(|r| r.total_lag());
            let time_lag = rows
                .iter()
                .find(|r| r.summary.name == "billing")
                .and_then(|r| r.lag.as_ref())
                .and_then(|l| l.lag.time_lag.ms());
            if lag("billing") == Some(6) && lag("audit-reader") == Some(4) && time_lag.is_some_and(|t| t >= 60_000) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the groups pane never showed the lags: {rows:#?}"
            );
            if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(200), upd_rx.recv()).await {
                console.apply(u);
            }
        }
        // Enter on billing: its partitions, the same numbers as `strom lag`.
        let pane = &mut console.state.panes.groups;
        let i = pane
            .table
            .view
            .order
            .iter()
            .position(|i| pane.table.rows[*i].summary.name == "billing")
            .unwrap();
        pane.table.view.selected = i;
        console.act(Action::Open);
        console.state.rebuild_all();
        let detail = console.state.panes.groups.detail.as_ref().expect("detail open");
        let mut got: Vec<(i32, Option<i64>, Option<i64>)> = detail
            .table
            .rows
            .iter()
            .map(|r| (r.lag.partition, r.lag.committed, r.lag.lag))
            .collect();
        got.sort();
        assert_eq!(got, [(0, Some(4), Some(6)), (1, Some(10), Some(0))]);
        console.act(Action::Back);
        assert!(console.state.panes.groups.detail.is_none(), "Esc closes the detail");
    });
}

fn produce_tail_records(addr: &str) {
    create(addr, &[("events", 2)]);
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let send = |part: i32, key: Option<&[u8]>, value: &[u8], headers: Option<OwnedHeaders>| {
        let mut r = BaseRecord::<[u8], [u8]>::to("events").payload(value).partition(part);
        if let Some(k) = key {
            r = r.key(k);
        }
        if let Some(h) = headers {
            r = r.headers(h);
        }
        p.send(r).map_err(|(e, _)| e).unwrap();
    };
    let hs = OwnedHeaders::new()
        .insert(Header {
            key: "trace-id",
            value: Some("abc"),
        })
        .insert(Header {
            key: "empty",
            value: None::<&[u8]>,
        });
    send(0, Some(b"user-1"), br#"{"amount": 12, "ok": true}"#, Some(hs));
    send(0, Some(b"user-2"), b"line one\nline two\x1b[31m red", None);
    send(0, None, &[0xff, 0x00, 0x10, 0x80], None);
    for i in 0..5 {
        send(1, Some(format!("k{i}").as_bytes()), format!("v{i}").as_bytes(), None);
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

fn groups(addr: &str) -> Vec<String> {
    let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let list = c.fetch_group_list(None, Duration::from_secs(10)).unwrap();
    list.groups().iter().map(|g| g.name().to_string()).collect()
}

#[test]
fn tail_prints_records_from_each_start_point_and_never_joins_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let addr = broker.addr.clone();
    produce_tail_records(&addr);
    let xdg = dir.path();

    // Everything, as JSON lines, then exit at the end.
    let out = strom(xdg, &["tail", "events", "--json", "-b", &addr]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 8, "{}", text(&out.stdout));
    let at = |p: i64, o: i64| {
        lines
            .iter()
            .find(|l| l["partition"] == p && l["offset"] == o)
            .unwrap_or_else(|| panic!("events-{p}@{o}"))
    };
    let first = at(0, 0);
    assert_eq!(first["topic"], "events");
    assert_eq!(first["key"], "user-1");
    assert_eq!(first["value"], r#"{"amount": 12, "ok": true}"#);
    assert_eq!(first["headers"]["trace-id"], "abc");
    assert!(first["headers"]["empty"].is_null());
    assert!(first["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(at(0, 1)["value"], "line one\nline two\u{1b}[31m red");
    let binary = at(0, 2);
    assert!(binary["key"].is_null());
    assert_eq!(
        (binary["value"].as_str(), binary["encoding"].as_str()),
        (Some("/wAQgA=="), Some("base64"))
    );
    assert_eq!(at(1, 4)["value"], "v4");
    // The escape never reaches the terminal raw in --json either.
    assert!(!out.stdout.contains(&0x1b), "raw ESC in the JSON output");

    // Text: one line per record, control characters escaped.
    let out = strom(xdg, &["tail", "events:0", "-b", &addr]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert_eq!(t.lines().count(), 3, "{t}");
    assert!(t.contains("key=user-2  line one\\nline two\\x1b[31m red"), "{t}");
    assert!(t.contains("trace-id=abc"), "{t}");
    assert!(!out.stdout.contains(&0x1b), "raw ESC on the terminal");

    // Last N of each partition, an offset, a count.
    let out = strom(xdg, &["tail", "events:1", "--from", "-2", "--json", "-b", &addr]);
    let offsets: Vec<i64> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [3, 4]);
    let out = strom(
        xdg,
        &["tail", "events:1", "--from", "1", "-n", "2", "--json", "-b", &addr],
    );
    assert_eq!(text(&out.stdout).lines().count(), 2);
    assert!(
        text(&out.stdout).starts_with(r#"{"topic":"events","partition":1,"offset":1,"#),
        "{}",
        text(&out.stdout)
    );
    // From the end without --follow: nothing, and it exits.
    let out = strom(xdg, &["tail", "events", "--from", "latest", "-b", &addr]);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", text(&out.stderr));

    // --follow: a record produced after the start appears.
    let mut child = Command::new(strom_bin())
        .args([
            "tail", "events:1", "--from", "latest", "--follow", "--json", "-n", "1", "-b", &addr,
        ])
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_STATE_HOME", xdg.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", &addr).create().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() {
        assert!(Instant::now() < deadline, "the followed record never appeared");
        p.send(BaseRecord::<(), _>::to("events").payload("late").partition(1))
            .unwrap();
        p.flush(Duration::from_secs(5)).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    let line = reader.join().unwrap().unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (v["value"].as_str(), v["offset"].as_i64().map(|o| o >= 5)),
        (Some("late"), Some(true))
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "-n 1 exits after one record");

    // Bad targets: 1 with the reason; bad start points: 2.
    let out = strom(xdg, &["tail", "nosuch", "-b", &addr]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("topic 'nosuch' does not exist"),
        "{}",
        text(&out.stderr)
    );
    let out = strom(xdg, &["tail", "events:9", "-b", &addr]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no partition 9"), "{}", text(&out.stderr));
    let out = strom(xdg, &["tail", "events", "--from", "yesterday", "-b", &addr]);
    assert_eq!(out.status.code(), Some(2));

    // None of this made a consumer group.
    assert_eq!(groups(&addr), Vec::<String>::new());
}

/// The console's tail pane, fed by the worker's tail session against a real broker: `o`
/// earliest reads what is there (keys, headers, values as produced), new records arrive while
/// following, Space pauses (nothing arrives) and resumes (it does), Esc closes the session,
/// and no consumer group was ever made.
#[test]
fn console_tail_pane_reads_through_the_worker_pauses_and_never_joins_a_group() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use strom::app::keymap::Keymap;
    use strom::app::run::Console;
    use strom::app::state::AppState;
    use strom::app::worker::WorkerConfig;
    use strom::cluster::client::ClusterClient;
    use strom::cluster::connect::ConnectionSpec;
    use strom::cluster::tail::TailTarget;

    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let addr = broker.addr.clone();
    produce_tail_records(&addr);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", &addr).create().unwrap();
    let produce = |value: &str| {
        producer
            .send(BaseRecord::<(), _>::to("events").payload(value).partition(1))
            .map_err(|(e, _)| e)
            .unwrap();
        producer.flush(Duration::from_secs(10)).unwrap();
    };
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);

    runtime().block_on(async {
        let spec = ConnectionSpec::bootstrap(&addr);
        let client = ClusterClient::new(&spec).unwrap();
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(256);
        let (_sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(
            Arc::new(client),
            WorkerConfig::new(spec.timeout),
            cmd_rx,
            upd_tx,
            sd_rx,
        ));
        let mut console = Console::new(AppState::new(spec, Instant::now()), Keymap::load(None).unwrap());
        // Runs the loop (commands out, updates in) until `done` holds, for at most `secs`.
        macro_rules! pump_until {
            ($secs:expr, $what:expr, $done:expr) => {{
                let deadline = Instant::now() + Duration::from_secs($secs);
                loop {
                    console.state.now = Instant::now();
                    console.settle();
                    while let Some(cmd) = console.outbox.pop() {
                        cmd_tx.send(cmd).await.unwrap();
                    }
                    #[allow(clippy::redundant_closure_call)]
                    if ($done)(&console) {
                        break true;
                    }
                    if Instant::now() > deadline {
                        break false;
                    }
                    if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(100), upd_rx.recv()).await {
                        console.apply(u);
                    }
                }
            }};
            ($secs:expr, $what:expr, $done:expr, must) => {{
                let ok = pump_until!($secs, $what, $done);
                let tail = console
                    .state
                    .tail
                    .as_ref()
                    .map(|t| (t.status.clone(), t.counts(), t.paused));
                assert!(ok, "{}: {tail:?}", $what);
            }};
        }
        let values = |c: &Console| -> Vec<(i32, i64, Vec<u8>)> {
            c.state.tail.as_ref().map_or(Vec::new(), |t| {
                t.buffer
                    .iter()
                    .map(|r| (r.partition, r.offset, r.value.clone().unwrap_or_default()))
                    .collect()
            })
        };

        console.open_tail(TailTarget {
            topic: "events".into(),
            partition: None,
        });
        pump_until!(
            20,
            "the tail started",
            |c: &Console| c.state.tail.as_ref().is_some_and(|t| t.caught_up()),
            must
        );
        assert!(values(&console).is_empty(), "from the end: nothing old");
        // `o` earliest: everything there.
        console.on_key(key(KeyCode::Char('o')));
        for ch in "earliest".chars() {
            console.on_key(key(KeyCode::Char(ch)));
        }
        console.on_key(key(KeyCode::Enter));
        pump_until!(
            20,
            "the 8 records from the beginning",
            |c: &Console| values(c).len() == 8,
            must
        );
        let tail = console.state.tail.as_ref().unwrap();
        let first = tail.buffer.iter().find(|r| r.partition == 0 && r.offset == 0).unwrap();
        assert_eq!(first.key.as_deref(), Some(&b"user-1"[..]));
        assert_eq!(first.headers.len(), 2);
        assert_eq!(first.headers[0].key, "trace-id");
        assert_eq!(first.headers[1].value, None);
        let binary = tail.buffer.iter().find(|r| r.partition == 0 && r.offset == 2).unwrap();
        assert_eq!(binary.value.as_deref(), Some(&[0xff, 0x00, 0x10, 0x80][..]));
        assert!(binary.key.is_none());

        // Live: a new record arrives and, following, is selected.
        produce("live-1");
        pump_until!(
            20,
            "the live record",
            |c: &Console| c
                .state
                .tail
                .as_ref()
                .and_then(|t| t.selected_record())
                .is_some_and(|r| r.value.as_deref() == Some(&b"live-1"[..])),
            must
        );
        // Space pauses: a record produced now does not arrive until Space again.
        console.on_key(key(KeyCode::Char(' ')));
        pump_until!(
            10,
            "paused",
            |c: &Console| c.state.tail.as_ref().is_some_and(|t| t.paused),
            must
        );
        produce("while-paused");
        let arrived = pump_until!(3, "", |c: &Console| values(c).iter().any(|v| v.2 == b"while-paused"));
        assert!(!arrived, "a record arrived while paused");
        console.on_key(key(KeyCode::Char(' ')));
        pump_until!(
            20,
            "the record produced while paused, after resuming",
            |c: &Console| values(c).iter().any(|v| v.2 == b"while-paused"),
            must
        );
        // Esc closes the tail; the worker stops its session.
        console.on_key(key(KeyCode::Esc));
        assert!(console.state.tail.is_none());
        pump_until!(1, "", |_: &Console| false);
    });
    assert_eq!(groups(&addr), Vec::<String>::new(), "the tail made a consumer group");
}
