//! Consumer-group lag as the console judges it: offset lag per partition, a bounded history of
//! polled samples, time lag (seconds behind), a drain estimate, a sparkline of each group's
//! total lag, and a status with the rule that fired, after LinkedIn's Burrow evaluator.
//!
//! Pure logic: no rdkafka, no terminal, no I/O and no clock. Every function that needs the
//! time takes `now` (milliseconds since the Unix epoch), so every rule is tested with synthetic
//! histories. The worker feeds [`LagTracker`] with what it fetched (watermarks, committed
//! offsets, record timestamps) and asks it for [`GroupLag`] values to show.
//!
//! # From Burrow's commits to polled samples
//!
//! Burrow sees every commit (it reads `__consumer_offsets`) and keeps the last ten per
//! partition. The console polls committed offsets every few seconds instead, and cannot see a
//! commit that repeats the previous offset. The rules are adapted as follows:
//!
//! - The window is a duration ([`LagConfig::window_ms`]), not a count of commits. Each
//!   group-partition keeps [`COMMIT_SLOTS`] slots spaced at least `window / (COMMIT_SLOTS - 2)`
//!   apart; a sample closer than that to the newest slot replaces that slot's offset and high
//!   watermark but keeps its start time, as Burrow's `min-distance` merge does. The slots thus
//!   always reach back over a whole window. A rule that needs a trend (WARN, STALL, STOP) waits
//!   until the samples cover a whole window; one sample judges what one sample can (ERROR,
//!   caught up).
//! - "Last commit time" is when the current committed offset was first seen. When it was
//!   already there at the first sample, it is known only to be at or before that sample, and
//!   the reason says "at least".
//! - STOP and STALL both mean "the committed offset has not moved for a whole window while
//!   the lag stayed above the allowed lag". Burrow tells them apart by whether commits of the
//!   same offset keep arriving, which polling cannot see. The console uses the group's
//!   membership instead: a partition assigned to a live member is STALL (the consumer is there
//!   but stuck), one that no member holds is STOP (nobody is consuming it).
//! - REWIND is recorded when a sample shows a committed offset below the previous sample's,
//!   so a rewind inside one slot is not lost; it holds while it is within the window and the
//!   offset has not regained where it was.
//! - "Lag was zero at some point in the window" (Burrow's rule 1 and its recent-zero-lag
//!   exception to STOP) is checked on every sample, not only on the slots.
//! - WARN needs the lag to never fall between successive slots (Burrow's rule 5) *and* to end
//!   higher than it started: Burrow also warns on a constant non-zero lag, but a polled healthy
//!   consumer that commits every few seconds always shows some constant lag.
//! - ERROR (Burrow's group status for its error states) is used here for the one thing that
//!   is an error on one sample: a committed offset below the log start offset.
//!
//! Rules are applied in Burrow's order (v1.3.7+), first match wins: no commit or no watermark
//! -> OK with that reason; below log start -> ERROR; lag <= allowed -> OK; STOP/STALL; REWIND;
//! caught up within the window -> OK; window not covered yet -> OK (watching); WARN; OK.
//! Rules judge evidence: windows end at a partition's latest sample, not at `now`, so a group
//! the worker stopped polling does not turn STOP by itself. Ages shown (time lag, "12 s ago")
//! are relative to `now`.
//!
//! # Time lag
//!
//! The age of the next record the group will read. When the caller fetched its timestamp
//! ([`LagTracker::record_timestamp`]), that is it. Otherwise it is interpolated from the
//! partition's history of (time, high watermark) observations, as kafka-lag-exporter does,
//! with its flaws fixed: the record at offset `o` was appended after the last observation
//! whose high watermark was `<= o` and at or before the first later one above `o`, so the
//! estimate always lies in that bracket (and carries it); a flat run keeps its first and last
//! observation, so an idle topic neither divides by zero nor moves the bracket; an offset
//! older than the history gives "at least" the history's age instead of an extrapolation;
//! caught up is 0. All arithmetic is on integers: no NaN, no infinity.
//!
//! # Memory bound
//!
//! Per group-partition with history: about 330 bytes (a 248-byte boxed [`COMMIT_SLOTS`]-slot
//! history plus the entry). Per partition with high-watermark history: about 560 bytes
//! ([`HW_POINTS`] points of 16 bytes). Per group: about 1 KiB of sparkline
//! ([`SPARK_POINTS`] totals). With the default limits (100,000 group-partitions, 50,000
//! partitions, 10,000 groups) the worst case is about 33 + 28 + 10 = 71 MB; 1,000 groups
//! reading 10,000 partitions (10 each) take about 10 MB. Beyond a limit, a group-partition or
//! partition is still shown with its current lag but keeps no history (its status reason says
//! so); only its current offsets (about 60 bytes) are kept, which is the size of the answer the
//! cluster sent anyway.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Milliseconds since the Unix epoch: every time in this module.
pub type Millis = i64;

/// Slots of committed-offset history per group-partition (Burrow keeps 10 commits).
pub const COMMIT_SLOTS: usize = 8;
/// (time, high watermark) observations kept per partition for time-lag interpolation.
pub const HW_POINTS: usize = 32;
/// Total-lag values kept per group for its sparkline and chart.
pub const SPARK_POINTS: usize = 120;

/// "Never" for the `i64` times below.
const NEVER: i64 = i64::MIN;
/// "No offset" for the `i64` offsets below (Kafka uses -1 for "no committed offset").
const NO_OFFSET: i64 = -1;
/// Partition ids above this are refused: a hostile or garbled id must not size a vector.
const MAX_PARTITION_ID: i32 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LagConfig {
    /// The sliding window the status rules look at.
    pub window_ms: i64,
    /// A lag up to this many records counts as caught up (Burrow's `allowed-lag`).
    pub allowed_lag: i64,
    /// How far back a partition's high-watermark history reaches for time lag.
    pub hw_history_ms: i64,
    /// One sparkline value per this many milliseconds (the latest sample in each step).
    pub sparkline_step_ms: i64,
    /// Groups, partitions and group-partitions not observed for this long are forgotten by
    /// [`LagTracker::forget_stale`].
    pub forget_after_ms: i64,
    pub max_group_partitions: usize,
    pub max_partitions: usize,
    pub max_groups: usize,
}

impl Default for LagConfig {
    fn default() -> Self {
        LagConfig {
            // Short enough that the demo's groups show their status within a minute of the
            // first run; about six auto-commits of a librdkafka consumer.
            window_ms: 30_000,
            allowed_lag: 0,
            hw_history_ms: 3_600_000,
            // 120 steps of 5 s: the last 10 minutes.
            sparkline_step_ms: 5_000,
            forget_after_ms: 600_000,
            max_group_partitions: 100_000,
            max_partitions: 50_000,
            max_groups: 10_000,
        }
    }
}

/// Offset lag of one partition from one set of offsets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffsetLag {
    /// High watermark minus the committed offset, counting only records still in the log;
    /// None when the group has no committed offset (shown as "-", not 0).
    pub lag: Option<i64>,
    /// Records that retention (or DeleteRecords) removed before the group read them: log
    /// start minus the committed offset when the group is below the log start, else 0.
    pub deleted_unread: i64,
}

/// Lag = high watermark - committed offset. A negative committed offset is Kafka's "none".
/// Below the log start offset only the records still there count, and the deleted ones are
/// reported beside. A committed offset past the high watermark (sampled a moment apart, or a
/// truncated log) is lag 0.
pub fn compute_lag(committed: Option<i64>, log_start: Option<i64>, high_watermark: i64) -> OffsetLag {
    let Some(committed) = committed.filter(|c| *c >= 0) else {
        return OffsetLag::default();
    };
    let log_start = log_start.unwrap_or(0).max(0);
    let deleted_unread = if committed < log_start {
        log_start - committed
    } else {
        0
    };
    let from = committed.max(log_start);
    OffsetLag {
        lag: Some(high_watermark.saturating_sub(from).max(0)),
        deleted_unread,
    }
}

/// A partition's status, least to most severe. Group status = the worst partition's.
///
/// The order differs from Burrow's numbering (which ranks REWIND above STOP and shows all
/// three as ERR at group level): here the group keeps the worst partition's own status, and
/// REWIND ranks lowest of the problems because it is usually an operator's reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Ok,
    Warn,
    Rewind,
    Stall,
    Stop,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Rewind => "REWIND",
            Status::Stall => "STALL",
            Status::Stop => "STOP",
            Status::Error => "ERROR",
        }
    }

    /// The statuses `strom lag` exits non-zero for: nobody is making progress, or records are
    /// being lost.
    pub fn is_alert(self) -> bool {
        matches!(self, Status::Stall | Status::Stop | Status::Error)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a partition has its status: the rule that fired, with its numbers. `Display` gives the
/// sentence the console and `strom lag` show; [`Reason::rule`] a stable short name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    NoCommit,
    NoWatermark,
    BelowLogStart {
        committed: i64,
        log_start: i64,
        deleted: i64,
    },
    CaughtUp {
        lag: i64,
        allowed: i64,
    },
    Stopped {
        committed: i64,
        lag: i64,
        unchanged_ms: i64,
        /// The offset was already there at the first sample: unchanged for at least this long.
        at_least: bool,
        window_ms: i64,
    },
    Stalled {
        committed: i64,
        lag: i64,
        unchanged_ms: i64,
        at_least: bool,
        window_ms: i64,
    },
    Rewound {
        from: i64,
        to: i64,
        ago_ms: i64,
    },
    RecentlyCaughtUp {
        ago_ms: i64,
        window_ms: i64,
    },
    Watching {
        sampled_ms: i64,
        window_ms: i64,
    },
    LagGrowing {
        from: i64,
        to: i64,
        over_ms: i64,
    },
    Progressing {
        from: i64,
        to: i64,
        over_ms: i64,
    },
    NotTracked {
        limit: usize,
    },
}

impl Reason {
    pub fn rule(&self) -> &'static str {
        match self {
            Reason::NoCommit => "no-commit",
            Reason::NoWatermark => "no-watermark",
            Reason::BelowLogStart { .. } => "below-log-start",
            Reason::CaughtUp { .. } => "caught-up",
            Reason::Stopped { .. } => "stopped",
            Reason::Stalled { .. } => "stalled",
            Reason::Rewound { .. } => "rewound",
            Reason::RecentlyCaughtUp { .. } => "recently-caught-up",
            Reason::Watching { .. } => "watching",
            Reason::LagGrowing { .. } => "lag-growing",
            Reason::Progressing { .. } => "progressing",
            Reason::NotTracked { .. } => "not-tracked",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = format_duration_ms;
        let least = |b: bool| if b { "at least " } else { "" };
        match self {
            Reason::NoCommit => f.write_str("no committed offset"),
            Reason::NoWatermark => f.write_str("high watermark not known yet"),
            Reason::BelowLogStart {
                committed,
                log_start,
                deleted,
            } => write!(
                f,
                "committed offset {committed} is below the log start offset {log_start}: retention deleted \
                 {deleted} records the group never read"
            ),
            Reason::CaughtUp { lag, allowed } if *allowed > 0 => {
                write!(f, "caught up: lag {lag} is within the allowed {allowed}")
            }
            Reason::CaughtUp { .. } => f.write_str("caught up"),
            Reason::Stopped {
                committed,
                lag,
                unchanged_ms,
                at_least,
                window_ms,
            } => write!(
                f,
                "no commit for {}{} (window {}) while lag is {lag}; offset {committed}, no member is assigned the \
                 partition",
                least(*at_least),
                d(*unchanged_ms),
                d(*window_ms)
            ),
            Reason::Stalled {
                committed,
                lag,
                unchanged_ms,
                at_least,
                window_ms,
            } => write!(
                f,
                "committed offset {committed} has not moved for {}{} (window {}) while lag is {lag}, though a \
                 member is assigned the partition",
                least(*at_least),
                d(*unchanged_ms),
                d(*window_ms)
            ),
            Reason::Rewound { from, to, ago_ms } => write!(
                f,
                "committed offset went back from {from} to {to} {} ago and has not regained {from}",
                d(*ago_ms)
            ),
            Reason::RecentlyCaughtUp { ago_ms, window_ms } => {
                write!(f, "caught up {} ago, within the {} window", d(*ago_ms), d(*window_ms))
            }
            Reason::Watching { sampled_ms, window_ms } => write!(
                f,
                "watching: {} of the {} window sampled",
                d(*sampled_ms),
                d(*window_ms)
            ),
            Reason::LagGrowing { from, to, over_ms } => {
                write!(f, "lag grew from {from} to {to} over {} and never fell", d(*over_ms))
            }
            Reason::Progressing { from, to, over_ms } => match to.cmp(from) {
                Ordering::Less => write!(f, "lag fell from {from} to {to} over {}", d(*over_ms)),
                Ordering::Equal => write!(f, "lag steady at {to} over {}", d(*over_ms)),
                Ordering::Greater => write!(
                    f,
                    "lag went from {from} to {to} over {} but fell in between",
                    d(*over_ms)
                ),
            },
            Reason::NotTracked { limit } => write!(
                f,
                "no history kept: the console tracks at most {limit} group partitions"
            ),
        }
    }
}

/// "850 ms", "45 s", "3 min 5 s", "2 h 3 min", "4 d 2 h". Negative durations count as 0.
pub fn format_duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms} ms"),
        0..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86400 if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ if s % 86400 / 3600 == 0 => format!("{} d", s / 86400),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

/// How far behind the group is in time: the age of the next record it will read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeLag {
    /// No committed offset, or nothing known yet to judge by.
    Unknown,
    /// Nothing to read: 0.
    CaughtUp,
    /// From the timestamp of the record at the committed offset.
    Record { ms: i64 },
    /// Interpolated from the high-watermark history: the record was appended between `min_ms`
    /// and `max_ms` ago, `ms` the estimate.
    Estimate { ms: i64, min_ms: i64, max_ms: i64 },
    /// A lower bound: the record is older than the history reaches, or older records were
    /// deleted unread.
    AtLeast { ms: i64 },
}

impl TimeLag {
    /// The value to show or sort by, None when unknown.
    pub fn ms(self) -> Option<i64> {
        match self {
            TimeLag::Unknown => None,
            TimeLag::CaughtUp => Some(0),
            TimeLag::Record { ms } | TimeLag::Estimate { ms, .. } | TimeLag::AtLeast { ms } => Some(ms),
        }
    }

    pub fn is_lower_bound(self) -> bool {
        matches!(self, TimeLag::AtLeast { .. })
    }

    fn at_least(self) -> TimeLag {
        match self.ms() {
            Some(ms) if ms > 0 => TimeLag::AtLeast { ms },
            _ => self,
        }
    }

    /// The larger of two; on a tie a lower bound wins (it says more).
    fn max(self, other: TimeLag) -> TimeLag {
        match (self.ms(), other.ms()) {
            (None, _) => other,
            (_, None) => self,
            (Some(a), Some(b)) if b > a || (b == a && other.is_lower_bound()) => other,
            _ => self,
        }
    }
}

impl fmt::Display for TimeLag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLag::Unknown => f.write_str("-"),
            TimeLag::CaughtUp => f.write_str("0 s"),
            TimeLag::AtLeast { ms } => write!(f, ">{}", format_duration_ms(*ms)),
            TimeLag::Estimate { ms, .. } => write!(f, "~{}", format_duration_ms(*ms)),
            other => f.write_str(&format_duration_ms(other.ms().unwrap_or(0))),
        }
    }
}

/// When the current committed offset was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitTime {
    pub at_ms: Millis,
    /// False when the offset was already committed at the first sample: the commit happened
    /// at or before `at_ms`.
    pub exact: bool,
}

/// One committed offset as the worker fetched it for a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitSample<'a> {
    pub topic: &'a str,
    pub partition: i32,
    /// None (or negative) when the group has no committed offset for this partition.
    pub committed: Option<i64>,
    /// A live member of the group is assigned this partition (decoded from the assignment), or
    /// the group has members and its assignment is not known. Tells STALL from STOP.
    pub assigned: bool,
}

/// A record timestamp the tracker would like, to give an exact time lag: fetch one record of
/// `topic`/`partition` from `offset` and pass its timestamp to [`LagTracker::record_timestamp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampWanted {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

/// Everything the console shows for one partition of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: Arc<str>,
    pub partition: i32,
    pub committed: Option<i64>,
    pub log_start: Option<i64>,
    pub high_watermark: Option<i64>,
    /// None when there is no committed offset or no watermark yet.
    pub lag: Option<i64>,
    pub deleted_unread: i64,
    pub time_lag: TimeLag,
    pub last_commit: Option<CommitTime>,
    pub assigned: bool,
    pub status: Status,
    pub reason: Reason,
    /// Time to catch up at the recent net rate (consumption minus production), where the lag
    /// is shrinking.
    pub drain_ms: Option<i64>,
    /// The samples cover a whole window, so every rule could be judged.
    pub window_complete: bool,
}

/// The worst partition of a group and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupReason {
    pub topic: Arc<str>,
    pub partition: i32,
    pub reason: Reason,
}

impl fmt::Display for GroupReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}: {}", self.topic, self.partition, self.reason)
    }
}

/// One group as the list and the detail show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLag {
    pub group: String,
    /// Sum of the known partition lags.
    pub total_lag: i64,
    pub max_lag: Option<i64>,
    pub deleted_unread: i64,
    /// The largest partition time lag.
    pub time_lag: TimeLag,
    pub status: Status,
    /// The worst partition's reason; None when the group has no partitions.
    pub reason: Option<GroupReason>,
    /// Until every lagging partition has caught up; None unless all of them are shrinking.
    pub drain_ms: Option<i64>,
    pub partitions_complete: usize,
    /// Sorted by topic, then partition.
    pub partitions: Vec<PartitionLag>,
}

/// Counts and an estimate of the tracker's heap use, for the memory bound's test and bench.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub groups: usize,
    pub groups_with_sparkline: usize,
    pub group_partitions: usize,
    pub group_partitions_with_history: usize,
    pub partitions: usize,
    pub partitions_with_history: usize,
    pub approx_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// When this slot started (its first sample): slots are at least the spacing apart.
    t: i64,
    /// The latest committed offset and high watermark (NO_OFFSET: unknown) seen in the slot.
    committed: i64,
    hw: i64,
}

impl Slot {
    fn lag(self) -> Option<i64> {
        (self.hw >= 0).then(|| (self.hw - self.committed).max(0))
    }
}

/// A group-partition's committed-offset history (boxed: only within the limit).
#[derive(Clone, Debug)]
struct CommitHistory {
    slots: [Slot; COMMIT_SLOTS],
    /// Index of the oldest slot.
    head: u8,
    len: u8,
    since_exact: bool,
    /// When the current committed offset was first seen.
    since: i64,
    /// The latest sample.
    last_t: i64,
    /// The latest sample whose lag was within the allowed lag.
    caught_up_at: i64,
    /// The rewind that may be holding: from where, to where, when (NEVER: none).
    rewind_from: i64,
    rewind_to: i64,
    rewind_at: i64,
}

impl CommitHistory {
    fn new(t: i64, committed: i64, hw: i64, allowed: i64) -> CommitHistory {
        let slot = Slot { t, committed, hw };
        let caught_up = hw >= 0 && hw - committed <= allowed;
        CommitHistory {
            slots: [slot; COMMIT_SLOTS],
            head: 0,
            len: 1,
            since_exact: false,
            since: t,
            last_t: t,
            caught_up_at: if caught_up { t } else { NEVER },
            rewind_from: NO_OFFSET,
            rewind_to: NO_OFFSET,
            rewind_at: NEVER,
        }
    }

    fn slot(&self, i: usize) -> Slot {
        self.slots[(self.head as usize + i) % COMMIT_SLOTS]
    }

    fn newest_mut(&mut self) -> &mut Slot {
        &mut self.slots[(self.head as usize + self.len as usize - 1) % COMMIT_SLOTS]
    }

    fn observe(&mut self, t: i64, committed: i64, hw: i64, cfg: &LagConfig) {
        if t < self.last_t {
            // The clock went back: what the history says about durations no longer holds.
            *self = CommitHistory::new(t, committed, hw, cfg.allowed_lag);
            return;
        }
        let prev = self.slot(self.len as usize - 1).committed;
        if committed != prev {
            if committed < prev {
                let holding = self.rewind_at != NEVER && t - self.rewind_at <= cfg.window_ms && prev < self.rewind_from;
                if holding {
                    self.rewind_to = committed;
                } else {
                    self.rewind_from = prev;
                    self.rewind_to = committed;
                    self.rewind_at = t;
                }
            }
            self.since = t;
            self.since_exact = true;
        }
        if hw >= 0 && hw - committed <= cfg.allowed_lag {
            self.caught_up_at = t;
        }
        self.last_t = t;
        let spacing = slot_spacing(cfg);
        let newest = self.newest_mut();
        if t - newest.t < spacing {
            newest.committed = committed;
            newest.hw = hw;
        } else if (self.len as usize) < COMMIT_SLOTS {
            self.len += 1;
            *self.newest_mut() = Slot { t, committed, hw };
        } else {
            self.head = ((self.head as usize + 1) % COMMIT_SLOTS) as u8;
            *self.newest_mut() = Slot { t, committed, hw };
        }
    }

    /// The slots the trend rules look at: those inside the window ending at `end`, preceded by
    /// the newest one before it (the state at the window's start). Also whether the history
    /// covers the whole window.
    fn window(&self, end: i64, window_ms: i64) -> (Vec<Slot>, bool) {
        let start = end - window_ms;
        let all: Vec<Slot> = (0..self.len as usize).map(|i| self.slot(i)).collect();
        let first_inside = all.iter().position(|s| s.t >= start).unwrap_or(all.len());
        let from = first_inside.saturating_sub(1);
        let complete = all.first().is_some_and(|s| s.t <= start);
        (all[from..].to_vec(), complete)
    }
}

fn slot_spacing(cfg: &LagConfig) -> i64 {
    (cfg.window_ms / (COMMIT_SLOTS as i64 - 2)).max(1)
}

#[derive(Clone, Debug)]
struct GroupPartition {
    topic: Arc<str>,
    partition: i32,
    committed: i64,
    assigned: bool,
    /// The offset the caller fetched a record timestamp from, and that timestamp.
    record_from: i64,
    record_ts: i64,
    history: Option<Box<CommitHistory>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HwPoint {
    t: i64,
    hw: i64,
}

/// A partition's (time, high watermark) observations, oldest first, thinned to fit.
#[derive(Clone, Debug)]
struct HwHistory {
    points: [HwPoint; HW_POINTS],
    len: u8,
}

impl HwHistory {
    fn new(t: i64, hw: i64) -> HwHistory {
        HwHistory {
            points: [HwPoint { t, hw }; HW_POINTS],
            len: 1,
        }
    }

    fn as_slice(&self) -> &[HwPoint] {
        &self.points[..self.len as usize]
    }

    fn remove(&mut self, i: usize) {
        let len = self.len as usize;
        self.points.copy_within(i + 1..len, i);
        self.len -= 1;
    }

    fn push(&mut self, t: i64, hw: i64, max_age_ms: i64) {
        let len = self.len as usize;
        let newest = self.points[len - 1];
        if t < newest.t || hw < newest.hw {
            // The clock went back, or the log did (topic recreated, truncated): the old
            // observations would bracket offsets wrongly.
            *self = HwHistory::new(t, hw);
            return;
        }
        if t == newest.t {
            self.points[len - 1].hw = hw;
        } else if hw == newest.hw && len >= 2 && self.points[len - 2].hw == hw {
            // A flat run keeps its first and last observation: the first bounds when the
            // records below it were appended, the last when the next ones were not yet.
            self.points[len - 1].t = t;
        } else {
            if len == HW_POINTS {
                self.thin(t);
            }
            let len = self.len as usize;
            self.points[len] = HwPoint { t, hw };
            self.len += 1;
        }
        let cutoff = t.saturating_sub(max_age_ms);
        while self.len >= 3 && self.points[1].t <= cutoff {
            self.remove(0);
        }
    }

    /// Drops the interior observation whose loss costs the least resolution relative to its
    /// age, so recent history stays fine-grained and old history coarse. Any subset of the
    /// observations still brackets every offset correctly, only more loosely. Keeps the oldest
    /// and the two newest (the flat-run rule needs them).
    fn thin(&mut self, now: i64) {
        let p = self.as_slice();
        let mut best = 1;
        let mut best_cost = f64::INFINITY;
        for i in 1..p.len() - 2 {
            let gap = (p[i + 1].t - p[i - 1].t) as f64;
            let age = (now - p[i].t).max(1) as f64;
            let cost = gap / age;
            if cost < best_cost {
                best_cost = cost;
                best = i;
            }
        }
        self.remove(best);
    }

    /// The time lag of a group whose next record is `offset`.
    fn time_lag(&self, offset: i64, now: i64) -> TimeLag {
        let p = self.as_slice();
        let newest = p[p.len() - 1];
        if offset >= newest.hw {
            return TimeLag::CaughtUp;
        }
        // The earliest observation of the trailing run above `offset`: when the high watermark
        // last crossed it.
        let mut i = p.len() - 1;
        while i > 0 && p[i - 1].hw > offset {
            i -= 1;
        }
        let b = p[i];
        if i == 0 {
            // Appended before the first observation: at least that long ago, which says
            // nothing until time has passed since it.
            let ms = now - b.t;
            return if ms > 0 {
                TimeLag::AtLeast { ms }
            } else {
                TimeLag::Unknown
            };
        }
        let a = p[i - 1];
        // Records a.hw .. b.hw - 1 were appended in (a.t, b.t]; spread them evenly.
        let num = (offset - a.hw + 1) as i128 * (b.t - a.t) as i128;
        let t_est = a.t + (num / (b.hw - a.hw) as i128) as i64;
        TimeLag::Estimate {
            ms: (now - t_est).max(0),
            min_ms: (now - b.t).max(0),
            max_ms: (now - a.t).max(0),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct PartitionState {
    log_start: i64,
    /// NO_OFFSET until observed.
    hw: i64,
    observed: i64,
    history: Option<Box<HwHistory>>,
}

/// A group's total lag per sparkline step; u64::MAX marks a step with no sample.
#[derive(Clone, Debug)]
struct TotalLagHistory {
    values: [u64; SPARK_POINTS],
    /// The step index (time / step) of the newest value; NEVER before the first.
    newest: i64,
}

impl TotalLagHistory {
    fn new() -> TotalLagHistory {
        TotalLagHistory {
            values: [u64::MAX; SPARK_POINTS],
            newest: NEVER,
        }
    }

    fn index(step: i64) -> usize {
        step.rem_euclid(SPARK_POINTS as i64) as usize
    }

    fn push(&mut self, t: i64, step_ms: i64, total: u64) {
        let step = t.div_euclid(step_ms);
        if self.newest == NEVER || step > self.newest {
            if self.newest != NEVER {
                let gap = (step - self.newest - 1).min(SPARK_POINTS as i64);
                for s in 1..=gap {
                    self.values[Self::index(self.newest + s)] = u64::MAX;
                }
            }
            self.newest = step;
        } else if step <= self.newest - SPARK_POINTS as i64 {
            return;
        }
        self.values[Self::index(step)] = total;
    }

    fn get(&self, step: i64) -> Option<u64> {
        if self.newest == NEVER || step > self.newest || step <= self.newest - SPARK_POINTS as i64 {
            return None;
        }
        Some(self.values[Self::index(step)]).filter(|v| *v != u64::MAX)
    }
}

#[derive(Clone, Debug)]
struct GroupState {
    /// Sorted by (topic, partition).
    partitions: Vec<GroupPartition>,
    observed: i64,
    spark: Option<Box<TotalLagHistory>>,
}

/// The lag monitor's memory: per partition its watermarks and high-watermark history, per
/// group its committed offsets' history and total-lag sparkline. Feed it with
/// [`observe_partition`](Self::observe_partition) and [`observe_group`](Self::observe_group);
/// read it with [`group`](Self::group).
#[derive(Clone, Debug, Default)]
pub struct LagTracker {
    cfg: LagConfig,
    partitions: HashMap<Arc<str>, Vec<PartitionState>>,
    groups: HashMap<Box<str>, GroupState>,
    partitions_count: usize,
    partitions_with_history: usize,
    group_partitions: usize,
    group_partitions_with_history: usize,
    groups_with_sparkline: usize,
}

impl LagTracker {
    pub fn new(mut cfg: LagConfig) -> LagTracker {
        cfg.window_ms = cfg.window_ms.max(1);
        cfg.allowed_lag = cfg.allowed_lag.max(0);
        cfg.hw_history_ms = cfg.hw_history_ms.max(cfg.window_ms);
        cfg.sparkline_step_ms = cfg.sparkline_step_ms.max(1);
        cfg.forget_after_ms = cfg.forget_after_ms.max(cfg.window_ms);
        LagTracker {
            cfg,
            ..LagTracker::default()
        }
    }

    pub fn config(&self) -> &LagConfig {
        &self.cfg
    }

    /// Records a partition's watermarks as fetched at `now`. Call it before the groups that
    /// read the partition are observed in the same refresh: their lag uses the latest
    /// watermarks known.
    pub fn observe_partition(&mut self, topic: &str, partition: i32, log_start: i64, high_watermark: i64, now: Millis) {
        if !(0..MAX_PARTITION_ID).contains(&partition) || high_watermark < 0 {
            return;
        }
        if !self.partitions.contains_key(topic) {
            self.partitions.insert(Arc::from(topic), Vec::new());
        }
        let Some(list) = self.partitions.get_mut(topic) else {
            return;
        };
        let idx = partition as usize;
        if list.len() <= idx {
            list.resize_with(idx + 1, || PartitionState {
                hw: NO_OFFSET,
                observed: NEVER,
                ..PartitionState::default()
            });
        }
        let state = &mut list[idx];
        if state.hw == NO_OFFSET {
            self.partitions_count += 1;
        }
        state.log_start = log_start.max(0);
        state.hw = high_watermark;
        state.observed = now;
        match &mut state.history {
            Some(h) => h.push(now, high_watermark, self.cfg.hw_history_ms),
            None if self.partitions_with_history < self.cfg.max_partitions => {
                state.history = Some(Box::new(HwHistory::new(now, high_watermark)));
                self.partitions_with_history += 1;
            }
            None => {}
        }
    }

    fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionState> {
        let p = self.partitions.get(topic)?.get(usize::try_from(partition).ok()?)?;
        (p.hw != NO_OFFSET).then_some(p)
    }

    /// Records a group's committed offsets as fetched at `now`: the whole set, as OffsetFetch
    /// returns it. Partitions missing from `offsets` are forgotten (their offsets were deleted
    /// or expired).
    pub fn observe_group<'a>(&mut self, group: &str, now: Millis, offsets: impl IntoIterator<Item = CommitSample<'a>>) {
        let mut samples: Vec<CommitSample<'a>> = offsets
            .into_iter()
            .filter(|s| (0..MAX_PARTITION_ID).contains(&s.partition))
            .collect();
        samples.sort_by(|a, b| (a.topic, a.partition).cmp(&(b.topic, b.partition)));
        samples.dedup_by(|a, b| (a.topic, a.partition) == (b.topic, b.partition));

        if !self.groups.contains_key(group) {
            let state = GroupState {
                partitions: Vec::new(),
                observed: now,
                spark: None,
            };
            self.groups.insert(Box::from(group), state);
        }
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        state.observed = now;
        if state.spark.is_none() && self.groups_with_sparkline < self.cfg.max_groups {
            state.spark = Some(Box::new(TotalLagHistory::new()));
            self.groups_with_sparkline += 1;
        }

        let old = std::mem::take(&mut state.partitions);
        let mut old = old.into_iter().peekable();
        let mut merged = Vec::with_capacity(samples.len());
        let mut total: u64 = 0;
        for s in &samples {
            // Entries the new set no longer has are dropped here.
            while let Some(o) = old.next_if(|o| (o.topic.as_ref(), o.partition) < (s.topic, s.partition)) {
                self.group_partitions -= 1;
                if o.history.is_some() {
                    self.group_partitions_with_history -= 1;
                }
            }
            let existing = old.next_if(|o| (o.topic.as_ref(), o.partition) == (s.topic, s.partition));
            let committed = s.committed.filter(|c| *c >= 0).unwrap_or(NO_OFFSET);
            let (log_start, hw) = match self.partitions.get(s.topic).and_then(|l| l.get(s.partition as usize)) {
                Some(p) if p.hw != NO_OFFSET => (p.log_start, p.hw),
                _ => (0, NO_OFFSET),
            };
            let mut gp = match existing {
                Some(gp) => gp,
                None => {
                    self.group_partitions += 1;
                    let topic = match self.partitions.get_key_value(s.topic) {
                        Some((k, _)) => Arc::clone(k),
                        None => Arc::from(s.topic),
                    };
                    GroupPartition {
                        topic,
                        partition: s.partition,
                        committed: NO_OFFSET,
                        assigned: false,
                        record_from: NO_OFFSET,
                        record_ts: 0,
                        history: None,
                    }
                }
            };
            gp.assigned = s.assigned;
            gp.committed = committed;
            if committed == NO_OFFSET {
                if gp.history.take().is_some() {
                    self.group_partitions_with_history -= 1;
                }
            } else {
                // The slots judge progress in the log: below the log start the group reads
                // from the log start (and ERROR says why).
                let effective = committed.max(log_start);
                match &mut gp.history {
                    Some(h) => h.observe(now, effective, hw, &self.cfg),
                    None if self.group_partitions_with_history < self.cfg.max_group_partitions => {
                        gp.history = Some(Box::new(CommitHistory::new(now, effective, hw, self.cfg.allowed_lag)));
                        self.group_partitions_with_history += 1;
                    }
                    None => {}
                }
                if hw >= 0 {
                    let lag = compute_lag(Some(committed), Some(log_start), hw).lag.unwrap_or(0);
                    total = total.saturating_add(lag as u64);
                }
            }
            merged.push(gp);
        }
        for o in old {
            self.group_partitions -= 1;
            if o.history.is_some() {
                self.group_partitions_with_history -= 1;
            }
        }
        state.partitions = merged;
        if let Some(spark) = &mut state.spark {
            spark.push(now, self.cfg.sparkline_step_ms, total);
        }
    }

    /// Records the timestamp of the first record at or after `offset` (as fetched from
    /// `offset`), for the group-partitions whose next record that is. A negative timestamp
    /// (none) is ignored.
    pub fn record_timestamp(&mut self, group: &str, topic: &str, partition: i32, offset: i64, timestamp_ms: i64) {
        if timestamp_ms < 0 {
            return;
        }
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        if let Ok(i) = state
            .partitions
            .binary_search_by(|p| (p.topic.as_ref(), p.partition).cmp(&(topic, partition)))
        {
            let gp = &mut state.partitions[i];
            gp.record_from = offset;
            gp.record_ts = timestamp_ms;
        }
    }

    /// The record timestamps that would make a group's time lags exact: one per partition that
    /// lags and whose next record's timestamp is not known yet.
    pub fn timestamps_wanted(&self, group: &str) -> Vec<TimestampWanted> {
        let Some(state) = self.groups.get(group) else {
            return Vec::new();
        };
        state
            .partitions
            .iter()
            .filter_map(|gp| {
                let p = self.partition(&gp.topic, gp.partition)?;
                if gp.committed == NO_OFFSET {
                    return None;
                }
                let next = gp.committed.max(p.log_start);
                (next < p.hw && gp.record_from != next).then(|| TimestampWanted {
                    topic: Arc::clone(&gp.topic),
                    partition: gp.partition,
                    offset: next,
                })
            })
            .collect()
    }

    /// The groups observed so far, in no particular order.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(|k| k.as_ref())
    }

    pub fn remove_group(&mut self, group: &str) {
        if let Some(state) = self.groups.remove(group) {
            self.drop_group_counts(&state);
        }
    }

    fn drop_group_counts(&mut self, state: &GroupState) {
        self.group_partitions -= state.partitions.len();
        self.group_partitions_with_history -= state.partitions.iter().filter(|p| p.history.is_some()).count();
        if state.spark.is_some() {
            self.groups_with_sparkline -= 1;
        }
    }

    /// Forgets groups and partitions not observed for [`LagConfig::forget_after_ms`]
    /// (deleted groups and topics), so a long session does not accumulate them.
    pub fn forget_stale(&mut self, now: Millis) {
        let cutoff = now - self.cfg.forget_after_ms;
        let stale: Vec<Box<str>> = self
            .groups
            .iter()
            .filter(|(_, s)| s.observed < cutoff)
            .map(|(k, _)| k.clone())
            .collect();
        for g in stale {
            if let Some(state) = self.groups.remove(&g) {
                self.drop_group_counts(&state);
            }
        }
        let (mut count, mut with_history) = (0, 0);
        self.partitions.retain(|_, list| {
            for p in list.iter_mut() {
                if p.hw != NO_OFFSET && p.observed < cutoff {
                    *p = PartitionState {
                        hw: NO_OFFSET,
                        observed: NEVER,
                        ..PartitionState::default()
                    };
                }
            }
            while list.last().is_some_and(|p| p.hw == NO_OFFSET) {
                list.pop();
            }
            count += list.iter().filter(|p| p.hw != NO_OFFSET).count();
            with_history += list.iter().filter(|p| p.history.is_some()).count();
            !list.is_empty()
        });
        self.partitions_count = count;
        self.partitions_with_history = with_history;
    }

    pub fn stats(&self) -> TrackerStats {
        use std::mem::size_of;
        let entry = size_of::<GroupPartition>();
        let approx_bytes = self.group_partitions * entry
            + self.group_partitions_with_history * size_of::<CommitHistory>()
            + self
                .partitions
                .values()
                .map(|l| l.capacity() * size_of::<PartitionState>())
                .sum::<usize>()
            + self.partitions_with_history * size_of::<HwHistory>()
            + self.groups.len() * (size_of::<GroupState>() + size_of::<Box<str>>())
            + self.groups_with_sparkline * size_of::<TotalLagHistory>();
        TrackerStats {
            groups: self.groups.len(),
            groups_with_sparkline: self.groups_with_sparkline,
            group_partitions: self.group_partitions,
            group_partitions_with_history: self.group_partitions_with_history,
            partitions: self.partitions_count,
            partitions_with_history: self.partitions_with_history,
            approx_bytes,
        }
    }

    /// The group's total lag, one value per sparkline step, oldest first, the last one the step
    /// containing `now`; None where no sample fell in a step. `points` is capped at
    /// [`SPARK_POINTS`].
    pub fn sparkline(&self, group: &str, now: Millis, points: usize) -> Vec<Option<u64>> {
        let points = points.min(SPARK_POINTS);
        let step = now.div_euclid(self.cfg.sparkline_step_ms);
        let spark = self.groups.get(group).and_then(|g| g.spark.as_deref());
        (0..points as i64)
            .rev()
            .map(|back| spark.and_then(|s| s.get(step - back)))
            .collect()
    }

    /// The group's total lag over time, oldest first: (start of the step, total lag).
    pub fn total_lag_history(&self, group: &str) -> Vec<(Millis, u64)> {
        let Some(spark) = self.groups.get(group).and_then(|g| g.spark.as_deref()) else {
            return Vec::new();
        };
        if spark.newest == NEVER {
            return Vec::new();
        }
        let step_ms = self.cfg.sparkline_step_ms;
        ((spark.newest - SPARK_POINTS as i64 + 1)..=spark.newest)
            .filter_map(|s| spark.get(s).map(|v| (s * step_ms, v)))
            .collect()
    }

    /// Everything about one group as of `now`, or None if it was never observed.
    pub fn group(&self, group: &str, now: Millis) -> Option<GroupLag> {
        let state = self.groups.get(group)?;
        let partitions: Vec<PartitionLag> = state
            .partitions
            .iter()
            .map(|gp| self.evaluate_partition(gp, now))
            .collect();

        let mut out = GroupLag {
            group: group.to_string(),
            total_lag: 0,
            max_lag: None,
            deleted_unread: 0,
            time_lag: TimeLag::Unknown,
            status: Status::Ok,
            reason: None,
            drain_ms: None,
            partitions_complete: 0,
            partitions: Vec::new(),
        };
        let mut worst: Option<&PartitionLag> = None;
        let mut drain: Option<Option<i64>> = None;
        for p in &partitions {
            if let Some(lag) = p.lag {
                out.total_lag = out.total_lag.saturating_add(lag);
                out.max_lag = Some(out.max_lag.map_or(lag, |m| m.max(lag)));
                if lag > self.cfg.allowed_lag {
                    drain = Some(match (drain, p.drain_ms) {
                        (Some(None), _) | (_, None) => None,
                        (Some(Some(a)), Some(b)) => Some(a.max(b)),
                        (None, Some(b)) => Some(b),
                    });
                }
            }
            out.deleted_unread = out.deleted_unread.saturating_add(p.deleted_unread);
            out.time_lag = out.time_lag.max(p.time_lag);
            if p.window_complete {
                out.partitions_complete += 1;
            }
            let worse = match worst {
                None => true,
                Some(w) => (p.status, p.lag.unwrap_or(-1)) > (w.status, w.lag.unwrap_or(-1)),
            };
            if worse {
                worst = Some(p);
            }
        }
        if let Some(w) = worst {
            out.status = w.status;
            out.reason = Some(GroupReason {
                topic: Arc::clone(&w.topic),
                partition: w.partition,
                reason: w.reason.clone(),
            });
        }
        out.drain_ms = drain.flatten();
        out.partitions = partitions;
        Some(out)
    }

    fn evaluate_partition(&self, gp: &GroupPartition, now: i64) -> PartitionLag {
        let cfg = &self.cfg;
        let part = self.partition(&gp.topic, gp.partition);
        let committed = (gp.committed != NO_OFFSET).then_some(gp.committed);
        let mut out = PartitionLag {
            topic: Arc::clone(&gp.topic),
            partition: gp.partition,
            committed,
            log_start: part.map(|p| p.log_start),
            high_watermark: part.map(|p| p.hw),
            lag: None,
            deleted_unread: 0,
            time_lag: TimeLag::Unknown,
            last_commit: gp.history.as_ref().map(|h| CommitTime {
                at_ms: h.since,
                exact: h.since_exact,
            }),
            assigned: gp.assigned,
            status: Status::Ok,
            reason: Reason::NoCommit,
            drain_ms: None,
            window_complete: false,
        };
        let Some(committed) = committed else {
            return out;
        };
        let Some(part) = part else {
            out.reason = Reason::NoWatermark;
            return out;
        };
        let offsets = compute_lag(Some(committed), Some(part.log_start), part.hw);
        let lag = offsets.lag.unwrap_or(0);
        out.lag = offsets.lag;
        out.deleted_unread = offsets.deleted_unread;
        out.time_lag = self.time_lag(gp, part, now);

        let (slots, complete) = match &gp.history {
            Some(h) => h.window(h.last_t, cfg.window_ms),
            None => (Vec::new(), false),
        };
        out.window_complete = complete;
        let (status, reason) = self.judge(gp, committed, part, lag, &slots, complete);
        out.status = status;
        out.reason = reason;
        if lag > cfg.allowed_lag && matches!(status, Status::Ok | Status::Warn | Status::Rewind) {
            out.drain_ms = drain_ms(&slots, lag, slot_spacing(cfg));
        }
        out
    }

    fn time_lag(&self, gp: &GroupPartition, part: &PartitionState, now: i64) -> TimeLag {
        let next = gp.committed.max(part.log_start);
        if next >= part.hw {
            return TimeLag::CaughtUp;
        }
        let below = gp.committed < part.log_start;
        let lag = if gp.record_from == next {
            TimeLag::Record {
                ms: (now - gp.record_ts).max(0),
            }
        } else if let Some(h) = &part.history {
            h.time_lag(next, now)
        } else {
            TimeLag::Unknown
        };
        // Records older than the log start were deleted unread: the group is further behind.
        if below {
            lag.at_least()
        } else {
            lag
        }
    }

    fn judge(
        &self,
        gp: &GroupPartition,
        committed: i64,
        part: &PartitionState,
        lag: i64,
        slots: &[Slot],
        complete: bool,
    ) -> (Status, Reason) {
        let cfg = &self.cfg;
        if committed < part.log_start {
            return (
                Status::Error,
                Reason::BelowLogStart {
                    committed,
                    log_start: part.log_start,
                    deleted: part.log_start - committed,
                },
            );
        }
        if lag <= cfg.allowed_lag {
            return (
                Status::Ok,
                Reason::CaughtUp {
                    lag,
                    allowed: cfg.allowed_lag,
                },
            );
        }
        let Some(h) = &gp.history else {
            return (
                Status::Ok,
                Reason::NotTracked {
                    limit: cfg.max_group_partitions,
                },
            );
        };
        let end = h.last_t;
        let start = end - cfg.window_ms;
        let caught_up_in_window = h.caught_up_at != NEVER && h.caught_up_at >= start;

        let unchanged_ms = end - h.since;
        if unchanged_ms >= cfg.window_ms && !caught_up_in_window {
            let (committed, at_least, window_ms) = (gp.committed, !h.since_exact, cfg.window_ms);
            return if gp.assigned {
                (
                    Status::Stall,
                    Reason::Stalled {
                        committed,
                        lag,
                        unchanged_ms,
                        at_least,
                        window_ms,
                    },
                )
            } else {
                (
                    Status::Stop,
                    Reason::Stopped {
                        committed,
                        lag,
                        unchanged_ms,
                        at_least,
                        window_ms,
                    },
                )
            };
        }
        if h.rewind_at != NEVER && h.rewind_at >= start && committed.max(part.log_start) < h.rewind_from {
            return (
                Status::Rewind,
                Reason::Rewound {
                    from: h.rewind_from,
                    to: h.rewind_to,
                    ago_ms: end - h.rewind_at,
                },
            );
        }
        if caught_up_in_window {
            return (
                Status::Ok,
                Reason::RecentlyCaughtUp {
                    ago_ms: end - h.caught_up_at,
                    window_ms: cfg.window_ms,
                },
            );
        }
        if !complete {
            let oldest = h.slot(0).t;
            return (
                Status::Ok,
                Reason::Watching {
                    sampled_ms: end - oldest,
                    window_ms: cfg.window_ms,
                },
            );
        }
        let lags: Vec<(i64, i64)> = slots.iter().filter_map(|s| Some((s.t, s.lag()?))).collect();
        let (Some(&(t0, first)), Some(&(t1, last))) = (lags.first(), lags.last()) else {
            return (Status::Ok, Reason::NoWatermark);
        };
        let never_fell = lags.windows(2).all(|w| w[1].1 >= w[0].1);
        if never_fell && last > first {
            return (
                Status::Warn,
                Reason::LagGrowing {
                    from: first,
                    to: last,
                    over_ms: t1 - t0,
                },
            );
        }
        (
            Status::Ok,
            Reason::Progressing {
                from: first,
                to: last,
                over_ms: t1 - t0,
            },
        )
    }
}

/// Time to catch up at the net rate the lag fell at across the window's slots: None unless
/// it fell over at least `min_span_ms`.
fn drain_ms(slots: &[Slot], lag_now: i64, min_span_ms: i64) -> Option<i64> {
    let mut known = slots.iter().filter_map(|s| Some((s.t, s.lag()?)));
    let (t0, first) = known.next()?;
    let (t1, last) = known.next_back()?;
    let span = t1 - t0;
    if last >= first || span < min_span_ms {
        return None;
    }
    let ms = lag_now as i128 * span as i128 / (first - last) as i128;
    Some(ms.min(i64::MAX as i128) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 30_000;
    const T0: i64 = 1_700_000_000_000;

    fn cs(topic: &str, partition: i32, committed: Option<i64>, assigned: bool) -> CommitSample<'_> {
        CommitSample {
            topic,
            partition,
            committed,
            assigned,
        }
    }

    fn tracker() -> LagTracker {
        LagTracker::new(LagConfig::default())
    }

    /// One refresh: the partition's watermarks, then the group's committed offset.
    fn sample(t: &mut LagTracker, now: i64, log_start: i64, hw: i64, committed: Option<i64>, assigned: bool) {
        t.observe_partition("orders", 0, log_start, hw, now);
        t.observe_group(
            "g",
            now,
            [CommitSample {
                topic: "orders",
                partition: 0,
                committed,
                assigned,
            }],
        );
    }

    fn part(t: &LagTracker, now: i64) -> PartitionLag {
        t.group("g", now).expect("group").partitions.remove(0)
    }

    #[test]
    fn lag_is_high_watermark_minus_committed() {
        assert_eq!(
            compute_lag(Some(40), Some(0), 100),
            OffsetLag {
                lag: Some(60),
                deleted_unread: 0
            }
        );
        assert_eq!(compute_lag(Some(100), Some(0), 100).lag, Some(0));
    }

    #[test]
    fn no_commit_has_no_lag_not_zero() {
        assert_eq!(compute_lag(None, Some(0), 100).lag, None);
        assert_eq!(compute_lag(Some(-1), Some(0), 100).lag, None);
        let mut t = tracker();
        sample(&mut t, T0, 0, 100, None, true);
        let p = part(&t, T0);
        assert_eq!(
            (p.lag, p.status, p.reason.clone()),
            (None, Status::Ok, Reason::NoCommit)
        );
        assert_eq!(p.time_lag, TimeLag::Unknown);
        assert_eq!(t.group("g", T0).unwrap().total_lag, 0);
    }

    #[test]
    fn committed_past_the_high_watermark_is_lag_zero() {
        assert_eq!(compute_lag(Some(120), Some(0), 100).lag, Some(0));
    }

    #[test]
    fn below_log_start_counts_only_retained_records_and_flags_the_deleted_ones() {
        assert_eq!(
            compute_lag(Some(100), Some(500), 800),
            OffsetLag {
                lag: Some(300),
                deleted_unread: 400
            }
        );
    }

    #[test]
    fn one_sample_below_log_start_is_error_with_the_numbers() {
        let mut t = tracker();
        sample(&mut t, T0, 500, 800, Some(100), true);
        let p = part(&t, T0);
        assert_eq!(p.status, Status::Error);
        assert_eq!(
            p.reason,
            Reason::BelowLogStart {
                committed: 100,
                log_start: 500,
                deleted: 400
            }
        );
        assert_eq!(
            p.reason.to_string(),
            "committed offset 100 is below the log start offset 500: retention deleted 400 records the group \
             never read"
        );
        assert_eq!((p.lag, p.deleted_unread), (Some(300), 400));
        let g = t.group("g", T0).unwrap();
        assert_eq!((g.status, g.deleted_unread, g.total_lag), (Status::Error, 400, 300));
        assert!(g.status.is_alert());
    }

    #[test]
    fn one_sample_caught_up_is_ok_and_one_lagging_sample_is_only_watching() {
        let mut t = tracker();
        sample(&mut t, T0, 0, 100, Some(100), true);
        let p = part(&t, T0);
        assert_eq!((p.status, p.reason.rule()), (Status::Ok, "caught-up"));
        assert_eq!(p.time_lag, TimeLag::CaughtUp);

        let mut t = tracker();
        sample(&mut t, T0, 0, 100, Some(40), true);
        let p = part(&t, T0);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(
            p.reason,
            Reason::Watching {
                sampled_ms: 0,
                window_ms: W
            }
        );
        assert!(!p.window_complete);
    }

    #[test]
    fn allowed_lag_counts_as_caught_up() {
        let mut t = LagTracker::new(LagConfig {
            allowed_lag: 5,
            ..LagConfig::default()
        });
        sample(&mut t, T0, 0, 100, Some(96), true);
        let p = part(&t, T0);
        assert_eq!(p.reason, Reason::CaughtUp { lag: 4, allowed: 5 });
        assert_eq!(p.reason.to_string(), "caught up: lag 4 is within the allowed 5");
    }

    /// Samples every 5 s over [from, to] with a fixed committed offset and a growing high
    /// watermark.
    fn unchanged(t: &mut LagTracker, from: i64, to: i64, committed: i64, assigned: bool) {
        let mut now = from;
        while now <= to {
            sample(t, now, 0, 1000 + (now - T0) / 100, Some(committed), assigned);
            now += 5_000;
        }
    }

    #[test]
    fn stop_when_no_member_holds_an_offset_unchanged_for_a_whole_window() {
        let mut t = tracker();
        unchanged(&mut t, T0, T0 + W, 500, false);
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Stop);
        assert_eq!(
            p.reason,
            Reason::Stopped {
                committed: 500,
                lag: 800,
                unchanged_ms: W,
                at_least: true,
                window_ms: W
            }
        );
        assert_eq!(
            p.reason.to_string(),
            "no commit for at least 30 s (window 30 s) while lag is 800; offset 500, no member is assigned the \
             partition"
        );
        assert_eq!(p.drain_ms, None);
        assert!(p.status.is_alert());
    }

    #[test]
    fn not_stopped_one_sample_short_of_the_window() {
        let mut t = tracker();
        unchanged(&mut t, T0, T0 + W - 5_000, 500, false);
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(p.reason.rule(), "watching");
    }

    #[test]
    fn stall_when_an_assigned_member_does_not_move_for_a_whole_window() {
        let mut t = tracker();
        // The offset moves once, then sticks: the reason's duration is exact.
        sample(&mut t, T0, 0, 1000, Some(400), true);
        unchanged(&mut t, T0 + 5_000, T0 + 5_000 + W, 500, true);
        let p = part(&t, T0 + 5_000 + W);
        assert_eq!(p.status, Status::Stall);
        assert_eq!(
            p.reason,
            Reason::Stalled {
                committed: 500,
                lag: 850,
                unchanged_ms: W,
                at_least: false,
                window_ms: W
            }
        );
        assert_eq!(
            p.last_commit,
            Some(CommitTime {
                at_ms: T0 + 5_000,
                exact: true
            })
        );
        assert!(p
            .reason
            .to_string()
            .starts_with("committed offset 500 has not moved for 30 s"));
    }

    #[test]
    fn caught_up_within_the_window_is_not_stopped() {
        // Burrow's exception: records arrived after the consumer had read everything; it may
        // just be waiting for its next poll.
        let mut t = tracker();
        sample(&mut t, T0, 0, 500, Some(500), false);
        for i in 1..=6 {
            sample(&mut t, T0 + i * 5_000, 0, 510, Some(500), false);
        }
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(
            p.reason,
            Reason::RecentlyCaughtUp {
                ago_ms: W,
                window_ms: W
            }
        );
        // One more sample and the zero lag has left the window.
        sample(&mut t, T0 + W + 5_000, 0, 510, Some(500), false);
        assert_eq!(part(&t, T0 + W + 5_000).status, Status::Stop);
    }

    #[test]
    fn rewind_holds_until_the_offset_is_regained_or_leaves_the_window() {
        let mut t = tracker();
        sample(&mut t, T0, 0, 6000, Some(5000), true);
        sample(&mut t, T0 + 5_000, 0, 6000, Some(1200), true);
        sample(&mut t, T0 + 10_000, 0, 6000, Some(3100), true);
        let p = part(&t, T0 + 10_000);
        assert_eq!(p.status, Status::Rewind);
        assert_eq!(
            p.reason,
            Reason::Rewound {
                from: 5000,
                to: 1200,
                ago_ms: 5_000
            }
        );
        assert_eq!(
            p.reason.to_string(),
            "committed offset went back from 5000 to 1200 5 s ago and has not regained 5000"
        );
        assert!(!p.status.is_alert());

        sample(&mut t, T0 + 15_000, 0, 6000, Some(5000), true);
        assert_ne!(part(&t, T0 + 15_000).status, Status::Rewind);

        // A rewind never regained stops counting once it is older than the window.
        let mut t = tracker();
        sample(&mut t, T0, 0, 90_000, Some(50_000), true);
        for i in 1..=7 {
            sample(&mut t, T0 + i * 5_000, 0, 90_000, Some(1_000 + i * 100), true);
        }
        assert_eq!(part(&t, T0 + 35_000).status, Status::Rewind);
        sample(&mut t, T0 + 40_000, 0, 90_000, Some(1_800), true);
        assert_ne!(part(&t, T0 + 40_000).status, Status::Rewind);
    }

    #[test]
    fn a_rewind_inside_one_slot_is_not_lost() {
        // Samples 1 s apart all land in the same slot; the rewind is recorded per sample.
        let mut t = tracker();
        sample(&mut t, T0, 0, 6000, Some(5000), true);
        sample(&mut t, T0 + 1_000, 0, 6000, Some(1000), true);
        assert_eq!(part(&t, T0 + 1_000).status, Status::Rewind);
    }

    #[test]
    fn stop_outranks_rewind_as_in_burrow() {
        let mut t = tracker();
        sample(&mut t, T0, 0, 6000, Some(5000), false);
        for i in 1..=7 {
            sample(&mut t, T0 + i * 5_000, 0, 6000 + i * 10, Some(1200), false);
        }
        // The rewind 30 s ago is still inside the window, but the offset has not moved since.
        let p = part(&t, T0 + 35_000);
        assert_eq!(p.status, Status::Stop);
        assert_eq!(p.reason.rule(), "stopped");
    }

    #[test]
    fn warn_when_lag_grows_across_the_window_and_never_falls() {
        let mut t = tracker();
        // Producing 10/s, consuming 6/s.
        for i in 0..=6 {
            let now = T0 + i * 5_000;
            sample(&mut t, now, 0, 1000 + i * 50, Some(900 + i * 30), true);
        }
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Warn);
        assert_eq!(
            p.reason,
            Reason::LagGrowing {
                from: 100,
                to: 220,
                over_ms: W
            }
        );
        assert_eq!(
            p.reason.to_string(),
            "lag grew from 100 to 220 over 30 s and never fell"
        );
        assert!(p.window_complete);
        assert_eq!(p.drain_ms, None);
        assert!(!p.status.is_alert());
    }

    #[test]
    fn lag_that_falls_once_is_ok() {
        let mut t = tracker();
        let lags = [100, 120, 140, 130, 150, 170, 190];
        for (i, lag) in lags.iter().enumerate() {
            let hw = 1000 + i as i64 * 50;
            sample(&mut t, T0 + i as i64 * 5_000, 0, hw, Some(hw - lag), true);
        }
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(
            p.reason.to_string(),
            "lag went from 100 to 190 over 30 s but fell in between"
        );
    }

    #[test]
    fn constant_lag_with_moving_offsets_is_ok_unlike_burrow() {
        let mut t = tracker();
        for i in 0..=6 {
            let hw = 1000 + i * 50;
            sample(&mut t, T0 + i * 5_000, 0, hw, Some(hw - 20), true);
        }
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(p.reason.to_string(), "lag steady at 20 over 30 s");
    }

    #[test]
    fn drain_estimate_uses_the_net_rate_where_lag_shrinks() {
        let mut t = tracker();
        // Lag falls 600 -> 300 over 30 s: 10 records/s net, 30 s to go.
        for i in 0..=6 {
            let hw = 10_000 + i * 100;
            let lag = 600 - i * 50;
            sample(&mut t, T0 + i * 5_000, 0, hw, Some(hw - lag), true);
        }
        let p = part(&t, T0 + W);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(p.reason.to_string(), "lag fell from 600 to 300 over 30 s");
        assert_eq!(p.drain_ms, Some(30_000));
        assert_eq!(t.group("g", T0 + W).unwrap().drain_ms, Some(30_000));
    }

    #[test]
    fn group_drain_is_the_slowest_partition_and_none_if_one_does_not_shrink() {
        let mut t = tracker();
        for i in 0..=6 {
            let now = T0 + i * 5_000;
            t.observe_partition("a", 0, 0, 10_000 + i * 100, now);
            t.observe_partition("a", 1, 0, 10_000 + i * 100, now);
            t.observe_partition("a", 2, 0, 10_000 + i * 100, now);
            let c0 = 10_000 + i * 100 - (600 - i * 50); // 30 s to go
            let c1 = 10_000 + i * 100 - (600 - i * 80); // 120 / 16 per s: 7.5 s
            t.observe_group(
                "g",
                now,
                [
                    cs("a", 0, Some(c0), true),
                    cs("a", 1, Some(c1), true),
                    cs("a", 2, Some(10_000 + i * 100), true),
                ],
            );
        }
        let g = t.group("g", T0 + W).unwrap();
        assert_eq!(g.partitions[1].drain_ms, Some(7_500));
        assert_eq!(g.drain_ms, Some(30_000));

        t.observe_partition("a", 2, 0, 20_000, T0 + W + 1_000);
        let g = t.group("g", T0 + W + 1_000).unwrap();
        assert_eq!(g.partitions[2].drain_ms, None);
        assert_eq!(g.drain_ms, None);
    }

    #[test]
    fn group_status_is_the_worst_partition_with_its_reason() {
        let mut t = tracker();
        for i in 0..=6 {
            let now = T0 + i * 5_000;
            t.observe_partition("a", 0, 0, 1000, now);
            t.observe_partition("a", 1, 300, 1000, now);
            t.observe_partition("b", 0, 0, 1000 + i * 50, now);
            t.observe_group(
                "g",
                now,
                [
                    cs("b", 0, Some(900 + i * 30), true),
                    cs("a", 0, Some(1000), true),
                    cs("a", 1, Some(100), true),
                ],
            );
        }
        let g = t.group("g", T0 + W).unwrap();
        let statuses: Vec<_> = g
            .partitions
            .iter()
            .map(|p| (p.topic.to_string(), p.partition, p.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("a".to_string(), 0, Status::Ok),
                ("a".to_string(), 1, Status::Error),
                ("b".to_string(), 0, Status::Warn)
            ]
        );
        assert_eq!(g.status, Status::Error);
        let reason = g.reason.unwrap();
        assert_eq!((reason.topic.as_ref(), reason.partition), ("a", 1));
        assert!(reason
            .to_string()
            .starts_with("a-1: committed offset 100 is below the log start offset 300"));
        assert_eq!(g.total_lag, 700 + 220);
        assert_eq!(g.max_lag, Some(700));
        assert_eq!(g.partitions_complete, 3);
    }

    #[test]
    fn time_lag_from_a_known_record_timestamp() {
        let mut t = tracker();
        sample(&mut t, T0, 0, 100, Some(40), true);
        assert_eq!(
            t.timestamps_wanted("g"),
            [TimestampWanted {
                topic: Arc::from("orders"),
                partition: 0,
                offset: 40
            }]
        );
        t.record_timestamp("g", "orders", 0, 40, T0 - 7_000);
        assert!(t.timestamps_wanted("g").is_empty());
        assert_eq!(part(&t, T0 + 1_000).time_lag, TimeLag::Record { ms: 8_000 });
        // A producer clock ahead of ours: 0, not negative.
        t.record_timestamp("g", "orders", 0, 40, T0 + 60_000);
        assert_eq!(part(&t, T0).time_lag, TimeLag::Record { ms: 0 });
        // The group moved on: that timestamp is not for its next record any more.
        sample(&mut t, T0 + 2_000, 0, 100, Some(60), true);
        assert_eq!(t.timestamps_wanted("g").len(), 1);
        assert_ne!(part(&t, T0 + 2_000).time_lag, TimeLag::Record { ms: 0 });
        // Caught up is 0 whatever was fetched, and nothing is wanted.
        sample(&mut t, T0 + 3_000, 0, 100, Some(100), true);
        assert_eq!(part(&t, T0 + 3_000).time_lag, TimeLag::CaughtUp);
        assert!(t.timestamps_wanted("g").is_empty());
    }

    #[test]
    fn time_lag_interpolates_inside_the_bracket_of_high_watermark_samples() {
        let mut t = tracker();
        // 10 records/s, sampled every 5 s: hw 1000 at T0, 1050 at T0+5 s, ...
        for i in 0..=6 {
            sample(&mut t, T0 + i * 5_000, 0, 1000 + i * 50, Some(1000), true);
        }
        // Record 1024 was appended in (T0, T0+5 s]: estimate T0 + 25/50 * 5 s.
        t.observe_group("g", T0 + W, [cs("orders", 0, Some(1024), true)]);
        let now = T0 + 40_000;
        assert_eq!(
            part(&t, now).time_lag,
            TimeLag::Estimate {
                ms: 37_500,
                min_ms: 35_000,
                max_ms: 40_000
            }
        );
        // The record just below the high watermark is the newest: appended in the last 5 s.
        t.observe_group("g", T0 + W, [cs("orders", 0, Some(1299), true)]);
        assert_eq!(
            part(&t, T0 + W).time_lag,
            TimeLag::Estimate {
                ms: 0,
                min_ms: 0,
                max_ms: 5_000
            }
        );
    }

    #[test]
    fn idle_topic_time_lag_is_zero_when_caught_up_and_honest_when_behind() {
        let mut t = tracker();
        sample(&mut t, T0, 0, 100, Some(100), true);
        sample(&mut t, T0 + 5_000, 0, 200, Some(200), true);
        // Then nothing is produced for an hour; the group is caught up.
        let mut now = T0 + 10_000;
        while now <= T0 + 3_600_000 {
            sample(&mut t, now, 0, 200, Some(200), true);
            now += 60_000;
        }
        let p = part(&t, now);
        assert_eq!(p.time_lag, TimeLag::CaughtUp);
        assert_eq!(p.time_lag.ms(), Some(0));

        // A group stuck at 150 on that idle topic: its next record was appended in
        // (T0, T0+5 s], an hour ago, and the bracket stays there however long the topic idles.
        t.observe_group("g", now, [cs("orders", 0, Some(150), true)]);
        match part(&t, now).time_lag {
            TimeLag::Estimate { ms, min_ms, max_ms } => {
                assert_eq!((min_ms, max_ms), (now - T0 - 5_000, now - T0));
                assert!(min_ms <= ms && ms <= max_ms);
            }
            other => panic!("expected an estimate, got {other:?}"),
        }
    }

    #[test]
    fn a_flat_history_gives_a_lower_bound_never_infinity() {
        // kafka-lag-exporter's one-flat-run table divides by zero here.
        let mut t = tracker();
        for i in 0..5 {
            t.observe_partition("orders", 0, 0, 200, T0 + i * 5_000);
        }
        t.observe_group("g", T0 + 20_000, [cs("orders", 0, Some(150), false)]);
        let p = part(&t, T0 + 20_000);
        assert_eq!(p.time_lag, TimeLag::AtLeast { ms: 20_000 });
        assert_eq!(p.time_lag.to_string(), ">20 s");
    }

    #[test]
    fn one_observation_of_a_lagging_partition_says_nothing_about_time_yet() {
        // `strom lag` without --window, or the console's first refresh: not ">0 ms".
        let mut t = tracker();
        sample(&mut t, T0, 0, 800, Some(100), true);
        assert_eq!(part(&t, T0).time_lag, TimeLag::Unknown);
        assert_eq!(part(&t, T0 + 7_000).time_lag, TimeLag::AtLeast { ms: 7_000 });
    }

    #[test]
    fn offsets_older_than_the_history_are_at_least_its_age_not_extrapolated() {
        let mut t = tracker();
        // A fast topic: 1,000 records/s, history starting at hw 1,000,000.
        for i in 0..=6 {
            t.observe_partition("orders", 0, 0, 1_000_000 + i * 5_000, T0 + i * 5_000);
        }
        // A replaying group at offset 10: extrapolating the rate would claim ~16 minutes; all
        // we know is that the record is older than the first observation.
        t.observe_group("g", T0 + W, [cs("orders", 0, Some(10), true)]);
        assert_eq!(part(&t, T0 + W).time_lag, TimeLag::AtLeast { ms: W });
    }

    #[test]
    fn below_log_start_time_lag_is_a_lower_bound() {
        let mut t = tracker();
        sample(&mut t, T0, 500, 800, Some(100), true);
        assert_eq!(t.timestamps_wanted("g")[0].offset, 500);
        t.record_timestamp("g", "orders", 0, 500, T0 - 90_000);
        assert_eq!(part(&t, T0).time_lag, TimeLag::AtLeast { ms: 90_000 });
    }

    #[test]
    fn high_watermark_history_stays_bounded_and_keeps_its_oldest_point() {
        let mut h = HwHistory::new(T0, 0);
        for i in 1..10_000 {
            h.push(T0 + i * 1_000, i * 10, i64::MAX);
            assert!(h.len as usize <= HW_POINTS);
        }
        let p = h.as_slice();
        assert_eq!(p.len(), HW_POINTS);
        assert_eq!(p[0], HwPoint { t: T0, hw: 0 });
        assert_eq!(
            p[p.len() - 1],
            HwPoint {
                t: T0 + 9_999_000,
                hw: 99_990
            }
        );
        assert!(p.windows(2).all(|w| w[0].t < w[1].t && w[0].hw <= w[1].hw));
        // Recent history is finer than old history.
        let recent_gap = p[p.len() - 1].t - p[p.len() - 2].t;
        let old_gap = p[2].t - p[1].t;
        assert!(recent_gap < old_gap, "{recent_gap} vs {old_gap}");
        // Interpolation over thinned history still brackets correctly.
        let now = T0 + 9_999_000;
        match h.time_lag(50_000, now) {
            TimeLag::Estimate { ms, min_ms, max_ms } => {
                assert!(min_ms <= 4_999_000 && 4_999_000 <= max_ms, "{min_ms}..{max_ms}");
                assert!(min_ms <= ms && ms <= max_ms);
            }
            other => panic!("expected an estimate, got {other:?}"),
        }
    }

    #[test]
    fn high_watermark_history_forgets_points_older_than_its_reach() {
        let mut h = HwHistory::new(T0, 0);
        for i in 1..=100 {
            h.push(T0 + i * 60_000, i * 10, 3_600_000);
        }
        // One point at or before the cut-off is kept, so the bracket at the edge still works.
        let p = h.as_slice();
        assert!(p[0].t <= T0 + 100 * 60_000 - 3_600_000);
        assert!(p[1].t > T0 + 100 * 60_000 - 3_600_000);
    }

    #[test]
    fn high_watermark_going_back_restarts_the_history() {
        let mut h = HwHistory::new(T0, 1000);
        h.push(T0 + 5_000, 2000, i64::MAX);
        h.push(T0 + 10_000, 10, i64::MAX);
        assert_eq!(h.as_slice(), [HwPoint { t: T0 + 10_000, hw: 10 }]);
        // The clock going back restarts it too, and nothing panics.
        h.push(T0, 20, i64::MAX);
        assert_eq!(h.as_slice(), [HwPoint { t: T0, hw: 20 }]);
    }

    #[test]
    fn clock_going_back_restarts_a_commit_history() {
        let mut t = tracker();
        unchanged(&mut t, T0, T0 + W, 500, false);
        assert_eq!(part(&t, T0 + W).status, Status::Stop);
        sample(&mut t, T0 - 60_000, 0, 2000, Some(500), false);
        let p = part(&t, T0 - 60_000);
        assert_eq!(p.reason.rule(), "watching");
    }

    #[test]
    fn commit_slots_always_reach_back_over_a_window() {
        let cfg = LagConfig::default();
        let mut h = CommitHistory::new(T0, 0, 10, 0);
        // Samples every 700 ms for ten minutes: slots merge, and the oldest slot is never
        // inside the window once a window has passed.
        for i in 1..=857 {
            let now = T0 + i * 700;
            h.observe(now, i, i + 10, &cfg);
            let (slots, complete) = h.window(now, W);
            assert!(slots.len() <= COMMIT_SLOTS);
            if now - T0 >= W {
                assert!(complete, "at {}", now - T0);
            }
        }
    }

    #[test]
    fn sparkline_has_one_value_per_step_and_gaps_where_no_sample_fell() {
        let mut t = tracker();
        let base = (T0 / 5_000) * 5_000;
        sample(&mut t, base, 0, 100, Some(90), true); // 10
        sample(&mut t, base + 1_000, 0, 100, Some(80), true); // 20, same step: replaces
        sample(&mut t, base + 5_000, 0, 100, Some(70), true); // 30
        sample(&mut t, base + 20_000, 0, 100, Some(60), true); // 40, after two empty steps
        let s = t.sparkline("g", base + 20_000, 6);
        assert_eq!(s, [None, Some(20), Some(30), None, None, Some(40)]);
        assert_eq!(
            t.total_lag_history("g"),
            [(base, 20), (base + 5_000, 30), (base + 20_000, 40)]
        );
        // Bounded: after far more steps than it keeps, only the last SPARK_POINTS remain.
        for i in 0..1000 {
            sample(&mut t, base + 25_000 + i * 5_000, 0, 100 + i, Some(0), true);
        }
        let h = t.total_lag_history("g");
        assert_eq!(h.len(), SPARK_POINTS);
        assert_eq!(h.last().unwrap().1, 100 + 999);
        assert_eq!(t.sparkline("g", base, 10), vec![None; 10]);
        assert_eq!(t.sparkline("g", base + 1_000_000, 500).len(), SPARK_POINTS);
    }

    #[test]
    fn partitions_missing_from_a_new_observation_are_forgotten() {
        let mut t = tracker();
        t.observe_partition("a", 0, 0, 10, T0);
        t.observe_partition("a", 1, 0, 10, T0);
        let both = [cs("a", 1, Some(5), true), cs("a", 0, Some(5), true)];
        t.observe_group("g", T0, both);
        assert_eq!(t.stats().group_partitions, 2);
        t.observe_group("g", T0 + 1_000, [both[0]]);
        let g = t.group("g", T0 + 1_000).unwrap();
        assert_eq!(g.partitions.len(), 1);
        assert_eq!(g.partitions[0].partition, 1);
        assert_eq!(t.stats().group_partitions, 1);
        assert_eq!(t.stats().group_partitions_with_history, 1);
        t.remove_group("g");
        assert_eq!(t.stats().group_partitions, 0);
        assert_eq!(t.stats().group_partitions_with_history, 0);
    }

    #[test]
    fn limits_bound_the_history_and_say_so_in_the_reason() {
        let mut t = LagTracker::new(LagConfig {
            max_group_partitions: 50,
            max_partitions: 30,
            max_groups: 3,
            ..LagConfig::default()
        });
        for round in 0..3 {
            let now = T0 + round * 5_000;
            for p in 0..40 {
                t.observe_partition("big", p, 0, 1000 + round, now);
            }
            for g in 0..5 {
                let samples: Vec<_> = (0..40).map(|p| cs("big", p, Some(10), true)).collect();
                t.observe_group(&format!("g{g}"), now, samples);
            }
        }
        let s = t.stats();
        assert_eq!(s.groups, 5);
        assert_eq!(s.groups_with_sparkline, 3);
        assert_eq!(s.group_partitions, 200);
        assert_eq!(s.group_partitions_with_history, 50);
        assert_eq!(s.partitions, 40);
        assert_eq!(s.partitions_with_history, 30);
        let g = t.group("g4", T0 + 10_000).unwrap();
        let p = &g.partitions[39];
        assert_eq!(p.partition, 39);
        assert_eq!(p.lag, Some(992));
        assert_eq!(p.reason, Reason::NotTracked { limit: 50 });
        assert_eq!(p.time_lag, TimeLag::Unknown);
        // Untracked partitions still get ERROR and caught up from one sample.
        t.observe_partition("big", 39, 500, 1002, T0 + 10_000);
        assert_eq!(t.group("g4", T0 + 10_000).unwrap().partitions[39].status, Status::Error);
        assert!(t.sparkline("g4", T0 + 10_000, 3).iter().all(Option::is_none));
    }

    #[test]
    fn the_structures_behind_the_documented_memory_bound() {
        use std::mem::size_of;
        assert!(size_of::<CommitHistory>() <= 248, "{}", size_of::<CommitHistory>());
        assert!(size_of::<GroupPartition>() <= 64, "{}", size_of::<GroupPartition>());
        assert!(size_of::<HwHistory>() <= 520, "{}", size_of::<HwHistory>());
        assert!(size_of::<PartitionState>() <= 40, "{}", size_of::<PartitionState>());
        assert!(
            size_of::<TotalLagHistory>() <= 1_000,
            "{}",
            size_of::<TotalLagHistory>()
        );
        // The documented worst case with the default limits.
        let cfg = LagConfig::default();
        let worst = cfg.max_group_partitions * (size_of::<GroupPartition>() + size_of::<CommitHistory>() + 16)
            + cfg.max_partitions * (size_of::<PartitionState>() + size_of::<HwHistory>() + 16)
            + cfg.max_groups * (size_of::<TotalLagHistory>() + size_of::<GroupState>() + 16);
        assert!(worst < 75_000_000, "{worst}");
    }

    #[test]
    fn forget_stale_drops_groups_and_partitions_no_longer_seen() {
        let mut t = tracker();
        sample(&mut t, T0, 0, 100, Some(50), true);
        t.observe_partition("other", 3, 0, 10, T0 + 700_000);
        t.observe_group("h", T0 + 700_000, []);
        t.forget_stale(T0 + 700_000);
        let s = t.stats();
        assert_eq!(
            (s.groups, s.group_partitions, s.group_partitions_with_history),
            (1, 0, 0)
        );
        assert_eq!((s.partitions, s.partitions_with_history), (1, 1));
        assert!(t.group("g", T0 + 700_000).is_none());
        assert_eq!(t.group_names().collect::<Vec<_>>(), ["h"]);
    }

    #[test]
    fn hostile_partition_ids_and_duplicate_samples_are_ignored() {
        let mut t = tracker();
        t.observe_partition("a", -1, 0, 10, T0);
        t.observe_partition("a", i32::MAX, 0, 10, T0);
        assert_eq!(t.stats().partitions, 0);
        let s = cs("a", i32::MAX, Some(1), true);
        let dup = cs("a", 0, Some(1), true);
        t.observe_group("g", T0, [s, dup, dup]);
        assert_eq!(t.stats().group_partitions, 1);
        assert_eq!(t.group("g", T0).unwrap().partitions[0].reason, Reason::NoWatermark);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration_ms(-5), "0 ms");
        assert_eq!(format_duration_ms(850), "850 ms");
        assert_eq!(format_duration_ms(45_000), "45 s");
        assert_eq!(format_duration_ms(120_000), "2 min");
        assert_eq!(format_duration_ms(185_000), "3 min 5 s");
        assert_eq!(format_duration_ms(7_380_000), "2 h 3 min");
        assert_eq!(format_duration_ms(7_200_000), "2 h");
        assert_eq!(format_duration_ms(86_400_000 * 4 + 7_200_000), "4 d 2 h");
        assert_eq!(
            TimeLag::Estimate {
                ms: 1500,
                min_ms: 0,
                max_ms: 0
            }
            .to_string(),
            "~1 s"
        );
        assert_eq!(TimeLag::Unknown.to_string(), "-");
        assert_eq!(TimeLag::CaughtUp.to_string(), "0 s");
    }

    #[test]
    fn statuses_order_by_severity() {
        let mut all = [
            Status::Error,
            Status::Ok,
            Status::Stop,
            Status::Warn,
            Status::Stall,
            Status::Rewind,
        ];
        all.sort();
        let names: Vec<_> = all.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["OK", "WARN", "REWIND", "STALL", "STOP", "ERROR"]);
    }
}
