//! A partition at run time: its log behind a short-held mutex, and grouped fsyncs for
//! acks=all. Appends happen in request order; only the wait for durability is asynchronous,
//! and the fsync itself runs off the async workers without the log's lock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::broker::error::LogError;
use crate::broker::log::PartitionLog;
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
        }
    }

    /// The log. A poisoned lock means a panic mid-append; the log's on-disk state is still
    /// consistent (every append is all-or-nothing), so keep serving.
    pub fn log(&self) -> MutexGuard<'_, PartitionLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
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
