//! The console's screen: a pure function of `AppState`. Layout top to bottom: header (cluster,
//! address, brokers, connection), tab bar, the current pane, an optional message line (the
//! last connection error, notes about what the cluster does not support), and a footer with
//! the current pane's keys or the filter/command line. The modal stack draws on top, bottom to
//! top: the help overlay, the confirm dialog (the filter and palette are the footer line).
//!
//! Everything here takes `&AppState` and draws: no I/O, no mutation, no sorting (row order is
//! computed by the pane models when data changes). Depends on `app` for state and keys, and on
//! `cluster::model` only through the state's plain data.

pub mod panes;
pub mod theme;
pub mod widgets;

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::keymap::{KeyContext, Keymap};
use crate::app::modal::Modal;
use crate::app::panes::PaneId;
use crate::app::state::{AppState, Connection};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::fit;

/// Draws the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let area = frame.area();
    // Painting every cell costs a tenth of a frame; only themes with a base colour need it.
    if theme.text != Style::new() {
        frame.render_widget(Block::new().style(theme.text), area);
    }
    let areas = Areas::new(area, state);
    header(frame, areas.header, state, theme);
    tabs(frame, areas.tabs, state, theme, keymap);
    panes::render(frame, areas.pane, state, theme);
    if let Some(line) = areas.message {
        message(frame, line, state, theme);
    }
    footer(frame, areas.footer, state, theme, keymap);
    for modal in state.modals.iter() {
        match modal {
            Modal::Help => help(frame, area, theme, keymap, state.tail.is_some()),
            Modal::Confirm(c) => widgets::dialog::confirm(frame, area, theme, keymap, c),
            Modal::Record(d) => panes::tail::record_detail(frame, area, theme, d),
            Modal::Form(f) => widgets::dialog::form(frame, area, theme, f),
            Modal::Notice(n) => widgets::dialog::notice(frame, area, theme, n),
            // Drawn as the footer line.
            Modal::Filter(_) | Modal::Palette(_) | Modal::TailFrom(_) => {}
        }
    }
}

/// Rows of table body the current pane shows on a screen of `screen` size: the page size for
/// PageUp/PageDown and the height for `TableView::scroll_into_view`.
pub fn page_height(screen: Rect, state: &AppState) -> usize {
    let table = panes::table_area(Areas::new(screen, state).pane, state);
    // Borders (2) and the column header (1).
    table.height.saturating_sub(3) as usize
}

/// The screen's regions for one frame.
struct Areas {
    header: Rect,
    tabs: Rect,
    pane: Rect,
    message: Option<Rect>,
    footer: Rect,
}

impl Areas {
    fn new(area: Rect, state: &AppState) -> Areas {
        let has_message = last_error(state).is_some() || !state.notes.is_empty();
        let [header, tabs, pane, message, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(u16::from(has_message)),
            Constraint::Length(1),
        ])
        .areas(area);
        Areas {
            header,
            tabs,
            pane,
            message: has_message.then_some(message),
            footer,
        }
    }
}

/// "12 s", "5 min", "3 h": how long ago, as precisely as a glance needs.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// The connection status as the header says it, with its style.
pub fn connection_status(state: &AppState, theme: &Theme) -> (String, Style) {
    match &state.connection {
        Connection::Connecting { .. } => ("connecting…".into(), theme.status_warn),
        Connection::Up => ("● connected".into(), theme.status_ok),
        Connection::Lost { since, .. } => (
            format!(
                "no answer from {} for {}, retrying",
                state.cluster.bootstrap,
                elapsed(state.now.saturating_duration_since(*since))
            ),
            theme.status_error,
        ),
    }
}

fn header(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let t = &state.cluster;
    let width = area.width as usize;
    let (status, status_style) = connection_status(state, theme);
    let status_style = theme.header.patch(status_style);
    let lost = matches!(state.connection, Connection::Lost { .. });
    let stale = if lost && state.has_data() { " STALE " } else { "" };

    let name = if t.is_bundled() && t.name != "bundled" {
        format!("{} (bundled)", t.name)
    } else {
        t.name.clone()
    };
    let mut left = vec![Span::styled(" strom ", theme.header_name)];
    // The profile's banner ("PRODUCTION" in red), in its colour unless the theme has none.
    if let Some((label, colour)) = &t.label {
        let style = match colour.parse::<ratatui::style::Color>() {
            Ok(c) if theme.name != "no-color" => Style::new().bg(c).fg(ratatui::style::Color::White),
            _ => Style::new().add_modifier(Modifier::REVERSED),
        };
        left.push(Span::styled(format!(" {label} "), style.add_modifier(Modifier::BOLD)));
    }
    left.push(Span::styled(format!("│ {name} "), theme.header_name));
    // Optional parts, in the order they are given up when the line is short: the broker count
    // goes before the address, and both before the status.
    let broker_count = state.data.metadata.value.as_ref().map_or(0, |m| m.brokers.len());
    let brokers = match broker_count {
        1 => "1 broker".to_string(),
        n => format!("{n} brokers"),
    };
    let optional = [
        (t.name != t.bootstrap).then(|| format!("│ {} ", t.bootstrap)),
        state.has_data().then(|| format!("│ {brokers} ")),
    ];
    let right_w = status.width() + 1 + stale.width();
    for part in optional.into_iter().flatten() {
        let used: usize = left.iter().map(Span::width).sum();
        if used + part.width() + 1 + right_w <= width {
            left.push(Span::styled(part, theme.header));
        }
    }
    let used: usize = left.iter().map(Span::width).sum();
    let status = fit(&status, width.saturating_sub(used + 2 + stale.width()) as u16);
    let pad = width.saturating_sub(used + status.width() + 1 + stale.width());
    let mut spans = left;
    spans.push(Span::styled(" ".repeat(pad), theme.header));
    spans.push(Span::styled(status, status_style));
    spans.push(Span::styled(" ", theme.header));
    if !stale.is_empty() {
        spans.push(Span::styled(stale, theme.stale));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.header), area);
}

fn tabs(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let mut spans = vec![Span::raw(" ")];
    for pane in PaneId::ALL {
        let key = keymap
            .key_for(pane.action_name())
            .map(|k| format!("{} ", key_label(k)))
            .unwrap_or_default();
        let style = if pane == state.focus {
            theme.tab_active
        } else {
            theme.tab_inactive
        };
        spans.push(Span::styled(format!(" {key}{} ", pane.title()), style));
        spans.push(Span::raw(" "));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if let Some(topic) = &state.current_topic {
        let room = (area.width as usize).saturating_sub(used + 9);
        if room >= 4 {
            let topic = fit(topic, room as u16);
            let pad = (area.width as usize).saturating_sub(used + topic.width() + 8);
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled("topic: ", theme.muted));
            spans.push(Span::styled(topic, theme.title));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The error to show on the message line: only while stale data is on screen, since without
/// data the pane itself explains the connection.
fn last_error(state: &AppState) -> Option<&str> {
    match &state.connection {
        Connection::Lost { error, .. } if state.has_data() => Some(error),
        _ => None,
    }
}

/// The last connection error, then notes, on one muted line.
fn message(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    if let Some(error) = last_error(state) {
        spans.push(Span::styled(format!("last error: {error}"), theme.status_error));
        if !state.notes.is_empty() {
            spans.push(Span::styled("  ·  ", theme.muted));
        }
    }
    spans.push(Span::styled(state.notes.join("  ·  "), theme.muted));
    let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
    if text.width() > area.width as usize {
        // Cut as one string so the ellipsis lands at the edge, keeping the first span's style
        // for the error part when there is one.
        let style = spans.get(1).map_or(theme.muted, |s| s.style);
        spans = vec![Span::styled(fit(&text, area.width), style)];
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn footer(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let width = area.width as usize;
    let (left, right): (Vec<Span>, Vec<Span>) = match state.modals.input() {
        Some((modal, text)) => {
            let (prompt, hint) = match modal {
                Modal::Filter(_) => ("/", "Enter keep · Esc clear"),
                Modal::TailFrom(_) => (
                    "read from: ",
                    "earliest · latest · OFFSET · -N · 15m · 2024-05-01T12:00:00Z · Esc cancel",
                ),
                _ => (":", "Enter run · Esc cancel"),
            };
            let room = width.saturating_sub(hint.width() + 4);
            // Show the end of a long input: that is where the cursor is.
            let shown = tail(text, room.saturating_sub(2));
            let x = area.x + 1 + prompt.width() as u16 + shown.width() as u16;
            frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
            (
                vec![
                    Span::raw(" "),
                    Span::styled(prompt, theme.key),
                    Span::styled(shown, theme.input),
                ],
                if width >= hint.width() + 12 {
                    vec![Span::styled(format!("{hint} "), theme.muted)]
                } else {
                    vec![]
                },
            )
        }
        None => {
            let flash = state.visible_flash().map(|f| fit(f, (width / 2) as u16));
            let right: Vec<Span> = flash
                .map(|f| vec![Span::styled(f, theme.flash), Span::raw(" ")])
                .unwrap_or_default();
            let right_w: usize = right.iter().map(|s| s.width()).sum();
            // The pane's own keys, then its actions (none on a read-only connection).
            let actions: &[(&str, &str)] = if state.cluster.read_only || state.tail.is_some() {
                &[]
            } else {
                crate::app::changes::hints(state.focus)
            };
            let pane_hints = match &state.tail {
                Some(_) => TAIL_HINTS,
                None => state.pane().hints(),
            };
            let mut hints: Vec<(String, &str)> = pane_hints
                .iter()
                .take(3)
                .chain(actions)
                .chain(pane_hints.iter().skip(3))
                .filter_map(|(action, label)| keymap.key_for(action).map(|k| (key_label(k), *label)))
                .collect();
            let keep: Vec<(String, &str)> = [("help", "help"), ("quit", "quit")]
                .iter()
                .filter_map(|(action, label)| keymap.key_for(action).map(|k| (key_label(k), *label)))
                .collect();
            // Each hint is drawn as "key label   "; the last one's trailing spaces may be cut.
            let hint_w = |h: &[(String, &str)]| h.iter().map(|(k, l)| k.width() + l.width() + 4).sum::<usize>();
            while !hints.is_empty() && 1 + hint_w(&hints) + hint_w(&keep) - 3 + right_w > width {
                hints.pop();
            }
            let mut left = vec![Span::raw(" ")];
            for (k, label) in hints.iter().chain(keep.iter()) {
                left.push(Span::styled(k.clone(), theme.key));
                left.push(Span::styled(format!(" {label}   "), theme.muted));
            }
            (left, right)
        }
    };
    let left_w: usize = left.iter().map(|s| s.width()).sum();
    let right_w: usize = right.iter().map(|s| s.width()).sum();
    let mut spans = left;
    spans.push(Span::raw(" ".repeat(width.saturating_sub(left_w + right_w))));
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The footer's keys while the tail is open.
const TAIL_HINTS: &[crate::app::panes::Hint] = &[
    ("pause", "pause"),
    ("follow", "follow"),
    ("open", "record"),
    ("filter", "filter"),
    ("value_view", "view"),
    ("tail_from", "from"),
    ("back", "close"),
];

/// The last `width` display cells of `text`, with "…" in front when cut.
pub(crate) fn tail(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// A key as the keymap spells it ("ctrl-u", "pagedown") in the short form people read on
/// screen ("^U", "PgDn").
pub fn key_label(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("ctrl-") {
        return format!("^{}", rest.to_uppercase());
    }
    if let Some(rest) = key.strip_prefix("alt-") {
        return format!("M-{rest}");
    }
    match key {
        "enter" => "Enter".into(),
        "esc" => "Esc".into(),
        "tab" => "Tab".into(),
        "backtab" => "S-Tab".into(),
        "up" => "↑".into(),
        "down" => "↓".into(),
        "left" => "←".into(),
        "right" => "→".into(),
        "pageup" => "PgUp".into(),
        "pagedown" => "PgDn".into(),
        "home" => "Home".into(),
        "end" => "End".into(),
        "space" => "Space".into(),
        k if k.len() > 1 && k.starts_with('f') && k[1..].chars().all(|c| c.is_ascii_digit()) => k.to_uppercase(),
        k => k.to_string(),
    }
}

/// The `?` overlay: every keymap entry with its description. One column when the screen is
/// tall enough, else several, with long descriptions wrapped rather than cut.
fn help(frame: &mut Frame, screen: Rect, theme: &Theme, keymap: &Keymap, tail: bool) {
    // The keys of what is under the help: the pane's table (and the tail's, when open) and
    // the global ones.
    let contexts: &[KeyContext] = if tail {
        &[KeyContext::Tail, KeyContext::Global, KeyContext::Table]
    } else {
        &[KeyContext::Global, KeyContext::Table]
    };
    let entries: Vec<(String, String)> = keymap
        .help(contexts)
        .into_iter()
        .map(|(keys, desc)| {
            (
                keys.split_whitespace().map(key_label).collect::<Vec<_>>().join(" "),
                desc,
            )
        })
        .collect();
    if entries.is_empty() || screen.width < 20 || screen.height < 6 {
        return;
    }
    let key_w = entries.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    let desc_w = entries.iter().map(|(_, d)| d.width()).max().unwrap_or(0);
    // Borders and a margin of one cell around the popup.
    let max_rows = screen.height.saturating_sub(4) as usize;
    let max_inner = screen.width.saturating_sub(4) as usize;
    // " key  desc " per entry.
    let entry_w = 1 + key_w + 2 + desc_w + 1;

    let mut columns: Vec<Vec<Line>> = Vec::new();
    // Several columns only while each keeps room for a readable description.
    let max_columns = (1..=4).rev().find(|n| max_inner / n >= key_w + 4 + 22).unwrap_or(1);
    for n in 1..=max_columns {
        let col_w = entry_w.min(max_inner / n);
        let desc_room = col_w.saturating_sub(key_w + 4).max(1);
        let blocks: Vec<Vec<Line>> = entries
            .iter()
            .map(|(k, d)| help_entry(k, d, key_w, desc_room, theme))
            .collect();
        columns = split_balanced(blocks, n);
        if columns.iter().all(|c| c.len() <= max_rows) {
            break;
        }
    }
    let col_w = entry_w.min(max_inner / columns.len().max(1));
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0).min(max_rows);
    let popup = centered(screen, (col_w * columns.len()) as u16 + 2, rows as u16 + 2);

    let block = Block::bordered()
        .border_style(theme.border.patch(theme.popup))
        .title(Line::from(" Keys ").style(theme.title))
        .title_bottom(Line::from(Span::styled(" ? or Esc to close ", theme.muted)).right_aligned())
        .style(theme.popup);
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    for (i, lines) in columns.into_iter().enumerate() {
        let area = Rect {
            x: inner.x + (i * col_w) as u16,
            width: col_w as u16,
            ..inner
        }
        .intersection(inner);
        frame.render_widget(Paragraph::new(lines).style(theme.popup), area);
    }
}

/// One help entry: the keys right-aligned to `key_w`, the description wrapped to `room`.
fn help_entry(keys: &str, desc: &str, key_w: usize, room: usize, theme: &Theme) -> Vec<Line<'static>> {
    wrap(desc, room)
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let keys = if i == 0 { keys } else { "" };
            Line::from(vec![
                Span::styled(format!(" {keys:>key_w$}  "), theme.key),
                Span::raw(text),
            ])
        })
        .collect()
}

/// Splits entries (each a few lines) into `n` columns of about equal height, in order and
/// without breaking an entry across columns.
fn split_balanced<T>(blocks: Vec<Vec<T>>, n: usize) -> Vec<Vec<T>> {
    let total: usize = blocks.iter().map(Vec::len).sum();
    let target = total.div_ceil(n.max(1));
    let mut columns: Vec<Vec<T>> = vec![Vec::new()];
    for block in blocks {
        let full = columns
            .last()
            .is_some_and(|c| !c.is_empty() && c.len() + block.len() > target);
        if full && columns.len() < n {
            columns.push(Vec::new());
        }
        if let Some(c) = columns.last_mut() {
            c.extend(block);
        }
    }
    columns
}

/// Greedy word wrap to `width` cells; a word longer than a line is cut with "…".
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let word = fit(word, width as u16);
        let Some(line) = lines.last_mut() else { break };
        if line.is_empty() {
            line.push_str(&word);
        } else if line.width() + 1 + word.width() <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(word);
        }
    }
    lines
}

/// A `width` x `height` rectangle in the middle of `area`, shrunk to fit.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The console's view: the theme plus the drawing functions above, handed to the event loop.
pub struct ConsoleView {
    pub theme: Theme,
}

impl crate::app::run::View for ConsoleView {
    fn draw(&self, frame: &mut Frame, state: &AppState, keymap: &Keymap) {
        render(frame, state, &self.theme, keymap);
    }

    fn page_height(&self, screen: Rect, state: &AppState) -> usize {
        page_height(screen, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_people_write_them() {
        assert_eq!(key_label("ctrl-c"), "^C");
        assert_eq!(key_label("pagedown"), "PgDn");
        assert_eq!(key_label("backtab"), "S-Tab");
        assert_eq!(key_label("f5"), "F5");
        assert_eq!(key_label("G"), "G");
        assert_eq!(key_label("f"), "f");
    }

    #[test]
    fn elapsed_is_coarse_enough_to_read_at_a_glance() {
        assert_eq!(elapsed(Duration::from_secs(12)), "12 s");
        assert_eq!(elapsed(Duration::from_secs(600)), "10 min");
        assert_eq!(elapsed(Duration::from_secs(10_800)), "3 h");
    }

    #[test]
    fn help_descriptions_wrap_at_words_and_columns_balance() {
        assert_eq!(
            wrap("close, clear filter, or go back", 14),
            ["close, clear", "filter, or go", "back"]
        );
        assert_eq!(wrap("x", 5), ["x"]);
        let cols = split_balanced(vec![vec![1], vec![2, 3], vec![4], vec![5]], 2);
        assert_eq!(cols, [vec![1, 2, 3], vec![4, 5]]);
    }

    #[test]
    fn long_input_shows_its_end() {
        assert_eq!(tail("abcdef", 4), "…def");
        assert_eq!(tail("abc", 4), "abc");
    }
}
