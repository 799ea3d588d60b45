//! Unix: handlers for SIGINT, SIGTERM and SIGHUP, and waits that a signal ends
//! (self-pipe + `poll`).
//!
//! # Why a signal cannot be missed
//!
//! Checking a flag and then blocking in `read(2)` leaves a window: a signal that comes
//! after the check and before the call is handled, but the call then blocks until the
//! input moves. So nothing here blocks in `read`, `write` or `open` on anything that can
//! wait forever. The handler sets the flag and then writes a byte to a *wake pipe* that
//! is never drained; every wait is a `poll(2)` on the descriptor *and* the wake pipe,
//! and only a call that cannot block follows it:
//!
//! - a signal before the flag check: the check fails;
//! - a signal after the check: the wake pipe is readable (it stays so, level-triggered),
//!   so the `poll` returns at once, whether it was entered before or after the signal;
//! - after `poll` says the descriptor is ready, the read or write cannot block: reads
//!   take what is there (the descriptor is non-blocking where it is ours; a pipe we
//!   share, such as stdout, gets at most `PIPE_BUF` bytes per write, which a pipe with
//!   room takes without waiting), and `EAGAIN` goes back to `poll`.
//!
//! Opening a FIFO that has no reader (for `export -o fifo`) cannot be polled: it is
//! retried without blocking (`O_NONBLOCK` gives `ENXIO` at once), waiting on the wake
//! pipe between tries. Opening a FIFO that has no writer (for `import`) is non-blocking
//! by itself, and the `poll` on it waits for a writer's data (Linux reports no hang-up
//! on a FIFO that never had a writer).

use super::{SIGNALLED, interrupted_io};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use std::time::Duration;

/// The wake pipe's ends (-1 until [`stop_on_signals`] made it): the handler writes a
/// byte to `WAKE_WRITE`; every wait polls `WAKE_READ`.
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// A file to remove if a second signal ends the process at once: the store an import's
/// `--create` made, or an export's temporary file (see [`remove_if_killed`]).
static LEFTOVER: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// The room an import's appends add to an existing file, to give back if a second
/// signal ends the process at once (see [`cut_back_if_killed`]).
static CUT_BACK: AtomicPtr<fixrec::CutBack> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn on_stop_signal(signal: libc::c_int) {
    if SIGNALLED.swap(signal, Ordering::SeqCst) != 0 {
        // A second one: the user insists. End now, by the signal, as without a handler,
        // leaving the file as the clean-up would have: a store `--create` made removed,
        // the room appends added to an existing file given back.
        // SAFETY: unlink(2), sigaction(2), signal(2), raise(3) and `CutBack::run`
        // (fcntl(2), ftruncate(2)) are async-signal-safe; LEFTOVER and CUT_BACK are null
        // or point to values that are never freed.
        unsafe {
            let leftover = LEFTOVER.load(Ordering::SeqCst);
            if !leftover.is_null() {
                libc::unlink(leftover);
            }
            let cut = CUT_BACK.load(Ordering::SeqCst);
            if !cut.is_null() {
                // Another thread may touch the map past the new end before the signal
                // below ends the process: that fault ends it by this signal too.
                let mut bus: libc::sigaction = std::mem::zeroed();
                bus.sa_sigaction = on_fault_after_cut as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut bus.sa_mask);
                libc::sigaction(libc::SIGBUS, &bus, std::ptr::null_mut());
                (*cut).run();
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    // After the flag: whoever sees the byte sees the flag. The pipe is empty (this is the
    // first signal) and non-blocking, so the write succeeds at once and leaves errno as
    // the interrupted code had it.
    let wake = WAKE_WRITE.load(Ordering::SeqCst);
    if wake >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is one live byte.
        unsafe { libc::write(wake, [1u8].as_ptr().cast(), 1) };
    }
}

/// A SIGBUS after the second signal cut the file: the process was ending by that
/// signal; it ends by it.
extern "C" fn on_fault_after_cut(_: libc::c_int) {
    let signal = SIGNALLED.load(Ordering::SeqCst);
    // SAFETY: signal(2) and raise(3) are async-signal-safe.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Names the room to give back if a second signal ends the process at once (an
/// import into an existing file), or none (before the commit that counts it). Kept for
/// the life of the process: the handler may be reading it.
pub(crate) fn cut_back_if_killed(cut: Option<fixrec::CutBack>) {
    let ptr = cut.map_or(std::ptr::null_mut(), |c| Box::into_raw(Box::new(c)));
    CUT_BACK.store(ptr, Ordering::SeqCst);
}

/// Names the file a second signal (which ends the process at once) should remove, or
/// none. The path is kept for the life of the process: the handler may be reading it.
pub(crate) fn remove_if_killed(path: Option<&Path>) {
    use std::os::unix::ffi::OsStrExt;
    let c = path
        .and_then(|p| std::ffi::CString::new(p.as_os_str().as_bytes()).ok())
        .map_or(std::ptr::null_mut(), std::ffi::CString::into_raw);
    LEFTOVER.store(c, Ordering::SeqCst);
}

/// The name of signal `signal` (SIGINT, SIGTERM or SIGHUP) in messages.
pub(super) fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "SIGTERM",
    }
}

/// Stdout, through a handle of our own (not std's line-buffered stdout), so that each
/// write is one that a signal can interrupt.
pub(crate) fn stdout_file() -> io::Result<std::fs::File> {
    Ok(std::fs::File::from(
        io::stdout().as_fd().try_clone_to_owned()?,
    ))
}

/// From now on, Ctrl-C (SIGINT), SIGTERM and SIGHUP do not end the process where it stands:
/// they make [`interrupted`](super::interrupted) fail and wake every [`wait`], so that `import` and `export`
/// stop at once and clean up as after any error, then exit with 128 + the signal's
/// number. A second signal ends the process at once (removing the file named by
/// [`remove_if_killed`]). A signal the process was started ignoring (a background job of
/// a script) stays ignored.
pub(crate) fn stop_on_signals() -> anyhow::Result<()> {
    if WAKE_READ.load(Ordering::SeqCst) < 0 {
        let mut fds = [-1; 2];
        // SAFETY: pipe2(2) fills the two descriptors it creates.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(anyhow::Error::from(io::Error::last_os_error())
                .context("cannot make the pipe that signals wake"));
        }
        WAKE_READ.store(fds[0], Ordering::SeqCst);
        WAKE_WRITE.store(fds[1], Ordering::SeqCst);
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: plain sigaction(2) calls on zeroed structs; the handler only does
        // async-signal-safe work.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            // No SA_RESTART: a poll returns EINTR, and the wait loop checks the flag.
            action.sa_flags = 0;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    Ok(())
}

/// What a wait waits for.
#[derive(Clone, Copy)]
enum Ready {
    Read,
    Write,
}

/// Waits until `fd` is ready (or hung up, or in error: the next call says which), or
/// fails once a signal came; `timeout` bounds the wait (`None`: no bound). See the
/// module's docs for why no signal is missed.
fn wait(fd: Option<BorrowedFd<'_>>, ready: Ready, timeout: Option<Duration>) -> io::Result<()> {
    let wake = WAKE_READ.load(Ordering::SeqCst);
    let events = match ready {
        Ready::Read => libc::POLLIN,
        Ready::Write => libc::POLLOUT,
    };
    let mut fds = [
        libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: fd.map_or(-1, |fd| fd.as_raw_fd()),
            events,
            revents: 0,
        },
    ];
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int);
    loop {
        interrupted_io()?;
        // SAFETY: two initialised pollfds; a negative fd is ignored by poll(2).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue; // the flag is checked at the top
            }
            return Err(e);
        }
        interrupted_io()?;
        if fds[1].revents != 0 || n == 0 {
            return Ok(());
        }
    }
}

/// Opens `input` for reading without blocking: a FIFO that has no writer yet is waited
/// on by the reads, where a signal ends the wait (see [`Input`]).
pub(crate) fn open_input(input: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // `-` is stdin, opened anew (its own description, so O_NONBLOCK here does not
    // change the terminal or pipe of the shell that started fixrec).
    let input = if input.as_os_str() == "-" {
        Path::new("/dev/stdin")
    } else {
        input
    };
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(input)
}

/// A non-regular input (pipe, FIFO, terminal, device) opened by [`open_input`]: each read
/// first waits with [`wait`], so a signal ends it. Its error carries [`Interrupted`](super::Interrupted)
/// (see [`from_io`](super::from_io)).
pub(crate) struct Input(pub(crate) std::fs::File);

impl io::Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            wait(Some(self.0.as_fd()), Ready::Read, None)?;
            match self.0.read(buf) {
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                done => return done,
            }
        }
    }
}

/// Opens `out` (a FIFO, a device, `/dev/stdout`) for writing, as `>` would (truncated),
/// without blocking: a FIFO that has no reader yet is tried again every 10 ms until one
/// comes, and a signal ends the wait at once.
pub(crate) fn open_output(out: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(out)
        {
            // ENXIO: a FIFO with no reader (open(2)).
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                wait(None, Ready::Write, Some(Duration::from_millis(10)))?
            }
            opened => return opened,
        }
    }
}

/// A writer to a descriptor that may block forever (a pipe, FIFO, socket or terminal
/// whose reader stalled): each write first waits with [`wait`], then writes at most
/// `PIPE_BUF` bytes, which a pipe that has room takes without blocking. Anything else (a
/// regular file, `/dev/null`) is written as it is. Its error carries
/// [`Interrupted`](super::Interrupted) (see [`from_io`](super::from_io)).
pub(crate) struct Output<W> {
    inner: W,
    fd: RawFd,
    direct: bool,
}

impl<W: io::Write + AsFd> Output<W> {
    pub(crate) fn new(inner: W) -> Self {
        let fd = inner.as_fd().as_raw_fd();
        let may_stall = fstat_mode(fd).is_none_or(|m| match m & libc::S_IFMT {
            libc::S_IFIFO | libc::S_IFSOCK => true,
            // SAFETY: isatty(3) on a descriptor we hold.
            libc::S_IFCHR => unsafe { libc::isatty(fd) == 1 },
            _ => false,
        });
        Output {
            inner,
            fd,
            direct: !may_stall,
        }
    }
}

fn fstat_mode(fd: RawFd) -> Option<libc::mode_t> {
    // SAFETY: fstat(2) fills the zeroed struct for a descriptor we hold.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then_some(st.st_mode)
    }
}

impl<W: io::Write + AsFd> io::Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.direct {
            interrupted_io()?;
            return self.inner.write(buf);
        }
        loop {
            // SAFETY: `fd` is `inner`'s, which lives as long as `self`.
            let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
            wait(Some(fd), Ready::Write, None)?;
            let n = buf.len().min(libc::PIPE_BUF);
            match self.inner.write(&buf[..n]) {
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                done => return done,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
