//! The Partitions pane's view: the current topic's partitions and, beside or under them, how
//! the leaders spread over the brokers, which is what shows a skewed or degraded topic at a
//! glance.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::panes::PaneId;
use crate::app::state::AppState;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::bars::{self, Bar};
use crate::ui::widgets::table::{self, TableSpec};

/// Wide enough to put the chart beside the table rather than under it.
const SIDE_BY_SIDE_WIDTH: u16 = 140;
/// What the table keeps when the chart is beside it: every column at a readable width.
const TABLE_WIDTH_BESIDE_CHART: u16 = 84;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let pane = &state.panes.partitions;
    let table = &pane.table;
    let view = &table.view;
    let (table_area, chart_area) = split(area, state);

    let empty = no_data(state, theme).unwrap_or_else(|| match (&pane.topic, pane.topic_exists) {
        (None, _) => say("select a topic in the Topics pane (Enter)", theme),
        (Some(name), false) => say(
            format!("topic '{name}' is not in the cluster's metadata (deleted?)"),
            theme,
        ),
        (Some(_), true) if table.rows.is_empty() => say("this topic reports no partitions", theme),
        (Some(_), true) => say(format!("no partitions match '{}'", view.filter), theme),
    });
    let name = match &pane.topic {
        Some(t) => format!("Partitions of {t}"),
        None => "Partitions".into(),
    };
    let mut extra = Vec::new();
    if pane.topic_exists {
        let (offline, urp) = pane.trouble();
        if offline > 0 {
            extra.push(Span::styled(format!(" · {offline} offline"), theme.status_error));
        }
        if urp > 0 {
            extra.push(Span::styled(format!(" · {urp} under-replicated"), theme.status_warn));
        }
    }
    let spec = TableSpec {
        table,
        title: title(
            name,
            view,
            pane.topic_exists.then_some(table.rows.len()),
            state,
            theme,
            extra,
        ),
        title_right: stale_title(state, PaneId::Partitions, theme),
        empty,
    };
    table::draw(frame, table_area, theme, spec);

    if let Some(chart) = chart_area {
        leader_chart(frame, chart, state, theme);
    }
}

/// The table's area and the chart's, if there is room and a topic to chart.
pub fn split(area: Rect, state: &AppState) -> (Rect, Option<Rect>) {
    let pane = &state.panes.partitions;
    if !pane.topic_exists || pane.table.rows.is_empty() {
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
    let (counts, offline) = pane.leaders_per_broker();
    let lines = counts.len() + usize::from(offline > 0);
    let h = (lines as u16 + 2).min((area.height / 3).max(3));
    let [t, c] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(area);
    (t, Some(c))
}

fn leader_chart(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let pane = &state.panes.partitions;
    let (counts, offline) = pane.leaders_per_broker();
    let items: Vec<Bar> = counts
        .iter()
        .map(|(id, n)| {
            let broker = pane.brokers.iter().find(|b| b.id == *id);
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
