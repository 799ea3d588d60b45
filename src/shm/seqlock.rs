//! The shared area of a shared-memory store, and atomic access to mapped bytes.
//!
//! Every access to bytes that another process may write at the same time goes through
//! the atomic loads and stores here (relaxed, at most 8 bytes each), so there is no data
//! race in the Rust sense; the sequence words order them. The protocol (Boehm's
//! seqlock, "Can seqlocks get along with programming language memory models?", 2012):
//!
//! - writer: `undo = record; pending = i + 1 (release); seq = s + 1; fence(release);`
//!   record stores; `seq = s + 2 (release); pending = 0 (release)`;
//! - reader: `s1 = seq (acquire)`; if odd, wait; record loads; `fence(acquire);
//!   s2 = seq`; the copy is whole if `s1 == s2`, else retry.
//!
//! The area's byte map is in [`format::shared_data_offset`](crate::format::shared_data_offset)
//! and `docs/FORMAT.md`, "Shared-memory stores".

use crate::format::{SHARED_AREA_HEADER, SHARED_STRIPES};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// Offsets, in the map, of the parts of the shared area that starts at `start`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Area {
    start: usize,
}

impl Area {
    pub fn new(start: usize) -> Area {
        Area { start }
    }

    pub fn pending(self) -> usize {
        self.start
    }

    pub fn seq(self, index: usize) -> usize {
        self.start + SHARED_AREA_HEADER + 8 * (index % SHARED_STRIPES)
    }

    pub fn stripe(self, stripe: usize) -> usize {
        self.start + SHARED_AREA_HEADER + 8 * stripe
    }

    pub fn undo(self) -> usize {
        self.start + SHARED_AREA_HEADER + 8 * SHARED_STRIPES
    }
}

/// The 8-byte word at `base + offset`, as an atomic.
///
/// # Safety
///
/// `base + offset` must lie in a live mapping of at least 8 more bytes, 8-byte aligned
/// (the area starts at a multiple of 4096 in a page-aligned map), for as long as the
/// returned reference is used: callers hold `&self` of the handle that owns the map,
/// and a remap needs `&mut self`. The word is only ever accessed atomically. On a
/// read-only map, only loads are done, which std documents as allowed on read-only
/// memory for atomics of this size.
pub(super) unsafe fn word<'a>(base: *mut u8, offset: usize) -> &'a AtomicU64 {
    // SAFETY: the caller's guarantees above are from_ptr's requirements.
    unsafe { AtomicU64::from_ptr(base.add(offset).cast()) }
}

/// Copies `out.len()` bytes from `src` with relaxed atomic loads (8 bytes at a time
/// where aligned).
///
/// # Safety
///
/// `src..src + out.len()` must lie in a live mapping, accessed by everyone only
/// atomically while it may be written (see [`word`]).
#[inline]
pub(super) unsafe fn load_bytes(src: *const u8, out: &mut [u8]) {
    let n = out.len();
    let head = (src as usize).wrapping_neg() % 8;
    let mut i = 0;
    // SAFETY (all three loops): every address is inside `src..src + n` (the caller's
    // range), u8 needs no alignment and the u64 loads start where `src + i` is aligned.
    while i < head.min(n) {
        out[i] = unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
        i += 1;
    }
    while i + 8 <= n {
        let v =
            unsafe { AtomicU64::from_ptr(src.add(i).cast_mut().cast()) }.load(Ordering::Relaxed);
        out[i..i + 8].copy_from_slice(&v.to_ne_bytes());
        i += 8;
    }
    while i < n {
        out[i] = unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
        i += 1;
    }
}

/// Copies `bytes` to `dst` with relaxed atomic stores.
///
/// # Safety
///
/// `dst..dst + bytes.len()` must lie in a live writable mapping, accessed by everyone
/// only atomically while it may be read (see [`word`]).
pub(super) unsafe fn store_bytes(dst: *mut u8, bytes: &[u8]) {
    let n = bytes.len();
    let head = (dst as usize).wrapping_neg() % 8;
    let mut i = 0;
    // SAFETY (all three loops): as in `load_bytes`, for the caller's writable range.
    while i < head.min(n) {
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(bytes[i], Ordering::Relaxed);
        i += 1;
    }
    while i + 8 <= n {
        let v = u64::from_ne_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        unsafe { AtomicU64::from_ptr(dst.add(i).cast()) }.store(v, Ordering::Relaxed);
        i += 8;
    }
    while i < n {
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(bytes[i], Ordering::Relaxed);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_round_trip_at_every_alignment_and_length() {
        let mut buf = vec![0u64; 16];
        let base = buf.as_mut_ptr().cast::<u8>();
        for shift in 0..8 {
            for len in 0..40 {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + shift) as u8 ^ 0x5a).collect();
                let mut out = vec![0u8; len];
                // SAFETY: shift + len <= 48 < 128 bytes of `buf`, which nothing else uses.
                unsafe {
                    store_bytes(base.add(shift), &data);
                    load_bytes(base.add(shift), &mut out);
                }
                assert_eq!(out, data, "shift {shift} len {len}");
            }
        }
    }
}
