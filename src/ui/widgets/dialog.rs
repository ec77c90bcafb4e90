//! The dialogs of a change, centred over the screen: the form (labelled fields, the focused
//! one with the cursor, its hint, and the reason a submit was refused), the confirm dialog
//! (what a change will do: its plan's summary, table and warnings, and the question, or the
//! name to type) and the notice (the result, or the error with Kafka's name). Long tables are
//! cut with a line saying how many rows are not shown; nothing here scrolls.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::keymap::Keymap;
use crate::app::modal::{Confirm, Form, Notice};
use crate::ui::theme::Theme;
use crate::ui::widgets::table::fit;
use crate::ui::{centered, key_label};

pub fn confirm(frame: &mut Frame, screen: Rect, theme: &Theme, keymap: &Keymap, c: &Confirm) {
    if screen.width < 20 || screen.height < 7 {
        return;
    }
    let max_w = screen.width.saturating_sub(4) as usize;
    let inner_w = max_w.saturating_sub(2);
    let mut lines: Vec<Line> = vec![Line::from(Span::raw(fit(&c.summary, inner_w as u16)))];
    let t = &c.table;
    if !t.headers.is_empty() {
        let widths: Vec<usize> = t
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                t.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|s| s.width())
                    .chain([h.width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let row = |cells: Vec<&str>| {
            let text = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            fit(text.trim_end(), inner_w as u16)
        };
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(row(t.headers.clone()), theme.table_header)));
        // Keep room for the warnings, the question and the borders.
        let room = (screen.height as usize).saturating_sub(8 + c.warnings.len() + lines.len());
        for r in t.rows.iter().take(room) {
            lines.push(Line::from(row(r.iter().map(String::as_str).collect())));
        }
        if t.rows.len() > room {
            lines.push(Line::from(Span::styled(
                format!("… and {} more", t.rows.len() - room),
                theme.muted,
            )));
        }
    }
    if !c.warnings.is_empty() {
        lines.push(Line::from(""));
        for w in &c.warnings {
            lines.push(Line::from(Span::styled(
                fit(&format!("! {w}"), inner_w as u16),
                theme.status_warn,
            )));
        }
    }
    let no = keymap.key_for("close").map(key_label).unwrap_or_else(|| "Esc".into());
    lines.push(Line::from(""));
    let mut cursor = None;
    match &c.typed {
        Some((want, got)) => {
            lines.push(Line::from(vec![
                Span::raw(format!("type {want}: ")),
                Span::styled(got.text.clone(), theme.input),
            ]));
            cursor = Some((lines.len() - 1, format!("type {want}: {}", got.text).width()));
            lines.push(Line::from(vec![
                Span::styled("Enter", theme.key),
                Span::raw(format!(
                    " {}{}   ",
                    c.confirm_label,
                    if c.ready() { "" } else { " (once typed)" }
                )),
                Span::styled("Esc", theme.key),
                Span::raw(" cancel"),
            ]));
        }
        None => {
            let yes = keymap.key_for("confirm").map(key_label).unwrap_or_else(|| "y".into());
            lines.push(Line::from(vec![
                Span::styled(yes, theme.key),
                Span::raw(format!(" {}   ", c.confirm_label)),
                Span::styled(no, theme.key),
                Span::raw(" cancel"),
            ]));
        }
    }
    popup(frame, screen, theme, &c.title, lines, cursor);
}

/// Draws `lines` in a bordered box titled `title`, centred; `cursor` (line, column) puts the
/// terminal's cursor there.
fn popup(
    frame: &mut Frame,
    screen: Rect,
    theme: &Theme,
    title: &str,
    lines: Vec<Line>,
    cursor: Option<(usize, usize)>,
) {
    let max_w = screen.width.saturating_sub(4) as usize;
    let width = lines.iter().map(Line::width).max().unwrap_or(0).max(title.width() + 4) + 4;
    let popup = centered(screen, width.min(max_w) as u16, lines.len() as u16 + 2);
    let block = Block::bordered()
        .border_style(theme.border.patch(theme.popup))
        .title(Line::from(format!(" {title} ")).style(theme.title))
        .style(theme.popup);
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let inner = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    if let Some((line, col)) = cursor {
        if (line as u16) < inner.height {
            let x = inner.x + (col as u16).min(inner.width.saturating_sub(1));
            frame.set_cursor_position((x, inner.y + line as u16));
        }
    }
    frame.render_widget(Paragraph::new(lines).style(theme.popup), inner);
}

/// A form: each field as `label: value`, the focused one marked and with its hint below; the
/// reason the last submit was refused; the keys.
pub fn form(frame: &mut Frame, screen: Rect, theme: &Theme, f: &Form) {
    if screen.width < 20 || screen.height < 7 {
        return;
    }
    let inner_w = screen.width.saturating_sub(8) as usize;
    let label_w = f.fields.iter().map(|x| x.label.width()).max().unwrap_or(0);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor = None;
    for (i, field) in f.fields.iter().enumerate() {
        let focused = i == f.focus;
        let marker = if focused { "> " } else { "  " };
        let prefix = format!("{marker}{:>label_w$}: ", field.label);
        let room = inner_w.saturating_sub(prefix.width() + 1);
        let shown = crate::ui::tail(&field.input.text, room);
        if focused {
            cursor = Some((lines.len(), prefix.width() + shown.width()));
        }
        lines.push(Line::from(vec![
            Span::styled(prefix, if focused { theme.key } else { theme.muted }),
            Span::styled(shown, theme.input),
        ]));
        if focused && !field.hint.is_empty() {
            lines.push(Line::from(Span::styled(
                fit(&format!("{:w$}{}", "", field.hint, w = label_w + 4), inner_w as u16),
                theme.muted,
            )));
        }
    }
    if let Some(e) = &f.error {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            fit(&format!("! {e}"), inner_w as u16),
            theme.status_error,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("Enter", theme.key),
        Span::raw(" plan   "),
        Span::styled("Tab", theme.key),
        Span::raw(" next field   "),
        Span::styled("Esc", theme.key),
        Span::raw(" cancel"),
    ]));
    popup(frame, screen, theme, &f.title, lines, cursor);
}

/// A change's result or refusal; any key closes it.
pub fn notice(frame: &mut Frame, screen: Rect, theme: &Theme, n: &Notice) {
    if screen.width < 20 || screen.height < 5 {
        return;
    }
    let inner_w = screen.width.saturating_sub(8) as usize;
    let style = if n.error { theme.status_error } else { theme.status_ok };
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in n.lines.iter().enumerate() {
        for w in crate::ui::wrap(l, inner_w.max(10)) {
            lines.push(Line::from(Span::styled(w, if i == 0 { style } else { theme.popup })));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("any key closes", theme.muted)));
    popup(frame, screen, theme, &n.title, lines, None);
}
