//! IncrementalAlterConfigs: changes single keys of a topic's overrides and leaves the others
//! alone. SET and DELETE for any key; APPEND and SUBTRACT only for list-typed configs
//! (`cleanup.policy`, the throttled-replica lists), INVALID_CONFIG for the others, as Kafka's
//! controller answers. The resulting set is validated as a whole, exactly as the legacy
//! AlterConfigs validates it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::alter_configs::{
    broker_read_only, check_node_id, check_topic_name, count_resources, duplicate_resource, null_values,
    replace_topic_overrides, ResourceError, CONFIG_CHANGE,
};
use super::code;
use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::broker::config::{def_by_topic_name, ConfigType};
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// Kafka's `AlterConfigOp.OpType` ids.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// Applies the operations of one resource to its current overrides. Values are checked later,
/// on the whole result.
fn apply_ops(
    current: &BTreeMap<String, String>,
    ops: &[AlterableConfig],
) -> Result<BTreeMap<String, String>, ResourceError> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for op in ops {
        *counts.entry(op.name.as_str()).or_insert(0) += 1;
    }
    if let Some(dup) = ops.iter().map(|o| o.name.as_str()).find(|n| counts[n] > 1) {
        return Err((
            code::INVALID_REQUEST,
            format!("config '{dup}' appears more than once for one resource"),
        ));
    }
    let nulls: Vec<&str> = ops
        .iter()
        .filter(|o| o.config_operation != OP_DELETE && o.value.is_none())
        .map(|o| o.name.as_str())
        .collect();
    if !nulls.is_empty() {
        return Err(null_values(&nulls));
    }
    let mut next = current.clone();
    for op in ops {
        let key = op.name.to_string();
        match op.config_operation {
            OP_SET => {
                next.insert(key, op.value.as_ref().map(|v| v.to_string()).unwrap_or_default());
            }
            OP_DELETE => {
                next.remove(&key);
            }
            OP_APPEND | OP_SUBTRACT => {
                let verb = if op.config_operation == OP_APPEND {
                    "APPEND"
                } else {
                    "SUBTRACT"
                };
                let Some(def) = def_by_topic_name(&key).filter(|d| d.kind == ConfigType::List) else {
                    return Err((
                        code::INVALID_CONFIG,
                        format!("Can't {verb} to key {key} because its type is not LIST."),
                    ));
                };
                // Kafka's controller: the entries of the current override, else of the
                // config's default; the operand's entries added when missing, or removed
                // (the first equal one each).
                let old = next.get(&key).map(String::as_str).unwrap_or(def.default);
                let mut entries: Vec<String> = old.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect();
                let operand = op.value.as_ref().map(|v| v.as_str()).unwrap_or_default();
                for v in operand.split(',') {
                    if op.config_operation == OP_APPEND {
                        if !entries.iter().any(|e| e == v) {
                            entries.push(v.to_string());
                        }
                    } else if let Some(i) = entries.iter().position(|e| e == v) {
                        entries.remove(i);
                    }
                }
                next.insert(key, entries.join(","));
            }
            other => return Err((code::INVALID_REQUEST, format!("Unknown operation type {other}"))),
        }
    }
    Ok(next)
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: IncrementalAlterConfigsRequest) -> Reply {
    let seen = count_resources(
        req.resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.as_str())),
    );
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in &req.resources {
        let name = res.resource_name.as_str();
        let outcome = if seen[&(res.resource_type, name.to_string())] > 1 {
            Err(duplicate_resource())
        } else {
            match res.resource_type {
                RESOURCE_BROKER => {
                    // "" is the cluster-wide default; otherwise it must be this node's id.
                    let named = if name.is_empty() {
                        Ok(())
                    } else {
                        check_node_id(name, broker.node_id)
                    };
                    if let Err(e) = named {
                        Err(e)
                    } else {
                        // Validate the operations themselves first, so a malformed request
                        // gets the same answer as for a topic.
                        apply_ops(&BTreeMap::new(), &res.configs).and_then(|_| {
                            if res.configs.is_empty() {
                                Ok(())
                            } else {
                                Err(broker_read_only())
                            }
                        })
                    }
                }
                RESOURCE_TOPIC => match check_topic_name(name) {
                    Err(e) => Err(e),
                    Ok(()) => {
                        let _turn = CONFIG_CHANGE.lock().await;
                        let current = broker.catalog.get(name).map(|t| t.configs.clone()).unwrap_or_default();
                        match apply_ops(&current, &res.configs) {
                            Err(e) => Err(e),
                            Ok(next) => replace_topic_overrides(&broker, &ctx, name, next, req.validate_only).await,
                        }
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
    Reply::Now(ResponseKind::IncrementalAlterConfigs(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, operation: i8, value: Option<&str>) -> AlterableConfig {
        let mut o = AlterableConfig::default();
        o.name = StrBytes::from_string(name.to_string());
        o.config_operation = operation;
        o.value = value.map(|v| StrBytes::from_string(v.to_string()));
        o
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn set_and_delete_touch_only_their_keys() {
        let current = map(&[("retention.ms", "1000"), ("segment.bytes", "4096")]);
        let next = apply_ops(
            &current,
            &[
                op("retention.ms", OP_DELETE, None),
                op("max.message.bytes", OP_SET, Some("2048")),
            ],
        )
        .unwrap();
        assert_eq!(next, map(&[("max.message.bytes", "2048"), ("segment.bytes", "4096")]));
    }

    #[test]
    fn deleting_an_absent_key_is_a_no_op() {
        let current = map(&[("retention.ms", "1000")]);
        assert_eq!(
            apply_ops(&current, &[op("segment.ms", OP_DELETE, Some("ignored"))]).unwrap(),
            current
        );
    }

    #[test]
    fn append_and_subtract_are_refused_for_scalar_configs() {
        for key in ["retention.ms", "compression.type", "no.such.config"] {
            let (c, msg) = apply_ops(&BTreeMap::new(), &[op(key, OP_APPEND, Some("1"))]).unwrap_err();
            assert_eq!(c, code::INVALID_CONFIG);
            assert_eq!(msg, format!("Can't APPEND to key {key} because its type is not LIST."));
        }
        let (c, msg) = apply_ops(&BTreeMap::new(), &[op("retention.ms", OP_SUBTRACT, Some("1"))]).unwrap_err();
        assert_eq!(c, code::INVALID_CONFIG);
        assert_eq!(msg, "Can't SUBTRACT to key retention.ms because its type is not LIST.");
    }

    #[test]
    fn append_and_subtract_edit_list_configs_from_the_override_or_the_default() {
        // From the default ("delete"): appending an entry already there changes nothing.
        let next = apply_ops(&BTreeMap::new(), &[op("cleanup.policy", OP_APPEND, Some("delete"))]).unwrap();
        assert_eq!(next, map(&[("cleanup.policy", "delete")]));
        let next = apply_ops(&BTreeMap::new(), &[op("cleanup.policy", OP_APPEND, Some("compact"))]).unwrap();
        assert_eq!(next, map(&[("cleanup.policy", "delete,compact")]));
        let current = map(&[("leader.replication.throttled.replicas", "0:1,1:1")]);
        let next = apply_ops(
            &current,
            &[op("leader.replication.throttled.replicas", OP_APPEND, Some("2:1,0:1"))],
        )
        .unwrap();
        assert_eq!(next, map(&[("leader.replication.throttled.replicas", "0:1,1:1,2:1")]));
        let next = apply_ops(
            &next,
            &[op(
                "leader.replication.throttled.replicas",
                OP_SUBTRACT,
                Some("0:1,9:1"),
            )],
        )
        .unwrap();
        assert_eq!(next, map(&[("leader.replication.throttled.replicas", "1:1,2:1")]));
        // From an empty default, SUBTRACT leaves an empty list.
        let next = apply_ops(
            &BTreeMap::new(),
            &[op("follower.replication.throttled.replicas", OP_SUBTRACT, Some("0:1"))],
        )
        .unwrap();
        assert_eq!(next, map(&[("follower.replication.throttled.replicas", "")]));
    }

    #[test]
    fn malformed_operations_are_invalid_requests() {
        let (c, msg) = apply_ops(&BTreeMap::new(), &[op("retention.ms", OP_SET, None)]).unwrap_err();
        assert_eq!(
            (c, msg.as_str()),
            (code::INVALID_REQUEST, "Null value not supported for : retention.ms")
        );
        let (c, _) = apply_ops(&BTreeMap::new(), &[op("retention.ms", 9, Some("1"))]).unwrap_err();
        assert_eq!(c, code::INVALID_REQUEST);
        let (c, msg) = apply_ops(
            &BTreeMap::new(),
            &[
                op("retention.ms", OP_SET, Some("1")),
                op("retention.ms", OP_DELETE, None),
            ],
        )
        .unwrap_err();
        assert_eq!(c, code::INVALID_REQUEST);
        assert!(msg.contains("more than once"), "{msg}");
    }
}
