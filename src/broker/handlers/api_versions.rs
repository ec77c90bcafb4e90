//! ApiVersions: the advertised ranges, derived from the handler table.

use std::sync::Arc;

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, ResponseKind};

use crate::broker::dispatch::{api_table, Reply};
use crate::broker::server::RequestContext;
use crate::broker::Broker;

pub fn response(error_code: i16) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = error_code;
    r.api_keys = api_table()
        .iter()
        .map(|s| {
            let mut v = ApiVersion::default();
            v.api_key = s.key as i16;
            v.min_version = s.min;
            v.max_version = s.max;
            v
        })
        .collect();
    r.finalized_features_epoch = -1;
    r
}

pub async fn handle(_broker: Arc<Broker>, _ctx: RequestContext, _req: ApiVersionsRequest) -> Reply {
    Reply::Now(ResponseKind::ApiVersions(response(0)))
}
