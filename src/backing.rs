//! Layer 1: where the bytes live. A file or a named shared-memory region, with its size,
//! growth that reserves real blocks, the process locks, and positional IO. What differs
//! between operating systems is in [`crate::platform`]; this module is the same on all.
//!
//! Locks are byte-range locks (open-file-description locks on Linux, `LockFileEx` on
//! Windows), taken on two bytes far past any real data so they never collide with a C
//! program's own record locks:
//! - [`WRITER_LOCK_BYTE`]: exclusive, held by the one writer;
//! - [`MAPPED_LOCK_BYTE`]: shared, held by every handle that maps the file. A handle that
//!   wants to shrink the file must take it exclusively first, which fails while any other
//!   handle has the file mapped.

use crate::error::{Error, Result};
use crate::platform::{self, LockKind, Section};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The byte the writer locks exclusively (see `docs/FORMAT.md`, "Locks").
pub const WRITER_LOCK_BYTE: u64 = 0x7fff_ffff_ffff_0000;
/// The byte every mapping handle locks shared.
pub const MAPPED_LOCK_BYTE: u64 = WRITER_LOCK_BYTE + 1;

/// An open file (or region) and its path, for messages. A region that is not a file
/// (a Windows section) is `section`; `file` then is the file its locks are taken on.
#[derive(Debug)]
pub(crate) struct Backing {
    file: File,
    section: Option<Section>,
    path: PathBuf,
}

impl Backing {
    /// Creates a new file; fails if it exists.
    pub fn create_new(path: &Path) -> Result<Backing> {
        let file = platform::create_new(path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::AlreadyExists { path: path.into() }
            } else {
                Error::io(path, "create", e)
            }
        })?;
        Ok(Backing::from_file(file, path.into()))
    }

    /// Opens an existing regular file, for reading and writing when `writable`. Anything
    /// else (a directory, a FIFO, a device) is refused: only a regular file can be mapped
    /// and sized.
    pub fn open(path: &Path, writable: bool) -> Result<Backing> {
        let file = platform::open(path, writable).map_err(|e| {
            // Opened for writing, a directory is refused by the kernel (EISDIR): say
            // it as for reading.
            let e = if e.kind() == io::ErrorKind::IsADirectory || path.is_dir() {
                io::Error::new(e.kind(), "a directory, not a regular file")
            } else {
                e
            };
            Error::io(path, "open", e)
        })?;
        let kind = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .file_type();
        if !kind.is_file() {
            let what = if kind.is_dir() {
                "a directory"
            } else {
                "a FIFO, socket or device"
            };
            return Err(Error::io(
                path,
                "open",
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what}, not a regular file"),
                ),
            ));
        }
        Ok(Backing::from_file(file, path.into()))
    }

    /// Wraps an already open file (a shared-memory object, say), named `path` in messages.
    pub fn from_file(file: File, path: PathBuf) -> Backing {
        Backing {
            file,
            section: None,
            path,
        }
    }

    /// Wraps a region that is not a file, with the file its locks are taken on.
    #[cfg_attr(unix, allow(dead_code))]
    pub fn from_section(section: Section, lock_file: File, path: PathBuf) -> Backing {
        Backing {
            file: lock_file,
            section: Some(section),
            path,
        }
    }

    /// The file: the data, or for a section only its locks.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The region, when it is not a file.
    pub fn section(&self) -> Option<&Section> {
        self.section.as_ref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn err(&self, op: &'static str, e: io::Error) -> Error {
        Error::io(&self.path, op, e)
    }

    /// The current size in bytes.
    pub fn size(&self) -> Result<u64> {
        if let Some(s) = &self.section {
            return Ok(s.size());
        }
        Ok(self.file.metadata().map_err(|e| self.err("stat", e))?.len())
    }

    /// Takes the writer lock, or fails with [`Error::Locked`].
    pub fn lock_writer(&self) -> Result<()> {
        if self.relock_soon(WRITER_LOCK_BYTE, None, LockKind::Exclusive)? {
            Ok(())
        } else {
            Err(Error::Locked {
                path: self.path.clone(),
            })
        }
    }

    /// Marks the file as mapped by this handle (a shared lock).
    pub fn lock_mapped(&self) -> Result<()> {
        // A shared lock is refused only while someone holds it exclusively, which lasts
        // just for a shrink; retry briefly rather than fail an open.
        for _ in 0..1000 {
            if self.relock(MAPPED_LOCK_BYTE, None, Some(LockKind::Shared))? {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(Error::Locked {
            path: self.path.clone(),
        })
    }

    /// Takes the mapped lock exclusively, so that the file may shrink; fails with
    /// [`Error::InUse`] while any other handle has the file mapped. Undo with
    /// [`Backing::unlock_alone`].
    pub fn lock_alone(&self) -> Result<()> {
        if self.relock_soon(
            MAPPED_LOCK_BYTE,
            Some(LockKind::Shared),
            LockKind::Exclusive,
        )? {
            Ok(())
        } else {
            Err(Error::InUse {
                path: self.path.clone(),
            })
        }
    }

    /// [`Backing::relock`] to `want`, with a refusal retried for up to 200 ms: a handle
    /// this process just closed can still hold its lock for an instant, in a child
    /// process that another thread is starting (a forked child shares the open files
    /// until its `exec` closes them). Only then is the lock taken to be held elsewhere.
    fn relock_soon(&self, at: u64, held: Option<LockKind>, want: LockKind) -> Result<bool> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
        loop {
            if self.relock(at, held, Some(want))? {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Turns the exclusive mapped lock back into a shared one.
    pub fn unlock_alone(&self) {
        // Converting our own exclusive lock to shared cannot conflict.
        let exclusive = Some(LockKind::Exclusive);
        let _ = self.relock(MAPPED_LOCK_BYTE, exclusive, Some(LockKind::Shared));
    }

    /// Releases the writer lock (the mapped lock goes with the handle).
    pub fn unlock_writer(&self) {
        // An error here (Wine reports one for a release that worked) changes nothing:
        // the lock also goes when the handle closes.
        let _ = self.relock(WRITER_LOCK_BYTE, Some(LockKind::Exclusive), None);
    }

    /// Whether another handle (in any process) holds the writer lock.
    pub fn writer_locked_elsewhere(&self) -> Result<bool> {
        platform::locked_elsewhere(&self.file, WRITER_LOCK_BYTE)
            .map_err(|e| self.err("check the writer lock", e))
    }

    /// Returns false when another handle holds a conflicting lock.
    fn relock(&self, at: u64, held: Option<LockKind>, want: Option<LockKind>) -> Result<bool> {
        platform::relock(&self.file, at, held, want).map_err(|e| self.err("lock", e))
    }

    /// A [`CutBack`] to the file's present size.
    pub fn cut_back(&self, size: u64) -> CutBack {
        CutBack {
            file: platform::raw_file(&self.file),
            size,
        }
    }

    /// Grows the file from `from` to `to` bytes, reserving real blocks, so that a full
    /// disk is an error here and never a crash when the new pages are written. A region
    /// that is not a file has the size it was made with: growing it is an error.
    pub fn allocate(&self, from: u64, to: u64) -> Result<()> {
        if to <= from {
            return Ok(());
        }
        if let Some(s) = &self.section {
            if to <= s.size() {
                return Ok(());
            }
            return Err(self.err(
                "grow",
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "a region on this system keeps the size it was created with ({} bytes); {to} bytes were needed: create it larger",
                        s.size()
                    ),
                ),
            ));
        }
        platform::allocate(&self.file, from, to).map_err(|e| self.err("reserve space", e))
    }

    /// Reserves real blocks for `from..to` without changing the file's size, so that
    /// writes there do not fail for a full disk half way. Where the file system (or the
    /// system) cannot, nothing is reserved and a write may then fail with a full disk,
    /// which is still an error.
    pub fn reserve_blocks(&self, from: u64, to: u64) -> Result<()> {
        if self.section.is_some() {
            return Ok(());
        }
        platform::reserve_blocks(&self.file, from, to).map_err(|e| self.err("reserve space", e))
    }

    /// Cuts the file to `size` bytes. Callers hold [`Backing::lock_alone`] and have
    /// unmapped the file (a system may refuse to cut a mapped file).
    pub fn shrink(&self, size: u64) -> Result<()> {
        if let Some(s) = &self.section {
            if size >= s.size() {
                return Ok(());
            }
            return Err(self.err(
                "shrink",
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a region on this system keeps the size it was created with",
                ),
            ));
        }
        self.file.set_len(size).map_err(|e| self.err("shrink", e))
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let read = match &self.section {
                Some(s) => s.read_at(&mut buf[done..], at),
                None => platform::read_at(&self.file, &mut buf[done..], at),
            };
            match read {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err("read header", e)),
            }
        }
        Ok(done)
    }

    /// Writes all of `buf` at `offset`; `what` names it in an error ("header", "records").
    pub fn write_at(&self, buf: &[u8], offset: u64, what: &'static str) -> Result<()> {
        match &self.section {
            Some(s) => s.write_at(buf, offset),
            None => platform::write_all_at(&self.file, buf, offset),
        }
        .map_err(|e| self.err(what, e))
    }

    /// Starts writing the dirty pages of `offset..offset + len` to disk and returns
    /// without waiting, so that a later sync has less to wait for (Linux only; the
    /// table's asynchronous map flush is the other systems' way). Durability still comes
    /// only from a sync.
    pub fn start_writeback(&self, offset: u64, len: u64) -> Result<()> {
        if self.section.is_some() {
            return Ok(());
        }
        platform::start_writeback(&self.file, offset, len)
            .map_err(|e| self.err("start write-back", e))
    }

    /// `fdatasync` (`FlushFileBuffers` on Windows). A region that is not a file has no
    /// disk to reach.
    pub fn sync_data(&self) -> Result<()> {
        if self.section.is_some() {
            return Ok(());
        }
        self.file.sync_data().map_err(|e| self.err("sync", e))
    }

    /// Makes the file's directory entry durable (after a create).
    pub fn sync_parent_dir(&self) -> Result<()> {
        let parent = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        platform::sync_dir(parent).map_err(|e| Error::io(parent, "sync directory", e))
    }
}

/// Cuts a file back to the size it had, from a signal handler: see
/// [`Table::cut_back`](crate::Table::cut_back).
#[derive(Clone, Copy, Debug)]
pub struct CutBack {
    file: platform::RawFile,
    size: u64,
}

impl CutBack {
    /// Cuts the file to the size it had when this was made, unless another handle maps
    /// it (the mapped lock, taken exclusively, says so); returns whether it did. On Unix
    /// it calls only fcntl(2) and ftruncate(2), so it may run in a signal handler; the
    /// handle's own map may then reach past the file's end, so the process must end at
    /// once. On Windows a mapped file cannot be cut: it returns false and the file keeps
    /// its grown length (the store still opens with its committed records).
    pub fn run(&self) -> bool {
        platform::cut_if_alone(self.file, MAPPED_LOCK_BYTE, self.size)
    }
}
