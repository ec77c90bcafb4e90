//! Idempotent producers against a real broker process: InitProducerId hands out ids that are
//! never reused; a retried batch is acknowledged with its original offsets and stored once; a
//! sequence gap and a stale epoch are refused; the producer state is rebuilt from the log after
//! a restart; and an `enable.idempotence=true` rdkafka producer writes through repeated SIGKILLs
//! of the broker without duplicates or gaps.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    CreateTopicsRequest, FetchRequest, InitProducerIdRequest, InitProducerIdResponse, ListOffsetsRequest,
    ProduceRequest, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Record, RecordBatchDecoder};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use common::wire::{call, connect, idempotent_batch};
use common::BrokerProcess;

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_REQUEST: i16 = 42;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

fn create_topic(s: &mut TcpStream, topic: &str, partitions: i32) {
    let mut t = CreatableTopic::default();
    t.name = name(topic);
    t.num_partitions = partitions;
    t.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 10_000;
    let resp = call(s, &r, 5);
    assert_eq!(
        resp.topics[0].error_code, 0,
        "create {topic}: {:?}",
        resp.topics[0].error_message
    );
}

fn init_producer_id(s: &mut TcpStream, version: i16) -> InitProducerIdResponse {
    let mut r = InitProducerIdRequest::default();
    r.transactional_id = None; // the codec's default is Some("")
    r.transaction_timeout_ms = -1;
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    call(s, &r, version)
}

/// A fresh producer id with epoch 0.
fn new_producer(s: &mut TcpStream) -> i64 {
    let resp = init_producer_id(s, 4);
    assert_eq!((resp.error_code, resp.producer_epoch), (0, 0));
    assert!(resp.producer_id.0 >= 0);
    resp.producer_id.0
}

/// Produces `records` to partition 0 of `topic` with acks=all.
fn produce(s: &mut TcpStream, topic: &str, records: &Bytes) -> PartitionProduceResponse {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records.clone());
    let mut t = TopicProduceData::default();
    t.name = name(topic);
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = -1;
    r.timeout_ms = 10_000;
    r.topic_data = vec![t];
    let mut resp = call(s, &r, 9);
    resp.responses.remove(0).partition_responses.remove(0)
}

fn high_watermark(s: &mut TcpStream, topic: &str) -> i64 {
    let mut p = ListOffsetsPartition::default();
    p.partition_index = 0;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = name(topic);
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.replica_id = (-1).into();
    r.topics = vec![t];
    let resp = call(s, &r, 5);
    resp.topics[0].partitions[0].offset
}

/// Every batch of partition 0, each as its records (bounded: a few fetches).
fn read_log(s: &mut TcpStream, topic: &str) -> Vec<Vec<Record>> {
    let mut batches = Vec::new();
    let mut offset = 0;
    for _ in 0..100 {
        let mut p = FetchPartition::default();
        p.partition = 0;
        p.fetch_offset = offset;
        p.partition_max_bytes = 1 << 20;
        let mut t = FetchTopic::default();
        t.topic = name(topic);
        t.partitions = vec![p];
        let mut r = FetchRequest::default();
        r.replica_id = (-1).into();
        r.max_wait_ms = 0;
        r.max_bytes = 1 << 20;
        r.topics = vec![t];
        let resp = call(s, &r, 11);
        let part = &resp.responses[0].partitions[0];
        assert_eq!(part.error_code, 0);
        let mut bytes = part.records.clone().unwrap_or_default();
        if bytes.is_empty() {
            return batches;
        }
        for set in RecordBatchDecoder::decode_all(&mut bytes).expect("decode fetched batches") {
            offset = set.records.last().expect("non-empty batch").offset + 1;
            batches.push(set.records);
        }
    }
    panic!("log of {topic} did not end within 100 fetches");
}

#[test]
fn replayed_idempotent_batch_is_acked_with_its_original_offset_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let mut s = connect(&broker.addr);
    create_topic(&mut s, "idem", 1);
    let pid = new_producer(&mut s);

    let first = idempotent_batch(pid, 0, 0, 5);
    let r = produce(&mut s, "idem", &first);
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    // The retry of a batch whose answer was lost: same bytes, same offsets, nothing written.
    let r = produce(&mut s, "idem", &first);
    assert_eq!((r.error_code, r.base_offset), (0, 0), "{:?}", r.error_message);
    assert_eq!(high_watermark(&mut s, "idem"), 5);

    let r = produce(&mut s, "idem", &idempotent_batch(pid, 0, 5, 3));
    assert_eq!((r.error_code, r.base_offset), (0, 5));
    // Still within the last five batches: recognised after a later one, also on another
    // connection.
    let mut other = connect(&broker.addr);
    let r = produce(&mut other, "idem", &first);
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    assert_eq!(high_watermark(&mut s, "idem"), 8);

    let log = read_log(&mut s, "idem");
    assert_eq!(log.len(), 2, "two batches, the replayed one stored once");
    let seqs: Vec<(i64, i32)> = log.iter().flatten().map(|r| (r.offset, r.sequence)).collect();
    assert_eq!(seqs, (0..8).map(|i| (i as i64, i)).collect::<Vec<_>>());
    assert!(log
        .iter()
        .flatten()
        .all(|r| r.producer_id == pid && r.producer_epoch == 0));
}

#[test]
fn sequence_gap_is_rejected_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let mut s = connect(&broker.addr);
    create_topic(&mut s, "idem", 1);
    let pid = new_producer(&mut s);

    assert_eq!(produce(&mut s, "idem", &idempotent_batch(pid, 0, 0, 5)).base_offset, 0);
    let r = produce(&mut s, "idem", &idempotent_batch(pid, 0, 7, 3));
    assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(r.base_offset, -1);
    let msg = r.error_message.map(|m| m.to_string()).unwrap_or_default();
    assert!(msg.contains("sequence 7") && msg.contains("expected 5"), "{msg}");
    assert_eq!(high_watermark(&mut s, "idem"), 5, "nothing appended");

    // The producer can still continue in order.
    let r = produce(&mut s, "idem", &idempotent_batch(pid, 0, 5, 2));
    assert_eq!((r.error_code, r.base_offset), (0, 5));
    assert_eq!(read_log(&mut s, "idem").len(), 2);
}

#[test]
fn stale_epoch_after_an_epoch_bump_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let mut s = connect(&broker.addr);
    create_topic(&mut s, "idem", 1);
    let pid = new_producer(&mut s);

    assert_eq!(produce(&mut s, "idem", &idempotent_batch(pid, 0, 0, 3)).error_code, 0);
    // An idempotent producer bumps its own epoch (librdkafka and the Java client do, after an
    // unresolved timeout) and restarts its sequences at 0.
    let r = produce(&mut s, "idem", &idempotent_batch(pid, 1, 0, 1));
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    let r = produce(&mut s, "idem", &idempotent_batch(pid, 0, 3, 1));
    assert_eq!(r.error_code, INVALID_PRODUCER_EPOCH, "{:?}", r.error_message);
    // A new epoch must start at sequence 0.
    let r = produce(&mut s, "idem", &idempotent_batch(pid, 2, 5, 1));
    assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER, "{:?}", r.error_message);
    let r = produce(&mut s, "idem", &idempotent_batch(pid, 1, 1, 1));
    assert_eq!((r.error_code, r.base_offset), (0, 4));
    assert_eq!(high_watermark(&mut s, "idem"), 5);
}

#[test]
fn producer_state_is_rebuilt_from_the_log_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = BrokerProcess::start(&dir.path().join("data"), None);
    let mut s = connect(&broker.addr);
    create_topic(&mut s, "idem", 1);
    let pid = new_producer(&mut s);
    let (mut seq, mut offset) = (0, 0);
    for sigkill in [true, false] {
        let a = idempotent_batch(pid, 0, seq, 3);
        let b = idempotent_batch(pid, 0, seq + 3, 2);
        assert_eq!(produce(&mut s, "idem", &a).base_offset, offset);
        assert_eq!(produce(&mut s, "idem", &b).base_offset, offset + 3);
        if sigkill {
            broker.kill9();
        } else {
            assert_eq!(broker.terminate(), Some(0));
        }
        broker = broker.restart();
        s = connect(&broker.addr);
        for (batch, base) in [(&b, offset + 3), (&a, offset)] {
            let r = produce(&mut s, "idem", batch);
            assert_eq!(
                (r.error_code, r.base_offset),
                (0, base),
                "sigkill={sigkill}: a retry is a duplicate"
            );
        }
        let r = produce(&mut s, "idem", &idempotent_batch(pid, 0, seq + 6, 1));
        assert_eq!(
            r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER,
            "sigkill={sigkill}: {:?}",
            r.error_message
        );
        let r = produce(&mut s, "idem", &idempotent_batch(pid, 0, seq + 5, 1));
        assert_eq!((r.error_code, r.base_offset), (0, offset + 5));
        seq += 6;
        offset += 6;
        assert_eq!(high_watermark(&mut s, "idem"), offset);
    }
}

#[test]
fn producer_ids_are_never_reused_even_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = BrokerProcess::start(&dir.path().join("data"), None);
    let mut seen = HashSet::new();
    for round in 0..3 {
        let mut s = connect(&broker.addr);
        for version in 0..=4 {
            let resp = init_producer_id(&mut s, version);
            assert_eq!((resp.error_code, resp.producer_epoch), (0, 0), "v{version}");
            assert!(
                seen.insert(resp.producer_id.0),
                "round {round} v{version}: id {} handed out twice",
                resp.producer_id.0
            );
        }
        // KIP-360's form, naming the current id and epoch: without a transactional id Kafka
        // answers with a new id and epoch 0 (idempotent producers bump epochs themselves).
        let mut r = InitProducerIdRequest::default();
        r.transactional_id = None;
        r.transaction_timeout_ms = -1;
        r.producer_id = ProducerId(*seen.iter().next().unwrap());
        r.producer_epoch = 0;
        let resp = call(&mut s, &r, 4);
        assert_eq!((resp.error_code, resp.producer_epoch), (0, 0));
        assert!(seen.insert(resp.producer_id.0), "KIP-360 request got a used id");
        match round {
            0 => broker.kill9(),
            _ => assert_eq!(broker.terminate(), Some(0)),
        }
        broker = broker.restart();
    }
    assert_eq!(seen.len(), 18);
}

#[test]
fn transactional_init_producer_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let mut s = connect(&broker.addr);
    let mut r = InitProducerIdRequest::default();
    r.transactional_id = Some(TransactionalId(StrBytes::from_static_str("txn-1")));
    r.transaction_timeout_ms = 60_000;
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    let resp = call(&mut s, &r, 4);
    assert_eq!(
        (resp.error_code, resp.producer_id.0, resp.producer_epoch),
        (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1),
        "fatal in every client, not retried"
    );
    // An empty transactional id is malformed, as in Kafka.
    r.transactional_id = Some(TransactionalId(StrBytes::from_static_str("")));
    assert_eq!(call(&mut s, &r, 4).error_code, INVALID_REQUEST);
    // The connection stays usable.
    assert_eq!(init_producer_id(&mut s, 4).error_code, 0);
}

/// librdkafka's transactional producer stops at once: FindCoordinator for the transaction
/// coordinator answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which librdkafka makes a fatal
/// error carrying the broker's message. With the retriable COORDINATOR_NOT_AVAILABLE it used to
/// retry until init_transactions timed out.
#[test]
fn rdkafka_transactional_producer_fails_fast_with_the_brokers_message() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let producer: ThreadedProducer<rdkafka::producer::DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("transactional.id", "strom-txn-rdkafka")
        .create()
        .expect("producer");
    let started = Instant::now();
    let err = producer
        .init_transactions(Duration::from_secs(30))
        .expect_err("init_transactions succeeded on a broker without transactions");
    let took = started.elapsed();
    let text = err.to_string();
    assert!(
        text.contains("transactions are not supported by this broker"),
        "librdkafka shows the broker's reason: {text}"
    );
    assert!(
        took < Duration::from_secs(5),
        "failed fast, not after retries: {took:?}"
    );
    assert!(
        broker
            .log_text()
            .contains("transaction coordinator requested and refused"),
        "the broker logs the refusal"
    );
}

// ---- an rdkafka idempotent producer through repeated SIGKILLs ----

const TOPIC: &str = "idem-rdkafka";
const PARTITIONS: i32 = 3;
const RECORDS: u64 = 100_000;

#[derive(Default)]
struct Deliveries {
    acked: Mutex<Vec<(u64, i32, i64)>>,
    failed: Mutex<Vec<(u64, String)>>,
    count: AtomicUsize,
}
impl ClientContext for Deliveries {
    // Shown only when the test fails: what librdkafka saw is the first clue.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        use rdkafka::config::RDKafkaLogLevel::{Debug, Info, Notice};
        if !matches!(level, Debug | Info | Notice) {
            eprintln!("librdkafka {level:?} {fac}: {log_message}");
        }
    }
}
impl ProducerContext for Deliveries {
    type DeliveryOpaque = Box<u64>;
    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, id: Box<u64>) {
        match result {
            Ok(m) => self.acked.lock().unwrap().push((*id, m.partition(), m.offset())),
            Err((e, _)) => self.failed.lock().unwrap().push((*id, e.to_string())),
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn idempotent_rdkafka_producer_survives_sigkills_without_duplicates_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed address, so ONE producer keeps running across the restarts and its in-flight
    // batches are retried against the restarted broker: that is what idempotence is for.
    let listen = common::free_port();
    let mut broker = BrokerProcess::start_on(
        &dir.path().join("data"),
        Some("\"log.segment.bytes\" = 262144\n"),
        &listen,
    );
    create_topic(&mut connect(&broker.addr), TOPIC, PARTITIONS);

    let producer: ThreadedProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", &listen)
        .set("enable.idempotence", "true")
        .set("linger.ms", "2")
        .set("batch.num.messages", "200")
        // Long enough that no record times out while the broker is down: a timed-out record
        // would be a delivery failure, not an idempotence failure.
        .set("message.timeout.ms", "120000")
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "200")
        .set("retry.backoff.ms", "20")
        .create_with_context(Deliveries::default())
        .expect("idempotent producer");

    let kills_at = [15_000usize, 40_000, 65_000, 85_000];
    let mut kills = 0;
    let mut sent = 0u64;
    let deadline = Instant::now() + Duration::from_secs(240);
    while (sent < RECORDS || kills < kills_at.len()) && Instant::now() < deadline {
        // About 50,000 records/s, so the kills land while batches are in flight.
        for _ in 0..1_000 {
            if sent == RECORDS {
                break;
            }
            let (key, payload) = (sent.to_string(), format!("id-{sent}"));
            let rec = BaseRecord::with_opaque_to(TOPIC, Box::new(sent))
                .key(&key)
                .payload(&payload)
                .partition((sent % PARTITIONS as u64) as i32);
            if producer.send(rec).is_err() {
                break; // queue full: retry on the next round
            }
            sent += 1;
        }
        let delivered = producer.context().count.load(Ordering::Relaxed);
        if kills < kills_at.len() && delivered >= kills_at[kills] {
            broker.kill9();
            std::thread::sleep(Duration::from_millis(100 + 100 * kills as u64));
            broker = broker.restart();
            kills += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        (sent, kills),
        (RECORDS, kills_at.len()),
        "all records sent and all kills done in time"
    );
    producer.flush(Duration::from_secs(120)).expect("flush");
    let failed = producer.context().failed.lock().unwrap().clone();
    if !failed.is_empty() {
        let log = broker.log_text();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!(
            "broker log, last lines:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        panic!("{} deliveries failed, first: {:?}", failed.len(), failed.first());
    }
    let acked = producer.context().acked.lock().unwrap().clone();
    assert_eq!(acked.len() as u64, RECORDS);
    drop(producer);

    // Read the whole log back.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "idempotence-check")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut total = 0;
    for p in 0..PARTITIONS {
        let (lo, hi) = consumer.fetch_watermarks(TOPIC, p, Duration::from_secs(10)).unwrap();
        assert_eq!(lo, 0);
        total += hi;
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning).unwrap();
    }
    assert_eq!(
        total, RECORDS as i64,
        "the log holds exactly as many records as were produced"
    );
    consumer.assign(&tpl).unwrap();
    let mut at: HashMap<(i32, i64), u64> = HashMap::new();
    let mut next_offset: HashMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let mut last_id: HashMap<i32, u64> = HashMap::new();
    let read_deadline = Instant::now() + Duration::from_secs(60);
    while (at.len() as i64) < total && Instant::now() < read_deadline {
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        let p = m.partition();
        assert_eq!(m.offset(), next_offset[&p], "partition {p}: offsets without gaps");
        next_offset.insert(p, m.offset() + 1);
        let id: u64 = std::str::from_utf8(m.payload().unwrap())
            .unwrap()
            .strip_prefix("id-")
            .unwrap()
            .parse()
            .unwrap();
        if let Some(prev) = last_id.insert(p, id) {
            assert!(id > prev, "partition {p}: record {id} after {prev}: order kept");
        }
        at.insert((p, m.offset()), id);
    }
    assert_eq!(at.len() as i64, total, "read the whole log");

    let ids: HashSet<u64> = at.values().copied().collect();
    assert_eq!(ids.len() as u64, RECORDS, "every record id exactly once");
    for (id, p, o) in &acked {
        assert_eq!(at.get(&(*p, *o)), Some(id), "record {id} acknowledged at {p}/{o}");
    }
}
