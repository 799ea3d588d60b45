//! Commands of the `fixrec` binary: one module per subcommand, each with an `Args` and a
//! `run`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
mod columnar;
mod create;
mod export;
mod get;
mod import;
mod info;
mod os;
mod push;
mod set;
mod shm;
mod signals;
pub mod target;
mod update;
mod verify;

use signals::{
    Interrupted, cut_back_if_killed, interrupted, is_interrupted, remove_if_killed, stop_on_signals,
};

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
    Update(update::Args),
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
    // `println!` panic): restore the default (Unix).
    os::restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Create(args) => create::run(args),
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::Get(args) => get::run(args),
        Command::Set(args) => set::run(args),
        Command::Push(args) => push::run(args),
        Command::Update(args) => update::run(args),
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
