//! Store benchmarks for issue 2, each a ratio against its floor measured in the same run:
//!
//! - `random_get`: `Store::get` copying a 512-byte record out, vs `pread` of the same
//!   records from the same file (target: at least 5x).
//! - `scan`: iterating every record and summing its bytes as u64 words, vs summing the
//!   same mapped bytes with no store around them (target: at least 0.8x).
//! - `push`: pushing N 512-byte records into a new store, vs copying the same bytes into
//!   a fresh mapping of the final size (target: at least 0.5x). N is 1 M by default;
//!   `FIXREC_BENCH_PUSH_RECORDS=10000000` runs the 10 M. The remap count is
//!   printed (target: at most 40).
//! - `grow`: `reserve` taking a full 1 GiB store to 2 GiB (fallocate + mremap) vs a
//!   memcpy of 1 GiB: growth copies no data when it is orders of magnitude faster.
//!
//! Files live in a temporary folder under the target directory (the project's disk), all
//! written the same way. Run: `cargo bench --bench store`.

#[path = "common/pio.rs"]
mod pio;
use pio::FileExt;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use fixrec::{FixedStr, Store, StoreOptions, record};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`.
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

const RECORDS: usize = 200_000; // 100 MiB, page-cache resident
const LOOKUPS: usize = 4096;

fn member(i: usize) -> Member {
    Member {
        id: FixedStr::truncating(&i.to_string()),
        name: FixedStr::truncating(&format!("member number {i}")),
    }
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

fn make_store(path: &Path, n: usize) {
    let mut s = Store::<Member>::create(path).expect("create");
    for i in 0..n {
        s.push(member(i)).expect("push");
    }
    s.flush().expect("flush");
}

/// The same pseudo-random index sequence for every method (splitmix64).
fn indices(n: usize, len: usize) -> Vec<usize> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % len as u64) as usize
        })
        .collect()
}

fn sum_words(bytes: &[u8]) -> u64 {
    bytemuck::cast_slice::<u8, u64>(bytes)
        .iter()
        .fold(0u64, |a, &w| a.wrapping_add(w))
}

fn random_get_and_scan(c: &mut Criterion) {
    let dir = tmpdir();
    let path = dir.path().join("members.fxr");
    make_store(&path, RECORDS);
    let store = Store::<Member>::open_read_only(&path).unwrap();
    let data_offset = store.table().data_offset() as u64;
    let file = std::fs::File::open(&path).unwrap();
    let idx = indices(LOOKUPS, RECORDS);

    let mut g = c.benchmark_group("random_get");
    g.throughput(Throughput::Elements(LOOKUPS as u64));
    g.bench_function(
        BenchmarkId::new("fixrec_get", format!("records={RECORDS}/size=512")),
        |b| {
            b.iter(|| {
                for &i in &idx {
                    let rec: Member = *store.get(i).unwrap();
                    black_box(rec);
                }
            })
        },
    );
    g.bench_function(
        BenchmarkId::new("pread", format!("records={RECORDS}/size=512")),
        |b| {
            let mut buf = [0u8; 512];
            b.iter(|| {
                for &i in &idx {
                    file.read_exact_at(&mut buf, data_offset + i as u64 * 512)
                        .unwrap();
                    black_box(&buf);
                }
            })
        },
    );
    g.finish();

    // SAFETY: the file is not modified or truncated while this benchmark runs.
    let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
    let raw = &map[data_offset as usize..data_offset as usize + RECORDS * 512];
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Bytes((RECORDS * 512) as u64));
    g.bench_function(
        BenchmarkId::new("fixrec_iter", format!("records={RECORDS}/size=512")),
        |b| {
            b.iter(|| {
                let mut sum = 0u64;
                for rec in store.iter() {
                    sum = sum.wrapping_add(sum_words(bytemuck::bytes_of(rec)));
                }
                black_box(sum)
            })
        },
    );
    g.bench_function(
        BenchmarkId::new("raw_mmap_sum", format!("records={RECORDS}/size=512")),
        |b| b.iter(|| black_box(sum_words(raw))),
    );
    g.finish();
}

fn push_records() -> usize {
    std::env::var("FIXREC_BENCH_PUSH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn push(c: &mut Criterion) {
    let n = push_records();
    let dir = tmpdir();
    let recs: Vec<Member> = (0..1024).map(member).collect();
    let mut g = c.benchmark_group("push");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(n as u64));
    let id = format!("records={n}/size=512");
    g.bench_function(BenchmarkId::new("fixrec_push", &id), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = dir.path().join("push.fxr");
                let start = Instant::now();
                let mut s = Store::<Member>::create(&path).unwrap();
                for i in 0..n {
                    s.push(recs[i % recs.len()]).unwrap();
                }
                total += start.elapsed();
                eprintln!("fixrec_push: {n} records, {} remaps", s.table().remaps());
                drop(s);
                std::fs::remove_file(&path).unwrap();
            }
            total
        })
    });
    g.bench_function(BenchmarkId::new("copy_into_fresh_map", &id), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = dir.path().join("copy.bin");
                let start = Instant::now();
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .unwrap();
                f.set_len((n * 512) as u64).unwrap();
                // SAFETY: a private new file nobody else maps or truncates.
                let mut map = unsafe { memmap2::MmapMut::map_mut(&f).unwrap() };
                for (i, dst) in map.chunks_exact_mut(512).enumerate() {
                    dst.copy_from_slice(bytemuck::bytes_of(&recs[i % recs.len()]));
                }
                total += start.elapsed();
                drop(map);
                std::fs::remove_file(&path).unwrap();
            }
            total
        })
    });
    g.finish();
}

fn grow(c: &mut Criterion) {
    const GIB: usize = 1 << 30;
    let dir = tmpdir();
    let per_gib = GIB / 512;
    let rec = member(7);
    let mut g = c.benchmark_group("grow");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.bench_function("fixrec_reserve/1GiB_to_2GiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = dir.path().join("grow.fxr");
                let mut s: Store<Member> = StoreOptions::new()
                    .capacity(per_gib as u64)
                    .create(&path)
                    .unwrap();
                s.extend_from_slice(&vec![rec; per_gib]).unwrap();
                let start = Instant::now();
                s.reserve(1).unwrap();
                total += start.elapsed();
                assert_eq!(s.capacity(), 2 * per_gib);
                assert_eq!(s[per_gib - 1].id, rec.id); // the data is still there
                drop(s);
                std::fs::remove_file(&path).unwrap();
            }
            total
        })
    });
    g.bench_function("memcpy/1GiB", |b| {
        let src = vec![1u8; GIB];
        let mut dst = vec![0u8; GIB];
        b.iter(|| {
            dst.copy_from_slice(&src);
            black_box(&dst);
        })
    });
    g.finish();
}

criterion_group!(benches, random_get_and_scan, push, grow);
criterion_main!(benches);
