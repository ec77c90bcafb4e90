//! Heartbeat: keeps a member's session alive and tells it when a rebalance started.

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse, ResponseKind};

use crate::broker::dispatch::Reply;
use crate::broker::group::coordinator;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, _ctx: RequestContext, req: HeartbeatRequest) -> Reply {
    let hb = coordinator::HeartbeatRequest {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
    };
    let mut resp = HeartbeatResponse::default();
    resp.error_code = broker.groups.heartbeat(&hb);
    Reply::Now(ResponseKind::Heartbeat(resp))
}
