//! InitProducerId: hands an idempotent producer a producer id never used before, with epoch 0.
//!
//! As Kafka's `TransactionCoordinator.handleInitProducerId` does for a null transactional id,
//! every request gets a fresh id, also a v3+ request that names its current id and epoch
//! (KIP-360): a non-transactional producer bumps its epoch itself (librdkafka's
//! `rd_kafka_idemp_drain_done`, the Java client's `bumpIdempotentEpochAndResetIdIfNeeded`) and
//! only asks the broker when it wants a new id. Epoch fencing happens per partition on Produce.
//!
//! Transactions are not implemented, so a transactional id is refused with
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED and the same message as FindCoordinator gives: fatal in
//! every client, where a retriable code would retry until `max.block.ms` for something that will
//! never appear. Clients normally stop earlier, at FindCoordinator for the transaction
//! coordinator.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId, ResponseKind};

use super::code;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::Broker;

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: InitProducerIdRequest) -> Reply {
    let mut resp = InitProducerIdResponse::default();
    resp.producer_id = ProducerId(-1);
    resp.producer_epoch = -1;
    if let Some(txn) = &req.transactional_id {
        // Kafka refuses an empty transactional id as a malformed request.
        if txn.0.is_empty() {
            resp.error_code = code::INVALID_REQUEST;
            return Reply::Now(ResponseKind::InitProducerId(resp));
        }
        tracing::warn!(
            client = %ctx.client_id, host = %ctx.client_host, transactional_id = %txn.0,
            "InitProducerId for a transactional producer refused: transactions are not supported"
        );
        resp.error_code = code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        return Reply::Now(ResponseKind::InitProducerId(resp));
    }
    // A new block of ids is reserved with an fsync: keep that off the async workers.
    let b = Arc::clone(&broker);
    let allocated = storage::blocking(&broker.disk, move || {
        b.producer_ids.lock().unwrap_or_else(|p| p.into_inner()).allocate()
    })
    .await;
    match allocated {
        Ok(id) => {
            tracing::debug!(client = %ctx.client_id, producer_id = id, "allocated producer id");
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = 0;
        }
        Err(e) => {
            // Retriable for clients: they ask again after a backoff.
            tracing::error!(error = %e, "cannot reserve producer ids");
            resp.error_code = code::KAFKA_STORAGE_ERROR;
        }
    }
    Reply::Now(ResponseKind::InitProducerId(resp))
}
