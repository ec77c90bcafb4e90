//! The data-directory lock: `flock(2)` on `.lock`, holding `pid` and, once bound, the listen
//! address. The kernel drops the lock when the process dies, so a SIGKILLed broker never
//! leaves a stale lock; a reader (the console) uses the address to reuse a running broker.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::broker::error::BrokerError;

pub const LOCK_FILE: &str = ".lock";

pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

/// Who holds a data directory: pid and listen address as the lock file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOwner {
    pub pid: String,
    pub address: Option<String>,
}

fn try_flock(file: &File) -> bool {
    // SAFETY: flock on a valid, owned file descriptor.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

impl DataDirLock {
    pub fn acquire(dir: &Path) -> Result<Self, BrokerError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| BrokerError::Io {
                path: path.clone(),
                source: e,
            })?;
        if !try_flock(&file) {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = parse_owner(&text).map(|o| o.pid).unwrap_or_else(|| "unknown".into());
            return Err(BrokerError::Locked {
                dir: dir.to_path_buf(),
                pid,
            });
        }
        let lock = DataDirLock { file, path };
        lock.write(&format!("pid={}\n", std::process::id()));
        Ok(lock)
    }

    pub fn record_address(&self, addr: &str) {
        self.write(&format!("pid={}\naddress={addr}\n", std::process::id()));
    }

    fn write(&self, text: &str) {
        let mut f = &self.file;
        let ok = f.set_len(0).is_ok() && f.rewind().is_ok() && f.write_all(text.as_bytes()).is_ok();
        if !ok {
            tracing::warn!(path = %self.path.display(), "cannot write lock file");
        }
    }

    /// Reads the owner of a locked data directory, or None when no live broker holds it.
    pub fn owner(dir: &Path) -> Option<LockOwner> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
        if try_flock(&file) {
            // We got it: nobody holds it. Dropping the file releases it.
            return None;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        parse_owner(&text)
    }
}

fn parse_owner(text: &str) -> Option<LockOwner> {
    let pid = text.lines().find_map(|l| l.strip_prefix("pid="))?.to_string();
    let address = text
        .lines()
        .find_map(|l| l.strip_prefix("address="))
        .map(str::to_string);
    Some(LockOwner { pid, address })
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_dir_is_refused_with_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        first.record_address("127.0.0.1:9092");
        // flock locks are per open file description, so a second open in-process conflicts.
        match DataDirLock::acquire(dir.path()) {
            Err(BrokerError::Locked { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Locked, got {:?}", other.err()),
        }
        assert_eq!(
            DataDirLock::owner(dir.path()).unwrap().address.as_deref(),
            Some("127.0.0.1:9092")
        );
        drop(first);
        assert!(DataDirLock::owner(dir.path()).is_none());
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
