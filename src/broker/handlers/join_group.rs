//! JoinGroup: parked in the coordinator until the rebalance completes; answered in order by the
//! connection's writer.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::group::coordinator::{JoinRequest, Response};
use crate::broker::server::RequestContext;
use crate::broker::Broker;

const COORDINATOR_NOT_AVAILABLE: i16 = 15;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: JoinGroupRequest) -> Reply {
    let v = ctx.api_version;
    let instance = req.group_instance_id.as_ref().map(|s| s.to_string());
    let join = JoinRequest {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        require_known_member_id: v >= 4 && instance.is_none(),
        group_instance_id: instance,
        supports_skip_assignment: v >= 9,
        client_id: ctx.client_id.clone(),
        client_host: format!("/{}", ctx.client_host),
        session_timeout_ms: req.session_timeout_ms,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if v == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.to_vec()))
            .collect(),
    };
    let rx = broker.groups.join(join);
    Reply::Later(Box::pin(async move {
        let mut resp = JoinGroupResponse::default();
        match rx.await {
            Ok(Response::Join(j)) => {
                resp.error_code = j.error_code;
                resp.generation_id = j.generation_id;
                resp.protocol_type = j.protocol_type.map(StrBytes::from_string);
                // Before v7 the protocol name is a non-nullable string.
                resp.protocol_name = match j.protocol_name {
                    Some(p) => Some(StrBytes::from_string(p)),
                    None if v < 7 => Some(StrBytes::default()),
                    None => None,
                };
                resp.leader = StrBytes::from_string(j.leader);
                resp.skip_assignment = j.skip_assignment;
                resp.member_id = StrBytes::from_string(j.member_id);
                resp.members = j
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut out = JoinGroupResponseMember::default();
                        out.member_id = StrBytes::from_string(m.member_id);
                        out.group_instance_id = m.group_instance_id.map(StrBytes::from_string);
                        out.metadata = Bytes::from(m.metadata);
                        out
                    })
                    .collect();
            }
            _ => {
                resp.error_code = COORDINATOR_NOT_AVAILABLE;
                resp.generation_id = -1;
                resp.protocol_name = (v < 7).then(StrBytes::default);
            }
        }
        ResponseKind::JoinGroup(resp)
    }))
}
