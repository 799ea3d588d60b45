//! `fixrec push`: append one record.

use super::set::{Assignment, apply, assignment_parser};
use super::target::Target;
use anyhow::{Context, Result};
use std::process::ExitCode;

/// Append a record (fields not given are zero), flush, and print its index.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  fixrec push members.fxr id=22 name=김용")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Field values; fields not given are zero (empty text).
    #[arg(value_name = "FIELD=VALUE", value_parser = assignment_parser())]
    assignments: Vec<Assignment>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut table = args.target.open_writer()?;
    let schema = Target::schema_of(table.table())?;
    let mut rec = vec![0u8; table.table().record_size()];
    apply(&schema, &args.assignments, &mut rec)
        .with_context(|| format!("{}: new record", args.target.file.display()))?;
    let i = table.append(&rec)?;
    table.flush()?;
    let file = args.target.file.display();
    super::report(
        || format!("{file}: record {i} was appended and committed"),
        format_args!("{i}"),
    )?;
    Ok(ExitCode::SUCCESS)
}
