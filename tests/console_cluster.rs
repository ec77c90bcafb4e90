//! The console's cluster layer and worker against a real `strom broker` child: topics created
//! here appear with the right partitions, offsets, sizes and configs.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use strom::app::action::{Command, Update};
use strom::cluster::client::ClusterClient;
use strom::cluster::model::ConfigSource;

use common::BrokerProcess;

fn setup(addr: &str) {
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

#[test]
fn cluster_client_reads_topics_offsets_sizes_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some("\"log.retention.bytes\" = 1073741824\n"));
    setup(&broker.addr);
    let client = ClusterClient::new(&broker.addr, Duration::from_secs(5)).unwrap();
    let mut snap = client.metadata().unwrap();
    assert_eq!(snap.brokers.len(), 1);
    assert_eq!(snap.controller_id, Some(snap.brokers[0].id));
    assert!(snap.cluster_id.is_some());
    client.fill_offsets(&mut snap).unwrap();
    client.fill_sizes(&mut snap).unwrap();
    let orders = snap.topic("orders").unwrap();
    assert_eq!(orders.partitions.len(), 3);
    assert_eq!(orders.replication_factor(), 1);
    assert_eq!(orders.records(), Some(30));
    for p in &orders.partitions {
        assert_eq!(p.log_start, Some(0));
        assert_eq!(p.high_watermark, Some(10));
        assert!(p.size_bytes.unwrap_or(0) > 0, "partition {} has a size", p.id);
    }
    assert_eq!(snap.topic("audit").unwrap().records(), Some(1));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let configs = rt
        .block_on(client.topic_configs("orders", Some(snap.brokers[0].id)))
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
    let retention = rt
        .block_on(client.retention(&["orders".to_string(), "audit".to_string()]))
        .unwrap();
    assert_eq!(retention["orders"].0, Some(3_600_000));
    assert_eq!(retention["audit"].0, Some(604_800_000));
}

#[test]
fn worker_sends_snapshots_groups_and_answers_config_commands() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    setup(&broker.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Arc::new(ClusterClient::new(&broker.addr, Duration::from_secs(5)).unwrap());
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(64);
        let (_sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(client, cmd_rx, upd_tx, sd_rx));
        cmd_tx
            .send(Command::TopicConfigs {
                id: 7,
                topic: "orders".into(),
            })
            .await
            .unwrap();
        let (mut snapshot, mut configs, mut groups) = (None, None, None);
        let deadline = Instant::now() + Duration::from_secs(20);
        while (snapshot.is_none() || configs.is_none() || groups.is_none()) && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), upd_rx.recv()).await {
                Ok(Some(Update::Snapshot(s))) if s.topic("orders").is_some_and(|t| t.size_bytes().is_some()) => {
                    snapshot = Some(s)
                }
                Ok(Some(Update::TopicConfigs { id, topic, result })) => {
                    assert_eq!((id, topic.as_str()), (7, "orders"));
                    configs = Some(result.unwrap());
                }
                Ok(Some(Update::Groups(g))) => groups = Some(g),
                Ok(Some(Update::Unreachable { error })) => panic!("worker lost the broker: {error}"),
                _ => {}
            }
        }
        let snapshot = snapshot.expect("a snapshot with sizes");
        let orders = snapshot.topic("orders").unwrap();
        assert_eq!(orders.records(), Some(30));
        assert_eq!(
            orders.retention_ms,
            Some(3_600_000),
            "retention carried into the topics view"
        );
        let configs = configs.expect("configs answered");
        assert!(configs
            .iter()
            .any(|c| c.name == "retention.ms" && c.source == ConfigSource::DynamicTopic));
        assert!(configs
            .iter()
            .any(|c| c.name == "retention.ms" && c.default_value.as_deref() == Some("604800000")));
        assert!(groups.is_some());
    });
}
