//! The Topics pane: every topic with partitions, replication, records, size, retention,
//! health (offline and under-replicated partitions) and the internal flag.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::Frame;

use crate::app::state::{AppState, Pane};
use crate::app::tables::{self, topic_health};
use crate::cluster::model::{human, Topic};
use crate::ui::panes::{no_data, say, stale_title, title, unknown};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, CellText, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let view = &state.topics;
    let topics = &state.snapshot.topics;
    let empty = no_data(state, theme).unwrap_or_else(|| {
        if topics.is_empty() {
            say("no topics", theme)
        } else {
            say(format!("no topics match '{}'", view.filter), theme)
        }
    });
    let spec = TableSpec {
        columns: tables::columns(Pane::Topics),
        view,
        title: title(
            "Topics".into(),
            view,
            Some(topics.len()),
            state,
            theme,
            Vec::<Span>::new(),
        ),
        title_right: stale_title(state, theme),
        empty,
    };
    table::draw(frame, area, theme, spec, |i| match topics.get(i) {
        Some(t) => (cells(t, theme), Style::new()),
        None => (Vec::new(), Style::new()),
    });
}

fn cells(t: &Topic, theme: &Theme) -> Vec<CellText> {
    let (offline, urp) = topic_health(t);
    let (health, style) = match (&t.error, offline, urp) {
        // The metadata error (e.g. UNKNOWN_TOPIC_OR_PARTITION) says more than counts.
        (Some(e), _, _) => (e.to_lowercase().replace('_', " "), theme.status_error),
        (None, 0, 0) => ("ok".into(), theme.status_ok),
        (None, o, 0) => (format!("{o} offline"), theme.status_error),
        (None, 0, u) => (format!("{u} under-rep"), theme.status_warn),
        (None, o, u) => (format!("{o} offline, {u} under-rep"), theme.status_error),
    };
    // The name carries the trouble too, for when the health column is cut off.
    let name_style = if t.error.is_none() && offline == 0 && urp == 0 {
        Style::new()
    } else {
        style
    };
    vec![
        (t.name.clone(), name_style),
        (t.partitions.len().to_string(), Style::new()),
        (t.replication_factor().to_string(), Style::new()),
        t.records()
            .map_or_else(|| unknown(theme), |r| (human::count(r), Style::new())),
        t.size_bytes()
            .map_or_else(|| unknown(theme), |b| (human::bytes(b as i64), Style::new())),
        match tables::retention_text(t) {
            r if r == "-" => unknown(theme),
            r => (r, Style::new()),
        },
        (health, style),
        if t.internal {
            ("yes".into(), theme.muted)
        } else {
            (String::new(), Style::new())
        },
    ]
}
