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
use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

const SIZE: usize = 256;
const MESSAGE: &str = "Message from first process.";

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

/// `[NAME] [--timeout SECS]`, with `FIXREC_TIMEOUT` as the default timeout (60 s).
fn args(default_name: &str) -> Result<(String, Duration), Box<dyn std::error::Error>> {
    let mut name = default_name.to_owned();
    let mut secs: f64 = match std::env::var("FIXREC_TIMEOUT") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("FIXREC_TIMEOUT={v:?} is not seconds"))?,
        Err(_) => 60.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--timeout" {
            let v = args.next().ok_or("--timeout needs a number of seconds")?;
            secs = v
                .parse()
                .map_err(|_| format!("--timeout {v:?} is not seconds"))?;
        } else {
            name = a;
        }
    }
    let timeout = Duration::try_from_secs_f64(secs).map_err(|_| format!("bad timeout {secs}"))?;
    Ok((name, timeout))
}

/// Returns when a line arrives on stdin, or after `timeout` (a closed stdin, as under
/// `&` in a shell, waits for the timeout).
fn wait_for_enter(timeout: Duration) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        match std::io::stdin().lock().read_line(&mut String::new()) {
            Ok(1..) => {
                let _ = tx.send(());
            }
            // Keep the channel open: only the timeout ends the wait now.
            _ => std::mem::forget(tx),
        }
    });
    let _ = rx.recv_timeout(timeout);
}
