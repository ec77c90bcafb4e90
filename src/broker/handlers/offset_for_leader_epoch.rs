//! OffsetForLeaderEpoch: where a leader epoch ends in this log, per Kafka's leader-epoch cache
//! (`LeaderEpochFileCache.endOffsetFor`): the current epoch ends at the log end, an earlier one
//! where the next higher epoch starts; an epoch later than any known is undefined (-1/-1).
//! Consumers ask it after a leader-epoch change with the epoch of the last record they read: an
//! end offset below their position tells them the log was truncated (this broker bumps its
//! epoch after every unclean stop).

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ResponseKind};

use super::{check_leader_epoch, code};
use crate::broker::dispatch::Reply;
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
                Some(part) => {
                    let log = part.log();
                    if let Err(c) = check_leader_epoch(p.current_leader_epoch, log.leader_epoch()) {
                        e.error_code = c;
                    } else if !log.is_online() {
                        e.error_code = code::KAFKA_STORAGE_ERROR;
                    } else {
                        let (epoch, end) = log.epochs().end_offset_for(p.leader_epoch, log.log_end_offset());
                        e.leader_epoch = epoch;
                        e.end_offset = end;
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
