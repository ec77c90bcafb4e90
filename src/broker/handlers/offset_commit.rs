//! OffsetCommit: validated against the group's generation and members, then written to the
//! offsets store and fsynced before the answer.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::group::offsets::{CommittedOffset, PartitionOffset};
use crate::broker::server::RequestContext;
use crate::broker::{now_ms, Broker};

const OFFSET_METADATA_TOO_LARGE: i16 = 12;
/// Kafka's `offset.metadata.max.bytes` default.
const MAX_METADATA: usize = 4096;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: OffsetCommitRequest) -> Reply {
    let v = ctx.api_version;
    let group = req.group_id.0.to_string();
    let verdict = broker.groups.validate_commit(
        &group,
        &req.member_id,
        req.generation_id_or_member_epoch,
        req.group_instance_id.as_deref(),
    );
    let now = now_ms().max(0) as u64;
    let expire = (v <= 4 && req.retention_time_ms >= 0).then(|| now + req.retention_time_ms as u64);
    let mut resp = OffsetCommitResponse::default();
    let mut accepted = Vec::new();
    // (topic index, partition index) of accepted entries, to mark failures after the write.
    let mut accepted_at = Vec::new();
    for (ti, t) in req.topics.iter().enumerate() {
        let topic = broker.catalog.get(&t.name.0);
        let mut tr = OffsetCommitResponseTopic::default();
        tr.name = t.name.clone();
        for (pi, p) in t.partitions.iter().enumerate() {
            let mut pr = OffsetCommitResponsePartition::default();
            pr.partition_index = p.partition_index;
            let metadata = p.committed_metadata.as_ref().map(|m| m.to_string()).unwrap_or_default();
            pr.error_code = match &verdict {
                Err(code) => *code,
                Ok(())
                    if topic
                        .as_ref()
                        .is_none_or(|t| p.partition_index < 0 || p.partition_index as usize >= t.partitions.len()) =>
                {
                    code::UNKNOWN_TOPIC_OR_PARTITION
                }
                Ok(()) if metadata.len() > MAX_METADATA => OFFSET_METADATA_TOO_LARGE,
                Ok(()) => {
                    accepted.push(PartitionOffset {
                        topic: t.name.0.to_string(),
                        partition: p.partition_index,
                        committed: CommittedOffset {
                            offset: p.committed_offset,
                            leader_epoch: if v >= 6 { p.committed_leader_epoch } else { -1 },
                            metadata,
                            commit_timestamp_ms: now,
                            expire_timestamp_ms: expire,
                        },
                    });
                    accepted_at.push((ti, pi));
                    code::NONE
                }
            };
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    if accepted.is_empty() {
        return Reply::Now(ResponseKind::OffsetCommit(resp));
    }
    Reply::Later(Box::pin(async move {
        if let Err(e) = broker.groups.commit(group.clone(), accepted).await {
            tracing::error!(group = %group, error = %e, "offset commit write failed");
            for (ti, pi) in accepted_at {
                resp.topics[ti].partitions[pi].error_code = code::KAFKA_STORAGE_ERROR;
            }
        }
        ResponseKind::OffsetCommit(resp)
    }))
}
