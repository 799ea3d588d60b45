//! A Rust port of the Win32 SMTEST reader: open the named region `JJBSMTEST` and print
//! the packed struct `smtest_writer` put there.
//!
//! ```text
//! cargo run --example smtest_writer      # first, in another terminal
//! cargo run --example smtest_reader -- [NAME]
//! ```

use fixrec::shm::Region;
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "JJBSMTEST".into());
    let region = Region::open_read_only(&name).map_err(|e| {
        format!("{e}\n(is smtest_writer running? start `cargo run --example smtest_writer` first)")
    })?;
    let Some(&smtest) = region.records::<Smtest>()?.first() else {
        return Err(format!("{}: the region is empty", region.name()).into());
    };
    let (c, i, s) = (smtest.c.0 as char, smtest.i, smtest.s);
    println!("c={c} i={i} s={s}");
    Ok(())
}
