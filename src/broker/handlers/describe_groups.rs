//! DescribeGroups: state, protocol and members, with member metadata and assignment bytes
//! exactly as the clients sent them. An unknown group is "Dead" (Kafka's answer before v6).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::{AUTHORIZED_OPERATIONS_OMITTED, GROUP_OPERATIONS};
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: DescribeGroupsRequest) -> Reply {
    let mut resp = DescribeGroupsResponse::default();
    for id in req.groups {
        let mut g = DescribedGroup::default();
        g.authorized_operations = if req.include_authorized_operations && ctx.api_version >= 3 {
            GROUP_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        };
        match broker.groups.describe(&id.0) {
            None => g.group_state = StrBytes::from_static_str("Dead"),
            Some(d) => {
                g.group_state = StrBytes::from_static_str(d.state.as_str());
                g.protocol_type = StrBytes::from_string(d.protocol_type);
                g.protocol_data = StrBytes::from_string(d.protocol);
                g.members = d
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut out = DescribedGroupMember::default();
                        out.member_id = StrBytes::from_string(m.member_id);
                        out.group_instance_id = m.group_instance_id.map(StrBytes::from_string);
                        out.client_id = StrBytes::from_string(m.client_id);
                        out.client_host = StrBytes::from_string(m.client_host);
                        out.member_metadata = Bytes::from(m.metadata);
                        out.member_assignment = Bytes::from(m.assignment);
                        out
                    })
                    .collect();
            }
        }
        g.group_id = id;
        resp.groups.push(g);
    }
    Reply::Now(ResponseKind::DescribeGroups(resp))
}
