//! DeleteGroups: only groups without members (NON_EMPTY_GROUP otherwise); their committed
//! offsets go with them.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: DeleteGroupsRequest) -> Reply {
    let names: Vec<String> = req.groups_names.iter().map(|g| g.0.to_string()).collect();
    let mut resp = DeleteGroupsResponse::default();
    for (group, code) in broker.groups.delete_groups(&names).await {
        if code == 0 {
            tracing::info!(group = %group, client = %ctx.client_id, "deleted group");
        }
        let mut r = DeletableGroupResult::default();
        r.group_id = GroupId(StrBytes::from_string(group));
        r.error_code = code;
        resp.results.push(r);
    }
    Reply::Now(ResponseKind::DeleteGroups(resp))
}
