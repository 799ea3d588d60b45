//! Layer 6: [`Store<R>`], typed zero-copy access to a file of Pod records.

use crate::backing::Backing;
use crate::error::{Error, Result};
use crate::format::{Kind, MAGIC, Superblock};
use crate::record::Record;
use crate::schema::Schema;
use crate::table::{Growth, Table};
use bytemuck::Pod;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut, Range};
use std::path::Path;

mod sealed {
    pub trait Sealed {}
}

/// How a store was opened: [`ReadWrite`] or [`ReadOnly`].
pub trait Access: sealed::Sealed {}

/// A store that writes: the one writer of its file.
#[derive(Debug)]
pub enum ReadWrite {}
/// A store mapped read-only: it has no write methods, and its map is `PROT_READ`.
#[derive(Debug)]
pub enum ReadOnly {}
impl sealed::Sealed for ReadWrite {}
impl sealed::Sealed for ReadOnly {}
impl Access for ReadWrite {}
impl Access for ReadOnly {}

/// Settings for creating and opening stores: initial capacity and growth policy.
///
/// # Examples
///
/// ```
/// use fixrec::{FixedStr, Growth, Store, StoreOptions, record};
///
/// record! {
///     #[repr(C)]
///     pub struct Member { pub id: FixedStr<256>, pub name: FixedStr<256> }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let store: Store<Member> = StoreOptions::new()
///     .capacity(1000)
///     .growth(Growth::Step(1000))
///     .create(dir.path().join("members.fxr"))?;
/// assert_eq!(store.capacity(), 1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreOptions {
    capacity: Option<u64>,
    growth: Growth,
    log_size: Option<u64>,
    header_as_records: bool,
}

/// Default room at creation: 64 KiB of records (at least one).
fn default_capacity(record_size: u64) -> u64 {
    (65536 / record_size.max(1)).max(1)
}

impl StoreOptions {
    /// Default settings: room for 64 KiB of records, doubling growth.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for this many records at creation.
    pub fn capacity(mut self, records: u64) -> Self {
        self.capacity = Some(records);
        self
    }

    /// The size of the transaction log a store gets at its first transaction (4 MiB
    /// by default; see [`Table::set_log_size`]). A larger log checkpoints less often.
    pub fn log_size(mut self, bytes: u64) -> Self {
        self.log_size = Some(bytes);
        self
    }

    pub(crate) fn with_log_size(&self, mut table: Table) -> Table {
        if let Some(bytes) = self.log_size {
            table.set_log_size(bytes);
        }
        table
    }

    /// How capacity grows when it runs out.
    pub fn growth(mut self, growth: Growth) -> Self {
        self.growth = growth;
        self
    }

    /// Lets [`open_raw`](StoreOptions::open_raw) and
    /// [`open_raw_read_only`](StoreOptions::open_raw_read_only) open a file that starts
    /// with the fixrec magic, reading its bytes from byte 0 as records, header included.
    /// Without it they refuse such a file with [`Error::NotRaw`]: it is a fixrec file,
    /// whose records [`Store::open`] finds after its header.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Error, Store, StoreOptions, record};
    ///
    /// record! {
    ///     #[repr(C)]
    ///     pub struct Tick { pub seq: u64, pub v: f64 }
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ticks.fxr");
    /// drop(Store::<Tick>::create(&path)?);
    /// assert!(matches!(Store::<u64>::open_raw_read_only(&path), Err(Error::NotRaw { .. })));
    /// let bytes = StoreOptions::new()
    ///     .header_as_records(true)
    ///     .open_raw_read_only::<u64>(&path)?;
    /// assert_eq!(bytes[0].to_le_bytes(), fixrec::format::MAGIC);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header_as_records(mut self, yes: bool) -> Self {
        self.header_as_records = yes;
        self
    }

    pub(crate) fn capacity_for(&self, record_size: u64) -> u64 {
        self.capacity
            .unwrap_or_else(|| default_capacity(record_size))
    }

    pub(crate) fn growth_policy(&self) -> Growth {
        self.growth
    }

    /// Creates a new store file at `path` (it must not exist).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`], an IO error (a full disk among them), or
    /// [`Error::InvalidSchema`] for a record type the header cannot describe.
    pub fn create<R: Record>(&self, path: impl AsRef<Path>) -> Result<Store<R>> {
        let schema = R::schema()?;
        let cap = self.capacity_for(schema.record_size());
        let sb = Superblock::new(schema, Kind::Records);
        let table = Table::create_native(path.as_ref(), sb, cap, self.growth)?;
        Ok(Store::wrap(self.with_log_size(table)))
    }

    /// Opens an existing store file for writing, checking its schema against `R`.
    ///
    /// # Errors
    ///
    /// Every bad-file kind of [`Error`], [`Error::RecordSizeMismatch`] and
    /// [`Error::SchemaMismatch`] naming what differs, and [`Error::Locked`] when another
    /// handle is writing it.
    pub fn open<R: Record>(&self, path: impl AsRef<Path>) -> Result<Store<R>> {
        let store = open_typed::<R, ReadWrite>(path.as_ref(), true, self.growth)?;
        Ok(Store::wrap(self.with_log_size(store.table)))
    }

    /// Opens `path` if it exists, else creates it.
    pub fn open_or_create<R: Record>(&self, path: impl AsRef<Path>) -> Result<Store<R>> {
        let path = path.as_ref();
        // Another process may create the file between our open and our create; a few
        // rounds settle that. A name that neither opens nor creates (a dangling symbolic
        // link, say) gets the create's error.
        for _ in 0..3 {
            match self.open(path) {
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                other => return other,
            }
            match self.create(path) {
                Err(Error::AlreadyExists { .. }) => continue,
                other => return other,
            }
        }
        self.create(path)
    }

    /// Creates an empty headerless file of `R` records.
    pub fn create_raw<R: Pod>(&self, path: impl AsRef<Path>) -> Result<Store<R>> {
        check_raw_type::<R>()?;
        Ok(Store::wrap(Table::create_raw_rs(
            path.as_ref(),
            size_of::<R>(),
            self.growth,
        )?))
    }

    /// Opens a headerless file of `R` records for writing.
    ///
    /// # Errors
    ///
    /// As [`Store::open_raw`].
    pub fn open_raw<R: Pod>(&self, path: impl AsRef<Path>) -> Result<Store<R>> {
        check_raw_type::<R>()?;
        self.check_raw_file(path.as_ref())?;
        Ok(Store::wrap(Table::open_raw_rs(
            path.as_ref(),
            size_of::<R>(),
            true,
            self.growth,
        )?))
    }

    /// Opens a headerless file of `R` records, mapped read-only.
    ///
    /// # Errors
    ///
    /// As [`Store::open_raw_read_only`].
    pub fn open_raw_read_only<R: Pod>(&self, path: impl AsRef<Path>) -> Result<Store<R, ReadOnly>> {
        check_raw_type::<R>()?;
        self.check_raw_file(path.as_ref())?;
        Ok(Store::wrap(Table::open_raw_rs(
            path.as_ref(),
            size_of::<R>(),
            false,
            self.growth,
        )?))
    }

    /// Refuses a file that starts with the fixrec magic, unless
    /// [`header_as_records`](StoreOptions::header_as_records) allows it.
    fn check_raw_file(&self, path: &Path) -> Result<()> {
        if self.header_as_records {
            return Ok(());
        }
        let mut head = [0u8; MAGIC.len()];
        if Backing::open(path, false)?.read_at(&mut head, 0)? == head.len() && head == MAGIC {
            return Err(Error::NotRaw { path: path.into() });
        }
        Ok(())
    }
}

fn check_raw_type<R>() -> Result<()> {
    if size_of::<R>() == 0 || align_of::<R>() > 4096 {
        return Err(Error::InvalidSchema {
            detail: format!(
                "a record type needs a size above 0 and an alignment up to 4096 (this one has size {} and alignment {})",
                size_of::<R>(),
                align_of::<R>()
            ),
        });
    }
    Ok(())
}

fn open_typed<R: Record, A: Access>(
    path: &Path,
    writable: bool,
    growth: Growth,
) -> Result<Store<R, A>> {
    let expected = R::schema()?;
    let table = Table::open_native(path, writable, growth, |sb| {
        check_schema(path, &expected, Kind::Records, sb)
    })?;
    Ok(Store::wrap(table))
}

/// Refuses a file whose kind or schema differs from what the caller's type expects.
pub(crate) fn check_schema(
    path: &Path,
    expected: &Schema,
    kind: Kind,
    sb: &Superblock,
) -> Result<()> {
    if sb.kind != kind {
        return Err(Error::SchemaMismatch {
            path: path.into(),
            detail: format!(
                "expected a file of {kind:?} but this one holds {:?}",
                sb.kind
            ),
        });
    }
    if expected.record_size() != sb.schema.record_size() {
        return Err(Error::RecordSizeMismatch {
            path: path.into(),
            expected: expected.record_size(),
            found: sb.schema.record_size(),
        });
    }
    match expected.diff(&sb.schema) {
        Some(detail) => Err(Error::SchemaMismatch {
            path: path.into(),
            detail,
        }),
        None => Ok(()),
    }
}

/// A file of `R` records, mapped: indexed zero-copy reads, in-place writes, appends that
/// grow the file by remapping, and [`flush`](Store::flush) as the durability point.
///
/// `Store<R>` ([`ReadWrite`]) is the one writer of its file; `Store<R, ReadOnly>` maps it
/// read-only and follows the writer's commits with [`refresh`](Store::refresh). Reads go
/// through `&self` and writes through `&mut self`, so no reference into the map outlives
/// a remap.
///
/// A reader's `&R` points into the file's pages: if another handle (the writer, in this
/// process or another) updates that record in place meanwhile, the reader sees it change,
/// possibly half-written. Appends past the committed len never change records a reader
/// can see (a truncate followed by appends does, like an update in place); for in-place
/// updates under concurrent readers, use a shared store
/// ([`Store::create_shared`], whose reads copy each record under a sequence lock). See
/// [mapped memory shared with other handles](crate#mapped-memory-shared-with-other-handles)
/// in the crate documentation.
///
/// # Examples
///
/// ```
/// use fixrec::{FixedStr, Store, record};
///
/// record! {
///     #[repr(C)]
///     #[derive(Debug)]
///     pub struct Member { pub id: FixedStr<256>, pub name: FixedStr<256> }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("members.fxr");
/// let mut store = Store::<Member>::create(&path)?;
/// for i in 0..1000 {
///     let id = FixedStr::new(&i.to_string())?;
///     store.push(Member { id, name: FixedStr::new("김용")? })?;
/// }
/// store[2].name.set("Jin Yong")?; // in place
/// store.flush()?;                 // durable: records synced, then the len committed
/// drop(store);
///
/// let store = Store::<Member>::open_read_only(&path)?;
/// assert_eq!(store.len(), 1000);
/// assert_eq!(store[2].id.as_str()?, "2");
/// assert_eq!(store[2].name.as_str()?, "Jin Yong");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store<R, A: Access = ReadWrite> {
    table: Table,
    _types: PhantomData<(R, A)>,
}

impl<R, A: Access> std::fmt::Debug for Store<R, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.table.path())
            .field("len", &self.table.len())
            .field("capacity", &self.table.capacity())
            .finish()
    }
}

impl<R: Record> Store<R> {
    /// Creates a new store file at `path` with default [`StoreOptions`].
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if `path` exists; an IO error.
    pub fn create(path: impl AsRef<Path>) -> Result<Store<R>> {
        StoreOptions::new().create(path)
    }

    /// Opens a store file for reading and writing. See [`StoreOptions::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store<R>> {
        StoreOptions::new().open(path)
    }

    /// Opens `path` if it exists, else creates it.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Store<R>> {
        StoreOptions::new().open_or_create(path)
    }

    /// Opens a store file mapped read-only: writes are impossible by type. Any number of
    /// readers may open a file while its writer works.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store<R, ReadOnly>> {
        open_typed::<R, ReadOnly>(path.as_ref(), false, Growth::default())
    }
}

impl<R: Pod> Store<R> {
    /// Creates an empty headerless file of `R` records (like a C program's array file).
    pub fn create_raw(path: impl AsRef<Path>) -> Result<Store<R>> {
        StoreOptions::new().create_raw(path)
    }

    /// Opens a headerless file of `R` records for writing: len is its size divided by
    /// `size_of::<R>()`.
    ///
    /// # Errors
    ///
    /// [`Error::NotRaw`] for a file that starts with the fixrec magic (open it with
    /// [`Store::open`], or read its bytes with [`StoreOptions::header_as_records`]);
    /// [`Error::RawSizeNotMultiple`] naming both sizes; [`Error::Locked`].
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::Store;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("numbers.dat");
    /// std::fs::write(&path, [1u32, 2, 3].map(u32::to_le_bytes).concat())?;
    /// let mut store = Store::<u32>::open_raw(&path)?;
    /// assert_eq!(store.as_slice(), &[1, 2, 3]);
    /// store.push(4)?;
    /// store.flush()?;
    /// assert_eq!(std::fs::metadata(&path)?.len(), 16); // exactly len records
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_raw(path: impl AsRef<Path>) -> Result<Store<R>> {
        StoreOptions::new().open_raw(path)
    }

    /// Opens a headerless file of `R` records, mapped read-only.
    ///
    /// # Errors
    ///
    /// [`Error::NotRaw`] for a file that starts with the fixrec magic (open it with
    /// [`Store::open_read_only`], or read its bytes with
    /// [`StoreOptions::header_as_records`]); [`Error::RawSizeNotMultiple`] naming both
    /// sizes.
    pub fn open_raw_read_only(path: impl AsRef<Path>) -> Result<Store<R, ReadOnly>> {
        StoreOptions::new().open_raw_read_only(path)
    }
}

impl<R: Pod, A: Access> Store<R, A> {
    pub(crate) fn wrap(table: Table) -> Self {
        Store {
            table,
            _types: PhantomData,
        }
    }

    /// Records in the store.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether it holds no records.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Records it has room for before it must grow.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Record `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&R> {
        self.table.record(i).map(bytemuck::from_bytes)
    }

    /// All records, as a slice of the map.
    pub fn as_slice(&self) -> &[R] {
        let bytes = self.table.records();
        if bytes.is_empty() {
            return &[]; // an empty raw map has no aligned address to cast
        }
        bytemuck::cast_slice(bytes)
    }

    /// Iterates over the records.
    pub fn iter(&self) -> std::slice::Iter<'_, R> {
        self.as_slice().iter()
    }

    /// The file's path (or region's name).
    pub fn path(&self) -> &Path {
        self.table.path()
    }

    /// The schema from the file's header (`None` for raw files).
    pub fn schema(&self) -> Option<&Schema> {
        self.table.schema()
    }

    /// The untyped table underneath: header facts (generation, data offset, file size,
    /// remap count) and the records' bytes.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Checks every invariant of the header and the data region, as the file is on disk
    /// now.
    ///
    /// # Errors
    ///
    /// [`Error::VerifyFailed`] listing every problem found; an IO error.
    pub fn verify(&self) -> Result<()> {
        self.table.verify()
    }
}

impl<R: Pod> Store<R, ReadOnly> {
    /// Picks up the writer's latest commit: the new len, and growth (by remapping).
    /// Returns whether anything changed.
    pub fn refresh(&mut self) -> Result<bool> {
        self.table.refresh()
    }
}

impl<R: Pod> Store<R> {
    /// Installs a test seam called before every sync; see `Table::set_sync_hook`.
    #[doc(hidden)]
    pub fn set_sync_hook(&mut self, hook: crate::table::SyncHook) {
        self.table.set_sync_hook(hook)
    }

    /// Starts a write transaction: updates by index and appends, read back by the
    /// transaction itself, that become durable and visible all together at
    /// [`commit`](crate::Transaction::commit), or not at all (drop it, or crash before
    /// `commit` returns). A commit is one sequential write to the store's log and one
    /// sync.
    ///
    /// Use transactions when several records must change together, or when each
    /// change must be durable when the call returns. In-place writes
    /// ([`get_mut`](Store::get_mut), `IndexMut`, [`set`](Store::set)) with
    /// [`flush`](Store::flush) stay the fastest way to change many records: durable at
    /// the flush, but not atomic (a crash before the flush may keep any mix of them).
    ///
    /// Appends or truncations made in place and not yet flushed are committed first, as
    /// `flush` does.
    ///
    /// # Errors
    ///
    /// [`Error::NoTransactions`] for a headerless file or a format version 1 file;
    /// [`Error::SyncFailed`] after a failed sync; an IO error.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Store, record};
    ///
    /// record! {
    ///     #[repr(C)]
    ///     pub struct Account { pub id: u64, pub balance: i64 }
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut store = Store::<Account>::create(dir.path().join("accounts.fxr"))?;
    /// store.push(Account { id: 1, balance: 100 })?;
    /// store.push(Account { id: 2, balance: 0 })?;
    /// store.flush()?;
    ///
    /// let mut txn = store.transaction()?;
    /// txn[0].balance -= 40;            // a transfer: both records or neither
    /// txn[1].balance += 40;
    /// txn.push(Account { id: 3, balance: 0 });
    /// assert_eq!(txn[1].balance, 40);  // the transaction reads its own writes
    /// txn.commit()?;                   // durable and visible, all together
    /// assert_eq!((store[0].balance, store[1].balance, store.len()), (60, 40, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transaction(&mut self) -> Result<crate::Transaction<'_, R>> {
        crate::Transaction::begin(&mut self.table)
    }

    /// Record `i`, writable in place, or `None` past the end.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut R> {
        self.table
            .record_mut_unchecked(i)
            .map(bytemuck::from_bytes_mut)
    }

    /// Replaces record `i`, writing it to the file with `pwrite` rather than through the
    /// map.
    ///
    /// Use it for a few updates before a durable [`flush`](Store::flush): only the
    /// record's blocks become dirty, so the flush writes about one block per update. A
    /// write through the map ([`get_mut`](Store::get_mut), `IndexMut`) dirties the whole
    /// page-cache folio around the record (up to hundreds of KiB for a file the kernel
    /// read with readahead), and the flush writes all of it; in exchange it costs no
    /// system call, so it is the faster way to make many updates between flushes.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; an IO error.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::Store;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut store = Store::<u64>::create_raw(dir.path().join("counters.dat"))?;
    /// store.extend_from_slice(&[0; 1000])?;
    /// store.set(7, 42)?;
    /// store.flush()?;
    /// assert_eq!(store[7], 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set(&mut self, i: usize, record: R) -> Result<()> {
        self.table.write_record(i, bytemuck::bytes_of(&record))
    }

    /// All records, writable in place.
    pub fn as_mut_slice(&mut self) -> &mut [R] {
        let bytes = self.table.records_mut_unchecked();
        if bytes.is_empty() {
            return &mut [];
        }
        bytemuck::cast_slice_mut(bytes)
    }

    /// Appends a record and returns its index. The file grows (by the growth policy)
    /// when it is full; the record is committed by the next [`flush`](Store::flush).
    ///
    /// Appends to a native file are gathered in a 64 KiB buffer and written to the file
    /// with one `pwrite` per batch, which fills new pages without the page fault and
    /// zero fill that a write through the map costs on each (2 to 3 times faster). They
    /// read back at once like any record.
    ///
    /// # Errors
    ///
    /// An IO error when the file cannot grow, a full disk among them: never a SIGBUS.
    pub fn push(&mut self, record: R) -> Result<usize> {
        self.table.append(bytemuck::bytes_of(&record))
    }

    /// Appends all of `records`, growing at most once.
    pub fn extend_from_slice(&mut self, records: &[R]) -> Result<()> {
        self.table.append(bytemuck::cast_slice(records)).map(|_| ())
    }

    /// Shortens the store to `len` records (no effect if it is not longer). Committed by
    /// the next `flush`; the file keeps its size until [`shrink_to_fit`](Store::shrink_to_fit).
    pub fn truncate(&mut self, len: usize) {
        self.table.truncate(len)
    }

    /// Makes room for at least `additional` more records.
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        self.table.reserve(additional)
    }

    /// Shrinks the capacity, and the file, to len (this commits).
    ///
    /// # Errors
    ///
    /// [`Error::InUse`] while another handle has the file mapped: a file never shrinks
    /// under a reader.
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        self.table.shrink_to_fit()
    }

    /// The durability point: the records are synced (`msync(MS_SYNC)`, the POSIX twin of
    /// `FlushViewOfFile`), then the len and capacity are committed to the older of the two
    /// meta slots (the newer one keeps the previous commit) and synced. Once it returns `Ok`, everything written before it survives a process
    /// crash or a power loss. Readers see the new len after their next `refresh`.
    ///
    /// # Errors
    ///
    /// An IO error from the sync. The first sync failure latches: every later `flush`
    /// returns [`Error::SyncFailed`] until the store is reopened, because a retried
    /// sync can report success after the kernel dropped the dirty pages.
    pub fn flush(&mut self) -> Result<()> {
        self.table.flush()
    }

    /// Syncs the bytes of `records` only, without committing a new len: makes in-place
    /// updates of those records durable.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] for a range past len; an IO error.
    pub fn flush_range(&mut self, records: Range<usize>) -> Result<()> {
        self.table.flush_range(records)
    }

    /// Starts writing the records to disk and returns at once, without committing, so
    /// that the next [`flush`](Store::flush) has less to wait for: a bulk load that
    /// calls it every few tens of megabytes overlaps its disk writes with its work.
    ///
    /// On Linux this is `sync_file_range(SYNC_FILE_RANGE_WRITE)`, which starts the IO
    /// (`msync(MS_ASYNC)` is a no-op there); elsewhere `msync(MS_ASYNC)`. Nothing is
    /// durable until [`flush`](Store::flush) returns.
    pub fn flush_async(&mut self) -> Result<()> {
        self.table.flush_async()
    }
}

impl<R: Pod, A: Access> Index<usize> for Store<R, A> {
    type Output = R;

    /// # Panics
    ///
    /// If `i >= len`, like a slice. Use [`Store::get`] for an `Option`.
    fn index(&self, i: usize) -> &R {
        // Through `get`, not `as_slice`: a record read alone, which the first read of a
        // store just opened needs to know (it faults only the record's pages).
        match self.get(i) {
            Some(r) => r,
            None => index_out_of_bounds(i, self.len()),
        }
    }
}

impl<R: Pod> IndexMut<usize> for Store<R> {
    /// # Panics
    ///
    /// If `i >= len`, like a slice. Use [`Store::get_mut`] for an `Option`.
    fn index_mut(&mut self, i: usize) -> &mut R {
        let len = self.len();
        match self.get_mut(i) {
            Some(r) => r,
            None => index_out_of_bounds(i, len),
        }
    }
}

/// The panic of a slice indexed past its end, with the same message.
#[cold]
#[track_caller]
fn index_out_of_bounds(i: usize, len: usize) -> ! {
    panic!("index out of bounds: the len is {len} but the index is {i}")
}

impl<'a, R: Pod, A: Access> IntoIterator for &'a Store<R, A> {
    type Item = &'a R;
    type IntoIter = std::slice::Iter<'a, R>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::record! {
        #[repr(C)]
        struct Pair { a: u32, b: u32 }
    }

    #[test]
    fn stores_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Store<Pair>>();
        check::<Store<Pair, ReadOnly>>();
        check::<crate::SlotStore<String>>();
        check::<Table>();
    }
}
