//! A Rust port of the Win32 "first process": create the named region
//! `Global\MyFileMappingObject` (256 bytes, in memory rather than a file), copy a message
//! into it, and keep it alive until Enter is pressed, a SIGINT, SIGTERM or SIGHUP comes,
//! or the timeout passes.
//!
//! Run it, then `cargo run --example listener` in another terminal, or run both in one
//! shell with the sender as a background job:
//!
//! ```text
//! cargo run --example sender -- [NAME] [--timeout SECS]
//! cargo run --example sender -- --timeout 30 &     # a background job reads no Enter
//! cargo run --example listener
//! kill %1                                           # removes the region, exits 0
//! ```
//!
//! The timeout (also `FIXREC_TIMEOUT=SECS`) lets scripts and tests run it unattended.
//! The region is removed when the sender exits, on Enter, a signal or the timeout, like
//! the Win32 object when its last handle closes (a listener that has it open keeps its
//! copy).

use fixrec::shm::{Lifetime, Origin, RegionOptions};

const SIZE: usize = 256;
const MESSAGE: &str = "Message from first process.";

mod common;
use common::{Wait, args};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (name, timeout) = args(r"Global\MyFileMappingObject")?;
    let wait = Wait::new(timeout); // before the region: a signal now ends the wait
    let (mut region, origin) = RegionOptions::new()
        .lifetime(Lifetime::RemoveOnDrop)
        .open_or_create(&name, SIZE)?;
    if origin == Origin::Opened {
        println!(
            "{} already existed (ERROR_ALREADY_EXISTS); writing into it",
            region.name()
        );
    }
    let bytes = region.as_mut_slice();
    let n = MESSAGE.len().min(bytes.len().saturating_sub(1));
    bytes[..n].copy_from_slice(&MESSAGE.as_bytes()[..n]);
    bytes[n..].fill(0);
    println!("{}: wrote {MESSAGE:?}", region.name());
    let woken = wait.wait();
    println!("{woken}: removing {}", region.name());
    Ok(())
}
