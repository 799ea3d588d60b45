//! Processes sharing a store: one writer at a time (a second writer is refused, always,
//! also when several race), a reader following a writer through 10,000 commits and
//! hundreds of growths (every record it returns was committed), a shrink refused while
//! another process maps the file, and an uncooperative truncation (another program
//! calling truncate(2)) reported by `verify` as docs/FORMAT.md ("Locks") says.
//!
//! The other processes are this test binary run again (`current_exe()` with `--exact
//! concurrency_child`), told their role by `FIXREC_CONCURRENCY_CHILD`.

mod common;

use fixrec::{Error, Growth, Store, StoreOptions, record};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "FIXREC_CONCURRENCY_CHILD";
const COMMITS: u64 = 10_000;
/// The writer waits for the reader to see every CHECKPOINT-th commit.
const CHECKPOINT: u64 = 500;

record! {
    #[repr(C)]
    /// Every byte derives from the index, with a checksum.
    #[derive(Debug, PartialEq)]
    pub struct Rec {
        pub index: u64,
        pub fill: [u8; 48],
        pub sum: u64,
    }
}

fn rec(index: u64) -> Rec {
    let mut fill = [0u8; 48];
    for (k, b) in fill.iter_mut().enumerate() {
        *b = (index.wrapping_mul(2_654_435_761) >> (k % 8 * 8)) as u8 ^ k as u8;
    }
    let sum = fill.iter().fold(index ^ 0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Rec { index, fill, sum }
}

/// A directory on tmpfs when there is one: 10,000 commits are 20,000 msyncs.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
}

fn spawn(role: &str, path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "concurrency_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{role}|{}", path.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a child")
}

/// Reads the child's stdout up to a line starting with `prefix`; returns that line.
fn expect_line(
    child: &mut Child,
    out: &mut BufReader<std::process::ChildStdout>,
    prefix: &str,
) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the child ended ({status}) before printing `{prefix}`:\n{err}");
        }
        // libtest prints "test concurrency_child ... " before the child's own output.
        if let Some(at) = line.find(prefix) {
            return line[at..].trim_end().to_owned();
        }
    }
}

/// Closes the child's stdin, waits, and returns its stdout; panics if it failed.
fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the child failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Not a test of its own: the body of the child processes.
#[test]
fn concurrency_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (role, path) = spec.split_once('|').unwrap();
    let path = Path::new(path);
    match role {
        // Try to open for writing, once: print what happened.
        "try-writer" => match Store::<Rec>::open(path) {
            Ok(_) => println!("result opened"),
            Err(e @ Error::Locked { .. }) => println!("result locked: {e}"),
            Err(e) => println!("result error: {e}"),
        },
        // Race other racers for the writer lock; while holding it, own a marker file
        // that only one process may have created. The test holds the lock at first:
        // each racer says when it was first refused, and when the test has let go and
        // says "go", races for 400 attempts.
        "racer" => {
            let marker = path.with_extension("holder");
            let (mut held, mut refused) = (0, 0);
            while held + refused < 400 {
                match Store::<Rec>::open(path) {
                    Ok(mut store) => {
                        std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .open(&marker)
                            .expect("another process holds the writer lock too");
                        let i = store.len() as u64;
                        store.push(rec(i)).unwrap();
                        store.flush().unwrap();
                        // Held a while, so that a second holder would be caught.
                        std::thread::sleep(Duration::from_micros(200));
                        std::fs::remove_file(&marker).unwrap();
                        held += 1;
                    }
                    Err(Error::Locked { .. }) => {
                        if refused == 0 && held == 0 {
                            // Refused by the test's hold: say so, and wait until it lets go.
                            println!("refused");
                            let mut go = String::new();
                            std::io::stdin().read_line(&mut go).unwrap();
                        }
                        refused += 1;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            println!("result {held} {refused}");
        }
        // Append and commit COMMITS times, growing 16 records at a time.
        "appender" => {
            let mut store: Store<Rec> = StoreOptions::new()
                .growth(Growth::Step(16))
                .open(path)
                .unwrap();
            println!("ready");
            for i in 0..COMMITS {
                store.push(rec(i)).unwrap();
                store.flush().unwrap();
                // Every CHECKPOINT commits, wait until the reader has seen this one, so
                // that it follows the writer however the two processes are scheduled.
                if (i + 1) % CHECKPOINT == 0 && i + 1 < COMMITS {
                    std::io::stdin().read_line(&mut String::new()).unwrap();
                }
            }
            println!("result {}", store.table().remaps());
        }
        // Map the file (a store, or a raw file) until stdin closes.
        "mapper" => {
            let store = Store::<Rec>::open_read_only(path).unwrap();
            println!("ready {}", store.len());
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        "raw-mapper" => {
            let store = Store::<u64>::open_raw_read_only(path).unwrap();
            println!("ready {}", store.len());
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

#[test]
fn a_second_writer_process_is_always_refused() {
    let dir = scratch();
    let path = dir.path().join("s.fxr");
    let mut store = Store::<Rec>::create(&path).unwrap();
    store.push(rec(0)).unwrap();
    store.flush().unwrap();
    // The same process, another handle: refused too (the locks are per open file).
    assert!(matches!(
        Store::<Rec>::open(&path),
        Err(Error::Locked { .. })
    ));
    for _ in 0..10 {
        let out = finish(spawn("try-writer", &path));
        assert!(out.contains("result locked"), "{out}");
        assert!(
            out.contains(&*path.to_string_lossy()),
            "the error names the file: {out}"
        );
    }
    // Readers are welcome meanwhile.
    assert_eq!(Store::<Rec>::open_read_only(&path).unwrap().len(), 1);
    drop(store);
    let out = finish(spawn("try-writer", &path));
    assert!(out.contains("result opened"), "{out}");
}

#[test]
fn racing_writer_processes_never_hold_the_store_together() {
    let dir = scratch();
    let path = dir.path().join("s.fxr");
    // Held until every racer has been refused once: then they all race at once.
    let first = Store::<Rec>::create(&path).unwrap();
    let mut racers: Vec<Child> = (0..3).map(|_| spawn("racer", &path)).collect();
    let mut outs: Vec<_> = racers
        .iter_mut()
        .map(|r| BufReader::new(r.stdout.take().unwrap()))
        .collect();
    for (r, out) in racers.iter_mut().zip(&mut outs) {
        expect_line(r, out, "refused");
    }
    drop(first);
    for r in &mut racers {
        r.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    }
    let (mut held, mut refused) = (0u64, 0u64);
    for (r, mut rest) in racers.into_iter().zip(outs) {
        let mut out = String::new();
        rest.read_to_string(&mut out).unwrap();
        let out = out + &finish(r);
        let at = out.find("result ").expect("the racer's result");
        let line = out[at + 7..].lines().next().unwrap();
        let n: Vec<u64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
        held += n[0];
        refused += n[1];
    }
    println!("racers: {held} holds, {refused} refusals");
    assert!(held > 0 && refused > 0, "{held} holds, {refused} refusals");
    // Every hold committed one record, in turn.
    let store = Store::<Rec>::open(&path).unwrap();
    assert_eq!(store.len() as u64, held);
    for (i, r) in store.iter().enumerate() {
        assert_eq!(*r, rec(i as u64));
    }
}

#[test]
fn a_reader_process_follows_ten_thousand_commits_and_sees_only_committed_records() {
    let dir = scratch();
    let path = dir.path().join("s.fxr");
    drop(
        StoreOptions::new()
            .capacity(1)
            .create::<Rec>(&path)
            .unwrap(),
    );
    let mut reader = Store::<Rec>::open_read_only(&path).unwrap();
    let mut writer = spawn("appender", &path);
    let mut out = BufReader::new(writer.stdout.take().unwrap());
    expect_line(&mut writer, &mut out, "ready");
    let (mut seen, mut changes, mut checked) = (0usize, 0u64, 0u64);
    let mut next_checkpoint = CHECKPOINT;
    let start = Instant::now();
    loop {
        let exited = writer.try_wait().unwrap().is_some();
        if reader.refresh().unwrap() {
            changes += 1;
        }
        let len = reader.len();
        assert!(len >= seen, "len went back from {seen} to {len}");
        // Every record below len: the new ones each time, all of them now and then.
        let from = if changes % 64 == 0 { 0 } else { seen };
        for i in from..len {
            let r = reader.get(i).unwrap();
            assert_eq!(
                *r,
                rec(i as u64),
                "record {i} of {len} as the reader sees it"
            );
            checked += 1;
        }
        seen = len;
        if seen as u64 >= next_checkpoint && next_checkpoint < COMMITS {
            let stdin = writer.stdin.as_mut().unwrap();
            stdin.write_all(b"go\n").unwrap();
            stdin.flush().unwrap();
            next_checkpoint += CHECKPOINT;
        }
        if exited && !reader.refresh().unwrap() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the writer hangs"
        );
    }
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = writer.wait().unwrap();
    let mut err = String::new();
    writer
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "the writer failed: {err}");
    let at = rest.find("result ").expect("the writer's result");
    let writer_remaps: u64 = rest[at + 7..].lines().next().unwrap().parse().unwrap();
    assert_eq!(reader.len() as u64, COMMITS);
    println!(
        "reader: {changes} refreshes saw a new commit, {} remaps (writer: {writer_remaps}), {checked} records checked",
        reader.table().remaps()
    );
    assert!(
        writer_remaps >= COMMITS / 16 - 1,
        "the file grew {writer_remaps} times"
    );
    assert!(changes > 10, "the reader saw only {changes} commits");
    assert!(reader.table().remaps() > 10, "the reader never remapped");
}

#[test]
fn a_shrink_is_refused_while_another_process_maps_the_file() {
    let dir = scratch();
    let path = dir.path().join("s.fxr");
    let mut store = StoreOptions::new()
        .capacity(1000)
        .create::<Rec>(&path)
        .unwrap();
    for i in 0..10 {
        store.push(rec(i)).unwrap();
    }
    store.flush().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let mut mapper = spawn("mapper", &path);
    let mut out = BufReader::new(mapper.stdout.take().unwrap());
    assert_eq!(expect_line(&mut mapper, &mut out, "ready"), "ready 10");
    let e = store.shrink_to_fit().unwrap_err();
    assert!(matches!(e, Error::InUse { .. }), "{e}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        size,
        "the file shrank under a reader"
    );
    assert_eq!(store.capacity(), 1000);
    drop(mapper.stdin.take());
    assert!(mapper.wait().unwrap().success());
    store.shrink_to_fit().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < size);
    drop(store);
    assert_eq!(Store::<Rec>::open(&path).unwrap().len(), 10);

    // A raw file is cut to len by flush after a truncate: refused the same way.
    let raw = dir.path().join("numbers.dat");
    let mut store = Store::<u64>::create_raw(&raw).unwrap();
    store.extend_from_slice(&[1, 2, 3, 4, 5]).unwrap();
    store.flush().unwrap();
    let mut mapper = spawn("raw-mapper", &raw);
    let mut out = BufReader::new(mapper.stdout.take().unwrap());
    assert_eq!(expect_line(&mut mapper, &mut out, "ready"), "ready 5");
    store.truncate(2);
    let e = store.flush().unwrap_err();
    assert!(matches!(e, Error::InUse { .. }), "{e}");
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 40);
    drop(mapper.stdin.take());
    assert!(mapper.wait().unwrap().success());
    store.flush().unwrap();
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 16);
}

#[cfg(unix)] // Windows refuses to cut a mapped file, so no other program can
#[test]
fn verify_reports_a_truncation_by_another_program() {
    let dir = scratch();
    let path = dir.path().join("s.fxr");
    let mut store = StoreOptions::new()
        .capacity(100)
        .create::<Rec>(&path)
        .unwrap();
    for i in 0..100 {
        store.push(rec(i)).unwrap();
    }
    store.flush().unwrap();
    drop(store);
    let reader = Store::<Rec>::open_read_only(&path).unwrap();
    let data_offset = reader.table().data_offset() as u64;
    // Another program, ignoring the advisory locks, cuts the file to 10.5 records.
    let cut = data_offset + 10 * 64 + 32;
    let status = Command::new("truncate")
        .args(["-s", &cut.to_string()])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    // The reader's handle: verify reads only what is left, and says what happened.
    let Err(Error::VerifyFailed { problems, .. }) = reader.verify() else {
        panic!("verify accepted a truncated file");
    };
    let all = problems.join("\n");
    assert!(all.contains("truncated by another program"), "{all}");
    assert!(all.contains("records 10..100 lie past the end"), "{all}");
    drop(reader);
    // A new open refuses it, naming both sizes.
    let e = Store::<Rec>::open_read_only(&path).unwrap_err();
    assert!(
        matches!(e, Error::DataPastEnd { file_size, .. } if file_size == cut),
        "{e}"
    );
    #[cfg(feature = "cli")]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("truncated"),
            "{stderr}"
        );
    }
}

/// Pins a race seen in the ten-thousand-commit test: `refresh` reads the two meta slots
/// one after the other, so while the writer commits twice in between it can see only the
/// older slot; a reader must never step back to that older commit.
#[test]
fn refresh_never_steps_back_to_an_older_commit() {
    let dir = scratch();
    let path = dir.path().join("s.fxr");
    let mut writer = StoreOptions::new()
        .capacity(8)
        .create::<Rec>(&path)
        .unwrap();
    writer.push(rec(0)).unwrap();
    writer.flush().unwrap(); // generation 2, len 1
    writer.push(rec(1)).unwrap();
    writer.flush().unwrap(); // generation 3, len 2
    let mut reader = Store::<Rec>::open_read_only(&path).unwrap();
    assert_eq!(reader.len(), 2);
    // Tear the newest slot (generation 3 lives in slot 3 % 2 = 1, at byte 1024) as if
    // the reader caught it mid-write: the valid slot left holds generation 2, len 1.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    common::write_all_at(&file, &[0xAB; 8], 1024 + 16).unwrap();
    assert!(
        !reader.refresh().unwrap(),
        "an older commit is not a change"
    );
    assert_eq!(reader.len(), 2);
    drop(writer);
}
