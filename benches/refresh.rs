//! Console refresh benchmark: the console's background worker against the bundled broker with
//! 1,000 topics / 10,000 partitions / 1,000 consumer groups, through a counting proxy
//! (tests/common/proxy.rs), measuring
//!
//! - requests sent per 10 s (one full refresh cycle of sizes and retention), by API;
//! - refresh latency of the visible pane: how long after a record is produced the console's
//!   state shows the new high watermark (topics pane), and how long after a new group commits
//!   its first offset it appears in the group list (groups pane);
//! - the same watermark latency while DescribeConfigs and DescribeLogDirs never answer;
//! - time from start to the first complete view of each pane.
//!
//! The probes are produced and committed straight to the broker, not through the proxy, so
//! they are not counted. Run: `cargo bench --bench refresh` (`STROM_BENCH_QUICK=1`: 10 s
//! phases instead of 30 s).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proxy::{api_name, Proxy, ADVERTISE_PROXY};
use common::{wire, BrokerProcess};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

const TOPICS: usize = 1_000;
const PARTITIONS_PER_TOPIC: i32 = 10;
const GROUPS: usize = 1_000;

/// What the console's state showed, and when (the worker adapter's output).
enum Seen {
    /// A high watermark of partition 0 of a topic.
    Watermark { topic: String, hw: i64 },
    /// The group list, by name.
    Groups(Vec<String>),
    /// DescribeConfigs-derived retention arrived for `n` topics.
    Retention(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visible {
    Topics,
    Groups,
}

/// Runs the console's worker against `bootstrap` until `stop`, forwarding what it delivers.
mod console {
    use super::*;
    use strom::app::action::{Command, JobKey, Payload, Update, ViewWants};
    use strom::app::state::Dataset;
    use strom::app::worker::WorkerConfig;
    use strom::cluster::client::ClusterClient;
    use strom::cluster::connect::ConnectionSpec;

    pub fn start(
        rt: &tokio::runtime::Runtime,
        bootstrap: &str,
        visible: Visible,
    ) -> (
        std::sync::mpsc::Receiver<(Instant, Seen)>,
        tokio::sync::watch::Sender<bool>,
    ) {
        let spec = ConnectionSpec::bootstrap(bootstrap);
        let client = Arc::new(ClusterClient::new(&spec).expect("client"));
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(64);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(1024);
        let (sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(strom::app::worker::run(
            client,
            WorkerConfig::new(spec.timeout),
            cmd_rx,
            upd_tx,
            sd_rx,
        ));
        // What the console sends for the pane on screen (the first 40 topics by name are the
        // rows a 160x48 terminal shows).
        let view = match visible {
            Visible::Topics => {
                let mut first: Vec<String> = (0..TOPICS).map(topic_name).collect();
                first.sort();
                first.truncate(40);
                ViewWants {
                    visible: vec![
                        Dataset::Metadata,
                        Dataset::HighWatermarks,
                        Dataset::LogStarts,
                        Dataset::Sizes,
                        Dataset::Retention,
                    ],
                    topics_first: first,
                    ..ViewWants::default()
                }
            }
            Visible::Groups => ViewWants {
                visible: vec![Dataset::Groups],
                ..ViewWants::default()
            },
        };
        rt.spawn(async move {
            let _ = cmd_tx.send(Command::View { id: 1, view }).await;
            let mut with_retention = std::collections::HashSet::new();
            while let Some(u) = upd_rx.recv().await {
                let at = Instant::now();
                let Update::Finished {
                    job,
                    result: Ok(payload),
                    ..
                } = u
                else {
                    continue;
                };
                match (job, payload) {
                    (JobKey::HighWatermarks(_), Payload::Offsets(list)) => {
                        for o in list.into_iter().filter(|o| o.partition == 0 && o.error.is_none()) {
                            let _ = tx.send((
                                at,
                                Seen::Watermark {
                                    topic: o.topic,
                                    hw: o.offset,
                                },
                            ));
                        }
                    }
                    (_, Payload::Retention(r)) => {
                        with_retention.extend(r.into_keys());
                        let _ = tx.send((at, Seen::Retention(with_retention.len())));
                    }
                    (_, Payload::Groups(g)) => {
                        let _ = tx.send((at, Seen::Groups(g.into_iter().map(|g| g.name).collect())));
                    }
                    _ => {}
                }
            }
            drop(cmd_tx);
        });
        (rx, sd_tx)
    }
}

fn topic_name(i: usize) -> String {
    format!("team-{:02}.service-{i:04}.events", i % 37)
}

fn setup(broker: &str) {
    let t = Instant::now();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .create()
        .expect("admin");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let names: Vec<String> = (0..TOPICS).map(topic_name).collect();
    for chunk in names.chunks(100) {
        let topics: Vec<NewTopic> = chunk
            .iter()
            .map(|n| NewTopic::new(n, PARTITIONS_PER_TOPIC, TopicReplication::Fixed(1)))
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        for r in rt.block_on(admin.create_topics(&topics, &opts)).expect("create topics") {
            r.expect("topic created");
        }
    }
    // One committed offset per partition of one topic for each group: Empty groups, as a
    // fleet of stopped consumers looks.
    let mut s = wire::connect(broker);
    for g in 0..GROUPS {
        commit(&mut s, &format!("group-{g:04}"), &names[g % TOPICS]);
    }
    println!(
        "setup: {TOPICS} topics x {PARTITIONS_PER_TOPIC} partitions, {GROUPS} groups in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

fn commit(s: &mut std::net::TcpStream, group: &str, topic: &str) {
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(StrBytes::from_string(group.to_string()));
    req.generation_id_or_member_epoch = -1;
    let mut t = OffsetCommitRequestTopic::default();
    t.name = TopicName(StrBytes::from_string(topic.to_string()));
    t.partitions = (0..PARTITIONS_PER_TOPIC)
        .map(|p| {
            let mut part = OffsetCommitRequestPartition::default();
            part.partition_index = p;
            part.committed_offset = 0;
            part
        })
        .collect();
    req.topics = vec![t];
    let resp = wire::call(s, &req, 2);
    for t in resp.topics {
        for p in t.partitions {
            assert_eq!(p.error_code, 0, "commit for {group}");
        }
    }
}

struct Phase {
    name: &'static str,
    visible: Visible,
    stall: &'static [i16],
}

#[derive(Default)]
struct Report {
    first_watermarks: Option<Duration>,
    first_groups: Option<Duration>,
    first_retention: Option<Duration>,
    latencies: Vec<Duration>,
    missed: usize,
    requests: BTreeMap<i16, u64>,
    window: Duration,
}

fn percentile(v: &mut [Duration], q: usize) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(v[(v.len() * q / 100).min(v.len() - 1)])
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "never".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3))
}

fn run_phase(rt: &tokio::runtime::Runtime, broker: &str, proxy: &Proxy, phase: &Phase, secs: u64) -> Report {
    proxy.unstall_all();
    for k in phase.stall {
        proxy.stall(*k);
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("linger.ms", "0")
        .create()
        .expect("producer");
    let mut s = wire::connect(broker);
    let start = Instant::now();
    let (seen, stop) = console::start(rt, &proxy.addr, phase.visible);
    let mut report = Report::default();
    // Warm-up: until the first complete view, bounded.
    let warm = Duration::from_secs(20);
    let mut hw: HashMap<String, i64> = HashMap::new();
    while start.elapsed() < warm && (report.first_watermarks.is_none() || report.first_groups.is_none()) {
        if let Ok((at, s)) = seen.recv_timeout(Duration::from_millis(100)) {
            match s {
                Seen::Watermark { topic, hw: h } => {
                    report.first_watermarks.get_or_insert(at - start);
                    hw.insert(topic, h);
                }
                Seen::Groups(g) if g.len() >= GROUPS => {
                    report.first_groups.get_or_insert(at - start);
                }
                Seen::Retention(n) if n >= TOPICS => {
                    report.first_retention.get_or_insert(at - start);
                }
                _ => {}
            }
        }
    }
    proxy.reset_counts();
    let window_start = Instant::now();
    let window = Duration::from_secs(secs);
    // Probes: one every second, alternating topics; a probe is answered when the state shows it.
    let mut pending: Vec<(String, i64, Instant)> = Vec::new();
    let mut next_probe = Instant::now();
    let mut probe = 0usize;
    while window_start.elapsed() < window {
        if Instant::now() >= next_probe {
            next_probe += Duration::from_secs(1);
            probe += 1;
            match phase.visible {
                Visible::Topics => {
                    let topic = topic_name((probe * 7919) % TOPICS);
                    producer
                        .send(BaseRecord::<(), _>::to(&topic).payload("probe").partition(0))
                        .expect("send probe");
                    producer.flush(Duration::from_secs(5)).expect("flush probe");
                    let want = hw.get(&topic).copied().unwrap_or(0) + 1;
                    *hw.entry(topic.clone()).or_default() = want;
                    pending.push((topic, want, Instant::now()));
                }
                Visible::Groups => {
                    let group = format!("probe-{probe:04}-{}", start.elapsed().as_millis());
                    commit(&mut s, &group, &topic_name(probe % TOPICS));
                    pending.push((group, 0, Instant::now()));
                }
            }
        }
        if let Ok((at, s)) = seen.recv_timeout(Duration::from_millis(20)) {
            match s {
                Seen::Watermark { topic, hw: h } => {
                    pending.retain(|(t, want, sent)| {
                        let done = *t == topic && h >= *want;
                        if done {
                            report.latencies.push(at.saturating_duration_since(*sent));
                        }
                        !done
                    });
                }
                Seen::Groups(names) if phase.visible == Visible::Groups => {
                    let names: std::collections::HashSet<String> = names.into_iter().collect();
                    pending.retain(|(g, _, sent)| {
                        let done = names.contains(g);
                        if done {
                            report.latencies.push(at.saturating_duration_since(*sent));
                        }
                        !done
                    });
                }
                _ => {}
            }
        }
    }
    report.missed = pending.len();
    report.requests = proxy.counts("strom-console");
    report.window = window_start.elapsed();
    let _ = stop.send(true);
    report
}

fn main() {
    let quick = std::env::var_os("STROM_BENCH_QUICK").is_some();
    let secs = if quick { 10 } else { 30 };
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(ADVERTISE_PROXY));
    let proxy = Proxy::start(&broker.addr);
    setup(&broker.addr);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let phases = [
        Phase {
            name: "topics pane",
            visible: Visible::Topics,
            stall: &[],
        },
        Phase {
            name: "groups pane",
            visible: Visible::Groups,
            stall: &[],
        },
        Phase {
            name: "topics pane, DescribeConfigs + DescribeLogDirs stalled",
            visible: Visible::Topics,
            stall: &[32, 35],
        },
    ];
    for phase in &phases {
        let mut r = run_phase(&rt, &broker.addr, &proxy, phase, secs);
        let per10 = |n: u64| n as f64 * 10.0 / r.window.as_secs_f64();
        println!("\n== {} ({} s window)", phase.name, r.window.as_secs());
        println!(
            "first watermarks after {}, first full group list after {}, retention of every topic after {}",
            ms(r.first_watermarks),
            ms(r.first_groups),
            ms(r.first_retention)
        );
        let total: u64 = r.requests.values().sum();
        println!("requests per 10 s: {:.1} in total", per10(total));
        for (k, n) in &r.requests {
            println!("  {:<18} {:>8.1}", api_name(*k), per10(*n));
        }
        let n = r.latencies.len();
        let (p50, p99, max) = (
            percentile(&mut r.latencies, 50),
            percentile(&mut r.latencies, 99),
            r.latencies.iter().max().copied(),
        );
        println!(
            "refresh latency of the visible pane ({n} probes, {} never shown): p50 {}, p99 {}, max {}",
            r.missed,
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
}
