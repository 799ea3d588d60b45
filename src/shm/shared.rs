//! [`SharedStore<R>`]: a store in a named region that one process updates while others
//! read, with no torn record ever returned.

use super::name::Name;
use super::region::{self, Lifetime, RegionOptions};
use super::seqlock::{self, Area};
use crate::backing::Backing;
use crate::error::{Error, Result};
use crate::format::{self, Kind, SHARED_STRIPES, Superblock};
use crate::record::Record;
use crate::schema::Schema;
use crate::store::{Access, ReadOnly, ReadWrite, Store, check_schema};
use crate::table::{Growth, Table};
use bytemuck::Pod;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, Instant};

/// How long a reader waits by default for a live writer to finish updating a record.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A store of `R` records in a named shared-memory region, with the same header as a
/// store file (kind 2: `docs/FORMAT.md`, "Shared-memory stores"). One process writes it
/// (`SharedStore<R>`, refused to a second writer with [`Error::Locked`]); any number read
/// it (`SharedStore<R, ReadOnly>`, mapped read-only).
///
/// Records are read and written by copy, not by reference, because another process may
/// change them at any moment: [`read`](SharedStore::read) returns a whole record as it
/// was before or after each update, never a mix (a sequence lock, with atomic accesses).
///
/// - An update ([`set`](SharedStore::set), [`update`](SharedStore::update),
///   [`begin`](SharedStore::begin)) is visible to readers at once.
/// - An append ([`push`](SharedStore::push)) is visible after
///   [`flush`](SharedStore::flush) and the reader's [`refresh`](SharedStore::refresh),
///   which also picks up growth.
/// - A writer that dies in the middle of an update is detected: readers of that record
///   get [`Error::WriterDied`] (a live writer that takes longer than the
///   [timeout](SharedStore::set_timeout) gives [`Error::WriterStalled`]); they never hang.
///   The next writer to open the store rolls the update back.
///
/// # Examples
///
/// ```
/// use fixrec::{Store, record};
///
/// record! {
///     #[repr(C)]
///     #[derive(Debug, PartialEq)]
///     pub struct Tick { pub seq: u64, pub price: f64 }
/// }
///
/// let name = format!("fixrec-doc-shared-{}", std::process::id());
/// let mut writer = Store::<Tick>::create_shared(&name, 1000)?;
/// writer.push(Tick { seq: 1, price: 10.5 })?;
/// writer.flush()?; // publishes the new len
///
/// // In another process (here, another handle):
/// let mut reader = Store::<Tick>::open_shared_read_only(&name)?;
/// assert_eq!(reader.read(0)?, Tick { seq: 1, price: 10.5 });
/// writer.update(0, |t| t.price = 11.0)?; // visible at once, never torn
/// assert_eq!(reader.read(0)?.price, 11.0);
/// writer.push(Tick { seq: 2, price: 12.0 })?;
/// writer.flush()?;
/// reader.refresh()?;
/// assert_eq!(reader.len(), 2);
/// fixrec::shm::Region::remove(&name)?;
/// # Ok::<(), fixrec::Error>(())
/// ```
pub struct SharedStore<R, A: Access = ReadWrite> {
    table: Table,
    name: Name,
    area: Area,
    timeout: Duration,
    retries: AtomicU64,
    repaired: Option<u64>,
    remove_on_drop: bool,
    _types: PhantomData<(R, A)>,
}

impl<R, A: Access> std::fmt::Debug for SharedStore<R, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore")
            .field("name", &self.name.as_str())
            .field("len", &self.table.len())
            .field("capacity", &self.table.capacity())
            .finish()
    }
}

impl<R: Record> Store<R> {
    /// Creates a [`SharedStore`] of `R` records in a new region `name`, with room for
    /// `capacity` records. See [`SharedStore::create`].
    ///
    /// # Errors
    ///
    /// As [`SharedStore::create`].
    pub fn create_shared(name: &str, capacity: u64) -> Result<SharedStore<R>> {
        SharedStore::create(name, capacity)
    }

    /// Opens the [`SharedStore`] in region `name` as its one writer. See
    /// [`SharedStore::open`].
    ///
    /// # Errors
    ///
    /// As [`SharedStore::open`].
    pub fn open_shared(name: &str) -> Result<SharedStore<R>> {
        SharedStore::open(name)
    }

    /// Opens the [`SharedStore`] in region `name` as a reader, mapped read-only.
    ///
    /// # Errors
    ///
    /// As [`SharedStore::open_read_only`].
    pub fn open_shared_read_only(name: &str) -> Result<SharedStore<R, ReadOnly>> {
        SharedStore::open_read_only(name)
    }
}

impl<R: Record> SharedStore<R> {
    /// Creates region `name` (mode 0600, persistent) holding an empty store with room
    /// for `capacity` records, and opens it as its writer.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if the name exists; [`Error::InvalidName`]; an IO error
    /// (no space in `/dev/shm` among them).
    pub fn create(name: &str, capacity: u64) -> Result<SharedStore<R>> {
        Self::create_with(name, capacity, &RegionOptions::new())
    }

    /// Creates the store with the mode and [`Lifetime`] of `options`.
    ///
    /// # Errors
    ///
    /// As [`SharedStore::create`].
    pub fn create_with(
        name: &str,
        capacity: u64,
        options: &RegionOptions,
    ) -> Result<SharedStore<R>> {
        let name = Name::new(name)?;
        options.check_mode()?;
        let sb = Superblock::new(R::schema()?, Kind::Shared);
        let size = Table::native_size(&sb, capacity).unwrap_or(0);
        let backing = region::create_object(&name, size, options.mode_bits())?;
        match Table::init(backing, sb, capacity, Growth::default()) {
            Ok(table) => {
                let mut store = Self::wrap(table, name);
                store.remove_on_drop = options.lifetime_kind() == Lifetime::RemoveOnDrop;
                Ok(store)
            }
            Err(e) => {
                let _ = region::unlink(&name);
                Err(e)
            }
        }
    }

    /// Opens the store in region `name` as its one writer. If the previous writer died
    /// in the middle of an update, that update is rolled back first (see
    /// [`repaired`](SharedStore::repaired)).
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] while another process writes it; [`Error::SchemaMismatch`] or
    /// [`Error::RecordSizeMismatch`] if it holds other records (or is not a shared
    /// store); every bad-header kind of [`Error`]; an IO error.
    pub fn open(name: &str) -> Result<SharedStore<R>> {
        let mut store = Self::open_as(name, true)?;
        store.repair();
        Ok(store)
    }
}

impl<R: Record> SharedStore<R, ReadOnly> {
    /// Opens the store in region `name` as a reader, mapped read-only.
    ///
    /// # Errors
    ///
    /// As [`SharedStore::open`], without [`Error::Locked`].
    pub fn open_read_only(name: &str) -> Result<SharedStore<R, ReadOnly>> {
        Self::open_as(name, false)
    }
}

impl<R: Record, A: Access> SharedStore<R, A> {
    fn open_as(name: &str, writable: bool) -> Result<SharedStore<R, A>> {
        let expected = R::schema()?;
        Self::open_checked(name, writable, |path, sb| {
            check_schema(path, &expected, Kind::Shared, sb)
        })
    }
}

impl<R: Pod, A: Access> SharedStore<R, A> {
    /// Opens region `name`, whose superblock `check` accepts or refuses.
    fn open_checked(
        name: &str,
        writable: bool,
        check: impl FnOnce(&Path, &Superblock) -> Result<()>,
    ) -> Result<SharedStore<R, A>> {
        let name = Name::new(name)?;
        let path = name.display_path();
        let backing = region::open_object(&name, writable)?;
        let table =
            Table::open_native_on(backing, writable, Growth::default(), |sb| check(&path, sb))?;
        Ok(Self::wrap(table, name))
    }
}

/// The writer of a shared store whose record type is known only at run time (the
/// command line's `set` and `push` on `shm:NAME`): records as bytes, with the same
/// sequence-locked updates as [`SharedStore`].
///
/// # Examples
///
/// ```
/// use fixrec::shm::SharedTable;
/// use fixrec::{Store, record};
///
/// record! {
///     #[repr(C)]
///     pub struct Pair { pub a: u32, pub b: u32 }
/// }
///
/// let name = format!("fixrec-doc-table-{}", std::process::id());
/// drop(Store::<Pair>::create_shared(&name, 4)?);
/// let mut table = SharedTable::open(&name)?;
/// let i = table.append(&[1, 0, 0, 0, 2, 0, 0, 0])?;
/// table.set(i, &[3, 0, 0, 0, 4, 0, 0, 0])?;
/// table.flush()?;
/// let reader = Store::<Pair>::open_shared_read_only(&name)?;
/// assert_eq!((reader.read(0)?.a, reader.read(0)?.b), (3, 4));
/// fixrec::shm::Region::remove(&name)?;
/// # Ok::<(), fixrec::Error>(())
/// ```
pub struct SharedTable<A: Access = ReadWrite> {
    // `u8` only names no record type: every access below goes by the table's record
    // size, never by `size_of::<R>()`.
    store: SharedStore<u8, A>,
}

fn expect_shared(path: &Path, sb: &Superblock) -> Result<()> {
    if sb.kind != Kind::Shared {
        return Err(Error::SchemaMismatch {
            path: path.into(),
            detail: format!("expected a shared store but this one holds {:?}", sb.kind),
        });
    }
    Ok(())
}

impl SharedTable<ReadOnly> {
    /// Opens the shared store in region `name` as a reader, whatever its schema.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] if the region holds no shared store; the errors of
    /// [`SharedStore::open_read_only`].
    pub fn open_read_only(name: &str) -> Result<SharedTable<ReadOnly>> {
        let store = SharedStore::<u8, ReadOnly>::open_checked(name, false, expect_shared)?;
        Ok(SharedTable { store })
    }
}

impl<A: Access> SharedTable<A> {
    /// The table underneath: its schema, len and record size (its in-place writes are
    /// not for shared stores; use [`SharedTable::set`]).
    pub fn table(&self) -> &Table {
        &self.store.table
    }

    /// Copies record `i` into `out` (one record long) under its sequence lock.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::InvalidArgument`] for a wrong length;
    /// [`Error::WriterDied`] or [`Error::WriterStalled`] as for [`SharedStore::read`].
    pub fn read(&self, i: usize, out: &mut [u8]) -> Result<()> {
        self.check_len(out.len())?;
        self.store.read_bytes(i, out)
    }

    /// [`Table::verify`], with each record read under its sequence lock (a record
    /// caught mid-update is read again, not reported torn).
    ///
    /// # Errors
    ///
    /// As [`Table::verify`].
    pub fn verify(&self) -> Result<()> {
        self.store.table.verify_with(|i, out| self.read(i, out))
    }

    fn check_len(&self, n: usize) -> Result<()> {
        let rs = self.store.table.record_size();
        if n != rs {
            return Err(Error::InvalidArgument(format!(
                "{n} bytes are not one {rs}-byte record"
            )));
        }
        Ok(())
    }
}

impl SharedTable {
    /// Creates region `name` (mode 0600, persistent) holding an empty shared store of
    /// `schema` records with room for `capacity`, and opens it as its writer.
    ///
    /// # Errors
    ///
    /// As [`SharedStore::create`].
    pub fn create(name: &str, schema: Schema, capacity: u64) -> Result<SharedTable> {
        let name = Name::new(name)?;
        let options = RegionOptions::new();
        let sb = Superblock::new(schema, Kind::Shared);
        let size = Table::native_size(&sb, capacity).unwrap_or(0);
        let backing = region::create_object(&name, size, options.mode_bits())?;
        match Table::init(backing, sb, capacity, Growth::default()) {
            Ok(table) => Ok(SharedTable {
                store: SharedStore::wrap(table, name),
            }),
            Err(e) => {
                let _ = region::unlink(&name);
                Err(e)
            }
        }
    }

    /// Opens the shared store in region `name` as its one writer, whatever its schema;
    /// an update a dead writer left half done is rolled back first.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] if the region holds no shared store; [`Error::Locked`];
    /// the errors of [`SharedStore::open`].
    pub fn open(name: &str) -> Result<SharedTable> {
        let mut store = SharedStore::<u8>::open_checked(name, true, expect_shared)?;
        store.repair();
        Ok(SharedTable { store })
    }

    /// Replaces record `i` with `bytes`: readers see the old or the new record.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::InvalidArgument`] for a wrong length.
    pub fn set(&mut self, i: usize, bytes: &[u8]) -> Result<()> {
        self.check_len(bytes.len())?;
        let mut w = self.store.begin(i)?;
        w.write_bytes(0, bytes)?;
        w.commit();
        Ok(())
    }

    /// Appends whole records; readers see them after [`flush`](SharedTable::flush).
    ///
    /// # Errors
    ///
    /// As [`Table::append`].
    pub fn append(&mut self, bytes: &[u8]) -> Result<usize> {
        // Records past the committed len are read by nobody: a plain write is safe.
        let i = self.store.table.append(bytes)?;
        fence(Ordering::Release);
        Ok(i)
    }

    /// Shortens len to `len` (committed by the next flush). Readers that saw the longer
    /// len keep reading whole records: nothing is cut from the region.
    pub fn truncate(&mut self, len: usize) {
        self.store.table.truncate(len)
    }

    /// Publishes len and capacity to readers.
    ///
    /// # Errors
    ///
    /// An IO error.
    pub fn flush(&mut self) -> Result<()> {
        self.store.flush()
    }

    /// Gives up what a failed bulk load appended, and the room grown for it, as
    /// [`Table::roll_back_appends`] does: readers never saw those records, and closing
    /// commits nothing.
    ///
    /// # Errors
    ///
    /// As [`Table::roll_back_appends`].
    pub fn roll_back_appends(&mut self) -> Result<()> {
        self.store.table.roll_back_appends()
    }
}

impl<R: Pod, A: Access> SharedStore<R, A> {
    fn wrap(table: Table, name: Name) -> Self {
        let start = table
            .schema()
            .map_or(0, |s| format::data_offset(s) as usize);
        SharedStore {
            table,
            name,
            area: Area::new(start),
            timeout: DEFAULT_TIMEOUT,
            retries: AtomicU64::new(0),
            repaired: None,
            remove_on_drop: false,
            _types: PhantomData,
        }
    }

    /// The region's name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Records in the store, as of this handle's last commit or refresh.
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

    /// The untyped table underneath (header facts, and plain byte access for
    /// benchmarks and tools, without the consistency check).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// How long [`read`](SharedStore::read) waits for a live writer to finish an update
    /// before it gives up with [`Error::WriterStalled`]. A dead writer is reported as
    /// soon as it is seen, whatever the timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// How many times this handle's reads found a record being written and read it
    /// again (or waited for it): evidence that readers and the writer overlapped.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Whether another handle (in this or another process) holds this store for writing
    /// now. A writer asking about itself gets `false`: its own lock never conflicts.
    ///
    /// # Errors
    ///
    /// An IO error from `fcntl`.
    pub fn writer_alive(&self) -> Result<bool> {
        writer_alive(self.table.backing())
    }

    /// Record `i`, whole: as it was before or after any update, never a mix.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] past len; [`Error::WriterDied`] if the writer died in
    /// the middle of updating this record; [`Error::WriterStalled`] if a live writer
    /// took longer than the timeout.
    #[inline]
    pub fn read(&self, i: usize) -> Result<R> {
        let mut out = R::zeroed();
        self.read_bytes(i, bytemuck::bytes_of_mut(&mut out))?;
        Ok(out)
    }

    /// Copies record `i`'s bytes into `out` (exactly one record long) under the
    /// sequence lock.
    fn read_bytes(&self, i: usize, out: &mut [u8]) -> Result<()> {
        self.check_index(i)?;
        let base = self.table.map_ptr();
        let at = self.table.data_offset() + i * self.table.record_size();
        // SAFETY: the area lies below the data offset, inside the map; the map lives
        // while `&self` does (a remap needs `&mut self`); the word is accessed only
        // atomically, by every fixrec process.
        let seq = unsafe { seqlock::word(base, self.area.seq(i)) };
        let mut waiting: Option<(Instant, u32)> = None;
        loop {
            let s1 = seqlock::begin_read(seq);
            if s1 & 1 == 0 {
                // SAFETY: record `i < len <= capacity` is inside the map; its bytes are
                // written only with atomic stores.
                unsafe { seqlock::load_bytes(base.add(at), out) };
                if seqlock::end_read(seq, s1) {
                    return Ok(());
                }
            } else {
                self.wait(&mut waiting, seq, s1, i)?;
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits a little for the writer to finish an update of record `i` (sequence word
    /// `seq`, seen at the odd value `odd`): spins, then yields, then sleeps, checking
    /// that the writer is alive. Errors once it is dead or the timeout has passed.
    #[cold]
    fn wait(
        &self,
        waiting: &mut Option<(Instant, u32)>,
        seq: &AtomicU64,
        odd: u64,
        i: usize,
    ) -> Result<()> {
        let (since, rounds) = waiting.get_or_insert_with(|| (Instant::now(), 0));
        *rounds += 1;
        if *rounds < 100 {
            std::hint::spin_loop();
            return Ok(());
        }
        if *rounds < 200 {
            std::thread::yield_now();
            return Ok(());
        }
        // The writer lock goes with the writer's process: if nobody holds it while the
        // word still shows this update, the writer died in the middle of it.
        if !writer_alive(self.table.backing())? && seq.load(Ordering::Acquire) == odd {
            return Err(Error::WriterDied {
                path: self.name.display_path(),
                index: i as u64,
            });
        }
        let waited = since.elapsed();
        if waited > self.timeout {
            return Err(Error::WriterStalled {
                path: self.name.display_path(),
                index: i as u64,
                waited_ms: waited.as_millis() as u64,
            });
        }
        std::thread::sleep(Duration::from_micros(100));
        Ok(())
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i >= self.table.len() {
            return Err(Error::IndexOutOfRange {
                index: i as u64,
                len: self.table.len() as u64,
            });
        }
        Ok(())
    }
}

impl<R: Pod> SharedStore<R, ReadOnly> {
    /// Picks up the writer's latest commit: the new len, and growth (by remapping).
    /// Returns whether anything changed.
    ///
    /// # Errors
    ///
    /// Every bad-header kind of [`Error`]; an IO error.
    pub fn refresh(&mut self) -> Result<bool> {
        let changed = self.table.refresh()?;
        fence(Ordering::Acquire);
        Ok(changed)
    }
}

impl<R: Pod> SharedStore<R> {
    /// The record the previous writer was updating when it died, rolled back to its
    /// value before that update when this handle opened the store (`None` if the
    /// previous writer finished cleanly).
    pub fn repaired(&self) -> Option<u64> {
        self.repaired
    }

    /// Rolls back an update that a dead writer left half done, and evens every
    /// sequence word. Runs with the writer lock held, before any write.
    fn repair(&mut self) {
        let base = self.table.map_ptr();
        let rs = self.table.record_size();
        // SAFETY: the area lies below the data offset, inside the map we hold writable.
        let pending = unsafe { seqlock::word(base, self.area.pending()) };
        let p = pending.load(Ordering::Acquire);
        if let Some(i) = p.checked_sub(1).and_then(|i| usize::try_from(i).ok()) {
            // SAFETY: as above.
            let seq = unsafe { seqlock::word(base, self.area.seq(i)) };
            if i < self.table.capacity() && seq.load(Ordering::Acquire) & 1 == 1 {
                let mut undo = vec![0u8; rs];
                // SAFETY: the undo copy and record `i < capacity` are inside the map.
                unsafe {
                    seqlock::load_bytes(base.add(self.area.undo()), &mut undo);
                    seqlock::store_bytes(base.add(self.table.data_offset() + i * rs), &undo);
                }
                self.repaired = Some(i as u64);
            }
        }
        for stripe in 0..SHARED_STRIPES {
            // SAFETY: as above.
            let seq = unsafe { seqlock::word(base, self.area.stripe(stripe)) };
            let s = seq.load(Ordering::Acquire);
            if s & 1 == 1 {
                seq.store(s.wrapping_add(1), Ordering::Release);
            }
        }
        pending.store(0, Ordering::Release);
    }

    /// Starts an update of record `i`: readers wait (briefly) until it is committed or
    /// rolled back. Dropping the [`RecordWrite`] without
    /// [`commit`](RecordWrite::commit) rolls it back.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] past len.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Store, record};
    ///
    /// record! {
    ///     #[repr(C)]
    ///     pub struct Pair { pub a: u32, pub b: u32 }
    /// }
    ///
    /// let name = format!("fixrec-doc-begin-{}", std::process::id());
    /// let mut store = Store::<Pair>::create_shared(&name, 8)?;
    /// store.push(Pair { a: 1, b: 1 })?;
    /// let mut w = store.begin(0)?;
    /// w.write_bytes(0, &2u32.to_ne_bytes())?;
    /// w.write_bytes(4, &2u32.to_ne_bytes())?;
    /// w.commit(); // readers see a = b = 1, then a = b = 2, never a mix
    /// assert_eq!(store.read(0)?.b, 2);
    /// fixrec::shm::Region::remove(&name)?;
    /// # Ok::<(), fixrec::Error>(())
    /// ```
    pub fn begin(&mut self, i: usize) -> Result<RecordWrite<'_, R>> {
        self.check_index(i)?;
        // A `RecordWrite` leaked with `mem::forget` leaves its update open (the pending
        // word set, a sequence word odd): roll it back first, as for a writer that died.
        let base = self.table.map_ptr();
        // SAFETY: the word lies in the area, inside the map.
        if unsafe { seqlock::word(base, self.area.pending()) }.load(Ordering::Acquire) != 0 {
            self.repair();
        }
        let rs = self.table.record_size();
        let at = self.table.data_offset() + i * rs;
        let mut old = vec![0u8; rs];
        // SAFETY: the record (i < len) and the undo copy are inside the map we hold
        // writable; bytes others may read are accessed atomically.
        unsafe {
            seqlock::load_bytes(base.add(at), &mut old);
            seqlock::store_bytes(base.add(self.area.undo()), &old);
        }
        // SAFETY: both words lie in the area, inside the map.
        let (pending, seq) = unsafe {
            (
                seqlock::word(base, self.area.pending()),
                seqlock::word(base, self.area.seq(i)),
            )
        };
        let even = seqlock::begin_write(pending, seq, i as u64);
        Ok(RecordWrite {
            store: self,
            at,
            even,
            undo: old,
            committed: false,
        })
    }

    /// Replaces record `i`; readers see the old or the new record, never a mix.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] past len.
    pub fn set(&mut self, i: usize, record: &R) -> Result<()> {
        let mut w = self.begin(i)?;
        w.write(record);
        w.commit();
        Ok(())
    }

    /// Changes record `i` with `f` (on a copy, then written back as one update).
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] past len.
    pub fn update(&mut self, i: usize, f: impl FnOnce(&mut R)) -> Result<()> {
        let mut record = self.read(i)?;
        f(&mut record);
        self.set(i, &record)
    }

    /// Appends a record and returns its index; readers see it after
    /// [`flush`](SharedStore::flush) and their [`refresh`](SharedStore::refresh).
    ///
    /// # Errors
    ///
    /// An IO error when the region cannot grow (no space in `/dev/shm`): never a SIGBUS.
    pub fn push(&mut self, record: R) -> Result<usize> {
        // Records past the committed len are read by nobody, so a plain copy is safe.
        let i = self.table.append(bytemuck::bytes_of(&record))?;
        fence(Ordering::Release);
        Ok(i)
    }

    /// Makes room for at least `additional` more records (growing the region).
    ///
    /// # Errors
    ///
    /// An IO error when the region cannot grow.
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        self.table.reserve(additional)
    }

    /// Publishes len and capacity to readers (the meta commit of a store file).
    ///
    /// # Errors
    ///
    /// An IO error.
    pub fn flush(&mut self) -> Result<()> {
        fence(Ordering::Release);
        self.table.flush()
    }
}

impl<R, A: Access> Drop for SharedStore<R, A> {
    fn drop(&mut self) {
        if self.remove_on_drop {
            region::remove_if_ours(&self.name, self.table.backing());
        }
    }
}

/// One update of one record in progress: from [`SharedStore::begin`] to
/// [`commit`](RecordWrite::commit) (or a rollback when dropped uncommitted).
pub struct RecordWrite<'a, R: Pod> {
    store: &'a mut SharedStore<R>,
    at: usize,
    even: u64,
    undo: Vec<u8>,
    committed: bool,
}

impl<R: Pod> RecordWrite<'_, R> {
    /// Writes the whole record.
    pub fn write(&mut self, record: &R) {
        // SAFETY: the record is inside the writable map (checked by `begin`).
        unsafe {
            seqlock::store_bytes(
                self.store.table.map_ptr().add(self.at),
                bytemuck::bytes_of(record),
            )
        };
    }

    /// Writes `bytes` at `offset` in the record.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if they reach past the record's end.
    pub fn write_bytes(&mut self, offset: usize, bytes: &[u8]) -> Result<()> {
        let rs = self.undo.len();
        if offset.checked_add(bytes.len()).is_none_or(|end| end > rs) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes at offset {offset} reach past the end of a {rs}-byte record",
                bytes.len()
            )));
        }
        // SAFETY: `offset + len <= rs`: inside the record, inside the writable map.
        unsafe { seqlock::store_bytes(self.store.table.map_ptr().add(self.at + offset), bytes) };
        Ok(())
    }

    /// Ends the update: readers see the new record from now on.
    pub fn commit(mut self) {
        self.committed = true;
    }

    fn seq(&self) -> &AtomicU64 {
        let i = (self.at - self.store.table.data_offset()) / self.undo.len();
        // SAFETY: the word lies in the area, inside the map.
        unsafe { seqlock::word(self.store.table.map_ptr(), self.store.area.seq(i)) }
    }
}

impl<R: Pod> Drop for RecordWrite<'_, R> {
    fn drop(&mut self) {
        if !self.committed {
            // SAFETY: as in `write`.
            unsafe { seqlock::store_bytes(self.store.table.map_ptr().add(self.at), &self.undo) };
        }
        let base = self.store.table.map_ptr();
        // SAFETY: the word lies in the area, inside the map.
        let pending = unsafe { seqlock::word(base, self.store.area.pending()) };
        seqlock::end_write(pending, self.seq(), self.even);
    }
}

/// Whether any other handle holds the writer lock of `backing`, that is, whether a live
/// process writes it.
pub(crate) fn writer_alive(backing: &Backing) -> Result<bool> {
    backing.writer_locked_elsewhere()
}
