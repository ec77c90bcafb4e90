//! The classic group coordinator: Kafka's `GroupCoordinator`/`GroupMetadata` state machine for
//! JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups, DeleteGroups and the
//! validation half of OffsetCommit/OffsetDelete.
//!
//! Pure and synchronous: time enters as `now_ms` on every call, and nothing here does I/O,
//! spawns, sleeps or reads a clock. Kafka parks JoinGroup and SyncGroup requests in purgatories
//! and answers them later, possibly from another member's request or a timer; here each parked
//! request is represented by a caller token `T` (a oneshot sender, a request id, ...), and every
//! call returns the [`Completion`]s it produced, for the caller's own request or for others'.
//! Timers (session timeouts, the rebalance timeout, the initial rebalance delay, the pending
//! member and pending sync timeouts) fire only in [`Coordinator::tick`]; the caller sleeps until
//! [`Coordinator::next_deadline`] and ticks. Every deadline is at least 1 ms after the call that
//! set it, so a tick never re-arms a timer that is already due (no busy loop on a 0 ms timeout).
//!
//! Behaviour follows Kafka 3.x's `kafka.coordinator.group.GroupCoordinator` (the classic
//! protocol); the few deliberate differences are marked "Unlike Kafka" in the comments. Groups
//! are never kept in the `Dead` state: a deleted group is simply forgotten.
//!
//! Must not depend on the protocol codec, tokio, the log or the offsets store.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{GroupRecord, RetentionBase};

/// Kafka error codes this module answers with (`org.apache.kafka.common.protocol.Errors`).
pub const NONE: i16 = 0;
pub const UNKNOWN_SERVER_ERROR: i16 = -1;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const ILLEGAL_GENERATION: i16 = 22;
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
pub const INVALID_GROUP_ID: i16 = 24;
pub const UNKNOWN_MEMBER_ID: i16 = 25;
pub const INVALID_SESSION_TIMEOUT: i16 = 26;
pub const REBALANCE_IN_PROGRESS: i16 = 27;
pub const NON_EMPTY_GROUP: i16 = 68;
pub const GROUP_ID_NOT_FOUND: i16 = 69;
pub const MEMBER_ID_REQUIRED: i16 = 79;
pub const FENCED_INSTANCE_ID: i16 = 82;
pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

/// The protocol type of Kafka consumers; only such groups have a decodable subscription.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// How long a new member's JoinGroup may stay parked before the member is dropped (Kafka's
/// `GroupCoordinator.NewMemberJoinTimeoutMs`): a new member cannot heartbeat yet, and a client
/// that gave up on its request would otherwise stay in the rebalance forever.
pub const NEW_MEMBER_JOIN_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// Broker settings of the coordinator, with Kafka's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`
    pub initial_rebalance_delay_ms: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
        }
    }
}

/// A group's state, named as Kafka names it in DescribeGroups and ListGroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JoinGroup request, version-independent.
///
/// The handler maps versions onto it as Kafka's `KafkaApis` does: v0 has no rebalance timeout
/// (use the session timeout); `require_known_member_id` is `version >= 4 &&
/// group_instance_id.is_none()`; `supports_skip_assignment` is `version >= 9`; `client_host` is
/// what Kafka shows, `"/" + peer IP`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub require_known_member_id: bool,
    pub supports_skip_assignment: bool,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (protocol name, metadata), in the member's order of preference.
    pub protocols: Vec<(String, Vec<u8>)>,
}

/// One member as the leader's JoinGroup response lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member's metadata for the group's chosen protocol.
    pub metadata: Vec<u8>,
}

/// A JoinGroup response. `protocol_name: None` is encoded as null from v7 and "" before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResponse {
    pub error_code: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub skip_assignment: bool,
    pub member_id: String,
    /// Non-empty only in the leader's response.
    pub members: Vec<JoinMember>,
}

impl JoinResponse {
    /// Kafka's `JoinGroupResult(memberId, error)`.
    fn error(member_id: &str, error_code: i16) -> JoinResponse {
        JoinResponse {
            error_code,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v5+; checked against the group's when present.
    pub protocol_type: Option<String>,
    /// v5+; checked against the group's when present.
    pub protocol_name: Option<String>,
    /// (member id, assignment): only the leader's are used.
    pub assignments: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    pub error_code: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Vec<u8>,
}

impl SyncResponse {
    fn error(error_code: i16) -> SyncResponse {
        SyncResponse {
            error_code,
            protocol_type: None,
            protocol_name: None,
            assignment: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One member of a LeaveGroup request. v0-v2 carry a single member id; v3+ a batch, where an
/// empty member id with an instance id removes that static member (the admin client's
/// `removeMembersFromConsumerGroup`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaveMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaveRequest {
    pub group_id: String,
    pub members: Vec<LeaveMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveMemberResponse {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub error_code: i16,
}

/// For v0-v2 the handler answers the single member's error as the top-level error, as Kafka's
/// `LeaveGroupResponse` does when the top-level error is NONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveResponse {
    pub error_code: i16,
    pub members: Vec<LeaveMemberResponse>,
}

/// The answer to a parked (or immediately answered) JoinGroup or SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Join(JoinResponse),
    Sync(SyncResponse),
}

/// A request identified by its caller token, answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion<T> {
    pub token: T,
    pub response: Response,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The member's metadata for the chosen protocol, as sent; empty unless the group is Stable
    /// (Kafka's `summaryNoMetadata`).
    pub metadata: Vec<u8>,
    /// The assignment bytes exactly as the leader sent them; empty unless Stable.
    pub assignment: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    /// The chosen protocol; empty unless the group is Stable (as Kafka).
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// Which of a group's offsets OffsetDelete may remove (Kafka's `handleDeleteOffsets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetDeletePolicy {
    /// The group is Empty: any offset.
    DeleteAny,
    /// An active consumer group: offsets of topics it is not subscribed to.
    KeepSubscribed(HashSet<String>),
    /// An active consumer group whose subscription could not be decoded: none, to be safe.
    KeepAll,
}

impl OffsetDeletePolicy {
    /// The per-partition error code for deleting an offset of `topic`.
    pub fn topic_error(&self, topic: &str) -> i16 {
        match self {
            OffsetDeletePolicy::DeleteAny => NONE,
            OffsetDeletePolicy::KeepSubscribed(topics) if !topics.contains(topic) => NONE,
            _ => GROUP_SUBSCRIBED_TO_TOPIC,
        }
    }
}

/// Decodes the topics of a "consumer" protocol subscription (`ConsumerProtocolSubscription`):
/// version (i16), topics (i32 count of i16-length strings), user data (i32-length nullable
/// bytes), then fields of later versions, which are ignored. Like Kafka, every version is read
/// with the v0 layout, which all later versions extend.
pub fn decode_subscription_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader(metadata);
    if r.i16()? < 0 {
        return None;
    }
    let count = r.i32()?;
    if count < 0 {
        return None;
    }
    let mut topics = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let len = r.i16()?;
        if len < 0 {
            return None;
        }
        let bytes = r.take(len as usize)?;
        topics.push(String::from_utf8(bytes.to_vec()).ok()?);
    }
    let user_data_len = r.i32()?;
    if user_data_len >= 0 {
        r.take(user_data_len as usize)?;
    } else if user_data_len != -1 {
        return None;
    }
    Some(topics)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn i16(&mut self) -> Option<i16> {
        let b = self.take(2)?;
        Some(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// A deadline `timeout_ms` after `now`, never sooner than 1 ms (see the module doc).
fn deadline(now: u64, timeout_ms: i64) -> u64 {
    now.saturating_add(timeout_ms.max(1) as u64)
}

struct Member<T> {
    id: String,
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    rebalance_timeout_ms: i32,
    session_timeout_ms: i32,
    protocol_type: String,
    protocols: Vec<(String, Vec<u8>)>,
    assignment: Vec<u8>,
    awaiting_join: Option<T>,
    awaiting_sync: Option<T>,
    /// Joined but not yet through a completed JoinGroup: its expiry is the new-member join
    /// timeout, and being parked does not keep it alive.
    is_new: bool,
    heartbeat_deadline: Option<u64>,
}

impl<T> Member<T> {
    fn metadata(&self, protocol: &str) -> Vec<u8> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    fn matches(&self, protocols: &[(String, Vec<u8>)]) -> bool {
        self.protocols.as_slice() == protocols
    }

    /// Kafka's `hasSatisfiedHeartbeat` at expiry time: a parked member (other than a new one)
    /// is alive by definition; its session clock restarts when its request is answered.
    fn heartbeat_satisfied(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }
}

/// The pending JoinGroup completion (Kafka's `DelayedJoin` / `InitialDelayedJoin`).
#[derive(Debug, Clone, Copy)]
struct JoinTimer {
    deadline: u64,
    /// Set for the initial delayed join of an Empty group: it never completes early.
    initial: Option<InitialDelay>,
}

#[derive(Debug, Clone, Copy)]
struct InitialDelay {
    delay_ms: u64,
    remaining_ms: u64,
}

/// Members that have not sent SyncGroup by the deadline are removed (Kafka's `DelayedSync`).
#[derive(Debug, Clone, Copy)]
struct SyncTimer {
    deadline: u64,
    generation_id: i32,
}

enum Due {
    Heartbeat(String),
    Pending(String),
    Sync,
    Join,
}

/// Per-call context: the configuration, the clock, and where answers go.
struct Ctx<'a, T> {
    cfg: &'a GroupConfig,
    now: u64,
    out: &'a mut Vec<Completion<T>>,
}

impl<T> Ctx<'_, T> {
    fn join(&mut self, token: T, response: JoinResponse) {
        self.out.push(Completion {
            token,
            response: Response::Join(response),
        });
    }
    fn sync(&mut self, token: T, response: SyncResponse) {
        self.out.push(Completion {
            token,
            response: Response::Sync(response),
        });
    }
}

struct Group<T> {
    id: String,
    state: GroupState,
    state_timestamp: u64,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    generation_id: i32,
    leader_id: Option<String>,
    /// In join order, so that responses and descriptions are deterministic.
    members: Vec<Member<T>>,
    /// group.instance.id -> member id
    static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with their expiry.
    pending_members: HashMap<String, u64>,
    pending_sync: HashSet<String>,
    /// A member joined during the initial delay: extend it (Kafka's `newMemberAdded`).
    new_member_added: bool,
    subscribed_topics: Option<HashSet<String>>,
    join_timer: Option<JoinTimer>,
    sync_timer: Option<SyncTimer>,
    /// The persisted part changed since the last `take_dirty_groups`.
    dirty: bool,
}

impl<T> Group<T> {
    fn new(id: &str, now: u64) -> Group<T> {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            state_timestamp: now,
            protocol_type: None,
            protocol_name: None,
            generation_id: 0,
            leader_id: None,
            members: Vec::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            pending_sync: HashSet::new(),
            new_member_added: false,
            subscribed_topics: None,
            join_timer: None,
            sync_timer: None,
            dirty: false,
        }
    }

    fn idx(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id == member_id)
    }

    fn has(&self, member_id: &str) -> bool {
        self.idx(member_id).is_some()
    }

    fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    fn set_state(&mut self, state: GroupState, now: u64) {
        self.state = state;
        self.state_timestamp = now;
    }

    fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        )
    }

    fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .iter()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
            .max(0)
    }

    fn has_all_members_joined(&self) -> bool {
        self.members.iter().all(|m| m.awaiting_join.is_some()) && self.pending_members.is_empty()
    }

    fn record(&self) -> GroupRecord {
        GroupRecord {
            group_id: self.id.clone(),
            protocol_type: self.protocol_type.clone(),
            generation_id: self.generation_id,
            empty_since_ms: (self.state == GroupState::Empty).then_some(self.state_timestamp),
        }
    }

    /// Kafka's `supportsProtocols`: the first member sets the protocol type; later ones must
    /// share it and support at least one protocol that every current member supports.
    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Vec<u8>)]) -> bool {
        if self.state == GroupState::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.members.iter().filter(|m| m.supports(name)).count() == self.members.len())
    }

    /// Kafka's `selectProtocol`: among the protocols every member supports, each member votes
    /// for its most preferred one; most votes wins. Kafka breaks ties arbitrarily (hash order);
    /// here the protocol first voted for, in join order, wins.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.first()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| self.members.iter().all(|m| m.supports(name)))
            .collect();
        let mut votes: Vec<(&str, usize)> = Vec::new();
        for member in &self.members {
            let Some((vote, _)) = member
                .protocols
                .iter()
                .find(|(name, _)| candidates.contains(&name.as_str()))
            else {
                continue;
            };
            match votes.iter_mut().find(|(name, _)| name == vote) {
                Some((_, n)) => *n += 1,
                None => votes.push((vote.as_str(), 1)),
            }
        }
        let mut best: Option<(&str, usize)> = None;
        for (name, n) in votes {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((name, n));
            }
        }
        best.map(|(name, _)| name.to_string())
    }

    /// Kafka's `computeSubscribedTopics`: the union of the members' subscriptions for a
    /// consumer group, `None` when unknown (not a consumer group, or undecodable).
    fn compute_subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return None;
        }
        if self.members.is_empty() {
            return Some(HashSet::new());
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for member in &self.members {
            topics.extend(decode_subscription_topics(&member.metadata(protocol))?);
        }
        Some(topics)
    }

    fn current_member_metadata(&self) -> Vec<JoinMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .iter()
            .map(|m| JoinMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }

    /// The current generation as `member_id` sees it; only the leader gets the members.
    fn generation_response(&self, member_id: &str) -> JoinResponse {
        JoinResponse {
            error_code: NONE,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone().unwrap_or_default(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: if self.is_leader(member_id) {
                self.current_member_metadata()
            } else {
                Vec::new()
            },
        }
    }

    fn add(&mut self, member: Member<T>) {
        if let Some(instance_id) = &member.instance_id {
            self.static_members.insert(instance_id.clone(), member.id.clone());
        }
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.id.clone());
        }
        self.pending_members.remove(&member.id);
        self.members.push(member);
    }

    /// Kafka's `GroupMetadata.remove`. Unlike Kafka, a request the member still has parked is
    /// answered UNKNOWN_MEMBER_ID rather than left hanging, because the broker answers requests
    /// of one connection in order and a never-answered request would block that connection.
    fn remove(&mut self, member_id: &str, ctx: &mut Ctx<'_, T>) {
        if let Some(i) = self.idx(member_id) {
            let member = self.members.remove(i);
            if let Some(instance_id) = &member.instance_id {
                self.static_members.remove(instance_id);
            }
            if let Some(token) = member.awaiting_join {
                ctx.join(token, JoinResponse::error("", UNKNOWN_MEMBER_ID));
            }
            if let Some(token) = member.awaiting_sync {
                ctx.sync(token, SyncResponse::error(UNKNOWN_MEMBER_ID));
            }
        }
        if self.is_leader(member_id) {
            self.leader_id = self.members.first().map(|m| m.id.clone());
        }
        self.pending_members.remove(member_id);
        self.pending_sync.remove(member_id);
    }

    fn schedule_heartbeat(&mut self, idx: usize, timeout_ms: i64, now: u64) {
        self.members[idx].heartbeat_deadline = Some(deadline(now, timeout_ms));
    }

    fn schedule_session(&mut self, idx: usize, now: u64) {
        let timeout = i64::from(self.members[idx].session_timeout_ms);
        self.schedule_heartbeat(idx, timeout, now);
    }

    /// Kafka's `validateCurrentMember`: a given instance id must map to this member id, and the
    /// member must exist.
    fn validate_current_member(&self, member_id: &str, instance_id: Option<&str>) -> Option<i16> {
        if let Some(instance_id) = instance_id {
            match self.static_members.get(instance_id) {
                Some(current) if current != member_id => return Some(FENCED_INSTANCE_ID),
                Some(_) => {}
                None => return Some(UNKNOWN_MEMBER_ID),
            }
        }
        (!self.has(member_id)).then_some(UNKNOWN_MEMBER_ID)
    }

    fn do_new_member_join(&mut self, token: T, req: JoinRequest, ctx: &mut Ctx<'_, T>) {
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            ctx.join(token, JoinResponse::error("", INCONSISTENT_GROUP_PROTOCOL));
            return;
        }
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        match req.group_instance_id.clone() {
            Some(instance_id) => match self.static_members.get(&instance_id).cloned() {
                Some(old_id) => self.update_static_member_and_rebalance(&old_id, new_id, token, req, ctx),
                None => self.add_member_and_rebalance(new_id, Some(instance_id), token, req, ctx),
            },
            None if req.require_known_member_id => {
                let expiry = deadline(ctx.now, i64::from(req.session_timeout_ms));
                self.pending_members.insert(new_id.clone(), expiry);
                ctx.join(token, JoinResponse::error(&new_id, MEMBER_ID_REQUIRED));
            }
            None => self.add_member_and_rebalance(new_id, None, token, req, ctx),
        }
    }

    fn do_current_member_join(&mut self, token: T, req: JoinRequest, ctx: &mut Ctx<'_, T>) {
        let member_id = req.member_id.clone();
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            ctx.join(token, JoinResponse::error(&member_id, INCONSISTENT_GROUP_PROTOCOL));
            return;
        }
        if self.pending_members.contains_key(&member_id) {
            if req.group_instance_id.is_some() {
                // Pending ids are only handed to dynamic members; Kafka throws here.
                ctx.join(token, JoinResponse::error(&member_id, UNKNOWN_SERVER_ERROR));
            } else {
                self.add_member_and_rebalance(member_id, None, token, req, ctx);
            }
            return;
        }
        if let Some(error) = self.validate_current_member(&member_id, req.group_instance_id.as_deref()) {
            ctx.join(token, JoinResponse::error(&member_id, error));
            return;
        }
        let Some(idx) = self.idx(&member_id) else {
            ctx.join(token, JoinResponse::error(&member_id, UNKNOWN_MEMBER_ID));
            return;
        };
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(idx, token, req, ctx);
            }
            GroupState::CompletingRebalance => {
                if self.members[idx].matches(&req.protocols) {
                    // Same metadata: most likely it missed the JoinGroup response; resend it.
                    ctx.join(token, self.generation_response(&member_id));
                } else {
                    self.update_member_and_rebalance(idx, token, req, ctx);
                }
            }
            GroupState::Stable => {
                // The leader rejoining forces a rebalance: that is how a consumer leader reacts
                // to metadata changes (new partitions) that leave member metadata unchanged.
                if self.is_leader(&member_id) || !self.members[idx].matches(&req.protocols) {
                    self.update_member_and_rebalance(idx, token, req, ctx);
                } else {
                    ctx.join(token, self.generation_response(&member_id));
                }
            }
            GroupState::Empty | GroupState::Dead => {
                ctx.join(token, JoinResponse::error(&member_id, UNKNOWN_MEMBER_ID));
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        instance_id: Option<String>,
        token: T,
        req: JoinRequest,
        ctx: &mut Ctx<'_, T>,
    ) {
        let member = Member {
            id: member_id,
            instance_id,
            client_id: req.client_id,
            client_host: req.client_host,
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            session_timeout_ms: req.session_timeout_ms,
            protocol_type: req.protocol_type,
            protocols: req.protocols,
            assignment: Vec::new(),
            awaiting_join: Some(token),
            awaiting_sync: None,
            is_new: true,
            heartbeat_deadline: Some(deadline(ctx.now, NEW_MEMBER_JOIN_TIMEOUT_MS as i64)),
        };
        // Only a brand-new group extends its initial delay for late joiners.
        if self.state == GroupState::PreparingRebalance && self.generation_id == 0 {
            self.new_member_added = true;
        }
        self.add(member);
        self.maybe_prepare_rebalance(ctx);
    }

    /// Kafka's `updateMember`: new protocols and timeouts, and the join is parked. A join the
    /// member already had parked (a retry from a new connection) is answered
    /// REBALANCE_IN_PROGRESS so that its connection is not blocked; Kafka drops it.
    fn update_member(&mut self, idx: usize, token: T, req: JoinRequest, ctx: &mut Ctx<'_, T>) {
        let member = &mut self.members[idx];
        member.protocols = req.protocols;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.session_timeout_ms = req.session_timeout_ms;
        if let Some(old) = member.awaiting_join.replace(token) {
            let id = member.id.clone();
            ctx.join(old, JoinResponse::error(&id, REBALANCE_IN_PROGRESS));
        }
    }

    fn update_member_and_rebalance(&mut self, idx: usize, token: T, req: JoinRequest, ctx: &mut Ctx<'_, T>) {
        self.update_member(idx, token, req, ctx);
        self.maybe_prepare_rebalance(ctx);
    }

    /// A known static member joins with an unknown member id (it restarted): it takes over the
    /// old member's place under a new id. In Stable, with no change of selected protocol, the
    /// group does not rebalance: the member gets the current generation and its old assignment
    /// through SyncGroup.
    fn update_static_member_and_rebalance(
        &mut self,
        old_id: &str,
        new_id: String,
        token: T,
        req: JoinRequest,
        ctx: &mut Ctx<'_, T>,
    ) {
        let Some(idx) = self.idx(old_id) else {
            ctx.join(token, JoinResponse::error("", UNKNOWN_SERVER_ERROR));
            return;
        };
        let current_leader = self.leader_id.clone().unwrap_or_default();
        let supports_skip_assignment = req.supports_skip_assignment;

        // Kafka's `replaceStaticMember`: fence whatever the old incarnation has parked.
        let member = &mut self.members[idx];
        if let Some(t) = member.awaiting_join.take() {
            ctx.join(t, JoinResponse::error(old_id, FENCED_INSTANCE_ID));
        }
        if let Some(t) = member.awaiting_sync.take() {
            ctx.sync(t, SyncResponse::error(FENCED_INSTANCE_ID));
        }
        member.id = new_id.clone();
        if let Some(instance_id) = member.instance_id.clone() {
            self.static_members.insert(instance_id, new_id.clone());
        }
        if self.is_leader(old_id) {
            self.leader_id = Some(new_id.clone());
        }
        // Unlike Kafka, which leaves the old id pending and so rebalances when the sync timer
        // expires, the pending SyncGroup carries over to the new id.
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        self.schedule_session(idx, ctx.now);
        self.update_member(idx, token, req, ctx);

        match self.state {
            GroupState::Stable => {
                if self.select_protocol() == self.protocol_name {
                    let mut response = self.generation_response(&new_id);
                    if supports_skip_assignment {
                        // JoinGroup v9+: the leader learns it leads but must not reassign.
                        response.skip_assignment = self.is_leader(&new_id);
                    } else {
                        // Older leaders would reassign, and a Stable group would not broadcast
                        // it: report the old leader id so that nobody thinks it leads.
                        response.leader = current_leader;
                        response.members = Vec::new();
                    }
                    if let Some(t) = self.members[idx].awaiting_join.take() {
                        ctx.join(t, response);
                    }
                } else {
                    self.maybe_prepare_rebalance(ctx);
                }
            }
            // The leader may already be assigning with the old id: start over.
            GroupState::CompletingRebalance => self.prepare_rebalance(ctx),
            GroupState::PreparingRebalance => {}
            GroupState::Empty | GroupState::Dead => {
                if let Some(t) = self.members[idx].awaiting_join.take() {
                    ctx.join(t, JoinResponse::error(&new_id, UNKNOWN_SERVER_ERROR));
                }
            }
        }
    }

    fn maybe_prepare_rebalance(&mut self, ctx: &mut Ctx<'_, T>) {
        if self.can_rebalance() {
            self.prepare_rebalance(ctx);
        }
    }

    fn prepare_rebalance(&mut self, ctx: &mut Ctx<'_, T>) {
        if self.state == GroupState::CompletingRebalance {
            for member in &mut self.members {
                member.assignment.clear();
            }
            self.propagate_assignment(REBALANCE_IN_PROGRESS, ctx);
        }
        self.pending_sync.clear();
        self.sync_timer = None;

        let rebalance_timeout = self.rebalance_timeout_ms();
        self.join_timer = Some(if self.state == GroupState::Empty {
            // Wait for more members before the first generation, so that a group of consumers
            // starting together does not rebalance once per consumer.
            let delay = i64::from(ctx.cfg.initial_rebalance_delay_ms).max(0);
            JoinTimer {
                deadline: deadline(ctx.now, delay),
                initial: Some(InitialDelay {
                    delay_ms: delay as u64,
                    remaining_ms: (rebalance_timeout - delay).max(0) as u64,
                }),
            }
        } else {
            JoinTimer {
                deadline: deadline(ctx.now, rebalance_timeout),
                initial: None,
            }
        });
        self.set_state(GroupState::PreparingRebalance, ctx.now);
        self.try_complete_join(ctx);
    }

    /// Answers every parked SyncGroup with the member's assignment (or the error) and restarts
    /// those members' session clocks.
    fn propagate_assignment(&mut self, error: i16, ctx: &mut Ctx<'_, T>) {
        let (protocol_type, protocol_name) = if error == NONE {
            (self.protocol_type.clone(), self.protocol_name.clone())
        } else {
            (None, None)
        };
        for idx in 0..self.members.len() {
            let Some(token) = self.members[idx].awaiting_sync.take() else {
                continue;
            };
            let response = SyncResponse {
                error_code: error,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                assignment: self.members[idx].assignment.clone(),
            };
            ctx.sync(token, response);
            self.schedule_session(idx, ctx.now);
        }
    }

    fn remove_member_and_update_group(&mut self, member_id: &str, ctx: &mut Ctx<'_, T>) {
        self.remove(member_id, ctx);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.maybe_prepare_rebalance(ctx),
            GroupState::PreparingRebalance => self.try_complete_join(ctx),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    fn remove_pending_member_and_update_group(&mut self, member_id: &str, ctx: &mut Ctx<'_, T>) {
        self.remove(member_id, ctx);
        if self.state == GroupState::PreparingRebalance {
            self.try_complete_join(ctx);
        }
    }

    /// Completes the rebalance early once every known member has rejoined (never during the
    /// initial delay).
    fn try_complete_join(&mut self, ctx: &mut Ctx<'_, T>) {
        let regular = matches!(self.join_timer, Some(JoinTimer { initial: None, .. }));
        if self.state == GroupState::PreparingRebalance && regular && self.has_all_members_joined() {
            self.join_timer = None;
            self.on_complete_join(ctx);
        }
    }

    fn on_join_timer_expired(&mut self, ctx: &mut Ctx<'_, T>) {
        let Some(timer) = self.join_timer.take() else {
            return;
        };
        if let Some(initial) = timer.initial {
            let configured = i64::from(ctx.cfg.initial_rebalance_delay_ms).max(0) as u64;
            let delay = configured.min(initial.remaining_ms);
            // A zero extension would expire at once with no new member in between: complete.
            if self.new_member_added && initial.remaining_ms != 0 && delay != 0 {
                self.new_member_added = false;
                self.join_timer = Some(JoinTimer {
                    deadline: deadline(ctx.now, delay as i64),
                    initial: Some(InitialDelay {
                        delay_ms: delay,
                        remaining_ms: initial.remaining_ms.saturating_sub(initial.delay_ms),
                    }),
                });
                return;
            }
        }
        self.on_complete_join(ctx);
    }

    /// Kafka's `maybeElectNewJoinedLeader`: keep the leader if it rejoined, else promote any
    /// member that did; false if nobody rejoined.
    fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader_id.clone() else {
            return false;
        };
        if self
            .idx(&leader)
            .is_some_and(|i| self.members[i].awaiting_join.is_some())
        {
            return true;
        }
        match self.members.iter().find(|m| m.awaiting_join.is_some()) {
            Some(m) => {
                self.leader_id = Some(m.id.clone());
                true
            }
            None => false,
        }
    }

    fn on_complete_join(&mut self, ctx: &mut Ctx<'_, T>) {
        // Dynamic members that did not rejoin in time are dropped; static ones stay, in the
        // hope that they come back within their session timeout.
        let not_rejoined: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in &not_rejoined {
            self.remove(id, ctx);
        }

        if !self.maybe_elect_new_joined_leader() && !self.members.is_empty() {
            // Only static members that did not rejoin are left: wait another round for them to
            // rejoin or to time out.
            let timeout = self.rebalance_timeout_ms();
            self.join_timer = Some(JoinTimer {
                deadline: deadline(ctx.now, timeout),
                initial: None,
            });
            return;
        }

        self.init_next_generation(ctx.now);
        if self.state == GroupState::Empty {
            return;
        }
        for idx in 0..self.members.len() {
            let id = self.members[idx].id.clone();
            if self.members[idx].awaiting_join.is_some() {
                let response = self.generation_response(&id);
                if let Some(token) = self.members[idx].awaiting_join.take() {
                    ctx.join(token, response);
                }
            }
            self.schedule_session(idx, ctx.now);
            self.members[idx].is_new = false;
            self.pending_sync.insert(id);
        }
        let timeout = self.rebalance_timeout_ms();
        self.sync_timer = Some(SyncTimer {
            deadline: deadline(ctx.now, timeout),
            generation_id: self.generation_id,
        });
    }

    fn init_next_generation(&mut self, now: u64) {
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.set_state(GroupState::Empty, now);
        } else {
            self.protocol_name = self.select_protocol();
            self.set_state(GroupState::CompletingRebalance, now);
        }
        self.subscribed_topics = self.compute_subscribed_topics();
        self.pending_sync.clear();
        self.dirty = true;
    }

    fn remove_pending_sync_member(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_timer = None;
        }
    }

    fn on_sync_timer_expired(&mut self, ctx: &mut Ctx<'_, T>) {
        let Some(timer) = self.sync_timer.take() else {
            return;
        };
        let syncing = matches!(self.state, GroupState::CompletingRebalance | GroupState::Stable);
        if timer.generation_id != self.generation_id || !syncing || self.pending_sync.is_empty() {
            return;
        }
        let late: Vec<String> = self.pending_sync.drain().collect();
        for id in &late {
            self.remove(id, ctx);
        }
        self.prepare_rebalance(ctx);
    }

    fn on_heartbeat_expired(&mut self, member_id: &str, ctx: &mut Ctx<'_, T>) {
        let Some(idx) = self.idx(member_id) else {
            return;
        };
        self.members[idx].heartbeat_deadline = None;
        if !self.members[idx].heartbeat_satisfied() {
            self.remove_member_and_update_group(member_id, ctx);
        }
    }

    fn on_pending_expired(&mut self, member_id: &str, ctx: &mut Ctx<'_, T>) {
        self.pending_members.remove(member_id);
        self.remove_pending_member_and_update_group(member_id, ctx);
    }

    fn next_deadline(&self) -> Option<u64> {
        let members = self.members.iter().filter_map(|m| m.heartbeat_deadline);
        let pending = self.pending_members.values().copied();
        let timers = self
            .join_timer
            .map(|t| t.deadline)
            .into_iter()
            .chain(self.sync_timer.map(|t| t.deadline));
        members.chain(pending).chain(timers).min()
    }

    /// The earliest timer due at `now`; on equal deadlines, member expiries go first so that
    /// a rebalance completes without the members that timed out at the same instant.
    fn next_due(&self, now: u64) -> Option<Due> {
        let mut best: Option<(u64, u8, Due)> = None;
        let mut consider = |at: u64, rank: u8, due: Due| {
            if at <= now && best.as_ref().is_none_or(|(b, r, _)| (at, rank) < (*b, *r)) {
                best = Some((at, rank, due));
            }
        };
        for m in &self.members {
            if let Some(at) = m.heartbeat_deadline {
                consider(at, 0, Due::Heartbeat(m.id.clone()));
            }
        }
        for (id, at) in &self.pending_members {
            consider(*at, 1, Due::Pending(id.clone()));
        }
        if let Some(t) = self.sync_timer {
            consider(t.deadline, 2, Due::Sync);
        }
        if let Some(t) = self.join_timer {
            consider(t.deadline, 3, Due::Join);
        }
        best.map(|(_, _, due)| due)
    }

    fn fire_due(&mut self, ctx: &mut Ctx<'_, T>) {
        // Terminates: every timer armed while firing is due after `now` (see `deadline`).
        while let Some(due) = self.next_due(ctx.now) {
            match due {
                Due::Heartbeat(id) => self.on_heartbeat_expired(&id, ctx),
                Due::Pending(id) => self.on_pending_expired(&id, ctx),
                Due::Sync => self.on_sync_timer_expired(ctx),
                Due::Join => self.on_join_timer_expired(ctx),
            }
        }
    }
}

/// The group coordinator: every classic group of the broker. `T` is the caller's token for a
/// parked JoinGroup/SyncGroup (see the module doc).
pub struct Coordinator<T> {
    config: GroupConfig,
    groups: HashMap<String, Group<T>>,
}

impl<T> Coordinator<T> {
    pub fn new(config: GroupConfig) -> Coordinator<T> {
        Coordinator {
            config,
            groups: HashMap::new(),
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// JoinGroup. The answer to `token` is among the returned completions unless the request
    /// was parked; a parked request is answered by a later call or [`Coordinator::tick`].
    pub fn join(&mut self, token: T, req: JoinRequest, now_ms: u64) -> Vec<Completion<T>> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            cfg: &self.config,
            now: now_ms,
            out: &mut out,
        };
        if req.group_id.is_empty() {
            ctx.join(token, JoinResponse::error(&req.member_id, INVALID_GROUP_ID));
            return out;
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms
            || req.session_timeout_ms > self.config.max_session_timeout_ms
        {
            ctx.join(token, JoinResponse::error(&req.member_id, INVALID_SESSION_TIMEOUT));
            return out;
        }
        let is_unknown_member = req.member_id.is_empty();
        if !self.groups.contains_key(&req.group_id) {
            // Only a new member may create a group; a known member id for an unknown group is
            // stale (the group expired or was deleted).
            if !is_unknown_member {
                ctx.join(token, JoinResponse::error(&req.member_id, UNKNOWN_MEMBER_ID));
                return out;
            }
            self.groups
                .insert(req.group_id.clone(), Group::new(&req.group_id, now_ms));
        }
        let Some(group) = self.groups.get_mut(&req.group_id) else {
            ctx.join(token, JoinResponse::error(&req.member_id, UNKNOWN_SERVER_ERROR));
            return out;
        };
        if is_unknown_member {
            group.do_new_member_join(token, req, &mut ctx);
        } else {
            group.do_current_member_join(token, req, &mut ctx);
        }
        if group.state == GroupState::PreparingRebalance {
            group.try_complete_join(&mut ctx);
        }
        out
    }

    /// SyncGroup. Followers are parked until the leader's assignment arrives; the leader's
    /// request answers everyone.
    pub fn sync(&mut self, token: T, req: SyncRequest, now_ms: u64) -> Vec<Completion<T>> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            cfg: &self.config,
            now: now_ms,
            out: &mut out,
        };
        if req.group_id.is_empty() {
            ctx.sync(token, SyncResponse::error(INVALID_GROUP_ID));
            return out;
        }
        let Some(group) = self.groups.get_mut(&req.group_id) else {
            ctx.sync(token, SyncResponse::error(UNKNOWN_MEMBER_ID));
            return out;
        };
        if let Some(error) = group.validate_current_member(&req.member_id, req.group_instance_id.as_deref()) {
            ctx.sync(token, SyncResponse::error(error));
            return out;
        }
        if req.generation_id != group.generation_id {
            ctx.sync(token, SyncResponse::error(ILLEGAL_GENERATION));
            return out;
        }
        let type_differs = req.protocol_type.is_some() && req.protocol_type != group.protocol_type;
        let name_differs = req.protocol_name.is_some() && req.protocol_name != group.protocol_name;
        if type_differs || name_differs {
            ctx.sync(token, SyncResponse::error(INCONSISTENT_GROUP_PROTOCOL));
            return out;
        }
        let Some(idx) = group.idx(&req.member_id) else {
            ctx.sync(token, SyncResponse::error(UNKNOWN_MEMBER_ID));
            return out;
        };
        match group.state {
            GroupState::Empty => ctx.sync(token, SyncResponse::error(UNKNOWN_MEMBER_ID)),
            GroupState::PreparingRebalance => ctx.sync(token, SyncResponse::error(REBALANCE_IN_PROGRESS)),
            GroupState::Dead => ctx.sync(token, SyncResponse::error(COORDINATOR_NOT_AVAILABLE)),
            GroupState::CompletingRebalance => {
                if let Some(old) = group.members[idx].awaiting_sync.replace(token) {
                    ctx.sync(old, SyncResponse::error(REBALANCE_IN_PROGRESS));
                }
                group.remove_pending_sync_member(&req.member_id);
                if group.is_leader(&req.member_id) {
                    let mut assignments: HashMap<String, Vec<u8>> = req.assignments.into_iter().collect();
                    // Members the leader left out get an empty assignment, as in Kafka.
                    for member in &mut group.members {
                        member.assignment = assignments.remove(&member.id).unwrap_or_default();
                    }
                    group.propagate_assignment(NONE, &mut ctx);
                    group.set_state(GroupState::Stable, now_ms);
                }
            }
            GroupState::Stable => {
                group.remove_pending_sync_member(&req.member_id);
                let response = SyncResponse {
                    error_code: NONE,
                    protocol_type: group.protocol_type.clone(),
                    protocol_name: group.protocol_name.clone(),
                    assignment: group.members[idx].assignment.clone(),
                };
                ctx.sync(token, response);
                group.schedule_session(idx, now_ms);
            }
        }
        out
    }

    /// Heartbeat: resets the member's session clock; REBALANCE_IN_PROGRESS tells it to rejoin.
    pub fn heartbeat(&mut self, req: &HeartbeatRequest, now_ms: u64) -> i16 {
        if req.group_id.is_empty() {
            return INVALID_GROUP_ID;
        }
        let Some(group) = self.groups.get_mut(&req.group_id) else {
            return UNKNOWN_MEMBER_ID;
        };
        if let Some(error) = group.validate_current_member(&req.member_id, req.group_instance_id.as_deref()) {
            return error;
        }
        if req.generation_id != group.generation_id {
            return ILLEGAL_GENERATION;
        }
        let Some(idx) = group.idx(&req.member_id) else {
            return UNKNOWN_MEMBER_ID;
        };
        match group.state {
            GroupState::Empty => UNKNOWN_MEMBER_ID,
            GroupState::Dead => COORDINATOR_NOT_AVAILABLE,
            GroupState::CompletingRebalance | GroupState::Stable => {
                group.schedule_session(idx, now_ms);
                NONE
            }
            GroupState::PreparingRebalance => {
                group.schedule_session(idx, now_ms);
                REBALANCE_IN_PROGRESS
            }
        }
    }

    /// LeaveGroup, for one member (v0-v2) or a batch (v3+). Removing members may complete a
    /// pending rebalance, hence the completions.
    pub fn leave(&mut self, req: &LeaveRequest, now_ms: u64) -> (LeaveResponse, Vec<Completion<T>>) {
        let mut out = Vec::new();
        if req.group_id.is_empty() {
            return (
                LeaveResponse {
                    error_code: INVALID_GROUP_ID,
                    members: Vec::new(),
                },
                out,
            );
        }
        let answer = |m: &LeaveMember, error_code: i16| LeaveMemberResponse {
            member_id: m.member_id.clone(),
            group_instance_id: m.group_instance_id.clone(),
            error_code,
        };
        let Some(group) = self.groups.get_mut(&req.group_id) else {
            let members = req.members.iter().map(|m| answer(m, UNKNOWN_MEMBER_ID)).collect();
            return (
                LeaveResponse {
                    error_code: NONE,
                    members,
                },
                out,
            );
        };
        let mut ctx = Ctx {
            cfg: &self.config,
            now: now_ms,
            out: &mut out,
        };
        let mut members = Vec::with_capacity(req.members.len());
        for leaving in &req.members {
            let error = if leaving.member_id.is_empty() {
                // Removal by instance id (admin tools): whatever member id it has now.
                let current = leaving
                    .group_instance_id
                    .as_ref()
                    .and_then(|instance_id| group.static_members.get(instance_id))
                    .cloned();
                match current {
                    Some(member_id) => {
                        group.remove_member_and_update_group(&member_id, &mut ctx);
                        NONE
                    }
                    None => UNKNOWN_MEMBER_ID,
                }
            } else if group.pending_members.contains_key(&leaving.member_id) {
                group.remove_pending_member_and_update_group(&leaving.member_id, &mut ctx);
                NONE
            } else if let Some(error) =
                group.validate_current_member(&leaving.member_id, leaving.group_instance_id.as_deref())
            {
                error
            } else {
                group.remove_member_and_update_group(&leaving.member_id, &mut ctx);
                NONE
            };
            members.push(answer(leaving, error));
        }
        (
            LeaveResponse {
                error_code: NONE,
                members,
            },
            out,
        )
    }

    /// Validates an OffsetCommit as Kafka's `handleCommitOffsets`/`validateOffsetCommit`.
    ///
    /// Generation -1 with an empty member id is a standalone commit (admin tools, `assign()`
    /// consumers): accepted for an Empty or unknown group (creating it, Empty, to hold the
    /// offsets), refused with UNKNOWN_MEMBER_ID while the group has members. A member commit
    /// needs the member and its generation (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
    /// ILLEGAL_GENERATION); it is accepted in Stable and, as in Kafka, during
    /// PreparingRebalance (the member learns of the rebalance from its next heartbeat), and
    /// refused with REBALANCE_IN_PROGRESS during CompletingRebalance. An accepted member commit
    /// counts as a heartbeat.
    pub fn validate_commit(
        &mut self,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
        now_ms: u64,
    ) -> Result<(), i16> {
        let Some(group) = self.groups.get_mut(group_id) else {
            if generation_id < 0 {
                self.groups.insert(group_id.to_string(), Group::new(group_id, now_ms));
                return Ok(());
            }
            // Most likely a member of a generation that no longer exists.
            return Err(ILLEGAL_GENERATION);
        };
        if generation_id < 0 && group.state == GroupState::Empty {
            return Ok(());
        }
        if generation_id >= 0 || !member_id.is_empty() || group_instance_id.is_some() {
            if let Some(error) = group.validate_current_member(member_id, group_instance_id) {
                return Err(error);
            }
            if generation_id != group.generation_id {
                return Err(ILLEGAL_GENERATION);
            }
        } else if group.state != GroupState::Empty {
            return Err(UNKNOWN_MEMBER_ID);
        }
        match group.state {
            GroupState::Empty => Ok(()),
            GroupState::Stable | GroupState::PreparingRebalance => {
                if let Some(idx) = group.idx(member_id) {
                    group.schedule_session(idx, now_ms);
                }
                Ok(())
            }
            GroupState::CompletingRebalance => Err(REBALANCE_IN_PROGRESS),
            GroupState::Dead => Err(COORDINATOR_NOT_AVAILABLE),
        }
    }

    /// DescribeGroups for one group; `None` if unknown (Kafka answers state "Dead" with no
    /// error before v6, GROUP_ID_NOT_FOUND from v6).
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let group = self.groups.get(group_id)?;
        let stable = group.state == GroupState::Stable;
        let protocol = if stable {
            group.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let members = group
            .members
            .iter()
            .map(|m| MemberDescription {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if stable { m.metadata(&protocol) } else { Vec::new() },
                assignment: if stable { m.assignment.clone() } else { Vec::new() },
            })
            .collect();
        Some(GroupDescription {
            group_id: group.id.clone(),
            state: group.state,
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol,
            members,
        })
    }

    /// ListGroups, sorted by group id. `states_filter` (ListGroups v4+) matches state names
    /// case-insensitively; empty means all.
    pub fn list(&self, states_filter: &[String]) -> Vec<GroupListing> {
        let wanted: HashSet<String> = states_filter.iter().map(|s| s.to_lowercase()).collect();
        let mut groups: Vec<GroupListing> = self
            .groups
            .values()
            .filter(|g| wanted.is_empty() || wanted.contains(&g.state.as_str().to_lowercase()))
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
            .collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups
    }

    /// DeleteGroups: an Empty group is forgotten (the caller then deletes its offsets and
    /// record from the store); a live one gets NON_EMPTY_GROUP, an unknown one
    /// GROUP_ID_NOT_FOUND.
    pub fn delete_groups(&mut self, group_ids: &[String]) -> Vec<(String, i16)> {
        group_ids
            .iter()
            .map(|id| {
                let error = match self.groups.get(id).map(|g| g.state) {
                    None | Some(GroupState::Dead) => GROUP_ID_NOT_FOUND,
                    Some(GroupState::Empty) => {
                        self.groups.remove(id);
                        NONE
                    }
                    Some(_) => NON_EMPTY_GROUP,
                };
                (id.clone(), error)
            })
            .collect()
    }

    /// Fires every timer due at `now_ms`: session and new-member timeouts, pending member
    /// expiry, the rebalance timeout and initial delay, and the SyncGroup deadline.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Completion<T>> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            cfg: &self.config,
            now: now_ms,
            out: &mut out,
        };
        for group in self.groups.values_mut() {
            group.fire_due(&mut ctx);
        }
        out
    }

    /// When [`Coordinator::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.groups.values().filter_map(|g| g.next_deadline()).min()
    }

    pub fn group_state(&self, group_id: &str) -> Option<GroupState> {
        self.groups.get(group_id).map(|g| g.state)
    }

    /// The topics a consumer group's current generation subscribes to; `None` if the group is
    /// unknown, not a consumer group, or a subscription could not be decoded.
    pub fn subscribed_topics(&self, group_id: &str) -> Option<HashSet<String>> {
        self.groups.get(group_id)?.subscribed_topics.clone()
    }

    /// OffsetDelete's group-level check; the error is GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP
    /// (an active group that is not a consumer group).
    pub fn offset_delete_policy(&self, group_id: &str) -> Result<OffsetDeletePolicy, i16> {
        let group = self.groups.get(group_id).ok_or(GROUP_ID_NOT_FOUND)?;
        match group.state {
            GroupState::Dead => Err(GROUP_ID_NOT_FOUND),
            GroupState::Empty => Ok(OffsetDeletePolicy::DeleteAny),
            _ if group.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE) => Ok(match &group.subscribed_topics {
                Some(topics) => OffsetDeletePolicy::KeepSubscribed(topics.clone()),
                None => OffsetDeletePolicy::KeepAll,
            }),
            _ => Err(NON_EMPTY_GROUP),
        }
    }

    /// From when the group's offsets age (see [`RetentionBase`]).
    pub fn retention_base(&self, group_id: &str) -> RetentionBase {
        let Some(group) = self.groups.get(group_id) else {
            return RetentionBase::CommitTimestamp;
        };
        match (&group.protocol_type, group.state) {
            (None, _) => RetentionBase::CommitTimestamp,
            (Some(_), GroupState::Empty) => RetentionBase::EmptySince(group.state_timestamp),
            (Some(protocol_type), GroupState::Stable) if protocol_type == CONSUMER_PROTOCOL_TYPE => {
                match &group.subscribed_topics {
                    Some(topics) => RetentionBase::CommitTimestampExceptSubscribed(topics.clone()),
                    None => RetentionBase::Keep,
                }
            }
            _ => RetentionBase::Keep,
        }
    }

    /// Brings back a group known from the store after a restart, as Empty. `record` is its
    /// persisted metadata if any (groups with only standalone commits have none). A group that
    /// had members when it was written counts as Empty since `now_ms`, which is about when
    /// Kafka would have expired those members after reloading them. Existing groups are left
    /// alone.
    pub fn restore_group(&mut self, group_id: &str, record: Option<&GroupRecord>, now_ms: u64) {
        if self.groups.contains_key(group_id) {
            return;
        }
        let mut group = Group::new(group_id, now_ms);
        if let Some(record) = record {
            group.protocol_type = record.protocol_type.clone().filter(|p| !p.is_empty());
            group.generation_id = record.generation_id;
            group.state_timestamp = record.empty_since_ms.unwrap_or(now_ms);
            // Persist "Empty since now", or every restart would restart the retention clock.
            group.dirty = record.empty_since_ms.is_none();
        }
        group.subscribed_topics = group.compute_subscribed_topics();
        self.groups.insert(group_id.to_string(), group);
    }

    /// The groups whose persisted metadata changed (a new generation, or became Empty) since
    /// the last call; the caller writes them to the store.
    pub fn take_dirty_groups(&mut self) -> Vec<GroupRecord> {
        let mut records: Vec<GroupRecord> = self
            .groups
            .values_mut()
            .filter(|g| g.dirty)
            .map(|g| {
                g.dirty = false;
                g.record()
            })
            .collect();
        records.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        records
    }

    /// Kafka's periodic cleanup after offset expiry: an Empty group without offsets is removed.
    /// Returns the removed ids; the caller deletes their records from the store.
    pub fn remove_empty_groups(&mut self, has_offsets: impl Fn(&str) -> bool) -> Vec<String> {
        let mut removed: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.state == GroupState::Empty && !has_offsets(&g.id))
            .map(|g| g.id.clone())
            .collect();
        removed.sort();
        for id in &removed {
            self.groups.remove(id);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "g";
    const SESSION: i32 = 10_000;
    const REBALANCE: i32 = 30_000;

    fn no_delay() -> Coordinator<u32> {
        Coordinator::new(GroupConfig {
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        })
    }

    /// A v0 consumer-protocol subscription to `topics`.
    fn subscription(topics: &[&str]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&(topics.len() as i32).to_be_bytes());
        for t in topics {
            b.extend_from_slice(&(t.len() as i16).to_be_bytes());
            b.extend_from_slice(t.as_bytes());
        }
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b
    }

    fn join_req(member_id: &str, client: &str) -> JoinRequest {
        JoinRequest {
            group_id: GROUP.into(),
            member_id: member_id.into(),
            group_instance_id: None,
            require_known_member_id: true,
            supports_skip_assignment: false,
            client_id: client.into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: SESSION,
            rebalance_timeout_ms: REBALANCE,
            protocol_type: CONSUMER_PROTOCOL_TYPE.into(),
            protocols: vec![("range".into(), subscription(&["orders"]))],
        }
    }

    fn static_req(member_id: &str, instance: &str) -> JoinRequest {
        JoinRequest {
            group_instance_id: Some(instance.into()),
            require_known_member_id: false,
            ..join_req(member_id, instance)
        }
    }

    fn join_of(completions: &[Completion<u32>], token: u32) -> Option<JoinResponse> {
        completions
            .iter()
            .find(|c| c.token == token)
            .and_then(|c| match &c.response {
                Response::Join(j) => Some(j.clone()),
                Response::Sync(_) => None,
            })
    }

    fn sync_of(completions: &[Completion<u32>], token: u32) -> Option<SyncResponse> {
        completions
            .iter()
            .find(|c| c.token == token)
            .and_then(|c| match &c.response {
                Response::Sync(s) => Some(s.clone()),
                Response::Join(_) => None,
            })
    }

    fn hb(c: &mut Coordinator<u32>, member: &str, generation: i32, now: u64) -> i16 {
        c.heartbeat(
            &HeartbeatRequest {
                group_id: GROUP.into(),
                generation_id: generation,
                member_id: member.into(),
                group_instance_id: None,
            },
            now,
        )
    }

    fn sync_req(member: &str, generation: i32, assignments: Vec<(String, Vec<u8>)>) -> SyncRequest {
        SyncRequest {
            group_id: GROUP.into(),
            generation_id: generation,
            member_id: member.into(),
            assignments,
            ..SyncRequest::default()
        }
    }

    /// Gets a member id via MEMBER_ID_REQUIRED, then joins with it (parked).
    fn join_dynamic(c: &mut Coordinator<u32>, token: u32, client: &str, now: u64) -> (String, Vec<Completion<u32>>) {
        let first = c.join(token, join_req("", client), now);
        let id = join_of(&first, token).expect("answered").member_id;
        let done = c.join(token, join_req(&id, client), now);
        (id, done)
    }

    /// A Stable group of `n` dynamic members (tokens 1..=n); returns their ids and generation.
    fn stable_group(c: &mut Coordinator<u32>, n: u32, now: u64) -> (Vec<String>, i32) {
        let mut ids = Vec::new();
        for t in 1..=n {
            ids.push(join_dynamic(c, t, &format!("client{t}"), now).0);
        }
        let done = c.tick(now + 1);
        let leader_resp = done
            .iter()
            .filter_map(|c| match &c.response {
                Response::Join(j) if !j.members.is_empty() => Some(j.clone()),
                _ => None,
            })
            .next()
            .expect("leader answered");
        let generation = leader_resp.generation_id;
        let assignments: Vec<(String, Vec<u8>)> = ids.iter().map(|id| (id.clone(), id.as_bytes().to_vec())).collect();
        for (i, id) in ids.iter().enumerate() {
            let req = if *id == leader_resp.leader {
                sync_req(id, generation, assignments.clone())
            } else {
                sync_req(id, generation, vec![])
            };
            c.sync(100 + i as u32, req, now + 1);
        }
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        (ids, generation)
    }

    #[test]
    fn new_dynamic_member_gets_member_id_required() {
        let mut c = no_delay();
        let out = c.join(1, join_req("", "rdkafka"), 0);
        let resp = join_of(&out, 1).unwrap();
        assert_eq!(resp.error_code, MEMBER_ID_REQUIRED);
        assert!(resp.member_id.starts_with("rdkafka-"), "{}", resp.member_id);
        assert_eq!(resp.generation_id, -1);
        // The pending member keeps the group Empty until it rejoins.
        assert_eq!(c.group_state(GROUP), Some(GroupState::Empty));
        let out = c.join(1, join_req(&resp.member_id, "rdkafka"), 0);
        assert!(out.is_empty(), "rejoin is parked");
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn old_join_version_gets_a_member_id_without_a_round_trip() {
        let mut c = no_delay();
        let req = JoinRequest {
            require_known_member_id: false,
            ..join_req("", "old")
        };
        assert!(c.join(1, req, 0).is_empty());
        let out = c.tick(1);
        let resp = join_of(&out, 1).unwrap();
        assert_eq!(resp.error_code, NONE);
        assert!(resp.member_id.starts_with("old-"));
        assert_eq!(resp.leader, resp.member_id);
    }

    #[test]
    fn pending_member_expires_after_session_timeout() {
        let mut c = no_delay();
        let out = c.join(1, join_req("", "a"), 0);
        let id = join_of(&out, 1).unwrap().member_id;
        assert_eq!(c.next_deadline(), Some(SESSION as u64));
        c.tick(SESSION as u64);
        let out = c.join(1, join_req(&id, "a"), SESSION as u64 + 1);
        assert_eq!(join_of(&out, 1).unwrap().error_code, UNKNOWN_MEMBER_ID);
    }

    #[test]
    fn three_members_join_and_leader_gets_metadata() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        let b = join_dynamic(&mut c, 2, "b", 0).0;
        let d = join_dynamic(&mut c, 3, "c", 0).0;
        let out = c.tick(1);
        assert_eq!(out.len(), 3);
        let ra = join_of(&out, 1).unwrap();
        let rb = join_of(&out, 2).unwrap();
        let rc = join_of(&out, 3).unwrap();
        assert_eq!(ra.leader, a, "first member leads");
        assert_eq!(ra.generation_id, 1);
        assert_eq!(ra.protocol_name.as_deref(), Some("range"));
        assert_eq!(ra.protocol_type.as_deref(), Some("consumer"));
        let ids: Vec<&str> = ra.members.iter().map(|m| m.member_id.as_str()).collect();
        assert_eq!(ids, vec![a.as_str(), b.as_str(), d.as_str()]);
        assert_eq!(ra.members[1].metadata, subscription(&["orders"]));
        assert!(
            rb.members.is_empty() && rc.members.is_empty(),
            "followers get no metadata"
        );
        assert_eq!(rb.leader, a);
        assert_eq!(c.group_state(GROUP), Some(GroupState::CompletingRebalance));
    }

    #[test]
    fn followers_sync_is_parked_until_leader_assigns() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        let b = join_dynamic(&mut c, 2, "b", 0).0;
        c.tick(1);
        assert!(c.sync(20, sync_req(&b, 1, vec![]), 2).is_empty(), "follower parked");
        let out = c.sync(
            10,
            sync_req(&a, 1, vec![(a.clone(), b"A".to_vec()), (b.clone(), b"B".to_vec())]),
            3,
        );
        assert_eq!(sync_of(&out, 10).unwrap().assignment, b"A");
        let follower = sync_of(&out, 20).unwrap();
        assert_eq!(follower.error_code, NONE);
        assert_eq!(follower.assignment, b"B");
        assert_eq!(follower.protocol_name.as_deref(), Some("range"));
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        // In Stable, a SyncGroup just returns the current assignment.
        let again = c.sync(21, sync_req(&b, 1, vec![]), 4);
        assert_eq!(sync_of(&again, 21).unwrap().assignment, b"B");
    }

    #[test]
    fn leader_omitting_a_member_gives_it_an_empty_assignment() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        let b = join_dynamic(&mut c, 2, "b", 0).0;
        c.tick(1);
        c.sync(20, sync_req(&b, 1, vec![]), 2);
        let out = c.sync(10, sync_req(&a, 1, vec![(a.clone(), b"A".to_vec())]), 2);
        assert_eq!(sync_of(&out, 20).unwrap().assignment, Vec::<u8>::new());
    }

    #[test]
    fn sync_errors_follow_kafka() {
        let mut c = no_delay();
        assert_eq!(
            sync_of(&c.sync(1, sync_req("x", 0, vec![]), 0), 1).unwrap().error_code,
            UNKNOWN_MEMBER_ID
        );
        let empty_group = SyncRequest {
            group_id: String::new(),
            ..sync_req("x", 0, vec![])
        };
        assert_eq!(
            sync_of(&c.sync(1, empty_group, 0), 1).unwrap().error_code,
            INVALID_GROUP_ID
        );
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        // PreparingRebalance: generation 0 is current, but the rebalance is running.
        assert_eq!(
            sync_of(&c.sync(2, sync_req(&a, 0, vec![]), 0), 2).unwrap().error_code,
            REBALANCE_IN_PROGRESS
        );
        c.tick(1);
        assert_eq!(
            sync_of(&c.sync(2, sync_req(&a, 7, vec![]), 2), 2).unwrap().error_code,
            ILLEGAL_GENERATION
        );
        assert_eq!(
            sync_of(&c.sync(2, sync_req("nobody", 1, vec![]), 2), 2)
                .unwrap()
                .error_code,
            UNKNOWN_MEMBER_ID
        );
        let wrong_protocol = SyncRequest {
            protocol_name: Some("roundrobin".into()),
            ..sync_req(&a, 1, vec![])
        };
        assert_eq!(
            sync_of(&c.sync(2, wrong_protocol, 2), 2).unwrap().error_code,
            INCONSISTENT_GROUP_PROTOCOL
        );
        let wrong_type = SyncRequest {
            protocol_type: Some("connect".into()),
            ..sync_req(&a, 1, vec![])
        };
        assert_eq!(
            sync_of(&c.sync(2, wrong_type, 2), 2).unwrap().error_code,
            INCONSISTENT_GROUP_PROTOCOL
        );
        let right = SyncRequest {
            protocol_type: Some("consumer".into()),
            protocol_name: Some("range".into()),
            ..sync_req(&a, 1, vec![])
        };
        assert_eq!(sync_of(&c.sync(2, right, 2), 2).unwrap().error_code, NONE);
    }

    #[test]
    fn heartbeat_during_rebalance_gets_rebalance_in_progress() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        assert_eq!(hb(&mut c, &ids[0], generation, 10), NONE);
        // A third member joining starts a rebalance.
        join_dynamic(&mut c, 3, "c", 20);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
        assert_eq!(hb(&mut c, &ids[1], generation, 30), REBALANCE_IN_PROGRESS);
    }

    #[test]
    fn heartbeat_errors_follow_kafka() {
        let mut c = no_delay();
        assert_eq!(hb(&mut c, "x", 0, 0), UNKNOWN_MEMBER_ID, "unknown group");
        let req = HeartbeatRequest {
            group_id: String::new(),
            ..HeartbeatRequest::default()
        };
        assert_eq!(c.heartbeat(&req, 0), INVALID_GROUP_ID);
        let (ids, generation) = stable_group(&mut c, 1, 0);
        assert_eq!(hb(&mut c, "stranger", generation, 5), UNKNOWN_MEMBER_ID);
        assert_eq!(hb(&mut c, &ids[0], generation - 1, 5), ILLEGAL_GENERATION);
        assert_eq!(hb(&mut c, &ids[0], generation, 5), NONE);
    }

    #[test]
    fn heartbeat_in_completing_rebalance_is_accepted() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        c.tick(1);
        assert_eq!(hb(&mut c, &a, 1, 2), NONE);
    }

    #[test]
    fn heartbeat_resets_the_session_timeout() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 1, 0);
        let s = SESSION as u64;
        assert_eq!(hb(&mut c, &ids[0], generation, s - 1), NONE);
        c.tick(s + 10);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        assert_eq!(hb(&mut c, &ids[0], generation, s + 20), NONE);
    }

    #[test]
    fn session_timeout_removes_member_and_rebalances() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        let s = SESSION as u64;
        // Only the second member keeps heartbeating.
        assert_eq!(hb(&mut c, &ids[1], generation, s / 2), NONE);
        c.tick(s + 1);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
        assert_eq!(hb(&mut c, &ids[0], generation, s + 2), UNKNOWN_MEMBER_ID);
        assert_eq!(hb(&mut c, &ids[1], generation, s + 2), REBALANCE_IN_PROGRESS);
        // The survivor rejoins: it is the only member, so the rebalance completes at once.
        let mut rejoin = join_req(&ids[1], "client2");
        rejoin.require_known_member_id = true;
        let out = c.join(9, rejoin, s + 3);
        let resp = join_of(&out, 9).unwrap();
        assert_eq!(resp.generation_id, generation + 1);
        assert_eq!(resp.leader, ids[1], "leadership moves to a member that rejoined");
        assert_eq!(resp.members.len(), 1);
    }

    #[test]
    fn last_member_timing_out_empties_the_group() {
        let mut c = no_delay();
        let (_, generation) = stable_group(&mut c, 1, 0);
        c.tick(SESSION as u64 + 1);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Empty));
        let desc = c.describe(GROUP).unwrap();
        assert!(desc.members.is_empty());
        assert_eq!(c.take_dirty_groups().last().unwrap().generation_id, generation + 1);
    }

    #[test]
    fn rebalance_timeout_drops_members_that_did_not_rejoin() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        // The leader rejoins (forcing a rebalance); the follower never does, but keeps its
        // session alive by heartbeating.
        assert!(c.join(7, join_req(&ids[0], "client1"), 100).is_empty());
        assert_eq!(hb(&mut c, &ids[1], generation, 5_000), REBALANCE_IN_PROGRESS);
        assert_eq!(hb(&mut c, &ids[1], generation, 14_000), REBALANCE_IN_PROGRESS);
        assert_eq!(hb(&mut c, &ids[1], generation, 23_000), REBALANCE_IN_PROGRESS);
        assert!(c.tick(100 + REBALANCE as u64 - 1).is_empty());
        let out = c.tick(100 + REBALANCE as u64);
        let resp = join_of(&out, 7).unwrap();
        assert_eq!(resp.generation_id, generation + 1);
        assert_eq!(resp.members.len(), 1, "the follower was dropped");
        assert_eq!(hb(&mut c, &ids[1], generation, 30_200), UNKNOWN_MEMBER_ID);
    }

    #[test]
    fn parked_member_is_not_expired_by_its_session_timeout() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 2, 0);
        // Only the leader rejoins; parked, it outlives its own session deadline.
        c.join(7, join_req(&ids[0], "client1"), 100);
        c.tick(SESSION as u64 + 200);
        // The follower (not parked, no heartbeat) timed out, which completed the rebalance.
        assert_eq!(c.group_state(GROUP), Some(GroupState::CompletingRebalance));
        assert_eq!(c.describe(GROUP).unwrap().members.len(), 1);
    }

    #[test]
    fn member_rejoining_stable_with_same_metadata_keeps_generation() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        let out = c.join(9, join_req(&ids[1], "client2"), 50);
        let resp = join_of(&out, 9).unwrap();
        assert_eq!(resp.error_code, NONE);
        assert_eq!(resp.generation_id, generation);
        assert!(resp.members.is_empty());
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
    }

    #[test]
    fn member_rejoining_with_new_metadata_triggers_rebalance() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 2, 0);
        let mut req = join_req(&ids[1], "client2");
        req.protocols = vec![("range".into(), subscription(&["orders", "payments"]))];
        assert!(c.join(9, req, 50).is_empty());
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn leader_rejoining_stable_triggers_rebalance() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 2, 0);
        assert!(c.join(9, join_req(&ids[0], "client1"), 50).is_empty());
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn rejoin_in_completing_rebalance_with_same_metadata_resends_the_generation() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        join_dynamic(&mut c, 2, "b", 0);
        c.tick(1);
        let out = c.join(5, join_req(&a, "a"), 2);
        let resp = join_of(&out, 5).unwrap();
        assert_eq!(resp.generation_id, 1);
        assert_eq!(resp.members.len(), 2, "the leader gets the members again");
        assert_eq!(c.group_state(GROUP), Some(GroupState::CompletingRebalance));
    }

    #[test]
    fn new_member_during_completing_rebalance_fails_parked_syncs() {
        let mut c = no_delay();
        join_dynamic(&mut c, 1, "a", 0);
        let b = join_dynamic(&mut c, 2, "b", 0).0;
        c.tick(1);
        assert!(c.sync(20, sync_req(&b, 1, vec![]), 2).is_empty());
        let out = c.join(3, join_req("", "c"), 3);
        let id = join_of(&out, 3).unwrap().member_id;
        let out = c.join(3, join_req(&id, "c"), 3);
        let parked = sync_of(&out, 20).unwrap();
        assert_eq!(parked.error_code, REBALANCE_IN_PROGRESS);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn member_that_never_syncs_is_removed_after_rebalance_timeout() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        let b = join_dynamic(&mut c, 2, "b", 0).0;
        c.tick(1);
        c.sync(10, sync_req(&a, 1, vec![(a.clone(), vec![1]), (b.clone(), vec![2])]), 2);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        // b heartbeats but never sends SyncGroup.
        for t in [5_000u64, 14_000, 23_000] {
            assert_eq!(hb(&mut c, &b, 1, t), NONE);
            assert_eq!(hb(&mut c, &a, 1, t), NONE);
        }
        c.tick(REBALANCE as u64 + 1);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
        assert_eq!(hb(&mut c, &b, 1, REBALANCE as u64 + 2), UNKNOWN_MEMBER_ID);
    }

    #[test]
    fn initial_rebalance_delay_extends_on_new_joins() {
        let mut c: Coordinator<u32> = Coordinator::new(GroupConfig::default());
        join_dynamic(&mut c, 1, "a", 0);
        assert_eq!(c.next_deadline(), Some(3_000));
        // A second member joins during the delay: the delay is extended once it expires.
        join_dynamic(&mut c, 2, "b", 1_000);
        assert!(c.tick(3_000).is_empty(), "extended rather than completed");
        assert_eq!(c.next_deadline(), Some(6_000));
        assert!(c.tick(5_999).is_empty());
        let out = c.tick(6_000);
        assert_eq!(out.len(), 2);
        assert_eq!(join_of(&out, 1).unwrap().members.len(), 2);
    }

    #[test]
    fn initial_rebalance_delay_waits_even_when_everyone_joined() {
        let mut c: Coordinator<u32> = Coordinator::new(GroupConfig::default());
        join_dynamic(&mut c, 1, "a", 0);
        assert!(c.tick(2_999).is_empty());
        assert_eq!(join_of(&c.tick(3_000), 1).unwrap().generation_id, 1);
    }

    #[test]
    fn initial_rebalance_delay_is_capped_by_rebalance_timeout() {
        let mut c: Coordinator<u32> = Coordinator::new(GroupConfig::default());
        let mut t = 0;
        let short = |id: &str, client: &str| JoinRequest {
            rebalance_timeout_ms: 5_000,
            ..join_req(id, client)
        };
        let first = c.join(1, short("", "a"), t);
        let id = join_of(&first, 1).unwrap().member_id;
        c.join(1, short(&id, "a"), t);
        // Remaining after the first delay: 5000 - 3000 = 2000. Keep adding members.
        for n in 2..6u32 {
            t += 1_000;
            let client = format!("c{n}");
            let out = c.join(n, short("", &client), t);
            let id = join_of(&out, n).unwrap().member_id;
            c.join(n, short(&id, &client), t);
            c.tick(t);
        }
        // 3000 (first delay) + 2000 (capped second) = 5000; later joins cannot extend it more.
        assert!(c.tick(4_999).is_empty());
        let out = c.tick(5_000);
        assert_eq!(join_of(&out, 1).unwrap().members.len(), 5);
    }

    #[test]
    fn inconsistent_protocol_is_refused() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 1, 0);
        let mut other = join_req("", "x");
        other.protocols = vec![("roundrobin".into(), vec![])];
        let out = c.join(5, other, 10);
        assert_eq!(join_of(&out, 5).unwrap().error_code, INCONSISTENT_GROUP_PROTOCOL);
        let mut wrong_type = join_req("", "x");
        wrong_type.protocol_type = "connect".into();
        assert_eq!(
            join_of(&c.join(6, wrong_type, 10), 6).unwrap().error_code,
            INCONSISTENT_GROUP_PROTOCOL
        );
        let mut empty = join_req("", "x");
        empty.group_id = "fresh".into();
        empty.protocols.clear();
        assert_eq!(
            join_of(&c.join(7, empty, 10), 7).unwrap().error_code,
            INCONSISTENT_GROUP_PROTOCOL
        );
        assert_eq!(c.describe(GROUP).unwrap().members[0].member_id, ids[0]);
    }

    #[test]
    fn protocol_with_most_votes_among_common_ones_is_selected() {
        let mut c = no_delay();
        let protocols = |names: &[&str]| -> Vec<(String, Vec<u8>)> {
            names.iter().map(|n| (n.to_string(), n.as_bytes().to_vec())).collect()
        };
        let prefs: [&[&str]; 3] = [
            &["cooperative-sticky", "range", "roundrobin"],
            &["roundrobin", "range"],
            &["roundrobin", "cooperative-sticky", "range"],
        ];
        for (i, p) in prefs.iter().enumerate() {
            let t = i as u32 + 1;
            let mut req = join_req("", &format!("c{t}"));
            req.protocols = protocols(p);
            let id = join_of(&c.join(t, req.clone(), 0), t).unwrap().member_id;
            req.member_id = id;
            c.join(t, req, 0);
        }
        let out = c.tick(1);
        // Common: range, roundrobin. Votes: range, roundrobin, roundrobin.
        let leader = join_of(&out, 1).unwrap();
        assert_eq!(leader.protocol_name.as_deref(), Some("roundrobin"));
        assert!(leader.members.iter().all(|m| m.metadata == b"roundrobin"));
    }

    #[test]
    fn invalid_session_timeout_is_refused() {
        let mut c = no_delay();
        for timeout in [5_999, 1_800_001] {
            let req = JoinRequest {
                session_timeout_ms: timeout,
                ..join_req("", "a")
            };
            assert_eq!(
                join_of(&c.join(1, req, 0), 1).unwrap().error_code,
                INVALID_SESSION_TIMEOUT
            );
        }
        assert!(c.list(&[]).is_empty(), "no group was created");
    }

    #[test]
    fn empty_group_id_is_invalid() {
        let mut c = no_delay();
        let req = JoinRequest {
            group_id: String::new(),
            ..join_req("", "a")
        };
        assert_eq!(join_of(&c.join(1, req, 0), 1).unwrap().error_code, INVALID_GROUP_ID);
        let leave = LeaveRequest {
            group_id: String::new(),
            members: vec![],
        };
        assert_eq!(c.leave(&leave, 0).0.error_code, INVALID_GROUP_ID);
    }

    #[test]
    fn known_member_id_for_unknown_group_is_unknown_member() {
        let mut c = no_delay();
        let out = c.join(1, join_req("ghost-1", "a"), 0);
        assert_eq!(join_of(&out, 1).unwrap().error_code, UNKNOWN_MEMBER_ID);
        assert!(c.group_state(GROUP).is_none());
    }

    #[test]
    fn leave_removes_member_and_rebalances() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: ids[1].clone(),
                group_instance_id: None,
            }],
        };
        let (resp, _) = c.leave(&req, 10);
        assert_eq!(resp.error_code, NONE);
        assert_eq!(resp.members[0].error_code, NONE);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
        let out = c.join(1, join_req(&ids[0], "client1"), 11);
        assert_eq!(join_of(&out, 1).unwrap().generation_id, generation + 1);
    }

    #[test]
    fn leave_of_last_missing_member_completes_the_rebalance_for_others() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        // The leader rejoins and is parked, waiting for the follower.
        assert!(c.join(1, join_req(&ids[0], "client1"), 10).is_empty());
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: ids[1].clone(),
                group_instance_id: None,
            }],
        };
        let (resp, out) = c.leave(&req, 11);
        assert_eq!(resp.members[0].error_code, NONE);
        let joined = join_of(&out, 1).expect("parked join answered by the leave");
        assert_eq!(joined.error_code, NONE);
        assert_eq!(joined.generation_id, generation + 1);
        assert_eq!(joined.members.len(), 1);
    }

    #[test]
    fn leave_of_parked_member_answers_its_join() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 2, 0);
        // The follower changes its subscription: its join is parked.
        let mut changed = join_req(&ids[1], "client2");
        changed.protocols = vec![("range".into(), subscription(&["x"]))];
        assert!(c.join(2, changed, 10).is_empty());
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: ids[1].clone(),
                group_instance_id: None,
            }],
        };
        let (_, out) = c.leave(&req, 11);
        assert_eq!(join_of(&out, 2).unwrap().error_code, UNKNOWN_MEMBER_ID);
    }

    #[test]
    fn leave_of_unknown_members_reports_each() {
        let mut c = no_delay();
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: "x".into(),
                group_instance_id: None,
            }],
        };
        let (resp, _) = c.leave(&req, 0);
        assert_eq!(resp.error_code, NONE);
        assert_eq!(resp.members[0].error_code, UNKNOWN_MEMBER_ID);
        stable_group(&mut c, 1, 0);
        let (resp, _) = c.leave(&req, 1);
        assert_eq!(resp.members[0].error_code, UNKNOWN_MEMBER_ID);
    }

    #[test]
    fn pending_member_can_leave() {
        let mut c = no_delay();
        let id = join_of(&c.join(1, join_req("", "a"), 0), 1).unwrap().member_id;
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: id.clone(),
                group_instance_id: None,
            }],
        };
        assert_eq!(c.leave(&req, 1).0.members[0].error_code, NONE);
        assert_eq!(
            join_of(&c.join(1, join_req(&id, "a"), 2), 1).unwrap().error_code,
            UNKNOWN_MEMBER_ID
        );
    }

    /// A Stable group of one static member "i1" (plus a dynamic one); returns (static id, dynamic id, generation).
    fn static_group(c: &mut Coordinator<u32>) -> (String, String, i32) {
        assert!(c.join(1, static_req("", "i1"), 0).is_empty());
        let dynamic = join_dynamic(c, 2, "d", 0).0;
        let out = c.tick(1);
        let s = join_of(&out, 1).unwrap();
        assert_eq!(s.leader, s.member_id);
        assert!(s.member_id.starts_with("i1-"));
        let generation = s.generation_id;
        c.sync(
            10,
            SyncRequest {
                group_instance_id: Some("i1".into()),
                ..sync_req(
                    &s.member_id,
                    generation,
                    vec![(s.member_id.clone(), b"S".to_vec()), (dynamic.clone(), b"D".to_vec())],
                )
            },
            2,
        );
        c.sync(11, sync_req(&dynamic, generation, vec![]), 2);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        (s.member_id, dynamic, generation)
    }

    #[test]
    fn static_member_rejoins_without_rebalance() {
        let mut c = no_delay();
        let (old_id, _, generation) = static_group(&mut c);
        // The static member restarts: empty member id, same instance id.
        let out = c.join(5, static_req("", "i1"), 100);
        let resp = join_of(&out, 5).unwrap();
        assert_eq!(resp.error_code, NONE);
        assert_ne!(resp.member_id, old_id);
        assert_eq!(resp.generation_id, generation);
        assert_eq!(
            resp.leader, old_id,
            "old leader id, so the new incarnation does not reassign"
        );
        assert!(resp.members.is_empty());
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        // It gets its previous assignment through SyncGroup.
        let sync = SyncRequest {
            group_instance_id: Some("i1".into()),
            ..sync_req(&resp.member_id, generation, vec![])
        };
        assert_eq!(sync_of(&c.sync(6, sync, 101), 6).unwrap().assignment, b"S");
        // The old incarnation is fenced.
        let old = HeartbeatRequest {
            group_id: GROUP.into(),
            generation_id: generation,
            member_id: old_id,
            group_instance_id: Some("i1".into()),
        };
        assert_eq!(c.heartbeat(&old, 102), FENCED_INSTANCE_ID);
    }

    #[test]
    fn static_leader_rejoining_with_skip_assignment_learns_it_leads() {
        let mut c = no_delay();
        let (_, _, generation) = static_group(&mut c);
        let req = JoinRequest {
            supports_skip_assignment: true,
            ..static_req("", "i1")
        };
        let resp = join_of(&c.join(5, req, 100), 5).unwrap();
        assert_eq!(resp.leader, resp.member_id);
        assert!(resp.skip_assignment);
        assert_eq!(resp.members.len(), 2);
        assert_eq!(resp.generation_id, generation);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
    }

    #[test]
    fn static_member_wrong_member_id_is_fenced() {
        let mut c = no_delay();
        let (id, _, generation) = static_group(&mut c);
        let out = c.join(5, static_req("i1-someone-else", "i1"), 100);
        assert_eq!(join_of(&out, 5).unwrap().error_code, FENCED_INSTANCE_ID);
        assert_eq!(
            c.validate_commit(GROUP, "i1-someone-else", generation, Some("i1"), 100),
            Err(FENCED_INSTANCE_ID)
        );
        assert_eq!(c.validate_commit(GROUP, &id, generation, Some("i1"), 100), Ok(()));
        let unknown_instance = static_req(&id, "i9");
        assert_eq!(
            join_of(&c.join(6, unknown_instance, 100), 6).unwrap().error_code,
            UNKNOWN_MEMBER_ID
        );
    }

    #[test]
    fn static_member_is_kept_through_a_rebalance_it_misses() {
        let mut c = no_delay();
        let (static_id, dynamic, generation) = static_group(&mut c);
        // The dynamic member changes its subscription; the static one does not rejoin in time.
        let mut req = join_req(&dynamic, "d");
        req.protocols = vec![("range".into(), subscription(&["orders", "x"]))];
        c.join(2, req, 10);
        // It stays alive by heartbeating, but does not rejoin before the rebalance timeout.
        for t in [5_000, 14_000, 23_000] {
            assert_eq!(hb(&mut c, &static_id, generation, t), REBALANCE_IN_PROGRESS);
        }
        let out = c.tick(10 + REBALANCE as u64);
        let resp = join_of(&out, 2).unwrap();
        assert_eq!(resp.leader, dynamic, "leadership moved to the member that rejoined");
        assert_eq!(resp.members.len(), 2, "the static member stays in the group");
    }

    #[test]
    fn leave_by_instance_id_removes_static_member() {
        let mut c = no_delay();
        let (static_id, _, _) = static_group(&mut c);
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![
                LeaveMember {
                    member_id: String::new(),
                    group_instance_id: Some("i1".into()),
                },
                LeaveMember {
                    member_id: String::new(),
                    group_instance_id: Some("nope".into()),
                },
            ],
        };
        let (resp, _) = c.leave(&req, 10);
        assert_eq!(resp.members[0].error_code, NONE);
        assert_eq!(resp.members[1].error_code, UNKNOWN_MEMBER_ID);
        assert!(c
            .describe(GROUP)
            .unwrap()
            .members
            .iter()
            .all(|m| m.member_id != static_id));
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn leave_with_wrong_member_id_for_instance_is_fenced() {
        let mut c = no_delay();
        static_group(&mut c);
        let req = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: "i1-old".into(),
                group_instance_id: Some("i1".into()),
            }],
        };
        assert_eq!(c.leave(&req, 10).0.members[0].error_code, FENCED_INSTANCE_ID);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
    }

    #[test]
    fn static_rejoin_during_completing_rebalance_restarts_it() {
        let mut c = no_delay();
        let (_, dynamic, _) = static_group(&mut c);
        let mut req = join_req(&dynamic, "d");
        req.protocols = vec![("range".into(), subscription(&["y"]))];
        c.join(2, req, 10);
        c.join(
            1,
            static_req(&c.describe(GROUP).unwrap().members[0].member_id.clone(), "i1"),
            10,
        );
        assert_eq!(c.group_state(GROUP), Some(GroupState::CompletingRebalance));
        assert!(c.join(5, static_req("", "i1"), 11).is_empty());
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn static_replacement_fences_the_parked_join_of_the_old_incarnation() {
        let mut c = no_delay();
        let (static_id, dynamic, generation) = static_group(&mut c);
        // The static leader rejoins (starting a rebalance) and is parked: the dynamic member
        // has not rejoined yet.
        assert!(c.join(1, static_req(&static_id, "i1"), 10).is_empty());
        // The static member restarts before the rebalance completes.
        let out = c.join(5, static_req("", "i1"), 12);
        let fenced = join_of(&out, 1).expect("old incarnation answered");
        assert_eq!(fenced.error_code, FENCED_INSTANCE_ID);
        assert_eq!(fenced.member_id, static_id);
        assert!(join_of(&out, 5).is_none(), "the new incarnation is parked");
        // The dynamic member rejoins: the rebalance completes with the new incarnation.
        let out = c.join(2, join_req(&dynamic, "d"), 13);
        let resp = join_of(&out, 5).expect("new incarnation answered");
        assert_eq!(resp.error_code, NONE);
        assert_eq!(resp.generation_id, generation + 1);
        assert_eq!(resp.leader, resp.member_id, "leadership follows the replaced member");
        assert!(resp.member_id.starts_with("i1-") && resp.member_id != static_id);
    }

    #[test]
    fn static_replacement_fences_the_parked_sync_of_the_old_incarnation() {
        let mut c = no_delay();
        let dynamic = join_dynamic(&mut c, 1, "d", 0).0;
        assert!(c.join(2, static_req("", "i1"), 0).is_empty());
        let out = c.tick(1);
        let s = join_of(&out, 2).unwrap();
        assert_eq!(join_of(&out, 1).unwrap().leader, dynamic);
        let sync = SyncRequest {
            group_instance_id: Some("i1".into()),
            ..sync_req(&s.member_id, 1, vec![])
        };
        assert!(c.sync(20, sync, 2).is_empty(), "follower sync parked");
        let out = c.join(3, static_req("", "i1"), 3);
        assert_eq!(sync_of(&out, 20).unwrap().error_code, FENCED_INSTANCE_ID);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    }

    #[test]
    fn static_rejoin_changing_the_selected_protocol_rebalances() {
        let mut c = no_delay();
        let both = || {
            vec![
                ("roundrobin".to_string(), subscription(&["orders"])),
                ("range".to_string(), subscription(&["orders"])),
            ]
        };
        assert!(c
            .join(
                1,
                JoinRequest {
                    protocols: both(),
                    ..static_req("", "i1")
                },
                0
            )
            .is_empty());
        let mut dynamic = JoinRequest {
            protocols: both(),
            ..join_req("", "d")
        };
        dynamic.member_id = join_of(&c.join(2, dynamic.clone(), 0), 2).unwrap().member_id;
        c.join(2, dynamic.clone(), 0);
        let out = c.tick(1);
        let s = join_of(&out, 1).unwrap();
        assert_eq!(s.protocol_name.as_deref(), Some("roundrobin"));
        let sync = SyncRequest {
            group_instance_id: Some("i1".into()),
            ..sync_req(&s.member_id, 1, vec![])
        };
        c.sync(10, sync, 2);
        c.sync(11, sync_req(&dynamic.member_id, 1, vec![]), 2);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Stable));
        // Restarted with range only: the group's protocol must change, so it rebalances.
        let out = c.join(3, static_req("", "i1"), 3);
        assert!(join_of(&out, 3).is_none(), "parked for the rebalance");
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
        let out = c.join(2, dynamic, 4);
        assert_eq!(join_of(&out, 3).unwrap().protocol_name.as_deref(), Some("range"));
    }

    #[test]
    fn rebalance_waits_for_static_members_when_nobody_rejoined() {
        let mut c = no_delay();
        assert!(c.join(1, static_req("", "i1"), 0).is_empty());
        assert!(c.join(2, static_req("", "i2"), 0).is_empty());
        let out = c.tick(1);
        let (a, b) = (join_of(&out, 1).unwrap(), join_of(&out, 2).unwrap());
        let generation = a.generation_id;
        let sync = |id: &str, instance: &str| SyncRequest {
            group_instance_id: Some(instance.into()),
            ..sync_req(id, generation, vec![])
        };
        c.sync(10, sync(&a.member_id, "i1"), 2);
        c.sync(11, sync(&b.member_id, "i2"), 2);
        // An admin removes i1; i2 keeps heartbeating but does not rejoin in time.
        let leave = LeaveRequest {
            group_id: GROUP.into(),
            members: vec![LeaveMember {
                member_id: String::new(),
                group_instance_id: Some("i1".into()),
            }],
        };
        c.leave(&leave, 3);
        let beat = |c: &mut Coordinator<u32>, t: u64| {
            c.heartbeat(
                &HeartbeatRequest {
                    group_id: GROUP.into(),
                    generation_id: generation,
                    member_id: b.member_id.clone(),
                    group_instance_id: Some("i2".into()),
                },
                t,
            )
        };
        for t in [5_000, 14_000, 23_000] {
            assert_eq!(beat(&mut c, t), REBALANCE_IN_PROGRESS);
        }
        assert!(c.tick(3 + REBALANCE as u64).is_empty());
        assert_eq!(
            c.group_state(GROUP),
            Some(GroupState::PreparingRebalance),
            "waits another round"
        );
        let out = c.join(12, static_req(&b.member_id, "i2"), 31_000);
        let resp = join_of(&out, 12).unwrap();
        assert_eq!(resp.generation_id, generation + 1);
        assert_eq!(resp.leader, b.member_id);
    }

    #[test]
    fn static_instance_with_a_pending_member_id_is_a_server_error() {
        let mut c = no_delay();
        let pending = join_of(&c.join(1, join_req("", "a"), 0), 1).unwrap().member_id;
        let out = c.join(2, static_req(&pending, "i1"), 1);
        assert_eq!(join_of(&out, 2).unwrap().error_code, UNKNOWN_SERVER_ERROR);
    }

    #[test]
    fn empty_group_answers_members_unknown() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 1, 0);
        c.tick(SESSION as u64 + 1);
        assert_eq!(c.group_state(GROUP), Some(GroupState::Empty));
        assert_eq!(hb(&mut c, &ids[0], generation, SESSION as u64 + 2), UNKNOWN_MEMBER_ID);
        let out = c.sync(3, sync_req(&ids[0], generation + 1, vec![]), SESSION as u64 + 2);
        assert_eq!(sync_of(&out, 3).unwrap().error_code, UNKNOWN_MEMBER_ID);
        let out = c.join(4, join_req(&ids[0], "client1"), SESSION as u64 + 2);
        assert_eq!(join_of(&out, 4).unwrap().error_code, UNKNOWN_MEMBER_ID);
    }

    #[test]
    fn stale_generation_commit_is_illegal_generation() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 1, 0);
        assert_eq!(
            c.validate_commit(GROUP, &ids[0], generation - 1, None, 5),
            Err(ILLEGAL_GENERATION)
        );
        assert_eq!(c.validate_commit(GROUP, &ids[0], generation, None, 5), Ok(()));
        assert_eq!(
            c.validate_commit(GROUP, "stranger", generation, None, 5),
            Err(UNKNOWN_MEMBER_ID)
        );
        assert_eq!(
            c.validate_commit("other", "m", 3, None, 5),
            Err(ILLEGAL_GENERATION),
            "unknown group, generation >= 0"
        );
    }

    #[test]
    fn standalone_commit_refused_for_active_group() {
        let mut c = no_delay();
        stable_group(&mut c, 1, 0);
        assert_eq!(c.validate_commit(GROUP, "", -1, None, 5), Err(UNKNOWN_MEMBER_ID));
    }

    #[test]
    fn standalone_commit_creates_an_empty_group() {
        let mut c = no_delay();
        assert_eq!(c.validate_commit("admin", "", -1, None, 5), Ok(()));
        let listed = c.list(&[]);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].state, GroupState::Empty);
        assert_eq!(listed[0].protocol_type, "");
        assert_eq!(
            c.validate_commit("admin", "", -1, None, 6),
            Ok(()),
            "Empty group accepts it again"
        );
        assert_eq!(c.retention_base("admin"), RetentionBase::CommitTimestamp);
    }

    #[test]
    fn member_commit_in_empty_group_is_unknown_member() {
        let mut c = no_delay();
        c.validate_commit(GROUP, "", -1, None, 0).unwrap();
        assert_eq!(c.validate_commit(GROUP, "m-1", 0, None, 1), Err(UNKNOWN_MEMBER_ID));
    }

    #[test]
    fn commit_during_completing_rebalance_is_rebalance_in_progress() {
        let mut c = no_delay();
        let a = join_dynamic(&mut c, 1, "a", 0).0;
        c.tick(1);
        assert_eq!(c.validate_commit(GROUP, &a, 1, None, 2), Err(REBALANCE_IN_PROGRESS));
    }

    #[test]
    fn commit_during_preparing_rebalance_is_accepted_as_kafka_does() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 2, 0);
        c.join(9, join_req(&ids[0], "client1"), 10);
        assert_eq!(c.group_state(GROUP), Some(GroupState::PreparingRebalance));
        assert_eq!(c.validate_commit(GROUP, &ids[1], generation, None, 11), Ok(()));
    }

    #[test]
    fn delete_non_empty_group_refused() {
        let mut c = no_delay();
        stable_group(&mut c, 1, 0);
        c.validate_commit("idle", "", -1, None, 0).unwrap();
        let result = c.delete_groups(&[GROUP.into(), "idle".into(), "missing".into()]);
        assert_eq!(
            result,
            vec![
                (GROUP.into(), NON_EMPTY_GROUP),
                ("idle".into(), NONE),
                ("missing".into(), GROUP_ID_NOT_FOUND)
            ]
        );
        assert!(c.describe("idle").is_none());
    }

    #[test]
    fn describe_shows_members_metadata_and_assignment_when_stable() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 2, 0);
        let d = c.describe(GROUP).unwrap();
        assert_eq!(d.state.as_str(), "Stable");
        assert_eq!(d.protocol_type, "consumer");
        assert_eq!(d.protocol, "range");
        assert_eq!(d.members.len(), 2);
        assert_eq!(d.members[0].member_id, ids[0]);
        assert_eq!(d.members[0].client_id, "client1");
        assert_eq!(d.members[0].client_host, "/127.0.0.1");
        assert_eq!(d.members[0].metadata, subscription(&["orders"]));
        assert_eq!(d.members[1].assignment, ids[1].as_bytes());
        // While rebalancing, Kafka hides protocol, metadata and assignment.
        c.join(9, join_req(&ids[0], "client1"), 5);
        let d = c.describe(GROUP).unwrap();
        assert_eq!(d.state.as_str(), "PreparingRebalance");
        assert_eq!(d.protocol, "");
        assert!(d
            .members
            .iter()
            .all(|m| m.metadata.is_empty() && m.assignment.is_empty()));
    }

    #[test]
    fn list_filters_by_state_case_insensitively() {
        let mut c = no_delay();
        stable_group(&mut c, 1, 0);
        c.validate_commit("idle", "", -1, None, 0).unwrap();
        let names = |l: Vec<GroupListing>| l.into_iter().map(|g| g.group_id).collect::<Vec<_>>();
        assert_eq!(names(c.list(&[])), vec!["g", "idle"]);
        assert_eq!(names(c.list(&["stable".into()])), vec!["g"]);
        assert_eq!(names(c.list(&["EMPTY".into(), "Dead".into()])), vec!["idle"]);
        assert_eq!(c.list(&[])[0].protocol_type, "consumer");
    }

    #[test]
    fn subscribed_topics_and_offset_delete_policy() {
        let mut c = no_delay();
        assert_eq!(c.offset_delete_policy(GROUP), Err(GROUP_ID_NOT_FOUND));
        stable_group(&mut c, 1, 0);
        assert_eq!(c.subscribed_topics(GROUP), Some(HashSet::from(["orders".to_string()])));
        let policy = c.offset_delete_policy(GROUP).unwrap();
        assert_eq!(policy.topic_error("orders"), GROUP_SUBSCRIBED_TO_TOPIC);
        assert_eq!(policy.topic_error("old"), NONE);
        c.validate_commit("idle", "", -1, None, 0).unwrap();
        assert_eq!(c.offset_delete_policy("idle"), Ok(OffsetDeletePolicy::DeleteAny));
    }

    #[test]
    fn active_non_consumer_group_refuses_offset_delete() {
        let mut c = no_delay();
        let mut req = join_req("", "connect");
        req.protocol_type = "connect".into();
        req.require_known_member_id = false;
        c.join(1, req, 0);
        assert_eq!(c.offset_delete_policy(GROUP), Err(NON_EMPTY_GROUP));
        assert_eq!(c.subscribed_topics(GROUP), None);
    }

    #[test]
    fn subscription_decoding_reads_v0_prefix_of_any_version() {
        let mut v1 = subscription(&["a", "b"]);
        v1[1] = 1; // version 1, followed by owned partitions
        v1.extend_from_slice(&0i32.to_be_bytes());
        assert_eq!(
            decode_subscription_topics(&v1),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(decode_subscription_topics(&v1[..5]), None, "truncated");
        assert_eq!(
            decode_subscription_topics(&[0xff, 0xff, 0, 0, 0, 0]),
            None,
            "negative version"
        );
    }

    #[test]
    fn undecodable_subscription_protects_all_topics() {
        let mut c = no_delay();
        let mut req = join_req("", "a");
        req.require_known_member_id = false;
        req.protocols = vec![("range".into(), vec![1, 2, 3])];
        c.join(1, req, 0);
        c.tick(1);
        assert_eq!(c.subscribed_topics(GROUP), None);
        assert_eq!(c.offset_delete_policy(GROUP), Ok(OffsetDeletePolicy::KeepAll));
    }

    #[test]
    fn retention_base_follows_group_state() {
        let mut c = no_delay();
        stable_group(&mut c, 1, 0);
        assert_eq!(
            c.retention_base(GROUP),
            RetentionBase::CommitTimestampExceptSubscribed(HashSet::from(["orders".to_string()]))
        );
        c.tick(SESSION as u64 + 1);
        assert_eq!(c.retention_base(GROUP), RetentionBase::EmptySince(SESSION as u64 + 1));
        assert_eq!(c.retention_base("never-seen"), RetentionBase::CommitTimestamp);
    }

    #[test]
    fn restored_group_comes_back_empty_with_its_metadata() {
        let mut c = no_delay();
        let record = GroupRecord {
            group_id: "orders-app".into(),
            protocol_type: Some("consumer".into()),
            generation_id: 7,
            empty_since_ms: None,
        };
        c.restore_group("orders-app", Some(&record), 1_000);
        c.restore_group("standalone", None, 1_000);
        let listed = c.list(&[]);
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|g| g.state == GroupState::Empty));
        assert_eq!(c.retention_base("orders-app"), RetentionBase::EmptySince(1_000));
        assert_eq!(c.retention_base("standalone"), RetentionBase::CommitTimestamp);
        let dirty = c.take_dirty_groups();
        assert_eq!(
            dirty.len(),
            1,
            "the group that had members is now Empty since the restart"
        );
        assert_eq!(dirty[0].empty_since_ms, Some(1_000));
        assert_eq!(dirty[0].generation_id, 7);
        // A member joining the restored group starts at the next generation.
        let mut req = join_req("", "a");
        req.group_id = "orders-app".into();
        req.require_known_member_id = false;
        c.join(1, req, 2_000);
        assert_eq!(join_of(&c.tick(2_001), 1).unwrap().generation_id, 8);
    }

    #[test]
    fn dirty_groups_report_generation_changes_once() {
        let mut c = no_delay();
        stable_group(&mut c, 1, 0);
        let records = c.take_dirty_groups();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].generation_id, 1);
        assert_eq!(records[0].protocol_type.as_deref(), Some("consumer"));
        assert_eq!(records[0].empty_since_ms, None);
        assert!(c.take_dirty_groups().is_empty());
    }

    #[test]
    fn empty_groups_without_offsets_are_removed() {
        let mut c = no_delay();
        c.validate_commit("keep", "", -1, None, 0).unwrap();
        c.validate_commit("drop", "", -1, None, 0).unwrap();
        stable_group(&mut c, 1, 0);
        let removed = c.remove_empty_groups(|g| g == "keep");
        assert_eq!(removed, vec!["drop".to_string()]);
        assert_eq!(c.list(&[]).len(), 2);
    }

    #[test]
    fn new_member_that_never_completes_join_is_dropped() {
        let mut c = no_delay();
        let (ids, generation) = stable_group(&mut c, 1, 0);
        // The old member keeps heartbeating, so the rebalance waits for it (rebalance timeout
        // 30 s); make the new member's rebalance timeout huge so that the group waits longer
        // than the new-member join timeout.
        let mut slow = join_req("", "slow");
        slow.rebalance_timeout_ms = 600_000;
        let id = join_of(&c.join(5, slow.clone(), 10), 5).unwrap().member_id;
        slow.member_id = id;
        c.join(5, slow, 10);
        let mut t = 10;
        while t < NEW_MEMBER_JOIN_TIMEOUT_MS + 20 {
            t += 5_000;
            hb(&mut c, &ids[0], generation, t);
            let out = c.tick(t);
            if let Some(resp) = join_of(&out, 5) {
                assert_eq!(resp.error_code, UNKNOWN_MEMBER_ID);
                assert!(t >= NEW_MEMBER_JOIN_TIMEOUT_MS + 10);
                return;
            }
        }
        panic!("new member was never expired");
    }

    #[test]
    fn duplicate_parked_join_answers_the_first_request() {
        let mut c = no_delay();
        let (ids, _) = stable_group(&mut c, 2, 0);
        c.join(1, join_req(&ids[0], "client1"), 10);
        let out = c.join(2, join_req(&ids[0], "client1"), 11);
        assert_eq!(join_of(&out, 1).unwrap().error_code, REBALANCE_IN_PROGRESS);
    }

    #[test]
    fn next_deadline_tracks_the_earliest_timer() {
        let mut c = no_delay();
        assert_eq!(c.next_deadline(), None);
        let (ids, generation) = stable_group(&mut c, 1, 0);
        assert_eq!(c.next_deadline(), Some(1 + SESSION as u64));
        hb(&mut c, &ids[0], generation, 500);
        assert_eq!(c.next_deadline(), Some(500 + SESSION as u64));
    }
}
