//! Named shared memory across real processes: regions, the Win32 example ports, a C
//! program, squatting, modes, torn reads and a writer killed mid-update.
//!
//! Child processes are this test binary run again with `FIXREC_SHM_ROLE` set (the
//! ignored `child_process` test), or the built examples. Every region name includes the
//! pid, and a guard removes the regions at the end, even when a test fails.
//!
//! Unix only: POSIX region semantics: objects in /dev/shm, modes and the umask, shm_unlink, regions that outlive their last handle and grow. Windows regions are checked by tests/win32.rs.
#![cfg(unix)]

use fixrec::shm::{self, Lifetime, Origin, Region, RegionOptions};
use fixrec::{CChar, Error, Store, record};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

record! {
    #[repr(C)]
    /// A record that carries its own checksum: a torn copy fails `is_whole`.
    #[derive(Debug, PartialEq)]
    pub struct Checked { pub seq: u64, pub a: u64, pub b: u64, pub sum: u64 }
}

record! {
    #[repr(C, packed)]
    /// `#pragma pack(1) struct SMTEST { char c; int i; short s; }`
    pub struct Smtest { pub c: CChar, pub i: i32, pub s: i16 }
}

fn mix(seq: u64, a: u64, b: u64) -> u64 {
    (seq ^ a.rotate_left(21) ^ b.rotate_left(42)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn checked(seq: u64) -> Checked {
    let a = seq.wrapping_mul(0xd6e8_feb8_6659_fd93);
    let b = !seq ^ a.rotate_left(17);
    Checked {
        seq,
        a,
        b,
        sum: mix(seq, a, b),
    }
}

fn is_whole(r: &Checked) -> bool {
    *r == checked(r.seq)
}

/// Region names for one test, removed when dropped (also on panic).
struct Names(Vec<String>);

impl Names {
    fn new(tag: &str, n: usize) -> Names {
        let pid = std::process::id();
        Names(
            (0..n)
                .map(|i| format!("fixrec-test-{tag}-{pid}-{i}"))
                .collect(),
        )
    }
    fn get(&self, i: usize) -> &str {
        &self.0[i]
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Region::remove(name);
        }
    }
}

/// A child process, killed when dropped (also on panic).
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Kid {
    /// Reads stdout lines until one starts with `prefix`; returns its rest.
    fn expect_line(&mut self, prefix: &str) -> String {
        let out = self.0.stdout.as_mut().expect("piped stdout");
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("read child stdout");
            assert!(n > 0, "child exited before printing {prefix:?}");
            // libtest may print "test child_process ... " before the child's own output.
            if let Some(at) = line.find(prefix) {
                return line[at + prefix.len()..].trim().to_owned();
            }
        }
    }
}

/// This test binary, run again as the child `role` with `args`.
fn child(role: &str, args: &[&str]) -> Kid {
    let kid = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FIXREC_SHM_ROLE", role)
        .env("FIXREC_SHM_ARGS", args.join("\u{1f}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    Kid(kid)
}

/// The entry point of child processes; does nothing unless run by `child`.
#[test]
#[ignore = "a helper process for the other tests"]
fn child_process() {
    let Ok(role) = std::env::var("FIXREC_SHM_ROLE") else {
        return;
    };
    let args = std::env::var("FIXREC_SHM_ARGS").unwrap_or_default();
    let args: Vec<&str> = args.split('\u{1f}').collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    match role.as_str() {
        "torn_writer" => {
            let mut store = Store::<Checked>::open_shared(args[0]).unwrap();
            let n = store.len() as u64;
            println!("READY");
            let mut seq = n;
            // Until the parent kills it (or two minutes pass, should the parent vanish).
            while Instant::now() < deadline {
                for _ in 0..4096 {
                    store.set((seq % n) as usize, &checked(seq)).unwrap();
                    seq += 1;
                }
            }
        }
        "torn_reader" => {
            let store = Store::<Checked>::open_shared_read_only(args[0]).unwrap();
            let reads: u64 = args[1].parse().unwrap();
            let n = store.len();
            let mut last = vec![u64::MAX; n];
            let (mut torn, mut changes) = (0u64, 0u64);
            for k in 0..reads {
                let i = (k.wrapping_mul(0x9e37_79b9) % n as u64) as usize;
                let r = store.read(i).unwrap();
                if !is_whole(&r) {
                    torn += 1;
                }
                if r.seq != last[i] {
                    changes += 1;
                    last[i] = r.seq;
                }
            }
            println!("RESULT {reads} {torn} {changes} {}", store.retries());
        }
        "die_mid_update" => {
            let mut store = Store::<Checked>::open_shared(args[0]).unwrap();
            let mut w = store.begin(3).unwrap();
            // Half of a new record: torn in memory, as a writer killed mid-copy leaves it.
            w.write_bytes(0, &999u64.to_ne_bytes()).unwrap();
            println!("MID-UPDATE");
            std::thread::sleep(Duration::from_secs(120));
        }
        "holder" => {
            let _store = Store::<Checked>::open_shared(args[0]).unwrap();
            println!("HOLDING");
            std::thread::sleep(Duration::from_secs(120));
        }
        "reader_of_died" => {
            let store = Store::<Checked>::open_shared_read_only(args[0]).unwrap();
            match store.read(3) {
                Err(Error::WriterDied { index, .. }) => println!("RESULT died {index}"),
                other => println!("RESULT other {other:?}"),
            }
        }
        "umask_create" => {
            // SAFETY: umask has no preconditions; this process runs one thread here.
            unsafe { libc::umask(args[1].parse::<u32>().unwrap() as libc::mode_t) };
            let mode = u32::from_str_radix(args[2], 8).unwrap();
            let region = RegionOptions::new().mode(mode).create(args[0], 64).unwrap();
            println!("RESULT {:o}", region.info().unwrap().mode);
        }
        other => panic!("unknown role {other}"),
    }
}

fn shm_path(name: &str) -> PathBuf {
    Path::new("/dev/shm").join(name)
}

#[test]
fn regions_are_created_opened_and_removed_by_name() {
    let names = Names::new("basic", 2);
    let (a, b) = (names.get(0), names.get(1));
    let mut region = Region::create(a, 100).unwrap();
    assert_eq!(region.len(), 100);
    region.as_mut_slice()[..5].copy_from_slice(b"hello");
    assert!(matches!(
        Region::create(a, 100),
        Err(Error::AlreadyExists { .. })
    ));

    let opened = Region::open(&format!("Global\\{a}")).unwrap();
    assert_eq!(opened.len(), 100, "open reports the real size");
    assert_eq!(&opened.as_slice()[..5], b"hello");
    let (again, origin) = Region::open_or_create(a, 5000).unwrap();
    assert_eq!((origin, again.len()), (Origin::Opened, 100));
    let (fresh, origin) = Region::open_or_create(b, 10).unwrap();
    assert_eq!((origin, fresh.len()), (Origin::Created, 10));
    assert_eq!(fresh.as_slice(), &[0u8; 10]);

    Region::remove(a).unwrap();
    let err = Region::open(a).unwrap_err();
    assert!(err.to_string().contains(&format!("shm:{a}")), "{err}");
    // Mappings outlive the name.
    assert_eq!(&opened.as_slice()[..5], b"hello");
    assert!(Region::remove(a).is_err());

    assert!(matches!(
        Region::create(a, 0),
        Err(Error::InvalidArgument(_))
    ));
    for bad in ["", "/", "..", "a/b", "a\0b", &"x".repeat(256)] {
        assert!(
            matches!(Region::create(bad, 8), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(Region::open(bad), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
    }
    // 7 bytes are one SMTEST, 10 are not a whole number of them.
    assert!(matches!(
        fresh.records::<Smtest>(),
        Err(Error::RawSizeNotMultiple { .. })
    ));
}

#[test]
fn remove_on_drop_removes_the_name_but_not_other_mappings() {
    let names = Names::new("lifetime", 1);
    let name = names.get(0);
    let mut region = RegionOptions::new()
        .lifetime(Lifetime::RemoveOnDrop)
        .create(name, 16)
        .unwrap();
    region.as_mut_slice()[0] = 42;
    let other = Region::open_read_only(name).unwrap();
    drop(region);
    assert!(!shm_path(name).exists());
    assert_eq!(other.as_slice()[0], 42);
}

#[test]
fn sender_and_listener_examples_talk_across_processes() {
    let names = Names::new("sender", 1);
    let name = names.get(0);
    let sender = example("sender");
    let mut kid = Kid(Command::new(&sender)
        .args([name, "--timeout", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap());
    kid.expect_line("ready");
    let out = Command::new(example("listener"))
        .arg(name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Message from first process.\n"
    );
    // SIGTERM ends the sender, which removes the region. (Not Enter: the sender reads
    // it only from a terminal, so a pipe's newline left it waiting for its timeout.)
    let pid = libc::pid_t::try_from(kid.0.id()).unwrap();
    // SAFETY: kill(2) of our own child, not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert!(kid.0.wait().unwrap().success());
    assert_eq!(kid.expect_line("SIGTERM:"), format!("removing shm:{name}"));
    assert!(!shm_path(name).exists());

    let mut kid = Kid(Command::new(example("smtest_writer"))
        .args([name, "--timeout", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap());
    kid.expect_line("ready");
    let out = Command::new(example("smtest_reader"))
        .arg(name)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "c=a i=100 s=10\n");
    assert_eq!(
        std::fs::read(shm_path(name)).unwrap(),
        [b'a', 100, 0, 0, 0, 10, 0]
    );
}

/// The built example `name`, next to this test binary (`target/<profile>/examples`);
/// built first if `cargo test --test shm` did not build the examples.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--examples", "--offline"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build --examples");
        assert!(status.success(), "cargo build --examples failed");
    }
    assert!(path.exists(), "{} not built", path.display());
    path
}

const C_PROGRAM: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#pragma pack(push, 1)
typedef struct { char c; int i; short s; } SMTEST;
#pragma pack(pop)

static void *map(const char *name, int flags, size_t size) {
    int fd = shm_open(name, flags, 0600);
    if (fd < 0) { perror(name); return NULL; }
    if ((flags & O_CREAT) && ftruncate(fd, size) != 0) { perror("ftruncate"); return NULL; }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    char *msg = map(argv[1], O_RDWR, 256);
    SMTEST *sm = map(argv[2], O_RDWR, sizeof(SMTEST));
    if (!msg || !sm) return 1;
    printf("message=%s\n", msg);
    printf("smtest=%c %d %d size=%zu\n", sm->c, sm->i, sm->s, sizeof(SMTEST));
    char *out = map(argv[3], O_RDWR | O_CREAT | O_EXCL, 256);
    SMTEST *out_sm = map(argv[4], O_RDWR | O_CREAT | O_EXCL, sizeof(SMTEST));
    if (!out || !out_sm) return 1;
    strcpy(out, "Message from C.");
    out_sm->c = 'z'; out_sm->i = -123456; out_sm->s = -7;
    return 0;
}
"#;

#[test]
fn a_c_program_reads_what_fixrec_wrote_and_fixrec_reads_what_it_wrote() {
    let names = Names::new("c", 4);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shm.c");
    let bin = dir.path().join("shm");
    std::fs::write(&src, C_PROGRAM).unwrap();
    let cc = Command::new("cc").arg(&src).arg("-o").arg(&bin).output();
    let cc = cc.expect("this test needs a C compiler named `cc` on PATH");
    assert!(
        cc.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&cc.stderr)
    );

    let mut msg = Region::create(names.get(0), 256).unwrap();
    msg.as_mut_slice()[..27].copy_from_slice(b"Message from first process.");
    let mut sm = Region::create(names.get(1), size_of::<Smtest>()).unwrap();
    sm.records_mut::<Smtest>().unwrap()[0] = Smtest {
        c: CChar(b'a'),
        i: 100,
        s: 10,
    };

    let slash = |i: usize| format!("/{}", names.get(i));
    let out = Command::new(&bin)
        .args([slash(0), slash(1), slash(2), slash(3)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "message=Message from first process.\nsmtest=a 100 10 size=7\n"
    );

    let text = Region::open_read_only(names.get(2)).unwrap();
    assert_eq!(text.len(), 256);
    assert_eq!(&text.as_slice()[..16], b"Message from C.\0");
    let sm = Region::open_read_only(names.get(3)).unwrap();
    let got = sm.records::<Smtest>().unwrap()[0];
    let (c, i, s) = (got.c, got.i, got.s);
    assert_eq!((c, i, s), (CChar(b'z'), -123456, -7));
}

#[test]
fn squatted_names_are_refused() {
    let names = Names::new("squat", 4);

    // A region that group and others may write (another user could have planted it).
    let wide = shm_path(names.get(0));
    std::fs::write(&wide, [0u8; 64]).unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(matches!(
        Region::create(names.get(0), 64),
        Err(Error::AlreadyExists { .. })
    ));
    let err = Region::open_or_create(names.get(0), 64).unwrap_err();
    assert!(matches!(err, Error::UnsafeRegion { .. }), "{err}");
    assert!(err.to_string().contains("0o666"), "{err}");
    // Allowed when asked for by name, or when the caller wants that mode anyway.
    let trusted = RegionOptions::new()
        .trust_existing(true)
        .open_or_create(names.get(0), 64);
    assert_eq!(trusted.unwrap().1, Origin::Opened);
    assert!(
        RegionOptions::new()
            .mode(0o666)
            .open_or_create(names.get(0), 64)
            .is_ok()
    );

    // A symbolic link, to a file the squatter wants us to write: never followed.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("victim");
    std::fs::write(&target, b"precious").unwrap();
    std::os::unix::fs::symlink(&target, shm_path(names.get(1))).unwrap();
    assert!(matches!(
        Region::create(names.get(1), 64),
        Err(Error::AlreadyExists { .. })
    ));
    for err in [
        Region::open_or_create(names.get(1), 64).unwrap_err(),
        Region::open(names.get(1)).unwrap_err(),
        RegionOptions::new()
            .trust_existing(true)
            .open_or_create(names.get(1), 64)
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::UnsafeRegion { .. }), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    assert!(Store::<Checked>::open_shared(names.get(1)).is_err());
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");

    // A region another user owns (CI runs as root, so it can make one for `nobody`).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let theirs = shm_path(names.get(2));
        let file = std::fs::File::create(&theirs).unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::os::unix::fs::fchown(&file, Some(65534), Some(65534)).unwrap();
        assert!(matches!(
            Region::create(names.get(2), 64),
            Err(Error::AlreadyExists { .. })
        ));
        let err = Region::open_or_create(names.get(2), 64).unwrap_err();
        assert!(matches!(err, Error::UnsafeRegion { .. }), "{err}");
        assert!(err.to_string().contains("uid 65534"), "{err}");
    } else {
        eprintln!("not root: the region owned by another user is not checked");
    }

    // A FIFO under the name: refused, without blocking.
    let fifo = std::ffi::CString::new(shm_path(names.get(3)).to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let err = Region::open_read_only(names.get(3)).unwrap_err();
    assert!(matches!(err, Error::UnsafeRegion { .. }), "{err}");
}

#[test]
fn created_regions_have_exactly_the_mode_asked_whatever_the_umask() {
    let names = Names::new("mode", 3);
    for (i, umask, mode, want) in [
        (0, "0", "600", "600"),
        (1, "0", "640", "640"),
        (2, "63", "666", "666"),
    ] {
        let mut kid = child("umask_create", &[names.get(i), umask, mode]);
        assert_eq!(kid.expect_line("RESULT"), want);
        let meta = std::fs::metadata(shm_path(names.get(i))).unwrap();
        assert_eq!(format!("{:o}", meta.mode() & 0o777), want, "umask {umask}");
    }
    let err = RegionOptions::new()
        .mode(0o4600)
        .create(names.get(0), 8)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
}

#[test]
fn shared_store_has_a_store_header_grows_and_refuses_a_second_writer() {
    let names = Names::new("store", 1);
    let name = names.get(0);
    let mut writer = Store::<Checked>::create_shared(name, 4).unwrap();
    for s in 0..3 {
        writer.push(checked(s)).unwrap();
    }
    writer.flush().unwrap();
    let mut reader = Store::<Checked>::open_shared_read_only(name).unwrap();
    assert_eq!(reader.len(), 3);
    assert!(matches!(
        Store::<Checked>::open_shared(name),
        Err(Error::Locked { .. })
    ));
    assert!(matches!(
        Store::<Smtest>::open_shared_read_only(name),
        Err(Error::RecordSizeMismatch { .. })
    ));

    // Growth past capacity: the reader remaps on refresh.
    for s in 3..1000 {
        writer.push(checked(s)).unwrap();
    }
    writer.set(0, &checked(77)).unwrap();
    assert_eq!(
        reader.read(0).unwrap(),
        checked(77),
        "updates are visible at once"
    );
    assert!(reader.read(999).is_err());
    writer.flush().unwrap();
    assert!(reader.refresh().unwrap());
    assert_eq!(reader.len(), 1000);
    assert_eq!(reader.read(999).unwrap(), checked(999));

    // The same header as a file: the untyped table reads it, and refuses to write it.
    let table = shm::open_table(name, false).unwrap();
    assert_eq!(table.len(), 1000);
    assert_eq!(
        table.schema().unwrap().to_string(),
        "seq:u64,a:u64,b:u64,sum:u64"
    );
    drop(writer);
    assert!(matches!(
        shm::open_table(name, true),
        Err(Error::InvalidArgument(_))
    ));
    // A rolled-back update leaves the record as it was.
    let mut writer = Store::<Checked>::open_shared(name).unwrap();
    assert_eq!(writer.repaired(), None);
    let mut w = writer.begin(5).unwrap();
    w.write(&checked(12345));
    drop(w);
    assert_eq!(writer.read(5).unwrap(), checked(5));
}

#[test]
fn readers_in_another_process_never_see_a_torn_record() {
    let names = Names::new("torn", 1);
    let name = names.get(0);
    let mut store = Store::<Checked>::create_shared(name, 64).unwrap();
    for s in 0..64 {
        store.push(checked(s)).unwrap();
    }
    drop(store);
    let mut writer = child("torn_writer", &[name]);
    writer.expect_line("READY");
    let reads = 10_000_000u64;
    let mut reader = child("torn_reader", &[name, &reads.to_string()]);
    let result = reader.expect_line("RESULT");
    assert!(reader.0.wait().unwrap().success());
    assert!(
        writer.0.try_wait().unwrap().is_none(),
        "the writer stopped before the reader"
    );
    let v: Vec<u64> = result.split(' ').map(|s| s.parse().unwrap()).collect();
    let (got, torn, changes, retries) = (v[0], v[1], v[2], v[3]);
    eprintln!("reads {got}, torn {torn}, values changed {changes} times, retries {retries}");
    assert_eq!(got, reads);
    assert!(
        changes > 64 || retries > 0,
        "the reader never overlapped the writer"
    );
    assert_eq!(torn, 0, "torn records returned");
}

#[test]
fn a_writer_killed_mid_update_is_detected_and_the_next_writer_rolls_it_back() {
    let names = Names::new("kill", 1);
    let name = names.get(0);
    let mut store = Store::<Checked>::create_shared(name, 16).unwrap();
    for s in 0..8 {
        store.push(checked(s)).unwrap();
    }
    drop(store);

    let mut holder = child("holder", &[name]);
    holder.expect_line("HOLDING");
    assert!(matches!(
        Store::<Checked>::open_shared(name),
        Err(Error::Locked { .. })
    ));
    drop(holder);

    let mut dying = child("die_mid_update", &[name]);
    dying.expect_line("MID-UPDATE");
    let mut reader = Store::<Checked>::open_shared_read_only(name).unwrap();
    // Alive but stuck: a bounded wait, then an error.
    reader.set_timeout(Duration::from_millis(50));
    assert!(matches!(
        reader.read(3),
        Err(Error::WriterStalled { index: 3, .. })
    ));
    dying.0.kill().unwrap(); // SIGKILL
    dying.0.wait().unwrap();

    let err = reader.read(3).unwrap_err();
    assert!(matches!(err, Error::WriterDied { index: 3, .. }), "{err}");
    assert!(err.to_string().contains("died"), "{err}");
    assert_eq!(
        reader.read(4).unwrap(),
        checked(4),
        "other records stay readable"
    );
    let mut other = child("reader_of_died", &[name]);
    assert_eq!(other.expect_line("RESULT"), "died 3");

    let writer = Store::<Checked>::open_shared(name).unwrap();
    assert_eq!(writer.repaired(), Some(3));
    assert_eq!(
        reader.read(3).unwrap(),
        checked(3),
        "rolled back to before the update"
    );
    assert!(reader.writer_alive().unwrap());
    drop(writer);
    assert!(!reader.writer_alive().unwrap());
}

/// Pins a torn read reachable from safe code: a `RecordWrite` leaked with `mem::forget`
/// left its sequence word odd, and the next update then made it even mid-write.
#[test]
fn a_leaked_record_write_is_rolled_back_before_the_next_update() {
    let names = Names::new("leak", 1);
    let name = names.get(0);
    let mut store = Store::<Checked>::create_shared(name, 4).unwrap();
    store.push(checked(1)).unwrap();
    store.push(checked(2)).unwrap();
    store.flush().unwrap();
    let mut w = store.begin(0).unwrap();
    w.write_bytes(8, &[0xEE; 8]).unwrap(); // half an update
    std::mem::forget(w);
    store.set(1, &checked(7)).unwrap();
    let reader = Store::<Checked>::open_shared_read_only(name).unwrap();
    assert_eq!(
        reader.read(0).unwrap(),
        checked(1),
        "the leaked update is rolled back"
    );
    assert_eq!(reader.read(1).unwrap(), checked(7));
    store.set(0, &checked(9)).unwrap();
    assert_eq!(reader.read(0).unwrap(), checked(9));
}

/// Pins a SIGBUS reachable from safe code: a `Region` did not hold the shared "mapped"
/// lock, so a raw table on the same object could cut it under the region's map.
#[test]
fn a_raw_table_cannot_shrink_a_region_another_handle_maps() {
    let names = Names::new("shrink", 1);
    let name = names.get(0);
    let region = Region::create(name, 64).unwrap();
    let schema =
        fixrec::Schema::from_fields(fixrec::Layout::C, [("x", fixrec::FieldType::U64)]).unwrap();
    let mut table = shm::open_raw_table(name, schema, true).unwrap();
    assert_eq!(table.len(), 8);
    table.truncate(0);
    let err = table.flush().unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    assert_eq!(region.as_slice().len(), 64);
    assert!(
        region.as_slice().iter().all(|&b| b == 0),
        "still mapped and readable"
    );
}

/// The command line writes a shared store through its sequence lock: `set`, `push` and
/// `import` on `shm:NAME`, read back by a typed reader.
#[test]
fn the_command_line_writes_a_shared_store_under_its_lock() {
    let names = Names::new("cli", 1);
    let name = names.get(0);
    let mut store = Store::<Checked>::create_shared(name, 4).unwrap();
    store.push(checked(0)).unwrap();
    store.flush().unwrap();
    drop(store);
    let target = format!("shm:{name}");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fixrec"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fixrec {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let c1 = checked(1);
    let (seq, a, b, sum) = (c1.seq, c1.a, c1.b, c1.sum);
    let pushed = run(&[
        "push",
        &target,
        &format!("seq={seq}"),
        &format!("a={a}"),
        &format!("b={b}"),
        &format!("sum={sum}"),
    ]);
    assert_eq!(pushed.trim(), "1");
    let c2 = checked(2);
    run(&[
        "set",
        &target,
        "0",
        &format!("seq={}", c2.seq),
        &format!("a={}", c2.a),
        &format!("b={}", c2.b),
        &format!("sum={}", c2.sum),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    let rows: String = (3..9)
        .map(|s| {
            let c = checked(s);
            format!("{},{},{},{}\n", c.seq, c.a, c.b, c.sum)
        })
        .collect();
    std::fs::write(&csv, format!("seq,a,b,sum\n{rows}")).unwrap();
    run(&["import", &target, csv.to_str().unwrap()]);
    let reader = Store::<Checked>::open_shared_read_only(name).unwrap();
    assert_eq!(reader.len(), 8);
    assert_eq!(reader.read(0).unwrap(), checked(2));
    assert_eq!(reader.read(1).unwrap(), checked(1));
    for s in 3..9 {
        assert_eq!(reader.read(s as usize - 1).unwrap(), checked(s));
    }
    // And reads it back under the lock.
    let got = run(&["get", &target, "0"]);
    assert!(
        got.starts_with(&format!("{{\"seq\":2,\"a\":{}", c2.a)),
        "{got}"
    );
    let exported = run(&["export", &target, "--format", "csv"]);
    assert_eq!(exported.lines().count(), 9, "{exported}");
    assert!(exported.ends_with(&rows), "{exported}");
}

#[test]
fn no_regions_are_left_behind() {
    // Runs alongside the others; each cleans up its own names. This one checks that
    // the guard itself works: a name created and dropped through `Names` is gone.
    let names = Names::new("guard", 1);
    let path = shm_path(names.get(0));
    Region::create(names.get(0), 8).unwrap();
    assert!(path.exists());
    drop(names);
    assert!(!path.exists());
}
