//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or the first record with a
//! timestamp at or after a given time.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, ResponseKind};
use kafka_protocol::records::RecordBatchDecoder;

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::error::LogError;
use crate::broker::log::{PartitionLog, ReadPlan, LEADER_EPOCH};
use crate::broker::partition::Partition;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// The first record with timestamp >= `ts`: (offset, its timestamp).
fn offset_for_time(plan: &ReadPlan, log_start: i64, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
    let Some(mut pos) = plan.reader.seek_offset(plan.offset, plan.start_pos)? else {
        return Ok(None);
    };
    while let Some((h, bytes)) = plan.reader.read_batch_at(pos)? {
        pos += h.total_len() as u64;
        if h.max_timestamp < ts || h.last_offset() < log_start {
            continue;
        }
        // LogAppendTime batches give every record the batch's time.
        if h.attributes & 0x08 != 0 {
            return Ok(Some((h.base_offset.max(log_start), h.max_timestamp)));
        }
        let mut buf = Bytes::from(bytes);
        match RecordBatchDecoder::decode(&mut buf) {
            Ok(set) => {
                if let Some(r) = set.records.iter().find(|r| r.timestamp >= ts && r.offset >= log_start) {
                    return Ok(Some((r.offset, r.timestamp)));
                }
            }
            // Undecodable records (unknown codec): the batch is the best answer there is.
            Err(_) => return Ok(Some((h.base_offset.max(log_start), h.max_timestamp))),
        }
    }
    Ok(None)
}

fn lookup(part: &Partition, timestamp: i64) -> Result<(i64, i64), LogError> {
    let plan = {
        let log: std::sync::MutexGuard<'_, PartitionLog> = part.log();
        match timestamp {
            LATEST => return Ok((log.log_end_offset(), -1)),
            EARLIEST => return Ok((log.log_start_offset(), -1)),
            MAX_TIMESTAMP => return Ok(log.max_timestamp().unwrap_or((-1, -1))),
            _ => match log.plan_timestamp(timestamp) {
                Some(plan) => (plan, log.log_start_offset()),
                None => return Ok((-1, -1)),
            },
        }
    };
    Ok(offset_for_time(&plan.0, plan.1, timestamp)?.unwrap_or((-1, -1)))
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: ListOffsetsRequest) -> Reply {
    let mut resp = ListOffsetsResponse::default();
    for t in req.topics {
        let topic = broker.catalog.get(&t.name.0);
        let mut tr = ListOffsetsTopicResponse::default();
        for p in &t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            pr.leader_epoch = -1;
            match topic.as_ref().and_then(|t| {
                usize::try_from(p.partition_index)
                    .ok()
                    .and_then(|i| t.partitions.get(i))
            }) {
                None => pr.error_code = code::UNKNOWN_TOPIC_OR_PARTITION,
                Some(_) if p.current_leader_epoch > LEADER_EPOCH => pr.error_code = code::UNKNOWN_LEADER_EPOCH,
                Some(part) if p.timestamp < MAX_TIMESTAMP => {
                    let _ = part;
                    pr.error_code = code::INVALID_REQUEST;
                }
                Some(part) => match lookup(part, p.timestamp) {
                    Ok((offset, ts)) => {
                        pr.offset = offset;
                        pr.timestamp = ts;
                        // Leader epochs exist in the response from v4 on; the codec refuses them
                        // below that.
                        if offset >= 0 && ctx.api_version >= 4 {
                            pr.leader_epoch = LEADER_EPOCH;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "offset lookup failed");
                        pr.error_code = code::KAFKA_STORAGE_ERROR;
                    }
                },
            }
            tr.partitions.push(pr);
        }
        tr.name = t.name;
        resp.topics.push(tr);
    }
    Reply::Now(ResponseKind::ListOffsets(resp))
}
