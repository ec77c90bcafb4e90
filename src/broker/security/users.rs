//! The broker's users: salted SCRAM credentials in `users.toml` in the data directory, written
//! by `strom broker add-user` / `remove-user` and read by the running broker.
//!
//! File format (TOML, mode 0600, replaced atomically: written to `users.toml.tmp`, fsynced,
//! renamed over `users.toml`, directory fsynced; read-modify-write runs under `flock` on
//! `users.lock` so two concurrent `add-user` runs cannot lose one another's change):
//!
//! ```toml
//! version = 1                      # format version; other values are refused
//!
//! [users."alice"."SCRAM-SHA-512"]  # one table per user and mechanism
//! salt = "base64"                  # random, 32 bytes
//! stored_key = "base64"            # H(HMAC(SaltedPassword, "Client Key")), hash-sized
//! server_key = "base64"            # HMAC(SaltedPassword, "Server Key"), hash-sized
//! iterations = 4096                # PBKDF2 rounds, 4096..=16384
//! ```
//!
//! | key          | type    | meaning                                                   |
//! |--------------|---------|-----------------------------------------------------------|
//! | `version`    | integer | 1                                                         |
//! | `users.U.M`  | table   | credential of user U for mechanism M (SCRAM-SHA-256/512)  |
//! | `salt`       | base64  | PBKDF2 salt                                               |
//! | `stored_key` | base64  | RFC 5802 StoredKey (32 bytes for SHA-256, 64 for SHA-512) |
//! | `server_key` | base64  | RFC 5802 ServerKey (same size)                            |
//! | `iterations` | integer | PBKDF2 iteration count                                    |
//!
//! The password itself is never written. A running broker notices a replaced file on the next
//! authentication (it compares inode, size and times) and reloads it, so added and removed
//! users take effect without a restart; a file that does not parse is reported and the last
//! good one kept.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::scram::{ScramCredential, ScramHash, MAX_ITERATIONS, MIN_ITERATIONS};

pub const USERS_FILE: &str = "users.toml";
const USERS_TMP: &str = "users.toml.tmp";
const USERS_LOCK: &str = "users.lock";
const VERSION: u32 = 1;
/// Longest user name accepted (Kafka has no limit; this keeps log lines and files sane).
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("users file {path} is unreadable: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid user name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}, not {0}")]
    Iterations(u32),
    #[error("cannot draw random bytes for the salt: {0}")]
    Random(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UsersError + '_ {
    move |source| UsersError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    version: u32,
    #[serde(default)]
    users: BTreeMap<String, BTreeMap<String, StoredCredential>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredCredential {
    salt: String,
    stored_key: String,
    server_key: String,
    iterations: u32,
}

/// Every user and their credentials, as one snapshot of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Users {
    map: BTreeMap<String, BTreeMap<ScramHash, ScramCredential>>,
}

impl Users {
    /// Reads `path`; a missing file is no users.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|reason| UsersError::Corrupt {
                path: path.to_path_buf(),
                reason,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Users::default()),
            Err(e) => Err(io(path)(e)),
        }
    }

    pub fn parse(text: &str) -> Result<Users, String> {
        let file: FileV1 = toml::from_str(text).map_err(|e| e.message().to_string())?;
        if file.version != VERSION {
            return Err(format!(
                "version {} is not supported (expected {VERSION})",
                file.version
            ));
        }
        let mut map = BTreeMap::new();
        for (user, mechs) in file.users {
            let mut creds = BTreeMap::new();
            for (mech, c) in mechs {
                let hash = ScramHash::from_mechanism(&mech)
                    .ok_or_else(|| format!("user {user:?}: unknown mechanism {mech:?}"))?;
                let field = |name: &str, v: &str| {
                    B64.decode(v)
                        .map_err(|_| format!("user {user:?} {mech}: {name} is not base64"))
                };
                let cred = ScramCredential {
                    salt: field("salt", &c.salt)?,
                    stored_key: field("stored_key", &c.stored_key)?,
                    server_key: field("server_key", &c.server_key)?,
                    iterations: c.iterations,
                };
                if !cred.fits(hash) {
                    return Err(format!(
                        "user {user:?} {mech}: key sizes or iteration count do not fit the mechanism"
                    ));
                }
                creds.insert(hash, cred);
            }
            map.insert(user, creds);
        }
        Ok(Users { map })
    }

    pub fn to_text(&self) -> String {
        let file = FileV1 {
            version: VERSION,
            users: self
                .map
                .iter()
                .map(|(user, creds)| {
                    let creds = creds
                        .iter()
                        .map(|(hash, c)| {
                            (
                                hash.mechanism().to_string(),
                                StoredCredential {
                                    salt: B64.encode(&c.salt),
                                    stored_key: B64.encode(&c.stored_key),
                                    server_key: B64.encode(&c.server_key),
                                    iterations: c.iterations,
                                },
                            )
                        })
                        .collect();
                    (user.clone(), creds)
                })
                .collect(),
        };
        let body = toml::to_string(&file).unwrap_or_default();
        format!(
            "# strom broker users: salted SCRAM credentials, never passwords.\n\
             # Managed by `strom broker add-user` and `strom broker remove-user`.\n{body}"
        )
    }

    pub fn credential(&self, user: &str, hash: ScramHash) -> Option<&ScramCredential> {
        self.map.get(user)?.get(&hash)
    }

    /// The credential PLAIN checks against: SCRAM-SHA-512 when the user has one, else
    /// SCRAM-SHA-256.
    pub fn plain_credential(&self, user: &str) -> Option<(ScramHash, &ScramCredential)> {
        let creds = self.map.get(user)?;
        [ScramHash::Sha512, ScramHash::Sha256]
            .into_iter()
            .find_map(|h| creds.get(&h).map(|c| (h, c)))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn mechanisms(&self, user: &str) -> Vec<ScramHash> {
        self.map
            .get(user)
            .map(|c| c.keys().copied().collect())
            .unwrap_or_default()
    }
}

pub fn validate_name(name: &str) -> Result<(), UsersError> {
    let bad = |reason| {
        Err(UsersError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("it is longer than 255 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    Ok(())
}

/// Holds `users.lock` for a read-modify-write of the users file.
struct EditLock {
    _file: File,
}

impl EditLock {
    fn acquire(dir: &Path) -> Result<Self, UsersError> {
        let path = dir.join(USERS_LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        // SAFETY: flock on a valid, owned file descriptor; blocks until the other editor ends.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io(&path)(std::io::Error::last_os_error()));
        }
        Ok(EditLock { _file: file })
    }
}

fn write_atomically(dir: &Path, text: &str) -> Result<(), UsersError> {
    let tmp = dir.join(USERS_TMP);
    let path = dir.join(USERS_FILE);
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// What `add-user` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Created,
    Replaced,
}

/// Adds `name` (or replaces their credentials) with one credential per mechanism of `hashes`.
pub fn add_user(
    dir: &Path,
    name: &str,
    password: &str,
    hashes: &[ScramHash],
    iterations: u32,
) -> Result<Added, UsersError> {
    validate_name(name)?;
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(UsersError::Iterations(iterations));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let _lock = EditLock::acquire(dir)?;
    let mut users = Users::load(&dir.join(USERS_FILE))?;
    let mut creds = BTreeMap::new();
    for &hash in hashes {
        let cred =
            ScramCredential::derive(hash, password, iterations).map_err(|e| UsersError::Random(e.to_string()))?;
        creds.insert(hash, cred);
    }
    let existed = users.map.insert(name.to_string(), creds).is_some();
    write_atomically(dir, &users.to_text())?;
    Ok(if existed { Added::Replaced } else { Added::Created })
}

/// Removes `name`; false when there was no such user.
pub fn remove_user(dir: &Path, name: &str) -> Result<bool, UsersError> {
    let path = dir.join(USERS_FILE);
    if !path.exists() {
        return Ok(false);
    }
    let _lock = EditLock::acquire(dir)?;
    let mut users = Users::load(&path)?;
    if users.map.remove(name).is_none() {
        return Ok(false);
    }
    write_atomically(dir, &users.to_text())?;
    Ok(true)
}

/// Identifies one version of the file: a replaced file has a new inode, an edited one new
/// times or size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

/// The running broker's view of the users file: reloaded when the file changed.
pub struct UserStore {
    path: PathBuf,
    cache: Mutex<(Option<Stamp>, Arc<Users>)>,
}

impl UserStore {
    /// Loads the file once; an unreadable file stops the broker from starting.
    pub fn open(dir: &Path) -> Result<UserStore, UsersError> {
        let path = dir.join(USERS_FILE);
        let before = stamp(&path);
        let users = Users::load(&path)?;
        Ok(UserStore {
            path,
            cache: Mutex::new((before, Arc::new(users))),
        })
    }

    /// The current users (blocking: a stat, and a read when the file changed). A file that no
    /// longer parses is logged and the last good snapshot kept.
    pub fn current(&self) -> Arc<Users> {
        let now = stamp(&self.path);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.0 != now {
            match Users::load(&self.path) {
                Ok(users) => {
                    tracing::info!(path = %self.path.display(), users = users.map.len(), "users file reloaded");
                    *cache = (now, Arc::new(users));
                }
                Err(e) => {
                    tracing::error!(error = %e, "users file changed but cannot be used; keeping the previous users");
                    cache.0 = now;
                }
            }
        }
        Arc::clone(&cache.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_replace_and_remove_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            add_user(d, "alice", "pw-a", &ScramHash::ALL, 4096).unwrap(),
            Added::Created
        );
        assert_eq!(
            add_user(d, "bob,=x", "pw-b", &[ScramHash::Sha512], 8192).unwrap(),
            Added::Created
        );
        let users = Users::load(&d.join(USERS_FILE)).unwrap();
        assert_eq!(users.names().collect::<Vec<_>>(), ["alice", "bob,=x"]);
        assert_eq!(users.mechanisms("alice"), ScramHash::ALL);
        let (hash, cred) = users.plain_credential("bob,=x").unwrap();
        assert_eq!((hash, cred.iterations), (ScramHash::Sha512, 8192));
        assert!(cred.verify_password(hash, "pw-b"));

        assert_eq!(
            add_user(d, "alice", "pw-new", &[ScramHash::Sha256], 4096).unwrap(),
            Added::Replaced
        );
        let users = Users::load(&d.join(USERS_FILE)).unwrap();
        assert_eq!(users.mechanisms("alice"), [ScramHash::Sha256]);
        let (hash, cred) = users.plain_credential("alice").unwrap();
        assert!(cred.verify_password(hash, "pw-new") && !cred.verify_password(hash, "pw-a"));

        assert!(remove_user(d, "alice").unwrap());
        assert!(!remove_user(d, "alice").unwrap());
        let users = Users::load(&d.join(USERS_FILE)).unwrap();
        assert_eq!(users.names().collect::<Vec<_>>(), ["bob,=x"]);
        assert!(!d.join(USERS_TMP).exists());
    }

    #[test]
    fn the_file_holds_no_password_and_only_its_owner_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        add_user(dir.path(), "alice", "correct horse battery", &ScramHash::ALL, 4096).unwrap();
        let path = dir.path().join(USERS_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("correct horse"), "{text}");
        assert!(text.contains("version = 1") && text.contains("SCRAM-SHA-512"), "{text}");
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn bad_names_and_iterations_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["", "a\nb", "tab\there", &"x".repeat(256)] {
            assert!(matches!(
                add_user(dir.path(), name, "pw", &ScramHash::ALL, 4096),
                Err(UsersError::InvalidName { .. })
            ));
        }
        assert!(matches!(
            add_user(dir.path(), "a", "pw", &ScramHash::ALL, 1000),
            Err(UsersError::Iterations(1000))
        ));
        assert!(!dir.path().join(USERS_FILE).exists());
    }

    #[test]
    fn damaged_files_are_refused_with_a_reason() {
        let good = {
            let mut u = Users::default();
            let mut c = BTreeMap::new();
            c.insert(
                ScramHash::Sha256,
                ScramCredential::derive(ScramHash::Sha256, "pw", 4096).unwrap(),
            );
            u.map.insert("alice".into(), c);
            u.to_text()
        };
        assert!(Users::parse(&good).is_ok());
        let cases = [
            (good.replace("version = 1", "version = 2"), "version 2"),
            (good.replace("SCRAM-SHA-256", "SCRAM-MD5"), "unknown mechanism"),
            (good.replace("iterations = 4096", "iterations = 1"), "do not fit"),
            (good.replace("salt = \"", "salt = \"!"), "not base64"),
            (good.replace("iterations", "rounds"), "rounds"),
            ("version = ".to_string(), ""),
        ];
        for (text, why) in cases {
            let err = Users::parse(&text).unwrap_err();
            assert!(err.contains(why), "{err} should mention {why}");
        }
    }

    #[test]
    fn the_store_picks_up_changes_and_keeps_the_last_good_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = UserStore::open(dir.path()).unwrap();
        assert!(store.current().is_empty());
        add_user(dir.path(), "alice", "pw", &ScramHash::ALL, 4096).unwrap();
        assert_eq!(store.current().names().collect::<Vec<_>>(), ["alice"]);
        std::fs::write(dir.path().join(USERS_FILE), "garbage = [").unwrap();
        assert_eq!(store.current().names().collect::<Vec<_>>(), ["alice"], "last good kept");
        add_user(dir.path(), "bob", "pw", &ScramHash::ALL, 4096).unwrap_err();
        std::fs::remove_file(dir.path().join(USERS_FILE)).unwrap();
        assert!(store.current().is_empty(), "a removed file means no users");
    }

    #[test]
    fn an_unreadable_file_stops_the_broker_from_starting() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(USERS_FILE), "version = 7\n").unwrap();
        let err = UserStore::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("version 7"), "{err}");
    }
}
