//! DeleteRecords: raises a partition's log start offset so that everything below it is gone for
//! readers (-1 means up to the high watermark). Whole segments below the new start are removed
//! later by the retention cleaner. The answer's low watermark is the new log start offset.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::log::ReadError;
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::Broker;

/// Kafka's `DeleteRecordsResponse.INVALID_LOW_WATERMARK`, sent with an error.
const INVALID_LOW_WATERMARK: i64 = -1;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: DeleteRecordsRequest) -> Reply {
    let b = Arc::clone(&broker);
    // Moving the start offset persists it with an fsync: keep that off the async workers.
    let topics = storage::blocking(&broker.disk, move || apply(&b, &ctx, req)).await;
    let mut resp = DeleteRecordsResponse::default();
    resp.topics = topics;
    Reply::Now(ResponseKind::DeleteRecords(resp))
}

fn apply(broker: &Broker, ctx: &RequestContext, req: DeleteRecordsRequest) -> Vec<DeleteRecordsTopicResult> {
    let mut out = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut tr = DeleteRecordsTopicResult::default();
        tr.name = t.name;
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            pr.low_watermark = INVALID_LOW_WATERMARK;
            match broker.catalog.partition(&name, p.partition_index) {
                None => pr.error_code = code::UNKNOWN_TOPIC_OR_PARTITION,
                Some(part) => {
                    let before = part.log().log_start_offset();
                    match part.delete_records(p.offset) {
                        Ok(start) => {
                            pr.low_watermark = start;
                            if start != before {
                                tracing::info!(
                                    topic = %name, partition = p.partition_index, from = before, to = start,
                                    client = %ctx.client_id, "deleted records"
                                );
                            }
                        }
                        Err(ReadError::OutOfRange { .. }) => pr.error_code = code::OFFSET_OUT_OF_RANGE,
                        Err(ReadError::Offline(_)) => pr.error_code = code::KAFKA_STORAGE_ERROR,
                    }
                }
            }
            tr.partitions.push(pr);
        }
        out.push(tr);
    }
    out
}
