//! The confirm dialog: what a change will do (its plan's summary, table and warnings) and the
//! question, centred over the screen. Long tables are cut with a line saying how many rows are
//! not shown; nothing here scrolls.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::keymap::Keymap;
use crate::app::modal::Confirm;
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
    let yes = keymap.key_for("confirm").map(key_label).unwrap_or_else(|| "y".into());
    let no = keymap.key_for("close").map(key_label).unwrap_or_else(|| "Esc".into());
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled(yes, theme.key),
        Span::raw(format!(" {}   ", c.confirm_label)),
        Span::styled(no, theme.key),
        Span::raw(" cancel"),
    ]));
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .max(c.title.width() + 4)
        + 4;
    let popup = centered(screen, width.min(max_w) as u16, lines.len() as u16 + 2);
    let block = Block::bordered()
        .border_style(theme.border.patch(theme.popup))
        .title(Line::from(format!(" {} ", c.title)).style(theme.title))
        .style(theme.popup);
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let inner = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).style(theme.popup), inner);
}
