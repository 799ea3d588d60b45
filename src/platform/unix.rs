//! Unix: POSIX calls through `libc`, with Linux's better ones where it has them
//! (`F_OFD_SETLK`, `posix_fallocate`, `sync_file_range`, `/dev/shm`).

use super::LockKind;
use crate::backing::Backing;
use crate::error::{Error, Result};
use crate::shm::{Name, RegionInfo};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// A named region that is not a file. Unix regions are files (`shm_open` descriptors),
/// so there is none: the type has no values.
#[derive(Debug)]
pub(crate) enum Section {}

/// A view of a [`Section`]; none exist on Unix.
#[derive(Debug)]
pub(crate) enum View {}

impl Section {
    pub fn size(&self) -> u64 {
        match *self {}
    }
    pub fn map(&self, _len: usize, _writable: bool) -> io::Result<View> {
        match *self {}
    }
    pub fn read_at(&self, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
        match *self {}
    }
    pub fn write_at(&self, _buf: &[u8], _offset: u64) -> io::Result<()> {
        match *self {}
    }
}

impl View {
    pub fn as_mut_ptr(&self) -> *mut u8 {
        match *self {}
    }
    pub fn len(&self) -> usize {
        match *self {}
    }
    pub fn flush(&self, _offset: usize, _len: usize) -> io::Result<()> {
        match *self {}
    }
}

/// An access-pattern hint for a map (`madvise`): memmap2's.
pub use memmap2::Advice;

/// Passes `advice` to the kernel for the whole map.
pub(crate) fn advise(map: &memmap2::MmapRaw, advice: Advice) -> io::Result<()> {
    map.advise(advice)
}

/// Whether a file may be mapped past its end (only reserved bytes are ever touched).
pub(crate) const MAP_PAST_END: bool = true;

/// Creates `path`; fails if it exists.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// Opens an existing file. `O_NONBLOCK` keeps the open of a FIFO from waiting for a
/// writer (the caller then refuses it); it has no effect on a regular file.
pub(crate) fn open(path: &Path, writable: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(writable)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

/// Moves the lock on byte `at` from `held` to `want` (`None`: unlocked). Returns false
/// when another open file description holds a conflicting lock; the lock is then as it
/// was. A change from shared to exclusive is atomic here.
pub(crate) fn relock(
    file: &File,
    at: u64,
    _held: Option<LockKind>,
    want: Option<LockKind>,
) -> io::Result<bool> {
    let mut fl = flock(at);
    fl.l_type = match want {
        Some(LockKind::Shared) => libc::F_RDLCK as libc::c_short,
        Some(LockKind::Exclusive) => libc::F_WRLCK as libc::c_short,
        None => libc::F_UNLCK as libc::c_short,
    };
    // SAFETY: fcntl with a valid descriptor and a pointer to an initialised flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), SETLK, &mut fl) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(e),
    }
}

/// Whether another open file description holds byte `at` exclusively (`F_OFD_GETLK`).
pub(crate) fn locked_elsewhere(file: &File, at: u64) -> io::Result<bool> {
    let mut fl = flock(at);
    fl.l_type = libc::F_WRLCK as libc::c_short;
    // SAFETY: fcntl with a valid descriptor and a pointer to an initialised flock that
    // it may overwrite.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), GETLK, &mut fl) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// A file as a signal handler may use it: its descriptor.
pub(crate) type RawFile = std::os::fd::RawFd;

/// The descriptor of `file`, which must outlive every use of it.
pub(crate) fn raw_file(file: &File) -> RawFile {
    file.as_raw_fd()
}

/// Takes byte `lock_at` of `fd` exclusively, then cuts the file to `size` bytes; false
/// when the lock is held elsewhere or a call fails. Only fcntl(2) and ftruncate(2), both
/// async-signal-safe, so a signal handler may call it.
pub(crate) fn cut_if_alone(fd: RawFile, lock_at: u64, size: u64) -> bool {
    let mut fl = flock(lock_at);
    fl.l_type = libc::F_WRLCK as libc::c_short;
    // SAFETY: fcntl with a descriptor and a pointer to an initialised flock.
    if unsafe { libc::fcntl(fd, SETLK, &mut fl) } != 0 {
        return false;
    }
    let Ok(size) = libc::off_t::try_from(size) else {
        return false;
    };
    // SAFETY: ftruncate(2) on a descriptor the caller keeps open.
    unsafe { libc::ftruncate(fd, size) == 0 }
}

#[cfg(target_os = "linux")]
const SETLK: libc::c_int = libc::F_OFD_SETLK;
#[cfg(not(target_os = "linux"))]
const SETLK: libc::c_int = libc::F_SETLK;
#[cfg(target_os = "linux")]
const GETLK: libc::c_int = libc::F_OFD_GETLK;
#[cfg(not(target_os = "linux"))]
const GETLK: libc::c_int = libc::F_GETLK;

fn flock(at: u64) -> libc::flock {
    // SAFETY: flock is plain old data; all-zero is a valid value (and l_pid must be 0).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = at as _;
    fl.l_len = 1;
    fl
}

/// Grows the file from `from` to `to` bytes with real blocks reserved: `posix_fallocate`
/// on Linux (which writes the blocks where the file system cannot allocate), `ftruncate`
/// elsewhere.
pub(crate) fn allocate(file: &File, from: u64, to: u64) -> io::Result<()> {
    if to <= from {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        let (Ok(off), Ok(len)) = (
            libc::off_t::try_from(from),
            libc::off_t::try_from(to - from),
        ) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("file size {to} is too large"),
            ));
        };
        // SAFETY: a valid descriptor and in-range offsets.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), off, len) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = from;
        file.set_len(to)
    }
}

/// Reserves blocks for `from..to` without changing the size (`FALLOC_FL_KEEP_SIZE`),
/// where the system can; elsewhere nothing.
pub(crate) fn reserve_blocks(file: &File, from: u64, to: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if let (Ok(off), Ok(len)) = (
        libc::off_t::try_from(from),
        libc::off_t::try_from(to.saturating_sub(from)),
    ) && len > 0
    {
        // SAFETY: a valid descriptor and in-range offsets.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, off, len) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                return Err(e);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, to);
    Ok(())
}

/// Starts write-back of `offset..offset + len` without waiting
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux; nothing elsewhere).
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
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
            libc::sync_file_range(file.as_raw_fd(), off, len, libc::SYNC_FILE_RANGE_WRITE)
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
    Ok(())
}

/// Makes a directory's entries durable (`fsync` of the directory).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

// ---- Named regions: shm_open objects ----

/// The object name a caller's spelling means: `Global\X`, `Local\X` and `/X` are all
/// `X`, since Unix has one namespace of shared-memory objects (per IPC namespace).
pub(crate) fn object_name(given: &str) -> &str {
    given
        .strip_prefix("Global\\")
        .or_else(|| given.strip_prefix("Local\\"))
        .or_else(|| given.strip_prefix('/'))
        .unwrap_or(given)
}

fn c_path(name: &Name) -> CString {
    CString::new(format!("/{}", name.as_str())).expect("validated: no NUL")
}

/// `shm_open("/name", flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode)`. `O_NONBLOCK`
/// keeps a FIFO planted under the name from blocking the open.
fn shm_open(name: &Name, flags: libc::c_int, mode: u32) -> io::Result<File> {
    let path = c_path(name);
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: `path` is a NUL-terminated string that outlives the call; shm_open reads
    // it and returns a new descriptor or -1.
    #[cfg(target_os = "linux")]
    let fd = unsafe { libc::shm_open(path.as_ptr(), flags, mode as libc::mode_t) };
    // SAFETY: as above (shm_open is variadic here; the mode is passed promoted).
    #[cfg(not(target_os = "linux"))]
    let fd = unsafe { libc::shm_open(path.as_ptr(), flags, mode as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor shm_open just returned; nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Removes the name (`shm_unlink`); processes that have the object keep it.
pub(crate) fn unlink_region(name: &Name) -> io::Result<()> {
    let path = c_path(name);
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    if unsafe { libc::shm_unlink(path.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn symlink_refused(name: &Name) -> Error {
    Error::UnsafeRegion {
        path: name.display_path(),
        detail: format!(
            "it is a symbolic link, and fixrec never follows one; remove it with `fixrec shm rm {}` if it is not yours to keep",
            name.as_str()
        ),
    }
}

/// Creates the object with `O_CREAT | O_EXCL`, gives it exactly `mode` (`fchmod`, so the
/// umask does not matter) and reserves `size` bytes (`posix_fallocate`, so a full
/// `/dev/shm` is an error here and never a SIGBUS later).
pub(crate) fn create_region(name: &Name, size: u64, mode: u32) -> Result<Backing> {
    let path = name.display_path();
    let file =
        shm_open(name, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600).map_err(|e| match e
            .raw_os_error()
        {
            Some(libc::EEXIST) => Error::AlreadyExists { path: path.clone() },
            Some(libc::ELOOP) => symlink_refused(name),
            _ => Error::io(&path, "create", e),
        })?;
    let made = (|| {
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&path, "set mode", e))?;
        allocate(&file, 0, size).map_err(|e| Error::io(&path, "reserve space", e))
    })();
    if let Err(e) = made {
        let _ = unlink_region(name);
        return Err(e);
    }
    Ok(Backing::from_file(file, path))
}

/// Opens an existing object; refuses symbolic links and anything but a regular object.
pub(crate) fn open_region(name: &Name, writable: bool) -> Result<Backing> {
    let path = name.display_path();
    let flags = if writable {
        libc::O_RDWR
    } else {
        libc::O_RDONLY
    };
    let file = shm_open(name, flags, 0).map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) => symlink_refused(name),
        _ => Error::io(&path, "open", e),
    })?;
    let meta = file.metadata().map_err(|e| Error::io(&path, "stat", e))?;
    if !meta.file_type().is_file() {
        return Err(Error::UnsafeRegion {
            path,
            detail: "it is not a regular shared-memory object".into(),
        });
    }
    Ok(Backing::from_file(file, path))
}

/// Refuses an object that another user owns, or that group or others may write beyond
/// `mode`.
pub(crate) fn check_trusted(name: &Name, backing: &Backing, mode: u32) -> Result<()> {
    let meta = backing
        .file()
        .metadata()
        .map_err(|e| backing.err("stat", e))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let unsafe_region = |detail: String| Error::UnsafeRegion {
        path: name.display_path(),
        detail,
    };
    if meta.uid() != me {
        return Err(unsafe_region(format!(
            "it is owned by uid {} but this process runs as uid {me}; another user may read or change what you put in it (remove it with `fixrec shm rm {}` if it is stale, or trust it explicitly)",
            meta.uid(),
            name.as_str()
        )));
    }
    let extra = meta.mode() & 0o022 & !mode;
    if extra != 0 {
        return Err(unsafe_region(format!(
            "its mode is {:#o}, which lets group or others write it (asked for {mode:#o}); remove it with `fixrec shm rm {}`, or trust it explicitly",
            meta.mode() & 0o777,
            name.as_str()
        )));
    }
    Ok(())
}

/// Owner, mode and size, from `fstat` of the object.
pub(crate) fn region_info(name: &Name, backing: &Backing) -> Result<RegionInfo> {
    let meta = backing
        .file()
        .metadata()
        .map_err(|e| backing.err("stat", e))?;
    Ok(RegionInfo {
        name: name.as_str().to_owned(),
        size: meta.len(),
        uid: meta.uid(),
        mode: meta.mode() & 0o7777,
    })
}

/// Removes `name` if it still refers to `backing`'s object (nobody removed it and made
/// another under the same name meanwhile).
pub(crate) fn remove_if_ours(name: &Name, backing: &Backing) {
    let (Ok(ours), Ok(now)) = (
        backing.file().metadata(),
        shm_open(name, libc::O_RDONLY, 0).and_then(|f| f.metadata()),
    ) else {
        return;
    };
    if (ours.dev(), ours.ino()) == (now.dev(), now.ino()) {
        let _ = unlink_region(name);
    }
}

/// Every regular object in `/dev/shm` (Linux), with size, owner and mode.
pub(crate) fn list_regions() -> Result<Vec<RegionInfo>> {
    let dir = Path::new("/dev/shm");
    if !cfg!(target_os = "linux") {
        return Err(Error::InvalidArgument(
            "listing regions needs /dev/shm (Linux)".into(),
        ));
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list", e))? {
        let entry = entry.map_err(|e| Error::io(dir, "list", e))?;
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue; // removed meanwhile
        };
        if !meta.file_type().is_file() {
            continue;
        }
        out.push(RegionInfo {
            name: entry.file_name().to_string_lossy().into_owned(),
            size: meta.len(),
            uid: meta.uid(),
            mode: meta.mode() & 0o7777,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
