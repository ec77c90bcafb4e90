//! The Brokers pane's view: the brokers table, the controller and how many are down.

use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::Frame;

use crate::app::panes::PaneId;
use crate::app::state::AppState;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let pane = &state.panes.brokers;
    let table = &pane.table;
    let view = &table.view;
    let empty = no_data(state, theme).unwrap_or_else(|| {
        if table.rows.is_empty() {
            say("the cluster reported no brokers", theme)
        } else {
            say(format!("no brokers match '{}'", view.filter), theme)
        }
    });
    let mut extra: Vec<Span> = pane
        .controller
        .map(|c| Span::styled(format!(" · controller {c}"), theme.muted))
        .into_iter()
        .collect();
    let down = pane.down();
    if down > 0 {
        extra.push(Span::styled(format!(" · {down} down"), theme.status_error));
    }
    let spec = TableSpec {
        table,
        title: title("Brokers".into(), view, Some(table.rows.len()), state, theme, extra),
        title_right: stale_title(state, PaneId::Brokers, theme),
        empty,
    };
    table::draw(frame, area, theme, spec);
}
