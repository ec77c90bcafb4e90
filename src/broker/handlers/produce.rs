//! Produce: validate each partition's single v2 batch as Kafka's LogValidator does (framing,
//! CRC, codec, counts, every record walked within a decompression budget, timestamps), check an
//! idempotent producer's epoch and sequence against the partition's producer state, append it
//! in request order, and answer per `acks`: 0 no response, 1 once written to the OS, -1 (all)
//! once fsynced. A refused batch gets Kafka's error code and nothing of it is stored. A retried
//! batch that is already in the log is answered with its original offsets and not appended
//! again; acks=all still waits until those offsets are durable.

use std::sync::Arc;

use futures_util::future::join_all;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::config::{LogConfig, TimestampType};
use crate::broker::dispatch::Reply;
use crate::broker::error::ConnectionError;
use crate::broker::log::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use crate::broker::log::records::{Codec, Records, RecordsError};
use crate::broker::log::PartitionLog;
use crate::broker::partition::Partition;
use crate::broker::producers::{self, Decision};
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::{now_ms, Broker};

struct Outcome {
    error: i16,
    message: Option<String>,
    record_errors: Vec<(i32, String)>,
    /// Decompressed bytes charged to the request's budget.
    uncompressed: u64,
    base_offset: i64,
    log_append_time: i64,
    log_start: i64,
    /// The offset after the batch's last record: what acks=all waits to be durable. -1 on error.
    end: i64,
    /// Whether this request wrote the batch (false for errors and for duplicates).
    appended: bool,
}

impl Outcome {
    fn error(error: i16, message: impl Into<String>) -> Self {
        Outcome {
            error,
            message: Some(message.into()),
            record_errors: Vec::new(),
            uncompressed: 0,
            base_offset: -1,
            log_append_time: -1,
            log_start: -1,
            end: -1,
            appended: false,
        }
    }
}

/// What one partition's batch must satisfy: the topic's settings, the request, the clock.
#[derive(Clone, Debug)]
pub struct BatchRules {
    pub max_message_bytes: usize,
    pub timestamp_type: TimestampType,
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// Bytes the records may decompress to: what is left of the request's
    /// `strom.produce.max.uncompressed.bytes`.
    pub max_uncompressed_bytes: u64,
    pub produce_version: i16,
    pub now_ms: i64,
}

impl BatchRules {
    pub fn new(config: &LogConfig, max_uncompressed_bytes: u64, produce_version: i16, now_ms: i64) -> Self {
        BatchRules {
            max_message_bytes: config.max_message_bytes,
            timestamp_type: config.timestamp_type,
            timestamp_before_max_ms: config.timestamp_before_max_ms,
            timestamp_after_max_ms: config.timestamp_after_max_ms,
            max_uncompressed_bytes,
            produce_version,
            now_ms,
        }
    }
}

/// A batch that passed every check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validated {
    pub header: BatchHeader,
    /// The largest record timestamp (-1 when no record has one). Kafka writes it into the
    /// batch header when the producer's differs.
    pub max_timestamp: i64,
    /// What the records took decompressed, charged to the request's budget.
    pub uncompressed_bytes: u64,
}

/// Why a batch is refused: Kafka's error code, a message, and per-record errors (Produce v8+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: i16,
    pub message: String,
    pub record_errors: Vec<(i32, String)>,
}

fn reject(code: i16, message: impl Into<String>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
        record_errors: Vec::new(),
    }
}

/// Validates the records of one partition as Kafka's `ProduceRequest.validateRecords`,
/// `UnifiedLog.analyzeAndValidateRecords` and `LogValidator` do, in their order, before
/// anything is stored: exactly one complete v2 batch, base offset 0, size, CRC, a known codec,
/// offsets and count consistent, no control batch, sequence set for idempotent producers, then
/// every record walked (decompressed within the budget): the declared count present and nothing
/// after it, offset deltas 0, 1, 2, ... (Kafka rewrites such a batch; strom stores batches as
/// produced, so it refuses them), and timestamps within the topic's bounds. Pure: no I/O, so a
/// fuzzer can drive it.
pub fn validate_batch(records: &[u8], rules: &BatchRules) -> Result<Validated, Rejection> {
    let v = rules.produce_version;
    let no_batch = || {
        reject(
            code::INVALID_RECORD,
            format!(
                "produce v{v} must carry exactly one record batch per partition; {} bytes hold no complete batch",
                records.len()
            ),
        )
    };
    if records.len() < LOG_OVERHEAD {
        return Err(no_batch());
    }
    let batch_length = i32::from_be_bytes([records[8], records[9], records[10], records[11]]);
    // Kafka's ByteBufferLogInputStream: a length below the smallest (v0) record overhead, or an
    // unknown magic, is corrupt rather than merely incomplete.
    if batch_length < 14 {
        return Err(reject(
            code::CORRUPT_MESSAGE,
            format!("batch length {batch_length} is less than the minimum record overhead (14)"),
        ));
    }
    if records.len() < 17 {
        return Err(no_batch());
    }
    let magic = records[16] as i8;
    if !(0..=2).contains(&magic) {
        return Err(reject(
            code::CORRUPT_MESSAGE,
            format!("invalid magic {magic} in record batch"),
        ));
    }
    if magic != 2 {
        return Err(reject(
            code::INVALID_RECORD,
            format!("produce v{v} may only carry record batches of magic 2, not {magic}"),
        ));
    }
    let total = LOG_OVERHEAD + batch_length as usize;
    if records.len() < total {
        return Err(reject(
            code::INVALID_RECORD,
            format!(
                "batch says {total} bytes, only {} sent: produce v{v} must carry one complete record batch",
                records.len()
            ),
        ));
    }
    if total < HEADER_LEN {
        return Err(reject(
            code::CORRUPT_MESSAGE,
            format!("record batch of {total} bytes is shorter than its {HEADER_LEN}-byte header"),
        ));
    }
    let h = BatchHeader::parse(records).map_err(|e| reject(code::CORRUPT_MESSAGE, e))?;
    let codec = match Codec::from_attributes(h.attributes) {
        Ok(c) => c,
        // Kafka's CompressionType.forId throws IllegalArgumentException: an unknown server error.
        Err(id) => {
            return Err(reject(
                code::UNKNOWN_SERVER_ERROR,
                format!("unknown compression codec id {id} in batch attributes"),
            ))
        }
    };
    if codec == Codec::Zstd && v < 7 {
        return Err(reject(
            code::UNSUPPORTED_COMPRESSION_TYPE,
            format!("zstd-compressed batches need produce v7 or later, not v{v}"),
        ));
    }
    if records.len() > total {
        return Err(reject(
            code::INVALID_RECORD,
            format!("produce v{v} must carry exactly one record batch per partition"),
        ));
    }
    if h.base_offset != 0 {
        return Err(reject(
            code::INVALID_RECORD,
            format!("the base offset of a produced batch must be 0, not {}", h.base_offset),
        ));
    }
    if records.len() > rules.max_message_bytes {
        return Err(reject(
            code::MESSAGE_TOO_LARGE,
            format!(
                "batch of {} bytes exceeds max.message.bytes {}",
                records.len(),
                rules.max_message_bytes
            ),
        ));
    }
    let crc = batch::compute_crc(records);
    if crc != h.crc {
        return Err(reject(
            code::CORRUPT_MESSAGE,
            format!("CRC mismatch: stored {:#010x}, computed {crc:#010x}", h.crc),
        ));
    }
    // LogValidator.validateBatch.
    if h.last_offset_delta < 0 || h.last_offset_delta == i32::MAX {
        return Err(reject(
            code::INVALID_RECORD,
            format!(
                "batch has an invalid offset range: last offset delta {}",
                h.last_offset_delta
            ),
        ));
    }
    if h.records_count <= 0 {
        return Err(reject(
            code::INVALID_RECORD,
            format!("invalid record count {} in batch", h.records_count),
        ));
    }
    if h.records_count != h.last_offset_delta + 1 {
        return Err(reject(
            code::INVALID_RECORD,
            format!(
                "record count {} does not match last offset delta {}",
                h.records_count, h.last_offset_delta
            ),
        ));
    }
    if h.is_control() {
        return Err(reject(code::INVALID_RECORD, "clients may not produce control batches"));
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        return Err(reject(
            code::INVALID_RECORD,
            format!(
                "invalid sequence number {} in a batch of producer {}",
                h.base_sequence, h.producer_id
            ),
        ));
    }
    if h.is_transactional() {
        return Err(reject(
            code::INVALID_TXN_STATE,
            "transactions are not supported by this broker",
        ));
    }
    walk_records(records, &h, rules)
}

/// The record-level checks: every record walked, within the decompression budget.
fn walk_records(records: &[u8], h: &BatchHeader, rules: &BatchRules) -> Result<Validated, Rejection> {
    let log_append_flagged = h.attributes & batch::ATTR_TIMESTAMP_TYPE != 0;
    let check_time = rules.timestamp_type == TimestampType::CreateTime;
    let now = rules.now_ms as i128;
    let (earliest, latest) = (
        now - rules.timestamp_before_max_ms as i128,
        now + rules.timestamp_after_max_ms as i128,
    );
    let mut max_timestamp = -1i64;
    let mut uncompressed = 0u64;
    let mut record_errors = Vec::new();
    let walker = Records::new(records, h, rules.max_uncompressed_bytes).map_err(records_rejection)?;
    for (i, r) in walker.enumerate() {
        let i = i as i32;
        let r = r.map_err(records_rejection)?;
        uncompressed += r.size;
        if r.offset_delta != i {
            return Err(reject(
                code::INVALID_RECORD,
                format!(
                    "record {i} has offset delta {}; deltas must run 0, 1, 2, ...",
                    r.offset_delta
                ),
            ));
        }
        if check_time && r.timestamp != -1 {
            let ts = r.timestamp as i128;
            if ts < earliest || ts > latest {
                record_errors.push((
                    i,
                    format!(
                        "timestamp {} of record {i} is out of range; it must be within [{earliest}, {latest}]",
                        r.timestamp
                    ),
                ));
            }
        } else if log_append_flagged {
            record_errors.push((
                i,
                format!("record {i}: producers may not set the timestamp type to LogAppendTime"),
            ));
        }
        max_timestamp = max_timestamp.max(r.timestamp);
    }
    if !record_errors.is_empty() {
        return Err(Rejection {
            code: code::INVALID_TIMESTAMP,
            message: format!(
                "{} record(s) rejected for their timestamp; the first: {}",
                record_errors.len(),
                record_errors[0].1
            ),
            record_errors,
        });
    }
    Ok(Validated {
        header: *h,
        max_timestamp,
        uncompressed_bytes: uncompressed,
    })
}

fn records_rejection(e: RecordsError) -> Rejection {
    match e {
        RecordsError::TooLarge { limit } => reject(
            code::MESSAGE_TOO_LARGE,
            format!(
                "the batch decompresses to more than {limit} bytes (what is left of strom.produce.max.uncompressed.bytes for this request)"
            ),
        ),
        // Kafka fails a record stream that does not decompress with a KafkaException: an unknown
        // server error.
        RecordsError::Decompress(m) => reject(code::UNKNOWN_SERVER_ERROR, m),
        RecordsError::Invalid(m) => reject(code::INVALID_RECORD, m),
    }
}

/// Why an idempotent producer's batch is refused, for the partition response's error message.
fn producer_error(log: &PartitionLog, partition: &Partition, h: &BatchHeader, code: i16) -> String {
    let tp = format!("{}-{}", partition.topic, partition.index);
    let (pid, epoch, first) = (h.producer_id, h.producer_epoch, h.base_sequence);
    let state = log.producer_state();
    let current = state.epoch(pid).unwrap_or(-1);
    if code == producers::INVALID_PRODUCER_EPOCH {
        return format!("producer {pid} epoch {epoch} is older than its current epoch {current} on {tp}");
    }
    if epoch != current {
        return format!("producer {pid} starts epoch {epoch} on {tp} at sequence {first}; a new epoch must start at 0");
    }
    let expected = state
        .batches(pid)
        .last()
        .map(|b| i64::from(b.last_seq) + 1)
        .unwrap_or(0)
        % (i64::from(i32::MAX) + 1);
    format!("producer {pid} epoch {epoch} sent sequence {first} on {tp}; expected {expected}")
}

fn append(partition: &Partition, records: &[u8], rules: &BatchRules) -> Outcome {
    let now = rules.now_ms;
    let validated = match validate_batch(records, rules) {
        Ok(v) => v,
        Err(r) => {
            let mut o = Outcome::error(r.code, r.message);
            o.record_errors = r.record_errors;
            return o;
        }
    };
    let mut header = validated.header;
    // Kafka keeps the header's max timestamp true to the records it holds; retention and time
    // lookups rely on it. Only then is the batch copied: otherwise the log writes the request's
    // own bytes.
    let mut rewritten = None;
    if rules.timestamp_type == TimestampType::CreateTime && header.max_timestamp != validated.max_timestamp {
        let mut owned = records.to_vec();
        batch::set_max_timestamp(&mut owned, validated.max_timestamp);
        header.max_timestamp = validated.max_timestamp;
        rewritten = Some(owned);
    }
    let records = rewritten.as_deref().unwrap_or(records);
    // Check and append under one guard, so no other request's batch lands in between.
    let mut log = partition.log();
    match log.check_producer(&header) {
        Ok(Decision::Append) => {}
        Ok(Decision::Duplicate {
            base_offset,
            last_offset,
            timestamp_ms,
        }) => {
            tracing::debug!(
                topic = %partition.topic, partition = partition.index, producer_id = header.producer_id,
                sequence = header.base_sequence, base_offset, "duplicate batch acknowledged, not appended"
            );
            return Outcome {
                error: code::NONE,
                message: None,
                record_errors: Vec::new(),
                uncompressed: validated.uncompressed_bytes,
                base_offset,
                // As the first answer said: the stored time for LogAppendTime topics, else -1.
                log_append_time: if log.config.timestamp_type == TimestampType::LogAppendTime {
                    timestamp_ms
                } else {
                    -1
                },
                log_start: log.log_start_offset(),
                end: last_offset + 1,
                appended: false,
            };
        }
        Err(code) => return Outcome::error(code, producer_error(&log, partition, &header, code)),
    }
    match log.append(records, &header, now) {
        Ok(a) => Outcome {
            error: code::NONE,
            message: None,
            record_errors: Vec::new(),
            uncompressed: validated.uncompressed_bytes,
            base_offset: a.base_offset,
            log_append_time: a.log_append_time,
            log_start: log.log_start_offset(),
            end: a.last_offset + 1,
            appended: true,
        },
        Err(e) => {
            tracing::error!(topic = %partition.topic, partition = partition.index, error = %e, "append failed");
            Outcome::error(code::KAFKA_STORAGE_ERROR, e.to_string())
        }
    }
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: ProduceRequest) -> Reply {
    let acks = req.acks;
    // Appends, and the I/O of the segment rolls they cause, run off the async workers; the
    // connection reads its next request only once this one is appended, so order holds.
    let b = Arc::clone(&broker);
    let mut results = storage::blocking(&broker.disk, move || append_all(&b, ctx.api_version, req)).await;
    for (_, parts) in &results {
        for (_, o, p) in parts {
            if let (true, Some(p)) = (o.appended, p) {
                p.appended.notify_waiters();
            }
        }
    }
    if acks == 0 {
        let failed = results
            .iter()
            .flat_map(|(_, ps)| ps)
            .find(|(_, o, _)| o.error != code::NONE);
        return match failed {
            // acks=0 producers read no responses; closing the socket is Kafka's only signal.
            Some((i, o, _)) => Reply::Close(ConnectionError::AcksZeroFailure(format!(
                "partition {i}: error {} ({})",
                o.error,
                o.message.as_deref().unwrap_or("")
            ))),
            None => Reply::None,
        };
    }
    let sync_any = results.iter().flat_map(|(_, ps)| ps).any(|(_, _, p)| p.is_some());
    if acks == -1 && sync_any {
        return Reply::Later(Box::pin(async move {
            // Every partition's fsync at once; concurrent requests share them per partition.
            let waits = results.iter().enumerate().flat_map(|(ti, (_, parts))| {
                parts
                    .iter()
                    .enumerate()
                    .filter_map(move |(pi, (_, o, p))| p.as_ref().map(|p| (ti, pi, Arc::clone(p), o.end)))
            });
            let synced = join_all(waits.map(|(ti, pi, p, end)| async move { (ti, pi, p.sync_to(end).await) })).await;
            for (ti, pi, r) in synced {
                if let Err(e) = r {
                    tracing::error!(error = %e, "fsync failed");
                    results[ti].1[pi].1 = Outcome::error(code::KAFKA_STORAGE_ERROR, e.to_string());
                }
            }
            ResponseKind::Produce(response(results))
        }));
    }
    Reply::Now(ResponseKind::Produce(response(results)))
}

/// Validates and appends every partition's batch (blocking).
fn append_all(broker: &Broker, api_version: i16, req: ProduceRequest) -> Results {
    let acks = req.acks;
    let now = now_ms();
    // One budget of decompressed bytes for all the batches of the request.
    let mut budget = broker.config.get_i64("strom.produce.max.uncompressed.bytes").max(0) as u64;
    let mut results: Results = Vec::new();
    for td in req.topic_data {
        let topic = broker.catalog.get(&td.name.0);
        let mut parts = Vec::new();
        for pd in td.partition_data {
            let outcome = if !matches!(acks, -1..=1) {
                (
                    Outcome::error(code::INVALID_REQUIRED_ACKS, format!("acks={acks} is not 0, 1 or -1")),
                    None,
                )
            } else if req.transactional_id.is_some() {
                (
                    Outcome::error(code::INVALID_TXN_STATE, "transactions are not supported by this broker"),
                    None,
                )
            } else {
                match topic
                    .as_ref()
                    .and_then(|t| usize::try_from(pd.index).ok().and_then(|i| t.partitions.get(i)))
                {
                    None => (
                        Outcome::error(
                            code::UNKNOWN_TOPIC_OR_PARTITION,
                            format!("{}-{} does not exist", td.name.0, pd.index),
                        ),
                        None,
                    ),
                    Some(p) => {
                        let config = topic.as_ref().map(|t| &t.log_config).expect("partition of a topic");
                        let rules = BatchRules::new(config, budget, api_version, now);
                        let mut o = append(p, pd.records.as_deref().unwrap_or(&[]), &rules);
                        budget = budget.saturating_sub(o.uncompressed);
                        if let Err(e) = p.finish_rolls() {
                            let appended = o.appended;
                            o = Outcome::error(code::KAFKA_STORAGE_ERROR, e.to_string());
                            o.appended = appended;
                        }
                        let ok = o.error == code::NONE;
                        (o, ok.then(|| Arc::clone(p)))
                    }
                }
            };
            parts.push((pd.index, outcome.0, outcome.1));
        }
        results.push((td.name, parts));
    }
    results
}

/// Per topic, per partition: index, outcome, and the partition to fsync for acks=all.
type Results = Vec<(
    kafka_protocol::messages::TopicName,
    Vec<(i32, Outcome, Option<Arc<Partition>>)>,
)>;

fn response(results: Results) -> ProduceResponse {
    let mut resp = ProduceResponse::default();
    for (name, parts) in results {
        let mut tr = TopicProduceResponse::default();
        tr.name = name;
        for (index, o, _) in parts {
            let mut pr = PartitionProduceResponse::default();
            pr.index = index;
            pr.error_code = o.error;
            pr.base_offset = o.base_offset;
            pr.log_append_time_ms = o.log_append_time;
            pr.log_start_offset = o.log_start;
            pr.error_message = o.message.map(StrBytes::from_string);
            pr.record_errors = o
                .record_errors
                .into_iter()
                .map(|(i, m)| {
                    let mut e = BatchIndexAndErrorMessage::default();
                    e.batch_index = i;
                    e.batch_index_error_message = Some(StrBytes::from_string(m));
                    e
                })
                .collect();
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::config::BrokerConfig;
    use crate::broker::log::records::tests::{batch_around, compress, record};

    const NOW: i64 = 1_700_000_000_000;

    fn partition(dir: &std::path::Path, overrides: &[(&str, &str)]) -> Partition {
        let o = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let cfg = LogConfig::resolve(&BrokerConfig::default(), &o);
        Partition::new(
            "t".into(),
            0,
            PartitionLog::open(crate::broker::storage::OsDisk::shared(), dir, cfg, false, 0).unwrap(),
        )
    }

    fn rules(p: &Partition, now: i64) -> BatchRules {
        BatchRules::new(&p.log().config, 1 << 20, 9, now)
    }

    /// `count` real records (offset deltas 0.., timestamps `ts`), uncompressed.
    fn records(count: i32, ts_delta: impl Fn(i32) -> i64) -> Vec<u8> {
        (0..count)
            .flat_map(|i| record(i, ts_delta(i), Some(b"k"), Some(&[i as u8; 10])))
            .collect()
    }

    fn good(count: i32, ts: i64) -> Vec<u8> {
        batch_around(&records(count, |_| 0), count, count - 1, 0, ts)
    }

    fn idempotent(count: i32, ts: i64, pid: i64, epoch: i16, seq: i32) -> Vec<u8> {
        let mut b = good(count, ts);
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        b[51..53].copy_from_slice(&epoch.to_be_bytes());
        b[53..57].copy_from_slice(&seq.to_be_bytes());
        let crc = batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn recrc(b: &mut [u8]) {
        let crc = batch::compute_crc(b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
    }

    fn code_of(b: &[u8], r: &BatchRules) -> i16 {
        validate_batch(b, r).map(|_| code::NONE).unwrap_or_else(|e| e.code)
    }

    #[test]
    fn duplicate_batch_is_acked_with_its_original_offset_not_appended() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        let r = rules(&p, NOW);
        assert_eq!(append(&p, &good(2, NOW), &r).base_offset, 0);
        let b = idempotent(5, NOW, 7, 0, 0);
        let first = append(&p, &b, &r);
        assert_eq!(
            (first.error, first.base_offset, first.end, first.appended),
            (code::NONE, 2, 7, true)
        );
        let again = append(&p, &b, &rules(&p, NOW + 1_000));
        assert_eq!(
            (again.error, again.base_offset, again.end, again.appended),
            (code::NONE, 2, 7, false)
        );
        assert_eq!(again.log_append_time, -1);
        assert_eq!(p.log().log_end_offset(), 7, "stored once");
    }

    #[test]
    fn duplicate_on_a_log_append_time_topic_answers_the_stored_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[("message.timestamp.type", "LogAppendTime")]);
        let b = idempotent(1, 1_000, 7, 0, 0);
        assert_eq!(append(&p, &b, &rules(&p, 5_000)).log_append_time, 5_000);
        let again = append(&p, &b, &rules(&p, 9_000));
        assert_eq!((again.base_offset, again.log_append_time), (0, 5_000));
    }

    #[test]
    fn sequence_gaps_and_stale_epochs_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        let r = rules(&p, NOW);
        assert!(append(&p, &idempotent(5, NOW, 7, 0, 0), &r).appended);

        let gap = append(&p, &idempotent(1, NOW, 7, 0, 6), &r);
        assert_eq!(gap.error, producers::OUT_OF_ORDER_SEQUENCE_NUMBER);
        assert!(
            gap.message.as_deref().unwrap().contains("expected 5"),
            "{:?}",
            gap.message
        );

        // The producer bumps its epoch: sequences restart at 0.
        assert!(append(&p, &idempotent(1, NOW, 7, 1, 0), &r).appended);
        let stale = append(&p, &idempotent(1, NOW, 7, 0, 5), &r);
        assert_eq!(stale.error, producers::INVALID_PRODUCER_EPOCH);
        assert!(
            stale.message.as_deref().unwrap().contains("current epoch 1"),
            "{:?}",
            stale.message
        );
        let not_zero = append(&p, &idempotent(1, NOW, 7, 2, 3), &r);
        assert_eq!(not_zero.error, producers::OUT_OF_ORDER_SEQUENCE_NUMBER);
        assert!(
            not_zero.message.as_deref().unwrap().contains("must start at 0"),
            "{:?}",
            not_zero.message
        );
        assert_eq!(p.log().log_end_offset(), 6, "refused batches are not appended");
    }

    #[test]
    fn framing_errors_get_kafkas_codes() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        let r = rules(&p, NOW);
        let ok = good(3, NOW);
        assert_eq!(code_of(&ok, &r), code::NONE);
        // Nothing, or less than a batch.
        assert_eq!(code_of(&[], &r), code::INVALID_RECORD);
        assert_eq!(code_of(&ok[..30], &r), code::INVALID_RECORD);
        assert_eq!(code_of(&ok[..ok.len() - 1], &r), code::INVALID_RECORD);
        // Two batches.
        assert_eq!(code_of(&[ok.clone(), ok.clone()].concat(), &r), code::INVALID_RECORD);
        // A batch length below any record overhead.
        let mut b = ok.clone();
        b[8..12].copy_from_slice(&5i32.to_be_bytes());
        assert_eq!(code_of(&b, &r), code::CORRUPT_MESSAGE);
        // A length field of i32::MAX over a small body: incomplete, nothing sized from it.
        let mut b = ok.clone();
        b[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(code_of(&b, &r), code::INVALID_RECORD);
        // Magic 1 and magic 7.
        let mut b = ok.clone();
        b[16] = 1;
        assert_eq!(code_of(&b, &r), code::INVALID_RECORD);
        b[16] = 7;
        assert_eq!(code_of(&b, &r), code::CORRUPT_MESSAGE);
        // Base offset not 0.
        let mut b = ok.clone();
        b[0..8].copy_from_slice(&5i64.to_be_bytes());
        assert_eq!(code_of(&b, &r), code::INVALID_RECORD);
        // CRC.
        let mut b = ok.clone();
        *b.last_mut().unwrap() ^= 1;
        assert_eq!(code_of(&b, &r), code::CORRUPT_MESSAGE);
        // Too large for the topic.
        let small = BatchRules {
            max_message_bytes: ok.len() - 1,
            ..r.clone()
        };
        assert_eq!(code_of(&ok, &small), code::MESSAGE_TOO_LARGE);
    }

    #[test]
    fn counts_offsets_and_flags_are_checked_as_log_validator_does() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        let r = rules(&p, NOW);
        let raw = records(3, |_| 0);
        // Count 0, count negative, count unequal to last offset delta + 1.
        assert_eq!(code_of(&batch_around(&raw, 0, -1, 0, NOW), &r), code::INVALID_RECORD);
        assert_eq!(code_of(&batch_around(&raw, -3, 2, 0, NOW), &r), code::INVALID_RECORD);
        assert_eq!(code_of(&batch_around(&raw, 3, 5, 0, NOW), &r), code::INVALID_RECORD);
        // Header and records agree with each other but not with the body: 4 declared, 3 there.
        assert_eq!(code_of(&batch_around(&raw, 4, 3, 0, NOW), &r), code::INVALID_RECORD);
        // 2 declared, 3 there.
        assert_eq!(code_of(&batch_around(&raw, 2, 1, 0, NOW), &r), code::INVALID_RECORD);
        // Offset deltas out of order: 0, 0, 2.
        let bad = [
            record(0, 0, None, Some(b"aaaa")),
            record(0, 0, None, Some(b"bbbb")),
            record(2, 0, None, Some(b"cccc")),
        ]
        .concat();
        let e = validate_batch(&batch_around(&bad, 3, 2, 0, NOW), &r).unwrap_err();
        assert_eq!(e.code, code::INVALID_RECORD);
        assert!(e.message.contains("offset delta"), "{}", e.message);
        // Codec bits 5, 6, 7; zstd below produce v7.
        for id in 5..=7 {
            assert_eq!(
                code_of(&batch_around(&raw, 3, 2, id, NOW), &r),
                code::UNKNOWN_SERVER_ERROR
            );
        }
        let z = batch_around(&compress(Codec::Zstd, &raw), 3, 2, 4, NOW);
        assert_eq!(code_of(&z, &r), code::NONE);
        let v6 = BatchRules {
            produce_version: 6,
            ..r.clone()
        };
        assert_eq!(code_of(&z, &v6), code::UNSUPPORTED_COMPRESSION_TYPE);
        // Control batch; producer id without a sequence.
        let mut b = batch_around(&raw, 3, 2, batch::ATTR_CONTROL, NOW);
        assert_eq!(code_of(&b, &r), code::INVALID_RECORD);
        b = good(3, NOW);
        b[43..51].copy_from_slice(&9i64.to_be_bytes());
        recrc(&mut b);
        assert_eq!(code_of(&b, &r), code::INVALID_RECORD);
        // Compressed garbage.
        let g = batch_around(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3], 3, 2, 1, NOW);
        assert_eq!(code_of(&g, &r), code::UNKNOWN_SERVER_ERROR);
    }

    #[test]
    fn a_decompression_bomb_is_refused_and_charged_to_the_request_budget() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        let raw = record(0, 0, None, Some(&vec![0u8; 4 << 20]));
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let b = batch_around(&compress(codec, &raw), 1, 0, codec.id(), NOW);
            let e = validate_batch(&b, &rules(&p, NOW)).unwrap_err();
            assert_eq!(e.code, code::MESSAGE_TOO_LARGE, "{codec:?}: {}", e.message);
            let roomy = BatchRules {
                max_uncompressed_bytes: 8 << 20,
                ..rules(&p, NOW)
            };
            let v = validate_batch(&b, &roomy).unwrap();
            assert!(v.uncompressed_bytes > 4 << 20, "{codec:?}");
        }
        assert_eq!(p.log().log_end_offset(), 0);
    }

    #[test]
    fn timestamps_outside_the_topics_bounds_are_refused_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(
            dir.path(),
            &[
                ("message.timestamp.before.max.ms", "60000"),
                ("message.timestamp.after.max.ms", "1000"),
            ],
        );
        let r = rules(&p, NOW);
        // Record 1 is two minutes old, record 2 five seconds ahead.
        let raw = records(3, |i| [0, -120_000, 5_000][i as usize]);
        let b = batch_around(&raw, 3, 2, 0, NOW);
        let out = append(&p, &b, &r);
        assert_eq!(out.error, code::INVALID_TIMESTAMP);
        assert_eq!(
            out.record_errors.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(p.log().log_end_offset(), 0, "nothing of the batch stored");
        // -1 (no timestamp) is never out of range.
        let b = batch_around(&records(1, |_| 0), 1, 0, 0, -1);
        assert_eq!(code_of(&b, &r), code::NONE);
        // Producers may not claim LogAppendTime.
        let b = batch_around(&records(1, |_| 0), 1, 0, batch::ATTR_TIMESTAMP_TYPE, NOW);
        let lat = partition(
            dir.path().join("lat").as_path(),
            &[("message.timestamp.type", "LogAppendTime")],
        );
        assert_eq!(code_of(&b, &rules(&lat, NOW)), code::INVALID_TIMESTAMP);
        // The deprecated difference.max.ms bounds both sides while before/after are unset.
        let d = partition(
            dir.path().join("d").as_path(),
            &[("message.timestamp.difference.max.ms", "1000")],
        );
        let b = batch_around(&records(1, |_| 0), 1, 0, 0, NOW - 5_000);
        assert_eq!(code_of(&b, &rules(&d, NOW)), code::INVALID_TIMESTAMP);
    }

    #[test]
    fn a_max_timestamp_the_records_do_not_carry_is_corrected_before_storing() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        let mut b = batch_around(&records(3, |i| i as i64 * 10), 3, 2, 0, NOW);
        // The header claims a max far in the future.
        b[35..43].copy_from_slice(&(NOW + 999_999).to_be_bytes());
        recrc(&mut b);
        assert!(append(&p, &b, &rules(&p, NOW)).appended);
        assert_eq!(p.log().max_timestamp(), Some((2, NOW + 20)));
        let plan = p.log().plan_read(0).unwrap().unwrap();
        let stored = crate::broker::log::execute_read(&plan, 1 << 20, true).unwrap();
        let h = batch::validate(&stored).unwrap();
        assert_eq!(h.max_timestamp, NOW + 20, "stored header corrected, CRC valid");
    }
}
