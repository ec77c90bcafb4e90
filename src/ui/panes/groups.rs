//! The Consumer groups pane's view: the groups table with each group's lag, trend and status;
//! or, with a group open, its members and what each was assigned, its partitions' lag table,
//! and a chart of its total lag over time.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use ratatui::Frame;

use crate::app::panes::group_detail::GroupDetail;
use crate::app::panes::groups::status_tone;
use crate::app::panes::PaneId;
use crate::app::state::AppState;
use crate::cluster::lag::{format_duration_ms, Status};
use crate::cluster::model::GroupMember;
use crate::ui::panes::{no_data, say, stale_title, title};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{self, fit, TableSpec};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    match &state.panes.groups.detail {
        Some(detail) => render_detail(frame, area, detail, state, theme),
        None => render_list(frame, area, state, theme),
    }
}

fn render_list(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let table = &state.panes.groups.table;
    let view = &table.view;
    let empty = no_data(state, theme).unwrap_or_else(|| {
        if table.rows.is_empty() {
            say("no consumer groups", theme)
        } else {
            say(format!("no groups match '{}'", view.filter), theme)
        }
    });
    // How many groups want attention, worst first: "· 1 STOP · 2 WARN".
    let mut extra = Vec::new();
    for status in [Status::Error, Status::Stop, Status::Stall, Status::Rewind, Status::Warn] {
        let n = table.rows.iter().filter(|r| r.status() == Some(status)).count();
        if n > 0 {
            extra.push(Span::styled(
                format!(" · {n} {}", status.as_str()),
                theme.tone(status_tone(status)),
            ));
        }
    }
    let spec = TableSpec {
        table,
        title: title(
            "Consumer groups".into(),
            view,
            Some(table.rows.len()),
            state,
            theme,
            extra,
        ),
        title_right: stale_title(state, PaneId::Groups, theme),
        empty,
    };
    table::draw(frame, area, theme, spec);
}

/// The table's area and the member and chart areas around it, for the page size.
pub fn split(area: Rect, state: &AppState) -> (Rect, Option<Rect>, Option<Rect>) {
    let Some(detail) = &state.panes.groups.detail else {
        return (area, None, None);
    };
    let members = detail.summary.as_ref().map_or(0, |s| s.member_list.len());
    // Members: one line each (at least one to say there are none), capped to a quarter.
    let members_h = (members.max(1) as u16 + 2).min((area.height / 4).max(3));
    let chart_h = if area.height >= 18 {
        (area.height / 4).clamp(4, 10)
    } else {
        0
    };
    if area.height < 10 {
        return (area, None, None);
    }
    let [m, t, c] = Layout::vertical([
        Constraint::Length(members_h),
        Constraint::Min(3),
        Constraint::Length(chart_h),
    ])
    .areas(area);
    (t, Some(m), (chart_h > 0).then_some(c))
}

fn render_detail(frame: &mut Frame, area: Rect, detail: &GroupDetail, state: &AppState, theme: &Theme) {
    let (table_area, members_area, chart_area) = split(area, state);
    if let Some(m) = members_area {
        members(frame, m, detail, theme);
    }

    let table = &detail.table;
    let view = &table.view;
    let empty = no_data(state, theme).unwrap_or_else(|| match detail.listed(&state.data) {
        Some(false) => say(
            format!("group '{}' is not in the cluster's group list (deleted?)", detail.group),
            theme,
        ),
        _ if detail.report.is_none() => say("waiting for the group's committed offsets…", theme),
        _ if table.rows.is_empty() => say("this group has no committed offsets", theme),
        _ => say(format!("no partitions match '{}'", view.filter), theme),
    });
    let mut extra = Vec::new();
    if let Some(s) = &detail.summary {
        extra.push(Span::styled(format!(" · {}", s.state), theme.muted));
    }
    if let Some((status, total)) = detail.status() {
        extra.push(Span::styled(
            format!(" · {}", status.as_str()),
            theme.tone(status_tone(status)),
        ));
        extra.push(Span::raw(format!(" · lag {total}")));
        let drain = detail.drain_cell();
        if drain.text != "-" {
            extra.push(Span::raw(format!(" · drains in {}", drain.text)));
        }
        if let Some(r) = detail.report.as_ref() {
            if r.lag.deleted_unread > 0 {
                extra.push(Span::styled(
                    format!(" · {} deleted unread", r.lag.deleted_unread),
                    theme.status_error,
                ));
            }
        }
    }
    let spec = TableSpec {
        table,
        title: title(
            format!("Group {}", detail.group),
            view,
            detail.report.as_ref().map(|_| table.rows.len()),
            state,
            theme,
            extra,
        ),
        title_right: stale_title(state, PaneId::Groups, theme),
        empty,
    };
    table::draw(frame, table_area, theme, spec);

    if let Some(c) = chart_area {
        chart(frame, c, detail, theme);
    }
}

/// "orders[0,2] audit[1]": a member's assigned partitions, compact.
fn assignment_text(m: &GroupMember) -> String {
    if let Some(e) = &m.decode_error {
        return format!("assignment unreadable: {e}");
    }
    if m.assignment.partitions.is_empty() {
        return "nothing assigned".into();
    }
    m.assignment
        .partitions
        .iter()
        .map(|tp| {
            let ps: Vec<String> = tp.partitions.iter().map(i32::to_string).collect();
            format!("{}[{}]", tp.topic, ps.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn members(frame: &mut Frame, area: Rect, detail: &GroupDetail, theme: &Theme) {
    let list = detail.summary.as_ref().map(|s| s.member_list.as_slice()).unwrap_or(&[]);
    let assignor = detail
        .summary
        .as_ref()
        .filter(|s| !s.protocol.is_empty())
        .map(|s| format!(" · {}", s.protocol))
        .unwrap_or_default();
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::from(format!(" Members ({}){assignor} ", list.len())).style(theme.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    let mut lines: Vec<Line> = Vec::new();
    if list.is_empty() {
        lines.push(Line::from(Span::styled("no members: nobody is consuming", theme.muted)));
    }
    let client_w = list.iter().map(|m| m.client_id.len()).max().unwrap_or(0).min(24);
    let host_w = list.iter().map(|m| m.host.len()).max().unwrap_or(0).min(20);
    for (i, m) in list.iter().enumerate() {
        if lines.len() + 1 == height && i + 1 < list.len() {
            lines.push(Line::from(Span::styled(
                format!("… {} more", list.len() - i),
                theme.muted,
            )));
            break;
        }
        let client = format!("{:<client_w$}", fit(&m.client_id, client_w as u16));
        let host = format!("{:<host_w$}", fit(&m.host, host_w as u16));
        let rest = width.saturating_sub(client_w + host_w + 4);
        lines.push(Line::from(vec![
            Span::raw(format!(" {client}  ")),
            Span::styled(format!("{host}  "), theme.muted),
            Span::raw(fit(&assignment_text(m), rest as u16)),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The group's total lag over the monitor's history, one bar per step, newest at the right.
fn chart(frame: &mut Frame, area: Rect, detail: &GroupDetail, theme: &Theme) {
    let history = detail.report.as_ref().map(|r| (r.history.as_slice(), r.step_ms));
    let inner_w = area.width.saturating_sub(2) as usize;
    let (points, step_ms) = history.unwrap_or((&[], 0));
    let shown = &points[points.len().saturating_sub(inner_w)..];
    let max = shown.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let span_ms = shown.len() as i64 * step_ms;
    let heading = if shown.is_empty() {
        " Total lag: no samples yet ".to_string()
    } else {
        format!(
            " Total lag, last {} · max {max} · now {} ",
            format_duration_ms(span_ms.max(step_ms)),
            shown.last().map_or(0, |(_, v)| *v)
        )
    };
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::from(heading).style(theme.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The newest step at the right edge, as in the list's sparkline.
    let data: Vec<u64> = shown.iter().map(|(_, v)| *v).collect();
    let w = (data.len() as u16).min(inner.width);
    let bars = Rect::new(inner.x + inner.width - w, inner.y, w, inner.height);
    let spark = Sparkline::default()
        .data(&data)
        .max(max.max(1))
        .style(Style::from(theme.bar));
    frame.render_widget(spark, bars);
}
