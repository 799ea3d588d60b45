//! A Rust port of the Win32 SMTEST writer: put one
//! `#pragma pack(1) struct SMTEST { char c; int i; short s; }` (7 bytes) into the named
//! region `JJBSMTEST`, and keep it until Enter or the timeout.
//!
//! ```text
//! cargo run --example smtest_writer -- [NAME] [--timeout SECS]
//! cargo run --example smtest_reader -- [NAME]      # in another terminal
//! fixrec get shm:JJBSMTEST 0 --raw --schema 'c:char,i:i32,s:i16' --layout packed
//! ```

use fixrec::shm::{Lifetime, RegionOptions};
use fixrec::{CChar, record};
use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

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
    let (name, timeout) = args("JJBSMTEST")?;
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
