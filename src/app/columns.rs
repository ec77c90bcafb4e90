//! The column model: a column is defined once, as a [`Column`] of some row type (its JSON key,
//! title, width hints, alignment, sort order, cell text with a [`Tone`], and JSON value), and
//! that one definition drives the pane's sorting and its table on screen, and the headless
//! commands' text table and `--json` output.
//!
//! A [`Table`] holds a pane's rows (derived from the cluster data when it changes, never while
//! drawing) with its [`TableView`]: selection, scroll, sort and filter, and the visible order
//! computed from them. Sorting and filtering happen here when data, sort or filter change, so a
//! frame of a 10,000-row table only reads `TableView::order`.
//!
//! Nothing here knows about the terminal: tones are meanings (ok, warn, error, muted) that the
//! UI's theme maps to styles, and widths are plain numbers.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

/// What a cell means, for the theme to colour: never a hue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tone {
    #[default]
    Plain,
    Ok,
    Warn,
    Error,
    /// Secondary: zero counts, unknown values, inherited settings.
    Muted,
    /// Set on the resource itself rather than inherited (a topic's config override).
    Override,
}

/// One cell's text and meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            tone: Tone::Plain,
        }
    }

    pub fn toned(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone,
        }
    }

    /// "-": the cluster did not say (yet).
    pub fn unknown() -> Cell {
        Cell::toned("-", Tone::Muted)
    }

    /// A count, muted when zero.
    pub fn count(n: usize) -> Cell {
        Cell::toned(n.to_string(), if n == 0 { Tone::Muted } else { Tone::Plain })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers.
    Right,
}

/// How a column is laid out in a table; the same for every row type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Shown when the column is wide enough.
    pub title: &'static str,
    /// Shown otherwise (may equal `title`).
    pub short: &'static str,
    /// Narrowest useful width; below it the column is dropped rather than shown unreadable.
    pub min: u16,
    /// Width beyond which extra space is better given to other columns.
    pub max: u16,
    pub align: Align,
    /// 0 is never dropped; higher numbers are dropped first when the terminal is narrow and
    /// are the last to receive spare width.
    pub priority: u8,
    /// Grows to its `max` once every column has what its content needs.
    pub fill: bool,
}

impl Layout {
    pub const fn new(
        title: &'static str,
        short: &'static str,
        min: u16,
        max: u16,
        align: Align,
        priority: u8,
    ) -> Layout {
        Layout {
            title,
            short,
            min,
            max,
            align,
            priority,
            fill: false,
        }
    }

    /// A left-aligned column that takes spare width (names, values).
    pub const fn fill(title: &'static str, min: u16, max: u16, priority: u8) -> Layout {
        Layout {
            title,
            short: title,
            min,
            max,
            align: Align::Left,
            priority,
            fill: true,
        }
    }

    /// Right-aligned: a number.
    pub fn numeric(&self) -> bool {
        self.align == Align::Right
    }
}

/// One column of a row type `R`, defined once for the pane and the headless commands.
pub struct Column<R> {
    /// The field name in `--json` output (snake_case); stable for scripts.
    pub key: &'static str,
    pub layout: Layout,
    /// Shown in tables (the pane's and the headless text table); false: `--json` only. Table
    /// columns come first in a column list.
    pub in_table: bool,
    /// The column's natural (ascending) order.
    pub sort: fn(&R, &R) -> Ordering,
    pub cell: fn(&R) -> Cell,
    pub json: fn(&R) -> Value,
}

/// A row of some pane: what the table needs beyond its columns.
pub trait Row {
    /// The row's identity across refreshes (a topic's name, a partition's id), so the
    /// selection follows the item when rows are inserted or removed before it.
    fn key(&self) -> Cow<'_, str>;
    /// Whether the filter matches; `needle` is lowercase and not empty.
    fn matches(&self, needle: &str) -> bool;
    /// Rows with a lower rank come first whatever the sort (config overrides before the rest).
    fn rank(&self) -> u8 {
        0
    }
    /// A tone for the whole row (a broker that is down is muted).
    fn tone(&self) -> Tone {
        Tone::Plain
    }
}

/// Scroll, selection, sort and filter of one table, and the visible order they give:
/// `order` holds indices into the table's rows in display order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableView {
    pub selected: usize,
    pub offset: usize,
    pub sort_column: usize,
    pub descending: bool,
    pub filter: String,
    pub order: Vec<usize>,
}

impl TableView {
    /// The row index (into the table's rows) of the selection.
    pub fn selected_row(&self) -> Option<usize> {
        self.order.get(self.selected).copied()
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.order.is_empty() {
            self.selected = 0;
            return;
        }
        let max = self.order.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, max) as usize;
    }

    pub fn home(&mut self) {
        self.selected = 0;
    }

    pub fn end(&mut self) {
        self.selected = self.order.len().saturating_sub(1);
    }

    /// Keeps the selection on screen for a viewport of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        if height == 0 {
            return;
        }
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
    }

    /// The first visible row and the selection within the window, for a body `height` rows
    /// tall: the stored offset, moved just enough to show the selection, and pulled back so a
    /// shrunk list still fills the screen.
    pub fn window(&self, height: usize) -> (usize, Option<usize>) {
        let len = self.order.len();
        if len == 0 || height == 0 {
            return (0, None);
        }
        let selected = self.selected.min(len - 1);
        let mut offset = self.offset.min(len - 1);
        if selected < offset {
            offset = selected;
        } else if selected >= offset + height {
            offset = selected + 1 - height;
        }
        offset = offset.min(len.saturating_sub(height));
        (offset, Some(selected - offset))
    }

    /// Puts the selection on `found` or clamps it, and keeps the scroll offset from pointing
    /// past the selection.
    fn reselect(&mut self, found: Option<usize>) {
        match found {
            Some(i) => self.selected = i,
            None => self.selected = self.selected.min(self.order.len().saturating_sub(1)),
        }
        self.offset = self.offset.min(self.selected);
    }
}

/// A pane's rows with their columns and view.
pub struct Table<R: 'static> {
    pub columns: &'static [Column<R>],
    pub rows: Vec<R>,
    pub view: TableView,
}

impl<R: Row + 'static> Table<R> {
    pub fn new(columns: &'static [Column<R>]) -> Table<R> {
        Table {
            columns,
            rows: Vec::new(),
            view: TableView::default(),
        }
    }

    /// Columns shown in tables.
    pub fn table_columns(&self) -> &'static [Column<R>] {
        table_columns(self.columns)
    }

    /// Replaces the rows after the data changed; the selection stays on the same item (by
    /// key) when it is still there, else it is clamped.
    pub fn set_rows(&mut self, rows: Vec<R>) {
        let key = self.selected().map(|r| r.key().into_owned());
        self.rows = rows;
        self.view.order = self.compute_order();
        let found = key.and_then(|k| self.view.order.iter().position(|i| self.rows[*i].key() == k.as_str()));
        self.view.reselect(found);
    }

    /// Recomputes the order after a sort or filter change; the selection stays on the same
    /// row when it is still shown, else it is clamped.
    pub fn resort(&mut self) {
        let keep = self.view.selected_row();
        self.view.order = self.compute_order();
        let found = keep.and_then(|src| self.view.order.iter().position(|r| *r == src));
        self.view.reselect(found);
    }

    pub fn selected(&self) -> Option<&R> {
        self.view.selected_row().and_then(|i| self.rows.get(i))
    }

    /// Rows in display order.
    pub fn visible_rows(&self) -> impl Iterator<Item = &R> {
        self.view.order.iter().filter_map(|i| self.rows.get(*i))
    }

    /// Filters and sorts the row indices as the view asks: by rank, then the chosen column
    /// (reversed when descending), ties broken by the first column, always ascending, so equal
    /// rows keep a predictable order in both directions.
    fn compute_order(&self) -> Vec<usize> {
        let needle = self.view.filter.to_lowercase();
        let mut order: Vec<usize> = (0..self.rows.len())
            .filter(|i| needle.is_empty() || self.rows[*i].matches(&needle))
            .collect();
        let cols = self.table_columns();
        let Some(first) = cols.first() else { return order };
        let col = cols.get(self.view.sort_column).unwrap_or(first);
        let desc = self.view.descending;
        let rows = &self.rows;
        order.sort_by(|a, b| {
            let (x, y) = (&rows[*a], &rows[*b]);
            let o = (col.sort)(x, y);
            let o = if desc { o.reverse() } else { o };
            x.rank().cmp(&y.rank()).then(o).then_with(|| (first.sort)(x, y))
        });
        order
    }
}

/// The table columns of a column list (they come first).
pub fn table_columns<R>(columns: &'static [Column<R>]) -> &'static [Column<R>] {
    let n = columns.iter().take_while(|c| c.in_table).count();
    &columns[..n]
}

/// What the UI's table widget needs of any table, whatever its row type.
pub trait TableModel {
    fn view(&self) -> &TableView;
    fn view_mut(&mut self) -> &mut TableView;
    /// Layouts of the table columns, in display order.
    fn layouts(&self) -> Vec<Layout>;
    /// Rows before filtering.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Cells of row `src` (an entry of `view().order`) and the row's tone.
    fn cells(&self, src: usize) -> (Vec<Cell>, Tone);
    /// Re-sorts and re-filters after the view's sort or filter changed.
    fn resort(&mut self);
}

impl<R: Row + 'static> TableModel for Table<R> {
    fn view(&self) -> &TableView {
        &self.view
    }

    fn view_mut(&mut self) -> &mut TableView {
        &mut self.view
    }

    fn layouts(&self) -> Vec<Layout> {
        self.table_columns().iter().map(|c| c.layout).collect()
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cells(&self, src: usize) -> (Vec<Cell>, Tone) {
        match self.rows.get(src) {
            Some(r) => (self.table_columns().iter().map(|c| (c.cell)(r)).collect(), r.tone()),
            None => (Vec::new(), Tone::Plain),
        }
    }

    fn resort(&mut self) {
        Table::resort(self)
    }
}

/// The rows as a plain-text table for the headless commands: the table columns' titles and
/// cell texts, numbers right-aligned, columns two spaces apart, nothing truncated.
pub fn text_table<'a, R: 'a>(columns: &'static [Column<R>], rows: impl IntoIterator<Item = &'a R>) -> String {
    let cols = table_columns(columns);
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| cols.iter().map(|c| (c.cell)(r).text).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].width())
                .chain([c.layout.title.width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |texts: Vec<&str>| {
        let mut out = String::new();
        for (i, (text, c)) in texts.iter().zip(cols).enumerate() {
            let pad = widths[i].saturating_sub(text.width());
            let last = i + 1 == cols.len();
            if c.layout.numeric() {
                out.push_str(&" ".repeat(pad));
                out.push_str(text);
            } else {
                out.push_str(text);
                if !last {
                    out.push_str(&" ".repeat(pad));
                }
            }
            if !last {
                out.push_str("  ");
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(cols.iter().map(|c| c.layout.title).collect());
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// The rows as a JSON array of objects, one field per column (table and JSON-only), in column
/// order.
pub fn json_rows<'a, R: 'a>(columns: &'static [Column<R>], rows: impl IntoIterator<Item = &'a R>) -> Value {
    Value::Array(
        rows.into_iter()
            .map(|r| {
                let mut m = Map::new();
                for c in columns {
                    m.insert(c.key.to_string(), (c.json)(r));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// A JSON number or null.
pub fn json_opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// Case-insensitive substring test; `needle` must already be lowercase. ASCII names (all
/// Kafka topic names) are compared without allocating.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct Item {
        name: &'static str,
        n: i64,
        pinned: bool,
    }

    impl Row for Item {
        fn key(&self) -> Cow<'_, str> {
            Cow::Borrowed(self.name)
        }
        fn matches(&self, needle: &str) -> bool {
            contains_ci(self.name, needle)
        }
        fn rank(&self) -> u8 {
            u8::from(!self.pinned)
        }
    }

    static COLUMNS: [Column<Item>; 3] = [
        Column {
            key: "name",
            layout: Layout::fill("Name", 4, 20, 0),
            in_table: true,
            sort: |a, b| a.name.cmp(b.name),
            cell: |r| Cell::plain(r.name),
            json: |r| r.name.into(),
        },
        Column {
            key: "count",
            layout: Layout::new("Count", "N", 3, 8, Align::Right, 1),
            in_table: true,
            sort: |a, b| a.n.cmp(&b.n),
            cell: |r| Cell::plain(r.n.to_string()),
            json: |r| r.n.into(),
        },
        Column {
            key: "pinned",
            layout: Layout::new("Pinned", "P", 1, 6, Align::Left, 2),
            in_table: false,
            sort: |a, b| a.pinned.cmp(&b.pinned),
            cell: |r| Cell::plain(r.pinned.to_string()),
            json: |r| r.pinned.into(),
        },
    ];

    fn item(name: &'static str, n: i64) -> Item {
        Item { name, n, pinned: false }
    }

    fn names(t: &Table<Item>) -> Vec<&'static str> {
        t.visible_rows().map(|r| r.name).collect()
    }

    #[test]
    fn sort_by_any_table_column_in_both_directions_with_ascending_ties_by_the_first() {
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![item("c", 1), item("a", 2), item("b", 1)]);
        assert_eq!(names(&t), ["a", "b", "c"]);
        t.view.sort_column = 1;
        t.resort();
        assert_eq!(names(&t), ["b", "c", "a"]);
        t.view.descending = true;
        t.resort();
        assert_eq!(names(&t), ["a", "b", "c"], "ties stay ascending when reversed");
        // Only table columns sort; an index past them falls back to the first column.
        assert_eq!(t.table_columns().len(), 2);
        t.view.sort_column = 2;
        t.view.descending = false;
        t.resort();
        assert_eq!(names(&t), ["a", "b", "c"]);
    }

    #[test]
    fn rank_comes_before_the_sort_and_filter_keeps_the_selected_item() {
        let mut t = Table::new(&COLUMNS);
        let mut z = item("zeta", 5);
        z.pinned = true;
        t.set_rows(vec![item("alpha", 1), z, item("Alpine", 3)]);
        assert_eq!(names(&t), ["zeta", "Alpine", "alpha"]);
        t.view.selected = 2; // alpha
        t.view.filter = "ALP".into();
        t.resort();
        assert_eq!(names(&t), ["Alpine", "alpha"]);
        assert_eq!(t.selected().map(|r| r.name), Some("alpha"));
        t.view.filter = "nothing".into();
        t.resort();
        assert_eq!(t.view.selected_row(), None);
    }

    #[test]
    fn new_rows_keep_the_selection_on_the_same_item_or_clamp_it() {
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![item("b", 0), item("c", 0)]);
        t.view.selected = 1;
        t.set_rows(vec![item("a", 0), item("b", 0), item("c", 0)]);
        assert_eq!(t.selected().map(|r| r.name), Some("c"));
        t.view.offset = 2;
        t.set_rows(vec![item("x", 0)]);
        assert_eq!((t.view.selected, t.view.offset), (0, 0));
    }

    #[test]
    fn text_table_aligns_numbers_right_and_skips_json_only_columns() {
        let rows = vec![item("orders", 12), item("a", 3)];
        assert_eq!(
            text_table(&COLUMNS, &rows),
            "Name    Count\norders     12\na           3\n"
        );
    }

    #[test]
    fn json_has_every_column_by_key_in_order() {
        let rows = vec![item("orders", 12)];
        assert_eq!(
            serde_json::to_string(&json_rows(&COLUMNS, &rows)).unwrap(),
            r#"[{"name":"orders","count":12,"pinned":false}]"#
        );
        assert_eq!(json_opt::<i64>(None), Value::Null);
    }

    #[test]
    fn window_follows_the_selection_without_leaving_blank_rows() {
        let mut v = TableView {
            order: (0..100).collect(),
            ..TableView::default()
        };
        assert_eq!(v.window(10), (0, Some(0)));
        v.selected = 25;
        assert_eq!(v.window(10), (16, Some(9)));
        v.offset = 95;
        v.selected = 99;
        assert_eq!(v.window(10), (90, Some(9)));
        v.order.truncate(5);
        assert_eq!(v.window(10), (0, Some(4)));
        assert_eq!(TableView::default().window(10), (0, None));
    }

    #[test]
    fn case_insensitive_match_without_allocating_for_ascii() {
        assert!(contains_ci("Orders-DLQ", "dlq"));
        assert!(!contains_ci("orders", "x"));
        assert!(contains_ci("Ünïcode", "ünï"));
    }
}
