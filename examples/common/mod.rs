//! What the writer examples share: their arguments and their wait for Enter.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

/// `[NAME] [--timeout SECS]`, with `FIXREC_TIMEOUT` as the default timeout (60 s).
pub fn args(default_name: &str) -> Result<(String, Duration), Box<dyn std::error::Error>> {
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
pub fn wait_for_enter(timeout: Duration) {
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
