//! `fixrec update`: apply a batch of changes to records as one transaction.

use super::target::{Target, Writer};
use anyhow::{Context, Result, anyhow, bail};
use fixrec::Schema;
use fixrec::schema::show;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

/// Change records in one transaction: all of INPUT's changes, or none.
///
/// INPUT is JSON lines, each an object with "_index" (the record's index, from 0) and
/// the fields to change, or CSV (a .csv file, or --format csv) with an `_index` column and a
/// column per field to change. Fields not named keep their values; a record named twice
/// gets both changes, in order. A bad line (unknown field, bad value, an index past the
/// end) stops the command with an error naming the line and the field, and nothing
/// changes. The commit is one write to the store's log and one sync: after a crash or
/// a power cut at any moment, the store holds all of the changes or none.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec update members.fxr changes.jsonl\n  \
    echo '{\"_index\": 2, \"name\": \"Jin Yong\"}' | fixrec update members.fxr -\n  \
    fixrec update members.fxr changes.csv")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// The changes: a JSON lines or CSV file, or `-` for stdin.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// Format of INPUT: `jsonl`, or `csv` (the default for a file named *.csv).
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// JSON lines: one object per line with "_index" and the fields to change.
    Jsonl,
    /// A header row with `_index` and the fields to change, then one row per change.
    Csv,
}

const INDEX: &str = "_index";

pub fn run(args: Args) -> Result<ExitCode> {
    let stdin = args.input.as_os_str() == "-";
    let name = if stdin {
        "stdin".to_owned()
    } else {
        args.input.display().to_string()
    };
    let mut input = Vec::new();
    if stdin {
        std::io::stdin()
            .lock()
            .read_to_end(&mut input)
            .context("cannot read stdin")?;
    } else {
        input = std::fs::read(&args.input).with_context(|| format!("cannot read {name}"))?;
    }
    let csv = match args.format {
        Some(f) => f == Format::Csv,
        None => args.input.extension().is_some_and(|e| e == "csv"),
    };
    let mut writer = args.target.open_writer()?;
    let file = args.target.file.display().to_string();
    let Writer::Table(table) = &mut writer else {
        bail!(
            "{file}: a shared-memory store has no transactions; change its records one by one with `fixrec set`"
        );
    };
    let schema = Target::schema_of(table)?;
    let mut txn = table.transaction().with_context(|| file.clone())?;
    let progress = progress_bar(input.len() as u64);
    let changed = if csv {
        read_csv(&input, &schema, &mut txn, &progress)
    } else {
        read_json_lines(&input, &schema, &mut txn, &progress)
    }
    .with_context(|| format!("{name}: nothing was changed"))?;
    progress.finish_and_clear();
    txn.commit()
        .with_context(|| format!("{file}: the update was not committed"))?;
    super::report(
        || format!("{file}: {changed} changes were committed"),
        format_args!("{file}: {changed} changes committed in one transaction"),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(total: u64) -> ProgressBar {
    let draw = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), draw);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// The record of a line's `_index`, checked against the transaction's len.
fn record<'t>(
    txn: &'t mut fixrec::TableTransaction<'_>,
    index: Option<u64>,
    shown: impl FnOnce() -> String,
) -> Result<&'t mut [u8]> {
    let len = txn.len();
    let Some(i) = index else {
        bail!(
            "field `{INDEX}`: value {}: expected a record index (an integer from 0)",
            shown()
        );
    };
    match usize::try_from(i).ok().filter(|&i| i < len) {
        Some(i) => Ok(txn.record_mut(i)?),
        None => bail!("field `{INDEX}`: record {i} is past the end (the store has {len} records)"),
    }
}

fn read_json_lines(
    input: &[u8],
    schema: &Schema,
    txn: &mut fixrec::TableTransaction<'_>,
    progress: &ProgressBar,
) -> Result<u64> {
    let mut changed = 0;
    for (n, line) in input.split(|&b| b == b'\n').enumerate() {
        progress.inc(line.len() as u64 + 1);
        if line.trim_ascii().is_empty() {
            continue;
        }
        let at = || format!("line {}", n + 1);
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line)
            .map_err(|e| anyhow!("invalid JSON at column {}: {e}", e.column()))
            .with_context(|| {
                format!(
                    "{}: expected an object such as {{\"_index\": 0, \"field\": value}}",
                    at()
                )
            })?;
        let index = object.get(INDEX);
        let shown = || index.map_or("(missing)".into(), |v| show(v.to_string().as_bytes()));
        let rec = record(txn, index.and_then(|v| v.as_u64()), shown).with_context(at)?;
        for (key, value) in &object {
            if key == INDEX {
                continue;
            }
            let field = schema.field_or_err(key).with_context(at)?;
            field.set_json(value, rec).with_context(at)?;
        }
        changed += 1;
    }
    Ok(changed)
}

fn read_csv(
    input: &[u8],
    schema: &Schema,
    txn: &mut fixrec::TableTransaction<'_>,
    progress: &ProgressBar,
) -> Result<u64> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let headers = rdr.byte_headers().context("line 1")?.clone();
    let mut index_col = None;
    let mut fields = Vec::new();
    for (c, h) in headers.iter().enumerate() {
        if h == INDEX.as_bytes() {
            index_col = Some(c);
            fields.push(None);
            continue;
        }
        let name = std::str::from_utf8(h)
            .map_err(|_| anyhow!("column {} is named {}, which is not UTF-8", c + 1, show(h)))
            .context("line 1")?;
        fields.push(Some(schema.field_or_err(name).context("line 1")?));
    }
    let Some(index_col) = index_col else {
        bail!("line 1: no `{INDEX}` column (the index of the record each row changes)");
    };
    let mut row = csv::ByteRecord::new();
    let mut changed = 0;
    let mut done = 0;
    while rdr
        .read_byte_record(&mut row)
        .with_context(|| format!("line {}", rdr.position().line()))?
    {
        let line = row.position().map_or(0, |p| p.line());
        let at = || format!("line {line}");
        let pos = rdr.position().byte();
        progress.inc(pos - done);
        done = pos;
        let raw = row.get(index_col).unwrap_or_default();
        let index = std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let rec = record(txn, index, || show(raw)).with_context(at)?;
        for (cell, field) in row.iter().zip(&fields) {
            if let Some(field) = field {
                field.set_text(cell, rec).with_context(at)?;
            }
        }
        changed += 1;
    }
    Ok(changed)
}
