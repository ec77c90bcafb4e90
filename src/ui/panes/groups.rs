//! The Consumer groups pane: each group's state, member count and protocol type, as
//! ListGroups/DescribeGroups report them.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::Frame;

use crate::app::state::{AppState, Pane};
use crate::app::tables;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let view = &state.groups;
    let groups = &state.group_list;
    let empty = no_data(state, theme).unwrap_or_else(|| {
        if groups.is_empty() {
            say("no consumer groups", theme)
        } else {
            say(format!("no groups match '{}'", view.filter), theme)
        }
    });
    let spec = TableSpec {
        columns: tables::columns(Pane::Groups),
        view,
        title: title(
            "Consumer groups".into(),
            view,
            Some(groups.len()),
            state,
            theme,
            Vec::<Span>::new(),
        ),
        title_right: stale_title(state, theme),
        empty,
    };
    table::draw(frame, area, theme, spec, |i| {
        let Some(g) = groups.get(i) else {
            return (Vec::new(), Style::new());
        };
        // Kafka's group states: a rebalance is transient, Dead is gone, Empty has no members.
        let state_style = match g.state.as_str() {
            "Stable" => theme.status_ok,
            "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => theme.status_warn,
            "Dead" => theme.status_error,
            _ => theme.muted,
        };
        let cells = vec![
            (g.name.clone(), Style::new()),
            (g.state.clone(), state_style),
            (
                g.members.to_string(),
                if g.members == 0 { theme.muted } else { Style::new() },
            ),
            (g.protocol_type.clone(), Style::new()),
        ];
        (cells, Style::new())
    });
}
