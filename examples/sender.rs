//! A Rust port of the Win32 "first process": create the named region
//! `Global\MyFileMappingObject` (256 bytes, in memory rather than a file), copy a message
//! into it, and keep it alive until Enter is pressed or the timeout passes.
//!
//! Run it, then `cargo run --example listener` in another terminal:
//!
//! ```text
//! cargo run --example sender -- [NAME] [--timeout SECS]
//! ```
//!
//! The timeout (also `FIXREC_TIMEOUT=SECS`) lets scripts and tests run it unattended.
//! The region is removed when the sender exits, like the Win32 object when its last
//! handle closes (a listener that has it open keeps its copy).

use fixrec::shm::{Lifetime, Origin, RegionOptions};

const SIZE: usize = 256;
const MESSAGE: &str = "Message from first process.";

mod common;
use common::{args, wait_for_enter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (name, timeout) = args(r"Global\MyFileMappingObject")?;
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
    println!("ready: press Enter to exit (or wait {timeout:?})");
    wait_for_enter(timeout);
    Ok(())
}
