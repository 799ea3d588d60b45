//! The workloads of `fixrec bench` for mapped (fixrec `Store`), buffered (std
//! `BufReader`/`BufWriter` with seek) and positional (`read_at`/`write_at`) IO, as
//! criterion benches: `scan`, `get_uniform`, `get_zipf`, `update`, `append` and
//! `commit_k10` (10 updates, then a durable commit). Each bench id names the workload,
//! its size and the method, e.g. `get_zipf/records=20000/mapped`.
//!
//! Every method reads the same 512-byte records at the same indexes, from files written
//! the same way (1 MiB writes, fsynced, then read back with 1 MiB reads) in a temporary
//! folder under the target directory. Run: `cargo bench --bench io`.
//! `fixrec bench` adds SQLite, LMDB, the floors and the cold cache.

#[path = "common/pio.rs"]
mod pio;
use pio::FileExt;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fixrec::{FixedStr, Store, StoreOptions, record};
use std::fs::File;
use std::hint::black_box;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`.
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

const RECORDS: usize = 20_000; // 10 MiB
const OPS: usize = 4096;
const RS: usize = 512;
const NAME_AT: usize = 256;
const METHODS: [&str; 3] = ["mapped", "buffered", "positional"];

fn member(i: usize) -> Member {
    Member {
        id: FixedStr::truncating(&i.to_string()),
        name: FixedStr::truncating(&format!("Member {i:08} of the io bench")),
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(n: usize, len: usize, seed: u64) -> Vec<usize> {
    let mut s = seed;
    (0..n)
        .map(|_| ((u128::from(splitmix(&mut s)) * len as u128) >> 64) as usize)
        .collect()
}

/// Zipf(0.99) ranks by inverse CDF, scattered over the file by a fixed permutation.
fn zipf(n: usize, len: usize, seed: u64) -> Vec<usize> {
    let mut cdf = Vec::with_capacity(len);
    let mut total = 0.0;
    for r in 0..len {
        total += 1.0 / ((r + 1) as f64).powf(0.99);
        cdf.push(total);
    }
    let mut s = seed;
    let mut perm: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        perm.swap(i, (splitmix(&mut s) % (i as u64 + 1)) as usize);
    }
    (0..n)
        .map(|_| {
            let u = (splitmix(&mut s) >> 11) as f64 / (1u64 << 53) as f64 * total;
            perm[cdf.partition_point(|&c| c <= u).min(len - 1)]
        })
        .collect()
}

fn sum_words(b: &[u8]) -> u64 {
    b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .fold(0, u64::wrapping_add)
}

/// The datasets: a fixrec store and a headerless file of the same records.
struct Files {
    _dir: tempfile::TempDir,
    store: PathBuf,
    raw: PathBuf,
    records: Vec<Member>,
}

fn read_through(path: &Path) {
    let mut f = File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

fn files() -> Files {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let records: Vec<Member> = (0..RECORDS).map(member).collect();
    let store = dir.path().join("members.fxr");
    let mut s: Store<Member> = StoreOptions::new()
        .capacity(RECORDS as u64)
        .create(&store)
        .unwrap();
    s.extend_from_slice(&records).unwrap();
    s.flush().unwrap();
    drop(s);
    let raw = dir.path().join("members.dat");
    let f = File::create_new(&raw).unwrap();
    for (n, chunk) in bytemuck::cast_slice::<Member, u8>(&records)
        .chunks(1 << 20)
        .enumerate()
    {
        f.write_all_at(chunk, (n << 20) as u64).unwrap();
    }
    f.sync_data().unwrap();
    read_through(&store);
    read_through(&raw);
    Files {
        _dir: dir,
        store,
        raw,
        records,
    }
}

fn open_rw(path: &Path) -> File {
    File::options().read(true).write(true).open(path).unwrap()
}

fn reads(c: &mut Criterion, f: &Files) {
    let cases = [
        ("scan", RECORDS, Vec::new()),
        ("get_uniform", OPS, uniform(OPS, RECORDS, 1)),
        ("get_zipf", OPS, zipf(OPS, RECORDS, 2)),
    ];
    for (name, ops, idx) in cases {
        let mut g = c.benchmark_group(format!("{name}/records={RECORDS}"));
        g.throughput(Throughput::Elements(ops as u64));
        let store = Store::<Member>::open_read_only(&f.store).unwrap();
        g.bench_function(BenchmarkId::from_parameter(METHODS[0]), |b| {
            b.iter(|| {
                if idx.is_empty() {
                    sum_words(bytemuck::cast_slice(store.as_slice()))
                } else {
                    idx.iter().fold(0u64, |s, &i| {
                        s.wrapping_add(sum_words(bytemuck::bytes_of(&store[i])))
                    })
                }
            })
        });
        let mut reader = BufReader::new(File::open(&f.raw).unwrap());
        g.bench_function(BenchmarkId::from_parameter(METHODS[1]), |b| {
            let mut rec = [0u8; RS];
            b.iter(|| {
                let mut sum = 0u64;
                if idx.is_empty() {
                    reader.seek(SeekFrom::Start(0)).unwrap();
                    for _ in 0..RECORDS {
                        reader.read_exact(&mut rec).unwrap();
                        sum = sum.wrapping_add(sum_words(&rec));
                    }
                } else {
                    for &i in &idx {
                        reader.seek(SeekFrom::Start((i * RS) as u64)).unwrap();
                        reader.read_exact(&mut rec).unwrap();
                        sum = sum.wrapping_add(sum_words(&rec));
                    }
                }
                sum
            })
        });
        let file = File::open(&f.raw).unwrap();
        g.bench_function(BenchmarkId::from_parameter(METHODS[2]), |b| {
            let mut rec = [0u8; RS];
            let mut chunk = vec![0u8; 128 << 10];
            b.iter(|| {
                let mut sum = 0u64;
                if idx.is_empty() {
                    let total = RECORDS * RS;
                    let mut at = 0;
                    while at < total {
                        let n = chunk.len().min(total - at);
                        file.read_exact_at(&mut chunk[..n], at as u64).unwrap();
                        sum = sum.wrapping_add(sum_words(&chunk[..n]));
                        at += n;
                    }
                } else {
                    for &i in &idx {
                        file.read_exact_at(&mut rec, (i * RS) as u64).unwrap();
                        sum = sum.wrapping_add(sum_words(&rec));
                    }
                }
                sum
            })
        });
        g.finish();
    }
}

/// Read-modify-write of the records at `idx` (8 bytes of the name), with a durable
/// commit after every `k` when `k > 0`.
fn writes(c: &mut Criterion, f: &Files) {
    for (name, k, n) in [("update", 0, OPS), ("commit_k10", 10, 10)] {
        let idx = uniform(n, RECORDS, 3);
        let mut g = c.benchmark_group(format!("{name}/records={RECORDS}"));
        g.throughput(Throughput::Elements(n as u64));
        if k > 0 {
            g.sample_size(20);
        }
        let stamp = |round: u64, j: usize| (round.wrapping_mul(31) ^ j as u64).to_le_bytes();
        let mut store = Store::<Member>::open(&f.store).unwrap();
        let mut round = 0u64;
        g.bench_function(BenchmarkId::from_parameter(METHODS[0]), |b| {
            b.iter(|| {
                round += 1;
                let mut sum = 0u64;
                for (j, &i) in idx.iter().enumerate() {
                    let bytes = bytemuck::bytes_of_mut(&mut store[i]);
                    sum = sum.wrapping_add(sum_words(bytes));
                    bytes[NAME_AT..NAME_AT + 8].copy_from_slice(&stamp(round, j));
                    if k > 0 && (j + 1) % k == 0 {
                        store.flush().unwrap();
                    }
                }
                sum
            })
        });
        drop(store);
        let file = open_rw(&f.raw);
        let mut reader = BufReader::new(file.try_clone().unwrap());
        let mut writer = BufWriter::new(file);
        g.bench_function(BenchmarkId::from_parameter(METHODS[1]), |b| {
            let mut rec = [0u8; RS];
            b.iter(|| {
                round += 1;
                let mut sum = 0u64;
                for (j, &i) in idx.iter().enumerate() {
                    reader.seek(SeekFrom::Start((i * RS) as u64)).unwrap();
                    reader.read_exact(&mut rec).unwrap();
                    sum = sum.wrapping_add(sum_words(&rec));
                    writer
                        .seek(SeekFrom::Start((i * RS + NAME_AT) as u64))
                        .unwrap();
                    writer.write_all(&stamp(round, j)).unwrap();
                    writer.flush().unwrap();
                    if k > 0 && (j + 1) % k == 0 {
                        writer.get_ref().sync_data().unwrap();
                    }
                }
                sum
            })
        });
        let file = open_rw(&f.raw);
        g.bench_function(BenchmarkId::from_parameter(METHODS[2]), |b| {
            let mut rec = [0u8; RS];
            b.iter(|| {
                round += 1;
                let mut sum = 0u64;
                for (j, &i) in idx.iter().enumerate() {
                    file.read_exact_at(&mut rec, (i * RS) as u64).unwrap();
                    sum = sum.wrapping_add(sum_words(&rec));
                    file.write_all_at(&stamp(round, j), (i * RS + NAME_AT) as u64)
                        .unwrap();
                    if k > 0 && (j + 1) % k == 0 {
                        file.sync_data().unwrap();
                    }
                }
                sum
            })
        });
        g.finish();
    }
}

/// Appends every record to a new, empty file (creating the file is not timed).
fn append(c: &mut Criterion, f: &Files) {
    let mut g = c.benchmark_group(format!("append/records={RECORDS}"));
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(20);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let target = dir.path().join("append");
    let fresh = || {
        let _ = std::fs::remove_file(&target);
        target.clone()
    };
    g.bench_function(BenchmarkId::from_parameter(METHODS[0]), |b| {
        b.iter_batched(
            || Store::<Member>::create(fresh()).unwrap(),
            |mut store| {
                for m in &f.records {
                    store.push(*m).unwrap();
                }
                store
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::from_parameter(METHODS[1]), |b| {
        b.iter_batched(
            || BufWriter::new(File::create_new(fresh()).unwrap()),
            |mut out| {
                for m in &f.records {
                    out.write_all(bytemuck::bytes_of(m)).unwrap();
                }
                out.flush().unwrap();
                out
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::from_parameter(METHODS[2]), |b| {
        b.iter_batched(
            || File::create_new(fresh()).unwrap(),
            |file| {
                for (i, m) in f.records.iter().enumerate() {
                    file.write_all_at(bytemuck::bytes_of(m), (i * RS) as u64)
                        .unwrap();
                }
                file
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn io(c: &mut Criterion) {
    let f = files();
    reads(c, &f);
    writes(c, &f);
    append(c, &f);
    black_box(&f);
}

criterion_group!(benches, io);
criterion_main!(benches);
