//! `fixrec info`: what a file's header says.

use super::target::{Mode, Target};
use anyhow::Result;
use fixrec::{FieldType, Schema};
use serde_json::{Value, json};
use std::process::ExitCode;

/// Print a store's format version, schema, layout, record size, len, capacity, data
/// offset, generation and file size. With --raw, what the file is as records of --schema.
/// With --json, also each field's name, type, offset and size, and a numpy dtype.
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
        put("fields", fields_json(&schema));
        put("numpy_dtype", numpy_dtype(&schema));
    }
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

/// Each field's name, type, byte offset in the record and byte size.
fn fields_json(schema: &Schema) -> Value {
    schema
        .fields()
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "type": f.ty.to_string(),
                "offset": f.offset,
                "size": f.ty.size(),
            })
        })
        .collect()
}

/// The record as a numpy dtype description, which `np.dtype(...)` takes as it is:
/// names, formats, offsets and itemsize, so C padding and packed layouts both map.
fn numpy_dtype(schema: &Schema) -> Value {
    let fields = schema.fields();
    json!({
        "names": fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        "formats": fields.iter().map(|f| numpy_format(f.ty)).collect::<Vec<_>>(),
        "offsets": fields.iter().map(|f| f.offset).collect::<Vec<_>>(),
        "itemsize": schema.record_size(),
    })
}

/// numpy's type string for a field type (little-endian, as the file is).
fn numpy_format(ty: FieldType) -> String {
    match ty {
        FieldType::U8 => "u1".into(),
        FieldType::I8 => "i1".into(),
        FieldType::U16 => "<u2".into(),
        FieldType::I16 => "<i2".into(),
        FieldType::U32 => "<u4".into(),
        FieldType::I32 => "<i4".into(),
        FieldType::U64 => "<u8".into(),
        FieldType::I64 => "<i8".into(),
        FieldType::F32 => "<f4".into(),
        FieldType::F64 => "<f8".into(),
        FieldType::Bool => "?".into(),
        FieldType::Char => "S1".into(),
        FieldType::Str(n) => format!("S{n}"),
        FieldType::Bytes(n) => format!("V{n}"),
        // A subarray: numpy's "(3,)<f4" for f32[3].
        FieldType::Array(e, n) => format!("({n},){}", numpy_format(e.ty())),
        // A type this list does not know yet is shown as its bytes.
        other => format!("V{}", other.size()),
    }
}
