//! The Consumer groups pane's model: every group with its state, members, assignor and, from
//! the worker's lag monitor, its total and largest partition lag, time lag, a sparkline of its
//! total lag, its status and drain estimate. `Enter` opens a group's detail
//! ([`group_detail`](super::group_detail)) in the same pane; `Esc` closes it.
//!
//! The same rows and columns make `strom groups` and `strom groups --json`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::app::columns::{contains_ci, json_opt, Align, Cell, Column, Layout, Row, Table, TableModel, Tone};
use crate::app::lag_monitor::GroupLagReport;
use crate::app::panes::group_detail::GroupDetail;
use crate::app::panes::{Context, Hint, Pane, PaneId};
use crate::app::state::{ClusterData, Dataset};
use crate::cluster::lag::{format_duration_ms, Status, TimeLag};
use crate::cluster::model::GroupSummary;

/// One group as the list shows it: what ListGroups/DescribeGroups say, and its lag once the
/// worker has judged it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupRow {
    pub summary: GroupSummary,
    pub lag: Option<Arc<GroupLagReport>>,
}

impl GroupRow {
    pub fn status(&self) -> Option<Status> {
        self.lag
            .as_ref()
            .filter(|l| !l.lag.partitions.is_empty())
            .map(|l| l.lag.status)
    }

    /// Total lag; None before the first judgement or when nothing is committed.
    pub fn total_lag(&self) -> Option<i64> {
        let l = self.lag.as_ref()?;
        l.lag.max_lag.map(|_| l.lag.total_lag)
    }

    fn max_lag(&self) -> Option<i64> {
        self.lag.as_ref()?.lag.max_lag
    }

    fn time_lag(&self) -> TimeLag {
        self.lag.as_ref().map_or(TimeLag::Unknown, |l| l.lag.time_lag)
    }

    fn drain_ms(&self) -> Option<i64> {
        self.lag.as_ref()?.lag.drain_ms
    }

    fn topics(&self) -> &[Arc<str>] {
        self.lag.as_ref().map_or(&[], |l| &l.topics)
    }
}

impl Row for GroupRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.summary.name)
    }

    fn matches(&self, needle: &str) -> bool {
        contains_ci(&self.summary.name, needle) || self.topics().iter().any(|t| contains_ci(t, needle))
    }
}

/// Kafka's group states: a rebalance is transient, Dead is gone, Empty has no members.
pub fn state_tone(state: &str) -> Tone {
    match state {
        "Stable" => Tone::Ok,
        "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => Tone::Warn,
        "Dead" => Tone::Error,
        _ => Tone::Muted,
    }
}

/// OK is fine, WARN and REWIND want a look, STALL, STOP and ERROR want action.
pub fn status_tone(s: Status) -> Tone {
    match s {
        Status::Ok => Tone::Ok,
        Status::Warn | Status::Rewind => Tone::Warn,
        Status::Stall | Status::Stop | Status::Error => Tone::Error,
    }
}

fn text_or_null(s: &str) -> serde_json::Value {
    if s.is_empty() {
        serde_json::Value::Null
    } else {
        s.into()
    }
}

/// A lag count: "-" when unknown (no commit is not zero lag).
pub fn lag_cell(lag: Option<i64>) -> Cell {
    match lag {
        None => Cell::unknown(),
        Some(0) => Cell::toned("0", Tone::Muted),
        Some(n) => Cell::plain(n.to_string()),
    }
}

pub fn time_lag_cell(t: TimeLag) -> Cell {
    match t {
        TimeLag::Unknown => Cell::unknown(),
        TimeLag::CaughtUp => Cell::toned(t.to_string(), Tone::Muted),
        t => Cell::plain(t.to_string()),
    }
}

pub fn drain_cell(ms: Option<i64>) -> Cell {
    ms.map_or_else(Cell::unknown, |ms| Cell::plain(format!("~{}", format_duration_ms(ms))))
}

pub fn status_cell(s: Option<Status>) -> Cell {
    s.map_or_else(Cell::unknown, |s| Cell::toned(s.as_str(), status_tone(s)))
}

/// Sparkline width in cells: one point per cell, the newest at the right.
pub const SPARK_WIDTH: usize = 12;
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A text sparkline of the last `width` values, scaled from 0 to their largest; a step with no
/// sample repeats the one before it, and steps before the first sample are blank.
pub fn sparkline(values: &[Option<u64>], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().flatten().copied().max().unwrap_or(0);
    let mut last: Option<u64> = None;
    let mut out = String::with_capacity(width * 3);
    for _ in tail.len()..width {
        out.push(' ');
    }
    for v in tail {
        let v = v.or(last);
        last = v;
        out.push(match v {
            None => ' ',
            Some(_) if max == 0 => BLOCKS[0],
            Some(v) => BLOCKS[((v as u128 * 7 + max as u128 / 2) / max as u128).min(7) as usize],
        });
    }
    out
}

/// The topics of a group in one cell: the first and how many more.
fn topics_text(topics: &[Arc<str>]) -> String {
    match topics {
        [] => String::new(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    }
}

fn opt_cmp<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    a.cmp(&b)
}

pub static COLUMNS: [Column<GroupRow>; 15] = [
    Column {
        key: "group",
        layout: Layout::fill("Name", 16, 50, 0),
        in_table: true,
        sort: |a, b| a.summary.name.cmp(&b.summary.name),
        cell: |r| Cell::plain(r.summary.name.clone()),
        json: |r| r.summary.name.clone().into(),
    },
    Column {
        key: "state",
        layout: Layout::new("State", "State", 5, 19, Align::Left, 2),
        in_table: true,
        sort: |a, b| a.summary.state.cmp(&b.summary.state),
        cell: |r| Cell::toned(r.summary.state.clone(), state_tone(&r.summary.state)),
        json: |r| r.summary.state.clone().into(),
    },
    Column {
        key: "members",
        layout: Layout::new("Members", "Mbrs", 4, 7, Align::Right, 3),
        in_table: true,
        sort: |a, b| a.summary.members.cmp(&b.summary.members),
        cell: |r| Cell::count(r.summary.members),
        json: |r| r.summary.members.into(),
    },
    Column {
        key: "total_lag",
        layout: Layout::new("Lag", "Lag", 5, 12, Align::Right, 1),
        in_table: true,
        sort: |a, b| opt_cmp(a.total_lag(), b.total_lag()),
        cell: |r| lag_cell(r.total_lag()),
        json: |r| json_opt(r.total_lag()),
    },
    Column {
        key: "max_lag",
        layout: Layout::new("Max partition lag", "Max lag", 5, 17, Align::Right, 5),
        in_table: true,
        sort: |a, b| opt_cmp(a.max_lag(), b.max_lag()),
        cell: |r| lag_cell(r.max_lag()),
        json: |r| json_opt(r.max_lag()),
    },
    Column {
        key: "time_lag_ms",
        layout: Layout::new("Time lag", "Time", 5, 12, Align::Right, 1),
        in_table: true,
        sort: |a, b| opt_cmp(a.time_lag().ms(), b.time_lag().ms()),
        cell: |r| time_lag_cell(r.time_lag()),
        json: |r| json_opt(r.time_lag().ms()),
    },
    Column {
        key: "lag_trend",
        layout: Layout::new("Trend", "Trend", SPARK_WIDTH as u16, SPARK_WIDTH as u16, Align::Left, 3),
        in_table: true,
        sort: |a, b| opt_cmp(a.total_lag(), b.total_lag()),
        cell: |r| match &r.lag {
            Some(l) => Cell::plain(sparkline(&l.sparkline, SPARK_WIDTH)),
            None => Cell::plain(""),
        },
        json: |r| match &r.lag {
            Some(l) => l.sparkline.iter().map(|v| json_opt(*v)).collect::<Vec<_>>().into(),
            None => serde_json::Value::Null,
        },
    },
    Column {
        key: "status",
        layout: Layout::new("Status", "Status", 6, 7, Align::Left, 0),
        in_table: true,
        sort: |a, b| opt_cmp(a.status(), b.status()).then_with(|| opt_cmp(a.total_lag(), b.total_lag())),
        cell: |r| status_cell(r.status()),
        json: |r| json_opt(r.status().map(Status::as_str)),
    },
    Column {
        key: "drain_ms",
        layout: Layout::new("Drain", "Drain", 5, 12, Align::Right, 4),
        in_table: true,
        sort: |a, b| opt_cmp(a.drain_ms(), b.drain_ms()),
        cell: |r| drain_cell(r.drain_ms()),
        json: |r| json_opt(r.drain_ms()),
    },
    Column {
        key: "topics",
        layout: Layout::new("Topics", "Topics", 6, 28, Align::Left, 5),
        in_table: true,
        sort: |a, b| a.topics().cmp(b.topics()),
        cell: |r| Cell::plain(topics_text(r.topics())),
        json: |r| r.topics().iter().map(|t| t.to_string()).collect::<Vec<_>>().into(),
    },
    Column {
        key: "protocol",
        layout: Layout::new("Assignor", "Assignor", 8, 14, Align::Left, 6),
        in_table: true,
        sort: |a, b| a.summary.protocol.cmp(&b.summary.protocol),
        cell: |r| Cell::plain(r.summary.protocol.clone()),
        json: |r| text_or_null(&r.summary.protocol),
    },
    Column {
        key: "reason",
        layout: Layout::new("Why", "Why", 12, 90, Align::Left, 7),
        in_table: true,
        sort: |a, b| opt_cmp(a.status(), b.status()),
        cell: |r| match r.lag.as_ref().and_then(|l| l.lag.reason.as_ref()) {
            Some(reason) => Cell::toned(reason.to_string(), Tone::Muted),
            None => Cell::plain(""),
        },
        json: |r| {
            json_opt(
                r.lag
                    .as_ref()
                    .and_then(|l| l.lag.reason.as_ref())
                    .map(|x| x.to_string()),
            )
        },
    },
    Column {
        key: "protocol_type",
        layout: Layout::new("Protocol type", "Protocol", 8, 14, Align::Left, 8),
        in_table: false,
        sort: |a, b| a.summary.protocol_type.cmp(&b.summary.protocol_type),
        cell: |r| Cell::plain(r.summary.protocol_type.clone()),
        json: |r| text_or_null(&r.summary.protocol_type),
    },
    Column {
        key: "deleted_unread",
        layout: Layout::new("Deleted unread", "Deleted", 7, 14, Align::Right, 8),
        in_table: false,
        sort: |a, b| {
            let d = |r: &GroupRow| r.lag.as_ref().map(|l| l.lag.deleted_unread);
            opt_cmp(d(a), d(b))
        },
        cell: |r| lag_cell(r.lag.as_ref().map(|l| l.lag.deleted_unread)),
        json: |r| json_opt(r.lag.as_ref().map(|l| l.lag.deleted_unread)),
    },
    Column {
        key: "partitions",
        layout: Layout::new("Partitions", "Parts", 5, 10, Align::Right, 8),
        in_table: false,
        sort: |a, b| {
            let n = |r: &GroupRow| r.lag.as_ref().map(|l| l.lag.partitions.len());
            opt_cmp(n(a), n(b))
        },
        cell: |r| Cell::count(r.lag.as_ref().map_or(0, |l| l.lag.partitions.len())),
        json: |r| json_opt(r.lag.as_ref().map(|l| l.lag.partitions.len())),
    },
];

/// The rows for the list: every listed group with its lag report, if any.
pub fn rows(data: &ClusterData) -> Vec<GroupRow> {
    data.groups
        .value
        .iter()
        .flatten()
        .map(|g| GroupRow {
            summary: g.clone(),
            lag: data.group_lag.get(&g.name).and_then(|f| f.value.clone()),
        })
        .collect()
}

pub struct GroupsPane {
    pub table: Table<GroupRow>,
    /// The group whose detail is open (`Enter`), shown instead of the list.
    pub detail: Option<GroupDetail>,
}

impl Default for GroupsPane {
    fn default() -> Self {
        GroupsPane {
            table: Table::new(&COLUMNS),
            detail: None,
        }
    }
}

impl GroupsPane {
    /// Opens the selected group's detail; true when one was opened.
    pub fn open_selected(&mut self, data: &ClusterData) -> bool {
        let Some(name) = self.table.selected().map(|r| r.summary.name.clone()) else {
            return false;
        };
        self.open(name, data);
        true
    }

    pub fn open(&mut self, group: String, data: &ClusterData) {
        let mut detail = GroupDetail::new(group);
        detail.rebuild(data);
        self.detail = Some(detail);
    }

    /// Closes the detail; false when none was open.
    pub fn close(&mut self) -> bool {
        self.detail.take().is_some()
    }

    /// The group an action on this pane applies to: the open one, else the selected row's.
    pub fn current_group(&self) -> Option<&str> {
        match &self.detail {
            Some(d) => Some(&d.group),
            None => self.table.selected().map(|r| r.summary.name.as_str()),
        }
    }

    pub fn open_group(&self) -> Option<&str> {
        self.detail.as_ref().map(|d| d.group.as_str())
    }

    /// Names of the groups on the rows around the selection (what is on screen), for the
    /// worker to refresh first.
    pub fn visible_groups(&self, rows: usize) -> Vec<String> {
        let v = &self.table.view;
        let (offset, _) = v.window(rows.max(1));
        v.order
            .iter()
            .skip(offset)
            .take(rows.max(1))
            .filter_map(|i| self.table.rows.get(*i))
            .map(|r| r.summary.name.clone())
            .collect()
    }
}

const DATASETS: [Dataset; 4] = [
    Dataset::Groups,
    Dataset::GroupOffsets,
    Dataset::HighWatermarks,
    Dataset::LogStarts,
];

const HINTS: [Hint; 6] = [
    ("open", "detail"),
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("refresh", "refresh"),
    ("palette", "command"),
];

impl Pane for GroupsPane {
    fn id(&self) -> PaneId {
        PaneId::Groups
    }

    fn datasets(&self) -> &'static [Dataset] {
        &DATASETS
    }

    fn rebuild(&mut self, data: &ClusterData, _ctx: Context<'_>) {
        self.table.set_rows(rows(data));
        if let Some(d) = &mut self.detail {
            d.rebuild(data);
        }
    }

    fn table(&self) -> &dyn TableModel {
        match &self.detail {
            Some(d) => &d.table,
            None => &self.table,
        }
    }

    fn table_mut(&mut self) -> &mut dyn TableModel {
        match &mut self.detail {
            Some(d) => &mut d.table,
            None => &mut self.table,
        }
    }

    fn hints(&self) -> &'static [Hint] {
        match &self.detail {
            Some(d) => d.hints(),
            None => &HINTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_sort_by_members_and_json_names_the_assignor_protocol() {
        let g = |name: &str, members, protocol: &str| GroupRow {
            summary: GroupSummary {
                name: name.into(),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                protocol: protocol.into(),
                members,
                member_list: vec![],
            },
            lag: None,
        };
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![g("billing", 3, "range"), g("audit", 1, "")]);
        assert_eq!(t.view.order, [1, 0]);
        t.view.sort_column = 2;
        t.view.descending = true;
        t.resort();
        assert_eq!(t.view.order, [0, 1]);
        let json = crate::app::columns::json_rows(&COLUMNS, &t.rows[1..]).to_string();
        assert_eq!(
            json,
            r#"[{"group":"audit","state":"Stable","members":1,"total_lag":null,"max_lag":null,"time_lag_ms":null,"lag_trend":null,"status":null,"drain_ms":null,"topics":[],"protocol":null,"reason":null,"protocol_type":"consumer","deleted_unread":null,"partitions":null}]"#
        );
    }

    #[test]
    fn sparkline_scales_to_the_largest_value_and_fills_gaps() {
        let v = [None, Some(0), None, Some(50), Some(100)];
        assert_eq!(sparkline(&v, 6), "  ▁▁▅█");
        assert_eq!(sparkline(&v, 2), "▅█");
        assert_eq!(sparkline(&[Some(0), Some(0)], 3), " ▁▁", "all zero is flat, not empty");
        assert_eq!(sparkline(&[], 2), "  ");
    }
}
