//! A signal at any instant stops `fixrec import` and `fixrec export`, whatever they wait
//! on (a stalled pipe, a FIFO with no writer or no reader, a pipe with no room), with
//! the documented exit and nothing left behind. Pins the race where a signal that came
//! between the stop-flag check and a blocking `read` was only seen when more input came
//! (`import` hung for as long as its producer stalled).
//!
//! The signal goes out after a random delay of 0 to 20 ms from the start: some trials
//! hit the process before its handler is in place (it then dies by the signal, which is
//! fine: it had made nothing yet), most while it starts or waits.
//!
//! Unix only: Unix signals (kill(2) at random instants) against FIFOs and pipes; Windows has no signals to send a process (its Ctrl-C handling is documented in src/cli/signals/windows.rs).
#![cfg(unix)]

mod common;

use common::Rng;
use common::cli::{mkfifo, names, ok_bytes, spawn, text};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

const MEMBER: &str = "id:str[256],name:str[256]";
const SIGNALS: [(i32, &str); 3] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
];

/// Not a wait for anything: a hang detector. A child still running this long after its
/// signal has hung (the bug this file pins), on any machine however loaded.
const HANG: Duration = Duration::from_secs(60);

fn seed() -> u64 {
    let seed = std::env::var("FIXREC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("seed {seed} (FIXREC_SEED={seed} repeats it)");
    seed
}

fn kill(child: &Child, signal: i32) {
    // SAFETY: the pid of a child not yet waited for (a zombie at worst).
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Waits for `child` to end; fails the test if it hangs. Returns its status and how long
/// it took from the call.
fn ended(child: &mut Child, what: &str) -> (ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        assert!(
            start.elapsed() < HANG,
            "{what}: still running after its signal"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The median, 90th percentile and slowest of `took`, for the log.
fn spread(took: &mut [Duration]) -> String {
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
    format!(
        "exit after the signal: median {:?}, p90 {:?}, slowest {:?}",
        at(0.5),
        at(0.9),
        at(1.0)
    )
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    text(&err)
}

/// Whether `status` is what a signal gives: 128 + the signal from fixrec's handler with
/// `message`, or death by the signal itself (before the handler was in place, with
/// nothing on stderr).
fn stopped_by(status: ExitStatus, stderr: &str, signal: i32, message: &str, what: &str) -> bool {
    if status.signal() == Some(signal) {
        assert_eq!(stderr, "", "{what}");
        return false;
    }
    assert_eq!(status.code(), Some(128 + signal), "{what}: {stderr}");
    assert_eq!(stderr, message, "{what}");
    true
}

/// How a trial's input stalls.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// `/dev/stdin`, a pipe we hold open and never write.
    Pipe,
    /// `/dev/stdin`, some rows written, then nothing.
    PipeMidway,
    /// A FIFO that no one ever opens for writing.
    Fifo,
}

#[test]
fn a_signal_at_any_instant_stops_an_import_that_waits_on_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = Rng(seed());
    let mut rows = String::from("id,name\n");
    for i in 0..2000 {
        rows.push_str(&format!("M{i:06},name {i}\n"));
    }
    let (mut handled, mut took) = (0, Vec::new());
    for trial in 0..210 {
        let stall = [Stall::Pipe, Stall::PipeMidway, Stall::Fifo][trial % 3];
        let (signal, name) = SIGNALS[rng.upto(3)];
        let delay = Duration::from_micros(rng.below(20_000));
        let store = format!("t{trial}.fxr");
        let input = match stall {
            Stall::Fifo => {
                let fifo = format!("fifo{trial}");
                mkfifo(&d.join(&fifo));
                fifo
            }
            _ => "/dev/stdin".to_string(),
        };
        let what = format!("trial {trial}: {stall:?}, {name} after {delay:?}");
        let mut child = spawn(
            d,
            &["import", &store, &input, "--create", "--schema", MEMBER],
        );
        let mut stdin = child.stdin.take().unwrap(); // held open: the pipe never ends
        if let Stall::PipeMidway = stall {
            stdin.write_all(rows.as_bytes()).unwrap();
        }
        std::thread::sleep(delay); // the instant under test, not a wait for a state
        kill(&child, signal);
        let (status, t) = ended(&mut child, &what);
        took.push(t);
        drop(stdin);
        let message = format!("error: {store}: nothing was imported: interrupted by {name}\n");
        if stopped_by(status, &stderr_of(&mut child), signal, &message, &what) {
            handled += 1;
        }
        assert!(
            !d.join(&store).exists(),
            "{what}: the store --create made is removed"
        );
        if let Stall::Fifo = stall {
            fs::remove_file(d.join(&input)).unwrap();
        }
        assert!(names(d).is_empty(), "{what}: left {:?}", names(d));
    }
    eprintln!(
        "210 trials: {handled} stopped by fixrec's handler, the rest before it; {}",
        spread(&mut took)
    );
    assert!(handled > 0, "no trial reached the handler");
}

/// Where a trial's export waits.
#[derive(Debug, Clone, Copy)]
enum Out {
    /// Stdout, a pipe that we never read: full after 64 KiB.
    StalledStdout,
    /// `-o fifo`, which no one ever opens for reading.
    FifoNoReader,
    /// `-o fifo`, read for 16 bytes and then no more.
    StalledFifo,
    /// `-o out.csv`, a regular file: it may finish before the signal.
    File,
}

#[test]
fn a_signal_at_any_instant_stops_an_export_that_waits_on_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("id,name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("M{i:06},member number {i} and a longer name\n"));
    }
    fs::write(d.join("m.csv"), csv).unwrap();
    ok_bytes(
        d,
        &["import", "m.fxr", "m.csv", "--create", "--schema", MEMBER],
    );
    fs::remove_file(d.join("m.csv")).unwrap();
    let mut rng = Rng(seed());
    let (mut handled, mut took) = (0, Vec::new());
    for trial in 0..120 {
        let out = [
            Out::StalledStdout,
            Out::FifoNoReader,
            Out::StalledFifo,
            Out::File,
        ][trial % 4];
        let (signal, name) = SIGNALS[rng.upto(3)];
        let delay = Duration::from_micros(rng.below(20_000));
        let what = format!("trial {trial}: {out:?}, {name} after {delay:?}");
        let mut args = vec!["export", "m.fxr", "--format", "jsonl"];
        match out {
            Out::StalledStdout => {}
            Out::FifoNoReader | Out::StalledFifo => {
                mkfifo(&d.join("fifo"));
                args.extend(["-o", "fifo"]);
            }
            Out::File => args.extend(["-o", "out.csv"]),
        }
        let mut child = spawn(d, &args);
        let stdout = child.stdout.take().unwrap(); // never read
        let reader = match out {
            Out::StalledFifo => {
                // Opening blocks until fixrec opens its end; then 16 bytes, and a stall.
                let mut fifo = fs::File::open(d.join("fifo")).unwrap();
                let mut first = [0u8; 16];
                fifo.read_exact(&mut first).unwrap();
                Some(fifo)
            }
            _ => None,
        };
        std::thread::sleep(delay); // the instant under test
        kill(&child, signal);
        let (status, t) = ended(&mut child, &what);
        took.push(t);
        drop((stdout, reader));
        let stderr = stderr_of(&mut child);
        if let Out::File = out
            && status.success()
        {
            // It finished first: the whole file is there.
            assert_eq!(names(d), ["m.fxr", "out.csv"], "{what}");
            assert_eq!(
                fs::read(d.join("out.csv")).unwrap(),
                ok_bytes(d, &["export", "m.fxr", "--format", "jsonl"]),
                "{what}"
            );
            fs::remove_file(d.join("out.csv")).unwrap();
            continue;
        }
        let message = format!("error: interrupted by {name}\n");
        let message = match out {
            Out::File => {
                format!("error: out.csv: export failed, no file written: interrupted by {name}\n")
            }
            _ => message,
        };
        if stopped_by(status, &stderr, signal, &message, &what) {
            handled += 1;
        }
        let _ = fs::remove_file(d.join("fifo"));
        assert_eq!(names(d), ["m.fxr"], "{what}: a temporary file is removed");
    }
    eprintln!(
        "120 trials: {handled} stopped by fixrec's handler, the rest before it; {}",
        spread(&mut took)
    );
    assert!(handled > 0, "no trial reached the handler");
}

/// A second signal ends fixrec at once, by that signal, and still removes the store its
/// `--create` made. To deliver two signals before fixrec's code runs again, it is
/// stopped (SIGSTOP, and seen stopped), sent both, and continued: the kernel runs both
/// handlers before it returns to the program.
#[test]
fn a_second_signal_ends_import_at_once_and_removes_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mkfifo(&d.join("fifo"));
    let mut child = spawn(
        d,
        &["import", "a.fxr", "fifo", "--create", "--schema", MEMBER],
    );
    // Its handlers are in place before it creates the store.
    let start = Instant::now();
    while !d.join("a.fxr").exists() {
        assert!(start.elapsed() < HANG, "import never made its store");
        assert!(child.try_wait().unwrap().is_none(), "import ended early");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(stop(&child), "import ended early");
    kill(&child, libc::SIGINT);
    kill(&child, libc::SIGTERM);
    kill(&child, libc::SIGCONT);
    let (status, _) = ended(&mut child, "two signals");
    assert!(
        matches!(status.signal(), Some(libc::SIGINT | libc::SIGTERM)),
        "ended by the second signal itself: {status:?} {}",
        stderr_of(&mut child)
    );
    assert_eq!(names(d), ["fifo"], "the store --create made is removed");
}

/// Stops `child` (SIGSTOP) and waits until it is seen stopped.
fn stop(child: &Child) -> bool {
    kill(child, libc::SIGSTOP);
    let stat = format!("/proc/{}/stat", child.id());
    let start = Instant::now();
    loop {
        // The state is the field after the parenthesised command name.
        match fs::read_to_string(&stat)
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.chars().next()))
        {
            Some(Some('T')) => return true,
            Some(Some('Z')) | None => return false, // it ended first
            _ => {}
        }
        assert!(start.elapsed() < HANG, "SIGSTOP never took");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Two signals at once (as `timeout -s INT` sends one to the process and one to its
/// group) while `import` grows an existing store: it ends by the second at once, and the
/// file is as it was, its size included (the room the appends added is given back).
#[test]
fn a_second_signal_during_an_import_leaves_an_existing_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_bytes(d, &["create", "s.fxr", "--schema", MEMBER]);
    ok_bytes(d, &["push", "s.fxr", "id=a", "name=first"]);
    let before = fs::read(d.join("s.fxr")).unwrap();
    let records = ok_bytes(d, &["export", "s.fxr"]);
    let info = ok_bytes(d, &["info", "s.fxr", "--json"]);
    let mut rows = 100_000;
    loop {
        let mut csv = String::from("id,name\n");
        for i in 0..rows {
            csv.push_str(&format!("M{i:06},name {i}\n"));
        }
        fs::write(d.join("in.csv"), csv).unwrap();
        let mut child = spawn(d, &["import", "s.fxr", "in.csv"]);
        let start = Instant::now();
        // Until the appends have grown the file (or the import ended first).
        while fs::metadata(d.join("s.fxr")).unwrap().len() == before.len() as u64
            && child.try_wait().unwrap().is_none()
        {
            assert!(start.elapsed() < HANG, "the import never grew the file");
            std::thread::sleep(Duration::from_millis(1));
        }
        if !stop(&child) {
            // It finished before it could be stopped: start again, with more rows.
            assert!(child.wait().unwrap().success());
            fs::write(d.join("s.fxr"), &before).unwrap();
            rows *= 4;
            assert!(rows < 100_000_000, "never caught an import mid-way");
            continue;
        }
        assert!(fs::metadata(d.join("s.fxr")).unwrap().len() > before.len() as u64);
        kill(&child, libc::SIGINT);
        kill(&child, libc::SIGTERM);
        kill(&child, libc::SIGCONT);
        let (status, _) = ended(&mut child, "two signals");
        assert!(
            matches!(status.signal(), Some(libc::SIGINT | libc::SIGTERM)),
            "ended by the second signal: {status:?} {}",
            stderr_of(&mut child)
        );
        break;
    }
    assert_eq!(
        fs::metadata(d.join("s.fxr")).unwrap().len(),
        before.len() as u64,
        "the room the import's appends added is given back"
    );
    // The same commit, the same records (the bytes past len, counted by no commit, may
    // hold some of the rows).
    assert_eq!(
        text(&ok_bytes(d, &["info", "s.fxr", "--json"])),
        text(&info)
    );
    assert_eq!(text(&ok_bytes(d, &["export", "s.fxr"])), text(&records));
    ok_bytes(d, &["verify", "s.fxr"]);
}
