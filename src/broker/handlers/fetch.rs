//! Fetch: whole stored batches straight from the segment files, with long polling: when less
//! than `min_bytes` is available the answer waits (up to `max_wait_ms`) for an append.
//!
//! Sizes: the response holds at most the smaller of the request's `max_bytes` and the broker's
//! `fetch.max.bytes`, each partition at most its `partition_max_bytes`, counted in 64 bits and
//! decided before anything is read. Only the first partition with data may go over, by one
//! batch (KIP-74), so a consumer can always get past a batch larger than its limits. A
//! partition listed more than once is answered once, as Kafka's map of fetch partitions does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::log::{execute_read, ReadError, LEADER_EPOCH};
use crate::broker::server::RequestContext;
use crate::broker::Broker;

struct Pass {
    response: FetchResponse,
    bytes: u64,
    errors: bool,
}

/// Folds partitions listed more than once into one entry each: at the place of the first
/// listing, with the parameters of the last, as Kafka's `FetchRequest.fetchData` map does.
/// Consecutive partitions of one topic share a topic entry. Returns how many were dropped.
fn dedupe(req: &mut FetchRequest, version: i16) -> usize {
    let listed: usize = req.topics.iter().map(|t| t.partitions.len()).sum();
    let mut at: HashMap<(String, uuid::Uuid, i32), (usize, usize)> = HashMap::with_capacity(listed.min(4096));
    let mut out: Vec<FetchTopic> = Vec::new();
    for t in std::mem::take(&mut req.topics) {
        let mut t = t;
        let parts = std::mem::take(&mut t.partitions);
        let name = if version >= 13 {
            String::new()
        } else {
            t.topic.0.to_string()
        };
        for p in parts {
            let key = (name.clone(), t.topic_id, p.partition);
            if let Some(&(ti, pi)) = at.get(&key) {
                out[ti].partitions[pi] = p;
                continue;
            }
            let same_topic = out
                .last()
                .is_some_and(|last| last.topic == t.topic && last.topic_id == t.topic_id);
            if !same_topic {
                let mut entry = t.clone();
                entry.partitions = Vec::new();
                out.push(entry);
            }
            let ti = out.len() - 1;
            at.insert(key, (ti, out[ti].partitions.len()));
            out[ti].partitions.push(p);
        }
    }
    req.topics = out;
    listed - at.len()
}

fn read_all(broker: &Broker, req: &FetchRequest, version: i16) -> Pass {
    let cap = broker.config.get_i64("fetch.max.bytes").max(0) as u64;
    let mut budget: u64 = if req.max_bytes > 0 {
        (req.max_bytes as u64).min(cap)
    } else {
        cap
    };
    let mut total = 0u64;
    let mut errors = false;
    let mut resp = FetchResponse::default();
    for t in &req.topics {
        let topic = if version >= 13 {
            broker.catalog.get_by_id(t.topic_id)
        } else {
            broker.catalog.get(&t.topic.0)
        };
        let mut tr = FetchableTopicResponse::default();
        tr.topic = t.topic.clone();
        tr.topic_id = t.topic_id;
        for p in &t.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = p.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            pd.preferred_read_replica = (-1).into();
            pd.aborted_transactions = Some(Vec::new());
            pd.records = Some(Bytes::new());
            let part = topic
                .as_ref()
                .and_then(|t| usize::try_from(p.partition).ok().and_then(|i| t.partitions.get(i)));
            match part {
                None => {
                    pd.error_code = if version >= 13 {
                        code::UNKNOWN_TOPIC_ID
                    } else {
                        code::UNKNOWN_TOPIC_OR_PARTITION
                    };
                    errors = true;
                }
                Some(_) if p.current_leader_epoch > LEADER_EPOCH => {
                    pd.error_code = code::UNKNOWN_LEADER_EPOCH;
                    errors = true;
                }
                Some(part) => {
                    let (plan, hw, start) = {
                        let log = part.log();
                        (
                            log.plan_read(p.fetch_offset),
                            log.log_end_offset(),
                            log.log_start_offset(),
                        )
                    };
                    // Single node: the high watermark is the log end, and with no
                    // transactions the last stable offset equals it (read_committed clients
                    // read up to it).
                    pd.high_watermark = hw;
                    pd.last_stable_offset = hw;
                    pd.log_start_offset = start;
                    match plan {
                        Err(ReadError::OutOfRange { .. }) => {
                            pd.error_code = code::OFFSET_OUT_OF_RANGE;
                            errors = true;
                        }
                        Err(ReadError::Offline(_)) => {
                            pd.error_code = code::KAFKA_STORAGE_ERROR;
                            errors = true;
                        }
                        Ok(None) => {}
                        Ok(Some(plan)) => {
                            let limit = (p.partition_max_bytes.max(0) as u64).min(budget);
                            // KIP-74: the first partition with data may exceed the limits by
                            // one batch so a consumer can always progress; later ones get
                            // whole batches within what is left.
                            let min_one = total == 0;
                            if limit > 0 || min_one {
                                match execute_read(&plan, limit as usize, min_one) {
                                    Ok(bytes) => {
                                        total += bytes.len() as u64;
                                        budget = budget.saturating_sub(bytes.len() as u64);
                                        pd.records = Some(Bytes::from(bytes));
                                    }
                                    Err(e) => {
                                        tracing::error!(topic = %part.topic, partition = part.index, error = %e, "read failed");
                                        pd.error_code = code::KAFKA_STORAGE_ERROR;
                                        errors = true;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    Pass {
        response: resp,
        bytes: total,
        errors,
    }
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, mut req: FetchRequest) -> Reply {
    let version = ctx.api_version;
    let dropped = dedupe(&mut req, version);
    if dropped > 0 {
        tracing::debug!(client = %ctx.client_id, host = %ctx.client_host, dropped, "fetch listed partitions more than once; each is answered once");
    }
    let first = read_all(&broker, &req, version);
    let min_bytes = req.min_bytes.max(0) as u64;
    if first.bytes >= min_bytes.max(1) || first.errors || req.max_wait_ms <= 0 {
        return Reply::Now(ResponseKind::Fetch(first.response));
    }
    drop(first);
    Reply::Later(Box::pin(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms as u64);
        let mut shutdown = broker.shutdown.clone();
        loop {
            // Register for the wake-up before reading, so an append in between is not missed.
            let notified = broker.appended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let pass = read_all(&broker, &req, version);
            if pass.bytes >= min_bytes.max(1)
                || pass.errors
                || tokio::time::Instant::now() >= deadline
                || *shutdown.borrow()
            {
                return ResponseKind::Fetch(pass.response);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {}
                _ = shutdown.changed() => {}
            }
        }
    }))
}
