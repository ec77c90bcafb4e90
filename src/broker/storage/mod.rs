//! The storage seam: every file the log (segments, indexes, log start offset, producer-state
//! and leader-epoch checkpoints), the catalog, the offsets store and the producer-id allocator
//! read or write goes through [`Storage`] and [`StorageFile`].
//!
//! [`OsDisk`] is the real file system. [`sim::SimDisk`] is a simulated disk for tests: it keeps
//! what was written but not yet synced apart (file data until `sync_data`, directory entries
//! until `sync_dir` of their directory) and, at a chosen crash point, forgets it, which is what
//! a power loss does and a SIGKILL does not.
//!
//! The interface is deliberately small: positional reads and writes, length, truncation,
//! `fdatasync`, and the directory operations the broker needs (create, list, rename, remove,
//! fsync). Everything the broker promises about durability is written in terms of these calls.
//!
//! Must not depend on the rest of the broker.

pub mod sim;

use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// A storage implementation, shared by everything that touches files.
pub type Disk = Arc<dyn Storage>;
/// An open file.
pub type FileRef = Arc<dyn StorageFile>;

/// How [`Storage::open`] treats a missing or existing file. Files are always opened for
/// reading and writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// The file must exist.
    Existing,
    /// Create it if missing; keep its content otherwise.
    Create,
    /// Create it if missing; empty it otherwise.
    Truncate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
}

/// File-system operations. Paths are absolute or relative to the process's working directory,
/// exactly as for `std::fs`.
pub trait Storage: Send + Sync {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef>;
    /// A whole (small) file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn exists(&self, path: &Path) -> bool;
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The entries of a directory, sorted by name.
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// Renames within one directory, replacing `to` if it exists (atomically, as rename(2)).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (files created, renamed or removed in it) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// True for a simulated disk: its calls never block, so [`blocking`] runs them inline,
    /// which keeps a test on a single-threaded runtime deterministic.
    fn is_simulated(&self) -> bool {
        false
    }
}

pub trait StorageFile: Send + Sync {
    /// Reads at `pos`; fewer bytes than asked only at the end of the file.
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()>;
    /// Writes the pieces back to back from `pos`, as one `pwritev` where the platform allows
    /// (a batch whose stamped header is a separate piece from the bytes the client sent).
    fn write_all_vectored_at(&self, bufs: &[&[u8]], mut pos: u64) -> io::Result<()> {
        for b in bufs {
            self.write_all_at(b, pos)?;
            pos += b.len() as u64;
        }
        Ok(())
    }
    /// Appends exactly `len` bytes read at `pos` to `buf`. The real file system reads into
    /// `buf`'s uninitialised capacity: zeroing a fetch's megabyte first costs as much as the
    /// read.
    fn read_exact_into(&self, buf: &mut Vec<u8>, len: usize, pos: u64) -> io::Result<()> {
        let start = buf.len();
        buf.resize(start + len, 0);
        read_exact_at(self, &mut buf[start..], pos)
    }
    fn len(&self) -> io::Result<u64>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// `fdatasync`: the file's data and size are durable once this returns Ok.
    fn sync_data(&self) -> io::Result<()>;
    /// Last modification time, in ms since the epoch.
    fn modified_ms(&self) -> io::Result<i64>;
}

/// Reads exactly `buf.len()` bytes at `pos`.
pub fn read_exact_at<F: StorageFile + ?Sized>(file: &F, mut buf: &mut [u8], mut pos: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, pos)? {
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ends early")),
            n => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
        }
    }
    Ok(())
}

/// A cursor over a [`StorageFile`], for `BufReader` scans.
pub struct FileCursor<'a> {
    file: &'a dyn StorageFile,
    pos: u64,
}

impl<'a> FileCursor<'a> {
    pub fn new(file: &'a dyn StorageFile, pos: u64) -> Self {
        FileCursor { file, pos }
    }
}

impl Read for FileCursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FileCursor<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.file.len()?.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// Writes a file so that readers see either the old or the new content, never a mix, even
/// across a power loss: temp file, fsync, rename, fsync the directory.
pub fn write_atomically(disk: &dyn Storage, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let f = disk.open(&tmp, OpenMode::Truncate)?;
    f.write_all_at(bytes, 0)?;
    f.sync_data()?;
    drop(f);
    disk.rename(&tmp, path)?;
    disk.sync_dir(parent_of(path))
}

/// Creates `dir` and any missing parents so that they survive a power loss: each new
/// directory's entry is fsynced in its parent.
pub fn create_dir_durably(disk: &dyn Storage, dir: &Path) -> io::Result<()> {
    if disk.exists(dir) {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durably(disk, parent)?;
    }
    disk.create_dir_all(dir)?;
    disk.sync_dir(parent_of(dir))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Runs blocking storage work off the async runtime's worker threads (`spawn_blocking`), or
/// inline on a simulated disk. A panic in `f` is resumed in the caller.
pub async fn blocking<R: Send + 'static>(disk: &Disk, f: impl FnOnce() -> R + Send + 'static) -> R {
    if disk.is_simulated() {
        return f();
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Only a runtime shutting down cancels a blocking task; nothing waits for us then.
            Err(_) => std::future::pending().await,
        },
    }
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsDisk;

impl OsDisk {
    pub fn shared() -> Disk {
        Arc::new(OsDisk)
    }
}

struct OsFile(std::fs::File);

impl StorageFile for OsFile {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        self.0.read_at(buf, pos)
    }
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        self.0.write_all_at(buf, pos)
    }
    fn write_all_vectored_at(&self, bufs: &[&[u8]], mut pos: u64) -> io::Result<()> {
        let mut left: Vec<&[u8]> = bufs.iter().copied().filter(|b| !b.is_empty()).collect();
        let mut first = 0;
        while first < left.len() {
            let slices: Vec<io::IoSlice<'_>> = left[first..].iter().map(|b| io::IoSlice::new(b)).collect();
            let mut n = match rustix::io::pwritev(&self.0, &slices, pos) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            pos += n as u64;
            // A short write: skip what went out, resume inside the piece it stopped in.
            while n > 0 {
                if n >= left[first].len() {
                    n -= left[first].len();
                    first += 1;
                } else {
                    left[first] = &left[first][n..];
                    n = 0;
                }
            }
        }
        Ok(())
    }
    fn read_exact_into(&self, buf: &mut Vec<u8>, len: usize, mut pos: u64) -> io::Result<()> {
        let end = buf.len() + len;
        buf.reserve_exact(len);
        while buf.len() < end {
            // `spare_capacity` lets the kernel fill the uninitialised tail and sets the length
            // to what it wrote. The capacity may exceed what was asked; the excess is cut below.
            let before = buf.len();
            match rustix::io::pread(&self.0, rustix::buffer::spare_capacity(buf), pos) {
                Ok(0) => {
                    buf.truncate(before);
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ends early"));
                }
                Ok(n) => pos += n as u64,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    buf.truncate(before);
                    return Err(e.into());
                }
            }
        }
        buf.truncate(end);
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn modified_ms(&self) -> io::Result<i64> {
        let t = self.0.metadata()?.modified()?;
        Ok(t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0))
    }
}

impl Storage for OsDisk {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(mode != OpenMode::Existing)
            .truncate(mode == OpenMode::Truncate)
            .open(path)?;
        Ok(Arc::new(OsFile(file)))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            out.push(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }
}
