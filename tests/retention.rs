//! Retention and DeleteRecords against a real broker: old segments disappear, the earliest
//! offset advances, and consumers positioned below it get the reset behaviour they asked for.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use common::{wait_for, BrokerProcess};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn admin(addr: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new().set("bootstrap.servers", addr).create().unwrap()
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn create(addr: &str, topic: &str, configs: &[(&str, &str)]) {
    let mut t = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    for r in block(admin(addr).create_topics(&[t], &AdminOptions::new())).unwrap() {
        r.unwrap();
    }
}

fn produce(addr: &str, topic: &str, n: usize, ts: i64) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "0")
        .set("batch.num.messages", "10")
        .create()
        .unwrap();
    for i in 0..n {
        let payload = format!("{i:0>200}");
        loop {
            match p.send(BaseRecord::<(), _>::to(topic).payload(&payload).timestamp(ts)) {
                Ok(()) => break,
                Err(_) => {
                    p.poll(Duration::from_millis(10));
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(20)).unwrap();
}

fn watermarks(c: &BaseConsumer, topic: &str) -> (i64, i64) {
    c.fetch_watermarks(topic, 0, Duration::from_secs(10)).unwrap()
}

fn consumer(addr: &str, reset: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "retention-check")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", reset)
        .create()
        .unwrap()
}

/// The first message (or error) the consumer gets after assigning `offset`.
fn first_after(c: &BaseConsumer, topic: &str, offset: i64) -> Result<i64, KafkaError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(offset)).unwrap();
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => return Ok(m.offset()),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    panic!("no message and no error within 15 s");
}

#[test]
fn size_and_time_retention_delete_old_segments_and_consumers_reset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"log.retention.check.interval.ms\" = 100\n"),
    );
    let addr = &broker.addr;
    let c = consumer(addr, "earliest");

    // retention.bytes: about 250 bytes per record, 4 KiB segments, keep ~16 KiB.
    create(
        addr,
        "by-size",
        &[("segment.bytes", "4096"), ("retention.bytes", "16384")],
    );
    produce(addr, "by-size", 400, now_ms());
    let seg_dir = dir.path().join("data").join("by-size-0");
    let log_bytes = || -> u64 {
        std::fs::read_dir(&seg_dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    // Retention runs every 100 ms: wait until it has caught up with the whole log.
    let (lo, hi) = wait_for(Duration::from_secs(10), || {
        let (lo, hi) = watermarks(&c, "by-size");
        (lo > 0 && log_bytes() <= 16384 + 4096).then_some((lo, hi))
    })
    .unwrap_or_else(|| {
        panic!(
            "size retention did not trim the log: {:?}, {} bytes",
            watermarks(&c, "by-size"),
            log_bytes()
        )
    });
    assert_eq!(hi, 400);
    assert!(hi - lo < 150, "most of the log is gone: {lo}..{hi}");
    // Kafka's rule: delete the oldest segment while the rest still exceed retention.bytes.
    assert!(
        log_bytes() > 16384 - 4096,
        "no more than needed was deleted: {} bytes",
        log_bytes()
    );

    // A consumer below the log start: earliest resets to it; error reports it.
    assert_eq!(
        first_after(&c, "by-size", 0).unwrap(),
        lo.max(watermarks(&c, "by-size").0)
    );
    let strict = consumer(addr, "error");
    match first_after(&strict, "by-size", 0) {
        Err(e) => assert!(e.to_string().to_lowercase().contains("offset"), "{e}"),
        Ok(o) => panic!("auto.offset.reset=error must not deliver offset {o}"),
    }

    // retention.ms: records stamped an hour ago are past a 60 s retention once their segment
    // is closed; the active one is rolled and removed too.
    create(addr, "by-time", &[("segment.bytes", "4096"), ("retention.ms", "60000")]);
    produce(addr, "by-time", 100, now_ms() - 3_600_000);
    let lo = wait_for(Duration::from_secs(10), || {
        let (lo, _) = watermarks(&c, "by-time");
        (lo == 100).then_some(lo)
    });
    assert_eq!(lo, Some(100), "every expired record is gone");
    produce(addr, "by-time", 5, now_ms());
    assert_eq!(watermarks(&c, "by-time"), (100, 105), "fresh records stay");
}

#[test]
fn delete_records_moves_the_log_start_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let addr = &broker.addr;
    create(addr, "trim", &[]);
    produce(addr, "trim", 50, now_ms());
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("trim", 0, Offset::Offset(30)).unwrap();
    let res = block(admin(addr).delete_records(&tpl, &AdminOptions::new())).expect("delete_records");
    let e = res.elements();
    assert_eq!(e[0].offset(), Offset::Offset(30), "new low watermark reported");
    let c = consumer(addr, "earliest");
    assert_eq!(watermarks(&c, "trim"), (30, 50));
    assert_eq!(first_after(&c, "trim", 10).unwrap(), 30);
    // Beyond the high watermark is refused.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("trim", 0, Offset::Offset(51)).unwrap();
    let res = block(admin(addr).delete_records(&tpl, &AdminOptions::new()));
    let refused = match res {
        Err(_) => true,
        Ok(tpl) => tpl.elements()[0].error().is_err(),
    };
    assert!(refused, "deleting beyond the high watermark is OFFSET_OUT_OF_RANGE");
}
