//! Layer 6: write transactions over a [`Table`] and a [`Store<R>`](crate::Store) (the
//! [`SlotStore`](crate::SlotStore)'s, built on the table's, is with the slot store).
//!
//! A transaction keeps its writes in its own memory (copies of the records it changes,
//! and the records it appends) and reads through them, so it sees its own writes while
//! the map, and every reader, still sees the last committed state. `commit` writes them
//! all as one entry of the store's transaction log with one sync, then applies them to
//! the records (see the table's `log` module); dropping the transaction forgets them.

use crate::error::{Error, Result};
use crate::table::Table;
use bytemuck::Pod;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// A write transaction on a [`Table`]: records as bytes. See [`Table::transaction`].
///
/// # Examples
///
/// ```
/// use fixrec::{FieldType, Layout, Schema, StoreOptions, Table};
///
/// let schema = Schema::from_fields(Layout::C, [("balance", FieldType::I64)])?;
/// let dir = tempfile::tempdir()?;
/// let mut table = Table::create(dir.path().join("accounts.fxr"), schema, &StoreOptions::new())?;
/// table.append(&[100i64.to_le_bytes(), 0i64.to_le_bytes()].concat())?;
/// table.flush()?;
///
/// let mut txn = table.transaction()?;
/// txn.write_record(0, &60i64.to_le_bytes())?; // a transfer of 40: both or neither
/// txn.write_record(1, &40i64.to_le_bytes())?;
/// assert_eq!(txn.record(1), Some(&40i64.to_le_bytes()[..])); // its own writes
/// txn.commit()?;
/// assert_eq!(table.record(1), Some(&40i64.to_le_bytes()[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TableTransaction<'t> {
    table: &'t mut Table,
    /// Updated records below the base len: index to new bytes.
    writes: BTreeMap<usize, Box<[u8]>>,
    /// Appended records, from the base len on.
    appended: Vec<u8>,
    base_len: usize,
}

impl Table {
    /// Starts a write transaction: updates and appends that become durable and visible
    /// together at [`commit`](TableTransaction::commit), or not at all (drop the
    /// transaction, or crash, before `commit` returns).
    ///
    /// Appends or truncations made through the table and not yet flushed are committed
    /// first (as [`flush`](Table::flush) does): a transaction builds on a committed len.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`]; [`Error::NoTransactions`] for a headerless file, a shared
    /// store or a format version 1 file; [`Error::SyncFailed`] after a failed sync; an
    /// IO error from the flush.
    pub fn transaction(&mut self) -> Result<TableTransaction<'_>> {
        self.begin_transaction()?;
        Ok(TableTransaction {
            base_len: self.len(),
            table: self,
            writes: BTreeMap::new(),
            appended: Vec::new(),
        })
    }
}

impl TableTransaction<'_> {
    /// Records as the transaction sees them: the store's, plus its appends.
    pub fn len(&self) -> usize {
        self.base_len + self.appended.len() / self.table.record_size()
    }

    /// Whether it sees no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record `i` as the transaction sees it (its own write if it made one).
    pub fn record(&self, i: usize) -> Option<&[u8]> {
        let rs = self.table.record_size();
        if i >= self.base_len {
            return self
                .appended
                .get((i - self.base_len) * rs..(i - self.base_len + 1) * rs);
        }
        match self.writes.get(&i) {
            Some(bytes) => Some(bytes),
            None => self.table.record(i),
        }
    }

    /// Record `i`, writable: a private copy until commit.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`].
    pub fn record_mut(&mut self, i: usize) -> Result<&mut [u8]> {
        let (rs, len) = (self.table.record_size(), self.len());
        if i >= len {
            return Err(Error::IndexOutOfRange {
                index: i as u64,
                len: len as u64,
            });
        }
        if i >= self.base_len {
            let at = (i - self.base_len) * rs;
            return Ok(&mut self.appended[at..at + rs]);
        }
        let table = &*self.table;
        Ok(self
            .writes
            .entry(i)
            .or_insert_with(|| table.record(i).expect("below the base len").into()))
    }

    /// Replaces record `i`.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::InvalidArgument`] if `bytes` is not one
    /// record.
    pub fn write_record(&mut self, i: usize, bytes: &[u8]) -> Result<()> {
        check_one(bytes.len(), self.table.record_size())?;
        self.record_mut(i)?.copy_from_slice(bytes);
        Ok(())
    }

    /// Appends whole records from `bytes`; returns the index of the first.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `bytes` is not a whole number of records.
    pub fn append(&mut self, bytes: &[u8]) -> Result<usize> {
        let rs = self.table.record_size();
        if !bytes.len().is_multiple_of(rs) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes are not a whole number of {rs}-byte records",
                bytes.len()
            )));
        }
        let first = self.len();
        self.appended.extend_from_slice(bytes);
        Ok(first)
    }

    /// Makes every write of the transaction durable and visible, all together: one
    /// log entry written and synced, then the records updated in the file. After a
    /// crash or a power cut at any moment, the store holds all of the transaction (if
    /// the log's sync completed) or none of it.
    ///
    /// # Errors
    ///
    /// An IO error (a full disk when the file must grow, among them): then nothing of
    /// the transaction is visible in this handle, and after reopening the store holds
    /// all of it or none. A failed sync latches, as in [`Table::flush`].
    pub fn commit(self) -> Result<()> {
        let new_len = self.len();
        let Self {
            table,
            writes,
            appended,
            base_len,
        } = self;
        let rs = table.record_size();
        table.commit_transaction(new_len, |entry| {
            for (&i, bytes) in &writes {
                entry.record(i as u64, bytes);
            }
            for (k, bytes) in appended.chunks_exact(rs).enumerate() {
                entry.record((base_len + k) as u64, bytes);
            }
        })
    }
}

fn check_one(got: usize, rs: usize) -> Result<()> {
    if got == rs {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{got} bytes are not one {rs}-byte record"
        )))
    }
}

/// A write transaction on a [`Store<R>`](crate::Store): typed records, read and written
/// like the store's, that become durable and visible together at
/// [`commit`](Transaction::commit), or not at all. See
/// [`Store::transaction`](crate::Store::transaction).
pub struct Transaction<'s, R> {
    table: &'s mut Table,
    writes: BTreeMap<usize, R>,
    appended: Vec<R>,
    base_len: usize,
    _record: PhantomData<R>,
}

impl<'s, R: Pod> Transaction<'s, R> {
    pub(crate) fn begin(table: &'s mut Table) -> Result<Self> {
        table.begin_transaction()?;
        Ok(Transaction {
            base_len: table.len(),
            table,
            writes: BTreeMap::new(),
            appended: Vec::new(),
            _record: PhantomData,
        })
    }

    /// Records as the transaction sees them: the store's, plus its appends.
    pub fn len(&self) -> usize {
        self.base_len + self.appended.len()
    }

    /// Whether it sees no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record `i` as the transaction sees it (its own write if it made one), or `None`
    /// past the end.
    pub fn get(&self, i: usize) -> Option<&R> {
        if i >= self.base_len {
            return self.appended.get(i - self.base_len);
        }
        match self.writes.get(&i) {
            Some(r) => Some(r),
            None => self.table.record(i).map(bytemuck::from_bytes),
        }
    }

    /// Record `i`, writable (a private copy until commit), or `None` past the end.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut R> {
        if i >= self.base_len {
            return self.appended.get_mut(i - self.base_len);
        }
        let table = &*self.table;
        Some(
            self.writes.entry(i).or_insert_with(|| {
                *bytemuck::from_bytes(table.record(i).expect("below the base len"))
            }),
        )
    }

    /// Replaces record `i`.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`].
    pub fn set(&mut self, i: usize, record: R) -> Result<()> {
        let len = self.len();
        match self.get_mut(i) {
            Some(r) => {
                *r = record;
                Ok(())
            }
            None => Err(Error::IndexOutOfRange {
                index: i as u64,
                len: len as u64,
            }),
        }
    }

    /// Appends a record; returns its index.
    pub fn push(&mut self, record: R) -> usize {
        self.appended.push(record);
        self.len() - 1
    }

    /// Appends all of `records`.
    pub fn extend_from_slice(&mut self, records: &[R]) {
        self.appended.extend_from_slice(records);
    }

    /// Makes every write of the transaction durable and visible, all together: see
    /// [`TableTransaction::commit`].
    ///
    /// # Errors
    ///
    /// As [`TableTransaction::commit`].
    pub fn commit(self) -> Result<()> {
        let new_len = self.len();
        let Self {
            table,
            writes,
            appended,
            base_len,
            ..
        } = self;
        table.commit_transaction(new_len, |entry| {
            for (&i, r) in &writes {
                entry.record(i as u64, bytemuck::bytes_of(r));
            }
            for (k, r) in appended.iter().enumerate() {
                entry.record((base_len + k) as u64, bytemuck::bytes_of(r));
            }
        })
    }
}

impl<R: Pod> Index<usize> for Transaction<'_, R> {
    type Output = R;

    /// # Panics
    ///
    /// If `i >= len`, like a slice. Use [`Transaction::get`] for an `Option`.
    fn index(&self, i: usize) -> &R {
        let len = self.len();
        self.get(i)
            .unwrap_or_else(|| panic!("index {i} out of range for a transaction of len {len}"))
    }
}

impl<R: Pod> IndexMut<usize> for Transaction<'_, R> {
    /// # Panics
    ///
    /// If `i >= len`, like a slice. Use [`Transaction::get_mut`] for an `Option`.
    fn index_mut(&mut self, i: usize) -> &mut R {
        let len = self.len();
        self.get_mut(i)
            .unwrap_or_else(|| panic!("index {i} out of range for a transaction of len {len}"))
    }
}
