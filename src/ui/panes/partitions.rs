//! The Partitions pane: the current topic's partitions (leader, replicas, ISR, health, log
//! start, high watermark, size) and beside or under them how the leaders spread over the
//! brokers, which is what shows a skewed or degraded topic at a glance.

use std::collections::BTreeMap;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::state::{AppState, Pane};
use crate::app::tables;
use crate::cluster::model::{human, Partition, Topic};
use crate::ui::panes::{no_data, say, stale_title, title, unknown};
use crate::ui::theme::Theme;
use crate::ui::widgets::bars::{self, Bar};
use crate::ui::widgets::table::{self, CellText, TableSpec};

/// Wide enough to put the chart beside the table rather than under it.
const SIDE_BY_SIDE_WIDTH: u16 = 140;
/// What the table keeps when the chart is beside it: every column at a readable width.
const TABLE_WIDTH_BESIDE_CHART: u16 = 84;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let view = &state.partitions;
    let topic = state.current_topic();
    let (table_area, chart_area) = split(area, state);
    let parts: &[Partition] = topic.map_or(&[], |t| &t.partitions);

    let empty = no_data(state, theme).unwrap_or_else(|| match (&state.current_topic, topic) {
        (None, _) => say("select a topic in the Topics pane (Enter)", theme),
        (Some(name), None) => say(
            format!("topic '{name}' is not in the cluster's metadata (deleted?)"),
            theme,
        ),
        (Some(_), Some(t)) if t.partitions.is_empty() => say("this topic reports no partitions", theme),
        (Some(_), Some(_)) => say(format!("no partitions match '{}'", view.filter), theme),
    });
    let name = match &state.current_topic {
        Some(t) => format!("Partitions of {t}"),
        None => "Partitions".into(),
    };
    let mut extra = Vec::new();
    if let Some(t) = topic {
        let offline = t.offline_partitions();
        // Offline partitions are counted once, not also as under-replicated.
        let urp = t
            .partitions
            .iter()
            .filter(|p| !p.is_offline() && p.is_under_replicated())
            .count();
        if offline > 0 {
            extra.push(Span::styled(format!(" · {offline} offline"), theme.status_error));
        }
        if urp > 0 {
            extra.push(Span::styled(format!(" · {urp} under-replicated"), theme.status_warn));
        }
    }
    let spec = TableSpec {
        columns: tables::columns(Pane::Partitions),
        view,
        title: title(name, view, topic.map(|t| t.partitions.len()), state, theme, extra),
        title_right: stale_title(state, theme),
        empty,
    };
    table::draw(frame, table_area, theme, spec, |i| match parts.get(i) {
        Some(p) => (cells(p, theme), Style::new()),
        None => (Vec::new(), Style::new()),
    });

    if let (Some(chart), Some(t)) = (chart_area, topic) {
        leader_chart(frame, chart, state, t, theme);
    }
}

/// The table's area and the chart's, if there is room and a topic to chart.
pub fn split(area: Rect, state: &AppState) -> (Rect, Option<Rect>) {
    let Some(topic) = state.current_topic() else {
        return (area, None);
    };
    if topic.partitions.is_empty() {
        return (area, None);
    }
    if area.width >= SIDE_BY_SIDE_WIDTH {
        let chart_w = (area.width * 2 / 5).min(area.width - TABLE_WIDTH_BESIDE_CHART);
        let [t, c] = Layout::horizontal([Constraint::Min(0), Constraint::Length(chart_w)]).areas(area);
        return (t, Some(c));
    }
    if area.height < 12 {
        return (area, None);
    }
    let lines = bar_count(state, topic) + usize::from(topic.offline_partitions() > 0);
    let h = (lines as u16 + 2).min((area.height / 3).max(3));
    let [t, c] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(area);
    (t, Some(c))
}

fn bar_count(state: &AppState, topic: &Topic) -> usize {
    leaders_per_broker(state, topic).0.len()
}

/// Leaders per broker id for `topic`, every known broker included (a broker leading nothing is
/// the interesting case), and the number of partitions without a leader.
fn leaders_per_broker(state: &AppState, topic: &Topic) -> (BTreeMap<i32, usize>, usize) {
    let mut counts: BTreeMap<i32, usize> = state.snapshot.brokers.iter().map(|b| (b.id, 0)).collect();
    let mut offline = 0;
    for p in &topic.partitions {
        match p.leader {
            Some(l) => *counts.entry(l).or_default() += 1,
            None => offline += 1,
        }
    }
    (counts, offline)
}

fn leader_chart(frame: &mut Frame, area: Rect, state: &AppState, topic: &Topic, theme: &Theme) {
    let (counts, offline) = leaders_per_broker(state, topic);
    let items: Vec<Bar> = counts
        .iter()
        .map(|(id, n)| {
            let broker = state.snapshot.brokers.iter().find(|b| b.id == *id);
            let (label, style) = match broker {
                // A leader on a broker missing from the metadata is worth flagging.
                None => (format!("broker {id}?"), theme.status_warn),
                Some(b) if !b.up => (format!("broker {id} down"), theme.status_error),
                Some(_) => (format!("broker {id}"), if *n == 0 { theme.muted } else { Style::new() }),
            };
            Bar {
                label,
                value: *n,
                style,
            }
        })
        .collect();
    let mut extra = Vec::new();
    if offline > 0 {
        extra.push(Line::from(Span::styled(
            format!(" no leader: {offline} partition(s)"),
            theme.status_error,
        )));
    }
    bars::draw(frame, area, theme, Line::from(" Leaders per broker "), &items, extra);
}

fn cells(p: &Partition, theme: &Theme) -> Vec<CellText> {
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let offset = |o: Option<i64>| o.map_or_else(|| unknown(theme), |o| (o.to_string(), Style::new()));
    let (status, status_style) = if p.is_offline() {
        ("offline", theme.status_error)
    } else if p.is_under_replicated() {
        ("under-rep", theme.status_warn)
    } else {
        ("ok", theme.status_ok)
    };
    vec![
        (p.id.to_string(), Style::new()),
        p.leader.map_or_else(
            || ("none".into(), theme.status_error),
            |l| (l.to_string(), Style::new()),
        ),
        (ids(&p.replicas), Style::new()),
        (
            ids(&p.isr),
            if p.is_under_replicated() {
                theme.status_warn
            } else {
                Style::new()
            },
        ),
        (status.to_string(), status_style),
        offset(p.log_start),
        offset(p.high_watermark),
        p.size_bytes
            .map_or_else(|| unknown(theme), |b| (human::bytes(b as i64), Style::new())),
    ]
}
