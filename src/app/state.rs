//! AppState: the plain data the UI renders from. Mutated only by the event loop (keys and
//! worker updates); render functions take `&AppState` and never change it.
//!
//! Tables keep their visible row order (`TableView::rows`) computed when data, sort or filter
//! change, never per frame: a 10,000-row table costs nothing to draw when nothing changed.

use std::time::{Duration, Instant};

use crate::cluster::model::{ClusterSnapshot, ConfigEntry, Topic};

/// Which cluster this console is looking at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Profile name, "bundled", or the bootstrap list itself.
    pub name: String,
    pub bootstrap: String,
    /// The bundled broker that this process started (or reused).
    pub bundled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// No answer yet since start.
    Connecting { since: Instant },
    /// The last refresh succeeded.
    Up,
    /// Refreshes fail; the last good data is still shown, marked stale.
    Lost { since: Instant, error: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    Topics,
    Partitions,
    Brokers,
    Groups,
    Configs,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Topics,
        Pane::Partitions,
        Pane::Brokers,
        Pane::Groups,
        Pane::Configs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Topics => "Topics",
            Pane::Partitions => "Partitions",
            Pane::Brokers => "Brokers",
            Pane::Groups => "Groups",
            Pane::Configs => "Configs",
        }
    }

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

pub use crate::cluster::model::GroupSummary;

/// Scroll, selection, sort and filter of one table. `rows` holds indices into the pane's
/// source list in display order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableView {
    pub selected: usize,
    pub offset: usize,
    pub sort_column: usize,
    pub descending: bool,
    pub filter: String,
    pub rows: Vec<usize>,
}

impl TableView {
    pub fn selected_row(&self) -> Option<usize> {
        self.rows.get(self.selected).copied()
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            self.selected = 0;
            return;
        }
        let max = self.rows.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, max) as usize;
    }

    pub fn home(&mut self) {
        self.selected = 0;
    }

    pub fn end(&mut self) {
        self.selected = self.rows.len().saturating_sub(1);
    }

    /// Keeps the selection on screen for a viewport of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        if height == 0 {
            return;
        }
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
    }
}

/// What the bottom line is for right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Normal,
    /// `/` typed: editing the current pane's filter.
    Filter(String),
    /// `:` typed: a command.
    Palette(String),
}

pub struct AppState {
    pub target: Target,
    pub connection: Connection,
    /// The clock for rendering relative times; set by the event loop each tick, fixed in tests.
    pub now: Instant,
    pub snapshot: ClusterSnapshot,
    pub snapshot_at: Option<Instant>,
    pub pane: Pane,
    pub topics: TableView,
    pub partitions: TableView,
    pub brokers: TableView,
    pub groups: TableView,
    pub configs: TableView,
    /// The topic whose partitions and configs are shown.
    pub current_topic: Option<String>,
    /// Configs of `current_topic`, once fetched: Ok(entries) or the cluster's error.
    pub topic_configs: Option<(String, Result<Vec<ConfigEntry>, String>)>,
    pub group_list: Vec<GroupSummary>,
    /// Things this cluster does not support, said once, e.g. "no DescribeLogDirs: sizes unknown".
    pub notes: Vec<String>,
    pub input: Input,
    pub show_help: bool,
    /// A transient message (result of an action, a bad command) and when it was shown.
    pub flash: Option<(String, Instant)>,
    pub should_quit: bool,
}

impl AppState {
    pub fn new(target: Target, now: Instant) -> Self {
        AppState {
            target,
            connection: Connection::Connecting { since: now },
            now,
            snapshot: ClusterSnapshot::default(),
            snapshot_at: None,
            pane: Pane::Topics,
            topics: TableView::default(),
            partitions: TableView::default(),
            brokers: TableView::default(),
            groups: TableView::default(),
            configs: TableView::default(),
            current_topic: None,
            topic_configs: None,
            group_list: Vec::new(),
            notes: Vec::new(),
            input: Input::Normal,
            show_help: false,
            flash: None,
            should_quit: false,
        }
    }

    pub fn table(&self, pane: Pane) -> &TableView {
        match pane {
            Pane::Topics => &self.topics,
            Pane::Partitions => &self.partitions,
            Pane::Brokers => &self.brokers,
            Pane::Groups => &self.groups,
            Pane::Configs => &self.configs,
        }
    }

    pub fn table_mut(&mut self, pane: Pane) -> &mut TableView {
        match pane {
            Pane::Topics => &mut self.topics,
            Pane::Partitions => &mut self.partitions,
            Pane::Brokers => &mut self.brokers,
            Pane::Groups => &mut self.groups,
            Pane::Configs => &mut self.configs,
        }
    }

    pub fn current_topic(&self) -> Option<&Topic> {
        self.snapshot.topic(self.current_topic.as_deref()?)
    }

    /// The data is older than a refresh should be (the cluster stopped answering).
    pub fn is_stale(&self) -> bool {
        matches!(self.connection, Connection::Lost { .. })
    }

    pub fn flash(&mut self, text: impl Into<String>) {
        self.flash = Some((text.into(), self.now));
    }

    /// The flash message if it is recent enough to show.
    pub fn visible_flash(&self) -> Option<&str> {
        let (text, at) = self.flash.as_ref()?;
        (self.now.saturating_duration_since(*at) < Duration::from_secs(6)).then_some(text.as_str())
    }
}
