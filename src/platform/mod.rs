//! The operating-system half of layer 2 (with [`crate::backing`]): everything that
//! differs between systems, in one file per system with the same functions side by side
//! (`unix.rs`, `windows.rs`). Nothing above this module names an operating system.
//!
//! | What | Unix | Windows |
//! |---|---|---|
//! | open flags | `O_CLOEXEC`, `O_NONBLOCK` (a FIFO never blocks an open) | share read, write and delete |
//! | positional IO | `pread` / `pwrite` | `ReadFile` / `WriteFile` at an offset |
//! | reserving space | `posix_fallocate` (Linux), `ftruncate` elsewhere | `SetEndOfFile` (clusters are allocated) |
//! | map past the end of a file | allowed (only reserved bytes are touched) | not allowed: a view never passes the end of its file |
//! | shrinking a mapped file | allowed | refused by the system: callers unmap first |
//! | durability | `msync(MS_SYNC)` then `fdatasync` | `FlushViewOfFile` then `FlushFileBuffers` |
//! | locks | open-file-description byte-range locks (`F_OFD_SETLK`) | `LockFileEx` byte-range locks on the handle |
//! | named regions | `shm_open("/Name")`, mode bits, `fstat` owner | paging-file sections named as written (`Global\X`, `Local\X`, `X`) |
//!
//! Region handles on Windows are sections, not files: they have no byte-range locks, so a
//! region's locks are taken on a small lock file per region name in the temporary
//! directory (see `windows.rs`).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::Advice;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::Advice;
#[cfg(windows)]
pub(crate) use windows::*;

/// A byte-range lock state, held or wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockKind {
    Shared,
    Exclusive,
}
