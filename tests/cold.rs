//! What a store opened on a cold page cache reads. The first fault on a file map makes the
//! kernel read around it (the device's whole readahead window, 8 MiB on some virtual
//! disks), so opening a store to read one record read megabytes. A store's map starts
//! under `MADV_RANDOM` until its first read: open and one read bring in the header and
//! the record's page, while a scan (`as_slice`) and the reads after the first keep the
//! kernel's readahead. Pages in the cache are counted with `mincore`.
//!
//! The page cache must be droppable (`posix_fadvise(DONTNEED)`) where the temporary
//! directory lives: on tmpfs it is not, and the tests say so and pass.
//!
//! Linux only: `posix_fadvise`, `mmap` and `mincore` count the pages; Windows has no
//! `madvise` for mapped files (the advice is accepted and does nothing there).
#![cfg(target_os = "linux")]

use fixrec::{Store, record};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

const PAGE: usize = 4096;
/// 20,000 records of 512 bytes: 10 MB, more than any readahead window around the middle.
const RECORDS: u64 = 20_000;

record! {
    #[repr(C)]
    /// 512 bytes.
    pub struct Row {
        pub i: u64,
        pub fill: [u8; 504],
    }
}

fn row(i: u64) -> Row {
    Row { i, fill: [7; 504] }
}

fn make(path: &Path) {
    let mut s = Store::<Row>::create(path).unwrap();
    for i in 0..RECORDS {
        s.push(row(i)).unwrap();
    }
    s.flush().unwrap();
}

/// Drops the file's pages from the page cache.
fn drop_cache(path: &Path) {
    let f = File::open(path).unwrap();
    f.sync_all().unwrap();
    // SAFETY: a plain syscall on an open descriptor.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise");
}

/// Pages of the file in the page cache.
fn cached_pages(path: &Path) -> usize {
    let f = File::open(path).unwrap();
    let len = f.metadata().unwrap().len() as usize;
    // SAFETY: a read-only shared map of our own test file, only passed to mincore (its
    // bytes are never read, so no page is faulted in), and unmapped below.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "mmap");
        let mut vec = vec![0u8; len.div_ceil(PAGE)];
        assert_eq!(libc::mincore(p, len, vec.as_mut_ptr()), 0, "mincore");
        libc::munmap(p, len);
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }
}

/// Drops the cache and says whether that worked here.
fn cold(path: &Path) -> bool {
    drop_cache(path);
    let left = cached_pages(path);
    if left > 4 {
        eprintln!(
            "skipped: {left} pages of {} stay cached after posix_fadvise(DONTNEED) (tmpfs?)",
            path.display()
        );
        return false;
    }
    true
}

/// How many pages the kernel reads around the first fault of a plain map here (its
/// readahead window; 32 pages for the common 128 KiB).
fn read_around(path: &Path) -> usize {
    let f = File::open(path).unwrap();
    // SAFETY: our own test file, which nothing writes or cuts while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&f).unwrap() };
    std::hint::black_box(map[map.len() / 2]);
    drop(map);
    cached_pages(path)
}

#[test]
fn a_cold_open_and_one_read_fault_only_the_header_and_the_record() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("cold.fxr");
    make(&path);
    if !cold(&path) {
        return;
    }
    let around = read_around(&path);
    cold(&path);
    let s = Store::<Row>::open_read_only(&path).unwrap();
    assert_eq!(s[10_000].i, 10_000);
    drop(s);
    let read = cached_pages(&path);
    // The header's read (and its small readahead) and the record's page; a read-around
    // would have brought `around`.
    assert!(
        read <= 8,
        "open + one read brought {read} pages into the cache (a plain map's first fault: {around})"
    );

    // `get` and a writable open likewise.
    cold(&path);
    let s = Store::<Row>::open(&path).unwrap();
    assert_eq!(s.get(123).unwrap().i, 123);
    drop(s);
    let read = cached_pages(&path);
    assert!(read <= 8, "a writable open + one get brought {read} pages");
}

#[test]
fn a_scan_and_the_reads_after_the_first_keep_the_readahead() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("cold.fxr");
    make(&path);
    if !cold(&path) {
        return;
    }
    let around = read_around(&path);
    if around <= 16 {
        eprintln!("skipped: the kernel reads only {around} pages around a fault here");
        return;
    }
    // A scan: readahead from its first page.
    cold(&path);
    let s = Store::<Row>::open_read_only(&path).unwrap();
    let all = s.as_slice();
    assert_eq!(all[10_000].i, 10_000);
    drop(s);
    let read = cached_pages(&path);
    assert!(
        read > 16,
        "a scan's first fault brought {read} pages (a plain map's: {around})"
    );

    // The second read of a store is the kernel's to guess again.
    cold(&path);
    let s = Store::<Row>::open_read_only(&path).unwrap();
    assert_eq!(s[1].i, 1);
    let first = cached_pages(&path);
    assert_eq!(s[10_000].i, 10_000);
    drop(s);
    let read = cached_pages(&path);
    assert!(
        read > first + 16,
        "the second read brought {} pages (a plain map's first fault: {around})",
        read - first
    );
}
