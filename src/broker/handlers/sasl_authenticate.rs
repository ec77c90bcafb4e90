//! SaslAuthenticate outside the SASL exchange (see `sasl_handshake`): ILLEGAL_SASL_STATE, as
//! Kafka answers it when re-authentication is off.

use std::sync::Arc;

use kafka_protocol::messages::{ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub async fn handle(_broker: Arc<Broker>, _ctx: RequestContext, _req: SaslAuthenticateRequest) -> Reply {
    let mut resp = SaslAuthenticateResponse::default();
    resp.error_code = code::ILLEGAL_SASL_STATE;
    resp.error_message = Some(StrBytes::from_static_str(
        "SaslAuthenticate outside a SASL exchange: this connection is not authenticating",
    ));
    Reply::Now(ResponseKind::SaslAuthenticate(resp))
}
