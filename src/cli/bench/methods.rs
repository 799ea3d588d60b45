//! How each method does each workload: fixrec's mapped [`Store`], buffered std IO and
//! positional IO here; SQLite and LMDB in [`super::peers`].
//!
//! Every method reads and writes the same 512-byte records at the same indexes and
//! computes the same checksum ([`sum_words`]) over what it read, so no method can skip
//! its work without the harness noticing.

use super::peers::{Lmdb, Sqlite};
use super::workloads::{Member, NAME_AT, RECORD, stamp, sum_words};
use crate::cli::os::{read_exact_at, write_all_at};
use anyhow::{Context, Result, bail};
use fixrec::{Store, StoreOptions};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A method, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Method {
    /// fixrec `Store<Member>`: records read and written in place through the map.
    Fixrec,
    /// std `BufReader` / `BufWriter` (default 8 KiB buffers) with seek.
    Buffered,
    /// `read_at` / `write_at` (pread / pwrite), 128 KiB chunks for scans.
    Positional,
    /// SQLite (bundled) through rusqlite: `id INTEGER PRIMARY KEY, v BLOB`, WAL mode.
    Sqlite,
    /// LMDB through heed: big-endian u64 key to the 512-byte record.
    Lmdb,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Fixrec,
        Method::Buffered,
        Method::Positional,
        Method::Sqlite,
        Method::Lmdb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Fixrec => "fixrec",
            Method::Buffered => "buffered",
            Method::Positional => "positional",
            Method::Sqlite => "sqlite",
            Method::Lmdb => "lmdb",
        }
    }

    /// The method's dataset in `dir`: a file, or LMDB's directory.
    pub fn path(self, dir: &Path) -> PathBuf {
        dir.join(match self {
            Method::Fixrec => "fixrec.fxr",
            Method::Buffered => "buffered.dat",
            Method::Positional => "positional.dat",
            Method::Sqlite => "sqlite.db",
            Method::Lmdb => "lmdb",
        })
    }

    /// The files that hold the method's data at `path` (for dropping and warming their
    /// pages).
    pub fn data_files(self, path: &Path) -> Vec<PathBuf> {
        match self {
            Method::Sqlite => {
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                vec![path.to_owned(), PathBuf::from(wal)]
            }
            Method::Lmdb => vec![path.join("data.mdb")],
            _ => vec![path.to_owned()],
        }
    }

    /// How durable the method's writes are in a case: durable cases end each batch with
    /// the method's own durability point; the others leave the writes in the OS.
    pub fn durability(self, durable: bool) -> &'static str {
        match (self, durable) {
            (Method::Fixrec, true) => {
                "flush(): msync(MS_SYNC) + meta commit (commit-k: a transaction per k updates, one log write + one sync each; the run's checkpoint timed)"
            }
            (Method::Fixrec, false) => "none (in the map; flushed after the timing)",
            (Method::Buffered, true) => "BufWriter flush + fdatasync",
            (Method::Buffered, false) => "BufWriter flushed to the OS, no fsync",
            (Method::Positional, true) => "fdatasync",
            (Method::Positional, false) => "pwrite to the OS, no fsync",
            (Method::Sqlite, true) => "WAL, synchronous=FULL, one txn per batch",
            (Method::Sqlite, false) => "WAL, synchronous=OFF, one txn per run",
            (Method::Lmdb, true) => "txn commit with sync (default flags)",
            (Method::Lmdb, false) => "MDB_NOSYNC, one txn per run",
        }
    }
}

/// An open dataset: the reads and in-place writes of one method.
pub trait Backend {
    /// Reads every record in order; returns the checksum of all of them.
    fn scan(&mut self) -> Result<u64>;
    /// Reads the records at `idx`; returns the checksum of what it read.
    fn get(&mut self, idx: &[u32]) -> Result<u64>;
    /// Read-modify-write of the records at `idx`: update `j` reads record `idx[j]` and
    /// writes [`stamp(j, salt)`](stamp) over the first 8 bytes of its name. With `commit_every
    /// = Some(k)`, a durable commit follows every k updates; else the writes reach the OS
    /// and are not synced. Returns the checksum of the records as read.
    fn update(&mut self, idx: &[u32], commit_every: Option<usize>, salt: u32) -> Result<u64>;
    /// Makes the writes so far durable (untimed, between runs).
    fn settle(&mut self) -> Result<()>;
}

/// Opens `method`'s dataset at `path` for reading and writing; `durable` picks the
/// durability of the writes of the case about to run (see [`Method::durability`]).
pub fn open(method: Method, path: &Path, durable: bool) -> Result<Box<dyn Backend>> {
    let ctx = || {
        format!(
            "cannot open the {} dataset {}",
            method.name(),
            path.display()
        )
    };
    Ok(match method {
        Method::Fixrec => Box::new(Mapped {
            store: Store::open(path).with_context(ctx)?,
        }),
        Method::Buffered => Box::new(Buffered::open(path).with_context(ctx)?),
        Method::Positional => Box::new(Positional::open(path).with_context(ctx)?),
        Method::Sqlite => Box::new(Sqlite::open(path, durable).with_context(ctx)?),
        Method::Lmdb => Box::new(Lmdb::open(path, durable).with_context(ctx)?),
    })
}

/// Where records to load come from: a slice (append) or a CSV file (import).
pub trait Source {
    /// Calls `f` with each record in order.
    fn for_each(&self, f: &mut dyn FnMut(&Member) -> Result<()>) -> Result<()>;
}

/// Records in memory.
pub struct Records<'a>(pub &'a [Member]);

impl Source for Records<'_> {
    fn for_each(&self, f: &mut dyn FnMut(&Member) -> Result<()>) -> Result<()> {
        self.0.iter().try_for_each(f)
    }
}

/// A CSV file with a header row and `id,name` rows.
pub struct Csv<'a>(pub &'a Path);

impl Source for Csv<'_> {
    fn for_each(&self, f: &mut dyn FnMut(&Member) -> Result<()>) -> Result<()> {
        let mut reader = csv::Reader::from_path(self.0)
            .with_context(|| format!("cannot read {}", self.0.display()))?;
        let mut row = csv::StringRecord::new();
        while reader.read_record(&mut row)? {
            let line = row.position().map_or(0, csv::Position::line);
            let (Some(id), Some(name)) = (row.get(0), row.get(1)) else {
                bail!("{} line {line}: expected 2 fields", self.0.display());
            };
            let m = Member {
                id: fixrec::FixedStr::new(id).with_context(|| format!("line {line}: id"))?,
                name: fixrec::FixedStr::new(name).with_context(|| format!("line {line}: name"))?,
            };
            f(&m)?;
        }
        Ok(())
    }
}

/// Loads every record of `src` into a new dataset at `target` (which must not exist),
/// committing durably at the end when `durable`. Returns the time from the first record
/// to the end of the load: creating the empty file and closing it are not timed.
pub fn load(
    method: Method,
    target: &Path,
    src: &dyn Source,
    durable: bool,
) -> Result<std::time::Duration> {
    match method {
        Method::Fixrec => {
            let mut store = Store::<Member>::create(target)?;
            let t = std::time::Instant::now();
            src.for_each(&mut |m| Ok(store.push(*m).map(drop)?))?;
            if durable {
                store.flush()?;
            }
            let elapsed = t.elapsed();
            store.flush()?;
            Ok(elapsed)
        }
        Method::Buffered => {
            let mut out = BufWriter::new(File::create_new(target)?);
            let t = std::time::Instant::now();
            src.for_each(&mut |m| Ok(out.write_all(bytemuck::bytes_of(m))?))?;
            out.flush()?;
            if durable {
                out.get_ref().sync_data()?;
            }
            Ok(t.elapsed())
        }
        Method::Positional => {
            let file = File::create_new(target)?;
            let t = std::time::Instant::now();
            let mut at = 0u64;
            src.for_each(&mut |m| {
                write_all_at(&file, bytemuck::bytes_of(m), at)?;
                at += RECORD as u64;
                Ok(())
            })?;
            if durable {
                file.sync_data()?;
            }
            Ok(t.elapsed())
        }
        Method::Sqlite => Sqlite::load(target, src, durable),
        Method::Lmdb => Lmdb::load(target, src, durable),
    }
}

/// Opens the dataset at `path`, reads record `i`, closes it: the `open` workload's
/// operation. Returns the record's checksum.
pub fn open_and_read(method: Method, path: &Path, i: u32) -> Result<u64> {
    let at = u64::from(i) * RECORD as u64;
    match method {
        Method::Fixrec => {
            let store = Store::<Member>::open_read_only(path)?;
            let m = store.get(i as usize).context("record past the end")?;
            Ok(sum_words(bytemuck::bytes_of(m)))
        }
        Method::Buffered => {
            let mut reader = BufReader::new(File::open(path)?);
            let mut rec = [0u8; RECORD];
            reader.seek(SeekFrom::Start(at))?;
            reader.read_exact(&mut rec)?;
            Ok(sum_words(&rec))
        }
        Method::Positional => {
            let mut rec = [0u8; RECORD];
            read_exact_at(&File::open(path)?, &mut rec, at)?;
            Ok(sum_words(&rec))
        }
        Method::Sqlite => Sqlite::open_and_read(path, i),
        Method::Lmdb => Lmdb::open_and_read(path, i),
    }
}

/// Writes the dataset of `method` at `path` from `records` (the initial load).
pub fn create(method: Method, path: &Path, records: &[Member]) -> Result<()> {
    match method {
        Method::Fixrec => {
            let mut store: Store<Member> = StoreOptions::new()
                .capacity(records.len() as u64)
                .create(path)?;
            store.extend_from_slice(records)?;
            store.flush()?;
        }
        Method::Buffered | Method::Positional => {
            let file = File::create_new(path)?;
            let mut at = 0;
            for chunk in bytemuck::cast_slice::<Member, u8>(records).chunks(1 << 20) {
                write_all_at(&file, chunk, at)?;
                at += chunk.len() as u64;
            }
            file.sync_data()?;
        }
        Method::Sqlite => {
            Sqlite::load(path, &Records(records), true)?;
            Sqlite::checkpoint(path)?;
        }
        Method::Lmdb => {
            Lmdb::load(path, &Records(records), true)?;
        }
    }
    Ok(())
}

/// fixrec: the store's records, in place in the map.
struct Mapped {
    store: Store<Member>,
}

impl Backend for Mapped {
    fn scan(&mut self) -> Result<u64> {
        Ok(sum_words(bytemuck::cast_slice(self.store.as_slice())))
    }

    fn get(&mut self, idx: &[u32]) -> Result<u64> {
        let mut sum = 0u64;
        for &i in idx {
            let m = self.store.get(i as usize).context("record past the end")?;
            sum = sum.wrapping_add(sum_words(bytemuck::bytes_of(m)));
        }
        Ok(sum)
    }

    fn update(&mut self, idx: &[u32], commit_every: Option<usize>, salt: u32) -> Result<u64> {
        let mut sum = 0u64;
        let Some(k) = commit_every.map(|k| k.max(1)) else {
            // Many updates between commits: write through the map, no system call.
            for (j, &i) in idx.iter().enumerate() {
                let m = self
                    .store
                    .get_mut(i as usize)
                    .context("record past the end")?;
                let bytes = bytemuck::bytes_of_mut(m);
                sum = sum.wrapping_add(sum_words(bytes));
                bytes[NAME_AT..NAME_AT + 8].copy_from_slice(&stamp(j, salt));
            }
            return Ok(sum);
        };
        // A durable commit every k updates: one transaction each (one log write and one
        // sync), then a checkpoint, timed too, which writes the records back to the data
        // region: the cost a store pays when its log fills, paid here by every run.
        for (c, batch) in idx.chunks(k).enumerate() {
            let mut txn = self.store.transaction()?;
            for (b, &i) in batch.iter().enumerate() {
                let m = txn.get_mut(i as usize).context("record past the end")?;
                let bytes = bytemuck::bytes_of_mut(m);
                sum = sum.wrapping_add(sum_words(bytes));
                bytes[NAME_AT..NAME_AT + 8].copy_from_slice(&stamp(c * k + b, salt));
            }
            txn.commit()?;
        }
        self.store.flush()?;
        Ok(sum)
    }

    fn settle(&mut self) -> Result<()> {
        Ok(self.store.flush()?)
    }
}

/// Records in a headerless file of `len` bytes.
fn records_in(path: &Path, len: u64) -> Result<usize> {
    if !len.is_multiple_of(RECORD as u64) {
        bail!(
            "{}: {len} bytes is not a whole number of {RECORD}-byte records",
            path.display()
        );
    }
    Ok((len / RECORD as u64) as usize)
}

/// Buffered std IO: a `BufReader` and a `BufWriter` over the same file, with seeks.
struct Buffered {
    reader: BufReader<File>,
    writer: BufWriter<File>,
    len: usize,
}

impl Buffered {
    fn open(path: &Path) -> Result<Buffered> {
        let file = File::options().read(true).write(true).open(path)?;
        let len = records_in(path, file.metadata()?.len())?;
        Ok(Buffered {
            writer: BufWriter::new(file.try_clone()?),
            reader: BufReader::new(file),
            len,
        })
    }
}

impl Backend for Buffered {
    fn scan(&mut self) -> Result<u64> {
        self.reader.seek(SeekFrom::Start(0))?;
        let mut rec = [0u8; RECORD];
        let mut sum = 0u64;
        for _ in 0..self.len {
            self.reader.read_exact(&mut rec)?;
            sum = sum.wrapping_add(sum_words(&rec));
        }
        Ok(sum)
    }

    fn get(&mut self, idx: &[u32]) -> Result<u64> {
        let mut rec = [0u8; RECORD];
        let mut sum = 0u64;
        for &i in idx {
            self.reader
                .seek(SeekFrom::Start(u64::from(i) * RECORD as u64))?;
            self.reader.read_exact(&mut rec)?;
            sum = sum.wrapping_add(sum_words(&rec));
        }
        Ok(sum)
    }

    fn update(&mut self, idx: &[u32], commit_every: Option<usize>, salt: u32) -> Result<u64> {
        let mut rec = [0u8; RECORD];
        let mut sum = 0u64;
        for (j, &i) in idx.iter().enumerate() {
            let at = u64::from(i) * RECORD as u64;
            self.reader.seek(SeekFrom::Start(at))?;
            self.reader.read_exact(&mut rec)?;
            sum = sum.wrapping_add(sum_words(&rec));
            self.writer.seek(SeekFrom::Start(at + NAME_AT as u64))?;
            self.writer.write_all(&stamp(j, salt))?;
            // The reader shares the file: the write must be in the OS before the next
            // read, which may be of the same record.
            self.writer.flush()?;
            if commit_every.is_some_and(|k| (j + 1) % k == 0) {
                self.writer.get_ref().sync_data()?;
            }
        }
        Ok(sum)
    }

    fn settle(&mut self) -> Result<()> {
        self.writer.flush()?;
        Ok(self.writer.get_ref().sync_data()?)
    }
}

/// Positional IO: pread / pwrite at record offsets.
struct Positional {
    file: File,
    len: usize,
}

/// Bytes per `read_at` in a positional scan.
const SCAN_CHUNK: usize = 128 << 10;

impl Positional {
    fn open(path: &Path) -> Result<Positional> {
        let file = File::options().read(true).write(true).open(path)?;
        let len = records_in(path, file.metadata()?.len())?;
        Ok(Positional { file, len })
    }
}

impl Backend for Positional {
    fn scan(&mut self) -> Result<u64> {
        let total = self.len * RECORD;
        let mut buf = vec![0u8; SCAN_CHUNK];
        let mut sum = 0u64;
        let mut at = 0;
        while at < total {
            let n = SCAN_CHUNK.min(total - at);
            read_exact_at(&self.file, &mut buf[..n], at as u64)?;
            sum = sum.wrapping_add(sum_words(&buf[..n]));
            at += n;
        }
        Ok(sum)
    }

    fn get(&mut self, idx: &[u32]) -> Result<u64> {
        let mut rec = [0u8; RECORD];
        let mut sum = 0u64;
        for &i in idx {
            read_exact_at(&self.file, &mut rec, u64::from(i) * RECORD as u64)?;
            sum = sum.wrapping_add(sum_words(&rec));
        }
        Ok(sum)
    }

    fn update(&mut self, idx: &[u32], commit_every: Option<usize>, salt: u32) -> Result<u64> {
        let mut rec = [0u8; RECORD];
        let mut sum = 0u64;
        for (j, &i) in idx.iter().enumerate() {
            let at = u64::from(i) * RECORD as u64;
            read_exact_at(&self.file, &mut rec, at)?;
            sum = sum.wrapping_add(sum_words(&rec));
            write_all_at(&self.file, &stamp(j, salt), at + NAME_AT as u64)?;
            if commit_every.is_some_and(|k| (j + 1) % k == 0) {
                self.file.sync_data()?;
            }
        }
        Ok(sum)
    }

    fn settle(&mut self) -> Result<()> {
        Ok(self.file.sync_data()?)
    }
}
