//! The lag monitor as the console's worker and `strom lag` run it: a [`LagTracker`] fed with
//! what they fetch (watermarks, the group list with each member's assignment, committed
//! offsets, record timestamps), and the [`GroupLagReport`] a pane or the CLI shows for a group.
//!
//! The tracker (`cluster::lag`) is pure and judges; this joins it to the cluster's answers:
//! which partitions a live member holds (STALL rather than STOP), which record timestamps are
//! worth a fetch and for which groups, and what part of the history each view needs. Time is
//! a parameter (milliseconds since the epoch), as in the tracker.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::cluster::ffi::{CommittedOffset, ListedOffset};
use crate::cluster::lag::{CommitSample, GroupLag, LagConfig, LagTracker, Millis};
use crate::cluster::model::{GroupSummary, PartitionMap};
use crate::cluster::tail::RecordTimestamp;

/// Sparkline points a list row carries: two minutes at the tracker's 5 s step.
pub const LIST_SPARK_POINTS: usize = 24;
/// Record timestamps waiting to be fetched, at most (the oldest asks are dropped first).
const MAX_PENDING_TIMESTAMPS: usize = 2_000;

/// One group's lag as a pane or `strom lag` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLagReport {
    pub lag: GroupLag,
    /// Topics the group has committed offsets for, sorted.
    pub topics: Vec<Arc<str>>,
    /// Total lag per sparkline step, oldest first, the last one now (None: no sample then).
    pub sparkline: Vec<Option<u64>>,
    /// Total lag over the tracker's whole history (start of step, lag): only for a group
    /// whose detail is open, empty otherwise.
    pub history: Vec<(Millis, u64)>,
    /// When this was computed: ages shown ("12 s ago") count from here.
    pub at_ms: Millis,
    /// The status rules' window.
    pub window_ms: i64,
    /// One sparkline step.
    pub step_ms: i64,
}

/// The tracker with the cluster's answers around it.
#[derive(Debug, Default)]
pub struct LagMonitor {
    tracker: LagTracker,
    log_starts: PartitionMap<i64>,
    groups: HashMap<String, GroupSummary>,
    /// Record timestamps asked for, by (topic, partition, offset), with the groups whose next
    /// record that is; in the order they were asked.
    pending: HashMap<(Arc<str>, i32, i64), Vec<String>>,
    order: VecDeque<(Arc<str>, i32, i64)>,
}

impl LagMonitor {
    pub fn new(cfg: LagConfig) -> LagMonitor {
        LagMonitor {
            tracker: LagTracker::new(cfg),
            ..LagMonitor::default()
        }
    }

    pub fn config(&self) -> &LagConfig {
        self.tracker.config()
    }

    pub fn tracker(&self) -> &LagTracker {
        &self.tracker
    }

    /// Log start offsets from a ListOffsets(earliest) answer; used with the next high
    /// watermarks of each partition.
    pub fn observe_log_starts(&mut self, list: &[ListedOffset]) {
        for o in list.iter().filter(|o| o.error.is_none() && o.offset >= 0) {
            self.log_starts.insert(&o.topic, o.partition, o.offset);
        }
    }

    /// High watermarks from a ListOffsets(latest) answer at `now`.
    pub fn observe_high_watermarks(&mut self, list: &[ListedOffset], now: Millis) {
        for o in list.iter().filter(|o| o.error.is_none() && o.offset >= 0) {
            let log_start = self.log_starts.get(&o.topic, o.partition).unwrap_or(0);
            self.tracker
                .observe_partition(&o.topic, o.partition, log_start.min(o.offset), o.offset, now);
        }
    }

    /// The group list (with members and assignments). Groups no longer listed are forgotten,
    /// as is whatever was not observed for the tracker's forget time.
    pub fn set_groups(&mut self, list: &[GroupSummary], now: Millis) {
        let listed: HashSet<&str> = list.iter().map(|g| g.name.as_str()).collect();
        let gone: Vec<String> = self
            .tracker
            .group_names()
            .filter(|g| !listed.contains(g))
            .map(str::to_string)
            .collect();
        for g in gone {
            self.tracker.remove_group(&g);
        }
        self.groups = list.iter().map(|g| (g.name.clone(), g.clone())).collect();
        self.tracker.forget_stale(now);
    }

    pub fn group_summary(&self, group: &str) -> Option<&GroupSummary> {
        self.groups.get(group)
    }

    /// A group's committed offsets as fetched at `now`. Partitions a member was assigned but
    /// the group never committed are observed too, without a commit (shown as "-", not 0):
    /// OffsetFetch for a whole group lists only committed partitions.
    pub fn observe_group(&mut self, group: &str, offsets: &[CommittedOffset], now: Millis) {
        let summary = self.groups.get(group);
        let committed: HashSet<(&str, i32)> = offsets.iter().map(|o| (o.topic.as_str(), o.partition)).collect();
        let uncommitted = summary
            .into_iter()
            .flat_map(|g| g.member_list.iter())
            .flat_map(|m| m.assignment.iter())
            .filter(|tp| !committed.contains(tp))
            .map(|(topic, partition)| CommitSample {
                topic,
                partition,
                committed: None,
                assigned: true,
            });
        let samples = offsets
            .iter()
            .filter(|o| o.error.is_none())
            .map(|o| CommitSample {
                topic: &o.topic,
                partition: o.partition,
                committed: o.offset,
                assigned: summary.is_some_and(|g| g.is_assigned(&o.topic, o.partition)),
            })
            .chain(uncommitted);
        self.tracker.observe_group(group, now, samples);
    }

    /// Queues the record timestamps that would make `group`'s time lags exact.
    pub fn want_timestamps(&mut self, group: &str) {
        for w in self.tracker.timestamps_wanted(group) {
            let key = (w.topic, w.partition, w.offset);
            match self.pending.get_mut(&key) {
                Some(groups) => {
                    if !groups.iter().any(|g| g == group) {
                        groups.push(group.to_string());
                    }
                }
                None => {
                    self.pending.insert(key.clone(), vec![group.to_string()]);
                    self.order.push_back(key);
                }
            }
        }
        while self.order.len() > MAX_PENDING_TIMESTAMPS {
            if let Some(k) = self.order.pop_front() {
                self.pending.remove(&k);
            }
        }
    }

    /// Whether timestamps are waiting to be fetched.
    pub fn has_pending_timestamps(&self) -> bool {
        !self.order.is_empty()
    }

    /// Up to `limit` queued asks, oldest first, one per partition (a fetch reads one offset
    /// of a partition at a time). They stay queued until answered.
    pub fn next_timestamps(&self, limit: usize) -> Vec<(String, i32, i64)> {
        let mut seen: HashSet<(&str, i32)> = HashSet::new();
        self.order
            .iter()
            .filter(|(t, p, _)| seen.insert((t.as_ref(), *p)))
            .take(limit)
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect()
    }

    /// Applies fetched timestamps to the groups that asked; returns those groups. An answer
    /// without a timestamp drops the ask (the next refresh asks again if still wanted).
    pub fn apply_timestamps(&mut self, answers: &[RecordTimestamp]) -> Vec<String> {
        let mut touched: Vec<String> = Vec::new();
        for a in answers {
            let key: (Arc<str>, i32, i64) = (Arc::from(a.topic.as_str()), a.partition, a.offset);
            let Some(groups) = self.pending.remove(&key) else {
                continue;
            };
            self.order.retain(|k| *k != key);
            if let Some(ts) = a.timestamp {
                for g in groups {
                    self.tracker.record_timestamp(&g, &a.topic, a.partition, a.offset, ts);
                    if !touched.contains(&g) {
                        touched.push(g);
                    }
                }
            }
        }
        touched
    }

    /// The report of `group` at `now`; `history` includes the full total-lag history (for a
    /// chart). None when the group was never observed.
    pub fn report(&self, group: &str, now: Millis, history: bool) -> Option<GroupLagReport> {
        let lag = self.tracker.group(group, now)?;
        let mut topics: Vec<Arc<str>> = lag.partitions.iter().map(|p| Arc::clone(&p.topic)).collect();
        topics.dedup();
        Some(GroupLagReport {
            topics,
            sparkline: self.tracker.sparkline(group, now, LIST_SPARK_POINTS),
            history: if history {
                self.tracker.total_lag_history(group)
            } else {
                Vec::new()
            },
            at_ms: now,
            window_ms: self.tracker.config().window_ms,
            step_ms: self.tracker.config().sparkline_step_ms,
            lag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::consumer_protocol::{Assignment, TopicPartitions};
    use crate::cluster::lag::{Reason, Status, TimeLag};
    use crate::cluster::model::GroupMember;

    const T0: Millis = 1_700_000_000_000;

    fn listed(topic: &str, partition: i32, offset: i64) -> ListedOffset {
        ListedOffset {
            topic: topic.into(),
            partition,
            offset,
            timestamp: -1,
            leader_epoch: None,
            error: None,
        }
    }

    fn committed(topic: &str, partition: i32, offset: i64) -> CommittedOffset {
        CommittedOffset {
            topic: topic.into(),
            partition,
            offset: Some(offset),
            metadata: None,
            leader_epoch: None,
            error: None,
        }
    }

    fn group(name: &str, state: &str, holds: &[(&str, i32)]) -> GroupSummary {
        let member = GroupMember {
            member_id: "m-1".into(),
            client_id: "c".into(),
            host: "/127.0.0.1".into(),
            subscription: vec![],
            assignment: Assignment {
                version: 0,
                partitions: holds
                    .iter()
                    .map(|(t, p)| TopicPartitions {
                        topic: t.to_string(),
                        partitions: vec![*p],
                    })
                    .collect(),
                user_data: None,
            },
            decode_error: None,
        };
        GroupSummary {
            name: name.into(),
            state: state.into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: usize::from(!holds.is_empty()),
            member_list: if holds.is_empty() { vec![] } else { vec![member] },
        }
    }

    #[test]
    fn a_partition_no_member_holds_stops_and_one_a_member_holds_stalls() {
        let mut m = LagMonitor::new(LagConfig::default());
        m.set_groups(&[group("g", "Stable", &[("orders", 0)])], T0);
        for i in 0..8 {
            let now = T0 + i * 5_000;
            m.observe_log_starts(&[listed("orders", 0, 0), listed("orders", 1, 0)]);
            m.observe_high_watermarks(&[listed("orders", 0, 100 + i), listed("orders", 1, 100 + i)], now);
            m.observe_group("g", &[committed("orders", 0, 10), committed("orders", 1, 10)], now);
        }
        let r = m.report("g", T0 + 35_000, true).unwrap();
        let status: Vec<Status> = r.lag.partitions.iter().map(|p| p.status).collect();
        assert_eq!(status, [Status::Stall, Status::Stop], "{:?}", r.lag.partitions);
        assert_eq!(r.topics.len(), 1);
        assert!(!r.history.is_empty());
        assert!(m.report("g", T0, false).unwrap().history.is_empty());
        // The group is gone from the list: forgotten.
        m.set_groups(&[], T0 + 40_000);
        assert!(m.report("g", T0 + 40_000, false).is_none());
    }

    #[test]
    fn timestamps_go_to_the_groups_that_asked_for_that_offset() {
        let mut m = LagMonitor::new(LagConfig::default());
        m.set_groups(&[group("a", "Empty", &[]), group("b", "Empty", &[])], T0);
        m.observe_high_watermarks(&[listed("orders", 0, 100)], T0);
        m.observe_group("a", &[committed("orders", 0, 40)], T0);
        m.observe_group("b", &[committed("orders", 0, 70)], T0);
        m.want_timestamps("a");
        m.want_timestamps("b");
        m.want_timestamps("a");
        // One fetch per partition at a time: a's offset first.
        assert_eq!(m.next_timestamps(10), [("orders".to_string(), 0, 40)]);
        let touched = m.apply_timestamps(&[RecordTimestamp {
            topic: "orders".into(),
            partition: 0,
            offset: 40,
            timestamp: Some(T0 - 90_000),
        }]);
        assert_eq!(touched, ["a"]);
        let a = m.report("a", T0, false).unwrap();
        assert_eq!(a.lag.partitions[0].time_lag, TimeLag::Record { ms: 90_000 });
        let b = m.report("b", T0, false).unwrap();
        assert_ne!(
            b.lag.partitions[0].time_lag,
            TimeLag::Record { ms: 90_000 },
            "b reads another record"
        );
        assert_eq!(m.next_timestamps(10), [("orders".to_string(), 0, 70)]);
        // No record there (answered without a timestamp): the ask is dropped.
        m.apply_timestamps(&[RecordTimestamp {
            topic: "orders".into(),
            partition: 0,
            offset: 70,
            timestamp: None,
        }]);
        assert!(!m.has_pending_timestamps());
    }

    #[test]
    fn an_assigned_partition_without_a_commit_is_listed_without_lag() {
        let mut m = LagMonitor::new(LagConfig::default());
        m.set_groups(&[group("g", "Stable", &[("orders", 0), ("orders", 1)])], T0);
        m.observe_high_watermarks(&[listed("orders", 0, 100), listed("orders", 1, 50)], T0);
        m.observe_group("g", &[committed("orders", 0, 90)], T0);
        let r = m.report("g", T0, false).unwrap();
        let got: Vec<(i32, Option<i64>, Option<i64>)> = r
            .lag
            .partitions
            .iter()
            .map(|p| (p.partition, p.committed, p.lag))
            .collect();
        assert_eq!(got, [(0, Some(90), Some(10)), (1, None, None)]);
        assert_eq!(r.lag.total_lag, 10);
    }

    #[test]
    fn below_log_start_uses_the_log_start_that_came_before_the_watermark() {
        let mut m = LagMonitor::new(LagConfig::default());
        m.set_groups(&[group("g", "Empty", &[])], T0);
        m.observe_log_starts(&[listed("orders", 0, 50)]);
        m.observe_high_watermarks(&[listed("orders", 0, 80)], T0);
        m.observe_group("g", &[committed("orders", 0, 20)], T0);
        let p = &m.report("g", T0, false).unwrap().lag.partitions[0];
        assert_eq!((p.lag, p.deleted_unread, p.status), (Some(30), 30, Status::Error));
        assert!(matches!(p.reason, Reason::BelowLogStart { log_start: 50, .. }));
    }
}
