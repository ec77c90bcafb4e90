//! Crash safety: an acks=all producer writes continuously while the broker is SIGKILLed and
//! restarted on the same data dir, five times. Every acknowledged record must be in the log
//! exactly once at the offset it was acknowledged with, and offsets continue without gaps or
//! reuse.
//!
//! The producer runs with retries disabled: without idempotence a retry of a batch that was
//! written but not yet acknowledged would legitimately duplicate it. (The idempotent variant
//! lives with the producer-id tests.)

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use common::BrokerProcess;

const TOPIC: &str = "crash";
const PARTITIONS: i32 = 3;

#[derive(Default)]
struct Acks {
    acked: Mutex<Vec<(u64, i32, i64)>>,
}
impl ClientContext for Acks {}
impl ProducerContext for Acks {
    type DeliveryOpaque = Box<u64>;
    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, id: Box<u64>) {
        if let Ok(m) = result {
            self.acked.lock().unwrap().push((*id, m.partition(), m.offset()));
        }
    }
}

/// Produces ids starting at `first` until `stop`; returns the next unused id.
fn produce_until_stopped(addr: &str, first: u64, stop: Arc<AtomicBool>, acks: Arc<Mutex<Vec<(u64, i32, i64)>>>) -> u64 {
    let producer: ThreadedProducer<Acks> = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("acks", "all")
        .set("retries", "0")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "1500")
        .set("reconnect.backoff.max.ms", "100")
        .create_with_context(Acks::default())
        .expect("producer");
    let mut id = first;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let payload = format!("record-{id}");
        let key = id.to_string();
        let rec = BaseRecord::with_opaque_to(TOPIC, Box::new(id))
            .key(&key)
            .payload(&payload)
            .partition((id % PARTITIONS as u64) as i32);
        if producer.send(rec).is_ok() {
            id += 1;
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
        if id % 200 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // Outstanding records fail against the dead broker; only delivered ones count.
    let _ = producer.flush(Duration::from_secs(3));
    acks.lock()
        .unwrap()
        .extend(producer.context().acked.lock().unwrap().iter().copied());
    id
}

#[test]
fn acknowledged_records_survive_repeated_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut broker = BrokerProcess::start(&data, Some("\"num.partitions\" = 3\n\"log.segment.bytes\" = 65536\n"));
    let acks = Arc::new(Mutex::new(Vec::new()));
    let mut next_id = 0u64;
    for round in 0..5 {
        let stop = Arc::new(AtomicBool::new(false));
        let addr = broker.addr.clone();
        let (s, a) = (Arc::clone(&stop), Arc::clone(&acks));
        let first = next_id;
        let producer = std::thread::spawn(move || produce_until_stopped(&addr, first, s, a));
        // Let records flow, then kill mid-stream.
        let before = acks.lock().unwrap().len();
        std::thread::sleep(Duration::from_millis(700 + 150 * round));
        broker.kill9();
        stop.store(true, Ordering::Relaxed);
        next_id = producer.join().expect("producer thread");
        let after = acks.lock().unwrap().len();
        assert!(
            after > before,
            "round {round}: some records were acknowledged before the kill"
        );
        broker = broker.restart();
    }

    // Read everything back from the restarted broker.
    let acked: Vec<(u64, i32, i64)> = acks.lock().unwrap().clone();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "crash-check")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut ends = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        let (lo, hi) = consumer.fetch_watermarks(TOPIC, p, Duration::from_secs(10)).unwrap();
        assert_eq!(lo, 0);
        ends.insert(p, hi);
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let total: i64 = ends.values().sum();
    let mut log: BTreeMap<(i32, i64), u64> = BTreeMap::new();
    let mut next_offset: HashMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (log.len() as i64) < total && Instant::now() < deadline {
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        let p = m.partition();
        assert_eq!(m.offset(), next_offset[&p], "partition {p}: no gaps, no reuse");
        next_offset.insert(p, m.offset() + 1);
        let payload = std::str::from_utf8(m.payload().unwrap()).unwrap();
        let id: u64 = payload.strip_prefix("record-").unwrap().parse().unwrap();
        log.insert((p, m.offset()), id);
    }
    assert_eq!(log.len() as i64, total, "read the whole log");

    let mut seen = HashMap::new();
    for (&(p, o), &id) in &log {
        assert!(seen.insert(id, (p, o)).is_none(), "record {id} stored twice");
    }
    for (id, p, o) in &acked {
        assert_eq!(
            log.get(&(*p, *o)),
            Some(id),
            "acknowledged record {id} at {p}/{o} is in the log"
        );
    }
    assert!(acked.len() > 500, "the test exercised enough records: {}", acked.len());
}
