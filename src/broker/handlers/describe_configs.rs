//! DescribeConfigs: every config of a topic (resource type 2) or of this broker (type 4), with
//! its value, where the value comes from (override, broker file, default), whether it can be
//! changed, its type (v3+) and, when asked, the lower-precedence synonyms.
//!
//! As in Kafka, a broker resource named "" means the cluster-wide *dynamic* defaults; this
//! broker has no dynamic broker configs, so that list is empty. Its own configs are described
//! under its node id.

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::catalog::validate_topic_name;
use crate::broker::config::{effective_broker_configs, effective_topic_configs, ConfigView};
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// Kafka's `ConfigResource.Type` ids.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// What a broker resource name designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BrokerTarget {
    /// "": the cluster-wide dynamic defaults.
    ClusterDefaults,
    ThisNode,
}

/// Reads a broker resource name as Kafka's `ConfigHelper` does; other ids are INVALID_REQUEST.
fn broker_target(broker: &Broker, name: &str) -> Result<BrokerTarget, (i16, String)> {
    if name.is_empty() {
        return Ok(BrokerTarget::ClusterDefaults);
    }
    let id: i32 = name.parse().map_err(|_| {
        (
            code::INVALID_REQUEST,
            format!("Broker id must be an integer, but it is: {name}"),
        )
    })?;
    if id != broker.node_id {
        return Err((
            code::INVALID_REQUEST,
            format!(
                "Unexpected broker id, expected {} or empty string, but received {name}",
                broker.node_id
            ),
        ));
    }
    Ok(BrokerTarget::ThisNode)
}

fn entry(view: ConfigView, include_synonyms: bool) -> DescribeConfigsResourceResult {
    let mut out = DescribeConfigsResourceResult::default();
    out.name = StrBytes::from_static_str(view.name);
    out.value = Some(StrBytes::from_string(view.value));
    out.read_only = view.read_only;
    out.config_source = view.source as i8;
    out.is_sensitive = false;
    out.config_type = view.kind as i8;
    // This broker carries no documentation; Kafka sends null unless it was asked for.
    out.documentation = None;
    if include_synonyms {
        out.synonyms = view
            .synonyms
            .into_iter()
            .map(|(name, value, source)| {
                let mut s = DescribeConfigsSynonym::default();
                s.name = StrBytes::from_static_str(name);
                s.value = Some(StrBytes::from_string(value));
                s.source = source as i8;
                s
            })
            .collect();
    }
    out
}

/// The configs of one resource, or the error code and message for it.
fn describe(broker: &Broker, res: &DescribeConfigsResource) -> Result<Vec<ConfigView>, (i16, Option<String>)> {
    let name = res.resource_name.as_str();
    let views = match res.resource_type {
        RESOURCE_TOPIC => {
            validate_topic_name(name).map_err(|e| (code::INVALID_TOPIC_EXCEPTION, Some(e)))?;
            let topic = broker
                .catalog
                .get(name)
                .ok_or((code::UNKNOWN_TOPIC_OR_PARTITION, None))?;
            effective_topic_configs(&broker.config, &topic.configs)
        }
        RESOURCE_BROKER => match broker_target(broker, name).map_err(|(c, m)| (c, Some(m)))? {
            BrokerTarget::ClusterDefaults => Vec::new(),
            BrokerTarget::ThisNode => effective_broker_configs(&broker.config),
        },
        other => {
            return Err((
                code::INVALID_REQUEST,
                Some(format!("Unsupported resource type: {other}")),
            ))
        }
    };
    // Kafka treats a null or empty key list alike: every config.
    Ok(match &res.configuration_keys {
        Some(keys) if !keys.is_empty() => views
            .into_iter()
            .filter(|v| keys.iter().any(|k| k.as_str() == v.name))
            .collect(),
        _ => views,
    })
}

pub async fn handle(broker: Arc<Broker>, _ctx: RequestContext, req: DescribeConfigsRequest) -> Reply {
    let mut resp = DescribeConfigsResponse::default();
    for res in &req.resources {
        let mut r = DescribeConfigsResult::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        match describe(&broker, res) {
            Ok(views) => r.configs = views.into_iter().map(|v| entry(v, req.include_synonyms)).collect(),
            Err((c, msg)) => {
                r.error_code = c;
                r.error_message = msg.map(StrBytes::from_string);
            }
        }
        resp.results.push(r);
    }
    Reply::Now(ResponseKind::DescribeConfigs(resp))
}
