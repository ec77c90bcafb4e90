//! The Topics pane's view: the topics table.

use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::Frame;

use crate::app::panes::PaneId;
use crate::app::state::AppState;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let table = &state.panes.topics.table;
    let view = &table.view;
    let empty = no_data(state, theme).unwrap_or_else(|| {
        if table.rows.is_empty() {
            say("no topics", theme)
        } else {
            say(format!("no topics match '{}'", view.filter), theme)
        }
    });
    let spec = TableSpec {
        table,
        title: title(
            "Topics".into(),
            view,
            Some(table.rows.len()),
            state,
            theme,
            Vec::<Span>::new(),
        ),
        title_right: stale_title(state, PaneId::Topics, theme),
        empty,
    };
    table::draw(frame, area, theme, spec);
}
