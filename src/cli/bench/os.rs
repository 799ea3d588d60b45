//! What the harness asks of the OS: a scratch folder, dropping a file's pages from the
//! page cache (`posix_fadvise(DONTNEED)`), reading a file through the cache, and a
//! description of the machine.

use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A fresh folder, removed with everything in it when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(parent: &Path) -> Result<ScratchDir> {
        let path = parent.join(format!("fixrec-bench-{}", std::process::id()));
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `path`'s dirty pages back, then drops its pages from the page cache. Pages
/// still mapped by some process stay: callers unmap first.
pub fn drop_cache(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    crate::cli::os::drop_cache(&file)
        .with_context(|| format!("posix_fadvise(DONTNEED) on {}", path.display()))
}

/// How files enter the page cache before the first case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fill {
    /// 1 MiB `read` calls with readahead on: the kernel caches the file in large folios
    /// (what a file written or copied in large chunks gets).
    Large,
    /// 4 KiB `read` calls with `POSIX_FADV_RANDOM` (readahead off): 4 KiB pages.
    Small,
}

impl Fill {
    pub fn describe(self) -> &'static str {
        match self {
            Fill::Large => {
                "read back with 1 MiB read() calls (readahead on: large page-cache folios)"
            }
            Fill::Small => {
                "read back with 4 KiB read() calls under POSIX_FADV_RANDOM (no readahead: 4 KiB pages)"
            }
        }
    }
}

/// Drops `path` from the page cache, then reads it back the `fill` way: every method's
/// file enters the cache the same way, whichever way it was written.
pub fn recache(path: &Path, fill: Fill) -> Result<()> {
    drop_cache(path)?;
    let mut file = File::open(path)?;
    let chunk = match fill {
        Fill::Large => 1 << 20,
        Fill::Small => {
            crate::cli::os::advise_random(&file)
                .with_context(|| format!("posix_fadvise(RANDOM) on {}", path.display()))?;
            4096
        }
    };
    let mut buf = vec![0u8; chunk];
    while file.read(&mut buf)? > 0 {}
    Ok(())
}

/// The machine a run was made on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub memory_gib: f64,
}

impl Machine {
    pub fn summary(&self) -> String {
        format!(
            "{} x {}, {:.0} GiB, Linux {}",
            self.cpus, self.cpu_model, self.memory_gib, self.kernel
        )
    }
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, v)| v.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        cpu_model,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or("unknown".to_owned(), |s| s.trim().to_owned()),
        memory_gib: memory_kib / (1024.0 * 1024.0),
    }
}
