//! The partition log: an append-only sequence of segments in a `TOPIC-N/` directory, with the
//! log start offset, appends, reads planned under the lock and executed outside it, rolls,
//! retention, DeleteRecords and crash recovery. Each log also owns its partition's idempotent
//! producer state, so that the sequence check and the append happen under one lock, and so that
//! retention and DeleteRecords forget producers as they remove their data.
//!
//! Depends only on the broker's config, error types and producer-state rules; the network
//! layer sits above it.

pub mod batch;
pub mod epochs;
pub mod records;
pub mod segment;

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::broker::config::{LogConfig, TimestampType};
use crate::broker::error::LogError;
use crate::broker::producers::{self, Decision, ProducerStateTable};
use crate::broker::storage::{self, Disk, FileCursor, FileRef};

use batch::BatchHeader;
use epochs::EpochCache;
use segment::{Segment, SegmentReader, Verify};

const LOG_START_FILE: &str = "log-start-offset";
/// The producer-state snapshot of the format before snapshots were taken at rolls; ignored and
/// removed.
const OLD_PRODUCER_SNAPSHOT_FILE: &str = "producer-state.snapshot";

/// `<20-digit offset>.snapshot`: the producer state of every batch below that offset
/// ([`ProducerStateTable::encode`]), as Kafka names its snapshots. Written (fsynced) when a
/// segment is rolled, for the new segment's base offset, and at a clean shutdown for the log
/// end (not fsynced: a torn one fails its CRC and an older one is used). A start loads the
/// newest valid one and replays only the batches after it, so restart time does not grow with
/// the size of the log.
fn snapshot_name(offset: i64) -> String {
    segment::segment_file_name(offset, "snapshot")
}

/// The I/O a roll leaves for after the partition lock is released
/// ([`PartitionLog::take_roll_work`]), so that appends to the new segment and reads never wait
/// for it: fsync the closed segment, then write the producer-state snapshot and the
/// leader-epoch checkpoint that cover it, then its indexes. Indexes are written last because
/// their presence is what tells recovery that a closed segment is complete and need not be
/// rescanned.
pub struct RollWork {
    disk: Disk,
    dir: PathBuf,
    file: FileRef,
    log_path: PathBuf,
    base_offset: i64,
    indexes: (Vec<u8>, Vec<u8>),
    /// The new segment's base: the snapshot's offset.
    next_offset: i64,
    snapshot: Vec<u8>,
}

impl RollWork {
    /// Does the I/O (blocking). `checkpoint` gives the leader-epoch cache as it is now: a
    /// later cache holds every entry of an earlier one, so the newest is always right.
    pub fn perform(self, checkpoint: impl FnOnce() -> Vec<u8>) -> Result<(), LogError> {
        let disk = &*self.disk;
        self.file.sync_data().map_err(|e| LogError::io(&self.log_path, e))?;
        let snap = self.dir.join(snapshot_name(self.next_offset));
        storage::write_atomically(disk, &snap, &self.snapshot).map_err(|e| LogError::io(&snap, e))?;
        let cp = self.dir.join(epochs::CHECKPOINT_FILE);
        storage::write_atomically(disk, &cp, &checkpoint()).map_err(|e| LogError::io(&cp, e))?;
        segment::write_index_files(disk, &self.dir, self.base_offset, self.indexes)?;
        // Older snapshots are not needed any more: recovery starts from this one.
        for entry in disk.list(&self.dir).map_err(|e| LogError::io(&self.dir, e))? {
            if let Some(offset) = snapshot_offset(&entry.name) {
                if offset < self.next_offset {
                    let path = self.dir.join(&entry.name);
                    disk.remove_file(&path).map_err(|e| LogError::io(&path, e))?;
                }
            }
        }
        Ok(())
    }
}

fn snapshot_offset(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".snapshot")?;
    (stem.len() == 20).then(|| stem.parse().ok()).flatten()
}

/// Where an append landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    /// -1 unless the topic uses LogAppendTime.
    pub log_append_time: i64,
}

/// What retention deletes: whole segments (by base offset) and the start offset after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    pub doomed: Vec<i64>,
    pub start: i64,
}

/// Writes `log-start-offset` atomically (fsynced, renamed, directory fsynced).
pub fn persist_log_start(disk: &dyn storage::Storage, dir: &Path, start: i64) -> Result<(), LogError> {
    let path = dir.join(LOG_START_FILE);
    storage::write_atomically(disk, &path, format!("{start}\n").as_bytes()).map_err(|e| LogError::io(&path, e))
}

/// A read planned under the partition lock, executed without it.
pub struct ReadPlan {
    pub reader: SegmentReader,
    pub start_pos: u64,
    pub offset: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The offset is below the log start or above the end.
    OutOfRange { log_start: i64, high_watermark: i64 },
    /// The partition is offline after a storage failure (the reason).
    Offline(String),
}

pub struct PartitionLog {
    pub dir: PathBuf,
    disk: Disk,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    pub config: LogConfig,
    /// A new segment file was created and the directory entry is not yet fsynced.
    dir_dirty: bool,
    /// Idempotent producers' epochs and last batches, rebuilt from the log on open.
    producers: ProducerStateTable,
    /// Set by the first failed write or fsync: from then on the partition is offline until
    /// the broker restarts and recovers it, because after a failed fsync the kernel may have
    /// dropped pages that a later fsync would report as durable.
    failed: Option<String>,
    /// The broker's leader epoch, stamped on every batch appended.
    leader_epoch: i32,
    epochs: EpochCache,
    /// Rolls whose I/O is still to be done ([`RollWork`]).
    roll_work: Vec<RollWork>,
}

impl PartitionLog {
    /// Opens (or creates) the log in `dir`. `verify_tail` after an unclean shutdown: the last
    /// segment and any segment without a usable index are rescanned with CRC checks, and a torn
    /// tail is truncated.
    pub fn open(disk: Disk, dir: &Path, config: LogConfig, verify_tail: bool, now_ms: i64) -> Result<Self, LogError> {
        let io = |e| LogError::io(dir, e);
        disk.create_dir_all(dir).map_err(io)?;
        let mut bases = Vec::new();
        for entry in disk.list(dir).map_err(io)? {
            let name = entry.name;
            if let Some(stem) = name.strip_suffix(".log") {
                if let Ok(base) = stem.parse::<i64>() {
                    bases.push(base);
                }
            } else if name.ends_with(".tmp") || name.ends_with(".deleted") {
                let path = dir.join(&name);
                disk.remove_file(&path).map_err(|e| LogError::io(&path, e))?;
            }
        }
        bases.sort_unstable();
        let mut segments = BTreeMap::new();
        let last = bases.last().copied();
        let mut truncated_after: Option<i64> = None;
        let mut recovered = Vec::new();
        for base in bases {
            // A segment that does not start where the one before it ends (its directory entry
            // became durable while the end of the one before it did not) cannot hold
            // acknowledged records: an acks=all fsync covers every segment it follows.
            let expected = segments.values().next_back().map(|s: &Segment| s.next_offset);
            if truncated_after.is_none() && expected.is_some_and(|e| e != base) {
                tracing::warn!(dir = %dir.display(), base, expected, "the log has a hole before this segment");
                truncated_after = Some(base);
            }
            if truncated_after.is_some() {
                // Everything after a truncated segment is unreachable without a gap; Kafka
                // deletes it too.
                tracing::warn!(dir = %dir.display(), base, "removing segment after a truncated one");
                segment::remove_segment_files(&*disk, dir, base)?;
                continue;
            }
            let verify = match (verify_tail, Some(base) == last) {
                (false, _) => Verify::Nothing,
                (true, true) => Verify::All,
                (true, false) => Verify::WithoutIndex,
            };
            let (seg, report) = Segment::open(&*disk, dir, base, verify)?;
            if report.verified {
                recovered.push(Arc::clone(&seg.file));
            }
            if report.truncated_bytes > 0 {
                tracing::warn!(
                    path = %seg.log_path.display(),
                    bytes = report.truncated_bytes,
                    "truncated a torn or corrupt tail during recovery"
                );
                if Some(base) != last {
                    truncated_after = Some(base);
                }
            }
            segments.insert(base, seg);
        }
        let stored_start = disk
            .read(&dir.join(LOG_START_FILE))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .max(0);
        let end = segments.values().next_back().map(|s| s.next_offset);
        if end.is_some_and(|end| end < stored_start) {
            // A DeleteRecords (or retention) moved the start past what survived a power loss:
            // start empty at the log start rather than hand out offsets below it again.
            tracing::warn!(dir = %dir.display(), start = stored_start, end, "log ends below its start offset; starting empty at the start offset");
            for seg in std::mem::take(&mut segments).into_values() {
                seg.remove_files(&*disk, dir)?;
            }
        }
        if segments.is_empty() {
            segments.insert(stored_start, Segment::create(&*disk, dir, stored_start, now_ms)?);
        }
        if verify_tail {
            // What recovery read may have been only in the page cache (the process died, the
            // machine did not): make it durable before anything is served from it, or a retried
            // batch could be acknowledged as a duplicate of data a power loss then takes away.
            // The directory too: recovery may have removed segments.
            for file in recovered {
                file.sync_data().map_err(|e| LogError::io(dir, e))?;
            }
            disk.sync_dir(dir).map_err(io)?;
        }
        let first_base = *segments.keys().next().unwrap_or(&0);
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            disk,
            segments,
            log_start_offset: 0,
            config,
            dir_dirty: true,
            producers: ProducerStateTable::new(),
            failed: None,
            leader_epoch: 0,
            epochs: EpochCache::new(),
            roll_work: Vec::new(),
        };
        log.log_start_offset = stored_start.max(first_base).min(log.log_end_offset());
        log.load_epochs();
        log.load_producer_state(now_ms)?;
        Ok(log)
    }

    /// The leader-epoch cache from its checkpoint, cut to the recovered log, plus what the
    /// segments scanned at open saw (recovery rescans what the checkpoint may not cover).
    fn load_epochs(&mut self) {
        let mut cache = self
            .disk
            .read(&self.dir.join(epochs::CHECKPOINT_FILE))
            .ok()
            .and_then(|b| EpochCache::decode(&b))
            .unwrap_or_default();
        cache.truncate_from_end(self.log_end_offset());
        for seg in self.segments.values() {
            for &(epoch, start) in &seg.epoch_starts {
                cache.assign(epoch, start);
            }
        }
        cache.truncate_from_start(self.log_start_offset);
        self.epochs = cache;
        self.leader_epoch = self.epochs.latest().map(|(e, _)| e).unwrap_or(0);
    }

    /// The largest leader epoch this log has seen.
    pub fn latest_epoch(&self) -> i32 {
        self.epochs.latest().map(|(e, _)| e).unwrap_or(0)
    }

    /// Makes this broker the partition's leader in `epoch`: new batches carry it, and it starts
    /// at the log end (Kafka assigns the epoch when a replica becomes leader).
    pub fn set_leader_epoch(&mut self, epoch: i32) {
        if epoch >= self.leader_epoch {
            self.leader_epoch = epoch;
            let end = self.log_end_offset();
            self.epochs.assign(epoch, end);
        }
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    pub fn epochs(&self) -> &EpochCache {
        &self.epochs
    }

    /// The leader-epoch checkpoint as it stands.
    pub fn epoch_checkpoint(&self) -> Vec<u8> {
        self.epochs.encode()
    }

    /// Rolls whose I/O is still to be done; the caller performs them without the lock.
    pub fn take_roll_work(&mut self) -> Vec<RollWork> {
        std::mem::take(&mut self.roll_work)
    }

    /// The producer state from the newest valid snapshot at or below the log end plus the
    /// batches after it (or the whole log without one); then forgets what Kafka would have
    /// forgotten by now: producers whose data is below the log start, and producers idle past
    /// `producer.id.expiration.ms`. Snapshots past the log end (of a tail recovery cut off) are
    /// removed.
    fn load_producer_state(&mut self, now_ms: i64) -> Result<(), LogError> {
        let end = self.log_end_offset();
        let mut offsets = Vec::new();
        for entry in self.disk.list(&self.dir).map_err(|e| LogError::io(&self.dir, e))? {
            if entry.name == OLD_PRODUCER_SNAPSHOT_FILE {
                let path = self.dir.join(&entry.name);
                self.disk.remove_file(&path).map_err(|e| LogError::io(&path, e))?;
            } else if let Some(offset) = snapshot_offset(&entry.name) {
                offsets.push(offset);
            }
        }
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        let mut from = None;
        for offset in offsets {
            let path = self.dir.join(snapshot_name(offset));
            if offset > end {
                self.disk.remove_file(&path).map_err(|e| LogError::io(&path, e))?;
                continue;
            }
            if from.is_some() {
                continue;
            }
            let table = self
                .disk
                .read(&path)
                .ok()
                .and_then(|b| ProducerStateTable::decode(&b))
                .filter(|(covers, _)| *covers == offset);
            match table {
                Some((_, table)) => {
                    self.producers = table;
                    from = Some(offset);
                }
                None => tracing::warn!(path = %path.display(), "ignoring a damaged producer-state snapshot"),
            }
        }
        let from = from.unwrap_or_else(|| {
            self.producers = ProducerStateTable::new();
            0
        });
        self.replay_producer_state(from)?;
        self.producers.truncate_head(self.log_start_offset);
        self.producers
            .remove_expired(now_ms, producers::PRODUCER_ID_EXPIRATION_MS);
        Ok(())
    }

    /// Replays the headers of the batches from offset `from` into the producer state.
    fn replay_producer_state(&mut self, from: i64) -> Result<(), LogError> {
        let mut table = std::mem::take(&mut self.producers);
        let mut replayed = 0usize;
        self.for_each_batch_from(from, |h| {
            replayed += 1;
            if h.producer_id >= 0 {
                table.record(
                    h.producer_id,
                    h.producer_epoch,
                    h.base_sequence,
                    h.last_sequence(),
                    h.base_offset,
                    h.last_offset(),
                    h.max_timestamp,
                );
            }
        })?;
        if replayed > 0 {
            tracing::debug!(dir = %self.dir.display(), from, batches = replayed, producers = table.len(), "replayed producer state");
        }
        self.producers = table;
        Ok(())
    }

    /// Decides what to do with an incoming batch of an idempotent producer (see
    /// [`ProducerStateTable::check`]); `Err` is a Kafka error code. Call under the same lock
    /// guard as the [`append`](Self::append) that follows.
    pub fn check_producer(&self, header: &BatchHeader) -> Result<Decision, i16> {
        self.producers.check(
            header.producer_id,
            header.producer_epoch,
            header.base_sequence,
            header.last_sequence(),
        )
    }

    /// The idempotent producers this partition remembers.
    pub fn producer_state(&self) -> &ProducerStateTable {
        &self.producers
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The next offset to be assigned; on a single node also the high watermark.
    pub fn log_end_offset(&self) -> i64 {
        self.segments.values().next_back().map(|s| s.next_offset).unwrap_or(0)
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn active(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has an active segment")
    }

    /// Err when the partition is offline after a failed write or fsync.
    pub fn check_online(&self) -> Result<(), LogError> {
        match &self.failed {
            Some(reason) => Err(LogError::Offline {
                path: self.dir.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    pub fn is_online(&self) -> bool {
        self.failed.is_none()
    }

    /// Takes the partition offline after a storage failure (see `failed`).
    pub fn fail(&mut self, e: &LogError) {
        if self.failed.is_none() {
            tracing::error!(dir = %self.dir.display(), error = %e, "storage failure: partition offline until the broker restarts");
            self.failed = Some(e.to_string());
        }
    }

    /// Passes `r` through, taking the partition offline if it is an error.
    fn guard<T>(&mut self, r: Result<T, LogError>) -> Result<T, LogError> {
        if let Err(e) = &r {
            self.fail(e);
        }
        r
    }

    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// Closes the active segment (fsync, indexes written) and starts a new one at the end.
    pub fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.check_online()?;
        let r = self.roll_unchecked(now_ms);
        self.guard(r)
    }

    /// Starts a new segment at the end; the closed one's I/O is left in [`RollWork`].
    fn roll_unchecked(&mut self, now_ms: i64) -> Result<(), LogError> {
        let dir = self.dir.clone();
        let disk = Arc::clone(&self.disk);
        let active = self
            .segments
            .values()
            .next_back()
            .expect("a log always has an active segment");
        if active.is_empty() {
            return Ok(());
        }
        let next = active.next_offset;
        let work = RollWork {
            disk: Arc::clone(&disk),
            dir: dir.clone(),
            file: Arc::clone(&active.file),
            log_path: active.log_path.clone(),
            base_offset: active.base_offset,
            indexes: active.index_bytes(),
            next_offset: next,
            snapshot: self.producers.encode(next),
        };
        self.segments.insert(next, Segment::create(&*disk, &dir, next, now_ms)?);
        self.dir_dirty = true;
        self.roll_work.push(work);
        Ok(())
    }

    /// Appends one validated batch: rolls if needed, stamps offset and epoch (and the time for
    /// LogAppendTime), writes it. The stored batch is the client's bytes but for the base
    /// offset and partition leader epoch, which lie outside the CRC: those 16 bytes are
    /// stamped in a copy of the head and written with the rest in one `pwritev`, so the batch
    /// is not copied. Only LogAppendTime, which rewrites CRC-covered fields, copies it. A
    /// failed write takes the partition offline.
    pub fn append(&mut self, batch: &[u8], header: &BatchHeader, now_ms: i64) -> Result<Appended, LogError> {
        self.check_online()?;
        let r = self.append_unchecked(batch, header, now_ms);
        self.guard(r)
    }

    fn append_unchecked(&mut self, batch: &[u8], header: &BatchHeader, now_ms: i64) -> Result<Appended, LogError> {
        let base_offset = self.log_end_offset();
        let last_offset = base_offset + header.last_offset_delta as i64;
        let len = batch.len() as u64;
        let (seg_bytes, seg_ms) = (self.config.segment_bytes, self.config.segment_ms);
        let active = self.active();
        let full = !active.is_empty()
            && (active.size + len > seg_bytes
                || now_ms - active.created_ms >= seg_ms
                || active.would_overflow(last_offset, len));
        if full {
            self.roll_unchecked(now_ms)?;
        }
        let mut stamped = *header;
        stamped.base_offset = base_offset;
        stamped.leader_epoch = self.leader_epoch;
        let mut log_append_time = -1;
        if self.config.timestamp_type == TimestampType::LogAppendTime {
            let mut owned = batch.to_vec();
            batch::stamp_offset(&mut owned, base_offset, self.leader_epoch);
            batch::set_log_append_time(&mut owned, now_ms);
            log_append_time = now_ms;
            stamped.max_timestamp = now_ms;
            self.active().append(&[&owned], &stamped, now_ms)?;
        } else {
            let mut head = [0u8; batch::STAMPED_LEN];
            head.copy_from_slice(&batch[..batch::STAMPED_LEN]);
            batch::stamp_offset(&mut head, base_offset, self.leader_epoch);
            self.active()
                .append(&[&head, &batch[batch::STAMPED_LEN..]], &stamped, now_ms)?;
        }
        self.epochs.assign(self.leader_epoch, base_offset);
        // Recorded only once written, exactly as the rebuild on open replays it.
        self.producers.record(
            header.producer_id,
            header.producer_epoch,
            header.base_sequence,
            header.last_sequence(),
            base_offset,
            last_offset,
            stamped.max_timestamp,
        );
        Ok(Appended {
            base_offset,
            last_offset,
            log_append_time,
        })
    }

    /// Plans a read at `offset`. `Ok(None)` means the offset is the log end (nothing yet).
    pub fn plan_read(&self, offset: i64) -> Result<Option<ReadPlan>, ReadError> {
        if let Some(reason) = &self.failed {
            return Err(ReadError::Offline(reason.clone()));
        }
        let leo = self.log_end_offset();
        if offset < self.log_start_offset || offset > leo {
            return Err(ReadError::OutOfRange {
                log_start: self.log_start_offset,
                high_watermark: leo,
            });
        }
        if offset == leo {
            return Ok(None);
        }
        let (_, seg) = self
            .segments
            .range(..=offset)
            .next_back()
            .or_else(|| self.segments.iter().next())
            .expect("non-empty");
        // The offset may sit past this segment's end if it is exactly a later segment's base.
        let seg = if offset >= seg.next_offset {
            match self.segments.range(offset..).next() {
                Some((_, s)) => s,
                None => return Ok(None),
            }
        } else {
            seg
        };
        Ok(Some(ReadPlan {
            reader: SegmentReader {
                file: Arc::clone(&seg.file),
                path: seg.log_path.clone(),
                end: seg.size,
            },
            start_pos: seg.lookup_position(offset),
            offset,
        }))
    }

    /// Plans a timestamp lookup: the first segment whose largest timestamp reaches `ts`, and
    /// where in it to start scanning. `None`: no batch has such a timestamp.
    pub fn plan_timestamp(&self, ts: i64) -> Option<ReadPlan> {
        let seg = self.segments.values().find(|s| s.max_timestamp >= ts)?;
        let from = seg.lookup_timestamp(ts).max(self.log_start_offset);
        Some(ReadPlan {
            reader: SegmentReader {
                file: Arc::clone(&seg.file),
                path: seg.log_path.clone(),
                end: seg.size,
            },
            start_pos: seg.lookup_position(from),
            offset: from,
        })
    }

    /// Offset and timestamp of the record with the largest timestamp (ListOffsets -3).
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.segments
            .values()
            .filter(|s| s.max_timestamp >= 0 && s.max_timestamp_offset >= self.log_start_offset)
            .max_by_key(|s| s.max_timestamp)
            .map(|s| (s.max_timestamp_offset, s.max_timestamp))
    }

    /// Files not yet known to be durable up to the end, for the flusher.
    pub fn sync_handles(&mut self, durable_offset: i64) -> (Vec<FileRef>, Option<PathBuf>) {
        let files = self
            .segments
            .values()
            .filter(|s| s.next_offset > durable_offset || s.is_empty())
            .map(|s| Arc::clone(&s.file))
            .collect();
        let dir = std::mem::take(&mut self.dir_dirty).then(|| self.dir.clone());
        (files, dir)
    }

    /// Deletes closed segments past `retention.ms` (by their largest timestamp, or last write
    /// when they have none) or beyond `retention.bytes`, all I/O inline. Returns how many were
    /// removed. (The broker uses [`crate::broker::partition::Partition::apply_retention`],
    /// which does the same without holding the log's lock across the I/O.)
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let plan = self.plan_retention(now_ms)?;
        let disk = Arc::clone(&self.disk);
        for work in self.take_roll_work() {
            let r = work.perform(|| self.epochs.encode());
            self.guard(r)?;
        }
        let Some(plan) = plan else { return Ok(0) };
        if plan.start > self.log_start_offset {
            let r = persist_log_start(&*disk, &self.dir, plan.start);
            self.guard(r)?;
        }
        let removed = self.apply_retention_plan(&plan);
        for seg in &removed {
            let r = seg.remove_files(&*disk, &self.dir);
            self.guard(r)?;
        }
        Ok(removed.len())
    }

    /// Decides what retention deletes (memory only, but an expired active segment is rolled,
    /// leaving [`RollWork`]); forgets idle producers. `None`: nothing to delete.
    pub fn plan_retention(&mut self, now_ms: i64) -> Result<Option<RetentionPlan>, LogError> {
        self.check_online()?;
        let (retention_ms, retention_bytes) = (self.config.retention_ms, self.config.retention_bytes);
        // If the active segment itself is expired, roll first so it can go too (as Kafka does).
        if retention_ms >= 0 {
            let active = self.segments.values().next_back().expect("active");
            if !active.is_empty() && Self::expired(active, now_ms, retention_ms) {
                let r = self.roll_unchecked(now_ms);
                self.guard(r)?;
            }
        }
        // Producers idle past their expiration are forgotten on the cleaner's schedule, as
        // Kafka's `removeExpiredProducers` does.
        self.producers
            .remove_expired(now_ms, producers::PRODUCER_ID_EXPIRATION_MS);
        let mut total = self.size_bytes() as i64;
        let mut doomed = Vec::new();
        for (i, (&base, seg)) in self.segments.iter().enumerate() {
            if i + 1 == self.segments.len() {
                break;
            }
            let by_time = retention_ms >= 0 && Self::expired(seg, now_ms, retention_ms);
            let by_size = retention_bytes >= 0 && total - seg.size as i64 >= retention_bytes;
            // Segments entirely below a DeleteRecords start offset are garbage too.
            let below_start = seg.next_offset <= self.log_start_offset && !seg.is_empty();
            if !(by_time || by_size || below_start) {
                break;
            }
            total -= seg.size as i64;
            doomed.push(base);
        }
        let Some(&last) = doomed.last() else { return Ok(None) };
        // The next segment's base: where the log now starts.
        let next_base = *self
            .segments
            .range(last + 1..)
            .next()
            .map(|(b, _)| b)
            .expect("the active segment is never doomed");
        Ok(Some(RetentionPlan {
            doomed,
            start: self.log_start_offset.max(next_base),
        }))
    }

    /// Applies a [`RetentionPlan`] whose start offset is durable: moves the log start and
    /// takes the doomed segments out; the caller removes their files.
    pub fn apply_retention_plan(&mut self, plan: &RetentionPlan) -> Vec<Segment> {
        self.set_log_start(plan.start);
        plan.doomed.iter().filter_map(|b| self.segments.remove(b)).collect()
    }

    /// Raises the log start offset (already durable) and forgets what lies below it.
    fn set_log_start(&mut self, start: i64) {
        if start > self.log_start_offset {
            self.log_start_offset = start;
            self.producers.truncate_head(start);
            self.epochs.truncate_from_start(start);
        }
    }

    fn expired(seg: &Segment, now_ms: i64, retention_ms: i64) -> bool {
        let ts = if seg.max_timestamp >= 0 {
            seg.max_timestamp
        } else {
            seg.last_append_ms
        };
        now_ms - ts > retention_ms
    }

    /// DeleteRecords: raises the log start offset (`-1` means the high watermark), durably
    /// before it returns (all I/O inline; the broker uses
    /// [`crate::broker::partition::Partition::delete_records`]).
    pub fn delete_records(&mut self, offset: i64) -> Result<i64, ReadError> {
        if let Some(target) = self.delete_records_target(offset)? {
            let persisted = persist_log_start(&*self.disk, &self.dir, target);
            if let Err(e) = self.guard(persisted) {
                return Err(ReadError::Offline(e.to_string()));
            }
            self.set_log_start(target);
        }
        Ok(self.log_start_offset)
    }

    /// The start offset a DeleteRecords to `offset` moves to, if it moves it.
    pub fn delete_records_target(&self, offset: i64) -> Result<Option<i64>, ReadError> {
        if let Some(reason) = &self.failed {
            return Err(ReadError::Offline(reason.clone()));
        }
        let leo = self.log_end_offset();
        let target = if offset == -1 { leo } else { offset };
        if target < 0 || target > leo {
            return Err(ReadError::OutOfRange {
                log_start: self.log_start_offset,
                high_watermark: leo,
            });
        }
        Ok((target > self.log_start_offset).then_some(target))
    }

    /// Applies a start offset that [`persist_log_start`] made durable.
    pub fn log_start_persisted(&mut self, start: i64) {
        self.set_log_start(start);
    }

    /// Clean shutdown: fsync everything, write the active segment's indexes and the
    /// producer-state snapshot.
    pub fn close(&mut self) -> Result<(), LogError> {
        self.check_online()?;
        let r = self.close_unchecked();
        self.guard(r)
    }

    fn close_unchecked(&mut self) -> Result<(), LogError> {
        let dir = self.dir.clone();
        let disk = Arc::clone(&self.disk);
        for work in self.take_roll_work() {
            work.perform(|| self.epochs.encode())?;
        }
        for seg in self.segments.values() {
            seg.file.sync_data().map_err(|e| LogError::io(&seg.log_path, e))?;
        }
        if let Some(active) = self.segments.values().next_back() {
            if !active.is_empty() {
                active.write_indexes(&*disk, &dir)?;
            }
        }
        let cp = dir.join(epochs::CHECKPOINT_FILE);
        storage::write_atomically(&*disk, &cp, &self.epochs.encode()).map_err(|e| LogError::io(&cp, e))?;
        // Not fsynced on purpose: a snapshot lost or torn by a power failure fails its CRC or
        // is missing, and the next start uses an older one and replays more of the log.
        let end = self.log_end_offset();
        let snapshot = self.producers.encode(end);
        let path = dir.join(snapshot_name(end));
        let tmp = dir.join(format!("{}.tmp", snapshot_name(end)));
        let written = disk.open(&tmp, storage::OpenMode::Truncate).and_then(|f| {
            f.write_all_at(&snapshot, 0)?;
            disk.rename(&tmp, &path)
        });
        if let Err(e) = written {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot write the producer-state snapshot; the next start replays more of the log");
        }
        disk.sync_dir(&dir).map_err(|e| LogError::io(&dir, e))?;
        Ok(())
    }

    /// Iterates batch headers of the segments from the one holding `from` on (producer-state
    /// replay). Only the fixed headers are read; record bodies are skipped. A header that does
    /// not parse ends the walk of its segment (logged).
    pub fn for_each_batch_from(&self, from: i64, mut f: impl FnMut(&BatchHeader)) -> Result<(), LogError> {
        let mut head = [0u8; batch::HEADER_LEN];
        let first = self
            .segments
            .range(..=from)
            .next_back()
            .map(|(&b, _)| b)
            .unwrap_or(i64::MIN);
        for seg in self.segments.range(first..).map(|(_, s)| s) {
            let io = |e| LogError::io(&seg.log_path, e);
            // Reading through a buffer makes small batches cost no syscall each; a skipped
            // body that leaves the buffer is a cheap seek.
            let mut reader = BufReader::with_capacity(64 * 1024, FileCursor::new(&*seg.file, 0));
            let mut pos = 0u64;
            while pos + batch::HEADER_LEN as u64 <= seg.size {
                reader.read_exact(&mut head).map_err(io)?;
                let h = match BatchHeader::parse(&head) {
                    Ok(h) => h,
                    Err(reason) => {
                        // A closed segment is not re-verified on a clean start; its reads
                        // fail the same way. Without a batch boundary the rest of it is lost
                        // to the walk, but the other segments still count.
                        tracing::warn!(path = %seg.log_path.display(), position = pos, %reason, "unreadable batch header");
                        break;
                    }
                };
                if h.last_offset() >= from {
                    f(&h);
                }
                let total = h.total_len() as u64;
                reader
                    .seek_relative((total - batch::HEADER_LEN as u64) as i64)
                    .map_err(io)?;
                pos += total;
            }
        }
        Ok(())
    }
}

/// Executes a planned read: whole batches from the one containing the plan's offset.
pub fn execute_read(plan: &ReadPlan, max_bytes: usize, min_one: bool) -> Result<Vec<u8>, LogError> {
    match plan.reader.seek_offset(plan.offset, plan.start_pos)? {
        Some(pos) => plan.reader.read_batches(pos, max_bytes, min_one),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::batch::tests::{make_batch, make_idempotent_batch};
    use super::*;
    use crate::broker::config::BrokerConfig;
    use crate::broker::producers::{INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER};
    use crate::broker::storage::OsDisk;
    use std::collections::BTreeMap;

    fn cfg(segment_bytes: &str, retention_ms: &str, retention_bytes: &str) -> LogConfig {
        let mut o = BTreeMap::new();
        o.insert("segment.bytes".into(), segment_bytes.into());
        o.insert("retention.ms".into(), retention_ms.into());
        o.insert("retention.bytes".into(), retention_bytes.into());
        LogConfig::resolve(&BrokerConfig::default(), &o)
    }

    fn append_n(log: &mut PartitionLog, n: usize, count: i32, ts: i64) -> Vec<Appended> {
        (0..n)
            .map(|_| {
                let mut b = make_batch(count, ts, 100);
                let h = batch::validate(&b).unwrap();
                log.append(&mut b, &h, ts).unwrap()
            })
            .collect()
    }

    /// Indexes written at a clean stop describe the active segment as it was then. If the next
    /// run appends to it without an fsync and rolls (the roll's fsync never runs), and then
    /// crashes, recovery reads those batches from the page cache: it must check and fsync
    /// them, or it serves (and answers retries as duplicates of) data a power loss takes away.
    /// Trusting the stale index for a closed segment lost offsets 2 and 3 here.
    #[test]
    fn recovery_makes_batches_behind_a_stale_index_durable() {
        use crate::broker::storage::sim::{SimDisk, SimRng};
        let disk = SimDisk::new();
        let dir = Path::new("/data/t-0");
        storage::create_dir_durably(&*disk.storage(), dir).unwrap();
        let config = cfg("1000000", "-1", "-1");
        let mut log = PartitionLog::open(disk.storage(), dir, config.clone(), false, 0).unwrap();
        append_n(&mut log, 2, 1, 10);
        log.close().unwrap();
        drop(log);
        let mut log = PartitionLog::open(disk.storage(), dir, config.clone(), false, 0).unwrap();
        append_n(&mut log, 2, 1, 10);
        log.roll(10).unwrap();
        drop(log);
        let crashed = disk.process_crash();
        let log = PartitionLog::open(crashed.storage(), dir, config.clone(), true, 0).unwrap();
        assert_eq!(log.log_end_offset(), 4, "a process crash keeps the page cache");
        drop(log);
        for seed in 0..16 {
            let after = crashed.power_loss(&mut SimRng::new(seed));
            let log = PartitionLog::open(after.storage(), dir, config.clone(), true, 0).unwrap();
            assert_eq!(
                log.log_end_offset(),
                4,
                "seed {seed}: recovery served offsets up to 4, so they must survive a power loss"
            );
        }
    }

    #[test]
    fn appends_get_consecutive_offsets_and_read_back_whole_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
        let a = append_n(&mut log, 3, 5, 10);
        assert_eq!(a[0].base_offset, 0);
        assert_eq!(a[2].base_offset, 10);
        assert_eq!(log.log_end_offset(), 15);
        let plan = log.plan_read(7).unwrap().unwrap();
        let bytes = execute_read(&plan, 1 << 20, true).unwrap();
        let h = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(h.base_offset, 5, "read starts at the batch holding offset 7");
        assert_eq!(bytes.len(), 2 * h.total_len());
        assert!(log.plan_read(15).unwrap().is_none());
        assert_eq!(
            log.plan_read(16).err(),
            Some(ReadError::OutOfRange {
                log_start: 0,
                high_watermark: 15
            })
        );
    }

    #[test]
    fn max_bytes_smaller_than_a_batch_still_returns_that_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
        append_n(&mut log, 2, 1, 10);
        let bytes = execute_read(&log.plan_read(0).unwrap().unwrap(), 10, true).unwrap();
        assert_eq!(BatchHeader::parse(&bytes).unwrap().total_len(), bytes.len());
    }

    #[test]
    fn segments_roll_and_reopen_with_the_same_offsets() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("500", "-1", "-1"), false, 0).unwrap();
            append_n(&mut log, 10, 2, 10);
            assert!(log.segment_count() > 2);
            log.close().unwrap();
        }
        for verify in [false, true] {
            let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("500", "-1", "-1"), verify, 0).unwrap();
            assert_eq!(log.log_end_offset(), 20);
            let bytes = execute_read(&log.plan_read(13).unwrap().unwrap(), 1 << 20, true).unwrap();
            assert!(BatchHeader::parse(&bytes).unwrap().base_offset <= 13);
        }
    }

    #[test]
    fn largest_timestamp_survives_a_clean_reopen_when_no_sparse_entry_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let append = |log: &mut PartitionLog, ts: i64, payload: usize| {
            let mut b = make_batch(1, ts, payload);
            let h = batch::validate(&b).unwrap();
            log.append(&mut b, &h, ts).unwrap();
        };
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            // The max (900) comes in a small batch that gets no sparse time-index entry; the
            // last offset-index entry is after it, so a reopen does not rescan it.
            append(&mut log, 100, 10);
            append(&mut log, 900, 10);
            append(&mut log, 200, 5000);
            append(&mut log, 300, 10);
            log.close().unwrap();
        }
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
        assert_eq!(
            log.max_timestamp(),
            Some((1, 900)),
            "retention must see the real largest timestamp"
        );
    }

    #[test]
    fn torn_tail_is_truncated_on_unclean_open() {
        let dir = tempfile::tempdir().unwrap();
        let path;
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            append_n(&mut log, 3, 1, 10);
            path = log.segments.values().next().unwrap().log_path.clone();
        }
        let full = std::fs::metadata(&path).unwrap().len();
        // Half a batch at the end, as a crash mid-write leaves it.
        let extra = make_batch(1, 10, 100);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, &extra[..40]).unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), true, 0).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), full);
        assert_eq!(log.log_end_offset(), 3);
        let a = append_n(&mut log, 1, 1, 10);
        assert_eq!(a[0].base_offset, 3, "offsets continue without gaps or reuse");
    }

    #[test]
    fn corrupt_batch_in_tail_is_cut_with_everything_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path;
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            append_n(&mut log, 3, 1, 10);
            path = log.segments.values().next().unwrap().log_path.clone();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let one = bytes.len() / 3;
        bytes[one + 70] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), true, 0).unwrap();
        assert_eq!(log.log_end_offset(), 1);
    }

    #[test]
    fn retention_by_time_deletes_old_closed_segments_and_moves_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("400", "1000", "-1"), false, 0).unwrap();
        append_n(&mut log, 6, 1, 1_000);
        append_n(&mut log, 2, 1, 5_000);
        let before = log.segment_count();
        assert_eq!(
            log.apply_retention(5_500).unwrap(),
            before - 1,
            "every closed segment is past retention"
        );
        assert_eq!(log.log_start_offset(), 6);
        assert!(log.plan_read(2).is_err());
        // Everything expired: the active segment is rolled and removed, log start = end.
        log.apply_retention(100_000).unwrap();
        assert_eq!(log.log_start_offset(), 8);
        assert_eq!(log.log_end_offset(), 8);
    }

    #[test]
    fn retention_by_size_keeps_the_log_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("200", "-1", "400"), false, 0).unwrap();
        append_n(&mut log, 10, 1, 1);
        log.apply_retention(2).unwrap();
        assert!(log.size_bytes() <= 400 + 200, "size {}", log.size_bytes());
        assert!(log.log_start_offset() > 0);
    }

    #[test]
    fn delete_records_moves_log_start_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            append_n(&mut log, 5, 2, 1);
            assert_eq!(log.delete_records(3).unwrap(), 3);
            assert!(log.delete_records(11).is_err());
            assert_eq!(log.delete_records(-1).unwrap(), 10);
        }
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), true, 0).unwrap();
        assert_eq!(log.log_start_offset(), 10);
    }

    #[test]
    fn timestamp_lookup_finds_first_batch_reaching_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
        for ts in [100, 200, 300] {
            append_n(&mut log, 1, 1, ts);
        }
        let plan = log.plan_timestamp(150).unwrap();
        let pos = plan.reader.seek_offset(plan.offset, plan.start_pos).unwrap().unwrap();
        let mut p = pos;
        let mut found = None;
        while let Some((h, _)) = plan.reader.read_batch_at(p).unwrap() {
            if h.max_timestamp >= 150 {
                found = Some(h.base_offset);
                break;
            }
            p += h.total_len() as u64;
        }
        assert_eq!(found, Some(1));
        assert!(log.plan_timestamp(301).is_none());
        assert_eq!(log.max_timestamp(), Some((2, 300)));
    }

    /// Appends `count` records of producer `pid` starting at sequence `seq`, as the produce
    /// handler does: check first, append only on `Append`.
    fn produce(log: &mut PartitionLog, pid: i64, epoch: i16, seq: i32, count: i32, ts: i64) -> Result<Decision, i16> {
        let mut b = make_idempotent_batch(count, ts, pid, epoch, seq);
        let h = batch::validate(&b).unwrap();
        let d = log.check_producer(&h)?;
        if d == Decision::Append {
            log.append(&mut b, &h, ts).unwrap();
        }
        Ok(d)
    }

    fn check(log: &PartitionLog, pid: i64, epoch: i16, seq: i32, count: i32) -> Result<Decision, i16> {
        let b = make_idempotent_batch(count, 1_000, pid, epoch, seq);
        log.check_producer(&batch::validate(&b).unwrap())
    }

    fn duplicate_at(base_offset: i64, last_offset: i64, timestamp_ms: i64) -> Result<Decision, i16> {
        Ok(Decision::Duplicate {
            base_offset,
            last_offset,
            timestamp_ms,
        })
    }

    #[test]
    fn appended_batches_are_remembered_with_their_log_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
        append_n(&mut log, 1, 3, 1_000);
        assert_eq!(produce(&mut log, 7, 0, 0, 5, 1_000), Ok(Decision::Append));
        assert_eq!(
            check(&log, 7, 0, 0, 5),
            duplicate_at(3, 7, 1_000),
            "offsets are the log's, not the client's"
        );
        assert_eq!(log.log_end_offset(), 8);
        assert_eq!(check(&log, 7, 0, 6, 1), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
        assert_eq!(produce(&mut log, 7, 1, 0, 1, 1_000), Ok(Decision::Append));
        assert_eq!(check(&log, 7, 0, 5, 1), Err(INVALID_PRODUCER_EPOCH));
    }

    #[test]
    fn producer_state_is_rebuilt_from_the_log_on_open() {
        for clean in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            {
                // Small segments: the state spans several of them.
                let mut log =
                    PartitionLog::open(OsDisk::shared(), dir.path(), cfg("300", "-1", "-1"), false, 0).unwrap();
                for i in 0..6 {
                    assert_eq!(produce(&mut log, 7, 0, i * 5, 5, 1_000), Ok(Decision::Append));
                    append_n(&mut log, 1, 1, 1_000);
                }
                assert_eq!(produce(&mut log, 8, 2, 0, 2, 1_000), Ok(Decision::Append));
                assert!(log.segment_count() > 2);
                if clean {
                    log.close().unwrap();
                }
            }
            let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("300", "-1", "-1"), !clean, 2_000).unwrap();
            assert_eq!(log.producer_state().len(), 2);
            // Producer 7's batches sit at offsets 0, 6, 12, ...: each batch of 5 plus one plain record.
            assert_eq!(check(&log, 7, 0, 25, 5), duplicate_at(30, 34, 1_000));
            assert_eq!(check(&log, 7, 0, 5, 5), duplicate_at(6, 10, 1_000));
            assert_eq!(
                check(&log, 7, 0, 0, 5),
                Err(OUT_OF_ORDER_SEQUENCE_NUMBER),
                "only the last five are kept"
            );
            assert_eq!(check(&log, 7, 0, 30, 1), Ok(Decision::Append));
            assert_eq!(check(&log, 7, 0, 31, 1), Err(OUT_OF_ORDER_SEQUENCE_NUMBER));
            assert_eq!(check(&log, 8, 1, 2, 1), Err(INVALID_PRODUCER_EPOCH));
            assert_eq!(check(&log, 8, 2, 0, 2), duplicate_at(36, 37, 1_000));
        }
    }

    #[test]
    fn producers_idle_past_expiration_are_not_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            produce(&mut log, 7, 0, 0, 5, 1_000).unwrap();
            produce(&mut log, 8, 0, 0, 5, 50_000).unwrap();
        }
        let log = PartitionLog::open(
            OsDisk::shared(),
            dir.path(),
            cfg("1000000", "-1", "-1"),
            true,
            1_000 + producers::PRODUCER_ID_EXPIRATION_MS,
        )
        .unwrap();
        assert_eq!(log.producer_state().epoch(7), None);
        assert_eq!(log.producer_state().epoch(8), Some(0));
        assert_eq!(
            check(&log, 7, 0, 42, 1),
            Ok(Decision::Append),
            "a forgotten producer may start anywhere"
        );
    }

    #[test]
    fn delete_records_forgets_producers_whose_data_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            produce(&mut log, 7, 0, 0, 5, 1_000).unwrap();
            produce(&mut log, 8, 0, 0, 5, 1_000).unwrap();
            assert_eq!(log.delete_records(5).unwrap(), 5);
            assert_eq!(check(&log, 7, 0, 42, 1), Ok(Decision::Append));
            assert_eq!(check(&log, 8, 0, 0, 5), duplicate_at(5, 9, 1_000));
        }
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), true, 2_000).unwrap();
        assert_eq!(log.producer_state().epoch(7), None, "not resurrected by the rebuild");
        assert_eq!(log.producer_state().epoch(8), Some(0));
    }

    #[test]
    fn retention_forgets_producers_of_deleted_segments() {
        let dir = tempfile::tempdir().unwrap();
        // Two batches per segment: producer 7 alone in the first, old one.
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("200", "10000", "-1"), false, 0).unwrap();
        for seq in 0..2 {
            produce(&mut log, 7, 0, seq, 1, 1_000).unwrap();
        }
        for seq in 0..3 {
            produce(&mut log, 8, 0, seq, 1, 20_000).unwrap();
        }
        assert_eq!(log.apply_retention(25_000).unwrap(), 1);
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.producer_state().epoch(7), None);
        assert_eq!(check(&log, 8, 0, 2, 1), duplicate_at(4, 4, 20_000));
    }

    #[test]
    fn idle_producers_expire_on_the_cleaners_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
        produce(&mut log, 7, 0, 0, 1, 1_000).unwrap();
        log.apply_retention(1_000 + producers::PRODUCER_ID_EXPIRATION_MS - 1)
            .unwrap();
        assert_eq!(log.producer_state().len(), 1);
        log.apply_retention(1_000 + producers::PRODUCER_ID_EXPIRATION_MS)
            .unwrap();
        assert!(log.producer_state().is_empty());
        assert_eq!(log.log_end_offset(), 1, "the data itself stays");
    }

    #[test]
    fn a_clean_close_leaves_a_snapshot_that_the_next_open_uses() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join(snapshot_name(5));
        {
            let mut log =
                PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 0).unwrap();
            produce(&mut log, 7, 0, 0, 5, 1_000).unwrap();
            log.close().unwrap();
        }
        let (end, table) = ProducerStateTable::decode(&std::fs::read(&snap).unwrap()).unwrap();
        assert_eq!((end, table.epoch(7)), (5, Some(0)));
        // Swap in another table for the same log end: the open must take it as it is.
        let mut other = ProducerStateTable::new();
        other.record(99, 3, 0, 0, 4, 4, 1_000);
        std::fs::write(&snap, other.encode(5)).unwrap();
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("1000000", "-1", "-1"), false, 2_000).unwrap();
        assert_eq!(
            (log.producer_state().epoch(99), log.producer_state().epoch(7)),
            (Some(3), None)
        );
    }

    #[test]
    fn a_roll_snapshot_bounds_the_replay_and_damaged_or_later_snapshots_are_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let roll_base;
        {
            // Two batches per segment.
            let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("200", "-1", "-1"), false, 0).unwrap();
            for seq in 0..5 {
                produce(&mut log, 7, 0, seq, 1, 1_000).unwrap();
                for work in log.take_roll_work() {
                    work.perform(|| log.epoch_checkpoint()).unwrap();
                }
            }
            roll_base = *log.segments.keys().next_back().unwrap();
            assert!(roll_base > 0);
            // A crash: no close.
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".snapshot"))
            .collect();
        assert_eq!(names, vec![snapshot_name(roll_base)], "older snapshots are removed");
        // Replace the roll's snapshot: producer 7 is gone from it, 99 is in it. An open that
        // replays only what follows the snapshot keeps exactly that.
        let mut other = ProducerStateTable::new();
        other.record(99, 3, 0, 0, 0, 0, 1_000);
        std::fs::write(dir.path().join(snapshot_name(roll_base)), other.encode(roll_base)).unwrap();
        // One past the end (from a tail that recovery cut) and one damaged: neither is used.
        std::fs::write(dir.path().join(snapshot_name(1_000)), other.encode(1_000)).unwrap();
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("200", "-1", "-1"), true, 2_000).unwrap();
        assert_eq!(log.producer_state().epoch(99), Some(3));
        let after: Vec<i32> = log.producer_state().batches(7).iter().map(|b| b.first_seq).collect();
        let expected: Vec<i32> = (roll_base as i32..5).collect();
        assert_eq!(after, expected, "only the batches after the snapshot were replayed");
        assert!(!dir.path().join(snapshot_name(1_000)).exists());
        drop(log);
        std::fs::write(dir.path().join(snapshot_name(roll_base)), b"torn").unwrap();
        let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("200", "-1", "-1"), true, 2_000).unwrap();
        assert_eq!(log.producer_state().epoch(99), None, "a damaged snapshot is ignored");
        assert_eq!(
            log.producer_state().batches(7).len(),
            5,
            "the whole log is replayed instead"
        );
    }

    #[test]
    fn leader_epochs_are_stamped_and_survive_reopen_and_recovery() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("300", "-1", "-1"), false, 0).unwrap();
            append_n(&mut log, 3, 1, 10);
            log.set_leader_epoch(2);
            append_n(&mut log, 3, 1, 10);
            for work in log.take_roll_work() {
                work.perform(|| log.epoch_checkpoint()).unwrap();
            }
            log.set_leader_epoch(5);
            append_n(&mut log, 2, 1, 10);
            assert_eq!(log.epochs().entries(), &[(0, 0), (2, 3), (5, 6)]);
            let bytes = execute_read(&log.plan_read(7).unwrap().unwrap(), 1 << 20, true).unwrap();
            assert_eq!(BatchHeader::parse(&bytes).unwrap().leader_epoch, 5);
            // A crash: the checkpoint was written at the last roll only.
        }
        for verify in [true, false] {
            let log = PartitionLog::open(OsDisk::shared(), dir.path(), cfg("300", "-1", "-1"), verify, 0).unwrap();
            assert_eq!(log.epochs().entries(), &[(0, 0), (2, 3), (5, 6)], "verify {verify}");
            assert_eq!(log.latest_epoch(), 5);
            assert_eq!(log.epochs().end_offset_for(2, log.log_end_offset()), (2, 6));
        }
    }
}
