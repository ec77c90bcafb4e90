//! The Brokers pane: id, address, rack, up or down, the controller, and how many partition
//! leaders and replicas each broker hosts.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::Frame;

use crate::app::state::{AppState, Pane};
use crate::app::tables;
use crate::ui::panes::{no_data, say, stale_title, title, unknown};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let view = &state.brokers;
    let brokers = &state.snapshot.brokers;
    // One pass over all partitions per frame: counting is linear and cheap, unlike sorting.
    let load = state.snapshot.broker_load();
    let empty = no_data(state, theme).unwrap_or_else(|| {
        if brokers.is_empty() {
            say("the cluster reported no brokers", theme)
        } else {
            say(format!("no brokers match '{}'", view.filter), theme)
        }
    });
    let mut extra: Vec<Span> = state
        .snapshot
        .controller_id
        .map(|c| Span::styled(format!(" · controller {c}"), theme.muted))
        .into_iter()
        .collect();
    let down = brokers.iter().filter(|b| !b.up).count();
    if down > 0 {
        extra.push(Span::styled(format!(" · {down} down"), theme.status_error));
    }
    let spec = TableSpec {
        columns: tables::columns(Pane::Brokers),
        view,
        title: title("Brokers".into(), view, Some(brokers.len()), state, theme, extra),
        title_right: stale_title(state, theme),
        empty,
    };
    table::draw(frame, area, theme, spec, |i| {
        let Some(b) = brokers.get(i) else {
            return (Vec::new(), Style::new());
        };
        let (leaders, replicas) = load.get(&b.id).copied().unwrap_or((0, 0));
        let count = |n: usize| (n.to_string(), if n == 0 { theme.muted } else { Style::new() });
        let cells = vec![
            (b.id.to_string(), Style::new()),
            (format!("{}:{}", b.host, b.port), Style::new()),
            b.rack
                .as_ref()
                .map_or_else(|| unknown(theme), |r| (r.clone(), Style::new())),
            if b.up {
                ("up".into(), theme.status_ok)
            } else {
                ("down".into(), theme.status_error)
            },
            if b.is_controller {
                ("yes".into(), theme.status_ok)
            } else {
                (String::new(), Style::new())
            },
            count(leaders),
            count(replicas),
        ];
        // A down broker's counts are from the last metadata that listed it: dim the row.
        (cells, if b.up { Style::new() } else { theme.muted })
    });
}
