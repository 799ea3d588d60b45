//! `fixrec bench`: mapped records against buffered and positional IO, SQLite and LMDB,
//! on the same generated dataset, with the machine's floors measured in the same run.
//!
//! Layout: [`workloads`] (the dataset, index sequences and cases), [`methods`] (fixrec
//! and std IO) and [`peers`] (SQLite, LMDB) do the work; [`harness`] runs and times it;
//! [`report`] and [`svg`] show it.

mod harness;
mod methods;
mod os;
mod peers;
mod report;
mod svg;
mod workloads;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use methods::Method;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use workloads::Workload;

/// Compare fixrec's mapped store with buffered IO, positional IO, SQLite and LMDB.
///
/// Every method gets the same Member records (512 bytes), the same random index
/// sequences, files that went through the page cache the same way, one warm-up run and
/// the median of `--repeat` runs. The reference floors (memcpy, a raw mapped read of the
/// same file) are measured in the same run.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    cargo run --release -- bench --json target/bench.json --svg docs/bench.svg\n  \
    fixrec bench --records 20000 --workloads scan,get-uniform --methods fixrec,lmdb")]
pub struct Args {
    /// Records in the dataset (512 bytes each).
    #[arg(long, default_value_t = 150_000, value_parser = clap::value_parser!(u64).range(1..=(u32::MAX as u64)))]
    records: u64,
    /// Workloads to run (comma-separated).
    #[arg(long, value_delimiter = ',', value_enum, default_values_t = Workload::ALL)]
    workloads: Vec<Workload>,
    /// Methods to compare (comma-separated).
    #[arg(long, value_delimiter = ',', value_enum, default_values_t = Method::ALL)]
    methods: Vec<Method>,
    /// Measured runs per workload and method; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    repeat: u64,
    /// Untimed warm-up runs before the measured ones.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=100))]
    warmup: u64,
    /// Updates per durable commit in the `commit` workload (comma-separated, each 1 to
    /// 100000).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 10, 100],
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    commit_k: Vec<usize>,
    /// How the files enter the page cache before the first case. Mapped writes dirty
    /// whole page-cache folios, so `large` makes scans faster and durable commits of
    /// scattered updates slower; `small` the other way round.
    #[arg(long, value_enum, default_value_t = os::Fill::Large)]
    fill: os::Fill,
    /// Where the datasets go (a fresh folder inside it, removed at the end). A RAM-backed
    /// tmpfs makes the durable and cold workloads meaningless: use a disk.
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    dir: PathBuf,
    /// Write every measurement to this JSON file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a bar chart of the results to this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut methods = args.methods.clone();
    methods.sort();
    methods.dedup();
    let mut workloads = args.workloads.clone();
    workloads.sort();
    workloads.dedup();
    let mut commit_k = args.commit_k.clone();
    commit_k.sort_unstable();
    commit_k.dedup();
    let records = args.records as usize;
    let config = harness::Config {
        fill: args.fill,
        records,
        warmup: args.warmup as usize,
        repeats: args.repeat as usize,
        methods,
    };

    let cases = workloads::cases(records, &workloads, &commit_k);
    let dir = os::ScratchDir::new(&args.dir)?;
    let progress = ProgressBar::new(harness::runs(&config, &cases) as u64);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .expect("a valid template"),
    );
    // The bar draws only on a terminal: to a file, a pipe or a CI log, a line per
    // workload says instead what the run is doing and how far it got.
    let lines = !std::io::stderr().is_terminal();
    let started = Instant::now();
    progress.set_message("writing the datasets");
    if lines {
        let names: Vec<&str> = config.methods.iter().map(|m| m.name()).collect();
        errln!(
            "fixrec bench: writing the datasets ({records} records; {})",
            names.join(", ")
        );
    }
    let data = harness::prepare(&config, dir.path(), &workloads)?;

    let mut results = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if lines {
            errln!(
                "fixrec bench: [{}/{}] {} ({:.0} s)",
                i + 1,
                cases.len(),
                case.id(),
                started.elapsed().as_secs_f64()
            );
        }
        results.extend(harness::measure_case(&config, &data, case, &progress)?);
    }
    progress.finish_and_clear();
    if lines {
        errln!(
            "fixrec bench: done in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }

    report::add_ratios(&mut results);
    let targets = report::targets(&results);
    let ids: Vec<(String, String)> = cases.iter().map(|c| (c.id(), c.describe())).collect();
    let machine = os::machine();
    outln!(
        "fixrec bench: {records} records of {} bytes, {} warm-up + {} measured runs each; {}",
        workloads::RECORD,
        config.warmup,
        config.repeats,
        machine.summary()
    );
    outln!("files: {}", harness::files_note(config.fill));
    out!("{}", report::tables(&results, &ids, &targets));

    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "records": records,
            "record_size": workloads::RECORD,
            "warmup": config.warmup,
            "repeats": config.repeats,
            "commit_rounds": workloads::commit_rounds(records),
            "machine": machine,
            "dir": args.dir.display().to_string(),
            "fill": format!("{:?}", config.fill).to_lowercase(),
            "files": harness::files_note(config.fill),
            "workloads": ids.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            "methods": config.methods.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "results": results,
            "targets": targets,
        });
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.svg {
        let subtitle = format!(
            "{records} records of {} B, warm-up {} + median of {} runs; {}",
            workloads::RECORD,
            config.warmup,
            config.repeats,
            machine.summary()
        );
        std::fs::write(path, svg::chart(&results, &ids, &subtitle))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
