//! Raw (headerless) files, byte for byte the arrays a C program writes with `fwrite`:
//! `struct Member { char Id[256]; char name[256]; }`, as in `jinyong.dat`. Includes C
//! programs compiled at test time with the system compiler (`cc`), which write a file
//! fixrec reads and read files fixrec wrote.
// Some imports serve only the tests gated to Unix below.
#![cfg_attr(windows, allow(unused_imports))]

use fixrec::{Error, FixedStr, Store, record};
use std::fs;
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;
use std::process::Command;

record! {
    #[repr(C)]
    /// `struct Member { char Id[256]; char name[256]; }`
    #[derive(Debug, PartialEq)]
    pub struct Member {
        pub id: FixedStr<256>,
        pub name: FixedStr<256>,
    }
}

const RS: usize = 512;

fn member(id: &str, name: &str) -> Member {
    Member {
        id: FixedStr::new(id).unwrap(),
        name: FixedStr::new(name).unwrap(),
    }
}

fn nth(i: usize) -> Member {
    member(&i.to_string(), &format!("name {i}"))
}

/// The bytes the C program writes: 1000 records of ("22", "22"), each field NUL-padded.
fn jinyong_bytes() -> Vec<u8> {
    let mut out = vec![0u8; 1000 * RS];
    for rec in out.chunks_exact_mut(RS) {
        rec[..2].copy_from_slice(b"22");
        rec[256..258].copy_from_slice(b"22");
    }
    out
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn a_file_laid_out_as_the_c_struct_reads_back() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("jinyong.dat");
    fs::write(&path, jinyong_bytes()).unwrap();

    let s = Store::<Member>::open_raw_read_only(&path).unwrap();
    assert_eq!(s.len(), 1000);
    assert_eq!(s.capacity(), 1000);
    assert!(s.schema().is_none(), "a raw file has no header");
    assert!(s.table().is_raw());
    assert_eq!(s.table().data_offset(), 0);
    assert_eq!(s[2].id.as_str().unwrap(), "22");
    assert_eq!(s[3].name.as_str().unwrap(), "22");
    assert!(s.iter().all(|m| *m == member("22", "22")));
    s.verify().unwrap();
    drop(s);

    let s = Store::<Member>::open_raw(&path).unwrap();
    assert_eq!(s.len(), 1000);
    assert_eq!(s.get(999), Some(&member("22", "22")));
    assert_eq!(s.get(1000), None);
    drop(s);
    // Opening and closing for writing changes nothing.
    assert_eq!(fs::read(&path).unwrap(), jinyong_bytes());
}

#[test]
fn a_raw_file_written_by_store_matches_the_c_bytes() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("jinyong.dat");
    let mut s = Store::<Member>::create_raw(&path).unwrap();
    assert!(s.is_empty());
    for _ in 0..1000 {
        s.push(member("22", "22")).unwrap();
    }
    s.flush().unwrap();
    assert_eq!(fs::read(&path).unwrap(), jinyong_bytes());
    drop(s);
    assert_eq!(fs::read(&path).unwrap(), jinyong_bytes());

    // The same through extend_from_slice, and through a write in place.
    let path2 = d.path().join("again.dat");
    let mut s = Store::<Member>::create_raw(&path2).unwrap();
    s.extend_from_slice(&vec![member("x", "y"); 1000]).unwrap();
    for m in s.as_mut_slice() {
        *m = member("22", "22");
    }
    drop(s);
    assert_eq!(fs::read(&path2).unwrap(), jinyong_bytes());
}

#[test]
fn the_file_stays_exactly_len_records_long() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("m.dat");
    let mut s = Store::<Member>::create_raw(&path).unwrap();
    assert_eq!(file_len(&path), 0);
    s.reserve(100).unwrap();
    assert!(s.capacity() >= 100);
    s.flush().unwrap();
    assert_eq!(file_len(&path), 0, "reserve adds no records to a raw file");
    for i in 0..10 {
        s.push(nth(i)).unwrap();
        assert_eq!(file_len(&path), ((i + 1) * RS) as u64);
    }
    s.flush().unwrap();
    assert_eq!(file_len(&path), 10 * RS as u64);
    drop(s);
    assert_eq!(file_len(&path), 10 * RS as u64);

    // truncate + flush shrinks the file.
    let mut s = Store::<Member>::open_raw(&path).unwrap();
    assert_eq!(s.len(), 10);
    s.truncate(20);
    assert_eq!(s.len(), 10);
    s.truncate(4);
    s.flush().unwrap();
    assert_eq!(file_len(&path), 4 * RS as u64);
    // Pushing after a truncate reuses the space; drop cuts to len as well.
    s.push(nth(99)).unwrap();
    s.push(nth(98)).unwrap();
    s.truncate(5);
    drop(s);
    assert_eq!(file_len(&path), 5 * RS as u64);
    let s = Store::<Member>::open_raw_read_only(&path).unwrap();
    assert_eq!(s.as_slice(), &[nth(0), nth(1), nth(2), nth(3), nth(99)]);
    drop(s);

    // shrink_to_fit on a raw file leaves it len records long too.
    let mut s = Store::<Member>::open_raw(&path).unwrap();
    s.truncate(2);
    s.shrink_to_fit().unwrap();
    assert_eq!(file_len(&path), 2 * RS as u64);
    s.truncate(0);
    drop(s);
    assert_eq!(file_len(&path), 0);
    assert!(Store::<Member>::open_raw(&path).unwrap().is_empty());
}

#[test]
fn a_size_that_is_not_a_multiple_is_an_error_naming_both_numbers() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("odd.dat");
    fs::write(&path, vec![b'a'; 1000]).unwrap();
    for e in [
        Store::<Member>::open_raw(&path).unwrap_err(),
        Store::<Member>::open_raw_read_only(&path).unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                Error::RawSizeNotMultiple {
                    file_size: 1000,
                    record_size: 512,
                    remainder: 488,
                    ..
                }
            ),
            "{e}"
        );
        let m = e.to_string();
        assert!(m.contains("1000") && m.contains("512"), "{m}");
        assert!(m.contains(&path.display().to_string()), "{m}");
    }
    assert_eq!(fs::read(&path).unwrap(), vec![b'a'; 1000], "untouched");
    // The same bytes are 250 u32 records.
    let s = Store::<u32>::open_raw_read_only(&path).unwrap();
    assert_eq!(s.len(), 250);
    assert_eq!(s[0], u32::from_le_bytes(*b"aaaa"));
    // An empty file is an empty array.
    let empty = d.path().join("empty.dat");
    fs::write(&empty, b"").unwrap();
    assert!(Store::<Member>::open_raw(&empty).unwrap().is_empty());
    assert!(
        Store::<Member>::open_raw_read_only(&empty)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn raw_files_have_one_writer_and_readers_follow_it() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("m.dat");
    let mut w = Store::<Member>::create_raw(&path).unwrap();
    let e = Store::<Member>::open_raw(&path).unwrap_err();
    assert!(matches!(e, Error::Locked { .. }), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");

    w.push(nth(0)).unwrap();
    w.flush().unwrap();
    let mut r = Store::<Member>::open_raw_read_only(&path).unwrap();
    assert_eq!(r.as_slice(), &[nth(0)]);
    for i in 1..300 {
        w.push(nth(i)).unwrap();
    }
    w.flush().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 300);
    assert_eq!(r[299], nth(299));

    // The file never shrinks under a reader: truncate + flush is refused meanwhile.
    w.truncate(1);
    let e = w.flush().unwrap_err();
    assert!(matches!(e, Error::InUse { .. }), "{e}");
    assert_eq!(file_len(&path), 300 * RS as u64);
    assert_eq!(r[299], nth(299));
    drop(r);
    w.flush().unwrap();
    assert_eq!(file_len(&path), RS as u64);
}

// ---------------------------------------------------------------- with a C compiler

#[cfg(unix)]
const MEMBER_H: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
struct Member { char Id[256]; char name[256]; };
"#;

#[cfg(unix)]
/// `writer FILE`: what the Win32 program does with WriteFile, with fwrite.
const WRITER_C: &str = r#"
int main(int argc, char **argv) {
    static struct Member member[1000];
    memset(member, 0, sizeof member);
    for (int i = 0; i < 1000; i++) {
        strcpy(member[i].Id, "22");
        strcpy(member[i].name, "22");
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(member, sizeof(struct Member), 1000, f) != 1000 || fclose(f) != 0) {
        perror("write");
        return 1;
    }
    printf("%zu\n", sizeof(struct Member));
    return 0;
}
"#;

#[cfg(unix)]
/// `reader raw FILE` reads a headerless array; `reader native FILE` finds the records
/// of a fixrec store from docs/FORMAT.md alone (data offset at byte 32, len from the
/// meta slot with the higher generation). Prints the count, member[2].Id and
/// member[3].name.
const READER_C: &str = r#"
static uint64_t u64_at(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
int main(int argc, char **argv) {
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror("open"); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc(size);
    if (fread(bytes, 1, size, f) != (size_t)size) { perror("read"); return 1; }
    fclose(f);
    uint64_t offset = 0, n = size / sizeof(struct Member);
    if (strcmp(argv[1], "native") == 0) {
        offset = u64_at(bytes + 32);
        uint64_t g0 = u64_at(bytes + 512 + 8), g1 = u64_at(bytes + 1024 + 8);
        n = u64_at(bytes + (g0 > g1 ? 512 : 1024) + 16);
    }
    struct Member *member = (struct Member *)(bytes + offset);
    printf("%llu\n%s\n%s\n", (unsigned long long)n, member[2].Id, member[3].name);
    return 0;
}
"#;

#[cfg(unix)]
/// Compiles `source` with the system C compiler. Panics (fails the test) if there is
/// none: this test must not pass without checking the C side.
fn compile(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    fs::write(&src, format!("{MEMBER_H}{source}")).unwrap();
    let out = Command::new("cc")
        .args(["-std=c99", "-O1", "-Wall", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("`cc` (the system C compiler) is required by this test; install gcc or clang");
    assert!(
        out.status.success(),
        "cc failed on {name}.c:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

#[cfg(unix)]
fn run(exe: &Path, args: &[&Path]) -> String {
    let out = Command::new(exe).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        exe.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(unix)] // compiles C with the system `cc`; tests/win32.rs does this on Windows
#[test]
fn c_programs_and_fixrec_exchange_files_both_ways() {
    let d = tempfile::tempdir().unwrap();
    let writer = compile(d.path(), "writer", WRITER_C);
    let reader = compile(d.path(), "reader", READER_C);

    // C writes jinyong.dat with fwrite; fixrec maps it and reads member[2].Id.
    let c_file = d.path().join("jinyong.dat");
    assert_eq!(run(&writer, &[&c_file]), "512\n");
    assert_eq!(fs::read(&c_file).unwrap(), jinyong_bytes());
    let s = Store::<Member>::open_raw_read_only(&c_file).unwrap();
    assert_eq!(s.len(), 1000);
    assert_eq!(s[2].id.as_str().unwrap(), "22");
    assert_eq!(s[3].name.as_str().unwrap(), "22");
    drop(s);

    // fixrec writes (distinct records, so that the indexes show); C reads them.
    let rust_file = d.path().join("fixrec.dat");
    let mut s = Store::<Member>::create_raw(&rust_file).unwrap();
    for i in 0..1000 {
        s.push(nth(i)).unwrap();
    }
    s[3].name.set("김용").unwrap();
    s.flush().unwrap();
    assert_eq!(
        run(&reader, &[Path::new("raw"), &rust_file]),
        "1000\n2\n김용\n"
    );
    s.truncate(10);
    drop(s);
    assert_eq!(
        run(&reader, &[Path::new("raw"), &rust_file]),
        "10\n2\n김용\n"
    );

    // A C program finds the records of a native store from the documented format.
    let native = d.path().join("members.fxr");
    let mut s: Store<Member> = fixrec::StoreOptions::new()
        .capacity(4)
        .create(&native)
        .unwrap();
    for i in 0..7 {
        s.push(nth(i)).unwrap();
    }
    s.flush().unwrap();
    s.push(nth(7)).unwrap(); // not committed: C must not count it
    assert_eq!(
        run(&reader, &[Path::new("native"), &native]),
        "7\n2\nname 3\n"
    );
    drop(s);
    assert_eq!(
        run(&reader, &[Path::new("native"), &native]),
        "8\n2\nname 3\n"
    );
}

/// Pins a panic: an empty raw file of an aligned type has no map, and casting the empty
/// byte slice to `&[u32]` must not trip bytemuck's alignment check.
#[test]
fn an_empty_raw_file_of_aligned_records_reads_as_an_empty_slice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.dat");
    let mut store = fixrec::Store::<u64>::create_raw(&path).unwrap();
    assert!(store.as_slice().is_empty());
    assert!(store.as_mut_slice().is_empty());
    assert_eq!(store.iter().count(), 0);
    drop(store);
    let store = fixrec::Store::<u64>::open_raw_read_only(&path).unwrap();
    assert!(store.as_slice().is_empty());
}
