//! Windows only: fixrec and C programs written against Win32 share named regions and
//! files in both directions, and Windows regions behave as documented (names as
//! written, `ERROR_ALREADY_EXISTS` as `Origin::Opened`, a region that goes with its
//! last handle, a fixed size). The C program is `tests/win32/interop.c`, built with
//! mingw by `.ci/windows` (set `FIXREC_WIN32_INTEROP` to its .exe to run these tests by
//! hand).
#![cfg(windows)]

use fixrec::shm::{Origin, Region, RegionOptions, SharedStore};
use fixrec::{CChar, FixedStr, Store, record};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

record! {
    #[repr(C, packed)]
    /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`
    pub struct Smtest { pub c: CChar, pub i: i32, pub s: i16 }
}

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`
    pub struct Member { pub id: FixedStr<256>, pub name: FixedStr<256> }
}

fn interop() -> PathBuf {
    let path = std::env::var_os("FIXREC_WIN32_INTEROP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/x86_64-pc-windows-gnu/win32-c/interop.exe")
        });
    assert!(
        path.exists(),
        "{} is missing: build tests/win32/interop.c with mingw first (.ci/windows does)",
        path.display()
    );
    path
}

fn name(tag: &str) -> String {
    format!("fixrec-win32-{tag}-{}", std::process::id())
}

/// Runs the C program to completion; its stdout, or a panic with its stderr.
fn c(args: &[&str]) -> String {
    let out = Command::new(interop()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "interop {args:?}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

/// A C program that created a region and holds it until dropped (its stdin closes).
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    fn start(args: &[&str]) -> Holder {
        let mut child = Command::new(interop())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim_end(), "ready", "interop {args:?}");
        Holder { child, stdin }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn a_c_writer_makes_jjbsmtest_and_fixrec_reads_it() {
    let n = name("JJBSMTEST");
    let _c = Holder::start(&["smtest-create", &n]);
    let region = Region::open_read_only(&n).unwrap();
    // The size the C program asked for, or (Wine) that size rounded up to a page: the
    // system keeps no other.
    assert!(matches!(region.len(), 7 | 4096), "{}", region.len());
    assert_eq!(&region.as_slice()[..7], &[b'a', 100, 0, 0, 0, 10, 0]);
    let r = region.records::<Smtest>().unwrap()[0];
    let (c, i, s) = (r.c, r.i, r.s);
    assert_eq!((c.0, i, s), (b'a', 100, 10));
    // The command line, on the same region.
    let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args([
            "get",
            &format!("shm:{n}"),
            "0",
            "--raw",
            "--schema",
            "c:char,i:i32,s:i16",
        ])
        .args(["--layout", "packed"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("100") && stdout.contains("10"), "{stdout}");
}

#[test]
fn fixrec_makes_jjbsmtest_and_a_c_reader_reads_it() {
    let n = name("smtest");
    let mut region = Region::create(&n, size_of::<Smtest>()).unwrap();
    region.records_mut::<Smtest>().unwrap()[0] = Smtest {
        c: CChar(b'b'),
        i: -7,
        s: 300,
    };
    assert_eq!(c(&["smtest-read", &n]), "c=b i=-7 s=300");
}

#[test]
fn names_mean_what_they_mean_to_win32() {
    // Local\X and a bare X are one object (the session namespace); C opens it bare.
    let bare = name("message");
    let mut region = Region::create(&format!(r"Local\{bare}"), 256).unwrap();
    let text = b"Message from first process.";
    region.as_mut_slice()[..text.len()].copy_from_slice(text);
    assert_eq!(c(&["message-read", &bare]), "Message from first process.");
    assert_eq!(
        c(&["message-read", &format!(r"Local\{bare}")]),
        "Message from first process."
    );
    // The other way: C creates Global\X, fixrec opens exactly that name.
    let global = format!(r"Global\{}", name("global"));
    let _c = Holder::start(&["message-create", &global, "hello from C"]);
    let seen = Region::open_read_only(&global).unwrap();
    assert_eq!(&seen.as_slice()[..13], b"hello from C\0");
    assert!(matches!(seen.len(), 256 | 4096), "{}", seen.len());
}

#[test]
fn open_or_create_reports_an_existing_object_and_a_region_goes_with_its_last_handle() {
    let n = name("origin");
    let (first, origin) = Region::open_or_create(&n, 64).unwrap();
    assert_eq!(origin, Origin::Created);
    let (second, origin) = Region::open_or_create(&n, 64).unwrap();
    assert_eq!(origin, Origin::Opened);
    assert!(matches!(
        RegionOptions::new().create(&n, 64),
        Err(fixrec::Error::AlreadyExists { .. })
    ));
    drop(first);
    assert!(Region::open(&n).is_ok(), "a handle is still open");
    drop(second);
    let gone = Region::open(&n).unwrap_err().to_string();
    assert!(gone.contains("open"), "{gone}");
}

#[test]
fn jinyong_dat_written_by_c_is_read_by_fixrec_and_the_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let from_c = dir.path().join("jinyong.dat");
    c(&["jinyong-write", from_c.to_str().unwrap()]);
    let store = Store::<Member>::open_raw(&from_c).unwrap();
    assert_eq!(store.len(), 1000);
    let m = store.get(2).unwrap();
    assert_eq!(
        (m.id.as_str().unwrap(), m.name.as_str().unwrap()),
        ("2", "member 2")
    );
    drop(store);

    let from_rust = dir.path().join("rust.dat");
    let mut store = Store::<Member>::create_raw(&from_rust).unwrap();
    for i in 0..1000 {
        store
            .push(Member {
                id: FixedStr::new(&format!("r{i}")).unwrap(),
                name: FixedStr::new(&format!("rust {i}")).unwrap(),
            })
            .unwrap();
    }
    store.flush().unwrap();
    drop(store);
    assert_eq!(std::fs::metadata(&from_rust).unwrap().len(), 1000 * 512);
    assert_eq!(
        c(&["jinyong-read", from_rust.to_str().unwrap(), "2"]),
        "r2|rust 2"
    );
}

#[test]
fn a_shared_store_in_a_region_keeps_its_size_and_says_so() {
    let n = name("shared");
    let mut store = SharedStore::<Smtest>::create(&n, 4).unwrap();
    let mut refused = None;
    // The section has the room asked for, rounded up to a page: pushes fill it, then
    // the first growth past it is refused with an error (never a fault).
    for i in 0..100_000 {
        match store.push(Smtest {
            c: CChar(b'x'),
            i,
            s: 0,
        }) {
            Ok(_) => {}
            Err(e) => {
                refused = Some(e.to_string());
                break;
            }
        }
    }
    let err = refused.expect("a region that never stops growing");
    assert!(err.contains("keeps the size it was created with"), "{err}");
    let len = store.len();
    assert!(len >= 4, "{len}");
    store.flush().unwrap();
    let reader = SharedStore::<Smtest, fixrec::ReadOnly>::open_read_only(&n).unwrap();
    assert_eq!(reader.len(), len);
    let last = reader.read(len - 1).unwrap();
    let i = last.i;
    assert_eq!(i as usize, len - 1);
}

#[test]
fn the_command_line_refuses_to_create_a_region_that_would_vanish() {
    let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args(["shm", "create", &name("cli"), "--size", "256"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lives exactly as long as some process has it open"),
        "{err}"
    );
}

/// An example built for Windows beside this test (`target/.../debug/examples`); `cargo
/// build --examples` builds them, as `.ci/windows` does before the tests.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(format!("{name}.exe"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --target x86_64-pc-windows-gnu --examples` first",
        path.display()
    );
    path
}

/// Runs an example to its end; its stdout, or a panic with its stderr.
fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "example {name} {args:?}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A writer example (`sender`, `smtest_writer`) that made its region and holds it until
/// this is dropped (then it is ended: the region goes with its last handle).
struct WriterExample(Child);

impl WriterExample {
    /// Starts it and reads its output up to its "ready:" line, printed once the region
    /// exists.
    fn start(name: &str, region: &str) -> WriterExample {
        let mut child = Command::new(example(name))
            .args([region, "--timeout", "300"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        let writer = WriterExample(child);
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).unwrap();
            assert!(n > 0, "example {name} ended before it was ready: {seen}");
            seen.push_str(&line);
            if line.starts_with("ready:") {
                return writer;
            }
        }
    }
}

impl Drop for WriterExample {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The examples, ports of the original Win32 programs, share their regions and files
/// with C programs written against Win32, both ways: `smtest_writer` and
/// `smtest_reader` with a packed `SMTEST` in a named region, `sender` and `listener`
/// with a 256-byte message, `jinyong` with a `jinyong.dat` of `struct Member`.
#[test]
fn the_examples_share_regions_and_files_with_c_programs() {
    // fixrec's smtest_writer, then a C reader.
    let n = name("ex-smtest");
    let writer = WriterExample::start("smtest_writer", &n);
    assert_eq!(c(&["smtest-read", &n]), "c=a i=100 s=10");
    drop(writer);
    // A C writer, then fixrec's smtest_reader.
    let n = name("ex-smtest-c");
    let holder = Holder::start(&["smtest-create", &n]);
    assert_eq!(run_example("smtest_reader", &[&n]), "c=a i=100 s=10\n");
    drop(holder);
    // fixrec's sender, then a C reader of the message.
    let n = name("ex-message");
    let writer = WriterExample::start("sender", &n);
    assert_eq!(c(&["message-read", &n]), "Message from first process.");
    drop(writer);
    // A C sender, then fixrec's listener.
    let n = name("ex-message-c");
    let holder = Holder::start(&["message-create", &n, "Message from a C process."]);
    assert_eq!(
        run_example("listener", &[&n]),
        "Message from a C process.\n"
    );
    drop(holder);
    // jinyong writes jinyong.dat, which C maps and reads.
    let dir = tempfile::tempdir().unwrap();
    let out = run_example("jinyong", &[dir.path().to_str().unwrap()]);
    assert!(out.contains("member[2].id   = 22"), "{out}");
    let dat = dir.path().join("jinyong.dat");
    assert_eq!(c(&["jinyong-read", dat.to_str().unwrap(), "999"]), "22|22");
}
