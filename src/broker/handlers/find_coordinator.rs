//! FindCoordinator: this node coordinates every group. Transaction coordinators do not exist
//! here (no transactions), so key type 1 is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED
//! and a message saying why: librdkafka, the Java client, kafkajs and kafka-python treat that
//! code as fatal and show the message at once, where COORDINATOR_NOT_AVAILABLE (retriable)
//! kept a transactional producer retrying for seconds or forever with nothing in any log.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

use super::code;

/// What a transactional client is told (and shows its user).
pub const NO_TRANSACTIONS: &str =
    "transactions are not supported by this broker (strom); use an idempotent producer without transactional.id";

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: FindCoordinatorRequest) -> Reply {
    let mut resp = FindCoordinatorResponse::default();
    if req.key_type != 0 {
        let keys: Vec<String> = if ctx.api_version >= 4 {
            req.coordinator_keys.iter().map(|k| k.to_string()).collect()
        } else {
            vec![req.key.to_string()]
        };
        tracing::warn!(
            client = %ctx.client_id, host = %ctx.client_host, key_type = req.key_type, keys = ?keys,
            "transaction coordinator requested and refused: transactions are not supported"
        );
    }
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
            c.error_code = code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
            c.error_message = Some(StrBytes::from_static_str(NO_TRANSACTIONS));
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
