//! A partition at run time: its log behind a short-held mutex, and grouped fsyncs for
//! acks=all. Appends happen in request order; only the wait for durability is asynchronous,
//! and the fsync itself runs off the async workers without the log's lock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::broker::error::LogError;
use crate::broker::log::{self, PartitionLog, ReadError};
use crate::broker::storage::{self, Disk};

pub struct Partition {
    pub topic: String,
    pub index: i32,
    disk: Disk,
    log: Mutex<PartitionLog>,
    /// Every offset below this is on disk (fsynced).
    durable: AtomicI64,
    /// One fsync at a time; waiters that arrive during it are covered by the next one, which
    /// is how concurrent acks=all requests share a single fsync.
    flush_lock: tokio::sync::Mutex<()>,
    /// One roll's I/O at a time (they write the same checkpoint file).
    roll_lock: Mutex<()>,
    /// One change of the log start at a time (retention, DeleteRecords): held across the
    /// fsync of `log-start-offset`, which the log's own lock never is.
    start_lock: Mutex<()>,
    /// Woken after every append, for the fetches long-polling this partition.
    pub appended: tokio::sync::Notify,
}

impl Partition {
    /// A partition whose log is durable up to its end (just opened and recovered).
    pub fn new(topic: String, index: i32, log: PartitionLog) -> Self {
        let end = log.log_end_offset();
        Partition {
            topic,
            index,
            disk: log.disk().clone(),
            log: Mutex::new(log),
            durable: AtomicI64::new(end),
            flush_lock: tokio::sync::Mutex::new(()),
            roll_lock: Mutex::new(()),
            start_lock: Mutex::new(()),
            appended: tokio::sync::Notify::new(),
        }
    }

    /// Does the I/O of the rolls the last appends left (blocking; see
    /// [`crate::broker::log::RollWork`]), without holding the log's lock. A failure takes the
    /// partition offline.
    pub fn finish_rolls(&self) -> Result<(), LogError> {
        let work = self.log().take_roll_work();
        if work.is_empty() {
            return Ok(());
        }
        let _order = self.roll_lock.lock().unwrap_or_else(|p| p.into_inner());
        for w in work {
            if let Err(e) = w.perform(|| self.log().epoch_checkpoint()) {
                self.log().fail(&e);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The log. A poisoned lock means a panic mid-append; the log's on-disk state is still
    /// consistent (every append is all-or-nothing), so keep serving.
    pub fn log(&self) -> MutexGuard<'_, PartitionLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Retention (blocking): rolls an expired active segment, makes the new log start durable,
    /// then removes the segments below it, without holding the log's lock across any of the
    /// I/O. Returns how many segments went. A failure takes the partition offline.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        let _start = self.start_lock.lock().unwrap_or_else(|p| p.into_inner());
        let plan = self.log().plan_retention(now_ms)?;
        self.finish_rolls()?;
        let Some(plan) = plan else { return Ok(0) };
        let (dir, start) = {
            let log = self.log();
            (log.dir.clone(), log.log_start_offset())
        };
        let fail = |e: LogError| {
            self.log().fail(&e);
            e
        };
        if plan.start > start {
            log::persist_log_start(&*self.disk, &dir, plan.start).map_err(fail)?;
        }
        let removed = self.log().apply_retention_plan(&plan);
        for seg in &removed {
            seg.remove_files(&*self.disk, &dir).map_err(fail)?;
        }
        Ok(removed.len())
    }

    /// DeleteRecords (blocking): the new log start is durable before it takes effect and
    /// before this returns; the log's lock is not held across the fsync.
    pub fn delete_records(&self, offset: i64) -> Result<i64, ReadError> {
        let _start = self.start_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (target, dir) = {
            let log = self.log();
            (log.delete_records_target(offset)?, log.dir.clone())
        };
        if let Some(target) = target {
            if let Err(e) = log::persist_log_start(&*self.disk, &dir, target) {
                self.log().fail(&e);
                return Err(ReadError::Offline(e.to_string()));
            }
            self.log().log_start_persisted(target);
        }
        Ok(self.log().log_start_offset())
    }

    /// Waits until every offset below `end` is fsynced. A failed fsync takes the partition
    /// offline: the kernel may have dropped the pages it could not write, and a later fsync
    /// would not report that again.
    pub async fn sync_to(&self, end: i64) -> Result<(), LogError> {
        loop {
            if self.durable.load(Ordering::Acquire) >= end {
                return Ok(());
            }
            let _turn = self.flush_lock.lock().await;
            if self.durable.load(Ordering::Acquire) >= end {
                return Ok(());
            }
            let (files, dir, target, path) = {
                let mut log = self.log();
                log.check_online()?;
                let (files, dir) = log.sync_handles(self.durable.load(Ordering::Acquire));
                (files, dir, log.log_end_offset(), log.dir.clone())
            };
            let disk = self.disk.clone();
            let synced = storage::blocking(&self.disk, move || -> std::io::Result<()> {
                for f in files {
                    f.sync_data()?;
                }
                if let Some(dir) = dir {
                    disk.sync_dir(&dir)?;
                }
                Ok(())
            })
            .await;
            if let Err(e) = synced {
                let e = LogError::io(&path, e);
                self.log().fail(&e);
                return Err(e);
            }
            self.durable.fetch_max(target, Ordering::AcqRel);
        }
    }
}
