//! DeleteTopics: by name (v1-6) or by topic id (v6). The catalog forgets the topic first and
//! then removes its partition directories, so a crash in between cannot resurrect it.
//!
//! Validation follows Kafka's controller: a name or id given twice, or an entry with both or
//! neither, is INVALID_REQUEST; an unknown name is UNKNOWN_TOPIC_OR_PARTITION and an unknown id
//! UNKNOWN_TOPIC_ID.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::Broker;

/// One entry of the request, whichever way the version spells it.
struct Wanted {
    name: Option<String>,
    id: Uuid,
}

fn result(name: Option<String>, id: Uuid, error_code: i16, message: Option<String>) -> DeletableTopicResult {
    let mut r = DeletableTopicResult::default();
    r.name = name.map(|n| TopicName(StrBytes::from_string(n)));
    r.topic_id = id;
    r.error_code = error_code;
    r.error_message = message.map(StrBytes::from_string);
    r
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: DeleteTopicsRequest) -> Reply {
    let wanted: Vec<Wanted> = if ctx.api_version >= 6 {
        req.topics
            .into_iter()
            .map(|t| Wanted {
                name: t.name.map(|n| n.0.to_string()),
                id: t.topic_id,
            })
            .collect()
    } else {
        req.topic_names
            .into_iter()
            .map(|n| Wanted {
                name: Some(n.0.to_string()),
                id: Uuid::nil(),
            })
            .collect()
    };
    let mut names = HashMap::new();
    let mut ids = HashMap::new();
    for w in &wanted {
        match &w.name {
            Some(n) => *names.entry(n.clone()).or_insert(0) += 1,
            None => *ids.entry(w.id).or_insert(0) += 1,
        }
    }

    let mut resp = DeleteTopicsResponse::default();
    for w in wanted {
        let r = match (w.name, w.id.is_nil()) {
            (Some(name), false) => result(
                Some(name),
                w.id,
                code::INVALID_REQUEST,
                Some("You may not specify both topic name and topic id.".into()),
            ),
            (None, true) => result(
                None,
                w.id,
                code::INVALID_REQUEST,
                Some("Neither topic name nor id were specified.".into()),
            ),
            (Some(name), true) if names[&name] > 1 => result(
                Some(name),
                w.id,
                code::INVALID_REQUEST,
                Some("Duplicate topic name.".into()),
            ),
            (None, false) if ids[&w.id] > 1 => {
                result(None, w.id, code::INVALID_REQUEST, Some("Duplicate topic id.".into()))
            }
            (Some(name), true) => match broker.catalog.get(&name) {
                Some(_) => delete(&broker, &ctx, name).await,
                None => result(
                    Some(name.clone()),
                    Uuid::nil(),
                    code::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(format!("topic '{name}' does not exist")),
                ),
            },
            (None, false) => match broker.catalog.get_by_id(w.id) {
                Some(topic) => delete(&broker, &ctx, topic.name.clone()).await,
                None => result(
                    None,
                    w.id,
                    code::UNKNOWN_TOPIC_ID,
                    Some(format!("no topic has the id {}", w.id)),
                ),
            },
        };
        resp.responses.push(r);
    }
    Reply::Now(ResponseKind::DeleteTopics(resp))
}

/// Deletes a topic that existed a moment ago, with every group's committed offsets for it
/// (durably first, so that a topic recreated under the same name never resumes old groups at
/// old offsets; once more after the catalog change, for commits that raced the deletion).
/// Directory removal can take a while for big topics, so it runs off the async workers.
async fn delete(broker: &Arc<Broker>, ctx: &RequestContext, name: String) -> DeletableTopicResult {
    if let Err(e) = broker.groups.forget_topic(&name).await {
        tracing::error!(topic = %name, error = %e, "cannot delete the topic's committed offsets");
        return result(Some(name), Uuid::nil(), code::KAFKA_STORAGE_ERROR, Some(e.to_string()));
    }
    let b = Arc::clone(broker);
    let n = name.clone();
    let outcome = storage::blocking(&broker.disk, move || b.catalog.delete(&n)).await;
    if let Err(e) = broker.groups.forget_topic(&name).await {
        tracing::error!(topic = %name, error = %e, "cannot delete the topic's committed offsets");
    }
    match outcome {
        Ok(Some(topic)) => {
            tracing::info!(topic = %name, id = %topic.id, partitions = topic.partitions.len(), client = %ctx.client_id, "deleted topic");
            result(Some(name), topic.id, code::NONE, None)
        }
        // Someone else deleted it between the lookup and now.
        Ok(None) => result(
            Some(name.clone()),
            Uuid::nil(),
            code::UNKNOWN_TOPIC_OR_PARTITION,
            Some(format!("topic '{name}' does not exist")),
        ),
        Err(e) => {
            tracing::error!(topic = %name, error = %e, "delete topic failed");
            result(Some(name), Uuid::nil(), code::KAFKA_STORAGE_ERROR, Some(e.to_string()))
        }
    }
}
