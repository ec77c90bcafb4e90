//! CreatePartitions: grows a topic to a larger partition count. New partitions start empty and
//! live on this node, the only one there is; `validate_only` checks without creating.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::{now_ms, Broker};

/// Checks one topic of the request; returns the current count on success.
fn check(broker: &Broker, t: &CreatePartitionsTopic, duplicate: bool) -> Result<i32, (i16, String)> {
    let name = t.name.0.as_str();
    if duplicate {
        return Err((
            code::INVALID_REQUEST,
            format!("topic '{name}' appears more than once in the request"),
        ));
    }
    let Some(topic) = broker.catalog.get(name) else {
        return Err((
            code::UNKNOWN_TOPIC_OR_PARTITION,
            format!("topic '{name}' does not exist"),
        ));
    };
    let current = topic.partitions.len() as i32;
    if t.count <= current {
        return Err((
            code::INVALID_PARTITIONS,
            format!(
                "topic '{name}' has {current} partitions; new count must be greater (requested {})",
                t.count
            ),
        ));
    }
    let added = t.count - current;
    if let Some(assignments) = &t.assignments {
        if assignments.len() as i32 != added {
            return Err((
                code::INVALID_REPLICA_ASSIGNMENT,
                format!(
                    "adding {added} partitions to '{name}' needs {added} assignments, not {}",
                    assignments.len()
                ),
            ));
        }
        let me = broker.node_id;
        if !assignments
            .iter()
            .all(|a| a.broker_ids.len() == 1 && a.broker_ids[0].0 == me)
        {
            return Err((
                code::INVALID_REPLICA_ASSIGNMENT,
                format!("replicas must be exactly [{me}] on this single-node broker"),
            ));
        }
    }
    Ok(current)
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: CreatePartitionsRequest) -> Reply {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for t in &req.topics {
        *seen.entry(t.name.0.to_string()).or_insert(0) += 1;
    }
    // What the whole request adds: checked by every topic's budget check, so an oversized
    // request is refused whole, up front.
    let request_total: usize = req
        .topics
        .iter()
        .filter_map(|t| {
            let current = broker.catalog.get(t.name.0.as_str())?.partitions.len() as i64;
            Some((i64::from(t.count) - current).max(0))
        })
        .sum::<i64>() as usize;
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        let checked = check(&broker, &t, seen[&name] > 1).and_then(|current| {
            broker
                .partition_budget
                .check(
                    &broker.catalog,
                    &broker.config,
                    &name,
                    current as usize,
                    t.count as usize,
                    request_total,
                )
                .map(|_| current)
                .map_err(|e| (code::POLICY_VIOLATION, e))
        });
        let outcome = match checked {
            Err(e) => Err(e),
            Ok(_) if req.validate_only => Ok(()),
            Ok(current) => {
                let b = Arc::clone(&broker);
                let (n, count) = (name.clone(), t.count);
                // Checked again with the change: another request may have taken the room.
                let added = tokio::task::spawn_blocking(move || {
                    b.partition_budget.admit(
                        &b.catalog,
                        &b.config,
                        &n,
                        current as usize,
                        count as usize,
                        request_total,
                        || b.catalog.add_partitions(&n, count, now_ms()),
                    )
                })
                .await;
                match added {
                    Ok(Ok(Ok(()))) => {
                        tracing::info!(topic = %name, from = current, to = t.count, client = %ctx.client_id, "added partitions");
                        Ok(())
                    }
                    Ok(Err(why)) => Err((code::POLICY_VIOLATION, why)),
                    Ok(Ok(Err(e))) => {
                        tracing::error!(topic = %name, error = %e, "add partitions failed");
                        Err((code::KAFKA_STORAGE_ERROR, e.to_string()))
                    }
                    Err(e) => Err((code::UNKNOWN_SERVER_ERROR, e.to_string())),
                }
            }
        };
        if let Err((c, msg)) = &outcome {
            if *c == code::POLICY_VIOLATION {
                tracing::warn!(topic = %name, client = %ctx.client_id, reason = %msg, "add partitions refused");
            }
        }
        if let Err((c, msg)) = outcome {
            r.error_code = c;
            r.error_message = Some(StrBytes::from_string(msg));
        }
        resp.results.push(r);
    }
    Reply::Now(ResponseKind::CreatePartitions(resp))
}
