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

/// Partitions one request may add to a topic. Every partition holds open files, so a typo such
/// as 1000000 must not exhaust the process's descriptors. (Kafka's controller caps one operation
/// at 10,000 records too.)
pub const MAX_NEW_PARTITIONS: i32 = 10_000;

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
    if added > MAX_NEW_PARTITIONS {
        return Err((
            code::INVALID_PARTITIONS,
            format!(
                "adding {added} partitions to '{name}' at once is refused; at most {MAX_NEW_PARTITIONS} per request"
            ),
        ));
    }
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
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        let outcome = match check(&broker, &t, seen[&name] > 1) {
            Err(e) => Err(e),
            Ok(_) if req.validate_only => Ok(()),
            Ok(current) => {
                let b = Arc::clone(&broker);
                let (n, count) = (name.clone(), t.count);
                match tokio::task::spawn_blocking(move || b.catalog.add_partitions(&n, count, now_ms())).await {
                    Ok(Ok(())) => {
                        tracing::info!(topic = %name, from = current, to = t.count, client = %ctx.client_id, "added partitions");
                        Ok(())
                    }
                    Ok(Err(e)) => {
                        tracing::error!(topic = %name, error = %e, "add partitions failed");
                        Err((code::KAFKA_STORAGE_ERROR, e.to_string()))
                    }
                    Err(e) => Err((code::UNKNOWN_SERVER_ERROR, e.to_string())),
                }
            }
        };
        if let Err((c, msg)) = outcome {
            r.error_code = c;
            r.error_message = Some(StrBytes::from_string(msg));
        }
        resp.results.push(r);
    }
    Reply::Now(ResponseKind::CreatePartitions(resp))
}
