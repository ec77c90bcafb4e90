//! The group service: the async wrapper around the pure group coordinator and the offsets
//! store. It parks JoinGroup/SyncGroup requests on oneshot channels, runs the coordinator's
//! timers, persists group records after every change, and expires old offsets.
//!
//! Lock order: `state` before `store`, always. Both are std mutexes held only for memory work:
//! changes are queued in the store and written and fsynced by [`GroupService::flush_to`] off
//! the async workers, with neither lock held, so a commit's fsync never stalls a heartbeat.
//! Concurrent commits share one fsync.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{oneshot, watch, Notify};

use crate::broker::config::BrokerConfig;
use crate::broker::error::BrokerError;
use crate::broker::group::coordinator::{
    Completion, Coordinator, GroupConfig, GroupDescription, GroupListing, HeartbeatRequest, JoinRequest, LeaveRequest,
    LeaveResponse, OffsetDeletePolicy, Response, SyncRequest,
};
use crate::broker::group::offsets::{OffsetStore, PartitionOffset};
use crate::broker::storage::{self, Disk};

/// Kafka's `offsets.retention.check.interval.ms` default.
const EXPIRY_CHECK_MS: u64 = 600_000;
/// KAFKA_STORAGE_ERROR.
const STORAGE_ERROR: i16 = 56;

struct State {
    coord: Coordinator<u64>,
    waiters: HashMap<u64, oneshot::Sender<Response>>,
    next_token: u64,
}

pub struct GroupService {
    state: Mutex<State>,
    store: Mutex<OffsetStore>,
    disk: Disk,
    /// One writer of the offsets file at a time (a write plus its fsync, or a compaction).
    flush_turn: tokio::sync::Mutex<()>,
    wake: Notify,
    retention_ms: u64,
}

fn now() -> u64 {
    crate::broker::now_ms().max(0) as u64
}

impl GroupService {
    /// Opens the offsets store in `dir` (blocking) and drops the offsets of topics for which
    /// `topic_exists` is false: a topic deleted just before a crash must not hand its old
    /// offsets to a topic created later under the same name.
    pub fn open(
        disk: Disk,
        dir: &Path,
        config: &BrokerConfig,
        topic_exists: impl Fn(&str) -> bool,
    ) -> Result<Self, BrokerError> {
        let catalog_err = |e: &dyn std::fmt::Display| BrokerError::Catalog {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let mut store = OffsetStore::open(Arc::clone(&disk), dir).map_err(|e| catalog_err(&e))?;
        if let Some(t) = store.truncated_on_open() {
            tracing::warn!(path = %store.path().display(), at = t.at, bytes = t.dropped_bytes, reason = t.reason, "offsets store: cut a torn tail");
        }
        for topic in store.topics() {
            if !topic_exists(&topic) {
                let (n, _) = store.delete_topic(&topic).map_err(|e| catalog_err(&e))?;
                tracing::info!(topic = %topic, offsets = n, "dropped committed offsets of a deleted topic");
            }
        }
        store.flush().map_err(|e| catalog_err(&e))?;
        let group_config = GroupConfig {
            min_session_timeout_ms: config.get_i64("group.min.session.timeout.ms") as i32,
            max_session_timeout_ms: config.get_i64("group.max.session.timeout.ms") as i32,
            initial_rebalance_delay_ms: config.get_i64("group.initial.rebalance.delay.ms") as i32,
        };
        let mut coord = Coordinator::new(group_config);
        let t = now();
        for (group, record) in store.restorable_groups() {
            coord.restore_group(&group, record.as_ref(), t);
        }
        Ok(GroupService {
            state: Mutex::new(State {
                coord,
                waiters: HashMap::new(),
                next_token: 0,
            }),
            store: Mutex::new(store),
            disk,
            flush_turn: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            retention_ms: config.get_i64("offsets.retention.minutes").max(1) as u64 * 60_000,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn store(&self) -> MutexGuard<'_, OffsetStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until every change up to `ticket` is written and fsynced. Whoever holds the turn
    /// writes everything queued so far, so concurrent callers share one fsync; the write runs
    /// off the async workers and without the store's lock.
    pub async fn flush_to(&self, ticket: u64) -> io::Result<()> {
        loop {
            if self.store().durable() >= ticket {
                return Ok(());
            }
            let _turn = self.flush_turn.lock().await;
            let write = {
                let mut store = self.store();
                if store.durable() >= ticket {
                    return Ok(());
                }
                store.take_write()?
            };
            let Some(write) = write else {
                // Nothing queued, yet the ticket is not durable: a failed compaction took it.
                self.store().check()?;
                return Err(io::Error::other("offsets store: queued changes were not written"));
            };
            let write = storage::blocking(&self.disk, move || write.perform().map(|_| write.ticket)).await;
            let mut store = self.store();
            match write {
                Ok(t) => store.written(t),
                Err(e) => {
                    store.fail(&e);
                    return Err(e);
                }
            }
        }
    }

    /// Writes and fsyncs everything queued so far.
    pub async fn flush(&self) -> io::Result<()> {
        let ticket = self.store().queued();
        self.flush_to(ticket).await
    }

    /// Rewrites the offsets file if it is mostly dead records (off the async workers).
    async fn compact(&self) -> io::Result<()> {
        let _turn = self.flush_turn.lock().await;
        let Some(c) = self.store().prepare_compaction()? else {
            return Ok(());
        };
        let c = Arc::new(c);
        let job = Arc::clone(&c);
        let done = storage::blocking(&self.disk, move || job.perform()).await;
        let mut store = self.store();
        match done {
            Ok((file, len)) => {
                store.compacted(c.ticket, file, len);
                Ok(())
            }
            Err(e) => {
                store.fail(&e);
                Err(e)
            }
        }
    }

    /// Sends completed responses, persists changed group records and wakes the timer task
    /// (deadlines may have moved); `state` is held.
    fn settle(&self, state: &mut State, completions: Vec<Completion<u64>>) {
        self.deliver(state, completions);
        self.wake.notify_one();
    }

    /// `settle` without the wake-up, for the timer task itself (waking itself would spin).
    fn deliver(&self, state: &mut State, completions: Vec<Completion<u64>>) {
        for c in completions {
            tracing::debug!(token = c.token, response = ?c.response, "group response ready");
            if let Some(tx) = state.waiters.remove(&c.token) {
                // The requester may have disconnected; nothing to do then.
                let _ = tx.send(c.response);
            }
        }
        // Queued only: the timer task writes them within a tick, and any later commit's
        // fsync covers them too.
        let dirty = state.coord.take_dirty_groups();
        if !dirty.is_empty() {
            let mut store = self.store();
            for record in dirty {
                if let Err(e) = store.put_group(&record) {
                    tracing::error!(group = %record.group_id, error = %e, "cannot persist group record");
                }
            }
        }
    }

    fn park(&self, state: &mut State) -> (u64, oneshot::Receiver<Response>) {
        let token = state.next_token;
        state.next_token += 1;
        let (tx, rx) = oneshot::channel();
        state.waiters.insert(token, tx);
        (token, rx)
    }

    /// JoinGroup; the receiver resolves when the coordinator answers (maybe after a rebalance).
    pub fn join(&self, req: JoinRequest) -> oneshot::Receiver<Response> {
        let mut state = self.state();
        let (token, rx) = self.park(&mut state);
        let completions = state.coord.join(token, req, now());
        self.settle(&mut state, completions);
        rx
    }

    pub fn sync(&self, req: SyncRequest) -> oneshot::Receiver<Response> {
        let mut state = self.state();
        let (token, rx) = self.park(&mut state);
        let completions = state.coord.sync(token, req, now());
        self.settle(&mut state, completions);
        rx
    }

    pub fn heartbeat(&self, req: &HeartbeatRequest) -> i16 {
        let mut state = self.state();
        let code = state.coord.heartbeat(req, now());
        self.settle(&mut state, Vec::new());
        code
    }

    pub fn leave(&self, req: &LeaveRequest) -> LeaveResponse {
        let mut state = self.state();
        let (resp, completions) = state.coord.leave(req, now());
        self.settle(&mut state, completions);
        resp
    }

    pub fn validate_commit(
        &self,
        group: &str,
        member: &str,
        generation: i32,
        instance: Option<&str>,
    ) -> Result<(), i16> {
        let mut state = self.state();
        let r = state.coord.validate_commit(group, member, generation, instance, now());
        self.settle(&mut state, Vec::new());
        r
    }

    /// Stores offsets durably (written and fsynced) before returning.
    pub async fn commit(&self, group: String, offsets: Vec<PartitionOffset>) -> io::Result<()> {
        let ticket = self.store().commit(&group, &offsets)?;
        self.flush_to(ticket).await
    }

    /// The committed offsets; Err when the store is offline after a storage failure.
    pub fn fetch(&self, group: &str, topics: Option<&[String]>) -> io::Result<Vec<PartitionOffset>> {
        let store = self.store();
        store.check()?;
        Ok(store.fetch(group, topics))
    }

    pub fn describe(&self, group: &str) -> Option<GroupDescription> {
        self.state().coord.describe(group)
    }

    pub fn list(&self, states: &[String]) -> Vec<GroupListing> {
        self.state().coord.list(states)
    }

    /// Deletes groups (and their offsets) that the coordinator allows deleting; returns once
    /// the deletions are durable. A group whose tombstone cannot be made durable gets
    /// KAFKA_STORAGE_ERROR.
    pub async fn delete_groups(&self, groups: &[String]) -> Vec<(String, i16)> {
        let (mut results, ticket) = {
            let mut state = self.state();
            let results = state.coord.delete_groups(groups);
            let mut ticket = Ok(0);
            {
                let mut store = self.store();
                for (g, code) in &results {
                    if *code == 0 {
                        match store.delete_group(g) {
                            Ok((_, t)) => ticket = ticket.map(|_| t),
                            Err(e) => ticket = Err(e),
                        }
                    }
                }
            }
            self.settle(&mut state, Vec::new());
            (results, ticket)
        };
        let durable = match ticket {
            Ok(t) => self.flush_to(t).await,
            Err(e) => Err(e),
        };
        if let Err(e) = durable {
            tracing::error!(error = %e, "cannot delete group offsets");
            for (_, code) in results.iter_mut().filter(|(_, c)| *c == 0) {
                *code = STORAGE_ERROR;
            }
        }
        results
    }

    pub fn offset_delete_policy(&self, group: &str) -> Result<OffsetDeletePolicy, i16> {
        self.state().coord.offset_delete_policy(group)
    }

    /// OffsetDelete; returns once the deletion is durable.
    pub async fn delete_offsets(&self, group: &str, topic: &str, partitions: &[i32]) -> io::Result<usize> {
        let (n, ticket) = self.store().delete_offsets(group, topic, partitions)?;
        self.flush_to(ticket).await?;
        Ok(n)
    }

    /// Drops every group's committed offsets of a deleted topic, as Kafka does; returns once
    /// that is durable.
    pub async fn forget_topic(&self, topic: &str) -> io::Result<usize> {
        let (n, ticket) = self.store().delete_topic(topic)?;
        self.flush_to(ticket).await?;
        Ok(n)
    }

    /// Runs the coordinator's timers and offset expiry until shutdown; then fails every parked
    /// request so no connection waits on a dead coordinator.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut next_expiry = now() + EXPIRY_CHECK_MS;
        loop {
            let wait = {
                let state = self.state();
                let t = now();
                state
                    .coord
                    .next_deadline()
                    .map(|d| d.saturating_sub(t))
                    .unwrap_or(1000)
                    .min(1000)
            };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => break,
            }
            let t = now();
            {
                let mut state = self.state();
                let completions = state.coord.tick(t);
                self.deliver(&mut state, completions);
            }
            if t >= next_expiry {
                next_expiry = t + EXPIRY_CHECK_MS;
                self.expire(t);
                if let Err(e) = self.compact().await {
                    tracing::warn!(error = %e, "offsets store compaction failed");
                }
            }
            // Group records and expiry tombstones that no commit flushed yet.
            let unwritten = {
                let store = self.store();
                store.queued() > store.durable()
            };
            if unwritten {
                if let Err(e) = self.flush().await {
                    tracing::warn!(error = %e, "cannot write group records");
                }
            }
        }
        self.state().waiters.clear();
        if let Err(e) = self.flush().await {
            tracing::error!(error = %e, "cannot write the offsets store at shutdown");
        }
    }

    fn expire(&self, t: u64) {
        let mut state = self.state();
        let mut store = self.store();
        match store.expire(t, self.retention_ms, |g| state.coord.retention_base(g)) {
            Ok(gone) if !gone.is_empty() => tracing::info!(offsets = gone.len(), "expired committed offsets"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "offset expiry failed"),
        }
        let removed = state.coord.remove_empty_groups(|g| store.has_offsets(g));
        for g in removed {
            if let Err(e) = store.delete_group(&g) {
                tracing::warn!(group = %g, error = %e, "cannot delete an expired group");
            }
        }
    }
}
