//! One log segment: a `.log` file of record batches plus its sparse `.index` and `.timeindex`,
//! named by the 20-digit base offset as Kafka names them.
//!
//! `.log`: record batches v2 back to back, exactly as produced (see [`super::batch`]).
//!
//! `.index` (8-byte entries, big-endian), one entry per [`INDEX_INTERVAL_BYTES`] of log:
//!
//! | offset | size | field                                              |
//! |-------:|-----:|----------------------------------------------------|
//! | 0      | 4    | base offset of a batch, relative to the segment's  |
//! | 4      | 4    | byte position of that batch in the `.log` file     |
//!
//! `.timeindex` (12-byte entries, big-endian), appended when the segment's largest timestamp
//! grows and an index interval has passed:
//!
//! | offset | size | field                                              |
//! |-------:|-----:|----------------------------------------------------|
//! | 0      | 8    | largest timestamp so far in the segment            |
//! | 8      | 4    | relative last offset of the batch that carried it  |
//!
//! Indexes live in memory while the broker runs and are written when a segment is rolled
//! (after its log is fsynced) and at clean shutdown. They carry no checksum: after an unclean
//! stop the active segment is rescanned batch by batch with CRC checks and its indexes rebuilt.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::broker::error::LogError;
use crate::broker::storage::{self, FileCursor, FileRef, OpenMode, Storage};

use super::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};

/// Kafka's `index.interval.bytes` default.
pub const INDEX_INTERVAL_BYTES: u64 = 4096;

/// (offset index entries, time index entries) as loaded from disk.
type Indexes = (Vec<(u32, u32)>, Vec<(i64, u32)>);

pub fn segment_file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

pub struct Segment {
    pub base_offset: i64,
    pub log_path: PathBuf,
    pub file: FileRef,
    /// Bytes of complete batches in the file.
    pub size: u64,
    /// Offset after the last batch (== base_offset when empty).
    pub next_offset: i64,
    pub max_timestamp: i64,
    pub max_timestamp_offset: i64,
    /// Wall-clock time the segment was created or last appended to (ms), for `segment.ms`
    /// rolls and for retention of batches without timestamps.
    pub created_ms: i64,
    pub last_append_ms: i64,
    index: Vec<(u32, u32)>,
    time_index: Vec<(i64, u32)>,
    bytes_since_index: u64,
    bytes_since_time_index: u64,
    /// (leader epoch, first offset) wherever the epoch changes between the batches this
    /// segment appended or scanned, for the leader-epoch cache.
    pub epoch_starts: Vec<(i32, i64)>,
}

/// What an open found and did.
pub struct OpenReport {
    pub truncated_bytes: u64,
    /// Every batch was checked (so the file may hold bytes that were never fsynced).
    pub verified: bool,
}

/// How much of a segment [`Segment::open`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Trust the indexes and the data (after a clean shutdown).
    Nothing,
    /// A closed segment after an unclean shutdown: check the batches after the last index
    /// entry, or every batch if the indexes are missing or unusable. A roll fsyncs a segment
    /// before writing its indexes, but indexes written at a clean stop may be older than
    /// batches appended after the next start.
    WithoutIndex,
    /// Check every batch (the active segment after an unclean shutdown).
    All,
}

impl Segment {
    pub fn create(disk: &dyn Storage, dir: &Path, base_offset: i64, now_ms: i64) -> Result<Self, LogError> {
        let log_path = dir.join(segment_file_name(base_offset, "log"));
        for ext in ["index", "timeindex"] {
            let path = dir.join(segment_file_name(base_offset, ext));
            if disk.exists(&path) {
                disk.remove_file(&path).map_err(|e| LogError::io(&path, e))?;
            }
        }
        let file = disk
            .open(&log_path, OpenMode::Truncate)
            .map_err(|e| LogError::io(&log_path, e))?;
        Ok(Segment {
            base_offset,
            log_path,
            file,
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            max_timestamp_offset: -1,
            created_ms: now_ms,
            last_append_ms: now_ms,
            index: Vec::new(),
            time_index: Vec::new(),
            bytes_since_index: 0,
            bytes_since_time_index: 0,
            epoch_starts: Vec::new(),
        })
    }

    /// Opens an existing segment. A verified segment has every batch's CRC checked and is
    /// truncated (and the truncation fsynced) at the first incomplete or corrupt batch;
    /// otherwise a valid on-disk index is trusted and only the tail after its last entry is
    /// scanned.
    pub fn open(
        disk: &dyn Storage,
        dir: &Path,
        base_offset: i64,
        verify: Verify,
    ) -> Result<(Self, OpenReport), LogError> {
        let log_path = dir.join(segment_file_name(base_offset, "log"));
        let file = disk
            .open(&log_path, OpenMode::Existing)
            .map_err(|e| LogError::io(&log_path, e))?;
        let file_len = file.len().map_err(|e| LogError::io(&log_path, e))?;
        let mtime = file.modified_ms().unwrap_or(0);
        let mut seg = Segment {
            base_offset,
            log_path: log_path.clone(),
            file,
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            max_timestamp_offset: -1,
            created_ms: mtime,
            last_append_ms: mtime,
            index: Vec::new(),
            time_index: Vec::new(),
            bytes_since_index: 0,
            bytes_since_time_index: 0,
            epoch_starts: Vec::new(),
        };
        let mut start_pos = 0u64;
        let verify_without_index = verify == Verify::WithoutIndex;
        let mut verify = verify == Verify::All;
        if !verify {
            let indexes = seg.load_indexes(disk, dir, file_len);
            // After an unclean stop an index may be older than its segment: written at a clean
            // stop, after which the segment took more batches that were never fsynced. So the
            // tail after its last entry is checked (and then fsynced by the caller) as well.
            verify = verify_without_index;
            if let Some((index, time_index)) = indexes {
                if let Some(&(_, pos)) = index.last() {
                    start_pos = pos as u64;
                }
                if let Some(&(ts, rel)) = time_index.last() {
                    seg.max_timestamp = ts;
                    seg.max_timestamp_offset = base_offset + rel as i64;
                }
                seg.index = index;
                seg.time_index = time_index;
                // The entry at start_pos is re-added by the scan below.
                seg.index.pop();
            }
        }
        let valid_end = seg.scan_from(start_pos, file_len, verify)?;
        let mut report = OpenReport {
            truncated_bytes: 0,
            verified: verify,
        };
        if valid_end < file_len {
            report.truncated_bytes = file_len - valid_end;
            seg.file.set_len(valid_end).map_err(|e| LogError::io(&log_path, e))?;
            seg.file.sync_data().map_err(|e| LogError::io(&log_path, e))?;
        }
        Ok((seg, report))
    }

    fn load_indexes(&self, disk: &dyn Storage, dir: &Path, file_len: u64) -> Option<Indexes> {
        let raw = disk
            .read(&dir.join(segment_file_name(self.base_offset, "index")))
            .ok()?;
        let traw = disk
            .read(&dir.join(segment_file_name(self.base_offset, "timeindex")))
            .ok()?;
        if raw.len() % 8 != 0 || traw.len() % 12 != 0 || raw.is_empty() {
            return None;
        }
        let mut index = Vec::with_capacity(raw.len() / 8);
        for e in raw.chunks_exact(8) {
            let rel = u32::from_be_bytes(e[0..4].try_into().ok()?);
            let pos = u32::from_be_bytes(e[4..8].try_into().ok()?);
            if pos as u64 >= file_len || index.last().is_some_and(|&(r, p)| r >= rel || p >= pos) {
                return None;
            }
            index.push((rel, pos));
        }
        let mut time_index = Vec::with_capacity(traw.len() / 12);
        for e in traw.chunks_exact(12) {
            let ts = i64::from_be_bytes(e[0..8].try_into().ok()?);
            let rel = u32::from_be_bytes(e[8..12].try_into().ok()?);
            if time_index.last().is_some_and(|&(t, _)| t > ts) {
                return None;
            }
            time_index.push((ts, rel));
        }
        Some((index, time_index))
    }

    /// Walks batches from `pos`, rebuilding in-memory state; returns where valid data ends.
    fn scan_from(&mut self, mut pos: u64, file_len: u64, verify: bool) -> Result<u64, LogError> {
        let file = Arc::clone(&self.file);
        let mut reader = BufReader::with_capacity(1 << 20, FileCursor::new(&*file, pos));
        let mut buf = Vec::new();
        self.size = pos;
        loop {
            if pos + HEADER_LEN as u64 > file_len {
                return Ok(pos);
            }
            buf.resize(HEADER_LEN, 0);
            if reader.read_exact(&mut buf).is_err() {
                return Ok(pos);
            }
            let Ok(h) = BatchHeader::parse(&buf) else {
                return Ok(pos);
            };
            let total = h.total_len() as u64;
            if pos + total > file_len || h.base_offset < self.next_offset.max(self.base_offset) && self.size > 0 {
                return Ok(pos);
            }
            buf.resize(total as usize, 0);
            if reader.read_exact(&mut buf[HEADER_LEN..]).is_err() {
                return Ok(pos);
            }
            if verify && batch::validate(&buf).is_err() {
                return Ok(pos);
            }
            self.note_appended(&h, pos, total);
            pos += total;
        }
    }

    fn note_appended(&mut self, h: &BatchHeader, pos: u64, len: u64) {
        if self.epoch_starts.last().is_none_or(|&(e, _)| e != h.leader_epoch) {
            self.epoch_starts.push((h.leader_epoch, h.base_offset));
        }
        let rel = (h.base_offset - self.base_offset) as u32;
        if self.index.is_empty() || self.bytes_since_index >= INDEX_INTERVAL_BYTES {
            self.index.push((rel, pos as u32));
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += len;
        self.bytes_since_time_index += len;
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.max_timestamp_offset = h.last_offset();
            if self.time_index.is_empty() || self.bytes_since_time_index >= INDEX_INTERVAL_BYTES {
                self.time_index
                    .push((h.max_timestamp, (h.last_offset() - self.base_offset) as u32));
                self.bytes_since_time_index = 0;
            }
        }
        self.size = pos + len;
        self.next_offset = h.last_offset() + 1;
    }

    /// Appends one stamped, validated batch, given as pieces written back to back (the
    /// stamped head, then the rest as the client sent it). On a failed write the file is cut
    /// back so no partial batch stays behind.
    pub fn append(&mut self, pieces: &[&[u8]], h: &BatchHeader, now_ms: i64) -> Result<(), LogError> {
        let pos = self.size;
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        // Positional writes: the file cursor is never relied on, so a failed write leaves
        // nothing that a later append could land behind.
        if let Err(e) = self.file.write_all_vectored_at(pieces, pos) {
            let _ = self.file.set_len(pos);
            return Err(LogError::io(&self.log_path, e));
        }
        self.note_appended(h, pos, len as u64);
        self.last_append_ms = now_ms;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether the next batch would overflow 32-bit relative offsets or positions.
    pub fn would_overflow(&self, last_offset: i64, len: u64) -> bool {
        last_offset - self.base_offset > i32::MAX as i64 || self.size + len > u32::MAX as u64
    }

    /// Byte position of a batch whose base offset is <= `offset` (a starting point for a scan).
    pub fn lookup_position(&self, offset: i64) -> u64 {
        let rel = (offset - self.base_offset).max(0) as u64;
        let i = self.index.partition_point(|&(r, _)| (r as u64) <= rel);
        if i == 0 {
            0
        } else {
            self.index[i - 1].1 as u64
        }
    }

    /// An offset from which batches with timestamps >= `ts` may start.
    pub fn lookup_timestamp(&self, ts: i64) -> i64 {
        let i = self.time_index.partition_point(|&(t, _)| t < ts);
        if i == 0 {
            self.base_offset
        } else {
            self.base_offset + self.time_index[i - 1].1 as i64
        }
    }

    /// Writes `.index` and `.timeindex` files (after a roll or at clean shutdown), fsynced.
    pub fn write_indexes(&self, disk: &dyn Storage, dir: &Path) -> Result<(), LogError> {
        write_index_files(disk, dir, self.base_offset, self.index_bytes())
    }

    /// The `.index` and `.timeindex` contents.
    pub fn index_bytes(&self) -> (Vec<u8>, Vec<u8>) {
        let mut raw = Vec::with_capacity(self.index.len() * 8);
        for &(rel, pos) in &self.index {
            raw.extend_from_slice(&rel.to_be_bytes());
            raw.extend_from_slice(&pos.to_be_bytes());
        }
        let mut traw = Vec::with_capacity(self.time_index.len() * 12 + 12);
        for &(ts, rel) in &self.time_index {
            traw.extend_from_slice(&ts.to_be_bytes());
            traw.extend_from_slice(&rel.to_be_bytes());
        }
        // The sparse entries may miss the segment's largest timestamp; the file must end with
        // it, because a reopened segment takes its max timestamp (retention's clock) from the
        // last entry. Kafka appends the same final entry on roll.
        if self.max_timestamp >= 0 && self.time_index.last().is_none_or(|&(ts, _)| ts < self.max_timestamp) {
            traw.extend_from_slice(&self.max_timestamp.to_be_bytes());
            traw.extend_from_slice(&((self.max_timestamp_offset - self.base_offset) as u32).to_be_bytes());
        }
        (raw, traw)
    }

    pub fn remove_files(&self, disk: &dyn Storage, dir: &Path) -> Result<(), LogError> {
        remove_segment_files(disk, dir, self.base_offset)
    }
}

/// Writes a segment's `.index` and `.timeindex` files, fsynced.
pub fn write_index_files(
    disk: &dyn Storage,
    dir: &Path,
    base_offset: i64,
    (raw, traw): (Vec<u8>, Vec<u8>),
) -> Result<(), LogError> {
    for (ext, bytes) in [("index", raw), ("timeindex", traw)] {
        let path = dir.join(segment_file_name(base_offset, ext));
        let f = disk
            .open(&path, OpenMode::Truncate)
            .map_err(|e| LogError::io(&path, e))?;
        f.write_all_at(&bytes, 0).map_err(|e| LogError::io(&path, e))?;
        f.sync_data().map_err(|e| LogError::io(&path, e))?;
    }
    Ok(())
}

/// Removes a segment's `.log`, `.index` and `.timeindex` files, those that exist.
pub fn remove_segment_files(disk: &dyn Storage, dir: &Path, base_offset: i64) -> Result<(), LogError> {
    for ext in ["log", "index", "timeindex"] {
        let path = dir.join(segment_file_name(base_offset, ext));
        if disk.exists(&path) {
            disk.remove_file(&path).map_err(|e| LogError::io(&path, e))?;
        }
    }
    Ok(())
}

/// Reads batch headers of a segment file without the partition lock.
pub struct SegmentReader {
    pub file: FileRef,
    pub path: PathBuf,
    /// Bytes of complete batches when the read was planned; nothing past it is read.
    pub end: u64,
}

impl SegmentReader {
    /// Finds the position of the batch containing `offset`, starting at `pos` (from the
    /// index). Returns None when the segment ends first.
    pub fn seek_offset(&self, offset: i64, mut pos: u64) -> Result<Option<u64>, LogError> {
        let mut head = [0u8; 27];
        while pos + HEADER_LEN as u64 <= self.end {
            storage::read_exact_at(&*self.file, &mut head, pos).map_err(|e| LogError::io(&self.path, e))?;
            let base = i64::from_be_bytes(head[0..8].try_into().unwrap_or_default());
            let len = i32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
            let delta = i32::from_be_bytes(head[23..27].try_into().unwrap_or_default());
            if len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
                return Err(LogError::Corrupt {
                    path: self.path.clone(),
                    position: pos,
                    reason: format!("batch length {len}"),
                });
            }
            if base + delta as i64 >= offset {
                return Ok(Some(pos));
            }
            pos += LOG_OVERHEAD as u64 + len as u64;
        }
        Ok(None)
    }

    /// Reads whole batches starting at `pos`, up to `max_bytes`; with `min_one`, at least one
    /// complete batch even when it is larger (KIP-74: the first partition with data of a fetch,
    /// so a consumer can make progress past a large batch). Never a partial batch.
    pub fn read_batches(&self, pos: u64, max_bytes: usize, min_one: bool) -> Result<Vec<u8>, LogError> {
        let avail = (self.end - pos) as usize;
        let want = avail.min(max_bytes.max(HEADER_LEN));
        let mut buf = Vec::with_capacity(want);
        self.file
            .read_exact_into(&mut buf, want, pos)
            .map_err(|e| LogError::io(&self.path, e))?;
        let mut cut = 0usize;
        loop {
            if cut + LOG_OVERHEAD > buf.len() {
                break;
            }
            let len = i32::from_be_bytes(buf[cut + 8..cut + 12].try_into().unwrap_or_default());
            let total = LOG_OVERHEAD + len.max(0) as usize;
            if cut + total > buf.len() {
                if cut == 0 && min_one && total <= avail {
                    // The first batch is larger than max_bytes: return it whole.
                    let have = buf.len();
                    self.file
                        .read_exact_into(&mut buf, total - have, pos + have as u64)
                        .map_err(|e| LogError::io(&self.path, e))?;
                    cut = total;
                }
                break;
            }
            cut += total;
        }
        buf.truncate(cut);
        Ok(buf)
    }

    /// Reads the single batch at `pos` (for timestamp lookups).
    pub fn read_batch_at(&self, pos: u64) -> Result<Option<(BatchHeader, Vec<u8>)>, LogError> {
        if pos + HEADER_LEN as u64 > self.end {
            return Ok(None);
        }
        let mut head = vec![0u8; HEADER_LEN];
        storage::read_exact_at(&*self.file, &mut head, pos).map_err(|e| LogError::io(&self.path, e))?;
        let h = BatchHeader::parse(&head).map_err(|reason| LogError::Corrupt {
            path: self.path.clone(),
            position: pos,
            reason,
        })?;
        // The length comes out of the file: size nothing from it beyond the segment's bytes.
        if pos + h.total_len() as u64 > self.end {
            return Err(LogError::Corrupt {
                path: self.path.clone(),
                position: pos,
                reason: format!("batch length {} runs past the segment end {}", h.batch_length, self.end),
            });
        }
        let mut all = vec![0u8; h.total_len()];
        storage::read_exact_at(&*self.file, &mut all, pos).map_err(|e| LogError::io(&self.path, e))?;
        Ok(Some((h, all)))
    }
}
