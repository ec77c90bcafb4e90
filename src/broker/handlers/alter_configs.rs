//! AlterConfigs (the legacy API): replaces the *whole* override set of a topic, as Kafka's does;
//! configs left out of the request go back to their broker or default values. Broker configs
//! come from a static file here, so broker resources are refused.
//!
//! Also holds what IncrementalAlterConfigs shares with it: the resource checks and the step that
//! validates, stores and logs a topic's new overrides.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::broker::catalog::validate_topic_name;
use crate::broker::config::validate_topic_configs;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// A Kafka error for one resource: code and message.
pub(super) type ResourceError = (i16, String);

/// Serialises read-modify-write of topic overrides across connections, so two concurrent
/// incremental changes to one topic cannot lose each other's keys.
pub(super) static CONFIG_CHANGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Kafka's refusal of a resource that appears twice in one request.
pub(super) fn duplicate_resource() -> ResourceError {
    (code::INVALID_REQUEST, "Each resource must appear at most once.".into())
}

/// Kafka's refusal of a null value where one is needed.
pub(super) fn null_values(names: &[&str]) -> ResourceError {
    (
        code::INVALID_REQUEST,
        format!("Null value not supported for : {}", names.join(", ")),
    )
}

/// Counts each (type, name) so duplicates can be refused.
pub(super) fn count_resources<'a>(keys: impl Iterator<Item = (i8, &'a str)>) -> HashMap<(i8, String), usize> {
    let mut seen = HashMap::new();
    for (t, n) in keys {
        *seen.entry((t, n.to_string())).or_insert(0) += 1;
    }
    seen
}

/// Every broker config is static (read from the config file at start).
pub(super) fn broker_read_only() -> ResourceError {
    (
        code::INVALID_REQUEST,
        "broker configs are read-only on this broker: they come from its config file (--config) and apply at start"
            .into(),
    )
}

/// A broker resource named by id must be this node: Kafka's two messages for a non-number and
/// for another node's id.
pub(super) fn check_node_id(name: &str, node_id: i32) -> Result<(), ResourceError> {
    match name.parse::<i32>() {
        Err(_) => Err((
            code::INVALID_REQUEST,
            format!("Node id must be an integer, but it is: {name}"),
        )),
        Ok(id) if id != node_id => Err((
            code::INVALID_REQUEST,
            format!("Unexpected broker id, expected {node_id}, but received {name}"),
        )),
        Ok(_) => Ok(()),
    }
}

/// Checks a topic resource name before anything else, as Kafka's config validator does.
pub(super) fn check_topic_name(name: &str) -> Result<(), ResourceError> {
    if name.is_empty() {
        return Err((code::INVALID_REQUEST, "Default topic resources are not allowed.".into()));
    }
    validate_topic_name(name).map_err(|e| (code::INVALID_TOPIC_EXCEPTION, e))
}

/// Validates a topic's complete new override set and, unless `validate_only`, stores it and
/// applies it to the topic's logs. The caller holds [`CONFIG_CHANGE`].
pub(super) async fn replace_topic_overrides(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    name: &str,
    overrides: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), ResourceError> {
    validate_topic_configs(&broker.config, &overrides).map_err(|e| (code::INVALID_CONFIG, e))?;
    let Some(old) = broker.catalog.get(name) else {
        return Err((
            code::UNKNOWN_TOPIC_OR_PARTITION,
            format!("topic '{name}' does not exist"),
        ));
    };
    if validate_only || old.configs == overrides {
        return Ok(());
    }
    let b = Arc::clone(broker);
    let (n, o) = (name.to_string(), overrides.clone());
    match tokio::task::spawn_blocking(move || b.catalog.set_configs(&n, o, &b.config)).await {
        Ok(Ok(())) => {
            tracing::info!(topic = %name, old = ?old.configs, new = ?overrides, client = %ctx.client_id, "changed topic configs");
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::error!(topic = %name, error = %e, "storing topic configs failed");
            Err((code::KAFKA_STORAGE_ERROR, e.to_string()))
        }
        Err(e) => Err((code::UNKNOWN_SERVER_ERROR, e.to_string())),
    }
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: AlterConfigsRequest) -> Reply {
    let seen = count_resources(
        req.resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.as_str())),
    );
    let mut resp = AlterConfigsResponse::default();
    for res in &req.resources {
        let name = res.resource_name.as_str();
        let outcome = if seen[&(res.resource_type, name.to_string())] > 1 {
            Err(duplicate_resource())
        } else {
            let nulls: Vec<&str> = res
                .configs
                .iter()
                .filter(|c| c.value.is_none())
                .map(|c| c.name.as_str())
                .collect();
            match res.resource_type {
                // The legacy API names a broker only by its id; "" is not accepted.
                RESOURCE_BROKER => match check_node_id(name, broker.node_id) {
                    Err(e) => Err(e),
                    Ok(_) if !nulls.is_empty() => Err(null_values(&nulls)),
                    // Replacing "no dynamic configs" with none is true already.
                    Ok(_) if res.configs.is_empty() => Ok(()),
                    Ok(_) => Err(broker_read_only()),
                },
                RESOURCE_TOPIC if !nulls.is_empty() => Err(null_values(&nulls)),
                RESOURCE_TOPIC => match check_topic_name(name) {
                    Err(e) => Err(e),
                    Ok(()) => {
                        let overrides: BTreeMap<String, String> = res
                            .configs
                            .iter()
                            .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
                            .collect();
                        let _turn = CONFIG_CHANGE.lock().await;
                        replace_topic_overrides(&broker, &ctx, name, overrides, req.validate_only).await
                    }
                },
                other => Err((code::INVALID_REQUEST, format!("Unknown resource type {other}"))),
            }
        };
        let mut r = AlterConfigsResourceResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        if let Err((c, msg)) = outcome {
            r.error_code = c;
            r.error_message = Some(StrBytes::from_string(msg));
        }
        resp.responses.push(r);
    }
    Reply::Now(ResponseKind::AlterConfigs(resp))
}
