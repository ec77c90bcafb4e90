//! The Partitions pane's model: the current topic's partitions with leader, replicas, ISR,
//! health, log start, high watermark and size, and how the leaders spread over the brokers.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::app::columns::{contains_ci, json_opt, Align, Cell, Column, Layout, Row, Table, TableModel, Tone};
use crate::app::panes::topics::{PartitionFacts, TopicFacts};
use crate::app::panes::{Context, Hint, Pane, PaneId};
use crate::app::state::{ClusterData, Dataset};
use crate::cluster::model::{human, Broker, PartitionMeta, TopicMeta};

/// One partition as the Partitions pane shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionRow {
    pub id: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: Option<String>,
    pub log_start: Option<i64>,
    pub high_watermark: Option<i64>,
    pub size_bytes: Option<u64>,
}

impl PartitionRow {
    pub fn derive(p: &PartitionMeta, facts: &TopicFacts<'_>) -> PartitionRow {
        PartitionRow {
            id: p.id,
            leader: p.leader,
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            error: p.error.clone(),
            log_start: facts.log_start(p.id),
            high_watermark: facts.high_watermark(p.id),
            size_bytes: facts.size(p.id, p.leader, &p.replicas),
        }
    }

    pub fn is_offline(&self) -> bool {
        self.leader.is_none()
    }

    pub fn is_under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// 0 healthy, 1 under-replicated, 2 offline: sorting by status puts trouble at one end.
    pub fn severity(&self) -> u8 {
        if self.is_offline() {
            2
        } else if self.is_under_replicated() {
            1
        } else {
            0
        }
    }
}

impl Row for PartitionRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(self.id.to_string())
    }

    fn matches(&self, needle: &str) -> bool {
        contains_ci(&self.id.to_string(), needle)
    }
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

fn offset_cell(o: Option<i64>) -> Cell {
    o.map_or_else(Cell::unknown, |o| Cell::plain(o.to_string()))
}

pub static COLUMNS: [Column<PartitionRow>; 8] = [
    Column {
        key: "partition",
        layout: Layout::new("Id", "Id", 4, 6, Align::Right, 0),
        in_table: true,
        sort: |a, b| a.id.cmp(&b.id),
        cell: |r| Cell::plain(r.id.to_string()),
        json: |r| r.id.into(),
    },
    Column {
        key: "leader",
        layout: Layout::new("Leader", "Leader", 6, 6, Align::Right, 0),
        in_table: true,
        sort: |a, b| a.leader.cmp(&b.leader),
        cell: |r| {
            r.leader
                .map_or_else(|| Cell::toned("none", Tone::Error), |l| Cell::plain(l.to_string()))
        },
        json: |r| json_opt(r.leader),
    },
    Column {
        key: "replicas",
        layout: Layout::new("Replicas", "Replicas", 8, 20, Align::Left, 1),
        in_table: true,
        sort: |a, b| a.replicas.cmp(&b.replicas),
        cell: |r| Cell::plain(ids(&r.replicas)),
        json: |r| r.replicas.clone().into(),
    },
    Column {
        key: "isr",
        layout: Layout::new("ISR", "ISR", 8, 20, Align::Left, 1),
        in_table: true,
        sort: |a, b| a.isr.len().cmp(&b.isr.len()).then_with(|| a.isr.cmp(&b.isr)),
        cell: |r| {
            Cell::toned(
                ids(&r.isr),
                if r.is_under_replicated() {
                    Tone::Warn
                } else {
                    Tone::Plain
                },
            )
        },
        json: |r| r.isr.clone().into(),
    },
    Column {
        key: "status",
        layout: Layout::new("Status", "Status", 9, 16, Align::Left, 0),
        in_table: true,
        sort: |a, b| a.severity().cmp(&b.severity()),
        cell: |r| match r.severity() {
            2 => Cell::toned("offline", Tone::Error),
            1 => Cell::toned("under-rep", Tone::Warn),
            _ => Cell::toned("ok", Tone::Ok),
        },
        json: |r| ["ok", "under-replicated", "offline"][r.severity() as usize].into(),
    },
    Column {
        key: "log_start",
        layout: Layout::new("Log start", "Start", 10, 14, Align::Right, 2),
        in_table: true,
        sort: |a, b| a.log_start.cmp(&b.log_start),
        cell: |r| offset_cell(r.log_start),
        json: |r| json_opt(r.log_start),
    },
    Column {
        key: "high_watermark",
        layout: Layout::new("High watermark", "HW", 10, 15, Align::Right, 1),
        in_table: true,
        sort: |a, b| a.high_watermark.cmp(&b.high_watermark),
        cell: |r| offset_cell(r.high_watermark),
        json: |r| json_opt(r.high_watermark),
    },
    Column {
        key: "size_bytes",
        layout: Layout::new("Size", "Size", 9, 11, Align::Right, 3),
        in_table: true,
        sort: |a, b| a.size_bytes.cmp(&b.size_bytes),
        cell: |r| {
            r.size_bytes
                .map_or_else(Cell::unknown, |b| Cell::plain(human::bytes(b as i64)))
        },
        json: |r| json_opt(r.size_bytes),
    },
];

/// The current topic's partitions: its rows, plus what the view needs to explain an empty
/// table and draw the leader chart.
pub struct PartitionsPane {
    pub table: Table<PartitionRow>,
    /// The topic shown, and whether the metadata still has it.
    pub topic: Option<String>,
    pub topic_exists: bool,
    /// Every known broker (for the chart: a broker leading nothing is the interesting case).
    pub brokers: Vec<Broker>,
}

impl Default for PartitionsPane {
    fn default() -> Self {
        PartitionsPane {
            table: Table::new(&COLUMNS),
            topic: None,
            topic_exists: false,
            brokers: Vec::new(),
        }
    }
}

impl PartitionsPane {
    /// Offline partitions, and under-replicated ones that are not offline.
    pub fn trouble(&self) -> (usize, usize) {
        let offline = self.table.rows.iter().filter(|p| p.is_offline()).count();
        let urp = self
            .table
            .rows
            .iter()
            .filter(|p| !p.is_offline() && p.is_under_replicated())
            .count();
        (offline, urp)
    }

    /// Leaders per broker id, every known broker included, and the partitions without one.
    pub fn leaders_per_broker(&self) -> (BTreeMap<i32, usize>, usize) {
        let mut counts: BTreeMap<i32, usize> = self.brokers.iter().map(|b| (b.id, 0)).collect();
        let mut offline = 0;
        for p in &self.table.rows {
            match p.leader {
                Some(l) => *counts.entry(l).or_default() += 1,
                None => offline += 1,
            }
        }
        (counts, offline)
    }
}

const DATASETS: [Dataset; 4] = [
    Dataset::Metadata,
    Dataset::HighWatermarks,
    Dataset::LogStarts,
    Dataset::Sizes,
];

const HINTS: [Hint; 6] = [
    ("back", "back"),
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("next_pane", "next pane"),
    ("palette", "command"),
];

/// Rows of `topic`'s partitions from the data.
pub fn rows(data: &ClusterData, topic: &TopicMeta) -> Vec<PartitionRow> {
    let facts = PartitionFacts::of(data);
    let facts = facts.topic(&topic.name);
    topic
        .partitions
        .iter()
        .map(|p| PartitionRow::derive(p, &facts))
        .collect()
}

impl Pane for PartitionsPane {
    fn id(&self) -> PaneId {
        PaneId::Partitions
    }

    fn datasets(&self) -> &'static [Dataset] {
        &DATASETS
    }

    fn rebuild(&mut self, data: &ClusterData, ctx: Context<'_>) {
        let md = data.metadata.value.as_ref();
        let topic = ctx.current_topic.and_then(|t| md?.topic(t));
        if self.topic.as_deref() != ctx.current_topic {
            // Another topic's rows: start at the top rather than at the old row index.
            self.table.view.selected = 0;
            self.table.view.offset = 0;
            self.table.rows.clear();
            self.table.view.order.clear();
        }
        self.topic = ctx.current_topic.map(str::to_string);
        self.topic_exists = topic.is_some();
        self.brokers = md.map(|m| m.brokers.clone()).unwrap_or_default();
        self.table.set_rows(topic.map(|t| rows(data, t)).unwrap_or_default());
    }

    fn table(&self) -> &dyn TableModel {
        &self.table
    }

    fn table_mut(&mut self) -> &mut dyn TableModel {
        &mut self.table
    }

    fn hints(&self) -> &'static [Hint] {
        &HINTS
    }

    fn visible_topics(&self, _rows: usize) -> Vec<String> {
        self.topic.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i32, leader: Option<i32>, replicas: Vec<i32>, isr: Vec<i32>) -> PartitionRow {
        PartitionRow {
            id,
            leader,
            replicas,
            isr,
            ..PartitionRow::default()
        }
    }

    #[test]
    fn sort_by_status_puts_offline_first_when_descending_and_filter_matches_ids() {
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![
            row(0, Some(1), vec![1], vec![1]),
            row(1, None, vec![1], vec![]),
            row(2, Some(1), vec![1], vec![1]),
            row(3, Some(1), vec![1, 2], vec![1]),
        ]);
        t.view.sort_column = 4;
        t.view.descending = true;
        t.resort();
        assert_eq!(t.view.order, [1, 3, 0, 2]);
        t.view.filter = "3".into();
        t.resort();
        assert_eq!(t.view.order, [3]);
    }

    #[test]
    fn leaders_per_broker_lists_idle_brokers_and_counts_offline_partitions() {
        let mut pane = PartitionsPane {
            brokers: (1..=3)
                .map(|id| Broker {
                    id,
                    host: "h".into(),
                    port: 1,
                    rack: None,
                    is_controller: false,
                    up: true,
                })
                .collect(),
            ..PartitionsPane::default()
        };
        pane.table.set_rows(vec![
            row(0, Some(1), vec![1], vec![1]),
            row(1, None, vec![2], vec![]),
            row(2, Some(1), vec![1, 2], vec![1]),
        ]);
        let (counts, offline) = pane.leaders_per_broker();
        assert_eq!(counts.into_iter().collect::<Vec<_>>(), [(1, 2), (2, 0), (3, 0)]);
        assert_eq!(offline, 1);
        assert_eq!(pane.trouble(), (1, 1));
    }
}
