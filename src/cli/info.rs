//! `fixrec info`: what a file's header says.

use anyhow::Result;
use fixrec::{Table, format};
use std::path::PathBuf;
use std::process::ExitCode;

/// Print a store's format version, schema, layout, record size, len, capacity, data
/// offset, generation and file size.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  fixrec info members.fxr --json")]
pub struct Args {
    /// The store file.
    file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let table = Table::open_read_only(&args.file)?;
    let schema = table.schema().expect("native files have a schema");
    let facts = serde_json::json!({
        "file": args.file.display().to_string(),
        "format_version": format::VERSION,
        "schema": schema.to_string(),
        "layout": schema.layout().to_string(),
        "record_size": table.record_size(),
        "len": table.len(),
        "capacity": table.capacity(),
        "data_offset": table.data_offset(),
        "generation": table.generation(),
        "file_size": std::fs::metadata(&args.file)?.len(),
    });
    if args.json {
        println!("{facts}");
    } else {
        for (k, v) in facts.as_object().expect("an object") {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            println!("{k:<15} {v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
