//! Transactions under crashes: each transaction is all or nothing.
//!
//! **Power cuts.** The simulated disk of `tests/power_loss.rs`, for transactions: the
//! sync hook (called before every sync with its range: the log's, the data region's at
//! a checkpoint, the meta slot's) keeps the durable image; at every hook call and after
//! every operation the test builds images a power cut could leave (the durable image
//! plus any subset of the pages written since, some torn at 512-byte sectors, at the old
//! or the new file size), opens each and checks that it holds exactly the state after
//! the last acknowledged transaction, or after the one in flight: never a mix, never
//! garbage. The log is small (16 KiB), so it fills and checkpoints often.
//!
//! **SIGKILL.** A child process (this binary again, `--exact txn_crash_child`) runs random
//! transactions, logging each before it commits and `K` after; the parent kills it at a
//! random moment and checks the store the same way.
//!
//! CI runs 10,000 power-cut images and 200 kills. Soak: `FIXREC_TXN_IMAGES=100000
//! FIXREC_CRASH_TRIALS=10000 cargo test --release --test txn_crash -- --nocapture`.

mod common;
use common::{Rec, Rng, rec};
use fixrec::{Growth, Store, StoreOptions, SyncStep};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PAGE: usize = 4096;
const SECTOR: usize = 512;
const LOG_BYTES: u64 = 16 << 10;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn scratch() -> tempfile::TempDir {
    match tempfile::tempdir_in("/dev/shm") {
        Ok(d) => d,
        Err(_) => tempfile::tempdir().unwrap(),
    }
}

/// The versions of a store's records, or why a record is not one that was written.
fn versions(store: &Store<Rec, impl fixrec::Access>) -> Result<Vec<u64>, String> {
    store
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if *r == rec(i as u64, r.version) {
                Ok(r.version)
            } else {
                Err(format!("record {i} is garbage: {r:?}"))
            }
        })
        .collect()
}

/// One random transaction over a store of `len` records: (index, version) writes, then
/// appends; applied to `state` it gives the state after the commit.
fn random_txn(rng: &mut Rng, len: usize, version: &mut u64) -> (Vec<(usize, u64)>, usize) {
    let mut writes = Vec::new();
    if len > 0 {
        for _ in 0..rng.below(12) {
            *version += 1;
            writes.push((rng.upto(len), *version));
        }
    }
    let appends = if rng.below(3) == 0 {
        1 + rng.upto(20)
    } else {
        0
    };
    (writes, appends)
}

fn apply(state: &mut Vec<u64>, writes: &[(usize, u64)], appends: usize, version: &mut u64) {
    for &(i, v) in writes {
        state[i] = v;
    }
    for _ in 0..appends {
        *version += 1;
        state.push(*version);
    }
}

fn run_txn(store: &mut Store<Rec>, writes: &[(usize, u64)], appends: &[u64]) -> fixrec::Result<()> {
    let mut t = store.transaction()?;
    for &(i, v) in writes {
        t[i] = rec(i as u64, v);
    }
    for &v in appends {
        let i = t.len() as u64;
        t.push(rec(i, v));
    }
    t.commit()
}

// ---------------------------------------------------------------------------------------
// Power cuts.

#[derive(Default, Debug)]
struct Stats {
    cuts: u64,
    log_syncs: u64,
    images: u64,
    torn_pages: u64,
    in_flight_won: u64,
    redone: u64,
}

struct Sim {
    store: File,
    image_path: PathBuf,
    durable: Vec<u8>,
    pending: Option<(usize, Vec<u8>, usize)>,
    /// The state after the last acknowledged transaction, and the one in flight.
    acked: Vec<u64>,
    in_flight: Option<Vec<u64>>,
    log_at: Option<usize>,
    rng: Rng,
    stats: Stats,
    failure: Option<String>,
}

impl Sim {
    fn file_bytes(&self) -> Vec<u8> {
        let size = self.store.metadata().unwrap().len() as usize;
        let mut buf = vec![0u8; size];
        common::read_exact_at(&self.store, &mut buf, 0).unwrap();
        buf
    }

    fn settle(&mut self) {
        if let Some((offset, bytes, size)) = self.pending.take() {
            if self.durable.len() < size {
                self.durable.resize(size, 0);
            }
            self.durable[offset..offset + bytes.len()].copy_from_slice(&bytes);
        }
    }

    fn on_sync(&mut self, step: SyncStep) {
        self.settle();
        if !step.meta && self.log_at.is_some_and(|at| step.offset >= at) {
            self.stats.log_syncs += 1;
        }
        self.cut();
        if step.len > 0 {
            let mut bytes = vec![0u8; step.len];
            common::read_exact_at(&self.store, &mut bytes, step.offset as u64).unwrap();
            let size = self.store.metadata().unwrap().len() as usize;
            self.pending = Some((step.offset, bytes, size));
        }
    }

    fn cut(&mut self) {
        if self.failure.is_some() {
            return;
        }
        self.stats.cuts += 1;
        let current = self.file_bytes();
        let old_size = self.durable.len();
        let pages = current.len().max(old_size).div_ceil(PAGE);
        let dirty: Vec<usize> = (0..pages)
            .filter(|&p| {
                let r = p * PAGE..(p + 1) * PAGE;
                current
                    .get(r.start..r.end.min(current.len()))
                    .unwrap_or(&[])
                    != self
                        .durable
                        .get(r.start..r.end.min(old_size))
                        .unwrap_or(&[])
            })
            .collect();
        let tries = if dirty.is_empty() { 1 } else { 4 };
        for t in 0..tries {
            let size = if self.rng.below(2) == 0 {
                old_size
            } else {
                current.len()
            };
            let mut img = self.durable.clone();
            img.resize(size, 0);
            for &p in &dirty {
                let take = match t {
                    0 => true,
                    1 => false,
                    _ => self.rng.below(2) == 0,
                };
                if !take {
                    continue;
                }
                let torn = t > 0 && self.rng.below(4) == 0;
                self.stats.torn_pages += u64::from(torn);
                for s in 0..PAGE / SECTOR {
                    if torn && self.rng.below(2) == 0 {
                        continue;
                    }
                    let at = p * PAGE + s * SECTOR;
                    let end = (at + SECTOR).min(size).min(current.len());
                    if at < end {
                        img[at..end].copy_from_slice(&current[at..end]);
                    }
                }
            }
            if let Err(e) = self.check_image(&img) {
                self.failure = Some(format!(
                    "cut {} image {t} (size {size}, durable size {old_size}, dirty pages {dirty:?}): {e}",
                    self.stats.cuts
                ));
                return;
            }
        }
    }

    fn check_image(&mut self, img: &[u8]) -> Result<(), String> {
        self.stats.images += 1;
        fs::write(&self.image_path, img).unwrap();
        let store = Store::<Rec>::open_read_only(&self.image_path)
            .map_err(|e| format!("open refused a power-cut image: {e}"))?;
        let got = versions(&store)?;
        drop(store);
        if fs::read(&self.image_path).unwrap() != img {
            self.stats.redone += 1;
        }
        if got == self.acked {
            return Ok(());
        }
        if self.in_flight.as_ref() == Some(&got) {
            self.stats.in_flight_won += 1;
            return Ok(());
        }
        Err(format!(
            "the image holds {got:?}, neither the acknowledged state {:?} nor the one in flight {:?}",
            self.acked, self.in_flight
        ))
    }
}

fn run_power_workload(seed: u64, ops: u64, stats: &mut Stats) {
    let dir = scratch();
    let path = dir.path().join("store.fxr");
    let image_path = dir.path().join("image.fxr");
    let mut rng = Rng(seed);
    let growth = match rng.below(3) {
        0 => Growth::Double,
        _ => Growth::Step(1 + rng.below(40)),
    };
    let mut store: Store<Rec> = StoreOptions::new()
        .capacity(1 + rng.below(16))
        .growth(growth)
        .log_size(LOG_BYTES)
        .create(&path)
        .unwrap();
    let sim = Arc::new(Mutex::new(Sim {
        store: File::open(&path).unwrap(),
        image_path,
        durable: fs::read(&path).unwrap(),
        pending: None,
        acked: Vec::new(),
        in_flight: None,
        log_at: None,
        rng: Rng(seed ^ 0x7a11),
        stats: Stats::default(),
        failure: None,
    }));
    let hook_sim = Arc::clone(&sim);
    store.set_sync_hook(Box::new(move |step| {
        hook_sim
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .on_sync(step);
        Ok(())
    }));
    let mut version = 0u64;
    for _ in 0..ops {
        let len = store.len();
        if rng.below(10) == 0 {
            store.flush().unwrap(); // a checkpoint
        } else {
            let (writes, appends) = random_txn(&mut rng, len, &mut version);
            let mut next = sim.lock().unwrap().acked.clone();
            let first_append = version;
            apply(&mut next, &writes, appends, &mut version);
            let appended: Vec<u64> = (first_append + 1..=version).collect();
            sim.lock().unwrap().in_flight = Some(next.clone());
            run_txn(&mut store, &writes, &appended).unwrap();
            let mut s = sim.lock().unwrap();
            s.settle();
            s.acked = next;
            s.in_flight = None;
            let data_end = store.table().data_offset() + store.capacity() * size_of::<Rec>();
            s.log_at = Some(data_end.next_multiple_of(PAGE));
        }
        let mut s = sim.lock().unwrap();
        s.settle();
        s.cut();
        if let Some(f) = &s.failure {
            panic!("seed {seed}: {f}");
        }
    }
    drop(store);
    let mut s = sim.lock().unwrap();
    if let Some(f) = &s.failure {
        panic!("seed {seed}: {f}");
    }
    let st = std::mem::take(&mut s.stats);
    stats.cuts += st.cuts;
    stats.log_syncs += st.log_syncs;
    stats.images += st.images;
    stats.torn_pages += st.torn_pages;
    stats.in_flight_won += st.in_flight_won;
    stats.redone += st.redone;
}

#[test]
fn power_cuts_in_commits_and_checkpoints_leave_whole_transactions() {
    let want = env_u64("FIXREC_TXN_IMAGES", 10_000);
    let mut stats = Stats::default();
    let mut seed = env_u64("FIXREC_CRASH_SEED", 0x7a_0001);
    while stats.images < want {
        run_power_workload(seed, 120, &mut stats);
        seed += 1;
    }
    println!("transaction power cuts: {stats:?}");
    assert!(stats.log_syncs > 100, "{stats:?}");
    assert!(
        stats.in_flight_won > 0,
        "no image held the commit in flight: {stats:?}"
    );
    assert!(stats.redone > 0, "no image needed a redo: {stats:?}");
}

// ---------------------------------------------------------------------------------------
// SIGKILL.

const CHILD_ENV: &str = "FIXREC_TXN_CRASH_CHILD";

/// Not a test of its own: the body of the child process the parent kills.
#[test]
fn txn_crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.splitn(3, '|').collect();
    let seed: u64 = parts[0].parse().unwrap();
    let (path, log_path) = (Path::new(parts[1]), Path::new(parts[2]));
    let mut log = OpenOptions::new()
        .append(true)
        .create(true)
        .open(log_path)
        .unwrap();
    let mut rng = Rng(seed);
    let mut store: Store<Rec> = StoreOptions::new()
        .capacity(1 + rng.below(32))
        .growth(Growth::Step(1 + rng.below(64)))
        .log_size(LOG_BYTES * (1 + rng.below(4)))
        .create(path)
        .unwrap();
    log.write_all(b"ready\n").unwrap();
    let mut version = 0u64;
    loop {
        if rng.below(20) == 0 {
            store.flush().unwrap();
            continue;
        }
        let (writes, appends) = random_txn(&mut rng, store.len(), &mut version);
        let appended: Vec<u64> = (version + 1..=version + appends as u64).collect();
        version += appends as u64;
        let mut line = String::from("T");
        for (i, v) in &writes {
            line += &format!(" {i}:{v}");
        }
        line += " +";
        for v in &appended {
            line += &format!(" {v}");
        }
        line += "\n";
        log.write_all(line.as_bytes()).unwrap();
        run_txn(&mut store, &writes, &appended).unwrap();
        log.write_all(b"K\n").unwrap();
    }
}

/// (acknowledged state, state of the transaction in flight) from the child's log.
fn replay(log: &str) -> (Vec<u64>, Option<Vec<u64>>) {
    // Only complete lines: a line cut by the kill (a write to a file stops at a page
    // boundary when a fatal signal is pending) was never acted on: the transaction it
    // announces never started, or its `K` was not written, so it is still in flight.
    let complete = match log.rfind('\n') {
        Some(end) => &log[..=end],
        None => "",
    };
    let mut acked = Vec::new();
    let mut in_flight = None;
    for line in complete.lines() {
        if line == "K" {
            acked = in_flight.take().expect("K after a transaction");
        } else if let Some(rest) = line.strip_prefix("T") {
            let (w, a) = rest.split_once('+').expect("a transaction line");
            let mut next: Vec<u64> = acked.clone();
            for item in w.split_whitespace() {
                let (i, v) = item.split_once(':').unwrap();
                next[i.parse::<usize>().unwrap()] = v.parse().unwrap();
            }
            next.extend(a.split_whitespace().map(|v| v.parse::<u64>().unwrap()));
            in_flight = Some(next);
        }
    }
    (acked, in_flight)
}

/// A soak of 10,000 kills found a child killed inside the write of a transaction's line:
/// the log ended `T 3:5 1:` with no `+`, and the replay panicked on it.
#[test]
fn replay_ignores_a_line_cut_by_the_kill() {
    let log = "ready\nT + 1 2\nK\nT 0:3 +\nK\nT 1:4 1:";
    assert_eq!(replay(log), (vec![3, 2], None));
    let log = "ready\nT + 1 2\nK\nT 0:3 +\nK";
    assert_eq!(replay(log), (vec![1, 2], Some(vec![3, 2])));
}

#[test]
fn sigkill_at_any_moment_leaves_whole_transactions() {
    let trials = env_u64("FIXREC_CRASH_TRIALS", 200);
    let base = env_u64("FIXREC_CRASH_SEED", 0x7a_5eed);
    let exe = std::env::current_exe().unwrap();
    let (mut in_flight_won, mut transactions) = (0u64, 0u64);
    for trial in 0..trials {
        let dir = scratch();
        let path = dir.path().join("store.fxr");
        let log_path = dir.path().join("log.txt");
        let seed = base.wrapping_add(trial);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "txn_crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                CHILD_ENV,
                format!("{seed}|{}|{}", path.display(), log_path.display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the store to exist, then let the child work for a random while.
        let start = Instant::now();
        while !fs::read_to_string(&log_path).is_ok_and(|l| l.starts_with("ready")) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the child never started"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child exited before it was ready: {status}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut rng = Rng(seed ^ 0x51);
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            common::killed(&status),
            "the child ended on its own: {status}"
        );
        let log = fs::read_to_string(&log_path).unwrap();
        let (acked, in_flight) = replay(&log);
        transactions += log.lines().filter(|l| *l == "K").count() as u64;
        let store = Store::<Rec>::open(&path)
            .unwrap_or_else(|e| panic!("trial {trial} (seed {seed}): open failed: {e}"));
        let got = versions(&store).unwrap_or_else(|e| panic!("trial {trial} (seed {seed}): {e}"));
        store.verify().unwrap();
        if got == acked {
            continue;
        }
        assert_eq!(
            Some(&got),
            in_flight.as_ref(),
            "trial {trial} (seed {seed}): the store is neither the acknowledged state nor the one in flight"
        );
        in_flight_won += 1;
    }
    println!(
        "transaction kills: {trials} trials, {transactions} acknowledged transactions, {in_flight_won} with the one in flight committed"
    );
    assert!(transactions > trials, "the children committed too little");
}
