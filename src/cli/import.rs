//! `fixrec import`: bulk-load CSV, JSON lines, raw records, Parquet or Arrow, in one commit.
//!
//! Every row is converted before anything is committed. Into a fixrec file, rows convert
//! on this thread while a second one appends them in chunks past the committed len and
//! starts their write-back as it goes; one flush at the end commits them. On any error
//! len is cut back before the handle closes, so the commit never happens and the store
//! keeps its len and records. A headerless (`--raw`) target has no separate
//! commit, so its records are held in memory and appended only once all rows converted.

use super::target::{Target, Writer};
use anyhow::{Context, Result, anyhow, bail};
use fixrec::schema::Columns;
use fixrec::{FieldType, Schema};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, IsTerminal, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Instant;

/// Input formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row naming the fields (any order).
    Csv,
    /// One JSON object per line, giving every field.
    Jsonl,
    /// Records already in the schema's layout, back to back (like `jinyong.dat`).
    Raw,
    /// A Parquet file (columns matched to fields by name).
    Parquet,
    /// An Arrow IPC file or stream (columns matched to fields by name).
    Arrow,
}

/// Append the records of INPUT files to a store, as one commit: all rows or none.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    fixrec import members.fxr data/members.csv --create --schema 'id:str[256],name:str[256]'\n  \
    fixrec export members.fxr --format jsonl | fixrec import copy.fxr /dev/stdin --format jsonl --create --schema 'id:str[256],name:str[256]'\n  \
    fixrec import members.fxr data/jinyong.dat --format raw\n  \
    fixrec import copy.fxr members.parquet --create\n\n\
    A bad row stops the import with an error naming the input file, line, field and value;\n\
    the store is then left exactly as it was.")]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Input files, read in order.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Format of the input files [default: parquet for a first input named *.parquet,
    /// arrow for *.arrow, *.arrows, *.feather or *.ipc, else csv].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Create FILE with --schema if it does not exist. From Parquet or Arrow input,
    /// without --schema: with the schema of the first input's columns, which is printed.
    #[arg(long)]
    create: bool,
    /// Replace FILE's records with the input's instead of appending to them, all or
    /// none: the records go to a new file renamed over FILE once committed.
    #[arg(long, alias = "truncate")]
    replace: bool,
}

impl Args {
    /// --format, or what the first input's name says.
    fn format(&self) -> Format {
        let ext = self.inputs[0].extension().and_then(|e| e.to_str());
        self.format.unwrap_or(match ext {
            Some("parquet" | "pq") => Format::Parquet,
            Some("arrow" | "arrows" | "feather" | "ipc") => Format::Arrow,
            _ => Format::Csv,
        })
    }
}

/// Where converted records go.
enum Sink {
    /// Kept in memory until every row converted (raw targets have no separate commit).
    Hold,
    /// Sent a chunk at a time to the thread that appends them (`append_chunks`), which
    /// hands each buffer back once written.
    Chunks {
        full: Sender<(Vec<u8>, usize)>,
        empty: Receiver<Vec<u8>>,
    },
}

/// Converted records waiting to be appended.
pub(super) struct Out {
    rs: usize,
    buf: Vec<u8>,
    /// Records in `buf`.
    n: usize,
    sink: Sink,
    records: u64,
}

/// Grows `buf` to `len` zeroed bytes, or says that the records do not fit in memory.
fn hold(buf: &mut Vec<u8>, len: usize) -> Result<()> {
    if len > buf.len() {
        buf.try_reserve_exact(len - buf.len())
            .map_err(|_| anyhow!("cannot hold {len} bytes of records in memory"))?;
        buf.resize(len, 0);
    }
    Ok(())
}

/// Records per chunk when streaming into a fixrec file (about 1 MiB).
fn chunk_records(rs: usize) -> usize {
    (1 << 20) / rs.max(1) + 1
}

/// Chunk buffers in flight: one converting, the others queued or being written (two for
/// chunks over 16 MiB).
const BUFFERS: usize = 4;

/// Bytes appended between two starts of write-back.
const WRITEBACK_BYTES: usize = 32 << 20;

impl Out {
    /// The bytes of the next record, to be filled completely by the caller.
    pub(super) fn slot(&mut self) -> Result<&mut [u8]> {
        let rs = self.rs;
        if (self.n + 1) * rs > self.buf.len() {
            match self.sink {
                Sink::Hold => {
                    // 64 records to start with, at most 1 MiB of them, at least one.
                    let first = (rs * 64).min(rs.max(1 << 20));
                    let grown = (self.buf.len() * 2).max(first);
                    hold(&mut self.buf, grown).context(
                        "an import into a headerless file holds every record before it appends any",
                    )?;
                }
                Sink::Chunks { .. } => self.send()?,
            }
        }
        self.n += 1;
        self.records += 1;
        Ok(&mut self.buf[(self.n - 1) * rs..self.n * rs])
    }

    /// Hands the converted records to the appending thread and takes an empty buffer.
    fn send(&mut self) -> Result<()> {
        let Sink::Chunks { full, empty } = &self.sink else {
            return Ok(());
        };
        // Either fails only when the appending thread stopped on an error, which the
        // caller reports in place of this one (`AppendStopped`).
        let next = empty.recv().map_err(|_| AppendStopped)?;
        let buf = std::mem::replace(&mut self.buf, next);
        full.send((buf, self.n * self.rs))
            .map_err(|_| AppendStopped)?;
        self.n = 0;
        Ok(())
    }
}

/// What the converter meets when the appending thread has stopped on an error (which is
/// the one to report).
#[derive(Debug)]
struct AppendStopped;

impl std::fmt::Display for AppendStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the append stopped")
    }
}

impl std::error::Error for AppendStopped {}

/// The appending thread: appends each chunk, and every `WRITEBACK_BYTES` starts its
/// write-back, so that the disk works while rows convert and the commit at the end
/// waits only for the tail.
fn append_chunks(
    table: &mut Writer,
    full: Receiver<(Vec<u8>, usize)>,
    empty: Sender<Vec<u8>>,
) -> Result<()> {
    let mut unsynced = 0;
    for (buf, bytes) in full {
        table.append(&buf[..bytes])?;
        unsynced += bytes;
        if unsynced >= WRITEBACK_BYTES {
            table.flush_async()?;
            unsynced = 0;
        }
        // The converter may have stopped on a bad row; then nobody takes the buffer.
        let _ = empty.send(buf);
    }
    Ok(())
}

pub fn run(mut args: Args) -> Result<ExitCode> {
    super::stop_on_signals()?;
    let created = args.create && !args.target.exists();
    if created && args.target.schema.is_none() {
        derive_schema(&mut args)?;
    }
    let target = &args.target;
    if args.create && !created {
        target.check_existing_is_ours()?;
    }
    if created && target.is_file() {
        // Named before the file exists, so that a second signal at any instant after its
        // creation removes it (one that comes before removes nothing, or a file that
        // another process made in that instant under the same name).
        super::remove_if_killed(Some(&target.file));
    }
    let mut replacement = None;
    let table = if created {
        target.create_writer(None)
    } else if args.replace {
        target.open_replacement().map(|(new, old)| {
            replacement = Some(old);
            new
        })
    } else {
        target.open_writer()
    };
    let mut table = table.inspect_err(|_| super::remove_if_killed(None))?;
    if !created && !args.replace && target.is_file() {
        // A second signal gives back the room this import's appends add (a replacement
        // is a new file, which it removes).
        super::cut_back_if_killed(table.table().cut_back());
    }
    let schema = Target::schema_of(table.table())?;
    let started = Instant::now();
    let total: u64 = args
        .inputs
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let progress = progress_bar(total);

    let rs = table.table().record_size();
    let mut out = Out {
        rs,
        buf: Vec::new(),
        n: 0,
        sink: Sink::Hold,
        records: 0,
    };
    let imported = if table.table().is_raw() {
        // Raw input is as long as the records it holds: room for all of them at once
        // (doubling as rows come would need up to twice that).
        let room = if args.format() == Format::Raw {
            total
        } else {
            0
        };
        usize::try_from(room)
            .map_err(|_| anyhow!("{room} bytes of input do not fit in memory"))
            .and_then(|room| {
                hold(&mut out.buf, room).context(
                    "an import into a headerless file holds every record before it appends any",
                )
            })
            .and_then(|()| convert_all(&args, &schema, &mut out, &progress))
            // For a headerless file the append is the commit: a signal stops it before.
            .and_then(|()| super::interrupted())
            .and_then(|()| table.append(&out.buf[..out.n * rs]))
            .map(drop)
    } else {
        // Rows convert on this thread while another appends the converted chunks.
        std::thread::scope(|scope| {
            let (full, full_rx) = mpsc::channel();
            let (empty_tx, empty) = mpsc::channel();
            let chunk = chunk_records(rs) * rs;
            // Huge records (a chunk is at least one) get two buffers, not four.
            let buffers = if chunk > 16 << 20 { 2 } else { BUFFERS };
            for _ in 1..buffers {
                let mut buf = Vec::new();
                hold(&mut buf, chunk)?;
                let _ = empty_tx.send(buf); // the receiver is right here
            }
            hold(&mut out.buf, chunk)?;
            let table = &mut table;
            let appender = scope.spawn(move || append_chunks(table, full_rx, empty_tx));
            out.sink = Sink::Chunks { full, empty };
            let converted =
                convert_all(&args, &schema, &mut out, &progress).and_then(|()| out.send());
            out.sink = Sink::Hold; // closes the channel: the appender finishes
            let appended = appender
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the appending thread panicked")));
            match (converted, appended) {
                // The appending thread stopped first (disk full, say): its error.
                (Err(c), Err(a)) if c.is::<AppendStopped>() => Err(a),
                // A bad row or a signal stopped the conversion: that is the error, even
                // if an append then failed too.
                (Err(c), _) => Err(c),
                (Ok(()), appended) => appended,
            }
        })
    };
    let records = out.records;
    progress.finish_and_clear();
    // A signal that came during the last rows stops the import before its commit.
    let imported = if table.table().is_raw() {
        imported
    } else {
        imported.and_then(|()| super::interrupted())
    };
    let committed = imported
        .and_then(|()| {
            // The appends are about to count (a commit, or a headerless file's appended
            // records made durable): a second signal no longer cuts them.
            super::cut_back_if_killed(None);
            table
                .flush()
                .with_context(|| format!("{}: commit", target.file.display()))
        })
        .and_then(|()| replacement.take().map_or(Ok(()), |r| r.finish()));
    if let Err(e) = committed {
        // Nothing of this import was committed: roll len and capacity back so that
        // closing the handle commits nothing either, and remove a file this command
        // created.
        let rolled_back = table.roll_back();
        super::cut_back_if_killed(None);
        // Unlinked while this handle still holds the writer lock, so that no other
        // writer can open and commit to the file in between.
        if created {
            target.remove();
            super::remove_if_killed(None);
        }
        if let Some(r) = replacement {
            r.abandon();
        }
        drop(table);
        if let Err(r) = rolled_back {
            let file = target.file.display();
            return Err(e.context(format!(
                "{file}: the records appended before this error could not be taken back ({r})"
            )));
        }
        if super::is_interrupted(&e) {
            return Err(e.context(format!("{}: nothing was imported", target.file.display())));
        }
        return Err(e);
    }
    super::remove_if_killed(None); // committed: the file stays, whatever comes now
    let secs = started.elapsed().as_secs_f64();
    super::report(
        || {
            format!(
                "{}: {records} records were imported and committed",
                target.file.display()
            )
        },
        format_args!(
            "imported {records} records ({} bytes) into {} in {secs:.3} s ({:.0} records/s); len {}",
            records * rs as u64,
            target.file.display(),
            records as f64 / secs.max(1e-9),
            table.table().len()
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `--create` without `--schema`: the schema of the first input's columns, when it is
/// Parquet or Arrow; printed (on stderr) as --schema and --layout would give it.
fn derive_schema(args: &mut Args) -> Result<()> {
    let format = args.format();
    if !matches!(format, Format::Parquet | Format::Arrow) {
        bail!("--create needs --schema (only Parquet and Arrow input carries a schema)");
    }
    let input = &args.inputs[0];
    let schema = super::columnar::open(input)?.derive_schema(input, format == Format::Parquet)?;
    eprintln!(
        "{}: schema from the columns of {}: --schema '{schema}' --layout {}",
        args.target.file.display(),
        input.display(),
        schema.layout()
    );
    args.target.schema = Some(schema.to_string());
    args.target.layout = Some(schema.layout());
    Ok(())
}

/// Converts the rows of every input, in order, into `out`.
fn convert_all(args: &Args, schema: &Schema, out: &mut Out, progress: &ProgressBar) -> Result<()> {
    let mut done = 0u64;
    for input in &args.inputs {
        match args.format() {
            Format::Csv => import_csv(input, schema, out, progress, done),
            Format::Jsonl => import_jsonl(input, schema, out, progress, done),
            Format::Raw => import_raw(input, schema, out, progress, done),
            Format::Parquet => super::columnar::import(input, true, schema, out),
            Format::Arrow => super::columnar::import(input, false, schema, out),
        }?;
        done += std::fs::metadata(input).map_or(0, |m| m.len());
    }
    Ok(())
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

/// An input opened for reading: a regular file, or the bytes of anything else (a pipe:
/// `/dev/stdin`, `<(...)`, a FIFO) read whole into memory first, since a pipe has no
/// size and cannot be read twice, and a bad row's line number and the last row's quote
/// check read the input again.
pub(super) enum Source {
    File(File),
    Bytes(Cursor<Vec<u8>>),
}

impl Source {
    /// Opens `input`; returns it and its size in bytes.
    pub(super) fn open(input: &Path) -> Result<(Source, u64)> {
        // Without blocking: a FIFO with no writer yet is waited on by the reads below,
        // where a signal ends the wait (`cli::signals`).
        let file = super::signals::open_input(input)
            .with_context(|| format!("{}: cannot open input", input.display()))?;
        match file.metadata() {
            Ok(meta) if meta.is_file() => return Ok((Source::File(file), meta.len())),
            Ok(meta) if meta.is_dir() => {
                bail!("{}: cannot open input: a directory", input.display())
            }
            Ok(_) => {}
            // Windows has no file information for a pipe: stdin is read as one.
            Err(_) if input.as_os_str() == "-" => {}
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot open input", input.display()));
            }
        }
        // Read by hand, not with `read_to_end`, so that memory running out is an error
        // rather than an abort; each read waits for input or a signal.
        let mut input_fd = super::signals::Input(file);
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match input_fd.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    bytes.try_reserve(n).map_err(|_| {
                        anyhow!(
                            "{}: the input does not fit in memory (a pipe is read whole before its rows are checked)",
                            input.display()
                        )
                    })?;
                    bytes.extend_from_slice(&buf[..n]);
                }
                Err(e) => {
                    return match super::signals::from_io(e) {
                        e if super::is_interrupted(&e) => Err(e),
                        e => Err(e.context(format!("{}: read", input.display()))),
                    };
                }
            }
        }
        let size = bytes.len() as u64;
        Ok((Source::Bytes(Cursor::new(bytes)), size))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Bytes(b) => b.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Source::File(f) => f.seek(pos),
            Source::Bytes(b) => b.seek(pos),
        }
    }
}

/// The most bytes a line of input may hold for `schema`: more than any row or JSON
/// object of its records can take (text escaped at its longest, bytes as hex, numbers,
/// names), so that a file of the wrong kind (one line of gigabytes) is an error, not
/// memory running out.
fn longest_line(schema: &Schema) -> u64 {
    8 * schema.record_size() + 128 * schema.fields().len() as u64 + (1 << 20)
}

/// A reader that fails once a line (bytes between two `\n` or `\r`) grows past `limit`: the
/// csv parser would otherwise hold a whole malformed input as one field.
struct LineCap {
    src: Source,
    limit: u64,
    /// Bytes since the last `\n`.
    run: u64,
}

impl LineCap {
    fn new(src: Source, limit: u64) -> LineCap {
        LineCap { src, limit, run: 0 }
    }
}

impl Read for LineCap {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.src.read(buf)?;
        let got = &buf[..n];
        self.run = match got.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(i) => (n - i - 1) as u64,
            None => self.run + n as u64,
        };
        if self.run > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line is longer than any row of this schema can be ({} bytes); is this the right file or format?",
                    self.limit
                ),
            ));
        }
        Ok(n)
    }
}

/// The line (from 1) of the row that starts at byte `at` of `src`, or of the byte there.
/// A line ends at `\n`, `\r\n` or a `\r` alone, as the csv parser's rows do (its own
/// count misses lone `\r`s); blank lines at `at`, which the parser skips before a row,
/// are counted too.
fn line_of(src: &mut Source, input: &Path, at: u64) -> Result<u64> {
    let read = |e| anyhow::Error::from(e).context(format!("{}: read", input.display()));
    src.seek(SeekFrom::Start(0)).map_err(read)?;
    let (mut line, mut after_cr) = (1u64, false);
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(read)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if pos >= at && b != b'\n' && b != b'\r' {
                return Ok(line + u64::from(after_cr));
            }
            // A `\n`, or whatever follows a `\r` (`\r\n` is one line end, counted at
            // its `\n`), starts a line.
            if b == b'\n' || after_cr {
                line += 1;
            }
            after_cr = b == b'\r';
            pos += 1;
        }
    }
    Ok(line + u64::from(after_cr))
}

fn import_csv(
    input: &Path,
    schema: &Schema,
    out: &mut Out,
    progress: &ProgressBar,
    base: u64,
) -> Result<()> {
    let (src, size) = Source::open(input)?;
    let at = |line: u64| format!("{}: line {line}", input.display());
    let mut rdr =
        csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(BufReader::with_capacity(
                1 << 16,
                LineCap::new(src, longest_line(schema)),
            ));
    // A quote left open runs its field to the end of the input, so the row it is in
    // (the header, too) is the last, with too few fields or a field holding the rest of
    // the file: that quote is the error to report, whatever else is wrong with the row.
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_error(input, &mut rdr.get_mut().get_mut().src, e)),
    };
    if headers.is_empty() && size == 0 {
        return Ok(());
    }
    let columns: Columns = match schema.columns(headers.iter()) {
        Ok(c) => c,
        Err(e) => {
            // (A quote opened in the header runs it to the end of the input.)
            let to_the_end = rdr.position().byte() >= size;
            let src = &mut rdr.get_mut().get_mut().src;
            let quote = if to_the_end {
                open_quote(src, input, 0)?
            } else {
                None
            };
            return Err(quote.unwrap_or_else(|| anyhow::Error::from(e).context(at(1))));
        }
    };
    let mut row = csv::ByteRecord::new();
    let mut since_tick = 0u32;
    loop {
        match rdr.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(input, &mut rdr.get_mut().get_mut().src, e)),
        }
        let start = row.position().map_or(0, |p| p.byte());
        if rdr.position().byte() >= size {
            // The last row. (The parser has read the whole input: the source is read
            // again from the row's start, and is left at its end.)
            if let Some(e) = open_quote(&mut rdr.get_mut().get_mut().src, input, start)? {
                return Err(e);
            }
        }
        let rec = out.slot()?;
        if let Err(e) = columns.fill(schema, row.iter(), rec) {
            let line = line_of(&mut rdr.get_mut().get_mut().src, input, start)?;
            return Err(anyhow::Error::from(e).context(at(line)));
        }
        since_tick += 1;
        if since_tick == 4096 {
            since_tick = 0;
            super::interrupted()?;
            progress.set_position(base + rdr.position().byte());
        }
    }
    Ok(())
}

/// The error for a quote that the row starting at byte `start` leaves open at the end of
/// the input, if it does.
fn open_quote(src: &mut Source, input: &Path, start: u64) -> Result<Option<anyhow::Error>> {
    let Some(quote) = unclosed_quote(src, input, start)? else {
        return Ok(None);
    };
    Ok(Some(anyhow!(
        "{}: a quote opened on line {} is never closed (the field runs to the end of the file)",
        input.display(),
        line_of(src, input, quote)?
    )))
}

/// A csv error, with the line of its row counted from the input (`src`).
fn csv_error(input: &Path, src: &mut Source, e: csv::Error) -> anyhow::Error {
    if let Some(pos) = e.position() {
        match open_quote(src, input, pos.byte()) {
            Ok(Some(quote)) => return quote,
            Ok(None) => {}
            Err(read) => return read,
        }
    }
    let line = match e.position().map(|pos| line_of(src, input, pos.byte())) {
        Some(Ok(line)) => line,
        Some(Err(read)) => return read,
        None => return anyhow!("{}: {e}", input.display()),
    };
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => anyhow!(
            "{}: line {line}: the row has {len} fields but the header has {expected_len}",
            input.display(),
        ),
        _ => anyhow!("{}: line {line}: {e}", input.display()),
    }
}

/// Scans the last row (from byte `start`) the way the csv parser does and returns the
/// byte offset of a quote that is still open at the end of the input.
fn unclosed_quote(src: &mut Source, input: &Path, start: u64) -> Result<Option<u64>> {
    #[derive(PartialEq)]
    enum S {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let read = |e| anyhow::Error::from(e).context(format!("{}: read", input.display()));
    src.seek(SeekFrom::Start(start)).map_err(read)?;
    let mut state = S::FieldStart;
    let (mut at, mut opened) = (start, start);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = src.read(&mut buf).map_err(read)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            state = match (state, b) {
                (S::Quoted, b'"') => S::QuoteInQuoted,
                (S::Quoted, _) => S::Quoted,
                (S::QuoteInQuoted, b'"') => S::Quoted,
                (S::FieldStart, b'"') => {
                    opened = at;
                    S::Quoted
                }
                (_, b',' | b'\n' | b'\r') => S::FieldStart,
                _ => S::Unquoted,
            };
            at += 1;
        }
    }
    Ok((state == S::Quoted).then_some(opened))
}

fn import_jsonl(
    input: &Path,
    schema: &Schema,
    out: &mut Out,
    progress: &ProgressBar,
    base: u64,
) -> Result<()> {
    let mut rdr = BufReader::with_capacity(1 << 16, Source::open(input)?.0);
    let limit = longest_line(schema);
    let mut line = Vec::new();
    let (mut n, mut read) = (0u64, 0u64);
    loop {
        line.clear();
        let got = (&mut rdr)
            .take(limit + 1)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}: read", input.display()))?;
        if got == 0 {
            break;
        }
        n += 1;
        if got as u64 > limit {
            bail!(
                "{}: line {n} is longer than any JSON object of this schema can be ({limit} bytes); is this the right file or format?",
                input.display()
            );
        }
        read += got as u64;
        if n == 1 && line.starts_with(b"\xEF\xBB\xBF") {
            line.drain(..3); // a UTF-8 byte-order mark, as the CSV reader skips it too
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = || format!("{}: line {n}", input.display());
        let rec = out.slot()?;
        schema.from_json_line(&line, rec).with_context(at)?;
        if n % 4096 == 0 {
            super::interrupted()?;
            progress.set_position(base + read);
        }
    }
    Ok(())
}

fn import_raw(
    input: &Path,
    schema: &Schema,
    out: &mut Out,
    progress: &ProgressBar,
    base: u64,
) -> Result<()> {
    let (src, size) = Source::open(input)?;
    let mut file = BufReader::with_capacity(1 << 20, src);
    let rs = out.rs as u64;
    if size % rs != 0 {
        bail!(
            "{}: raw input of {size} bytes is not a whole number of {rs}-byte records \
             ({} bytes left over: truncated, or not records of this schema)",
            input.display(),
            size % rs
        );
    }
    // Only `str` (UTF-8, NUL-terminated) and `bool` (0 or 1) fields can hold bytes
    // that are not a value.
    let checked: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| matches!(f.ty, FieldType::Str(_) | FieldType::Bool))
        .collect();
    for i in 0..size / rs {
        let rec = out.slot()?;
        file.read_exact(rec)
            .with_context(|| format!("{}: record {i}: read", input.display()))?;
        for f in &checked {
            f.check(rec)
                .with_context(|| format!("{}: record {i}", input.display()))?;
        }
        if i % 4096 == 0 {
            super::interrupted()?;
            progress.set_position(base + i * rs);
        }
    }
    Ok(())
}
