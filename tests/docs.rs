//! docs/CLI.md is the command line's contract: every ```console block in it is run here,
//! top to bottom, and must print what the document shows.
//!
//! In a block, a line starting with `$ ` is a shell command; the lines after it, up to the
//! next `$ ` line or the end of the block, are what it printed (stdout and stderr
//! together, in order). Every command of every block runs in document order with
//! `bash -c`, in ONE temporary directory shared by all the blocks (later examples use the
//! files earlier ones made) that starts with copies of the files of `data/`, with the
//! built `fixrec` first on PATH. The exit status is not compared (the document does not
//! show it); it is reported on a mismatch.
//!
//! `FIXREC_CLI_MD=path cargo test --test docs` runs another copy of the document (to try
//! an edit, or to see the test fail on a wrong expected line).
//!
//! Unix only: the README commands run through a Unix shell, with process groups and /dev/shm.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One `$ ` command of a ```console block and the output the document gives for it.
#[derive(Debug)]
struct Example {
    /// 1-based line of the block's opening fence.
    block_line: usize,
    /// 1-based line of the `$ ` command.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// Every `$ ` command of every ```console block, in document order. Other fenced blocks
/// (```sh, ```text, ...) are not examples and are passed over whole.
fn extract(markdown: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    // None: outside any fence; Some(Some(line)): in a console block opened at `line`;
    // Some(None): in another fenced block.
    let mut fence: Option<Option<usize>> = None;
    for (i, text) in markdown.lines().enumerate() {
        let n = i + 1;
        match fence {
            None => {
                if let Some(info) = text.strip_prefix("```") {
                    fence = Some((info.trim() == "console").then_some(n));
                }
            }
            Some(_) if text.trim_end() == "```" => fence = None,
            Some(None) => {}
            Some(Some(block_line)) => {
                if let Some(command) = text.strip_prefix("$ ") {
                    examples.push(Example {
                        block_line,
                        line: n,
                        command: command.to_owned(),
                        expected: Vec::new(),
                    });
                } else {
                    match examples.last_mut() {
                        Some(e) if e.block_line == block_line => e.expected.push(text.to_owned()),
                        _ => panic!(
                            "line {n}: output before the first `$ ` command of the console block at line {block_line}"
                        ),
                    }
                }
            }
        }
    }
    assert!(fence.is_none(), "a fenced block is never closed");
    examples
}

/// Why a command is not run, or None to run it. Every rule is narrow and says why; a
/// skipped command is listed on stderr. (Today's docs/CLI.md has no such command: the
/// rules guard against one being added. A command that hangs for another reason is
/// killed after `TIMEOUT` and fails the test.)
fn skip_reason(command: &str) -> Option<&'static str> {
    // `fixrec bench` runs SQLite, LMDB and fixrec against each other for minutes; its
    // help (`fixrec bench --help`) is quick and still runs.
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.starts_with(&["fixrec", "bench"]) && !words.contains(&"--help") {
        return Some("fixrec bench runs for minutes");
    }
    // The shared-memory examples `sender` and `smtest_writer` keep their region until
    // Enter (or a timeout of tens of seconds): interactive.
    if words.starts_with(&["cargo", "run", "--example"])
        && words
            .get(3)
            .is_some_and(|e| ["sender", "smtest_writer"].contains(e))
    {
        return Some("the example waits for Enter");
    }
    None
}

/// A command still running after this long is killed and reported as a mismatch, whatever
/// it printed: a guard against a hang, not a timing (the whole document runs in well
/// under a second, and the guard holds on a machine loaded many times over).
const TIMEOUT: Duration = Duration::from_secs(120);

/// The names of the shared-memory regions the examples use: `shm:NAME` arguments and the
/// NAME of `fixrec shm create|write|read|rm NAME`. Regions are global on the machine.
fn shm_names(examples: &[Example]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for e in examples {
        let words: Vec<&str> = e.command.split_whitespace().collect();
        for w in &words {
            if let Some(name) = w.strip_prefix("shm:") {
                names.insert(name.trim_matches('\'').to_owned());
            }
        }
        for window in words.windows(4) {
            if window[..2] == ["fixrec", "shm"]
                && ["create", "write", "read", "rm"].contains(&window[2])
            {
                names.insert(window[3].trim_matches('\'').to_owned());
            }
        }
    }
    names
}

/// Removes the examples' regions when made (one left by an earlier, interrupted run would
/// make `create` fail) and when dropped, so a failed or panicking run cleans up too.
///
/// The names are fixed by the document (`ticks`, `JJBSMTEST`, `MyFileMappingObject`), so
/// two runs of this test at once (two `cargo test` in one machine) would remove and
/// recreate each other's regions: the guard also holds an exclusive lock on a file in the
/// temporary directory, so such runs take turns. (The other tests name their regions
/// with their process id and never collide with these; `cargo run --example sender` or
/// `smtest_writer` run by hand with their default names would.)
struct ShmGuard {
    names: BTreeSet<String>,
    _lock: Option<std::fs::File>,
}

impl ShmGuard {
    fn new(names: BTreeSet<String>) -> ShmGuard {
        let lock = (!names.is_empty()).then(|| {
            let path = std::env::temp_dir().join("fixrec-docs-cli-md-shm.lock");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .or_else(|_| std::fs::File::open(&path)) // made by another user
                .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
            file.lock()
                .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
            file
        });
        let guard = ShmGuard { names, _lock: lock };
        if let Err(e) = guard.remove_all() {
            panic!("{e}");
        }
        guard
    }

    fn remove_all(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        for name in &self.names {
            match fixrec::shm::Region::remove(name) {
                Ok(()) => {}
                Err(fixrec::Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errors.push(format!("cannot remove shm:{name}: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

impl Drop for ShmGuard {
    fn drop(&mut self) {
        // Not a panic: this may run while a failed test unwinds. The lock is released
        // after (fields drop after `drop`).
        if let Err(e) = self.remove_all() {
            eprintln!("{e}");
        }
    }
}

/// What a command printed, stdout and stderr merged in the order written (both are the
/// one pipe), and how it ended.
struct Ran {
    output: String,
    status: String,
    timed_out: bool,
}

fn run_command(command: &str, dir: &Path, path: &str) -> Ran {
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let mut child = {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(command)
            .current_dir(dir)
            .env("PATH", path)
            // Deterministic tools (sort order, messages) whatever the caller's locale.
            .env("LC_ALL", "C")
            // clap colours its messages when this is set, even into a pipe.
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::null())
            .stdout(writer.try_clone().expect("clone pipe"))
            .stderr(writer)
            // Its own process group, so a timeout kills the whole pipeline.
            .process_group(0);
        cmd.spawn().expect("run bash")
        // `cmd`, which holds the pipe's write end, is dropped here: EOF comes when the
        // command's processes have all exited.
    };
    let pid = child.id();
    let read = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            break status.to_string();
        }
        if started.elapsed() > TIMEOUT {
            // SAFETY: kill(2) on the process group this test made for the command.
            unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            timed_out = true;
            break format!("killed after {TIMEOUT:?}: add a skip rule, or make it quicker");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let bytes = read.join().expect("read output");
    Ran {
        output: String::from_utf8_lossy(&bytes).into_owned(),
        status,
        timed_out,
    }
}

/// `imported N records (B bytes) into FILE in 0.004 s (813046 records/s); len L`: the
/// seconds and the rate are timings, different on every run. Only this pattern, in a
/// line that starts `imported `, is masked; the counts, bytes, file and len still count.
fn mask_import_timing(line: &str) -> String {
    if !line.starts_with("imported ") {
        return line.to_owned();
    }
    for (at, _) in line.match_indices(" in ") {
        let rest = &line[at + 4..];
        let Some((secs, rest)) = rest.split_once(" s (") else {
            continue;
        };
        let Some((rate, rest)) = rest.split_once(" records/s)") else {
            continue;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        let is_secs = secs
            .split_once('.')
            .is_some_and(|(a, b)| digits(a) && digits(b));
        let is_rate = digits(rate);
        if is_secs && is_rate {
            return format!("{} in <secs> s (<rate> records/s){rest}", &line[..at]);
        }
    }
    line.to_owned()
}

/// `fixrec shm ls` lists every region on the machine: `NAME SIZE OWNER MODE`.
/// - Rows for regions the examples do not use (other programs', and other tests' running
///   at the same time, which use names of their own) are dropped from the output: they
///   depend on what else runs on the machine. Rows for the examples' regions are kept, so
///   a region an example should have removed still shows.
/// - OWNER is the uid that ran the examples (the document's run was uid 0); it is masked,
///   in its 8-wide column, in the document and in the output alike. `uid`, given for the
///   output, is this process's uid (the owner of the directory it made): an output OWNER
///   that is not it is left as it is, to show as a mismatch.
fn mask_shm_ls(lines: &[String], names: &BTreeSet<String>, uid: Option<u32>) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .filter(|(i, line)| {
            *i == 0
                || line
                    .split_whitespace()
                    .next()
                    .is_some_and(|n| names.contains(n))
        })
        .map(|(i, line)| {
            if i == 0 {
                return line.clone();
            }
            // The third token, OWNER, right-aligned in 8 columns before ` MODE`.
            let spans = token_spans(line);
            let Some(&(start, end)) = spans.get(2).filter(|_| spans.len() == 4) else {
                return line.clone();
            };
            if uid.is_some_and(|uid| line[start..end] != uid.to_string()) {
                return line.clone(); // not ours: left as is, so it shows as a mismatch
            }
            let field = end.saturating_sub(8).min(start);
            format!("{}{:>8}{}", &line[..field], "<uid>", &line[end..])
        })
        .collect()
}

/// Byte ranges of the whitespace-separated tokens of `line`.
fn token_spans(line: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        match (start, c.is_whitespace()) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    spans
}

/// What varies from run to run, masked in the document's lines (`uid` None) and the
/// output (`uid` the one expected there) alike.
fn normalise(
    command: &str,
    lines: &[String],
    names: &BTreeSet<String>,
    uid: Option<u32>,
) -> Vec<String> {
    let lines: Vec<String> = lines.iter().map(|l| mask_import_timing(l)).collect();
    if command.trim() == "fixrec shm ls" {
        mask_shm_ls(&lines, names, uid)
    } else {
        lines
    }
}

struct Outcome {
    ran: usize,
    skipped: Vec<String>,
    mismatches: Vec<String>,
}

/// Runs every example of `markdown` (named `doc` in messages) in one fresh directory
/// holding copies of the files of `data`.
fn run_doc(markdown: &str, doc: &str, data: &Path) -> Outcome {
    let examples = extract(markdown);
    let names = shm_names(&examples);
    let _shm = ShmGuard::new(names.clone());

    let dir = tempfile::tempdir().expect("temporary directory");
    for entry in std::fs::read_dir(data).expect("read data/") {
        let entry = entry.expect("read data/");
        if entry.file_type().expect("stat").is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let uid = Some(std::fs::metadata(dir.path()).expect("stat").uid());
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_fixrec"))
        .parent()
        .expect("the binary's directory");
    let path = match std::env::var_os("PATH") {
        Some(p) => std::env::join_paths(
            std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&p)),
        )
        .expect("PATH"),
        None => bin_dir.as_os_str().to_owned(),
    };
    let path = path.to_str().expect("PATH is UTF-8").to_owned();

    let mut outcome = Outcome {
        ran: 0,
        skipped: Vec::new(),
        mismatches: Vec::new(),
    };
    for e in &examples {
        if let Some(why) = skip_reason(&e.command) {
            outcome
                .skipped
                .push(format!("{doc}:{}: $ {} ({why})", e.line, e.command));
            continue;
        }
        let ran = run_command(&e.command, dir.path(), &path);
        outcome.ran += 1;
        let actual: Vec<String> = ran.output.lines().map(str::to_owned).collect();
        let want = normalise(&e.command, &e.expected, &names, None);
        let got = normalise(&e.command, &actual, &names, uid);
        if want != got || ran.timed_out {
            outcome
                .mismatches
                .push(mismatch(doc, e, &actual, &want, &got, &ran.status));
        }
    }
    outcome
}

fn mismatch(
    doc: &str,
    e: &Example,
    actual: &[String],
    want: &[String],
    got: &[String],
    status: &str,
) -> String {
    let mut m = format!(
        "{doc}: the console block at line {}, command at line {}:\n$ {}\n--- expected (the document):\n",
        e.block_line, e.line, e.command
    );
    for l in &e.expected {
        let _ = writeln!(m, "{l}");
    }
    let _ = writeln!(m, "--- actual ({status}):");
    for l in actual {
        let _ = writeln!(m, "{l}");
    }
    if let Some(first) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i)) {
        let _ = write!(
            m,
            "--- first difference, output line {} after normalising: expected {:?}, got {:?}",
            first + 1,
            want.get(first).map_or("(no line)", String::as_str),
            got.get(first).map_or("(no line)", String::as_str),
        );
    }
    m
}

#[test]
fn cli_md_examples_print_what_the_document_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::env::var_os("FIXREC_CLI_MD")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("docs/CLI.md"));
    let markdown = std::fs::read_to_string(&doc).expect("read docs/CLI.md");
    let name = doc.strip_prefix(root).unwrap_or(&doc).display().to_string();
    let started = Instant::now();
    let outcome = run_doc(&markdown, &name, &root.join("data"));
    eprintln!(
        "{name}: ran {} commands in {:.2} s; skipped {}",
        outcome.ran,
        started.elapsed().as_secs_f64(),
        outcome.skipped.len()
    );
    for s in &outcome.skipped {
        eprintln!("  skipped {s}");
    }
    assert!(outcome.ran > 0, "{name} has no console examples");
    assert!(
        outcome.mismatches.is_empty(),
        "{} of {} examples differ from {name}:\n\n{}",
        outcome.mismatches.len(),
        outcome.ran,
        outcome.mismatches.join("\n\n")
    );
}

/// The runner itself: it finds the examples (and only those of console blocks), merges
/// stdout and stderr in order, masks timings, and reports a wrong expected line with the
/// block's line, the command, the expected and the actual output.
#[test]
fn runner_reports_a_wrong_expected_line() {
    let markdown = "\
# Synthetic

```sh
$ false-not-run
```

```console
$ echo one; echo two >&2; echo three
one
two
three
$ printf 'imported 3 records (1536 bytes) into t.fxr in 9.999 s (1 records/s); len 3\\n'
imported 3 records (1536 bytes) into t.fxr in 0.001 s (4246 records/s); len 3
$ fixrec bench --records 1000000000
```

```console
$ echo actual output
expected output
$ ls members.csv
members.csv
```
";
    let examples = extract(markdown);
    let lines: Vec<usize> = examples.iter().map(|e| e.line).collect();
    assert_eq!(lines, [8, 12, 14, 18, 20]);

    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let outcome = run_doc(markdown, "synthetic.md", &data);
    assert_eq!(outcome.ran, 4);
    assert_eq!(outcome.skipped.len(), 1, "{:?}", outcome.skipped);
    assert!(outcome.skipped[0].contains("fixrec bench"));
    assert_eq!(outcome.mismatches.len(), 1, "{:#?}", outcome.mismatches);
    let m = &outcome.mismatches[0];
    for part in [
        "synthetic.md: the console block at line 17, command at line 18:",
        "$ echo actual output\n",
        "--- expected (the document):\nexpected output\n",
        "--- actual (exit status: 0):\nactual output\n",
        "expected \"expected output\", got \"actual output\"",
    ] {
        assert!(m.contains(part), "{part:?} missing from:\n{m}");
    }
}

#[test]
fn shm_ls_keeps_the_examples_regions_and_masks_the_owner() {
    let names: BTreeSet<String> = ["MyFileMappingObject".to_owned()].into();
    let header = format!("{:<40} {:>12} {:>8} {:>5}", "NAME", "SIZE", "OWNER", "MODE");
    let row = |name: &str, uid: u32| format!("{name:<40} {:>12} {uid:>8} {:>5o}", 256, 0o600);
    let doc = [header.clone(), row("MyFileMappingObject", 0)];
    let out = [
        header.clone(),
        row("AAA-other-program", 1000),
        row("MyFileMappingObject", 1000),
        row("fixrec-test-x-1-0", 1000),
    ];
    let masked = normalise("fixrec shm ls", &out, &names, Some(1000));
    assert_eq!(masked, normalise("fixrec shm ls", &doc, &names, None));
    assert_eq!(
        masked[1],
        row("MyFileMappingObject", 0).replace("       0", "   <uid>")
    );
    // Another owner is not masked.
    let theirs = [header, row("MyFileMappingObject", 7)];
    assert_ne!(
        normalise("fixrec shm ls", &theirs, &names, Some(1000)),
        masked
    );
}
