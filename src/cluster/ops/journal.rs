//! What strom remembers of the changes it made, in the state dir (`$XDG_STATE_HOME/strom`):
//!
//! - `audit.log`: one JSON object per line for every change applied or attempted, with `time`
//!   (UTC, ISO-8601), `user`, `cluster`, `action`, `before`, `after` and `result` (`ok` or the
//!   error). Appended, never rewritten.
//! - `offsets/<cluster>/<group>.jsonl`: the committed offsets a group had before each offset
//!   reset strom applied, newest last, so an undo restores them, also after a restart. Each
//!   line is `{"time": ..., "offsets": [{"topic", "partition", "offset"}]}` (`offset` null:
//!   the partition had none). An undo removes the line it restored.
//!
//! File names are escaped so any cluster or group name is one safe path component.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One line of `audit.log`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time: String,
    pub user: String,
    pub cluster: String,
    pub action: String,
    pub before: String,
    pub after: String,
    pub result: String,
}

/// A partition's committed offset as saved for undo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedOffset {
    pub topic: String,
    pub partition: i32,
    /// None: the group had no committed offset for the partition.
    pub offset: Option<i64>,
}

/// The offsets a group had before one reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReset {
    pub time: String,
    pub offsets: Vec<SavedOffset>,
}

/// The state dir and who is acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    pub dir: PathBuf,
    pub user: String,
}

/// The login name: `$USER`, `$LOGNAME`, else the numeric uid.
pub fn current_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Some(u) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return u.to_string_lossy().into_owned();
        }
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    format!("uid {}", unsafe { libc::getuid() })
}

/// `name` as one file-name component: letters, digits, `.`, `_`, `-` kept (a leading `.`
/// escaped), everything else `%XX`.
pub fn escape(name: &str) -> String {
    let mut out = String::new();
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

impl Journal {
    pub fn new(dir: impl Into<PathBuf>) -> Journal {
        Journal {
            dir: dir.into(),
            user: current_user(),
        }
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// Appends one line to the audit log.
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), String> {
        let path = self.audit_path();
        let line = serde_json::to_string(entry).map_err(|e| e.to_string())?;
        append_line(&path, &line).map_err(|e| format!("cannot write the audit log {}: {e}", path.display()))
    }

    fn offsets_path(&self, cluster: &str, group: &str) -> PathBuf {
        self.dir
            .join("offsets")
            .join(escape(cluster))
            .join(format!("{}.jsonl", escape(group)))
    }

    /// Saves the offsets `group` had before a reset.
    pub fn save_offsets(&self, cluster: &str, group: &str, saved: &SavedReset) -> Result<(), String> {
        let path = self.offsets_path(cluster, group);
        let line = serde_json::to_string(saved).map_err(|e| e.to_string())?;
        append_line(&path, &line).map_err(|e| format!("cannot save the previous offsets in {}: {e}", path.display()))
    }

    /// Every saved reset of `group`, oldest first; lines that cannot be read are skipped.
    pub fn saved_offsets(&self, cluster: &str, group: &str) -> Vec<SavedReset> {
        std::fs::read_to_string(self.offsets_path(cluster, group))
            .map(|text| text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
            .unwrap_or_default()
    }

    /// The newest saved reset of `group`.
    pub fn last_offsets(&self, cluster: &str, group: &str) -> Option<SavedReset> {
        self.saved_offsets(cluster, group).pop()
    }

    /// Removes the newest saved reset of `group` if it is `which` (after an undo restored it).
    pub fn drop_last_offsets(&self, cluster: &str, group: &str, which: &SavedReset) -> Result<(), String> {
        let path = self.offsets_path(cluster, group);
        let mut all = self.saved_offsets(cluster, group);
        if all.last() != Some(which) {
            return Ok(());
        }
        all.pop();
        let mut text = String::new();
        for s in &all {
            text.push_str(&serde_json::to_string(s).map_err(|e| e.to_string())?);
            text.push('\n');
        }
        let tmp = path.with_extension("jsonl.tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot update {}: {e}", path.display()))
    }
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // One write per line, so concurrent consoles never interleave within a line.
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_path_components() {
        assert_eq!(escape("orders-v1.eu_x"), "orders-v1.eu_x");
        assert_eq!(escape("../etc/passwd"), "%2E.%2Fetc%2Fpasswd");
        assert_eq!(escape("k1:9092,k2:9092"), "k1%3A9092%2Ck2%3A9092");
        assert_eq!(escape(""), "%00");
    }

    #[test]
    fn saved_resets_stack_up_and_an_undo_removes_only_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let saved = |o: i64| SavedReset {
            time: format!("t{o}"),
            offsets: vec![SavedOffset {
                topic: "orders".into(),
                partition: 0,
                offset: Some(o),
            }],
        };
        assert_eq!(j.last_offsets("c", "g"), None);
        j.save_offsets("c", "g", &saved(1)).unwrap();
        j.save_offsets("c", "g", &saved(2)).unwrap();
        assert_eq!(j.last_offsets("c", "g"), Some(saved(2)));
        assert_eq!(j.last_offsets("other", "g"), None, "per cluster");
        // Not the newest: nothing removed.
        j.drop_last_offsets("c", "g", &saved(1)).unwrap();
        assert_eq!(j.saved_offsets("c", "g").len(), 2);
        j.drop_last_offsets("c", "g", &saved(2)).unwrap();
        assert_eq!(j.last_offsets("c", "g"), Some(saved(1)));
    }

    #[test]
    fn audit_lines_are_appended_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("nested"));
        let e = AuditEntry {
            time: "2026-01-02T03:04:05.000Z".into(),
            user: "ops".into(),
            cluster: "prod".into(),
            action: "add partitions to 'orders'".into(),
            before: "3 partitions".into(),
            after: "6 partitions".into(),
            result: "ok".into(),
        };
        j.audit(&e).unwrap();
        j.audit(&e).unwrap();
        let text = std::fs::read_to_string(j.audit_path()).unwrap();
        let lines: Vec<AuditEntry> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines, vec![e.clone(), e]);
    }
}
