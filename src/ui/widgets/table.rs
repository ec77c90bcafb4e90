//! The one table every pane draws with: lays out the pane's columns for the width at hand
//! (dropping the least important ones rather than squeezing all into illegibility), builds
//! ratatui rows for the visible window only, truncates with "…", marks the sort column, and
//! shows an explanation instead of an empty grid.
//!
//! Column widths follow what the visible rows contain, within each column's bounds, so short
//! values do not waste a narrow screen. Only the rows on screen are formatted: a frame costs the same for 40 rows as for 10,000.
//! The scroll offset is derived from `TableView` for the real viewport height without writing
//! it back; the event loop keeps `TableView::offset` roughly right with `scroll_into_view`.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::columns::{Layout, TableModel};
use crate::ui::theme::Theme;

/// Marks the selected row, so the selection shows without colour too.
pub const HIGHLIGHT_SYMBOL: &str = "> ";
const COLUMN_SPACING: u16 = 1;

/// What a pane hands the table helper.
pub struct TableSpec<'a> {
    pub table: &'a dyn TableModel,
    /// Left part of the top border: "Topics (12/40)".
    pub title: Line<'a>,
    /// Right part of the top border (stale mark), if any.
    pub title_right: Option<Line<'a>>,
    /// Shown instead of rows when there are none: why, and what to do.
    pub empty: Text<'a>,
}

/// Draws `spec` into `area`: the table's columns laid out for the width, the rows on screen
/// formatted by the column model, tones mapped to the theme's styles.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, spec: TableSpec<'_>) {
    let mut block = Block::bordered()
        .border_style(theme.border)
        .title(spec.title.style(theme.title));
    if let Some(right) = spec.title_right {
        block = block.title(right.right_aligned());
    }
    let inner = block.inner(area);
    let view = spec.table.view();
    let columns = spec.table.layouts();
    let body_height = inner.height.saturating_sub(1) as usize;
    let available = inner.width.saturating_sub(HIGHLIGHT_SYMBOL.len() as u16);

    // Format the visible rows first: their widths decide the column layout.
    let (offset, selected) = view.window(body_height);
    let end = (offset + body_height).min(view.order.len());
    let formatted: Vec<(Vec<(String, Style)>, Style)> = view.order[offset..end]
        .iter()
        .map(|src| {
            let (cells, tone) = spec.table.cells(*src);
            (
                cells.into_iter().map(|c| (c.text, theme.tone(c.tone))).collect(),
                theme.tone(tone),
            )
        })
        .collect();
    let wants: Vec<u16> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let content = formatted
                .iter()
                .filter_map(|(t, _)| t.get(i))
                .map(|(t, _)| t.width())
                .max()
                .unwrap_or(0);
            // Room for the short title at least, and the sort mark on the sorted column.
            let title = c.short.width() + usize::from(view.sort_column == i);
            content.max(title).min(u16::MAX as usize) as u16
        })
        .collect();
    let layout = layout_columns(&columns, &wants, available);

    let header = Row::new(layout.iter().map(|(i, w)| {
        let c = &columns[*i];
        let sorted = view.sort_column == *i;
        let mark = if !sorted {
            ""
        } else if view.descending {
            "▼"
        } else {
            "▲"
        };
        let title = if c.title.width() + usize::from(sorted) <= *w as usize {
            c.title
        } else {
            c.short
        };
        let style = if sorted { theme.table_sorted } else { theme.table_header };
        aligned(fit(&format!("{title}{mark}"), *w), c.numeric()).style(style)
    }));

    let rows: Vec<Row> = formatted
        .iter()
        .map(|(texts, row_style)| {
            Row::new(layout.iter().map(|(i, w)| {
                let (text, style) = texts.get(*i).map_or(("", Style::new()), |(t, s)| (t.as_str(), *s));
                aligned(fit(text, *w), columns[*i].numeric()).style(style)
            }))
            .style(*row_style)
        })
        .collect();
    let empty = rows.is_empty();

    if !empty && view.order.len() > body_height {
        let position = format!(" {} of {} ", selected.map_or(0, |s| offset + s + 1), view.order.len());
        block = block.title_bottom(Line::from(Span::styled(position, theme.muted)).right_aligned());
    }

    let widths: Vec<Constraint> = layout.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(COLUMN_SPACING)
        .row_highlight_style(theme.table_selected)
        .highlight_symbol(HIGHLIGHT_SYMBOL)
        .highlight_spacing(HighlightSpacing::Always);
    let mut state = TableState::new().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);

    if empty && inner.height > 2 {
        let msg_area = Rect {
            y: inner.y + 2,
            height: inner.height - 2,
            ..inner
        };
        let msg = Paragraph::new(spec.empty)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true });
        frame.render_widget(msg, msg_area);
    }
}

/// Chooses which columns to show and how wide, for `available` cells (selection marker
/// excluded) and what each column's content `wants` (its widest visible cell): columns are
/// dropped, least important first, until the minimums fit; spare width then goes to columns in
/// order of importance, each up to what its content wants (capped at its `max`), then up to its
/// full title, then to the `fill` column up to its `max`. Returns (column index, width) in display order.
pub fn layout_columns(columns: &[Layout], wants: &[u16], available: u16) -> Vec<(usize, u16)> {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let need = |shown: &[usize]| -> u16 {
        shown.iter().map(|i| columns[*i].min).sum::<u16>() + COLUMN_SPACING * (shown.len().saturating_sub(1) as u16)
    };
    while need(&shown) > available {
        // The least important, rightmost first; priority 0 columns stay even if clipped.
        let Some(pos) = shown
            .iter()
            .enumerate()
            .filter(|(_, i)| columns[**i].priority > 0)
            .max_by_key(|(pos, i)| (columns[**i].priority, *pos))
            .map(|(pos, _)| pos)
        else {
            break;
        };
        shown.remove(pos);
    }
    let mut widths: Vec<u16> = shown.iter().map(|i| columns[*i].min).collect();
    let mut spare = available.saturating_sub(need(&shown));
    let mut order: Vec<usize> = (0..shown.len()).collect();
    order.sort_by_key(|k| (columns[shown[*k]].priority, *k));
    // First what the content needs, then room for the full title and its sort mark.
    let content = |i: usize| wants.get(i).copied().unwrap_or(columns[i].max);
    let titled = |i: usize| content(i).max(columns[i].title.width() as u16 + 1);
    for target in [&content as &dyn Fn(usize) -> u16, &titled] {
        for k in &order {
            let i = shown[*k];
            let grow = target(i).min(columns[i].max).saturating_sub(widths[*k]).min(spare);
            widths[*k] += grow;
            spare -= grow;
        }
    }
    // Beyond that only the fill column grows, to its max: a name column stretched across a
    // wide screen puts its numbers too far away to read along the row, so the rest stays
    // blank at the right.
    if let Some(k) = shown.iter().position(|i| columns[*i].fill) {
        widths[k] += columns[shown[k]].max.saturating_sub(widths[k]).min(spare);
    }
    shown.into_iter().zip(widths).collect()
}

/// `text` cut to `width` display cells, ending in "…" when cut.
pub fn fit(text: &str, width: u16) -> String {
    let width = width as usize;
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::with_capacity(width + 2);
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn aligned(text: String, right: bool) -> Cell<'static> {
    let line = Line::from(text);
    Cell::from(if right { line.right_aligned() } else { line })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::panes::{partitions, topics};

    fn layouts<R>(columns: &'static [crate::app::columns::Column<R>]) -> Vec<Layout> {
        crate::app::columns::table_columns(columns)
            .iter()
            .map(|c| c.layout)
            .collect()
    }

    #[test]
    fn fit_truncates_with_an_ellipsis_by_display_width() {
        assert_eq!(fit("orders", 6), "orders");
        assert_eq!(fit("orders", 5), "orde…");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(fit("x", 0), "");
    }

    #[test]
    fn columns_fill_the_width_and_narrow_terminals_drop_the_least_important() {
        let topic_columns = layouts(&topics::COLUMNS);
        let partition_columns = layouts(&partitions::COLUMNS);
        let wants: Vec<u16> = topic_columns.iter().map(|c| c.max).collect();
        // Wider than every column at its max: each stops there, the rest stays blank.
        let wide = layout_columns(&topic_columns, &wants, 200);
        assert_eq!(wide.len(), topic_columns.len());
        assert!(wide.iter().all(|(i, w)| *w == topic_columns[*i].max), "{wide:?}");
        // Narrower: everything shown, the space used up, the least important short of its max.
        let mid = layout_columns(&topic_columns, &wants, 156);
        assert_eq!(mid.len(), topic_columns.len());
        assert_eq!(mid.iter().map(|(_, w)| w + 1).sum::<u16>() - 1, 156);
        assert!(mid[7].1 < topic_columns[7].max, "{mid:?}");

        let narrow = layout_columns(&topic_columns, &wants, 40);
        assert!(narrow.iter().any(|(i, _)| *i == 0), "the name always stays");
        assert!(narrow.iter().all(|(i, _)| *i != 7), "the internal flag goes first");
        let total: u16 = narrow.iter().map(|(_, w)| w + 1).sum::<u16>() - 1;
        assert!(total <= 40);

        let p = layout_columns(&partition_columns, &[], 76);
        assert_eq!(
            p.len(),
            partition_columns.len(),
            "all partition columns fit in 80 columns"
        );
    }
}
