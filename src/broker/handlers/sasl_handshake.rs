//! SaslHandshake outside the SASL exchange: on a listener without SASL, or again after a
//! client authenticated. Kafka answers ILLEGAL_SASL_STATE there; the exchange itself runs in
//! `security::sasl` before any request reaches the handlers.

use std::sync::Arc;

use kafka_protocol::messages::{ResponseKind, SaslHandshakeRequest, SaslHandshakeResponse};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(_broker: Arc<Broker>, _ctx: RequestContext, _req: SaslHandshakeRequest) -> Reply {
    let mut resp = SaslHandshakeResponse::default();
    resp.error_code = code::ILLEGAL_SASL_STATE;
    Reply::Now(ResponseKind::SaslHandshake(resp))
}
