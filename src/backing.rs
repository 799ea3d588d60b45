//! Layer 1: where the bytes live. A file or a named shared-memory object (`shm`), with
//! its size, growth that reserves real blocks, the process locks, and positional IO.
//!
//! Locks are open-file-description byte-range locks (`F_OFD_SETLK` on Linux), taken on
//! two bytes far past any real data so they never collide with a C program's own record
//! locks:
//! - [`WRITER_LOCK_BYTE`]: exclusive, held by the one writer;
//! - [`MAPPED_LOCK_BYTE`]: shared, held by every handle that maps the file. A handle that
//!   wants to shrink the file must take it exclusively first, which fails while any other
//!   handle has the file mapped.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The byte the writer locks exclusively (see `docs/FORMAT.md`, "Locks").
pub const WRITER_LOCK_BYTE: i64 = 0x7fff_ffff_ffff_0000;
/// The byte every mapping handle locks shared.
pub const MAPPED_LOCK_BYTE: i64 = WRITER_LOCK_BYTE + 1;

/// An open file and its path, for messages.
#[derive(Debug)]
pub(crate) struct Backing {
    file: File,
    path: PathBuf,
}

#[derive(Clone, Copy)]
enum LockKind {
    Shared,
    Exclusive,
    Unlock,
}

impl Backing {
    /// Creates a new file; fails if it exists.
    pub fn create_new(path: &Path) -> Result<Backing> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Error::AlreadyExists { path: path.into() }
                } else {
                    Error::io(path, "create", e)
                }
            })?;
        Ok(Backing {
            file,
            path: path.into(),
        })
    }

    /// Opens an existing regular file, for reading and writing when `writable`. Anything
    /// else (a directory, a FIFO, a device) is refused: only a regular file can be mapped
    /// and sized. O_NONBLOCK keeps the open of a FIFO from waiting for a writer; it has no
    /// effect on a regular file.
    pub fn open(path: &Path, writable: bool) -> Result<Backing> {
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| {
                // Opened for writing, a directory is refused by the kernel (EISDIR): say
                // it as for reading.
                let e = if e.kind() == io::ErrorKind::IsADirectory {
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
        Ok(Backing {
            file,
            path: path.into(),
        })
    }

    /// Wraps an already open file (a shared-memory object, say), named `path` in messages.
    pub fn from_file(file: File, path: PathBuf) -> Backing {
        Backing { file, path }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn err(&self, op: &'static str, e: io::Error) -> Error {
        Error::io(&self.path, op, e)
    }

    /// The current size in bytes.
    pub fn size(&self) -> Result<u64> {
        Ok(self.file.metadata().map_err(|e| self.err("stat", e))?.len())
    }

    /// Takes the writer lock, or fails with [`Error::Locked`].
    pub fn lock_writer(&self) -> Result<()> {
        if self.lock(WRITER_LOCK_BYTE, LockKind::Exclusive)? {
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
            if self.lock(MAPPED_LOCK_BYTE, LockKind::Shared)? {
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
        if self.lock(MAPPED_LOCK_BYTE, LockKind::Exclusive)? {
            Ok(())
        } else {
            Err(Error::InUse {
                path: self.path.clone(),
            })
        }
    }

    /// Turns the exclusive mapped lock back into a shared one.
    pub fn unlock_alone(&self) {
        // Converting our own exclusive lock to shared cannot conflict.
        let _ = self.lock(MAPPED_LOCK_BYTE, LockKind::Shared);
    }

    /// Releases the writer lock (the mapped lock goes with the file descriptor).
    pub fn unlock_writer(&self) {
        let _ = self.lock(WRITER_LOCK_BYTE, LockKind::Unlock);
    }

    /// Returns false when another open file description holds a conflicting lock.
    fn lock(&self, at: i64, kind: LockKind) -> Result<bool> {
        if set_lock(self.file.as_raw_fd(), at, kind) {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
            _ => Err(self.err("lock", e)),
        }
    }

    /// A [`CutBack`] to the file's present size.
    pub fn cut_back(&self, size: u64) -> CutBack {
        CutBack {
            fd: self.file.as_raw_fd(),
            size,
        }
    }

    /// Grows the file from `from` to `to` bytes, reserving real blocks, so that a full
    /// disk is an error here and never a SIGBUS when the new pages are written.
    pub fn allocate(&self, from: u64, to: u64) -> Result<()> {
        if to <= from {
            return Ok(());
        }
        let len = to - from;
        #[cfg(target_os = "linux")]
        {
            let (Ok(off), Ok(len)) = (libc::off_t::try_from(from), libc::off_t::try_from(len))
            else {
                return Err(Error::InvalidArgument(format!(
                    "{}: file size {to} is too large",
                    self.path.display()
                )));
            };
            // posix_fallocate uses fallocate(2) and, where the file system lacks it,
            // writes the blocks; either way the space is reserved when it returns 0.
            // SAFETY: a valid descriptor and in-range offsets.
            let rc = unsafe { libc::posix_fallocate(self.file.as_raw_fd(), off, len) };
            if rc != 0 {
                return Err(self.err("reserve space", io::Error::from_raw_os_error(rc)));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = len;
            self.file
                .set_len(to)
                .map_err(|e| self.err("reserve space", e))?;
        }
        Ok(())
    }

    /// Reserves real blocks for `from..to` without changing the file's size
    /// (`fallocate(FALLOC_FL_KEEP_SIZE)` on Linux), so that writes there do not fail
    /// for a full disk half way. Where the file system (or the system) cannot, nothing
    /// is reserved and a write may then fail with a full disk, which is still an error.
    pub fn reserve_blocks(&self, from: u64, to: u64) -> Result<()> {
        #[cfg(target_os = "linux")]
        if let (Ok(off), Ok(len)) = (
            libc::off_t::try_from(from),
            libc::off_t::try_from(to.saturating_sub(from)),
        ) && len > 0
        {
            // SAFETY: a valid descriptor and in-range offsets.
            let rc = unsafe {
                libc::fallocate(self.file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, off, len)
            };
            if rc != 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                    return Err(self.err("reserve space", e));
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (from, to);
        Ok(())
    }

    /// Cuts the file to `size` bytes. Callers hold [`Backing::lock_alone`].
    pub fn shrink(&self, size: u64) -> Result<()> {
        self.file.set_len(size).map_err(|e| self.err("shrink", e))
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
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
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| self.err(what, e))
    }

    /// Starts writing the dirty pages of `offset..offset + len` to disk and returns
    /// without waiting, so that a later sync has less to wait for: on Linux,
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`; on other systems nothing (the table's
    /// `msync(MS_ASYNC)` is their way). Durability still comes only from a sync.
    pub fn start_writeback(&self, offset: u64, len: u64) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let (Ok(off), Ok(len)) = (
                libc::off64_t::try_from(offset),
                libc::off64_t::try_from(len),
            ) else {
                return Ok(()); // past any real file: nothing to write
            };
            // SAFETY: a valid descriptor; the kernel checks the range.
            let rc = unsafe {
                libc::sync_file_range(self.file.as_raw_fd(), off, len, libc::SYNC_FILE_RANGE_WRITE)
            };
            if rc != 0 {
                return Err(self.err("start write-back", io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (offset, len);
        Ok(())
    }

    /// `fdatasync`.
    pub fn sync_data(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| self.err("sync", e))
    }

    /// Makes the file's directory entry durable (after a create).
    pub fn sync_parent_dir(&self) -> Result<()> {
        let parent = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(parent, "sync directory", e))
    }
}

/// Takes, converts or drops a lock on byte `at` of `fd`; false with errno set when it
/// cannot. Only fcntl(2): async-signal-safe.
fn set_lock(fd: std::os::fd::RawFd, at: i64, kind: LockKind) -> bool {
    // SAFETY: flock is plain old data; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match kind {
        LockKind::Shared => libc::F_RDLCK,
        LockKind::Exclusive => libc::F_WRLCK,
        LockKind::Unlock => libc::F_UNLCK,
    } as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = at as _;
    fl.l_len = 1;
    #[cfg(target_os = "linux")]
    let cmd = libc::F_OFD_SETLK;
    #[cfg(not(target_os = "linux"))]
    let cmd = libc::F_SETLK;
    // SAFETY: fcntl with a descriptor and a pointer to an initialised flock.
    unsafe { libc::fcntl(fd, cmd, &fl) == 0 }
}

/// Cuts a file back to the size it had, from a signal handler: see
/// [`Table::cut_back`](crate::Table::cut_back).
#[derive(Clone, Copy, Debug)]
pub struct CutBack {
    fd: std::os::fd::RawFd,
    size: u64,
}

impl CutBack {
    /// Cuts the file to the size it had when this was made, unless another handle maps
    /// it (the mapped lock, taken exclusively, says so); returns whether it did. Calls
    /// only fcntl(2) and ftruncate(2), so it may run in a signal handler. The handle's
    /// own map may then reach past the file's end: the process must end at once.
    pub fn run(&self) -> bool {
        if !set_lock(self.fd, MAPPED_LOCK_BYTE, LockKind::Exclusive) {
            return false;
        }
        let Ok(size) = libc::off_t::try_from(self.size) else {
            return false;
        };
        // SAFETY: ftruncate(2) on a descriptor the handle keeps open.
        unsafe { libc::ftruncate(self.fd, size) == 0 }
    }
}
