//! Arbitrary bytes opened as a fixrec store and as raw files of a few schemas.
//!
//! The first byte picks what the rest is: a native file (opened read-only and for
//! writing, verified, every record walked and rendered as JSON, one record appended and
//! committed), a raw file of one of four schemas, or a slot file read back with bincode.
//! The pure header decoders run on every input. Any panic, abort or signal is a bug.
//!
//! Run: `cargo +nightly fuzz run open` (see docs/RELIABILITY.md).

#![no_main]

use fixrec::format::{self, META_OFFSETS, Meta, Superblock};
use fixrec::{FieldType, Layout, Schema, SlotStore, Table};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One scratch file per fuzzing process, rewritten for each input (on tmpfs if there).
fn scratch() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("fixrec-fuzz-{}.fxr", std::process::id()))
    })
}

fn schemas() -> [Schema; 4] {
    let s = |layout, fields: &[(&str, FieldType)]| {
        Schema::from_fields(layout, fields.iter().map(|&(n, t)| (n, t))).unwrap()
    };
    [
        // struct Member { char Id[256]; char name[256]; }
        s(
            Layout::C,
            &[("id", FieldType::Str(256)), ("name", FieldType::Str(256))],
        ),
        // #pragma pack(1) struct SMTEST { char c; int i; short s; }
        s(
            Layout::Packed,
            &[
                ("c", FieldType::Char),
                ("i", FieldType::I32),
                ("s", FieldType::I16),
            ],
        ),
        s(
            Layout::C,
            &[
                ("flag", FieldType::Bool),
                ("name", FieldType::Str(13)),
                ("x", FieldType::F64),
                ("blob", FieldType::Bytes(6)),
            ],
        ),
        s(Layout::C, &[("n", FieldType::U64)]),
    ]
}

fn decode(bytes: &[u8]) {
    let path = Path::new("fuzz");
    let needed = if bytes.len() >= format::SUPERBLOCK_SIZE {
        Superblock::needed_len(bytes)
    } else {
        bytes.len()
    };
    let head = &bytes[..needed.min(bytes.len())];
    if let Ok(sb) = Superblock::decode(path, head, bytes.len() as u64) {
        let _ = format::fingerprint(&sb.schema);
        let _ = sb.schema.to_string();
    }
    let _ = Meta::pick(path, bytes);
    for (i, &at) in META_OFFSETS.iter().enumerate() {
        let _ = Meta::decode(i, bytes.get(at..).unwrap_or(&[]));
    }
}

fn walk(t: &Table) {
    let _ = t.verify();
    for i in 0..t.len() {
        let r = t.record(i).expect("below len");
        if let Some(s) = t.schema() {
            let _ = s.to_json(r);
        }
    }
    assert!(t.record(t.len()).is_none());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    decode(bytes);
    let path = scratch();
    std::fs::write(path, bytes).unwrap();
    match mode % 9 {
        0..=3 => {
            if let Ok(t) = Table::open_read_only(path) {
                walk(&t);
            }
            if let Ok(mut t) = Table::open(path) {
                walk(&t);
                let before = t.len();
                let rec = vec![0u8; t.record_size()];
                if t.append(&rec).is_ok() && t.flush().is_ok() {
                    drop(t);
                    let t = Table::open_read_only(path).expect("reopen after a commit");
                    assert_eq!(t.len(), before + 1);
                }
            }
        }
        4 => {
            if let Ok(s) = SlotStore::<(u32, String, Vec<u64>)>::open(path) {
                let _ = s.verify();
                for v in s.iter() {
                    let _ = v;
                }
            }
        }
        m => {
            let schema = schemas()[usize::from(m - 5)].clone();
            if let Ok(t) = Table::open_raw(path, schema, false) {
                walk(&t);
            }
        }
    }
});
