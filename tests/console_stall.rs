//! A cluster that never answers DescribeConfigs or DescribeLogDirs (a proxy holds those requests
//! and everything after them on their connection, as a broker stuck on them would): the
//! console's watermarks keep refreshing on their own 2 s schedule, new records show up within
//! one interval, and the topics pane says what it is waiting for.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use strom::app::action::{JobKey, Update};
use strom::app::keymap::Keymap;
use strom::app::run::Console;
use strom::app::state::AppState;
use strom::app::worker::WorkerConfig;
use strom::cluster::client::ClusterClient;
use strom::cluster::connect::ConnectionSpec;
use strom::ui::theme::Theme;

use common::proxy::{Proxy, ADVERTISE_PROXY};
use common::BrokerProcess;

const DESCRIBE_CONFIGS: i16 = 32;
const DESCRIBE_LOG_DIRS: i16 = 35;

fn screen(console: &Console) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    terminal
        .draw(|f| strom::ui::render(f, &console.state, &Theme::no_color(), &console.keymap))
        .unwrap();
    terminal.backend().to_string()
}

fn orders_records(console: &Console) -> Option<i64> {
    console
        .state
        .panes
        .topics
        .table
        .rows
        .iter()
        .find(|r| r.name == "orders")
        .and_then(|r| r.records)
}

#[test]
fn watermarks_refresh_on_time_while_configs_and_log_dirs_never_answer() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(ADVERTISE_PROXY));
    let proxy = Proxy::start(&broker.addr);
    proxy.stall(DESCRIBE_CONFIGS);
    proxy.stall(DESCRIBE_LOG_DIRS);
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &proxy.addr)
        .create()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for r in rt
        .block_on(admin.create_topics(
            &[NewTopic::new("orders", 2, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .unwrap()
    {
        r.unwrap();
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &proxy.addr)
        .set("linger.ms", "0")
        .create()
        .unwrap();

    rt.block_on(async {
        let spec = ConnectionSpec::bootstrap(&proxy.addr);
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(1024);
        let (_sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(
            Arc::new(ClusterClient::new(&spec).unwrap()),
            WorkerConfig::new(spec.timeout),
            cmd_rx,
            upd_tx,
            sd_rx,
        ));
        let mut console = Console::new(AppState::new(spec, Instant::now()), Keymap::load(None).unwrap());

        let start = Instant::now();
        let mut produced = 0i64;
        let mut next_record = start + Duration::from_secs(1);
        let mut pending: Vec<(i64, Instant)> = Vec::new();
        let mut latencies = Vec::new();
        let mut watermark_answers = Vec::new();
        let mut saw_waiting = false;
        while start.elapsed() < Duration::from_secs(16) {
            console.state.now = Instant::now();
            console.settle();
            while let Some(cmd) = console.outbox.pop() {
                cmd_tx.send(cmd).await.unwrap();
            }
            if Instant::now() >= next_record {
                next_record += Duration::from_secs(1);
                producer
                    .send(BaseRecord::<(), _>::to("orders").payload("x").partition(0))
                    .unwrap();
                producer.flush(Duration::from_secs(5)).unwrap();
                produced += 1;
                pending.push((produced, Instant::now()));
            }
            if let Some(records) = orders_records(&console) {
                pending.retain(|(n, at)| {
                    let shown = records >= *n;
                    if shown {
                        latencies.push(at.elapsed());
                    }
                    !shown
                });
            }
            let text = screen(&console);
            saw_waiting |= text.contains("waiting") && (text.contains("for retention") || text.contains("for sizes"));
            if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(50), upd_rx.recv()).await {
                if let Update::Finished {
                    job: JobKey::HighWatermarks(_),
                    result: Ok(_),
                    ..
                } = &u
                {
                    watermark_answers.push(start.elapsed());
                }
                console.apply(u);
            }
        }
        let counts = proxy.counts("strom-console");
        assert!(
            counts.get(&DESCRIBE_CONFIGS).copied().unwrap_or(0) > 0
                && counts.get(&DESCRIBE_LOG_DIRS).copied().unwrap_or(0) > 0,
            "the console asked the stalled APIs: {counts:?}"
        );
        assert!(
            watermark_answers.len() >= 6,
            "watermarks answered every ~2 s for 16 s, not {}: {watermark_answers:?}",
            watermark_answers.len()
        );
        assert!(
            watermark_answers
                .windows(2)
                .all(|w| w[1] - w[0] < Duration::from_secs(4)),
            "no gap in the watermarks: {watermark_answers:?}"
        );
        assert!(
            latencies.len() >= 10,
            "records shown: {latencies:?}, pending {pending:?}"
        );
        let worst = latencies.iter().max().copied().unwrap_or_default();
        assert!(
            worst < Duration::from_secs(5),
            "every new record shown within one refresh interval and some slack, worst {worst:?}"
        );
        assert!(
            saw_waiting,
            "the topics pane said it was waiting:\n{}",
            screen(&console)
        );
        // The stalled requests time out and are said once, without losing what is known.
        assert!(
            console.state.notes.iter().any(|n| n.starts_with("configs unavailable")),
            "{:?}",
            console.state.notes
        );
    });
}
