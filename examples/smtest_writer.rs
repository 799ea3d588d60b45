//! A Rust port of the Win32 SMTEST writer: put one
//! `#pragma pack(1) struct SMTEST { char c; int i; short s; }` (7 bytes) into the named
//! region `JJBSMTEST`, and keep it until Enter, a SIGINT, SIGTERM or SIGHUP, or the
//! timeout (then the region is removed).
//!
//! ```text
//! cargo run --example smtest_writer -- [NAME] [--timeout SECS]
//! cargo run --example smtest_reader -- [NAME]      # in another terminal
//! fixrec get shm:JJBSMTEST 0 --raw --schema 'c:char,i:i32,s:i16' --layout packed
//! ```

use fixrec::shm::{Lifetime, RegionOptions};
use fixrec::{CChar, record};

record! {
    #[repr(C, packed)]
    /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`: 7 bytes.
    pub struct Smtest {
        pub c: CChar,
        pub i: i32,
        pub s: i16,
    }
}

mod common;
use common::{Wait, args};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (name, timeout) = args("JJBSMTEST")?;
    let wait = Wait::new(timeout); // before the region: a signal now ends the wait
    let mut region = RegionOptions::new()
        .lifetime(Lifetime::RemoveOnDrop)
        .create(&name, size_of::<Smtest>())?;
    region.records_mut::<Smtest>()?[0] = Smtest {
        c: CChar(b'a'),
        i: 100,
        s: 10,
    };
    let smtest = region.records::<Smtest>()?[0];
    // Packed fields are read by copy (a reference to them could be unaligned).
    let (c, i, s) = (smtest.c.0 as char, smtest.i, smtest.s);
    println!(
        "{}: wrote SMTEST {{ c: {c}, i: {i}, s: {s} }}",
        region.name()
    );
    let woken = wait.wait();
    println!("{woken}: removing {}", region.name());
    Ok(())
}
