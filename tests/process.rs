//! Several processes on one store, with real child processes: this test binary runs
//! itself again (`current_exe`) to execute the `child` test, told what to do by an
//! environment variable. Covers a writer killed with SIGKILL, a reader in another process
//! following a growing writer, a second writer process refused, and a file that does not
//! shrink while another process has it mapped.

mod common;

use fixrec::{Error, Growth, Store, StoreOptions, record};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

record! {
    #[repr(C)]
    #[derive(Debug, PartialEq)]
    pub struct Rec {
        pub key: u64,
        pub val: u64,
    }
}

fn rec(key: u64) -> Rec {
    Rec {
        key,
        val: key.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    }
}

/// Record `i` of every store here is `rec(i)`.
fn check_records(s: &[Rec]) -> Result<(), String> {
    match s.iter().enumerate().find(|&(i, r)| *r != rec(i as u64)) {
        Some((i, r)) => Err(format!("record {i} is {r:?}")),
        None => Ok(()),
    }
}

const ROLE: &str = "FIXREC_TEST_CHILD_ROLE";
const PATH: &str = "FIXREC_TEST_CHILD_PATH";

// ---------------------------------------------------------------- the child side

/// Not a test of its own: the entry point of the child processes. Returns at once in a
/// normal test run, where the role variable is unset.
#[test]
fn child() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let path = PathBuf::from(std::env::var(PATH).expect("the path variable"));
    match role.as_str() {
        "crash" => child_crash(&path),
        "reader" => child_reader(&path),
        "second-writer" => child_second_writer(&path),
        "mapper" => child_mapper(&path),
        other => panic!("unknown child role {other}"),
    }
}

/// Blocks until the parent closes our stdin (or kills us).
fn wait_for_stdin_eof() {
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
}

fn child_crash(path: &Path) {
    let mut s: Store<Rec> = StoreOptions::new().capacity(16).create(path).unwrap();
    for i in 0..CRASH_FLUSHED {
        s.push(rec(i)).unwrap();
    }
    s.flush().unwrap();
    // More records, past the committed capacity (the file grows), never flushed.
    for i in CRASH_FLUSHED..CRASH_FLUSHED + CRASH_UNFLUSHED {
        s.push(rec(i)).unwrap();
    }
    assert!(s.capacity() as u64 >= CRASH_FLUSHED + CRASH_UNFLUSHED);
    println!("{MARK}ready");
    wait_for_stdin_eof();
    // The parent kills us before this: a clean exit would commit on drop.
    std::process::exit(3);
}

fn child_reader(path: &Path) {
    let mut r = Store::<Rec>::open_read_only(path).unwrap();
    println!("{MARK}open {} {}", r.len(), r.capacity());
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let want: Vec<usize> = line
            .strip_prefix("check ")
            .expect("a check command")
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        r.refresh().unwrap();
        let problem = if r.len() != want[0] {
            Some(format!("len {} (expected {})", r.len(), want[0]))
        } else if r.capacity() != want[1] {
            Some(format!("capacity {} (expected {})", r.capacity(), want[1]))
        } else {
            check_records(r.as_slice())
                .err()
                .or_else(|| r.verify().err().map(|e| e.to_string()))
        };
        match problem {
            None => println!(
                "{MARK}ok {} {} {}",
                r.len(),
                r.capacity(),
                r.table().remaps()
            ),
            Some(p) => println!("{MARK}bad {p}"),
        }
    }
}

fn child_second_writer(path: &Path) {
    match Store::<Rec>::open(path) {
        Err(e @ Error::Locked { .. }) => println!("{MARK}refused: {e}"),
        Err(e) => println!("{MARK}other error: {e}"),
        Ok(s) => println!("{MARK}opened {}", s.len()),
    }
    // Reading is allowed meanwhile.
    let r = Store::<Rec>::open_read_only(path).unwrap();
    println!("{MARK}read {}", r.len());
}

fn child_mapper(path: &Path) {
    let r = Store::<Rec>::open_read_only(path).unwrap();
    println!("{MARK}ready {}", r.len());
    wait_for_stdin_eof();
    // Still readable to the end: the file was not cut under us.
    check_records(r.as_slice()).unwrap();
    println!("{MARK}done {}", r.len());
}

// ---------------------------------------------------------------- the parent side

const CRASH_FLUSHED: u64 = 100;
const CRASH_UNFLUSHED: u64 = 1000;

/// A running child process and the lines it printed.
struct Kid {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// Children mark their own lines with this, because the test harness prints around
/// (and on the same line as) them.
const MARK: &str = "@@ ";

/// How long to wait for a child's next line before giving up: a guard against a hung
/// test, not a timing assertion.
const HANG: Duration = Duration::from_secs(120);

fn spawn(role: &str, path: &Path) -> Kid {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(PATH, path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    Kid {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Kid {
    /// The child's next own line (the text after the mark) that starts with one of
    /// `prefixes`.
    fn line(&mut self, prefixes: &[&str]) -> String {
        loop {
            let line = match self.lines.recv_timeout(HANG) {
                Ok(line) => line,
                Err(e) => {
                    let _ = self.child.kill();
                    let status = self.child.wait().unwrap();
                    panic!(
                        "no line {prefixes:?} from the child ({e}; it ended with {status}); its output:\n{}",
                        self.seen.join("\n")
                    );
                }
            };
            self.seen.push(line.clone());
            if let Some((_, own)) = line.split_once(MARK)
                && prefixes.iter().any(|p| own.starts_with(p))
            {
                return own.to_owned();
            }
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the child's stdin, waits for it to exit successfully, and returns its
    /// own lines.
    fn finish(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        assert!(
            status.success(),
            "child failed: {status}\n{}",
            self.seen.join("\n")
        );
        self.seen
            .iter()
            .filter_map(|l| l.split_once(MARK).map(|(_, own)| own.to_owned()))
            .collect()
    }
}

impl Drop for Kid {
    /// A failing parent must not leave a child behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_writer_killed_with_sigkill_leaves_exactly_its_flushed_records() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("crash.fxr");
    let mut kid = spawn("crash", &path);
    kid.line(&["ready"]);
    kid.child.kill().unwrap(); // SIGKILL
    let status = kid.child.wait().unwrap();
    assert!(common::killed(&status), "{status}");

    let s = Store::<Rec>::open(&path).unwrap();
    assert_eq!(s.len() as u64, CRASH_FLUSHED, "exactly the flushed records");
    check_records(s.as_slice()).unwrap();
    s.verify().unwrap();
    // The dead writer's lock died with it: this handle writes and commits.
    let mut s = s;
    s.push(rec(CRASH_FLUSHED)).unwrap();
    s.flush().unwrap();
    drop(s);
    let s = Store::<Rec>::open_read_only(&path).unwrap();
    assert_eq!(s.len() as u64, CRASH_FLUSHED + 1);
    check_records(s.as_slice()).unwrap();
}

#[test]
fn a_reader_process_follows_commits_and_growth_but_never_sees_uncommitted_records() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("shared.fxr");
    let mut w: Store<Rec> = StoreOptions::new()
        .capacity(4)
        .growth(Growth::Double)
        .create(&path)
        .unwrap();
    w.push(rec(0)).unwrap();
    w.push(rec(1)).unwrap();
    w.flush().unwrap();
    let mut kid = spawn("reader", &path);
    assert_eq!(kid.line(&["open"]), "open 2 4");

    let mut largest_cap = 4;
    for round in 0..40u64 {
        // Commit some records (sometimes past the capacity, so the file grows) ...
        for _ in 0..(round * 7) % 23 + 1 {
            w.push(rec(w.len() as u64)).unwrap();
        }
        w.flush().unwrap();
        let (committed, cap) = (w.len(), w.capacity());
        largest_cap = largest_cap.max(cap);
        // ... then push more without committing: the reader must not see them, even
        // when they grew the file.
        for _ in 0..round % 5 {
            w.push(rec(w.len() as u64)).unwrap();
        }
        kid.send(&format!("check {committed} {cap}"));
        let reply = kid.line(&["ok", "bad"]);
        assert!(reply.starts_with("ok"), "round {round}: {reply}");
    }
    assert!(largest_cap >= 256, "the store grew only to {largest_cap}");
    // The last uncommitted pushes become visible with their commit.
    w.flush().unwrap();
    kid.send(&format!("check {} {}", w.len(), w.capacity()));
    let reply = kid.line(&["ok", "bad"]);
    assert!(reply.starts_with("ok"), "{reply}");
    let remaps: u64 = reply.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        remaps >= 5,
        "the reader remapped {remaps} times following growth"
    );
    kid.finish();
}

#[test]
fn a_second_writer_process_is_refused_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("locked.fxr");
    let mut w = Store::<Rec>::create(&path).unwrap();
    for i in 0..5 {
        w.push(rec(i)).unwrap();
    }
    w.flush().unwrap();

    let mut kid = spawn("second-writer", &path);
    let line = kid.line(&["refused", "other error", "opened"]);
    assert!(line.starts_with("refused: "), "{line}");
    assert!(line.contains(&path.display().to_string()), "{line}");
    assert!(
        line.contains(
            "another writer holds this file (a writable handle in this process or in another"
        ),
        "{line}"
    );
    assert_eq!(kid.line(&["read"]), "read 5");
    kid.finish();

    // Once the writer is gone, another process may write.
    drop(w);
    let mut kid = spawn("second-writer", &path);
    assert_eq!(kid.line(&["refused", "other error", "opened"]), "opened 5");
    kid.finish();
}

#[test]
fn the_file_does_not_shrink_while_another_process_maps_it() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("mapped.fxr");
    let mut w: Store<Rec> = StoreOptions::new().capacity(1024).create(&path).unwrap();
    for i in 0..1000 {
        w.push(rec(i)).unwrap();
    }
    w.flush().unwrap();
    let full = std::fs::metadata(&path).unwrap().len();

    let mut kid = spawn("mapper", &path);
    assert_eq!(kid.line(&["ready"]), "ready 1000");
    w.truncate(3);
    let e = w.shrink_to_fit().unwrap_err();
    assert!(matches!(e, Error::InUse { .. }), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), full);
    // The reader still reads all of its records, then exits cleanly.
    let out = kid.finish();
    assert!(out.iter().any(|l| l.starts_with("done 1000")), "{out:?}");

    w.shrink_to_fit().unwrap();
    assert_eq!(w.capacity(), 3);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        w.table().data_offset() as u64 + 3 * 16
    );
    drop(w);
    let s = Store::<Rec>::open_read_only(&path).unwrap();
    assert_eq!(s.len(), 3);
    check_records(s.as_slice()).unwrap();
}
