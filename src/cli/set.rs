//! `fixrec set`: change fields of a record in place.

use super::target::Target;
use anyhow::{Context, Result, bail};
use fixrec::{Error, Schema};
use std::process::ExitCode;

/// One `field=value` argument.
#[derive(Clone, Debug)]
pub struct Assignment {
    field: String,
    value: String,
}

/// Parses `field=value` (the value may itself hold `=`).
pub fn parse_assignment(s: &str) -> Result<Assignment, String> {
    match s.split_once('=') {
        Some((field, value)) if !field.is_empty() => Ok(Assignment {
            field: field.to_owned(),
            value: value.to_owned(),
        }),
        _ => Err(format!("expected field=value, found {s:?}")),
    }
}

/// Applies the assignments to `record` (values as text: numbers in decimal, `bytes` in
/// hex). A field given twice is an error, not "the last one wins".
pub fn apply(schema: &Schema, assignments: &[Assignment], record: &mut [u8]) -> Result<()> {
    for (i, a) in assignments.iter().enumerate() {
        let field = schema.field_or_err(&a.field)?;
        if let Some(first) = assignments[..i].iter().find(|b| b.field == a.field) {
            bail!(
                "field `{}` is given twice ({}={:?} and {}={:?}); give each field once",
                a.field,
                first.field,
                first.value,
                a.field,
                a.value
            );
        }
        field.set_text(a.value.as_bytes(), record)?;
    }
    Ok(())
}

/// Set fields of record INDEX, in place, then flush. Prints the record as it now is.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  fixrec set members.fxr 2 name='Huang Rong' id=23")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// The record's index (from 0).
    index: u64,
    /// New values.
    #[arg(required = true, value_name = "FIELD=VALUE", value_parser = parse_assignment)]
    assignments: Vec<Assignment>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut table = args.target.open_writer()?;
    let schema = Target::schema_of(table.table())?;
    let file = args.target.file.display();
    let len = table.table().len();
    let i = usize::try_from(args.index)
        .ok()
        .filter(|&i| i < len)
        .ok_or(Error::IndexOutOfRange {
            index: args.index,
            len: len as u64,
        })
        .with_context(|| format!("{file}"))?;
    // Build the new record aside, so that a bad value changes nothing.
    let mut rec = table.read(i)?;
    apply(&schema, &args.assignments, &mut rec).with_context(|| format!("{file}: record {i}"))?;
    table.set(i, &rec)?;
    table.flush()?;
    let mut line = String::new();
    schema
        .write_json(&rec, &mut line)
        .with_context(|| format!("{file}: record {i}"))?;
    super::report(
        || format!("{file}: record {i} was changed and committed"),
        format_args!("{line}"),
    )?;
    Ok(ExitCode::SUCCESS)
}
