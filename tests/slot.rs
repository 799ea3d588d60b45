//! `SlotStore<T>`: serde values encoded with bincode 2 into fixed-size slots, on real
//! files: get/set/push/iter/truncate/reopen, values too large for their slot, the slot
//! bytes as FORMAT.md documents them, and refusing a file of the other kind.

use fixrec::{Error, FixedStr, SlotStore, Store, StoreOptions, record};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Player {
    name: String,
    scores: Vec<u32>,
}

record! {
    #[repr(C)]
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

fn player(i: u32) -> Player {
    Player {
        name: format!("player {i}"),
        scores: (0..i % 5).collect(),
    }
}

fn encoded(p: &Player) -> Vec<u8> {
    bincode::serde::encode_to_vec(p, bincode::config::standard()).unwrap()
}

fn names(e: &Error, path: &Path) -> bool {
    e.to_string().contains(&path.display().to_string())
}

#[test]
fn push_get_set_iter_truncate_and_reopen() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("players.fxs");
    let mut s =
        SlotStore::<Player>::create_with(&path, 64, &StoreOptions::new().capacity(4)).unwrap();
    assert!(s.is_empty());
    assert_eq!(s.slot_size(), 64);
    assert_eq!(s.capacity(), 4);
    for i in 0..20 {
        assert_eq!(s.push(&player(i)).unwrap(), i as usize);
    }
    assert_eq!(s.len(), 20);
    assert!(s.capacity() >= 20, "grows like a Store");
    assert_eq!(s.get(7).unwrap(), player(7));
    s.set(
        7,
        &Player {
            name: "Guo Jing".into(),
            scores: vec![9, 9],
        },
    )
    .unwrap();
    assert_eq!(s.get(7).unwrap().name, "Guo Jing");
    s.flush().unwrap();
    drop(s);

    let mut s = SlotStore::<Player>::open(&path).unwrap();
    assert_eq!(s.len(), 20);
    assert_eq!(s.slot_size(), 64, "the slot size comes from the header");
    let all: Vec<Player> = s.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len(), 20);
    assert_eq!(all[7].scores, [9, 9]);
    assert_eq!(all[19], player(19));
    s.verify().unwrap();

    s.truncate(30);
    assert_eq!(s.len(), 20);
    s.truncate(3);
    assert_eq!(s.len(), 3);
    assert!(matches!(
        s.get(3),
        Err(Error::IndexOutOfRange { index: 3, len: 3 })
    ));
    s.flush().unwrap();
    s.push(&player(100)).unwrap(); // committed by drop
    drop(s);
    let s = SlotStore::<Player>::open(&path).unwrap();
    let all: Vec<Player> = s.iter().map(Result::unwrap).collect();
    assert_eq!(all, [player(0), player(1), player(2), player(100)]);
}

#[test]
fn each_slot_is_a_length_then_bincode_at_the_documented_offset() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("players.fxs");
    let mut s = SlotStore::<Player>::create(&path, 40).unwrap();
    for i in 0..3 {
        s.push(&player(i)).unwrap();
    }
    s.flush().unwrap();
    let offset = s.table().data_offset();
    assert_eq!(offset, 4096);
    drop(s);
    let bytes = fs::read(&path).unwrap();
    for i in 0..3 {
        let slot = &bytes[offset + i * 40..offset + (i + 1) * 40];
        let body = encoded(&player(i as u32));
        assert_eq!(&slot[..4], &(body.len() as u32).to_le_bytes(), "slot {i}");
        assert_eq!(&slot[4..4 + body.len()], &body[..], "slot {i}");
        assert!(slot[4 + body.len()..].iter().all(|&b| b == 0), "slot {i}");
    }
}

#[test]
fn a_value_too_large_names_both_sizes_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("players.fxs");
    let mut s = SlotStore::<Player>::create(&path, 32).unwrap();
    s.push(&player(1)).unwrap();
    let big = Player {
        name: "x".repeat(100),
        scores: vec![],
    };
    let needed = encoded(&big).len();
    assert!(needed > 28);

    let e = s.set(0, &big).unwrap_err();
    assert!(
        matches!(e, Error::SlotTooSmall { needed: n, slot_size: 32 } if n == needed),
        "{e}"
    );
    let m = e.to_string();
    assert!(m.contains(&needed.to_string()) && m.contains("32"), "{m}");
    assert_eq!(s.get(0).unwrap(), player(1), "the slot is unchanged");

    let e = s.push(&big).unwrap_err();
    assert!(matches!(e, Error::SlotTooSmall { .. }), "{e}");
    assert_eq!(s.len(), 1, "nothing was appended");

    // Exactly filling the slot's 28 value bytes fits.
    let fits = Player {
        name: "y".repeat(26), // 1-byte length + 26 bytes + 1-byte empty vec
        scores: vec![],
    };
    assert_eq!(encoded(&fits).len(), 28);
    s.set(0, &fits).unwrap();
    assert_eq!(s.get(0).unwrap(), fits);
    let one_more = Player {
        name: "y".repeat(27),
        scores: vec![],
    };
    assert!(matches!(
        s.set(0, &one_more),
        Err(Error::SlotTooSmall { needed: 29, .. })
    ));
    assert_eq!(s.get(0).unwrap(), fits);
    assert!(matches!(
        s.set(5, &fits),
        Err(Error::IndexOutOfRange { index: 5, len: 1 })
    ));
}

#[test]
fn bad_slot_sizes_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for size in [0, 1, 4] {
        let path = d.path().join(format!("s{size}.fxs"));
        let e = SlotStore::<Player>::create(&path, size).unwrap_err();
        assert!(matches!(e, Error::InvalidSchema { .. }), "{size}: {e}");
        assert!(!path.exists());
    }
    SlotStore::<u8>::create(d.path().join("s5.fxs"), 5).unwrap();
}

#[test]
fn a_store_file_is_not_a_slot_file_and_the_reverse() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("members.fxr");
    drop(Store::<Member>::create(&store).unwrap());
    let e = SlotStore::<Player>::open(&store).unwrap_err();
    assert!(matches!(e, Error::SchemaMismatch { .. }), "{e}");
    assert!(names(&e, &store), "{e}");

    // A slot file whose slots are as big as a Member record is still refused.
    let slots = d.path().join("players.fxs");
    drop(SlotStore::<Player>::create(&slots, 512).unwrap());
    for e in [
        Store::<Member>::open(&slots).unwrap_err(),
        Store::<Member>::open_read_only(&slots).unwrap_err(),
    ] {
        assert!(matches!(e, Error::SchemaMismatch { .. }), "{e}");
        assert!(names(&e, &slots), "{e}");
    }
    // Both still open as what they are.
    Store::<Member>::open(&store).unwrap();
    SlotStore::<Player>::open(&slots).unwrap();
}

#[test]
fn one_writer_and_a_corrupt_length_prefix_is_an_error_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("players.fxs");
    let mut s = SlotStore::<Player>::create(&path, 32).unwrap();
    s.push(&player(1)).unwrap();
    s.push(&player(2)).unwrap();
    s.flush().unwrap();
    let e = SlotStore::<Player>::open(&path).unwrap_err();
    assert!(matches!(e, Error::Locked { .. }), "{e}");
    drop(s);

    // Slot 1's length prefix claims more than the slot holds; slot 0's bytes are junk.
    let mut bytes = fs::read(&path).unwrap();
    bytes[4096 + 32..4096 + 36].copy_from_slice(&1000u32.to_le_bytes());
    bytes[4096 + 4..4096 + 32].fill(0xff);
    fs::write(&path, bytes).unwrap();
    let s = SlotStore::<Player>::open(&path).unwrap();
    for i in [0, 1] {
        let e = s.get(i).unwrap_err();
        assert!(
            matches!(e, Error::Codec { index, .. } if index == i as u64),
            "{e}"
        );
    }
    let e = s.verify().unwrap_err();
    let Error::VerifyFailed { problems, .. } = &e else {
        panic!("expected VerifyFailed, got {e}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.contains("slot 1") && p.contains("1000")),
        "{e}"
    );
}
