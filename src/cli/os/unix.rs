//! Unix: `SIGPIPE`, file identity by device and inode, modes, owners and the umask.

use fixrec::shm::Region;
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Regions outlive the process that made them (until removed): creating or removing
/// one from a command is fine.
pub(crate) fn check_region_outlives_command(_name: &str, _action: &str) -> anyhow::Result<()> {
    Ok(())
}

/// Restores the default `SIGPIPE` (Rust ignores it, so every later print to a closed pipe
/// would fail): a reader that goes away ends fixrec, as it ends other Unix tools.
pub(crate) fn restore_sigpipe() {
    // SAFETY: sets a signal's disposition to its default, before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// Whether `a` and `b` are one file (same device and inode).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// At most `max` bytes of `name` (a file name's bytes are its own on Unix).
pub(crate) fn cut_name(name: &OsStr, max: usize) -> OsString {
    OsStr::from_bytes(&name.as_bytes()[..name.len().min(max)]).to_owned()
}

/// Creates `path` exclusively, readable and writable by its owner alone (0600).
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Gives `file` the mode `File::create` gives a new file: 0666 less the umask.
pub(crate) fn set_default_permissions(file: &File) -> io::Result<()> {
    // SAFETY: umask(2) cannot fail; this is the process's only thread here.
    let mask = unsafe {
        let mask = libc::umask(0);
        libc::umask(mask);
        mask
    };
    #[allow(clippy::useless_conversion)] // mode_t is u16 on macOS
    let mask = u32::from(mask);
    file.set_permissions(std::fs::Permissions::from_mode(0o666 & !mask))
}

/// The replaced file's mode, and its owner and group where this process may set them (a
/// file another user owns becomes this user's when it may not).
pub(crate) fn keep_owner_and_mode(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    let _ = std::os::unix::fs::fchown(file, Some(old.uid()), None);
    let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
    // The permission bits only: setuid, setgid and sticky do not carry over to records
    // (writing a file clears setuid and setgid too).
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o777))
}

/// Refuses existing region `name` unless this user owns it and nobody else may write it.
pub(crate) fn check_region_is_ours(name: &str) -> anyhow::Result<()> {
    let info = Region::open_read_only(name)?.info()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if info.uid != me || info.mode & 0o022 != 0 {
        anyhow::bail!(
            "shm:{name} exists, owned by uid {} with mode {:#o}: --create uses an existing region only if this user (uid {me}) owns it and nobody else may write it; remove it with `fixrec shm rm {name}` if it is stale, or import without --create to trust it",
            info.uid,
            info.mode
        );
    }
    Ok(())
}

/// Writes `path`'s dirty pages back, then drops its pages from the page cache
/// (`posix_fadvise(DONTNEED)`).
pub(crate) fn drop_cache(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    file.sync_data()?;
    // SAFETY: a plain syscall on a file descriptor that `file` keeps open.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Turns read-ahead off for `file` (`posix_fadvise(RANDOM)`).
pub(crate) fn advise_random(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on a file descriptor that `file` keeps open.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes at `offset` (`pread`).
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Writes all of `buf` at `offset` (`pwrite`).
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Puts `new` in place of `old` (a store that `import --replace` filled): FILE's mode
/// carries over, the rename is atomic, and the directory is synced so that it lasts.
/// `held` (FILE's open table, with its writer lock) is dropped after the rename, so that
/// no other writer gets in between.
pub(crate) fn replace_file<T>(new: &Path, old: &Path, held: T) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Ok(meta) = std::fs::metadata(old) {
        std::fs::set_permissions(new, meta.permissions())
            .with_context(|| format!("{}: set permissions", new.display()))?;
    }
    std::fs::rename(new, old)
        .with_context(|| format!("{}: rename the imported records over it", old.display()))?;
    drop(held);
    let dir = match old.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: sync the directory", dir.display()))
}
