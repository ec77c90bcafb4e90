//! A well-behaved second client that must never notice what other connections do to the broker:
//! an rdkafka producer (acks=all, idempotent) writing numbered records at a steady pace, and an
//! rdkafka consumer reading them back, both counting every error librdkafka reports.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

/// What the witness saw; shared with its librdkafka callbacks.
#[derive(Default)]
pub struct Seen {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    /// Errors librdkafka reported outside deliveries (connection lost, request timed out, ...).
    pub errors: Mutex<Vec<String>>,
    /// Longest time from send to delivery report, in ms.
    pub max_ack_ms: AtomicU64,
}

#[derive(Clone)]
struct Ctx(Arc<Seen>);

impl ClientContext for Ctx {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0.errors.lock().unwrap().push(format!("{error}: {reason}"));
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = Box<Instant>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Instant>) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                self.0.errors.lock().unwrap().push(format!("delivery failed: {e}"));
            }
        }
        self.0
            .max_ack_ms
            .fetch_max(sent.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl ConsumerContext for Ctx {}

pub struct Witness {
    topic: String,
    stop: Arc<AtomicBool>,
    pub seen: Arc<Seen>,
    producer: Option<std::thread::JoinHandle<u64>>,
    consumer: Option<std::thread::JoinHandle<Result<u64, String>>>,
    consumer_stop: Arc<AtomicBool>,
    /// Records the consumer read, in order, as checked.
    consumed: Arc<AtomicU64>,
}

impl Witness {
    /// Starts producing to and consuming from partition 0 of `topic`, which must exist.
    pub fn start(addr: &str, topic: &str) -> Witness {
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let consumer_stop = Arc::new(AtomicBool::new(false));
        let consumed = Arc::new(AtomicU64::new(0));
        let (a, t, s, st) = (addr.to_string(), topic.to_string(), seen.clone(), stop.clone());
        let producer = std::thread::spawn(move || {
            let p: ThreadedProducer<Ctx> = ClientConfig::new()
                .set("bootstrap.servers", &a)
                .set("acks", "all")
                .set("enable.idempotence", "true")
                .set("linger.ms", "1")
                .create_with_context(Ctx(s))
                .expect("witness producer");
            let mut sent = 0u64;
            // Bounded: at most 60 s of sends at one per millisecond.
            for _ in 0..60_000 {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let payload = format!("w-{sent}");
                let record = BaseRecord::with_opaque_to(&t, Box::new(Instant::now()))
                    .partition(0)
                    .key("w")
                    .payload(&payload);
                match p.send(record) {
                    Ok(()) => sent += 1,
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            p.flush(Duration::from_secs(30)).expect("witness producer flush");
            sent
        });
        let (a, t, s, cs, c) = (
            addr.to_string(),
            topic.to_string(),
            seen.clone(),
            consumer_stop.clone(),
            consumed.clone(),
        );
        let consumer = std::thread::spawn(move || -> Result<u64, String> {
            let consumer: BaseConsumer<Ctx> = ClientConfig::new()
                .set("bootstrap.servers", &a)
                .set("group.id", "witness")
                .set("enable.auto.commit", "false")
                .create_with_context(Ctx(s))
                .map_err(|e| e.to_string())?;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&t, 0, Offset::Beginning)
                .map_err(|e| e.to_string())?;
            consumer.assign(&tpl).map_err(|e| e.to_string())?;
            let deadline = Instant::now() + Duration::from_secs(120);
            while !cs.load(Ordering::Relaxed) && Instant::now() < deadline {
                match consumer.poll(Duration::from_millis(100)) {
                    None => {}
                    Some(Err(e)) => return Err(format!("consumer error: {e}")),
                    Some(Ok(m)) => {
                        let n = c.load(Ordering::Relaxed);
                        let want = format!("w-{n}");
                        if m.payload() != Some(want.as_bytes()) || m.offset() != n as i64 {
                            return Err(format!(
                                "consumer expected {want} at offset {n}, got {:?} at {}",
                                m.payload().map(String::from_utf8_lossy),
                                m.offset()
                            ));
                        }
                        c.store(n + 1, Ordering::Relaxed);
                    }
                }
            }
            Ok(c.load(Ordering::Relaxed))
        });
        Witness {
            topic: topic.to_string(),
            stop,
            seen,
            producer: Some(producer),
            consumer: Some(consumer),
            consumer_stop,
            consumed,
        }
    }

    pub fn delivered(&self) -> u64 {
        self.seen.delivered.load(Ordering::Relaxed)
    }

    /// Waits (bounded) until at least `n` more records than now were delivered: proof the
    /// witness is making progress at this point of a test.
    pub fn wait_progress(&self, n: u64, timeout: Duration) -> bool {
        let target = self.delivered() + n;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.delivered() >= target {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Stops producing, waits until the consumer has read every delivered record, and checks
    /// that nothing failed, nothing was reported, nothing stalled past `max_ack`, and every
    /// record was read back once, in order. Returns the number of records.
    pub fn finish(mut self, max_ack: Duration) -> u64 {
        // A fast test must not end the witness before it did anything worth checking: let it
        // deliver a few hundred records first (bounded).
        let ran = Instant::now() + Duration::from_secs(15);
        while self.delivered() < 200 && Instant::now() < ran {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.producer.take().unwrap().join().expect("witness producer thread");
        let delivered = self.delivered();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.consumed.load(Ordering::Relaxed) < delivered && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.consumer_stop.store(true, Ordering::Relaxed);
        let consumed = self.consumer.take().unwrap().join().expect("witness consumer thread");
        let errors = self.seen.errors.lock().unwrap().clone();
        assert!(errors.is_empty(), "the witness noticed: {errors:?}");
        assert_eq!(self.seen.failed.load(Ordering::Relaxed), 0, "failed deliveries");
        assert_eq!(delivered, sent, "every record sent was delivered");
        assert!(sent > 100, "the witness ran: {sent} records");
        assert_eq!(consumed, Ok(delivered), "every delivered record read back in order");
        let max = self.seen.max_ack_ms.load(Ordering::Relaxed);
        assert!(
            max <= max_ack.as_millis() as u64,
            "the witness waited {max} ms for an acknowledgement on {}",
            self.topic
        );
        delivered
    }
}
