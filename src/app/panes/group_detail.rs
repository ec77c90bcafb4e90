//! One consumer group in detail, opened from the groups list: its members (client, host and
//! the partitions the leader assigned each, decoded from the consumer protocol), per partition
//! the committed offset, log start, high watermark, lag, time lag, last commit, and the status
//! with the rule that fired; and its total lag over time for a chart.
//!
//! The partition columns are also `strom lag`'s table and JSON (`topic`, `partition`,
//! `committed`, `log_start`, `high_watermark`, `lag`, `time_lag_ms`, `status`, `reason`).

use std::borrow::Cow;
use std::sync::Arc;

use crate::app::columns::{contains_ci, json_opt, Align, Cell, Column, Layout, Row, Table, Tone};
use crate::app::lag_monitor::GroupLagReport;
use crate::app::panes::groups::{drain_cell, lag_cell, status_cell, time_lag_cell};
use crate::app::panes::Hint;
use crate::app::state::ClusterData;
use crate::cluster::lag::{format_duration_ms, Millis, PartitionLag, Status};
use crate::cluster::model::GroupSummary;

/// One partition of the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLagRow {
    pub lag: PartitionLag,
    /// When the report was computed: "last commit 12 s ago" counts from here.
    pub at_ms: Millis,
    /// The client id of the member assigned this partition, if any.
    pub member: Option<String>,
}

impl PartitionLagRow {
    pub fn rows(report: &GroupLagReport, summary: Option<&GroupSummary>) -> Vec<PartitionLagRow> {
        report
            .lag
            .partitions
            .iter()
            .map(|p| PartitionLagRow {
                lag: p.clone(),
                at_ms: report.at_ms,
                member: summary
                    .and_then(|g| g.owner(&p.topic, p.partition))
                    .map(|m| m.client_id.clone()),
            })
            .collect()
    }

    /// How long ago the committed offset was first seen: "12 s ago", ">= 5 min ago".
    pub fn last_commit_text(&self) -> Option<String> {
        let c = self.lag.last_commit?;
        let ago = format_duration_ms(self.at_ms - c.at_ms);
        Some(if c.exact {
            format!("{ago} ago")
        } else {
            format!("≥{ago} ago")
        })
    }
}

impl Row for PartitionLagRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{}\u{0}{}", self.lag.topic, self.lag.partition))
    }

    fn matches(&self, needle: &str) -> bool {
        contains_ci(&self.lag.topic, needle)
            || contains_ci(self.lag.status.as_str(), needle)
            || self.member.as_deref().is_some_and(|m| contains_ci(m, needle))
    }
}

fn offset_cell(o: Option<i64>) -> Cell {
    o.map_or_else(Cell::unknown, |o| Cell::plain(o.to_string()))
}

/// Committed offsets below the log start are the error worth seeing at a glance.
fn committed_cell(r: &PartitionLagRow) -> Cell {
    match r.lag.committed {
        None => Cell::unknown(),
        Some(c) if r.lag.deleted_unread > 0 => Cell::toned(c.to_string(), Tone::Error),
        Some(c) => Cell::plain(c.to_string()),
    }
}

/// The lag, with the records retention deleted before the group read them beside it.
fn partition_lag_cell(r: &PartitionLagRow) -> Cell {
    match (r.lag.lag, r.lag.deleted_unread) {
        (Some(l), d) if d > 0 => Cell::toned(format!("{l} (+{d} deleted)"), Tone::Error),
        (l, _) => lag_cell(l),
    }
}

pub static COLUMNS: [Column<PartitionLagRow>; 13] = [
    Column {
        key: "topic",
        layout: Layout::fill("Topic", 10, 40, 0),
        in_table: true,
        sort: |a, b| (&a.lag.topic, a.lag.partition).cmp(&(&b.lag.topic, b.lag.partition)),
        cell: |r| Cell::plain(r.lag.topic.to_string()),
        json: |r| r.lag.topic.to_string().into(),
    },
    Column {
        key: "partition",
        layout: Layout::new("Partition", "P", 2, 9, Align::Right, 0),
        in_table: true,
        sort: |a, b| a.lag.partition.cmp(&b.lag.partition),
        cell: |r| Cell::plain(r.lag.partition.to_string()),
        json: |r| r.lag.partition.into(),
    },
    Column {
        key: "committed",
        layout: Layout::new("Committed", "Commit", 6, 12, Align::Right, 1),
        in_table: true,
        sort: |a, b| a.lag.committed.cmp(&b.lag.committed),
        cell: committed_cell,
        json: |r| json_opt(r.lag.committed),
    },
    Column {
        key: "log_start",
        layout: Layout::new("Log start", "Start", 5, 12, Align::Right, 4),
        in_table: true,
        sort: |a, b| a.lag.log_start.cmp(&b.lag.log_start),
        cell: |r| offset_cell(r.lag.log_start),
        json: |r| json_opt(r.lag.log_start),
    },
    Column {
        key: "high_watermark",
        layout: Layout::new("High watermark", "HW", 5, 14, Align::Right, 2),
        in_table: true,
        sort: |a, b| a.lag.high_watermark.cmp(&b.lag.high_watermark),
        cell: |r| offset_cell(r.lag.high_watermark),
        json: |r| json_opt(r.lag.high_watermark),
    },
    Column {
        key: "lag",
        layout: Layout::new("Lag", "Lag", 3, 24, Align::Right, 0),
        in_table: true,
        sort: |a, b| a.lag.lag.cmp(&b.lag.lag),
        cell: partition_lag_cell,
        json: |r| json_opt(r.lag.lag),
    },
    Column {
        key: "time_lag_ms",
        layout: Layout::new("Time lag", "Time", 4, 12, Align::Right, 1),
        in_table: true,
        sort: |a, b| a.lag.time_lag.ms().cmp(&b.lag.time_lag.ms()),
        cell: |r| time_lag_cell(r.lag.time_lag),
        json: |r| json_opt(r.lag.time_lag.ms()),
    },
    Column {
        key: "last_commit",
        layout: Layout::new("Last commit", "Commit at", 7, 16, Align::Right, 3),
        in_table: true,
        sort: |a, b| {
            let t = |r: &PartitionLagRow| r.lag.last_commit.map(|c| c.at_ms);
            t(a).cmp(&t(b))
        },
        cell: |r| r.last_commit_text().map_or_else(Cell::unknown, Cell::plain),
        json: |r| json_opt(r.lag.last_commit.map(|c| c.at_ms)),
    },
    Column {
        key: "status",
        layout: Layout::new("Status", "Status", 6, 7, Align::Left, 0),
        in_table: true,
        sort: |a, b| (a.lag.status, a.lag.lag).cmp(&(b.lag.status, b.lag.lag)),
        cell: |r| status_cell(Some(r.lag.status)),
        json: |r| r.lag.status.as_str().into(),
    },
    Column {
        key: "member",
        layout: Layout::new("Member", "Member", 6, 24, Align::Left, 5),
        in_table: true,
        sort: |a, b| a.member.cmp(&b.member),
        cell: |r| {
            r.member
                .clone()
                .map_or_else(|| Cell::toned("none", Tone::Muted), Cell::plain)
        },
        json: |r| json_opt(r.member.clone()),
    },
    Column {
        key: "reason",
        layout: Layout::new("Why", "Why", 10, 120, Align::Left, 6),
        in_table: true,
        sort: |a, b| a.lag.reason.rule().cmp(b.lag.reason.rule()),
        cell: |r| Cell::toned(r.lag.reason.to_string(), Tone::Muted),
        json: |r| r.lag.reason.to_string().into(),
    },
    Column {
        key: "rule",
        layout: Layout::new("Rule", "Rule", 6, 20, Align::Left, 7),
        in_table: false,
        sort: |a, b| a.lag.reason.rule().cmp(b.lag.reason.rule()),
        cell: |r| Cell::plain(r.lag.reason.rule()),
        json: |r| r.lag.reason.rule().into(),
    },
    Column {
        key: "deleted_unread",
        layout: Layout::new("Deleted unread", "Deleted", 7, 14, Align::Right, 7),
        in_table: false,
        sort: |a, b| a.lag.deleted_unread.cmp(&b.lag.deleted_unread),
        cell: |r| lag_cell(Some(r.lag.deleted_unread)),
        json: |r| r.lag.deleted_unread.into(),
    },
];

/// The open group: its partitions' table and what the view draws around it.
pub struct GroupDetail {
    pub group: String,
    pub table: Table<PartitionLagRow>,
    pub summary: Option<GroupSummary>,
    pub report: Option<Arc<GroupLagReport>>,
}

const HINTS: [Hint; 5] = [
    ("back", "back"),
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("refresh", "refresh"),
];

impl GroupDetail {
    pub fn new(group: String) -> GroupDetail {
        let mut table = Table::new(&COLUMNS);
        // The worst partitions first: by status, then lag, descending.
        table.view.sort_column = COLUMNS.iter().position(|c| c.key == "status").unwrap_or(0);
        table.view.descending = true;
        GroupDetail {
            group,
            table,
            summary: None,
            report: None,
        }
    }

    pub fn rebuild(&mut self, data: &ClusterData) {
        self.summary = data
            .groups
            .value
            .iter()
            .flatten()
            .find(|g| g.name == self.group)
            .cloned();
        self.report = data.group_lag.get(&self.group).and_then(|f| f.value.clone());
        let rows = match &self.report {
            Some(r) => PartitionLagRow::rows(r, self.summary.as_ref()),
            None => Vec::new(),
        };
        self.table.set_rows(rows);
    }

    /// Whether the group is still in the cluster's list (None before any list arrived).
    pub fn listed(&self, data: &ClusterData) -> Option<bool> {
        data.groups.value.as_ref().map(|_| self.summary.is_some())
    }

    pub fn hints(&self) -> &'static [Hint] {
        &HINTS
    }

    /// The group's status and total lag for the title, once judged.
    pub fn status(&self) -> Option<(Status, i64)> {
        let r = self.report.as_ref()?;
        (!r.lag.partitions.is_empty()).then_some((r.lag.status, r.lag.total_lag))
    }

    pub fn drain_cell(&self) -> Cell {
        drain_cell(self.report.as_ref().and_then(|r| r.lag.drain_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::columns::json_rows;
    use crate::cluster::lag::{CommitTime, Reason, TimeLag};

    fn row(committed: Option<i64>, lag: Option<i64>, deleted: i64) -> PartitionLagRow {
        PartitionLagRow {
            lag: PartitionLag {
                topic: Arc::from("orders"),
                partition: 2,
                committed,
                log_start: Some(50),
                high_watermark: Some(80),
                lag,
                deleted_unread: deleted,
                time_lag: TimeLag::Record { ms: 90_000 },
                last_commit: Some(CommitTime {
                    at_ms: 1_000,
                    exact: false,
                }),
                assigned: false,
                status: Status::Error,
                reason: Reason::BelowLogStart {
                    committed: 20,
                    log_start: 50,
                    deleted: 30,
                },
                drain_ms: None,
                window_complete: false,
            },
            at_ms: 61_000,
            member: None,
        }
    }

    #[test]
    fn below_log_start_shows_the_deleted_records_beside_the_lag_and_json_has_the_issue_fields() {
        let r = row(Some(20), Some(30), 30);
        assert_eq!(partition_lag_cell(&r).text, "30 (+30 deleted)");
        assert_eq!(committed_cell(&r).tone, Tone::Error);
        assert_eq!(r.last_commit_text().as_deref(), Some("≥1 min ago"));
        let json = json_rows(&COLUMNS, [&r]);
        let o = &json[0];
        for (k, v) in [
            ("topic", serde_json::json!("orders")),
            ("partition", serde_json::json!(2)),
            ("committed", serde_json::json!(20)),
            ("log_start", serde_json::json!(50)),
            ("high_watermark", serde_json::json!(80)),
            ("lag", serde_json::json!(30)),
            ("time_lag_ms", serde_json::json!(90_000)),
            ("status", serde_json::json!("ERROR")),
        ] {
            assert_eq!(o[k], v, "{k}");
        }
        assert!(o["reason"].as_str().unwrap().contains("retention deleted 30 records"));
        // No commit: null, not 0.
        let none = row(None, None, 0);
        let json = json_rows(&COLUMNS, [&none]);
        assert_eq!(json[0]["committed"], serde_json::Value::Null);
        assert_eq!(json[0]["lag"], serde_json::Value::Null);
        assert_eq!(partition_lag_cell(&none).text, "-");
    }
}
