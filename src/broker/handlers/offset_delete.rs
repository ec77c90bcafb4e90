//! OffsetDelete: removes a group's committed offsets for partitions of topics the group is not
//! subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, _ctx: RequestContext, req: OffsetDeleteRequest) -> Reply {
    let group = req.group_id.0.to_string();
    let mut resp = OffsetDeleteResponse::default();
    let policy = match broker.groups.offset_delete_policy(&group) {
        Ok(p) => p,
        Err(e) => {
            resp.error_code = e;
            return Reply::Now(ResponseKind::OffsetDelete(resp));
        }
    };
    for t in req.topics {
        let mut tr = OffsetDeleteResponseTopic::default();
        let topic_error = policy.topic_error(&t.name.0);
        let known = broker.catalog.get(&t.name.0);
        let mut doomed = Vec::new();
        for p in &t.partitions {
            let mut pr = OffsetDeleteResponsePartition::default();
            pr.partition_index = p.partition_index;
            pr.error_code = if known
                .as_ref()
                .is_none_or(|k| p.partition_index < 0 || p.partition_index as usize >= k.partitions.len())
            {
                code::UNKNOWN_TOPIC_OR_PARTITION
            } else {
                topic_error
            };
            if pr.error_code == 0 {
                doomed.push(p.partition_index);
            }
            tr.partitions.push(pr);
        }
        if !doomed.is_empty() {
            if let Err(e) = broker.groups.delete_offsets(&group, &t.name.0, &doomed).await {
                tracing::error!(group = %group, error = %e, "offset delete failed");
                for pr in tr.partitions.iter_mut().filter(|p| p.error_code == 0) {
                    pr.error_code = code::KAFKA_STORAGE_ERROR;
                }
            }
        }
        tr.name = t.name;
        resp.topics.push(tr);
    }
    Reply::Now(ResponseKind::OffsetDelete(resp))
}
