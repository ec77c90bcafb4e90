//! DescribeCluster: this node is the whole cluster, its only broker and its controller.
//! Only broker endpoints exist (endpoint type 1); asking for controllers is answered as Kafka's
//! brokers answer it.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::{code, AUTHORIZED_OPERATIONS_OMITTED};
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// Kafka's `EndpointType` ids.
const ENDPOINT_BROKER: i8 = 1;
const ENDPOINT_CONTROLLER: i8 = 2;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: DescribeClusterRequest) -> Reply {
    let mut resp = DescribeClusterResponse::default();
    resp.endpoint_type = ENDPOINT_BROKER;
    resp.cluster_authorized_operations = if req.include_cluster_authorized_operations {
        super::CLUSTER_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    // v0 has no endpoint type; Kafka answers a wrong one with INVALID_REQUEST there.
    let v0 = ctx.api_version == 0;
    match req.endpoint_type {
        ENDPOINT_BROKER => {
            let mut b = DescribeClusterBroker::default();
            b.broker_id = BrokerId(broker.node_id);
            b.host = StrBytes::from_string(broker.endpoint(ctx.listener).host.clone());
            b.port = broker.endpoint(ctx.listener).port as i32;
            b.rack = None;
            resp.brokers = vec![b];
            resp.cluster_id = StrBytes::from_string(broker.cluster_id.clone());
            resp.controller_id = BrokerId(broker.node_id);
        }
        ENDPOINT_CONTROLLER => {
            resp.error_code = if v0 {
                code::INVALID_REQUEST
            } else {
                code::MISMATCHED_ENDPOINT_TYPE
            };
            resp.error_message = Some(StrBytes::from_static_str(
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
            ));
        }
        other => {
            resp.error_code = if v0 {
                code::INVALID_REQUEST
            } else {
                code::UNSUPPORTED_ENDPOINT_TYPE
            };
            resp.error_message = Some(StrBytes::from_string(format!("Unsupported endpoint type {other}")));
        }
    }
    Reply::Now(ResponseKind::DescribeCluster(resp))
}
