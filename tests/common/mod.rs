//! What the reliability tests share: a seedable generator and a record that checks
//! itself. Each test file uses its own part of it.
#![allow(dead_code)]

pub mod cli;

use fixrec::record;

/// SplitMix64: small, seedable, good enough to pick operations and mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub fn upto(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

record! {
    #[repr(C)]
    /// 64 bytes, so a record never straddles a 512-byte sector. Every byte derives from
    /// (index, version), and `sum` checks the rest.
    #[derive(Debug, PartialEq)]
    pub struct Rec {
        pub index: u64,
        pub version: u64,
        pub fill: [u8; 40],
        pub sum: u64,
    }
}

/// Two numbers mixed into one, for seeds and record bytes.
pub fn mix(a: u64, b: u64) -> u64 {
    Rng(a.wrapping_mul(0x1000_0000_01b3) ^ b).next()
}

/// Version `version` of record `index`.
pub fn rec(index: u64, version: u64) -> Rec {
    let mut fill = [0u8; 40];
    for (k, chunk) in fill.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(mix(index, version), k as u64).to_le_bytes());
    }
    let mut r = Rec {
        index,
        version,
        fill,
        sum: 0,
    };
    r.sum = checksum(&r);
    r
}

/// FNV-1a of the record's bytes before `sum`.
pub fn checksum(r: &Rec) -> u64 {
    bytemuck::bytes_of(r)[..56]
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// Whether `status` is that of a process ended by `Child::kill`: SIGKILL on Unix; on
/// Windows, `TerminateProcess` with the exit code 1 that std's `kill` gives.
pub fn killed(status: &std::process::ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(libc::SIGKILL)
    }
    #[cfg(windows)]
    {
        status.code() == Some(1)
    }
}

/// Runs `command` to its end, as `Command::output`. Under Wine, a test that starts
/// hundreds of processes on a busy machine sometimes sees `CreateProcess` itself fail
/// with ERROR_INTERNAL_ERROR (1359) before the child exists; that start is retried (up
/// to 5 times), since nothing of the program under test ran.
pub fn output(command: &mut std::process::Command) -> std::process::Output {
    let mut tries = 0;
    loop {
        match command.output() {
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(1359) && tries < 5 => {
                tries += 1;
                eprintln!("{command:?} did not start ({e}); starting it again");
            }
            result => return result.unwrap_or_else(|e| panic!("{command:?}: {e}")),
        }
    }
}

/// Whether a fault ended the process: a signal on Unix, an exception status
/// (0xC0000000 and up, such as an access violation or an abort) on Windows.
pub fn crashed(status: &std::process::ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal().is_some()
    }
    #[cfg(windows)]
    {
        status.code().is_some_and(|c| c as u32 >= 0xC000_0000)
    }
}

/// `pwrite` of all of `buf` (seek_write on Windows).
pub fn write_all_at(file: &std::fs::File, mut buf: &[u8], mut at: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::write_at(file, buf, at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        at += n as u64;
    }
    Ok(())
}

/// `pread` of exactly `buf.len()` bytes (seek_read on Windows).
pub fn read_exact_at(file: &std::fs::File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, buf, at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        at += n as u64;
    }
    Ok(())
}
