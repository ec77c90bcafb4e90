//! The Tail pane's view: the live records (partition, offset, timestamp with its type, key,
//! header count, value size, value preview), a status line (rate, what is buffered, dropped
//! and skipped, paused or following, the filter's counts), and the record detail modal.
//!
//! Only the rows on screen are formatted; record bytes go through `record_view`'s escaping,
//! so nothing a producer wrote reaches the terminal raw.

use std::fmt::Write as _;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::modal::RecordDetail;
use crate::app::panes::tail::{TailPane, TailStatus, ViewMode};
use crate::app::state::AppState;
use crate::cluster::model::human;
use crate::cluster::record_view::{
    self, escape_bytes, format_timestamp, preview, Escape, Record, TimestampType, ValueView,
};
use crate::cluster::tail::StartAt;
use crate::ui::centered;
use crate::ui::theme::Theme;
use crate::ui::widgets::table::{fit, HIGHLIGHT_SYMBOL};

/// The detail shows at most this much of a value.
pub const DETAIL_VALUE_BYTES: usize = 1 << 20;

/// Screens at least this wide show the timestamp's date and its type in words.
const WIDE: u16 = 120;

/// The pane's regions: the records (with their header row) and the status line.
pub fn split(area: Rect) -> (Rect, Rect) {
    let block = Block::bordered();
    let inner = block.inner(area);
    let [table, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    (table, status)
}

/// Rows of records a screen shows (the header row aside).
pub fn body_height(area: Rect) -> usize {
    split(area).0.height.saturating_sub(1) as usize
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, tail: &TailPane, theme: &Theme) {
    let mut block = Block::bordered()
        .border_style(theme.border)
        .title(title(tail, state, theme).style(theme.title));
    let (mode, style) = match (&tail.status, tail.paused, tail.follow) {
        (TailStatus::Failed(_), _, _) => ("stopped", theme.status_error),
        (TailStatus::Starting, _, _) => ("starting…", theme.muted),
        (_, true, _) => ("‖ paused", theme.status_warn),
        (_, false, true) => ("● following", theme.status_ok),
        (_, false, false) => ("● live · scrolled", theme.status_ok),
    };
    block = block.title(Line::from(Span::styled(format!(" {mode} "), style)).right_aligned());
    frame.render_widget(block, area);
    let (table_area, status_area) = split(area);
    records(frame, table_area, tail, theme);
    status_line(frame, status_area, state, tail, theme);
}

fn title<'a>(tail: &TailPane, state: &AppState, theme: &Theme) -> Line<'a> {
    let what = match tail.target.partition {
        Some(p) => format!("{} partition {p}", escape(&tail.target.topic)),
        None => {
            let n = tail.partitions.len();
            match n {
                0 => format!("{} (all partitions)", escape(&tail.target.topic)),
                1 => format!("{} (1 partition)", escape(&tail.target.topic)),
                n => format!("{} ({n} partitions)", escape(&tail.target.topic)),
            }
        }
    };
    let from = match tail.start {
        StartAt::Latest => "new records".to_string(),
        StartAt::Earliest => "from the beginning".to_string(),
        StartAt::Offset(o) => format!("from offset {o}"),
        StartAt::Timestamp(t) => format!("from {}", format_timestamp(t, &chrono::Utc)),
        StartAt::LastN(n) => format!("last {n} per partition"),
    };
    let mut spans = vec![
        Span::raw(" Tail "),
        Span::styled(what, theme.title),
        Span::styled(format!(" · {from}"), theme.muted),
    ];
    let typing = matches!(state.modals.input(), Some((crate::app::modal::Modal::Filter(_), _)));
    if !tail.filter_text.is_empty() && !typing {
        spans.push(Span::styled(format!("  /{}", escape(&tail.filter_text)), theme.muted));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

fn escape(s: &str) -> String {
    record_view::escape_str(s, Escape::Line)
}

/// The timestamp cell: date and time (UTC) with the type in words on a wide screen, the time
/// and the type's letter on a narrow one.
fn timestamp_cell(r: &Record, wide: bool) -> String {
    let Some(ms) = r.timestamp.filter(|_| r.timestamp_type != TimestampType::NotAvailable) else {
        return "-".into();
    };
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return format!("{ms} ms");
    };
    let (word, letter) = match r.timestamp_type {
        TimestampType::CreateTime => ("create", "C"),
        TimestampType::LogAppendTime => ("append", "L"),
        TimestampType::NotAvailable => ("", ""),
    };
    if wide {
        format!("{} {word}", t.format("%Y-%m-%d %H:%M:%S%.3f"))
    } else {
        format!("{} {letter}", t.format("%H:%M:%S%.3f"))
    }
}

/// A value (or key) on one line of `width` columns, in `view`.
pub fn value_cell(bytes: Option<&[u8]>, view: ViewMode, width: usize) -> String {
    let Some(bytes) = bytes else { return "null".into() };
    match view {
        ViewMode::Auto | ViewMode::Fixed(ValueView::Json) => preview(bytes, width),
        ViewMode::Fixed(ValueView::Text) => {
            // A bounded prefix: the cell shows `width` columns at most, an escape is <= 4.
            let cut = bytes.len().min(width * 4 + 4);
            let mut text = escape_bytes(&bytes[..cut], Escape::Line);
            if cut < bytes.len() {
                text.push('…');
            }
            fit(&text, width as u16)
        }
        ViewMode::Fixed(ValueView::Hex) => {
            let n = bytes.len().min(width / 3 + 1);
            let mut out = String::with_capacity(n * 3);
            for (i, b) in bytes[..n].iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{b:02x}");
            }
            if n < bytes.len() {
                out.push_str(" …");
            }
            fit(&out, width as u16)
        }
    }
}

fn records(frame: &mut Frame, area: Rect, tail: &TailPane, theme: &Theme) {
    let height = area.height.saturating_sub(1) as usize;
    if tail.buffer.is_empty() {
        let text = match &tail.status {
            TailStatus::Failed(e) => Line::from(Span::styled(format!("the tail stopped: {e}"), theme.status_error)),
            TailStatus::Starting => Line::from(Span::styled("starting the tail…", theme.muted)),
            TailStatus::Reading if !tail.filter_text.is_empty() && tail.counts().held > 0 => Line::from(Span::styled(
                format!("no record matches '{}'", escape(&tail.filter_text)),
                theme.muted,
            )),
            TailStatus::Reading if tail.paused => Line::from(Span::styled("paused; Space resumes", theme.muted)),
            TailStatus::Reading => Line::from(Span::styled(
                format!("waiting for records on {}…", escape(&tail.target.to_string())),
                theme.muted,
            )),
        };
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let (offset, selected) = tail.window(height);
    let end = (offset + height).min(tail.buffer.len());
    let shown: Vec<&Record> = (offset..end).filter_map(|i| tail.buffer.get(i)).collect();
    let wide = area.width >= WIDE;
    let part_w = shown
        .iter()
        .map(|r| r.partition.to_string().len())
        .max()
        .unwrap_or(1)
        .max(1) as u16;
    let off_w = shown
        .iter()
        .map(|r| r.offset.to_string().len())
        .max()
        .unwrap_or(1)
        .max(6) as u16;
    let ts_w: u16 = if wide { 30 } else { 14 };
    let size_w: u16 = 9;
    let hdr_w: u16 = 4;
    let fixed = HIGHLIGHT_SYMBOL.len() as u16 + part_w + off_w + ts_w + hdr_w + size_w + 6;
    let rest = area.width.saturating_sub(fixed);
    // The key gets a third of what is left, at most 32 columns; the value the rest.
    let key_w = (rest / 3).clamp(3, 32).min(rest);
    let value_w = rest.saturating_sub(key_w + 1);
    let rows: Vec<Row> = shown
        .iter()
        .map(|r| {
            let size = r
                .value
                .as_ref()
                .map_or("null".to_string(), |v| human::bytes(v.len() as i64));
            Row::new(vec![
                Cell::from(r.partition.to_string()),
                Cell::from(r.offset.to_string()),
                Cell::from(timestamp_cell(r, wide)),
                Cell::from(value_cell(r.key.as_deref(), ViewMode::Auto, key_w as usize)),
                Cell::from(r.headers.len().to_string()),
                Cell::from(size),
                Cell::from(value_cell(r.value.as_deref(), tail.view, value_w as usize)),
            ])
        })
        .collect();
    let ts_title = if wide { "timestamp (UTC) type" } else { "time UTC" };
    let header = Row::new(vec!["p", "offset", ts_title, "key", "hdrs", "size", "value"]).style(theme.table_header);
    let widths = [
        Constraint::Length(part_w),
        Constraint::Length(off_w),
        Constraint::Length(ts_w),
        Constraint::Length(key_w),
        Constraint::Length(hdr_w),
        Constraint::Length(size_w),
        Constraint::Length(value_w),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(theme.table_selected)
        .highlight_symbol(HIGHLIGHT_SYMBOL)
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut ts = TableState::default().with_selected(selected.map(|s| s - offset));
    frame.render_stateful_widget(table, area, &mut ts);
}

/// "1.2k rec/s · 10,000 buffered (3.1 MiB) · 5,000 dropped · 120 skipped drawing · view auto"
fn status_line(frame: &mut Frame, area: Rect, state: &AppState, tail: &TailPane, theme: &Theme) {
    let c = tail.counts();
    let rate = tail.rate(state.now);
    let mut parts: Vec<Span> = vec![Span::raw(" ")];
    let sep = || Span::styled(" · ", theme.muted);
    parts.push(Span::styled(
        format!("{} rec/s", human::count(rate.round() as i64)),
        theme.title,
    ));
    parts.push(sep());
    parts.push(Span::raw(format!(
        "{} buffered ({})",
        human::count(c.held as i64),
        human::bytes(tail.buffer.held_bytes() as i64)
    )));
    if !tail.filter_text.is_empty() {
        parts.push(sep());
        parts.push(Span::styled(
            format!(
                "{} of {} shown",
                human::count(c.matched as i64),
                human::count(c.scanned as i64)
            ),
            theme.title,
        ));
    }
    parts.push(sep());
    parts.push(Span::styled(
        format!("{} dropped", human::count(c.dropped as i64)),
        if c.dropped > 0 { theme.status_warn } else { theme.muted },
    ));
    parts.push(sep());
    parts.push(Span::styled(
        format!("{} skipped drawing", human::count(tail.skipped as i64)),
        theme.muted,
    ));
    parts.push(sep());
    parts.push(Span::styled(format!("view {}", tail.view.label()), theme.muted));
    if tail.caught_up() {
        parts.push(sep());
        parts.push(Span::styled("at the end", theme.muted));
    }
    if let Some(e) = &tail.error {
        parts.push(sep());
        parts.push(Span::styled(escape(e), theme.status_error));
    }
    let text: String = parts.iter().map(|s| s.content.as_ref()).collect();
    let line = if text.width() > area.width as usize {
        Line::from(Span::styled(fit(&text, area.width), theme.muted))
    } else {
        Line::from(parts)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The record detail: every field, every header, the key, and the value in its view,
/// scrolled; `v` cycles the view.
pub fn record_detail(frame: &mut Frame, screen: Rect, theme: &Theme, d: &RecordDetail) {
    if screen.width < 20 || screen.height < 6 {
        return;
    }
    let popup = centered(
        screen,
        screen.width.saturating_sub(4).min(120),
        screen.height.saturating_sub(2),
    );
    let r = &d.record;
    let block = Block::bordered()
        .border_style(theme.border.patch(theme.popup))
        .title(Line::from(format!(" Record {}-{} @ {} ", escape(&r.topic), r.partition, r.offset)).style(theme.title))
        .title_bottom(Line::from(Span::styled(" j/k scroll · v view · Esc close ", theme.muted)).right_aligned())
        .style(theme.popup);
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut lines: Vec<Line> = Vec::new();
    for (label, rendered) in record_view::detail(r, d.view, &chrono::Utc, DETAIL_VALUE_BYTES) {
        let multi = rendered.lines.len() > 1 || label.starts_with("Headers") || label.starts_with("Value");
        if multi {
            lines.push(Line::from(Span::styled(format!("{label}:"), theme.key)));
            for l in rendered.lines {
                lines.push(Line::from(format!("  {l}")));
            }
        } else {
            let value = rendered.lines.into_iter().next().unwrap_or_default();
            lines.push(Line::from(vec![
                Span::styled(format!("{label}: "), theme.key),
                Span::raw(value),
            ]));
        }
        if rendered.truncated {
            lines.push(Line::from(Span::styled(
                format!("  … cut at {}", human::bytes(DETAIL_VALUE_BYTES as i64)),
                theme.status_warn,
            )));
        }
    }
    let height = inner.height as usize;
    let scroll = d.scroll.min(lines.len().saturating_sub(height));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(shown).style(theme.popup), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_cells_escape_and_bound_every_view() {
        let v = b"a\x1b[31mred\x07\n";
        let text = value_cell(Some(v), ViewMode::Fixed(ValueView::Text), 40);
        assert_eq!(text, "a\\x1b[31mred\\x07\\n");
        let hex = value_cell(Some(b"\x00\x01\xff"), ViewMode::Fixed(ValueView::Hex), 40);
        assert_eq!(hex, "00 01 ff");
        let long = value_cell(Some(&[0xab; 100]), ViewMode::Fixed(ValueView::Hex), 12);
        assert_eq!(long.width(), 12);
        assert!(long.ends_with('…'));
        assert_eq!(value_cell(None, ViewMode::Auto, 10), "null");
        let json = value_cell(Some(b"{ \"a\": 1,\n \"b\": [2] }"), ViewMode::Auto, 40);
        assert_eq!(json, "{\"a\":1,\"b\":[2]}");
        let big = vec![b'x'; 1 << 20];
        assert_eq!(value_cell(Some(&big), ViewMode::Fixed(ValueView::Text), 10).width(), 10);
    }

    #[test]
    fn timestamps_show_their_type() {
        let mut r = Record {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            timestamp: Some(1_714_564_984_123),
            timestamp_type: TimestampType::LogAppendTime,
            key: None,
            value: None,
            headers: vec![],
        };
        assert_eq!(timestamp_cell(&r, true), "2024-05-01 12:03:04.123 append");
        assert_eq!(timestamp_cell(&r, false), "12:03:04.123 L");
        r.timestamp_type = TimestampType::NotAvailable;
        assert_eq!(timestamp_cell(&r, false), "-");
    }
}
