//! `fixrec export`: write records as CSV, JSON lines or raw bytes.

use super::target::{Reader, Target};
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output formats (the same as `import` reads back).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A header row of field names, then one row per record.
    Csv,
    /// One JSON object per line, fields in schema order.
    Jsonl,
    /// The records' bytes as they are in the file (a headerless file, like `jinyong.dat`).
    Raw,
}

/// Write a store's records to stdout or a file. Importing the output gives the same
/// records.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec export members.fxr > members.csv\n  \
    fixrec export members.fxr --format jsonl --range 10..20\n  \
    fixrec export members.fxr --format raw -o jinyong.dat")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Only records A to B-1 (`A..B`, `A..` or `..B`).
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    range: Option<(Option<u64>, Option<u64>)>,
    /// Write to OUT instead of stdout (OUT is removed if the export fails).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
}

fn parse_range(s: &str) -> Result<(Option<u64>, Option<u64>), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("expected A..B, A.. or ..B, found {s:?}"))?;
    let num = |t: &str| -> Result<Option<u64>, String> {
        if t.is_empty() {
            Ok(None)
        } else {
            t.parse()
                .map(Some)
                .map_err(|_| format!("{t:?} is not a record index"))
        }
    };
    Ok((num(a)?, num(b)?))
}

fn resolve(range: Option<(Option<u64>, Option<u64>)>, len: usize) -> Result<Range<usize>> {
    let (a, b) = range.unwrap_or((None, None));
    let a = a.unwrap_or(0);
    let b = b.unwrap_or(len as u64);
    if a > b || b > len as u64 {
        bail!("range {a}..{b} is not within the store's records 0..{len}");
    }
    Ok(a as usize..b as usize)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let table = args.target.open_reader()?;
    let range = resolve(args.range, table.table().len())
        .with_context(|| format!("{}", args.target.file.display()))?;
    match &args.output {
        None => {
            let stdout = std::io::stdout().lock();
            write(&table, range, args.format, BufWriter::new(stdout))
        }
        Some(out) => {
            let file = File::create(out)
                .with_context(|| format!("{}: cannot create output", out.display()))?;
            let written = write(&table, range, args.format, BufWriter::new(file))
                .with_context(|| format!("{}: export failed, output removed", out.display()));
            if written.is_err() {
                let _ = std::fs::remove_file(out);
            }
            written
        }
    }?;
    Ok(ExitCode::SUCCESS)
}

fn write(table: &Reader, range: Range<usize>, format: Format, mut w: impl Write) -> Result<()> {
    let schema = Target::schema_of(table.table())?;
    let at = |i: usize| format!("{}: record {i}", table.table().path().display());
    match format {
        Format::Raw => match table {
            Reader::Table(t) => {
                let rs = t.record_size();
                w.write_all(&t.records()[range.start * rs..range.end * rs])?;
            }
            Reader::Shared(_) => {
                for i in range {
                    w.write_all(&table.record(i)?)?;
                }
            }
        },
        Format::Jsonl => {
            let mut line = String::new();
            for i in range {
                let rec = table.record(i)?;
                line.clear();
                schema.write_json(&rec, &mut line).with_context(|| at(i))?;
                line.push('\n');
                w.write_all(line.as_bytes())?;
            }
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(&mut w);
            csv.write_record(schema.field_names())?;
            let mut cells = vec![String::new(); schema.fields().len()];
            for i in range {
                let rec = table.record(i)?;
                for (f, cell) in schema.fields().iter().zip(&mut cells) {
                    cell.clear();
                    f.write_text(&rec, cell).with_context(|| at(i))?;
                }
                csv.write_record(&cells)?;
            }
            csv.flush()?;
        }
    }
    w.flush().context("write output")?;
    Ok(())
}
