//! `fixrec verify`: check every invariant of a store.

use anyhow::Result;
use fixrec::{Error, Table};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check the header, both meta slots, the file's size and every record's fields. Exits
/// 0 when all hold, 1 with everything that is wrong.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  fixrec verify members.fxr")]
pub struct Args {
    /// The store file.
    file: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let table = Table::open_read_only(&args.file)?;
    match table.verify() {
        Ok(()) => {
            println!("{}: ok ({} records)", args.file.display(), table.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::VerifyFailed { problems, .. }) => {
            for p in &problems {
                eprintln!("error: {}: {p}", args.file.display());
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
