//! One view per pane, each a `render(frame, area, state, theme)` that draws the pane model's
//! table (only the rows on screen are formatted) with its title and what to say when it is
//! empty. Shared here: the border title with counts and filter, the stale mark, and the
//! explanation shown while there is no data yet.

pub mod brokers;
pub mod configs;
pub mod groups;
pub mod partitions;
pub mod tail;
pub mod topics;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::Frame;

use crate::app::columns::TableView;
use crate::app::modal::Modal;
use crate::app::panes::PaneId;
use crate::app::state::{AppState, Connection};
use crate::ui::theme::Theme;
use crate::ui::{connection_status, elapsed};

/// Draws the focused pane.
pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    if let Some(t) = &state.tail {
        return tail::render(frame, area, state, t, theme);
    }
    match state.focus {
        PaneId::Topics => topics::render(frame, area, state, theme),
        PaneId::Partitions => partitions::render(frame, area, state, theme),
        PaneId::Brokers => brokers::render(frame, area, state, theme),
        PaneId::Groups => groups::render(frame, area, state, theme),
        PaneId::Configs => configs::render(frame, area, state, theme),
    }
}

/// The area of the focused pane's table, for the page size.
pub fn table_area(area: Rect, state: &AppState) -> Rect {
    if state.tail.is_some() {
        // The records and their header row, plus room for the borders `page_height` takes.
        let (records, _) = tail::split(area);
        return Rect {
            y: records.y.saturating_sub(1),
            height: records.height + 2,
            ..records
        };
    }
    match state.focus {
        PaneId::Partitions => partitions::split(area, state).0,
        PaneId::Groups => groups::split(area, state).0,
        _ => area,
    }
}

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
        _ if !state.has_data() => String::new(),
        None => String::new(),
        Some(total) if view.filter.is_empty() => format!(" ({total})"),
        Some(total) => format!(" ({}/{total})", view.order.len()),
    };
    let mut spans = vec![Span::raw(" "), Span::raw(name), Span::styled(count, theme.title)];
    // While the filter is being typed the footer shows it; afterwards the title remembers it.
    let typing = matches!(state.modals.input(), Some((Modal::Filter(_), _)));
    if !view.filter.is_empty() && !typing {
        spans.push(Span::styled(format!("  /{}", view.filter), theme.muted));
    }
    spans.extend(extra);
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// Waiting this long for an answer is worth saying in the pane.
const SLOW: std::time::Duration = std::time::Duration::from_secs(3);

/// The top-right border of a pane: "stale · data 15 s old" when its data is stale, else
/// "waiting 7 s for configs" while an answer is late.
pub fn stale_title<'a>(state: &AppState, pane: PaneId, theme: &Theme) -> Option<Line<'a>> {
    if let Some(age) = state.stale_age(pane) {
        return Some(Line::from(Span::styled(
            format!(" stale · data {} old ", elapsed(age)),
            theme.stale,
        )));
    }
    let (dataset, waited) = state.waiting(pane).filter(|(_, w)| *w >= SLOW)?;
    Some(Line::from(Span::styled(
        format!(" waiting {} for {} ", elapsed(waited), dataset.label()),
        theme.muted,
    )))
}

/// What to say instead of an empty table when no data has arrived yet: connecting, or the
/// cluster has not answered. None once metadata exists.
pub fn no_data<'a>(state: &AppState, theme: &Theme) -> Option<Text<'a>> {
    if state.has_data() {
        return None;
    }
    Some(match &state.connection {
        Connection::Connecting { since } => {
            let waited = state.now.saturating_duration_since(*since);
            let mut text = Text::from(Line::from(Span::styled(
                format!("connecting to {}…", state.cluster.bootstrap),
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
        // Up without metadata: the first answer is on its way.
        Connection::Up => Text::from(Line::from(Span::styled("loading…", theme.muted))),
    })
}

/// A muted one-line explanation.
pub fn say<'a>(text: impl Into<String>, theme: &Theme) -> Text<'a> {
    Text::from(Line::from(Span::styled(text.into(), theme.muted)))
}
