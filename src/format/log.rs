//! The transaction log's bytes (format version 2): entries to and from byte slices, no IO.
//!
//! The log is one region of the store file, right after the data region: it starts at
//! `data_offset + capacity * record_size` rounded up to [`LOG_ALIGN`] (the committed
//! capacity of the meta slot) and is `log_size` bytes long (also from the meta slot; 0
//! while the store has never run a transaction). It holds entries back to back from its
//! first byte, one per committed transaction, numbered by consecutive sequence numbers
//! from the meta slot's `log_seq`:
//!
//! ```text
//! offset     size  entry (all integers little-endian)
//!      0        4  magic            "FXRT"
//!      4        4  count            records in the entry (at least 1)
//!      8        8  seq              the transaction's sequence number
//!     16        8  len              the store's len after the transaction
//!     24  count*(8+rs)              per record: index (u64), then the record's rs bytes
//!      E        4  trailer magic    "FXRC"   (E = 24 + count * (8 + rs))
//!    E+4        4  checksum         CRC-32 of bytes 0..E+4 of the entry
//! ```
//!
//! An entry counts only when its magic, its sequence number (the next one expected) and
//! its checksum are right; the first entry that is not ends the log (a torn tail, or the
//! stale bytes of an earlier cycle, whose sequence numbers are all lower).

/// The magic at the start of an entry.
pub const ENTRY_MAGIC: [u8; 4] = *b"FXRT";
/// The magic before an entry's checksum.
pub const TRAILER_MAGIC: [u8; 4] = *b"FXRC";
/// Bytes before an entry's records.
pub const ENTRY_HEADER: usize = 24;
/// Bytes after an entry's records.
pub const ENTRY_TRAILER: usize = 8;
/// The log starts at a multiple of this.
pub const LOG_ALIGN: u64 = 4096;

/// The bytes of an entry of `count` records of `rs` bytes, or `None` on overflow.
pub fn entry_len(count: usize, rs: usize) -> Option<usize> {
    count
        .checked_mul(rs.checked_add(8)?)?
        .checked_add(ENTRY_HEADER + ENTRY_TRAILER)
}

/// Where the log of a store with this data offset, committed capacity and record size
/// starts, or `None` on overflow.
pub fn log_offset(data_offset: u64, capacity: u64, record_size: u64) -> Option<u64> {
    capacity
        .checked_mul(record_size)?
        .checked_add(data_offset)?
        .checked_next_multiple_of(LOG_ALIGN)
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn get_u64(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

/// Builds one entry in a reused buffer: [`begin`](EntryBuilder::begin), a
/// [`record`](EntryBuilder::record) per changed record, then
/// [`finish`](EntryBuilder::finish).
#[derive(Debug, Default)]
pub struct EntryBuilder {
    buf: Vec<u8>,
    count: u32,
}

impl EntryBuilder {
    /// Starts the entry of transaction `seq`, which leaves the store `len` records long.
    pub fn begin(&mut self, seq: u64, len: u64) {
        self.buf.clear();
        self.count = 0;
        self.buf.extend_from_slice(&ENTRY_MAGIC);
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&seq.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
    }

    /// Adds record `index` with its new bytes.
    pub fn record(&mut self, index: u64, bytes: &[u8]) {
        self.buf.extend_from_slice(&index.to_le_bytes());
        self.buf.extend_from_slice(bytes);
        self.count += 1;
    }

    /// Records added since [`begin`](EntryBuilder::begin).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Seals the entry (count, trailer, checksum) and returns its bytes.
    pub fn finish(&mut self) -> &[u8] {
        self.buf[4..8].copy_from_slice(&self.count.to_le_bytes());
        self.buf.extend_from_slice(&TRAILER_MAGIC);
        let sum = crc32fast::hash(&self.buf);
        self.buf.extend_from_slice(&sum.to_le_bytes());
        &self.buf
    }
}

/// A decoded entry, borrowing the log's bytes.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The transaction's sequence number.
    pub seq: u64,
    /// The store's len after it.
    pub len: u64,
    /// Bytes the entry takes in the log.
    pub bytes: usize,
    body: &'a [u8],
    rs: usize,
}

impl<'a> Entry<'a> {
    /// The entry's records: (index, bytes).
    pub fn records(&self) -> impl Iterator<Item = (u64, &'a [u8])> + 'a {
        let rs = self.rs;
        self.body
            .chunks_exact(8 + rs)
            .map(|c| (get_u64(c, 0), &c[8..]))
    }
}

/// Whether `head` (at least [`ENTRY_HEADER`] bytes, else `false`) starts like entry
/// `seq`: a cheap test before reading the whole log.
pub fn starts_entry(head: &[u8], seq: u64) -> bool {
    head.len() >= ENTRY_HEADER
        && head[..4] == ENTRY_MAGIC
        && get_u64(head, 8) == seq
        && get_u32(head, 4) > 0
}

/// The entry of transaction `seq` at the start of `bytes` (the rest of the log), for
/// records of `rs` bytes; `None` when there is none (wrong magic or sequence number,
/// torn, or damaged).
pub fn decode_entry(bytes: &[u8], rs: usize, seq: u64) -> Option<Entry<'_>> {
    if !starts_entry(bytes, seq) {
        return None;
    }
    let count = get_u32(bytes, 4) as usize;
    let total = entry_len(count, rs)?;
    let entry = bytes.get(..total)?;
    let trailer = total - ENTRY_TRAILER;
    if entry[trailer..trailer + 4] != TRAILER_MAGIC
        || get_u32(entry, trailer + 4) != crc32fast::hash(&entry[..trailer + 4])
    {
        return None;
    }
    Some(Entry {
        seq,
        len: get_u64(entry, 16),
        bytes: total,
        body: &entry[ENTRY_HEADER..trailer],
        rs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, len: u64, recs: &[(u64, [u8; 3])]) -> Vec<u8> {
        let mut b = EntryBuilder::default();
        b.begin(seq, len);
        for (i, r) in recs {
            b.record(*i, r);
        }
        b.finish().to_vec()
    }

    #[test]
    fn entries_round_trip_back_to_back() {
        let mut log = entry(7, 10, &[(3, *b"abc"), (9, *b"xyz")]);
        let first = log.len();
        assert_eq!(first, entry_len(2, 3).unwrap());
        log.extend(entry(8, 11, &[(10, *b"new")]));
        let e = decode_entry(&log, 3, 7).unwrap();
        assert_eq!((e.seq, e.len, e.bytes), (7, 10, first));
        let recs: Vec<_> = e.records().collect();
        assert_eq!(recs, vec![(3, &b"abc"[..]), (9, &b"xyz"[..])]);
        let e = decode_entry(&log[first..], 3, 8).unwrap();
        assert_eq!(e.records().collect::<Vec<_>>(), vec![(10, &b"new"[..])]);
        // The wrong sequence number (a stale entry) is no entry.
        assert!(decode_entry(&log, 3, 8).is_none());
        assert!(decode_entry(&log[first..], 3, 9).is_none());
    }

    #[test]
    fn every_truncation_and_byte_flip_of_an_entry_is_refused() {
        let log = entry(1, 4, &[(0, *b"abc"), (3, *b"def")]);
        for n in 0..log.len() {
            assert!(decode_entry(&log[..n], 3, 1).is_none(), "cut at {n}");
        }
        for i in 0..log.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut b = log.clone();
                b[i] ^= x;
                assert!(decode_entry(&b, 3, 1).is_none(), "byte {i} ^ {x:#x}");
            }
        }
        // A huge count cannot overflow or read out of bounds.
        let mut b = log.clone();
        b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_entry(&b, usize::MAX / 2, 1).is_none());
    }

    #[test]
    fn the_log_starts_after_the_data_on_a_page_boundary() {
        assert_eq!(log_offset(4096, 0, 512), Some(4096));
        assert_eq!(log_offset(4096, 1, 512), Some(8192));
        assert_eq!(log_offset(4096, 8, 512), Some(8192));
        assert_eq!(log_offset(4096, 9, 512), Some(12288));
        assert_eq!(log_offset(4096, u64::MAX, 2), None);
    }
}
