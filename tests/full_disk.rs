//! Full disks and failing syncs.
//!
//! A 16 MiB tmpfs is mounted for the full-disk tests, which needs root. In CI (`CI` set;
//! CI runs as root) a mount that fails fails the test, loudly: it never passes without
//! having run. Elsewhere (`cargo test` as a user) the test is skipped with a notice on
//! stderr that says how to run it. A store grows until the disk is full: the growth is an
//! error naming the file (posix_fallocate's ENOSPC), never a SIGBUS, and the store
//! reopens at its last committed state. The same for `fixrec import` into a store on the
//! full disk: all rows or none.
//!
//! A sync that fails (injected through the sync hook) makes `flush` fail, and every later
//! `flush`, `flush_range` and `flush_async` fails too, even when the disk would now
//! accept the sync, until the store is reopened (PostgreSQL's fsync lesson).
// Some imports serve only the tests gated to Unix below.
#![cfg_attr(windows, allow(unused_imports))]

use fixrec::{Error, FixedStr, Growth, Store, StoreOptions, record};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`
    #[derive(Debug, PartialEq)]
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

fn member(i: usize) -> Member {
    Member {
        id: FixedStr::new(&i.to_string()).unwrap(),
        name: FixedStr::new(&format!("member {i}")).unwrap(),
    }
}

/// A mounted tmpfs, unmounted on drop (also when the test panics).
#[cfg(unix)] // mounts a tmpfs with mount(8), which a Windows program cannot
struct Tmpfs {
    dir: tempfile::TempDir,
}

#[cfg(unix)]
impl Tmpfs {
    /// A `size` tmpfs for `test`, or `None` when it cannot be mounted and `CI` is unset:
    /// the test is then skipped, with a notice written to stderr itself (past the test
    /// harness's capture, so `cargo test` shows it). With `CI` set the test fails.
    fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let error = match out {
            Ok(out) if out.status.success() => return Some(Tmpfs { dir }),
            // Its first line: "mount: DIR: must be superuser to use mount."
            Ok(out) => String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
            Err(e) => format!("mount(8): {e}"),
        };
        let why = format!(
            "cannot mount a tmpfs of {size} at {} (this test needs root and mount(8)): {error}",
            dir.path().display()
        );
        if std::env::var_os("CI").is_some() {
            panic!("{why}; CI is set, so this test fails rather than pass without having run");
        }
        let _ = writeln!(
            std::io::stderr(),
            "note: skipped full_disk::{test}: {why}; run it as root \
             (sudo -E cargo test --test full_disk); with CI set this is a failure"
        );
        None
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[cfg(unix)]
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let out = Command::new("umount").arg(self.dir.path()).output();
        if !matches!(&out, Ok(o) if o.status.success()) && !std::thread::panicking() {
            panic!("umount {} failed: {out:?}", self.dir.path().display());
        }
    }
}

#[cfg(unix)]
fn is_enospc(e: &Error, path: &Path) -> bool {
    let msg = e.to_string();
    matches!(e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC))
        && msg.contains(&*path.to_string_lossy())
}

fn check_records<A: fixrec::Access>(store: &Store<Member, A>, len: usize) {
    assert_eq!(store.len(), len);
    for (i, m) in store.iter().enumerate() {
        assert_eq!(*m, member(i), "record {i}");
    }
}

#[cfg(unix)] // mounts a tmpfs with mount(8), which a Windows program cannot
#[test]
fn a_store_grown_until_the_disk_is_full_gets_an_error_and_reopens_committed() {
    let test = "a_store_grown_until_the_disk_is_full_gets_an_error_and_reopens_committed";
    let Some(fs) = Tmpfs::mount("16m", test) else {
        return;
    };
    let path = fs.path("members.fxr");
    let mut store: Store<Member> = StoreOptions::new()
        .capacity(16)
        .growth(Growth::Double)
        .create(&path)
        .unwrap();
    let mut committed = 0;
    let err = loop {
        let i = store.len();
        match store.push(member(i)) {
            Ok(_) => {}
            Err(e) => break e,
        }
        if i % 100 == 99 {
            store.flush().unwrap();
            committed = store.len();
        }
    };
    assert!(is_enospc(&err, &path), "not ENOSPC naming the file: {err}");
    let pushed = store.len();
    assert!(pushed > 1000, "the disk filled after {pushed} records");
    // The growth failed, nothing was half-done: every record written is still there, and
    // writing every record in place (all of them in reserved blocks) cannot fault.
    check_records(&store, pushed);
    for i in 0..pushed {
        store[i] = member(i);
    }
    // A second handle sees the last commit, as a crash now would leave it.
    check_records(&Store::<Member>::open_read_only(&path).unwrap(), committed);
    store.verify().unwrap();

    // Growing in smaller steps fills the disk to the last few records.
    store.flush().unwrap();
    drop(store);
    let mut store: Store<Member> = StoreOptions::new()
        .growth(Growth::Step(8))
        .open(&path)
        .unwrap();
    check_records(&store, pushed);
    let err = loop {
        let i = store.len();
        if let Err(e) = store.push(member(i)) {
            break e;
        }
    };
    assert!(is_enospc(&err, &path), "{err}");
    let full = store.len();
    assert!(full > pushed, "{full} <= {pushed}");
    store.flush().unwrap();

    // Another file cannot be created on the full disk, and nothing is left behind.
    let other = fs.path("other.fxr");
    let e = StoreOptions::new()
        .capacity(100)
        .create::<Member>(&other)
        .unwrap_err();
    assert!(is_enospc(&e, &other), "{e}");
    assert!(!other.exists(), "a failed create left {}", other.display());

    drop(store);
    let store = Store::<Member>::open(&path).unwrap();
    check_records(&store, full);
    store.verify().unwrap();
    drop(store);
    let used = std::fs::metadata(&path).unwrap().len();
    assert!(
        used > 15 << 20,
        "the store holds {used} bytes of a 16 MiB disk"
    );
}

/// A raw file (no header: its len is its size) appended to until the disk is full: each
/// append reserves its blocks before it writes, so the one that does not fit fails
/// before any byte is written, and the file stays exactly len records long.
#[cfg(unix)] // mounts a tmpfs with mount(8), which a Windows program cannot
#[test]
fn a_raw_file_appended_until_the_disk_is_full_fails_before_writing() {
    let test = "a_raw_file_appended_until_the_disk_is_full_fails_before_writing";
    let Some(fs) = Tmpfs::mount("4m", test) else {
        return;
    };
    let path = fs.path("members.dat");
    let size = || std::fs::metadata(&path).unwrap().len();
    let mut store: Store<Member> = StoreOptions::new().create_raw(&path).unwrap();
    let mut refused = 0;
    // Batches of 37 records (4.6 pages) straddle page boundaries, so a write that the
    // disk cuts short would leave part of a batch; then smaller batches, down to one
    // record, fill the disk to its last record.
    for batch in [37, 5, 1] {
        loop {
            let len = store.len();
            let members: Vec<Member> = (len..len + batch).map(member).collect();
            match store.extend_from_slice(&members) {
                Ok(()) => assert_eq!(size(), (store.len() * 512) as u64),
                Err(e) => {
                    assert!(is_enospc(&e, &path), "not ENOSPC naming the file: {e}");
                    assert_eq!(store.len(), len, "a failed append changed len");
                    assert_eq!(
                        size(),
                        (len * 512) as u64,
                        "a failed append of {batch} records after {len} wrote into the file"
                    );
                    refused += 1;
                    break;
                }
            }
        }
    }
    assert_eq!(refused, 3);
    let len = store.len();
    assert!(len > 7000, "the disk filled after {len} records");
    check_records(&store, len);
    store.flush().unwrap();
    drop(store);
    assert_eq!(size(), (len * 512) as u64);
    let store = Store::<Member>::open_raw(&path).unwrap();
    check_records(&store, len);
    store.verify().unwrap();
}

#[cfg(feature = "cli")]
#[cfg(unix)] // mounts a tmpfs with mount(8), which a Windows program cannot
#[test]
fn an_import_into_a_full_disk_adds_all_rows_or_none() {
    use std::fmt::Write;
    let Some(fs) = Tmpfs::mount("8m", "an_import_into_a_full_disk_adds_all_rows_or_none") else {
        return;
    };
    let path = fs.path("members.fxr");
    let mut store: Store<Member> = StoreOptions::new().capacity(100).create(&path).unwrap();
    for i in 0..100 {
        store.push(member(i)).unwrap();
    }
    drop(store);
    // The input lives outside the small disk.
    let input_dir = tempfile::tempdir().unwrap();
    let mut expected = 100;
    let mut refused = 0;
    for round in 0..8 {
        let rows = 4000;
        let mut csv = String::from("id,name\n");
        for i in expected..expected + rows {
            writeln!(csv, "{i},member {i}").unwrap();
        }
        let input = input_dir.path().join(format!("round{round}.csv"));
        std::fs::write(&input, csv).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
            .arg("import")
            .arg(&path)
            .arg(&input)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => expected += rows,
            Some(1) => {
                assert!(
                    stderr.starts_with("error: ") && stderr.contains("No space left"),
                    "{stderr}"
                );
                refused += 1;
            }
            code => panic!("fixrec import exited {code:?}: {stderr}"),
        }
        let store = Store::<Member>::open_read_only(&path).unwrap();
        check_records(&store, expected);
        store.verify().unwrap();
    }
    assert!(refused > 0, "the disk never filled");
}

/// A hook that fails the sync number `fail_at` (counting from 0), and only that one, if
/// `meta_only` then the first meta sync at or after it.
fn failing_hook(fail_at: u32, meta_only: bool) -> (fixrec::SyncHook, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let hook = Box::new(move |step: fixrec::SyncStep| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        if n >= fail_at && (step.meta || !meta_only) && !failed.swap(true, Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    });
    (hook, calls)
}

fn assert_latched(store: &mut Store<Member>, path: &Path) {
    for _ in 0..3 {
        let e = store.flush().unwrap_err();
        assert!(matches!(e, Error::SyncFailed { .. }), "{e}");
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    }
    assert!(matches!(
        store.flush_range(0..1),
        Err(Error::SyncFailed { .. })
    ));
    assert!(matches!(store.flush_async(), Err(Error::SyncFailed { .. })));
    // Writes still go to the map; only durability is refused.
    let i = store.len();
    store.push(member(i)).unwrap();
    assert!(matches!(store.flush(), Err(Error::SyncFailed { .. })));
}

#[test]
fn a_failed_data_sync_latches_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("members.fxr");
    let mut store = Store::<Member>::create(&path).unwrap();
    for i in 0..10 {
        store.push(member(i)).unwrap();
    }
    store.flush().unwrap();
    for i in 10..15 {
        store.push(member(i)).unwrap();
    }
    // The next sync (the records') fails once; the hook would let every later one pass.
    let (hook, calls) = failing_hook(0, false);
    store.set_sync_hook(hook);
    let e = store.flush().unwrap_err();
    assert!(
        matches!(&e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EIO)),
        "{e}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the meta was synced after a failed data sync"
    );
    assert_latched(&mut store, &path);
    drop(store);
    // The failed commit never happened.
    let store = Store::<Member>::open(&path).unwrap();
    check_records(&store, 10);
    store.verify().unwrap();
    let mut store = store;
    store.push(member(10)).unwrap();
    store.flush().unwrap();
}

#[test]
fn a_failed_meta_sync_latches_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("members.fxr");
    let mut store = Store::<Member>::create(&path).unwrap();
    for i in 0..10 {
        store.push(member(i)).unwrap();
    }
    store.flush().unwrap();
    for i in 10..15 {
        store.push(member(i)).unwrap();
    }
    let (hook, calls) = failing_hook(0, true);
    store.set_sync_hook(hook);
    let e = store.flush().unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_latched(&mut store, &path);
    drop(store);
    // The records were synced and the new meta is in the page cache (its sync is what
    // failed): the store reopens at one of the two commits, whole.
    let store = Store::<Member>::open(&path).unwrap();
    assert!([10, 15].contains(&store.len()), "len {}", store.len());
    check_records(&store, store.len());
    store.verify().unwrap();
}

/// A bulk load whose commit fails at the meta sync, then rolled back: the meta slot it
/// wrote is put back, so the store reopens at its previous commit (len and capacity),
/// not at a commit that was reported failed nor at one past the end of the file.
#[test]
fn a_failed_meta_sync_then_a_roll_back_leaves_the_previous_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.fxr");
    let schema = fixrec::Schema::parse("a:u64,b:u64", fixrec::Layout::C).unwrap();
    let options = StoreOptions::new().capacity(4);
    let mut t = fixrec::Table::create(&path, schema, &options).unwrap();
    t.append(&[1u8; 32]).unwrap();
    t.flush().unwrap();
    let (hook, _) = failing_hook(0, true);
    t.set_sync_hook(hook);
    t.append(&vec![2u8; 16 * 5000]).unwrap(); // grows the file far past capacity 4
    assert!(t.flush().is_err(), "the meta sync fails");
    t.roll_back_appends().unwrap();
    drop(t);
    let t = fixrec::Table::open_read_only(&path).unwrap();
    assert_eq!((t.len(), t.capacity()), (2, 4));
    assert_eq!(t.records(), &[1u8; 32]);
    t.verify().unwrap();
}

/// A headerless file rolled back while another handle maps it cannot be cut: an error
/// says so (the import reports it), rather than a success that left the rows.
#[test]
fn a_raw_roll_back_that_cannot_cut_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.dat");
    let schema = fixrec::Schema::parse("a:u64", fixrec::Layout::C).unwrap();
    let mut t = fixrec::Table::create_raw(&path, schema.clone()).unwrap();
    t.append(&[1u8; 40]).unwrap();
    t.flush().unwrap();
    let reader = fixrec::Table::open_raw(&path, schema, false).unwrap();
    // With nothing to cut, a flush does not need to be alone.
    t.flush().unwrap();
    t.append(&[2u8; 40]).unwrap();
    assert!(matches!(t.roll_back_appends(), Err(Error::InUse { .. })));
    assert_eq!(t.len(), 5);
    drop(reader);
    t.roll_back_appends().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 40);
}

/// Run as a user who cannot mount (`nobody`, when this runs as root): a full-disk test is
/// skipped with a notice that says how to run it, and with `CI` set it fails (issue 14:
/// `cargo test` as a user failed here).
#[cfg(unix)] // runs the tmpfs test as another user (setpriv(1))
#[test]
fn without_root_a_full_disk_test_is_skipped_with_a_notice_and_fails_in_ci() {
    let test = "a_store_grown_until_the_disk_is_full_gets_an_error_and_reopens_committed";
    let run = |ci: bool| {
        let me = std::env::current_exe().unwrap();
        // SAFETY: a plain query.
        let mut cmd = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(me);
            c
        } else {
            Command::new(me)
        };
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env_remove("CI");
        if ci {
            cmd.env("CI", "true");
        }
        let out = cmd
            .output()
            .expect("run this test as another user with setpriv(1)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(false);
    assert!(ok, "skipped, the test passes:\n{text}");
    assert!(
        text.contains(&format!("note: skipped full_disk::{test}: cannot mount"))
            && text.contains("sudo -E cargo test --test full_disk"),
        "no notice:\n{text}"
    );
    let (ok, text) = run(true);
    assert!(!ok, "with CI set, the test must fail:\n{text}");
    assert!(text.contains("CI is set, so this test fails"), "{text}");
}

/// A roll-back while another handle maps the file cannot cut it: the room stays, counted
/// by no commit. Once alone, `shrink_to_fit` cuts it (with one remap), although the
/// capacity is already the len. With nothing left to cut, it commits even while another
/// handle maps the file.
#[test]
fn room_a_roll_back_could_not_cut_is_cut_by_shrink_to_fit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.fxr");
    let schema = fixrec::Schema::parse("a:u64,b:u64", fixrec::Layout::C).unwrap();
    let mut t = fixrec::Table::create(&path, schema, &StoreOptions::new().capacity(4)).unwrap();
    t.append(&[1u8; 64]).unwrap();
    t.flush().unwrap();
    let tight = (t.data_offset() + 4 * 16) as u64;
    let reader = fixrec::Table::open_read_only(&path).unwrap();
    t.append(&vec![2u8; 16 * 5000]).unwrap();
    t.roll_back_appends().unwrap();
    assert_eq!((t.len(), t.capacity()), (4, 4));
    let size = || std::fs::metadata(&path).unwrap().len();
    assert!(size() > tight, "the file was cut under a reader");
    drop(reader);
    let remaps = t.remaps();
    t.shrink_to_fit().unwrap();
    assert_eq!(size(), tight);
    assert_eq!(t.remaps(), remaps + 1);
    // Nothing to cut now: a commit, which another handle does not prevent.
    let reader = fixrec::Table::open_read_only(&path).unwrap();
    t.shrink_to_fit().unwrap();
    assert_eq!(size(), tight);
    drop(reader);
    drop(t);
    let t = fixrec::Table::open_read_only(&path).unwrap();
    assert_eq!((t.len(), t.capacity()), (4, 4));
    assert_eq!(t.records(), &[1u8; 64]);
}
