//! The Configs pane's view: the current topic's configs, overrides first and marked, or why
//! there are none.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::Frame;

use crate::app::panes::configs::ConfigsStatus;
use crate::app::panes::PaneId;
use crate::app::state::AppState;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let pane = &state.panes.configs;
    let table = &pane.table;
    let view = &table.view;
    let empty = no_data(state, theme).unwrap_or_else(|| match (&pane.topic, &pane.status) {
        (None, _) | (_, ConfigsStatus::NoTopic) => say("select a topic in the Topics pane (Enter)", theme),
        (Some(t), ConfigsStatus::Loading) => say(format!("loading configs of '{t}'…"), theme),
        (Some(t), ConfigsStatus::Failed(e)) => {
            let mut text = Text::from(Line::from(Span::styled(
                format!("could not read the configs of '{t}'"),
                theme.status_error,
            )));
            text.push_line(Line::from(""));
            text.push_line(Line::from(Span::styled(e.clone(), theme.muted)));
            text
        }
        (Some(_), ConfigsStatus::Loaded) if table.rows.is_empty() => {
            say("the cluster returned no configs for this topic", theme)
        }
        (Some(_), ConfigsStatus::Loaded) => say(format!("no configs match '{}'", view.filter), theme),
    });
    let name = match &pane.topic {
        Some(t) => format!("Configs of {t}"),
        None => "Configs".into(),
    };
    let overrides = pane.overrides();
    let extra = if overrides > 0 {
        vec![Span::styled(format!(" · {overrides} overridden"), theme.override_)]
    } else {
        Vec::new()
    };
    let spec = TableSpec {
        table,
        title: title(
            name,
            view,
            (pane.status == ConfigsStatus::Loaded).then_some(table.rows.len()),
            state,
            theme,
            extra,
        ),
        title_right: stale_title(state, PaneId::Configs, theme),
        empty,
    };
    table::draw(frame, area, theme, spec);
}
