//! The examples as a newcomer runs them (issue 14): the README's example (which is
//! `examples/members.rs`) and `jinyong` start from empty files of their own and print the
//! same thing on every run; the shared-memory writers (`sender`, `smtest_writer`) remove
//! their region when a signal ends them, and as a background job of an interactive shell
//! they keep running instead of being stopped by a read of the terminal (SIGTTIN).
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
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
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
        let out = run(Command::new(example("members"))
            .env("TMPDIR", tmp.path())
            .env("TMP", tmp.path()));
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

/// The writers' signal tests. Unix only: they send Unix signals (and use a shell's job
/// control); on Windows a region goes with its last handle, so a writer ended by Ctrl-C
/// leaves nothing behind in any case.
#[cfg(unix)]
mod signals {
    use super::example;
    use fixrec::shm::Region;
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Child, ChildStdout, Command, Stdio};

    /// A running writer example, killed and its region removed if the test fails.
    struct Writer {
        child: Child,
        region: String,
    }

    impl Drop for Writer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = Region::remove(&self.region);
        }
    }

    fn region_exists(name: &str) -> bool {
        match Region::open_read_only(name) {
            Ok(_) => true,
            Err(fixrec::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                false
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }

    /// Reads lines until one starts with `prefix`; returns it (and the lines before it).
    fn read_until(out: &mut BufReader<impl Read>, prefix: &str) -> (String, String) {
        let mut before = String::new();
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).unwrap();
            assert!(n > 0, "the output ended before a {prefix:?} line: {before}");
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            if line.starts_with(prefix) {
                return (line, before);
            }
            before.push_str(&line);
            before.push('\n');
        }
    }

    #[test]
    fn a_signal_ends_a_writer_example_and_its_region_is_removed() {
        for (name, signal, signal_name) in [
            ("sender", libc::SIGTERM, "SIGTERM"),
            ("smtest_writer", libc::SIGINT, "SIGINT"),
            ("sender", libc::SIGHUP, "SIGHUP"),
        ] {
            let region = format!("fixrec-test-{}-{name}-{signal_name}", std::process::id());
            // No terminal: stdin is /dev/null, stdout a pipe.
            let child = Command::new(example(name))
                .args([&region, "--timeout", "300"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut w = Writer { child, region };
            let mut out: BufReader<ChildStdout> = BufReader::new(w.child.stdout.take().unwrap());
            // The region is made, then "ready:" is printed.
            let (ready, _) = read_until(&mut out, "ready:");
            assert!(ready.contains("not reading the terminal"), "{ready}");
            assert!(
                region_exists(&w.region),
                "{name}: no region after {ready:?}"
            );

            // SAFETY: a signal to our own child, which has not been waited for.
            assert_eq!(unsafe { libc::kill(w.child.id() as i32, signal) }, 0);
            let mut rest = String::new();
            out.read_to_string(&mut rest).unwrap();
            let status = w.child.wait().unwrap();
            assert!(status.success(), "{name} after {signal_name}: {status}");
            assert!(
                rest.contains(&format!("{signal_name}: removing")),
                "{name}: {rest:?}"
            );
            assert!(
                !region_exists(&w.region),
                "{name}: region {} left after {signal_name}",
                w.region
            );
        }
    }

    /// `sender &` in an interactive shell: a shell with job control (`set -m`) on a
    /// terminal, here the pseudo-terminal of `script(1)`, starts the sender as a background
    /// job. It must not read the terminal (a read would stop it with SIGTTIN, and it would
    /// never reach its timeout), and `kill` then ends it and removes its region.
    #[test]
    fn a_writer_example_runs_as_a_background_job_of_an_interactive_shell() {
        let region = format!("fixrec-test-{}-bg", std::process::id());
        let job = format!(
            "set -m; '{}' '{region}' --timeout 300 & echo \"pid=$!\"; wait $!; echo \"exit=$?\"",
            example("sender").display()
        );
        let shell = format!(
            "bash --norc --noprofile -c '{}'",
            job.replace('\'', r"'\''")
        );
        let child = Command::new("script")
            .args(["-q", "-e", "-c", &shell, "/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run script(1), from util-linux");
        let mut w = Writer { child, region };
        let mut out = BufReader::new(w.child.stdout.take().unwrap());
        let (pid, _) = read_until(&mut out, "pid=");
        let pid: i32 = pid["pid=".len()..].parse().unwrap();
        let (ready, _) = read_until(&mut out, "ready:");
        assert!(
            ready.contains("not reading the terminal"),
            "a background job must not read the terminal: {ready}"
        );
        assert!(region_exists(&w.region));

        // SAFETY: a signal to the job, which its shell has not waited for yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let (exit, before) = read_until(&mut out, "exit=");
        assert_eq!(exit, "exit=0", "{before}");
        assert!(before.contains("SIGTERM: removing"), "{before}");
        assert!(!region_exists(&w.region), "region {} left", w.region);
        assert!(w.child.wait().unwrap().success());
    }
}
