//! A simulated disk for power-loss tests: an in-memory file system that remembers, per file,
//! what is durable and what was written since the last `sync_data`, and per directory, which
//! entries are durable and which were created, renamed or removed since the last `sync_dir`.
//!
//! - [`SimDisk::process_crash`]: what a SIGKILL leaves: everything written stays (the page
//!   cache survives), still unsynced.
//! - [`SimDisk::power_loss`]: what a power cut leaves: durable state, plus, chosen by the seeded
//!   generator, nothing, a prefix, or a random subset of the unsynced writes per file (the
//!   last one kept possibly torn at a 512-byte sector), and nothing or a prefix of the unsynced
//!   entry changes per directory (a journaling file system commits them in order). A created
//!   or renamed file whose directory was not synced may vanish; a synced file under it too.
//! - [`SimDisk::die_after`]: the crash point: after that many more mutating calls (writes,
//!   truncations, syncs, creates, renames, removes) every call of this disk fails, as if the
//!   machine stopped there. The broker that used it is then dropped and a new one starts on
//!   [`SimDisk::power_loss`] or [`SimDisk::process_crash`] of it.
//! - [`SimDisk::die_at_sync`]: the same, at the n-th sync call: whatever was written before it
//!   is left unsynced.
//! - [`SimDisk::add_sync_rule`]: makes chosen syncs do nothing (to show that a test notices a
//!   missing fsync) or fail the way Linux fails them: the unsynced pages are dropped, reads
//!   still see them, and a later sync does not bring them back.
//!
//! Every call takes one lock and never blocks, so [`super::blocking`] runs them inline.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Component, Path};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{DirEntry, FileRef, OpenMode, Storage, StorageFile};

const ROOT: u64 = 0;
/// Torn writes keep whole sectors of this size.
const SECTOR: u64 = 512;

/// A small deterministic generator (SplitMix64), so a seed reproduces a run.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// `StorageFile::sync_data` of a file, matched by the path it was opened with.
    Data,
    /// `Storage::sync_dir`, matched by the directory's path.
    Dir,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// Return Ok and make nothing durable: the fsync call is as good as deleted.
    Skip,
    /// Return an I/O error and drop the unsynced writes (Linux marks the failed pages clean).
    Fail,
}

pub struct SyncRule {
    pub kind: SyncKind,
    pub action: SyncAction,
    pub matches: Box<dyn Fn(&Path) -> bool + Send + Sync>,
}

#[derive(Clone)]
enum FileOp {
    Write { pos: u64, data: Arc<[u8]> },
    SetLen(u64),
}

#[derive(Clone)]
enum DirOp {
    Link(String, u64),
    Unlink(String),
    Rename { from: String, to: String, ino: u64 },
}

#[derive(Clone)]
struct SimFile {
    current: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<FileOp>,
    mtime_ms: i64,
}

#[derive(Clone)]
struct SimDir {
    current: BTreeMap<String, u64>,
    durable: BTreeMap<String, u64>,
    pending: Vec<DirOp>,
}

#[derive(Clone)]
enum Node {
    File(SimFile),
    Dir(SimDir),
}

#[derive(Clone)]
struct State {
    dead: bool,
    ops: u64,
    die_at: Option<u64>,
    syncs: u64,
    die_at_sync: Option<u64>,
    nodes: HashMap<u64, Node>,
    next_ino: u64,
}

struct Shared {
    state: Mutex<State>,
    rules: Arc<Mutex<Vec<SyncRule>>>,
}

/// The simulated disk. Clones share one file system; [`SimDisk::storage`] hands it to the
/// broker.
#[derive(Clone)]
pub struct SimDisk {
    shared: Arc<Shared>,
}

fn gone() -> io::Error {
    io::Error::other("simulated disk: the machine has stopped")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", path.display()),
    )
}

fn components(path: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "simulated disk: '..' in paths is not supported",
                ))
            }
        }
    }
    Ok(out)
}

fn apply_file_op(data: &mut Vec<u8>, op: &FileOp) {
    match op {
        FileOp::Write { pos, data: bytes } => {
            let end = *pos as usize + bytes.len();
            if data.len() < end {
                data.resize(end, 0);
            }
            data[*pos as usize..end].copy_from_slice(bytes);
        }
        FileOp::SetLen(len) => data.resize(*len as usize, 0),
    }
}

fn apply_dir_op(entries: &mut BTreeMap<String, u64>, op: &DirOp) {
    match op {
        DirOp::Link(name, ino) => {
            entries.insert(name.clone(), *ino);
        }
        DirOp::Unlink(name) => {
            entries.remove(name);
        }
        DirOp::Rename { from, to, ino } => {
            entries.remove(from);
            entries.insert(to.clone(), *ino);
        }
    }
}

impl State {
    fn dir(&self, ino: u64) -> Option<&SimDir> {
        match self.nodes.get(&ino) {
            Some(Node::Dir(d)) => Some(d),
            _ => None,
        }
    }

    fn dir_mut(&mut self, ino: u64) -> Option<&mut SimDir> {
        match self.nodes.get_mut(&ino) {
            Some(Node::Dir(d)) => Some(d),
            _ => None,
        }
    }

    fn file_mut(&mut self, ino: u64) -> io::Result<&mut SimFile> {
        match self.nodes.get_mut(&ino) {
            Some(Node::File(f)) => Ok(f),
            _ => Err(io::Error::other("simulated disk: not a file")),
        }
    }

    fn lookup(&self, path: &Path) -> io::Result<Option<u64>> {
        let mut ino = ROOT;
        for name in components(path)? {
            let Some(dir) = self.dir(ino) else { return Ok(None) };
            match dir.current.get(&name) {
                Some(&next) => ino = next,
                None => return Ok(None),
            }
        }
        Ok(Some(ino))
    }

    /// The directory holding `path` and the last component.
    fn parent(&self, path: &Path) -> io::Result<(u64, String)> {
        let mut names = components(path)?;
        let name = names
            .pop()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "simulated disk: empty path"))?;
        let mut ino = ROOT;
        for n in names {
            match self.dir(ino).and_then(|d| d.current.get(&n)) {
                Some(&next) if self.dir(next).is_some() => ino = next,
                _ => return Err(not_found(path)),
            }
        }
        Ok((ino, name))
    }

    fn new_node(&mut self, node: Node) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, node);
        ino
    }

    fn link(&mut self, dir: u64, name: String, ino: u64) {
        if let Some(d) = self.dir_mut(dir) {
            d.current.insert(name.clone(), ino);
            d.pending.push(DirOp::Link(name, ino));
        }
    }
}

impl Default for SimDisk {
    fn default() -> Self {
        Self::new()
    }
}

impl SimDisk {
    /// An empty disk whose root directory exists (and is durable).
    pub fn new() -> SimDisk {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node::Dir(SimDir {
                current: BTreeMap::new(),
                durable: BTreeMap::new(),
                pending: Vec::new(),
            }),
        );
        SimDisk::from_state(
            State {
                dead: false,
                ops: 0,
                die_at: None,
                syncs: 0,
                die_at_sync: None,
                nodes,
                next_ino: ROOT + 1,
            },
            Arc::new(Mutex::new(Vec::new())),
        )
    }

    fn from_state(state: State, rules: Arc<Mutex<Vec<SyncRule>>>) -> SimDisk {
        SimDisk {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                rules,
            }),
        }
    }

    /// This disk as the broker's storage.
    pub fn storage(&self) -> super::Disk {
        Arc::new(self.clone())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state for a read: fails once the machine stopped.
    fn live(&self) -> io::Result<MutexGuard<'_, State>> {
        let st = self.state();
        if st.dead {
            return Err(gone());
        }
        Ok(st)
    }

    /// The state for a mutating call: counts it and stops the machine at the crash point.
    fn mutate(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut st = self.live()?;
        st.ops += 1;
        if st.die_at.is_some_and(|at| st.ops > at) {
            st.dead = true;
            return Err(gone());
        }
        Ok(st)
    }

    /// The state for a sync: like [`Self::mutate`], and stops the machine at the chosen sync.
    fn mutate_sync(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut st = self.mutate()?;
        st.syncs += 1;
        if st.die_at_sync.is_some_and(|at| st.syncs > at) {
            st.dead = true;
            return Err(gone());
        }
        Ok(st)
    }

    /// Stops the machine at the `n`-th sync call from now (`sync_data` or `sync_dir`): it and
    /// everything after it fail, so what was written before it stays unsynced. The most
    /// telling crash point there is.
    pub fn die_at_sync(&self, n: u64) {
        let mut st = self.state();
        st.die_at_sync = Some(st.syncs + n.saturating_sub(1));
    }

    /// Mutating calls made so far.
    pub fn ops(&self) -> u64 {
        self.state().ops
    }

    /// Stops the machine after `n` more mutating calls: the one after them and every call
    /// after it fail.
    pub fn die_after(&self, n: u64) {
        let mut st = self.state();
        st.die_at = Some(st.ops + n);
    }

    /// Stops the machine now.
    pub fn stop(&self) {
        self.state().dead = true;
    }

    pub fn is_stopped(&self) -> bool {
        self.state().dead
    }

    pub fn add_sync_rule(&self, rule: SyncRule) {
        self.shared.rules.lock().unwrap_or_else(|p| p.into_inner()).push(rule);
    }

    pub fn clear_sync_rules(&self) {
        self.shared.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn rule_for(&self, kind: SyncKind, path: &Path) -> Option<SyncAction> {
        let rules = self.shared.rules.lock().unwrap_or_else(|p| p.into_inner());
        rules
            .iter()
            .find(|r| r.kind == kind && (r.matches)(path))
            .map(|r| r.action)
    }

    /// A SIGKILL: this disk stops; the returned one holds everything written, synced or not.
    /// Sync rules carry over.
    pub fn process_crash(&self) -> SimDisk {
        self.state().dead = true;
        self.fork()
    }

    /// An independent copy of this disk as it is now (running), sharing the sync rules.
    pub fn fork(&self) -> SimDisk {
        let st = self.state();
        let mut next = st.clone();
        next.dead = false;
        next.ops = 0;
        next.die_at = None;
        next.syncs = 0;
        next.die_at_sync = None;
        SimDisk::from_state(next, Arc::clone(&self.shared.rules))
    }

    /// A power loss: this disk stops; the returned one holds the durable state plus what
    /// `rng` lets survive of the rest (see the module comment). Sync rules carry over.
    pub fn power_loss(&self, rng: &mut SimRng) -> SimDisk {
        let mut st = self.state();
        st.dead = true;
        let mut nodes = HashMap::new();
        let mut todo = vec![ROOT];
        while let Some(ino) = todo.pop() {
            if nodes.contains_key(&ino) {
                continue;
            }
            let node = match st.nodes.get(&ino) {
                Some(Node::Dir(d)) => {
                    let mut entries = d.durable.clone();
                    if !d.pending.is_empty() && rng.chance(2) {
                        let keep = rng.below(d.pending.len() as u64 + 1) as usize;
                        for op in &d.pending[..keep] {
                            apply_dir_op(&mut entries, op);
                        }
                    }
                    todo.extend(entries.values().copied());
                    Node::Dir(SimDir {
                        current: entries.clone(),
                        durable: entries,
                        pending: Vec::new(),
                    })
                }
                Some(Node::File(f)) => {
                    let data = recover_file(f, rng);
                    Node::File(SimFile {
                        current: data.clone(),
                        durable: data,
                        pending: Vec::new(),
                        mtime_ms: f.mtime_ms,
                    })
                }
                None => continue,
            };
            nodes.insert(ino, node);
        }
        SimDisk::from_state(
            State {
                dead: false,
                ops: 0,
                die_at: None,
                syncs: 0,
                die_at_sync: None,
                nodes,
                next_ino: st.next_ino,
            },
            Arc::clone(&self.shared.rules),
        )
    }

    /// Writes and directory changes not yet synced, over the whole disk (for tests that want
    /// to know a crash point had something to lose).
    pub fn unsynced_ops(&self) -> usize {
        self.state()
            .nodes
            .values()
            .map(|n| match n {
                Node::File(f) => f.pending.len(),
                Node::Dir(d) => d.pending.len(),
            })
            .sum()
    }
}

/// What survives of one file's unsynced writes.
fn recover_file(f: &SimFile, rng: &mut SimRng) -> Vec<u8> {
    let mut data = f.durable.clone();
    if f.pending.is_empty() {
        return data;
    }
    match rng.below(3) {
        // Nothing reached the platter.
        0 => {}
        // The writes went out in order and stopped somewhere, maybe inside one.
        1 => {
            let keep = rng.below(f.pending.len() as u64 + 1) as usize;
            for op in &f.pending[..keep] {
                apply_file_op(&mut data, op);
            }
            if let Some(FileOp::Write { pos, data: bytes }) = f.pending.get(keep) {
                if rng.chance(2) && !bytes.is_empty() {
                    let cut_abs = (pos + rng.below(bytes.len() as u64)) / SECTOR * SECTOR;
                    let cut = cut_abs.saturating_sub(*pos) as usize;
                    if cut > 0 {
                        apply_file_op(
                            &mut data,
                            &FileOp::Write {
                                pos: *pos,
                                data: Arc::from(&bytes[..cut]),
                            },
                        );
                    }
                }
            }
        }
        // Write-back in any order: each write made it or did not.
        _ => {
            for op in &f.pending {
                if rng.chance(2) {
                    apply_file_op(&mut data, op);
                }
            }
        }
    }
    data
}

struct SimHandle {
    disk: SimDisk,
    ino: u64,
    path: std::path::PathBuf,
}

impl StorageFile for SimHandle {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        let mut st = self.disk.live()?;
        let f = st.file_mut(self.ino)?;
        let start = (pos as usize).min(f.current.len());
        let n = buf.len().min(f.current.len() - start);
        buf[..n].copy_from_slice(&f.current[start..start + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        let mut st = self.disk.mutate()?;
        let f = st.file_mut(self.ino)?;
        let op = FileOp::Write {
            pos,
            data: Arc::from(buf),
        };
        apply_file_op(&mut f.current, &op);
        f.pending.push(op);
        f.mtime_ms = crate::broker::now_ms();
        Ok(())
    }

    /// One call and one write, as `pwritev` is one system call: a crash point falls before or
    /// after it, and a power loss may tear it at a sector like any other write.
    fn write_all_vectored_at(&self, bufs: &[&[u8]], pos: u64) -> io::Result<()> {
        self.write_all_at(&bufs.concat(), pos)
    }

    fn len(&self) -> io::Result<u64> {
        let mut st = self.disk.live()?;
        Ok(st.file_mut(self.ino)?.current.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut st = self.disk.mutate()?;
        let f = st.file_mut(self.ino)?;
        let op = FileOp::SetLen(len);
        apply_file_op(&mut f.current, &op);
        f.pending.push(op);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let rule = self.disk.rule_for(SyncKind::Data, &self.path);
        let mut st = self.disk.mutate_sync()?;
        let f = st.file_mut(self.ino)?;
        match rule {
            Some(SyncAction::Skip) => Ok(()),
            Some(SyncAction::Fail) => {
                f.pending.clear();
                Err(io::Error::other(format!(
                    "simulated fsync failure on {}",
                    self.path.display()
                )))
            }
            None => {
                let pending = std::mem::take(&mut f.pending);
                for op in &pending {
                    apply_file_op(&mut f.durable, op);
                }
                Ok(())
            }
        }
    }

    fn modified_ms(&self) -> io::Result<i64> {
        let mut st = self.disk.live()?;
        Ok(st.file_mut(self.ino)?.mtime_ms)
    }
}

impl Storage for SimDisk {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let existing = self.live()?.lookup(path)?;
        let ino = match existing {
            Some(ino) => {
                if mode == OpenMode::Truncate {
                    let mut st = self.mutate()?;
                    let f = st.file_mut(ino)?;
                    f.current.clear();
                    f.pending.push(FileOp::SetLen(0));
                } else {
                    self.live()?.file_mut(ino)?;
                }
                ino
            }
            None if mode == OpenMode::Existing => return Err(not_found(path)),
            None => {
                let mut st = self.mutate()?;
                let (dir, name) = st.parent(path)?;
                let ino = st.new_node(Node::File(SimFile {
                    current: Vec::new(),
                    durable: Vec::new(),
                    pending: Vec::new(),
                    mtime_ms: crate::broker::now_ms(),
                }));
                st.link(dir, name, ino);
                ino
            }
        };
        Ok(Arc::new(SimHandle {
            disk: self.clone(),
            ino,
            path: path.to_path_buf(),
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut st = self.live()?;
        let ino = st.lookup(path)?.ok_or_else(|| not_found(path))?;
        Ok(st.file_mut(ino)?.current.clone())
    }

    fn exists(&self, path: &Path) -> bool {
        self.live().ok().and_then(|st| st.lookup(path).ok().flatten()).is_some()
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let names = components(path)?;
        let mut ino = ROOT;
        for name in names {
            let next = self.live()?.dir(ino).and_then(|d| d.current.get(&name).copied());
            ino = match next {
                Some(next) => {
                    if self.live()?.dir(next).is_none() {
                        return Err(io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            format!("{}: a file is in the way", path.display()),
                        ));
                    }
                    next
                }
                None => {
                    let mut st = self.mutate()?;
                    let new = st.new_node(Node::Dir(SimDir {
                        current: BTreeMap::new(),
                        durable: BTreeMap::new(),
                        pending: Vec::new(),
                    }));
                    st.link(ino, name, new);
                    new
                }
            };
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let st = self.live()?;
        let ino = st.lookup(dir)?.ok_or_else(|| not_found(dir))?;
        let d = st
            .dir(ino)
            .ok_or_else(|| io::Error::other(format!("{}: not a directory", dir.display())))?;
        Ok(d.current
            .iter()
            .map(|(name, ino)| DirEntry {
                name: name.clone(),
                is_dir: st.dir(*ino).is_some(),
            })
            .collect())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.mutate()?;
        let (dir, from_name) = st.parent(from)?;
        let (to_dir, to_name) = st.parent(to)?;
        if dir != to_dir {
            return Err(io::Error::other(
                "simulated disk: renames across directories are not supported",
            ));
        }
        let d = st.dir_mut(dir).ok_or_else(|| not_found(from))?;
        let ino = d.current.remove(&from_name).ok_or_else(|| not_found(from))?;
        d.current.insert(to_name.clone(), ino);
        d.pending.push(DirOp::Rename {
            from: from_name,
            to: to_name,
            ino,
        });
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.mutate()?;
        let (dir, name) = st.parent(path)?;
        let ino = st
            .dir(dir)
            .and_then(|d| d.current.get(&name).copied())
            .ok_or_else(|| not_found(path))?;
        if st.dir(ino).is_some() {
            return Err(io::Error::other(format!("{}: is a directory", path.display())));
        }
        let d = st.dir_mut(dir).ok_or_else(|| not_found(path))?;
        d.current.remove(&name);
        d.pending.push(DirOp::Unlink(name));
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.mutate()?;
        let (dir, name) = st.parent(path)?;
        let ino = st
            .dir(dir)
            .and_then(|d| d.current.get(&name).copied())
            .ok_or_else(|| not_found(path))?;
        if st.dir(ino).is_none() {
            return Err(io::Error::other(format!("{}: not a directory", path.display())));
        }
        let d = st.dir_mut(dir).ok_or_else(|| not_found(path))?;
        d.current.remove(&name);
        d.pending.push(DirOp::Unlink(name));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let rule = self.rule_for(SyncKind::Dir, dir);
        let mut st = self.mutate_sync()?;
        let ino = st.lookup(dir)?.ok_or_else(|| not_found(dir))?;
        let d = st
            .dir_mut(ino)
            .ok_or_else(|| io::Error::other(format!("{}: not a directory", dir.display())))?;
        match rule {
            Some(SyncAction::Skip) => Ok(()),
            Some(SyncAction::Fail) => {
                d.pending.clear();
                Err(io::Error::other(format!(
                    "simulated fsync failure on {}",
                    dir.display()
                )))
            }
            None => {
                let pending = std::mem::take(&mut d.pending);
                for op in &pending {
                    apply_dir_op(&mut d.durable, op);
                }
                Ok(())
            }
        }
    }

    fn is_simulated(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    #[test]
    fn synced_data_in_a_synced_directory_survives_power_loss() {
        let disk = SimDisk::new();
        disk.create_dir_all(p("/d")).unwrap();
        disk.sync_dir(p("/")).unwrap();
        let f = disk.open(p("/d/a"), OpenMode::Create).unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.sync_data().unwrap();
        disk.sync_dir(p("/d")).unwrap();
        f.write_all_at(b" world", 5).unwrap();
        for seed in 0..50 {
            let after = disk.fork().power_loss(&mut SimRng::new(seed));
            let data = after.read(p("/d/a")).unwrap();
            assert!(data.starts_with(b"hello"), "seed {seed}: {data:?}");
            assert!(data.len() <= 11);
        }
    }

    #[test]
    fn unsynced_writes_and_entries_can_vanish_and_do_so_for_some_seed() {
        let disk = SimDisk::new();
        let f = disk.open(p("/a"), OpenMode::Create).unwrap();
        f.write_all_at(&[7u8; 4096], 0).unwrap();
        f.sync_data().unwrap();
        // Synced data, but the directory entry is not.
        let gone = (0..50).any(|s| !disk.fork().power_loss(&mut SimRng::new(s)).exists(p("/a")));
        assert!(gone);
        disk.sync_dir(p("/")).unwrap();
        f.write_all_at(&[8u8; 4096], 4096).unwrap();
        let (mut kept, mut lost, mut torn) = (false, false, false);
        for seed in 0..200 {
            let d = disk.fork().power_loss(&mut SimRng::new(seed)).read(p("/a")).unwrap();
            assert_eq!(d[..4096], [7u8; 4096], "synced data stays");
            match d.len() {
                4096 => lost = true,
                8192 => kept = true,
                n => {
                    assert_eq!(n % 512, 0, "torn at a sector");
                    torn = true;
                }
            }
        }
        assert!(kept && lost && torn, "{kept} {lost} {torn}");
    }

    #[test]
    fn rename_is_durable_only_after_the_directory_sync() {
        let disk = SimDisk::new();
        let f = disk.open(p("/x.tmp"), OpenMode::Create).unwrap();
        f.write_all_at(b"new", 0).unwrap();
        f.sync_data().unwrap();
        disk.sync_dir(p("/")).unwrap();
        disk.rename(p("/x.tmp"), p("/x")).unwrap();
        let lost = (0..50).any(|s| !disk.fork().power_loss(&mut SimRng::new(s)).exists(p("/x")));
        assert!(lost);
        disk.sync_dir(p("/")).unwrap();
        for s in 0..50 {
            let after = disk.fork().power_loss(&mut SimRng::new(s));
            assert_eq!(after.read(p("/x")).unwrap(), b"new");
            assert!(!after.exists(p("/x.tmp")));
        }
    }

    #[test]
    fn a_stopped_disk_refuses_everything_and_a_crash_keeps_the_page_cache() {
        let disk = SimDisk::new();
        let f = disk.open(p("/a"), OpenMode::Create).unwrap();
        disk.die_after(1);
        f.write_all_at(b"one", 0).unwrap();
        assert!(f.write_all_at(b"two", 3).is_err());
        assert!(f.read_at(&mut [0u8; 3], 0).is_err());
        let after = disk.process_crash();
        assert_eq!(after.read(p("/a")).unwrap(), b"one");
    }

    #[test]
    fn a_failed_sync_loses_the_pages_even_if_a_later_sync_succeeds() {
        let disk = SimDisk::new();
        disk.sync_dir(p("/")).unwrap();
        let f = disk.open(p("/a"), OpenMode::Create).unwrap();
        disk.sync_dir(p("/")).unwrap();
        disk.add_sync_rule(SyncRule {
            kind: SyncKind::Data,
            action: SyncAction::Fail,
            matches: Box::new(|_| true),
        });
        f.write_all_at(b"lost", 0).unwrap();
        assert!(f.sync_data().is_err());
        disk.clear_sync_rules();
        f.sync_data().unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(f.read_at(&mut buf, 0).unwrap(), 4, "the page cache still shows it");
        let after = disk.process_crash().power_loss(&mut SimRng::new(1));
        assert_eq!(after.read(p("/a")).unwrap(), b"");
    }
}
