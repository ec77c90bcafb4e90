//! One module per pane, each a `render(frame, area, state, theme)` that formats only the rows
//! on screen. Shared here: the border title with counts and filter, the stale mark, and the
//! explanation shown while there is no data yet.

pub mod brokers;
pub mod configs;
pub mod groups;
pub mod partitions;
pub mod topics;

use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};

use crate::app::state::{AppState, Connection, Input, TableView};
use crate::ui::theme::Theme;
use crate::ui::{connection_status, elapsed, stale_mark};

/// "Topics (40)", or "Topics (12/40)  /ord" while a filter hides rows; no count when `total`
/// is None (nothing known yet: "(0)" would claim there is nothing). `extra` spans follow
/// (per-pane summaries such as "1 offline").
pub fn title<'a>(
    name: String,
    view: &TableView,
    total: Option<usize>,
    state: &AppState,
    theme: &Theme,
    extra: Vec<Span<'a>>,
) -> Line<'a> {
    let count = match total {
        _ if state.snapshot_at.is_none() => String::new(),
        None => String::new(),
        Some(total) if view.filter.is_empty() => format!(" ({total})"),
        Some(total) => format!(" ({}/{total})", view.rows.len()),
    };
    let mut spans = vec![Span::raw(" "), Span::raw(name), Span::styled(count, theme.title)];
    // While the filter is being typed the footer shows it; afterwards the title remembers it.
    if !view.filter.is_empty() && !matches!(state.input, Input::Filter(_)) {
        spans.push(Span::styled(format!("  /{}", view.filter), theme.muted));
    }
    spans.extend(extra);
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// The stale mark for the top-right border, when the data is stale.
pub fn stale_title<'a>(state: &AppState, theme: &Theme) -> Option<Line<'a>> {
    stale_mark(state).map(|m| Line::from(Span::styled(m, theme.stale)))
}

/// What to say instead of an empty table when no data has arrived yet: connecting, or the
/// cluster has not answered. None once a snapshot exists.
pub fn no_data<'a>(state: &AppState, theme: &Theme) -> Option<Text<'a>> {
    if state.snapshot_at.is_some() {
        return None;
    }
    Some(match &state.connection {
        Connection::Connecting { since } => {
            let waited = state.now.saturating_duration_since(*since);
            let mut text = Text::from(Line::from(Span::styled(
                format!("connecting to {}…", state.target.bootstrap),
                theme.status_warn,
            )));
            if waited.as_secs() >= 3 {
                text.push_line(Line::from(Span::styled(
                    format!("waiting {}", elapsed(waited)),
                    theme.muted,
                )));
            }
            text
        }
        Connection::Lost { error, .. } => {
            let (status, style) = connection_status(state, theme);
            let mut text = Text::from(Line::from(Span::styled(status, style)));
            text.push_line(Line::from(""));
            text.push_line(Line::from(Span::styled(error.clone(), theme.muted)));
            text
        }
        // Up without a snapshot: the first answer is on its way.
        Connection::Up => Text::from(Line::from(Span::styled("loading…", theme.muted))),
    })
}

/// A muted one-line explanation.
pub fn say<'a>(text: impl Into<String>, theme: &Theme) -> Text<'a> {
    Text::from(Line::from(Span::styled(text.into(), theme.muted)))
}

/// "-" for unknown values, in the muted style.
pub fn unknown(theme: &Theme) -> (String, Style) {
    ("-".into(), theme.muted)
}
