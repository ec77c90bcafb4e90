//! Consumer-group benchmark: how long after the last of N members joins until every member
//! has an assignment (N = 1, 10, 50), and offset commits per second, against the bundled
//! broker and, side by side in the same run, librdkafka's in-memory mock cluster.
//!
//! Both sides run with `group.initial.rebalance.delay.ms = 0` so the figure is the rebalance
//! itself, not a configured wait. Run: `cargo bench --bench groups` (`STROM_BENCH_QUICK=1`
//! for a smoke run).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};

struct Broker {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_broker() -> anyhow::Result<Broker> {
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("broker.toml");
    std::fs::write(&cfg, "\"group.initial.rebalance.delay.ms\" = 0\n")?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_strom"))
        .args(["broker", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| anyhow::anyhow!("unexpected: {line}"))?
        .to_string();
    Ok(Broker { child, addr, _dir: dir })
}

/// A librdkafka mock cluster owned by a hidden client, with the initial rebalance delay off.
struct Mock {
    _client: BaseProducer,
    addr: String,
}

fn start_mock() -> anyhow::Result<Mock> {
    let client: BaseProducer = ClientConfig::new().set("test.mock.num.brokers", "1").create()?;
    let mock = client
        .client()
        .mock_cluster()
        .ok_or_else(|| anyhow::anyhow!("no mock cluster"))?;
    let addr = mock.bootstrap_servers();
    // SAFETY: the mock cluster lives as long as `client`, which we keep.
    unsafe {
        let ptr = rdkafka::bindings::rd_kafka_handle_mock_cluster(client.client().native_ptr());
        rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(ptr, 0);
    }
    drop(mock);
    Ok(Mock { _client: client, addr })
}

fn create_topic(addr: &str, name: &str, partitions: i32, mock: Option<&Mock>) -> anyhow::Result<()> {
    if let Some(m) = mock {
        let mc = m
            ._client
            .client()
            .mock_cluster()
            .ok_or_else(|| anyhow::anyhow!("no mock"))?;
        mc.create_topic(name, partitions, 1)?;
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", addr).create()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    for r in rt.block_on(admin.create_topics(
        &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
        &AdminOptions::new(),
    ))? {
        r.map_err(|(t, e)| anyhow::anyhow!("{t}: {e}"))?;
    }
    Ok(())
}

/// Time from the last member's subscribe to every member holding partitions; None when that
/// does not happen within `limit` (the mock cluster's coordinator is slow with many members).
fn time_to_assignment(
    addr: &str,
    topic: &str,
    group: &str,
    n: usize,
    limit: Duration,
) -> anyhow::Result<Option<Duration>> {
    let members: Vec<BaseConsumer> = (0..n)
        .map(|_| {
            ClientConfig::new()
                .set("bootstrap.servers", addr)
                .set("group.id", group)
                .set("session.timeout.ms", "30000")
                .set("heartbeat.interval.ms", "1000")
                .set("enable.auto.commit", "false")
                .create()
        })
        .collect::<Result<_, _>>()?;
    for m in &members {
        m.subscribe(&[topic])?;
    }
    let joined = Instant::now();
    let deadline = joined + limit;
    loop {
        for m in &members {
            let _ = m.poll(Duration::ZERO);
        }
        if members
            .iter()
            .all(|m| m.assignment().map(|a| a.count() > 0).unwrap_or(false))
        {
            return Ok(Some(joined.elapsed()));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Synchronous commits per second from one consumer (standalone, no group membership).
fn commits_per_second(addr: &str, topic: &str, count: usize) -> anyhow::Result<f64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", format!("{topic}-committer"))
        .set("enable.auto.commit", "false")
        .create()?;
    let started = Instant::now();
    for i in 0..count {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(i as i64))?;
        c.commit(&tpl, CommitMode::Sync)?;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("STROM_BENCH_QUICK").is_some() || std::env::args().any(|a| a == "--quick");
    let sizes: &[usize] = if quick { &[1, 10] } else { &[1, 10, 50] };
    let commits = if quick { 300 } else { 3000 };
    let broker = start_broker()?;
    let mock = start_mock()?;
    println!("consumer groups: strom broker vs librdkafka mock cluster (initial rebalance delay 0 on both)");
    println!("{:<34} {:>12} {:>12} {:>8}", "case", "strom", "mock", "ratio");
    for &n in sizes {
        let topic = format!("join-{n}");
        create_topic(&broker.addr, &topic, n as i32, None)?;
        create_topic(&mock.addr, &topic, n as i32, Some(&mock))?;
        let limit = Duration::from_secs(60);
        let s = time_to_assignment(&broker.addr, &topic, &format!("g{n}"), n, limit)?;
        let m = time_to_assignment(&mock.addr, &topic, &format!("g{n}"), n, limit)?;
        let ms = |d: Option<Duration>| {
            d.map(|d| format!("{:.0}ms", d.as_secs_f64() * 1e3))
                .unwrap_or_else(|| "> 60 s".into())
        };
        let ratio = match (s, m) {
            (Some(s), Some(m)) => format!("{:.2}", m.as_secs_f64() / s.as_secs_f64()),
            (Some(_), None) => "> 1".into(),
            _ => "-".into(),
        };
        println!(
            "{:<34} {:>12} {:>12} {:>8}",
            format!("all {n} members assigned after join"),
            ms(s),
            ms(m),
            ratio
        );
    }
    create_topic(&broker.addr, "commits", 1, None)?;
    create_topic(&mock.addr, "commits", 1, Some(&mock))?;
    let s = commits_per_second(&broker.addr, "commits", commits)?;
    let m = commits_per_second(&mock.addr, "commits", commits)?;
    println!(
        "{:<34} {:>12.0} {:>12.0} {:>8.2}",
        "offset commits/s (sync, one client)",
        s,
        m,
        s / m
    );
    println!("ratio > 1 means strom is faster (time: mock/strom; rate: strom/mock). strom fsyncs every commit.");
    Ok(())
}
