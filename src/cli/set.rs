//! `fixrec set`: change fields of a record in place.

use super::target::Target;
use anyhow::{Context, Result, bail};
use fixrec::schema::show;
use fixrec::{Error, Schema};
use std::ffi::OsStr;
use std::process::ExitCode;

/// One `field=value` argument. The value is bytes, as the shell passed them: a value
/// that is not UTF-8 reaches the field's text parser, whose error names the field and
/// shows the bytes, rather than stopping clap with a message that names neither.
#[derive(Clone, Debug)]
pub struct Assignment {
    field: String,
    value: Vec<u8>,
}

/// The clap parser of `field=value` arguments: any bytes after the first `=` (the value
/// may itself hold `=`); the field name must be UTF-8 and not empty.
pub fn assignment_parser() -> impl clap::builder::TypedValueParser<Value = Assignment> {
    use clap::builder::{OsStringValueParser, TypedValueParser as _};
    OsStringValueParser::new().try_map(|s| parse_assignment(&s))
}

/// Parses `field=value` (the value may itself hold `=`, and any bytes).
fn parse_assignment(s: &OsStr) -> Result<Assignment, String> {
    let bytes = s.as_encoded_bytes();
    let Some(eq) = bytes.iter().position(|&b| b == b'=').filter(|&eq| eq > 0) else {
        return Err(format!("expected field=value, found {}", show(bytes)));
    };
    let field = std::str::from_utf8(&bytes[..eq]).map_err(|_| {
        format!(
            "the field name {} is not valid UTF-8 (field names are letters, digits and _)",
            show(&bytes[..eq])
        )
    })?;
    Ok(Assignment {
        field: field.to_owned(),
        value: bytes[eq + 1..].to_vec(),
    })
}

/// Applies the assignments to `record` (values as text: numbers in decimal, `bytes` in
/// hex). A field given twice is an error, not "the last one wins".
pub fn apply(schema: &Schema, assignments: &[Assignment], record: &mut [u8]) -> Result<()> {
    for (i, a) in assignments.iter().enumerate() {
        let field = schema.field_or_err(&a.field)?;
        if let Some(first) = assignments[..i].iter().find(|b| b.field == a.field) {
            bail!(
                "field `{}` is given twice ({}={} and {}={}); give each field once",
                a.field,
                first.field,
                show(&first.value),
                a.field,
                show(&a.value)
            );
        }
        field.set_text(&a.value, record)?;
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
    #[arg(required = true, value_name = "FIELD=VALUE", value_parser = assignment_parser())]
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
    // Build the new record aside, so that a bad value changes nothing, and print it as
    // text before writing it: a field left bad (a `str` with no NUL, a `bool` byte of 2)
    // also stops the command before anything changes.
    let mut rec = table.read(i)?;
    apply(&schema, &args.assignments, &mut rec).with_context(|| format!("{file}: record {i}"))?;
    let mut line = String::new();
    schema
        .write_json(&rec, &mut line)
        .with_context(|| format!("{file}: record {i}"))?;
    table.set(i, &rec)?;
    table.flush()?;
    super::report(
        || format!("{file}: record {i} was changed and committed"),
        format_args!("{line}"),
    )?;
    Ok(ExitCode::SUCCESS)
}
