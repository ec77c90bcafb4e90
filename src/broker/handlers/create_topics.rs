//! CreateTopics: validates name, partition count, replication factor (this node can hold only
//! one replica) and configs, then creates the logs. `validate_only` checks without creating.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::catalog::validate_topic_name;
use crate::broker::config::{effective_topic_configs, validate_topic_configs};
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::{now_ms, Broker};

/// Why a checked topic was still not created.
enum Refused {
    Budget(String),
    Storage(crate::broker::error::LogError),
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: CreateTopicsRequest) -> Reply {
    let mut resp = CreateTopicsResponse::default();
    let mut seen = std::collections::HashMap::new();
    for t in &req.topics {
        *seen.entry(t.name.0.to_string()).or_insert(0) += 1;
    }
    // What the whole request adds, checked against strom.max.partitions.per.request by every
    // topic's budget check, so an oversized request is refused whole, up front.
    let default_partitions = broker.config.get_i64("num.partitions").max(1);
    let request_total: usize = req
        .topics
        .iter()
        .map(|t| match (t.assignments.len(), t.num_partitions) {
            (0, -1) => default_partitions,
            (0, n) => i64::from(n.max(0)),
            (a, _) => a as i64,
        })
        .sum::<i64>() as usize;
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut r = CreatableTopicResult::default();
        r.name = t.name.clone();
        r.num_partitions = -1;
        r.replication_factor = -1;
        let configs: BTreeMap<String, String> = t
            .configs
            .iter()
            .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
            .collect();
        let partitions = if t.num_partitions == -1 {
            broker.config.get_i64("num.partitions") as i32
        } else {
            t.num_partitions
        };
        let check = if seen[&name] > 1 {
            Err((
                code::INVALID_REQUEST,
                format!("topic '{name}' appears more than once in the request"),
            ))
        } else if let Err(e) = validate_topic_name(&name) {
            Err((code::INVALID_TOPIC_EXCEPTION, e))
        } else if broker.catalog.get(&name).is_some() {
            Err((code::TOPIC_ALREADY_EXISTS, format!("topic '{name}' already exists")))
        } else if !t.assignments.is_empty() {
            let ok = t
                .assignments
                .iter()
                .all(|a| a.broker_ids.len() == 1 && a.broker_ids[0].0 == broker.node_id);
            if ok {
                Ok(t.assignments.len() as i32)
            } else {
                Err((
                    code::INVALID_REPLICA_ASSIGNMENT,
                    format!(
                        "replicas must be exactly [{}] on this single-node broker",
                        broker.node_id
                    ),
                ))
            }
        } else if partitions < 1 {
            Err((
                code::INVALID_PARTITIONS,
                format!("number of partitions must be at least 1, not {partitions}"),
            ))
        } else if t.replication_factor != -1 && t.replication_factor != 1 {
            Err((
                code::INVALID_REPLICATION_FACTOR,
                format!(
                    "replication factor {} is larger than the 1 broker available",
                    t.replication_factor
                ),
            ))
        } else {
            Ok(partitions)
        };
        let check = check.and_then(|p| {
            validate_topic_configs(&broker.config, &configs)
                .map(|_| p)
                .map_err(|e| (code::INVALID_CONFIG, e))
        });
        let check = check.and_then(|p| {
            broker
                .partition_budget
                .check(&broker.catalog, &broker.config, &name, 0, p as usize, request_total)
                .map(|_| p)
                .map_err(|e| (code::POLICY_VIOLATION, e))
        });
        match check {
            Err((code, msg)) => {
                r.error_code = code;
                r.error_message = Some(StrBytes::from_string(msg));
            }
            Ok(partitions) => {
                let created = if req.validate_only {
                    Ok(None)
                } else {
                    // Creating the logs and the catalog entry fsyncs: off the async workers.
                    // Checked again with creation: another request may have taken the room.
                    let (b, n, c) = (Arc::clone(&broker), name.clone(), configs.clone());
                    storage::blocking(&broker.disk, move || {
                        b.partition_budget
                            .admit(&b.catalog, &b.config, &n, 0, partitions as usize, request_total, || {
                                b.catalog.create(&n, partitions, c, &b.config, now_ms())
                            })
                            .map_err(Refused::Budget)
                            .and_then(|r| r.map_err(Refused::Storage))
                            .map(Some)
                    })
                    .await
                };
                match created {
                    Err(Refused::Budget(why)) => {
                        tracing::warn!(topic = %name, client = %ctx.client_id, reason = %why, "create topic refused");
                        r.error_code = code::POLICY_VIOLATION;
                        r.error_message = Some(StrBytes::from_string(why));
                    }
                    Err(Refused::Storage(e)) => {
                        tracing::error!(topic = %name, error = %e, "create topic failed");
                        r.error_code = code::KAFKA_STORAGE_ERROR;
                        r.error_message = Some(StrBytes::from_string(e.to_string()));
                    }
                    Ok(topic) => {
                        if let Some(topic) = &topic {
                            r.topic_id = topic.id;
                            tracing::info!(topic = %name, partitions, client = %ctx.client_id, "created topic");
                        }
                        r.num_partitions = partitions;
                        r.replication_factor = 1;
                        r.configs = Some(
                            effective_topic_configs(&broker.config, &configs)
                                .into_iter()
                                .map(|c| {
                                    let mut out = CreatableTopicConfigs::default();
                                    out.name = StrBytes::from_static_str(c.name);
                                    out.value = Some(StrBytes::from_string(c.value));
                                    out.read_only = c.read_only;
                                    out.config_source = c.source as i8;
                                    out
                                })
                                .collect(),
                        );
                    }
                }
            }
        }
        resp.topics.push(r);
    }
    Reply::Now(ResponseKind::CreateTopics(resp))
}
