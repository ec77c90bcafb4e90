//! The topic catalog: names, topic ids, partition counts and config overrides, persisted
//! atomically in `catalog.toml` in the data directory, plus the open partition logs.
//!
//! Each partition directory also holds Kafka's `partition.metadata` (version and topic id), so
//! an operator can tell which topic a directory belonged to.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::broker::config::{BrokerConfig, LogConfig};
use crate::broker::error::{BrokerError, LogError};
use crate::broker::log::PartitionLog;
use crate::broker::partition::Partition;
use crate::broker::storage::{self, Disk};

const CATALOG_FILE: &str = "catalog.toml";

/// Topic names as Kafka allows them.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("topic name '{name}' is not allowed"));
    }
    if name.len() > 249 {
        return Err(format!("topic name is {} characters; the maximum is 249", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic name '{name}' contains '{c}'; allowed are ASCII letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub configs: BTreeMap<String, String>,
    pub log_config: LogConfig,
    pub partitions: Vec<Arc<Partition>>,
}

#[derive(Serialize, Deserialize, Default)]
struct CatalogFile {
    #[serde(default)]
    topics: BTreeMap<String, TopicEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct TopicEntry {
    id: Uuid,
    partitions: i32,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

pub struct Catalog {
    dir: PathBuf,
    disk: Disk,
    /// The broker's leader epoch, for new partitions.
    leader_epoch: std::sync::atomic::AtomicI32,
    /// What readers see: only what catalog.toml durably holds.
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Where changes are made, in memory only (the lock is never held across file I/O).
    staged: Mutex<Staged>,
    /// Signalled when a topic name is released by the change that held it.
    released: Condvar,
    /// One writer of catalog.toml at a time, held across its write and fsync. Only catalog
    /// writers (on blocking threads) take it: readers, partitions and the group coordinator
    /// never wait for it.
    file: Mutex<FileState>,
}

/// The catalog with every change made so far, durable or not.
struct Staged {
    version: u64,
    topics: BTreeMap<String, Arc<Topic>>,
    /// Names a change (create, delete, growth, configs) is working on, from its first file
    /// operation until its result is published: one change per topic at a time.
    busy: HashSet<String>,
    /// Set for good when a catalog write fails: what was staged may or may not be on disk, so
    /// no further change is accepted until a restart reads the file again.
    failed: Option<String>,
}

struct FileState {
    /// The staged version catalog.toml durably holds, which readers see.
    written: u64,
}

/// A topic name held by a change; released (and waiters woken) on drop, whatever happened.
struct Busy<'a> {
    catalog: &'a Catalog,
    name: String,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.catalog.staged().busy.remove(&self.name);
        self.catalog.released.notify_all();
    }
}

fn partition_dir(dir: &Path, topic: &str, index: i32) -> PathBuf {
    dir.join(format!("{topic}-{index}"))
}

/// Kafka's file that marks a directory as a partition (version and topic id). The start sweep
/// removes only directories that hold it.
const PARTITION_METADATA: &str = "partition.metadata";
/// What a crash in the middle of writing it leaves (storage::write_atomically's temp file).
const PARTITION_METADATA_TMP: &str = "partition.metadata.tmp";

#[derive(Debug, PartialEq, Eq)]
enum DirKind {
    /// Made by this broker: it holds partition.metadata, or nothing but the temp file of a
    /// partition.metadata write that a crash interrupted (it is the first file written).
    Partition,
    Empty,
    /// Anything else: not ours to delete.
    Foreign,
}

fn dir_kind(disk: &dyn storage::Storage, path: &Path) -> std::io::Result<DirKind> {
    let entries = disk.list(path)?;
    Ok(if entries.iter().any(|e| e.name == PARTITION_METADATA) {
        DirKind::Partition
    } else if entries.is_empty() {
        DirKind::Empty
    } else if entries.iter().all(|e| e.name == PARTITION_METADATA_TMP) {
        DirKind::Partition
    } else {
        DirKind::Foreign
    })
}

/// Removes a partition directory with `partition.metadata` last, and only once the removal of
/// everything else is durable, so that a crash half way leaves a directory the next start
/// still recognises as a partition and sweeps (or an empty one).
fn remove_partition_dir(disk: &dyn storage::Storage, path: &Path) -> std::io::Result<()> {
    let mut marked = false;
    for entry in disk.list(path)? {
        if entry.name == PARTITION_METADATA {
            marked = true;
            continue;
        }
        let p = path.join(&entry.name);
        if entry.is_dir {
            disk.remove_dir_all(&p)?;
        } else {
            disk.remove_file(&p)?;
        }
    }
    if marked {
        disk.sync_dir(path)?;
    }
    disk.remove_dir_all(path)
}

/// A file name may hold 255 bytes (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// The name a deleted partition's directory is renamed to before removal:
/// `TOPIC-N.ID-delete`, the topic cut short (as Kafka's `logDeleteDirName` does) so that a
/// topic of the full 249 characters still fits in NAME_MAX.
fn delete_dir_name(topic: &str, index: i32, id: Uuid) -> String {
    let suffix = format!("-{index}.{}-delete", id.simple());
    let mut keep = topic.len().min(NAME_MAX.saturating_sub(suffix.len()));
    // Topic names are ASCII (validate_topic_name), but never cut inside a character.
    while !topic.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &topic[..keep])
}

impl Catalog {
    /// Loads the catalog and opens every partition log. `unclean`: the last run did not shut
    /// down cleanly, so log tails are verified.
    pub fn open(
        disk: Disk,
        dir: &Path,
        broker: &BrokerConfig,
        unclean: bool,
        now_ms: i64,
    ) -> Result<Self, BrokerError> {
        let path = dir.join(CATALOG_FILE);
        let file: CatalogFile = match disk.read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|text| toml::from_str(&text).map_err(|e| e.to_string()))
                .map_err(|reason| BrokerError::Catalog {
                    path: path.clone(),
                    reason,
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CatalogFile::default(),
            Err(e) => return Err(BrokerError::Io { path, source: e }),
        };
        let mut topics = BTreeMap::new();
        for (name, entry) in &file.topics {
            let log_config = LogConfig::resolve(broker, &entry.configs);
            let mut partitions = Vec::new();
            for i in 0..entry.partitions {
                let log = PartitionLog::open(
                    Arc::clone(&disk),
                    &partition_dir(dir, name, i),
                    log_config.clone(),
                    unclean,
                    now_ms,
                )?;
                partitions.push(Arc::new(Partition::new(name.clone(), i, log)));
            }
            topics.insert(
                name.clone(),
                Arc::new(Topic {
                    name: name.clone(),
                    id: entry.id,
                    configs: entry.configs.clone(),
                    log_config,
                    partitions,
                }),
            );
        }
        Self::remove_orphans(&*disk, dir, &file);
        Ok(Catalog {
            dir: dir.to_path_buf(),
            disk,
            leader_epoch: std::sync::atomic::AtomicI32::new(0),
            topics: RwLock::new(topics.clone()),
            staged: Mutex::new(Staged {
                version: 0,
                topics,
                busy: HashSet::new(),
                failed: None,
            }),
            released: Condvar::new(),
            file: Mutex::new(FileState { written: 0 }),
        })
    }

    /// Partition directories of deleted topics (a crash between the catalog write and the
    /// removal) and of topics whose creation never committed. Only a directory holding
    /// `partition.metadata` is a partition of this broker: anything else an operator keeps in
    /// the data directory is left alone, whatever its name.
    fn remove_orphans(disk: &dyn storage::Storage, dir: &Path, file: &CatalogFile) {
        let Ok(entries) = disk.list(dir) else { return };
        for entry in entries.into_iter().filter(|e| e.is_dir) {
            let name = entry.name;
            let known = name.rsplit_once('-').is_some_and(|(topic, idx)| {
                idx.parse::<i32>()
                    .is_ok_and(|i| file.topics.get(topic).is_some_and(|t| (0..t.partitions).contains(&i)))
            });
            let path = dir.join(&name);
            if known || !matches!(dir_kind(disk, &path), Ok(DirKind::Partition)) {
                continue;
            }
            tracing::info!(dir = %path.display(), "removing partition directory not in the catalog");
            if let Err(e) = remove_partition_dir(disk, &path) {
                tracing::warn!(dir = %path.display(), error = %e, "cannot remove an orphaned partition directory");
            }
        }
    }

    /// The largest leader epoch any partition's log has seen.
    pub fn latest_epoch(&self) -> i32 {
        self.all()
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.log().latest_epoch()))
            .max()
            .unwrap_or(0)
    }

    /// Every partition, and every one created later, leads in `epoch`.
    pub fn set_leader_epoch(&self, epoch: i32) {
        self.leader_epoch.store(epoch, std::sync::atomic::Ordering::Release);
        for t in self.all() {
            for p in &t.partitions {
                p.log().set_leader_epoch(epoch);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.read().get(name).cloned()
    }

    pub fn get_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.read().values().find(|t| t.id == id).cloned()
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        let t = self.get(topic)?;
        usize::try_from(index).ok().and_then(|i| t.partitions.get(i).cloned())
    }

    pub fn all(&self) -> Vec<Arc<Topic>> {
        self.read().values().cloned().collect()
    }

    fn staged(&self) -> MutexGuard<'_, Staged> {
        self.staged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds `name` for one change, waiting (on a blocking thread) while another change holds it.
    fn hold(&self, name: &str) -> Result<(Busy<'_>, Option<Arc<Topic>>), LogError> {
        let mut staged = self.staged();
        while staged.busy.contains(name) {
            staged = self.released.wait(staged).unwrap_or_else(|p| p.into_inner());
        }
        self.check_failed(&staged)?;
        staged.busy.insert(name.to_string());
        let current = staged.topics.get(name).cloned();
        drop(staged);
        Ok((
            Busy {
                catalog: self,
                name: name.to_string(),
            },
            current,
        ))
    }

    fn check_failed(&self, staged: &Staged) -> Result<(), LogError> {
        match &staged.failed {
            Some(reason) => Err(LogError::Offline {
                path: self.dir.join(CATALOG_FILE),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Applies `change` to the staged catalog and returns once catalog.toml durably holds it
    /// and readers see it. Writers that arrive while a write is under way share the next one:
    /// whoever gets the file writes everything staged so far.
    fn commit(&self, change: impl FnOnce(&mut BTreeMap<String, Arc<Topic>>)) -> Result<(), LogError> {
        let version = {
            let mut staged = self.staged();
            self.check_failed(&staged)?;
            change(&mut staged.topics);
            staged.version += 1;
            staged.version
        };
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.written >= version {
            return Ok(());
        }
        let (latest, snapshot) = {
            let staged = self.staged();
            self.check_failed(&staged)?;
            (staged.version, staged.topics.clone())
        };
        if let Err(e) = self.persist(&snapshot) {
            tracing::error!(error = %e, "catalog write failed; no topic changes until the broker restarts");
            self.staged().failed = Some(e.to_string());
            return Err(e);
        }
        file.written = latest;
        *self.topics.write().unwrap_or_else(|p| p.into_inner()) = snapshot;
        Ok(())
    }

    fn persist(&self, topics: &BTreeMap<String, Arc<Topic>>) -> Result<(), LogError> {
        let file = CatalogFile {
            topics: topics
                .values()
                .map(|t| {
                    (
                        t.name.clone(),
                        TopicEntry {
                            id: t.id,
                            partitions: t.partitions.len() as i32,
                            configs: t.configs.clone(),
                        },
                    )
                })
                .collect(),
        };
        let text = toml::to_string(&file).map_err(|e| LogError::io(&self.dir, std::io::Error::other(e)))?;
        let path = self.dir.join(CATALOG_FILE);
        storage::write_atomically(&*self.disk, &path, text.as_bytes()).map_err(|e| LogError::io(&path, e))
    }

    /// Creates a topic with `partitions` empty logs. Callers validated name and configs. An
    /// existing topic is returned as it is.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
        broker: &BrokerConfig,
        now_ms: i64,
    ) -> Result<Arc<Topic>, LogError> {
        let (_busy, current) = self.hold(name)?;
        if let Some(t) = current {
            return Ok(t);
        }
        let id = Uuid::new_v4();
        let log_config = LogConfig::resolve(broker, &configs);
        let parts = self.open_new_partitions(name, id, 0..partitions, &log_config, now_ms)?;
        let topic = Arc::new(Topic {
            name: name.to_string(),
            id,
            configs,
            log_config,
            partitions: parts,
        });
        let t = Arc::clone(&topic);
        self.commit(move |m| {
            m.insert(t.name.clone(), t);
        })?;
        Ok(topic)
    }

    /// Creates the logs of partitions `range` of a topic. Every directory is checked before
    /// any is made, so a directory that is not ours refuses the whole change; a failure half
    /// way removes what this call created.
    fn open_new_partitions(
        &self,
        name: &str,
        id: Uuid,
        range: std::ops::Range<i32>,
        cfg: &LogConfig,
        now_ms: i64,
    ) -> Result<Vec<Arc<Partition>>, LogError> {
        for i in range.clone() {
            let pdir = partition_dir(&self.dir, name, i);
            // A leftover of an uncommitted creation (it holds partition.metadata, or nothing
            // yet) is ours to replace; anything else belongs to someone else.
            if self.disk.exists(&pdir)
                && dir_kind(&*self.disk, &pdir).map_err(|e| LogError::io(&pdir, e))? == DirKind::Foreign
            {
                return Err(LogError::Foreign { path: pdir });
            }
        }
        let mut parts = Vec::new();
        for i in range {
            match self.open_new_partition(name, id, i, cfg, now_ms) {
                Ok(p) => parts.push(Arc::new(p)),
                Err(e) => {
                    for p in parts {
                        let pdir = partition_dir(&self.dir, name, p.index);
                        if let Err(e) = remove_partition_dir(&*self.disk, &pdir) {
                            tracing::warn!(dir = %pdir.display(), error = %e, "cannot remove a partition directory of a failed creation");
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(parts)
    }

    fn open_new_partition(
        &self,
        name: &str,
        id: Uuid,
        i: i32,
        cfg: &LogConfig,
        now_ms: i64,
    ) -> Result<Partition, LogError> {
        let pdir = partition_dir(&self.dir, name, i);
        // A leftover directory of an uncommitted creation must not leak old records.
        if self.disk.exists(&pdir) {
            remove_partition_dir(&*self.disk, &pdir).map_err(|e| LogError::io(&pdir, e))?;
        }
        // partition.metadata first: whatever a crash leaves of this directory is then
        // recognisably ours, and the next start's sweep removes it.
        storage::create_dir_durably(&*self.disk, &pdir).map_err(|e| LogError::io(&pdir, e))?;
        let meta = pdir.join(PARTITION_METADATA);
        storage::write_atomically(&*self.disk, &meta, format!("version: 0\ntopic_id: {id}\n").as_bytes())
            .map_err(|e| LogError::io(&meta, e))?;
        let mut log = PartitionLog::open(Arc::clone(&self.disk), &pdir, cfg.clone(), false, now_ms)?;
        log.set_leader_epoch(self.leader_epoch.load(std::sync::atomic::Ordering::Acquire));
        Ok(Partition::new(name.to_string(), i, log))
    }

    /// Deletes a topic: the catalog first (so a crash cannot resurrect it), then its data.
    pub fn delete(&self, name: &str) -> Result<Option<Arc<Topic>>, LogError> {
        let (_busy, current) = self.hold(name)?;
        let Some(topic) = current else {
            return Ok(None);
        };
        self.commit(|m| {
            m.remove(name);
        })?;
        for p in &topic.partitions {
            let dir = partition_dir(&self.dir, name, p.index);
            let doomed = self.dir.join(delete_dir_name(name, p.index, topic.id));
            // Renamed first so a crash half way through the removal leaves a `-delete`
            // directory the next start sweeps, never a partial partition.
            let gone = match self.disk.rename(&dir, &doomed) {
                Ok(()) => doomed,
                Err(_) => dir,
            };
            if let Err(e) = remove_partition_dir(&*self.disk, &gone) {
                tracing::warn!(dir = %gone.display(), error = %e, "cannot remove a deleted partition's directory");
            }
        }
        Ok(Some(topic))
    }

    /// Grows a topic to `count` partitions.
    pub fn add_partitions(&self, name: &str, count: i32, now_ms: i64) -> Result<(), LogError> {
        let (_busy, current) = self.hold(name)?;
        let Some(old) = current else { return Ok(()) };
        let mut parts = old.partitions.clone();
        parts.extend(self.open_new_partitions(
            name,
            old.id,
            old.partitions.len() as i32..count,
            &old.log_config,
            now_ms,
        )?);
        let topic = Arc::new(Topic {
            name: old.name.clone(),
            id: old.id,
            configs: old.configs.clone(),
            log_config: old.log_config.clone(),
            partitions: parts,
        });
        self.commit(|m| {
            m.insert(name.to_string(), topic);
        })
    }

    /// Replaces a topic's overrides (callers validated them) and, once they are durable,
    /// pushes the new effective settings into its logs.
    pub fn set_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
        broker: &BrokerConfig,
    ) -> Result<(), LogError> {
        let (_busy, current) = self.hold(name)?;
        let Some(old) = current else { return Ok(()) };
        let log_config = LogConfig::resolve(broker, &configs);
        let topic = Arc::new(Topic {
            name: old.name.clone(),
            id: old.id,
            configs,
            log_config: log_config.clone(),
            partitions: old.partitions.clone(),
        });
        self.commit(|m| {
            m.insert(name.to_string(), topic);
        })?;
        for p in &old.partitions {
            p.log().config = log_config.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::storage::OsDisk;

    #[test]
    fn delete_dir_names_fit_name_max_for_the_longest_topic() {
        let id = Uuid::new_v4();
        let long = "x".repeat(249);
        let n = delete_dir_name(&long, 99_999, id);
        assert!(n.len() <= NAME_MAX, "{} bytes", n.len());
        assert!(n.ends_with(&format!("-99999.{}-delete", id.simple())));
        assert_eq!(
            delete_dir_name("t", 0, id),
            format!("t-0.{}-delete", id.simple()),
            "short names kept whole"
        );
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-y").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("a b").unwrap_err().contains("' '"));
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }

    #[test]
    fn catalog_survives_reopen_with_ids_configs_and_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerConfig::default();
        let id;
        {
            let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, false, 0).unwrap();
            let mut cfg = BTreeMap::new();
            cfg.insert("retention.ms".to_string(), "1000".to_string());
            id = cat.create("orders", 2, cfg, &broker, 0).unwrap().id;
            cat.add_partitions("orders", 4, 0).unwrap();
            cat.create("gone", 1, BTreeMap::new(), &broker, 0).unwrap();
            cat.delete("gone").unwrap();
        }
        let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, true, 0).unwrap();
        let t = cat.get("orders").unwrap();
        assert_eq!(t.id, id);
        assert_eq!(t.partitions.len(), 4);
        assert_eq!(t.log_config.retention_ms, 1000);
        assert!(cat.get("gone").is_none());
        assert!(!dir.path().join("gone-0").exists());
        assert!(dir.path().join("orders-3").join("partition.metadata").exists());
    }

    #[test]
    fn concurrent_changes_of_different_topics_all_become_durable_and_visible() {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerConfig::default();
        let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, false, 0).unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let (cat, broker) = (&cat, &broker);
                s.spawn(move || {
                    let name = format!("t{i}");
                    cat.create(&name, 2, BTreeMap::new(), broker, 0).unwrap();
                    let mut cfg = BTreeMap::new();
                    cfg.insert("retention.ms".to_string(), i.to_string());
                    cat.set_configs(&name, cfg, broker).unwrap();
                    if i % 2 == 0 {
                        cat.delete(&name).unwrap();
                    }
                });
            }
        });
        let names = |c: &Catalog| c.all().iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&cat), ["t1", "t3", "t5", "t7"]);
        drop(cat);
        let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, false, 0).unwrap();
        assert_eq!(names(&cat), ["t1", "t3", "t5", "t7"]);
        assert_eq!(cat.get("t5").unwrap().log_config.retention_ms, 5);
    }

    #[test]
    fn the_same_topic_is_created_once_by_concurrent_requests() {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerConfig::default();
        let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, false, 0).unwrap();
        let ids: Vec<Uuid> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| cat.create("same", 3, BTreeMap::new(), &broker, 0).unwrap().id))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(cat.get("same").unwrap().partitions.len(), 3);
    }

    #[test]
    fn the_start_sweep_removes_only_partition_directories_of_this_broker() {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerConfig::default();
        {
            let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, false, 0).unwrap();
            cat.create("orders", 1, BTreeMap::new(), &broker, 0).unwrap();
        }
        let put = |rel: &str, body: &[u8]| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        };
        // Left by crashes: a partition past the topic's count, one of an unknown topic, a
        // deletion half done (its log already gone, partition.metadata last).
        put("orders-5/partition.metadata", b"version: 0\n");
        put("orders-5/00000000000000000000.log", b"old");
        put("gone-0/partition.metadata", b"version: 0\n");
        // A crash while partition.metadata, the first file of a new partition, was written.
        put("half-0/partition.metadata.tmp", b"vers");
        put(
            "gone-1.0123456789abcdef0123456789abcdef-delete/partition.metadata",
            b"version: 0\n",
        );
        // An operator's own directories, named like partitions or not.
        put("backup-0/orders.tar", b"keep");
        put("orders-7/notes.txt", b"keep");
        put("archive-delete/x", b"keep");
        put("notes/readme", b"keep");
        let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, true, 0).unwrap();
        assert_eq!(cat.get("orders").unwrap().partitions.len(), 1);
        for gone in [
            "orders-5",
            "gone-0",
            "gone-1.0123456789abcdef0123456789abcdef-delete",
            "half-0",
        ] {
            assert!(!dir.path().join(gone).exists(), "{gone} was swept");
        }
        for kept in [
            "backup-0/orders.tar",
            "orders-7/notes.txt",
            "archive-delete/x",
            "notes/readme",
            "orders-0/partition.metadata",
        ] {
            assert!(dir.path().join(kept).exists(), "{kept} was kept");
        }
    }

    #[test]
    fn a_topic_is_not_created_over_a_directory_that_is_not_a_partition() {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerConfig::default();
        let cat = Catalog::open(OsDisk::shared(), dir.path(), &broker, false, 0).unwrap();
        std::fs::create_dir_all(dir.path().join("backup-2")).unwrap();
        std::fs::write(dir.path().join("backup-2/orders.tar"), b"keep").unwrap();
        let err = cat.create("backup", 3, BTreeMap::new(), &broker, 0).err().unwrap();
        assert!(matches!(err, LogError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("backup-2"), "{err}");
        assert!(dir.path().join("backup-2/orders.tar").exists());
        assert!(cat.get("backup").is_none());
        // Refused before anything was made, so no orphan of this attempt is left.
        assert!(!dir.path().join("backup-0").exists());
        // Growing a topic into it is refused the same way.
        cat.create("backup", 2, BTreeMap::new(), &broker, 0).unwrap();
        assert!(matches!(
            cat.add_partitions("backup", 3, 0),
            Err(LogError::Foreign { .. })
        ));
        assert_eq!(cat.get("backup").unwrap().partitions.len(), 2);
        // An empty directory (a crash before partition.metadata was written) or a leftover
        // partition of ours is replaced.
        std::fs::remove_file(dir.path().join("backup-2/orders.tar")).unwrap();
        std::fs::create_dir_all(dir.path().join("backup-3")).unwrap();
        std::fs::write(dir.path().join("backup-3/partition.metadata"), b"version: 0\n").unwrap();
        std::fs::write(dir.path().join("backup-3/00000000000000000000.log"), b"old").unwrap();
        cat.add_partitions("backup", 4, 0).unwrap();
        assert_eq!(cat.get("backup").unwrap().partitions[3].log().log_end_offset(), 0);
        let leftover = std::fs::metadata(dir.path().join("backup-3/00000000000000000000.log")).unwrap();
        assert_eq!(leftover.len(), 0, "the leftover's records are gone");
    }
}
