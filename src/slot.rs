//! Layer 6: [`SlotStore<T>`], serde values in fixed-size slots, encoded with bincode.

use crate::error::{Error, Result};
use crate::format::{Kind, Superblock};
use crate::schema::{FieldType, Layout, Schema};
use crate::store::{StoreOptions, check_schema};
use crate::table::{Growth, Table};
use crate::txn::TableTransaction;
use bincode::error::DecodeError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::path::Path;

const PREFIX: usize = 4;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Decodes a slot's body. bincode allocates the length a string or byte buffer claims
/// before it reads it, so a crafted slot could claim 1 TiB and abort the process. A
/// limit on the bytes claimed stops that: a valid body never claims more than 16 bytes
/// (a `u128`) per byte it holds (tests/hostile.rs).
fn decode<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<(T, usize), DecodeError> {
    macro_rules! limited {
        ($($limit:expr),*) => {$(
            if body.len().saturating_mul(16) <= $limit {
                return bincode::serde::decode_from_slice(body, config().with_limit::<{ $limit }>());
            }
        )*};
    }
    limited!(1 << 12, 1 << 16, 1 << 20, 1 << 24, 1 << 28);
    #[cfg(target_pointer_width = "64")]
    limited!(1 << 32, 1 << 36);
    bincode::serde::decode_from_slice(body, config().with_limit::<{ usize::MAX }>())
}

/// The schema of a slot file: `len:u32,value:bytes[slot_size - 4]`, packed.
fn slot_schema(slot_size: usize) -> Result<Schema> {
    let value = slot_size
        .checked_sub(PREFIX)
        .filter(|&n| n > 0)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| Error::InvalidSchema {
            detail: format!("slot size {slot_size} must be from 5 bytes to 4 GiB"),
        })?;
    Schema::from_fields(
        Layout::Packed,
        [("len", FieldType::U32), ("value", FieldType::Bytes(value))],
    )
}

/// A file of serde values, each encoded with bincode 2 into a fixed-size slot with its
/// length. Same header, flush and growth as [`Store`](crate::Store); each slot is
/// `len: u32 LE` then `len` bytes of bincode (standard config), then zeros.
///
/// # Examples
///
/// ```
/// use fixrec::SlotStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Player { name: String, scores: Vec<u32> }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("players.fxs");
/// let mut players = SlotStore::<Player>::create(&path, 64)?;
/// let i = players.push(&Player { name: "Guo Jing".into(), scores: vec![3, 5] })?;
/// players.flush()?;
/// drop(players);
///
/// let players = SlotStore::<Player>::open(&path)?;
/// assert_eq!(players.get(i)?.scores, [3, 5]);
/// let long = Player { name: "x".repeat(100), scores: vec![] };
/// # let mut players = players;
/// assert!(players.push(&long).is_err()); // 101 bytes do not fit a 64-byte slot
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SlotStore<T> {
    table: Table,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> std::fmt::Debug for SlotStore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotStore")
            .field("path", &self.table.path())
            .field("len", &self.table.len())
            .field("slot_size", &self.table.record_size())
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> SlotStore<T> {
    /// Creates a slot file at `path` with `slot_size`-byte slots (4 of them hold the
    /// length).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] for a slot size under 5; [`Error::AlreadyExists`].
    pub fn create(path: impl AsRef<Path>, slot_size: usize) -> Result<Self> {
        Self::create_with(path, slot_size, &StoreOptions::new())
    }

    /// Creates a slot file with the capacity, growth and log size of `options`.
    pub fn create_with(
        path: impl AsRef<Path>,
        slot_size: usize,
        options: &StoreOptions,
    ) -> Result<Self> {
        let schema = slot_schema(slot_size)?;
        let cap = options.capacity_for(slot_size as u64);
        let sb = Superblock::new(schema, Kind::Slots);
        let table = Table::create_native(path.as_ref(), sb, cap, options.growth_policy())?;
        Ok(SlotStore {
            table: options.with_log_size(table),
            _type: PhantomData,
        })
    }

    /// Opens a slot file for writing; its slot size comes from its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let table = Table::open_native(path, true, Growth::default(), |sb| {
            let size = sb.schema.record_size() as usize;
            check_schema(path, &slot_schema(size)?, Kind::Slots, sb)
        })?;
        Ok(SlotStore {
            table,
            _type: PhantomData,
        })
    }

    /// Values in the store.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether it holds no values.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Slots it has room for before it grows.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Bytes per slot, the length prefix included.
    pub fn slot_size(&self) -> usize {
        self.table.record_size()
    }

    /// Decodes value `i`.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::Codec`] for a slot that does not decode as
    /// a `T`.
    pub fn get(&self, i: usize) -> Result<T> {
        let slot = self.table.record(i).ok_or(Error::IndexOutOfRange {
            index: i as u64,
            len: self.len() as u64,
        })?;
        decode_slot(slot, i)
    }

    /// Encodes `value` into slot `i`, in place. Nothing is written if it does not fit.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::SlotTooSmall`] naming both sizes.
    pub fn set(&mut self, i: usize, value: &T) -> Result<()> {
        let slot = self.encode(value)?;
        // Written with pwrite, as `Store::set`: the next flush writes back its blocks only.
        self.table.write_record(i, &slot)
    }

    /// Appends `value` and returns its index.
    ///
    /// # Errors
    ///
    /// [`Error::SlotTooSmall`] naming both sizes; an IO error when the file cannot grow.
    pub fn push(&mut self, value: &T) -> Result<usize> {
        let slot = self.encode(value)?;
        self.table.append(&slot)
    }

    /// Iterates over the decoded values.
    pub fn iter(&self) -> impl Iterator<Item = Result<T>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Shortens the store to `len` values. Committed by the next `flush`.
    pub fn truncate(&mut self, len: usize) {
        self.table.truncate(len)
    }

    /// Makes room for at least `additional` more values.
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        self.table.reserve(additional)
    }

    /// The durability point; see [`Store::flush`](crate::Store::flush).
    pub fn flush(&mut self) -> Result<()> {
        self.table.flush()
    }

    /// Checks the header and every slot's length prefix.
    pub fn verify(&self) -> Result<()> {
        self.table.verify()
    }

    /// The untyped table underneath.
    pub fn table(&self) -> &Table {
        &self.table
    }

    fn encode(&self, value: &T) -> Result<Vec<u8>> {
        let mut slot = vec![0u8; self.slot_size()];
        encode_slot(value, &mut slot, self.len())?;
        Ok(slot)
    }

    /// Starts a write transaction: values set by index and pushed, read back by the
    /// transaction itself, that become durable and visible all together at
    /// [`commit`](crate::SlotTransaction::commit), or not at all (drop it, or crash
    /// before `commit` returns). A commit is one sequential write to the store's log and
    /// one sync. [`set`](SlotStore::set) and [`push`](SlotStore::push) with
    /// [`flush`](SlotStore::flush) stay the fast way to change many values: durable at
    /// the flush, but not atomic.
    ///
    /// Appends or truncations not yet flushed are committed first, as `flush` does.
    ///
    /// # Errors
    ///
    /// [`Error::NoTransactions`] for a format version 1 file; [`Error::SyncFailed`]
    /// after a failed sync; an IO error.
    ///
    /// # Examples
    ///
    /// ```
    /// use fixrec::{Error, SlotStore};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize, Debug, PartialEq)]
    /// struct Player { name: String, scores: Vec<u32> }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut players = SlotStore::<Player>::create(dir.path().join("players.fxs"), 64)?;
    /// players.push(&Player { name: "Guo Jing".into(), scores: vec![3] })?;
    /// players.flush()?;
    ///
    /// let mut txn = players.transaction()?;
    /// let mut p = txn.get(0)?;
    /// p.scores.push(5);
    /// txn.set(0, &p)?;                  // both values, or neither
    /// txn.push(&Player { name: "Huang Rong".into(), scores: vec![] })?;
    /// assert_eq!(txn.get(0)?.scores, [3, 5]); // the transaction reads its own writes
    /// let long = Player { name: "x".repeat(100), scores: vec![] };
    /// assert!(matches!(txn.push(&long), Err(Error::SlotTooSmall { .. }))); // refused; the rest stays
    /// txn.commit()?;                    // durable and visible, all together
    /// assert_eq!(players.len(), 2);
    /// assert_eq!(players.get(0)?.scores, [3, 5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transaction(&mut self) -> Result<SlotTransaction<'_, T>> {
        Ok(SlotTransaction {
            scratch: vec![0u8; self.slot_size()],
            txn: self.table.transaction()?,
            _type: PhantomData,
        })
    }
}

/// Decodes slot `i`'s bytes (the length prefix, then the body).
fn decode_slot<T: DeserializeOwned>(slot: &[u8], i: usize) -> Result<T> {
    let codec = |detail: String| Error::Codec {
        index: i as u64,
        detail,
    };
    let n = u32::from_le_bytes(slot[..PREFIX].try_into().expect("4 bytes")) as usize;
    let body = slot[PREFIX..].get(..n).ok_or_else(|| {
        codec(format!(
            "length prefix {n} exceeds the slot's {} bytes",
            slot.len() - PREFIX
        ))
    })?;
    let (value, used) = decode(body).map_err(|e| codec(format!("cannot decode: {e}")))?;
    if used != n {
        return Err(codec(format!(
            "{} of {n} bytes left after decoding",
            n - used
        )));
    }
    Ok(value)
}

/// Encodes `value` into `slot` (one slot's bytes): the length, the body, then zeros.
/// `index` names the slot in a codec error. On error `slot` holds garbage.
fn encode_slot<T: Serialize>(value: &T, slot: &mut [u8], index: usize) -> Result<()> {
    match bincode::serde::encode_into_slice(value, &mut slot[PREFIX..], config()) {
        Ok(n) => {
            slot[..PREFIX].copy_from_slice(&(n as u32).to_le_bytes());
            slot[PREFIX + n..].fill(0);
            Ok(())
        }
        Err(bincode::error::EncodeError::UnexpectedEnd) => {
            let needed = bincode::serde::encode_to_vec(value, config())
                .map(|v| v.len())
                .unwrap_or(usize::MAX);
            Err(Error::SlotTooSmall {
                needed,
                slot_size: slot.len(),
            })
        }
        Err(e) => Err(Error::Codec {
            index: index as u64,
            detail: format!("cannot encode: {e}"),
        }),
    }
}

/// A write transaction on a [`SlotStore<T>`]: values set by index and pushed, decoded
/// back by the transaction itself, that become durable and visible together at
/// [`commit`](SlotTransaction::commit), or not at all (drop it). Built on the table's
/// [`TableTransaction`]; see [`SlotStore::transaction`].
///
/// A value is encoded when it is set or pushed, so a value too large for its slot is
/// refused there ([`Error::SlotTooSmall`]), and the transaction goes on without it.
pub struct SlotTransaction<'s, T> {
    txn: TableTransaction<'s>,
    /// One slot, to encode into before the bytes go to the transaction.
    scratch: Vec<u8>,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> std::fmt::Debug for SlotTransaction<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotTransaction")
            .field("len", &self.txn.len())
            .field("slot_size", &self.scratch.len())
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> SlotTransaction<'_, T> {
    /// Values as the transaction sees them: the store's, plus its pushes.
    pub fn len(&self) -> usize {
        self.txn.len()
    }

    /// Whether it sees no values.
    pub fn is_empty(&self) -> bool {
        self.txn.is_empty()
    }

    /// Decodes value `i` as the transaction sees it (its own write if it made one).
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::Codec`] for a slot that does not decode as
    /// a `T`.
    pub fn get(&self, i: usize) -> Result<T> {
        let slot = self.txn.record(i).ok_or(Error::IndexOutOfRange {
            index: i as u64,
            len: self.len() as u64,
        })?;
        decode_slot(slot, i)
    }

    /// Replaces value `i` (one of the store's, or one the transaction pushed). Nothing
    /// changes if it fails.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`]; [`Error::SlotTooSmall`] naming both sizes.
    pub fn set(&mut self, i: usize, value: &T) -> Result<()> {
        let len = self.len();
        if i >= len {
            return Err(Error::IndexOutOfRange {
                index: i as u64,
                len: len as u64,
            });
        }
        encode_slot(value, &mut self.scratch, i)?;
        self.txn.write_record(i, &self.scratch)
    }

    /// Appends `value`; returns its index. Nothing changes if it fails.
    ///
    /// # Errors
    ///
    /// [`Error::SlotTooSmall`] naming both sizes.
    pub fn push(&mut self, value: &T) -> Result<usize> {
        let i = self.len();
        encode_slot(value, &mut self.scratch, i)?;
        self.txn.append(&self.scratch)
    }

    /// Iterates over the decoded values as the transaction sees them.
    pub fn iter(&self) -> impl Iterator<Item = Result<T>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Makes every write of the transaction durable and visible, all together: see
    /// [`TableTransaction::commit`].
    ///
    /// # Errors
    ///
    /// As [`TableTransaction::commit`].
    pub fn commit(self) -> Result<()> {
        self.txn.commit()
    }
}
