//! The Topics pane's model: one row per topic with partitions, replication, records, size,
//! retention, health (offline and under-replicated partitions) and the internal flag. The
//! same rows and columns make `strom topics` and `strom topics --json`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use crate::app::columns::{contains_ci, json_opt, Align, Cell, Column, Layout, Row, Table, TableModel, Tone};
use crate::app::panes::{Context, Hint, Pane, PaneId};
use crate::app::state::{ClusterData, Dataset};
use crate::cluster::model::{human, PartitionMap, Retention, TopicMeta, TopicValues};

/// One topic as the Topics pane shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicRow {
    pub name: String,
    pub internal: bool,
    /// The topic's error in the metadata (e.g. UNKNOWN_TOPIC_OR_PARTITION).
    pub error: Option<String>,
    pub partitions: usize,
    pub replication_factor: usize,
    /// Records retained (high watermark minus log start, summed); None when any partition's
    /// offsets are unknown.
    pub records: Option<i64>,
    /// Bytes on disk of the leaders' replicas; None when any is unknown.
    pub size_bytes: Option<u64>,
    pub retention: Option<Retention>,
    pub offline: usize,
    pub under_replicated: usize,
}

/// Offsets and sizes the rows are derived from.
pub struct PartitionFacts<'a> {
    pub high_watermarks: Option<&'a PartitionMap<i64>>,
    pub log_starts: Option<&'a PartitionMap<i64>>,
    /// Per broker id, the bytes of each partition replica it hosts.
    pub sizes: Option<&'a HashMap<i32, PartitionMap<u64>>>,
}

/// One topic's facts, looked up once for all its partitions.
pub struct TopicFacts<'a> {
    high_watermarks: Option<TopicValues<'a, i64>>,
    log_starts: Option<TopicValues<'a, i64>>,
    sizes: Vec<(i32, TopicValues<'a, u64>)>,
}

impl PartitionFacts<'_> {
    pub fn of(data: &ClusterData) -> PartitionFacts<'_> {
        PartitionFacts {
            high_watermarks: data.high_watermarks.value.as_ref(),
            log_starts: data.log_starts.value.as_ref(),
            sizes: data.sizes.value.as_ref(),
        }
    }

    pub fn topic(&self, topic: &str) -> TopicFacts<'_> {
        TopicFacts {
            high_watermarks: self.high_watermarks.and_then(|m| m.topic(topic)),
            log_starts: self.log_starts.and_then(|m| m.topic(topic)),
            sizes: self
                .sizes
                .iter()
                .flat_map(|m| m.iter())
                .filter_map(|(b, m)| Some((*b, m.topic(topic)?)))
                .collect(),
        }
    }
}

impl TopicFacts<'_> {
    pub fn high_watermark(&self, partition: i32) -> Option<i64> {
        self.high_watermarks?.get(partition)
    }

    pub fn log_start(&self, partition: i32) -> Option<i64> {
        self.log_starts?.get(partition)
    }

    /// The size of the leader's replica; for a partition without a leader, of the first
    /// replica whose broker reported it (the data is still on its disks).
    pub fn size(&self, partition: i32, leader: Option<i32>, replicas: &[i32]) -> Option<u64> {
        let of = |broker: &i32| {
            self.sizes
                .iter()
                .find(|(b, _)| b == broker)
                .and_then(|(_, m)| m.get(partition))
        };
        match leader {
            Some(l) => of(&l),
            None => replicas.iter().find_map(of),
        }
    }
}

impl TopicRow {
    pub fn derive(t: &TopicMeta, facts: &PartitionFacts<'_>, retention: Option<Retention>) -> TopicRow {
        let mut records = Some(0i64);
        let mut size = Some(0u64);
        let facts = facts.topic(&t.name);
        for p in &t.partitions {
            let r = facts
                .high_watermark(p.id)
                .zip(facts.log_start(p.id))
                .map(|(hw, start)| hw - start);
            records = records.zip(r).map(|(a, b)| a + b);
            size = size.zip(facts.size(p.id, p.leader, &p.replicas)).map(|(a, b)| a + b);
        }
        TopicRow {
            name: t.name.clone(),
            internal: t.internal,
            error: t.error.clone(),
            partitions: t.partitions.len(),
            replication_factor: t.replication_factor(),
            records,
            size_bytes: size,
            retention,
            offline: t.offline_partitions(),
            under_replicated: t.under_replicated_partitions(),
        }
    }

    /// The health text and tone: the metadata error, else offline and under-replicated counts.
    pub fn health(&self) -> (String, Tone) {
        match (&self.error, self.offline, self.under_replicated) {
            // The metadata error (e.g. UNKNOWN_TOPIC_OR_PARTITION) says more than counts.
            (Some(e), _, _) => (e.to_lowercase().replace('_', " "), Tone::Error),
            (None, 0, 0) => ("ok".into(), Tone::Ok),
            (None, o, 0) => (format!("{o} offline"), Tone::Error),
            (None, 0, u) => (format!("{u} under-rep"), Tone::Warn),
            (None, o, u) => (format!("{o} offline, {u} under-rep"), Tone::Error),
        }
    }

    fn healthy(&self) -> bool {
        self.error.is_none() && self.offline == 0 && self.under_replicated == 0
    }

    /// Unlimited (-1) retention sorts as the longest; unknown as the shortest.
    fn retention_key(&self) -> (Option<i64>, Option<i64>) {
        let unlimited = |v: i64| if v < 0 { i64::MAX } else { v };
        let r = self.retention.unwrap_or_default();
        (r.ms.map(unlimited), r.bytes.map(unlimited))
    }
}

/// A topic's retention as shown: "7d", "7d, 1 GiB", "1 GiB" or "-" when unknown.
pub fn retention_text(r: Option<Retention>) -> String {
    let r = r.unwrap_or_default();
    let ms = r.ms.map(human::duration_ms);
    // Unlimited bytes is the usual case and says nothing beyond the time limit.
    let bytes = r.bytes.filter(|b| *b >= 0).map(human::bytes);
    match (ms, bytes) {
        (Some(ms), Some(b)) => format!("{ms}, {b}"),
        (Some(ms), None) => ms,
        (None, Some(b)) => b,
        (None, None) => "-".into(),
    }
}

impl Row for TopicRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    fn matches(&self, needle: &str) -> bool {
        contains_ci(&self.name, needle)
    }
}

fn by<T: Ord>(f: impl Fn(&TopicRow) -> T) -> impl Fn(&TopicRow, &TopicRow) -> Ordering {
    move |a, b| f(a).cmp(&f(b))
}

/// The Topics columns, in display order; the last ones are `--json` only.
pub static COLUMNS: [Column<TopicRow>; 11] = [
    Column {
        key: "name",
        layout: Layout::fill("Name", 24, 60, 0),
        in_table: true,
        sort: |a, b| a.name.cmp(&b.name),
        cell: |r| {
            // The name carries the trouble too, for when the health column is cut off.
            let (_, tone) = r.health();
            Cell::toned(r.name.clone(), if r.healthy() { Tone::Plain } else { tone })
        },
        json: |r| r.name.clone().into(),
    },
    Column {
        key: "partitions",
        layout: Layout::new("Partitions", "Parts", 6, 11, Align::Right, 1),
        in_table: true,
        sort: |a, b| by(|r| r.partitions)(a, b),
        cell: |r| Cell::plain(r.partitions.to_string()),
        json: |r| r.partitions.into(),
    },
    Column {
        key: "replication_factor",
        layout: Layout::new("Replicas", "RF", 3, 9, Align::Right, 2),
        in_table: true,
        sort: |a, b| by(|r| r.replication_factor)(a, b),
        cell: |r| Cell::plain(r.replication_factor.to_string()),
        json: |r| r.replication_factor.into(),
    },
    Column {
        key: "records",
        layout: Layout::new("Records", "Records", 8, 12, Align::Right, 1),
        in_table: true,
        sort: |a, b| by(|r| r.records)(a, b),
        cell: |r| r.records.map_or_else(Cell::unknown, |n| Cell::plain(human::count(n))),
        json: |r| json_opt(r.records),
    },
    Column {
        key: "size_bytes",
        layout: Layout::new("Size", "Size", 9, 11, Align::Right, 2),
        in_table: true,
        sort: |a, b| by(|r| r.size_bytes)(a, b),
        cell: |r| {
            r.size_bytes
                .map_or_else(Cell::unknown, |b| Cell::plain(human::bytes(b as i64)))
        },
        json: |r| json_opt(r.size_bytes),
    },
    Column {
        key: "retention_ms",
        layout: Layout::new("Retention", "Retention", 9, 18, Align::Left, 3),
        in_table: true,
        sort: |a, b| by(TopicRow::retention_key)(a, b),
        cell: |r| match retention_text(r.retention) {
            t if t == "-" => Cell::unknown(),
            t => Cell::plain(t),
        },
        json: |r| json_opt(r.retention.and_then(|r| r.ms)),
    },
    Column {
        key: "health",
        layout: Layout::new("Health", "Health", 11, 24, Align::Left, 3),
        in_table: true,
        sort: |a, b| by(|r| (r.offline, r.under_replicated))(a, b),
        cell: |r| {
            let (text, tone) = r.health();
            Cell::toned(text, tone)
        },
        json: |r| r.health().0.into(),
    },
    Column {
        key: "internal",
        layout: Layout::new("Internal", "Int", 3, 9, Align::Left, 4),
        in_table: true,
        sort: |a, b| by(|r| r.internal)(a, b),
        cell: |r| {
            if r.internal {
                Cell::toned("yes", Tone::Muted)
            } else {
                Cell::plain("")
            }
        },
        json: |r| r.internal.into(),
    },
    Column {
        key: "retention_bytes",
        layout: Layout::new("Retention bytes", "Ret bytes", 9, 16, Align::Right, 5),
        in_table: false,
        sort: |a, b| by(|r| r.retention.and_then(|r| r.bytes))(a, b),
        cell: |r| Cell::plain(format!("{:?}", r.retention.and_then(|r| r.bytes))),
        json: |r| json_opt(r.retention.and_then(|r| r.bytes)),
    },
    Column {
        key: "offline_partitions",
        layout: Layout::new("Offline", "Off", 3, 8, Align::Right, 5),
        in_table: false,
        sort: |a, b| by(|r| r.offline)(a, b),
        cell: |r| Cell::count(r.offline),
        json: |r| r.offline.into(),
    },
    Column {
        key: "under_replicated_partitions",
        layout: Layout::new("Under-replicated", "URP", 3, 17, Align::Right, 5),
        in_table: false,
        sort: |a, b| by(|r| r.under_replicated)(a, b),
        cell: |r| Cell::count(r.under_replicated),
        json: |r| r.under_replicated.into(),
    },
];

/// Every topic's row from the cluster data, in metadata (name) order.
pub fn rows(data: &ClusterData) -> Vec<TopicRow> {
    let Some(md) = &data.metadata.value else {
        return Vec::new();
    };
    let facts = PartitionFacts::of(data);
    let retention = data.retention.value.as_ref();
    md.topics
        .iter()
        .map(|t| TopicRow::derive(t, &facts, retention.and_then(|r| r.get(&t.name)).copied()))
        .collect()
}

pub struct TopicsPane {
    pub table: Table<TopicRow>,
}

impl TopicsPane {
    /// The selected topic's name.
    pub fn selected_name(&self) -> Option<&str> {
        self.table.selected().map(|r| r.name.as_str())
    }
}

impl Default for TopicsPane {
    fn default() -> Self {
        TopicsPane {
            table: Table::new(&COLUMNS),
        }
    }
}

const DATASETS: [Dataset; 5] = [
    Dataset::Metadata,
    Dataset::HighWatermarks,
    Dataset::LogStarts,
    Dataset::Sizes,
    Dataset::Retention,
];

const HINTS: [Hint; 7] = [
    ("open", "partitions"),
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("configs", "configs"),
    ("next_pane", "next pane"),
    ("palette", "command"),
];

impl Pane for TopicsPane {
    fn id(&self) -> PaneId {
        PaneId::Topics
    }

    fn datasets(&self) -> &'static [Dataset] {
        &DATASETS
    }

    fn rebuild(&mut self, data: &ClusterData, _ctx: Context<'_>) {
        self.table.set_rows(rows(data));
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

    fn opens_topic(&self) -> Option<String> {
        self.table.selected().map(|r| r.name.clone())
    }

    fn visible_topics(&self, rows: usize) -> Vec<String> {
        let v = &self.table.view;
        let (offset, _) = v.window(rows.max(1));
        v.order
            .iter()
            .skip(offset)
            .take(rows.max(1))
            .filter_map(|i| self.table.rows.get(*i))
            .map(|r| r.name.clone())
            .collect()
    }
}

/// The JSON value of a topic row, for tests and scripts that want one object.
pub fn row_json(r: &TopicRow) -> Value {
    crate::app::columns::json_rows(&COLUMNS, [r])
        .as_array()
        .and_then(|a| a.first().cloned())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::PartitionMeta;

    fn meta(name: &str, parts: i32) -> TopicMeta {
        TopicMeta {
            name: name.into(),
            internal: false,
            error: None,
            partitions: (0..parts)
                .map(|id| PartitionMeta {
                    id,
                    leader: Some(1),
                    replicas: vec![1],
                    isr: vec![1],
                    error: None,
                })
                .collect(),
        }
    }

    #[test]
    fn records_and_sizes_are_sums_that_stay_unknown_while_any_partition_is_unknown() {
        let t = meta("orders", 2);
        let hw: PartitionMap<i64> = [("orders".into(), 0, 10), ("orders".into(), 1, 7)]
            .into_iter()
            .collect();
        let ls: PartitionMap<i64> = [("orders".into(), 0, 4), ("orders".into(), 1, 0)].into_iter().collect();
        let sizes: HashMap<i32, PartitionMap<u64>> = [(
            1,
            [("orders".into(), 0, 100), ("orders".into(), 1, 50)]
                .into_iter()
                .collect(),
        )]
        .into();
        let facts = PartitionFacts {
            high_watermarks: Some(&hw),
            log_starts: Some(&ls),
            sizes: Some(&sizes),
        };
        let row = TopicRow::derive(&t, &facts, None);
        assert_eq!((row.records, row.size_bytes), (Some(13), Some(150)));

        let partial: PartitionMap<i64> = [("orders".to_string(), 0, 10)].into_iter().collect();
        let facts = PartitionFacts {
            high_watermarks: Some(&partial),
            log_starts: Some(&ls),
            sizes: None,
        };
        let row = TopicRow::derive(&t, &facts, None);
        assert_eq!((row.records, row.size_bytes), (None, None));
        // A size is the leader's replica: a partition led by a broker without sizes is unknown.
        let mut other = t.clone();
        other.partitions[1].leader = Some(2);
        let facts = PartitionFacts {
            high_watermarks: Some(&hw),
            log_starts: Some(&ls),
            sizes: Some(&sizes),
        };
        assert_eq!(TopicRow::derive(&other, &facts, None).size_bytes, None);
        // Without a leader, a replica that reported the partition's size stands in.
        other.partitions[1].leader = None;
        other.partitions[1].replicas = vec![2, 1];
        assert_eq!(TopicRow::derive(&other, &facts, None).size_bytes, Some(150));
    }

    #[test]
    fn health_names_the_worst_and_json_carries_raw_values() {
        let mut t = meta("t", 4);
        t.partitions[1].leader = None;
        t.partitions[3].replicas = vec![1, 2];
        let facts = PartitionFacts {
            high_watermarks: None,
            log_starts: None,
            sizes: None,
        };
        let row = TopicRow::derive(
            &t,
            &facts,
            Some(Retention {
                ms: Some(604_800_000),
                bytes: Some(-1),
            }),
        );
        assert_eq!(row.health(), ("1 offline, 1 under-rep".into(), Tone::Error));
        assert_eq!(
            row_json(&row).to_string(),
            r#"{"name":"t","partitions":4,"replication_factor":2,"records":null,"size_bytes":null,"retention_ms":604800000,"health":"1 offline, 1 under-rep","internal":false,"retention_bytes":-1,"offline_partitions":1,"under_replicated_partitions":1}"#
        );
        assert_eq!(retention_text(row.retention), "7d");
        assert_eq!(
            retention_text(Some(Retention {
                ms: Some(86_400_000),
                bytes: Some(1 << 30)
            })),
            "1d, 1 GiB"
        );
        assert_eq!(retention_text(None), "-");
    }

    #[test]
    fn every_column_sorts_and_table_columns_come_first() {
        let rows: Vec<TopicRow> = (0..3)
            .map(|i| TopicRow {
                name: format!("t{i}"),
                partitions: 3 - i,
                records: (i != 1).then_some(i as i64),
                ..TopicRow::default()
            })
            .collect();
        let mut table = Table::new(&COLUMNS);
        table.set_rows(rows);
        assert!(COLUMNS.iter().skip_while(|c| c.in_table).all(|c| !c.in_table));
        // Partitions ascending: t2 (1), t1 (2), t0 (3); records: unknown first.
        table.view.sort_column = 1;
        table.resort();
        assert_eq!(table.view.order, [2, 1, 0]);
        table.view.sort_column = 3;
        table.resort();
        assert_eq!(table.view.order, [1, 0, 2]);
    }
}
