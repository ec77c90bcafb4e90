//! The group service: the async wrapper around the pure group coordinator and the offsets
//! store. It parks JoinGroup/SyncGroup requests on oneshot channels, runs the coordinator's
//! timers, persists group records after every change, and expires old offsets.
//!
//! Lock order: `state` before `store`, always.

use std::collections::HashMap;
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

/// Kafka's `offsets.retention.check.interval.ms` default.
const EXPIRY_CHECK_MS: u64 = 600_000;

struct State {
    coord: Coordinator<u64>,
    waiters: HashMap<u64, oneshot::Sender<Response>>,
    next_token: u64,
}

pub struct GroupService {
    state: Mutex<State>,
    store: Mutex<OffsetStore>,
    wake: Notify,
    retention_ms: u64,
}

fn now() -> u64 {
    crate::broker::now_ms().max(0) as u64
}

impl GroupService {
    pub fn open(dir: &Path, config: &BrokerConfig) -> Result<Self, BrokerError> {
        let store = OffsetStore::open(dir).map_err(|e| BrokerError::Catalog {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        if let Some(t) = store.truncated_on_open() {
            tracing::warn!(path = %store.path().display(), at = t.at, bytes = t.dropped_bytes, reason = t.reason, "offsets store: cut a torn tail");
        }
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
    pub async fn commit(self: &Arc<Self>, group: String, offsets: Vec<PartitionOffset>) -> std::io::Result<()> {
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = me.store();
            store.commit(&group, &offsets)?;
            store.sync()
        })
        .await
        .map_err(std::io::Error::other)?
    }

    pub fn fetch(&self, group: &str, topics: Option<&[String]>) -> Vec<PartitionOffset> {
        self.store().fetch(group, topics)
    }

    pub fn describe(&self, group: &str) -> Option<GroupDescription> {
        self.state().coord.describe(group)
    }

    pub fn list(&self, states: &[String]) -> Vec<GroupListing> {
        self.state().coord.list(states)
    }

    /// Deletes groups (and their offsets) that the coordinator allows deleting.
    pub fn delete_groups(&self, groups: &[String]) -> Vec<(String, i16)> {
        let mut state = self.state();
        let results = state.coord.delete_groups(groups);
        {
            let mut store = self.store();
            for (g, code) in &results {
                if *code == 0 {
                    if let Err(e) = store.delete_group(g) {
                        tracing::error!(group = %g, error = %e, "cannot delete group offsets");
                    }
                }
            }
        }
        self.settle(&mut state, Vec::new());
        results
    }

    pub fn offset_delete_policy(&self, group: &str) -> Result<OffsetDeletePolicy, i16> {
        self.state().coord.offset_delete_policy(group)
    }

    pub fn delete_offsets(&self, group: &str, topic: &str, partitions: &[i32]) -> std::io::Result<usize> {
        self.store().delete_offsets(group, topic, partitions)
    }

    /// Drops the committed offsets of a deleted topic, as Kafka does.
    pub fn forget_topic(&self, topic: &str) {
        if let Err(e) = self.store().delete_topic(topic) {
            tracing::warn!(topic, error = %e, "cannot drop offsets of deleted topic");
        }
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
            }
        }
        let mut state = self.state();
        state.waiters.clear();
        let _ = self.store().sync();
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
            let _ = store.delete_group(&g);
        }
        if let Err(e) = store.maybe_compact() {
            tracing::warn!(error = %e, "offsets store compaction failed");
        }
    }
}
