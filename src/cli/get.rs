//! `fixrec get`: records as JSON.

use super::target::{Mode, Target};
use anyhow::{Context, Result};
use fixrec::Error;
use std::io::Write;
use std::process::ExitCode;

/// Print records as JSON, one object per line, in the order the indexes are given.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  \
    fixrec get members.fxr 0 2\n  \
    fixrec get data/jinyong.dat 2 --raw --schema 'id:str[256],name:str[256]'")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Record indexes (from 0).
    #[arg(required = true, value_name = "INDEX")]
    indexes: Vec<u64>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let table = args.target.open(Mode::Read)?;
    let schema = Target::schema_of(&table)?;
    let file = args.target.file.display();
    // Every index is checked before anything is printed.
    let mut records = Vec::with_capacity(args.indexes.len());
    for &i in &args.indexes {
        let rec = usize::try_from(i)
            .ok()
            .and_then(|i| table.record(i))
            .ok_or(Error::IndexOutOfRange {
                index: i,
                len: table.len() as u64,
            })
            .with_context(|| format!("{file}"))?;
        records.push((i, rec));
    }
    let mut out = String::new();
    for (i, rec) in records {
        schema
            .write_json(rec, &mut out)
            .with_context(|| format!("{file}: record {i}"))?;
        out.push('\n');
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
