//! Hostile files: valid stores and raw files of a few schemas, mutated (bit flips, byte
//! sets, truncations, extensions, header fields set to 0, 1, the maximum or off by one,
//! with the checksums and fingerprint recomputed or not), then decoded by the pure
//! format functions and opened as real files: `Table::open_read_only`, `Table::open`
//! (and an append and flush), typed `Store`, `SlotStore` and raw opens, `verify`, and a
//! walk over every record (as bytes, typed fields and JSON). Zero panics (each case runs
//! under `catch_unwind`), and no SIGBUS (a signal would kill the test).
//!
//! `FIXREC_HOSTILE_CASES=<n>` changes the number of mutated files (100,000 in CI), and
//! `FIXREC_HOSTILE_SEED=<n>` the seed. The CLI (`fixrec verify`, `info` and `get`) runs on
//! a sample and must exit 0 or 1 with a message: never 101 (a panic), never a signal.

use fixrec::format::{self, META_OFFSETS, META_SIZE, Meta, Superblock};
mod common;
use common::Rng;
use fixrec::{
    CChar, FieldType, FixedStr, Layout, Schema, SlotStore, Store, StoreOptions, Table, record,
};
use std::fs::{self, File, OpenOptions};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

record! {
    #[repr(C, packed)]
    /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`
    pub struct Smtest {
        pub c: CChar,
        pub i: i32,
        pub s: i16,
    }
}

type SlotValue = (u32, String, Vec<u64>);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A native store of `Member`.
    Member,
    /// A native packed store of `Smtest`.
    Smtest,
    /// A native store of a schema with bool, str, f64 and bytes fields (what `verify`
    /// checks field by field).
    Mixed,
    /// A `SlotStore<SlotValue>`.
    Slots,
    /// A raw file of `Member` records.
    RawMember,
    /// A raw file of `Smtest` records.
    RawSmtest,
}

impl Kind {
    fn raw(self) -> bool {
        matches!(self, Kind::RawMember | Kind::RawSmtest)
    }
}

fn mixed_schema() -> Schema {
    Schema::from_fields(
        Layout::C,
        [
            ("flag", FieldType::Bool),
            ("code", FieldType::Char),
            ("name", FieldType::Str(13)),
            ("x", FieldType::F64),
            ("n", FieldType::I32),
            ("blob", FieldType::Bytes(6)),
        ],
    )
    .unwrap()
}

fn member(i: usize) -> Member {
    Member {
        id: FixedStr::new(&i.to_string()).unwrap(),
        name: FixedStr::new("Guo Jing").unwrap(),
    }
}

fn smtest(i: usize) -> Smtest {
    Smtest {
        c: CChar(b'a' + i as u8),
        i: i as i32 * 1000,
        s: -(i as i16),
    }
}

/// Valid files of every kind.
fn bases(dir: &Path) -> Vec<(Kind, Vec<u8>)> {
    let mut out = Vec::new();
    let p = dir.join("member.fxr");
    let mut s = StoreOptions::new()
        .capacity(4)
        .create::<Member>(&p)
        .unwrap();
    for i in 0..3 {
        s.push(member(i)).unwrap();
    }
    drop(s);
    out.push((Kind::Member, fs::read(&p).unwrap()));

    let p = dir.join("smtest.fxr");
    let mut s = StoreOptions::new()
        .capacity(20)
        .create::<Smtest>(&p)
        .unwrap();
    for i in 0..5 {
        s.push(smtest(i)).unwrap();
    }
    s.flush().unwrap();
    for i in 5..12 {
        s.push(smtest(i)).unwrap();
    }
    drop(s);
    out.push((Kind::Smtest, fs::read(&p).unwrap()));

    let p = dir.join("mixed.fxr");
    let schema = mixed_schema();
    let rs = schema.record_size() as usize;
    let mut t = Table::create(&p, schema, &StoreOptions::new().capacity(8)).unwrap();
    for i in 0..6u8 {
        let mut r = vec![0u8; rs];
        r[0] = i % 2;
        r[1] = b'A' + i;
        r[2..7].copy_from_slice(b"hello");
        t.append(&r).unwrap();
    }
    drop(t);
    out.push((Kind::Mixed, fs::read(&p).unwrap()));

    let p = dir.join("slots.fxr");
    let mut s =
        SlotStore::<SlotValue>::create_with(&p, 64, &StoreOptions::new().capacity(8)).unwrap();
    for i in 0..5u32 {
        s.push(&(i, "x".repeat(i as usize), vec![u64::from(i); i as usize]))
            .unwrap();
    }
    drop(s);
    out.push((Kind::Slots, fs::read(&p).unwrap()));

    let raw: Vec<u8> = (0..3)
        .flat_map(|i| bytemuck::bytes_of(&member(i)).to_vec())
        .collect();
    out.push((Kind::RawMember, raw));
    let raw: Vec<u8> = (0..9)
        .flat_map(|i| bytemuck::bytes_of(&smtest(i)).to_vec())
        .collect();
    out.push((Kind::RawSmtest, raw));
    out
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// Header fields: (offset, width in bytes).
fn header_fields(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut f = vec![
        (8, 4),
        (12, 4),
        (16, 8),
        (24, 4),
        (28, 4),
        (32, 8),
        (40, 8),
        (48, 4),
        (60, 4),
    ];
    for &slot in &META_OFFSETS {
        f.extend([
            (slot, 4),
            (slot + 8, 8),
            (slot + 16, 8),
            (slot + 24, 8),
            (slot + 60, 4),
        ]);
    }
    let count = get_u32(bytes, 28).unwrap_or(0).min(8) as usize;
    for k in 0..count {
        let e = format::FIELD_TABLE_OFFSET + k * format::FIELD_ENTRY_SIZE;
        f.extend([
            (e, 1),
            (e + 47, 1),
            (e + 48, 4),
            (e + 52, 4),
            (e + 56, 4),
            (e + 60, 4),
        ]);
    }
    f
}

fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn put(b: &mut [u8], at: usize, width: usize, v: u64) {
    if let Some(dst) = b.get_mut(at..at + width) {
        dst.copy_from_slice(&v.to_le_bytes()[..width]);
    }
}

fn get(b: &[u8], at: usize, width: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(src) = b.get(at..at + width) {
        v[..width].copy_from_slice(src);
    }
    u64::from_le_bytes(v)
}

fn fnv(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Recomputes the fingerprint and the superblock and meta checksums over whatever the
/// header now says, so that a mutated value gets past the checksums to the checks behind
/// them.
fn fix_checksums(b: &mut [u8], fingerprint: bool) {
    for &slot in &META_OFFSETS {
        if b.len() >= slot + META_SIZE {
            let sum = crc32fast::hash(&b[slot..slot + 60]);
            put(b, slot + 60, 4, u64::from(sum));
        }
    }
    let Some(count) = get_u32(b, 28) else { return };
    let end = format::header_len((count as usize).min(5000));
    if b.len() < end {
        return;
    }
    let table = b[format::FIELD_TABLE_OFFSET..end].to_vec();
    if fingerprint {
        let fp = fnv(table
            .iter()
            .copied()
            .chain(b[16..24].iter().copied())
            .chain(b[24..28].iter().copied())
            .chain(b[12..16].iter().copied()));
        put(b, 40, 8, fp);
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..60]);
    h.update(&table);
    put(b, 60, 4, u64::from(h.finalize()));
}

fn mutate(rng: &mut Rng, base: &[u8], raw: bool) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        match rng.below(if raw { 5 } else { 8 }) {
            0 => {
                // Bit flips, mostly in the header.
                for _ in 0..1 + rng.below(4) {
                    if b.is_empty() {
                        break;
                    }
                    let span = if rng.below(4) != 0 {
                        b.len().min(4096)
                    } else {
                        b.len()
                    };
                    let at = rng.upto(span);
                    b[at] ^= 1 << rng.below(8);
                }
            }
            1 => {
                if !b.is_empty() {
                    let at = rng.upto(b.len());
                    b[at] = rng.next() as u8;
                }
            }
            2 => {
                // Truncation: anywhere, or near a boundary.
                let to = match rng.below(3) {
                    0 => rng.upto(b.len() + 1),
                    1 => rng.upto(b.len().min(4200) + 1),
                    _ => b.len().saturating_sub(1 + rng.upto(600)),
                };
                b.truncate(to);
            }
            3 => {
                let most = if rng.below(2) == 0 { 16 } else { 9000 };
                let n = 1 + rng.upto(most);
                let fill = if rng.below(2) == 0 {
                    0
                } else {
                    rng.next() as u8
                };
                b.resize(b.len() + n, fill);
            }
            4 => {
                // A run of bytes set to 0x00 or 0xff.
                if !b.is_empty() {
                    let at = rng.upto(b.len());
                    let n = (1 + rng.upto(64)).min(b.len() - at);
                    let v = if rng.below(2) == 0 { 0 } else { 0xff };
                    b[at..at + n].fill(v);
                }
            }
            _ => {
                // A header field set to an edge value.
                let fields = header_fields(&b);
                let (at, width) = fields[rng.upto(fields.len())];
                let max = if width == 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * width)) - 1
                };
                let old = get(&b, at, width);
                let v = match rng.below(8) {
                    0 => 0,
                    1 => max,
                    2 => max - 1,
                    3 => 1,
                    4 => old.wrapping_add(1) & max,
                    5 => old.wrapping_sub(1) & max,
                    6 => rng.below(5000),
                    _ => old.wrapping_mul(2) & max,
                };
                put(&mut b, at, width, v);
            }
        }
    }
    if !raw && rng.below(5) < 3 {
        fix_checksums(&mut b, rng.below(4) != 0);
    }
    b
}

// ---------------------------------------------------------------------------------------
// Exercising a file.

/// The pure functions on the bytes, as `open` calls them.
fn decode(bytes: &[u8]) {
    let path = Path::new("mutated");
    let needed = if bytes.len() >= format::SUPERBLOCK_SIZE {
        Superblock::needed_len(bytes)
    } else {
        bytes.len()
    };
    let head = &bytes[..needed.min(bytes.len())];
    if let Ok(sb) = Superblock::decode(path, head, bytes.len() as u64) {
        let _ = format::fingerprint(&sb.schema);
        let _ = sb.schema.to_string();
        let _ = Meta::pick(path, head);
    }
    let _ = Meta::pick(path, bytes);
    for (i, &at) in META_OFFSETS.iter().enumerate() {
        let _ = Meta::decode(i, bytes.get(at..).unwrap_or(&[]));
    }
}

/// Every record's bytes, and each as JSON.
fn walk(t: &Table) -> usize {
    let mut n = 0;
    for i in 0..t.len() {
        let r = t.record(i).expect("below len");
        if let Some(s) = t.schema() {
            n += usize::from(s.to_json(r).is_ok());
        }
    }
    assert!(t.record(t.len()).is_none());
    n
}

#[derive(Default, Debug)]
struct Counts {
    files: u64,
    real_files: u64,
    opened: u64,
    verified: u64,
    appended: u64,
    panics: u64,
}

fn exercise(path: &Path, kind: Kind, rng: &mut Rng, c: &mut Counts) {
    match kind {
        Kind::RawMember | Kind::RawSmtest => {
            let schema = if kind == Kind::RawMember {
                <Member as fixrec::Record>::schema().unwrap()
            } else {
                <Smtest as fixrec::Record>::schema().unwrap()
            };
            if let Ok(t) = Table::open_raw(path, schema, false) {
                c.opened += 1;
                c.verified += u64::from(t.verify().is_ok());
                walk(&t);
            }
            if kind == Kind::RawMember {
                if let Ok(s) = Store::<Member>::open_raw_read_only(path) {
                    for m in &s {
                        let _ = (m.id.as_str(), m.name.as_str());
                    }
                }
            } else if let Ok(s) = Store::<Smtest>::open_raw_read_only(path) {
                let sum: i64 = s.iter().map(|r| i64::from(r.i)).sum();
                let _ = sum;
            }
        }
        _ => {
            if let Ok(t) = Table::open_read_only(path) {
                c.opened += 1;
                c.verified += u64::from(t.verify().is_ok());
                walk(&t);
            }
            match kind {
                Kind::Member => {
                    if let Ok(s) = Store::<Member>::open_read_only(path) {
                        let _ = s.verify();
                        for m in &s {
                            let _ = (m.id.as_str(), m.name.as_str());
                        }
                    }
                }
                Kind::Smtest => {
                    if let Ok(s) = Store::<Smtest>::open_read_only(path) {
                        let _: i64 = s.iter().map(|r| i64::from(r.s)).sum();
                    }
                }
                Kind::Slots => {
                    if let Ok(s) = SlotStore::<SlotValue>::open(path) {
                        let _ = s.verify();
                        for v in s.iter() {
                            let _ = v;
                        }
                    }
                }
                _ => {}
            }
            // A writer on a hostile file: open, verify, and one time in four append a
            // record and commit it.
            if let Ok(mut t) = Table::open(path) {
                let _ = t.verify();
                walk(&t);
                if rng.below(4) == 0 {
                    let before = t.len();
                    let rec = vec![0u8; t.record_size()];
                    if t.append(&rec).is_ok() && t.flush().is_ok() {
                        drop(t);
                        let t = Table::open_read_only(path).expect("reopen after a commit");
                        assert_eq!(t.len(), before + 1);
                        c.appended += 1;
                    }
                }
            }
        }
    }
}

fn cases() -> u64 {
    std::env::var("FIXREC_HOSTILE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

fn seed() -> u64 {
    std::env::var("FIXREC_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0405_711e)
}

/// Writes `bytes` as the whole content of `file`.
fn rewrite(file: &File, bytes: &[u8]) {
    file.set_len(0).unwrap();
    common::write_all_at(file, bytes, 0).unwrap();
}

#[test]
fn mutated_files_never_panic_or_fault() {
    // On tmpfs when there is one: the writer's flushes are msyncs.
    let dir = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let bases = bases(dir.path());
    let path = dir.path().join("case.fxr");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let mut rng = Rng(seed());
    let mut c = Counts::default();
    let mut first_panic = None;
    for case in 0..cases() {
        let (kind, base) = &bases[rng.upto(bases.len())];
        let bytes = mutate(&mut rng, base, kind.raw());
        c.files += 1;
        let mut sub = Rng(rng.next());
        let ok = catch_unwind(AssertUnwindSafe(|| {
            if !kind.raw() {
                decode(&bytes);
            }
            rewrite(&file, &bytes);
            c.real_files += 1;
            exercise(&path, *kind, &mut sub, &mut c);
        }));
        if ok.is_err() {
            c.panics += 1;
            first_panic.get_or_insert((case, *kind, bytes.clone()));
        }
    }
    println!("hostile: {c:?}");
    if let Some((case, kind, bytes)) = first_panic {
        let keep = std::env::temp_dir().join("fixrec-hostile-panic.fxr");
        fs::write(&keep, &bytes).unwrap();
        panic!(
            "{} of {} mutated files panicked; the first: case {case}, {kind:?}, saved to {}",
            c.panics,
            c.files,
            keep.display()
        );
    }
    assert!(c.opened > 1_000 && c.verified > 100, "{c:?}");
}

/// Each base file must be valid as it is: the mutations start from sound files.
#[test]
fn the_base_files_are_sound() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, bytes) in bases(dir.path()) {
        let path = dir.path().join("base.fxr");
        fs::write(&path, &bytes).unwrap();
        let t = if kind.raw() {
            let schema = if kind == Kind::RawMember {
                <Member as fixrec::Record>::schema().unwrap()
            } else {
                <Smtest as fixrec::Record>::schema().unwrap()
            };
            Table::open_raw(&path, schema, false).unwrap()
        } else {
            Table::open_read_only(&path).unwrap()
        };
        t.verify().unwrap();
        assert!(t.len() >= 3, "{kind:?}");
        assert_eq!(walk(&t), t.len(), "{kind:?}");
    }
}

#[cfg(feature = "cli")]
#[test]
fn the_cli_on_mutated_files_exits_1_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let bases = bases(dir.path());
    let mut rng = Rng(seed() ^ 0xc11);
    let (mut ok, mut failed) = (0, 0);
    for case in 0..150 {
        let natives: Vec<_> = bases.iter().filter(|b| !b.0.raw()).collect();
        let (kind, base) = natives[rng.upto(natives.len())];
        let bytes = mutate(&mut rng, base, false);
        let path = dir.path().join(format!("cli{case}.fxr"));
        fs::write(&path, &bytes).unwrap();
        for cmd in ["verify", "info", "get"] {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fixrec"));
            command.arg(cmd).arg(&path);
            if cmd == "get" {
                command.args(["0", "2"]);
            }
            let out = common::output(&mut command);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !common::crashed(&out.status),
                "fixrec {cmd} on case {case} ({kind:?}) crashed: {}",
                out.status
            );
            match out.status.code() {
                Some(0) => ok += 1,
                Some(1) => {
                    assert!(
                        stderr.starts_with("error: ") && !stderr.contains("panicked"),
                        "fixrec {cmd} on case {case}: {stderr}"
                    );
                    failed += 1;
                }
                code => panic!("fixrec {cmd} on case {case} ({kind:?}) exited {code:?}: {stderr}"),
            }
        }
        fs::remove_file(&path).unwrap();
    }
    println!("cli: {ok} ok, {failed} refused");
    assert!(failed > 50, "too few mutated files were refused: {failed}");
}

#[test]
fn a_slot_claiming_a_huge_string_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slots.fxr");
    let mut s = SlotStore::<SlotValue>::create(&path, 64).unwrap();
    s.push(&(1, "abc".into(), vec![])).unwrap();
    drop(s);
    let mut bytes = fs::read(&path).unwrap();
    let at = 4096;
    for claim in [1u64 << 20, 1 << 40, u64::MAX / 2, u64::MAX] {
        // len prefix 13: a u32 (1 byte), then the string's length as a u64 varint.
        let mut slot = vec![13u8, 0, 0, 0, 1, 253];
        slot.extend_from_slice(&claim.to_le_bytes());
        bytes[at..at + slot.len()].copy_from_slice(&slot);
        fs::write(&path, &bytes).unwrap();
        let s = SlotStore::<SlotValue>::open(&path).unwrap();
        assert!(s.get(0).is_err(), "claim {claim}");
    }
}
