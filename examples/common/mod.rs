//! What the writer examples share: their arguments, and their wait for Enter, a signal or
//! the timeout.
//!
//! A writer keeps its region until one of those, then returns from `main`, so the
//! region's `Drop` removes it. Signals are the one system-specific part: on Unix,
//! SIGINT, SIGTERM and SIGHUP end the wait (rather than the process, which would leave
//! the region behind), and SIGTTIN is blocked, so that a read of the terminal by a
//! background job fails instead of stopping the job.

use std::io::{BufRead, IsTerminal};
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

/// What ended a [`Wait`].
pub enum Woken {
    Enter,
    #[cfg_attr(
        not(unix),
        allow(dead_code, reason = "no signals are caught on Windows")
    )]
    Signal(&'static str),
    Timeout,
}

impl std::fmt::Display for Woken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Woken::Enter => f.write_str("Enter"),
            Woken::Signal(name) => f.write_str(name),
            Woken::Timeout => f.write_str("timeout"),
        }
    }
}

/// A wait for Enter, a signal or a timeout. Make it first thing in `main`, before the
/// region and before any thread: from then on a signal ends the wait, not the process.
pub struct Wait {
    tx: mpsc::Sender<Woken>,
    rx: mpsc::Receiver<Woken>,
    timeout: Duration,
}

impl Wait {
    pub fn new(timeout: Duration) -> Wait {
        let (tx, rx) = mpsc::channel();
        signals::catch(tx.clone());
        Wait { tx, rx, timeout }
    }

    /// Says what will end the wait, then waits for the first of them.
    ///
    /// Enter is read only from a terminal that this process may read: not from a pipe or
    /// `/dev/null`, and not as a background job (`cargo run --example sender &`), where a
    /// read would stop the job (SIGTTIN) until it is brought to the foreground.
    pub fn wait(self) -> Woken {
        let stdin = std::io::stdin();
        let enter = stdin.is_terminal() && signals::in_foreground();
        let stop = signals::HOW_TO_STOP;
        if enter {
            println!(
                "ready: press Enter to exit ({stop}, or wait {:?})",
                self.timeout
            );
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                // A read that fails (the job was moved to the background) leaves the
                // signals and the timeout to end the wait.
                if let Ok(1..) = stdin.lock().read_line(&mut String::new()) {
                    let _ = tx.send(Woken::Enter);
                }
            });
        } else {
            println!(
                "ready: not reading the terminal (stdin is not one, or this is a background job); {stop}, or wait {:?}",
                self.timeout
            );
        }
        self.rx.recv_timeout(self.timeout).unwrap_or(Woken::Timeout)
    }
}

#[cfg(unix)]
mod signals {
    use super::Woken;
    use std::sync::mpsc;

    pub const HOW_TO_STOP: &str = "Ctrl-C or `kill PID` to exit now";

    const ENDING: [(libc::c_int, &str); 3] = [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
    ];

    fn set_of(signals: &[libc::c_int]) -> libc::sigset_t {
        // SAFETY: sigemptyset initialises the set before sigaddset uses it; both only
        // write the set.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &s in signals {
                libc::sigaddset(&mut set, s);
            }
            set
        }
    }

    /// Blocks the ending signals and SIGTTIN in this thread, and so in every thread it
    /// starts, and starts a thread that turns the first ending signal into a `Woken`.
    pub fn catch(tx: mpsc::Sender<Woken>) {
        let ending: Vec<libc::c_int> = ENDING.iter().map(|&(s, _)| s).collect();
        let mut blocked = ending.clone();
        blocked.push(libc::SIGTTIN);
        let blocked = set_of(&blocked);
        // SAFETY: changes this thread's signal mask only; the set is initialised.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &blocked, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "pthread_sigmask");
        let wait_for = set_of(&ending);
        std::thread::spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait reads the initialised set and writes the signal number.
            if unsafe { libc::sigwait(&wait_for, &mut sig) } == 0 {
                let name = ENDING
                    .iter()
                    .find(|&&(s, _)| s == sig)
                    .map_or("signal", |&(_, n)| n);
                let _ = tx.send(Woken::Signal(name));
            }
        });
    }

    /// Whether this process is in the foreground process group of its terminal (stdin).
    pub fn in_foreground() -> bool {
        // SAFETY: plain queries with no pointers.
        unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
    }
}

#[cfg(not(unix))]
mod signals {
    use super::Woken;
    use std::sync::mpsc;

    pub const HOW_TO_STOP: &str = "Ctrl-C ends it without removing the region";

    pub fn catch(_tx: mpsc::Sender<Woken>) {}

    pub fn in_foreground() -> bool {
        true
    }
}
