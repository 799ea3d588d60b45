//! Windows: no `SIGPIPE`, file identity by canonical path, no modes or umask (a file
//! gets its folder's inherited access control), regions that go with their last handle.

use anyhow::bail;
use fixrec::shm::{Origin, RegionOptions};
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::fs::FileExt;
use std::path::Path;

/// A file-mapping object goes with its last handle, so a region a command created would
/// be gone when it ends, and no command can remove one: both are refused, saying so.
pub(crate) fn check_region_outlives_command(name: &str, action: &str) -> anyhow::Result<()> {
    bail!(
        "shm:{name}: cannot {action} a region from the command line on Windows: a region (a file-mapping object) lives exactly as long as some process has it open, so it would be gone when this command ends; create it in the program that uses it (CreateFileMapping, or fixrec's Region::create), and fixrec commands can then read and write it"
    )
}

/// Windows has no `SIGPIPE`: a write to a pipe whose reader went away is an error.
pub(crate) fn restore_sigpipe() {}

/// Whether `a` and `b` are one file (the same canonical path).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// At most `max` bytes of `name`, cut at a character boundary.
pub(crate) fn cut_name(name: &OsStr, max: usize) -> OsString {
    let name = name.to_string_lossy();
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    OsString::from(&name[..end])
}

/// Creates `path` exclusively (its access control is inherited from the folder).
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Nothing to set: a new file's access control comes from its folder.
pub(crate) fn set_default_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}

/// The replaced file's read-only attribute (Windows files have no mode bits).
pub(crate) fn keep_owner_and_mode(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())
}

/// Refuses existing region `name` unless this user owns it (the library's
/// `open_or_create` check). On Windows, a region that does not exist is made for the
/// check and goes again with its handle.
pub(crate) fn check_region_is_ours(name: &str) -> anyhow::Result<()> {
    match RegionOptions::new().open_or_create(name, 1) {
        Ok((_, Origin::Opened | Origin::Created)) => Ok(()),
        Err(e) => {
            bail!("shm:{name}: --create uses an existing region only if this user owns it: {e}")
        }
    }
}

/// Windows cannot drop one file's pages from its cache.
pub(crate) fn drop_cache(_file: &File) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Windows cannot drop one file's pages from its cache (the benchmark harness needs it)",
    ))
}

/// No read-ahead hint for an open file on Windows.
pub(crate) fn advise_random(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Reads exactly `buf.len()` bytes at `offset`.
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Puts `new` in place of `old` (a store that `import --replace` filled). Windows
/// cannot replace a file that is open and mapped, so `held` (FILE's open table, with its
/// writer lock) is dropped first: another writer could open FILE in that instant and its
/// changes would be replaced. The rename (`MoveFileExW` with `MOVEFILE_REPLACE_EXISTING`)
/// is atomic on NTFS; a directory has nothing to sync. The read-only attribute, the only
/// mode bit, cannot be set on a file that is open for writing and was not set on FILE,
/// which was opened for writing.
pub(crate) fn replace_file<T>(new: &Path, old: &Path, held: T) -> anyhow::Result<()> {
    use anyhow::Context;
    drop(held);
    std::fs::rename(new, old)
        .with_context(|| format!("{}: rename the imported records over it", old.display()))
}
