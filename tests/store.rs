//! `Store<R>` on real files: every public API, growth, the commit protocol as a second
//! handle sees it, `verify`, and the error of each kind of bad file, built by editing the
//! bytes of a real file at the offsets documented at the top of `src/format.rs`.

use fixrec::{Error, FixedStr, Growth, Store, StoreOptions, record};
use std::fs;
use std::path::Path;
use tempfile::TempDir;

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`
    #[derive(Debug, PartialEq)]
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

record! {
    #[repr(C)]
    /// Same size as `Member`, but the second field has another name.
    pub struct Titled {
        pub id: FixedStr<256>,
        pub title: FixedStr<256>,
    }
}

record! {
    #[repr(C)]
    /// Same size and names as `Member`, but `id` is bytes, not text.
    pub struct RawId {
        pub id: [u8; 256],
        pub name: FixedStr<256>,
    }
}

record! {
    #[repr(C)]
    /// A smaller record.
    pub struct Small {
        pub id: FixedStr<16>,
    }
}

record! {
    #[repr(C)]
    #[derive(Debug, PartialEq)]
    pub struct Num {
        pub v: u64,
    }
}

// Offsets from the byte map in src/format.rs.
const VERSION_AT: usize = 8;
const SB_CHECKSUM_AT: usize = 60;
const META: [usize; 2] = [512, 1024];
const FIELD_TABLE: usize = 1536;
const FIELD_ENTRY: usize = 64;

fn member(id: &str, name: &str) -> Member {
    Member {
        id: FixedStr::new(id).unwrap(),
        name: FixedStr::new(name).unwrap(),
    }
}

fn nth(i: usize) -> Member {
    member(&i.to_string(), &format!("name {i}"))
}

fn dir() -> TempDir {
    tempfile::tempdir().unwrap()
}

fn msg(e: &Error) -> String {
    e.to_string()
}

fn names(e: &Error, path: &Path) -> bool {
    e.to_string().contains(&path.display().to_string())
}

/// A flushed store of `n` members, with room for exactly `cap` records.
fn make(path: &Path, n: usize, cap: u64) {
    let mut s: Store<Member> = StoreOptions::new().capacity(cap).create(path).unwrap();
    for i in 0..n {
        s.push(nth(i)).unwrap();
    }
    s.flush().unwrap();
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Writes a meta slot with a valid checksum: the given generation, len and capacity.
fn write_meta(bytes: &mut [u8], generation: u64, len: u64, capacity: u64) {
    let at = META[(generation % 2) as usize];
    let slot = &mut bytes[at..at + 64];
    slot.fill(0);
    slot[..4].copy_from_slice(b"FXRM");
    slot[8..16].copy_from_slice(&generation.to_le_bytes());
    slot[16..24].copy_from_slice(&len.to_le_bytes());
    slot[24..32].copy_from_slice(&capacity.to_le_bytes());
    let sum = crc32fast::hash(&slot[..60]);
    slot[60..64].copy_from_slice(&sum.to_le_bytes());
}

/// The committed meta slot: (generation, len, capacity) of the valid slot with the
/// higher generation (the test files here have valid slots).
fn committed(bytes: &[u8]) -> (u64, u64, u64) {
    META.iter()
        .map(|&at| {
            (
                le_u64(bytes, at + 8),
                le_u64(bytes, at + 16),
                le_u64(bytes, at + 24),
            )
        })
        .max()
        .unwrap()
}

/// Recomputes the superblock checksum: CRC-32 of bytes 0..60, then the field table.
fn reseal_superblock(bytes: &mut [u8]) {
    let count = u32::from_le_bytes(bytes[28..32].try_into().unwrap()) as usize;
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..60]);
    h.update(&bytes[FIELD_TABLE..FIELD_TABLE + FIELD_ENTRY * count]);
    let sum = h.finalize();
    bytes[SB_CHECKSUM_AT..SB_CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    f(&mut bytes);
    fs::write(path, bytes).unwrap();
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

// ---------------------------------------------------------------- the API, happy paths

#[test]
fn create_push_flush_and_reopen_read_write_and_read_only() {
    let d = dir();
    let path = d.path().join("members.fxr");
    let mut s = Store::<Member>::create(&path).unwrap();
    assert!(s.is_empty());
    assert_eq!(s.len(), 0);
    assert_eq!(s.get(0), None);
    assert_eq!(s.path(), path);
    let schema = s.schema().expect("a native file has a schema");
    assert_eq!(schema.record_size(), 512);
    assert_eq!(schema.field("name").unwrap().offset, 256);
    // The default capacity is 64 KiB of records.
    assert_eq!(s.capacity(), 128);

    for i in 0..10 {
        assert_eq!(s.push(nth(i)).unwrap(), i);
    }
    assert_eq!(s.len(), 10);
    assert!(!s.is_empty());
    assert_eq!(s.get(3), Some(&nth(3)));
    assert_eq!(s.get(10), None);
    assert_eq!(s[9], nth(9));
    assert_eq!(s.as_slice().len(), 10);
    assert_eq!(s.iter().count(), 10);
    assert!(s.iter().enumerate().all(|(i, m)| *m == nth(i)));
    assert_eq!((&s).into_iter().nth(4), Some(&nth(4)));
    s.flush().unwrap();
    drop(s);

    // Record i is at data_offset + i * 512 in the file, as FORMAT.md says.
    let bytes = fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89FIXREC\n");
    assert_eq!(le_u64(&bytes, 32), 4096);
    assert_eq!(&bytes[4096 + 2 * 512..4096 + 2 * 512 + 2], b"2\0");
    assert_eq!(
        &bytes[4096 + 3 * 512 + 256..4096 + 3 * 512 + 263],
        b"name 3\0"
    );
    assert_eq!(committed(&bytes).1, 10);

    let s = Store::<Member>::open(&path).unwrap();
    assert_eq!(s.len(), 10);
    assert_eq!(s.capacity(), 128);
    assert!(s.iter().enumerate().all(|(i, m)| *m == nth(i)));
    drop(s);

    let r = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(r.len(), 10);
    assert_eq!(r[7], nth(7));
    assert_eq!(r.get(10), None);
    assert!(!r.table().is_writable());
    r.verify().unwrap();
}

#[test]
fn get_mut_index_mut_and_as_mut_slice_write_in_place() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s = Store::<Member>::create(&path).unwrap();
    s.extend_from_slice(&[nth(0), nth(1), nth(2)]).unwrap();
    s.get_mut(0).unwrap().name.set("Guo Jing").unwrap();
    assert!(s.get_mut(3).is_none());
    s[1].name.set("Huang Rong").unwrap();
    s.as_mut_slice()[2].id.set("22").unwrap();
    assert_eq!(s.as_mut_slice().len(), 3);
    s.flush().unwrap();
    drop(s);

    let s = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(s[0].name.as_str().unwrap(), "Guo Jing");
    assert_eq!(s[1].name.as_str().unwrap(), "Huang Rong");
    assert_eq!(s[2].id.as_str().unwrap(), "22");
    assert_eq!(s[2].name.as_str().unwrap(), "name 2");
}

#[test]
#[should_panic]
fn index_past_len_panics_like_a_slice() {
    let d = dir();
    let mut s = Store::<Member>::create(d.path().join("m.fxr")).unwrap();
    s.push(nth(0)).unwrap();
    let _ = &s[1];
}

#[test]
fn dropping_a_writer_commits_like_bufwriter() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s = Store::<Member>::create(&path).unwrap();
    s.push(nth(0)).unwrap();
    s.push(nth(1)).unwrap();
    drop(s); // no flush
    let s = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(s.as_slice(), &[nth(0), nth(1)]);
}

#[test]
fn create_refuses_an_existing_path_and_leaves_it_alone() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 3, 8);
    let before = fs::read(&path).unwrap();
    let e = Store::<Member>::create(&path).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert!(names(&e, &path), "{e}");
    let e = Store::<Member>::create_raw(&path).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(Store::<Member>::open(&path).unwrap().len(), 3);
}

#[test]
fn open_of_a_missing_file_is_not_found_and_creates_nothing() {
    let d = dir();
    let path = d.path().join("missing.fxr");
    let e = Store::<Member>::open(&path).unwrap_err();
    match &e {
        Error::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected an IO error, got {other}"),
    }
    assert!(names(&e, &path), "{e}");
    assert!(Store::<Member>::open_read_only(&path).is_err());
    assert!(!path.exists());
}

#[test]
fn open_or_create_creates_then_opens() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s = Store::<Member>::open_or_create(&path).unwrap();
    assert!(s.is_empty());
    s.push(nth(0)).unwrap();
    s.flush().unwrap();
    drop(s);
    let mut s = Store::<Member>::open_or_create(&path).unwrap();
    assert_eq!(s.as_slice(), &[nth(0)]);
    s.push(nth(1)).unwrap();
    drop(s);
    let s: Store<Member> = StoreOptions::new()
        .capacity(5)
        .open_or_create(&path)
        .unwrap();
    assert_eq!(s.len(), 2);
    drop(s);
    // open_or_create still refuses a file that is not a store.
    let other = d.path().join("not-a-store");
    fs::write(&other, b"hello").unwrap();
    let e = Store::<Member>::open_or_create(&other).unwrap_err();
    assert!(matches!(e, Error::BadMagic { .. }), "{e}");
    assert_eq!(fs::read(&other).unwrap(), b"hello");
}

#[test]
fn options_set_capacity_and_step_growth() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s: Store<Member> = StoreOptions::new()
        .capacity(10)
        .growth(Growth::Step(10))
        .create(&path)
        .unwrap();
    assert_eq!(s.capacity(), 10);
    assert_eq!(file_len(&path), 4096 + 10 * 512);
    for i in 0..25 {
        s.push(nth(i)).unwrap();
    }
    assert_eq!(s.capacity(), 30);
    assert_eq!(s.table().remaps(), 2);
    s.flush().unwrap();
    assert_eq!(file_len(&path), 4096 + 30 * 512);
    drop(s);

    // The growth policy is a property of the handle, not of the file.
    let mut s: Store<Member> = StoreOptions::new()
        .growth(Growth::Step(3))
        .open(&path)
        .unwrap();
    assert_eq!((s.len(), s.capacity()), (25, 30));
    for i in 25..31 {
        s.push(nth(i)).unwrap();
    }
    assert_eq!(s.capacity(), 33);
    drop(s);
    let s = Store::<Member>::open(&path).unwrap();
    assert_eq!((s.len(), s.capacity()), (31, 33));
    assert!(s.iter().enumerate().all(|(i, m)| *m == nth(i)));
}

#[test]
fn zero_initial_capacity_grows_on_first_push() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s: Store<Member> = StoreOptions::new().capacity(0).create(&path).unwrap();
    assert_eq!(s.capacity(), 0);
    assert_eq!(file_len(&path), 4096);
    s.push(nth(0)).unwrap();
    assert!(s.capacity() >= 1);
    drop(s);
    assert_eq!(Store::<Member>::open(&path).unwrap().as_slice(), &[nth(0)]);
}

#[test]
fn an_impossible_capacity_is_an_error_and_leaves_no_file() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let e = StoreOptions::new()
        .capacity(u64::MAX / 2)
        .create::<Member>(&path)
        .unwrap_err();
    assert!(!matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert!(!path.exists(), "a failed create left {path:?} behind");
    // And a reserve that overflows is an error too, not a panic.
    let mut s = Store::<Member>::create(&path).unwrap();
    s.push(nth(0)).unwrap();
    assert!(s.reserve(usize::MAX).is_err());
    assert!(s.reserve(usize::MAX / 2).is_err());
    assert_eq!(s.as_slice(), &[nth(0)]);
    s.push(nth(1)).unwrap();
}

#[test]
fn doubling_growth_remaps_a_logarithmic_number_of_times() {
    let d = dir();
    let path = d.path().join("n.fxr");
    let n = 200_000u64;
    let mut s: Store<Num> = StoreOptions::new().capacity(1).create(&path).unwrap();
    for v in 0..n {
        s.push(Num { v }).unwrap();
    }
    // 1 -> 2 -> ... -> 2^18 = 262144: 18 doublings. Linear growth would remap ~n times.
    let remaps = s.table().remaps();
    assert!(remaps <= 18, "{remaps} remaps for {n} pushes");
    assert!(s.capacity() >= n as usize && s.capacity() < 2 * n as usize);
    s.flush().unwrap();
    drop(s);
    let s = Store::<Num>::open_read_only(&path).unwrap();
    assert_eq!(s.len(), n as usize);
    assert_eq!(s.table().remaps(), 0);
    assert!(s.iter().enumerate().all(|(i, r)| r.v == i as u64));
}

#[test]
fn extend_from_slice_grows_at_most_once() {
    let d = dir();
    let path = d.path().join("n.fxr");
    let mut s: Store<Num> = StoreOptions::new().capacity(4).create(&path).unwrap();
    let batch: Vec<Num> = (0..10_000).map(|v| Num { v }).collect();
    s.extend_from_slice(&batch).unwrap();
    assert_eq!(s.table().remaps(), 1);
    assert_eq!(s.len(), 10_000);
    s.extend_from_slice(&[]).unwrap();
    assert_eq!(s.len(), 10_000);
    assert_eq!(s.as_slice(), &batch[..]);
}

#[test]
fn reserve_makes_room_so_pushes_do_not_remap() {
    let d = dir();
    let path = d.path().join("n.fxr");
    let mut s: Store<Num> = StoreOptions::new().capacity(2).create(&path).unwrap();
    s.push(Num { v: 0 }).unwrap();
    s.reserve(1).unwrap();
    assert_eq!(s.table().remaps(), 0, "room for one more was already there");
    s.reserve(1000).unwrap();
    assert!(s.capacity() >= 1001);
    assert_eq!(s.table().remaps(), 1);
    assert!(
        file_len(&path) >= 4096 + 1001 * 8,
        "reserve reserves the file's blocks"
    );
    for v in 1..1001 {
        s.push(Num { v }).unwrap();
    }
    assert_eq!(s.table().remaps(), 1);
    let cap = s.capacity();
    drop(s);
    let s = Store::<Num>::open(&path).unwrap();
    assert_eq!((s.len(), s.capacity()), (1001, cap));
}

#[test]
fn truncate_then_shrink_to_fit_cuts_the_file() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s: Store<Member> = StoreOptions::new().capacity(100).create(&path).unwrap();
    for i in 0..50 {
        s.push(nth(i)).unwrap();
    }
    s.truncate(80); // longer than len: no effect
    assert_eq!(s.len(), 50);
    s.truncate(10);
    assert_eq!(s.len(), 10);
    assert_eq!(s.get(10), None);
    assert_eq!(file_len(&path), 4096 + 100 * 512, "truncate keeps the file");
    s.flush().unwrap();
    drop(s);

    let mut s = Store::<Member>::open(&path).unwrap();
    assert_eq!((s.len(), s.capacity()), (10, 100));
    s.shrink_to_fit().unwrap();
    assert_eq!(s.capacity(), 10);
    assert_eq!(file_len(&path), 4096 + 10 * 512);
    s.shrink_to_fit().unwrap(); // again: nothing to do
    drop(s);
    let mut s = Store::<Member>::open(&path).unwrap();
    assert_eq!((s.len(), s.capacity()), (10, 10));
    assert!(s.iter().enumerate().all(|(i, m)| *m == nth(i)));
    s.verify().unwrap();
    // It grows again after a shrink.
    s.push(nth(10)).unwrap();
    s.truncate(0);
    s.shrink_to_fit().unwrap();
    assert_eq!(file_len(&path), 4096);
    s.push(nth(0)).unwrap();
    drop(s);
    assert_eq!(Store::<Member>::open(&path).unwrap().as_slice(), &[nth(0)]);
}

#[test]
fn shrink_to_fit_is_refused_while_another_handle_maps_the_file() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 20, 64);
    let mut w = Store::<Member>::open(&path).unwrap();
    w.truncate(5);
    let r = Store::<Member>::open_read_only(&path).unwrap();
    let e = w.shrink_to_fit().unwrap_err();
    assert!(matches!(e, Error::InUse { .. }), "{e}");
    assert!(names(&e, &path), "{e}");
    // Refused means nothing happened: the reader's records are all still there.
    assert_eq!(file_len(&path), 4096 + 64 * 512);
    assert_eq!(r.len(), 20);
    assert_eq!(r[19], nth(19));
    drop(r);
    w.shrink_to_fit().unwrap();
    assert_eq!(file_len(&path), 4096 + 5 * 512);
}

/// Page-cache counters of a file range from `cachestat(2)` (Linux 6.5+): (dirty,
/// under write-back).
#[cfg(target_os = "linux")]
fn dirty_pages(file: &fs::File, off: u64, len: u64) -> (u64, u64) {
    use std::os::fd::AsRawFd;
    const SYS_CACHESTAT: libc::c_long = 451; // the same number on every architecture
    let range = [off, len];
    let mut stat = [0u64; 5]; // cache, dirty, writeback, evicted, recently evicted
    // SAFETY: a valid descriptor and pointers to structs of the kernel's layout.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            range.as_ptr(),
            stat.as_mut_ptr(),
            0,
        )
    };
    assert_eq!(rc, 0, "cachestat: {}", std::io::Error::last_os_error());
    (stat[1], stat[2])
}

/// `flush_async` starts the write-back (on Linux `msync(MS_ASYNC)` alone would start
/// nothing and the pages would stay dirty for the flusher's 30 s): every dirty page of
/// the records is written or under write-back when it returns.
#[cfg(target_os = "linux")]
#[test]
fn flush_async_starts_write_back() {
    // On the project's disk: tmpfs pages are never written back.
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = d.path().join("m.fxr");
    let mut w: Store<Member> = StoreOptions::new().create(&path).unwrap();
    for i in 0..16_384 {
        w.push(nth(i)).unwrap();
    }
    let file = fs::File::open(&path).unwrap();
    let data = w.table().data_offset() as u64;
    let (dirty, _) = dirty_pages(&file, data, 16_384 * 512);
    assert!(
        dirty > 1000,
        "the pushed records are in dirty pages ({dirty})"
    );
    w.flush_async().unwrap();
    let (dirty, writeback) = dirty_pages(&file, data, 16_384 * 512);
    assert_eq!(dirty, 0, "{writeback} pages under write-back");
    let reader = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(reader.len(), 0, "flush_async does not commit");
}

/// Another program cutting the file under a writer: the next commit is refused (its
/// records are no longer all there), and the file keeps its last good commit.
#[cfg(unix)] // Windows refuses to cut a mapped file (ERROR_USER_MAPPED_FILE), so no other program can
#[test]
fn a_commit_after_another_program_cut_the_file_is_refused() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut w: Store<Member> = StoreOptions::new().capacity(1000).create(&path).unwrap();
    for i in 0..500 {
        w.push(nth(i)).unwrap();
    }
    w.flush().unwrap();
    let data_offset = w.table().data_offset() as u64;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(data_offset + 100 * 512)
        .unwrap();
    w.push(nth(500)).unwrap(); // written with pwrite, past the cut: no SIGBUS
    let e = w.flush().unwrap_err();
    assert!(
        matches!(e, Error::DataPastEnd { needed, .. } if needed == data_offset + 1000 * 512),
        "{e}"
    );
    assert!(msg(&e).contains("was it truncated?"), "{e}");
    drop(w);
    // The header still says 500 records, which the cut file no longer holds: opening
    // refuses it with the same error rather than mapping past the end.
    let e = Store::<Member>::open_read_only(&path).unwrap_err();
    assert!(matches!(e, Error::DataPastEnd { .. }), "{e}");

    // The staged record is the last of the capacity: writing it would bring the size
    // back. The check comes first, so the commit is still refused.
    let path = d.path().join("full.fxr");
    let mut w: Store<Member> = StoreOptions::new().capacity(100).create(&path).unwrap();
    for i in 0..99 {
        w.push(nth(i)).unwrap();
    }
    w.flush().unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(data_offset + 10 * 512)
        .unwrap();
    w.push(nth(99)).unwrap();
    assert!(matches!(w.flush(), Err(Error::DataPastEnd { .. })));
}

#[test]
fn flush_commits_and_a_reader_sees_only_committed_records() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut w: Store<Member> = StoreOptions::new().capacity(4).create(&path).unwrap();
    w.push(nth(0)).unwrap();
    w.push(nth(1)).unwrap();
    w.flush().unwrap();
    let mut r = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(r.len(), 2);

    w.push(nth(2)).unwrap();
    assert!(!r.refresh().unwrap(), "nothing was committed");
    assert_eq!(r.len(), 2);
    w.flush_async().unwrap();
    assert!(!r.refresh().unwrap(), "flush_async does not commit");
    assert_eq!(r.len(), 2);

    w.flush().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.as_slice(), &[nth(0), nth(1), nth(2)]);
    assert!(!r.refresh().unwrap());

    // Growth: the writer pushes far past its capacity; the reader remaps on refresh.
    for i in 3..100 {
        w.push(nth(i)).unwrap();
    }
    assert_eq!(r.len(), 3);
    w.flush().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 100);
    assert_eq!(r.capacity(), w.capacity());
    assert_eq!(r[99], nth(99));
    assert!(r.table().remaps() >= 1);
    assert_eq!(r.table().generation(), w.table().generation());
    r.verify().unwrap();
}

#[test]
fn flush_range_syncs_records_without_committing() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut w = Store::<Member>::create(&path).unwrap();
    for i in 0..10 {
        w.push(nth(i)).unwrap();
    }
    w.flush().unwrap();
    w[4].name.set("changed").unwrap();
    w.flush_range(4..5).unwrap();
    w.flush_range(0..10).unwrap();
    w.flush_range(10..10).unwrap();
    let generation = w.table().generation();
    w.push(nth(10)).unwrap();
    w.flush_range(0..11).unwrap();
    assert_eq!(
        w.table().generation(),
        generation,
        "flush_range does not commit"
    );
    let r = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(r.len(), 10);
    assert_eq!(r[4].name.as_str().unwrap(), "changed");
    drop(r);

    for bad in [0..12, 11..12, 20..30] {
        let e = w.flush_range(bad.clone()).unwrap_err();
        assert!(
            matches!(e, Error::IndexOutOfRange { len: 11, .. }),
            "{bad:?}: {e}"
        );
    }
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 5..2;
    assert!(w.flush_range(backwards).is_err());
}

#[test]
fn locks_are_per_handle_one_writer_many_readers() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 1, 8);
    let w = Store::<Member>::open(&path).unwrap();
    for _ in 0..2 {
        let e = Store::<Member>::open(&path).unwrap_err();
        assert!(matches!(e, Error::Locked { .. }), "{e}");
        assert!(names(&e, &path), "{e}");
        assert!(
            msg(&e).contains(
                "another writer holds this file (a writable handle in this process or in another"
            ),
            "{e}"
        );
        assert!(Store::<Member>::open_or_create(&path).is_err());
        assert!(matches!(
            StoreOptions::new().open::<Member>(&path),
            Err(Error::Locked { .. })
        ));
    }
    // Readers are welcome, and closing one does not release the writer's lock (as
    // closing any descriptor of the file would with classic POSIX record locks).
    let r1 = Store::<Member>::open_read_only(&path).unwrap();
    let r2 = Store::<Member>::open_read_only(&path).unwrap();
    drop(r1);
    assert!(matches!(
        Store::<Member>::open(&path),
        Err(Error::Locked { .. })
    ));
    drop(r2);
    drop(w);
    let w2 = Store::<Member>::open(&path).unwrap();
    assert_eq!(w2.len(), 1);
}

#[test]
fn a_store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store<Member>>();
    check::<Store<Member, fixrec::ReadOnly>>();
    // Reads through &self from several threads at once.
    let d = dir();
    let path = d.path().join("n.fxr");
    let mut s = Store::<Num>::create(&path).unwrap();
    for v in 0..1000 {
        s.push(Num { v }).unwrap();
    }
    let sums: Vec<u64> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|_| sc.spawn(|| s.iter().map(|r| r.v).sum::<u64>()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sums, [499_500, 499_500]);
}

// ---------------------------------------------------------------- verify

#[test]
fn verify_passes_on_a_healthy_file() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s: Store<Member> = StoreOptions::new().capacity(3).create(&path).unwrap();
    s.verify().unwrap();
    for i in 0..10 {
        s.push(nth(i)).unwrap();
    }
    s.verify().unwrap();
    s.flush().unwrap();
    s.verify().unwrap();
    drop(s);
    Store::<Member>::open(&path).unwrap().verify().unwrap();
    Store::<Member>::open_read_only(&path)
        .unwrap()
        .verify()
        .unwrap();
}

#[test]
fn verify_reports_bad_utf8_naming_record_and_field() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s = Store::<Member>::create(&path).unwrap();
    for i in 0..5 {
        s.push(nth(i)).unwrap();
    }
    let mut bad = [0u8; 256];
    bad[..3].copy_from_slice(&[b'a', 0xff, b'z']);
    s[3].name = FixedStr::from_array(bad);
    s.flush().unwrap();
    let e = s.verify().unwrap_err();
    let Error::VerifyFailed { problems, .. } = &e else {
        panic!("expected VerifyFailed, got {e}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("record 3"), "{e}");
    assert!(problems[0].contains("name"), "{e}");
    assert!(problems[0].contains("UTF-8"), "{e}");
    assert!(names(&e, &path), "{e}");
    // Reading it is an error, not a panic; lossy reading works.
    assert!(s[3].name.as_str().is_err());
    assert_eq!(s[3].name.to_string_lossy(), "a\u{fffd}z");
    drop(s);
    let r = Store::<Member>::open_read_only(&path).unwrap();
    assert!(matches!(r.verify(), Err(Error::VerifyFailed { .. })));
}

#[cfg(unix)] // Windows refuses to cut a mapped file (ERROR_USER_MAPPED_FILE), so no other program can
#[test]
fn verify_reports_a_file_cut_short_by_another_program() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 100, 100);
    let w = Store::<Member>::open(&path).unwrap();
    let r = Store::<Member>::open_read_only(&path).unwrap();
    // An uncooperative truncate that ignores fixrec's advisory locks. Nothing below
    // reads records 50.. (they would fault).
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096 + 50 * 512)
        .unwrap();
    for e in [w.verify().unwrap_err(), r.verify().unwrap_err()] {
        let Error::VerifyFailed { problems, .. } = &e else {
            panic!("expected VerifyFailed, got {e}")
        };
        let all = problems.join("\n");
        assert!(all.contains(&(4096 + 50 * 512).to_string()), "{e}");
        assert!(all.contains("records 50..100"), "{e}");
        assert!(names(&e, &path), "{e}");
    }
    drop(r);
    drop(w);
    let e = Store::<Member>::open(&path).unwrap_err();
    assert!(matches!(e, Error::DataPastEnd { .. }), "{e}");
}

// ---------------------------------------------------------------- bad files

#[test]
fn bad_magic_suggests_open_raw() {
    let d = dir();
    let path = d.path().join("jinyong.dat");
    // A headerless array of 4 members, as a C program writes it.
    fs::write(&path, vec![0u8; 4 * 512]).unwrap();
    for e in [
        Store::<Member>::open(&path).unwrap_err(),
        Store::<Member>::open_read_only(&path).unwrap_err(),
    ] {
        assert!(matches!(e, Error::BadMagic { .. }), "{e}");
        assert!(msg(&e).contains("open_raw"), "{e}");
        assert!(names(&e, &path), "{e}");
    }
    assert_eq!(Store::<Member>::open_raw(&path).unwrap().len(), 4);
    // One wrong bit in the magic of a real store.
    let store = d.path().join("m.fxr");
    make(&store, 1, 1);
    edit(&store, |b| b[1] ^= 0x20);
    let e = Store::<Member>::open(&store).unwrap_err();
    assert!(matches!(e, Error::BadMagic { .. }), "{e}");
}

#[test]
fn unsupported_version_names_both_versions() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 2, 2);
    edit(&path, |b| {
        b[VERSION_AT..VERSION_AT + 4].copy_from_slice(&3u32.to_le_bytes());
        reseal_superblock(b); // a well-formed file from a future fixrec
    });
    let e = Store::<Member>::open(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnsupportedVersion {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(msg(&e).contains("version 3"), "{e}");
    assert!(msg(&e).contains("versions 1 to 2"), "{e}");
    assert!(msg(&e).contains("upgrade"), "{e}");
    assert!(names(&e, &path), "{e}");
}

#[test]
fn every_truncation_of_a_small_file_is_an_error_never_a_panic() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 1, 1);
    let full = fs::read(&path).unwrap();
    assert_eq!(full.len(), 4096 + 512);
    let header_len = FIELD_TABLE + 2 * FIELD_ENTRY;
    let cut = d.path().join("cut.fxr");
    fs::write(&cut, &full).unwrap();
    let file = fs::OpenOptions::new().write(true).open(&cut).unwrap();
    // Longest first: cutting a file is cheap, rewriting one thousands of times is not.
    for n in (0..full.len()).rev() {
        file.set_len(n as u64).unwrap();
        for e in [
            Store::<Member>::open(&cut).unwrap_err(),
            Store::<Member>::open_read_only(&cut).unwrap_err(),
        ] {
            match n {
                0 => assert!(matches!(e, Error::BadMagic { .. }), "{n}: {e}"),
                n if n < header_len => {
                    assert!(
                        matches!(e, Error::TruncatedHeader { found, .. } if found == n as u64),
                        "{n}: {e}"
                    );
                    assert!(msg(&e).contains("truncated header"), "{n}: {e}");
                }
                _ => assert!(
                    matches!(e, Error::DataPastEnd { needed: 4608, file_size, .. } if file_size == n as u64),
                    "{n}: {e}"
                ),
            }
        }
    }
    fs::write(&cut, &full).unwrap();
    assert_eq!(Store::<Member>::open(&cut).unwrap().as_slice(), &[nth(0)]);
}

#[test]
fn a_torn_newer_meta_slot_falls_back_to_the_older_commit() {
    let d = dir();
    let path = d.path().join("m.fxr");
    let mut s: Store<Member> = StoreOptions::new().capacity(8).create(&path).unwrap();
    for i in 0..3 {
        s.push(nth(i)).unwrap();
    }
    s.flush().unwrap();
    s.push(nth(3)).unwrap();
    s.push(nth(4)).unwrap();
    s.flush().unwrap();
    drop(s);
    let bytes = fs::read(&path).unwrap();
    let (generation, len, _) = committed(&bytes);
    assert_eq!(len, 5);
    let newer = META[(generation % 2) as usize];
    edit(&path, |b| b[newer + 17] ^= 0x01);
    let s = Store::<Member>::open(&path).unwrap();
    assert_eq!(s.len(), 3, "the torn slot must not win");
    assert_eq!(s.table().generation(), generation - 1);
    // A commit from there on writes over the torn slot and wins again.
    let mut s = s;
    s.push(nth(3)).unwrap();
    s.flush().unwrap();
    drop(s);
    assert_eq!(Store::<Member>::open(&path).unwrap().len(), 4);
}

#[test]
fn both_meta_slots_invalid_is_an_error() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 2, 4); // generations 1 and 2: both slots valid
    edit(&path, |b| {
        b[META[0] + 20] ^= 0x01;
        b[META[1]] = b'X';
    });
    let e = Store::<Member>::open(&path).unwrap_err();
    assert!(matches!(e, Error::NoValidMeta { .. }), "{e}");
    assert!(msg(&e).contains("both meta slots are invalid"), "{e}");
    assert!(names(&e, &path), "{e}");
    assert!(matches!(
        Store::<Member>::open_read_only(&path),
        Err(Error::NoValidMeta { .. })
    ));
}

#[test]
fn len_greater_than_capacity_is_an_error() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 2, 10);
    edit(&path, |b| {
        let (generation, _, _) = committed(b);
        write_meta(b, generation + 1, 11, 10);
    });
    let e = Store::<Member>::open(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LenExceedsCapacity {
                len: 11,
                capacity: 10,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        msg(&e).contains("len 11 is greater than capacity 10"),
        "{e}"
    );
    assert!(names(&e, &path), "{e}");
}

#[test]
fn data_region_past_the_end_of_the_file_is_an_error() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 2, 10);
    // The file lost its last record's worth of bytes.
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096 + 9 * 512)
        .unwrap();
    let e = Store::<Member>::open_read_only(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DataPastEnd {
                needed: 9216,
                file_size: 8704,
                ..
            }
        ),
        "{e}"
    );
    assert!(msg(&e).contains("9216") && msg(&e).contains("8704"), "{e}");
    assert!(names(&e, &path), "{e}");

    // A meta slot (with a valid checksum) that claims more capacity than the file has,
    // up to a capacity whose byte size overflows u64.
    for capacity in [11, 1 << 40, u64::MAX / 512, u64::MAX] {
        let p = d.path().join(format!("cap-{capacity}.fxr"));
        make(&p, 2, 10);
        edit(&p, |b| {
            let (generation, _, _) = committed(b);
            write_meta(b, generation + 1, 2, capacity);
        });
        for e in [
            Store::<Member>::open(&p).unwrap_err(),
            Store::<Member>::open_read_only(&p).unwrap_err(),
        ] {
            assert!(matches!(e, Error::DataPastEnd { .. }), "{capacity}: {e}");
        }
    }
}

#[test]
fn record_size_mismatch_names_both_sizes() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 1, 1);
    for e in [
        Store::<Small>::open(&path).unwrap_err(),
        Store::<Small>::open_read_only(&path).unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                Error::RecordSizeMismatch {
                    expected: 16,
                    found: 512,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            msg(&e).contains("expected record size 16 but the file specifies 512"),
            "{e}"
        );
        assert!(names(&e, &path), "{e}");
    }
}

#[test]
fn schema_mismatch_names_the_field_expected_vs_found() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 1, 1);
    let e = Store::<Titled>::open(&path).unwrap_err();
    assert!(matches!(e, Error::SchemaMismatch { .. }), "{e}");
    let m = msg(&e);
    let (exp, found) = (m.find("title").unwrap(), m.find("name").unwrap());
    assert!(
        exp < found,
        "expected (title) comes before found (name): {m}"
    );
    assert!(m.contains("expected") && m.contains("found"), "{m}");
    assert!(names(&e, &path), "{e}");

    let e = Store::<RawId>::open_read_only(&path).unwrap_err();
    assert!(matches!(e, Error::SchemaMismatch { .. }), "{e}");
    assert!(msg(&e).contains("id: bytes[256]"), "{e}");
    assert!(msg(&e).contains("id: str[256]"), "{e}");
    // The file is untouched and still opens as what it is.
    assert_eq!(Store::<Member>::open(&path).unwrap().as_slice(), &[nth(0)]);
}

#[test]
fn a_corrupt_superblock_is_refused() {
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 1, 1);
    let good = fs::read(&path).unwrap();
    // A flipped byte in the fixed part, in the field table, and in the checksum itself.
    for at in [
        16,
        30,
        41,
        FIELD_TABLE + 3,
        FIELD_TABLE + FIELD_ENTRY + 50,
        61,
    ] {
        let mut b = good.clone();
        b[at] ^= 0x04;
        fs::write(&path, &b).unwrap();
        let e = Store::<Member>::open(&path).unwrap_err();
        assert!(
            matches!(e, Error::CorruptSuperblock { .. }),
            "byte {at}: {e}"
        );
        assert!(names(&e, &path), "{e}");
    }
    // A field count past the limit: an error, not a huge read.
    let mut b = good.clone();
    b[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&path, &b).unwrap();
    assert!(matches!(
        Store::<Member>::open(&path),
        Err(Error::CorruptSuperblock { .. })
    ));
}

#[test]
fn a_meta_generation_at_its_limit_never_panics_or_loses_a_commit() {
    // Crafted files whose committed generation is at, or one below, u64::MAX.
    let d = dir();
    let path = d.path().join("m.fxr");
    make(&path, 1, 4);
    edit(&path, |b| write_meta(b, u64::MAX - 1, 1, 4));
    let mut s = Store::<Member>::open(&path).unwrap();
    s.push(nth(1)).unwrap();
    s.flush().unwrap(); // generation u64::MAX: still a valid commit
    drop(s);
    let mut s = Store::<Member>::open(&path).unwrap();
    assert_eq!(s.as_slice(), &[nth(0), nth(1)]);
    s.push(nth(2)).unwrap();
    // No generation is left: an error naming the file, not a panic or a wrap to 0.
    let e = s.flush().unwrap_err();
    assert!(names(&e, &path), "{e}");
    drop(s);
    let s = Store::<Member>::open(&path).unwrap();
    assert_eq!(s.len(), 2, "the refused commit left the last one in place");
}

#[test]
fn a_directory_is_an_error_not_a_panic() {
    let d = dir();
    let e = Store::<Member>::open(d.path()).unwrap_err();
    assert!(names(&e, d.path()), "{e}");
    assert!(Store::<Member>::open_read_only(d.path()).is_err());
    assert!(Store::<Member>::open_raw(d.path()).is_err());
    assert!(Store::<Member>::open_raw_read_only(d.path()).is_err());
    assert!(Store::<Member>::create(d.path()).is_err());
}

/// Pins a hang: `open_or_create` on a dangling symbolic link looped forever (open saw
/// NotFound through the link, create saw AlreadyExists on the link itself).
#[cfg(unix)] // symbolic links need privileges on Windows
#[test]
fn open_or_create_on_a_dangling_symlink_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.fxr");
    std::os::unix::fs::symlink(dir.path().join("nowhere/target.fxr"), &link).unwrap();
    let err = Store::<Member>::open_or_create(&link).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
}

#[test]
fn set_replaces_a_record_in_the_map_in_staging_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.fxr");
    let mut store = Store::<Member>::create(&path).unwrap();
    for i in 0..300 {
        store.push(member(&i.to_string(), "old")).unwrap();
    }
    store.flush().unwrap(); // records 0..300 are in the file
    store.push(member("300", "staged")).unwrap(); // record 300 is still staged
    store.set(5, member("5", "new five")).unwrap();
    store.set(300, member("300", "new 300")).unwrap();
    assert_eq!(store[5], member("5", "new five"));
    assert_eq!(store[300], member("300", "new 300"));
    let err = store.set(301, member("x", "y")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IndexOutOfRange {
                index: 301,
                len: 301
            }
        ),
        "{err}"
    );
    // A reader on the same file sees the pwrite at once (one page cache), the staged
    // record only after the commit.
    let mut reader = Store::<Member>::open_read_only(&path).unwrap();
    assert_eq!(reader[5], member("5", "new five"));
    assert_eq!(reader.len(), 300);
    store.flush().unwrap();
    reader.refresh().unwrap();
    assert_eq!(reader[300], member("300", "new 300"));
    drop((store, reader));
    let store = Store::<Member>::open(&path).unwrap();
    assert_eq!(store[5], member("5", "new five"));
    assert_eq!(store[300], member("300", "new 300"));
    assert_eq!(store[6], member("6", "old"));
}
