//! SyncGroup: the leader's assignments are handed to every member; followers wait for them.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ResponseKind, SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::group::coordinator::{Response, SyncRequest};
use crate::broker::server::RequestContext;
use crate::broker::Broker;

const COORDINATOR_NOT_AVAILABLE: i16 = 15;

pub async fn handle(broker: Arc<Broker>, _ctx: RequestContext, req: SyncGroupRequest) -> Reply {
    let sync = SyncRequest {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        protocol_type: req.protocol_type.as_ref().map(|s| s.to_string()),
        protocol_name: req.protocol_name.as_ref().map(|s| s.to_string()),
        assignments: req
            .assignments
            .iter()
            .map(|a| (a.member_id.to_string(), a.assignment.to_vec()))
            .collect(),
    };
    let rx = broker.groups.sync(sync);
    Reply::Later(Box::pin(async move {
        let mut resp = SyncGroupResponse::default();
        match rx.await {
            Ok(Response::Sync(s)) => {
                resp.error_code = s.error_code;
                resp.protocol_type = s.protocol_type.map(StrBytes::from_string);
                resp.protocol_name = s.protocol_name.map(StrBytes::from_string);
                resp.assignment = Bytes::from(s.assignment);
            }
            _ => resp.error_code = COORDINATOR_NOT_AVAILABLE,
        }
        ResponseKind::SyncGroup(resp)
    }))
}
