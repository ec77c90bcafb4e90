//! Console render benchmark: the Topics and Partitions panes drawn into a 160x48 `TestBackend`
//! from state the size of a large cluster (1,000 topics, 10,000 partitions, one topic with
//! 1,009 of them), N frames each, reporting mean and p99 frame time against the 4 ms target,
//! both wall clock and the thread's CPU time (which a busy shared machine does not inflate).
//! `AppState::rebuild_all` is timed separately: it runs when data, sort or filter change, not
//! per frame. The process's resident memory is printed after the state is built.
//!
//! Run: `cargo bench --bench render` (add `-- FRAMES` to change the frame count).

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use strom::app::keymap::Keymap;
use strom::app::panes::PaneId;
use strom::app::state::{AppState, Connection, Fetched, Part};
use strom::cluster::connect::ConnectionSpec;
use strom::cluster::model::{Broker, GroupSummary, Metadata, PartitionMap, PartitionMeta, Retention, TopicMeta};
use strom::ui::theme::Theme;

const TOPICS: usize = 1_000;
const PARTITIONS: usize = 10_000;
const BIG_TOPIC_PARTITIONS: usize = 1_009;
const BROKERS: i32 = 6;
const TARGET: Duration = Duration::from_millis(4);

fn fetched<V>(value: V, at: Instant) -> Fetched<V> {
    Fetched {
        value: Some(value),
        parts: BTreeMap::from([(
            0,
            Part {
                ok_at: Some(at),
                ..Part::default()
            },
        )]),
    }
}

fn build_state() -> AppState {
    let now = Instant::now();
    let mut state = AppState::new(ConnectionSpec::bootstrap("kafka-1:9092"), now);
    let small = (PARTITIONS - BIG_TOPIC_PARTITIONS) / (TOPICS - 1);
    let (mut hws, mut starts, mut sizes, mut retention) = (
        PartitionMap::default(),
        PartitionMap::default(),
        HashMap::new(),
        HashMap::new(),
    );
    let topics: Vec<TopicMeta> = (0..TOPICS)
        .map(|t| {
            let n = if t == 0 { BIG_TOPIC_PARTITIONS } else { small };
            let name = format!("team-{:02}.service-{t:04}.events", t % 37);
            retention.insert(
                name.clone(),
                Retention {
                    ms: Some(604_800_000),
                    bytes: Some(if t % 5 == 0 { 1 << 34 } else { -1 }),
                },
            );
            TopicMeta {
                partitions: (0..n as i32)
                    .map(|p| {
                        let replicas: Vec<i32> = (0..3).map(|r| (p + t as i32 + r) % BROKERS + 1).collect();
                        let hw = ((t * 7_919 + p as usize * 104_729) % 50_000_000) as i64;
                        hws.insert(&name, p, hw);
                        starts.insert(&name, p, hw / 3);
                        sizes.entry(replicas[0]).or_insert_with(PartitionMap::default).insert(
                            &name,
                            p,
                            hw as u64 * 220,
                        );
                        PartitionMeta {
                            id: p,
                            // Every 97th partition offline, every 13th under-replicated.
                            leader: (p % 97 != 5).then_some(replicas[0]),
                            isr: if p % 13 == 3 {
                                replicas[..2].to_vec()
                            } else {
                                replicas.clone()
                            },
                            replicas,
                            error: None,
                        }
                    })
                    .collect(),
                name,
                internal: false,
                error: None,
            }
        })
        .collect();
    let mut metadata = Metadata {
        cluster_id: Some("bench".into()),
        controller_id: Some(1),
        brokers: (1..=BROKERS)
            .map(|id| Broker {
                id,
                host: format!("kafka-{id}.example"),
                port: 9092,
                rack: None,
                is_controller: id == 1,
                up: true,
            })
            .collect(),
        topics,
    };
    metadata.topics.sort_by(|a, b| a.name.cmp(&b.name));
    state.current_topic = metadata
        .topics
        .iter()
        .find(|t| t.partitions.len() == BIG_TOPIC_PARTITIONS)
        .map(|t| t.name.clone());
    state.data.metadata = fetched(metadata, now);
    state.data.high_watermarks = fetched(hws, now);
    state.data.log_starts = fetched(starts, now);
    state.data.sizes = fetched(sizes, now);
    state.data.retention = fetched(retention, now);
    state.connection = Connection::Up;
    state.data.groups = fetched(
        (0..1_000)
            .map(|g| GroupSummary {
                name: format!("consumer-{g:04}"),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                protocol: "range".into(),
                members: g % 7,
            })
            .collect(),
        now,
    );
    state
}

/// CPU time of this thread: unlike wall time, not inflated when other processes preempt us on
/// a shared machine.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// (mean, median, p99, max).
fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration, Duration) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    (mean, at(50), at(99), samples[samples.len() - 1])
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let frames: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000);
    let rss_before = rss_kib();
    let mut state = build_state();
    let rss_after = rss_kib();
    let md = state
        .data
        .metadata
        .value
        .as_ref()
        .map(|m| (m.topics.len(), m.partition_count(), m.brokers.len()));
    let (topics, parts, brokers) = md.unwrap_or_default();
    println!(
        "state: {topics} topics, {parts} partitions, {brokers} brokers, {} groups",
        state.data.groups.value.as_ref().map_or(0, Vec::len)
    );
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "resident memory: {:.1} MiB after building the state ({:.1} MiB before)",
            b as f64 / 1024.0,
            a as f64 / 1024.0
        );
    }

    // Rebuild: once per data change, deriving every pane's rows from the datasets and sorting
    // them. Sorting by records is the costliest topic sort; by status the costliest partition
    // sort.
    let mut rebuilds = Vec::new();
    for i in 0..50 {
        state.panes.topics.table.view.sort_column = [0, 3][i % 2];
        state.panes.topics.table.view.descending = i % 4 >= 2;
        state.panes.partitions.table.view.sort_column = [0, 4][i % 2];
        let t = thread_cpu();
        state.rebuild_all();
        rebuilds.push(thread_cpu().saturating_sub(t));
    }
    let (mean, median, _, max) = stats(rebuilds);
    println!(
        "AppState::rebuild_all (rows of all panes derived and sorted, on data change), CPU: mean {}, median {}, max {}",
        us(mean),
        us(median),
        us(max)
    );
    for id in PaneId::ALL {
        let mut times = Vec::new();
        for _ in 0..20 {
            let ctx = strom::app::panes::Context {
                current_topic: state.current_topic.as_deref(),
            };
            let t = thread_cpu();
            state.panes.get_mut(id).rebuild(&state.data, ctx);
            times.push(thread_cpu().saturating_sub(t));
        }
        let (mean, median, _, _) = stats(times);
        println!(
            "  rebuild of the {:<10} pane, CPU: mean {}, median {}",
            id.title(),
            us(mean),
            us(median)
        );
    }
    let topics = &mut state.panes.topics.table;
    topics.view.filter = "service-04".into();
    let t = Instant::now();
    topics.resort();
    println!(
        "topics table resort with a filter: {} ({} rows)",
        us(t.elapsed()),
        topics.view.order.len()
    );
    topics.view.filter.clear();
    topics.view.sort_column = 3;
    topics.view.descending = true;
    state.rebuild_all();

    let theme = Theme::default();
    let keymap = match Keymap::load(None) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("default keymap: {e}");
            std::process::exit(1);
        }
    };
    let mut terminal = match Terminal::new(TestBackend::new(160, 48)) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    let mut worst = Duration::ZERO;
    for pane in [PaneId::Topics, PaneId::Partitions] {
        state.focus = pane;
        let len = state.pane().table().view().order.len();
        let mut wall = Vec::with_capacity(frames);
        let mut cpu = Vec::with_capacity(frames);
        for i in 0..frames {
            // Move the selection around (and so the visible window), as scrolling would.
            let view = state.pane_mut().table_mut().view_mut();
            view.selected = (i * 37) % len.max(1);
            view.scroll_into_view(40);
            let (t, c) = (Instant::now(), thread_cpu());
            let drawn = terminal.draw(|f| strom::ui::render(f, &state, &theme, &keymap));
            cpu.push(thread_cpu().saturating_sub(c));
            wall.push(t.elapsed());
            black_box(drawn.is_ok());
        }
        let (mean, median, p99, max) = stats(wall);
        println!(
            "render {:<10} 160x48, {frames} frames, {len} rows: wall mean {}, median {}, p99 {}, max {}",
            pane.title(),
            us(mean),
            us(median),
            us(p99),
            us(max)
        );
        let (mean, median, p99, max) = stats(cpu);
        worst = worst.max(p99);
        println!(
            "{:<37} cpu  mean {}, median {}, p99 {}, max {}",
            "",
            us(mean),
            us(median),
            us(p99),
            us(max)
        );
    }
    if let Some(rss) = rss_kib() {
        println!("resident memory after rendering: {:.1} MiB", rss as f64 / 1024.0);
    }
    // On a shared machine the p99 mostly measures preemption; the load average says how busy.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "target: p99 frame CPU time under {} ms: {} (load average {})",
        TARGET.as_millis(),
        if worst < TARGET { "met" } else { "MISSED" },
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
}
