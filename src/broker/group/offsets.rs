//! Durable committed offsets and group records: one append-only file, `offsets.log`, in the
//! directory given to [`OffsetStore::open`], replayed into memory on open.
//!
//! What survives a restart: every committed offset (with leader epoch, metadata string, commit
//! and explicit expire timestamps) and each group's [`GroupRecord`] (protocol type, generation,
//! and since when it is Empty). Group membership does not: Kafka persists members too, but after
//! a restart they rejoin anyway, so a group with offsets simply comes back `Empty` (which is
//! what ListGroups and DescribeGroups show for it, as Kafka does once its members timed out).
//!
//! Changes are queued in memory and written and fsynced in batches by whoever flushes them (the
//! group service flushes before acknowledging a commit or a deletion, without holding the
//! store's lock across the fsync); see [`OffsetStore`].
//!
//! # File format
//!
//! An 8-byte header, `STRMOFS1`, then records, all integers big-endian:
//!
//! | offset | size | field                                   |
//! |--------|------|-----------------------------------------|
//! | 0      | 4    | body length `N` (at most 1 MiB)         |
//! | 4      | 4    | CRC-32C (Castagnoli) of the body        |
//! | 8      | N    | body                                    |
//!
//! The body starts with a kind byte; strings are a u16 length and UTF-8 bytes (`str16`), the
//! offset metadata string a u32 length and UTF-8 bytes (`str32`); absent timestamps are -1.
//!
//! | kind | name             | fields after the kind byte                                                                              |
//! |------|------------------|---------------------------------------------------------------------------------------------------------|
//! | 1    | offset commit    | group str16, topic str16, partition i32, offset i64, leader epoch i32, metadata str32, commit timestamp ms i64, expire timestamp ms i64 |
//! | 2    | offset tombstone | group str16, topic str16, partition i32                                                                 |
//! | 3    | group record     | group str16, protocol type str16 ("" = none), generation i32, empty since ms i64 (-1 = had members)    |
//! | 4    | group tombstone  | group str16 (removes the group's offsets and record)                                                   |
//!
//! A later record for the same key replaces an earlier one. On open, the first record that is
//! incomplete, fails its CRC or does not decode ends the log: it and everything after it are
//! truncated (a torn write from a crash; the same recovery Kafka applies to its logs). When the
//! file has grown beyond twice the size of its live records it is rewritten: live records to
//! `offsets.log.compact`, fsync, rename over `offsets.log`, fsync the directory.
//!
//! Must not depend on the coordinator, the protocol codec or tokio.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{GroupRecord, RetentionBase};
use crate::broker::storage::{Disk, FileRef, OpenMode};

const FILE_NAME: &str = "offsets.log";
const COMPACT_NAME: &str = "offsets.log.compact";
const HEADER: &[u8; 8] = b"STRMOFS1";
const FRAME: usize = 8;
/// Larger lengths can only come from a corrupt frame; no real record is near it.
const MAX_BODY: usize = 1 << 20;

const KIND_COMMIT: u8 = 1;
const KIND_OFFSET_TOMBSTONE: u8 = 2;
const KIND_GROUP: u8 = 3;
const KIND_GROUP_TOMBSTONE: u8 = 4;

#[derive(Debug, thiserror::Error)]
pub enum OffsetStoreError {
    #[error("offsets store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is not a strom offsets file (its header is not STRMOFS1); move it away to start \
         with no committed offsets"
    )]
    BadHeader { path: PathBuf },
}

/// A committed offset as OffsetCommit stores it and OffsetFetch returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    /// -1 when the client sent none.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: u64,
    /// OffsetCommit v1-v4 with an explicit retention: expires at this time instead.
    pub expire_timestamp_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub committed: CommittedOffset,
}

/// What `open` cut off the end of the file, for the caller to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// File position of the first bad record.
    pub at: u64,
    pub dropped_bytes: u64,
    pub reason: &'static str,
}

#[derive(Debug, Default)]
struct GroupEntry {
    offsets: BTreeMap<(String, i32), CommittedOffset>,
    record: Option<GroupRecord>,
}

impl GroupEntry {
    fn is_empty(&self) -> bool {
        self.offsets.is_empty() && self.record.is_none()
    }
}

enum Record {
    Commit {
        group: String,
        topic: String,
        partition: i32,
        committed: CommittedOffset,
    },
    OffsetTombstone {
        group: String,
        topic: String,
        partition: i32,
    },
    Group(GroupRecord),
    GroupTombstone {
        group: String,
    },
}

/// Committed offsets of every group, in memory and in `offsets.log`.
///
/// Changes take effect in memory at once and are queued as encoded records; they reach the
/// file when the caller flushes them, either here ([`OffsetStore::flush`]) or, so that no lock
/// is held across the fsync, by taking the queued bytes with [`OffsetStore::take_write`],
/// writing and fsyncing them elsewhere, and reporting back with [`OffsetStore::written`].
/// Every change returns a ticket: it is durable once [`OffsetStore::durable`] reaches it.
pub struct OffsetStore {
    disk: Disk,
    dir: PathBuf,
    path: PathBuf,
    file: FileRef,
    /// Bytes of the file, including those handed out by `take_write` and not yet written.
    file_len: u64,
    /// Encoded records not yet handed out.
    pending: Vec<u8>,
    /// Bytes ever queued (tickets count these) and bytes known durable.
    queued: u64,
    durable: u64,
    groups: BTreeMap<String, GroupEntry>,
    truncated: Option<Truncation>,
    /// Set by the first failed write or fsync; the store refuses everything after it (the
    /// memory may hold changes the file lost).
    failed: Option<String>,
}

/// Queued records handed out for writing: write `bytes` at `pos` of `file`, fsync it, then
/// call [`OffsetStore::written`] with `ticket` (or [`OffsetStore::fail`]).
pub struct PendingWrite {
    pub file: FileRef,
    pub pos: u64,
    pub bytes: Vec<u8>,
    pub ticket: u64,
}

impl PendingWrite {
    /// Writes and fsyncs (blocking).
    pub fn perform(&self) -> io::Result<()> {
        self.file.write_all_at(&self.bytes, self.pos)?;
        self.file.sync_data()
    }
}

/// A compaction prepared under the lock: the live records as of `ticket`.
pub struct Compaction {
    disk: Disk,
    dir: PathBuf,
    path: PathBuf,
    live: Vec<u8>,
    pub ticket: u64,
}

impl Compaction {
    /// Writes the compacted file, fsyncs it, renames it over `offsets.log` and fsyncs the
    /// directory (blocking); returns the new file for [`OffsetStore::compacted`].
    pub fn perform(&self) -> io::Result<(FileRef, u64)> {
        let tmp_path = self.dir.join(COMPACT_NAME);
        let tmp = self.disk.open(&tmp_path, OpenMode::Truncate)?;
        let mut bytes = Vec::with_capacity(HEADER.len() + self.live.len());
        bytes.extend_from_slice(HEADER);
        bytes.extend_from_slice(&self.live);
        tmp.write_all_at(&bytes, 0)?;
        tmp.sync_data()?;
        self.disk.rename(&tmp_path, &self.path)?;
        self.disk.sync_dir(&self.dir)?;
        Ok((tmp, bytes.len() as u64))
    }
}

impl OffsetStore {
    /// Opens (or creates) the store in `dir`: replays the file, truncates a torn tail, and
    /// compacts it if it has grown beyond twice its live size.
    pub fn open(disk: Disk, dir: &Path) -> Result<OffsetStore, OffsetStoreError> {
        let path = dir.join(FILE_NAME);
        let io_err = |source| OffsetStoreError::Io {
            path: path.clone(),
            source,
        };
        disk.create_dir_all(dir).map_err(io_err)?;
        // A compaction that crashed before its rename: the original is intact.
        let compact = dir.join(COMPACT_NAME);
        if disk.exists(&compact) {
            disk.remove_file(&compact).map_err(io_err)?;
        }

        let bytes = match disk.read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(e)),
        };
        let fresh = bytes.len() < HEADER.len();
        if (fresh && !HEADER.starts_with(&bytes)) || (!fresh && &bytes[..HEADER.len()] != HEADER) {
            return Err(OffsetStoreError::BadHeader { path });
        }

        let mut groups = BTreeMap::new();
        let mut truncated = None;
        let mut valid_len = HEADER.len() as u64;
        if !fresh {
            let mut pos = HEADER.len();
            while pos < bytes.len() {
                match read_record(&bytes[pos..]) {
                    Ok((record, len)) => {
                        apply(&mut groups, record);
                        pos += len;
                    }
                    Err(reason) => {
                        truncated = Some(Truncation {
                            at: pos as u64,
                            dropped_bytes: (bytes.len() - pos) as u64,
                            reason,
                        });
                        break;
                    }
                }
            }
            valid_len = pos as u64;
        }

        let file = disk.open(&path, OpenMode::Create).map_err(io_err)?;
        if fresh {
            file.set_len(0).map_err(io_err)?;
            file.write_all_at(HEADER, 0).map_err(io_err)?;
            file.sync_data().map_err(io_err)?;
            disk.sync_dir(dir).map_err(io_err)?;
        } else {
            if truncated.is_some() {
                file.set_len(valid_len).map_err(io_err)?;
            }
            // What was replayed may have been only in the page cache (the process died, the
            // machine did not): durable before any of it is served.
            file.sync_data().map_err(io_err)?;
        }

        let mut store = OffsetStore {
            disk,
            dir: dir.to_path_buf(),
            path: path.clone(),
            file,
            file_len: valid_len,
            pending: Vec::new(),
            queued: 0,
            durable: 0,
            groups,
            truncated,
            failed: None,
        };
        store.maybe_compact().map_err(io_err)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What `open` truncated, if anything.
    pub fn truncated_on_open(&self) -> Option<Truncation> {
        self.truncated
    }

    /// Err once a write or fsync failed.
    pub fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some(reason) => Err(io::Error::other(format!(
                "offsets store {} is offline after a storage failure ({reason}); restart the broker",
                self.path.display()
            ))),
            None => Ok(()),
        }
    }

    /// Takes the store offline after a failed write or fsync.
    pub fn fail(&mut self, e: &io::Error) {
        if self.failed.is_none() {
            tracing::error!(path = %self.path.display(), error = %e, "offsets store offline until the broker restarts");
            self.failed = Some(e.to_string());
        }
    }

    /// Queues encoded records; returns the ticket that covers them.
    fn queue(&mut self, buf: &[u8]) -> io::Result<u64> {
        self.check()?;
        self.pending.extend_from_slice(buf);
        self.queued += buf.len() as u64;
        Ok(self.queued)
    }

    /// The ticket covering every change so far.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// Tickets up to this are durable.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// Hands out the queued records for writing at the end of the file (see [`PendingWrite`]).
    pub fn take_write(&mut self) -> io::Result<Option<PendingWrite>> {
        self.check()?;
        if self.pending.is_empty() {
            return Ok(None);
        }
        let bytes = std::mem::take(&mut self.pending);
        let pos = self.file_len;
        self.file_len += bytes.len() as u64;
        Ok(Some(PendingWrite {
            file: Arc::clone(&self.file),
            pos,
            bytes,
            ticket: self.queued,
        }))
    }

    /// A [`PendingWrite`] was written and fsynced.
    pub fn written(&mut self, ticket: u64) {
        self.durable = self.durable.max(ticket);
    }

    /// Writes and fsyncs everything queued, here and now (blocking).
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(w) = self.take_write()? {
            if let Err(e) = w.perform() {
                self.fail(&e);
                return Err(e);
            }
            self.written(w.ticket);
        }
        Ok(())
    }

    /// Stores offsets of one group (one OffsetCommit request); returns the ticket.
    pub fn commit(&mut self, group: &str, offsets: &[PartitionOffset]) -> io::Result<u64> {
        let mut buf = Vec::new();
        for o in offsets {
            encode_commit(&mut buf, group, &o.topic, o.partition, &o.committed)?;
        }
        let ticket = self.queue(&buf)?;
        let entry = self.groups.entry(group.to_string()).or_default();
        for o in offsets {
            entry
                .offsets
                .insert((o.topic.clone(), o.partition), o.committed.clone());
        }
        Ok(ticket)
    }

    /// The group's committed offsets, sorted by topic and partition; only those of `topics` if
    /// given.
    pub fn fetch(&self, group: &str, topics: Option<&[String]>) -> Vec<PartitionOffset> {
        let Some(entry) = self.groups.get(group) else {
            return Vec::new();
        };
        entry
            .offsets
            .iter()
            .filter(|((topic, _), _)| topics.is_none_or(|t| t.contains(topic)))
            .map(|((topic, partition), committed)| PartitionOffset {
                topic: topic.clone(),
                partition: *partition,
                committed: committed.clone(),
            })
            .collect()
    }

    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.groups.get(group)?.offsets.get(&(topic.to_string(), partition))
    }

    pub fn has_offsets(&self, group: &str) -> bool {
        self.groups.get(group).is_some_and(|e| !e.offsets.is_empty())
    }

    /// Groups with at least one committed offset, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.groups
            .iter()
            .filter(|(_, e)| !e.offsets.is_empty())
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// Topics with at least one committed offset in some group.
    pub fn topics(&self) -> std::collections::BTreeSet<String> {
        self.groups
            .values()
            .flat_map(|e| e.offsets.keys().map(|(t, _)| t.clone()))
            .collect()
    }

    pub fn group_record(&self, group: &str) -> Option<&GroupRecord> {
        self.groups.get(group)?.record.as_ref()
    }

    /// Every group the store knows (offsets or a record), with its record: what to hand to
    /// `Coordinator::restore_group` on start.
    pub fn restorable_groups(&self) -> Vec<(String, Option<GroupRecord>)> {
        self.groups.iter().map(|(g, e)| (g.clone(), e.record.clone())).collect()
    }

    /// Persists a group's record (from `Coordinator::take_dirty_groups`); returns the ticket.
    pub fn put_group(&mut self, record: &GroupRecord) -> io::Result<u64> {
        let mut buf = Vec::new();
        encode_group(&mut buf, record)?;
        let ticket = self.queue(&buf)?;
        self.groups.entry(record.group_id.clone()).or_default().record = Some(record.clone());
        Ok(ticket)
    }

    /// Forgets a group: its offsets and record. Returns how many offsets were removed and the
    /// ticket.
    pub fn delete_group(&mut self, group: &str) -> io::Result<(usize, u64)> {
        if !self.groups.contains_key(group) {
            return Ok((0, self.queued));
        }
        let mut buf = Vec::new();
        begin(&mut buf, KIND_GROUP_TOMBSTONE);
        put_str16(&mut buf, group)?;
        let ticket = self.queue(&frame(buf))?;
        Ok((self.groups.remove(group).map_or(0, |e| e.offsets.len()), ticket))
    }

    /// OffsetDelete: removes the given partitions' offsets of `topic`. Returns how many existed
    /// and the ticket.
    pub fn delete_offsets(&mut self, group: &str, topic: &str, partitions: &[i32]) -> io::Result<(usize, u64)> {
        let doomed: Vec<(String, String, i32)> = partitions
            .iter()
            .filter(|p| self.get(group, topic, **p).is_some())
            .map(|p| (group.to_string(), topic.to_string(), *p))
            .collect();
        let ticket = self.remove_offsets(&doomed)?;
        Ok((doomed.len(), ticket))
    }

    /// Removes every group's offsets of a deleted topic (Kafka's `handleDeletedPartitions`).
    /// Returns how many were removed and the ticket.
    pub fn delete_topic(&mut self, topic: &str) -> io::Result<(usize, u64)> {
        let doomed: Vec<(String, String, i32)> = self
            .groups
            .iter()
            .flat_map(|(g, e)| {
                e.offsets
                    .keys()
                    .filter(|(t, _)| t == topic)
                    .map(move |(t, p)| (g.clone(), t.clone(), *p))
            })
            .collect();
        let ticket = self.remove_offsets(&doomed)?;
        Ok((doomed.len(), ticket))
    }

    /// Removes offsets past `offsets.retention.ms`, each group aging from its [`RetentionBase`]
    /// (Kafka's `removeExpiredOffsets`, KIP-211). Returns the removed (group, topic, partition).
    pub fn expire(
        &mut self,
        now_ms: u64,
        retention_ms: u64,
        base: impl Fn(&str) -> RetentionBase,
    ) -> io::Result<Vec<(String, String, i32)>> {
        let mut doomed = Vec::new();
        for (group, entry) in &self.groups {
            let base = base(group);
            for ((topic, partition), c) in &entry.offsets {
                let aged_since = |since: u64| now_ms.saturating_sub(since) >= retention_ms;
                let explicit = c.expire_timestamp_ms.map(|at| now_ms >= at);
                let expired = match &base {
                    RetentionBase::Keep => false,
                    RetentionBase::EmptySince(since) => explicit.unwrap_or(aged_since(*since)),
                    RetentionBase::CommitTimestamp => explicit.unwrap_or(aged_since(c.commit_timestamp_ms)),
                    RetentionBase::CommitTimestampExceptSubscribed(topics) => {
                        !topics.contains(topic) && explicit.unwrap_or(aged_since(c.commit_timestamp_ms))
                    }
                };
                if expired {
                    doomed.push((group.clone(), topic.clone(), *partition));
                }
            }
        }
        self.remove_offsets(&doomed)?;
        Ok(doomed)
    }

    /// A compaction, if the file is more than twice the size of its live records. The caller
    /// runs [`Compaction::perform`] while no [`PendingWrite`] is in flight, then reports with
    /// [`OffsetStore::compacted`]; changes queued in between go to the new file.
    pub fn prepare_compaction(&mut self) -> io::Result<Option<Compaction>> {
        self.check()?;
        let live = self.live_records()?;
        if self.file_len + self.pending.len() as u64 <= 2 * (HEADER.len() + live.len()) as u64 {
            return Ok(None);
        }
        // The live records already hold what is queued.
        self.pending.clear();
        Ok(Some(Compaction {
            disk: Arc::clone(&self.disk),
            dir: self.dir.clone(),
            path: self.path.clone(),
            live,
            ticket: self.queued,
        }))
    }

    /// A [`Compaction`] was performed: the store continues in the new file.
    pub fn compacted(&mut self, ticket: u64, file: FileRef, len: u64) {
        self.file = file;
        self.file_len = len;
        self.durable = self.durable.max(ticket);
    }

    /// Flushes, then rewrites the file with only its live records if it is more than twice
    /// their size (blocking). Called by `open`.
    pub fn maybe_compact(&mut self) -> io::Result<bool> {
        self.flush()?;
        let Some(c) = self.prepare_compaction()? else {
            return Ok(false);
        };
        match c.perform() {
            Ok((file, len)) => {
                self.compacted(c.ticket, file, len);
                Ok(true)
            }
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }

    fn live_records(&self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        for (group, entry) in &self.groups {
            if let Some(record) = &entry.record {
                encode_group(&mut buf, record)?;
            }
            for ((topic, partition), committed) in &entry.offsets {
                encode_commit(&mut buf, group, topic, *partition, committed)?;
            }
        }
        Ok(buf)
    }

    fn remove_offsets(&mut self, doomed: &[(String, String, i32)]) -> io::Result<u64> {
        if doomed.is_empty() {
            return Ok(self.queued);
        }
        let mut buf = Vec::new();
        for (group, topic, partition) in doomed {
            let mut body = Vec::new();
            begin(&mut body, KIND_OFFSET_TOMBSTONE);
            put_str16(&mut body, group)?;
            put_str16(&mut body, topic)?;
            body.extend_from_slice(&partition.to_be_bytes());
            buf.extend_from_slice(&frame(body));
        }
        let ticket = self.queue(&buf)?;
        for (group, topic, partition) in doomed {
            apply(
                &mut self.groups,
                Record::OffsetTombstone {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                },
            );
        }
        Ok(ticket)
    }
}

fn apply(groups: &mut BTreeMap<String, GroupEntry>, record: Record) {
    match record {
        Record::Commit {
            group,
            topic,
            partition,
            committed,
        } => {
            groups
                .entry(group)
                .or_default()
                .offsets
                .insert((topic, partition), committed);
        }
        Record::OffsetTombstone {
            group,
            topic,
            partition,
        } => {
            if let Some(entry) = groups.get_mut(&group) {
                entry.offsets.remove(&(topic, partition));
                if entry.is_empty() {
                    groups.remove(&group);
                }
            }
        }
        Record::Group(record) => {
            let group = record.group_id.clone();
            groups.entry(group).or_default().record = Some(record);
        }
        Record::GroupTombstone { group } => {
            groups.remove(&group);
        }
    }
}

fn begin(body: &mut Vec<u8>, kind: u8) {
    body.push(kind);
}

fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn too_long(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{what} is too long to store"))
}

fn put_str16(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| too_long("a group or topic name"))?;
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_str32(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if s.len() > MAX_BODY / 2 {
        return Err(too_long("the offset metadata"));
    }
    buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn ts(ms: Option<u64>) -> i64 {
    ms.map_or(-1, |ms| ms.min(i64::MAX as u64) as i64)
}

fn encode_commit(buf: &mut Vec<u8>, group: &str, topic: &str, partition: i32, c: &CommittedOffset) -> io::Result<()> {
    let mut body = Vec::with_capacity(64 + group.len() + topic.len() + c.metadata.len());
    begin(&mut body, KIND_COMMIT);
    put_str16(&mut body, group)?;
    put_str16(&mut body, topic)?;
    body.extend_from_slice(&partition.to_be_bytes());
    body.extend_from_slice(&c.offset.to_be_bytes());
    body.extend_from_slice(&c.leader_epoch.to_be_bytes());
    put_str32(&mut body, &c.metadata)?;
    body.extend_from_slice(&ts(Some(c.commit_timestamp_ms)).to_be_bytes());
    body.extend_from_slice(&ts(c.expire_timestamp_ms).to_be_bytes());
    buf.extend_from_slice(&frame(body));
    Ok(())
}

fn encode_group(buf: &mut Vec<u8>, r: &GroupRecord) -> io::Result<()> {
    let mut body = Vec::new();
    begin(&mut body, KIND_GROUP);
    put_str16(&mut body, &r.group_id)?;
    put_str16(&mut body, r.protocol_type.as_deref().unwrap_or_default())?;
    body.extend_from_slice(&r.generation_id.to_be_bytes());
    body.extend_from_slice(&ts(r.empty_since_ms).to_be_bytes());
    buf.extend_from_slice(&frame(body));
    Ok(())
}

/// Reads one framed record from the start of `bytes`: the record and its framed length.
fn read_record(bytes: &[u8]) -> Result<(Record, usize), &'static str> {
    if bytes.len() < FRAME {
        return Err("incomplete record header");
    }
    let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if len > MAX_BODY {
        return Err("record length out of range");
    }
    let body = bytes.get(FRAME..FRAME + len).ok_or("incomplete record")?;
    if crc32c::crc32c(body) != crc {
        return Err("record CRC mismatch");
    }
    let record = decode_body(body).ok_or("undecodable record")?;
    Ok((record, FRAME + len))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str16(&mut self) -> Option<String> {
        let len = u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
    fn str32(&mut self) -> Option<String> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
    fn ts(&mut self) -> Option<Option<u64>> {
        let v = self.i64()?;
        Some((v >= 0).then_some(v as u64))
    }
}

fn decode_body(body: &[u8]) -> Option<Record> {
    let mut c = Cursor(body);
    let record = match c.u8()? {
        KIND_COMMIT => Record::Commit {
            group: c.str16()?,
            topic: c.str16()?,
            partition: c.i32()?,
            committed: CommittedOffset {
                offset: c.i64()?,
                leader_epoch: c.i32()?,
                metadata: c.str32()?,
                commit_timestamp_ms: c.ts()?.unwrap_or(0),
                expire_timestamp_ms: c.ts()?,
            },
        },
        KIND_OFFSET_TOMBSTONE => Record::OffsetTombstone {
            group: c.str16()?,
            topic: c.str16()?,
            partition: c.i32()?,
        },
        KIND_GROUP => Record::Group(GroupRecord {
            group_id: c.str16()?,
            protocol_type: Some(c.str16()?).filter(|p| !p.is_empty()),
            generation_id: c.i32()?,
            empty_since_ms: c.ts()?,
        }),
        KIND_GROUP_TOMBSTONE => Record::GroupTombstone { group: c.str16()? },
        _ => return None,
    };
    // Trailing bytes mean a record this version does not understand: treat it as corrupt
    // rather than silently misread it.
    c.0.is_empty().then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::storage::OsDisk;
    use std::collections::HashSet;

    const DAY: u64 = 24 * 60 * 60 * 1000;
    const RETENTION: u64 = 7 * DAY;

    fn committed(offset: i64, at: u64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: 3,
            metadata: format!("meta-{offset}"),
            commit_timestamp_ms: at,
            expire_timestamp_ms: None,
        }
    }

    fn po(topic: &str, partition: i32, offset: i64, at: u64) -> PartitionOffset {
        PartitionOffset {
            topic: topic.into(),
            partition,
            committed: committed(offset, at),
        }
    }

    /// The file's length once everything queued is written.
    fn file_len(store: &mut OffsetStore) -> u64 {
        store.flush().unwrap();
        std::fs::metadata(store.path()).unwrap().len()
    }

    #[test]
    fn offsets_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            store
                .commit("g", &[po("orders", 0, 10, 1), po("orders", 1, 20, 1)])
                .unwrap();
            store.commit("other", &[po("payments", 0, 5, 2)]).unwrap();
            store
                .put_group(&GroupRecord {
                    group_id: "g".into(),
                    protocol_type: Some("consumer".into()),
                    generation_id: 4,
                    empty_since_ms: Some(99),
                })
                .unwrap();
            store.flush().unwrap();
        }
        let store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        assert_eq!(store.truncated_on_open(), None);
        assert_eq!(
            store.fetch("g", None),
            vec![po("orders", 0, 10, 1), po("orders", 1, 20, 1)]
        );
        assert_eq!(store.get("other", "payments", 0), Some(&committed(5, 2)));
        assert_eq!(store.groups(), vec!["g".to_string(), "other".to_string()]);
        let record = store.group_record("g").unwrap();
        assert_eq!((record.generation_id, record.empty_since_ms), (4, Some(99)));
        assert_eq!(record.protocol_type.as_deref(), Some("consumer"));
    }

    #[test]
    fn fetch_filters_by_topic() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        store.commit("g", &[po("a", 0, 1, 0), po("b", 0, 2, 0)]).unwrap();
        assert_eq!(store.fetch("g", Some(&["b".to_string()])), vec![po("b", 0, 2, 0)]);
        assert!(store.fetch("nope", None).is_empty());
    }

    #[test]
    fn explicit_expire_timestamp_and_empty_metadata_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let c = CommittedOffset {
            offset: 0,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 7,
            expire_timestamp_ms: Some(1_000),
        };
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            store
                .commit(
                    "g",
                    &[PartitionOffset {
                        topic: "t".into(),
                        partition: 0,
                        committed: c.clone(),
                    }],
                )
                .unwrap();
            store.flush().unwrap();
        }
        assert_eq!(
            OffsetStore::open(OsDisk::shared(), dir.path())
                .unwrap()
                .get("g", "t", 0),
            Some(&c)
        );
    }

    #[test]
    fn torn_tail_is_truncated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let good_len;
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            store.commit("g", &[po("t", 0, 1, 0)]).unwrap();
            good_len = file_len(&mut store);
            store.commit("g", &[po("t", 0, 2, 0)]).unwrap();
            store.flush().unwrap();
        }
        // Cut the last record in half, as a crash mid-write would.
        let path = dir.path().join(FILE_NAME);
        let full = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(good_len + (full - good_len) / 2).unwrap();
        drop(f);

        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        let t = store.truncated_on_open().unwrap();
        assert_eq!(t.at, good_len);
        assert_eq!(store.get("g", "t", 0).unwrap().offset, 1);
        assert_eq!(file_len(&mut store), good_len);
        // Appending after the truncation works and survives.
        store.commit("g", &[po("t", 0, 3, 0)]).unwrap();
        store.flush().unwrap();
        drop(store);
        assert_eq!(
            OffsetStore::open(OsDisk::shared(), dir.path())
                .unwrap()
                .get("g", "t", 0)
                .unwrap()
                .offset,
            3
        );
    }

    #[test]
    fn garbage_after_records_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            store.commit("g", &[po("t", 0, 1, 0)]).unwrap();
            store.flush().unwrap();
        }
        let path = dir.path().join(FILE_NAME);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, &[0, 0, 0, 5, 1, 2, 3, 4, 9, 9, 9, 9, 9]).unwrap();
        drop(f);
        let store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        assert_eq!(store.truncated_on_open().unwrap().reason, "record CRC mismatch");
        assert_eq!(store.get("g", "t", 0).unwrap().offset, 1);
    }

    #[test]
    fn foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"not an offsets file").unwrap();
        assert!(matches!(
            OffsetStore::open(OsDisk::shared(), dir.path()),
            Err(OffsetStoreError::BadHeader { .. })
        ));
    }

    #[test]
    fn compaction_keeps_the_latest_value() {
        let dir = tempfile::tempdir().unwrap();
        let grown;
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            for i in 0..100 {
                store
                    .commit("g", &[po("t", 0, i, i as u64), po("t", 1, 1_000 + i, 0)])
                    .unwrap();
            }
            store.commit("gone", &[po("t", 0, 1, 0)]).unwrap();
            store.delete_group("gone").unwrap();
            grown = file_len(&mut store);
        }
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        assert!(file_len(&mut store) * 10 < grown, "{} vs {grown}", file_len(&mut store));
        assert_eq!(store.get("g", "t", 0), Some(&committed(99, 99)));
        assert_eq!(store.get("g", "t", 1).unwrap().offset, 1_099);
        assert!(store.get("gone", "t", 0).is_none());
        assert!(!dir.path().join(COMPACT_NAME).exists());
        store.flush().unwrap();
        drop(store);
        // The compacted file is itself a valid store.
        let store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        assert_eq!(store.get("g", "t", 0).unwrap().offset, 99);
        assert_eq!(store.truncated_on_open(), None);
    }

    #[test]
    fn small_live_file_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        store.commit("g", &[po("t", 0, 1, 0), po("t", 1, 1, 0)]).unwrap();
        assert!(!store.maybe_compact().unwrap());
    }

    #[test]
    fn tombstones_delete_groups_and_offsets_durably() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            store
                .commit("g", &[po("a", 0, 1, 0), po("a", 1, 1, 0), po("b", 0, 1, 0)])
                .unwrap();
            store.commit("h", &[po("a", 0, 1, 0)]).unwrap();
            store.commit("k", &[po("b", 0, 1, 0)]).unwrap();
            assert_eq!(store.delete_offsets("g", "a", &[1, 7]).unwrap().0, 1);
            assert_eq!(store.delete_group("h").unwrap().0, 1);
            assert_eq!(store.delete_group("never").unwrap().0, 0);
            assert_eq!(store.delete_topic("b").unwrap().0, 2);
            store.flush().unwrap();
        }
        let store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        assert_eq!(store.fetch("g", None), vec![po("a", 0, 1, 0)]);
        assert!(!store.has_offsets("h"));
        assert!(!store.has_offsets("k"));
        assert_eq!(store.groups(), vec!["g".to_string()]);
    }

    #[test]
    fn deleting_a_group_removes_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        let record = GroupRecord {
            group_id: "g".into(),
            protocol_type: Some("consumer".into()),
            generation_id: 1,
            empty_since_ms: Some(0),
        };
        store.put_group(&record).unwrap();
        assert_eq!(store.restorable_groups(), vec![("g".to_string(), Some(record))]);
        store.delete_group("g").unwrap();
        store.flush().unwrap();
        drop(store);
        assert!(OffsetStore::open(OsDisk::shared(), dir.path())
            .unwrap()
            .restorable_groups()
            .is_empty());
    }

    #[test]
    fn offsets_of_an_empty_group_expire_retention_after_it_became_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        // Committed long ago, but the group only became empty at day 10.
        store.commit("g", &[po("t", 0, 1, 0)]).unwrap();
        let base = |_: &str| RetentionBase::EmptySince(10 * DAY);
        assert!(store
            .expire(10 * DAY + RETENTION - 1, RETENTION, base)
            .unwrap()
            .is_empty());
        let expired = store.expire(10 * DAY + RETENTION, RETENTION, base).unwrap();
        assert_eq!(expired, vec![("g".to_string(), "t".to_string(), 0)]);
        store.flush().unwrap();
        drop(store);
        assert!(!OffsetStore::open(OsDisk::shared(), dir.path())
            .unwrap()
            .has_offsets("g"));
    }

    #[test]
    fn standalone_offsets_expire_by_commit_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        store
            .commit("s", &[po("t", 0, 1, DAY), po("t", 1, 1, 3 * DAY)])
            .unwrap();
        let expired = store
            .expire(DAY + RETENTION, RETENTION, |_| RetentionBase::CommitTimestamp)
            .unwrap();
        assert_eq!(expired, vec![("s".to_string(), "t".to_string(), 0)]);
        assert!(store.get("s", "t", 1).is_some());
    }

    #[test]
    fn active_group_offsets_do_not_expire() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        let mut c = committed(1, 0);
        c.expire_timestamp_ms = Some(1);
        store
            .commit(
                "g",
                &[PartitionOffset {
                    topic: "t".into(),
                    partition: 0,
                    committed: c,
                }],
            )
            .unwrap();
        assert!(store
            .expire(100 * DAY, RETENTION, |_| RetentionBase::Keep)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn stable_group_expires_only_unsubscribed_topics() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        store.commit("g", &[po("live", 0, 1, 0), po("old", 0, 1, 0)]).unwrap();
        let base = |_: &str| RetentionBase::CommitTimestampExceptSubscribed(HashSet::from(["live".to_string()]));
        let expired = store.expire(RETENTION, RETENTION, base).unwrap();
        assert_eq!(expired, vec![("g".to_string(), "old".to_string(), 0)]);
    }

    #[test]
    fn explicit_expire_timestamp_wins_over_retention() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        let mut c = committed(1, 0);
        c.expire_timestamp_ms = Some(DAY);
        store
            .commit(
                "s",
                &[PartitionOffset {
                    topic: "t".into(),
                    partition: 0,
                    committed: c,
                }],
            )
            .unwrap();
        assert_eq!(
            store
                .expire(DAY, RETENTION, |_| RetentionBase::CommitTimestamp)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn leftover_compaction_file_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
            store.commit("g", &[po("t", 0, 1, 0)]).unwrap();
            store.flush().unwrap();
        }
        std::fs::write(dir.path().join(COMPACT_NAME), b"half-written").unwrap();
        let store = OffsetStore::open(OsDisk::shared(), dir.path()).unwrap();
        assert_eq!(store.get("g", "t", 0).unwrap().offset, 1);
        assert!(!dir.path().join(COMPACT_NAME).exists());
    }
}
