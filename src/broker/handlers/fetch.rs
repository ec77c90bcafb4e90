//! Fetch: whole stored batches straight from the segment files, with long polling: when less
//! than `min_bytes` is available the answer waits (up to `max_wait_ms`) for an append to one
//! of the requested partitions; each partition wakes only its own waiters.
//!
//! A pass plans every partition's read under its lock (memory only), then reads the planned
//! bytes off the async workers; a pass with nothing to read does no I/O at all.
//!
//! Sizes: the response holds at most the smaller of the request's `max_bytes` and the broker's
//! `fetch.max.bytes`, each partition at most its `partition_max_bytes`, counted in 64 bits and
//! decided before anything is read. Only the first partition with data may go over, by one
//! batch (KIP-74), so a consumer can always get past a batch larger than its limits. A
//! partition listed more than once is answered once, as Kafka's map of fetch partitions does.
//!
//! Leader epochs: a `current_leader_epoch` older than the broker's is FENCED_LEADER_EPOCH
//! (the client refreshes its metadata and validates its position), a newer one
//! UNKNOWN_LEADER_EPOCH; a `last_fetched_epoch` (v12+) that ended before the fetch offset
//! gets the diverging epoch instead of records, as Kafka answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::select_all;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ResponseKind};

use super::{check_leader_epoch, code};
use crate::broker::dispatch::Reply;
use crate::broker::log::{epochs, execute_read, ReadError, ReadPlan};
use crate::broker::partition::Partition;
use crate::broker::server::RequestContext;
use crate::broker::{storage, Broker};

/// One requested partition: where its answer goes and what to read for it.
struct Slot {
    topic: usize,
    partition: Option<Arc<Partition>>,
    fetch_offset: i64,
    current_leader_epoch: i32,
    last_fetched_epoch: i32,
    partition_max_bytes: usize,
}

/// A planned answer: the response without records, and per slot the read to do.
struct Planned {
    response: FetchResponse,
    reads: Vec<(usize, usize, ReadPlan, usize)>,
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

fn resolve(broker: &Broker, req: &FetchRequest, version: i16) -> (FetchResponse, Vec<Slot>) {
    let mut resp = FetchResponse::default();
    let mut slots = Vec::new();
    for (ti, t) in req.topics.iter().enumerate() {
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
            tr.partitions.push(pd);
            slots.push(Slot {
                topic: ti,
                partition: topic
                    .as_ref()
                    .and_then(|t| usize::try_from(p.partition).ok().and_then(|i| t.partitions.get(i)))
                    .cloned(),
                fetch_offset: p.fetch_offset,
                current_leader_epoch: p.current_leader_epoch,
                last_fetched_epoch: if version >= 12 { p.last_fetched_epoch } else { -1 },
                partition_max_bytes: p.partition_max_bytes.max(0) as usize,
            });
        }
        resp.responses.push(tr);
    }
    (resp, slots)
}

/// Plans every slot under its partition's lock: offsets, errors, and the reads to do.
fn plan(broker: &Broker, template: &FetchResponse, slots: &[Slot], version: i16) -> Planned {
    let mut resp = template.clone();
    let mut reads = Vec::new();
    let mut errors = false;
    let mut index_in_topic = vec![0usize; resp.responses.len()];
    for (si, slot) in slots.iter().enumerate() {
        let pi = index_in_topic[slot.topic];
        index_in_topic[slot.topic] += 1;
        let pd = &mut resp.responses[slot.topic].partitions[pi];
        pd.high_watermark = -1;
        pd.last_stable_offset = -1;
        pd.log_start_offset = -1;
        pd.preferred_read_replica = (-1).into();
        pd.aborted_transactions = Some(Vec::new());
        pd.records = Some(Bytes::new());
        let Some(part) = &slot.partition else {
            pd.error_code = if version >= 13 {
                code::UNKNOWN_TOPIC_ID
            } else {
                code::UNKNOWN_TOPIC_OR_PARTITION
            };
            errors = true;
            continue;
        };
        let log = part.log();
        if let Err(c) = check_leader_epoch(slot.current_leader_epoch, log.leader_epoch()) {
            pd.error_code = c;
            if version >= 12 {
                pd.current_leader.leader_id = BrokerId(broker.node_id);
                pd.current_leader.leader_epoch = log.leader_epoch();
            }
            errors = true;
            continue;
        }
        let (hw, start) = (log.log_end_offset(), log.log_start_offset());
        // Single node: the high watermark is the log end, and with no transactions the last
        // stable offset equals it (read_committed clients read up to it).
        pd.high_watermark = hw;
        pd.last_stable_offset = hw;
        pd.log_start_offset = start;
        if slot.last_fetched_epoch >= 0 && log.is_online() {
            let (epoch, end) = log.epochs().end_offset_for(slot.last_fetched_epoch, hw);
            if (epoch, end) == epochs::UNDEFINED {
                pd.error_code = code::OFFSET_OUT_OF_RANGE;
                errors = true;
                continue;
            }
            if epoch < slot.last_fetched_epoch || end < slot.fetch_offset {
                pd.diverging_epoch.epoch = epoch;
                pd.diverging_epoch.end_offset = end;
                continue;
            }
        }
        match log.plan_read(slot.fetch_offset) {
            Err(ReadError::OutOfRange { .. }) => {
                pd.error_code = code::OFFSET_OUT_OF_RANGE;
                errors = true;
            }
            Err(ReadError::Offline(_)) => {
                pd.error_code = code::KAFKA_STORAGE_ERROR;
                errors = true;
            }
            Ok(None) => {}
            Ok(Some(plan)) => reads.push((slot.topic, pi, plan, si)),
        }
    }
    Planned {
        response: resp,
        reads: reads
            .into_iter()
            .map(|(t, p, plan, si)| (t, p, plan, slots[si].partition_max_bytes))
            .collect(),
        errors,
    }
}

/// Reads the planned bytes within the budget (blocking), counted in 64 bits. KIP-74: the first
/// partition with data may exceed the limits by one batch so a consumer can always progress;
/// later ones get whole batches within what is left. Returns the bytes read.
fn read(planned: &mut Planned, mut budget: u64) -> u64 {
    let mut total = 0u64;
    for (ti, pi, plan, partition_max) in &planned.reads {
        let limit = (*partition_max as u64).min(budget);
        let min_one = total == 0;
        if limit == 0 && !min_one {
            continue;
        }
        let pd = &mut planned.response.responses[*ti].partitions[*pi];
        match execute_read(plan, limit as usize, min_one) {
            Ok(bytes) => {
                total += bytes.len() as u64;
                budget = budget.saturating_sub(bytes.len() as u64);
                pd.records = Some(Bytes::from(bytes));
            }
            Err(e) => {
                tracing::error!(error = %e, "read failed");
                pd.error_code = code::KAFKA_STORAGE_ERROR;
                planned.errors = true;
            }
        }
    }
    total
}

/// One pass: plan, then read off the async workers if there is anything to read.
async fn pass(
    broker: &Arc<Broker>,
    template: &FetchResponse,
    slots: &[Slot],
    req: &FetchRequest,
    version: i16,
) -> (FetchResponse, u64, bool) {
    let mut planned = plan(broker, template, slots, version);
    if planned.reads.is_empty() {
        return (planned.response, 0, planned.errors);
    }
    let cap = broker.config.get_i64("fetch.max.bytes").max(0) as u64;
    let budget = if req.max_bytes > 0 {
        (req.max_bytes as u64).min(cap)
    } else {
        cap
    };
    let (planned, total) = storage::blocking(&broker.disk, move || {
        let total = read(&mut planned, budget);
        (planned, total)
    })
    .await;
    (planned.response, total, planned.errors)
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, mut req: FetchRequest) -> Reply {
    let version = ctx.api_version;
    let dropped = dedupe(&mut req, version);
    if dropped > 0 {
        tracing::debug!(client = %ctx.client_id, host = %ctx.client_host, dropped, "fetch listed partitions more than once; each is answered once");
    }
    let (template, slots) = resolve(&broker, &req, version);
    let (first, bytes, errors) = pass(&broker, &template, &slots, &req, version).await;
    let min_bytes = req.min_bytes.max(0) as u64;
    if bytes >= min_bytes.max(1) || errors || req.max_wait_ms <= 0 {
        return Reply::Now(ResponseKind::Fetch(first));
    }
    drop(first);
    Reply::Later(Box::pin(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms as u64);
        let mut shutdown = broker.shutdown.clone();
        let partitions: Vec<Arc<Partition>> = slots.iter().filter_map(|s| s.partition.clone()).collect();
        loop {
            // Register for the wake-ups before reading, so an append in between is not missed.
            let mut appended: Vec<_> = partitions.iter().map(|p| Box::pin(p.appended.notified())).collect();
            for n in appended.iter_mut() {
                n.as_mut().enable();
            }
            let (resp, bytes, errors) = pass(&broker, &template, &slots, &req, version).await;
            if bytes >= min_bytes.max(1) || errors || tokio::time::Instant::now() >= deadline || *shutdown.borrow() {
                return ResponseKind::Fetch(resp);
            }
            let any_append = async {
                if appended.is_empty() {
                    std::future::pending::<()>().await;
                } else {
                    select_all(appended).await;
                }
            };
            tokio::select! {
                _ = any_append => {}
                _ = tokio::time::sleep_until(deadline) => {}
                _ = shutdown.changed() => {}
            }
        }
    }))
}
