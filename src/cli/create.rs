//! `fixrec create`: a new, empty store with a schema.

use super::target::Target;
use anyhow::Result;
use std::process::ExitCode;

/// Create an empty store whose records follow --schema: a file, or for shm:NAME a shared
/// store in a named region (with --raw, a region of --capacity zeroed records).
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec create members.fxr --schema 'id:str[256],name:str[256]'\n  \
    fixrec create smtest.fxr --schema 'c:char,i:i32,s:i16' --layout packed --capacity 1000\n  \
    fixrec create shm:JJBSMTEST --raw --schema 'c:char,i:i32,s:i16' --layout packed --capacity 1\n  \
    fixrec create shm:ticks --schema 'seq:u64,v:f64' --capacity 1000")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Room for this many records before the file grows (default: 64 KiB of records);
    /// for a raw shm: region, the number of (zeroed) records it holds.
    #[arg(long, value_name = "N")]
    capacity: Option<u64>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.target.schema.is_none() {
        clap::Error::raw(
            clap::error::ErrorKind::MissingRequiredArgument,
            "the argument '--schema <S>' is required to create a store\n",
        )
        .exit();
    }
    // A raw region is exactly --capacity records, a raw file exactly len records.
    let region = args
        .target
        .file
        .to_str()
        .is_some_and(|f| f.starts_with("shm:"));
    if args.target.raw && region && args.capacity.is_none() {
        clap::Error::raw(
            clap::error::ErrorKind::MissingRequiredArgument,
            "the argument '--capacity <N>' is required to create a raw shm: region (its size, in records)\n",
        )
        .exit();
    }
    if args.target.raw && !region && args.capacity.is_some() {
        clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            "--capacity does not apply to a headerless file, which is always exactly len records long (it applies to fixrec files and to shm: regions)\n",
        )
        .exit();
    }
    let table = args.target.create(args.capacity)?;
    let schema = Target::schema_of(&table)?;
    super::report(
        || format!("{} was created", args.target.file.display()),
        format_args!(
            "created {}: {} records of {} bytes ({schema}, layout {}), capacity {}",
            args.target.file.display(),
            table.len(),
            table.record_size(),
            schema.layout(),
            table.capacity()
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}
