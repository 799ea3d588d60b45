//! Layer 3: the native file header, bytes to validated values and back.
//!
//! Pure functions on byte slices, no IO, so they can be fuzzed. The byte map
//! (all integers little-endian; `docs/FORMAT.md` is the full document):
//!
//! ```text
//! offset  size  superblock (written once, at creation)
//!      0     8  magic            89 46 49 58 52 45 43 0A  ("\x89FIXREC\n")
//!      8     4  version          2 (1: files made before the transaction log)
//!     12     4  layout           0 = C, 1 = packed
//!     16     8  record_size      bytes per record
//!     24     4  record_align     alignment of a record (power of two, <= 4096)
//!     28     4  field_count      entries in the field table (1 ..= 4096)
//!     32     8  data_offset      where record 0 starts: a multiple of 4096
//!     40     8  fingerprint      FNV-1a 64 of the schema (see `fingerprint`)
//!     48     4  kind             0 = records (Store), 1 = slots (SlotStore),
//!                                2 = shared records (SharedStore; see `shared_data_offset`)
//!     52     8  reserved         zero
//!     60     4  checksum         CRC-32 of bytes 0..60, then of the field table
//!    512    64  meta slot 0      (alone in its 512-byte sector)
//!   1024    64  meta slot 1      (alone in its 512-byte sector)
//!   1536  64*n  field table      n entries of FIELD_ENTRY_SIZE bytes
//!
//! meta slot
//!      0     4  magic            "FXRM"
//!      4     4  reserved         zero
//!      8     8  generation       slot = generation % 2; the valid slot with the
//!                                higher generation is the committed state
//!     16     8  len              committed records
//!     24     8  capacity         records the file has room for
//!     32     8  log_seq          sequence number of the first transaction the log
//!                                may hold (version 2; zero in version 1)
//!     40     8  log_size         bytes of the transaction log (0: no log), which
//!                                starts at data_offset + capacity * record_size
//!                                rounded up to 4096 (see `log`)
//!     48    12  reserved         zero
//!     60     4  checksum         CRC-32 of bytes 0..60
//!
//! field table entry
//!      0    48  name             UTF-8, NUL-padded (at most 47 bytes)
//!     48     4  type code        see FieldType::code; 256 + the element's code for T[N]
//!     52     4  count            N for str[N] / bytes[N] / T[N], else 1
//!     56     4  offset           byte offset in the record
//!     60     4  size             byte size of the field
//! ```

use crate::error::{Error, Result};
use crate::schema::{Field, FieldType, Layout, MAX_FIELDS, MAX_NAME_LEN, Schema};
use std::path::Path;

/// The magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"\x89FIXREC\n";
pub mod log;

/// The format version this build writes. Version 2 added the transaction log (the meta
/// slot's `log_seq` and `log_size`); this build reads versions 1 and 2, and a version 1
/// file keeps working without transactions.
pub const VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_VERSION: u32 = 1;
/// The fixed part of the superblock.
pub const SUPERBLOCK_SIZE: usize = 64;
/// Offsets of the two meta slots.
pub const META_OFFSETS: [usize; 2] = [512, 1024];
/// Bytes in a meta slot.
pub const META_SIZE: usize = 64;
/// Where the field table starts.
pub const FIELD_TABLE_OFFSET: usize = 1536;
/// Bytes in a field table entry.
pub const FIELD_ENTRY_SIZE: usize = 64;
/// The data region starts at a multiple of this (and of the record alignment).
pub const DATA_ALIGN: u64 = 4096;
const META_MAGIC: [u8; 4] = *b"FXRM";
/// Sequence words in the shared area of a shared-memory store (kind 2).
pub const SHARED_STRIPES: usize = 256;
/// Bytes before the sequence words in the shared area: the `pending` word, then zeros.
pub const SHARED_AREA_HEADER: usize = 64;
const NAME_CELL: usize = MAX_NAME_LEN + 1;

/// What a native file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Plain records ([`Store`](crate::Store)).
    Records,
    /// Length-prefixed bincode slots ([`SlotStore`](crate::SlotStore)).
    Slots,
    /// Plain records in a shared-memory region
    /// ([`SharedStore`](crate::shm::SharedStore)), with the shared area (sequence words
    /// and an undo record) between the field table and the data: see
    /// [`shared_data_offset`].
    Shared,
}

/// The decoded superblock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// The record schema.
    pub schema: Schema,
    /// Plain records or slots.
    pub kind: Kind,
    /// Where record 0 starts.
    pub data_offset: u64,
    /// The format version of the file ([`OLDEST_VERSION`] ..= [`VERSION`]).
    pub version: u32,
}

/// One committed state: the contents of a meta slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    /// Incremented by every commit.
    pub generation: u64,
    /// Committed records.
    pub len: u64,
    /// Records the file has room for.
    pub capacity: u64,
    /// The sequence number of the first transaction the log may hold: entries with a
    /// lower number were applied to the records (and synced) before this commit.
    pub log_seq: u64,
    /// Bytes of the transaction log (0: the file has none yet).
    pub log_size: u64,
}

/// Bytes from offset 0 to the end of the field table, for `field_count` fields.
pub fn header_len(field_count: usize) -> usize {
    FIELD_TABLE_OFFSET + FIELD_ENTRY_SIZE * field_count
}

/// The data offset a file with `schema` gets: the header rounded up to 4096 and to the
/// record alignment.
pub fn data_offset(schema: &Schema) -> u64 {
    (header_len(schema.fields().len()) as u64).next_multiple_of(DATA_ALIGN.max(schema.align()))
}

/// The data offset of a shared-memory store (kind 2). Its shared area starts where a
/// file's data would ([`data_offset`]) and holds, at these offsets from its start:
///
/// ```text
///      0     8  pending          0, or 1 + the index of the record being updated
///      8    56  reserved         zero
///     64  8*256 sequence words   u64; word i % 256 is odd while record i is written
///   2112    rs  undo             the old bytes of the pending record
/// ```
///
/// The data follows, rounded up like [`data_offset`].
pub fn shared_data_offset(schema: &Schema) -> u64 {
    let area = (SHARED_AREA_HEADER + 8 * SHARED_STRIPES) as u64 + schema.record_size();
    (data_offset(schema) + area).next_multiple_of(DATA_ALIGN.max(schema.align()))
}

fn field_table(schema: &Schema) -> Vec<u8> {
    let mut out = vec![0u8; FIELD_ENTRY_SIZE * schema.fields().len()];
    for (f, cell) in schema
        .fields()
        .iter()
        .zip(out.chunks_exact_mut(FIELD_ENTRY_SIZE))
    {
        cell[..f.name.len()].copy_from_slice(f.name.as_bytes());
        put_u32(cell, NAME_CELL, f.ty.code());
        put_u32(cell, NAME_CELL + 4, f.ty.count());
        // Offsets and sizes fit: a schema's record size is at most MAX_RECORD_SIZE.
        put_u32(cell, NAME_CELL + 8, f.offset as u32);
        put_u32(cell, NAME_CELL + 12, f.ty.size() as u32);
    }
    out
}

/// The schema fingerprint: 64-bit FNV-1a over the field table, then the record size
/// (u64 LE), alignment (u32 LE) and layout (u32 LE).
pub fn fingerprint(schema: &Schema) -> u64 {
    let mut bytes = field_table(schema);
    bytes.extend_from_slice(&schema.record_size().to_le_bytes());
    bytes.extend_from_slice(&(schema.align() as u32).to_le_bytes());
    bytes.extend_from_slice(&layout_code(schema.layout()).to_le_bytes());
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn layout_code(layout: Layout) -> u32 {
    match layout {
        Layout::C => 0,
        Layout::Packed => 1,
    }
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn get_u64(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

impl Superblock {
    /// The superblock of a new file holding `schema`.
    pub fn new(schema: Schema, kind: Kind) -> Superblock {
        let data_offset = match kind {
            Kind::Shared => shared_data_offset(&schema),
            Kind::Records | Kind::Slots => data_offset(&schema),
        };
        Superblock {
            schema,
            kind,
            data_offset,
            version: VERSION,
        }
    }

    /// The header bytes from offset 0 to the end of the field table, with both meta
    /// slots zeroed (invalid).
    pub fn encode(&self) -> Vec<u8> {
        let s = &self.schema;
        let mut out = vec![0u8; header_len(s.fields().len())];
        out[..8].copy_from_slice(&MAGIC);
        put_u32(&mut out, 8, self.version);
        put_u32(&mut out, 12, layout_code(s.layout()));
        put_u64(&mut out, 16, s.record_size());
        put_u32(&mut out, 24, s.align() as u32);
        put_u32(&mut out, 28, s.fields().len() as u32);
        put_u64(&mut out, 32, self.data_offset);
        put_u64(&mut out, 40, fingerprint(s));
        put_u32(
            &mut out,
            48,
            match self.kind {
                Kind::Records => 0,
                Kind::Slots => 1,
                Kind::Shared => 2,
            },
        );
        out[FIELD_TABLE_OFFSET..].copy_from_slice(&field_table(s));
        let sum = superblock_checksum(&out[..60], &out[FIELD_TABLE_OFFSET..]);
        put_u32(&mut out, 60, sum);
        out
    }

    /// How many header bytes must be read to decode the superblock whose first
    /// [`SUPERBLOCK_SIZE`] bytes are `head` (which must be at least that long).
    pub fn needed_len(head: &[u8]) -> usize {
        let count = get_u32(head, 28) as usize;
        header_len(count.min(MAX_FIELDS + 1))
    }

    /// Decodes and validates the header at the start of a file of `file_size` bytes
    /// whose first bytes are `bytes` (at least [`Superblock::needed_len`] of them when
    /// the file is that long). Every value is checked: nothing in `bytes` can cause a
    /// panic or an out-of-range access later.
    pub fn decode(path: &Path, bytes: &[u8], file_size: u64) -> Result<Superblock> {
        let truncated = |needed: usize| Error::TruncatedHeader {
            path: path.into(),
            needed: needed as u64,
            found: file_size,
        };
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] || bytes.is_empty() {
            return Err(Error::BadMagic {
                path: path.into(),
                found: bytes[..magic_len].to_vec(),
            });
        }
        if bytes.len() < SUPERBLOCK_SIZE {
            return Err(truncated(FIELD_TABLE_OFFSET));
        }
        let version = get_u32(bytes, 8);
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                path: path.into(),
                found: version,
                supported: VERSION,
            });
        }
        let corrupt = |detail: String| Error::CorruptSuperblock {
            path: path.into(),
            detail,
        };
        let count = get_u32(bytes, 28) as usize;
        if count == 0 || count > MAX_FIELDS {
            return Err(corrupt(format!(
                "field count {count} is outside 1..={MAX_FIELDS}"
            )));
        }
        let needed = header_len(count);
        if bytes.len() < needed {
            return Err(truncated(needed));
        }
        let table = &bytes[FIELD_TABLE_OFFSET..needed];
        let stored = get_u32(bytes, 60);
        let actual = superblock_checksum(&bytes[..60], table);
        if stored != actual {
            return Err(corrupt(format!(
                "checksum is {stored:#010x} but the bytes sum to {actual:#010x}"
            )));
        }
        let layout = match get_u32(bytes, 12) {
            0 => Layout::C,
            1 => Layout::Packed,
            other => return Err(corrupt(format!("unknown layout code {other}"))),
        };
        let kind = match get_u32(bytes, 48) {
            0 => Kind::Records,
            1 => Kind::Slots,
            2 => Kind::Shared,
            other => return Err(corrupt(format!("unknown kind code {other}"))),
        };
        let mut fields = Vec::with_capacity(count);
        for (i, cell) in table.chunks_exact(FIELD_ENTRY_SIZE).enumerate() {
            let name_bytes = &cell[..NAME_CELL];
            let name_len = name_bytes
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| corrupt(format!("field {i}: name is not NUL-terminated")))?;
            if name_bytes[name_len..].iter().any(|&b| b != 0) {
                return Err(corrupt(format!("field {i}: bytes after the name's NUL")));
            }
            let name = std::str::from_utf8(&name_bytes[..name_len])
                .map_err(|_| corrupt(format!("field {i}: name is not UTF-8")))?;
            let (code, n) = (get_u32(cell, NAME_CELL), get_u32(cell, NAME_CELL + 4));
            let ty = FieldType::from_code(code, n)
                .ok_or_else(|| corrupt(format!("field {i}: unknown type code {code} count {n}")))?;
            let size = u64::from(get_u32(cell, NAME_CELL + 12));
            if size != ty.size() {
                return Err(corrupt(format!(
                    "field {i} ({name}): size {size} does not match its type {ty}"
                )));
            }
            fields.push(Field {
                name: name.to_owned(),
                ty,
                offset: u64::from(get_u32(cell, NAME_CELL + 8)),
            });
        }
        let record_size = get_u64(bytes, 16);
        let align = u64::from(get_u32(bytes, 24));
        let schema = Schema::with_layout(layout, fields, record_size, align)
            .map_err(|e| corrupt(e.to_string()))?;
        let stored_fp = get_u64(bytes, 40);
        if stored_fp != fingerprint(&schema) {
            return Err(corrupt(format!(
                "schema fingerprint {stored_fp:#018x} does not match the schema ({:#018x})",
                fingerprint(&schema)
            )));
        }
        let data_offset = get_u64(bytes, 32);
        let expected = match kind {
            Kind::Shared => shared_data_offset(&schema),
            Kind::Records | Kind::Slots => self::data_offset(&schema),
        };
        if data_offset != expected {
            return Err(corrupt(format!(
                "data offset {data_offset} should be {expected}"
            )));
        }
        if bytes[52..60].iter().any(|&b| b != 0) {
            return Err(corrupt("reserved bytes 52..60 are not zero".into()));
        }
        if kind == Kind::Slots && !is_slot_schema(&schema) {
            return Err(corrupt(format!(
                "a slot file's schema must be len:u32,value:bytes[N] (packed), not {schema}"
            )));
        }
        Ok(Superblock {
            schema,
            kind,
            data_offset,
            version,
        })
    }
}

/// Whether `schema` is a slot file's: `len:u32` at 0, then `value:bytes[N]`, packed.
fn is_slot_schema(schema: &Schema) -> bool {
    let f = schema.fields();
    schema.layout() == Layout::Packed
        && f.len() == 2
        && (f[0].name.as_str(), f[0].ty, f[0].offset) == ("len", FieldType::U32, 0)
        && f[1].name == "value"
        && f[1].offset == 4
        && matches!(f[1].ty, FieldType::Bytes(n) if u64::from(n) + 4 == schema.record_size())
}

fn superblock_checksum(fixed: &[u8], table: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(fixed);
    h.update(table);
    h.finalize()
}

impl Meta {
    /// Where this commit's slot lives.
    pub fn slot_offset(&self) -> usize {
        META_OFFSETS[(self.generation % 2) as usize]
    }

    /// Where this commit's data region ends: `data_offset + capacity * record_size`,
    /// or `u64::MAX` when that overflows.
    pub fn data_end(&self, data_offset: u64, record_size: u64) -> u64 {
        self.capacity
            .checked_mul(record_size)
            .and_then(|d| d.checked_add(data_offset))
            .unwrap_or(u64::MAX)
    }

    /// The slot's bytes.
    pub fn encode(&self) -> [u8; META_SIZE] {
        let mut out = [0u8; META_SIZE];
        out[..4].copy_from_slice(&META_MAGIC);
        put_u64(&mut out, 8, self.generation);
        put_u64(&mut out, 16, self.len);
        put_u64(&mut out, 24, self.capacity);
        put_u64(&mut out, 32, self.log_seq);
        put_u64(&mut out, 40, self.log_size);
        let sum = crc32fast::hash(&out[..60]);
        put_u32(&mut out, 60, sum);
        out
    }

    /// The commit in slot `slot` (0 or 1), or `None` if the slot is torn, corrupt,
    /// empty, or holds a generation that belongs in the other slot.
    pub fn decode(slot: usize, bytes: &[u8]) -> Option<Meta> {
        let bytes = bytes.get(..META_SIZE)?;
        if bytes[..4] != META_MAGIC || get_u32(bytes, 60) != crc32fast::hash(&bytes[..60]) {
            return None;
        }
        let meta = Meta {
            generation: get_u64(bytes, 8),
            len: get_u64(bytes, 16),
            capacity: get_u64(bytes, 24),
            log_seq: get_u64(bytes, 32),
            log_size: get_u64(bytes, 40),
        };
        (meta.generation % 2 == slot as u64 && meta.generation > 0).then_some(meta)
    }

    /// The committed state of a header (`header` holds at least the first
    /// `META_OFFSETS[1] + META_SIZE` bytes): the valid slot with the higher generation.
    pub fn pick(path: &Path, header: &[u8]) -> Result<Meta> {
        let slot = |i: usize| {
            let at = META_OFFSETS[i];
            header
                .get(at..at + META_SIZE)
                .and_then(|b| Meta::decode(i, b))
        };
        let meta = match (slot(0), slot(1)) {
            (Some(a), Some(b)) => {
                if a.generation > b.generation {
                    a
                } else {
                    b
                }
            }
            (Some(m), None) | (None, Some(m)) => m,
            (None, None) => return Err(Error::NoValidMeta { path: path.into() }),
        };
        if meta.len > meta.capacity {
            return Err(Error::LenExceedsCapacity {
                path: path.into(),
                len: meta.len,
                capacity: meta.capacity,
            });
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Schema {
        Schema::from_fields(
            Layout::C,
            [("id", FieldType::Str(256)), ("name", FieldType::Str(256))],
        )
        .unwrap()
    }

    fn file(sb: &Superblock, metas: &[Meta]) -> Vec<u8> {
        let mut bytes = sb.encode();
        for m in metas {
            let at = m.slot_offset();
            bytes[at..at + META_SIZE].copy_from_slice(&m.encode());
        }
        bytes
    }

    #[test]
    fn superblock_round_trips() {
        let sb = Superblock::new(member(), Kind::Records);
        assert_eq!(sb.data_offset, 4096);
        let bytes = sb.encode();
        let size = bytes.len() as u64;
        assert_eq!(Superblock::needed_len(&bytes), bytes.len());
        assert_eq!(
            Superblock::decode(Path::new("f"), &bytes, size).unwrap(),
            sb
        );
    }

    #[test]
    fn every_single_byte_corruption_of_the_superblock_is_rejected() {
        let bytes = Superblock::new(member(), Kind::Records).encode();
        let covered = (0..60).chain(FIELD_TABLE_OFFSET..bytes.len());
        for i in covered {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert!(
                    Superblock::decode(Path::new("f"), &b, b.len() as u64).is_err(),
                    "byte {i} ^ {flip:#x} accepted"
                );
            }
        }
    }

    #[test]
    fn shared_superblock_round_trips_with_its_area_before_the_data() {
        let sb = Superblock::new(member(), Kind::Shared);
        // header to 4096, then 64 + 2048 + 512 bytes of shared area, rounded to 4096
        assert_eq!(sb.data_offset, 8192);
        let bytes = sb.encode();
        let size = bytes.len() as u64;
        assert_eq!(
            Superblock::decode(Path::new("f"), &bytes, size).unwrap(),
            sb
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = Superblock::new(member(), Kind::Records).encode();
        for n in 0..bytes.len() {
            let err = Superblock::decode(Path::new("f"), &bytes[..n], n as u64).unwrap_err();
            assert!(
                matches!(err, Error::TruncatedHeader { .. } | Error::BadMagic { .. }),
                "{n}: {err}"
            );
        }
    }

    #[test]
    fn newer_valid_slot_wins_and_torn_slot_never_wins() {
        let sb = Superblock::new(member(), Kind::Records);
        let a = Meta {
            generation: 5,
            len: 3,
            capacity: 8,
            ..Meta::default()
        };
        let b = Meta {
            generation: 6,
            len: 4,
            capacity: 8,
            ..Meta::default()
        };
        let bytes = file(&sb, &[a, b]);
        assert_eq!(Meta::pick(Path::new("f"), &bytes).unwrap(), b);
        for i in 0..META_SIZE {
            let mut torn = bytes.clone();
            torn[b.slot_offset() + i] ^= 0x10;
            assert_eq!(Meta::pick(Path::new("f"), &torn).unwrap(), a, "byte {i}");
        }
        let mut both = bytes.clone();
        both[a.slot_offset() + 20] ^= 1;
        both[b.slot_offset() + 20] ^= 1;
        assert!(matches!(
            Meta::pick(Path::new("f"), &both),
            Err(Error::NoValidMeta { .. })
        ));
    }

    /// CRC-32 as zlib computes it (reflected, polynomial 0xedb88320), bit by bit: what a
    /// C program that checks a fixrec header would write.
    fn zlib_crc32(parts: &[&[u8]]) -> u32 {
        let mut crc = !0u32;
        for &b in parts.iter().flat_map(|p| p.iter()) {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// Pins the checksums to docs/FORMAT.md (a constant checksum would round-trip as
    /// well, and every damaged byte is also caught by another check).
    #[test]
    fn checksums_are_zlib_crc32_as_documented() {
        let bytes = Superblock::new(member(), Kind::Records).encode();
        let table = &bytes[FIELD_TABLE_OFFSET..header_len(2)];
        assert_eq!(get_u32(&bytes, 60), zlib_crc32(&[&bytes[..60], table]));
        let slot = Meta {
            generation: 3,
            len: 1,
            capacity: 2,
            log_seq: 4,
            log_size: 8192,
        }
        .encode();
        assert_eq!(get_u32(&slot, 60), zlib_crc32(&[&slot[..60]]));
        assert_eq!(zlib_crc32(&[b"123456789"]), 0xcbf4_3926); // the standard check value
    }

    /// A slot holds a generation above 0 whose parity is the slot's (docs/FORMAT.md,
    /// "Meta slots"): anything else is not a commit, whatever its checksum says.
    #[test]
    fn a_slot_holds_only_a_positive_generation_of_its_parity() {
        let meta = |generation| Meta {
            generation,
            len: 0,
            capacity: 4,
            log_seq: 0,
            log_size: 0,
        };
        assert_eq!(Meta::decode(0, &meta(0).encode()), None);
        assert_eq!(Meta::decode(0, &meta(2).encode()), Some(meta(2)));
        assert_eq!(Meta::decode(1, &meta(2).encode()), None);
        assert_eq!(Meta::decode(1, &meta(3).encode()), Some(meta(3)));
        assert_eq!(Meta::decode(0, &meta(3).encode()), None);
    }

    /// A header with the most fields allowed is read whole; a claim of more fields
    /// (which decode refuses) does not make open read more than a few pages.
    #[test]
    fn needed_len_covers_the_largest_field_table_and_no_more() {
        let mut head = vec![0u8; SUPERBLOCK_SIZE];
        put_u32(&mut head, 28, MAX_FIELDS as u32);
        assert_eq!(Superblock::needed_len(&head), header_len(MAX_FIELDS));
        put_u32(&mut head, 28, u32::MAX);
        assert!(Superblock::needed_len(&head) <= header_len(MAX_FIELDS + 1));
    }

    #[test]
    fn a_slot_file_must_have_the_slot_schema() {
        let one_byte = Schema::from_fields(Layout::Packed, [("a", FieldType::U8)]).unwrap();
        let bytes = Superblock::new(one_byte, Kind::Slots).encode();
        let err = Superblock::decode(Path::new("f"), &bytes, bytes.len() as u64).unwrap_err();
        assert!(err.to_string().contains("slot file's schema"), "{err}");
        let slots = Schema::from_fields(
            Layout::Packed,
            [("len", FieldType::U32), ("value", FieldType::Bytes(60))],
        )
        .unwrap();
        let bytes = Superblock::new(slots, Kind::Slots).encode();
        assert!(Superblock::decode(Path::new("f"), &bytes, bytes.len() as u64).is_ok());
    }

    #[test]
    fn len_past_capacity_is_an_error() {
        let sb = Superblock::new(member(), Kind::Records);
        let bad = Meta {
            generation: 1,
            len: 9,
            capacity: 8,
            ..Meta::default()
        };
        let bytes = file(&sb, &[bad]);
        assert!(matches!(
            Meta::pick(Path::new("f"), &bytes),
            Err(Error::LenExceedsCapacity {
                len: 9,
                capacity: 8,
                ..
            })
        ));
    }
}
