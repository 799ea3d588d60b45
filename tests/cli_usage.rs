//! What the command line accepts, run as a user runs it: the built binary on real files in
//! a temporary directory. A `field=value` value is any bytes, so a bad one is fixrec's
//! error naming the field and the value (exit 1), not clap's; a command line that is
//! wrong (a bad `--mode`, `--commit-k 0`, `set` without `field=value`) is a usage error
//! (exit 2) before anything is done.
//!
//! Unix only: arguments that are not UTF-8 (Unix bytes) and region modes.
#![cfg(unix)]

mod common;

use common::cli::{fails_with, ok};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const MEMBER: &str = "id:str[8],name:str[8]";

/// A command-line argument of any bytes, UTF-8 or not.
fn arg(bytes: &[u8]) -> OsString {
    OsStr::from_bytes(bytes).to_owned()
}

/// A store `m.fxr` in a new temporary directory holding one record.
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["create", "m.fxr", "--schema", MEMBER]);
    assert_eq!(
        ok(dir.path(), &["push", "m.fxr", "id=1", "name=Jin"]),
        "0\n"
    );
    dir
}

fn record0(dir: &Path) -> String {
    ok(dir, &["get", "m.fxr", "0"])
}

fn len(dir: &Path) -> String {
    let info = ok(dir, &["info", "m.fxr", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    v["len"].to_string()
}

#[test]
fn set_with_a_value_that_is_not_utf8_names_the_field_and_the_value() {
    let dir = store();
    let before = record0(dir.path());
    let args = [
        arg(b"set"),
        arg(b"m.fxr"),
        arg(b"0"),
        arg(b"id=2"),
        arg(b"name=K\xffim"),
    ];
    let err = fails_with(dir.path(), 1, &args);
    assert_eq!(
        err,
        "error: m.fxr: record 0: field `name`: value \"K\\xffim\": invalid UTF-8 at byte 1\n"
    );
    // Nothing was written, not even the good `id=2` given before it.
    assert_eq!(record0(dir.path()), before);
    assert_eq!(before, "{\"id\":\"1\",\"name\":\"Jin\"}\n");
}

#[test]
fn push_with_a_value_that_is_not_utf8_names_the_field_and_the_value() {
    let dir = store();
    let args = [arg(b"push"), arg(b"m.fxr"), arg(b"id=\xfe\xff")];
    let err = fails_with(dir.path(), 1, &args);
    assert_eq!(
        err,
        "error: m.fxr: new record: field `id`: value \"\\xfe\\xff\": invalid UTF-8 at byte 0\n"
    );
    assert_eq!(len(dir.path()), "1");
}

#[test]
fn a_field_given_twice_shows_both_values_with_their_bytes() {
    let dir = store();
    let args = [
        arg(b"set"),
        arg(b"m.fxr"),
        arg(b"0"),
        arg(b"name=a"),
        arg(b"name=\xfe"),
    ];
    let err = fails_with(dir.path(), 1, &args);
    assert_eq!(
        err,
        "error: m.fxr: record 0: field `name` is given twice (name=\"a\" and name=\"\\xfe\"); \
         give each field once\n"
    );
}

#[test]
fn values_are_the_bytes_after_the_first_equals_sign() {
    let dir = store();
    assert_eq!(
        ok(dir.path(), &["set", "m.fxr", "0", "name=a=b"]),
        "{\"id\":\"1\",\"name\":\"a=b\"}\n"
    );
    assert_eq!(
        ok(dir.path(), &["set", "m.fxr", "0", "name=김용", "id="]),
        "{\"id\":\"\",\"name\":\"김용\"}\n"
    );
    assert_eq!(ok(dir.path(), &["push", "m.fxr", "name=="]), "1\n");
    assert_eq!(
        ok(dir.path(), &["get", "m.fxr", "1"]),
        "{\"id\":\"\",\"name\":\"=\"}\n"
    );
}

#[test]
fn an_argument_that_is_not_field_equals_value_is_a_usage_error() {
    let dir = store();
    let before = record0(dir.path());
    for (bad, says) in [
        (arg(b"name"), "expected field=value, found \"name\""),
        (arg(b"=x"), "expected field=value, found \"=x\""),
        (
            arg(b"\xffname"),
            "expected field=value, found \"\\xffname\"",
        ),
        (
            arg(b"na\xffme=x"),
            "the field name \"na\\xffme\" is not valid UTF-8",
        ),
    ] {
        for command in [
            vec![arg(b"set"), arg(b"m.fxr"), arg(b"0"), bad.clone()],
            vec![arg(b"push"), arg(b"m.fxr"), bad.clone()],
        ] {
            let err = fails_with(dir.path(), 2, &command);
            assert!(err.contains(says), "{command:?}: {err}");
            assert!(!err.contains("invalid UTF-8 was detected"), "{err}");
        }
    }
    assert_eq!(record0(dir.path()), before);
    assert_eq!(len(dir.path()), "1");
}

/// A region name of this test run, so that parallel runs do not meet.
fn region(tag: &str) -> String {
    format!("fixrec_cli_usage_{tag}_{}", std::process::id())
}

#[test]
fn every_bad_shm_mode_is_a_usage_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let name = region("mode");
    for mode in [
        "7777",
        "1777",
        "1000",
        "0o1000",
        "999",
        "8",
        "0400",
        "0500",
        "0066",
        "0",
        "",
        "0o",
        "-600",
        "+600",
        "0x1ff",
        "rw",
        "77777777777777777777",
    ] {
        let err = fails_with(
            dir.path(),
            2,
            &[
                "shm",
                "create",
                &name,
                "--size",
                "16",
                &format!("--mode={mode}"),
            ],
        );
        assert!(err.contains("--mode"), "--mode {mode:?}: {err}");
        assert!(err.contains("from 600 to 777"), "--mode {mode:?}: {err}");
        // No region was made.
        let err = fails_with(dir.path(), 1, &["shm", "rm", &name]);
        assert!(err.contains(&name), "{err}");
    }
}

#[test]
fn a_good_shm_mode_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, shown) in [("0640", "640"), ("0o700", "700"), ("777", "777")] {
        let name = region(&format!("good{shown}"));
        let out = ok(
            dir.path(),
            &["shm", "create", &name, "--size", "16", "--mode", mode],
        );
        ok(dir.path(), &["shm", "rm", &name]);
        assert_eq!(
            out,
            format!("created shm:{name} (16 bytes, mode {shown})\n"),
            "--mode {mode}"
        );
    }
}

#[test]
fn bench_commit_k_out_of_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for k in ["0", "1,0", "100001", "-1", "x"] {
        // Should the check fail, the bench would run: keep it tiny and in the tempdir.
        let err = fails_with(
            dir.path(),
            2,
            &[
                "bench",
                "--records",
                "1",
                "--repeat",
                "1",
                "--warmup",
                "0",
                "--workloads",
                "commit",
                "--methods",
                "fixrec",
                "--dir",
                ".",
                &format!("--commit-k={k}"),
            ],
        );
        assert!(err.contains("--commit-k"), "--commit-k {k}: {err}");
    }
}
