//! The console's live tail, as the worker runs it: one [`TailSession`] at a time (its own
//! thread and assign-only consumer), whose inbox the worker drains into [`Update::Tail`]
//! batches for the UI.
//!
//! Memory stays bounded at every stage: the session's inbox holds at most
//! [`INBOX_RECORDS`](crate::cluster::tail::INBOX_RECORDS) records and blocks the session when
//! full (librdkafka then stops fetching: the tail falls behind the topic, nothing is lost from
//! Kafka); and at most [`BATCHES_IN_FLIGHT`] batches are on their way to the UI at once. A
//! batch carries a [`Receipt`]: when the UI is done with the batch and drops it, the receipt
//! gives the slot back and wakes the worker, which drains the inbox again. The UI keeps the
//! records in its ring buffer, which counts what it evicts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::app::action::{TailId, TailOrder, Update};
use crate::cluster::tail::{TailControl, TailInbox, TailItem, TailNotice, TailSession, INBOX_RECORDS};

/// Tail batches the UI may hold (sent and not yet dropped) before the worker waits.
pub const BATCHES_IN_FLIGHT: usize = 2;

/// What the session's thread, the worker and the UI's batches share.
#[derive(Debug, Default)]
pub struct TailFlow {
    /// Batches sent and not yet dropped.
    in_flight: AtomicUsize,
    /// Records arrived in an empty inbox, or a batch was dropped: drain again.
    ready: Notify,
    /// The worker let go of the session: the session stops at its next batch.
    closed: AtomicBool,
}

impl TailFlow {
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Resolves once there may be something to drain.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }
}

/// Holds one of the [`BATCHES_IN_FLIGHT`] slots until dropped.
#[derive(Debug)]
pub struct Receipt(Arc<TailFlow>);

impl Receipt {
    pub fn new(flow: &Arc<TailFlow>) -> Receipt {
        flow.in_flight.fetch_add(1, Ordering::SeqCst);
        Receipt(Arc::clone(flow))
    }
}

impl Clone for Receipt {
    fn clone(&self) -> Self {
        Receipt::new(&self.0)
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.ready.notify_one();
    }
}

/// Records and notices of a tail session, in order, with the receipt that frees their slot.
#[derive(Clone, Debug)]
pub struct TailBatch {
    pub items: Vec<TailItem>,
    pub receipt: Option<Receipt>,
}

impl TailBatch {
    /// A batch outside any flow (tests, and the UI's own notices).
    pub fn detached(items: Vec<TailItem>) -> TailBatch {
        TailBatch { items, receipt: None }
    }
}

/// Batches compare by their items: the receipt is bookkeeping, not content.
impl PartialEq for TailBatch {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

/// The session the worker runs for the console.
pub struct WorkerTail {
    pub id: TailId,
    pub session: Option<TailSession>,
    pub flow: Arc<TailFlow>,
}

impl WorkerTail {
    /// Takes what the session queued, if the UI has a free slot; None when there is nothing to
    /// send (or no slot: a dropped receipt wakes the worker again). The bool says the session
    /// ended (its last items are in the batch).
    pub fn drain(&mut self) -> (Option<Update>, bool) {
        let Some(session) = &self.session else {
            return (None, true);
        };
        if self.flow.in_flight() >= BATCHES_IN_FLIGHT {
            return (None, false);
        }
        // Closed first: a closed inbox gets nothing more, so this drain takes everything.
        let ended = session.inbox().is_closed();
        let items = session.inbox().drain();
        let update = (!items.is_empty()).then(|| Update::Tail {
            session: self.id,
            batch: TailBatch {
                items,
                receipt: Some(Receipt::new(&self.flow)),
            },
        });
        (update, ended)
    }

    /// Stops the session without blocking the caller: the consumer closes on a blocking thread.
    pub fn stop(&mut self) {
        self.flow.closed.store(true, Ordering::SeqCst);
        if let Some(session) = self.session.take() {
            session.control(TailControl::Stop);
            session.inbox().close();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(move || session.stop());
                }
                Err(_) => session.stop(),
            }
        }
    }
}

impl Drop for WorkerTail {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The wake function a session calls when records arrive in its empty inbox: false once the
/// worker let go of it.
pub fn waker(flow: &Arc<TailFlow>) -> Box<dyn FnMut() -> bool + Send> {
    let flow = Arc::clone(flow);
    Box::new(move || {
        flow.ready.notify_one();
        !flow.closed.load(Ordering::SeqCst)
    })
}

/// An inbox for a console session.
pub fn inbox() -> Arc<TailInbox> {
    TailInbox::new(INBOX_RECORDS)
}

/// The batch that says a session could not start.
pub fn failed(session: TailId, message: String) -> Update {
    Update::Tail {
        session,
        batch: TailBatch::detached(vec![TailItem::Notice(TailNotice::Failed(message))]),
    }
}

/// The session an order is about.
pub fn order_session(order: &TailOrder) -> TailId {
    match order {
        TailOrder::Open { session, .. } | TailOrder::Control { session, .. } | TailOrder::Close { session } => *session,
    }
}
