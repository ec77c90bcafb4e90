//! Produce: validate each partition's single v2 batch (CRC, size, flags), append it in
//! request order, and answer per `acks`: 0 no response, 1 once written to the OS, -1 (all)
//! once fsynced.

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::error::ConnectionError;
use crate::broker::log::batch::{self, BatchHeader, HEADER_LEN};
use crate::broker::partition::Partition;
use crate::broker::server::RequestContext;
use crate::broker::{now_ms, Broker};

struct Outcome {
    error: i16,
    message: Option<String>,
    base_offset: i64,
    log_append_time: i64,
    log_start: i64,
}

impl Outcome {
    fn error(error: i16, message: impl Into<String>) -> Self {
        Outcome { error, message: Some(message.into()), base_offset: -1, log_append_time: -1, log_start: -1 }
    }
}

/// Validates the records field of one partition: exactly one v2 batch with a good CRC.
fn validate(records: &[u8], max_message_bytes: usize) -> Result<BatchHeader, (i16, String)> {
    if records.len() < HEADER_LEN {
        return Err((code::CORRUPT_MESSAGE, format!("{} bytes of records hold no complete batch header", records.len())));
    }
    let h = BatchHeader::parse(records).map_err(|e| (code::INVALID_RECORD, e))?;
    if h.total_len() > records.len() {
        return Err((code::CORRUPT_MESSAGE, format!("batch says {} bytes, only {} sent", h.total_len(), records.len())));
    }
    if h.total_len() < records.len() {
        return Err((code::INVALID_RECORD, "produce v3+ must carry exactly one record batch per partition".into()));
    }
    if records.len() > max_message_bytes {
        return Err((
            code::MESSAGE_TOO_LARGE,
            format!("batch of {} bytes exceeds max.message.bytes {max_message_bytes}", records.len()),
        ));
    }
    let h = batch::validate(records).map_err(|e| (code::CORRUPT_MESSAGE, e))?;
    if h.is_control() {
        return Err((code::INVALID_RECORD, "clients may not produce control batches".into()));
    }
    if h.is_transactional() {
        return Err((code::INVALID_TXN_STATE, "transactions are not supported by this broker".into()));
    }
    if h.records_count != h.last_offset_delta + 1 && h.records_count > 0 {
        return Err((
            code::INVALID_RECORD,
            format!("record count {} does not match last offset delta {}", h.records_count, h.last_offset_delta),
        ));
    }
    Ok(h)
}

fn append(partition: &Partition, records: &[u8], max_message_bytes: usize, now: i64) -> Outcome {
    let header = match validate(records, max_message_bytes) {
        Ok(h) => h,
        Err((code, msg)) => return Outcome::error(code, msg),
    };
    let mut owned = records.to_vec();
    let mut log = partition.log();
    match log.append(&mut owned, &header, now) {
        Ok(a) => Outcome {
            error: code::NONE,
            message: None,
            base_offset: a.base_offset,
            log_append_time: a.log_append_time,
            log_start: log.log_start_offset(),
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
    let mut results: Vec<(kafka_protocol::messages::TopicName, Vec<(i32, Outcome, Option<Arc<Partition>>)>)> = Vec::new();
    let mut appended_any = false;
    for td in req.topic_data {
        let topic = broker.catalog.get(&td.name.0);
        let mut parts = Vec::new();
        for pd in td.partition_data {
            let outcome = if !matches!(acks, -1..=1) {
                (Outcome::error(code::INVALID_REQUIRED_ACKS, format!("acks={acks} is not 0, 1 or -1")), None)
            } else if req.transactional_id.is_some() {
                (Outcome::error(code::INVALID_TXN_STATE, "transactions are not supported by this broker"), None)
            } else {
                match topic.as_ref().and_then(|t| usize::try_from(pd.index).ok().and_then(|i| t.partitions.get(i))) {
                    None => (Outcome::error(code::UNKNOWN_TOPIC_OR_PARTITION, format!("{}-{} does not exist", td.name.0, pd.index)), None),
                    Some(p) => {
                        let max = topic.as_ref().map(|t| t.log_config.max_message_bytes).unwrap_or(0);
                        let o = append(p, pd.records.as_deref().unwrap_or(&[]), max, now);
                        let ok = o.error == code::NONE;
                        appended_any |= ok;
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
        let failed = results.iter().flat_map(|(_, ps)| ps).find(|(_, o, _)| o.error != code::NONE);
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
    if acks == -1 && appended_any {
        return Reply::Later(Box::pin(async move {
            for (_, parts) in results.iter_mut() {
                for (_, outcome, p) in parts.iter_mut() {
                    if let Some(p) = p {
                        if let Err(e) = p.sync_to(outcome.base_offset + 1).await {
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

fn response(results: Vec<(kafka_protocol::messages::TopicName, Vec<(i32, Outcome, Option<Arc<Partition>>)>)>) -> ProduceResponse {
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
