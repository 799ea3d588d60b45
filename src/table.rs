//! Layer 5: the untyped record array. Len and capacity, a record's bytes, append and
//! growth, and the commit protocol (docs/FORMAT.md, "Meta slots"):
//!
//! 1. `flush` syncs the records (`msync(MS_SYNC)`);
//! 2. then writes the next generation into the older meta slot and syncs that page.
//!
//! A crash before step 2 completes leaves the previous commit in the other slot, and a
//! torn slot fails its checksum, so open always finds a committed state. A committed len
//! never covers records that were not synced in step 1.

use crate::backing::{Backing, CutBack};
use crate::error::{Error, Result};
use crate::format::{self, Kind, META_OFFSETS, META_SIZE, Meta, Superblock};
use crate::mapping::Map;
use crate::schema::Schema;
use crate::store::StoreOptions;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

mod log;

/// How a store's capacity grows when a push or reserve needs more room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Growth {
    /// Double the capacity (at least to what is needed): N pushes remap O(log N) times.
    #[default]
    Double,
    /// Add this many records at a time (at least what is needed): N pushes remap
    /// O(N / step) times. Useful when the file must stay close to its len.
    Step(u64),
}

impl Growth {
    fn next(self, capacity: usize, needed: usize) -> usize {
        let grown = match self {
            Growth::Double => capacity.saturating_mul(2),
            Growth::Step(step) => {
                capacity.saturating_add(usize::try_from(step).unwrap_or(usize::MAX))
            }
        };
        grown.max(needed).max(1)
    }
}

enum Format {
    Native { kind: Kind },
    Raw,
}

/// The untyped record array over a mapped file: records as byte slices, following a
/// [`Schema`] known at run time. [`Store<R>`](crate::Store) and
/// [`SlotStore<T>`](crate::SlotStore) are typed views of it; the command line uses it
/// directly for schemas given as text.
///
/// # Examples
///
/// ```
/// use fixrec::{FieldType, Layout, Schema, StoreOptions, Table};
///
/// let schema = Schema::from_fields(Layout::Packed,
///     [("c", FieldType::Char), ("i", FieldType::I32), ("s", FieldType::I16)])?;
/// let dir = tempfile::tempdir()?;
/// let mut table = Table::create(dir.path().join("smtest.fxr"), schema, &StoreOptions::new())?;
/// let i = table.append(&[b'a', 100, 0, 0, 0, 10, 0])?;
/// table.flush()?;
/// assert_eq!(table.record(i), Some(&[b'a', 100, 0, 0, 0, 10, 0][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Table {
    backing: Backing,
    map: Map,
    format: Format,
    schema: Option<Schema>,
    rs: usize,
    data_offset: usize,
    len: usize,
    capacity: usize,
    /// Bytes reserved in the file: accesses below this never fault.
    file_size: u64,
    committed: Meta,
    growth: Growth,
    writable: bool,
    failed: Option<String>,
    remaps: u64,
    sync_hook: Option<SyncHook>,
    /// Appended records not yet in the file (the last `pending` records of len).
    staged: Mutex<Vec<u8>>,
    /// How many of the last records of len are in `staged` rather than in the map.
    pending: AtomicUsize,
    /// The transaction log (`table/log.rs`).
    log: log::LogState,
    /// Whether the map of a file just opened is still under `MADV_RANDOM`, waiting for
    /// its first read (see [`Table::advise_first_read`]).
    first_read: AtomicBool,
}

/// Appends to a native file are gathered here and written with one `pwrite` per this
/// many bytes. Writing through the map would cost a page fault and a zero fill of each
/// new page before the copy; `pwrite` fills new page-cache pages directly, 2 to 3 times
/// faster. A staged record is part of len: anything that reaches it through the map
/// first moves it there (`Table::materialize`).
const STAGE_BYTES: usize = 64 << 10;

/// A test seam: called before each sync with the byte range (in the file) about to be
/// synced. An error it returns is taken as that sync's failure (and latches). Crash and
/// power-loss tests use it to snapshot the durable image and to inject failing syncs.
#[doc(hidden)]
pub type SyncHook = Box<dyn FnMut(SyncStep) -> std::io::Result<()> + Send + Sync>;

/// What a [`SyncHook`] is told.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncStep {
    /// True for the meta slot's sync (the commit), false for records.
    pub meta: bool,
    /// First byte, in the file.
    pub offset: usize,
    /// Bytes.
    pub len: usize,
    /// True for the sync of a file just cut (`fdatasync`, which makes the new size
    /// durable); `offset` is then the new size and `len` 0.
    pub cut: bool,
}

fn too_large(path: &Path, what: &str) -> Error {
    Error::InvalidArgument(format!("{}: {what} does not fit in memory", path.display()))
}

fn to_usize(path: &Path, v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| too_large(path, what))
}

/// What a constructor found out about a file, for [`Table::assemble`].
struct Parts {
    format: Format,
    rs: usize,
    data_offset: usize,
    schema: Option<Schema>,
    file_size: u64,
    committed: Meta,
    growth: Growth,
    writable: bool,
    /// The format version (0 for raw files).
    version: u32,
}

impl Table {
    /// Creates a native file holding `sb`, with room for `capacity` records.
    pub(crate) fn create_native(
        path: &Path,
        sb: Superblock,
        capacity: u64,
        growth: Growth,
    ) -> Result<Table> {
        let backing = Backing::create_new(path)?;
        let made = Self::init(backing, sb, capacity, growth).and_then(|t| {
            t.backing.sync_parent_dir()?;
            Ok(t)
        });
        if made.is_err() {
            // We created the file; a failed create leaves nothing behind.
            let _ = fs::remove_file(path);
        }
        made
    }

    /// The bytes a native file or region with room for `capacity` records takes, if
    /// they fit in memory.
    pub(crate) fn native_size(sb: &Superblock, capacity: u64) -> Option<u64> {
        capacity
            .checked_mul(sb.schema.record_size())
            .and_then(|d| d.checked_add(sb.data_offset))
            .filter(|&s| s <= isize::MAX as u64)
    }

    /// Writes a new native header into `backing` (a file just created, or a shared-memory
    /// object), with room for `capacity` records, and maps it.
    pub(crate) fn init(
        backing: Backing,
        sb: Superblock,
        capacity: u64,
        growth: Growth,
    ) -> Result<Table> {
        backing.lock_writer()?;
        backing.lock_mapped()?;
        let path = backing.path().to_owned();
        let rs = sb.schema.record_size();
        let file_size = Self::native_size(&sb, capacity)
            .ok_or_else(|| too_large(&path, "the initial capacity"))?;
        backing.write_at(&sb.encode(), 0, "write header")?;
        backing.allocate(0, file_size)?;
        backing.sync_data()?;
        let meta = Meta {
            generation: 1,
            len: 0,
            capacity,
            ..Meta::default()
        };
        backing.write_at(&meta.encode(), meta.slot_offset() as u64, "write header")?;
        backing.sync_data()?;
        let map =
            Map::new(&backing, file_size as usize, true).map_err(|e| backing.err("map", e))?;
        let parts = Parts {
            format: Format::Native { kind: sb.kind },
            rs: rs as usize,
            data_offset: sb.data_offset as usize,
            schema: Some(sb.schema),
            file_size,
            committed: meta,
            growth,
            writable: true,
            version: sb.version,
        };
        Table::assemble(backing, map, parts)
    }

    /// Opens a native file. `check` sees the decoded superblock before anything is
    /// mapped and may refuse it (a schema that does not match the caller's type).
    pub(crate) fn open_native(
        path: &Path,
        writable: bool,
        growth: Growth,
        check: impl FnOnce(&Superblock) -> Result<()>,
    ) -> Result<Table> {
        Self::open_native_on(Backing::open(path, writable)?, writable, growth, check)
    }

    /// Opens the native header in `backing` (a file or a shared-memory object), as
    /// [`Table::open_native`] does.
    pub(crate) fn open_native_on(
        backing: Backing,
        writable: bool,
        growth: Growth,
        check: impl FnOnce(&Superblock) -> Result<()>,
    ) -> Result<Table> {
        let path = &backing.path().to_owned();
        if writable {
            backing.lock_writer()?;
        }
        backing.lock_mapped()?;
        let size = backing.size()?;
        let (sb, header) = read_header(&backing, size)?;
        check(&sb)?;
        let meta = pick_meta(path, &header, |head| backing.read_at(head, 0).map(drop))?;
        let rs = sb.schema.record_size();
        let needed = meta.data_end(sb.data_offset, rs);
        check_fits(path, needed, size)?;
        let map_len = to_usize(path, needed, "the data region")?;
        let map = Map::new(&backing, map_len, writable).map_err(|e| backing.err("map", e))?;
        let parts = Parts {
            format: Format::Native { kind: sb.kind },
            rs: rs as usize,
            data_offset: sb.data_offset as usize,
            schema: Some(sb.schema),
            file_size: needed,
            committed: meta,
            growth,
            writable,
            version: sb.version,
        };
        let mut table = Table::assemble(backing, map, parts)?;
        table.advise_first_read();
        if writable {
            table.recover()?;
        } else if table.log_pending()? {
            table.recover_as_reader()?;
        }
        Ok(table)
    }

    /// Creates an empty headerless file of `rs`-byte records.
    pub(crate) fn create_raw_rs(path: &Path, rs: usize, growth: Growth) -> Result<Table> {
        let backing = Backing::create_new(path)?;
        let made = (|| {
            backing.lock_writer()?;
            backing.lock_mapped()?;
            backing.sync_parent_dir()
        })();
        if let Err(e) = made {
            let _ = fs::remove_file(path);
            return Err(e);
        }
        Self::raw(backing, rs, 0, growth, true)
    }

    /// Opens a headerless file of `rs`-byte records: its len is its size / `rs`.
    pub(crate) fn open_raw_rs(
        path: &Path,
        rs: usize,
        writable: bool,
        growth: Growth,
    ) -> Result<Table> {
        Self::open_raw_on(Backing::open(path, writable)?, rs, writable, growth)
    }

    /// Opens the headerless records in `backing` (a file or a shared-memory object).
    pub(crate) fn open_raw_on(
        backing: Backing,
        rs: usize,
        writable: bool,
        growth: Growth,
    ) -> Result<Table> {
        if writable {
            backing.lock_writer()?;
        }
        backing.lock_mapped()?;
        let mut size = backing.size()?;
        if backing.section().is_some() {
            // A section's size is reported rounded up to a page (the size it was asked
            // for is not kept): its records are the whole ones in it.
            size -= size % rs.max(1) as u64;
        }
        let table = Self::raw(backing, rs, size, growth, writable)?;
        table.advise_first_read();
        Ok(table)
    }

    /// The table of a mapped file: len and capacity are those of its commit.
    fn assemble(backing: Backing, map: Map, parts: Parts) -> Result<Table> {
        let path = backing.path();
        let log = log::LogState::new(&parts.committed, parts.version, &parts.format);
        Ok(Table {
            len: to_usize(path, parts.committed.len, "the len")?,
            capacity: to_usize(path, parts.committed.capacity, "the capacity")?,
            map,
            format: parts.format,
            schema: parts.schema,
            rs: parts.rs,
            data_offset: parts.data_offset,
            file_size: parts.file_size,
            committed: parts.committed,
            growth: parts.growth,
            writable: parts.writable,
            failed: None,
            remaps: 0,
            sync_hook: None,
            staged: Mutex::new(Vec::new()),
            pending: AtomicUsize::new(0),
            log,
            backing,
            first_read: AtomicBool::new(false),
        })
    }

    /// Gives a raw table the schema its caller knows it by.
    pub(crate) fn with_schema(mut self, schema: Schema) -> Table {
        self.schema = Some(schema);
        self
    }

    /// The backing file or shared-memory object (`shm` checks its locks).
    pub(crate) fn backing(&self) -> &Backing {
        &self.backing
    }

    /// The start of the map as a raw pointer, for `shm`'s atomic record access; valid
    /// for [`Table::file_size`] bytes until the next remap (which needs `&mut self`).
    pub(crate) fn map_ptr(&self) -> *mut u8 {
        self.first_read_done(None);
        self.materialize();
        self.map.as_ptr()
    }

    fn raw(
        backing: Backing,
        rs: usize,
        size: u64,
        growth: Growth,
        writable: bool,
    ) -> Result<Table> {
        let path = backing.path();
        if rs == 0 {
            return Err(Error::InvalidSchema {
                detail: "records of size 0 cannot be stored".into(),
            });
        }
        let len = raw_len(path, size, rs)?;
        let map_len = to_usize(path, size, "the file")?;
        let map = Map::new(&backing, map_len, writable).map_err(|e| backing.err("map", e))?;
        let parts = Parts {
            format: Format::Raw,
            rs,
            data_offset: 0,
            schema: None,
            file_size: size,
            committed: Meta {
                generation: 0,
                len: len as u64,
                capacity: len as u64,
                ..Meta::default()
            },
            growth,
            writable,
            version: 0,
        };
        Table::assemble(backing, map, parts)
    }

    /// Creates a native store file holding records of `schema`.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`]; an IO error.
    pub fn create(path: impl AsRef<Path>, schema: Schema, options: &StoreOptions) -> Result<Table> {
        let cap = options.capacity_for(schema.record_size());
        let sb = Superblock::new(schema, Kind::Records);
        Self::create_native(path.as_ref(), sb, cap, options.growth_policy())
    }

    /// Opens a native store file of any schema (read from its header), for writing.
    ///
    /// # Errors
    ///
    /// Every bad-file kind of [`Error`]; [`Error::Locked`].
    pub fn open(path: impl AsRef<Path>) -> Result<Table> {
        Self::open_native(path.as_ref(), true, Growth::default(), |_| Ok(()))
    }

    /// Opens a native store file of any schema, mapped read-only.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Table> {
        Self::open_native(path.as_ref(), false, Growth::default(), |_| Ok(()))
    }

    /// Creates an empty headerless file of records of `schema`.
    pub fn create_raw(path: impl AsRef<Path>, schema: Schema) -> Result<Table> {
        let mut t = Self::create_raw_rs(
            path.as_ref(),
            schema.record_size() as usize,
            Growth::default(),
        )?;
        t.schema = Some(schema);
        Ok(t)
    }

    /// Opens a headerless file of records of `schema`; len is its size divided by the
    /// record size.
    ///
    /// # Errors
    ///
    /// [`Error::RawSizeNotMultiple`] naming both sizes; [`Error::Locked`].
    pub fn open_raw(path: impl AsRef<Path>, schema: Schema, writable: bool) -> Result<Table> {
        let rs = usize::try_from(schema.record_size())
            .map_err(|_| too_large(path.as_ref(), "the record"))?;
        let mut t = Self::open_raw_rs(path.as_ref(), rs, writable, Growth::default())?;
        t.schema = Some(schema);
        Ok(t)
    }

    /// The file's path (or region's name).
    pub fn path(&self) -> &Path {
        self.backing.path()
    }

    /// The records' schema: from the header, or as given for a raw file (`None` for a
    /// raw `Store<R>`, whose type is all it knows).
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// Whether the file is headerless.
    pub fn is_raw(&self) -> bool {
        matches!(self.format, Format::Raw)
    }

    pub(crate) fn kind(&self) -> Option<Kind> {
        match self.format {
            Format::Native { kind } => Some(kind),
            Format::Raw => None,
        }
    }

    /// Bytes per record.
    pub fn record_size(&self) -> usize {
        self.rs
    }

    /// Records in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no records.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records it has room for before it grows.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Where record 0 starts in the file (0 for raw files).
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// Bytes of the file this handle has reserved and mapped.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The file's (or region's) size now, as the OS reports it: at least
    /// [`file_size`](Table::file_size) unless another program cut it.
    pub fn size_now(&self) -> Result<u64> {
        self.backing.size()
    }

    /// The file's format version (0 for raw files).
    pub fn format_version(&self) -> u32 {
        self.log.version()
    }

    /// The generation of the last commit this handle made or saw (0 for raw files).
    pub fn generation(&self) -> u64 {
        self.committed.generation
    }

    /// How many times this handle has resized its map.
    pub fn remaps(&self) -> u64 {
        self.remaps
    }

    /// Whether this handle may write.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    fn check_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::ReadOnly {
                path: self.path().into(),
            })
        }
    }

    /// The bytes of records `0..len`.
    pub fn records(&self) -> &[u8] {
        self.first_read_done(None);
        self.materialize();
        self.map.slice(self.data_offset, self.len * self.rs)
    }

    /// The bytes of records `0..len`, writable (typed stores call it only when writable).
    pub(crate) fn records_mut_unchecked(&mut self) -> &mut [u8] {
        self.first_read_done(None);
        self.materialize();
        let (start, end) = (self.data_offset, self.data_offset + self.len * self.rs);
        &mut self.map.bytes_mut()[start..end]
    }

    /// The bytes of record `i`.
    pub fn record(&self, i: usize) -> Option<&[u8]> {
        (i < self.len).then(|| {
            if i >= self.len - self.pending.load(Ordering::Acquire) {
                self.materialize();
            }
            let at = self.data_offset + i * self.rs;
            self.first_read_done(Some(at));
            self.map.slice(at, self.rs)
        })
    }

    /// The bytes of record `i`, writable.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`]; [`Error::IndexOutOfRange`].
    pub fn record_mut(&mut self, i: usize) -> Result<&mut [u8]> {
        self.check_writable()?;
        let len = self.len;
        self.record_mut_unchecked(i).ok_or(Error::IndexOutOfRange {
            index: i as u64,
            len: len as u64,
        })
    }

    pub(crate) fn record_mut_unchecked(&mut self, i: usize) -> Option<&mut [u8]> {
        if i >= self.len {
            return None;
        }
        self.materialize();
        let at = self.data_offset + i * self.rs;
        self.first_read_done(Some(at));
        Some(&mut self.map.bytes_mut()[at..at + self.rs])
    }

    /// Puts the map of a file just opened under `MADV_RANDOM` until its first read.
    ///
    /// The kernel answers the first fault on a file map with a read-around of the
    /// device's whole readahead window (`read_ahead_kb`: 8 MiB on some virtual disks)
    /// centred on the page, so opening a store to read one record cost milliseconds on a
    /// cold cache where a `pread` of it costs tens of microseconds. The first access is
    /// the one the kernel cannot guess: a record read alone (`record`, `get`, `Index`)
    /// faults its own pages only, under `MADV_RANDOM`; then the map goes back to
    /// `MADV_NORMAL`, and the kernel's readahead serves what follows (its read-around
    /// for random faults, its sequential readahead for scans). An access to all the
    /// records (`records`, `as_slice`, `iter`) goes back to `MADV_NORMAL` before it
    /// faults anything, so a cold scan keeps its readahead.
    fn advise_first_read(&self) {
        if self.map.len() > 0 && self.map.read_randomly().is_ok() {
            self.first_read.store(true, Ordering::Relaxed);
        }
    }

    /// Ends the first-read advice (see [`Table::advise_first_read`]) at the first access
    /// to the map's records: the record at `at` (its first and last byte are read
    /// first, so that its pages fault under `MADV_RANDOM`), or all of them (`None`).
    #[inline]
    fn first_read_done(&self, at: Option<usize>) {
        if self.first_read.load(Ordering::Relaxed) {
            self.end_first_read(at);
        }
    }

    #[cold]
    fn end_first_read(&self, at: Option<usize>) {
        if !self.first_read.swap(false, Ordering::Relaxed) {
            return; // another thread ended it
        }
        if let Some(at) = at {
            self.map.touch(at, self.rs);
        }
        // A hint: a failure leaves readahead off, which costs speed, not correctness.
        let _ = self.map.read_normally();
    }

    /// Copies record `i` into `out` (one record long): a copy that stays as it is while
    /// code reads it, where the map's bytes may be changing under another process's
    /// in-place writes.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::InvalidArgument`] if `out` is not one record.
    pub fn read_record(&self, i: usize, out: &mut [u8]) -> Result<()> {
        if out.len() != self.rs {
            return Err(Error::InvalidArgument(format!(
                "{} bytes are not one {}-byte record",
                out.len(),
                self.rs
            )));
        }
        let bytes = self.record(i).ok_or(Error::IndexOutOfRange {
            index: i as u64,
            len: self.len as u64,
        })?;
        out.copy_from_slice(bytes);
        Ok(())
    }

    /// Replaces record `i` with `bytes` by writing them to the file (`pwrite`), not
    /// through the map: only the record's blocks become dirty, where a write through the
    /// map dirties its whole page-cache folio, which the next sync writes back whole.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`]; [`Error::IndexOutOfRange`]; [`Error::InvalidArgument`] if
    /// `bytes` is not one record; an IO error.
    pub fn write_record(&mut self, i: usize, bytes: &[u8]) -> Result<()> {
        self.check_writable()?;
        if i >= self.len {
            return Err(Error::IndexOutOfRange {
                index: i as u64,
                len: self.len as u64,
            });
        }
        if bytes.len() != self.rs {
            return Err(Error::InvalidArgument(format!(
                "{} bytes are not one {}-byte record",
                bytes.len(),
                self.rs
            )));
        }
        let in_map = self.len - *self.pending.get_mut();
        if i >= in_map {
            let staged = self
                .staged
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            staged[(i - in_map) * self.rs..][..self.rs].copy_from_slice(bytes);
            return Ok(());
        }
        let at = self.data_offset + i * self.rs;
        self.backing.write_at(bytes, at as u64, "write records")
    }

    /// Copies the staged records into the map, so that every record below len can be
    /// read there. Infallible, for read paths; `write_staged` is the fast way.
    fn materialize(&self) {
        if self.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut staged = self.staged.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = self.pending.load(Ordering::Acquire);
        if pending == 0 {
            return; // another thread moved them
        }
        let at = self.data_offset + (self.len - pending) * self.rs;
        debug_assert!(at + staged.len() <= self.map.len() && self.writable);
        // SAFETY: staged records lie below capacity, so inside the map, which is
        // writable (only writers stage). No reference into their bytes exists: records
        // past `len - pending` are reached only through this function, and the lock
        // keeps two threads from copying at once.
        unsafe {
            std::ptr::copy_nonoverlapping(staged.as_ptr(), self.map.as_ptr().add(at), staged.len())
        };
        staged.clear();
        self.pending.store(0, Ordering::Release);
    }

    /// Writes the staged records to the file with `pwrite` (the page cache, which the
    /// map shares). On error they stay staged.
    fn write_staged(&mut self) -> Result<()> {
        let pending = *self.pending.get_mut();
        if pending == 0 {
            return Ok(());
        }
        let at = self.data_offset + (self.len - pending) * self.rs;
        let staged = self
            .staged
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        self.backing.write_at(staged, at as u64, "write records")?;
        staged.clear();
        *self.pending.get_mut() = 0;
        Ok(())
    }

    /// Appends whole records from `bytes` and returns the index of the first. A failed
    /// append adds nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `bytes` is not a whole number of records;
    /// [`Error::ReadOnly`]; an IO error when the file cannot grow.
    pub fn append(&mut self, bytes: &[u8]) -> Result<usize> {
        if !bytes.len().is_multiple_of(self.rs) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes are not a whole number of {}-byte records",
                bytes.len(),
                self.rs
            )));
        }
        let n = bytes.len() / self.rs;
        self.reserve(n)?;
        let first = self.len;
        match self.format {
            Format::Raw => {
                // A raw file is exactly len records long. The records are written with
                // pwrite, which grows the file only by what it wrote (blocks reserved
                // first, so a full disk fails before any write): a crash leaves whole
                // records, or a torn last one that makes the size no multiple of the
                // record size (an error at open), never a run of zeros that reads as
                // records.
                let at = (self.data_offset + first * self.rs) as u64;
                let to = at + bytes.len() as u64;
                self.backing.reserve_blocks(at, to)?;
                if let Err(e) = self.backing.write_at(bytes, at, "write records") {
                    // Part may have been written: the next flush cuts the file to len.
                    self.file_size = self.backing.size()?.max(self.file_size);
                    return Err(e);
                }
                self.file_size = self.file_size.max(to);
                // Where a map cannot pass the end of a file, it reaches the new records
                // only now.
                self.map
                    .refit(&self.backing)
                    .map_err(|e| self.backing.err("remap", e))?;
            }
            Format::Native { .. } => {
                let staged_len = self.staged.get_mut().map_or(0, |v| v.len());
                if staged_len + bytes.len() > STAGE_BYTES || bytes.len() >= STAGE_BYTES {
                    self.check_not_cut()?;
                    self.write_staged()?;
                }
                if bytes.len() >= STAGE_BYTES {
                    let at = self.data_offset + first * self.rs;
                    self.backing.write_at(bytes, at as u64, "write records")?;
                } else {
                    let staged = self
                        .staged
                        .get_mut()
                        .unwrap_or_else(PoisonError::into_inner);
                    staged.extend_from_slice(bytes);
                    *self.pending.get_mut() += n;
                }
            }
        }
        self.len = first + n;
        Ok(first)
    }

    /// Shortens len to `n` (no effect if `n >= len`). The file keeps its size until
    /// `shrink_to_fit` (or, for raw files, `flush`).
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        let pending = self.pending.get_mut();
        let in_map = self.len - *pending;
        *pending = n.saturating_sub(in_map);
        let keep = *pending * self.rs;
        self.staged
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .truncate(keep);
        self.len = n;
    }

    /// Gives up what a failed bulk load appended: len goes back to the committed len (if
    /// it is longer) and capacity to the committed capacity, so that closing the handle
    /// commits no appends. A fixrec file shrinks back to that capacity when no other
    /// handle maps it (otherwise, or after a failed sync, it keeps the room, which no
    /// commit counts; the bytes of that room may have changed). A headerless file, whose
    /// records are its length, is cut back at once. Records changed in place are not
    /// restored.
    ///
    /// # Errors
    ///
    /// [`Error::InUse`] when another handle maps a headerless file (it keeps the
    /// appended records); an IO error when a file could not shrink. len and capacity are
    /// rolled back all the same.
    pub fn roll_back_appends(&mut self) -> Result<()> {
        let committed_len = usize::try_from(self.committed.len).unwrap_or(usize::MAX);
        self.truncate(committed_len);
        if !self.writable {
            return Ok(());
        }
        let size = match self.format {
            // A raw file is its records: cut it back now (a drop could not report it).
            Format::Raw => (self.len * self.rs) as u64,
            Format::Native { .. } => {
                let cap = usize::try_from(self.committed.capacity).unwrap_or(usize::MAX);
                if self.capacity <= cap {
                    return Ok(());
                }
                self.capacity = cap;
                // After a failed sync the file's state on disk is unknown: leave it.
                if self.failed.is_some() {
                    return Ok(());
                }
                (self.data_offset + cap * self.rs) as u64
            }
        };
        if self.file_size <= size {
            return Ok(());
        }
        if self.backing.lock_alone().is_err() {
            return match self.format {
                Format::Raw => Err(Error::InUse {
                    path: self.path().into(),
                }),
                Format::Native { .. } => Ok(()), // the room stays, counted by no commit
            };
        }
        let shrunk = self.cut_to(size);
        self.backing.unlock_alone();
        shrunk
    }

    /// Maps `size` bytes and cuts the file to them. Callers hold
    /// [`Backing::lock_alone`], and no commit counts the bytes past `size`.
    fn cut_to(&mut self, size: u64) -> Result<()> {
        // Cuts come after a checkpoint (growth and flush make one), so the log is empty;
        // its place may be cut away with the room, and is made again when needed.
        self.log.unmap();
        self.cut_file(size, size as usize)?;
        self.sync_cut(size)
    }

    /// The length the map has for the current capacity.
    fn map_len(&self) -> usize {
        self.data_offset + self.capacity * self.rs
    }

    /// Cuts the file to `size` bytes and maps `map_len` bytes of it. The map goes first:
    /// some systems (Windows) refuse to cut a file that a map covers. Callers hold
    /// [`Backing::lock_alone`].
    fn cut_file(&mut self, size: u64, map_len: usize) -> Result<()> {
        self.map.unmap();
        self.remaps += 1;
        let cut = self.backing.shrink(size);
        if cut.is_ok() {
            self.file_size = size;
        }
        self.map
            .remap(&self.backing, map_len)
            .map_err(|e| self.backing.err("remap", e))?;
        cut
    }

    /// Makes the size of a file just cut to `size` durable (`fdatasync`): no sync of a
    /// range is left to do it, and a cut that returned `Ok` must survive a power cut.
    /// A failure latches, as any sync's.
    fn sync_cut(&mut self, size: u64) -> Result<()> {
        self.check_failed()?;
        let step = SyncStep {
            meta: false,
            offset: size as usize,
            len: 0,
            cut: true,
        };
        let hooked = match &mut self.sync_hook {
            Some(hook) => hook(step),
            None => Ok(()),
        };
        if let Err(e) = hooked.and_then(|()| self.backing.file().sync_data()) {
            self.failed = Some(e.to_string());
            return Err(self.backing.err("sync", e));
        }
        Ok(())
    }

    /// What a signal handler needs to give back the room this handle's appends add to
    /// the file from now on, when the process must end at once (a command-line tool's
    /// second Ctrl-C during a bulk load): [`CutBack::run`] cuts the file back to its
    /// present size if no other handle maps it. None for a read-only handle. Take it
    /// before the appends, and stop using it before the commit that counts them (a cut
    /// after that commit would leave it past the file's end).
    ///
    /// ```
    /// use fixrec::{FieldType, Layout, Schema, StoreOptions, Table};
    ///
    /// let schema = Schema::from_fields(Layout::C, [("n", FieldType::U64)])?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("t.fxr");
    /// let mut table = Table::create(&path, schema, &StoreOptions::new().capacity(1))?;
    /// let size = std::fs::metadata(&path)?.len();
    /// let cut = table.cut_back().expect("a writable handle");
    /// table.append(&[7u8; 8 * 10_000])?; // grows the file
    /// assert!(std::fs::metadata(&path)?.len() > size);
    /// // In a signal handler, the process about to end:
    /// assert!(cut.run());
    /// std::mem::forget(table); // here the process would end, by its signal
    /// assert_eq!(std::fs::metadata(&path)?.len(), size);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cut_back(&self) -> Option<CutBack> {
        self.writable.then(|| self.backing.cut_back(self.file_size))
    }

    /// Makes room for `additional` more records, growing by the growth policy.
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        self.check_writable()?;
        let needed = self
            .len
            .checked_add(additional)
            .ok_or_else(|| too_large(self.path(), "the capacity"))?;
        if needed <= self.capacity {
            return Ok(());
        }
        self.set_capacity(self.growth.next(self.capacity, needed))
    }

    /// Grows or shrinks the map (and, for native files, the reserved file) to `cap`
    /// records.
    fn set_capacity(&mut self, cap: usize) -> Result<()> {
        // The log follows the data region, which is about to grow over it.
        self.checkpoint_log()?;
        let path = self.backing.path();
        let map_len = cap
            .checked_mul(self.rs)
            .and_then(|d| d.checked_add(self.data_offset))
            .filter(|&l| l <= isize::MAX as usize)
            .ok_or_else(|| too_large(path, "the capacity"))?;
        if let Format::Native { .. } = self.format {
            self.backing.allocate(self.file_size, map_len as u64)?;
            self.file_size = self.file_size.max(map_len as u64);
        }
        // A raw file's map may reach past its end: only records below len, whose
        // blocks `append` reserved, are ever touched.
        self.map
            .remap(&self.backing, map_len)
            .map_err(|e| self.backing.err("remap", e))?;
        self.capacity = cap;
        self.remaps += 1;
        Ok(())
    }

    /// Shrinks capacity (and the file) to len. Refused with [`Error::InUse`] while
    /// another handle has the file mapped.
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        self.check_writable()?;
        let target = self.len;
        let target_size = (self.data_offset + target * self.rs) as u64;
        if self.capacity == target && self.file_size == target_size {
            // Nothing to cut, but the caller was promised a commit.
            return self.flush();
        }
        self.backing.lock_alone()?;
        let done = (|| {
            let old = self.capacity;
            self.capacity = target;
            // Commit the smaller capacity before the file shrinks, so that no durable
            // meta ever points past the end of the file.
            if let Err(e) = self.flush() {
                self.capacity = old;
                return Err(e);
            }
            self.cut_to(target_size)
        })();
        self.backing.unlock_alone();
        done
    }

    fn check_failed(&self) -> Result<()> {
        match &self.failed {
            Some(cause) => Err(Error::SyncFailed {
                path: self.path().into(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Runs a sync; the first failure latches (PostgreSQL's fsync lesson: a retried
    /// sync may "succeed" after the kernel dropped the dirty pages).
    fn sync(&mut self, offset: usize, len: usize) -> Result<()> {
        self.check_failed()?;
        let meta = matches!(self.format, Format::Native { .. })
            && offset < format::META_OFFSETS[1] + META_SIZE;
        let hooked = match &mut self.sync_hook {
            Some(hook) => hook(SyncStep {
                meta,
                offset,
                len,
                cut: false,
            }),
            None => Ok(()),
        };
        if let Err(e) = hooked.and_then(|()| self.map.sync(offset, len)) {
            self.failed = Some(e.to_string());
            return Err(self.backing.err("sync", e));
        }
        Ok(())
    }

    /// Refuses to go on with a fixrec file that another program cut under us: records
    /// written past the cut would bring the size back with zeros before them, and a
    /// commit would count those zeros as records. Checked before each write of appended
    /// records and before each commit; a cut between the check and the write can still
    /// slip through (the locks are advisory: see docs/FORMAT.md, "Locks").
    fn check_not_cut(&self) -> Result<()> {
        if let Format::Native { .. } = self.format {
            let needed = (self.data_offset + self.capacity * self.rs) as u64;
            let file_size = self.backing.size()?;
            if file_size < needed {
                return Err(Error::DataPastEnd {
                    path: self.path().into(),
                    needed,
                    file_size,
                });
            }
        }
        Ok(())
    }

    /// The durability point: records synced, then the meta committed and synced.
    pub fn flush(&mut self) -> Result<()> {
        self.check_failed()?;
        if !self.writable {
            return Ok(());
        }
        self.check_not_cut()?;
        self.write_staged()?;
        // The data sync (an fdatasync of its range) also makes a grown file's size
        // durable before a meta slot refers to it. An empty range would skip the msync,
        // so a store that grew while empty syncs one byte (tests/power_loss.rs).
        let grew = matches!(self.format, Format::Native { .. })
            && self.capacity as u64 > self.committed.capacity;
        let bytes = (self.len * self.rs).max(usize::from(grew));
        self.sync(self.data_offset, bytes)?;
        match self.format {
            Format::Native { .. } => {
                if self.committed.len == self.len as u64
                    && self.committed.capacity == self.capacity as u64
                    && self.log.is_empty()
                {
                    return Ok(());
                }
                // Only a crafted meta slot can hold u64::MAX: refuse, never wrap to 0
                // (an invalid generation: the commit would be lost) or panic.
                let generation = self.committed.generation.checked_add(1).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "{}: the meta generation is at its limit (u64::MAX); the file's meta slot is corrupt",
                        self.path().display()
                    ))
                })?;
                // The records were just synced, transactions' included: this commit
                // is also a checkpoint of the log.
                let meta = Meta {
                    generation,
                    len: self.len as u64,
                    capacity: self.capacity as u64,
                    log_seq: self.log.next_seq(),
                    log_size: self.committed.log_size,
                };
                let at = meta.slot_offset();
                let mut before = [0u8; META_SIZE];
                before.copy_from_slice(&self.map.bytes()[at..at + META_SIZE]);
                self.map.bytes_mut()[at..at + META_SIZE].copy_from_slice(&meta.encode());
                if let Err(e) = self.sync(at, META_SIZE) {
                    // Not known to be durable, so not a commit: put the slot back as it
                    // was, so that the page cache (which the next open reads) does not
                    // hold a commit we report as failed.
                    self.map.bytes_mut()[at..at + META_SIZE].copy_from_slice(&before);
                    return Err(e);
                }
                self.committed = meta;
                self.log.checkpointed();
            }
            Format::Raw => {
                let size = (self.len * self.rs) as u64;
                if self.file_size > size {
                    self.backing.lock_alone()?;
                    let map_len = self.map_len();
                    let cut = self.cut_file(size, map_len);
                    self.backing.unlock_alone();
                    cut?;
                    // The data sync above ran before the cut: the new size needs its own.
                    self.sync_cut(size)?;
                }
                self.committed.len = self.len as u64;
            }
        }
        Ok(())
    }

    /// Syncs the bytes of records `range` without committing.
    pub fn flush_range(&mut self, range: std::ops::Range<usize>) -> Result<()> {
        if range.start > range.end || range.end > self.len {
            return Err(Error::IndexOutOfRange {
                index: range.end as u64,
                len: self.len as u64,
            });
        }
        self.write_staged()?;
        let n = range.end - range.start;
        self.sync(self.data_offset + range.start * self.rs, n * self.rs)
    }

    /// Starts writing the records to disk without waiting or committing, so that the
    /// next `flush` has less to wait for: `sync_file_range(SYNC_FILE_RANGE_WRITE)` on
    /// Linux (where `msync(MS_ASYNC)` starts nothing), then `msync(MS_ASYNC)`, which
    /// schedules the write-back on systems that do so.
    pub fn flush_async(&mut self) -> Result<()> {
        self.check_failed()?;
        self.write_staged()?;
        let (offset, len) = (self.data_offset, self.len * self.rs);
        self.backing.start_writeback(offset as u64, len as u64)?;
        self.map
            .sync_async(offset, len)
            .map_err(|e| self.backing.err("schedule write-back", e))
    }

    /// Picks up the latest commit (and growth) of the writer. Returns whether anything
    /// changed.
    pub fn refresh(&mut self) -> Result<bool> {
        match self.format {
            Format::Native { .. } => {
                let mut head = [0u8; META_OFFSETS[1] + META_SIZE];
                self.map.read_volatile(0, &mut head);
                let meta = pick_meta(self.backing.path(), &head, |head| {
                    self.map.read_volatile(0, head);
                    Ok(())
                })?;
                // The two slots are read one after the other while the writer may commit
                // twice in between, so the newer slot can be caught mid-write and the
                // older one read before its update: an older generation than the one we
                // hold is such a stale view, not a step back. Keep what we have.
                if meta.generation <= self.committed.generation {
                    return Ok(false);
                }
                let path = self.backing.path();
                let needed = meta.data_end(self.data_offset as u64, self.rs as u64);
                if needed > self.map.len() as u64 {
                    check_fits(path, needed, self.backing.size()?)?;
                    let len = to_usize(path, needed, "the data region")?;
                    self.map
                        .remap(&self.backing, len)
                        .map_err(|e| self.backing.err("remap", e))?;
                    self.remaps += 1;
                    self.file_size = needed;
                }
                self.len = to_usize(path, meta.len, "the len")?;
                self.capacity = to_usize(path, meta.capacity, "the capacity")?;
                self.committed = meta;
                Ok(true)
            }
            Format::Raw => {
                let size = self.backing.size()?;
                if size == self.file_size {
                    return Ok(false);
                }
                let len = raw_len(self.backing.path(), size, self.rs)?;
                let map_len = to_usize(self.backing.path(), size, "the file")?;
                if map_len > self.map.len() {
                    self.map
                        .remap(&self.backing, map_len)
                        .map_err(|e| self.backing.err("remap", e))?;
                    self.remaps += 1;
                }
                self.file_size = size;
                self.len = len;
                self.capacity = len;
                Ok(true)
            }
        }
    }

    /// Checks every invariant of the file as it is on disk now: header, meta slots,
    /// sizes, and each record's fields, and reports every problem found.
    ///
    /// # Errors
    ///
    /// [`Error::VerifyFailed`] with the list; an IO error.
    pub fn verify(&self) -> Result<()> {
        self.verify_with(|i, out| self.read_record(i, out))
    }

    /// [`verify`](Table::verify), with each record copied by `read` (record index, one
    /// record's bytes) before it is checked: for stores whose records are read another
    /// way, such as a shared store's under its sequence lock.
    ///
    /// # Errors
    ///
    /// As [`verify`](Table::verify).
    pub fn verify_with(&self, read: impl FnMut(usize, &mut [u8]) -> Result<()>) -> Result<()> {
        let problems = self.problems(read)?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::VerifyFailed {
                path: self.path().into(),
                problems,
            })
        }
    }

    /// What `verify` reports without counting it a problem: a meta slot that is neither
    /// empty nor valid. An interrupted commit leaves one (the store is then at the other
    /// slot's commit, as it should be), and so does damage to the slot of the last commit
    /// (then the records of that commit are lost); the file cannot tell which.
    ///
    /// # Errors
    ///
    /// An IO error reading the header.
    pub fn notes(&self) -> Result<Vec<String>> {
        let Format::Native { .. } = self.format else {
            return Ok(Vec::new());
        };
        let Ok((_, header)) = read_header(&self.backing, self.backing.size()?) else {
            return Ok(Vec::new()); // `problems` reports it
        };
        let mut notes = Vec::new();
        for (i, &at) in META_OFFSETS.iter().enumerate() {
            let Some(bytes) = header.get(at..at + META_SIZE) else {
                continue;
            };
            if Meta::decode(i, bytes).is_none() && bytes.iter().any(|&b| b != 0) {
                notes.push(format!(
                    "meta slot {i} (bytes {at}..{}) is not a valid commit: a commit was interrupted, \
                     or the slot is damaged. The store is at generation {} (len {}) from the other slot; \
                     if a later commit had been acknowledged, its records are lost. The next commit rewrites the slot.",
                    at + META_SIZE,
                    self.committed.generation,
                    self.committed.len
                ));
            }
        }
        Ok(notes)
    }

    fn problems(&self, read: impl FnMut(usize, &mut [u8]) -> Result<()>) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let size = self.backing.size()?;
        let records_in_file = match self.format {
            Format::Native { .. } => {
                let (sb, header) = match read_header(&self.backing, size) {
                    Ok(h) => h,
                    Err(e) => return Ok(vec![e.to_string()]),
                };
                if Some(&sb.schema) != self.schema.as_ref() {
                    problems.push("the superblock changed since the store was opened".into());
                }
                for (i, &at) in META_OFFSETS.iter().enumerate() {
                    if Meta::decode(i, &header[at..at + META_SIZE]).is_none()
                        && self.committed.generation % 2 == i as u64
                    {
                        problems.push(format!(
                            "meta slot {i} holds generation {} in memory but is invalid on disk",
                            self.committed.generation
                        ));
                    }
                }
                match Meta::pick(self.path(), &header) {
                    Ok(meta) => {
                        let needed = meta.data_end(sb.data_offset, self.rs as u64);
                        if needed > size {
                            problems.push(format!(
                                "the file has {size} bytes but its data region (capacity {}) needs {needed}; was it truncated by another program?",
                                meta.capacity
                            ));
                        }
                    }
                    Err(e) => problems.push(e.to_string()),
                }
                size.saturating_sub(self.data_offset as u64) / self.rs as u64
            }
            Format::Raw => {
                if size % self.rs as u64 != 0 {
                    problems.push(
                        Error::RawSizeNotMultiple {
                            path: self.path().into(),
                            file_size: size,
                            record_size: self.rs as u64,
                            remainder: size % self.rs as u64,
                        }
                        .to_string(),
                    );
                }
                size / self.rs as u64
            }
        };
        let readable = self
            .len
            .min(usize::try_from(records_in_file).unwrap_or(usize::MAX));
        if readable < self.len {
            problems.push(format!(
                "records {readable}..{} lie past the end of the file ({size} bytes)",
                self.len
            ));
        }
        self.check_records(readable, read, &mut problems);
        Ok(problems)
    }

    /// Checks records `0..n`, each copied by `read` (a failed read is a problem too).
    fn check_records(
        &self,
        n: usize,
        mut read: impl FnMut(usize, &mut [u8]) -> Result<()>,
        problems: &mut Vec<String>,
    ) {
        const MAX_REPORTED: usize = 100;
        let mut bad = 0usize;
        let mut report = |problems: &mut Vec<String>, msg: String| {
            bad += 1;
            if bad <= MAX_REPORTED {
                problems.push(msg);
            }
        };
        let mut rec = vec![0u8; self.rs];
        for i in 0..n {
            if let Err(e) = read(i, &mut rec) {
                report(problems, format!("record {i}: {e}"));
                continue;
            }
            let rec = &rec[..];
            if let Some(Kind::Slots) = self.kind() {
                let n = u32::from_le_bytes(rec[..4].try_into().expect("slots are > 4 bytes"));
                if n as usize > self.rs - 4 {
                    report(
                        problems,
                        format!(
                            "slot {i}: length {n} exceeds the slot's {} bytes",
                            self.rs - 4
                        ),
                    );
                }
                continue;
            }
            let Some(schema) = &self.schema else { break };
            for f in schema.fields() {
                // The same check (and message) as every reader of the field as a value:
                // a `str` is UTF-8 up to its NUL and has one, a `bool` is 0 or 1.
                if let Err(e) = f.check(rec) {
                    report(problems, format!("record {i}: {e}"));
                }
            }
        }
        if bad > MAX_REPORTED {
            problems.push(format!("... and {} more bad fields", bad - MAX_REPORTED));
        }
    }

    /// Installs a [`SyncHook`] (tests only).
    #[doc(hidden)]
    pub fn set_sync_hook(&mut self, hook: SyncHook) {
        self.sync_hook = Some(hook);
    }

    /// Passes an access-pattern hint to the kernel for the whole map. It replaces the
    /// advice a file is opened with: `MADV_RANDOM` until the first access to its
    /// records, so that a cold open and one read fault only the record's pages rather
    /// than the device's whole readahead window, then `MADV_NORMAL`.
    pub fn advise(&self, advice: crate::Advice) -> Result<()> {
        self.first_read.store(false, Ordering::Relaxed);
        self.map
            .advise(advice)
            .map_err(|e| self.backing.err("madvise", e))
    }
}

impl Drop for Table {
    /// Commits what was written (errors are lost here; call `flush` to see them) and
    /// releases the writer lock.
    fn drop(&mut self) {
        if self.writable {
            let _ = self.flush();
            self.backing.unlock_writer();
        }
    }
}

/// The committed state in `head` (the file's first bytes, meta slots included). The two
/// slots are read one after the other, so a writer committing twice meanwhile can leave
/// both torn in our copy: that is transient, and `reread` fills `head` again for a few
/// more tries before both invalid slots are taken as the file's state.
fn pick_meta(
    path: &Path,
    head: &[u8],
    mut reread: impl FnMut(&mut [u8]) -> Result<()>,
) -> Result<Meta> {
    let mut again = [0u8; META_OFFSETS[1] + META_SIZE];
    let mut result = Meta::pick(path, head);
    for _ in 0..8 {
        if !matches!(result, Err(Error::NoValidMeta { .. })) {
            break;
        }
        std::thread::yield_now();
        reread(&mut again)?;
        result = Meta::pick(path, &again);
    }
    result
}

/// Refuses a data region that ends past the end of the file.
fn check_fits(path: &Path, needed: u64, file_size: u64) -> Result<()> {
    if needed > file_size {
        return Err(Error::DataPastEnd {
            path: path.into(),
            needed,
            file_size,
        });
    }
    Ok(())
}

fn raw_len(path: &Path, size: u64, rs: usize) -> Result<usize> {
    if !size.is_multiple_of(rs as u64) {
        return Err(Error::RawSizeNotMultiple {
            path: path.into(),
            file_size: size,
            record_size: rs as u64,
            remainder: size % rs as u64,
        });
    }
    to_usize(path, size / rs as u64, "the file")
}

/// Reads and decodes the header of a native file of `size` bytes.
fn read_header(backing: &Backing, size: u64) -> Result<(Superblock, Vec<u8>)> {
    let mut head = vec![0u8; format::SUPERBLOCK_SIZE.min(size as usize)];
    let n = backing.read_at(&mut head, 0)?;
    head.truncate(n);
    let needed = if head.len() >= format::SUPERBLOCK_SIZE && head[..8] == format::MAGIC {
        Superblock::needed_len(&head)
    } else {
        head.len()
    };
    let mut header = vec![0u8; needed.min(size as usize)];
    let n = backing.read_at(&mut header, 0)?;
    header.truncate(n);
    let sb = Superblock::decode(backing.path(), &header, size)?;
    Ok((sb, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins a flaky `NoValidMeta` in readers: both slots caught mid-write is transient.
    #[test]
    fn both_slots_torn_in_one_read_are_read_again() {
        let commit = Meta {
            generation: 7,
            len: 3,
            capacity: 4,
            ..Meta::default()
        };
        let mut good = [0u8; META_OFFSETS[1] + META_SIZE];
        let at = commit.slot_offset();
        good[at..at + META_SIZE].copy_from_slice(&commit.encode());
        let torn = [0u8; META_OFFSETS[1] + META_SIZE];
        let mut reads = 0;
        let meta = pick_meta(Path::new("f"), &torn, |head| {
            reads += 1;
            head.copy_from_slice(if reads < 3 { &torn } else { &good });
            Ok(())
        });
        assert_eq!(meta.unwrap(), commit);
        assert_eq!(reads, 3);
        // A file whose slots are both bad stays an error, after a bounded number of reads.
        let mut reads = 0;
        let meta = pick_meta(Path::new("f"), &torn, |head| {
            reads += 1;
            head.copy_from_slice(&torn);
            Ok(())
        });
        assert!(matches!(meta, Err(Error::NoValidMeta { .. })));
        assert_eq!(reads, 8);
    }
}
