//! The transaction log of a table (format version 2): commit, checkpoint and recovery.
//!
//! A transaction's writes stay in its own memory until it commits (see the `txn` module);
//! nothing of it is in the shared map or the file before then, so the kernel's write-back
//! of dirty pages can never put an uncommitted write on the disk. The commit:
//!
//! 1. appends one entry (every changed record, whole, with its index; the new len; a
//!    CRC-32) to the log region with one `pwrite`, and syncs that range only
//!    (`msync(MS_SYNC)` of a map of the log: an fdatasync of the range, which writes the
//!    log's pages and not the data region's). Once that returns, the transaction is
//!    durable: a crash from here on finds the entry and redoes it;
//! 2. applies the records to the data region with `pwrite` (the page cache, which every
//!    map of the file shares, so readers see them), unsynced;
//! 3. if the len changed (appends), commits the new len to a meta slot and syncs it.
//!
//! A checkpoint (when the log is full, before growth, and in every `flush`, so on drop
//! too) syncs the data region, then commits a meta slot whose `log_seq` is the next
//! transaction's number: the entries before it are applied and durable, and the log is
//! written again from its start. Open redoes the entries numbered from `log_seq` on
//! (each must have the right magic, number and checksum; the first that has not ends
//! the log, so a torn tail is ignored) and checkpoints.

use super::{Format, Table};
use crate::error::{Error, Result};
use crate::format::log::{
    ENTRY_HEADER, EntryBuilder, LOG_ALIGN, decode_entry, log_offset, starts_entry,
};
use crate::format::{Kind, META_SIZE, Meta};
use crate::table::SyncStep;
use memmap2::{MmapOptions, MmapRaw};

/// The log's size when a store runs its first transaction (larger when one transaction
/// needs more). A bigger log means fewer checkpoints, each writing more records back.
pub(crate) const DEFAULT_LOG_BYTES: u64 = 4 << 20;

/// What a table knows of its log.
#[derive(Default)]
pub(crate) struct LogState {
    /// Whether the file can hold a log: format version 2, records or slots.
    capable: bool,
    /// The file's format version (0 for raw files).
    version: u32,
    /// The sequence number the next transaction gets.
    next_seq: u64,
    /// Bytes of the log holding entries since the last checkpoint.
    used: u64,
    /// A map of the log region, used only to sync it: (file offset, bytes, map).
    map: Option<(u64, u64, MmapRaw)>,
    builder: EntryBuilder,
    /// The size of a new log ([`DEFAULT_LOG_BYTES`] unless set).
    new_size: Option<u64>,
}

impl LogState {
    pub(super) fn new(committed: &Meta, version: u32, format: &Format) -> LogState {
        LogState {
            capable: version >= 2
                && matches!(
                    format,
                    Format::Native {
                        kind: Kind::Records | Kind::Slots
                    }
                ),
            version,
            next_seq: committed.log_seq,
            ..LogState::default()
        }
    }

    pub(super) fn version(&self) -> u32 {
        self.version
    }

    /// Whether every committed transaction is applied and synced.
    pub(super) fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// The sequence number a commit made now records as the log's start.
    pub(super) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// A commit that checkpointed (a `flush`) has made the log reusable.
    /// Forgets the log's map after the file was cut (the log, empty then, may have
    /// been cut with it): the next transaction reserves and writes its place again.
    pub(super) fn unmap(&mut self) {
        self.map = None;
    }

    pub(super) fn checkpointed(&mut self) {
        self.used = 0;
    }
}

impl Table {
    /// Sets the size a new transaction log gets (rounded up to 4096; one transaction
    /// that needs more gets more). A log that exists keeps its size until a transaction
    /// needs a larger one.
    pub fn set_log_size(&mut self, bytes: u64) {
        self.log.new_size = Some(bytes.max(1).next_multiple_of(LOG_ALIGN));
    }

    /// Refuses a transaction on a file that cannot hold a log.
    pub(crate) fn check_transactions(&self) -> Result<()> {
        self.check_writable()?;
        self.check_failed()?;
        if self.log.capable {
            return Ok(());
        }
        let detail = match self.format {
            Format::Raw => "a headerless file has no room for a transaction log; use a fixrec store (Store::create) for transactions".into(),
            Format::Native { kind: Kind::Shared } => "a shared-memory store updates records in place under sequence locks and has no transaction log".into(),
            Format::Native { .. } => "the file is format version 1, which predates the transaction log: it reads and writes as before (in place, durable at flush), but transactions need a store created by this version of fixrec (fixrec export, then fixrec import --create, copies it into one)".into(),
        };
        Err(Error::NoTransactions {
            path: self.path().into(),
            detail,
        })
    }

    /// Readies the table for a transaction: appends or truncations the fast path has
    /// not flushed yet are committed first (a transaction's len builds on a committed
    /// one), and staged appends go to the file.
    pub(crate) fn begin_transaction(&mut self) -> Result<()> {
        self.check_transactions()?;
        if self.len as u64 != self.committed.len || self.capacity as u64 != self.committed.capacity
        {
            self.flush()?;
        }
        self.write_staged()
    }

    /// Where the log starts, from the committed capacity.
    fn log_at(&self) -> Result<u64> {
        log_offset(
            self.data_offset as u64,
            self.committed.capacity,
            self.rs as u64,
        )
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: the log's offset overflows",
                self.path().display()
            ))
        })
    }

    fn next_generation(&self) -> Result<u64> {
        self.committed.generation.checked_add(1).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: the meta generation is at its limit (u64::MAX); the file's meta slot is corrupt",
                self.path().display()
            ))
        })
    }

    /// Writes `meta` into its slot and syncs it; on failure the slot is put back (the
    /// page cache must not hold a commit reported as failed).
    fn commit_meta(&mut self, meta: Meta) -> Result<()> {
        let at = meta.slot_offset();
        let mut before = [0u8; META_SIZE];
        before.copy_from_slice(&self.map.bytes()[at..at + META_SIZE]);
        self.map.bytes_mut()[at..at + META_SIZE].copy_from_slice(&meta.encode());
        if let Err(e) = self.sync(at, META_SIZE) {
            self.map.bytes_mut()[at..at + META_SIZE].copy_from_slice(&before);
            return Err(e);
        }
        self.committed = meta;
        Ok(())
    }

    /// Syncs `len` bytes of the log at file offset `at` (the sync hook sees it first).
    fn sync_log(&mut self, at: u64, len: usize) -> Result<()> {
        self.check_failed()?;
        let hooked = match &mut self.sync_hook {
            Some(hook) => hook(SyncStep {
                meta: false,
                offset: at as usize,
                len,
                cut: false,
            }),
            None => Ok(()),
        };
        let synced = hooked.and_then(|()| match &self.log.map {
            Some((base, _, map)) => map.flush_range((at - base) as usize, len),
            None => Err(std::io::Error::other("fixrec bug: the log is not mapped")),
        });
        if let Err(e) = synced {
            self.failed = Some(e.to_string());
            return Err(self.backing.err("sync the transaction log", e));
        }
        Ok(())
    }

    /// Applies the logged records to the data region and syncs it, then commits a meta
    /// slot that starts the log at the next transaction: the log's space is free again.
    /// Readers are not blocked: they read the map throughout.
    pub(crate) fn checkpoint_log(&mut self) -> Result<()> {
        if self.log.is_empty() {
            return Ok(());
        }
        let len = self.len.max(self.committed.len as usize);
        self.sync(self.data_offset, (len * self.rs).max(1))?;
        let meta = Meta {
            generation: self.next_generation()?,
            log_seq: self.log.next_seq,
            ..self.committed
        };
        self.commit_meta(meta)?;
        self.log.used = 0;
        Ok(())
    }

    /// Makes sure that a log of at least `need` bytes exists at the committed place,
    /// reserved, written (so that its syncs change no file-system metadata) and mapped.
    fn ensure_log(&mut self, need: u64) -> Result<()> {
        let at = self.log_at()?;
        if self.committed.log_size < need {
            self.checkpoint_log()?; // only an empty log changes size
            let size = need
                .next_multiple_of(LOG_ALIGN)
                .max(self.log.new_size.unwrap_or(DEFAULT_LOG_BYTES));
            self.prepare_log(at, size)?;
            let meta = Meta {
                generation: self.next_generation()?,
                log_seq: self.log.next_seq,
                log_size: size,
                ..self.committed
            };
            return self.commit_meta(meta);
        }
        let size = self.committed.log_size;
        if !matches!(&self.log.map, Some((a, s, _)) if (*a, *s) == (at, size)) {
            self.prepare_log(at, size)?;
        }
        Ok(())
    }

    fn prepare_log(&mut self, at: u64, size: u64) -> Result<()> {
        let end = at.checked_add(size).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: the log's end overflows",
                self.path().display()
            ))
        })?;
        let file_size = self.backing.size()?;
        let fresh = file_size < end;
        if fresh {
            self.backing.allocate(file_size, end)?;
        }
        let map = MmapOptions::new()
            .offset(at)
            .len(size as usize)
            .map_raw(self.backing.file())
            .map_err(|e| self.backing.err("map the transaction log", e))?;
        self.log.map = Some((at, size, map));
        if fresh {
            // Written zeros, not just reserved blocks: the first write to a reserved
            // (unwritten) extent changes metadata, which would make each commit's sync
            // a journal commit too.
            let zeros = vec![0u8; (1 << 20).min(size as usize)];
            let mut off = at;
            while off < end {
                let n = zeros.len().min((end - off) as usize);
                self.backing
                    .write_at(&zeros[..n], off, "write the transaction log")?;
                off += n as u64;
            }
            self.sync_log(at, size as usize)?;
        }
        Ok(())
    }

    /// Commits one transaction: `fill` adds its records (updates below the len, and
    /// appends from the len up to `new_len`, every one of them) to the entry.
    pub(crate) fn commit_transaction(
        &mut self,
        new_len: usize,
        fill: impl FnOnce(&mut EntryBuilder),
    ) -> Result<()> {
        self.check_transactions()?;
        if new_len > self.capacity {
            // Growth moves the log (it follows the data region): checkpoint, grow, and
            // commit the new capacity before the log is written at its new place.
            self.checkpoint_log()?;
            self.reserve(new_len - self.len)?;
            self.flush()?;
        }
        let mut builder = std::mem::take(&mut self.log.builder);
        builder.begin(self.log.next_seq, new_len as u64);
        fill(&mut builder);
        let result = if builder.count() == 0 && new_len == self.len {
            Ok(())
        } else {
            self.write_entry(builder.finish(), new_len)
        };
        self.log.builder = builder;
        result
    }

    fn write_entry(&mut self, entry: &[u8], new_len: usize) -> Result<()> {
        let n = entry.len() as u64;
        self.ensure_log(n)?;
        if self.log.used + n > self.committed.log_size {
            self.checkpoint_log()?;
        }
        let at = self.log_at()? + self.log.used;
        self.backing
            .write_at(entry, at, "write the transaction log")?;
        self.sync_log(at, entry.len())?;
        // Durable from here on: a crash redoes it.
        let seq = self.log.next_seq;
        self.log.used += n;
        self.log.next_seq += 1;
        let decoded = decode_entry(entry, self.rs, seq).expect("fixrec bug: an entry just built");
        for (i, bytes) in decoded.records() {
            let to = self.data_offset as u64 + i * self.rs as u64;
            if let Err(e) = self.backing.write_at(bytes, to, "apply a transaction") {
                // The transaction is durable in the log but not in the page cache: stop
                // here; reopening redoes it.
                self.failed = Some(format!("applying committed transaction {seq}: {e}"));
                return Err(e);
            }
        }
        if new_len != self.len {
            self.len = new_len;
            let meta = Meta {
                generation: self.next_generation()?,
                len: new_len as u64,
                ..self.committed
            };
            self.commit_meta(meta)?;
        }
        Ok(())
    }

    /// Whether the log starts with an entry that a commit made after the last checkpoint
    /// (cheap: one read of an entry header).
    pub(super) fn log_pending(&self) -> Result<bool> {
        if !self.log.capable || self.committed.log_size == 0 {
            return Ok(false);
        }
        let mut head = [0u8; ENTRY_HEADER];
        let n = self.backing.read_at(&mut head, self.log_at()?)?;
        Ok(starts_entry(&head[..n], self.committed.log_seq))
    }

    /// A read-only open found committed transactions after the last checkpoint. With a
    /// live writer (it holds the writer lock) they are applied already: the writer
    /// redid them when it opened, and applies each commit before the next. Otherwise
    /// the writer stopped before its checkpoint, perhaps in the middle of applying a
    /// transaction (or a power cut lost the applied pages), so this handle opens the file
    /// for writing once to redo them, then reads the commit that made.
    pub(super) fn recover_as_reader(&mut self) -> Result<()> {
        let path = self.path().to_owned();
        match Table::open_native(&path, true, self.growth, |_| Ok(())) {
            Ok(writer) => drop(writer),
            Err(Error::Locked { .. }) => return Ok(()),
            Err(e) => {
                return Err(Error::LogNotApplied {
                    path,
                    cause: e.to_string(),
                });
            }
        }
        self.refresh().map(drop)
    }

    /// Redoes the committed transactions in the log (writable handles, at open), then
    /// checkpoints.
    pub(super) fn recover(&mut self) -> Result<()> {
        if !self.log_pending()? {
            return Ok(());
        }
        let at = self.log_at()?;
        let size = usize::try_from(self.committed.log_size).map_err(|_| {
            Error::InvalidArgument(format!(
                "{}: the log does not fit in memory",
                self.path().display()
            ))
        })?;
        let mut log = vec![0u8; size];
        let got = self.backing.read_at(&mut log, at)?;
        log.truncate(got);
        let (mut off, mut seq, mut len) = (0usize, self.committed.log_seq, self.len);
        let capacity = self.committed.capacity;
        while let Some(e) = decode_entry(&log[off..], self.rs, seq) {
            let corrupt = |detail: String| Error::CorruptLog {
                path: self.path().into(),
                seq,
                offset: off as u64,
                detail,
            };
            if e.len > capacity {
                return Err(corrupt(format!(
                    "len {} exceeds the capacity {capacity}",
                    e.len
                )));
            }
            for (i, bytes) in e.records() {
                if i >= e.len {
                    return Err(corrupt(format!("record {i} is past its len {}", e.len)));
                }
                let to = self.data_offset as u64 + i * self.rs as u64;
                self.backing.write_at(bytes, to, "redo a transaction")?;
            }
            len = e.len as usize;
            off += e.bytes;
            seq += 1;
        }
        self.len = len;
        self.log.next_seq = seq;
        self.log.used = off as u64;
        let meta = Meta {
            generation: self.next_generation()?,
            len: len as u64,
            ..self.committed
        };
        self.sync(self.data_offset, (len * self.rs).max(1))?;
        self.commit_meta(Meta {
            log_seq: seq,
            ..meta
        })?;
        self.log.used = 0;
        Ok(())
    }
}
