//! What keys mean (`Action`) and what the worker is asked (`Command`) and answers (`Update`).
//! Two directions, two types: an Action may change only state, or also send a Command.
//! Every command carries an id; answers to a command carry it back, and job results carry
//! their [`JobKey`], so an answer nobody waits for any more is recognised and dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::app::lag_monitor::GroupLagReport;
use crate::app::panes::PaneId;
use crate::app::state::Dataset;
use crate::app::worker::tail::TailBatch;
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::{CommittedOffset, ListedOffset};
use crate::cluster::model::{ConfigEntry, GroupSummary, Metadata, PartitionMap, Retention};
use crate::cluster::ops::{Applied, Op, Plan};
use crate::cluster::tail::{RecordTimestamp, StartAt, TailControl, TailTarget};

/// A user intent, loadable by name from the keymap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    // global
    Quit,
    NextPane,
    PrevPane,
    GoTo(PaneId),
    Palette,
    Help,
    Refresh,
    // table
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Drill down (topic -> partitions).
    Open,
    /// Clear a filter, or go back up.
    Back,
    Filter,
    /// Sort by the next column.
    SortNext,
    SortReverse,
    // input (a line being typed)
    Submit,
    Cancel,
    DeleteBack,
    // modal (a dialog or overlay)
    Close,
    Confirm,
    /// Open the live tail of the selected topic or partition.
    Tail,
    // tail
    /// Pause or resume reading.
    PauseTail,
    /// Jump to the newest record and follow.
    Follow,
    /// Next value view: auto, text, JSON, hex.
    CycleView,
    /// Read from another position: earliest, latest, an offset, a time, the last N.
    TailFrom,
    // table: a change to the cluster (a form, then a plan to confirm)
    Act(ActionKind),
}

/// The changes the console makes from keys; each asks for what it needs in a form (or goes
/// straight to its plan), shows the plan, and applies it only once confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    ResetOffsets,
    UndoReset,
    AddPartitions,
    EditConfigs,
    CreateTopic,
    /// The selected topic (topics pane) or group (groups pane).
    Delete,
    DeleteRecords,
    Produce,
}

impl ActionKind {
    pub const ALL: [ActionKind; 8] = [
        ActionKind::ResetOffsets,
        ActionKind::UndoReset,
        ActionKind::AddPartitions,
        ActionKind::EditConfigs,
        ActionKind::CreateTopic,
        ActionKind::Delete,
        ActionKind::DeleteRecords,
        ActionKind::Produce,
    ];

    /// The name in the keymap file.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::ResetOffsets => "reset_offsets",
            ActionKind::UndoReset => "undo_reset",
            ActionKind::AddPartitions => "add_partitions",
            ActionKind::EditConfigs => "edit_configs",
            ActionKind::CreateTopic => "create_topic",
            ActionKind::Delete => "delete",
            ActionKind::DeleteRecords => "delete_records",
            ActionKind::Produce => "produce",
        }
    }
}

impl Action {
    /// Names used in the keymap file.
    pub fn from_name(name: &str) -> Option<Action> {
        if let Some(p) = PaneId::ALL.iter().find(|p| p.action_name() == name) {
            return Some(Action::GoTo(*p));
        }
        if let Some(k) = ActionKind::ALL.iter().find(|k| k.name() == name) {
            return Some(Action::Act(*k));
        }
        Some(match name {
            "quit" => Action::Quit,
            "next_pane" => Action::NextPane,
            "prev_pane" => Action::PrevPane,
            "palette" => Action::Palette,
            "help" => Action::Help,
            "refresh" => Action::Refresh,
            "up" => Action::Up,
            "down" => Action::Down,
            "page_up" => Action::PageUp,
            "page_down" => Action::PageDown,
            "home" => Action::Home,
            "end" => Action::End,
            "open" => Action::Open,
            "back" => Action::Back,
            "filter" => Action::Filter,
            "sort_next" => Action::SortNext,
            "sort_reverse" => Action::SortReverse,
            "submit" => Action::Submit,
            "cancel" => Action::Cancel,
            "delete_back" => Action::DeleteBack,
            "close" => Action::Close,
            "confirm" => Action::Confirm,
            "tail" => Action::Tail,
            "pause" => Action::PauseTail,
            "follow" => Action::Follow,
            "value_view" => Action::CycleView,
            "tail_from" => Action::TailFrom,
            _ => return None,
        })
    }
}

/// The id of a command, unique within one console.
pub type CommandId = u64;

/// What the screen shows, so the worker refreshes it first and fetches per-item datasets
/// only while they are wanted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewWants {
    /// The datasets of the pane on screen.
    pub visible: Vec<Dataset>,
    /// Topics on screen (rows around the selection, or the open topic): their partitions are
    /// in the first offsets request of each round.
    pub topics_first: Vec<String>,
    /// The topic whose configs are wanted (the open topic).
    pub topic_configs: Option<String>,
    /// Groups on screen: their committed offsets (every group's are refreshed) come first and
    /// most often, and their time lags are made exact with record timestamps.
    pub group_offsets: Vec<String>,
    /// The group whose detail is open: like a group on screen, plus its lag history.
    pub open_group: Option<String>,
}

/// Work for the background worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// The screen changed: refresh what it shows first; per-item jobs no longer wanted are
    /// cancelled (their answers are never applied).
    View { id: CommandId, view: ViewWants },
    /// Refresh every dataset on screen now; answered with [`Update::Refreshed`] once all of
    /// them answered.
    Refresh { id: CommandId },
    /// About the console's live tail; its records come back as [`Update::Tail`].
    Tail { id: CommandId, order: TailOrder },
    /// Plan a change against the cluster; answered with [`Update::Planned`].
    Plan { id: CommandId, op: Box<Op> },
    /// Apply a confirmed plan; answered with [`Update::Applied`].
    Apply { id: CommandId, plan: Box<Plan> },
}

impl Command {
    pub fn id(&self) -> CommandId {
        match self {
            Command::View { id, .. }
            | Command::Refresh { id }
            | Command::Tail { id, .. }
            | Command::Plan { id, .. }
            | Command::Apply { id, .. } => *id,
        }
    }
}

/// The id of a tail session, unique within one console: batches of a session that was closed
/// or replaced are recognised and dropped.
pub type TailId = u64;

/// What the worker does with the console's tail. One session at a time: opening one stops
/// the previous.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailOrder {
    Open {
        session: TailId,
        target: TailTarget,
        start: StartAt,
    },
    Control {
        session: TailId,
        control: TailControl,
    },
    /// Stop the session and close its consumer.
    Close {
        session: TailId,
    },
}

/// One refresh job: a dataset, or one part of a dataset fetched in several requests.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKey {
    Metadata,
    /// Latest offsets of one chunk of partitions (the first chunk holds what is on screen).
    HighWatermarks(u32),
    /// Earliest offsets of one chunk of partitions.
    LogStarts(u32),
    /// Partition sizes hosted by one broker (by id).
    Sizes(i32),
    /// Retention of one chunk of topics.
    Retention(u32),
    Groups,
    GroupOffsets(String),
    TopicConfigs(String),
    /// Timestamps of the next records groups on screen will read (their exact time lags).
    RecordTimestamps,
}

impl JobKey {
    pub fn dataset(&self) -> Dataset {
        match self {
            JobKey::Metadata => Dataset::Metadata,
            JobKey::HighWatermarks(_) => Dataset::HighWatermarks,
            JobKey::LogStarts(_) => Dataset::LogStarts,
            JobKey::Sizes(_) => Dataset::Sizes,
            JobKey::Retention(_) => Dataset::Retention,
            JobKey::Groups => Dataset::Groups,
            JobKey::GroupOffsets(_) => Dataset::GroupOffsets,
            JobKey::TopicConfigs(_) => Dataset::TopicConfigs,
            JobKey::RecordTimestamps => Dataset::RecordTimestamps,
        }
    }

    /// Which part of its dataset this job fetches (chunk index or broker id; 0 otherwise).
    pub fn part(&self) -> i64 {
        match self {
            JobKey::HighWatermarks(i) | JobKey::LogStarts(i) | JobKey::Retention(i) => i64::from(*i),
            JobKey::Sizes(b) => i64::from(*b),
            _ => 0,
        }
    }
}

/// A job's answer, as owned data.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Metadata(Metadata),
    /// Offsets of one chunk (per-partition errors included).
    Offsets(Vec<ListedOffset>),
    Sizes(PartitionMap<u64>),
    Retention(HashMap<String, Retention>),
    Groups(Vec<GroupSummary>),
    /// A group's committed offsets, as the worker fetched them (it turns them into a
    /// [`Payload::GroupLag`] before they reach the UI).
    GroupOffsets(Vec<CommittedOffset>),
    /// A group's lag, judged by the worker's lag monitor from its committed offsets.
    GroupLag(Box<GroupLagReport>),
    TopicConfigs(Vec<ConfigEntry>),
    Timestamps(Vec<RecordTimestamp>),
}

/// Results from the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// A job's request went out.
    Started { job: JobKey, at: Instant },
    /// A job answered (or failed, or timed out: the error says which).
    Finished {
        job: JobKey,
        at: Instant,
        result: Result<Payload, ClusterError>,
    },
    /// A job is gone (no longer wanted, or its part no longer exists): forget its freshness.
    Dropped { job: JobKey },
    /// Every dataset on screen answered since the [`Command::Refresh`] with this id.
    Refreshed { id: CommandId },
    /// A group's lag changed without a new fetch of its offsets (a record timestamp arrived).
    Lag(Box<GroupLagReport>),
    /// Records and notices of a tail session, in order. Dropping the batch tells the worker it
    /// was taken (see [`TailBatch`]).
    Tail { session: TailId, batch: TailBatch },
    /// The plan asked for by the [`Command::Plan`] with this id, or why there is none.
    Planned {
        id: CommandId,
        result: Result<Box<Plan>, ClusterError>,
    },
    /// What applying the plan of the [`Command::Apply`] with this id did; `audit_log` is where
    /// it was recorded.
    Applied {
        id: CommandId,
        result: Result<Applied, ClusterError>,
        audit_log: PathBuf,
    },
}
