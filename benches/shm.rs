//! Reading a record from another process's shared store: `SharedStore::read` (sequence
//! lock, atomic copy, consistency check) against a plain copy of the same record from
//! the same mapping (`Table::record`, no check: it may return a torn record). The writer
//! is a second process (this bench binary run again), idle or updating records in a
//! loop.
//!
//! `cargo bench --bench shm -- --measurement-time 2`

use criterion::{BenchmarkId, Criterion};
use fixrec::{Store, record};
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

record! {
    #[repr(C)]
    /// 64 bytes: a tick of eight words.
    pub struct Tick { pub words: [u8; 64] }
}

const RECORDS: usize = 4096;

/// The writer process: creates the store, fills it, then idles or updates records until
/// its stdin closes.
fn writer(name: &str, busy: bool) {
    let mut store = Store::<Tick>::create_shared(name, RECORDS as u64).unwrap();
    for i in 0..RECORDS {
        store
            .push(Tick {
                words: [i as u8; 64],
            })
            .unwrap();
    }
    store.flush().unwrap();
    println!("READY");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::stdin().lock().read_line(&mut String::new());
        drop(tx);
    });
    let mut n = 0usize;
    loop {
        if busy {
            for _ in 0..1024 {
                n = n.wrapping_add(7919);
                store
                    .set(
                        n % RECORDS,
                        &Tick {
                            words: [n as u8; 64],
                        },
                    )
                    .unwrap();
            }
            if rx
                .try_recv()
                .is_err_and(|e| e == std::sync::mpsc::TryRecvError::Disconnected)
            {
                break;
            }
        } else if rx.recv().is_err() {
            break;
        }
    }
    drop(store);
    let _ = fixrec::shm::Region::remove(name);
}

struct Writer(Child);

impl Writer {
    fn start(name: &str, busy: bool) -> Writer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("FIXREC_BENCH_SHM_WRITER", name)
            .env("FIXREC_BENCH_SHM_BUSY", if busy { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY");
        Writer(child)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.0.stdin.take()); // ends the writer, which removes its region
        let _ = self.0.wait();
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("shm_read_64B_of_4096_records");
    for busy in [false, true] {
        let writer_kind = if busy { "busy_writer" } else { "idle_writer" };
        let name = format!("fixrec-bench-{}-{writer_kind}", std::process::id());
        let _writer = Writer::start(&name, busy);
        let store = Store::<Tick>::open_shared_read_only(&name).unwrap();
        let table = store.table();
        group.bench_function(BenchmarkId::new("checked_read", writer_kind), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 2897) % RECORDS;
                black_box(store.read(black_box(i)).unwrap())
            })
        });
        group.bench_function(BenchmarkId::new("plain_read", writer_kind), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 2897) % RECORDS;
                let bytes = table.record(black_box(i)).unwrap();
                black_box(fixrec::bytemuck::pod_read_unaligned::<Tick>(bytes))
            })
        });
        eprintln!(
            "{writer_kind}: {} retries in the checked reads",
            store.retries()
        );
    }
    group.finish();
}

fn main() {
    if let Ok(name) = std::env::var("FIXREC_BENCH_SHM_WRITER") {
        writer(
            &name,
            std::env::var("FIXREC_BENCH_SHM_BUSY").as_deref() == Ok("1"),
        );
        return;
    }
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
}
