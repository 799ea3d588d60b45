//! Layer 2: a memory map over a [`Backing`](crate::backing::Backing), grown with
//! `mremap` on Linux (unmapped and mapped again elsewhere), synced by byte range. A file
//! is mapped with memmap2; a region that is not a file (a Windows section) through the
//! platform layer's view.
//!
//! # Safety
//!
//! A file mapping is memory that other processes (and other handles) can change, and
//! that faults with SIGBUS if the file is cut below it. fixrec keeps faults from its own
//! handles: a file is only shrunk while no other handle has it mapped (a shared lock that
//! every mapping handle, stores and regions alike, holds), and no handle touches bytes
//! past the space reserved in the file (a raw file's map may reach past its end, but only
//! records below len, whose blocks were reserved first, are read or written). What
//! fixrec cannot prevent is another program ignoring those advisory locks, for example
//! calling `truncate` on the file: that can make a read fault. `docs/FORMAT.md` says so,
//! and `verify` reports a file that is shorter than its header claims.
//!
//! Changes are the other half, and here fixrec's guarantee has a limit. Within one
//! handle, reads go through `&self` and writes through `&mut self`, so they never
//! overlap. Between two handles on the same file (a writer and a read-only store, in
//! this process or another), a record the writer updates in place while a reader holds
//! `&R` to it changes under that reference: in Rust's terms a data race, which the
//! language leaves undefined, as with any shared mapping (memmap2's `Mmap::map` is
//! `unsafe` for this reason). In practice a reader sees an old, new or torn record. Code
//! that reads while another handle updates in place should read records the writer no
//! longer changes (those committed before its last `refresh`, for an append-only
//! writer), or use a shared store, whose `SharedStore::read` copies each record under a
//! sequence lock.

use crate::backing::Backing;
use crate::platform::{self, View};
use std::io;

use memmap2::{MmapOptions, MmapRaw};

/// The mapped memory: a file's map, or a view of a section.
#[derive(Debug)]
enum Raw {
    File(MmapRaw),
    View(View),
}

impl Raw {
    fn ptr(&self) -> *mut u8 {
        match self {
            Raw::File(m) => m.as_mut_ptr(),
            Raw::View(v) => v.as_mut_ptr(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Raw::File(m) => m.len(),
            Raw::View(v) => v.len(),
        }
    }
}

/// A mapping of bytes `0..len` of a file.
#[derive(Debug)]
pub(crate) struct Map {
    raw: Option<Raw>,
    /// The length asked for, which the map has unless the system cannot map a file past
    /// its end (then the map stops at the end, until [`Map::refit`]).
    want: usize,
    writable: bool,
}

impl Map {
    /// Maps the first `len` bytes of `backing` (nothing when `len` is 0).
    pub fn new(backing: &Backing, len: usize, writable: bool) -> io::Result<Map> {
        let mut map = Map {
            raw: None,
            want: 0,
            writable,
        };
        map.remap(backing, len)?;
        Ok(map)
    }

    pub fn len(&self) -> usize {
        self.raw.as_ref().map_or(0, Raw::len)
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.raw {
            // SAFETY: the mapping is `len` readable bytes and lives as long as `self`;
            // see the module's Safety section for why the file stays that long.
            Some(raw) => unsafe { std::slice::from_raw_parts(raw.ptr(), raw.len()) },
            None => &[],
        }
    }

    /// The mapped bytes `offset..offset + len`, built from the map's pointer so that no
    /// reference covers the rest of the map (which another thread may be filling, see
    /// `Table::materialize`). Panics if the range is outside the map.
    pub fn slice(&self, offset: usize, len: usize) -> &[u8] {
        let end = offset.checked_add(len).expect("range overflows");
        assert!(
            end <= self.len(),
            "fixrec bug: {offset}..{end} outside the map"
        );
        if self.raw.is_none() {
            return &[];
        }
        // SAFETY: the range lies inside the mapping (checked above), which lives as long
        // as `self`; see the module's Safety section for why the file stays that long.
        // An empty range keeps the map's (page-aligned) address, so typed casts of it
        // see an aligned pointer.
        unsafe { std::slice::from_raw_parts(self.as_ptr().add(offset), len) }
    }

    /// The mapped bytes, writable. Only called on writable maps.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        assert!(self.writable, "fixrec bug: write through a read-only map");
        match &mut self.raw {
            // SAFETY: as in `bytes`, and the map is writable; `&mut self` makes this
            // the only reference into it in this process.
            Some(raw) => unsafe { std::slice::from_raw_parts_mut(raw.ptr(), raw.len()) },
            None => &mut [],
        }
    }

    /// The start of the mapping as a raw pointer (null when nothing is mapped), for
    /// atomic access to bytes that other processes write (`shm`'s sequence locks). No
    /// reference is created, so concurrent writers elsewhere are no aliasing violation.
    pub fn as_ptr(&self) -> *mut u8 {
        self.raw.as_ref().map_or(std::ptr::null_mut(), Raw::ptr)
    }

    /// Copies `out.len()` bytes at `offset` with volatile reads, for bytes another
    /// process may be writing (the meta slots).
    pub fn read_volatile(&self, offset: usize, out: &mut [u8]) {
        let bytes = self.bytes();
        let src = &bytes[offset..offset + out.len()];
        for (o, s) in out.iter_mut().zip(src) {
            // SAFETY: `s` is a valid reference into the mapping.
            *o = unsafe { std::ptr::read_volatile(s) };
        }
    }

    /// Makes the map `len` bytes long. On Linux an existing map grows or shrinks with
    /// `mremap`, which moves page tables and copies no data; elsewhere the old map goes
    /// and a new one is made. Callers make sure that the file has at least `len` bytes
    /// reserved before they touch the new range. Where a file cannot be mapped past its
    /// end (Windows), the map stops there; [`Map::refit`] extends it once the file grew.
    pub fn remap(&mut self, backing: &Backing, len: usize) -> io::Result<()> {
        self.want = len;
        let len = match backing.section() {
            Some(_) => len,
            None if platform::MAP_PAST_END => len,
            None => {
                let size = backing.file().metadata()?.len();
                len.min(usize::try_from(size).unwrap_or(usize::MAX))
            }
        };
        if len == self.len() {
            return Ok(());
        }
        if len == 0 {
            self.raw = None;
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        if let Some(Raw::File(raw)) = &mut self.raw {
            // SAFETY: no reference into the old range outlives this call (`&mut self`),
            // and callers keep accesses within the file's reserved size.
            return unsafe { raw.remap(len, memmap2::RemapOptions::new().may_move(true)) };
        }
        // The old map goes before the new one is made.
        self.raw = None;
        self.raw = Some(match backing.section() {
            Some(section) => Raw::View(section.map(len, self.writable)?),
            None => {
                let mut opts = MmapOptions::new();
                opts.len(len);
                Raw::File(if self.writable {
                    opts.map_raw(backing.file())?
                } else {
                    opts.map_raw_read_only(backing.file())?
                })
            }
        });
        Ok(())
    }

    /// Maps again up to the length last asked for, if the map stopped short of it at the
    /// end of the file and the file has grown since.
    pub fn refit(&mut self, backing: &Backing) -> io::Result<()> {
        if self.len() < self.want {
            self.remap(backing, self.want)?;
        }
        Ok(())
    }

    /// Drops the map (a file that a map covers cannot shrink on Windows).
    pub fn unmap(&mut self) {
        self.raw = None;
    }

    /// Writes the pages holding `offset..offset + len` back and waits (`msync(MS_SYNC)`;
    /// `FlushViewOfFile` on Windows, whose file is then flushed by the caller's sync).
    pub fn sync(&self, offset: usize, len: usize) -> io::Result<()> {
        match &self.raw {
            Some(Raw::File(raw)) if len > 0 => raw.flush_range(offset, len),
            Some(Raw::View(view)) if len > 0 => view.flush(offset, len),
            _ => Ok(()),
        }
    }

    /// `msync(MS_ASYNC)` over `offset..offset + len`.
    pub fn sync_async(&self, offset: usize, len: usize) -> io::Result<()> {
        match &self.raw {
            Some(Raw::File(raw)) if len > 0 => raw.flush_async_range(offset, len),
            _ => Ok(()),
        }
    }

    /// Reads the first and the last byte of `offset..offset + len` (not empty), so that
    /// the pages they lie on fault in now. Panics if the range is outside the map.
    pub fn touch(&self, offset: usize, len: usize) {
        let bytes = self.slice(offset, len);
        for at in [0, len - 1] {
            // SAFETY: `at` lies inside `bytes`, a live slice of the map; a volatile read
            // of a byte is always valid, and it is not optimised away.
            unsafe { std::ptr::read_volatile(bytes.as_ptr().add(at)) };
        }
    }

    /// Asks the kernel to read only the pages that fault, with no read-around
    /// (`MADV_RANDOM`), until [`Map::read_normally`].
    pub fn read_randomly(&self) -> io::Result<()> {
        self.advise(platform::Advice::Random)
    }

    /// Gives the kernel back its default readahead (`MADV_NORMAL`).
    pub fn read_normally(&self) -> io::Result<()> {
        self.advise(platform::Advice::Normal)
    }

    /// Passes an access-pattern hint to the kernel.
    pub fn advise(&self, advice: platform::Advice) -> io::Result<()> {
        match &self.raw {
            Some(Raw::File(raw)) => platform::advise(raw, advice),
            _ => Ok(()),
        }
    }
}
