//! CSV import and export of a 1 M-row Member file (issue 3's targets), side by side in one
//! run:
//!
//! - `csv_parse_only`: the csv crate alone reading every row (the floor);
//! - `fixrec_import`: `fixrec import NEW.fxr INPUT.csv --create --schema ...`, the real
//!   binary, one durable commit at the end (targets: at least 1 M records/s, and at most
//!   1.5x the parse alone);
//! - `fixrec_export`: `fixrec export FILE -o OUT.csv` of the same records (target: at
//!   least as fast as the import);
//! - `fixrec_export_parquet` and `fixrec_import_parquet`: the same records to a Parquet
//!   file (`--format parquet`, Snappy) and from it into a new store, also one durable
//!   commit (target: at least as fast as the CSV export and import);
//! - `write_same_bytes/page_cache` and `write_same_bytes/synced`: the floor under any
//!   import, writing the import's output (n 512-byte records) to a new file with 1 MiB
//!   `pwrite`s, without and with the `fdatasync` that a durable commit needs. No parsing,
//!   no checks, no header: only the bytes.
//!
//! The input is generated from the names in `data/members.csv`, ids `M0000001`... The
//! store lives on the project's disk (a temporary folder under the target directory).
//! Run: `cargo bench --bench import` (`FIXREC_BENCH_IMPORT_ROWS` changes the row count).

#[path = "common/pio.rs"]
mod pio;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SCHEMA: &str = "id:str[256],name:str[256]";

fn rows() -> usize {
    std::env::var("FIXREC_BENCH_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn write_input(path: &Path, n: usize) {
    let sample = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/members.csv"))
        .expect("data/members.csv");
    let names: Vec<&str> = sample
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(',').map(|(_, name)| name))
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,name").unwrap();
    for i in 0..n {
        writeln!(out, "M{:07},{}", i + 1, names[i % names.len()]).unwrap();
    }
    out.flush().unwrap();
}

fn fixrec(args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
        .args(args)
        .output()
        .expect("run fixrec");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "fixrec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn import_export(c: &mut Criterion) {
    let n = rows();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let input = dir.path().join("members.csv");
    write_input(&input, n);
    let input_s = input.to_str().unwrap();
    let store = dir.path().join("members.fxr");
    let store_s = store.to_str().unwrap();

    let mut g = c.benchmark_group("csv");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n as u64));
    let id = format!("rows={n}/record=512");
    g.bench_function(format!("csv_parse_only/{id}"), |b| {
        b.iter(|| {
            let mut r = csv::Reader::from_path(&input).unwrap();
            let mut rec = csv::ByteRecord::new();
            let mut bytes = 0usize;
            while r.read_byte_record(&mut rec).unwrap() {
                bytes += rec.as_slice().len();
            }
            black_box(bytes)
        })
    });
    g.bench_function(format!("fixrec_import/{id}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let _ = std::fs::remove_file(&store);
                    fixrec(&["import", store_s, input_s, "--create", "--schema", SCHEMA])
                })
                .sum()
        })
    });
    let records = vec![0x5au8; 1 << 20];
    let same = dir.path().join("same-bytes.bin");
    for (name, sync) in [("page_cache", false), ("synced", true)] {
        g.bench_function(format!("write_same_bytes/{name}/{id}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let _ = std::fs::remove_file(&same);
                        let start = Instant::now();
                        write_bytes(&same, n * 512, &records, sync);
                        start.elapsed()
                    })
                    .sum()
            })
        });
    }
    let _ = std::fs::remove_file(&same);
    let output = dir.path().join("out.csv");
    let output_s = output.to_str().unwrap();
    g.bench_function(format!("fixrec_export/{id}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| fixrec(&["export", store_s, "--format", "csv", "-o", output_s]))
                .sum()
        })
    });
    let parquet = dir.path().join("out.parquet");
    let parquet_s = parquet.to_str().unwrap();
    g.bench_function(format!("fixrec_export_parquet/{id}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| fixrec(&["export", store_s, "--format", "parquet", "-o", parquet_s]))
                .sum()
        })
    });
    let from_parquet = dir.path().join("from-parquet.fxr");
    let from_parquet_s = from_parquet.to_str().unwrap();
    g.bench_function(format!("fixrec_import_parquet/{id}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let _ = std::fs::remove_file(&from_parquet);
                    fixrec(&["import", from_parquet_s, parquet_s, "--create"])
                })
                .sum()
        })
    });
    g.finish();
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(&output).unwrap(),
        "export must give back the imported file"
    );
    fixrec(&["export", from_parquet_s, "--format", "csv", "-o", output_s]);
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(&output).unwrap(),
        "the store imported from Parquet must export the same CSV"
    );
}

/// Writes `total` bytes to a new file at `path` in `chunk`-sized `pwrite`s, then
/// `fdatasync`s it when `sync`.
fn write_bytes(path: &Path, total: usize, chunk: &[u8], sync: bool) {
    use pio::FileExt;
    let file = std::fs::File::create_new(path).unwrap();
    let mut at = 0;
    while at < total {
        let n = chunk.len().min(total - at);
        file.write_all_at(&chunk[..n], at as u64).unwrap();
        at += n;
    }
    if sync {
        file.sync_data().unwrap();
    }
}

criterion_group!(benches, import_export);
criterion_main!(benches);
