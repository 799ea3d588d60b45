//! Commands of the `fixrec` binary: one module per subcommand, each with an `Args` and a
//! `run`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod info;
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
    Info(info::Args),
    Verify(verify::Args),
}

/// Parses the command line and runs it. Usage errors exit 2 (clap), failures print
/// `error: ...` with their causes and exit 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => info::run(args),
        Command::Verify(args) => verify::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
