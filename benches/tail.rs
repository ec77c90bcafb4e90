//! Tail throughput: how many records per second the console's tail pane takes in and draws
//! (worker session -> batches -> the pane's ring -> a 160x48 frame every 16 ms), against a plain
//! librdkafka consumer reading the same records (the reference), side by side and interleaved.
//!
//! The records (300,000 of 100 bytes over 4 partitions) are produced once to `strom broker`;
//! each round reads all of them from the beginning: a plain consumer with librdkafka's defaults,
//! one with the tail session's settings, the tail session alone (what `strom tail` reads), and
//! the pane. Rates in records/s. Run: `cargo bench --bench tail`
//! (`STROM_BENCH_QUICK=1`: 100,000 records, 2 rounds).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::BrokerProcess;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use strom::app::action::{Command, TailOrder};
use strom::app::keymap::Keymap;
use strom::app::panes::tail::TailPane;
use strom::app::run::Console;
use strom::app::state::AppState;
use strom::app::worker::WorkerConfig;
use strom::cluster::client::ClusterClient;
use strom::cluster::connect::ConnectionSpec;
use strom::cluster::tail::{assign_only_consumer, StartAt, TailTarget};

const TOPIC: &str = "bench-tail";
const PARTITIONS: i32 = 4;

fn produce(addr: &str, n: usize) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(admin.create_topics(
        &[NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1))],
        &AdminOptions::new(),
    ))
    .unwrap();
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    let value = vec![b'x'; 100];
    for i in 0..n {
        let key = format!("key-{i}");
        let r = BaseRecord::to(TOPIC)
            .key(&key)
            .payload(&value)
            .partition((i % 4) as i32);
        if p.send(r).is_err() {
            p.poll(Duration::from_millis(50));
        }
        if i % 10_000 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(60)).unwrap();
}

/// The tail session's consumer settings (`cluster::tail`), for the second reference.
const TAIL_SETTINGS: [(&str, &str); 5] = [
    ("fetch.wait.max.ms", "100"),
    ("queued.max.messages.kbytes", "16384"),
    ("queued.min.messages", "20000"),
    ("enable.partition.eof", "true"),
    ("isolation.level", "read_uncommitted"),
];

/// A plain consumer with `settings`: assign every partition at 0, poll until `n` records.
fn raw(spec: &ConnectionSpec, n: usize, settings: &[(&str, &str)]) -> f64 {
    let c = assign_only_consumer(spec, "bench-raw", settings).unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(TOPIC, p, Offset::Offset(0)).unwrap();
    }
    let start = Instant::now();
    c.assign(&tpl).unwrap();
    let mut got = 0;
    while got < n {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "raw consumer stuck at {got}"
        );
        if let Some(Ok(_)) = c.poll(Duration::from_millis(100)) {
            got += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The tail session alone (what `strom tail` reads from): its inbox drained as fast as it fills.
fn session(spec: &ConnectionSpec, n: usize) -> f64 {
    use strom::cluster::tail::{TailInbox, TailItem, TailSession, INBOX_RECORDS};
    let inbox = TailInbox::new(INBOX_RECORDS);
    let target = TailTarget {
        topic: TOPIC.into(),
        partition: None,
    };
    let start = Instant::now();
    let s = TailSession::start(spec, target, StartAt::Earliest, Arc::clone(&inbox), || true).unwrap();
    let mut got = 0;
    while got < n {
        assert!(start.elapsed() < Duration::from_secs(120), "session stuck at {got}");
        got += inbox
            .wait_drain(Duration::from_millis(100))
            .iter()
            .filter(|i| matches!(i, TailItem::Record(_)))
            .count();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    s.stop();
    rate
}

/// The console: the worker's tail session into the pane, a frame drawn every 16 ms.
fn pane(spec: &ConnectionSpec, n: usize, session: u64) -> (f64, u64, u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = ClusterClient::new(spec).unwrap();
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(16);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(1024);
        let (sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(
            Arc::new(client),
            WorkerConfig::new(spec.timeout),
            cmd_rx,
            upd_tx,
            sd_rx,
        ));
        let mut console = Console::new(AppState::new(spec.clone(), Instant::now()), Keymap::load(None).unwrap());
        let target = TailTarget {
            topic: TOPIC.into(),
            partition: None,
        };
        let start = Instant::now();
        console.state.tail = Some(TailPane::new(session, target.clone(), StartAt::Earliest, start));
        let open = TailOrder::Open {
            session,
            target,
            start: StartAt::Earliest,
        };
        cmd_tx.send(Command::Tail { id: 1, order: open }).await.unwrap();
        let theme = strom::ui::theme::Theme::default();
        let keymap = Keymap::load(None).unwrap();
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
        let mut frames = 0u64;
        let mut next_frame = Instant::now();
        loop {
            let received = console.state.tail.as_ref().map_or(0, |t| t.counts().received);
            if received >= n as u64 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(120), "pane stuck at {received}");
            if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(16), upd_rx.recv()).await {
                console.apply(u);
                while let Ok(u) = upd_rx.try_recv() {
                    console.apply(u);
                }
            }
            if Instant::now() >= next_frame {
                console.state.now = Instant::now();
                let page = strom::ui::page_height(ratatui::layout::Rect::new(0, 0, 160, 48), &console.state);
                terminal
                    .draw(|f| {
                        if let Some(t) = console.state.tail.as_mut() {
                            t.frame(page);
                        }
                        strom::ui::render(f, &console.state, &theme, &keymap)
                    })
                    .unwrap();
                frames += 1;
                next_frame += Duration::from_millis(16);
            }
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        let skipped = console.state.tail.as_ref().map_or(0, |t| t.skipped);
        let _ = sd_tx.send(true);
        (rate, frames, skipped)
    })
}

fn main() {
    let quick = std::env::var_os("STROM_BENCH_QUICK").is_some();
    let (n, rounds) = if quick { (100_000, 2) } else { (300_000, 3) };
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let t = Instant::now();
    produce(&broker.addr, n);
    println!(
        "produced {n} records of 100 bytes over {PARTITIONS} partitions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let spec = ConnectionSpec::bootstrap(&broker.addr);
    println!(
        "| round | raw, defaults | raw, tail settings | tail session | tail pane | pane / session | pane / raw (tail settings) | frames | skipped drawing |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for round in 1..=rounds {
        let r = raw(&spec, n, &[]);
        let rt = raw(&spec, n, &TAIL_SETTINGS);
        let s = session(&spec, n);
        let (p, frames, skipped) = pane(&spec, n, round as u64);
        println!(
            "| {round} | {r:.0} | {rt:.0} | {s:.0} | {p:.0} | {:.2} | {:.2} | {frames} | {skipped} |",
            p / s,
            p / rt
        );
    }
}
