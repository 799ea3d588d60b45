//! `fixrec bench` in a tiny configuration: every method and workload is measured, the
//! counts are right, and every method read the same bytes (equal checksums), so none can
//! skip its work. Timings are never asserted.
//!
//! Unix only: the harness drops each file from the page cache (`posix_fadvise`), which
//! Windows cannot do for one file; `fixrec bench` says so there.
#![cfg(unix)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

const RECORDS: u64 = 3000;
const METHODS: [&str; 5] = ["fixrec", "buffered", "positional", "sqlite", "lmdb"];
const WORKLOADS: [&str; 13] = [
    "scan",
    "get-uniform",
    "get-zipf",
    "open",
    "update",
    "append",
    "import-csv",
    "commit-k1",
    "commit-k10",
    "commit-k100",
    "scan-cold",
    "get-cold",
    "open-cold",
];

fn fixrec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fixrec"))
}

struct Run {
    json: Value,
    svg: String,
    stdout: String,
    stderr: String,
}

fn run_tiny(extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let svg = dir.path().join("bench.svg");
    let out = fixrec()
        .args(["bench", "--records", &RECORDS.to_string(), "--repeat", "1"])
        .arg("--dir")
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .arg("--svg")
        .arg(&svg)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The scratch folder is removed at the end.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("fixrec-bench-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    Run {
        json: serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap(),
        svg: std::fs::read_to_string(&svg).unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: stderr.into_owned(),
    }
}

#[test]
fn every_method_does_every_workload_and_reads_the_same_bytes() {
    let run = run_tiny(&[]);
    let doc = &run.json;
    assert_eq!(doc["records"], RECORDS);
    assert_eq!(doc["record_size"], 512);
    assert_eq!(doc["repeats"], 1);
    assert!(doc["machine"]["cpus"].as_u64().unwrap() >= 1);
    let results = doc["results"].as_array().unwrap();

    let mut checksums: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for r in results {
        let workload = r["workload"].as_str().unwrap();
        let method = r["method"].as_str().unwrap();
        assert_eq!(r["records"], RECORDS, "{workload}/{method}");
        assert_eq!(r["repeats"], 1, "{workload}/{method}");
        assert_eq!(r["runs_ns"].as_array().unwrap().len(), 1);
        assert!(r["median_ns"].as_u64().unwrap() > 0);
        assert!(r["ops_per_s"].as_f64().unwrap() > 0.0);
        let ops = r["ops"].as_u64().unwrap();
        let expected_ops = match workload {
            "get-cold" => RECORDS.min(2000),
            "open" => 100,
            "open-cold" => 20,
            w if w.starts_with("commit-k") => 4, // commit rounds for a tiny run
            _ => RECORDS,
        };
        assert_eq!(ops, expected_ops, "{workload}/{method} ops");
        if let Some(k) = workload.strip_prefix("commit-k") {
            let k: u64 = k.parse().unwrap();
            assert_eq!(r["bytes_per_op"].as_u64().unwrap(), k * 512);
        }
        if r["floor"] == false || method == "raw-mmap" {
            let prev = checksums
                .entry(workload)
                .or_default()
                .insert(method, r["checksum"].as_str().unwrap());
            assert!(prev.is_none(), "{workload}/{method} measured twice");
        }
    }

    for w in WORKLOADS {
        let by_method = checksums
            .get(w)
            .unwrap_or_else(|| panic!("workload {w} missing"));
        for m in METHODS {
            assert!(by_method.contains_key(m), "{w}: method {m} missing");
        }
        let fixrec = by_method["fixrec"];
        for (m, sum) in by_method {
            assert_eq!(*sum, fixrec, "{w}: {m} read different bytes than fixrec");
        }
    }
    // Loads read back what they wrote: the whole dataset, the same as a scan of it.
    assert_eq!(checksums["append"]["fixrec"], checksums["scan"]["fixrec"]);
    assert_eq!(
        checksums["import-csv"]["fixrec"],
        checksums["scan"]["fixrec"]
    );
    // The floors are in the cases they belong to.
    for (w, floor) in [
        ("scan", "raw-mmap"),
        ("scan", "memcpy"),
        ("get-uniform", "raw-mmap"),
    ] {
        assert!(
            results
                .iter()
                .any(|r| r["workload"] == w && r["method"] == floor),
            "{w}: floor {floor} missing"
        );
    }
    // Every write case names each method's durability.
    for r in results.iter().filter(|r| r["workload"] == "commit-k10") {
        assert_ne!(r["durability"], "-", "{}", r["method"]);
    }
    assert!(doc["targets"].as_array().unwrap().len() >= 20);

    // The chart is one SVG element that names every method and workload.
    let svg = run.svg.trim();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert_eq!(
        svg.matches("<rect").count(),
        svg.matches("/>").count() - svg.matches("<line").count() + svg.matches("</rect>").count()
    );
    for name in METHODS.iter().chain(WORKLOADS.iter()) {
        assert!(
            svg.contains(&format!(">{name}<")) || svg.contains(&format!(">{name} ")),
            "SVG does not name {name}"
        );
    }

    // The printed tables have one section per workload.
    for w in WORKLOADS {
        assert!(
            run.stdout.contains(&format!("\n{w} (")),
            "table for {w} missing"
        );
    }
}

#[test]
fn a_subset_runs_only_what_was_asked() {
    let run = run_tiny(&[
        "--workloads",
        "get-zipf,commit",
        "--methods",
        "lmdb,fixrec",
        "--commit-k",
        "3",
        "--warmup",
        "0",
        "--fill",
        "small",
    ]);
    let results = run.json["results"].as_array().unwrap();
    let mut seen: Vec<(String, String)> = results
        .iter()
        .map(|r| {
            (
                r["workload"].as_str().unwrap().to_owned(),
                r["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let want: Vec<(String, String)> = [
        ("commit-k3", "fixrec"),
        ("commit-k3", "lmdb"),
        ("get-zipf", "fixrec"),
        ("get-zipf", "lmdb"),
        ("get-zipf", "raw-mmap"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seen, want);
    assert_eq!(run.json["fill"], "small");
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    for args in [
        &["bench", "--records", "0"][..],
        &["bench", "--methods", "oracle"],
        &["bench", "--workloads", "fly"],
        &["bench", "--repeat", "0"],
        &["bench", "--records", "10", "--commit-k", "0"],
    ] {
        let out = fixrec().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

/// A long run with stderr in a file, a pipe or a CI log (not a terminal, so no progress
/// bar) says what it is doing: a line before the datasets and one per workload.
#[test]
fn a_run_whose_stderr_is_not_a_terminal_prints_a_line_per_workload() {
    let run = run_tiny(&[
        "--workloads",
        "scan,get-uniform,commit",
        "--methods",
        "fixrec",
        "--commit-k",
        "2,5",
        "--warmup",
        "0",
    ]);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("fixrec bench: "))
        .collect();
    assert_eq!(lines.len(), 6, "{}", run.stderr);
    assert!(lines[0].starts_with("fixrec bench: writing the datasets (3000 records; fixrec)"));
    for (line, (i, id)) in lines[1..5].iter().zip([
        (1, "scan"),
        (2, "get-uniform"),
        (3, "commit-k2"),
        (4, "commit-k5"),
    ]) {
        let prefix = format!("fixrec bench: [{i}/4] {id} (");
        assert!(line.starts_with(&prefix), "{line:?} is not {prefix:?}...");
    }
    assert!(
        lines[5].starts_with("fixrec bench: done in "),
        "{}",
        lines[5]
    );
}
