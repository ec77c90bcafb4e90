//! Idempotent producers: persisted, never-reused producer ids ([`ProducerIds`], for
//! InitProducerId) and, per partition, each producer's epoch and last five batches
//! ([`ProducerStateTable`], for Produce), with Kafka's rules (`ProducerStateManager`,
//! `ProducerAppendInfo`, `ProducerStateEntry`).
//!
//! The state table is not persisted: it is rebuilt on start by replaying the batch headers of
//! the partition's log through [`ProducerStateTable::record`], the same call the append path
//! makes after each write. Transactions are out of scope.
//!
//! Must not depend on the protocol codec, tokio or the log itself; the log calls in here.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

use crate::broker::storage::{self, Disk};

/// Kafka error codes of the Produce path.
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;

/// `RecordBatch.NO_PRODUCER_ID`: a batch of a producer that is not idempotent.
pub const NO_PRODUCER_ID: i64 = -1;
/// How many batches per producer and partition are remembered for duplicate detection
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`; also the producers' max in-flight requests).
pub const BATCHES_TO_RETAIN: usize = 5;

/// Kafka's `producer.id.expiration.ms` default: a producer idle this long (by its last batch
/// timestamp) is forgotten, so a later batch of it may start at any sequence.
pub const PRODUCER_ID_EXPIRATION_MS: i64 = 86_400_000;

/// Producer ids are reserved on disk this many at a time, so that allocation rarely fsyncs.
const ID_BLOCK: i64 = 1000;
const IDS_FILE: &str = "producer_ids";

/// The last sequence of a batch, as Kafka's `DefaultRecordBatch.incrementSequence`: sequences
/// wrap from `i32::MAX` to 0.
pub fn last_sequence(base_sequence: i32, last_offset_delta: i32) -> i32 {
    if base_sequence > i32::MAX - last_offset_delta {
        last_offset_delta - (i32::MAX - base_sequence) - 1
    } else {
        base_sequence + last_offset_delta
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProducerIdsError {
    #[error("producer id file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "producer id file {path} is corrupt; refusing to start, because guessing could reuse \
         producer ids (idempotent producers would see their batches taken for duplicates)"
    )]
    Corrupt { path: PathBuf },
}

/// The producer id allocator.
///
/// `producer_ids` holds the first id not yet reserved, so ids below it may have been handed
/// out: 12 bytes, written to `producer_ids.tmp`, fsynced, renamed over, directory fsynced.
///
/// | offset | size | field                                     |
/// |--------|------|-------------------------------------------|
/// | 0      | 8    | reserved-up-to id, i64 big-endian         |
/// | 8      | 4    | CRC-32C of bytes 0..8, u32 big-endian     |
///
/// After a restart allocation starts at that id, so a crash loses at most one block of ids
/// and never reuses one.
pub struct ProducerIds {
    disk: Disk,
    dir: PathBuf,
    next: i64,
    reserved_until: i64,
}

impl ProducerIds {
    pub fn open(disk: Disk, dir: &Path) -> Result<ProducerIds, ProducerIdsError> {
        let path = dir.join(IDS_FILE);
        let io_err = |source| ProducerIdsError::Io {
            path: path.clone(),
            source,
        };
        disk.create_dir_all(dir).map_err(io_err)?;
        let reserved_until = match disk.read(&path) {
            Ok(bytes) => decode_ids(&bytes).ok_or(ProducerIdsError::Corrupt { path: path.clone() })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io_err(e)),
        };
        Ok(ProducerIds {
            disk,
            dir: dir.to_path_buf(),
            next: reserved_until,
            reserved_until,
        })
    }

    /// A producer id never handed out before, by this process or an earlier one.
    pub fn allocate(&mut self) -> io::Result<i64> {
        if self.next >= self.reserved_until {
            let until = self.next + ID_BLOCK;
            self.persist(until)?;
            self.reserved_until = until;
        }
        let id = self.next;
        self.next += 1;
        Ok(id)
    }

    fn persist(&self, until: i64) -> io::Result<()> {
        let mut bytes = until.to_be_bytes().to_vec();
        bytes.extend_from_slice(&crc32c::crc32c(&bytes).to_be_bytes());
        // Written to `producer_ids.tmp`, fsynced, renamed, directory fsynced.
        storage::write_atomically(&*self.disk, &self.dir.join(IDS_FILE), &bytes)
    }
}

fn decode_ids(bytes: &[u8]) -> Option<i64> {
    let (value, crc) = (bytes.get(..8)?, bytes.get(8..12)?);
    if bytes.len() != 12 || crc32c::crc32c(value).to_be_bytes() != crc {
        return None;
    }
    let until = i64::from_be_bytes(value.try_into().ok()?);
    (until >= 0).then_some(until)
}

/// One appended batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    /// The batch's max timestamp.
    pub timestamp_ms: i64,
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Append,
    /// The exact batch was already appended (a retry): acknowledge it with its original
    /// offsets, do not append it again.
    Duplicate {
        base_offset: i64,
        last_offset: i64,
        timestamp_ms: i64,
    },
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
    last_timestamp_ms: i64,
}

/// Producer state of one partition.
#[derive(Debug, Clone, Default)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStateTable {
    pub fn new() -> ProducerStateTable {
        ProducerStateTable::default()
    }

    /// Validates a batch before it is appended, in Kafka's order: an exact duplicate of a
    /// remembered batch of the same epoch is `Duplicate`; an older epoch is
    /// INVALID_PRODUCER_EPOCH; a newer epoch must start at sequence 0; the same epoch must
    /// continue at last sequence + 1 (0 after `i32::MAX`); otherwise
    /// OUT_OF_ORDER_SEQUENCE_NUMBER. A producer with no state here (new, or its data removed by
    /// retention) may start at any sequence. Batches without a producer id are always appended.
    pub fn check(&self, producer_id: i64, epoch: i16, first_seq: i32, last_seq: i32) -> Result<Decision, i16> {
        if producer_id < 0 {
            return Ok(Decision::Append);
        }
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(Decision::Append);
        };
        if epoch == entry.epoch {
            if let Some(b) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
            {
                return Ok(Decision::Duplicate {
                    base_offset: b.base_offset,
                    last_offset: b.last_offset,
                    timestamp_ms: b.timestamp_ms,
                });
            }
        }
        if epoch < entry.epoch {
            return Err(INVALID_PRODUCER_EPOCH);
        }
        if epoch != entry.epoch {
            return if first_seq == 0 {
                Ok(Decision::Append)
            } else {
                Err(OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        match entry.batches.back() {
            Some(last) if !in_sequence(last.last_seq, first_seq) => Err(OUT_OF_ORDER_SEQUENCE_NUMBER),
            _ => Ok(Decision::Append),
        }
    }

    /// Remembers an appended batch: called after each append and, on start, for every batch of
    /// the log in order (which is why it does not validate). A new epoch forgets the old
    /// epoch's batches; only the last [`BATCHES_TO_RETAIN`] are kept.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        producer_id: i64,
        epoch: i16,
        first_seq: i32,
        last_seq: i32,
        base_offset: i64,
        last_offset: i64,
        timestamp_ms: i64,
    ) {
        if producer_id < 0 {
            return;
        }
        let entry = self.producers.entry(producer_id).or_insert_with(|| ProducerEntry {
            epoch,
            batches: VecDeque::with_capacity(BATCHES_TO_RETAIN),
            last_timestamp_ms: timestamp_ms,
        });
        if entry.epoch != epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMetadata {
            first_seq,
            last_seq,
            base_offset,
            last_offset,
            timestamp_ms,
        });
        entry.last_timestamp_ms = timestamp_ms;
    }

    /// The producer's current epoch here, if it has state.
    pub fn epoch(&self, producer_id: i64) -> Option<i16> {
        self.producers.get(&producer_id).map(|e| e.epoch)
    }

    /// The remembered batches of a producer, oldest first.
    pub fn batches(&self, producer_id: i64) -> Vec<BatchMetadata> {
        self.producers
            .get(&producer_id)
            .map(|e| e.batches.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets producers whose data is all below the new log start offset (retention or
    /// DeleteRecords), as Kafka's `evictUnretainedProducers`.
    pub fn truncate_head(&mut self, log_start_offset: i64) {
        self.producers
            .retain(|_, e| e.batches.back().is_some_and(|b| b.last_offset >= log_start_offset));
    }

    /// Forgets producers idle for `expiration_ms` (`producer.id.expiration.ms`, Kafka's
    /// default 86400000), measured by their last batch timestamp.
    pub fn remove_expired(&mut self, now_ms: i64, expiration_ms: i64) {
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_timestamp_ms) < expiration_ms);
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }
}

/// Snapshot format version, the first byte of [`ProducerStateTable::encode`].
const SNAPSHOT_VERSION: u8 = 1;
const SNAPSHOT_BATCH_LEN: usize = 32;

impl ProducerStateTable {
    /// The table as a snapshot of the log up to `log_end_offset` (all big-endian):
    ///
    /// | offset | size | field                                                     |
    /// |--------|------|-----------------------------------------------------------|
    /// | 0      | 1    | version (= 1)                                             |
    /// | 1      | 8    | log end offset the state covers                           |
    /// | 9      | 4    | producer count                                            |
    /// | 13     | ...  | producers: id (8), epoch (2), last timestamp (8), batch   |
    /// |        |      | count (1), then per batch, oldest first: first sequence   |
    /// |        |      | (4), last sequence (4), base offset (8), last offset (8), |
    /// |        |      | timestamp (8)                                             |
    /// | end-4  | 4    | CRC-32C of everything before it                           |
    pub fn encode(&self, log_end_offset: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(17 + self.producers.len() * (19 + BATCHES_TO_RETAIN * SNAPSHOT_BATCH_LEN));
        out.push(SNAPSHOT_VERSION);
        out.extend_from_slice(&log_end_offset.to_be_bytes());
        out.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        for (id, e) in &self.producers {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&e.epoch.to_be_bytes());
            out.extend_from_slice(&e.last_timestamp_ms.to_be_bytes());
            out.push(e.batches.len() as u8);
            for b in &e.batches {
                out.extend_from_slice(&b.first_seq.to_be_bytes());
                out.extend_from_slice(&b.last_seq.to_be_bytes());
                out.extend_from_slice(&b.base_offset.to_be_bytes());
                out.extend_from_slice(&b.last_offset.to_be_bytes());
                out.extend_from_slice(&b.timestamp_ms.to_be_bytes());
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Reads an [`encode`](Self::encode)d snapshot: the log end offset it covers and the
    /// table. `None` for anything damaged or of another version.
    pub fn decode(bytes: &[u8]) -> Option<(i64, ProducerStateTable)> {
        let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if crc32c::crc32c(body).to_be_bytes() != crc {
            return None;
        }
        let mut r = body;
        let mut take = |n: usize| -> Option<&[u8]> {
            let (head, rest) = r.split_at_checked(n)?;
            r = rest;
            Some(head)
        };
        if take(1)? != [SNAPSHOT_VERSION] {
            return None;
        }
        let end = i64::from_be_bytes(take(8)?.try_into().ok()?);
        let count = u32::from_be_bytes(take(4)?.try_into().ok()?);
        let mut table = ProducerStateTable::new();
        for _ in 0..count {
            let id = i64::from_be_bytes(take(8)?.try_into().ok()?);
            let epoch = i16::from_be_bytes(take(2)?.try_into().ok()?);
            let last_timestamp_ms = i64::from_be_bytes(take(8)?.try_into().ok()?);
            let n = take(1)?[0] as usize;
            if n > BATCHES_TO_RETAIN {
                return None;
            }
            let mut batches = VecDeque::with_capacity(BATCHES_TO_RETAIN);
            for _ in 0..n {
                let b = take(SNAPSHOT_BATCH_LEN)?;
                let i32_at = |at: usize| b[at..at + 4].try_into().ok().map(i32::from_be_bytes);
                let i64_at = |at: usize| b[at..at + 8].try_into().ok().map(i64::from_be_bytes);
                batches.push_back(BatchMetadata {
                    first_seq: i32_at(0)?,
                    last_seq: i32_at(4)?,
                    base_offset: i64_at(8)?,
                    last_offset: i64_at(16)?,
                    timestamp_ms: i64_at(24)?,
                });
            }
            table.producers.insert(
                id,
                ProducerEntry {
                    epoch,
                    batches,
                    last_timestamp_ms,
                },
            );
        }
        r.is_empty().then_some((end, table))
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::storage::OsDisk;

    const PID: i64 = 7;

    /// A table where producer PID (epoch 0) appended sequences 0-9 at offsets 100-109.
    fn table() -> ProducerStateTable {
        let mut t = ProducerStateTable::new();
        t.record(PID, 0, 0, 9, 100, 109, 1_000);
        t
    }

    #[test]
    fn duplicate_sequence_is_acked_not_appended() {
        let t = table();
        assert_eq!(
            t.check(PID, 0, 0, 9),
            Ok(Decision::Duplicate {
                base_offset: 100,
                last_offset: 109,
                timestamp_ms: 1_000
            })
        );
    }

    #[test]
    fn next_sequence_is_appended() {
        assert_eq!(table().check(PID, 0, 10, 14), Ok(Decision::Append));
    }

    #[test]
    fn sequence_gap_is_out_of_order() {
        assert_eq!(table().check(PID, 0, 11, 14), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
    }

    #[test]
    fn overlapping_but_not_identical_batch_is_out_of_order() {
        assert_eq!(table().check(PID, 0, 5, 12), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
    }

    #[test]
    fn old_epoch_is_fenced() {
        let mut t = table();
        t.record(PID, 1, 0, 0, 110, 110, 2_000);
        assert_eq!(t.check(PID, 0, 10, 10), Err(INVALID_PRODUCER_EPOCH));
        // Even an exact retry of an old-epoch batch: its epoch's batches are forgotten.
        assert_eq!(t.check(PID, 0, 0, 9), Err(INVALID_PRODUCER_EPOCH));
    }

    #[test]
    fn new_epoch_must_start_at_zero() {
        let t = table();
        assert_eq!(t.check(PID, 1, 10, 10), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
        assert_eq!(t.check(PID, 1, 0, 3), Ok(Decision::Append));
    }

    #[test]
    fn new_epoch_forgets_the_old_window() {
        let mut t = table();
        t.record(PID, 1, 0, 3, 110, 113, 2_000);
        assert_eq!(t.epoch(PID), Some(1));
        assert_eq!(t.batches(PID).len(), 1);
        assert_eq!(t.check(PID, 1, 4, 4), Ok(Decision::Append));
    }

    #[test]
    fn sequence_wraps_at_i32_max() {
        let mut t = ProducerStateTable::new();
        t.record(PID, 0, i32::MAX - 4, i32::MAX, 0, 4, 0);
        assert_eq!(t.check(PID, 0, 0, 4), Ok(Decision::Append));
        assert_eq!(t.check(PID, 0, 1, 4), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
        assert_eq!(last_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(last_sequence(5, 3), 8);
    }

    #[test]
    fn unknown_producer_accepts_any_sequence() {
        let t = ProducerStateTable::new();
        assert_eq!(t.check(PID, 3, 42, 50), Ok(Decision::Append));
        assert_eq!(t.check(NO_PRODUCER_ID, -1, -1, -1), Ok(Decision::Append));
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut t = ProducerStateTable::new();
        for i in 0..6 {
            t.record(PID, 0, i, i, 100 + i64::from(i), 100 + i64::from(i), 0);
        }
        assert_eq!(t.batches(PID).len(), BATCHES_TO_RETAIN);
        assert!(matches!(
            t.check(PID, 0, 1, 1),
            Ok(Decision::Duplicate { base_offset: 101, .. })
        ));
        // The oldest fell out of the window: a retry of it can only be out of order.
        assert_eq!(t.check(PID, 0, 0, 0), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
    }

    #[test]
    fn replaying_the_log_rebuilds_the_same_state() {
        let batches = [(0, 0, 4, 0, 4), (0, 5, 9, 5, 9), (1, 0, 2, 10, 12), (1, 3, 3, 13, 13)];
        let mut live = ProducerStateTable::new();
        for (epoch, first, last, base, end) in batches {
            assert_eq!(live.check(PID, epoch, first, last), Ok(Decision::Append));
            live.record(PID, epoch, first, last, base, end, 0);
        }
        let mut replayed = ProducerStateTable::new();
        for (epoch, first, last, base, end) in batches {
            replayed.record(PID, epoch, first, last, base, end, 0);
        }
        assert_eq!(replayed.batches(PID), live.batches(PID));
        assert_eq!(replayed.check(PID, 1, 3, 3), live.check(PID, 1, 3, 3));
    }

    #[test]
    fn producers_below_the_log_start_are_forgotten() {
        let mut t = table();
        t.record(8, 0, 0, 0, 200, 200, 1_000);
        t.truncate_head(150);
        assert_eq!(t.epoch(PID), None);
        assert_eq!(t.check(PID, 0, 500, 501), Ok(Decision::Append));
        assert_eq!(t.epoch(8), Some(0));
    }

    #[test]
    fn idle_producers_expire() {
        let mut t = table();
        t.remove_expired(1_000 + 86_400_000 - 1, 86_400_000);
        assert_eq!(t.len(), 1);
        t.remove_expired(1_000 + 86_400_000, 86_400_000);
        assert!(t.is_empty());
    }

    #[test]
    fn snapshot_round_trips() {
        let mut t = table();
        t.record(PID, 0, 10, 14, 110, 114, 2_000);
        t.record(8, 3, 0, 0, 115, 115, 3_000);
        t.record(9, 0, 0, 0, 116, 116, 4_000);
        let (end, back) = ProducerStateTable::decode(&t.encode(117)).unwrap();
        assert_eq!(end, 117);
        assert_eq!(back.len(), 3);
        for pid in [PID, 8, 9] {
            assert_eq!(back.batches(pid), t.batches(pid));
            assert_eq!(back.epoch(pid), t.epoch(pid));
        }
        assert_eq!(back.check(PID, 0, 10, 14), t.check(PID, 0, 10, 14));
        let (end, empty) = ProducerStateTable::decode(&ProducerStateTable::new().encode(0)).unwrap();
        assert_eq!((end, empty.len()), (0, 0));
    }

    #[test]
    fn damaged_snapshot_is_refused() {
        let bytes = table().encode(110);
        for cut in [0, 3, bytes.len() - 1] {
            assert!(ProducerStateTable::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for at in [0, 5, 20, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            assert!(ProducerStateTable::decode(&bad).is_none(), "flipped byte {at}");
        }
    }

    #[test]
    fn ids_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let mut ids = ProducerIds::open(OsDisk::shared(), dir.path()).unwrap();
        let all: Vec<i64> = (0..2_500).map(|_| ids.allocate().unwrap()).collect();
        let mut sorted = all.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert_eq!(all[0], 0);
    }

    #[test]
    fn ids_never_reused_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let last = {
            let mut ids = ProducerIds::open(OsDisk::shared(), dir.path()).unwrap();
            (0..3).map(|_| ids.allocate().unwrap()).last().unwrap()
        };
        // As after a crash: nothing was written since the block was reserved.
        let mut ids = ProducerIds::open(OsDisk::shared(), dir.path()).unwrap();
        let next = ids.allocate().unwrap();
        assert!(next > last, "{next} <= {last}");
        assert!(!dir.path().join("producer_ids.tmp").exists());
    }

    #[test]
    fn corrupt_id_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(IDS_FILE), [0u8; 12]).unwrap();
        assert!(matches!(
            ProducerIds::open(OsDisk::shared(), dir.path()),
            Err(ProducerIdsError::Corrupt { .. })
        ));
    }
}
