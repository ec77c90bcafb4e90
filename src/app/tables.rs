//! The tables behind each pane: their columns (titles, width hints, alignment) and the
//! functions that recompute a `TableView`'s visible row order from the data, the sort and the
//! filter.
//!
//! Row order is computed here, on the event loop, when data, sort or filter change, and never
//! while drawing: a frame of a 10,000-row table only reads `TableView::rows`. Nothing here
//! knows about the terminal; the column hints are plain numbers the UI lays out.

use std::cmp::Ordering;

use crate::app::state::{AppState, Pane, TableView};
use crate::cluster::model::{human, ConfigEntry, Partition, Topic};

/// One column of a pane's table, as the UI lays it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Shown when the column is wide enough.
    pub title: &'static str,
    /// Shown otherwise (may equal `title`).
    pub short: &'static str,
    /// Narrowest useful width; below it the column is dropped rather than shown unreadable.
    pub min: u16,
    /// Width beyond which extra space is better given to other columns.
    pub max: u16,
    /// Right-aligned (numbers), and sorted largest-first when first chosen.
    pub numeric: bool,
    /// 0 is never dropped; higher numbers are dropped first when the terminal is narrow and
    /// are the last to receive spare width.
    pub priority: u8,
    /// Grows to its `max` once every column has what its content needs.
    pub fill: bool,
}

const fn col(title: &'static str, short: &'static str, min: u16, max: u16, numeric: bool, priority: u8) -> Column {
    Column {
        title,
        short,
        min,
        max,
        numeric,
        priority,
        fill: false,
    }
}

const fn fill(title: &'static str, min: u16, max: u16, priority: u8) -> Column {
    Column {
        title,
        short: title,
        min,
        max,
        numeric: false,
        priority,
        fill: true,
    }
}

pub const TOPIC_COLUMNS: [Column; 8] = [
    fill("Name", 24, 60, 0),
    col("Partitions", "Parts", 6, 11, true, 1),
    col("Replicas", "RF", 3, 9, true, 2),
    col("Records", "Records", 8, 12, true, 1),
    col("Size", "Size", 9, 11, true, 2),
    col("Retention", "Retention", 9, 18, false, 3),
    col("Health", "Health", 11, 24, false, 3),
    col("Internal", "Int", 3, 9, false, 4),
];

pub const PARTITION_COLUMNS: [Column; 8] = [
    col("Id", "Id", 4, 6, true, 0),
    col("Leader", "Leader", 6, 6, true, 0),
    col("Replicas", "Replicas", 8, 20, false, 1),
    col("ISR", "ISR", 8, 20, false, 1),
    col("Status", "Status", 9, 16, false, 0),
    col("Log start", "Start", 10, 14, true, 2),
    col("High watermark", "HW", 10, 15, true, 1),
    col("Size", "Size", 9, 11, true, 3),
];

pub const BROKER_COLUMNS: [Column; 7] = [
    col("Id", "Id", 4, 6, true, 0),
    fill("Address", 16, 40, 0),
    col("Rack", "Rack", 6, 16, false, 2),
    col("Status", "Status", 6, 8, false, 0),
    col("Controller", "Ctl", 4, 11, false, 1),
    col("Leaders", "Leaders", 7, 8, true, 1),
    col("Replicas", "Replicas", 8, 9, true, 1),
];

pub const GROUP_COLUMNS: [Column; 4] = [
    fill("Name", 16, 50, 0),
    col("State", "State", 12, 20, false, 0),
    col("Members", "Members", 7, 8, true, 1),
    col("Protocol type", "Protocol", 8, 14, false, 2),
];

pub const CONFIG_COLUMNS: [Column; 4] = [
    col("Name", "Name", 20, 40, false, 0),
    fill("Value", 16, 40, 0),
    col("Default", "Default", 12, 30, false, 2),
    col("Source", "Source", 7, 16, false, 1),
];

/// The columns of a pane, in display order; `TableView::sort_column` indexes this.
pub fn columns(pane: Pane) -> &'static [Column] {
    match pane {
        Pane::Topics => &TOPIC_COLUMNS,
        Pane::Partitions => &PARTITION_COLUMNS,
        Pane::Brokers => &BROKER_COLUMNS,
        Pane::Groups => &GROUP_COLUMNS,
        Pane::Configs => &CONFIG_COLUMNS,
    }
}

/// Number of rows in a pane's source data, before filtering.
pub fn source_len(state: &AppState, pane: Pane) -> usize {
    match pane {
        Pane::Topics => state.snapshot.topics.len(),
        Pane::Partitions => state.current_topic().map_or(0, |t| t.partitions.len()),
        Pane::Brokers => state.snapshot.brokers.len(),
        Pane::Groups => state.group_list.len(),
        Pane::Configs => config_entries(state).len(),
    }
}

/// The configs the Configs pane shows: those of `topic_configs` when they were fetched
/// successfully, else none.
pub fn config_entries(state: &AppState) -> &[ConfigEntry] {
    match &state.topic_configs {
        Some((_, Ok(entries))) => entries,
        _ => &[],
    }
}

/// Recomputes the rows of one pane from its data, filter and sort. The selection stays on the
/// same source row when it is still shown (sort and filter changes), else it is clamped.
/// After the data itself changed, use [`bookmark`] and [`rebuild_all_from`] instead so the
/// selection follows the item, not its old index.
pub fn rebuild(state: &mut AppState, pane: Pane) {
    let keep = state.table(pane).selected_row();
    let rows = compute_rows(state, pane, state.table(pane));
    let view = state.table_mut(pane);
    view.rows = rows;
    let found = keep.and_then(|src| view.rows.iter().position(|r| *r == src));
    reselect(view, found);
}

/// Recomputes every pane's rows (see [`rebuild`]).
pub fn rebuild_all(state: &mut AppState) {
    for pane in Pane::ALL {
        rebuild(state, pane);
    }
}

/// What is selected in each pane, by identity (topic name, partition id, ...), so the
/// selection survives a data refresh that inserts or removes rows before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bookmark {
    keys: [Option<String>; Pane::ALL.len()],
}

/// Takes a [`Bookmark`] of the selections; call before replacing the data.
pub fn bookmark(state: &AppState) -> Bookmark {
    let mut keys: [Option<String>; Pane::ALL.len()] = Default::default();
    for pane in Pane::ALL {
        keys[pane.index()] = state
            .table(pane)
            .selected_row()
            .and_then(|src| row_key(state, pane, src));
    }
    Bookmark { keys }
}

/// Recomputes every pane after the data changed, keeping each selection on the bookmarked
/// item when it is still there (clamped otherwise).
pub fn rebuild_all_from(state: &mut AppState, bookmark: &Bookmark) {
    for pane in Pane::ALL {
        let rows = compute_rows(state, pane, state.table(pane));
        let found = bookmark.keys[pane.index()].as_deref().and_then(|key| {
            rows.iter()
                .position(|src| row_key(state, pane, *src).as_deref() == Some(key))
        });
        let view = state.table_mut(pane);
        view.rows = rows;
        reselect(view, found);
    }
}

/// Puts the selection on `found` or clamps it, and keeps the scroll offset from pointing past
/// the selection. The UI finishes scrolling for the real viewport height at draw time.
fn reselect(view: &mut TableView, found: Option<usize>) {
    match found {
        Some(i) => view.selected = i,
        None => view.selected = view.selected.min(view.rows.len().saturating_sub(1)),
    }
    view.offset = view.offset.min(view.selected);
}

/// The identity of a source row, for [`Bookmark`].
fn row_key(state: &AppState, pane: Pane, src: usize) -> Option<String> {
    match pane {
        Pane::Topics => state.snapshot.topics.get(src).map(|t| t.name.clone()),
        Pane::Partitions => state.current_topic()?.partitions.get(src).map(|p| p.id.to_string()),
        Pane::Brokers => state.snapshot.brokers.get(src).map(|b| b.id.to_string()),
        Pane::Groups => state.group_list.get(src).map(|g| g.name.clone()),
        Pane::Configs => config_entries(state).get(src).map(|c| c.name.clone()),
    }
}

/// Filters and sorts the source indices of `pane` as `view` asks.
fn compute_rows(state: &AppState, pane: Pane, view: &TableView) -> Vec<usize> {
    let needle = view.filter.to_lowercase();
    let col = view.sort_column;
    let desc = view.descending;
    match pane {
        Pane::Topics => {
            let topics = &state.snapshot.topics;
            let rows = filtered(topics.len(), |i| contains_ci(&topics[i].name, &needle));
            sorted(
                rows,
                desc,
                |a, b| cmp_topic(&topics[a], &topics[b], col),
                |a, b| topics[a].name.cmp(&topics[b].name),
            )
        }
        Pane::Partitions => {
            let parts: &[Partition] = state.current_topic().map_or(&[], |t| &t.partitions);
            let rows = filtered(parts.len(), |i| {
                needle.is_empty() || contains_ci(&parts[i].id.to_string(), &needle)
            });
            sorted(
                rows,
                desc,
                |a, b| cmp_partition(&parts[a], &parts[b], col),
                |a, b| parts[a].id.cmp(&parts[b].id),
            )
        }
        Pane::Brokers => {
            let brokers = &state.snapshot.brokers;
            let load = state.snapshot.broker_load();
            let load_of = |i: usize| load.get(&brokers[i].id).copied().unwrap_or((0, 0));
            let rows = filtered(brokers.len(), |i| {
                let b = &brokers[i];
                needle.is_empty()
                    || contains_ci(&b.host, &needle)
                    || contains_ci(&b.id.to_string(), &needle)
                    || contains_ci(&format!("{}:{}", b.host, b.port), &needle)
                    || b.rack.as_deref().is_some_and(|r| contains_ci(r, &needle))
            });
            sorted(
                rows,
                desc,
                |a, b| {
                    let (x, y) = (&brokers[a], &brokers[b]);
                    match col {
                        1 => (&x.host, x.port).cmp(&(&y.host, y.port)),
                        2 => x.rack.cmp(&y.rack),
                        // Down before up, the controller before the rest: what needs a look first.
                        3 => x.up.cmp(&y.up),
                        4 => y.is_controller.cmp(&x.is_controller),
                        5 => load_of(a).0.cmp(&load_of(b).0),
                        6 => load_of(a).1.cmp(&load_of(b).1),
                        _ => x.id.cmp(&y.id),
                    }
                },
                |a, b| brokers[a].id.cmp(&brokers[b].id),
            )
        }
        Pane::Groups => {
            let groups = &state.group_list;
            let rows = filtered(groups.len(), |i| contains_ci(&groups[i].name, &needle));
            sorted(
                rows,
                desc,
                |a, b| {
                    let (x, y) = (&groups[a], &groups[b]);
                    match col {
                        1 => x.state.cmp(&y.state),
                        2 => x.members.cmp(&y.members),
                        3 => x.protocol_type.cmp(&y.protocol_type),
                        _ => x.name.cmp(&y.name),
                    }
                },
                |a, b| groups[a].name.cmp(&groups[b].name),
            )
        }
        Pane::Configs => {
            let entries = config_entries(state);
            let rows = filtered(entries.len(), |i| contains_ci(&entries[i].name, &needle));
            let mut rows = sorted(
                rows,
                desc,
                |a, b| {
                    let (x, y) = (&entries[a], &entries[b]);
                    match col {
                        1 => x.value.cmp(&y.value),
                        2 => x.default_value.cmp(&y.default_value),
                        3 => x.source.cmp(&y.source),
                        _ => x.name.cmp(&y.name),
                    }
                },
                |a, b| entries[a].name.cmp(&entries[b].name),
            );
            // Overrides are what an operator looks for first, whatever the sort: a stable
            // partition keeps the chosen order within each group.
            rows.sort_by_key(|i| !entries[*i].source.is_override());
            rows
        }
    }
}

fn filtered(len: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..len).filter(|i| keep(*i)).collect()
}

/// Sorts by `primary` (reversed when `desc`), ties broken by `tie` always ascending so equal
/// rows keep a predictable order in both directions.
fn sorted(
    mut rows: Vec<usize>,
    desc: bool,
    primary: impl Fn(usize, usize) -> Ordering,
    tie: impl Fn(usize, usize) -> Ordering,
) -> Vec<usize> {
    rows.sort_by(|a, b| {
        let o = primary(*a, *b);
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| tie(*a, *b))
    });
    rows
}

fn cmp_topic(x: &Topic, y: &Topic, col: usize) -> Ordering {
    match col {
        1 => x.partitions.len().cmp(&y.partitions.len()),
        2 => x.replication_factor().cmp(&y.replication_factor()),
        3 => x.records().cmp(&y.records()),
        4 => x.size_bytes().cmp(&y.size_bytes()),
        5 => retention_key(x).cmp(&retention_key(y)),
        6 => topic_health(x).cmp(&topic_health(y)),
        7 => x.internal.cmp(&y.internal),
        _ => x.name.cmp(&y.name),
    }
}

/// Unlimited (-1) retention sorts as the longest; unknown as the shortest.
fn retention_key(t: &Topic) -> (Option<i64>, Option<i64>) {
    let unlimited = |v: i64| if v < 0 { i64::MAX } else { v };
    (t.retention_ms.map(unlimited), t.retention_bytes.map(unlimited))
}

fn cmp_partition(x: &Partition, y: &Partition, col: usize) -> Ordering {
    match col {
        1 => x.leader.cmp(&y.leader),
        2 => x.replicas.cmp(&y.replicas),
        3 => x.isr.len().cmp(&y.isr.len()).then_with(|| x.isr.cmp(&y.isr)),
        4 => partition_severity(x).cmp(&partition_severity(y)),
        5 => x.log_start.cmp(&y.log_start),
        6 => x.high_watermark.cmp(&y.high_watermark),
        7 => x.size_bytes.cmp(&y.size_bytes),
        _ => x.id.cmp(&y.id),
    }
}

/// (offline, under-replicated) partition counts: sorting by health puts the worst at one end.
pub fn topic_health(t: &Topic) -> (usize, usize) {
    let offline = t.offline_partitions();
    // An offline partition is counted once, as offline, not also as under-replicated.
    let urp = t
        .partitions
        .iter()
        .filter(|p| !p.is_offline() && p.is_under_replicated())
        .count();
    (offline, urp)
}

/// 0 healthy, 1 under-replicated, 2 offline: sorting by status puts trouble at one end.
pub fn partition_severity(p: &Partition) -> u8 {
    if p.is_offline() {
        2
    } else if p.is_under_replicated() {
        1
    } else {
        0
    }
}

/// Case-insensitive substring test; `needle` must already be lowercase. ASCII names (all
/// Kafka topic names) are compared without allocating.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// Configs whose values are durations or sizes, shown raw and human ("604800000 (7d)").
const DURATION_CONFIGS: [&str; 2] = ["retention.ms", "segment.ms"];
const SIZE_CONFIGS: [&str; 3] = ["retention.bytes", "segment.bytes", "max.message.bytes"];

/// A config value as shown: raw, plus the human form for durations and sizes.
pub fn config_value_text(name: &str, value: Option<&str>) -> String {
    let Some(value) = value else { return "-".into() };
    let human = value.trim().parse::<i64>().ok().and_then(|v| {
        if DURATION_CONFIGS.contains(&name) {
            Some(human::duration_ms(v))
        } else if SIZE_CONFIGS.contains(&name) {
            Some(human::bytes(v))
        } else {
            None
        }
    });
    match human {
        Some(h) => format!("{value} ({h})"),
        None => value.to_string(),
    }
}

/// A topic's retention as shown: "7d", "7d, 1 GiB", "1 GiB" or "-" when unknown.
pub fn retention_text(t: &Topic) -> String {
    let ms = t.retention_ms.map(human::duration_ms);
    // Unlimited bytes is the usual case and says nothing beyond the time limit.
    let bytes = t.retention_bytes.filter(|b| *b >= 0).map(human::bytes);
    match (ms, bytes) {
        (Some(ms), Some(b)) => format!("{ms}, {b}"),
        (Some(ms), None) => ms,
        (None, Some(b)) => b,
        (None, None) => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::app::state::{GroupSummary, Target};
    use crate::cluster::model::{Broker, ClusterSnapshot, ConfigSource};

    fn topic(name: &str, parts: usize, records_each: i64) -> Topic {
        Topic {
            name: name.into(),
            partitions: (0..parts as i32)
                .map(|id| Partition {
                    id,
                    leader: Some(1),
                    replicas: vec![1],
                    isr: vec![1],
                    log_start: Some(0),
                    high_watermark: Some(records_each),
                    ..Partition::default()
                })
                .collect(),
            ..Topic::default()
        }
    }

    fn state(topics: Vec<Topic>) -> AppState {
        let target = Target {
            name: "t".into(),
            bootstrap: "127.0.0.1:9092".into(),
            bundled: false,
        };
        let mut s = AppState::new(target, Instant::now());
        s.snapshot = ClusterSnapshot {
            topics,
            ..ClusterSnapshot::default()
        };
        s
    }

    fn names(s: &AppState) -> Vec<&str> {
        s.topics
            .rows
            .iter()
            .map(|i| s.snapshot.topics[*i].name.as_str())
            .collect()
    }

    #[test]
    fn topics_sort_by_name_then_by_chosen_column_in_both_directions() {
        let mut s = state(vec![topic("alpha", 3, 10), topic("beta", 1, 500), topic("gamma", 3, 1)]);
        rebuild_all(&mut s);
        assert_eq!(names(&s), ["alpha", "beta", "gamma"]);

        s.topics.sort_column = 1; // partitions; ties by name ascending
        rebuild(&mut s, Pane::Topics);
        assert_eq!(names(&s), ["beta", "alpha", "gamma"]);
        s.topics.descending = true;
        rebuild(&mut s, Pane::Topics);
        assert_eq!(names(&s), ["alpha", "gamma", "beta"]);

        s.topics.sort_column = 3; // records: 30, 500, 3
        rebuild(&mut s, Pane::Topics);
        assert_eq!(names(&s), ["beta", "alpha", "gamma"]);
    }

    #[test]
    fn filter_is_a_case_insensitive_substring_and_keeps_the_selected_topic() {
        let mut s = state(vec![
            topic("Orders", 1, 0),
            topic("payments", 1, 0),
            topic("orders-dlq", 1, 0),
        ]);
        rebuild_all(&mut s);
        s.topics.selected = 2; // orders-dlq
        s.topics.filter = "ORD".into();
        rebuild(&mut s, Pane::Topics);
        assert_eq!(names(&s), ["Orders", "orders-dlq"]);
        assert_eq!(s.topics.selected, 1, "selection follows orders-dlq");

        s.topics.filter = "nothing".into();
        rebuild(&mut s, Pane::Topics);
        assert!(s.topics.rows.is_empty());
        assert_eq!(s.topics.selected, 0);
        assert_eq!(s.topics.selected_row(), None);
    }

    #[test]
    fn selection_and_offset_are_clamped_when_rows_shrink() {
        let mut s = state((0..50).map(|i| topic(&format!("t{i:02}"), 1, 0)).collect());
        rebuild_all(&mut s);
        s.topics.selected = 49;
        s.topics.offset = 40;
        s.snapshot.topics.truncate(10);
        rebuild(&mut s, Pane::Topics);
        assert_eq!(s.topics.rows.len(), 10);
        assert_eq!(s.topics.selected, 9);
        assert!(s.topics.offset <= s.topics.selected);
    }

    #[test]
    fn bookmark_keeps_the_selected_item_across_a_refresh_that_inserts_rows() {
        let mut s = state(vec![topic("b", 1, 0), topic("c", 1, 0)]);
        rebuild_all(&mut s);
        s.topics.selected = 1; // c
        let mark = bookmark(&s);
        s.snapshot.topics.insert(0, topic("a", 1, 0));
        rebuild_all_from(&mut s, &mark);
        assert_eq!(
            s.topics.selected_row().map(|i| s.snapshot.topics[i].name.as_str()),
            Some("c")
        );
    }

    #[test]
    fn partitions_sort_by_status_puts_offline_first_when_descending() {
        let mut t = topic("t", 4, 0);
        t.partitions[1].leader = None;
        t.partitions[3].replicas = vec![1, 2];
        let mut s = state(vec![t]);
        s.current_topic = Some("t".into());
        s.partitions.sort_column = 4;
        s.partitions.descending = true;
        rebuild(&mut s, Pane::Partitions);
        assert_eq!(s.partitions.rows, [1, 3, 0, 2]);

        s.partitions.filter = "3".into();
        rebuild(&mut s, Pane::Partitions);
        assert_eq!(s.partitions.rows, [3]);
    }

    #[test]
    fn brokers_filter_on_host_and_id_and_groups_on_name() {
        let mut s = state(vec![]);
        s.snapshot.brokers = vec![
            Broker {
                id: 1,
                host: "kafka-a.example".into(),
                port: 9092,
                rack: None,
                is_controller: true,
                up: true,
            },
            Broker {
                id: 2,
                host: "kafka-b.example".into(),
                port: 9092,
                rack: None,
                is_controller: false,
                up: false,
            },
        ];
        s.brokers.filter = "B.EX".into();
        rebuild(&mut s, Pane::Brokers);
        assert_eq!(s.brokers.rows, [1]);
        s.brokers.filter = "1".into();
        rebuild(&mut s, Pane::Brokers);
        assert_eq!(s.brokers.rows, [0]);
        s.brokers.filter.clear();
        s.brokers.sort_column = 3; // status: down first
        rebuild(&mut s, Pane::Brokers);
        assert_eq!(s.brokers.rows, [1, 0]);

        let g = |name: &str, members| GroupSummary {
            name: name.into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            members,
        };
        s.group_list = vec![g("billing", 3), g("audit", 1)];
        s.groups.sort_column = 2;
        s.groups.descending = true;
        rebuild(&mut s, Pane::Groups);
        assert_eq!(s.groups.rows, [0, 1]);
    }

    #[test]
    fn configs_put_overrides_first_then_sort_by_name() {
        let e = |name: &str, source| ConfigEntry {
            name: name.into(),
            value: Some("1".into()),
            source,
            read_only: false,
            sensitive: false,
            default_value: None,
        };
        let mut s = state(vec![]);
        s.topic_configs = Some((
            "t".into(),
            Ok(vec![
                e("cleanup.policy", ConfigSource::Default),
                e("segment.ms", ConfigSource::DynamicTopic),
                e("retention.ms", ConfigSource::DynamicTopic),
                e("compression.type", ConfigSource::StaticBroker),
            ]),
        ));
        rebuild(&mut s, Pane::Configs);
        assert_eq!(s.configs.rows, [2, 1, 0, 3]);
        s.configs.descending = true;
        rebuild(&mut s, Pane::Configs);
        assert_eq!(s.configs.rows, [1, 2, 3, 0]);

        s.topic_configs = Some(("t".into(), Err("TOPIC_AUTHORIZATION_FAILED".into())));
        rebuild(&mut s, Pane::Configs);
        assert!(s.configs.rows.is_empty());
    }

    #[test]
    fn durations_and_sizes_in_configs_are_shown_raw_and_human() {
        assert_eq!(config_value_text("retention.ms", Some("604800000")), "604800000 (7d)");
        assert_eq!(config_value_text("retention.bytes", Some("-1")), "-1 (unlimited)");
        assert_eq!(
            config_value_text("max.message.bytes", Some("1048588")),
            "1048588 (1.0 MiB)"
        );
        assert_eq!(config_value_text("cleanup.policy", Some("delete")), "delete");
        assert_eq!(config_value_text("segment.ms", None), "-");
    }

    #[test]
    fn every_sort_column_index_is_a_column() {
        // The event loop cycles sort_column through columns(pane).len(); every index must sort
        // by something, never panic.
        let mut s = state(vec![topic("a", 2, 1), topic("b", 1, 2)]);
        s.current_topic = Some("a".into());
        for pane in Pane::ALL {
            for c in 0..columns(pane).len() {
                s.table_mut(pane).sort_column = c;
                rebuild(&mut s, pane);
            }
        }
    }
}
