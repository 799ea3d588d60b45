//! `record!` on a struct with padding (issue 14): the compile error says how many bytes
//! and where, and the field it suggests makes the struct compile. It used to say "add
//! explicit fields such as `_pad: [u8; 3]`" whatever the gap was.
//!
//! Each case is a small crate compiled by `rustc` against the fixrec library that cargo
//! built for this test (`--emit=metadata`: the check runs at compile time).
//!
//! Not on Windows: CI's Windows leg runs under Wine, which has no Windows `rustc` to
//! compile the cases with; the check is in the macro, the same on every target.
#![cfg(not(windows))]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest `libfixrec-*.rlib` beside this test (`target/debug/deps`), and that folder.
fn library() -> (PathBuf, PathBuf) {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let rlib = std::fs::read_dir(&deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("libfixrec-") && n.ends_with(".rlib")
            })
        })
        .max_by_key(|p| p.metadata().unwrap().modified().unwrap())
        .expect("cargo built libfixrec-*.rlib beside this test");
    (rlib, deps)
}

/// Compiles `source` against fixrec; returns whether it compiled, and rustc's stderr.
fn compile(dir: &Path, source: &str) -> (bool, String) {
    let (rlib, deps) = library();
    let file = dir.join("case.rs");
    std::fs::write(&file, source).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit=metadata",
        ])
        .arg("-o")
        .arg(dir.join("case.rmeta"))
        .arg("--extern")
        .arg(format!("fixrec={}", rlib.display()))
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg(&file)
        .output()
        .expect("run rustc");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn record(fields: &str) -> String {
    format!("fixrec::record! {{\n    #[repr(C)]\n    pub struct Reading {{ {fields} }}\n}}\n")
}

#[test]
fn the_padding_error_says_how_many_bytes_and_where_and_its_fix_compiles() {
    let dir = tempfile::tempdir().unwrap();
    for (fields, message, fixed) in [
        (
            "pub ts: u64, pub sensor: u32",
            "record `Reading` has padding, which a record may not have: 4 bytes at the end, \
             after `sensor`; add `_pad: [u8; 4]` after `sensor`",
            "pub ts: u64, pub sensor: u32, pub _pad: [u8; 4]",
        ),
        (
            "pub flag: u8, pub ts: u64",
            "7 bytes between `flag` and `ts`; add `_pad: [u8; 7]` after `flag`",
            "pub flag: u8, pub _pad: [u8; 7], pub ts: u64",
        ),
    ] {
        let (ok, stderr) = compile(dir.path(), &record(fields));
        assert!(!ok, "{{ {fields} }} compiled");
        assert!(
            stderr.contains(message),
            "{{ {fields} }}: the error does not say {message:?}:\n{stderr}"
        );
        let (ok, stderr) = compile(dir.path(), &record(fixed));
        assert!(ok, "{{ {fixed} }} does not compile:\n{stderr}");
    }
}
