//! Parquet and Arrow IPC for `fixrec export` and `fixrec import`: files of record
//! batches with the type mapping of `fixrec::schema::arrow`.
//!
//! Written: a Parquet file with row groups of about 128 MiB of records (at most 1 Mi
//! rows), Snappy-compressed unless `--compression` says otherwise; or an Arrow IPC file,
//! uncompressed unless `--compression zstd`. Batches hold about 8 MiB of records.
//! Read: a Parquet file, an Arrow IPC file or an Arrow IPC stream (told apart by their
//! first bytes), from a file or a pipe (a pipe is read whole first).

use super::import::{Out, Source};
use super::target::Reader;
use anyhow::{Context, Result, anyhow, bail};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use fixrec::Schema;
use fixrec::schema::arrow::longest_values;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::borrow::Cow;
use std::fs::File;
use std::io::{Cursor, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Compression of a Parquet or Arrow file.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Snappy: fast, the Parquet default (not for Arrow files).
    Snappy,
    /// Zstandard (level 3): smaller files, slower to write.
    Zstd,
    /// None: the Arrow default (readers can map an uncompressed Arrow file).
    None,
}

/// Bytes of records in one batch.
const BATCH_BYTES: usize = 8 << 20;
/// Bytes of records in one Parquet row group.
const ROW_GROUP_BYTES: usize = 128 << 20;
/// The most rows in one Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// Columnar output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Parquet,
    Arrow,
}

/// Writes records `range` of `table` to `w` as a Parquet or Arrow IPC file.
pub fn export(
    table: &Reader,
    schema: &Schema,
    range: Range<usize>,
    kind: Kind,
    compression: Option<Compression>,
    w: impl Write + Send,
) -> Result<()> {
    let rs = schema.record_size() as usize;
    let arrow = schema.to_arrow();
    let batch_rows = (BATCH_BYTES / rs).clamp(1, 1 << 16);
    let mut writer = match kind {
        Kind::Parquet => {
            let compression = match compression.unwrap_or(Compression::Snappy) {
                Compression::Snappy => ParquetCompression::SNAPPY,
                Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
                Compression::None => ParquetCompression::UNCOMPRESSED,
            };
            let props = WriterProperties::builder()
                .set_compression(compression)
                .set_max_row_group_row_count(Some((ROW_GROUP_BYTES / rs).clamp(1, ROW_GROUP_ROWS)))
                .set_created_by(format!("fixrec {}", env!("CARGO_PKG_VERSION")))
                .build();
            Batches::Parquet(ArrowWriter::try_new(w, arrow.clone(), Some(props))?)
        }
        Kind::Arrow => {
            let options = arrow_ipc::writer::IpcWriteOptions::default();
            let options = match compression.unwrap_or(Compression::None) {
                Compression::None => options,
                Compression::Zstd => {
                    options.try_with_compression(Some(arrow_ipc::CompressionType::ZSTD))?
                }
                Compression::Snappy => {
                    bail!("Arrow files have no Snappy compression: use --compression zstd or none")
                }
            };
            Batches::Arrow(arrow_ipc::writer::FileWriter::try_new_with_options(
                w, &arrow, options,
            )?)
        }
    };
    let path = table.table().path().display().to_string();
    let mut start = range.start;
    while start < range.end {
        super::interrupted()?;
        let end = (start + batch_rows).min(range.end);
        let records = records(table, start..end)?;
        let batch = schema
            .to_arrow_batch(&arrow, &records, start as u64)
            .map_err(|e| match e {
                fixrec::Error::AtRow { row, source } => {
                    anyhow!("{path}: record {row}: {source}")
                }
                e => anyhow!("{path}: {e}"),
            })?;
        match &mut writer {
            Batches::Parquet(w) => w.write(&batch)?,
            Batches::Arrow(w) => w.write(&batch)?,
        }
        start = end;
    }
    match writer {
        Batches::Parquet(w) => drop(w.close()?),
        Batches::Arrow(mut w) => w.finish()?,
    }
    Ok(())
}

enum Batches<W: Write + Send> {
    Parquet(ArrowWriter<W>),
    Arrow(arrow_ipc::writer::FileWriter<W>),
}

/// The bytes of records `range`: borrowed from the map of a file, copied from a shared
/// store (record by record, each read under its lock).
fn records(table: &Reader, range: Range<usize>) -> Result<Cow<'_, [u8]>> {
    let rs = table.table().record_size();
    Ok(match table {
        Reader::Table(t) => Cow::Borrowed(&t.records()[range.start * rs..range.end * rs]),
        Reader::Shared(_) => {
            let mut out = Vec::with_capacity(range.len() * rs);
            for i in range {
                out.extend_from_slice(&table.record(i)?);
            }
            Cow::Owned(out)
        }
    })
}

/// A columnar input: a Parquet file, an Arrow IPC file or stream, on disk or in memory.
pub enum Input {
    File(File),
    Bytes(Bytes),
}

const PARQUET_MAGIC: &[u8] = b"PAR1";
const ARROW_MAGIC: &[u8] = b"ARROW1";

impl Input {
    /// The first bytes, to tell the formats apart.
    fn head(&self) -> Result<Vec<u8>> {
        Ok(match self {
            Input::File(f) => {
                let mut head = Vec::with_capacity(8);
                f.try_clone()?.take(8).read_to_end(&mut head)?;
                head
            }
            Input::Bytes(b) => b[..b.len().min(8)].to_vec(),
        })
    }

    /// The input's record batches, with its Arrow schema. `parquet` says what the input
    /// was given as (`--format`, or its name), to check against its first bytes.
    pub fn batches(&self, input: &Path, parquet: bool) -> Result<(SchemaRef, BatchIter<'_>)> {
        let shown = input.display();
        let head = self.head()?;
        let file = |f: &File| -> Result<File> {
            let mut f = f.try_clone()?;
            std::io::Seek::rewind(&mut f)?;
            Ok(f)
        };
        let is_parquet = head.starts_with(PARQUET_MAGIC);
        if parquet != is_parquet {
            let what = if is_parquet {
                "a Parquet file"
            } else if head.starts_with(ARROW_MAGIC) {
                "an Arrow IPC file"
            } else if head.starts_with(&[0xff, 0xff, 0xff, 0xff]) {
                "an Arrow IPC stream"
            } else {
                bail!(
                    "{shown}: not a Parquet file (it does not start with \"PAR1\"); give the --format it has"
                );
            };
            let format = if is_parquet { "parquet" } else { "arrow" };
            bail!("{shown}: is {what}; give --format {format}");
        }
        let name = input.display().to_string();
        let errors = move |e: arrow_schema::ArrowError| anyhow!("{name}: {e}");
        if is_parquet {
            let builder = match self {
                Input::File(f) => {
                    ParquetRecordBatchReaderBuilder::try_new(file(f)?).map(box_batches)
                }
                Input::Bytes(b) => {
                    ParquetRecordBatchReaderBuilder::try_new(b.clone()).map(box_batches)
                }
            };
            let reader = builder
                .and_then(|r| r)
                .with_context(|| format!("{shown}: not a readable Parquet file"))?;
            let (schema, batches) = reader;
            return Ok((schema, Box::new(batches.map(move |b| b.map_err(&errors)))));
        }
        let reader: Box<dyn ReadSeek> = match self {
            Input::File(f) => Box::new(std::io::BufReader::new(file(f)?)),
            Input::Bytes(b) => Box::new(Cursor::new(b.clone())),
        };
        if head.starts_with(ARROW_MAGIC) {
            let r = arrow_ipc::reader::FileReader::try_new(reader, None)
                .with_context(|| format!("{shown}: not a readable Arrow IPC file"))?;
            let schema = r.schema();
            return Ok((schema, Box::new(r.map(move |b| b.map_err(&errors)))));
        }
        let r = arrow_ipc::reader::StreamReader::try_new(reader, None)
            .with_context(|| format!("{shown}: not a readable Arrow IPC file or stream"))?;
        let schema = r.schema();
        Ok((schema, Box::new(r.map(move |b| b.map_err(&errors)))))
    }

    /// The schema of records for this input's columns (`Schema::from_arrow`), reading
    /// the whole input when it has text or binary columns, to size their fields.
    pub fn derive_schema(&self, input: &Path, parquet: bool) -> Result<Schema> {
        let (arrow, batches) = self.batches(input, parquet)?;
        let mut longest = vec![0; arrow.fields().len()];
        let sized = arrow.fields().iter().any(|f| {
            !f.metadata().contains_key(fixrec::schema::arrow::TYPE_KEY)
                && matches!(
                    f.data_type(),
                    arrow_schema::DataType::Utf8
                        | arrow_schema::DataType::LargeUtf8
                        | arrow_schema::DataType::Utf8View
                        | arrow_schema::DataType::Binary
                        | arrow_schema::DataType::LargeBinary
                        | arrow_schema::DataType::BinaryView
                )
        });
        if sized {
            for b in batches {
                longest_values(&b?, &mut longest);
            }
        }
        Schema::from_arrow(&arrow, &longest)
            .with_context(|| format!("{}: cannot derive a schema", input.display()))
    }
}

/// An input's record batches, in order.
pub type BatchIter<'a> = Box<dyn Iterator<Item = Result<RecordBatch>> + 'a>;

trait ReadSeek: Read + std::io::Seek {}
impl<T: Read + std::io::Seek> ReadSeek for T {}

type Boxed = (
    SchemaRef,
    Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>>,
);

/// A Parquet reader's batches, with the schema of the file's metadata (the reader's own
/// schema lacks the schema-level metadata).
fn box_batches<T: parquet::file::reader::ChunkReader + 'static>(
    b: ParquetRecordBatchReaderBuilder<T>,
) -> parquet::errors::Result<Boxed> {
    let schema = b.schema().clone();
    Ok((schema, Box::new(b.with_batch_size(8192).build()?)))
}

/// Opens `input` (a file, or a pipe read whole). A pipe's bytes are kept for the
/// process, so that it reads the same bytes again (`--create` reads the first input once
/// for its schema, then for its rows).
pub fn open(input: &Path) -> Result<Input> {
    static PIPES: Mutex<Vec<(PathBuf, Bytes)>> = Mutex::new(Vec::new());
    let mut pipes = PIPES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, b)) = pipes.iter().find(|(p, _)| p == input) {
        return Ok(Input::Bytes(b.clone()));
    }
    Ok(match Source::open(input)?.0 {
        Source::File(f) => Input::File(f),
        Source::Bytes(b) => {
            let b = Bytes::from(b.into_inner());
            pipes.push((input.to_path_buf(), b.clone()));
            Input::Bytes(b)
        }
    })
}

/// Appends a record to `out` for every row of `input`, in order: the rows of each batch
/// converted through the columns matched to `schema` by name. An error names the input,
/// the row (from 0) and the field.
pub fn import(input: &Path, parquet: bool, schema: &Schema, out: &mut Out) -> Result<()> {
    let opened = open(input)?;
    let (arrow, batches) = opened.batches(input, parquet)?;
    let shown = input.display();
    let columns = schema
        .arrow_columns(&arrow)
        .with_context(|| format!("{shown}: the columns do not match the store's fields"))?;
    let mut row = 0u64;
    for batch in batches {
        super::interrupted()?;
        let batch = batch?;
        let rows = columns
            .rows(schema, &batch)
            .with_context(|| format!("{shown}"))?;
        for r in 0..rows.len() {
            let rec = out.slot()?;
            rows.fill(r, rec).map_err(|e| {
                anyhow::Error::from(fixrec::Error::AtRow {
                    row: row + r as u64,
                    source: Box::new(e),
                })
                .context(format!("{shown}"))
            })?;
        }
        row += rows.len() as u64;
    }
    Ok(())
}
