//! What keys mean (`Action`) and what the worker is asked (`Command`) and answers (`Update`).
//! Two directions, two types: an Action may change only state, or also send a Command.

use crate::app::state::{GroupSummary, Pane};
use crate::cluster::model::{ClusterSnapshot, ConfigEntry};

/// A user intent, loadable by name from the keymap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    NextPane,
    PrevPane,
    GoTo(Pane),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Drill down (topic -> partitions).
    Open,
    /// Close an overlay, clear a filter, or go back up.
    Back,
    Filter,
    Palette,
    Help,
    /// Sort by the next column; pressing again on the same column reverses.
    SortNext,
    SortReverse,
    Refresh,
}

impl Action {
    /// Names used in the keymap file.
    pub fn from_name(name: &str) -> Option<Action> {
        Some(match name {
            "quit" => Action::Quit,
            "next_pane" => Action::NextPane,
            "prev_pane" => Action::PrevPane,
            "topics" => Action::GoTo(Pane::Topics),
            "partitions" => Action::GoTo(Pane::Partitions),
            "brokers" => Action::GoTo(Pane::Brokers),
            "groups" => Action::GoTo(Pane::Groups),
            "configs" => Action::GoTo(Pane::Configs),
            "up" => Action::Up,
            "down" => Action::Down,
            "page_up" => Action::PageUp,
            "page_down" => Action::PageDown,
            "home" => Action::Home,
            "end" => Action::End,
            "open" => Action::Open,
            "back" => Action::Back,
            "filter" => Action::Filter,
            "palette" => Action::Palette,
            "help" => Action::Help,
            "sort_next" => Action::SortNext,
            "sort_reverse" => Action::SortReverse,
            "refresh" => Action::Refresh,
            _ => return None,
        })
    }
}

/// Work for the background worker. Every command carries an id; its answer carries the same
/// id so a stale answer (e.g. configs of a topic no longer shown) can be dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Refresh metadata, watermarks and sizes now instead of at the next scheduled time.
    Refresh,
    /// Fetch the configs of one topic.
    TopicConfigs { id: u64, topic: String },
}

/// Results from the worker, as owned data.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// A full refresh succeeded.
    Snapshot(ClusterSnapshot),
    Groups(Vec<GroupSummary>),
    /// A refresh failed: the cluster did not answer or answered with an error.
    Unreachable {
        error: String,
    },
    TopicConfigs {
        id: u64,
        topic: String,
        result: Result<Vec<ConfigEntry>, String>,
    },
    /// Something this cluster cannot do, to be noted once (e.g. no DescribeLogDirs).
    Note(String),
}
