//! The examples as a newcomer runs them (issue 14): the README's example (which is
//! `examples/members.rs`) and `jinyong` start from empty files of their own and print the
//! same thing on every run.
//!
//! These run the examples that `cargo test` builds (into `target/debug/examples`); to run
//! this file alone, build them first: `cargo build --examples && cargo test --test
//! examples`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The built example `name`, beside this test's own directory (`target/debug/deps`).
/// It must be newer than its sources and the library's, or it is not what they say.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name);
    let rebuild = "run `cargo build --examples` (cargo test builds them; cargo test --test examples does not)";
    let built = match std::fs::metadata(&path) {
        Ok(m) => m.modified().unwrap(),
        Err(e) => panic!("{}: {e}: {rebuild}", path.display()),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![
        root.join("examples").join(format!("{name}.rs")),
        root.join("examples/common/mod.rs"),
    ];
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p)
            } else {
                sources.push(p)
            }
        }
    }
    for source in sources {
        let changed = std::fs::metadata(&source).unwrap().modified().unwrap();
        assert!(
            changed <= built,
            "{} is older than {}: {rebuild}",
            path.display(),
            source.display()
        );
    }
    path
}

/// Runs an example to its end; returns its stdout, and fails on a non-zero exit.
fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The first ```rust block of the README.
fn readme_example() -> String {
    let readme = include_str!("../README.md");
    let start = readme.find("```rust\n").expect("README has a rust block") + "```rust\n".len();
    let len = readme[start..].find("```\n").unwrap();
    readme[start..start + len].to_owned()
}

#[test]
fn the_readme_example_is_examples_members() {
    let src = include_str!("../examples/members.rs");
    let code = &src[src.find("use fixrec").unwrap()..];
    assert_eq!(
        readme_example(),
        code,
        "the README's first example and examples/members.rs differ: keep them the same"
    );
}

#[test]
fn the_readme_example_prints_the_same_on_every_run_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // A members.fxr that a user already has (the example once appended to it) stays as
    // it is.
    std::fs::write(tmp.path().join("members.fxr"), b"a user's file").unwrap();
    for _ in 0..3 {
        let out = run(Command::new(example("members")).env("TMPDIR", tmp.path()));
        assert_eq!(out, "1000 records; member[2] = Jin Yong\n");
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["members.fxr"], "files left in TMPDIR");
    assert_eq!(
        std::fs::read(tmp.path().join("members.fxr")).unwrap(),
        b"a user's file"
    );
}

#[test]
fn jinyong_run_twice_in_one_folder_prints_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(Command::new(example("jinyong")).arg(dir.path()));
    let second = run(Command::new(example("jinyong")).arg(dir.path()));
    assert!(first.contains("member[2].id   = 22"), "{first}");
    assert!(first.contains("reopened: len 1000,"), "{first}");
    assert_eq!(first, second);
    // Without DIR it uses a temporary folder of its own, and prints the same again.
    assert_eq!(run(&mut Command::new(example("jinyong"))), first);
}
