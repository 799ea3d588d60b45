//! Running the built `fixrec` binary, as a user runs it, for the command-line tests.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// The command `fixrec ARGS` in `dir`, with SIGINT, SIGTERM and SIGHUP at their default
/// disposition whatever this process inherited: a test run as a background job of a
/// script starts with SIGINT ignored, which fixrec (by design) keeps ignoring.
pub fn command<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fixrec"));
    command.args(args).current_dir(dir);
    #[cfg(unix)]
    default_signals(&mut command);
    command
}

#[cfg(unix)]
fn default_signals(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, as the code between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

/// Runs fixrec with `args` in `dir`.
pub fn fixrec<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Output {
    command(dir, args).output().expect("run fixrec")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn shown<S: AsRef<OsStr>>(args: &[S]) -> Vec<&OsStr> {
    args.iter().map(AsRef::as_ref).collect()
}

/// Runs fixrec, expects success, returns stdout.
pub fn ok_bytes<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Vec<u8> {
    let out = fixrec(dir, args);
    assert!(
        out.status.success(),
        "fixrec {:?} failed ({}):\n{}",
        shown(args),
        out.status,
        text(&out.stderr)
    );
    out.stdout
}

/// Runs fixrec, expects success, returns stdout as text.
pub fn ok<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> String {
    text(&ok_bytes(dir, args))
}

/// Runs fixrec, expects exit `code`, nothing on stdout and an `error: ` message without a
/// panic on stderr; returns stderr.
pub fn fails_with<S: AsRef<OsStr>>(dir: &Path, code: i32, args: &[S]) -> String {
    let out = fixrec(dir, args);
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    failed(&out, code, args)
}

/// Runs fixrec, expects it to fail (exit 1) with an `error: ` message without a panic;
/// returns stderr. (A command that streams to stdout, like `export`, may have printed
/// records before the one that failed.)
pub fn fails<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> String {
    failed(&fixrec(dir, args), 1, args)
}

fn failed<S: AsRef<OsStr>>(out: &Output, code: i32, args: &[S]) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "fixrec {:?}: expected exit {code}, got {}\nstdout: {}\nstderr: {err}",
        shown(args),
        out.status,
        text(&out.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Starts fixrec with `args` in `dir`, its stdin, stdout and stderr piped to us.
pub fn spawn<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> std::process::Child {
    command(dir, args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run fixrec")
}

/// The names in `dir`, sorted (a temporary file left behind shows up here).
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Makes a FIFO at `path`.
#[cfg(unix)]
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "{path:?}");
}
