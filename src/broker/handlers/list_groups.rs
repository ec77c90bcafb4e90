//! ListGroups: every group with its protocol type, and (v4+) state, optionally filtered by
//! state; (v5+) every group here is a "classic" group.

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, _ctx: RequestContext, req: ListGroupsRequest) -> Reply {
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let classic_wanted =
        req.types_filter.is_empty() || req.types_filter.iter().any(|t| t.eq_ignore_ascii_case("classic"));
    let mut resp = ListGroupsResponse::default();
    if classic_wanted {
        resp.groups = broker
            .groups
            .list(&states)
            .into_iter()
            .map(|g| {
                let mut out = ListedGroup::default();
                out.group_id = GroupId(StrBytes::from_string(g.group_id));
                out.protocol_type = StrBytes::from_string(g.protocol_type);
                out.group_state = StrBytes::from_static_str(g.state.as_str());
                out.group_type = StrBytes::from_static_str("classic");
                out
            })
            .collect();
    }
    Reply::Now(ResponseKind::ListGroups(resp))
}
