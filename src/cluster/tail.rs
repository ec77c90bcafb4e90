//! Reading records without being a consumer group: the live tail ([`TailSession`]) and the
//! one-record peeks that give the lag monitor exact time lags ([`record_timestamps`]).
//!
//! Both use consumers of their own that **assign** partitions at offsets they chose and never
//! join a group or commit: librdkafka needs a `group.id` before it lets a consumer assign, so
//! each gets a unique one (`strom-tail-<uuid>`) that is never sent in a JoinGroup or an
//! OffsetCommit (auto-commit and offset storing are off, offsets are always explicit, so not
//! even an OffsetFetch goes out). A cluster's group list never shows them.
//!
//! A session runs on its own thread (librdkafka's poll blocks) and hands records to its reader
//! through a [`TailInbox`]: a bounded queue that blocks the session when the reader is behind,
//! so memory stays bounded whatever the rate (the inbox, plus librdkafka's own prefetch queue
//! capped by `queued.max.messages.kbytes`). Records are delivered in batches, and the reader
//! is woken once per batch, not per record.
//!
//! No terminal and no app state here; `app` drives sessions from its worker, `headless` from
//! `strom tail`.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::{self, Isolation, OffsetSpec};
use crate::cluster::record_view::{Header, Record, TimestampType};

/// Where a tail starts reading, per partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// The log start offset.
    Earliest,
    /// The high watermark: only records produced from now on.
    Latest,
    /// This offset, clamped to what the partition holds.
    Offset(i64),
    /// The first record at or after this time (ms since the epoch); the end when none is.
    Timestamp(i64),
    /// The last N records of each partition.
    LastN(u64),
}

impl std::fmt::Display for StartAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartAt::Earliest => f.write_str("earliest"),
            StartAt::Latest => f.write_str("latest"),
            StartAt::Offset(o) => write!(f, "offset {o}"),
            StartAt::Timestamp(t) => write!(f, "{}", crate::cluster::record_view::format_timestamp(*t, &chrono::Utc)),
            StartAt::LastN(n) => write!(f, "last {n}"),
        }
    }
}

/// What to tail: a topic, all its partitions or one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailTarget {
    pub topic: String,
    pub partition: Option<i32>,
}

impl std::fmt::Display for TailTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.partition {
            Some(p) => write!(f, "{}-{p}", self.topic),
            None => f.write_str(&self.topic),
        }
    }
}

/// Where one partition's reading starts, with its offsets at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionStart {
    pub partition: i32,
    pub offset: i64,
    pub log_start: i64,
    pub high_watermark: i64,
}

/// What a session reports besides records, in order with them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailNotice {
    /// Reading (re)started at these positions: everything before is from the old position.
    Started {
        at: StartAt,
        partitions: Vec<PartitionStart>,
    },
    /// A partition has no more records for now; `offset` is where the next one will be.
    Eof {
        partition: i32,
        offset: i64,
    },
    Paused,
    Resumed,
    /// Something went wrong that the session survives (a fetch error it retries).
    Error(String),
    /// The session ended with this error.
    Failed(String),
}

/// One entry of the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailItem {
    Record(Record),
    Notice(TailNotice),
}

#[derive(Debug, Default)]
struct InboxState {
    items: VecDeque<TailItem>,
    records: usize,
    closed: bool,
}

/// The queue between a session's thread and its reader. Bounded in records: a full inbox
/// blocks the session (and librdkafka then stops fetching), so a slow reader costs time, never
/// memory. Notices do not count against the bound.
#[derive(Debug)]
pub struct TailInbox {
    state: Mutex<InboxState>,
    capacity: usize,
    /// Signalled when the reader took records (room) or when items arrived.
    changed: Condvar,
}

/// Records an inbox holds at most unless told otherwise: about a tenth of a second at 50,000
/// records/s, so the reader sees fresh data and the session waits little.
pub const INBOX_RECORDS: usize = 5_000;

impl TailInbox {
    pub fn new(capacity: usize) -> Arc<TailInbox> {
        Arc::new(TailInbox {
            state: Mutex::new(InboxState::default()),
            capacity: capacity.max(1),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InboxState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a batch, waiting while the inbox is full (the reader is behind) unless it is
    /// closed or `stop` says so. Returns whether the inbox was empty before (the reader may
    /// need waking), None for "closed, stop reading". Public for sessions of other sources
    /// (a test's fake cluster).
    pub fn push(&self, batch: &mut Vec<TailItem>, stop: &dyn Fn() -> bool) -> Option<bool> {
        let mut s = self.lock();
        while s.records >= self.capacity && !s.closed {
            if stop() {
                return None;
            }
            s = self
                .changed
                .wait_timeout(s, Duration::from_millis(100))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        if s.closed {
            return None;
        }
        let was_empty = s.items.is_empty();
        for item in batch.drain(..) {
            if matches!(item, TailItem::Record(_)) {
                s.records += 1;
            }
            s.items.push_back(item);
        }
        drop(s);
        self.changed.notify_all();
        Some(was_empty)
    }

    /// Takes everything queued.
    pub fn drain(&self) -> Vec<TailItem> {
        let mut s = self.lock();
        s.records = 0;
        let out: Vec<TailItem> = s.items.drain(..).collect();
        drop(s);
        self.changed.notify_all();
        out
    }

    /// Waits up to `timeout` for items, then takes them; empty when none came or the inbox is
    /// closed and empty.
    pub fn wait_drain(&self, timeout: Duration) -> Vec<TailItem> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        while s.items.is_empty() && !s.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self
                .changed
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        s.records = 0;
        let out: Vec<TailItem> = s.items.drain(..).collect();
        drop(s);
        self.changed.notify_all();
        out
    }

    /// No more items will be taken (the reader is gone) or given (the session ended).
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Records queued now.
    pub fn len(&self) -> usize {
        self.lock().records
    }

    pub fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }
}

/// Orders to a running session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailControl {
    Pause,
    Resume,
    /// Read from another position (all partitions).
    Seek(StartAt),
    Stop,
}

/// A running tail: its thread reads until [`stop`](Self::stop) or drop.
pub struct TailSession {
    control: Sender<TailControl>,
    inbox: Arc<TailInbox>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TailSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TailSession").finish_non_exhaustive()
    }
}

impl TailSession {
    /// Runs `body` on a thread named `name` as a session writing to `inbox`; `body` reads its
    /// orders from the receiver. Any session source (the real one, a test's fake) goes here.
    pub fn spawn(
        name: &str,
        inbox: Arc<TailInbox>,
        body: impl FnOnce(Receiver<TailControl>, Arc<TailInbox>) + Send + 'static,
    ) -> Result<TailSession, ClusterError> {
        let (control, rx) = std::sync::mpsc::channel();
        let inbox2 = Arc::clone(&inbox);
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let done = Arc::clone(&inbox2);
                body(rx, inbox2);
                done.close();
            })
            .map_err(|e| ClusterError::Client {
                bootstrap: String::new(),
                message: format!("cannot start the tail's thread: {e}"),
            })?;
        Ok(TailSession {
            control,
            inbox,
            thread: Some(thread),
        })
    }

    /// Starts tailing `target` from `start` on a consumer of its own, writing to `inbox`.
    /// `wake` is called when records arrive in an empty inbox (the reader should drain it);
    /// it returns false when the reader is gone, which ends the session.
    pub fn start(
        spec: &ConnectionSpec,
        target: TailTarget,
        start: StartAt,
        inbox: Arc<TailInbox>,
        wake: impl FnMut() -> bool + Send + 'static,
    ) -> Result<TailSession, ClusterError> {
        let consumer = assign_only_consumer(spec, "strom-tail", &TAIL_SETTINGS)?;
        let timeout = spec.timeout;
        Self::spawn("strom-tail", inbox, move |control, inbox| {
            let mut run = Run {
                consumer,
                target,
                timeout,
                inbox,
                control,
                wake: Box::new(wake),
                paused: false,
                assigned: Vec::new(),
            };
            if let Err(e) = run.run(start) {
                let mut batch = vec![TailItem::Notice(TailNotice::Failed(e))];
                let _ = run.inbox.push(&mut batch, &|| true);
                (run.wake)();
            }
        })
    }

    pub fn control(&self, c: TailControl) {
        let _ = self.control.send(c);
    }

    pub fn inbox(&self) -> &Arc<TailInbox> {
        &self.inbox
    }

    /// Stops reading and waits (bounded) for the thread, which closes its consumer.
    pub fn stop(mut self) {
        self.shutdown(Duration::from_secs(5));
    }

    fn shutdown(&mut self, wait: Duration) {
        let _ = self.control.send(TailControl::Stop);
        self.inbox.close();
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + wait;
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
            // Else left to finish on its own: a consumer closing against a lost cluster.
        }
    }
}

impl Drop for TailSession {
    fn drop(&mut self) {
        // Never block whoever drops it (the worker's loop) for long.
        self.shutdown(Duration::from_millis(200));
    }
}

/// The tail consumer's settings: a live view wants records soon after they are written, and
/// a bounded prefetch (librdkafka's default is 64 MB per consumer).
const TAIL_SETTINGS: [(&str, &str); 5] = [
    ("fetch.wait.max.ms", "100"),
    ("queued.max.messages.kbytes", "16384"),
    ("queued.min.messages", "20000"),
    ("enable.partition.eof", "true"),
    // A tail shows what is in the log, open transactions included, as Kafka's tools do; the
    // end it stops at (`strom tail` without --follow) is then the high watermark.
    ("isolation.level", "read_uncommitted"),
];

/// The peek consumer's settings: one record per partition is all it wants.
const PEEK_SETTINGS: [(&str, &str); 5] = [
    ("fetch.wait.max.ms", "50"),
    ("queued.min.messages", "1"),
    ("queued.max.messages.kbytes", "1024"),
    ("fetch.message.max.bytes", "65536"),
    ("enable.partition.eof", "true"),
];

/// A consumer that can assign partitions and will never join a group or commit: a unique
/// group id (librdkafka refuses to assign without one) that it never uses.
pub fn assign_only_consumer(
    spec: &ConnectionSpec,
    client_id: &str,
    settings: &[(&str, &str)],
) -> Result<BaseConsumer, ClusterError> {
    let mut cfg: ClientConfig = spec.console_config(client_id);
    cfg.set("group.id", format!("strom-tail-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // Only when an explicit offset vanished under us (retention): the next record there is.
        .set("auto.offset.reset", "earliest")
        .set("allow.auto.create.topics", "false")
        .set("statistics.interval.ms", "0");
    for (k, v) in settings {
        cfg.set(*k, *v);
    }
    cfg.create().map_err(|e| ClusterError::Client {
        bootstrap: spec.bootstrap.clone(),
        message: e.to_string(),
    })
}

/// Records per batch handed to the inbox, and how long a partial batch may wait.
const BATCH_RECORDS: usize = 1_000;
const BATCH_WAIT: Duration = Duration::from_millis(50);
const POLL: Duration = Duration::from_millis(50);

struct Run {
    consumer: BaseConsumer,
    target: TailTarget,
    timeout: Duration,
    inbox: Arc<TailInbox>,
    control: Receiver<TailControl>,
    wake: Box<dyn FnMut() -> bool + Send>,
    paused: bool,
    assigned: Vec<i32>,
}

impl Run {
    fn run(&mut self, start: StartAt) -> Result<(), String> {
        let partitions = self.partitions()?;
        let mut batch: Vec<TailItem> = Vec::new();
        let mut batch_since: Option<Instant> = None;
        let notice = self.assign(&partitions, start)?;
        batch.push(TailItem::Notice(notice));
        if !self.flush(&mut batch) {
            return Ok(());
        }
        loop {
            match self.control.try_recv() {
                Ok(TailControl::Stop) | Err(TryRecvError::Disconnected) => return Ok(()),
                Ok(TailControl::Pause) => {
                    if !self.paused {
                        if let Ok(tpl) = self.consumer.assignment() {
                            let _ = self.consumer.pause(&tpl);
                        }
                        self.paused = true;
                        batch.push(TailItem::Notice(TailNotice::Paused));
                    }
                }
                Ok(TailControl::Resume) => {
                    if self.paused {
                        if let Ok(tpl) = self.consumer.assignment() {
                            let _ = self.consumer.resume(&tpl);
                        }
                        self.paused = false;
                        batch.push(TailItem::Notice(TailNotice::Resumed));
                    }
                }
                Ok(TailControl::Seek(at)) => {
                    // What was read from the old position is not wanted any more.
                    batch.retain(|i| !matches!(i, TailItem::Record(_)));
                    match self.assign(&partitions, at) {
                        Ok(n) => batch.push(TailItem::Notice(n)),
                        Err(e) => batch.push(TailItem::Notice(TailNotice::Error(e))),
                    }
                    if self.paused {
                        if let Ok(tpl) = self.consumer.assignment() {
                            let _ = self.consumer.pause(&tpl);
                        }
                    }
                }
                Err(TryRecvError::Empty) => {}
            }
            match self.consumer.poll(POLL) {
                Some(Ok(m)) => {
                    batch.push(TailItem::Record(to_record(&m)));
                    batch_since.get_or_insert_with(Instant::now);
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    let offset = self.position(partition);
                    batch.push(TailItem::Notice(TailNotice::Eof { partition, offset }));
                }
                Some(Err(e)) => batch.push(TailItem::Notice(TailNotice::Error(e.to_string()))),
                None => {}
            }
            let records = batch.iter().filter(|i| matches!(i, TailItem::Record(_))).count();
            let due = batch_since.is_some_and(|t| t.elapsed() >= BATCH_WAIT);
            let notices_only = records == 0 && !batch.is_empty();
            if records >= BATCH_RECORDS || due || notices_only {
                if !self.flush(&mut batch) {
                    return Ok(());
                }
                batch_since = None;
            }
        }
    }

    /// Hands the batch to the inbox (waiting while it is full) and wakes the reader; false
    /// when the reader is gone.
    fn flush(&mut self, batch: &mut Vec<TailItem>) -> bool {
        if batch.is_empty() {
            return true;
        }
        // Waiting for room ends when the reader takes records or closes the inbox (which is
        // also what stopping the session does).
        match self.inbox.push(batch, &|| false) {
            None => false,
            Some(true) => (self.wake)(),
            Some(false) => true,
        }
    }

    fn position(&self, partition: i32) -> i64 {
        self.consumer
            .position()
            .ok()
            .and_then(|tpl| {
                tpl.find_partition(&self.target.topic, partition)
                    .and_then(|e| e.offset().to_raw())
            })
            .unwrap_or(-1)
    }

    /// The partitions to read: the one asked for, or all of the topic's.
    fn partitions(&self) -> Result<Vec<i32>, String> {
        let topic = &self.target.topic;
        let md = self
            .consumer
            .fetch_metadata(Some(topic), self.timeout)
            .map_err(|e| format!("cannot read the metadata of topic '{topic}': {e}"))?;
        let t = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| format!("topic '{topic}' does not exist"))?;
        if let Some(e) = t.error() {
            let code = rdkafka::types::RDKafkaErrorCode::from(e);
            if code == rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition {
                return Err(format!("topic '{topic}' does not exist"));
            }
            return Err(format!("topic '{topic}': {}", crate::cluster::error::kafka_name(code)));
        }
        let mut all: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        all.sort_unstable();
        match self.target.partition {
            None if all.is_empty() => Err(format!("topic '{topic}' has no partitions")),
            None => Ok(all),
            Some(p) if all.contains(&p) => Ok(vec![p]),
            Some(p) => Err(format!(
                "topic '{topic}' has no partition {p} (it has {} partition{})",
                all.len(),
                if all.len() == 1 { "" } else { "s" }
            )),
        }
    }

    /// Assigns `partitions` at the offsets `at` gives, and says where each starts.
    fn assign(&mut self, partitions: &[i32], at: StartAt) -> Result<TailNotice, String> {
        let starts = start_offsets(&self.consumer, &self.target.topic, partitions, at, self.timeout)?;
        let mut tpl = TopicPartitionList::new();
        for s in &starts {
            tpl.add_partition_offset(&self.target.topic, s.partition, Offset::Offset(s.offset))
                .map_err(|e| e.to_string())?;
        }
        self.consumer
            .assign(&tpl)
            .map_err(|e| format!("cannot assign {}: {e}", self.target))?;
        self.assigned = partitions.to_vec();
        Ok(TailNotice::Started { at, partitions: starts })
    }
}

/// Where each partition starts for `at`, from its log start and high watermark (and, for a
/// time, the offset Kafka's time index gives), clamped to what the partition holds.
pub fn start_offsets(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    at: StartAt,
    timeout: Duration,
) -> Result<Vec<PartitionStart>, String> {
    let list = |spec: OffsetSpec| -> Result<HashMap<i32, i64>, String> {
        let asks: Vec<(String, i32, OffsetSpec)> = partitions.iter().map(|p| (topic.to_string(), *p, spec)).collect();
        let answers = ffi::list_offsets(consumer.client(), &asks, Isolation::ReadUncommitted, timeout)
            .map_err(|e| format!("cannot list the offsets of '{topic}': {e}"))?;
        let mut out = HashMap::new();
        for a in answers {
            if let Some(e) = a.error {
                return Err(format!("cannot list the offsets of {topic}-{}: {e}", a.partition));
            }
            out.insert(a.partition, a.offset);
        }
        Ok(out)
    };
    let low = list(OffsetSpec::Earliest)?;
    let high = list(OffsetSpec::Latest)?;
    let by_time = match at {
        StartAt::Timestamp(t) => Some(list(OffsetSpec::Timestamp(t))?),
        _ => None,
    };
    Ok(partitions
        .iter()
        .map(|p| {
            let log_start = low.get(p).copied().unwrap_or(0).max(0);
            let hw = high.get(p).copied().unwrap_or(0).max(log_start);
            let offset = match at {
                StartAt::Earliest => log_start,
                StartAt::Latest => hw,
                StartAt::Offset(o) => o.clamp(log_start, hw),
                StartAt::LastN(n) => hw.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX)).max(log_start),
                // No record at or after the time: the end.
                StartAt::Timestamp(_) => match by_time.as_ref().and_then(|m| m.get(p)) {
                    Some(o) if *o >= 0 => (*o).clamp(log_start, hw),
                    _ => hw,
                },
            };
            PartitionStart {
                partition: *p,
                offset,
                log_start,
                high_watermark: hw,
            }
        })
        .collect())
}

/// An owned record from librdkafka's message.
pub fn to_record(m: &BorrowedMessage<'_>) -> Record {
    let (timestamp, timestamp_type) = match m.timestamp() {
        rdkafka::Timestamp::NotAvailable => (None, TimestampType::NotAvailable),
        rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| Header {
                    key: h.key.to_string(),
                    value: h.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        topic: Arc::from(m.topic()),
        partition: m.partition(),
        offset: m.offset(),
        timestamp,
        timestamp_type,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// The timestamp of the first record at or after an offset, as [`record_timestamps`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordTimestamp {
    pub topic: String,
    pub partition: i32,
    /// The offset asked about.
    pub offset: i64,
    /// The timestamp (ms) of the first record at or after it; None when no record came in time
    /// or it has no timestamp.
    pub timestamp: Option<i64>,
}

/// A consumer for [`record_timestamps`], made once and reused.
pub fn peek_consumer(spec: &ConnectionSpec) -> Result<BaseConsumer, ClusterError> {
    assign_only_consumer(spec, "strom-console-peek", &PEEK_SETTINGS)
}

/// Reads one record at (or after) each offset in `wants` and returns its timestamp: the age of
/// the next record a group will read is its time lag. One assignment for all of them, so the
/// fetches go out together; bounded by `timeout`. A partition asked about twice is read at its
/// first offset only (the other is answered None). Blocking.
pub fn record_timestamps(
    consumer: &BaseConsumer,
    wants: &[(String, i32, i64)],
    timeout: Duration,
) -> Result<Vec<RecordTimestamp>, ClusterError> {
    let mut tpl = TopicPartitionList::new();
    let mut asked: HashMap<(&str, i32), i64> = HashMap::new();
    for (t, p, o) in wants {
        if *o < 0 || asked.contains_key(&(t.as_str(), *p)) {
            continue;
        }
        asked.insert((t.as_str(), *p), *o);
        tpl.add_partition_offset(t, *p, Offset::Offset(*o))
            .map_err(|e| ClusterError::from_kafka("read record timestamps", &e))?;
    }
    let mut found: HashMap<(String, i32), Option<i64>> = HashMap::new();
    if !asked.is_empty() {
        consumer
            .assign(&tpl)
            .map_err(|e| ClusterError::from_kafka("read record timestamps", &e))?;
        let deadline = Instant::now() + timeout;
        while found.len() < asked.len() && Instant::now() < deadline {
            match consumer.poll(deadline.saturating_duration_since(Instant::now()).min(POLL)) {
                Some(Ok(m)) => {
                    let key = (m.topic().to_string(), m.partition());
                    let wanted = asked.get(&(m.topic(), m.partition())).copied();
                    // librdkafka delivers from the assigned offset; anything older is not ours.
                    if wanted.is_some_and(|w| m.offset() >= w) && !found.contains_key(&key) {
                        found.insert(key, m.timestamp().to_millis().filter(|t| *t >= 0));
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    // Nothing at the offset (yet): no timestamp; the caller asks again later.
                    if let Some(((t, _), _)) = asked.iter().find(|((_, q), _)| *q == p) {
                        found.entry((t.to_string(), p)).or_insert(None);
                    }
                }
                Some(Err(_)) | None => {}
            }
        }
        let _ = consumer.unassign();
    }
    Ok(wants
        .iter()
        .map(|(t, p, o)| RecordTimestamp {
            topic: t.clone(),
            partition: *p,
            offset: *o,
            timestamp: if asked.get(&(t.as_str(), *p)) == Some(o) {
                found.get(&(t.clone(), *p)).copied().flatten()
            } else {
                None
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: i64) -> TailItem {
        TailItem::Record(Record {
            topic: Arc::from("t"),
            partition: 0,
            offset,
            timestamp: None,
            timestamp_type: TimestampType::NotAvailable,
            key: None,
            value: None,
            headers: Vec::new(),
        })
    }

    #[test]
    fn a_full_inbox_blocks_the_session_until_the_reader_takes_records() {
        let inbox = TailInbox::new(3);
        let mut batch = vec![record(0), record(1), record(2)];
        assert_eq!(inbox.push(&mut batch, &|| false), Some(true), "empty before");
        assert_eq!(inbox.len(), 3);
        let i2 = Arc::clone(&inbox);
        let writer = std::thread::spawn(move || {
            let mut more = vec![record(3), TailItem::Notice(TailNotice::Paused)];
            i2.push(&mut more, &|| false)
        });
        std::thread::sleep(Duration::from_millis(150));
        assert!(!writer.is_finished(), "the writer waits for room");
        assert_eq!(inbox.drain().len(), 3);
        assert_eq!(writer.join().unwrap(), Some(true));
        let items = inbox.wait_drain(Duration::from_secs(1));
        assert_eq!(items, vec![record(3), TailItem::Notice(TailNotice::Paused)]);
        inbox.close();
        let mut late = vec![record(4)];
        assert_eq!(inbox.push(&mut late, &|| false), None, "closed: the session stops");
        assert!(
            inbox.wait_drain(Duration::from_secs(5)).is_empty(),
            "closed and empty returns at once"
        );
    }

    #[test]
    fn a_stopped_session_closes_its_inbox() {
        let inbox = TailInbox::new(10);
        let session = TailSession::spawn("test-tail", Arc::clone(&inbox), |control, inbox| {
            let mut b = vec![record(7)];
            let _ = inbox.push(&mut b, &|| false);
            while !matches!(control.recv(), Ok(TailControl::Stop) | Err(_)) {}
        })
        .unwrap();
        assert_eq!(inbox.wait_drain(Duration::from_secs(5)), vec![record(7)]);
        session.stop();
        assert!(inbox.is_closed());
    }
}
