//! FindCoordinator: this node coordinates every group. Transaction coordinators do not exist
//! here (no transactions), so key type 1 gets COORDINATOR_NOT_AVAILABLE.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

const COORDINATOR_NOT_AVAILABLE: i16 = 15;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: FindCoordinatorRequest) -> Reply {
    let mut resp = FindCoordinatorResponse::default();
    let answer = |key: StrBytes| -> Coordinator {
        let mut c = Coordinator::default();
        c.key = key;
        if req.key_type == 0 {
            c.node_id = BrokerId(broker.node_id);
            c.host = StrBytes::from_string(broker.endpoint(ctx.listener).host.clone());
            c.port = broker.endpoint(ctx.listener).port as i32;
        } else {
            c.node_id = BrokerId(-1);
            c.port = -1;
            c.error_code = COORDINATOR_NOT_AVAILABLE;
            c.error_message = Some(StrBytes::from_static_str(
                "transactions are not supported by this broker",
            ));
        }
        c
    };
    if ctx.api_version >= 4 {
        resp.coordinators = req.coordinator_keys.iter().map(|k| answer(k.clone())).collect();
    } else {
        let c = answer(req.key.clone());
        resp.error_code = c.error_code;
        resp.error_message = c.error_message;
        resp.node_id = c.node_id;
        resp.host = c.host;
        resp.port = c.port;
    }
    Reply::Now(ResponseKind::FindCoordinator(resp))
}
