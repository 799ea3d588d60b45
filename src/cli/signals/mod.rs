//! Stopping `import` and `export` cleanly on Ctrl-C (and SIGTERM and SIGHUP on Unix;
//! Ctrl-Break and closing the console on Windows), and waiting on pipes, FIFOs and
//! terminals so that a signal ends every wait. One file per system (`unix.rs`,
//! `windows.rs`) with the same functions; this one holds what they share.
//!
//! The first signal only sets a flag; the commands check it ([`interrupted`]) between
//! chunks of work and then clean up as after any error (nothing committed, a file they
//! created or their temporary file removed) and exit with 128 + the signal's number:
//! 130 for Ctrl-C (and, on Windows, Ctrl-Break), 143 for SIGTERM, 129 for SIGHUP (and,
//! on Windows, closing the console, logging off or shutting down, which end the process
//! at once, as a second signal does). A second signal ends the process at once, removing
//! the file a `--create` made or an export's temporary file.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

pub(crate) use sys::{
    Input, Output, cut_back_if_killed, open_input, open_output, remove_if_killed, stdout_file,
    stop_on_signals,
};

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked a long command to stop, once one came: its Unix number
/// (SIGINT for Ctrl-C on every system).
pub(super) static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// Fails once SIGINT, SIGTERM or SIGHUP came (after [`stop_on_signals`]).
pub(crate) fn interrupted() -> anyhow::Result<()> {
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => Ok(()),
        signal => Err(Interrupted(signal).into()),
    }
}

/// Whether `e` is (or was caused by) a stop by a signal.
pub(crate) fn is_interrupted(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Interrupted>().is_some()
}

/// The error of a command stopped by a signal.
#[derive(Debug)]
pub(crate) struct Interrupted(pub(crate) i32);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", sys::signal_name(self.0))
    }
}

impl std::error::Error for Interrupted {}

/// The signal's error as an `io::Error` (for `Read` and `Write` impls); [`from_io`] takes
/// it back out.
pub(super) fn interrupted_io() -> io::Result<()> {
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => Ok(()),
        // Not `ErrorKind::Interrupted`, which `write_all` and `read_to_end` retry.
        signal => Err(io::Error::other(Interrupted(signal))),
    }
}

/// The [`Interrupted`] an `io::Error` of this module carries, as an error of its own
/// (so that the command exits 128 + the signal), or the error as it is.
pub(crate) fn from_io(e: io::Error) -> anyhow::Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<Interrupted>()) {
        Some(Interrupted(signal)) => Interrupted(*signal).into(),
        None => e.into(),
    }
}

/// Whether an `io::Error` of this module says that a signal came.
pub(crate) fn is_signal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<Interrupted>())
}
