//! Metadata: this one broker, and every topic with its partitions led by it. Unknown topics
//! are created when `auto.create.topics.enable` is on and the client allows it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{code, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS, TOPIC_OPERATIONS};
use crate::broker::catalog::{validate_topic_name, Topic};
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::{now_ms, Broker};

pub fn topic_entry(broker: &Broker, t: &Topic) -> MetadataResponseTopic {
    let me = BrokerId(broker.node_id);
    let mut out = MetadataResponseTopic::default();
    out.name = Some(TopicName(StrBytes::from_string(t.name.clone())));
    out.topic_id = t.id;
    out.is_internal = false;
    out.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
    out.partitions = t
        .partitions
        .iter()
        .map(|p| {
            let mut mp = MetadataResponsePartition::default();
            mp.partition_index = p.index;
            mp.leader_id = me;
            mp.leader_epoch = broker.leader_epoch;
            mp.replica_nodes = vec![me];
            mp.isr_nodes = vec![me];
            mp
        })
        .collect();
    out
}

fn error_entry(name: Option<String>, id: Uuid, error: i16) -> MetadataResponseTopic {
    let mut out = MetadataResponseTopic::default();
    out.name = name.map(|n| TopicName(StrBytes::from_string(n)));
    out.topic_id = id;
    out.error_code = error;
    out.topic_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
    out
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: MetadataRequest) -> Reply {
    let v = ctx.api_version;
    let mut resp = MetadataResponse::default();
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(broker.node_id);
    b.host = StrBytes::from_string(broker.endpoint(ctx.listener).host.clone());
    b.port = broker.endpoint(ctx.listener).port as i32;
    resp.brokers = vec![b];
    resp.cluster_id = Some(StrBytes::from_string(broker.cluster_id.clone()));
    resp.controller_id = BrokerId(broker.node_id);
    resp.cluster_authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;

    // v0: an empty list means all topics; v1+: null means all, empty means none.
    let wanted = match req.topics {
        None => None,
        Some(list) if v == 0 && list.is_empty() => None,
        Some(list) => Some(list),
    };
    // Asked for (v8+): clients such as kafka-python's admin decode these bitfields, and the
    // "omitted" value (i32::MIN) is not a valid set. Cluster operations exist in v8-v10 only.
    if req.include_cluster_authorized_operations && (8..=10).contains(&v) {
        resp.cluster_authorized_operations = CLUSTER_OPERATIONS;
    }
    let topic_ops = if req.include_topic_authorized_operations && v >= 8 {
        TOPIC_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let Some(wanted) = wanted else {
        resp.topics = broker.catalog.all().iter().map(|t| topic_entry(&broker, t)).collect();
        for t in &mut resp.topics {
            t.topic_authorized_operations = topic_ops;
        }
        return Reply::Now(ResponseKind::Metadata(resp));
    };
    let auto_create = broker.config.get_bool("auto.create.topics.enable") && (v < 4 || req.allow_auto_topic_creation);
    let mut seen = BTreeMap::new();
    for t in wanted {
        let entry = match t.name {
            Some(name) => {
                let name = name.0.to_string();
                if seen.insert(name.clone(), ()).is_some() {
                    continue;
                }
                match broker.catalog.get(&name) {
                    Some(topic) => topic_entry(&broker, &topic),
                    None => match validate_topic_name(&name) {
                        Err(_) => error_entry(Some(name), Uuid::nil(), code::INVALID_TOPIC_EXCEPTION),
                        Ok(()) if !auto_create => {
                            error_entry(Some(name), Uuid::nil(), code::UNKNOWN_TOPIC_OR_PARTITION)
                        }
                        Ok(()) => {
                            let partitions = broker.config.get_i64("num.partitions").max(1) as i32;
                            let n = partitions as usize;
                            // Creating the logs and the catalog entry fsyncs: off the async workers.
                            let (b, t) = (Arc::clone(&broker), name.clone());
                            let created = storage::blocking(&broker.disk, move || {
                                b.partition_budget.admit(&b.catalog, &b.config, &t, 0, n, n, || {
                                    b.catalog.create(&t, partitions, BTreeMap::new(), &b.config, now_ms())
                                })
                            })
                            .await;
                            match created {
                                Err(why) => {
                                    tracing::warn!(topic = %name, client = %ctx.client_id, reason = %why, "auto-create refused");
                                    error_entry(Some(name), Uuid::nil(), code::POLICY_VIOLATION)
                                }
                                Ok(Err(e)) => {
                                    tracing::error!(topic = %name, error = %e, "auto-create failed");
                                    error_entry(Some(name), Uuid::nil(), code::KAFKA_STORAGE_ERROR)
                                }
                                Ok(Ok(topic)) => {
                                    tracing::info!(topic = %name, partitions, client = %ctx.client_id, "auto-created topic");
                                    topic_entry(&broker, &topic)
                                }
                            }
                        }
                    },
                }
            }
            None => match broker.catalog.get_by_id(t.topic_id) {
                Some(topic) => topic_entry(&broker, &topic),
                None => error_entry(None, t.topic_id, code::UNKNOWN_TOPIC_ID),
            },
        };
        resp.topics.push(entry);
    }
    for t in &mut resp.topics {
        t.topic_authorized_operations = topic_ops;
    }
    Reply::Now(ResponseKind::Metadata(resp))
}
