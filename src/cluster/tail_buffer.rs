//! The tail's memory: a ring of the latest records, bounded in count and bytes, with O(1)
//! push, and a filter (substring or regex on key, value or headers) whose matches are indexed
//! so a filtered view is O(1) per row, with counts of records scanned, shown and dropped.
//!
//! Pure: no rdkafka, no ratatui, no I/O. The tail session pushes [`Record`]s; the pane reads
//! rows by index.

use std::collections::VecDeque;

use regex::bytes::{Regex, RegexBuilder};
use thiserror::Error;

use super::record_view::Record;

/// Compiled regexes are capped so a pathological pattern is refused rather than eating memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Which parts of a record a filter looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterField {
    Key,
    Value,
    /// Header names and values.
    Headers,
    Any,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("empty filter")]
    Empty,
    #[error("invalid regex: {0}")]
    Regex(String),
}

/// A record filter. Text input (the `/` prompt, `strom tail --grep`) reads as:
/// `text` (substring), `/regex/`, either one prefixed by `key:`, `value:` or `header:` to look
/// at that field only (else key, value and headers). Smart case: case-insensitive unless the
/// pattern has an upper-case letter. A substring matches the raw bytes, so it finds text in
/// binary values too.
#[derive(Clone, Debug)]
pub struct RecordFilter {
    field: FilterField,
    regex: Regex,
    source: String,
}

impl RecordFilter {
    pub fn parse(input: &str) -> Result<RecordFilter, FilterError> {
        let (field, rest) = if let Some(r) = input.strip_prefix("key:") {
            (FilterField::Key, r)
        } else if let Some(r) = input.strip_prefix("value:") {
            (FilterField::Value, r)
        } else if let Some(r) = input.strip_prefix("header:").or_else(|| input.strip_prefix("headers:")) {
            (FilterField::Headers, r)
        } else {
            (FilterField::Any, input)
        };
        match rest.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
            Some(re) if rest.len() >= 2 => Self::regex(re, field),
            _ => Self::substring(rest, field),
        }
    }

    pub fn substring(text: &str, field: FilterField) -> Result<RecordFilter, FilterError> {
        Self::build(&regex::escape(text), text, field)
    }

    pub fn regex(pattern: &str, field: FilterField) -> Result<RecordFilter, FilterError> {
        Self::build(pattern, pattern, field)
    }

    fn build(pattern: &str, typed: &str, field: FilterField) -> Result<RecordFilter, FilterError> {
        if typed.is_empty() {
            return Err(FilterError::Empty);
        }
        let regex = RegexBuilder::new(pattern)
            .case_insensitive(!typed.chars().any(char::is_uppercase))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| FilterError::Regex(e.to_string()))?;
        Ok(RecordFilter {
            field,
            regex,
            source: typed.to_string(),
        })
    }

    pub fn field(&self) -> FilterField {
        self.field
    }

    /// The pattern as typed (without the field prefix and slashes).
    pub fn pattern(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, r: &Record) -> bool {
        let key = || r.key.as_deref().is_some_and(|k| self.regex.is_match(k));
        let value = || r.value.as_deref().is_some_and(|v| self.regex.is_match(v));
        let headers = || {
            r.headers.iter().any(|h| {
                self.regex.is_match(h.key.as_bytes()) || h.value.as_deref().is_some_and(|v| self.regex.is_match(v))
            })
        };
        match self.field {
            FilterField::Key => key(),
            FilterField::Value => value(),
            FilterField::Headers => headers(),
            FilterField::Any => key() || value() || headers(),
        }
    }
}

/// What the tail has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TailCounts {
    /// Records pushed since the buffer was created.
    pub received: u64,
    /// Records the current filter has looked at (all of `received` when there is no filter).
    pub scanned: u64,
    /// Records the current filter matched among `scanned`.
    pub matched: u64,
    /// Records evicted to keep the ring within its bounds.
    pub dropped: u64,
    /// Records held now, and how many of them the filter shows.
    pub held: usize,
    pub shown: usize,
}

/// The last records of a tail, oldest first. Bounded by `capacity` records and `max_bytes`
/// (as [`Record::approx_bytes`] counts them); the newest record is always kept, even alone
/// above `max_bytes`.
#[derive(Debug)]
pub struct TailBuffer {
    records: VecDeque<Record>,
    /// Sequence number of `records[0]`.
    first_seq: u64,
    /// Sequence numbers of the held records the filter matches, ascending.
    matches: VecDeque<u64>,
    filter: Option<RecordFilter>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    counts: TailCounts,
}

impl TailBuffer {
    pub fn new(capacity: usize, max_bytes: usize) -> TailBuffer {
        let capacity = capacity.max(1);
        TailBuffer {
            // Grown as records arrive, never past `capacity`.
            records: VecDeque::new(),
            first_seq: 0,
            matches: VecDeque::new(),
            filter: None,
            capacity,
            max_bytes,
            bytes: 0,
            counts: TailCounts::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn counts(&self) -> TailCounts {
        TailCounts {
            held: self.records.len(),
            shown: self.len(),
            ..self.counts
        }
    }

    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Adds the newest record, evicting the oldest ones beyond the bounds. Returns whether the
    /// filter shows it.
    pub fn push(&mut self, record: Record) -> bool {
        let size = record.approx_bytes();
        while !self.records.is_empty() && (self.records.len() >= self.capacity || self.bytes + size > self.max_bytes) {
            self.evict();
        }
        let seq = self.first_seq + self.records.len() as u64;
        let shown = self.filter.as_ref().is_none_or(|f| f.matches(&record));
        self.counts.received += 1;
        self.counts.scanned += 1;
        if shown {
            self.counts.matched += 1;
            if self.filter.is_some() {
                self.matches.push_back(seq);
            }
        }
        self.bytes += size;
        self.records.push_back(record);
        shown
    }

    fn evict(&mut self) {
        if let Some(old) = self.records.pop_front() {
            self.bytes -= old.approx_bytes();
            if self.matches.front() == Some(&self.first_seq) {
                self.matches.pop_front();
            }
            self.first_seq += 1;
            self.counts.dropped += 1;
        }
    }

    /// Sets or clears the filter and re-scans the held records with it: the counts start over
    /// from what is held.
    pub fn set_filter(&mut self, filter: Option<RecordFilter>) {
        self.matches.clear();
        self.counts.scanned = self.records.len() as u64;
        self.counts.matched = match &filter {
            None => self.records.len() as u64,
            Some(f) => {
                for (i, r) in self.records.iter().enumerate() {
                    if f.matches(r) {
                        self.matches.push_back(self.first_seq + i as u64);
                    }
                }
                self.matches.len() as u64
            }
        };
        self.filter = filter;
    }

    pub fn filter(&self) -> Option<&RecordFilter> {
        self.filter.as_ref()
    }

    /// Records the filter shows.
    pub fn len(&self) -> usize {
        match self.filter {
            None => self.records.len(),
            Some(_) => self.matches.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th shown record, oldest first.
    pub fn get(&self, i: usize) -> Option<&Record> {
        match self.filter {
            None => self.records.get(i),
            Some(_) => {
                let seq = *self.matches.get(i)?;
                self.records.get(usize::try_from(seq - self.first_seq).ok()?)
            }
        }
    }

    /// The shown records, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Record> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// Empties the ring (a seek): counts of received and dropped records stay.
    pub fn clear(&mut self) {
        self.first_seq += self.records.len() as u64;
        self.records.clear();
        self.matches.clear();
        self.bytes = 0;
        self.counts.scanned = 0;
        self.counts.matched = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::record_view::{Header, TimestampType};

    fn rec(offset: i64, key: &str, value: &[u8], headers: &[(&str, &[u8])]) -> Record {
        Record {
            topic: Arc::from("t"),
            partition: 0,
            offset,
            timestamp: Some(0),
            timestamp_type: TimestampType::CreateTime,
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.to_vec()),
            headers: headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.to_string(),
                    value: Some(v.to_vec()),
                })
                .collect(),
        }
    }

    #[test]
    fn filter_syntax() {
        let f = RecordFilter::parse("key:/^user-\\d+$/").unwrap();
        assert_eq!((f.field(), f.pattern()), (FilterField::Key, "^user-\\d+$"));
        assert!(f.matches(&rec(0, "user-42", b"", &[])));
        assert!(!f.matches(&rec(0, "user-42x", b"", &[])));
        assert!(!f.matches(&rec(0, "x", b"user-42", &[])));

        let f = RecordFilter::parse("value:a.b").unwrap();
        assert_eq!(f.field(), FilterField::Value);
        assert!(f.matches(&rec(0, "", b"xa.by", &[])));
        // A substring is literal: `.` is a dot.
        assert!(!f.matches(&rec(0, "", b"axb", &[])));

        let f = RecordFilter::parse("header:trace").unwrap();
        assert!(f.matches(&rec(0, "", b"", &[("trace-id", b"1")])));
        assert!(f.matches(&rec(0, "", b"", &[("h", b"TRACE")])));
        assert!(!f.matches(&rec(0, "trace", b"trace", &[])));

        let f = RecordFilter::parse("error").unwrap();
        assert_eq!(f.field(), FilterField::Any);
        assert!(f.matches(&rec(0, "ERROR", b"", &[])));
        assert!(f.matches(&rec(0, "", b"an Error here", &[])));
        assert!(f.matches(&rec(0, "", b"", &[("e", b"error")])));
        assert!(!f.matches(&rec(0, "", b"fine", &[])));

        // A lone slash is a substring, not an empty regex.
        assert!(RecordFilter::parse("/").unwrap().matches(&rec(0, "a/b", b"", &[])));
        assert_eq!(RecordFilter::parse("").unwrap_err(), FilterError::Empty);
        assert_eq!(RecordFilter::parse("key:").unwrap_err(), FilterError::Empty);
        assert!(matches!(RecordFilter::parse("/(/"), Err(FilterError::Regex(_))));
    }

    #[test]
    fn smart_case() {
        let lower = RecordFilter::parse("abc").unwrap();
        let upper = RecordFilter::parse("Abc").unwrap();
        let r = rec(0, "xABCx", b"", &[]);
        assert!(lower.matches(&r));
        assert!(!upper.matches(&r));
        assert!(upper.matches(&rec(0, "Abc", b"", &[])));
    }

    #[test]
    fn filters_match_binary_values_and_refuse_huge_regexes() {
        let f = RecordFilter::parse("value:/\\x00\\xff?/").unwrap();
        assert!(f.matches(&rec(0, "", b"\x01\x00\x02", &[])));
        assert!(RecordFilter::parse("needle")
            .unwrap()
            .matches(&rec(0, "", b"\xff\xfeneedle\x00", &[])));
        let huge = format!("/{}/", "a{1000}{1000}");
        assert!(matches!(RecordFilter::parse(&huge), Err(FilterError::Regex(_))));
    }

    #[test]
    fn ring_keeps_the_newest_and_counts_what_it_dropped() {
        let mut b = TailBuffer::new(3, usize::MAX);
        for i in 0..5 {
            b.push(rec(i, "k", b"v", &[]));
        }
        let offsets: Vec<i64> = b.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [2, 3, 4]);
        assert_eq!(
            b.counts(),
            TailCounts {
                received: 5,
                scanned: 5,
                matched: 5,
                dropped: 2,
                held: 3,
                shown: 3
            }
        );
        assert_eq!(b.get(0).map(|r| r.offset), Some(2));
        assert_eq!(b.get(3), None);
        assert_eq!(b.iter().next_back().map(|r| r.offset), Some(4));
    }

    #[test]
    fn ring_is_bounded_by_bytes_and_keeps_a_lone_big_record() {
        let one = rec(0, "k", &[0; 1000], &[]).approx_bytes();
        let mut b = TailBuffer::new(100, one * 3);
        for i in 0..10 {
            b.push(rec(i, "k", &[0; 1000], &[]));
            assert!(b.held_bytes() <= one * 3);
        }
        assert_eq!(b.counts().held, 3);
        assert_eq!(b.counts().dropped, 7);
        b.push(rec(10, "k", &[0; 100_000], &[]));
        assert_eq!(b.counts().held, 1);
        assert_eq!(b.get(0).map(|r| r.offset), Some(10));
        b.push(rec(11, "k", b"small", &[]));
        assert_eq!(b.iter().map(|r| r.offset).collect::<Vec<_>>(), [11]);
    }

    #[test]
    fn filtered_view_indexes_matches_and_counts_scanned_vs_shown() {
        let mut b = TailBuffer::new(4, usize::MAX);
        b.set_filter(Some(RecordFilter::parse("value:hit").unwrap()));
        let values: [&[u8]; 7] = [b"hit", b"miss", b"hit", b"miss", b"miss", b"hit", b"miss"];
        let shown: Vec<bool> = values
            .iter()
            .enumerate()
            .map(|(i, v)| b.push(rec(i as i64, "k", v, &[])))
            .collect();
        assert_eq!(shown, [true, false, true, false, false, true, false]);
        // Held: offsets 3..=6; of those only 5 matches.
        assert_eq!(b.iter().map(|r| r.offset).collect::<Vec<_>>(), [5]);
        let c = b.counts();
        assert_eq!(
            (c.received, c.scanned, c.matched, c.dropped, c.held, c.shown),
            (7, 7, 3, 3, 4, 1)
        );
        // A new filter re-scans what is held.
        b.set_filter(Some(RecordFilter::parse("miss").unwrap()));
        assert_eq!(b.iter().map(|r| r.offset).collect::<Vec<_>>(), [3, 4, 6]);
        assert_eq!((b.counts().scanned, b.counts().matched, b.len()), (4, 3, 3));
        b.set_filter(None);
        assert_eq!(b.len(), 4);
        assert_eq!(b.get(0).map(|r| r.offset), Some(3));
    }

    #[test]
    fn clear_keeps_the_totals() {
        let mut b = TailBuffer::new(10, usize::MAX);
        b.set_filter(Some(RecordFilter::parse("a").unwrap()));
        b.push(rec(0, "a", b"", &[]));
        b.clear();
        assert!(b.is_empty());
        b.push(rec(1, "a", b"", &[]));
        b.push(rec(2, "b", b"", &[]));
        assert_eq!(b.iter().map(|r| r.offset).collect::<Vec<_>>(), [1]);
        let c = b.counts();
        assert_eq!((c.received, c.scanned, c.matched, c.held), (3, 2, 1, 2));
    }

    #[test]
    fn a_million_records_pass_through_a_bounded_ring() {
        let mut b = TailBuffer::new(1000, 1 << 20);
        b.set_filter(Some(RecordFilter::parse("value:/7$/").unwrap()));
        let mut peak = 0;
        for i in 0..1_000_000i64 {
            b.push(rec(i, "key", i.to_string().as_bytes(), &[("h", b"v")]));
            peak = peak.max(b.held_bytes());
        }
        let c = b.counts();
        assert_eq!((c.received, c.dropped, c.held), (1_000_000, 999_000, 1000));
        assert_eq!(c.matched, 100_000);
        assert_eq!(c.shown, 100);
        assert!(peak <= 1 << 20);
        assert!(b.matches.len() <= b.records.len());
        assert!(b.records.capacity() < 2048, "{}", b.records.capacity());
        assert_eq!(b.get(99).map(|r| r.offset), Some(999_997));
    }
}
