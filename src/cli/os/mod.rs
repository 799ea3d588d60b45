//! What the command line asks of the operating system beyond the library: one file per
//! system (`unix.rs`, `windows.rs`) with the same functions. The commands never name a
//! system.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;
