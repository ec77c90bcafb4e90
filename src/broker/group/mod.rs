//! Consumer groups: the classic rebalance protocol and committed offsets.
//!
//! - [`coordinator`]: the pure, clock-injected state machine of Kafka's classic group
//!   coordinator (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups,
//!   DeleteGroups, offset-commit validation). No I/O, no clock, no async.
//! - [`offsets`]: the durable store of committed offsets and of the little group metadata that
//!   must survive a restart, in one append-only file.
//!
//! The two halves share only the plain types below; neither calls the other. The async wrapper
//! (the broker's group handlers) owns one of each and moves data between them: it feeds the
//! store's groups to [`coordinator::Coordinator::restore_group`] on start, persists
//! [`coordinator::Coordinator::take_dirty_groups`] after each call, and asks the coordinator for
//! each group's [`RetentionBase`] when expiring offsets.
//!
//! The wrapper's duties, in Kafka's terms:
//!
//! - start: `OffsetStore::open`, then `restore_group` for each of
//!   `OffsetStore::restorable_groups()`;
//! - after every coordinator call and tick: `put_group` each of `take_dirty_groups()`;
//! - timers: sleep until `next_deadline()` (treat a past deadline as now), then `tick(now)` and
//!   send the completions;
//! - OffsetCommit: `validate_commit`, then `OffsetStore::commit` and `sync` before answering;
//! - DeleteGroups: `OffsetStore::delete_group` for each group the coordinator deleted;
//! - OffsetDelete: `offset_delete_policy`, then `delete_offsets` for the partitions whose
//!   `topic_error` is NONE;
//! - every `offsets.retention.check.interval.ms` (Kafka: 600000): `OffsetStore::expire` with
//!   `retention_base`, then `remove_empty_groups(has_offsets)` and `delete_group` for each
//!   removed group, then `maybe_compact`.
//!
//! This module must not depend on the protocol codec (`kafka-protocol`), tokio, or the log.

pub mod coordinator;
pub mod offsets;

use std::collections::HashSet;

/// The part of a group's state that is persisted: enough to bring the group back as `Empty`
/// after a restart, with its protocol type, its generation, and the time it became empty (which
/// starts the offsets retention clock, KIP-211).
///
/// Members and assignments are deliberately not persisted: after a restart every member rejoins
/// anyway (Kafka reloads them only to time them out after their session timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub group_id: String,
    /// `None` for a group that never had a member (only standalone commits).
    pub protocol_type: Option<String>,
    pub generation_id: i32,
    /// `Some(ms)` if the group was `Empty` when written, since that time; `None` if it had members.
    pub empty_since_ms: Option<u64>,
}

/// From when a group's committed offsets age, per Kafka's `GroupMetadata.removeExpiredOffsets`
/// (KIP-211, KIP-496). An offset with an explicit expire timestamp (OffsetCommit v1-v4
/// `retention_time_ms`) expires at that timestamp instead, except under [`RetentionBase::Keep`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionBase {
    /// The group has members and no known subscription: keep every offset.
    Keep,
    /// The group (which has had members) is `Empty` since this time: every offset expires
    /// `retention` after it.
    EmptySince(u64),
    /// A standalone group (never had members, protocol type unknown): each offset expires
    /// `retention` after its own commit timestamp.
    CommitTimestamp,
    /// A `Stable` consumer group that knows its subscription: offsets of topics it is not
    /// subscribed to expire `retention` after their commit timestamp; the others are kept.
    CommitTimestampExceptSubscribed(HashSet<String>),
}
