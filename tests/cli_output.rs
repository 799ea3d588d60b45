//! Where `fixrec export` and `fixrec get` write, run as a user runs them: the built binary
//! on real files in a temporary directory. A failed `export -o OUT` leaves OUT as it was
//! (or absent) and never removes a device; a reader that goes away early (`| head -1`)
//! ends every command by SIGPIPE, quietly, as it ends other Unix tools.
//!
//! Unix only: Unix output targets: SIGPIPE, FIFOs, devices, modes and owners of replaced files.
#![cfg(unix)]

mod common;

use common::cli::{command, fails, fixrec, names, ok_bytes, spawn, text};
use std::fs;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

const MEMBER: &str = "id:str[256],name:str[256]";

/// `m.fxr`: `rows` members whose records export to about 100 bytes of CSV each.
fn members(dir: &Path, rows: usize) -> PathBuf {
    let mut csv = String::from("id,name\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "M{i:06},member number {i} with a name long enough to make the output large\n"
        ));
    }
    fs::write(dir.join("m.csv"), csv).unwrap();
    ok_bytes(
        dir,
        &["import", "m.fxr", "m.csv", "--create", "--schema", MEMBER],
    );
    dir.join("m.fxr")
}

/// `bad.dat`: a headerless file of `a:str[4]` records whose record 2 is not UTF-8, so an
/// export of it fails after writing records 0 and 1.
const BAD_SCHEMA: &str = "a:str[4]";
fn bad_store(dir: &Path) {
    fs::write(dir.join("bad.dat"), b"ab\0\0cd\0\0\xff\xff\0\0ef\0\0").unwrap();
}

#[test]
fn a_failed_export_leaves_an_existing_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bad_store(d);
    let before = b"keep\nthese bytes \xff as they are\n".to_vec();
    for format in ["csv", "jsonl"] {
        fs::write(d.join("existing.out"), &before).unwrap();
        fs::set_permissions(d.join("existing.out"), fs::Permissions::from_mode(0o640)).unwrap();
        let listing = names(d);
        let err = fails(
            d,
            &[
                "export",
                "bad.dat",
                "--raw",
                "--schema",
                BAD_SCHEMA,
                "--format",
                format,
                "-o",
                "existing.out",
            ],
        );
        assert!(
            err.contains("existing.out: export failed, the file is unchanged")
                && err.contains("bad.dat: record 2"),
            "{format}: {err}"
        );
        assert_eq!(
            fs::read(d.join("existing.out")).unwrap(),
            before,
            "{format}"
        );
        let mode = fs::metadata(d.join("existing.out"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "{format}");
        assert_eq!(names(d), listing, "{format}: a temporary file was left");
    }
}

#[test]
fn a_failed_export_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bad_store(d);
    let listing = names(d);
    let err = fails(
        d,
        &[
            "export", "bad.dat", "--raw", "--schema", BAD_SCHEMA, "-o", "new.csv",
        ],
    );
    assert!(
        err.contains("new.csv: export failed, no file written") && err.contains("record 2"),
        "{err}"
    );
    assert!(!d.join("new.csv").exists());
    assert_eq!(names(d), listing, "a temporary file was left");
}

#[test]
fn a_successful_export_replaces_the_file_keeping_its_mode_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 100);
    let expected = ok_bytes(d, &["export", "m.fxr"]);
    fs::write(
        d.join("out.csv"),
        "old content, longer than nothing\n".repeat(1000),
    )
    .unwrap();
    fs::set_permissions(d.join("out.csv"), fs::Permissions::from_mode(0o604)).unwrap();
    assert_eq!(ok_bytes(d, &["export", "m.fxr", "-o", "out.csv"]), b"");
    assert_eq!(fs::read(d.join("out.csv")).unwrap(), expected);
    let mode = fs::metadata(d.join("out.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o604);
    // A new file.
    ok_bytes(d, &["export", "m.fxr", "--format", "raw", "-o", "new.dat"]);
    assert_eq!(fs::metadata(d.join("new.dat")).unwrap().len(), 100 * 512);
    // Through a symlink: the file it names is replaced, the link stays a link.
    std::os::unix::fs::symlink("out.csv", d.join("link.csv")).unwrap();
    ok_bytes(d, &["export", "m.fxr", "--range", "0..1", "-o", "link.csv"]);
    assert!(
        fs::symlink_metadata(d.join("link.csv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let first = text(&fs::read(d.join("out.csv")).unwrap());
    assert_eq!(first.lines().count(), 2, "{first}");
    assert!(first.starts_with("id,name\nM000000,"), "{first}");
    assert_eq!(
        names(d),
        ["link.csv", "m.csv", "m.fxr", "new.dat", "out.csv"],
        "a temporary file was left"
    );
    // The store itself as OUT is refused, and the store is kept.
    let store = fs::read(d.join("m.fxr")).unwrap();
    let err = fails(d, &["export", "m.fxr", "-o", "./m.fxr"]);
    assert!(err.contains("m.fxr: is the store being exported"), "{err}");
    assert_eq!(fs::read(d.join("m.fxr")).unwrap(), store);
}

/// A copy of the character device `major:minor` named `name` in `dir`, when this process
/// may make one and write to it (not on a `nodev` mount). Tests that could remove a
/// device, were the code wrong, try the copy first.
fn device_copy(dir: &Path, name: &str, major: u32, minor: u32) -> Option<String> {
    let path = std::ffi::CString::new(dir.join(name).to_str()?).ok()?;
    // SAFETY: a NUL-terminated path; mknod only creates a file.
    let rc = unsafe {
        libc::mknod(
            path.as_ptr(),
            libc::S_IFCHR | 0o666,
            libc::makedev(major, minor),
        )
    };
    let usable = rc == 0
        && fs::OpenOptions::new()
            .write(true)
            .open(dir.join(name))
            .is_ok();
    usable.then(|| name.to_string())
}

/// Whether a failing export may be pointed at the machine's own `device`: when the same
/// checks passed on a copy first (`copied`), or when this process may not remove it.
fn may_risk(device: &str, copied: bool) -> bool {
    let dir = std::ffi::CString::new(Path::new(device).parent().unwrap().to_str().unwrap());
    // SAFETY: a NUL-terminated path.
    let removable = unsafe { libc::access(dir.unwrap().as_ptr(), libc::W_OK) } == 0;
    if !copied && removable {
        eprintln!("not risking {device}: no copy of it could be tried first");
    }
    copied || !removable
}

/// A failed export into `device`: exit 1, a message naming it, and the device kept.
fn failed_export_keeps(d: &Path, device: &str) {
    let err = fails(
        d,
        &[
            "export", "bad.dat", "--raw", "--schema", BAD_SCHEMA, "-o", device,
        ],
    );
    assert!(
        err.contains(&format!("{device}: export failed: bad.dat: record 2")),
        "{err}"
    );
    let meta = fs::metadata(d.join(device)).expect("the device is still there");
    assert!(meta.file_type().is_char_device(), "{device}");
}

#[test]
fn export_to_dev_null_keeps_dev_null() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 100);
    for format in ["csv", "jsonl", "raw"] {
        assert_eq!(
            ok_bytes(
                d,
                &["export", "m.fxr", "--format", format, "-o", "/dev/null"]
            ),
            b""
        );
        let meta = fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device(), "{format}");
    }
    // A failed export into a device does not remove it either.
    bad_store(d);
    let copy = device_copy(d, "null", 1, 3);
    if let Some(copy) = &copy {
        failed_export_keeps(d, copy);
    }
    if may_risk("/dev/null", copy.is_some()) {
        failed_export_keeps(d, "/dev/null");
    }
}

/// `device`: exit 1, a message naming it and the OS error, and the device still there.
#[cfg(target_os = "linux")]
fn full_device_is_kept(d: &Path, device: &str) {
    for format in ["csv", "jsonl", "raw"] {
        let err = fails(d, &["export", "m.fxr", "--format", format, "-o", device]);
        assert!(
            err.contains(&format!("{device}: cannot write: No space left on device")),
            "{format}: {err}"
        );
        let meta = fs::metadata(d.join(device)).expect("the device is still there");
        assert!(meta.file_type().is_char_device(), "{format}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_error_on_dev_full_is_reported_and_dev_full_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 1000);
    let copy = device_copy(d, "full", 1, 7);
    if let Some(copy) = &copy {
        full_device_is_kept(d, copy);
    }
    if may_risk("/dev/full", copy.is_some()) {
        full_device_is_kept(d, "/dev/full");
    }
    // (Stdout on /dev/full: `stdout_on_a_full_disk_is_an_error_that_says_what_was_done`.)
}

#[test]
fn a_fifo_is_written_in_place_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 3000);
    let expected = ok_bytes(d, &["export", "m.fxr", "--format", "raw"]);
    let fifo = d.join("fifo");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    // A reader that reads everything: the export succeeds.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    ok_bytes(d, &["export", "m.fxr", "--format", "raw", "-o", "fifo"]);
    assert_eq!(reader.join().unwrap(), expected);
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A reader that goes away early: fixrec ends by SIGPIPE, and the FIFO is kept.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 16];
            fs::File::open(fifo).unwrap().read_exact(&mut buf).unwrap();
        })
    };
    let out = fixrec(d, &["export", "m.fxr", "--format", "raw", "-o", "fifo"]);
    reader.join().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

/// Runs fixrec with stdout a pipe, reads a few bytes, closes the pipe and returns how
/// it ended and its stderr.
fn reader_goes_away(dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fixrec");
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0; 16];
    stdout.read_exact(&mut buf).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (out.status, text(&out.stderr))
}

/// Runs fixrec with stdout a pipe whose reader is closed before it starts (so its first
/// print fails whatever its size) and returns how it ended and its stderr.
fn no_reader(dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut fds = [0; 2];
    // SAFETY: a two-int array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just made and are owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .expect("run fixrec");
    (out.status, text(&out.stderr))
}

#[test]
fn a_reader_that_goes_away_ends_fixrec_by_sigpipe_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 20000 records: about 2 MB of CSV, 10 MB raw; far more than a pipe holds.
    members(d, 20_000);
    for format in ["csv", "jsonl", "raw"] {
        let (status, err) = reader_goes_away(d, &["export", "m.fxr", "--format", format]);
        assert_eq!(
            (status.signal(), err.as_str()),
            (Some(libc::SIGPIPE), ""),
            "{format}"
        );
        let (status, err) = reader_goes_away(
            d,
            &["export", "m.fxr", "--format", format, "--range", "100.."],
        );
        assert_eq!(
            (status.signal(), err.as_str()),
            (Some(libc::SIGPIPE), ""),
            "{format} --range"
        );
    }
    // get: 20000 records of about 100 bytes of JSON each.
    let indexes: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let mut args = vec!["get", "m.fxr"];
    args.extend(indexes.iter().map(String::as_str));
    let (status, err) = reader_goes_away(d, &args);
    assert_eq!(
        (status.signal(), err.as_str()),
        (Some(libc::SIGPIPE), ""),
        "get"
    );

    // Every command that prints, even one short line: no panic, no message. A command
    // that changes the store has done so (and committed) before it prints.
    for args in [
        &["info", "m.fxr"][..],
        &["info", "m.fxr", "--json"],
        &["verify", "m.fxr"],
        &["get", "m.fxr", "0"],
        &["export", "m.fxr", "--range", "0..1"],
        &["push", "m.fxr", "id=new", "name=pushed"],
        &["set", "m.fxr", "0", "name=changed"],
        &["create", "new.fxr", "--schema", MEMBER],
        &["--help"],
        &["export", "--help"],
    ] {
        let (status, err) = no_reader(d, args);
        assert_eq!(
            (status.signal(), err.as_str()),
            (Some(libc::SIGPIPE), ""),
            "{args:?}"
        );
    }
    let out = ok_bytes(d, &["get", "m.fxr", "0", "20000"]);
    let out = text(&out);
    assert!(
        out.contains("\"name\":\"changed\"") && out.contains("\"id\":\"new\""),
        "{out}"
    );
    assert!(d.join("new.fxr").exists());
}

#[test]
fn a_backwards_range_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 10);
    let err = fails(d, &["export", "m.fxr", "--range", "5..3"]);
    assert_eq!(
        err,
        "error: m.fxr: range 5..3 is backwards: its start is past its end\n"
    );
    // Past the end: the range as it was given, not called backwards.
    let err = fails(d, &["export", "m.fxr", "--range", "40.."]);
    assert_eq!(
        err,
        "error: m.fxr: range 40.. is not within the store's records 0..10\n"
    );
    let err = fails(d, &["export", "m.fxr", "--range", "5..11"]);
    assert!(
        err.contains("m.fxr: range 5..11 is not within the store's records 0..10"),
        "{err}"
    );
    // Empty ranges are fine.
    assert_eq!(
        ok_bytes(
            d,
            &["export", "m.fxr", "--format", "jsonl", "--range", "3..3"]
        ),
        b""
    );
    assert_eq!(
        ok_bytes(
            d,
            &["export", "m.fxr", "--format", "jsonl", "--range", "10.."]
        ),
        b""
    );
}

/// Stdout that cannot be written (a full disk; here `/dev/full`, only opened as stdout):
/// every command that prints says so and exits 1, never a panic; a command whose change
/// is committed before it prints says that the change was made, so that nobody repeats
/// it.
#[cfg(target_os = "linux")]
#[test]
fn stdout_on_a_full_disk_is_an_error_that_says_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 10);
    fs::write(d.join("more.csv"), "id,name\nX1,more\n").unwrap();
    for (args, done) in [
        (&["info", "m.fxr"][..], ""),
        (&["info", "m.fxr", "--json"], ""),
        (&["verify", "m.fxr"], ""),
        (&["get", "m.fxr", "0"], ""),
        (&["export", "m.fxr"], ""),
        (
            &["push", "m.fxr", "id=P", "name=pushed"],
            "m.fxr: record 10 was appended and committed: ",
        ),
        (
            &["set", "m.fxr", "0", "name=changed"],
            "m.fxr: record 0 was changed and committed: ",
        ),
        (
            &["import", "m.fxr", "more.csv"],
            "m.fxr: 1 records were imported and committed: ",
        ),
        (
            &["create", "new.fxr", "--schema", MEMBER],
            "new.fxr was created: ",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
            .args(args)
            .current_dir(d)
            .stdout(
                fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err,
            format!("error: {done}cannot write to stdout: No space left on device (os error 28)\n"),
            "{args:?}"
        );
    }
    // Stderr on a full disk too: the exit status still tells, and nothing panics.
    for args in [
        &["get", "m.fxr", "99"][..],
        &["verify", "m.fxr", "--raw", "--schema", "a:bool"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
            .args(args)
            .current_dir(d)
            .stderr(
                fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    let got = text(&ok_bytes(d, &["get", "m.fxr", "0", "10", "11"]));
    assert!(
        got.contains("\"name\":\"changed\"")
            && got.contains("\"id\":\"P\"")
            && got.contains("\"id\":\"X1\""),
        "{got}"
    );
}

/// An OUT whose name is long but legal (240 bytes): the temporary file beside it keeps
/// within the 255-byte limit of a file name.
#[test]
fn export_to_a_long_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 3);
    let name = format!("{}.csv", "x".repeat(240));
    let csv = ok_bytes(d, &["export", "m.fxr"]);
    ok_bytes(d, &["export", "m.fxr", "-o", &name]);
    assert_eq!(fs::read(d.join(&name)).unwrap(), csv);
    assert_eq!(names(d).len(), 3, "{:?}", names(d));
}

/// Ctrl-C (SIGINT) or SIGTERM stops `import` and `export` as an error does: an import
/// commits nothing and removes the file its `--create` made; both exit 128 + the signal.
/// The signal comes while fixrec waits on a pipe we hold, so the moment is exact.
#[test]
fn a_signal_stops_import_and_export_cleanly() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("id,name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("M{i:06},name {i}\n"));
    }
    let mut child = spawn(
        d,
        &[
            "import",
            "new.fxr",
            "/dev/stdin",
            "--create",
            "--schema",
            MEMBER,
        ],
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(csv.as_bytes()).unwrap();
    // SAFETY: a live child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        "error: new.fxr: nothing was imported: interrupted by SIGINT\n"
    );
    assert!(
        !d.join("new.fxr").exists(),
        "the file --create made is removed"
    );

    members(d, 20_000);
    let before = ok_bytes(d, &["info", "m.fxr", "--json"]);
    let mut child = command(d, &["export", "m.fxr", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap(); // it runs, blocked on the full pipe
    // SAFETY: a live child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    assert_eq!(text(&out.stderr), "error: interrupted by SIGTERM\n");
    let whole = ok_bytes(d, &["export", "m.fxr", "--format", "jsonl"]).len();
    assert!(
        16 + rest.len() < whole,
        "it stopped early: {} of {whole} bytes",
        16 + rest.len()
    );
    assert_eq!(ok_bytes(d, &["info", "m.fxr", "--json"]), before);
}

/// `-o shm:NAME` would write a local file of that name: refused, pointing at import.
/// A region name with a control character (which would garble `shm ls`) is refused too.
#[test]
fn export_does_not_take_a_shm_name_and_names_have_no_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 3);
    let err = fails(d, &["export", "m.fxr", "-o", "shm:copy"]);
    assert!(err.contains("shm:copy: export writes files"), "{err}");
    assert_eq!(names(d), ["m.csv", "m.fxr"]);
    let err = fails(d, &["shm", "create", "a\nb", "--size", "8"]);
    assert!(err.contains("control character '\\n'"), "{err}");
    assert!(!Path::new("/dev/shm/a\nb").exists());
}

/// A replaced OUT keeps its permission bits but not setuid, setgid or sticky.
#[test]
fn a_replaced_file_does_not_keep_setuid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    members(d, 3);
    fs::write(d.join("out.csv"), "old").unwrap();
    fs::set_permissions(d.join("out.csv"), fs::Permissions::from_mode(0o6750)).unwrap();
    ok_bytes(d, &["export", "m.fxr", "-o", "out.csv"]);
    let mode = fs::metadata(d.join("out.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o750, "{mode:o}");
}
