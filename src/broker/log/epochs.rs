//! The leader-epoch cache of a partition, as Kafka's `LeaderEpochFileCache`: for each leader
//! epoch, the first offset written in it. It answers OffsetForLeaderEpoch (the end offset of an
//! epoch is the start offset of the next higher one), which is how clients notice that a log
//! was truncated under them: this broker bumps its epoch after every unclean stop, so records a
//! consumer read before a power loss took them back belong to an epoch that ends earlier than
//! the consumer's position.
//!
//! `leader-epoch-checkpoint` holds it in Kafka's text format:
//!
//! ```text
//! 0                    version
//! 2                    number of entries
//! 0 0                  epoch, start offset
//! 3 1500
//! ```
//!
//! Every batch carries its epoch, so the cache can be rebuilt from the log: the checkpoint is
//! written (atomically, fsynced) when a segment is rolled and at a clean shutdown, and recovery
//! re-derives the entries of the segments it rescans.

/// Kafka's `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET`.
pub const UNDEFINED: (i32, i64) = (-1, -1);

pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochCache {
    /// (epoch, start offset), both strictly increasing.
    entries: Vec<(i32, i64)>,
}

impl EpochCache {
    pub fn new() -> Self {
        EpochCache::default()
    }

    pub fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }

    pub fn latest(&self) -> Option<(i32, i64)> {
        self.entries.last().copied()
    }

    /// Epoch `epoch` starts at `start` (Kafka's `assign`): entries that would break the order
    /// (an equal or later epoch, or one starting at or after `start`) are dropped first.
    /// Returns whether anything changed.
    pub fn assign(&mut self, epoch: i32, start: i64) -> bool {
        if epoch < 0 || start < 0 {
            return false;
        }
        if self.latest().is_some_and(|(e, s)| e == epoch && start >= s) {
            return false;
        }
        while self.entries.last().is_some_and(|&(e, s)| e >= epoch || s >= start) {
            self.entries.pop();
        }
        self.entries.push((epoch, start));
        true
    }

    /// The log now ends at `end`: entries starting there or later go.
    pub fn truncate_from_end(&mut self, end: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|&(_, s)| s < end);
        before != self.entries.len()
    }

    /// The log now starts at `start`: entries wholly below it go, and the epoch holding
    /// `start` starts there.
    pub fn truncate_from_start(&mut self, start: i64) -> bool {
        let below = self.entries.iter().take_while(|&&(_, s)| s <= start).count();
        if below == 0 || (below == 1 && self.entries[0].1 == start) {
            return false;
        }
        let epoch = self.entries[below - 1].0;
        self.entries.drain(..below);
        self.entries.insert(0, (epoch, start));
        true
    }

    /// The epoch of the record at `offset`, if known.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.entries
            .iter()
            .take_while(|&&(_, s)| s <= offset)
            .last()
            .map(|&(e, _)| e)
    }

    /// OffsetForLeaderEpoch: (epoch, end offset) for `requested` on a log ending at
    /// `log_end`, as Kafka's `endOffsetFor`: the latest epoch ends at the log end; an earlier
    /// one where the next higher epoch starts, reported with the largest epoch at or below the
    /// requested one; an unknown later epoch is undefined.
    pub fn end_offset_for(&self, requested: i32, log_end: i64) -> (i32, i64) {
        if requested < 0 {
            return UNDEFINED;
        }
        if self.latest().is_some_and(|(e, _)| e == requested) {
            return (requested, log_end);
        }
        let Some(&(_, higher_start)) = self.entries.iter().find(|&&(e, _)| e > requested) else {
            return UNDEFINED;
        };
        match self.entries.iter().rev().find(|&&(e, _)| e <= requested) {
            Some(&(floor, _)) => (floor, higher_start),
            None => (requested, higher_start),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("0\n{}\n", self.entries.len());
        for (e, s) in &self.entries {
            out.push_str(&format!("{e} {s}\n"));
        }
        out.into_bytes()
    }

    /// `None` for anything that is not a complete, ordered checkpoint of version 0.
    pub fn decode(bytes: &[u8]) -> Option<EpochCache> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()?.trim() != "0" {
            return None;
        }
        let count: usize = lines.next()?.trim().parse().ok()?;
        let mut cache = EpochCache::new();
        for _ in 0..count {
            let mut parts = lines.next()?.split_whitespace();
            let epoch: i32 = parts.next()?.parse().ok()?;
            let start: i64 = parts.next()?.parse().ok()?;
            if parts.next().is_some() || epoch < 0 || start < 0 {
                return None;
            }
            if cache.latest().is_some_and(|(e, s)| e >= epoch || s >= start) {
                return None;
            }
            cache.entries.push((epoch, start));
        }
        lines.all(|l| l.trim().is_empty()).then_some(cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> EpochCache {
        let mut c = EpochCache::new();
        for &(e, s) in entries {
            assert!(c.assign(e, s));
        }
        c
    }

    #[test]
    fn an_epochs_end_is_the_next_epochs_start() {
        let c = cache(&[(0, 0), (2, 100), (5, 250)]);
        assert_eq!(
            c.end_offset_for(5, 300),
            (5, 300),
            "the latest epoch ends at the log end"
        );
        assert_eq!(c.end_offset_for(2, 300), (2, 250));
        assert_eq!(c.end_offset_for(0, 300), (0, 100));
        // An epoch this log never had: the largest below it, ending where the next one starts.
        assert_eq!(c.end_offset_for(3, 300), (2, 250));
        assert_eq!(c.end_offset_for(1, 300), (0, 100));
        assert_eq!(c.end_offset_for(6, 300), UNDEFINED, "a later epoch is unknown");
        assert_eq!(c.end_offset_for(-1, 300), UNDEFINED);
        let late = cache(&[(4, 50)]);
        assert_eq!(late.end_offset_for(1, 60), (1, 50), "below the earliest epoch");
    }

    #[test]
    fn assign_keeps_epochs_and_offsets_increasing() {
        let mut c = cache(&[(0, 0), (1, 10)]);
        assert!(!c.assign(1, 20), "same epoch later: nothing to do");
        // A new epoch at the same offset replaces one that never got a record.
        assert!(c.assign(2, 10));
        assert_eq!(c.entries(), &[(0, 0), (2, 10)]);
        // An older epoch from a stale source drops what it contradicts.
        assert!(c.assign(1, 5));
        assert_eq!(c.entries(), &[(0, 0), (1, 5)]);
    }

    #[test]
    fn truncation_trims_both_ends() {
        let mut c = cache(&[(0, 0), (1, 10), (3, 20)]);
        assert!(c.truncate_from_end(20));
        assert_eq!(c.entries(), &[(0, 0), (1, 10)]);
        assert!(c.truncate_from_start(15));
        assert_eq!(c.entries(), &[(1, 15)]);
        assert_eq!(c.epoch_for_offset(16), Some(1));
        assert_eq!(c.epoch_for_offset(14), None);
        assert!(!c.truncate_from_start(15));
    }

    #[test]
    fn checkpoint_round_trips_and_refuses_damage() {
        let c = cache(&[(0, 0), (2, 100)]);
        let bytes = c.encode();
        assert_eq!(bytes, b"0\n2\n0 0\n2 100\n");
        assert_eq!(EpochCache::decode(&bytes), Some(c));
        for bad in [
            &b"0\n2\n0 0\n"[..],
            b"1\n0\n",
            b"0\n2\n2 100\n0 0\n",
            b"0\n1\n0 x\n",
            b"",
        ] {
            assert_eq!(EpochCache::decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
