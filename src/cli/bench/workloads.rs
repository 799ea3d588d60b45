//! What is measured: the dataset (Member records), the random index sequences every
//! method shares, and the list of workloads ("cases") in the order they run.

use fixrec::{FixedStr, record};

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`: the 512-byte record of the
    /// C program fixrec comes from.
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

/// Bytes in a record.
pub const RECORD: usize = size_of::<Member>();
/// Where the `name` field starts: updates rewrite its first 8 bytes.
pub const NAME_AT: usize = 256;

/// Record `i` of the generated dataset.
pub fn member(i: u64) -> Member {
    let mut rng = SplitMix(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5);
    // Names are at least 8 bytes long, so an update's 8-byte stamp keeps them valid text.
    let name = format!("Member {:08x} {:016x} {:016x}", i, rng.next(), rng.next());
    Member {
        id: FixedStr::truncating(&i.to_string()),
        name: FixedStr::truncating(&name),
    }
}

/// The 8 bytes update number `j` of a run salted `salt` writes at the start of a
/// record's name: ASCII hex, so the name stays valid UTF-8. Updates depend only on their
/// position in the shared index sequence and on the run, so every method ends with the
/// same bytes; the salt changes every run, so no run rewrites the bytes a record already
/// holds (SQLite, for one, skips writing a row whose new value equals the old).
pub fn stamp(j: usize, salt: u32) -> [u8; 8] {
    let v = (j as u32).wrapping_mul(0x9E37_79B1) ^ salt.wrapping_mul(0x85EB_CA6B);
    let mut out = [0u8; 8];
    for (k, o) in out.iter_mut().enumerate() {
        *o = b"0123456789abcdef"[((v >> (28 - 4 * k)) & 0xF) as usize];
    }
    out
}

/// The checksum every method computes over what it read: the wrapping sum of the
/// little-endian u64 words. It is the same for any split into 8-byte-aligned pieces, so a
/// whole-file scan and a record-by-record scan agree, and it compiles to vector adds.
pub fn sum_words(bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .fold(0u64, u64::wrapping_add)
}

/// splitmix64: a tiny, good-enough generator for index sequences.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is negligible here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `ops` indexes uniform over `0..records`.
pub fn uniform(records: usize, ops: usize, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix(seed);
    (0..ops).map(|_| rng.below(records as u64) as u32).collect()
}

/// `ops` indexes over `0..records` with Zipf(s) popularity: rank r is drawn with weight
/// 1 / (r + 1)^s by inverse CDF (binary search over the cumulative weights), and ranks
/// are scattered over the file by a fixed random permutation, so hot records are not
/// neighbours.
pub fn zipf(records: usize, ops: usize, s: f64, seed: u64) -> Vec<u32> {
    let mut cdf = Vec::with_capacity(records);
    let mut total = 0.0;
    for r in 0..records {
        total += 1.0 / ((r + 1) as f64).powf(s);
        cdf.push(total);
    }
    let mut rng = SplitMix(seed);
    let mut perm: Vec<u32> = (0..records as u32).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, rng.below(i as u64 + 1) as usize);
    }
    (0..ops)
        .map(|_| {
            let u = rng.unit() * total;
            let rank = cdf.partition_point(|&c| c <= u).min(records - 1);
            perm[rank]
        })
        .collect()
}

/// A workload, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// Read every record in order.
    Scan,
    /// Read records at uniformly random indexes.
    GetUniform,
    /// Read records at Zipf-skewed indexes (s = 0.99).
    GetZipf,
    /// Open the file, read one record, close: repeated.
    Open,
    /// Read-modify-write of random records in place (8 bytes of the name), not synced.
    Update,
    /// Append every record to an empty file, not synced.
    Append,
    /// Parse a CSV file of every record and load it into an empty file, committed
    /// durably once at the end.
    ImportCsv,
    /// k random updates, then a durable commit: for each k of `--commit-k`.
    Commit,
    /// `scan` with the file's pages dropped from the page cache before each run.
    ScanCold,
    /// `get-uniform` (at most 2000 gets) with the file's pages dropped before each run.
    GetCold,
    /// `open` (at most 20 opens) with the file's pages dropped before each open.
    OpenCold,
}

impl Workload {
    pub const ALL: [Workload; 11] = [
        Workload::Scan,
        Workload::GetUniform,
        Workload::GetZipf,
        Workload::Open,
        Workload::Update,
        Workload::Append,
        Workload::ImportCsv,
        Workload::Commit,
        Workload::ScanCold,
        Workload::GetCold,
        Workload::OpenCold,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Scan => "scan",
            Workload::GetUniform => "get-uniform",
            Workload::GetZipf => "get-zipf",
            Workload::Open => "open",
            Workload::Update => "update",
            Workload::Append => "append",
            Workload::ImportCsv => "import-csv",
            Workload::Commit => "commit",
            Workload::ScanCold => "scan-cold",
            Workload::GetCold => "get-cold",
            Workload::OpenCold => "open-cold",
        }
    }

    pub fn cold(self) -> bool {
        matches!(
            self,
            Workload::ScanCold | Workload::GetCold | Workload::OpenCold
        )
    }
}

/// One measured line: a workload with its parameters.
#[derive(Clone, Debug)]
pub struct Case {
    pub workload: Workload,
    /// Updates per durable commit (`commit` only).
    pub k: usize,
    /// Operations per run: records read, gets, updates, records loaded, opens or commits.
    pub ops: usize,
    /// Bytes each operation moves (for MB/s).
    pub bytes_per_op: usize,
    /// The shared index sequence (empty for scan, append, import).
    pub indexes: Vec<u32>,
    /// Where this case's update salts start (see [`stamp`]): distinct for every case.
    pub salt: u32,
}

impl Case {
    /// The case's id in tables and JSON: the workload, with k for commits.
    pub fn id(&self) -> String {
        match self.workload {
            Workload::Commit => format!("commit-k{}", self.k),
            w => w.name().to_owned(),
        }
    }

    /// What one operation is, for the table's title.
    pub fn describe(&self) -> String {
        let what = match self.workload {
            Workload::Scan => "sequential scan: records read in order",
            Workload::ScanCold => "sequential scan, cold cache: records read in order",
            Workload::GetUniform => "random get, uniform: records read",
            Workload::GetZipf => "random get, Zipf s=0.99: records read",
            Workload::GetCold => "random get, uniform, cold cache: records read",
            Workload::Open => "open + first read (+ close): opens",
            Workload::OpenCold => "open + first read, cold cache: opens",
            Workload::Update => "random in-place update (read-modify-write): updates",
            Workload::Append => "append to an empty file: records appended",
            Workload::ImportCsv => "bulk import from CSV, one durable commit: rows",
            Workload::Commit => "durable commit after k random updates: commits",
        };
        match self.workload {
            Workload::Commit => format!("{what} of k={} updates", self.k),
            _ => what.to_owned(),
        }
    }

    /// Whether the case's writes are made durable inside the timed part.
    pub fn durable(&self) -> bool {
        matches!(self.workload, Workload::Commit | Workload::ImportCsv)
    }
}

/// Rounds of the commit workload: enough to take a median, few enough to stay quick.
pub fn commit_rounds(records: usize) -> usize {
    (records / 5000).clamp(4, 16)
}

/// The cases to run, in the fixed order of [`Workload::ALL`] (reads before the writes
/// that change the data, so that every method sees the same bytes in every case).
pub fn cases(records: usize, workloads: &[Workload], commit_k: &[usize]) -> Vec<Case> {
    let seq = uniform(records, records, 0x5EED_0001);
    let mut out = Vec::new();
    for w in Workload::ALL {
        if !workloads.contains(&w) {
            continue;
        }
        let case = |ops: usize, bytes_per_op: usize, indexes: Vec<u32>| Case {
            workload: w,
            k: 0,
            ops,
            bytes_per_op,
            indexes,
            salt: 0,
        };
        match w {
            Workload::Scan | Workload::ScanCold => out.push(case(records, RECORD, vec![])),
            Workload::GetUniform | Workload::Update => out.push(case(records, RECORD, seq.clone())),
            Workload::GetZipf => out.push(case(
                records,
                RECORD,
                zipf(records, records, 0.99, 0x5EED_0002),
            )),
            Workload::GetCold => {
                let n = records.min(2000);
                out.push(case(n, RECORD, uniform(records, n, 0x5EED_0003)))
            }
            Workload::Open | Workload::OpenCold => {
                let n = records.min(if w == Workload::Open { 100 } else { 20 });
                out.push(case(n, RECORD, uniform(records, n, 0x5EED_0004)))
            }
            Workload::Append | Workload::ImportCsv => out.push(case(records, RECORD, vec![])),
            Workload::Commit => {
                let rounds = commit_rounds(records);
                for &k in commit_k {
                    let seq = uniform(records, rounds * k, 0x5EED_0005 + k as u64);
                    out.push(Case {
                        workload: w,
                        k,
                        ops: rounds,
                        bytes_per_op: k * RECORD,
                        indexes: seq,
                        salt: 0,
                    });
                }
            }
        }
    }
    for (n, case) in out.iter_mut().enumerate() {
        case.salt = (n as u32 + 1) << 16;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let idx = zipf(1000, 20_000, 0.99, 1);
        assert!(idx.iter().all(|&i| i < 1000));
        let mut counts = vec![0u32; 1000];
        for &i in &idx {
            counts[i as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        // The hottest record gets far more than a uniform 1/1000 share.
        assert!(counts[0] > 1000, "hottest count {}", counts[0]);
    }

    #[test]
    fn sum_words_splits_freely() {
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
        let whole = sum_words(&data);
        let parts = data
            .chunks(512)
            .map(sum_words)
            .fold(0u64, u64::wrapping_add);
        assert_eq!(whole, parts);
    }

    #[test]
    fn members_fit_and_stamps_are_text() {
        let m = member(123_456_789);
        assert!(m.name.as_str().unwrap().len() > 8);
        assert!(stamp(42, 7).iter().all(u8::is_ascii_hexdigit));
    }
}
