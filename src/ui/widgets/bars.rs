//! A horizontal bar per item ("broker 1 ██████▌ 34"), one line each: compact enough to sit
//! under a table in 80x24, exact to an eighth of a cell, and readable without colour because
//! the count is printed beside every bar.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::ui::theme::Theme;
use crate::ui::widgets::table::fit;

/// One bar: label, value, and the style of its label and count (the bar uses `theme.bar`).
pub struct Bar {
    pub label: String,
    pub value: usize,
    pub style: Style,
}

/// Draws `bars` in a bordered block titled `title`; `extra` lines (e.g. "offline 2") follow
/// the bars. When the block is too short, the last visible line says how many were left out.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, title: Line<'_>, bars: &[Bar], extra: Vec<Line<'_>>) {
    let block = Block::bordered()
        .border_style(theme.border)
        .title(title.style(theme.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 8 {
        return;
    }
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let label_w = bars
        .iter()
        .map(|b| b.label.width())
        .max()
        .unwrap_or(0)
        .min(inner.width as usize / 3);
    let count_w = bars.iter().map(|b| b.value.to_string().len()).max().unwrap_or(1);
    // " label bar count ": two spaces between the parts, one margin each side.
    let bar_w = (inner.width as usize).saturating_sub(label_w + count_w + 4);

    let height = inner.height as usize;
    let total = bars.len() + extra.len();
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    let shown_bars = if total > height {
        bars.len().min(height.saturating_sub(1))
    } else {
        bars.len()
    };
    for b in &bars[..shown_bars] {
        let label = format!("{:>label_w$}", fit(&b.label, label_w as u16));
        lines.push(Line::from(vec![
            Span::styled(format!(" {label} "), b.style),
            Span::styled(bar(b.value, max, bar_w), theme.bar),
            Span::styled(format!(" {:>count_w$}", b.value), b.style),
        ]));
    }
    if shown_bars < bars.len() {
        lines.push(Line::from(Span::styled(
            format!(" … {} more", bars.len() - shown_bars),
            theme.muted,
        )));
    } else {
        lines.extend(extra.into_iter().take(height - lines.len()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `value` of `max` as a bar `width` cells long, padded to `width`.
pub fn bar(value: usize, max: usize, width: usize) -> String {
    const PARTIAL: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if width == 0 {
        return String::new();
    }
    let eighths = (value * width * 8 + max / 2).checked_div(max).unwrap_or(0);
    let full = eighths / 8;
    let mut s: String = "█".repeat(full);
    if full < width {
        s.push(PARTIAL[eighths % 8]);
        s.push_str(&" ".repeat(width - full - 1));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_in_eighths() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██  ");
        assert_eq!(bar(1, 16, 2), "▏ ");
        assert_eq!(bar(0, 0, 3), "   ");
    }
}
