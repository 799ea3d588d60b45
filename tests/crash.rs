//! Process crashes: a child process works on a store (push, in-place update, truncate,
//! extend, reserve, flush) and is killed with SIGKILL at a random moment; the store must
//! then open, pass `verify`, have a committed len no older than the last acknowledged
//! flush, and hold exactly the records the child wrote.
//!
//! The child is this test binary run again (`current_exe()` with `--exact crash_child`),
//! told its seed and paths by the `FIXREC_CRASH_CHILD` environment variable; without it
//! the `crash_child` test returns at once. Before each operation the child appends a line
//! describing it to a log (a `write(2)`: the page cache outlives the process), and after
//! each `flush` returns `Ok` it appends `K`. The parent replays the log into a model.
//!
//! A process crash keeps the page cache, but appends are staged in the process and
//! reach the page cache in batches, so record `i` must hold the value it had at the last
//! acknowledged flush or one written after it; never an older one, never garbage (the
//! in-flight operation, if any, may be torn: each byte old or new). The len must be the
//! last acknowledged one, or the one of a flush that started but was not acknowledged.
//!
//! CI runs 200 trials. Soak: `FIXREC_CRASH_TRIALS=10000 cargo test --release --test crash
//! -- --nocapture` (and `FIXREC_CRASH_SEED=<n>` to replay one base seed).

mod common;
use common::{Rec, Rng, checksum, mix, rec};
use fixrec::{Error, Growth, Store, StoreOptions, record};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "FIXREC_CRASH_CHILD";

fn trials() -> u64 {
    std::env::var("FIXREC_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

fn base_seed() -> u64 {
    std::env::var("FIXREC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c4a5)
}

// ---------------------------------------------------------------------------------------
// The child.

/// Appends one line to the log with a single `write(2)`.
fn log_line(log: &mut File, line: &str) {
    log.write_all(format!("{line}\n").as_bytes())
        .expect("write the crash log");
}

/// Not a test of its own: the body of the child process the parent kills.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.splitn(4, '|').collect();
    let seed: u64 = parts[0].parse().unwrap();
    let create = parts[1] == "create";
    let (path, log_path) = (Path::new(parts[2]), Path::new(parts[3]));
    let mut log = OpenOptions::new()
        .append(true)
        .create(true)
        .open(log_path)
        .unwrap();
    let mut rng = Rng(seed);
    let growth = if rng.below(2) == 0 {
        Growth::Double
    } else {
        Growth::Step(1 + rng.below(64))
    };
    let options = StoreOptions::new()
        .growth(growth)
        .capacity(1 + rng.below(32));
    let mut store: Store<Rec> = if create {
        log_line(&mut log, "ready");
        let s = options.create(path).expect("create");
        log_line(&mut log, "created");
        s
    } else {
        let s = options.open(path).expect("open");
        log_line(&mut log, "ready");
        s
    };
    let mut version = 1u64;
    for _ in 0..20_000 {
        let len = store.len() as u64;
        let roll = rng.below(100);
        if roll < 30 {
            log_line(&mut log, &format!("P {len} {version}"));
            store.push(rec(len, version)).expect("push");
            version += 1;
        } else if roll < 55 && len > 0 {
            let i = rng.below(len);
            log_line(&mut log, &format!("U {i} {version}"));
            store[i as usize] = rec(i, version);
            version += 1;
        } else if roll < 60 {
            let n = 1 + rng.below(40);
            let recs: Vec<Rec> = (0..n).map(|k| rec(len + k, version + k)).collect();
            log_line(&mut log, &format!("E {len} {n} {version}"));
            store.extend_from_slice(&recs).expect("extend");
            version += n;
        } else if roll < 64 || len > 400 {
            let n = rng.below(len + 1);
            log_line(&mut log, &format!("T {n}"));
            store.truncate(n as usize);
        } else if roll < 67 {
            let n = rng.below(300);
            log_line(&mut log, &format!("R {n}"));
            store.reserve(n as usize).expect("reserve");
        } else if roll < 85 {
            log_line(&mut log, &format!("F {len}"));
            store.flush().expect("flush");
            log_line(&mut log, "K");
        } else if roll < 88 {
            // Commits (a flush), then cuts the file to len.
            log_line(&mut log, &format!("S {len}"));
            store.shrink_to_fit().expect("shrink_to_fit");
            log_line(&mut log, "K");
        }
    }
    log_line(&mut log, "done");
    // Leave without dropping (no commit by Drop): as if the process died here.
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------
// The parent.

/// What the log says the file must hold.
struct Expected {
    /// Whether the store was created (create mode: a crash inside create may leave a
    /// file that does not open).
    created: bool,
    /// Lens the recovered store may have: the last acknowledged flush's, and that of a
    /// flush that started but was not acknowledged.
    lens: Vec<u64>,
    /// The versions each index may hold: the one it had at the last acknowledged flush
    /// and every one written after it. In-place updates go straight into the map (the
    /// page cache, which survives a process crash), but appends are staged in the
    /// process and reach the page cache in batches, so an unflushed append may be lost.
    at: Vec<Vec<u64>>,
    /// The in-flight write, if the log ends with one: (index, version before, version
    /// after); the record may be torn between them.
    torn: Vec<(u64, Option<u64>, u64)>,
}

fn replay(log: &str, create: bool) -> Expected {
    // Only complete lines: a line cut by the kill was never acted on.
    let complete = match log.rfind('\n') {
        Some(end) => &log[..=end],
        None => "",
    };
    let lines: Vec<&str> = complete.lines().collect();
    let mut at: Vec<Vec<u64>> = Vec::new();
    let mut len = 0u64;
    let mut acked = if create { None } else { Some(0) };
    let mut pending = None;
    let mut created = !create;
    let mut torn = Vec::new();
    // Appended records still staged in the process (not yet in the page cache): an
    // in-place update first copies them all into the map, so a kill during that copy can
    // tear any of them, and not only the record the update is for.
    let mut staged: Vec<u64> = Vec::new();
    let set = |at: &mut Vec<Vec<u64>>, i: u64, v: u64| -> Option<u64> {
        if at.len() <= i as usize {
            at.resize(i as usize + 1, Vec::new());
        }
        let old = at[i as usize].last().copied();
        at[i as usize].push(v);
        old
    };
    for (n, line) in lines.iter().enumerate() {
        let last = n + 1 == lines.len();
        let w: Vec<u64> = line
            .split(' ')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        match line.as_bytes()[0] {
            b'P' => {
                assert_eq!(w[0], len, "log line {n}: push at {} with len {len}", w[0]);
                let old = set(&mut at, w[0], w[1]);
                if last {
                    torn.push((w[0], old, w[1]));
                }
                staged.push(w[0]);
                len += 1;
            }
            b'U' => {
                let old = set(&mut at, w[0], w[1]);
                if last {
                    torn.push((w[0], old, w[1]));
                    for &i in &staged {
                        let versions = &at[i as usize];
                        let before = versions.len().checked_sub(2).map(|k| versions[k]);
                        torn.push((i, before, versions[versions.len() - 1]));
                    }
                }
                staged.clear();
            }
            b'E' => {
                for k in 0..w[1] {
                    let old = set(&mut at, w[0] + k, w[2] + k);
                    if last {
                        torn.push((w[0] + k, old, w[2] + k));
                    }
                    staged.push(w[0] + k);
                }
                len += w[1];
            }
            b'T' => {
                len = len.min(w[0]);
                staged.retain(|&i| i < len);
            }
            b'R' => {}
            // `shrink_to_fit` commits as a flush does, then cuts the file.
            b'F' | b'S' => {
                assert_eq!(w[0], len, "log line {n}");
                pending = Some(len);
                // A flush writes the staged records with pwrite first: whole records (they
                // never straddle a page), in the page cache once it returns.
                if !last {
                    staged.clear();
                }
            }
            b'K' => {
                acked = pending.take();
                // Everything written before an acknowledged flush is durable.
                for versions in &mut at {
                    if let Some(&last) = versions.last() {
                        *versions = vec![last];
                    }
                }
            }
            b'c' => {
                created = true;
                acked = Some(0);
            }
            b'r' | b'd' => {}
            _ => panic!("log line {n}: {line:?}"),
        }
    }
    let lens = acked.into_iter().chain(pending).collect();
    Expected {
        created,
        lens,
        at,
        torn,
    }
}

fn check_recovered(path: &Path, exp: &Expected) -> Result<u64, String> {
    let store = match Store::<Rec>::open(path) {
        Ok(s) => s,
        Err(
            e
            @ (Error::NoValidMeta { .. } | Error::TruncatedHeader { .. } | Error::BadMagic { .. }),
        ) if !exp.created => {
            // Killed inside create: a file that open refuses with a clear error.
            let _ = e;
            return Ok(0);
        }
        Err(Error::Io { source, .. })
            if !exp.created && source.kind() == std::io::ErrorKind::NotFound =>
        {
            // Killed before create made the file.
            return Ok(0);
        }
        Err(e) => return Err(format!("open failed: {e}")),
    };
    store.verify().map_err(|e| format!("verify: {e}"))?;
    let len = store.len() as u64;
    if exp.lens.is_empty() {
        if len != 0 {
            return Err(format!("a store killed during create has len {len}"));
        }
    } else if !exp.lens.contains(&len) {
        return Err(format!(
            "len {len} is not a committed len (expected one of {:?})",
            exp.lens
        ));
    }
    for i in 0..len {
        let got = store[i as usize];
        if let Some(&(_, old, _)) = exp.torn.iter().find(|t| t.0 == i) {
            // The in-flight write may be torn: each byte comes from it or from a version
            // the record may hold before it (every one since the last acknowledged
            // flush: staged appends may never have reached the page cache).
            let mut before: Vec<Rec> = exp.at[i as usize].iter().map(|&v| rec(i, v)).collect();
            if old.is_none() {
                before.push(bytemuck::Zeroable::zeroed());
            }
            let g = bytemuck::bytes_of(&got);
            if (0..g.len()).any(|b| before.iter().all(|r| bytemuck::bytes_of(r)[b] != g[b])) {
                return Err(format!(
                    "record {i} is no mix of versions {:?}: {got:?}",
                    exp.at[i as usize]
                ));
            }
            continue;
        }
        match exp.at.get(i as usize).filter(|v| !v.is_empty()) {
            Some(allowed) if allowed.iter().any(|&v| got == rec(i, v)) => {}
            Some(allowed) => {
                return Err(format!(
                    "record {i}: expected one of versions {allowed:?}, found {got:?} (checksum {})",
                    if checksum(&got) == got.sum {
                        "ok"
                    } else {
                        "bad"
                    }
                ));
            }
            None => {
                return Err(format!(
                    "record {i} is below len {len} but was never written"
                ));
            }
        }
    }
    Ok(len)
}

fn spawn_child(env: &str, value: &str, test: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env, value)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child")
}

fn wait_for_line(log: &Path, what: &str, child: &mut std::process::Child) {
    let start = Instant::now();
    loop {
        if fs::read_to_string(log).is_ok_and(|s| s.contains(what)) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the child exited ({status}) before `{what}`:\n{err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never wrote `{what}`"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Kills the child with SIGKILL; panics if it had died of anything else.
fn kill_and_reap(child: &mut std::process::Child) -> bool {
    let _ = child.kill();
    let status = child.wait().unwrap();
    if common::killed(&status) {
        return true;
    }
    if !status.success() {
        let mut err = String::new();
        use std::io::Read;
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the child failed on its own ({status}):\n{err}");
    }
    false
}

#[test]
fn sigkill_at_random_moments_leaves_a_committed_store() {
    let n = trials();
    let base = base_seed();
    let dir = tempfile::tempdir().unwrap();
    let (mut killed, mut mid_flush, mut with_records) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    for t in 0..n {
        let seed = mix(base, t);
        let mut rng = Rng(seed);
        let path = dir.path().join(format!("t{t}.fxr"));
        let log = dir.path().join(format!("t{t}.log"));
        // One trial in ten kills the child while it creates the store.
        let create = rng.below(10) == 0;
        if !create {
            let options = StoreOptions::new().capacity(1 + rng.below(32));
            options.create::<Rec>(&path).unwrap();
        }
        let spec = format!(
            "{seed}|{}|{}|{}",
            if create { "create" } else { "open" },
            path.display(),
            log.display()
        );
        let mut child = spawn_child(CHILD_ENV, &spec, "crash_child");
        wait_for_line(&log, "ready", &mut child);
        let delay = match rng.below(4) {
            0 => rng.below(300),
            1 => rng.below(3_000),
            _ => rng.below(25_000),
        };
        std::thread::sleep(Duration::from_micros(delay));
        killed += u64::from(kill_and_reap(&mut child));
        let text = fs::read_to_string(&log).unwrap();
        let exp = replay(&text, create);
        match check_recovered(&path, &exp) {
            Ok(len) => with_records += u64::from(len > 0),
            Err(e) => panic!(
                "trial {t} (seed {seed}, base {base}): {e}\nlast log lines: {:?}",
                text.lines().rev().take(8).collect::<Vec<_>>()
            ),
        }
        mid_flush += u64::from(exp.lens.len() == 2);
        fs::remove_file(&path).ok();
        fs::remove_file(&log).ok();
    }
    println!(
        "crash: {n} trials (base seed {base}) in {:.1?}: {killed} killed by SIGKILL, \
         {mid_flush} inside a flush, {with_records} recovered with records; all passed",
        start.elapsed()
    );
    assert!(killed > 0, "no trial killed its child");
}

// ---------------------------------------------------------------------------------------
// `shrink_to_fit` killed at each of its syncs.

const SHRINK_ENV: &str = "FIXREC_SHRINK_CHILD";
/// The store the shrink child finds: `SHRINK_FROM` records committed, capacity 256.
const SHRINK_FROM: u64 = 100;
/// The len it truncates to before `shrink_to_fit`.
const SHRINK_TO: u64 = 10;

/// Ends this process at once, running nothing more of it: SIGKILL on Unix; on Windows an
/// abort (a fail-fast exception, which runs no handler or destructor either).
fn die_now() {
    #[cfg(unix)]
    // SAFETY: raise(3) with a valid signal number.
    unsafe {
        libc::raise(libc::SIGKILL);
    }
    std::process::abort();
}

/// Not a test of its own: truncates the store and shrinks it, killing itself with
/// SIGKILL from the sync hook at sync number `k` (from 0).
#[test]
fn shrink_child() {
    let Ok(spec) = std::env::var(SHRINK_ENV) else {
        return;
    };
    let (k, path) = spec.split_once('|').unwrap();
    let k: u32 = k.parse().unwrap();
    let mut store = Store::<Rec>::open(path).expect("open");
    store.truncate(SHRINK_TO as usize);
    let mut calls = 0;
    store.set_sync_hook(Box::new(move |_| {
        if calls == k {
            die_now();
        }
        calls += 1;
        Ok(())
    }));
    store.shrink_to_fit().expect("shrink_to_fit");
    std::process::exit(0);
}

/// `shrink_to_fit` commits the smaller capacity and then cuts the file; a kill at each
/// of its syncs (the commit's data and meta syncs before the cut, the new size's sync
/// after it) leaves a store that opens at the old commit or the new one, whole. Cutting
/// before the commit would leave a committed capacity past the end of the file, which
/// open refuses.
#[test]
fn sigkill_at_each_sync_of_shrink_to_fit_leaves_a_committed_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrink.fxr");
    let full = (4096 + 256 * 64) as u64;
    let (mut before_cut, mut after_cut) = (0, 0);
    for k in 0.. {
        let _ = fs::remove_file(&path);
        let mut store = StoreOptions::new()
            .capacity(256)
            .create::<Rec>(&path)
            .unwrap();
        for i in 0..SHRINK_FROM {
            store.push(rec(i, 1)).unwrap();
        }
        drop(store);
        let mut child = spawn_child(
            SHRINK_ENV,
            &format!("{k}|{}", path.display()),
            "shrink_child",
        );
        let status = child.wait().unwrap();
        let killed = common::crashed(&status);
        assert!(killed || status.success(), "sync {k}: the child {status}");
        let size = fs::metadata(&path).unwrap().len();
        let store = Store::<Rec>::open(&path)
            .unwrap_or_else(|e| panic!("killed at sync {k} of shrink_to_fit: {e}"));
        store.verify().unwrap();
        let len = store.len() as u64;
        assert!(
            [SHRINK_FROM, SHRINK_TO].contains(&len),
            "killed at sync {k}: len {len}"
        );
        for (i, r) in store.iter().enumerate() {
            assert_eq!(*r, rec(i as u64, 1), "killed at sync {k}: record {i}");
        }
        if !killed {
            assert_eq!((len, size), (SHRINK_TO, 4096 + SHRINK_TO * 64));
            break;
        }
        if size == full {
            before_cut += 1;
        } else {
            after_cut += 1;
        }
    }
    assert!(
        before_cut > 0 && after_cut > 0,
        "kills before the cut: {before_cut}, after it: {after_cut}"
    );
}

// ---------------------------------------------------------------------------------------
// `fixrec import` killed mid-way.

#[cfg(feature = "cli")]
record! {
    #[repr(C)]
    /// The imported rows: `id:u64,name:str[24]`.
    #[derive(Debug, PartialEq)]
    pub struct Row {
        pub id: u64,
        pub name: fixrec::FixedStr<24>,
    }
}

#[cfg(feature = "cli")]
fn row(id: u64) -> Row {
    Row {
        id,
        name: fixrec::FixedStr::new(&format!("row {id}")).unwrap(),
    }
}

/// `fixrec import` of 100,000 CSV rows into a store of 50, killed with SIGKILL at a
/// random moment of its run: afterwards the store verifies and holds its 50 rows and
/// either none or all of the imported ones (one commit).
#[cfg(feature = "cli")]
#[test]
fn sigkill_during_fixrec_import_leaves_all_rows_or_none() {
    use std::fmt::Write as _;
    const BEFORE: u64 = 50;
    const ROWS: u64 = 100_000;
    let trials: u64 = std::env::var("FIXREC_CRASH_IMPORT_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.csv");
    let mut csv = String::from("id,name\n");
    for id in BEFORE..BEFORE + ROWS {
        writeln!(csv, "{id},row {id}").unwrap();
    }
    fs::write(&input, csv).unwrap();
    let import = |path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_fixrec"))
            .arg("import")
            .arg(path)
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let fresh = |path: &Path| {
        let _ = fs::remove_file(path);
        let mut store = StoreOptions::new()
            .capacity(64)
            .create::<Row>(path)
            .unwrap();
        for id in 0..BEFORE {
            store.push(row(id)).unwrap();
        }
        drop(store);
    };
    // How long a whole import takes here: the kills land anywhere in 0..1.2 of it.
    let path = dir.path().join("store.fxr");
    fresh(&path);
    let start = Instant::now();
    let out = import(&path).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let whole = start.elapsed().as_micros() as u64;
    assert_eq!(
        Store::<Row>::open(&path).unwrap().len() as u64,
        BEFORE + ROWS
    );

    let mut rng = Rng(base_seed() ^ 0x1a9);
    let (mut none, mut all) = (0, 0);
    for t in 0..trials {
        fresh(&path);
        let mut child = import(&path);
        // One trial in eight kills it at once, before it can have read a row, so that
        // some kills land before the commit however fast the machine is now compared
        // with the measured run.
        let delay = if t % 8 == 0 {
            0
        } else {
            rng.below(whole * 6 / 5)
        };
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        let status = child.wait().unwrap();
        assert!(
            status.success() || common::killed(&status),
            "trial {t}: fixrec import {status}"
        );
        let store = Store::<Row>::open(&path)
            .unwrap_or_else(|e| panic!("trial {t}: the store does not open: {e}"));
        store.verify().unwrap();
        let len = store.len() as u64;
        match len {
            BEFORE => none += 1,
            n if n == BEFORE + ROWS => all += 1,
            n => panic!("trial {t}: {n} rows: neither all nor none of the import"),
        }
        for (i, r) in store.iter().enumerate() {
            assert_eq!(*r, row(i as u64), "trial {t}: row {i}");
        }
        if status.success() {
            assert_eq!(len, BEFORE + ROWS, "trial {t}: import said ok");
        }
    }
    println!("import: {trials} trials, {none} none, {all} all (a whole import: {whole} us)");
    assert!(none > 0, "no kill landed before the commit");
}
