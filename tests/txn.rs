//! Transactions: atomic multi-record commits through the store's log. Reads of own
//! writes, commit and drop, redo at open (writable and read-only), the log filling and
//! growing, growth inside a transaction, the files that cannot hold a log, and the slot
//! store's typed transaction (bad input refused, nothing changed).

mod common;
use common::{Rec, rec};
use fixrec::format::{self, Meta};
use fixrec::{Error, FieldType, Layout, Schema, SlotStore, Store, StoreOptions, Table};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

fn store_with(path: &Path, n: u64) -> Store<Rec> {
    let mut s: Store<Rec> = StoreOptions::new()
        .capacity(2 * n.max(1))
        .create(path)
        .unwrap();
    for i in 0..n {
        s.push(rec(i, 0)).unwrap();
    }
    s.flush().unwrap();
    s
}

fn versions(s: &Store<Rec, impl fixrec::Access>) -> Vec<u64> {
    s.iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(*r, rec(i as u64, r.version), "record {i} is garbage");
            r.version
        })
        .collect()
}

#[test]
fn a_transaction_reads_its_own_writes_and_commits_them_together() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 10);
    let reader = Store::<Rec>::open_read_only(&path).unwrap();
    let mut t = s.transaction().unwrap();
    t.set(3, rec(3, 1)).unwrap();
    t[4] = rec(4, 1);
    assert_eq!(t.push(rec(10, 1)), 10);
    assert_eq!(t.len(), 11);
    assert_eq!((t[3].version, t[4].version, t[10].version), (1, 1, 1));
    assert_eq!(t.get(11), None);
    assert!(matches!(
        t.set(11, rec(11, 1)),
        Err(Error::IndexOutOfRange { .. })
    ));
    // Nothing reached the map or the file: the reader sees the committed state.
    assert_eq!(versions(&reader), vec![0; 10]);
    t.commit().unwrap();
    assert_eq!(versions(&s), [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    // Another handle sees the updates at once and the append after its refresh.
    assert_eq!(reader[3].version, 1);
    let mut reader = reader;
    assert!(reader.refresh().unwrap());
    assert_eq!(versions(&reader), [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    drop(s);
    let s = Store::<Rec>::open(&path).unwrap();
    assert_eq!(versions(&s), [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn a_dropped_transaction_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 5);
    let before = fs::read(&path).unwrap();
    {
        let mut t = s.transaction().unwrap();
        t[0] = rec(0, 9);
        t.push(rec(5, 9));
    }
    assert_eq!(versions(&s), vec![0; 5]);
    assert_eq!(fs::read(&path).unwrap(), before, "the file changed");
    drop(s);
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "the file changed at close"
    );
}

/// The image a power cut can leave right after a commit: the log entry is durable,
/// the records it applied are not (the old bytes put back), and the meta slot is the
/// one before the commit.
#[test]
fn open_redoes_committed_transactions_whose_records_were_lost() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 8);
    let data_offset = s.table().data_offset();
    let t = s.transaction().unwrap();
    t.commit().unwrap(); // an empty transaction: no entry, no log yet
    assert_eq!(
        fs::metadata(&path).unwrap().len() as usize,
        data_offset + 16 * 64
    );
    let mut t = s.transaction().unwrap();
    t[0] = rec(0, 0);
    t.commit().unwrap(); // makes the log
    s.flush().unwrap();
    let before = fs::read(&path).unwrap();
    let mut t = s.transaction().unwrap();
    t[2] = rec(2, 5);
    t[7] = rec(7, 5);
    t.commit().unwrap();
    let mut t = s.transaction().unwrap();
    t[2] = rec(2, 6);
    t.push(rec(8, 6));
    t.commit().unwrap();
    let mut img = fs::read(&path).unwrap();
    std::mem::forget(s); // a crash: no checkpoint
    // Lose the applied records and the meta slots' updates.
    img[..data_offset].copy_from_slice(&before[..data_offset]);
    let rs = size_of::<Rec>();
    let end = before.len().min(data_offset + 9 * rs);
    img[data_offset..end].copy_from_slice(&before[data_offset..end]);
    let image = d.path().join("image.fxr");
    fs::write(&image, &img).unwrap();
    let r = Store::<Rec>::open_read_only(&image).unwrap();
    assert_eq!(versions(&r), [0, 0, 6, 0, 0, 0, 0, 5, 6]);
    drop(r);
    // The reader applied the log and checkpointed: the file alone now holds it all.
    let bytes = fs::read(&image).unwrap();
    let meta = Meta::pick(&image, &bytes[..4096]).unwrap();
    assert_eq!(meta.len, 9);
    let w = Store::<Rec>::open(&image).unwrap();
    assert_eq!(versions(&w), [0, 0, 6, 0, 0, 0, 0, 5, 6]);
}

#[test]
fn a_reader_that_cannot_write_says_what_to_do() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 4);
    let mut t = s.transaction().unwrap();
    t[1] = rec(1, 3);
    t.commit().unwrap();
    let img = fs::read(&path).unwrap();
    drop(s);
    let image = d.path().join("image.fxr");
    fs::write(&image, &img).unwrap();
    let mut perms = fs::metadata(&image).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(&image, perms).unwrap();
    if fs::OpenOptions::new().write(true).open(&image).is_ok() {
        return; // running as root: permissions do not stop a write
    }
    let e = Store::<Rec>::open_read_only(&image).unwrap_err();
    assert!(matches!(e, Error::LogNotApplied { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&*image.to_string_lossy()), "{msg}");
    assert!(msg.contains("open the store once for writing"), "{msg}");
}

#[test]
fn many_transactions_fill_the_log_and_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 100);
    let mut model = vec![0u64; 100];
    // Each entry is 24 + 50 * 72 + 8 bytes: a 4 MiB log holds about 1150 of them.
    for v in 1..=1500u64 {
        let mut t = s.transaction().unwrap();
        for k in 0..50 {
            let i = ((v * 7 + k * 13) % 100) as usize;
            t[i] = rec(i as u64, v);
            model[i] = v;
        }
        t.commit().unwrap();
    }
    let generation = s.table().generation();
    assert!(generation > 2, "no checkpoint: generation {generation}");
    assert_eq!(versions(&s), model);
    std::mem::forget(s);
    let img = fs::read(&path).unwrap();
    let image = d.path().join("image.fxr");
    fs::write(&image, &img).unwrap();
    assert_eq!(versions(&Store::<Rec>::open(&image).unwrap()), model);
}

#[test]
fn a_transaction_larger_than_the_log_grows_it_and_the_store() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 3);
    let mut t = s.transaction().unwrap();
    let n = 100_000u64; // 7 MB of entry: more than the 4 MiB log, past the capacity
    for i in 3..n {
        t.push(rec(i, 1));
    }
    t[0] = rec(0, 1);
    t.commit().unwrap();
    assert_eq!(s.len() as u64, n);
    std::mem::forget(s);
    let image = d.path().join("image.fxr");
    fs::copy(&path, &image).unwrap();
    let s = Store::<Rec>::open(&image).unwrap();
    let v = versions(&s);
    assert_eq!(v.len() as u64, n);
    assert_eq!(&v[..4], &[1, 0, 0, 1]);
}

#[test]
fn unflushed_in_place_appends_are_committed_before_a_transaction() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 2);
    s.push(rec(2, 0)).unwrap();
    s.truncate(1);
    s.push(rec(1, 4)).unwrap();
    let mut t = s.transaction().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].version, 4);
    t.push(rec(2, 5));
    t.commit().unwrap();
    drop(s);
    assert_eq!(versions(&Store::<Rec>::open(&path).unwrap()), [0, 4, 5]);
}

#[test]
fn the_untyped_table_has_transactions_too() {
    let d = tempfile::tempdir().unwrap();
    let schema = Schema::from_fields(Layout::C, [("v", FieldType::U32)]).unwrap();
    let path = d.path().join("t.fxr");
    let mut t = Table::create(&path, schema, &StoreOptions::new()).unwrap();
    t.append(&[1, 0, 0, 0]).unwrap();
    let mut x = t.transaction().unwrap();
    x.record_mut(0).unwrap()[0] = 7;
    assert_eq!(x.append(&[8, 0, 0, 0, 9, 0, 0, 0]).unwrap(), 1);
    assert!(x.append(&[1]).is_err());
    assert!(x.write_record(0, &[1, 2]).is_err());
    assert_eq!(x.record(2), Some(&[9, 0, 0, 0][..]));
    x.commit().unwrap();
    assert_eq!(t.records(), &[7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!(t.format_version(), format::VERSION);
}

#[test]
fn headerless_and_version_1_files_refuse_transactions_and_keep_working() {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("r.dat");
    let mut r = Store::<u64>::create_raw(&raw).unwrap();
    let e = r.transaction().err().unwrap();
    assert!(matches!(e, Error::NoTransactions { .. }), "{e}");
    assert!(e.to_string().contains("headerless"), "{e}");

    // A version 1 file (the format before the log): same bytes, version 1.
    let path = d.path().join("v1.fxr");
    drop(store_with(&path, 3));
    let mut bytes = fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let count = u32::from_le_bytes(bytes[28..32].try_into().unwrap()) as usize;
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..60]);
    h.update(&bytes[format::FIELD_TABLE_OFFSET..format::header_len(count)]);
    bytes[60..64].copy_from_slice(&h.finalize().to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    let mut s = Store::<Rec>::open(&path).unwrap();
    assert_eq!(s.table().format_version(), 1);
    let e = s.transaction().err().unwrap();
    assert!(matches!(e, Error::NoTransactions { .. }), "{e}");
    assert!(e.to_string().contains("version 1"), "{e}");
    s[1] = rec(1, 2);
    s.push(rec(3, 2)).unwrap();
    s.flush().unwrap();
    drop(s);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
    assert_eq!(versions(&Store::<Rec>::open(&path).unwrap()), [0, 2, 0, 2]);
}

#[test]
fn in_place_writes_after_a_transaction_are_durable_at_flush() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let mut s = store_with(&path, 4);
    let mut t = s.transaction().unwrap();
    t[0] = rec(0, 1);
    t.commit().unwrap();
    s[0] = rec(0, 2);
    s.push(rec(4, 2)).unwrap();
    s.flush().unwrap();
    std::mem::forget(s);
    let image = d.path().join("image.fxr");
    fs::copy(&path, &image).unwrap();
    // The flush checkpointed: the log's entry is not redone over the newer write.
    assert_eq!(
        versions(&Store::<Rec>::open(&image).unwrap()),
        [2, 0, 0, 0, 2]
    );
}

/// A failed bulk load rolled back (the file cut back to its committed capacity, and the
/// log's place with it), then a transaction in the same handle: its log is made again,
/// reserved, and the commit survives a reopen. (The cut used to leave the handle with
/// a map of a log that was no longer in the file.)
#[test]
fn a_transaction_after_a_rolled_back_load_makes_its_log_again() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.fxr");
    let schema = Schema::from_fields(Layout::C, [("n", FieldType::U64)]).unwrap();
    let mut t = Table::create(&path, schema, &StoreOptions::new().capacity(4)).unwrap();
    t.append(&1u64.to_le_bytes()).unwrap();
    t.flush().unwrap();
    let mut x = t.transaction().unwrap();
    x.write_record(0, &2u64.to_le_bytes()).unwrap();
    x.commit().unwrap();
    let with_log = fs::metadata(&path).unwrap().len();
    // A load that grows the store, then fails: rolled back, the file cut.
    t.append(&[7u8; 8 * 10_000]).unwrap();
    t.roll_back_appends().unwrap();
    assert!(
        fs::metadata(&path).unwrap().len() < with_log,
        "the log's place was cut"
    );
    let mut x = t.transaction().unwrap();
    x.write_record(0, &3u64.to_le_bytes()).unwrap();
    x.commit().unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        with_log,
        "the log is whole again"
    );
    drop(t);
    let t = Table::open(&path).unwrap();
    t.verify().unwrap();
    assert_eq!((t.len(), t.record(0)), (1, Some(&3u64.to_le_bytes()[..])));
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Player {
    name: String,
    scores: Vec<u32>,
}

fn player(i: u32, v: u32) -> Player {
    Player {
        name: format!("player {i}"),
        scores: vec![v; (i % 3) as usize],
    }
}

fn players(s: &SlotStore<Player>) -> Vec<Player> {
    s.iter().collect::<Result<_, _>>().unwrap()
}

fn slot_store_with(path: &Path, n: u32) -> SlotStore<Player> {
    let mut s = SlotStore::<Player>::create(path, 32).unwrap();
    for i in 0..n {
        s.push(&player(i, 0)).unwrap();
    }
    s.flush().unwrap();
    s
}

#[test]
fn a_slot_transaction_reads_its_own_writes_and_commits_them_together() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.fxs");
    let mut s = slot_store_with(&path, 6);
    let before = fs::read(&path).unwrap();
    let mut t = s.transaction().unwrap();
    assert_eq!(t.len(), 6);
    t.set(2, &player(2, 7)).unwrap();
    assert_eq!(t.push(&player(6, 7)).unwrap(), 6);
    t.set(6, &player(6, 8)).unwrap(); // a value the transaction pushed
    assert_eq!(t.len(), 7);
    assert_eq!(t.get(2).unwrap(), player(2, 7));
    assert_eq!(t.get(6).unwrap(), player(6, 8));
    assert_eq!(t.get(1).unwrap(), player(1, 0));
    assert_eq!(t.iter().count(), 7);
    // Nothing reached the map or the file before the commit.
    let reader = Table::open_read_only(&path).unwrap();
    assert_eq!(reader.len(), 6);
    drop(reader);
    assert_eq!(fs::read(&path).unwrap(), before);
    t.commit().unwrap();
    let mut want: Vec<Player> = (0..6).map(|i| player(i, 0)).collect();
    want[2] = player(2, 7);
    want.push(player(6, 8));
    assert_eq!(players(&s), want);
    std::mem::forget(s); // a crash after the commit: no checkpoint
    let image = d.path().join("image.fxs");
    fs::copy(&path, &image).unwrap();
    let s = SlotStore::<Player>::open(&image).unwrap();
    assert_eq!(players(&s), want);
    s.verify().unwrap();
}

#[test]
fn a_dropped_slot_transaction_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.fxs");
    let mut s = slot_store_with(&path, 4);
    let before = fs::read(&path).unwrap();
    {
        let mut t = s.transaction().unwrap();
        t.set(0, &player(0, 9)).unwrap();
        t.push(&player(4, 9)).unwrap();
    }
    assert_eq!(
        players(&s),
        (0..4).map(|i| player(i, 0)).collect::<Vec<_>>()
    );
    drop(s);
    assert_eq!(fs::read(&path).unwrap(), before, "the file changed");
}

#[test]
fn a_slot_transaction_refuses_bad_input_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.fxs");
    let mut s = slot_store_with(&path, 3);
    let big = Player {
        name: "x".repeat(40),
        scores: vec![],
    };
    let mut t = s.transaction().unwrap();
    t.set(1, &player(1, 5)).unwrap();

    // An index past the end, for set and get: an error naming both numbers.
    let e = t.set(3, &player(3, 5)).unwrap_err();
    assert!(
        matches!(e, Error::IndexOutOfRange { index: 3, len: 3 }),
        "{e}"
    );
    assert_eq!(e.to_string(), "index 3 is out of range (len 3)");
    assert!(matches!(
        t.get(3),
        Err(Error::IndexOutOfRange { index: 3, len: 3 })
    ));
    // A value too big for its slot: an error naming both sizes; the slot keeps the
    // transaction's own earlier write, and no push is made.
    let e = t.set(1, &big).unwrap_err();
    assert!(
        matches!(
            e,
            Error::SlotTooSmall {
                needed: 42,
                slot_size: 32
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("42 bytes"), "{e}");
    assert!(e.to_string().contains("32 bytes"), "{e}");
    assert_eq!(t.get(1).unwrap(), player(1, 5));
    assert!(matches!(
        t.push(&big),
        Err(Error::SlotTooSmall { needed: 42, .. })
    ));
    // Past the end and too big: the index is checked first.
    assert!(matches!(
        t.set(9, &big),
        Err(Error::IndexOutOfRange { index: 9, len: 3 })
    ));
    assert_eq!(t.len(), 3);
    assert_eq!(
        t.push(&player(3, 5)).unwrap(),
        3,
        "the failed push took no index"
    );
    t.commit().unwrap();
    let want = [player(0, 0), player(1, 5), player(2, 0), player(3, 5)];
    assert_eq!(players(&s), want);
    drop(s);
    let s = SlotStore::<Player>::open(&path).unwrap();
    assert_eq!(players(&s), want);
    s.verify().unwrap();
}

/// A shorter value leaves zeros after it, as FORMAT.md says of every slot, even where
/// the transaction encoded a longer one before.
#[test]
fn a_slot_transaction_writes_zeros_after_a_shorter_value() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.fxs");
    let mut s = slot_store_with(&path, 1);
    let mut t = s.transaction().unwrap();
    t.push(&Player {
        name: "a long name, 21 bytes".into(),
        scores: vec![],
    })
    .unwrap();
    let short = Player {
        name: "b".into(),
        scores: vec![],
    };
    t.set(0, &short).unwrap();
    t.commit().unwrap();
    let slot = s.table().record(0).unwrap();
    let body = bincode::serde::encode_to_vec(&short, bincode::config::standard()).unwrap();
    assert_eq!(&slot[..4], &(body.len() as u32).to_le_bytes());
    assert_eq!(&slot[4..4 + body.len()], &body[..]);
    assert!(slot[4 + body.len()..].iter().all(|&b| b == 0), "{slot:?}");
}

#[test]
fn a_slot_transaction_grows_the_store_and_the_log() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.fxs");
    let options = StoreOptions::new().capacity(2).log_size(4096);
    let mut s = SlotStore::<Player>::create_with(&path, 32, &options).unwrap();
    s.push(&player(0, 0)).unwrap();
    // Unflushed in place: committed before the transaction starts.
    let mut t = s.transaction().unwrap();
    assert_eq!(t.get(0).unwrap(), player(0, 0));
    for i in 1..500 {
        t.push(&player(i, 1)).unwrap();
    }
    t.commit().unwrap();
    assert_eq!(s.len(), 500);
    std::mem::forget(s);
    let image = d.path().join("image.fxs");
    fs::copy(&path, &image).unwrap();
    let s = SlotStore::<Player>::open(&image).unwrap();
    let want: Vec<Player> = (0..500).map(|i| player(i, u32::from(i > 0))).collect();
    assert_eq!(players(&s), want);
}
