//! `fixrec export`: write records as CSV, JSON lines, raw bytes, Parquet or Arrow.

use super::columnar::{self, Compression, Kind};
use super::signals::is_signal;
use super::target::{Reader, Target};
use anyhow::{Context, Result, anyhow, bail};
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, ErrorKind, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
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
    /// A Parquet file (one column per field; see docs/CLI.md for the types).
    Parquet,
    /// An Arrow IPC file (Feather v2; one column per field).
    Arrow,
}

/// The format with its options.
#[derive(Clone, Copy)]
struct Spec {
    format: Format,
    compression: Option<Compression>,
}

/// Write a store's records to stdout or a file. Importing the output gives the same
/// records.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec export members.fxr > members.csv\n  \
    fixrec export members.fxr --format jsonl --range 10..20\n  \
    fixrec export members.fxr --format raw -o members.dat\n  \
    fixrec export members.fxr --format parquet -o members.parquet")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Compression of a Parquet or Arrow file [default: snappy for Parquet, none for
    /// Arrow].
    #[arg(long, value_enum)]
    compression: Option<Compression>,
    /// Only records A to B-1 (`A..B`, `A..` or `..B`).
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    range: Option<(Option<u64>, Option<u64>)>,
    /// Write to OUT instead of stdout. A file is replaced only when the export succeeds
    /// (it is written to a temporary file beside it first); a device or FIFO is written
    /// directly.
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
    let (given_a, given_b) = range.unwrap_or((None, None));
    // The range as it was given (`5..`, `..9`), for the messages.
    let shown = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let shown = format!("{}..{}", shown(given_a), shown(given_b));
    let a = given_a.unwrap_or(0);
    let b = given_b.unwrap_or(len as u64);
    if let (Some(a), Some(b)) = (given_a, given_b)
        && a > b
    {
        bail!("range {shown} is backwards: its start is past its end");
    }
    if a > b || b > len as u64 {
        bail!("range {shown} is not within the store's records 0..{len}");
    }
    Ok(a as usize..b as usize)
}

pub fn run(args: Args) -> Result<ExitCode> {
    super::stop_on_signals()?;
    if let Some(out) = args
        .output
        .as_ref()
        .filter(|o| o.to_str().is_some_and(|o| o.starts_with("shm:")))
    {
        bail!(
            "{}: export writes files; to copy records into a shared-memory region, import them: fixrec export FILE --format raw | fixrec import {} /dev/stdin --format raw",
            out.display(),
            out.display()
        );
    }
    let format = Spec {
        format: args.format,
        compression: args.compression,
    };
    if format.compression.is_some() && !matches!(args.format, Format::Parquet | Format::Arrow) {
        bail!("--compression applies to --format parquet and arrow only");
    }
    let table = args.target.open_reader()?;
    let range = resolve(args.range, table.table().len())
        .with_context(|| format!("{}", args.target.file.display()))?;
    match &args.output {
        None => to_stdout(&table, range, format).map(|()| ExitCode::SUCCESS),
        Some(out) => {
            if same_file(out, &args.target.file) {
                bail!(
                    "{}: is the store being exported (write to another file)",
                    out.display()
                );
            }
            to_path(&table, range, format, out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Whether `a` and `b` are one file (for `shm:NAME`, or a name that does not exist: no).
fn same_file(a: &Path, b: &Path) -> bool {
    super::os::same_file(a, b)
}

/// Why an export stopped.
enum Failure {
    /// Reading or converting a record (the message names it).
    Records(anyhow::Error),
    /// Writing the output.
    Write(io::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Records(e)
    }
}

/// Stdout. (A reader that goes away, as `| head -1` does, ends fixrec by SIGPIPE: see
/// `cli::main`.)
fn to_stdout(table: &Reader, range: Range<usize>, format: Spec) -> Result<()> {
    // Written through a descriptor of our own (not std's line-buffered stdout), so that
    // each write is one that a signal can interrupt (`cli::signals`).
    let stdout = super::signals::stdout_file().context("cannot write to stdout")?;
    let mut w = BufWriter::new(super::signals::Output::new(stdout));
    match write(table, range, format, &mut w) {
        Ok(()) => Ok(()),
        Err(Failure::Records(e)) => Err(e),
        Err(Failure::Write(e)) if is_signal(&e) => Err(super::signals::from_io(e)),
        Err(Failure::Write(e)) => {
            // What is still buffered is dropped, not written (the write failed).
            let _ = w.into_parts();
            Err(anyhow::Error::from(e).context("cannot write to stdout"))
        }
    }
}

/// `-o OUT`. A regular file (or a name that does not exist yet) is written to a new
/// temporary file in the same directory, renamed over OUT only when every record was
/// written: a failed export leaves OUT as it was, or absent. Anything else (a device such
/// as /dev/null, a FIFO, /dev/stdout whatever stdout is) is written directly and never
/// removed.
fn to_path(table: &Reader, range: Range<usize>, format: Spec, out: &Path) -> Result<()> {
    match std::fs::metadata(out) {
        Ok(_) if names_a_descriptor(out) => to_special(table, range, format, out),
        Ok(meta) if !meta.is_file() => to_special(table, range, format, out),
        Ok(_) => to_regular(table, range, format, out),
        Err(e) if e.kind() == ErrorKind::NotFound => to_regular(table, range, format, out),
        Err(e) => Err(e).with_context(|| format!("{}: cannot write output", out.display())),
    }
}

/// Whether `out` is, or leads by symlinks to, an open file descriptor (`/dev/stdout`,
/// `/dev/fd/N`, `/proc/self/fd/N`): whatever it is, it is written in place, as `>` would.
fn names_a_descriptor(out: &Path) -> bool {
    let mut path = out.to_path_buf();
    for _ in 0..40 {
        if path.starts_with("/proc") || path.starts_with("/dev/fd") {
            return true;
        }
        match std::fs::read_link(&path) {
            Ok(target) => path = path.parent().unwrap_or(Path::new("")).join(target),
            Err(_) => return false,
        }
    }
    false
}

/// A device, FIFO or the like: written in place (truncated as by `>`, which only a
/// regular file reached through `/dev/stdout` notices).
fn to_special(table: &Reader, range: Range<usize>, format: Spec, out: &Path) -> Result<()> {
    // A FIFO with no reader yet is waited for, and a stalled one too, until a signal.
    let file = super::signals::open_output(out).map_err(|e| match is_signal(&e) {
        true => super::signals::from_io(e),
        false => anyhow::Error::from(e).context(format!("{}: cannot open output", out.display())),
    })?;
    let mut w = BufWriter::new(super::signals::Output::new(file));
    match write(table, range, format, &mut w) {
        Ok(()) => Ok(()),
        Err(Failure::Records(e)) => Err(e.context(format!("{}: export failed", out.display()))),
        Err(Failure::Write(e)) if is_signal(&e) => {
            let _ = w.into_parts();
            Err(super::signals::from_io(e))
        }
        Err(Failure::Write(e)) => {
            let _ = w.into_parts();
            Err(anyhow!("{}: cannot write: {e}", out.display()))
        }
    }
}

/// A regular file, new or replaced.
fn to_regular(table: &Reader, range: Range<usize>, format: Spec, out: &Path) -> Result<()> {
    let shown = out.display();
    // Through symlinks: the file they name is replaced, the links stay.
    let dest = follow_links(out).with_context(|| format!("{shown}: cannot write output"))?;
    let existing = match std::fs::metadata(&dest) {
        Ok(meta) => {
            // A file we may not write stays refused, as opening it for writing would be.
            OpenOptions::new()
                .write(true)
                .open(&dest)
                .with_context(|| format!("{shown}: cannot write output"))?;
            Some(meta)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("{shown}: cannot write output")),
    };
    let (tmp, file) =
        create_temp(&dest).with_context(|| format!("{shown}: cannot write output"))?;
    super::remove_if_killed(Some(&tmp));
    let failed = if existing.is_some() {
        "export failed, the file is unchanged"
    } else {
        "export failed, no file written"
    };
    let result = (|| -> Result<()> {
        let mut w = BufWriter::new(file);
        match write(table, range, format, &mut w) {
            Ok(()) => {}
            Err(Failure::Records(e)) => return Err(e),
            Err(Failure::Write(e)) => {
                let _ = w.into_parts();
                return Err(anyhow!("cannot write {}: {e}", tmp.display()));
            }
        }
        let (file, _) = w.into_parts();
        // Made 0600 while it was written; now the replaced file's owner and mode, or for
        // a new file the mode `File::create` gives.
        match &existing {
            Some(meta) => super::os::keep_owner_and_mode(&file, meta),
            None => super::os::set_default_permissions(&file),
        }
        .with_context(|| format!("{}: set permissions", tmp.display()))?;
        // On disk before the rename, so that a crash leaves the old OUT or the new one,
        // never an empty file in its place.
        file.sync_data()
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        super::remove_if_killed(None);
        std::fs::rename(&tmp, &dest)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), dest.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        super::remove_if_killed(None);
    }
    result.with_context(|| format!("{shown}: {failed}"))
}

/// The path `path` names after following symlinks in its last component (the path
/// itself when it is not a symlink or does not exist).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A new file `.NAME.fixrec-tmp-PID[-N]` beside `dest` (NAME cut to 100 bytes), created exclusively (mode 0666
/// less the umask, as `File::create` makes a file).
fn create_temp(dest: &Path) -> io::Result<(PathBuf, File)> {
    let name = dest
        .file_name()
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "not a file name"))?;
    let dir = dest.parent().unwrap_or(Path::new(""));
    let pid = std::process::id();
    // At most 100 bytes of NAME, so that the temporary name stays within the 255 bytes
    // a file name may have, whatever NAME's length.
    let name = super::os::cut_name(name, 100);
    for n in 0..100 {
        let mut tmp = OsString::from(".");
        tmp.push(&name);
        tmp.push(format!(".fixrec-tmp-{pid}"));
        if n > 0 {
            tmp.push(format!("-{n}"));
        }
        let tmp = dir.join(tmp);
        // 0600 while it fills: nobody else can open it and read the records meanwhile.
        match super::os::create_private(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(with_path(e, &tmp)),
        }
    }
    Err(io::Error::new(
        ErrorKind::AlreadyExists,
        format!("{}: no free temporary file name", dir.display()),
    ))
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn write(
    table: &Reader,
    range: Range<usize>,
    format: Spec,
    w: &mut (impl Write + Send),
) -> Result<(), Failure> {
    let schema = Target::schema_of(table.table())?;
    let at = |i: usize| format!("{}: record {i}", table.table().path().display());
    let Spec {
        format,
        compression,
    } = format;
    match format {
        Format::Parquet => {
            columnar::export(table, &schema, range, Kind::Parquet, compression, &mut *w)?
        }
        Format::Arrow => {
            columnar::export(table, &schema, range, Kind::Arrow, compression, &mut *w)?
        }
        Format::Raw => match table {
            Reader::Table(t) => {
                let rs = t.record_size();
                for chunk in t.records()[range.start * rs..range.end * rs].chunks(1 << 20) {
                    super::interrupted()?;
                    w.write_all(chunk).map_err(Failure::Write)?;
                }
            }
            Reader::Shared(_) => {
                for i in range {
                    stop_every_4096(i)?;
                    w.write_all(&table.record(i)?).map_err(Failure::Write)?;
                }
            }
        },
        Format::Jsonl => {
            let mut line = String::new();
            for i in range {
                stop_every_4096(i)?;
                let rec = table.record(i)?;
                line.clear();
                schema.write_json(&rec, &mut line).with_context(|| at(i))?;
                line.push('\n');
                w.write_all(line.as_bytes()).map_err(Failure::Write)?;
            }
        }
        Format::Csv => {
            // The csv writer fills a buffer in memory, which is written out here: every
            // write error is the output's, with its io::Error (the csv crate's errors
            // would hide it).
            let mut csv = csv::Writer::from_writer(Vec::new());
            csv.write_record(schema.field_names()).context("csv")?;
            let mut cells = vec![String::new(); schema.fields().len()];
            for i in range {
                stop_every_4096(i)?;
                let rec = table.record(i)?;
                for (f, cell) in schema.fields().iter().zip(&mut cells) {
                    cell.clear();
                    f.write_text(&rec, cell).with_context(|| at(i))?;
                }
                csv.write_record(&cells).context("csv")?;
                if csv.get_ref().len() >= 1 << 16 {
                    csv = emit(csv, w)?;
                }
            }
            emit(csv, w)?;
        }
    }
    w.flush().map_err(Failure::Write)
}

/// Fails at every 4096th record once SIGINT or SIGTERM came (`cli::stop_on_signals`).
fn stop_every_4096(i: usize) -> anyhow::Result<()> {
    if i.is_multiple_of(4096) {
        super::interrupted()?;
    }
    Ok(())
}

/// Writes what `csv` holds to `w`; returns a writer for the next rows.
fn emit(csv: csv::Writer<Vec<u8>>, w: &mut impl Write) -> Result<csv::Writer<Vec<u8>>, Failure> {
    let mut buf = csv
        .into_inner()
        .map_err(|e| anyhow!("csv: {}", e.error()))?;
    w.write_all(&buf).map_err(Failure::Write)?;
    buf.clear();
    Ok(csv::Writer::from_writer(buf))
}
