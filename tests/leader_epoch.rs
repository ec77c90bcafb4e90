//! Leader epochs against librdkafka: when a power loss takes back a tail that a consumer had
//! already read, and the broker then reuses those offsets for new records, the consumer must
//! find out through OffsetForLeaderEpoch (the broker bumped its epoch at the unclean start)
//! instead of carrying on at its old position, silently skipping the new records.
//!
//! SIGKILL keeps the page cache, so the lost tail is made by hand: the broker is killed and its
//! active segment cut back to a batch boundary, exactly what a power loss leaves of writes that
//! were never fsynced (acks=1 records).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use common::{free_port, BrokerProcess};

const TOPIC: &str = "epochs";

fn create_topic(addr: &str) {
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
            &[NewTopic::new(TOPIC, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .expect("create_topics");
    for r in res {
        r.expect("topic created");
    }
}

/// Produces `batches` batches of 10 records `{prefix}-{i}`, one flush each.
fn produce(addr: &str, prefix: &str, batches: usize) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("acks", "1")
        .set("linger.ms", "0")
        .create()
        .expect("producer");
    for b in 0..batches {
        for i in 0..10 {
            let value = format!("{prefix}-{}", b * 10 + i);
            producer
                .send(BaseRecord::<(), _>::to(TOPIC).partition(0).payload(&value))
                .expect("enqueue");
        }
        producer.flush(Duration::from_secs(20)).expect("flush");
    }
}

fn consumer(addr: &str, reset: &str) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", format!("epoch-{reset}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", reset)
        .set("topic.metadata.refresh.interval.ms", "500")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "200")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Beginning).unwrap();
    c.assign(&tpl).unwrap();
    c
}

/// What a poll gave: a record (offset, value) or an error code.
#[derive(Debug, PartialEq)]
enum Polled {
    Record(i64, String),
    Error(Option<RDKafkaErrorCode>, String),
}

fn poll(c: &BaseConsumer, timeout: Duration) -> Option<Polled> {
    match c.poll(timeout)? {
        Ok(m) => Some(Polled::Record(
            m.offset(),
            String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
        )),
        Err(e) => Some(Polled::Error(
            match &e {
                KafkaError::MessageConsumption(code) => Some(*code),
                other => other.rdkafka_error_code(),
            },
            e.to_string(),
        )),
    }
}

fn read_n(c: &BaseConsumer, n: usize) -> Vec<(i64, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        match poll(c, Duration::from_millis(100)) {
            Some(Polled::Record(o, v)) => out.push((o, v)),
            Some(Polled::Error(code, e)) => panic!("consumer error {code:?}: {e}"),
            None => {}
        }
    }
    out
}

/// The first segment file of the topic's only partition.
fn segment(data_dir: &Path) -> PathBuf {
    for entry in std::fs::read_dir(data_dir).unwrap() {
        let dir = entry.unwrap().path();
        let log = dir.join("00000000000000000000.log");
        if dir.join("partition.metadata").exists() && log.exists() {
            return log;
        }
    }
    panic!("no partition directory in {}", data_dir.display());
}

/// Cuts the segment where the batch starting at offset `at` begins: what a power loss leaves
/// when only the batches before it reached the disk.
fn cut_at_offset(log: &Path, at: i64) {
    let bytes = std::fs::read(log).unwrap();
    let mut pos = 0usize;
    while pos + 12 <= bytes.len() {
        let base = i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap());
        if base == at {
            let f = std::fs::OpenOptions::new().write(true).open(log).unwrap();
            f.set_len(pos as u64).unwrap();
            return;
        }
        assert!(base < at, "no batch starts at {at}");
        pos += 12 + i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
    }
    panic!("no batch starts at {at}");
}

#[test]
fn librdkafka_detects_a_truncated_tail_through_offset_for_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut broker = BrokerProcess::start_on(&data, None, &free_port());
    create_topic(&broker.addr);
    produce(&broker.addr, "old", 10);

    // Two consumers read all 100 records (epoch 0): one with a reset policy, one that wants
    // truncation reported as an error.
    let seeking = consumer(&broker.addr, "earliest");
    let strict = consumer(&broker.addr, "error");
    for c in [&seeking, &strict] {
        let got = read_n(c, 100);
        assert_eq!(got.len(), 100);
        assert_eq!(got[99], (99, "old-99".to_string()));
    }

    // Power loss: the last four batches (offsets 60..99) never reached the disk.
    broker.kill9();
    cut_at_offset(&segment(&data), 60);
    let broker = broker.restart();
    assert!(
        broker.log_text().contains("leader epoch bumped"),
        "the unclean start bumps the leader epoch"
    );
    // Offsets 60..119 now hold other records, in the new epoch.
    produce(&broker.addr, "new", 6);

    // The consumer at offset 100 must go back to 60 and read the new records; reading on from
    // 100 would skip new-0..new-39 without a word.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first = None;
    while first.is_none() && Instant::now() < deadline {
        match poll(&seeking, Duration::from_millis(100)) {
            Some(Polled::Record(o, v)) => first = Some((o, v)),
            Some(Polled::Error(..)) | None => {}
        }
    }
    assert_eq!(
        first,
        Some((60, "new-0".to_string())),
        "the consumer resumes where the truncated epoch ended"
    );
    let rest = read_n(&seeking, 59);
    assert_eq!(rest.last(), Some(&(119, "new-59".to_string())));

    // auto.offset.reset=error: librdkafka resets the position to INVALID and reports it
    // (AUTO_OFFSET_RESET, its text naming the truncation, which the rdkafka crate does not pass
    // on); no record past the truncation is delivered.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reported = false;
    while !reported && Instant::now() < deadline {
        match poll(&strict, Duration::from_millis(100)) {
            Some(Polled::Error(Some(RDKafkaErrorCode::AutoOffsetReset), _)) => reported = true,
            Some(Polled::Error(..)) | None => {}
            Some(Polled::Record(o, v)) => panic!("record {o} ({v}) delivered past a truncation"),
        }
    }
    assert!(reported, "librdkafka reported the truncation");
    for _ in 0..10 {
        if let Some(Polled::Record(o, v)) = poll(&strict, Duration::from_millis(100)) {
            panic!("record {o} ({v}) delivered past a truncation");
        }
    }
}
