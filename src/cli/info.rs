//! `fixrec info`: what a file's header says.

use super::target::{Mode, Target};
use anyhow::Result;
use std::process::ExitCode;

/// Print a store's format version, schema, layout, record size, len, capacity, data
/// offset, generation and file size. With --raw, what the file is as records of --schema.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec info members.fxr --json\n  \
    fixrec info data/jinyong.dat --raw --schema 'id:str[256],name:str[256]'")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let table = args.target.open(Mode::Read)?;
    let schema = Target::schema_of(&table)?;
    let mut facts: Vec<(&str, serde_json::Value)> = Vec::new();
    let mut put = |k, v| facts.push((k, v));
    put("file", args.target.file.display().to_string().into());
    if table.is_raw() {
        put("format", "raw (headerless)".into());
    } else {
        put("format", "fixrec".into());
        put("format_version", table.format_version().into());
    }
    put("schema", schema.to_string().into());
    put("layout", schema.layout().to_string().into());
    put("record_size", table.record_size().into());
    put("len", table.len().into());
    put("capacity", table.capacity().into());
    put("data_offset", table.data_offset().into());
    if !table.is_raw() {
        put("generation", table.generation().into());
    }
    put("file_size", table.size_now()?.into());
    if args.json {
        let object: serde_json::Map<_, _> =
            facts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        outln!("{}", serde_json::Value::Object(object));
    } else {
        for (k, v) in &facts {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            outln!("{k:<15} {v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
