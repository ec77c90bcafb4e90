//! rdkafka producer -> bundled broker -> rdkafka consumer: every record back byte-identical,
//! in order per partition, at the offsets the producer was told, for every codec.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::ProducerContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use common::BrokerProcess;

#[derive(Clone, Debug, PartialEq)]
struct Sent {
    key: Vec<u8>,
    value: Vec<u8>,
    ts: i64,
    headers: Vec<(String, Vec<u8>)>,
}

struct Recorder {
    acks: std::sync::Mutex<Vec<(usize, i32, i64)>>,
    errors: std::sync::Mutex<Vec<String>>,
}

impl ClientContext for Recorder {}
impl ProducerContext for Recorder {
    type DeliveryOpaque = Box<usize>;
    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, id: Self::DeliveryOpaque) {
        match result {
            Ok(m) => self.acks.lock().unwrap().push((*id, m.partition(), m.offset())),
            Err((e, _)) => self.errors.lock().unwrap().push(e.to_string()),
        }
    }
}

fn create_topic(addr: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .create()
        .expect("admin");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let res = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .expect("create_topics");
    for r in res {
        r.expect("topic created");
    }
}

fn produce_and_consume(addr: &str, topic: &str, codec: &str, n: usize) {
    let _ = DefaultProducerContext;
    let ctx = Recorder {
        acks: Default::default(),
        errors: Default::default(),
    };
    let producer: ThreadedProducer<Recorder> = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("acks", "all")
        .set("compression.type", codec)
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .create_with_context(ctx)
        .expect("producer");
    let mut sent = Vec::with_capacity(n);
    for i in 0..n {
        let s = Sent {
            key: format!("key-{}", i % 97).into_bytes(),
            value: format!("value-{i}-{}", "x".repeat(i % 50)).into_bytes(),
            ts: 1_700_000_000_000 + i as i64,
            headers: vec![
                ("h".into(), i.to_string().into_bytes()),
                ("h".into(), b"dup-key".to_vec()),
            ],
        };
        let mut headers = OwnedHeaders::new();
        for (k, v) in &s.headers {
            headers = headers.insert(Header { key: k, value: Some(v) });
        }
        let mut rec = BaseRecord::with_opaque_to(topic, Box::new(i))
            .key(&s.key)
            .payload(&s.value)
            .timestamp(s.ts)
            .headers(headers);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(
                        matches!(
                            e,
                            rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "{e}"
                    );
                    rec = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        sent.push(s);
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    let ctx = producer.context();
    assert!(
        ctx.errors.lock().unwrap().is_empty(),
        "delivery errors: {:?}",
        ctx.errors.lock().unwrap()
    );
    let acks = ctx.acks.lock().unwrap().clone();
    assert_eq!(acks.len(), n, "every record acknowledged");

    // Expected content per (partition, offset).
    let mut expected: HashMap<(i32, i64), usize> = HashMap::new();
    let mut per_partition: HashMap<i32, i64> = HashMap::new();
    for &(id, p, o) in &acks {
        assert!(
            expected.insert((p, o), id).is_none(),
            "offset {o} of partition {p} acknowledged twice"
        );
        *per_partition.entry(p).or_default() += 1;
    }

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "unused-no-commits")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in per_partition.keys() {
        tpl.add_partition_offset(topic, *p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut next: HashMap<i32, i64> = per_partition.keys().map(|p| (*p, 0)).collect();
    let mut got = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while got < n && std::time::Instant::now() < deadline {
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let msg = msg.expect("consume");
        let p = msg.partition();
        let want_offset = next[&p];
        assert_eq!(
            msg.offset(),
            want_offset,
            "partition {p}: records in order without gaps"
        );
        next.insert(p, want_offset + 1);
        let id = expected[&(p, msg.offset())];
        let s = &sent[id];
        assert_eq!(msg.key(), Some(&s.key[..]));
        assert_eq!(msg.payload(), Some(&s.value[..]));
        assert_eq!(msg.timestamp().to_millis(), Some(s.ts));
        let hs: Vec<(String, Vec<u8>)> = msg
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(hs, s.headers, "headers byte-identical, duplicates kept");
        got += 1;
    }
    assert_eq!(got, n, "consumed every record within the time limit");
}

#[test]
fn rdkafka_roundtrip_100k_records_over_six_partitions_with_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    let total = 100_000;
    for (i, codec) in codecs.iter().enumerate() {
        let topic = format!("roundtrip-{codec}");
        create_topic(&broker.addr, &topic, 6);
        // 100,000 records in all, split across the codecs.
        let n = if i == 0 {
            total - (codecs.len() - 1) * 15_000
        } else {
            15_000
        };
        produce_and_consume(&broker.addr, &topic, codec, n);
    }
}
