//! The admin calls of `cluster::ffi` (librdkafka's C API, which the rdkafka crate does not
//! wrap) against a real `strom broker`: each call's answer is checked against what was written
//! with ordinary clients, and errors come back as Kafka's error names.
//!
//! `.ci/valgrind-ffi` runs this file under valgrind's memcheck: the wrapper must free every
//! object librdkafka hands it, on success, on errors and on timeouts.

mod common;

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use strom::cluster::error::ClusterError;
use strom::cluster::ffi::{self, ConfigAlteration, ConfigChange, Isolation, OffsetSpec, ResourceKind, ResourceOutcome};

use common::BrokerProcess;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Record timestamps: 1,000 s apart from this base, so time lookups have one right answer.
const T0: i64 = 1_700_000_000_000;

fn client(addr: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "strom-ffi-test")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

fn admin(addr: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new().set("bootstrap.servers", addr).create().unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Topic `events` (2 partitions; partition 0 holds 5 records at T0, T0+1000 s, ... T0+4000 s,
/// and partition 1 none) and topic `configs` with a segment.ms override.
fn setup(addr: &str) {
    let topics = [
        NewTopic::new("events", 2, TopicReplication::Fixed(1)),
        NewTopic::new("configs", 1, TopicReplication::Fixed(1)).set("segment.ms", "600000"),
    ];
    for r in rt()
        .block_on(admin(addr).create_topics(&topics, &AdminOptions::new()))
        .unwrap()
    {
        r.unwrap();
    }
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    for i in 0..5i64 {
        let v = format!("v{i}");
        p.send(
            BaseRecord::<(), _>::to("events")
                .payload(&v)
                .partition(0)
                .timestamp(T0 + i * 1_000_000),
        )
        .unwrap();
    }
    p.flush(TIMEOUT).unwrap();
}

fn broker() -> (tempfile::TempDir, BrokerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    setup(&broker.addr);
    (dir, broker)
}

#[test]
fn list_offsets_finds_earliest_latest_max_timestamp_and_times() {
    let (_dir, broker) = broker();
    let c = client(&broker.addr);
    let ask = |spec| ("events".to_string(), 0, spec);
    let answers = ffi::list_offsets(
        c.client(),
        &[ask(OffsetSpec::Earliest), ("events".to_string(), 1, OffsetSpec::Latest)],
        Isolation::ReadUncommitted,
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(answers.len(), 2);
    let p0 = answers.iter().find(|a| a.partition == 0).unwrap();
    let p1 = answers.iter().find(|a| a.partition == 1).unwrap();
    assert_eq!((p0.offset, p0.error.as_ref()), (0, None));
    assert_eq!(
        (p1.offset, p1.error.as_ref()),
        (0, None),
        "an empty partition ends at 0"
    );

    // One spec per request (librdkafka refuses a partition twice in one list).
    let one = |spec| {
        let mut a = ffi::list_offsets(c.client(), &[ask(spec)], Isolation::ReadCommitted, TIMEOUT).unwrap();
        assert_eq!(a.len(), 1);
        a.remove(0)
    };
    assert_eq!(one(OffsetSpec::Latest).offset, 5);
    let max = one(OffsetSpec::MaxTimestamp);
    assert_eq!((max.offset, max.timestamp), (4, T0 + 4_000_000));
    // The first record at or after a time, and its timestamp.
    let t = one(OffsetSpec::Timestamp(T0 + 1_500_000));
    assert_eq!((t.offset, t.timestamp), (2, T0 + 2_000_000));
    assert_eq!(one(OffsetSpec::Timestamp(T0)).offset, 0);
    // After the last record: no offset.
    assert_eq!(one(OffsetSpec::Timestamp(T0 + 9_000_000)).offset, -1);

    // A partition that does not exist is that partition's error; the others are answered.
    let mixed = ffi::list_offsets(
        c.client(),
        &[
            ("events".to_string(), 0, OffsetSpec::Latest),
            ("events".to_string(), 7, OffsetSpec::Latest),
        ],
        Isolation::ReadUncommitted,
        TIMEOUT,
    )
    .unwrap();
    let good = mixed.iter().find(|a| a.partition == 0).unwrap();
    assert_eq!((good.offset, good.error.as_ref()), (5, None));
    let bad = mixed.iter().find(|a| a.partition == 7).unwrap();
    assert!(
        matches!(&bad.error, Some(ClusterError::Kafka { name, .. }) if name == "UNKNOWN_PARTITION"),
        "{bad:?}"
    );
    // Alone, it fails the call, saying why.
    let alone = ffi::list_offsets(
        c.client(),
        &[("events".to_string(), 7, OffsetSpec::Latest)],
        Isolation::ReadUncommitted,
        TIMEOUT,
    );
    assert!(
        matches!(&alone, Err(ClusterError::Kafka { message, .. }) if message.contains("No leaders found")),
        "{alone:?}"
    );
}

#[test]
fn describe_cluster_and_controller_name_the_broker() {
    let (_dir, broker) = broker();
    let c = client(&broker.addr);
    let d = ffi::describe_cluster(c.client(), TIMEOUT).unwrap();
    assert_eq!(d.nodes.len(), 1);
    let node = &d.nodes[0];
    assert_eq!(format!("{}:{}", node.host, node.port), broker.addr);
    assert_eq!(d.controller, Some(node.id));
    assert!(d.cluster_id.is_some());
    assert_eq!(
        d.cluster_id,
        ffi::cluster_id(c.client(), TIMEOUT),
        "the same cluster id as the metadata's"
    );
    assert_eq!(ffi::controller_id(c.client(), TIMEOUT), Some(node.id));
}

#[test]
fn committed_offsets_are_listed_and_altered_as_rdkafka_sees_them() {
    let (_dir, broker) = broker();
    // A consumer of group `billing` commits offset 3 on events/0 (and nothing on events/1).
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "billing")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("events", 0, Offset::Offset(3)).unwrap();
    member.commit(&tpl, CommitMode::Sync).unwrap();

    let c = client(&broker.addr);
    let all = ffi::list_group_offsets(c.client(), "billing", None, TIMEOUT).unwrap();
    let p0 = all.iter().find(|o| o.topic == "events" && o.partition == 0).unwrap();
    assert_eq!((p0.offset, p0.error.as_ref()), (Some(3), None));
    assert!(all.iter().all(|o| o.partition != 1), "no commit, not listed: {all:?}");
    let asked = ffi::list_group_offsets(
        c.client(),
        "billing",
        Some(&[("events".to_string(), 0), ("events".to_string(), 1)]),
        TIMEOUT,
    )
    .unwrap();
    let p1 = asked.iter().find(|o| o.partition == 1).unwrap();
    assert_eq!(p1.offset, None, "asked for, never committed");

    // Alter: events/0 to 5, events/1 to 2, and rdkafka reads them back.
    let outcomes = ffi::alter_group_offsets(
        c.client(),
        "billing",
        &[("events".to_string(), 0, 5), ("events".to_string(), 1, 2)],
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    let mut both = TopicPartitionList::new();
    both.add_partition("events", 0);
    both.add_partition("events", 1);
    let committed = member.committed_offsets(both, TIMEOUT).unwrap();
    let got: Vec<(i32, Offset)> = committed
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    assert_eq!(got, [(0, Offset::Offset(5)), (1, Offset::Offset(2))]);

    // A group nobody ever committed for has no offsets.
    let none = ffi::list_group_offsets(c.client(), "nobody", None, TIMEOUT).unwrap();
    assert!(none.is_empty(), "{none:?}");
}

/// A topic config's value and whether it is set on the topic itself.
fn topic_config(addr: &str, topic: &str, name: &str) -> (Option<String>, bool) {
    let results = rt()
        .block_on(admin(addr).describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new()))
        .unwrap();
    let r = results.into_iter().next().unwrap().unwrap();
    let e = r.get(name).unwrap();
    (
        e.value.clone(),
        matches!(e.source, rdkafka::admin::ConfigSource::DynamicTopic),
    )
}

#[test]
fn incremental_alter_configs_changes_one_config_and_keeps_the_other_overrides() {
    let (_dir, broker) = broker();
    let c = client(&broker.addr);
    let alter = |changes: Vec<(&str, ConfigChange)>| -> Vec<ResourceOutcome> {
        ffi::incremental_alter_configs(
            c.client(),
            &[ConfigAlteration {
                kind: ResourceKind::Topic,
                name: "configs".into(),
                changes: changes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            }],
            TIMEOUT,
        )
        .unwrap()
    };
    let out = alter(vec![("retention.ms", ConfigChange::Set("7200000".into()))]);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].kind, out[0].name.as_str(), &out[0].error),
        (ResourceKind::Topic, "configs", &None)
    );
    assert_eq!(
        topic_config(&broker.addr, "configs", "retention.ms"),
        (Some("7200000".into()), true)
    );
    assert_eq!(
        topic_config(&broker.addr, "configs", "segment.ms"),
        (Some("600000".into()), true),
        "the other override is untouched (AlterConfigs would have wiped it)"
    );

    // Delete: back to the broker's value.
    let out = alter(vec![("segment.ms", ConfigChange::Delete)]);
    assert_eq!(out[0].error, None);
    assert!(!topic_config(&broker.addr, "configs", "segment.ms").1);

    // A bad value is the resource's error, with Kafka's name, and changes nothing.
    let out = alter(vec![("retention.ms", ConfigChange::Set("soon".into()))]);
    assert!(
        matches!(&out[0].error, Some(ClusterError::Kafka { name, .. }) if name == "INVALID_CONFIG"),
        "{out:?}"
    );
    assert_eq!(
        topic_config(&broker.addr, "configs", "retention.ms").0.as_deref(),
        Some("7200000")
    );

    // A topic that does not exist.
    let out = ffi::incremental_alter_configs(
        c.client(),
        &[ConfigAlteration {
            kind: ResourceKind::Topic,
            name: "missing".into(),
            changes: vec![("retention.ms".into(), ConfigChange::Set("1000".into()))],
        }],
        TIMEOUT,
    )
    .unwrap();
    assert!(
        matches!(&out[0].error, Some(ClusterError::Kafka { name, .. }) if name == "UNKNOWN_TOPIC_OR_PARTITION"),
        "{out:?}"
    );
}

#[test]
fn a_cluster_that_does_not_answer_is_a_timely_error_not_a_hang() {
    // Nothing listens on port 1: every call fails within its timeout plus a second.
    let c = client("127.0.0.1:1");
    let timeout = Duration::from_secs(2);
    let t = Instant::now();
    let r = ffi::list_offsets(
        c.client(),
        &[("events".to_string(), 0, OffsetSpec::Latest)],
        Isolation::ReadUncommitted,
        timeout,
    );
    assert!(r.is_err(), "{r:?}");
    let r = ffi::describe_cluster(c.client(), timeout);
    assert!(r.is_err(), "{r:?}");
    let r = ffi::list_group_offsets(c.client(), "g", None, timeout);
    assert!(r.is_err(), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
    // Strings Kafka cannot take never reach C.
    assert!(matches!(
        ffi::list_group_offsets(c.client(), "a\0b", None, timeout),
        Err(ClusterError::Invalid { .. })
    ));
}
