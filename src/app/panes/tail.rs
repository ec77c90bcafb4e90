//! The Tail pane's model: the live records of one topic (all partitions) or one partition,
//! as the worker's tail session hands them over in batches.
//!
//! Records go into a bounded [`TailBuffer`] (a ring that counts what it evicts); the pane
//! keeps the selection, follow mode (the view sticks to the newest record until the user
//! scrolls up), whether the session is paused, the value view, the filter, the rate of
//! records per second over the last seconds, and how many records scrolled past between two
//! frames without ever being drawn. No ratatui here: `ui::panes::tail` draws it.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::app::action::TailId;
use crate::cluster::record_view::{default_view, Record, ValueView};
use crate::cluster::tail::{PartitionStart, StartAt, TailItem, TailNotice, TailTarget};
use crate::cluster::tail_buffer::{RecordFilter, TailBuffer, TailCounts};

/// Records the pane keeps at most, and their bytes: what one screen can scroll back through
/// without a fast topic eating memory.
pub const RING_RECORDS: usize = 10_000;
pub const RING_BYTES: usize = 64 << 20;

/// How values are shown: per record (pretty JSON for JSON documents, hex for binary, else
/// text), or one view for all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewMode {
    #[default]
    Auto,
    Fixed(ValueView),
}

impl ViewMode {
    /// Auto, text, JSON, hex, and around.
    pub fn next(self) -> ViewMode {
        match self {
            ViewMode::Auto => ViewMode::Fixed(ValueView::Text),
            ViewMode::Fixed(ValueView::Text) => ViewMode::Fixed(ValueView::Json),
            ViewMode::Fixed(ValueView::Json) => ViewMode::Fixed(ValueView::Hex),
            ViewMode::Fixed(ValueView::Hex) => ViewMode::Auto,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ViewMode::Auto => "auto",
            ViewMode::Fixed(v) => v.label(),
        }
    }

    /// The view of one value.
    pub fn for_value(self, value: &[u8]) -> ValueView {
        match self {
            ViewMode::Auto => default_view(value),
            ViewMode::Fixed(v) => v,
        }
    }
}

/// Where the session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailStatus {
    /// Asked for; no answer from the session yet.
    Starting,
    Reading,
    /// The session ended with this error.
    Failed(String),
}

/// Records per second over a sliding window of (time, records received) samples.
#[derive(Clone, Debug, Default)]
struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

/// The rate is measured over this much time.
const RATE_WINDOW: Duration = Duration::from_secs(3);

impl RateMeter {
    fn sample(&mut self, now: Instant, received: u64) {
        if self.samples.back().is_some_and(|(t, _)| *t == now) {
            self.samples.pop_back();
        }
        self.samples.push_back((now, received));
        // Keep one sample at or before the window's start, so the window is fully covered.
        while self.samples.len() > 2 && self.samples[1].0 + RATE_WINDOW <= now {
            self.samples.pop_front();
        }
    }

    fn per_second(&self, now: Instant) -> f64 {
        let (Some((t0, n0)), Some((_, n1))) = (self.samples.front(), self.samples.back()) else {
            return 0.0;
        };
        let span = now.saturating_duration_since(*t0).min(RATE_WINDOW * 2).as_secs_f64();
        if span < 0.2 {
            return 0.0;
        }
        (n1 - n0) as f64 / span
    }
}

/// The tail of one topic or partition.
#[derive(Debug)]
pub struct TailPane {
    pub session: TailId,
    pub target: TailTarget,
    /// Where reading (re)started last.
    pub start: StartAt,
    pub buffer: TailBuffer,
    pub status: TailStatus,
    /// Index of the selected record among those the filter shows.
    pub selected: usize,
    /// First row on screen.
    pub offset: usize,
    /// Sticks to the newest record.
    pub follow: bool,
    pub paused: bool,
    pub view: ViewMode,
    /// Where each partition started, from the session.
    pub partitions: Vec<PartitionStart>,
    /// Partitions that reached their end and have had nothing new since.
    pub at_end: BTreeSet<i32>,
    /// The last error the session survived, or why the filter was refused.
    pub error: Option<String>,
    /// The filter as typed ("" when none).
    pub filter_text: String,
    /// Records the filter showed that scrolled past between two frames without being drawn.
    pub skipped: u64,
    /// Records the filter showed since the pane opened, and that count at the last frame.
    shown_total: u64,
    shown_at_last_frame: u64,
    rate: RateMeter,
}

impl TailPane {
    pub fn new(session: TailId, target: TailTarget, start: StartAt, now: Instant) -> TailPane {
        Self::with_capacity(session, target, start, now, RING_RECORDS, RING_BYTES)
    }

    pub fn with_capacity(
        session: TailId,
        target: TailTarget,
        start: StartAt,
        now: Instant,
        records: usize,
        bytes: usize,
    ) -> TailPane {
        let mut rate = RateMeter::default();
        rate.sample(now, 0);
        TailPane {
            session,
            target,
            start,
            buffer: TailBuffer::new(records, bytes),
            status: TailStatus::Starting,
            selected: 0,
            offset: 0,
            follow: true,
            paused: false,
            view: ViewMode::Auto,
            partitions: Vec::new(),
            at_end: BTreeSet::new(),
            error: None,
            filter_text: String::new(),
            skipped: 0,
            shown_total: 0,
            shown_at_last_frame: 0,
            rate,
        }
    }

    /// Takes a batch of the session's records and notices, in order.
    pub fn apply(&mut self, items: Vec<TailItem>, now: Instant) {
        for item in items {
            match item {
                TailItem::Record(r) => self.push(r),
                TailItem::Notice(n) => self.notice(n),
            }
        }
        self.rate.sample(now, self.buffer.counts().received);
        if self.follow {
            self.selected = self.buffer.len().saturating_sub(1);
        }
    }

    fn push(&mut self, r: Record) {
        self.at_end.remove(&r.partition);
        let before = self.buffer.len();
        let shown = self.buffer.push(r);
        if shown {
            self.shown_total += 1;
        }
        // Shown records the ring evicted: the selection moves with the record it is on.
        let evicted = (before + usize::from(shown)).saturating_sub(self.buffer.len());
        if evicted > 0 {
            self.selected = self.selected.saturating_sub(evicted);
            self.offset = self.offset.saturating_sub(evicted);
        }
    }

    fn notice(&mut self, n: TailNotice) {
        match n {
            TailNotice::Started { at, partitions } => {
                // Reading (re)started: what was read from the old position goes.
                self.buffer.clear();
                self.selected = 0;
                self.offset = 0;
                self.start = at;
                self.at_end = partitions
                    .iter()
                    .filter(|p| p.offset >= p.high_watermark)
                    .map(|p| p.partition)
                    .collect();
                self.partitions = partitions;
                self.status = TailStatus::Reading;
                self.error = None;
            }
            TailNotice::Eof { partition, .. } => {
                self.at_end.insert(partition);
            }
            TailNotice::Paused => self.paused = true,
            TailNotice::Resumed => self.paused = false,
            TailNotice::Error(e) => self.error = Some(e),
            TailNotice::Failed(e) => self.status = TailStatus::Failed(e),
        }
    }

    pub fn counts(&self) -> TailCounts {
        self.buffer.counts()
    }

    /// Records per second, over the last seconds.
    pub fn rate(&self, now: Instant) -> f64 {
        self.rate.per_second(now)
    }

    /// Every partition read is at its end: what is shown is all there is (for now).
    pub fn caught_up(&self) -> bool {
        !self.partitions.is_empty() && self.partitions.iter().all(|p| self.at_end.contains(&p.partition))
    }

    pub fn selected_record(&self) -> Option<&Record> {
        self.buffer.get(self.selected)
    }

    /// Moves the selection; moving up stops following, reaching the newest record does not
    /// start it again (End does).
    pub fn move_by(&mut self, delta: isize) {
        let len = self.buffer.len();
        if len == 0 {
            self.selected = 0;
            return;
        }
        if delta < 0 {
            self.follow = false;
        }
        self.selected = (self.selected as isize + delta).clamp(0, len as isize - 1) as usize;
    }

    /// The oldest record held; stops following.
    pub fn home(&mut self) {
        self.follow = false;
        self.selected = 0;
    }

    /// The newest record, following from now on.
    pub fn follow_newest(&mut self) {
        self.follow = true;
        self.selected = self.buffer.len().saturating_sub(1);
    }

    /// Space: what to ask the session (the pane's flag changes when the session says so).
    pub fn pause_order(&self) -> crate::cluster::tail::TailControl {
        use crate::cluster::tail::TailControl;
        if self.paused {
            TailControl::Resume
        } else {
            TailControl::Pause
        }
    }

    pub fn cycle_view(&mut self) {
        self.view = self.view.next();
    }

    /// Sets the filter from what was typed ("" clears it). A regex that does not compile
    /// leaves the previous filter and says why.
    pub fn set_filter(&mut self, text: &str) {
        if text.is_empty() {
            self.buffer.set_filter(None);
            self.filter_text.clear();
            self.error = None;
        } else {
            match RecordFilter::parse(text) {
                Ok(f) => {
                    self.buffer.set_filter(Some(f));
                    self.filter_text = text.to_string();
                    self.error = None;
                }
                Err(e) => {
                    self.error = Some(format!("filter '{text}': {e}"));
                    return;
                }
            }
        }
        let len = self.buffer.len();
        self.selected = if self.follow {
            len.saturating_sub(1)
        } else {
            self.selected.min(len.saturating_sub(1))
        };
        self.offset = self.offset.min(len.saturating_sub(1));
    }

    /// The rows on screen for a body of `height` rows: (first row, selected row). Following,
    /// the last page; else the selection kept in view.
    pub fn window(&self, height: usize) -> (usize, Option<usize>) {
        let len = self.buffer.len();
        if len == 0 || height == 0 {
            return (0, None);
        }
        let selected = self.selected.min(len - 1);
        let offset = if self.follow {
            len.saturating_sub(height)
        } else if selected < self.offset {
            selected
        } else if selected >= self.offset + height {
            selected + 1 - height
        } else {
            self.offset.min(len - 1)
        };
        (offset, Some(selected))
    }

    /// A frame of `height` rows is being drawn: keeps the scroll position, and counts the
    /// records that arrived since the last frame and scrolled past unseen while following.
    pub fn frame(&mut self, height: usize) {
        self.offset = self.window(height).0;
        let new = self.shown_total - self.shown_at_last_frame;
        if self.follow && new > height as u64 {
            self.skipped += new - height as u64;
        }
        self.shown_at_last_frame = self.shown_total;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::record_view::{Header, TimestampType};

    fn rec(partition: i32, offset: i64, value: &str) -> TailItem {
        TailItem::Record(Record {
            topic: Arc::from("t"),
            partition,
            offset,
            timestamp: Some(1_700_000_000_000 + offset),
            timestamp_type: TimestampType::CreateTime,
            key: Some(format!("k{offset}").into_bytes()),
            value: Some(value.as_bytes().to_vec()),
            headers: vec![Header {
                key: "h".into(),
                value: Some(b"v".to_vec()),
            }],
        })
    }

    fn records(from: i64, to: i64) -> Vec<TailItem> {
        (from..to).map(|o| rec(0, o, &format!("value {o}"))).collect()
    }

    fn pane(now: Instant) -> TailPane {
        let target = TailTarget {
            topic: "t".into(),
            partition: None,
        };
        TailPane::with_capacity(1, target, StartAt::Latest, now, 100, usize::MAX)
    }

    fn offsets(p: &TailPane) -> Vec<i64> {
        p.buffer.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn follows_the_newest_record_until_scrolled_up_and_end_follows_again() {
        let t0 = Instant::now();
        let mut p = pane(t0);
        p.apply(records(0, 10), t0);
        assert!(p.follow);
        assert_eq!(p.selected_record().map(|r| r.offset), Some(9));
        assert_eq!(p.window(4), (6, Some(9)), "the last page");
        p.move_by(-2);
        assert!(!p.follow, "scrolling up stops following");
        assert_eq!(p.selected, 7);
        p.frame(4);
        p.apply(records(10, 20), t0);
        assert_eq!(
            p.selected_record().map(|r| r.offset),
            Some(7),
            "new records do not move a selection that is not following"
        );
        // Moving down to the newest record does not start following by itself.
        p.move_by(100);
        assert_eq!(p.selected, 19);
        assert!(!p.follow);
        p.home();
        assert_eq!((p.selected, p.follow), (0, false));
        p.follow_newest();
        p.apply(records(20, 21), t0);
        assert_eq!(p.selected_record().map(|r| r.offset), Some(20));
    }

    #[test]
    fn the_selection_stays_on_its_record_while_the_ring_evicts_older_ones() {
        let t0 = Instant::now();
        let mut p = pane(t0);
        p.apply(records(0, 100), t0);
        p.move_by(-50);
        assert_eq!(p.selected_record().map(|r| r.offset), Some(49));
        p.apply(records(100, 130), t0);
        assert_eq!(p.counts().dropped, 30);
        assert_eq!(p.selected_record().map(|r| r.offset), Some(49));
        // The selected record itself evicted: the oldest one held is selected.
        p.apply(records(130, 200), t0);
        assert_eq!(p.selected_record().map(|r| r.offset), Some(100));
        assert_eq!(p.counts().held, 100);
    }

    #[test]
    fn pause_and_resume_follow_the_session_and_a_restart_clears_the_buffer() {
        let t0 = Instant::now();
        let mut p = pane(t0);
        assert_eq!(p.status, TailStatus::Starting);
        p.apply(
            vec![TailItem::Notice(TailNotice::Started {
                at: StartAt::Latest,
                partitions: vec![PartitionStart {
                    partition: 0,
                    offset: 5,
                    log_start: 0,
                    high_watermark: 5,
                }],
            })],
            t0,
        );
        assert_eq!(p.status, TailStatus::Reading);
        assert!(p.caught_up());
        p.apply(records(5, 8), t0);
        assert!(!p.caught_up(), "a record arrived after the end");
        assert_eq!(p.pause_order(), crate::cluster::tail::TailControl::Pause);
        p.apply(vec![TailItem::Notice(TailNotice::Paused)], t0);
        assert!(p.paused);
        assert_eq!(p.pause_order(), crate::cluster::tail::TailControl::Resume);
        p.apply(vec![TailItem::Notice(TailNotice::Resumed)], t0);
        assert!(!p.paused);
        // A seek: records from the old position go, counts of what passed stay.
        p.apply(
            vec![TailItem::Notice(TailNotice::Started {
                at: StartAt::Earliest,
                partitions: vec![],
            })],
            t0,
        );
        assert!(p.buffer.is_empty());
        assert_eq!(p.start, StartAt::Earliest);
        assert_eq!(p.counts().received, 3);
        p.apply(vec![TailItem::Notice(TailNotice::Failed("gone".into()))], t0);
        assert_eq!(p.status, TailStatus::Failed("gone".into()));
    }

    #[test]
    fn filter_shows_matches_with_counts_and_a_bad_regex_keeps_the_old_filter() {
        let t0 = Instant::now();
        let mut p = pane(t0);
        let mut items = records(0, 10);
        items.push(rec(1, 0, "{\"level\":\"error\"}"));
        p.apply(items, t0);
        p.set_filter("value:/[02468]$/");
        assert_eq!(offsets(&p), [0, 2, 4, 6, 8]);
        let c = p.counts();
        assert_eq!((c.scanned, c.matched), (11, 5));
        assert_eq!(p.selected, 4, "following: the newest match");
        p.set_filter("/(/");
        assert!(p.error.as_deref().unwrap().starts_with("filter '/(/'"), "{:?}", p.error);
        assert_eq!(p.filter_text, "value:/[02468]$/", "the old filter stays");
        assert_eq!(p.buffer.len(), 5);
        p.set_filter("error");
        assert_eq!(p.buffer.len(), 1);
        assert!(p.error.is_none());
        p.apply(vec![rec(1, 1, "another error")], t0);
        assert_eq!(p.counts().matched, 2);
        p.set_filter("");
        assert_eq!(p.buffer.len(), 12);
        assert_eq!(p.filter_text, "");
    }

    #[test]
    fn value_view_cycles_auto_text_json_hex() {
        let t0 = Instant::now();
        let mut p = pane(t0);
        assert_eq!(p.view, ViewMode::Auto);
        assert_eq!(p.view.for_value(b"{\"a\":1}"), ValueView::Json);
        assert_eq!(p.view.for_value(b"\x00\x01\xff"), ValueView::Hex);
        let mut seen = Vec::new();
        for _ in 0..4 {
            p.cycle_view();
            seen.push(p.view.label());
        }
        assert_eq!(seen, ["text", "json", "hex", "auto"]);
        assert_eq!(
            ViewMode::Fixed(ValueView::Text).for_value(b"{\"a\":1}"),
            ValueView::Text
        );
    }

    #[test]
    fn rate_counts_records_per_second_and_frames_count_what_scrolled_past_unseen() {
        let t0 = Instant::now();
        let mut p = pane(t0);
        for i in 0..4 {
            p.apply(records(i * 50, i * 50 + 50), t0 + Duration::from_secs(i as u64 + 1));
        }
        let rate = p.rate(t0 + Duration::from_secs(4));
        assert!((rate - 50.0).abs() < 1.0, "{rate}");
        // 200 shown since the last frame, 10 rows drawn: 190 never were.
        p.frame(10);
        assert_eq!(p.skipped, 190);
        p.apply(records(200, 205), t0);
        p.frame(10);
        assert_eq!(p.skipped, 190, "5 new records fit on the screen");
        // Not following: new records wait below the screen, none is skipped.
        p.move_by(-1);
        p.apply(records(205, 300), t0);
        p.frame(10);
        assert_eq!(p.skipped, 190);
    }
}
