//! LeaveGroup: v0-2 name one member; v3+ a batch (static members by instance id).

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::group::coordinator::{LeaveMember, LeaveRequest};
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: LeaveGroupRequest) -> Reply {
    let v = ctx.api_version;
    let members = if v >= 3 {
        req.members
            .iter()
            .map(|m| LeaveMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
            })
            .collect()
    } else {
        vec![LeaveMember {
            member_id: req.member_id.to_string(),
            group_instance_id: None,
        }]
    };
    let out = broker.groups.leave(&LeaveRequest {
        group_id: req.group_id.0.to_string(),
        members,
    });
    let mut resp = LeaveGroupResponse::default();
    if v >= 3 {
        resp.error_code = out.error_code;
        resp.members = out
            .members
            .into_iter()
            .map(|m| {
                let mut r = MemberResponse::default();
                r.member_id = StrBytes::from_string(m.member_id);
                r.group_instance_id = m.group_instance_id.map(StrBytes::from_string);
                r.error_code = m.error_code;
                r
            })
            .collect();
    } else {
        // One member: its error is the answer.
        resp.error_code = if out.error_code != 0 {
            out.error_code
        } else {
            out.members.first().map(|m| m.error_code).unwrap_or(0)
        };
    }
    Reply::Now(ResponseKind::LeaveGroup(resp))
}
