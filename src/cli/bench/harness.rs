//! Runs and times the cases: the datasets written once, then for each case and method a
//! warm-up, the measured runs (their median is reported) and the checksum of what was
//! read; the reference floors beside them.

use super::methods::{self, Backend, Csv, Method, Records, Source};
use super::os;
use super::report::{MEMCPY, Measurement, RAW_MMAP};
use super::workloads::{Case, Member, RECORD, Workload, member, sum_words};
use anyhow::{Context, Result};
use fixrec::Store;
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How the datasets were written and cached: printed, and kept in the JSON.
pub fn files_note(fill: os::Fill) -> String {
    format!(
        "each method's dataset is written once (fixrec with extend_from_slice, written in 64 KiB pwrite batches, + \
         flush; std IO files with 1 MiB pwrite calls + fdatasync; SQLite and LMDB by their engines \
         in one durable transaction), then fsynced, dropped from the page cache with \
         posix_fadvise(DONTNEED) and {}, so every file enters the page cache the same way; warm \
         cases keep the file open across the warm-up and measured runs",
        fill.describe()
    )
}

pub struct Config {
    pub fill: os::Fill,
    pub records: usize,
    pub warmup: usize,
    pub repeats: usize,
    pub methods: Vec<Method>,
}

/// The datasets of a run.
pub struct Data {
    dir: PathBuf,
    records: Vec<Member>,
    csv: PathBuf,
    /// Where records start in fixrec's file (for the raw mapped read).
    data_offset: usize,
}

/// The floors measured beside the methods in a case.
fn floors(case: &Case) -> &'static [&'static str] {
    match case.workload {
        Workload::Scan => &[RAW_MMAP, MEMCPY],
        Workload::ScanCold | Workload::GetUniform | Workload::GetZipf | Workload::GetCold => {
            &[RAW_MMAP]
        }
        _ => &[],
    }
}

/// Runs in the whole benchmark, for the progress bar.
pub fn runs(config: &Config, cases: &[Case]) -> usize {
    cases
        .iter()
        .map(|c| (config.methods.len() + floors(c).len()) * (config.warmup + config.repeats))
        .sum()
}

/// Writes every method's dataset (and fixrec's, which the floors read, always), the CSV
/// file for imports, and brings them all into the page cache the same way.
pub fn prepare(config: &Config, dir: &Path, workloads: &[Workload]) -> Result<Data> {
    let records: Vec<Member> = (0..config.records as u64).map(member).collect();
    let mut all = config.methods.clone();
    if !all.contains(&Method::Fixrec) {
        all.push(Method::Fixrec);
    }
    for &m in &all {
        let path = m.path(dir);
        methods::create(m, &path, &records)
            .with_context(|| format!("cannot write the {} dataset", m.name()))?;
        for f in m.data_files(&path) {
            if f.exists() {
                os::recache(&f, config.fill)?;
            }
        }
    }
    let csv = dir.join("members.csv");
    if workloads.contains(&Workload::ImportCsv) {
        let mut w = csv::Writer::from_path(&csv)?;
        w.write_record(["id", "name"])?;
        for m in &records {
            w.write_record([m.id.as_str()?, m.name.as_str()?])?;
        }
        w.flush()?;
    }
    let data_offset = Store::<Member>::open_read_only(Method::Fixrec.path(dir))?
        .table()
        .data_offset();
    Ok(Data {
        dir: dir.to_owned(),
        records,
        csv,
        data_offset,
    })
}

/// Runs `run` warm-up + repeats times; returns the measured times and the last
/// checksum.
fn time_runs(
    config: &Config,
    progress: &ProgressBar,
    mut run: impl FnMut(u32) -> Result<(u64, Duration)>,
) -> Result<(Vec<u64>, u64)> {
    let mut times = Vec::with_capacity(config.repeats);
    let mut checksum = 0;
    for r in 0..config.warmup + config.repeats {
        let (sum, elapsed) = run(r as u32)?;
        if r >= config.warmup {
            times.push(elapsed.as_nanos().max(1) as u64);
        }
        checksum = sum;
        progress.inc(1);
    }
    Ok((times, checksum))
}

fn timed(f: impl FnOnce() -> Result<u64>) -> Result<(u64, Duration)> {
    let t = Instant::now();
    let sum = f()?;
    Ok((sum, t.elapsed()))
}

fn drop_all(method: Method, path: &Path) -> Result<()> {
    for f in method.data_files(path) {
        if f.exists() {
            os::drop_cache(&f)?;
        }
    }
    Ok(())
}

/// Removes a dataset that a load created.
fn remove_dataset(method: Method, path: &Path) -> Result<()> {
    if method == Method::Lmdb {
        if path.exists() {
            std::fs::remove_dir_all(path)?;
        }
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Whether a workload's runs of all methods are interleaved (A B C D A B C D ...): the
/// ones that open each dataset once, so that a drift of the disk or the machine during
/// the case hits every method alike.
fn interleaves(w: Workload) -> bool {
    matches!(
        w,
        Workload::Scan
            | Workload::GetUniform
            | Workload::GetZipf
            | Workload::Update
            | Workload::Commit
    )
}

/// Every method's runs of an [`interleaves`] case, round by round: each round runs each
/// method once, in the order of `config.methods`.
fn measure_interleaved(
    config: &Config,
    data: &Data,
    case: &Case,
    progress: &ProgressBar,
) -> Result<Vec<(Vec<u64>, u64)>> {
    let idx = &case.indexes[..];
    let durable = case.durable();
    let writes = matches!(case.workload, Workload::Update | Workload::Commit);
    let mut backends = Vec::new();
    for &m in &config.methods {
        let b = methods::open(m, &m.path(&data.dir), durable)
            .with_context(|| format!("open {}", m.name()))?;
        backends.push(b);
    }
    let mut out = vec![(Vec::with_capacity(config.repeats), 0u64); backends.len()];
    for r in 0..config.warmup + config.repeats {
        for (k, b) in backends.iter_mut().enumerate() {
            let b: &mut dyn Backend = &mut **b;
            let salt = case.salt + r as u32;
            let (sum, elapsed) = timed(|| match case.workload {
                Workload::Scan => b.scan(),
                Workload::Update => b.update(idx, None, salt),
                Workload::Commit => b.update(idx, Some(case.k), salt),
                _ => b.get(idx),
            })
            .with_context(|| config.methods[k].name())?;
            if writes {
                b.settle()?;
            }
            if r >= config.warmup {
                out[k].0.push(elapsed.as_nanos().max(1) as u64);
            }
            out[k].1 = sum;
            progress.inc(1);
        }
    }
    Ok(out)
}

/// One method's runs of one case.
fn measure_method(
    config: &Config,
    data: &Data,
    case: &Case,
    m: Method,
    progress: &ProgressBar,
) -> Result<(Vec<u64>, u64)> {
    let path = m.path(&data.dir);
    let idx = &case.indexes[..];
    let durable = case.durable();
    match case.workload {
        Workload::Scan
        | Workload::GetUniform
        | Workload::GetZipf
        | Workload::Update
        | Workload::Commit => {
            let mut b = methods::open(m, &path, durable)?;
            let writes = matches!(case.workload, Workload::Update | Workload::Commit);
            time_runs(config, progress, |run| {
                let b: &mut dyn Backend = &mut *b;
                let salt = case.salt + run;
                let out = timed(|| match case.workload {
                    Workload::Scan => b.scan(),
                    Workload::Update => b.update(idx, None, salt),
                    Workload::Commit => b.update(idx, Some(case.k), salt),
                    _ => b.get(idx),
                })?;
                if writes {
                    b.settle()?;
                }
                Ok(out)
            })
        }
        Workload::ScanCold | Workload::GetCold => time_runs(config, progress, |_| {
            drop_all(m, &path)?;
            let mut b = methods::open(m, &path, false)?;
            timed(|| match case.workload {
                Workload::ScanCold => b.scan(),
                _ => b.get(idx),
            })
        }),
        Workload::Open | Workload::OpenCold => time_runs(config, progress, |_| {
            let mut total = Duration::ZERO;
            let mut sum = 0u64;
            for &i in idx {
                if case.workload == Workload::OpenCold {
                    drop_all(m, &path)?;
                }
                let (s, t) = timed(|| methods::open_and_read(m, &path, i))?;
                sum = sum.wrapping_add(s);
                total += t;
            }
            Ok((sum, total))
        }),
        Workload::Append | Workload::ImportCsv => {
            let load_dir = data.dir.join("load");
            std::fs::create_dir_all(&load_dir)?;
            let target = m.path(&load_dir);
            let records = Records(&data.records);
            let csv = Csv(&data.csv);
            let src: &dyn Source = if case.workload == Workload::Append {
                &records
            } else {
                &csv
            };
            time_runs(config, progress, |_| {
                remove_dataset(m, &target)?;
                let elapsed = methods::load(m, &target, src, durable)?;
                // Read back what was written: the checksum proves the load happened.
                let sum = methods::open(m, &target, false)?.scan()?;
                remove_dataset(m, &target)?;
                Ok((sum, elapsed))
            })
        }
    }
}

/// A mapping of fixrec's file with no store around it.
fn raw_map(path: &Path) -> Result<memmap2::Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the benchmark's own scratch file; nothing truncates or writes it while
    // the floor reads it (the store that wrote it is closed).
    Ok(unsafe { memmap2::Mmap::map(&file)? })
}

fn raw_read(map: &memmap2::Mmap, data: &Data, case: &Case) -> u64 {
    let at = data.data_offset;
    match case.workload {
        Workload::Scan | Workload::ScanCold => {
            sum_words(&map[at..at + data.records.len() * RECORD])
        }
        _ => case.indexes.iter().fold(0u64, |sum, &i| {
            let at = at + i as usize * RECORD;
            sum.wrapping_add(sum_words(&map[at..at + RECORD]))
        }),
    }
}

/// A floor's runs of one case.
fn measure_floor(
    config: &Config,
    data: &Data,
    case: &Case,
    floor: &str,
    progress: &ProgressBar,
) -> Result<(Vec<u64>, u64)> {
    let path = Method::Fixrec.path(&data.dir);
    if floor == MEMCPY {
        let src: &[u8] = bytemuck::cast_slice(&data.records);
        let mut dst = vec![1u8; src.len()];
        return time_runs(config, progress, |_| {
            let t = Instant::now();
            dst.copy_from_slice(std::hint::black_box(src));
            let elapsed = t.elapsed();
            Ok((sum_words(std::hint::black_box(&dst)), elapsed))
        });
    }
    if case.workload.cold() {
        time_runs(config, progress, |_| {
            os::drop_cache(&path)?;
            let map = raw_map(&path)?;
            timed(|| Ok(raw_read(&map, data, case)))
        })
    } else {
        let map = raw_map(&path)?;
        time_runs(config, progress, |_| {
            timed(|| Ok(raw_read(&map, data, case)))
        })
    }
}

/// Every method's and floor's measurement of `case`.
pub fn measure_case(
    config: &Config,
    data: &Data,
    case: &Case,
    progress: &ProgressBar,
) -> Result<Vec<Measurement>> {
    let id = case.id();
    let cache = if case.workload.cold() { "cold" } else { "warm" };
    let mut out = Vec::new();
    let mut record = |name: &str, floor: bool, (times, sum): (Vec<u64>, u64), durability: &str| {
        out.push(Measurement::new(
            id.clone(),
            cache,
            name,
            floor,
            config.records,
            case.ops,
            case.bytes_per_op,
            config.warmup,
            times,
            sum,
            durability,
        ));
    };
    let mut interleaved = if interleaves(case.workload) {
        progress.set_message(format!("{id}: methods interleaved"));
        measure_interleaved(config, data, case, progress)
            .with_context(|| id.clone())?
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; config.methods.len()]
    };
    for (k, &m) in config.methods.iter().enumerate() {
        progress.set_message(format!("{id}: {}", m.name()));
        let runs = match interleaved[k].take() {
            Some(runs) => runs,
            None => measure_method(config, data, case, m, progress)
                .with_context(|| format!("{id} with {}", m.name()))?,
        };
        let durability = match case.workload {
            Workload::Update | Workload::Append | Workload::ImportCsv | Workload::Commit => {
                m.durability(case.durable())
            }
            _ => "-",
        };
        record(m.name(), false, runs, durability);
    }
    for &floor in floors(case) {
        progress.set_message(format!("{id}: {floor} (floor)"));
        let runs = measure_floor(config, data, case, floor, progress)
            .with_context(|| format!("{id}: the {floor} floor"))?;
        record(floor, true, runs, "-");
    }
    Ok(out)
}
