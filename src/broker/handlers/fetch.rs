//! Fetch: whole stored batches straight from the segment files, with long polling: when less
//! than `min_bytes` is available the answer waits (up to `max_wait_ms`) for an append.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::log::{execute_read, ReadError, LEADER_EPOCH};
use crate::broker::server::RequestContext;
use crate::broker::Broker;

struct Pass {
    response: FetchResponse,
    bytes: usize,
    errors: bool,
}

fn read_all(broker: &Broker, req: &FetchRequest, version: i16) -> Pass {
    let mut budget: usize = if req.max_bytes > 0 {
        req.max_bytes as usize
    } else {
        i32::MAX as usize
    };
    let mut total = 0usize;
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
                            let limit = (p.partition_max_bytes.max(0) as usize).min(budget);
                            // KIP-74: the first partition with data may exceed the limits so a
                            // consumer can always progress; later ones only if budget is left.
                            if limit > 0 || total == 0 {
                                match execute_read(&plan, limit) {
                                    Ok(bytes) => {
                                        total += bytes.len();
                                        budget = budget.saturating_sub(bytes.len());
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

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: FetchRequest) -> Reply {
    let version = ctx.api_version;
    let first = read_all(&broker, &req, version);
    let min_bytes = req.min_bytes.max(0) as usize;
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
