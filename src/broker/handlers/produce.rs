//! Produce: validate each partition's single v2 batch (CRC, size, flags), check an idempotent
//! producer's epoch and sequence against the partition's producer state, append it in request
//! order, and answer per `acks`: 0 no response, 1 once written to the OS, -1 (all) once
//! fsynced. A retried batch that is already in the log is answered with its original offsets
//! and not appended again; acks=all still waits until those offsets are durable.

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::config::TimestampType;
use crate::broker::dispatch::Reply;
use crate::broker::error::ConnectionError;
use crate::broker::log::batch::{self, BatchHeader, HEADER_LEN};
use crate::broker::log::PartitionLog;
use crate::broker::partition::Partition;
use crate::broker::producers::{self, Decision};
use crate::broker::server::RequestContext;
use crate::broker::{now_ms, Broker};

struct Outcome {
    error: i16,
    message: Option<String>,
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
            base_offset: -1,
            log_append_time: -1,
            log_start: -1,
            end: -1,
            appended: false,
        }
    }
}

/// Validates the records field of one partition: exactly one v2 batch with a good CRC.
fn validate(records: &[u8], max_message_bytes: usize) -> Result<BatchHeader, (i16, String)> {
    if records.len() < HEADER_LEN {
        return Err((
            code::CORRUPT_MESSAGE,
            format!("{} bytes of records hold no complete batch header", records.len()),
        ));
    }
    let h = BatchHeader::parse(records).map_err(|e| (code::INVALID_RECORD, e))?;
    if h.total_len() > records.len() {
        return Err((
            code::CORRUPT_MESSAGE,
            format!("batch says {} bytes, only {} sent", h.total_len(), records.len()),
        ));
    }
    if h.total_len() < records.len() {
        return Err((
            code::INVALID_RECORD,
            "produce v3+ must carry exactly one record batch per partition".into(),
        ));
    }
    if records.len() > max_message_bytes {
        return Err((
            code::MESSAGE_TOO_LARGE,
            format!(
                "batch of {} bytes exceeds max.message.bytes {max_message_bytes}",
                records.len()
            ),
        ));
    }
    let h = batch::validate(records).map_err(|e| (code::CORRUPT_MESSAGE, e))?;
    if h.is_control() {
        return Err((code::INVALID_RECORD, "clients may not produce control batches".into()));
    }
    if h.is_transactional() {
        return Err((
            code::INVALID_TXN_STATE,
            "transactions are not supported by this broker".into(),
        ));
    }
    if h.records_count != h.last_offset_delta + 1 && h.records_count > 0 {
        return Err((
            code::INVALID_RECORD,
            format!(
                "record count {} does not match last offset delta {}",
                h.records_count, h.last_offset_delta
            ),
        ));
    }
    Ok(h)
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

fn append(partition: &Partition, records: &[u8], max_message_bytes: usize, now: i64) -> Outcome {
    let header = match validate(records, max_message_bytes) {
        Ok(h) => h,
        Err((code, msg)) => return Outcome::error(code, msg),
    };
    let mut owned = records.to_vec();
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
    match log.append(&mut owned, &header, now) {
        Ok(a) => Outcome {
            error: code::NONE,
            message: None,
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
    let now = now_ms();
    // (topic index, partition index, outcome, partition to fsync)
    let mut results: Results = Vec::new();
    let mut appended_any = false;
    let mut sync_any = false;
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
                        let max = topic.as_ref().map(|t| t.log_config.max_message_bytes).unwrap_or(0);
                        let o = append(p, pd.records.as_deref().unwrap_or(&[]), max, now);
                        let ok = o.error == code::NONE;
                        appended_any |= o.appended;
                        sync_any |= ok;
                        (o, ok.then(|| Arc::clone(p)))
                    }
                }
            };
            parts.push((pd.index, outcome.0, outcome.1));
        }
        results.push((td.name, parts));
    }
    if appended_any {
        broker.appended.notify_waiters();
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
    let _ = ctx;
    if acks == -1 && sync_any {
        return Reply::Later(Box::pin(async move {
            for (_, parts) in results.iter_mut() {
                for (_, outcome, p) in parts.iter_mut() {
                    if let Some(p) = p {
                        if let Err(e) = p.sync_to(outcome.end).await {
                            tracing::error!(error = %e, "fsync failed");
                            *outcome = Outcome::error(code::KAFKA_STORAGE_ERROR, e.to_string());
                        }
                    }
                }
            }
            ResponseKind::Produce(response(results))
        }));
    }
    Reply::Now(ResponseKind::Produce(response(results)))
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
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::config::{BrokerConfig, LogConfig};
    use crate::broker::log::batch::tests::{make_batch, make_idempotent_batch};

    const MAX: usize = 1 << 20;

    fn partition(dir: &std::path::Path, overrides: &[(&str, &str)]) -> Partition {
        let o = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let cfg = LogConfig::resolve(&BrokerConfig::default(), &o);
        Partition::new(
            "t".into(),
            0,
            PartitionLog::open(crate::broker::storage::OsDisk::shared(), dir, cfg, false, 0).unwrap(),
        )
    }

    #[test]
    fn duplicate_batch_is_acked_with_its_original_offset_not_appended() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        assert_eq!(append(&p, &make_batch(2, 1_000, 10), MAX, 1_000).base_offset, 0);
        let b = make_idempotent_batch(5, 1_000, 7, 0, 0);
        let first = append(&p, &b, MAX, 1_000);
        assert_eq!(
            (first.error, first.base_offset, first.end, first.appended),
            (code::NONE, 2, 7, true)
        );
        let again = append(&p, &b, MAX, 2_000);
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
        let b = make_idempotent_batch(1, 1_000, 7, 0, 0);
        assert_eq!(append(&p, &b, MAX, 5_000).log_append_time, 5_000);
        let again = append(&p, &b, MAX, 9_000);
        assert_eq!((again.base_offset, again.log_append_time), (0, 5_000));
    }

    #[test]
    fn sequence_gaps_and_stale_epochs_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), &[]);
        assert!(append(&p, &make_idempotent_batch(5, 1_000, 7, 0, 0), MAX, 1_000).appended);

        let gap = append(&p, &make_idempotent_batch(1, 1_000, 7, 0, 6), MAX, 1_000);
        assert_eq!(gap.error, producers::OUT_OF_ORDER_SEQUENCE_NUMBER);
        assert!(
            gap.message.as_deref().unwrap().contains("expected 5"),
            "{:?}",
            gap.message
        );

        // The producer bumps its epoch: sequences restart at 0.
        assert!(append(&p, &make_idempotent_batch(1, 1_000, 7, 1, 0), MAX, 1_000).appended);
        let stale = append(&p, &make_idempotent_batch(1, 1_000, 7, 0, 5), MAX, 1_000);
        assert_eq!(stale.error, producers::INVALID_PRODUCER_EPOCH);
        assert!(
            stale.message.as_deref().unwrap().contains("current epoch 1"),
            "{:?}",
            stale.message
        );
        let not_zero = append(&p, &make_idempotent_batch(1, 1_000, 7, 2, 3), MAX, 1_000);
        assert_eq!(not_zero.error, producers::OUT_OF_ORDER_SEQUENCE_NUMBER);
        assert!(
            not_zero.message.as_deref().unwrap().contains("must start at 0"),
            "{:?}",
            not_zero.message
        );
        assert_eq!(p.log().log_end_offset(), 6, "refused batches are not appended");
    }
}
