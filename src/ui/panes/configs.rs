//! The Configs pane: the current topic's configs with value, default and source, topic
//! overrides first and marked, durations and sizes shown raw and human.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::Frame;

use crate::app::state::{AppState, Pane};
use crate::app::tables::{self, config_value_text};
use crate::cluster::model::ConfigEntry;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, CellText, TableSpec};

/// Marks a row set on the topic itself, so overrides stand out without colour too.
const OVERRIDE_MARK: &str = "* ";
const INHERITED_MARK: &str = "  ";

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let view = &state.configs;
    let entries = tables::config_entries(state);
    // Configs fetched for another topic than the current one are on their way out; say so
    // rather than show the wrong topic's values.
    let fetched_for = state.topic_configs.as_ref().map(|(t, _)| t.as_str());
    let current = state.current_topic.as_deref();
    let empty = no_data(state, theme).unwrap_or_else(|| match (current, &state.topic_configs) {
        (None, _) => say("select a topic in the Topics pane (Enter)", theme),
        (Some(t), None) => say(format!("loading configs of '{t}'…"), theme),
        (Some(t), Some((_, Err(e)))) => {
            let mut text = Text::from(Line::from(Span::styled(
                format!("could not read the configs of '{t}'"),
                theme.status_error,
            )));
            text.push_line(Line::from(""));
            text.push_line(Line::from(Span::styled(e.clone(), theme.muted)));
            text
        }
        (Some(_), Some((_, Ok(list)))) if list.is_empty() => {
            say("the cluster returned no configs for this topic", theme)
        }
        (Some(_), Some(_)) => say(format!("no configs match '{}'", view.filter), theme),
    });
    let name = match fetched_for.or(current) {
        Some(t) => format!("Configs of {t}"),
        None => "Configs".into(),
    };
    let overrides = entries.iter().filter(|e| e.source.is_override()).count();
    let extra = if overrides > 0 {
        vec![Span::styled(format!(" · {overrides} overridden"), theme.override_)]
    } else {
        Vec::new()
    };
    let spec = TableSpec {
        columns: tables::columns(Pane::Configs),
        view,
        title: title(
            name,
            view,
            matches!(state.topic_configs, Some((_, Ok(_)))).then_some(entries.len()),
            state,
            theme,
            extra,
        ),
        title_right: stale_title(state, theme),
        empty,
    };
    table::draw(frame, area, theme, spec, |i| match entries.get(i) {
        Some(e) => cells(e, theme),
        None => (Vec::new(), Style::new()),
    });
}

fn cells(e: &ConfigEntry, theme: &Theme) -> (Vec<CellText>, Style) {
    let overridden = e.source.is_override();
    let value = if e.sensitive && e.value.is_none() {
        "(sensitive)".into()
    } else {
        config_value_text(&e.name, e.value.as_deref())
    };
    let default = match &e.default_value {
        Some(d) => (config_value_text(&e.name, Some(d)), theme.muted),
        None => ("-".into(), theme.muted),
    };
    let mark = if overridden { OVERRIDE_MARK } else { INHERITED_MARK };
    let row_style = if overridden { theme.override_ } else { Style::new() };
    let cells = vec![
        (format!("{mark}{}", e.name), Style::new()),
        (value, Style::new()),
        default,
        (
            e.source.label().to_string(),
            if overridden { theme.override_ } else { theme.muted },
        ),
    ];
    (cells, row_style)
}
