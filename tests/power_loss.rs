//! Simulated power loss: a process crash keeps the page cache, a power cut does not.
//!
//! The sync hook (`Store::set_sync_hook`, called before every `msync` with its range)
//! lets this test keep the *durable image*: at each hook call the bytes of the range
//! about to be synced are read (`pread`, which sees the shared mapping's page cache);
//! they become durable when the next hook call comes or the operation returns, since the
//! hook runs before its sync. At every cut point (each hook call, the meta commit's among
//! them, which falls between the data sync and the meta sync of a flush; and after each
//! operation) the test builds images a power cut could leave: the durable image plus any
//! subset of the 4096-byte pages written since, some torn at 512-byte sectors, at the old
//! or the new file size. Each image is written to a file and opened. It must open to a
//! committed state: its generation is the last durable commit or the one in flight, its
//! len is that commit's, and every record below the len is one that was written at its
//! index (the version the commit's data sync covered, or a later in-place write).
//!
//! Then exhaustive damage of a file with two commits: every single-byte corruption of
//! the first 4096 bytes (superblock, both meta slots, field table, padding), every tear
//! position of both meta slots and of the superblock, and every subset of page 0's eight
//! sectors between two commits.
//!
//! `FIXREC_POWER_CUTS=<n>` sets the number of power cuts of the native workload (10,000
//! by default; the raw workload makes 30% as many): the Windows leg of CI, under Wine,
//! runs fewer.

use fixrec::format::{self, META_OFFSETS, META_SIZE};
mod common;
use common::{Rec, Rng, checksum, rec};
use fixrec::{Growth, ReadOnly, Store, StoreOptions, SyncStep};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const PAGE: usize = 4096;
const SECTOR: usize = 512;

/// A temporary directory on tmpfs when there is one (msync is then nearly free; the
/// durable image is simulated anyway).
fn scratch() -> tempfile::TempDir {
    match tempfile::tempdir_in("/dev/shm") {
        Ok(d) => d,
        Err(_) => tempfile::tempdir().unwrap(),
    }
}

/// What the writer did, in time order: the model the images are checked against.
#[derive(Default)]
struct Model {
    /// A counter bumped by every write.
    clock: u64,
    /// Per index: every (clock, version) written there.
    history: Vec<Vec<(u64, u64)>>,
    /// Per generation: (len, clock when its flush began).
    commits: HashMap<u64, (u64, u64)>,
}

impl Model {
    fn write(&mut self, i: u64, version: u64) {
        self.clock += 1;
        if self.history.len() <= i as usize {
            self.history.resize(i as usize + 1, Vec::new());
        }
        self.history[i as usize].push((self.clock, version));
    }

    /// Whether `version` may be at `i` in an image of commit `generation`: the version
    /// its data sync covered, or one written after.
    fn allowed(&self, generation: u64, i: u64, version: u64) -> bool {
        let Some(&(_, at)) = self.commits.get(&generation) else {
            return false;
        };
        let Some(h) = self.history.get(i as usize) else {
            return false;
        };
        let covered = h.iter().rev().find(|(t, _)| *t <= at).map(|&(_, v)| v);
        covered == Some(version) || h.iter().any(|&(t, v)| t > at && v == version)
    }
}

#[derive(Default, Debug)]
struct Stats {
    cuts: u64,
    meta_cuts: u64,
    /// Syncs of a file just cut (`shrink_to_fit`, a raw `flush` after `truncate`).
    cut_syncs: u64,
    images: u64,
    torn_pages: u64,
    in_flight_won: u64,
}

/// The simulated disk: the durable image, the sync in flight, and the images' file.
struct Sim {
    store: File,
    image_path: PathBuf,
    image: File,
    durable: Vec<u8>,
    /// The sync announced by the last hook call: (offset, bytes then, file size then).
    pending: Option<(usize, Vec<u8>, usize)>,
    model: Model,
    rng: Rng,
    stats: Stats,
    failure: Option<String>,
    /// For a raw (headerless) file, what it must hold; `None` for a native store.
    raw: Option<RawModel>,
}

/// What a raw file must hold. It has no commit: after a `flush` returns it holds exactly
/// the records written before it (truncates included); between flushes each record is
/// the version of the last flush, one written since, or zeros (a page that did not land
/// in a grown file).
#[derive(Default)]
struct RawModel {
    /// The versions at the last flush that returned, one per record.
    flushed: Vec<u64>,
    /// Per index, every version written there since that flush.
    since: Vec<Vec<u64>>,
    /// The versions now: what the next flush makes durable.
    now: Vec<u64>,
    /// Set when a flush has just returned: every image must then be `flushed` exactly.
    exact: bool,
}

impl RawModel {
    fn write(&mut self, i: u64, version: u64) {
        let i = i as usize;
        if self.since.len() <= i {
            self.since.resize(i + 1, Vec::new());
        }
        self.since[i].push(version);
        if i == self.now.len() {
            self.now.push(version);
        } else {
            self.now[i] = version;
        }
    }

    fn flushed(&mut self) {
        self.flushed = self.now.clone();
        self.since.clear();
        self.exact = true;
    }

    fn check(&self, store: &Store<Rec, ReadOnly>) -> Result<(), String> {
        if self.exact {
            let got: Vec<u64> = store.iter().map(|r| r.version).collect();
            if store.len() != self.flushed.len() {
                return Err(format!(
                    "after a flush: len {} but {} records were written before it",
                    store.len(),
                    self.flushed.len()
                ));
            }
            for (i, r) in store.iter().enumerate() {
                if *r != rec(i as u64, self.flushed[i]) {
                    return Err(format!(
                        "after a flush: record {i} is {r:?}, not version {} (versions {got:?})",
                        self.flushed[i]
                    ));
                }
            }
            return Ok(());
        }
        for (i, r) in store.iter().enumerate() {
            if bytemuck::bytes_of(r).iter().all(|&b| b == 0) {
                continue;
            }
            let allowed = self
                .flushed
                .get(i)
                .into_iter()
                .chain(self.since.get(i).into_iter().flatten());
            if !allowed.clone().any(|&v| *r == rec(i as u64, v)) {
                return Err(format!(
                    "record {i} is {r:?}: not one of versions {:?}, nor zeros",
                    allowed.collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    }
}

impl Sim {
    fn file_bytes(&self) -> Vec<u8> {
        let size = self.store.metadata().unwrap().len() as usize;
        let mut buf = vec![0u8; size];
        common::read_exact_at(&self.store, &mut buf, 0).unwrap();
        buf
    }

    /// The sync announced last has completed: its range (and the file size, which
    /// `msync`, an fdatasync of the range, makes durable) is now on disk.
    fn settle(&mut self) {
        if let Some((offset, bytes, size)) = self.pending.take() {
            // The size as it was when the sync began, larger or smaller (a cut file).
            self.durable.resize(size, 0);
            self.durable[offset..offset + bytes.len()].copy_from_slice(&bytes);
        }
    }

    fn on_sync(&mut self, step: SyncStep) {
        self.settle();
        self.stats.meta_cuts += u64::from(step.meta);
        self.stats.cut_syncs += u64::from(step.cut);
        self.cut();
        if step.cut {
            // The fdatasync of a file just cut: the whole file and its new size.
            let bytes = self.file_bytes();
            let size = bytes.len();
            assert_eq!(size, step.offset, "the cut step names the new size");
            self.pending = Some((0, bytes, size));
        } else if step.len > 0 {
            // `Map::sync` skips an empty range: no msync, nothing becomes durable.
            let mut bytes = vec![0u8; step.len];
            common::read_exact_at(&self.store, &mut bytes, step.offset as u64).unwrap();
            let size = self.store.metadata().unwrap().len() as usize;
            self.pending = Some((step.offset, bytes, size));
        }
    }

    /// A power cut now: check images of the durable image plus written pages.
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
                let r = p * PAGE..((p + 1) * PAGE);
                let a = current
                    .get(r.start..r.end.min(current.len()))
                    .unwrap_or(&[]);
                let b = self
                    .durable
                    .get(r.start..r.end.min(old_size))
                    .unwrap_or(&[]);
                let n = a.len().max(b.len());
                (0..n).any(|i| a.get(i).unwrap_or(&0) != b.get(i).unwrap_or(&0))
            })
            .collect();
        let tries = if dirty.is_empty() && current.len() == old_size {
            1
        } else {
            4
        };
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
                    "cut {} image {t} (size {size}, durable size {old_size}, file size {}, dirty pages {dirty:?}): {e}",
                    self.stats.cuts,
                    current.len()
                ));
                return;
            }
        }
    }

    fn write_image(&self, img: &[u8]) {
        self.image.set_len(0).unwrap();
        common::write_all_at(&self.image, img, 0).unwrap();
    }

    fn check_image(&mut self, img: &[u8]) -> Result<(), String> {
        self.stats.images += 1;
        self.write_image(img);
        if let Some(raw) = &self.raw {
            let store = Store::<Rec>::open_raw_read_only(&self.image_path)
                .map_err(|e| format!("open refused a power-cut image: {e}"))?;
            return raw.check(&store);
        }
        let durable_gen = format::Meta::pick(Path::new("durable"), &self.durable[..PAGE])
            .expect("the durable image always has a commit")
            .generation;
        let store = Store::<Rec>::open_read_only(&self.image_path)
            .map_err(|e| format!("open refused a power-cut image: {e}"))?;
        let generation = store.table().generation();
        if generation != durable_gen && generation != durable_gen + 1 {
            return Err(format!(
                "generation {generation}, but the durable commit is {durable_gen}"
            ));
        }
        self.stats.in_flight_won += u64::from(generation == durable_gen + 1);
        check_records(&store, &self.model, generation)?;
        store.verify().map_err(|e| e.to_string())
    }
}

fn check_records(
    store: &Store<Rec, ReadOnly>,
    model: &Model,
    generation: u64,
) -> Result<(), String> {
    let Some(&(len, _)) = model.commits.get(&generation) else {
        return Err(format!("generation {generation} was never committed"));
    };
    if store.len() as u64 != len {
        return Err(format!(
            "len {} but commit {generation} has len {len}",
            store.len()
        ));
    }
    for (i, r) in store.iter().enumerate() {
        let i = i as u64;
        if r.index != i || r.sum != checksum(r) || *r != rec(i, r.version) {
            return Err(format!("record {i} is garbage: {r:?}"));
        }
        if !model.allowed(generation, i, r.version) {
            return Err(format!(
                "record {i} holds version {}, which commit {generation} does not allow",
                r.version
            ));
        }
    }
    Ok(())
}

/// Installs the hook that simulates the disk under `store` (just created at `path`).
fn simulate(store: &mut Store<Rec>, path: &Path, image_path: &Path, seed: u64) -> Arc<Mutex<Sim>> {
    let mut model = Model::default();
    model.commits.insert(1, (0, 0));
    let sim = Arc::new(Mutex::new(Sim {
        store: File::open(path).unwrap(),
        image: OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(image_path)
            .unwrap(),
        image_path: image_path.to_owned(),
        durable: fs::read(path).unwrap(),
        pending: None,
        model,
        rng: Rng(seed),
        stats: Stats::default(),
        failure: None,
        raw: None,
    }));
    let hook_sim = Arc::clone(&sim);
    store.set_sync_hook(Box::new(move |step| {
        hook_sim
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .on_sync(step);
        Ok(())
    }));
    sim
}

fn run_workload(seed: u64, ops: u64, stats: &mut Stats) {
    let dir = scratch();
    let path = dir.path().join("store.fxr");
    let image_path = dir.path().join("image.fxr");
    let mut rng = Rng(seed);
    let growth = match rng.below(3) {
        0 => Growth::Double,
        _ => Growth::Step(1 + rng.below(100)),
    };
    let mut store: Store<Rec> = StoreOptions::new()
        .capacity(1 + rng.below(16))
        .growth(growth)
        .create(&path)
        .unwrap();
    let sim = simulate(&mut store, &path, &image_path, seed ^ 0xabcd);
    let mut version = 1u64;
    for _ in 0..ops {
        let len = store.len() as u64;
        let roll = rng.below(100);
        {
            let mut s = sim.lock().unwrap();
            let m = &mut s.model;
            if roll < 35 {
                m.write(len, version);
                store.push(rec(len, version)).unwrap();
                version += 1;
            } else if roll < 60 && len > 0 {
                let i = rng.below(len);
                m.write(i, version);
                store[i as usize] = rec(i, version);
                version += 1;
            } else if roll < 65 {
                let n = 1 + rng.below(20);
                let recs: Vec<Rec> = (0..n).map(|k| rec(len + k, version + k)).collect();
                for k in 0..n {
                    m.write(len + k, version + k);
                }
                store.extend_from_slice(&recs).unwrap();
                version += n;
            } else if roll < 69 || len > 200 {
                store.truncate(rng.below(len + 1) as usize);
            } else if roll < 72 {
                store.reserve(rng.below(100) as usize).unwrap();
            }
        }
        if (72..76).contains(&roll) {
            // Commits the smaller capacity, then cuts the file and syncs its size: cut
            // points before the cut (the commit's syncs) and after it (the size's sync,
            // and the end of the operation).
            registered_commit(&mut store, &sim, |s| s.shrink_to_fit());
            let size = fs::metadata(&path).unwrap().len();
            let tight = store.table().data_offset() + store.len() * 64;
            assert_eq!(
                (store.capacity(), size),
                (store.len(), tight as u64),
                "seed {seed}: shrink_to_fit left the capacity or the file larger than len"
            );
        } else if roll >= 76 {
            registered_flush(&mut store, &sim);
        }
        let mut s = sim.lock().unwrap();
        s.cut();
        if let Some(f) = &s.failure {
            panic!("seed {seed}: {f}");
        }
    }
    registered_flush(&mut store, &sim);
    let mut s = sim.lock().unwrap();
    if let Some(f) = &s.failure {
        panic!("seed {seed}: {f}");
    }
    let st = std::mem::take(&mut s.stats);
    stats.add(&st);
}

impl Stats {
    fn add(&mut self, st: &Stats) {
        self.cuts += st.cuts;
        self.meta_cuts += st.meta_cuts;
        self.cut_syncs += st.cut_syncs;
        self.images += st.images;
        self.torn_pages += st.torn_pages;
        self.in_flight_won += st.in_flight_won;
    }
}

/// Flushes, telling the model first which len the next generation commits.
fn registered_flush(store: &mut Store<Rec>, sim: &Mutex<Sim>) {
    registered_commit(store, sim, |s| s.flush());
}

/// Runs `commit` (a flush, or `shrink_to_fit`, which commits), telling the model first
/// which len the next generation commits.
fn registered_commit(
    store: &mut Store<Rec>,
    sim: &Mutex<Sim>,
    commit: impl FnOnce(&mut Store<Rec>) -> fixrec::Result<()>,
) {
    {
        let next = store.table().generation() + 1;
        let len = store.len() as u64;
        let mut s = sim.lock().unwrap();
        let clock = s.model.clock;
        s.model.commits.insert(next, (len, clock));
    }
    commit(store).unwrap();
    sim.lock().unwrap().settle();
}

/// A raw file under a random mix of push, in-place update, extend, truncate, reserve,
/// `shrink_to_fit` and flush, with a cut point at each sync and after each operation.
fn run_raw_workload(seed: u64, ops: u64, stats: &mut Stats) {
    let dir = scratch();
    let path = dir.path().join("store.dat");
    let image_path = dir.path().join("image.dat");
    let mut rng = Rng(seed);
    let mut store: Store<Rec> = StoreOptions::new().create_raw(&path).unwrap();
    let sim = simulate(&mut store, &path, &image_path, seed ^ 0x7a3);
    sim.lock().unwrap().raw = Some(RawModel::default());
    let mut version = 1u64;
    for _ in 0..ops {
        let len = store.len() as u64;
        let roll = rng.below(100);
        {
            let mut s = sim.lock().unwrap();
            let m = s.raw.as_mut().unwrap();
            m.exact = false;
            if roll < 30 {
                m.write(len, version);
                store.push(rec(len, version)).unwrap();
                version += 1;
            } else if roll < 55 && len > 0 {
                let i = rng.below(len);
                m.write(i, version);
                store[i as usize] = rec(i, version);
                version += 1;
            } else if roll < 62 {
                let n = 1 + rng.below(80);
                let recs: Vec<Rec> = (0..n).map(|k| rec(len + k, version + k)).collect();
                for k in 0..n {
                    m.write(len + k, version + k);
                }
                store.extend_from_slice(&recs).unwrap();
                version += n;
            } else if roll < 72 || len > 300 {
                let n = rng.below(len + 1);
                m.now.truncate(n as usize);
                store.truncate(n as usize);
            } else if roll < 75 {
                store.reserve(rng.below(100) as usize).unwrap();
            }
        }
        if roll >= 75 {
            if roll < 80 {
                store.shrink_to_fit().unwrap();
            } else {
                store.flush().unwrap();
            }
            let mut s = sim.lock().unwrap();
            s.settle();
            s.raw.as_mut().unwrap().flushed();
            let size = fs::metadata(&path).unwrap().len();
            assert_eq!(
                size,
                store.len() as u64 * 64,
                "seed {seed}: a flushed raw file"
            );
        }
        let mut s = sim.lock().unwrap();
        s.cut();
        if let Some(f) = &s.failure {
            panic!("raw, seed {seed}: {f}");
        }
    }
    let s = sim.lock().unwrap();
    stats.add(&s.stats);
}

/// The number of power cuts of the native workload: `FIXREC_POWER_CUTS`, or 10,000.
fn power_cuts() -> u64 {
    match std::env::var("FIXREC_POWER_CUTS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("FIXREC_POWER_CUTS={v:?} is not a number")),
        Err(_) => 10_000,
    }
}

#[test]
fn power_cuts_in_a_raw_file_keep_exactly_what_was_flushed() {
    let mut stats = Stats::default();
    let mut seed = 0x5a3_u64;
    while stats.cuts < power_cuts() * 3 / 10 {
        run_raw_workload(seed, 300, &mut stats);
        seed += 1;
    }
    println!("power loss, raw: {stats:?}");
    assert!(
        stats.cut_syncs > power_cuts() / 100,
        "too few cuts of the file: {stats:?}"
    );
}

#[test]
fn power_cuts_at_every_sync_leave_a_committed_state() {
    let mut stats = Stats::default();
    let mut seed = 0x9041_u64;
    while stats.cuts < power_cuts() {
        run_workload(seed, 400, &mut stats);
        seed += 1;
    }
    println!("power loss: {stats:?}");
    assert!(stats.meta_cuts > power_cuts() / 10, "{stats:?}");
    assert!(
        stats.cut_syncs > power_cuts() / 100,
        "too few shrinks: {stats:?}"
    );
    assert!(
        stats.in_flight_won > 0,
        "no image ever held the commit in flight"
    );
}

// ---------------------------------------------------------------------------------------
// Exhaustive damage of a file with two commits.

struct Fixture {
    _dir: tempfile::TempDir,
    image: PathBuf,
    /// The file after commits 1 (len 0), 2 (len 5) and 3 (len 8).
    bytes: Vec<u8>,
    /// Page 0 after commit 2, before commit 3.
    page0_before: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = scratch();
    let path = dir.path().join("store.fxr");
    let mut store = StoreOptions::new().capacity(16).create(&path).unwrap();
    for i in 0..5 {
        store.push(rec(i, 100 + i)).unwrap();
    }
    store.flush().unwrap();
    let page0_before = fs::read(&path).unwrap()[..PAGE].to_vec();
    for i in 5..8 {
        store.push(rec(i, 100 + i)).unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.table().generation(), 3);
    drop(store);
    Fixture {
        image: dir.path().join("image.fxr"),
        bytes: fs::read(&path).unwrap(),
        page0_before,
        _dir: dir,
    }
}

impl Fixture {
    /// Opens `img`: `Ok(generation)` after checking len and records against the two
    /// commits, or the error's message.
    fn open(&self, img: &[u8]) -> Result<u64, String> {
        fs::write(&self.image, img).unwrap();
        let store = match Store::<Rec>::open_read_only(&self.image) {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&*self.image.to_string_lossy()),
                    "an error that does not name the file: {msg}"
                );
                return Err(msg);
            }
        };
        let generation = store.table().generation();
        let len = match generation {
            2 => 5,
            3 => 8,
            g => panic!("opened generation {g}, which is neither commit"),
        };
        assert_eq!(store.len(), len, "generation {generation}");
        for (i, r) in store.iter().enumerate() {
            assert_eq!(*r, rec(i as u64, 100 + i as u64), "record {i}");
        }
        Ok(generation)
    }
}

fn header_len() -> usize {
    format::header_len(4)
}

#[test]
fn every_single_byte_corruption_of_the_header_page_opens_a_commit_or_fails_clearly() {
    let f = fixture();
    assert_eq!(f.open(&f.bytes), Ok(3));
    let slot3 = META_OFFSETS[1];
    let checked = |p: usize| {
        p < format::SUPERBLOCK_SIZE || (format::FIELD_TABLE_OFFSET..header_len()).contains(&p)
    };
    let mut refused = 0;
    for p in 0..PAGE {
        for x in [0x01u8, 0x80, 0xff] {
            let mut img = f.bytes.clone();
            img[p] ^= x;
            let got = f.open(&img);
            if checked(p) {
                assert!(
                    got.is_err(),
                    "byte {p} ^ {x:#x} of the superblock was accepted"
                );
                refused += 1;
            } else if (slot3..slot3 + META_SIZE).contains(&p) {
                assert_eq!(got, Ok(2), "byte {p} ^ {x:#x} of the newer slot");
            } else {
                // The older slot, or bytes no one reads: the newest commit stands.
                assert_eq!(got, Ok(3), "byte {p} ^ {x:#x}");
            }
        }
    }
    assert_eq!(
        refused,
        3 * (64 + header_len() - format::FIELD_TABLE_OFFSET)
    );
}

#[test]
fn every_tear_of_a_meta_slot_leaves_the_previous_commit() {
    let f = fixture();
    // Commit 3 wrote slot 1 over commit 1; commit 2 wrote slot 0 over zeros.
    let slot = META_OFFSETS[1];
    let new = f.bytes[slot..slot + META_SIZE].to_vec();
    let old = f.page0_before[slot..slot + META_SIZE].to_vec();
    for k in 0..=META_SIZE {
        let mut img = f.bytes.clone();
        img[slot..slot + k].copy_from_slice(&new[..k]);
        img[slot + k..slot + META_SIZE].copy_from_slice(&old[k..]);
        let want = if k == META_SIZE || new[k..] == old[k..] {
            3
        } else {
            2
        };
        assert_eq!(f.open(&img), Ok(want), "slot 1 torn at byte {k}");
        // The same tear with the new bytes last (a write that lands out of order).
        let mut img = f.bytes.clone();
        img[slot..slot + k].copy_from_slice(&old[..k]);
        let want = if k == 0 || new[..k] == old[..k] { 3 } else { 2 };
        assert_eq!(
            f.open(&img),
            Ok(want),
            "slot 1 torn at byte {k}, suffix new"
        );
    }
    // Slot 0 (commit 2) torn over zeros, with slot 1 holding commit 1: commit 1 (len 0)
    // must win. Build that file from the first page before commit 3.
    let slot = META_OFFSETS[0];
    for k in 0..META_SIZE {
        let mut img = f.bytes.clone();
        img[..PAGE].copy_from_slice(&f.page0_before);
        let intact = img[slot + k..slot + META_SIZE].iter().all(|&b| b == 0);
        img[slot + k..slot + META_SIZE].fill(0);
        fs::write(&f.image, &img).unwrap();
        let store = Store::<Rec>::open_read_only(&f.image).unwrap();
        let want = if intact { (2, 5) } else { (1, 0) };
        assert_eq!(
            (store.table().generation(), store.len()),
            want,
            "slot 0 torn at byte {k}"
        );
    }
}

#[test]
fn every_sector_subset_of_the_header_page_between_two_commits_opens_one_of_them() {
    let f = fixture();
    let sectors = PAGE / SECTOR;
    let slot_sector = META_OFFSETS[1] / SECTOR;
    for mask in 0u32..(1 << sectors) {
        let mut img = f.bytes.clone();
        for s in 0..sectors {
            if mask & (1 << s) == 0 {
                let r = s * SECTOR..(s + 1) * SECTOR;
                img[r.clone()].copy_from_slice(&f.page0_before[r]);
            }
        }
        let want = if mask & (1 << slot_sector) != 0 { 3 } else { 2 };
        assert_eq!(f.open(&img), Ok(want), "sectors {mask:#010b} new");
    }
}

#[test]
fn every_tear_of_the_superblock_write_is_refused() {
    let f = fixture();
    let hl = header_len();
    let checked = |img: &[u8]| {
        img[..64] == f.bytes[..64]
            && img[format::FIELD_TABLE_OFFSET..hl] == f.bytes[format::FIELD_TABLE_OFFSET..hl]
    };
    for k in 0..=hl {
        // The header was written at creation in one pwrite: bytes 0..k landed, the rest
        // is still zero (the meta slots, written later, are intact).
        let mut img = f.bytes.clone();
        for (p, b) in img.iter_mut().enumerate().take(hl).skip(k) {
            if !(META_OFFSETS[0]..META_OFFSETS[1] + META_SIZE).contains(&p) {
                *b = 0;
            }
        }
        let got = f.open(&img);
        if checked(&img) {
            assert_eq!(got, Ok(3), "superblock torn at byte {k}");
        } else {
            assert!(got.is_err(), "superblock torn at byte {k} was accepted");
        }
    }
    // Torn at sectors: any subset of the header's sectors, the rest zero.
    for mask in 0u32..16 {
        let mut img = f.bytes.clone();
        for s in 0..4 {
            if mask & (1 << s) == 0 {
                let sector = s * SECTOR..(s + 1) * SECTOR;
                for (b, p) in img[sector.clone()].iter_mut().zip(sector) {
                    if !(META_OFFSETS[0]..META_OFFSETS[1] + META_SIZE).contains(&p) {
                        *b = 0;
                    }
                }
            }
        }
        let got = f.open(&img);
        assert_eq!(
            got.is_ok(),
            checked(&img),
            "header sectors {mask:#06b}: {got:?}"
        );
    }
}

#[test]
fn a_crash_inside_create_leaves_a_file_that_open_refuses() {
    let f = fixture();
    // Header written and synced, meta slots not yet: no committed state.
    let mut img = f.bytes.clone();
    for &at in &META_OFFSETS {
        img[at..at + META_SIZE].fill(0);
    }
    let e = f.open(&img).unwrap_err();
    assert!(e.contains("meta slots are invalid"), "{e}");
    // Nothing written yet, or a part of the header.
    for n in [0, 1, 8, 63, 64, 600] {
        assert!(f.open(&f.bytes[..n]).is_err(), "{n} bytes");
    }
}

/// Regression: `flush` of a store that grew while empty committed the new capacity with
/// no msync of the data range (it was empty), so nothing made the grown file size
/// durable before the meta page could reach the disk: after a power cut the meta said
/// capacity 5001 and the file was 4160 bytes long, and open refused it (`DataPastEnd`).
#[test]
fn growth_of_an_empty_store_is_durable_before_its_commit() {
    // len 0: the data sync has nothing to sync, so only the meta commit's msync is left
    // to make the grown file size durable.
    let dir = scratch();
    let path = dir.path().join("store.fxr");
    let image_path = dir.path().join("image.fxr");
    let mut store: Store<Rec> = StoreOptions::new().capacity(1).create(&path).unwrap();
    let sim = simulate(&mut store, &path, &image_path, 7);
    store.reserve(5000).unwrap();
    for _ in 0..20 {
        registered_flush(&mut store, &sim);
    }
    let s = sim.lock().unwrap();
    assert_eq!(s.failure, None);
}
