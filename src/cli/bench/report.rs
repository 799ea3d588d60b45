//! What a run found: one [`Measurement`] per case and method, the tables printed at the
//! end, the targets checked against them, and the JSON written by `--json`.

use serde::Serialize;
use std::fmt::Write as _;

/// The reference floors: not methods, but what the machine does with no store around.
pub const RAW_MMAP: &str = "raw-mmap";
pub const MEMCPY: &str = "memcpy";

/// One case measured with one method.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// The case id: the workload, with k for commits (`commit-k10`).
    pub workload: String,
    /// `warm` or `cold`.
    pub cache: &'static str,
    /// The method, or a floor (`raw-mmap`, `memcpy`).
    pub method: String,
    /// Whether `method` is a reference floor rather than a method.
    pub floor: bool,
    /// Records in the dataset.
    pub records: usize,
    /// Operations per run.
    pub ops: usize,
    /// Bytes each operation moves.
    pub bytes_per_op: usize,
    /// Untimed runs before the measured ones.
    pub warmup: usize,
    /// Measured runs.
    pub repeats: usize,
    /// Each measured run's time.
    pub runs_ns: Vec<u64>,
    pub median_ns: u64,
    pub min_ns: u64,
    pub max_ns: u64,
    /// (max - min) / median, in percent.
    pub spread_pct: f64,
    pub ops_per_s: f64,
    pub ns_per_op: f64,
    pub mb_per_s: f64,
    /// This method's ops/s divided by fixrec's in the same case (None without fixrec).
    pub vs_fixrec: Option<f64>,
    /// Checksum of what the method read (or, for loads, of the file it wrote, read back):
    /// the same for every method of a case.
    pub checksum: String,
    /// The durability of the method's writes in this case.
    pub durability: String,
}

impl Measurement {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        workload: String,
        cache: &'static str,
        method: &str,
        floor: bool,
        records: usize,
        ops: usize,
        bytes_per_op: usize,
        warmup: usize,
        runs_ns: Vec<u64>,
        checksum: u64,
        durability: &str,
    ) -> Measurement {
        let mut sorted = runs_ns.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        let median_ns = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        }
        .max(1);
        let (min_ns, max_ns) = (sorted[0], sorted[n - 1]);
        let secs = median_ns as f64 / 1e9;
        Measurement {
            workload,
            cache,
            method: method.to_owned(),
            floor,
            records,
            ops,
            bytes_per_op,
            warmup,
            repeats: n,
            spread_pct: (max_ns - min_ns) as f64 / median_ns as f64 * 100.0,
            ops_per_s: ops as f64 / secs,
            ns_per_op: median_ns as f64 / ops.max(1) as f64,
            mb_per_s: (ops * bytes_per_op) as f64 / secs / 1e6,
            vs_fixrec: None,
            runs_ns,
            median_ns,
            min_ns,
            max_ns,
            checksum: format!("{checksum:016x}"),
            durability: durability.to_owned(),
        }
    }
}

/// Fills in each measurement's ratio to fixrec's in the same case.
pub fn add_ratios(results: &mut [Measurement]) {
    let fixrec: Vec<(String, f64)> = results
        .iter()
        .filter(|m| m.method == "fixrec")
        .map(|m| (m.workload.clone(), m.ops_per_s))
        .collect();
    for m in results.iter_mut() {
        m.vs_fixrec = fixrec
            .iter()
            .find(|(w, _)| *w == m.workload)
            .map(|(_, f)| m.ops_per_s / f);
    }
}

/// A target of the issue, checked against a run.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub target: String,
    /// fixrec's speed divided by the other's (ops/s over ops/s).
    pub measured: f64,
    pub required: f64,
    pub met: bool,
}

fn find<'a>(results: &'a [Measurement], workload: &str, method: &str) -> Option<&'a Measurement> {
    results
        .iter()
        .find(|m| m.workload == workload && m.method == method)
}

/// The targets, for the cases and methods that were run.
pub fn targets(results: &[Measurement]) -> Vec<Target> {
    let mut out = Vec::new();
    let mut check = |workload: &str, other: &str, required: f64, what: String| {
        if let (Some(f), Some(o)) = (
            find(results, workload, "fixrec"),
            find(results, workload, other),
        ) {
            let measured = f.ops_per_s / o.ops_per_s;
            out.push(Target {
                target: what,
                measured,
                required,
                met: measured >= required,
            });
        }
    };
    for w in ["scan", "get-uniform", "get-zipf", "update", "append"] {
        for o in ["buffered", "positional", "sqlite", "lmdb"] {
            check(w, o, 1.0, format!("{w}: fixrec ahead of {o}"));
        }
    }
    for (o, x) in [("positional", 5.0), ("lmdb", 3.0), ("sqlite", 10.0)] {
        check(
            "get-uniform",
            o,
            x,
            format!("get-uniform: fixrec >= {x}x {o}"),
        );
    }
    check(
        "scan",
        RAW_MMAP,
        0.8,
        "scan: fixrec >= 0.8x raw mapped read".into(),
    );
    let commits: Vec<String> = results
        .iter()
        .filter(|m| m.workload.starts_with("commit-k") && m.method == "fixrec")
        .map(|m| m.workload.clone())
        .collect();
    for w in commits {
        check(
            &w,
            "lmdb",
            1.0,
            format!("{w}: fixrec commit no slower than lmdb"),
        );
    }
    out
}

/// Formats a rate with an SI suffix: `1.23 M`.
pub fn si(v: f64) -> String {
    let (div, suffix) = match v {
        v if v >= 1e9 => (1e9, " G"),
        v if v >= 1e6 => (1e6, " M"),
        v if v >= 1e3 => (1e3, " k"),
        _ => (1.0, " "),
    };
    let x = v / div;
    let digits = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.digits$}{suffix}")
}

/// The tables, one per case, then the floors and targets, as printed at the end.
pub fn tables(results: &[Measurement], cases: &[(String, String)], targets: &[Target]) -> String {
    let mut out = String::new();
    for (id, describe) in cases {
        let rows: Vec<&Measurement> = results.iter().filter(|m| &m.workload == id).collect();
        let Some(first) = rows.first() else { continue };
        let _ = writeln!(
            out,
            "\n{id} ({} cache): {describe}; {} ops per run, median of {} runs",
            first.cache, first.ops, first.repeats
        );
        let _ = writeln!(
            out,
            "  {:<11} {:>11} {:>10} {:>12} {:>7} {:>9}  durability",
            "method", "ops/s", "MB/s", "ns/op", "spread", "x fixrec"
        );
        for m in &rows {
            let ratio = m.vs_fixrec.map_or("-".to_owned(), |r| format!("{r:.3}"));
            let durability = if m.floor {
                "(reference floor)"
            } else {
                &m.durability
            };
            let _ = writeln!(
                out,
                "  {:<11} {:>11} {:>10.1} {:>12.1} {:>6.1}% {:>9}  {}",
                m.method,
                si(m.ops_per_s),
                m.mb_per_s,
                m.ns_per_op,
                m.spread_pct,
                ratio,
                durability
            );
        }
        if let Some(f) = rows.iter().find(|m| m.method == "fixrec") {
            for floor in rows.iter().filter(|m| m.floor) {
                let _ = writeln!(
                    out,
                    "  fixrec runs at {:.2}x the {} floor ({:.0} MB/s vs {:.0} MB/s)",
                    f.ops_per_s / floor.ops_per_s,
                    floor.method,
                    f.mb_per_s,
                    floor.mb_per_s
                );
            }
        }
    }
    if !targets.is_empty() {
        let _ = writeln!(out, "\ntargets (fixrec's ops/s over the other's):");
        for t in targets {
            let verdict = if t.met {
                "met".to_owned()
            } else {
                format!("MISSED by {:.0}%", (1.0 - t.measured / t.required) * 100.0)
            };
            let _ = writeln!(
                out,
                "  {:<52} {:>8.2}x (need {:.1}x)  {verdict}",
                t.target, t.measured, t.required
            );
        }
    }
    out
}
