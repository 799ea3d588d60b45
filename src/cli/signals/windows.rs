//! Windows: a console control handler (`SetConsoleCtrlHandler`) for Ctrl-C, Ctrl-Break
//! and closing the console, and reads and writes that it cancels.
//!
//! Windows runs the handler on a thread of its own. For Ctrl-C and Ctrl-Break it sets
//! the flag (as SIGINT: the command exits 130 after its clean-up) and then cancels the
//! main thread's blocking read or write (`CancelSynchronousIo`), again every 10 ms until
//! the main thread has seen the flag: a read entered just after the flag check is
//! cancelled by the next try, so no wait outlasts a Ctrl-C. A second Ctrl-C, or closing
//! the console, logging off or shutting down (after which Windows ends the process
//! anyway), ends the process at once with 130 (129 for the others), removing the file
//! named by [`remove_if_killed`].

use super::{SIGNALLED, interrupted_io};
use std::fs::File;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use windows_sys::Win32::Foundation::{
    DUPLICATE_SAME_ACCESS, DuplicateHandle, ERROR_OPERATION_ABORTED, HANDLE,
};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
use windows_sys::Win32::System::IO::CancelSynchronousIo;
use windows_sys::Win32::System::Threading::{ExitProcess, GetCurrentProcess, GetCurrentThread};

/// SIGINT's and SIGHUP's Unix numbers, which the exit status follows.
const SIGINT: i32 = 2;
const SIGHUP: i32 = 1;

/// A file to remove if the process ends at once.
static LEFTOVER: Mutex<Option<PathBuf>> = Mutex::new(None);
/// The main thread, whose blocking IO the handler cancels.
static MAIN_THREAD: AtomicPtr<core::ffi::c_void> = AtomicPtr::new(std::ptr::null_mut());
/// Set once the main thread has seen the flag (its IO failed with [`Interrupted`]).
static SEEN: AtomicBool = AtomicBool::new(false);

/// The name of signal `signal` in messages.
pub(super) fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "Ctrl-C",
        SIGHUP => "closing the console",
        _ => "a console event",
    }
}

unsafe extern "system" fn on_console_event(event: u32) -> i32 {
    let signal = match event {
        CTRL_C_EVENT | CTRL_BREAK_EVENT => SIGINT,
        _ => SIGHUP,
    };
    if signal == SIGHUP || SIGNALLED.swap(signal, Ordering::SeqCst) != 0 {
        // A second Ctrl-C, or a close that ends the process anyway: end now, removing
        // the file the clean-up would have removed.
        if let Some(path) = LEFTOVER.lock().ok().and_then(|l| l.clone()) {
            let _ = std::fs::remove_file(path);
        }
        // SAFETY: ends the process; nothing runs after it.
        unsafe { ExitProcess(128 + signal as u32) };
    }
    let main = MAIN_THREAD.load(Ordering::SeqCst);
    while !main.is_null() && !SEEN.load(Ordering::SeqCst) {
        // SAFETY: a thread handle we duplicated and never close.
        unsafe { CancelSynchronousIo(main) };
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    1 // handled: the process goes on, to clean up
}

/// Names the file a second Ctrl-C (which ends the process at once) should remove.
pub(crate) fn remove_if_killed(path: Option<&Path>) {
    if let Ok(mut l) = LEFTOVER.lock() {
        *l = path.map(Path::to_path_buf);
    }
}

/// From now on, Ctrl-C, Ctrl-Break and closing the console do not end the process where
/// Nothing to keep: Windows cannot cut a file that this process maps, so an import
/// killed at once leaves an existing store with the room it added
/// ([`fixrec::CutBack::run`] says so).
pub(crate) fn cut_back_if_killed(_cut: Option<fixrec::CutBack>) {}

/// it stands (see the module's docs).
pub(crate) fn stop_on_signals() -> anyhow::Result<()> {
    if MAIN_THREAD.load(Ordering::SeqCst).is_null() {
        let mut thread: HANDLE = std::ptr::null_mut();
        // SAFETY: duplicates this thread's pseudo-handle into a real one, which is kept
        // for the life of the process.
        let ok = unsafe {
            DuplicateHandle(
                GetCurrentProcess(),
                GetCurrentThread(),
                GetCurrentProcess(),
                &mut thread,
                0,
                0,
                DUPLICATE_SAME_ACCESS,
            )
        };
        if ok == 0 {
            return Err(anyhow::Error::from(io::Error::last_os_error())
                .context("cannot get a handle to the main thread"));
        }
        MAIN_THREAD.store(thread, Ordering::SeqCst);
    }
    // SAFETY: registers a handler that lives for the whole program.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_event), 1) } == 0 {
        return Err(anyhow::Error::from(io::Error::last_os_error())
            .context("cannot install the Ctrl-C handler"));
    }
    Ok(())
}

/// The flag's error, noting that the main thread has seen it.
fn check() -> io::Result<()> {
    let r = interrupted_io();
    if r.is_err() {
        SEEN.store(true, Ordering::SeqCst);
    }
    r
}

/// A cancelled call's error becomes the flag's (it was cancelled for it).
fn after<T>(r: io::Result<T>) -> io::Result<T> {
    match r {
        Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => {
            check()?;
            Err(e)
        }
        r => {
            check()?;
            r
        }
    }
}

/// Stdout, through a handle of our own.
pub(crate) fn stdout_file() -> io::Result<File> {
    Ok(File::from(io::stdout().as_handle().try_clone_to_owned()?))
}

/// Opens `input` for reading; `-` is stdin (a handle of our own).
pub(crate) fn open_input(input: &Path) -> io::Result<File> {
    if input.as_os_str() == "-" {
        return Ok(File::from(io::stdin().as_handle().try_clone_to_owned()?));
    }
    File::open(input)
}

/// A non-regular input (pipe, console): each read checks the flag before and after; a
/// Ctrl-C cancels a read that waits.
pub(crate) struct Input(pub(crate) File);

impl io::Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        check()?;
        after(self.0.read(buf))
    }
}

/// Opens `out` for writing, truncated, as `>` would.
pub(crate) fn open_output(out: &Path) -> io::Result<File> {
    check()?;
    after(
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(out),
    )
}

/// A writer whose writes check the flag before and after; a Ctrl-C cancels a write that
/// waits (a pipe whose reader stalled).
pub(crate) struct Output<W> {
    inner: W,
}

impl<W: io::Write + AsRawHandle> Output<W> {
    pub(crate) fn new(inner: W) -> Self {
        Output { inner }
    }
}

impl<W: io::Write + AsRawHandle> io::Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        check()?;
        after(self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
