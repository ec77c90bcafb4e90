//! The console's cluster layer and worker against a real `strom broker` child: topics created
//! here appear with the right partitions, offsets, sizes and configs; the worker delivers them
//! into the console's state; operations plan against the live cluster and refuse to apply on a
//! read-only connection.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use strom::app::action::{Command, Update};
use strom::app::keymap::Keymap;
use strom::app::panes::PaneId;
use strom::app::run::Console;
use strom::app::state::AppState;
use strom::app::worker::WorkerConfig;
use strom::cluster::client::{ClusterClient, Queries};
use strom::cluster::connect::ConnectionSpec;
use strom::cluster::error::ClusterError;
use strom::cluster::ffi::OffsetSpec;
use strom::cluster::model::ConfigSource;
use strom::cluster::ops::{self, Op};

use common::BrokerProcess;

fn setup(addr: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let topics = [
        NewTopic::new("orders", 3, TopicReplication::Fixed(1))
            .set("retention.ms", "3600000")
            .set("segment.ms", "600000"),
        NewTopic::new("audit", 1, TopicReplication::Fixed(1)),
    ];
    for r in rt.block_on(admin.create_topics(&topics, &AdminOptions::new())).unwrap() {
        r.unwrap();
    }
    let p: ThreadedProducer<DefaultProducerContext> =
        ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    for i in 0..30 {
        let payload = format!("order-{i}");
        p.send(BaseRecord::<(), _>::to("orders").payload(&payload).partition(i % 3))
            .unwrap();
    }
    p.send(BaseRecord::<(), _>::to("audit").payload("one")).unwrap();
    p.flush(Duration::from_secs(10)).unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn queries_read_topics_offsets_sizes_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some("\"log.retention.bytes\" = 1073741824\n"));
    setup(&broker.addr);
    let client = ClusterClient::new(&ConnectionSpec::bootstrap(&broker.addr)).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let md = client.metadata().await.unwrap();
        assert_eq!(md.brokers.len(), 1);
        assert!(md.brokers[0].up, "the broker answers a TCP connect");
        assert_eq!(md.controller_id, Some(md.brokers[0].id));
        assert!(md.cluster_id.is_some());
        let orders = md.topic("orders").unwrap();
        assert_eq!((orders.partitions.len(), orders.replication_factor()), (3, 1));

        let parts: Vec<(String, i32)> = (0..3).map(|p| ("orders".to_string(), p)).collect();
        let latest = client.offsets(OffsetSpec::Latest, parts.clone()).await.unwrap();
        let earliest = client.offsets(OffsetSpec::Earliest, parts).await.unwrap();
        assert!(latest.iter().all(|o| o.offset == 10 && o.error.is_none()), "{latest:?}");
        assert!(earliest.iter().all(|o| o.offset == 0), "{earliest:?}");

        let sizes = client.log_dirs(md.brokers[0].clone()).await.unwrap();
        for p in 0..3 {
            assert!(sizes.get("orders", p).unwrap_or(0) > 0, "partition {p} has a size");
        }

        let configs = client
            .topic_configs("orders".into(), Some(md.brokers[0].id))
            .await
            .unwrap();
        let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
        assert_eq!(retention.value.as_deref(), Some("3600000"));
        assert_eq!(retention.source, ConfigSource::DynamicTopic);
        assert_eq!(
            retention.default_value.as_deref(),
            Some("604800000"),
            "the broker's value behind the override"
        );
        let bytes = configs.iter().find(|c| c.name == "retention.bytes").unwrap();
        assert_eq!(bytes.source, ConfigSource::StaticBroker);
        assert_eq!(bytes.value.as_deref(), Some("1073741824"));
        let retention = client
            .retention(vec!["orders".to_string(), "audit".to_string()])
            .await
            .unwrap();
        assert_eq!(retention["orders"].ms, Some(3_600_000));
        assert_eq!(retention["audit"].ms, Some(604_800_000));
        assert_eq!(retention["audit"].bytes, Some(1_073_741_824));

        // The headless listing derives the same rows as the Topics pane.
        let (rows, warnings) = strom::headless::topic_rows(&client).await.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let orders = rows.iter().find(|r| r.name == "orders").unwrap();
        assert_eq!(orders.records, Some(30));
        assert!(orders.size_bytes.unwrap_or(0) > 0);
        assert_eq!(orders.retention.and_then(|r| r.ms), Some(3_600_000));
    });
}

/// Feeds worker updates into a console until `done` holds, bounded in time.
async fn pump(
    console: &mut Console,
    cmds: &tokio::sync::mpsc::Sender<Command>,
    updates: &mut tokio::sync::mpsc::Receiver<Update>,
    secs: u64,
    done: impl Fn(&Console) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        console.state.now = Instant::now();
        console.settle();
        while let Some(cmd) = console.outbox.pop() {
            cmds.send(cmd).await.unwrap();
        }
        if done(console) {
            return;
        }
        assert!(Instant::now() < deadline, "condition not reached in {secs} s");
        if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(200), updates.recv()).await {
            console.apply(u);
        }
    }
}

#[test]
fn worker_fills_the_panes_and_fetches_the_open_topics_configs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    setup(&broker.addr);
    let rt = runtime();
    rt.block_on(async {
        let spec = ConnectionSpec::bootstrap(&broker.addr);
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
        pump(&mut console, &cmd_tx, &mut upd_rx, 20, |c| {
            c.state
                .panes
                .topics
                .table
                .rows
                .iter()
                .any(|r| r.name == "orders" && r.records == Some(30) && r.size_bytes.is_some() && r.retention.is_some())
        })
        .await;
        let orders = console
            .state
            .panes
            .topics
            .table
            .rows
            .iter()
            .find(|r| r.name == "orders")
            .unwrap()
            .clone();
        assert_eq!(
            orders.retention.and_then(|r| r.ms),
            Some(3_600_000),
            "retention carried into the topics view"
        );
        // Open "orders": its configs are fetched and its partitions shown.
        while console.state.panes.topics.selected_name() != Some("orders") {
            console.act(strom::app::action::Action::Down);
        }
        console.act(strom::app::action::Action::Open);
        assert_eq!(console.state.focus, PaneId::Partitions);
        console.act(strom::app::action::Action::GoTo(PaneId::Configs));
        pump(&mut console, &cmd_tx, &mut upd_rx, 20, |c| {
            !c.state.panes.configs.table.rows.is_empty()
        })
        .await;
        let configs = &console.state.panes.configs.table.rows;
        assert!(configs
            .iter()
            .any(|c| c.name == "retention.ms" && c.source == ConfigSource::DynamicTopic));
        assert!(configs
            .iter()
            .any(|c| c.name == "retention.ms" && c.default_value.as_deref() == Some("604800000")));
        assert_eq!(console.state.panes.partitions.table.rows.len(), 3);
        assert!(console
            .state
            .panes
            .partitions
            .table
            .rows
            .iter()
            .all(|p| p.high_watermark == Some(10)));
        pump(&mut console, &cmd_tx, &mut upd_rx, 20, |c| {
            c.state.data.groups.value.is_some()
        })
        .await;
        // Nothing was stale or noted on a healthy broker.
        assert!(console.state.notes.is_empty(), "{:?}", console.state.notes);
    });
}

#[test]
fn operations_plan_against_the_cluster_and_read_only_refuses_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    setup(&broker.addr);
    let rt = runtime();
    let env = ops::Env::now(dir.path().join("state"));
    rt.block_on(async {
        let op = Op::AlterTopicConfigs {
            topic: "orders".into(),
            set: vec![("retention.ms".into(), "7200000".into())],
            delete: vec!["segment.ms".into()],
        };
        let read_only =
            ClusterClient::new(&ConnectionSpec::bootstrap(&broker.addr).with_read_only("--read-only")).unwrap();
        let plan = ops::plan(&read_only, op.clone(), &env).await.unwrap();
        let row = &plan.table.rows[0];
        assert_eq!(
            [&row[0], &row[1], &row[2], &row[4]],
            ["retention.ms", "3600000 (1h)", "7200000 (2h)", "topic"]
        );
        assert_eq!(plan.table.rows[1][0], "segment.ms");
        assert!(plan.changes_anything);
        let err = ops::apply(&read_only, &plan, &env).await.unwrap_err();
        assert!(matches!(err, ClusterError::ReadOnly { .. }), "{err}");
        assert!(!env.journal.audit_path().exists(), "a refusal is not an applied change");

        let client = ClusterClient::new(&ConnectionSpec::bootstrap(&broker.addr)).unwrap();
        let configs = |c: ClusterClient| async move { c.topic_configs("orders".into(), None).await.unwrap() };
        let value = |list: &[strom::cluster::model::ConfigEntry], name: &str| {
            list.iter()
                .find(|c| c.name == name)
                .map(|c| (c.value.clone(), c.source))
                .unwrap()
        };
        let before = configs(client.clone()).await;
        assert_eq!(
            value(&before, "retention.ms"),
            (Some("3600000".into()), ConfigSource::DynamicTopic),
            "the read-only apply changed nothing"
        );
        // Writable: applied incrementally, the other overrides untouched.
        ops::apply(&client, &plan, &env).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(env.journal.audit_path())
                .unwrap()
                .lines()
                .count(),
            1
        );
        let after = configs(client.clone()).await;
        assert_eq!(
            value(&after, "retention.ms"),
            (Some("7200000".into()), ConfigSource::DynamicTopic)
        );
        assert_ne!(
            value(&after, "segment.ms").1,
            ConfigSource::DynamicTopic,
            "back to inherited"
        );
        // A plan of what is already so changes nothing and says so.
        let again = ops::plan(&client, op, &env).await.unwrap();
        assert!(!again.changes_anything);
        assert!(
            again.warnings.iter().any(|w| w.contains("segment.ms")),
            "{:?}",
            again.warnings
        );
    });
}
