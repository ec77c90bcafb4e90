//! OffsetForLeaderEpoch: this node has only ever had leader epoch 0, so the end offset of
//! epoch 0 is the log end; any later epoch is unknown (Kafka answers -1/-1).

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::log::LEADER_EPOCH;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, _ctx: RequestContext, req: OffsetForLeaderEpochRequest) -> Reply {
    let mut resp = OffsetForLeaderEpochResponse::default();
    for t in req.topics {
        let mut tr = OffsetForLeaderTopicResult::default();
        for p in &t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            e.leader_epoch = -1;
            e.end_offset = -1;
            match broker.catalog.partition(&t.topic.0, p.partition) {
                None => e.error_code = code::UNKNOWN_TOPIC_OR_PARTITION,
                Some(_) if p.current_leader_epoch > LEADER_EPOCH => e.error_code = code::UNKNOWN_LEADER_EPOCH,
                Some(part) => {
                    if p.leader_epoch == LEADER_EPOCH {
                        e.leader_epoch = LEADER_EPOCH;
                        e.end_offset = part.log().log_end_offset();
                    }
                }
            }
            tr.partitions.push(e);
        }
        tr.topic = t.topic;
        resp.topics.push(tr);
    }
    Reply::Now(ResponseKind::OffsetForLeaderEpoch(resp))
}
