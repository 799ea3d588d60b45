//! Commands of the `fixrec` binary: one module per subcommand, each with an `Args` and a
//! `run`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

/// `print!` that returns an error naming stdout (from the enclosing function, with `?`)
/// where `print!` would panic: stdout on a full disk, or `> /dev/full`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, $($arg)*)
            .and_then(|()| stdout.flush())
            .map_err(|e| anyhow::Error::from(e).context("cannot write to stdout"))?
    }};
}

/// `println!` that returns an error instead of panicking, as [`out!`] does.
macro_rules! outln {
    ($($arg:tt)*) => {
        out!("{}\n", format_args!($($arg)*))
    };
}

/// `eprintln!` that does not panic when stderr cannot be written (`2> /dev/full`):
/// there is nowhere left to report that, and the exit status still tells.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Prints `line`, the report of a change already committed. If stdout cannot take it,
/// the error says that the change was made (`done`), so that nobody repeats it.
fn report(done: impl FnOnce() -> String, line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            anyhow::Error::from(e)
                .context("cannot write to stdout")
                .context(done())
        })
}

mod bench;
mod create;
mod export;
mod get;
mod import;
mod info;
mod push;
mod set;
mod shm;
pub mod target;
mod verify;

/// fixrec: memory-mapped fixed-record files and named shared memory.
#[derive(Parser)]
#[command(name = "fixrec", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Create(create::Args),
    Import(import::Args),
    Export(export::Args),
    Get(get::Args),
    Set(set::Args),
    Push(push::Args),
    Info(info::Args),
    Verify(verify::Args),
    Bench(bench::Args),
    Shm(shm::Args),
}

/// Parses the command line and runs it. Usage errors exit 2 (clap), failures print
/// `error: ...` with their causes and exit 1. A reader of fixrec's output that goes away
/// (`fixrec export m.fxr | head -1`) ends it by SIGPIPE, as it ends other Unix tools
/// (the shell shows status 141).
pub fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so every later print to a closed pipe would fail (and
    // `println!` panic): restore the default.
    // SAFETY: sets a signal's disposition to its default, before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Create(args) => create::run(args),
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::Get(args) => get::run(args),
        Command::Set(args) => set::run(args),
        Command::Push(args) => push::run(args),
        Command::Info(args) => info::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Shm(args) => shm::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("error: {}", message(&e));
            match e.downcast_ref::<Interrupted>() {
                // As a shell reports a process killed by the signal (130 for Ctrl-C).
                Some(Interrupted(signal)) => ExitCode::from(128 + *signal as u8),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// The signal (SIGINT, SIGTERM or SIGHUP) that asked a long command to stop, once one came.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// A file to remove if a second signal ends the process at once: the store an import's
/// `--create` made, or an export's temporary file (see [`remove_if_killed`]).
static LEFTOVER: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn on_stop_signal(signal: libc::c_int) {
    if SIGNALLED.swap(signal, Ordering::Relaxed) != 0 {
        // A second one: the user insists. End now, by the signal, as without a handler,
        // removing the file the clean-up would have removed.
        // SAFETY: unlink(2), signal(2) and raise(3) are async-signal-safe; LEFTOVER is
        // null or a NUL-terminated path that is never freed.
        unsafe {
            let leftover = LEFTOVER.load(Ordering::SeqCst);
            if !leftover.is_null() {
                libc::unlink(leftover);
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

/// Names the file a second signal (which ends the process at once) should remove, or
/// none. The path is kept for the life of the process: the handler may be reading it.
pub(crate) fn remove_if_killed(path: Option<&std::path::Path>) {
    use std::os::unix::ffi::OsStrExt;
    let c = path
        .and_then(|p| std::ffi::CString::new(p.as_os_str().as_bytes()).ok())
        .map_or(std::ptr::null_mut(), std::ffi::CString::into_raw);
    LEFTOVER.store(c, Ordering::SeqCst);
}

/// From now on, Ctrl-C (SIGINT), SIGTERM and SIGHUP do not end the process where it stands:
/// they make [`interrupted`] fail, so that `import` and `export` stop at their next check
/// and clean up as after any error (nothing committed, a file they created or their
/// temporary file removed), then exit with 128 + the signal's number. A second signal
/// ends the process at once (removing the file named by [`remove_if_killed`]). A
/// signal the process was started ignoring (a background
/// job of a script) stays ignored.
pub(crate) fn stop_on_signals() {
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
            // No SA_RESTART: a read blocked on a pipe returns EINTR, so the flag is seen
            // without waiting for the pipe's writer.
            action.sa_flags = 0;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Fails once SIGINT or SIGTERM came (after [`stop_on_signals`]).
pub(crate) fn interrupted() -> anyhow::Result<()> {
    match SIGNALLED.load(Ordering::Relaxed) {
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
struct Interrupted(i32);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            libc::SIGINT => "SIGINT",
            libc::SIGHUP => "SIGHUP",
            _ => "SIGTERM",
        };
        write!(f, "interrupted by {name}")
    }
}

impl std::error::Error for Interrupted {}

/// The error and its causes, `: `-separated, each cause left out when the message before
/// it already says it (fixrec's errors name their OS error in their own text).
fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
