//! `fixrec verify`: check every invariant of a store.

use super::target::{Reader, Target};
use anyhow::Result;
use fixrec::Error;
use std::process::ExitCode;

/// Check the header, both meta slots, the file's size and every record's fields (`str`
/// is UTF-8 and NUL-terminated, `bool` is 0 or 1). Exits 0 when all hold, 1 with everything that is wrong.
/// A meta slot that is not a valid commit (an interrupted commit, or damage) is a
/// warning: the store is at the other slot's commit.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec verify members.fxr\n  \
    fixrec verify data/jinyong.dat --raw --schema 'id:str[256],name:str[256]'")]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let reader = args.target.open_reader()?;
    let table = reader.table();
    let file = args.target.file.display();
    for note in table.notes()? {
        errln!("warning: {file}: {note}");
    }
    // A shared store's records are read under their sequence lock: one that a writer is
    // updating is read again, not reported torn.
    let verified = match &reader {
        Reader::Table(t) => t.verify(),
        Reader::Shared(s) => s.verify(),
    };
    match verified {
        Ok(()) => {
            outln!("{file}: ok ({} records)", table.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::VerifyFailed { problems, .. }) => {
            for p in &problems {
                errln!("error: {file}: {p}");
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
