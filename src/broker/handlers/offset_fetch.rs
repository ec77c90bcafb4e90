//! OffsetFetch: committed offsets of one group (v1-7) or several (v8+). Partitions without a
//! commit answer offset -1, as Kafka does. While the offsets store is offline after a storage
//! failure the answer is COORDINATOR_NOT_AVAILABLE.

use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// (topic, [(partition, offset, leader epoch, metadata)])
type Fetched = Vec<(String, Vec<(i32, i64, i32, String)>)>;

fn fetch(broker: &Broker, group: &str, wanted: Option<Vec<(String, Vec<i32>)>>) -> std::io::Result<Fetched> {
    Ok(match wanted {
        None => {
            let mut by_topic: std::collections::BTreeMap<String, Vec<(i32, i64, i32, String)>> = Default::default();
            for o in broker.groups.fetch(group, None)? {
                by_topic.entry(o.topic).or_default().push((
                    o.partition,
                    o.committed.offset,
                    o.committed.leader_epoch,
                    o.committed.metadata,
                ));
            }
            by_topic.into_iter().collect()
        }
        Some(list) => list
            .into_iter()
            .map(|(topic, parts)| {
                let names = [topic.clone()];
                let have = broker.groups.fetch(group, Some(&names))?;
                let rows = parts
                    .into_iter()
                    .map(|p| match have.iter().find(|o| o.partition == p) {
                        Some(o) => (
                            p,
                            o.committed.offset,
                            o.committed.leader_epoch,
                            o.committed.metadata.clone(),
                        ),
                        None => (p, -1, -1, String::new()),
                    })
                    .collect();
                Ok((topic, rows))
            })
            .collect::<std::io::Result<_>>()?,
    })
}

/// Logs a failed fetch once per request.
fn unavailable(e: &std::io::Error) -> i16 {
    tracing::warn!(error = %e, "offset fetch refused");
    code::COORDINATOR_NOT_AVAILABLE
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: OffsetFetchRequest) -> Reply {
    let mut resp = OffsetFetchResponse::default();
    if ctx.api_version >= 8 {
        for g in &req.groups {
            let wanted = g.topics.as_ref().map(|ts| {
                ts.iter()
                    .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                    .collect()
            });
            let mut out = OffsetFetchResponseGroup::default();
            out.group_id = g.group_id.clone();
            let fetched = fetch(&broker, &g.group_id.0, wanted).unwrap_or_else(|e| {
                out.error_code = unavailable(&e);
                Vec::new()
            });
            out.topics = fetched
                .into_iter()
                .map(|(topic, rows)| {
                    let mut t = OffsetFetchResponseTopics::default();
                    t.name = TopicName(StrBytes::from_string(topic));
                    t.partitions = rows
                        .into_iter()
                        .map(|(p, o, e, m)| {
                            let mut r = OffsetFetchResponsePartitions::default();
                            r.partition_index = p;
                            r.committed_offset = o;
                            r.committed_leader_epoch = e;
                            r.metadata = Some(StrBytes::from_string(m));
                            r
                        })
                        .collect();
                    t
                })
                .collect();
            resp.groups.push(out);
        }
    } else {
        let wanted = req.topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                .collect()
        });
        let fetched = match fetch(&broker, &req.group_id.0, wanted) {
            Ok(f) => f,
            // v1 has no error field for the whole request: an empty answer, as for an unknown
            // group.
            Err(e) if ctx.api_version < 2 => {
                unavailable(&e);
                Vec::new()
            }
            Err(e) => {
                resp.error_code = unavailable(&e);
                Vec::new()
            }
        };
        resp.topics = fetched
            .into_iter()
            .map(|(topic, rows)| {
                let mut t = OffsetFetchResponseTopic::default();
                t.name = TopicName(StrBytes::from_string(topic));
                t.partitions = rows
                    .into_iter()
                    .map(|(p, o, e, m)| {
                        let mut r = OffsetFetchResponsePartition::default();
                        r.partition_index = p;
                        r.committed_offset = o;
                        r.committed_leader_epoch = e;
                        r.metadata = Some(StrBytes::from_string(m));
                        r
                    })
                    .collect();
                t
            })
            .collect();
    }
    Reply::Now(ResponseKind::OffsetFetch(resp))
}
