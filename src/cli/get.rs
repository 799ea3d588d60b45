//! `fixrec get`: records as JSON.

use super::target::Target;
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
    let reader = args.target.open_reader()?;
    let schema = Target::schema_of(reader.table())?;
    let file = args.target.file.display();
    // Every index is checked before anything is printed.
    let mut records = Vec::with_capacity(args.indexes.len());
    for &i in &args.indexes {
        let len = reader.table().len() as u64;
        let index = usize::try_from(i).map_err(|_| Error::IndexOutOfRange { index: i, len });
        let rec = index
            .map_err(anyhow::Error::from)
            .and_then(|i| reader.record(i))
            .with_context(|| format!("{file}"))?;
        records.push((i, rec));
    }
    let mut out = String::new();
    for (i, rec) in records {
        schema
            .write_json(&rec, &mut out)
            .with_context(|| format!("{file}: record {i}"))?;
        out.push('\n');
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}
