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
//!
//! The protocol's steps ([`begin_write`], [`end_write`], [`begin_read`], [`end_read`])
//! are generic over [`Word`], so that the model check at the end of this file runs them
//! on loom's atomics under the C11 memory model (`RUSTFLAGS="--cfg loom"`, see
//! `docs/RELIABILITY.md`): a missing fence or a weaker ordering here fails it, where
//! x86 would never show the difference.

use crate::format::{SHARED_AREA_HEADER, SHARED_STRIPES};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// A 64-bit atomic word and the fences that order accesses to it: std's atomics here,
/// loom's in the model check.
pub(super) trait Word {
    fn load(&self, order: Ordering) -> u64;
    fn store(&self, value: u64, order: Ordering);
    fn fence(order: Ordering);
}

impl Word for AtomicU64 {
    #[inline]
    fn load(&self, order: Ordering) -> u64 {
        AtomicU64::load(self, order)
    }

    #[inline]
    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order)
    }

    #[inline]
    fn fence(order: Ordering) {
        std::sync::atomic::fence(order)
    }
}

/// The writer's first step, before it changes record `index` (whose stripe's sequence
/// word is `seq`; its old bytes are in the undo copy already): names the record in
/// `pending` and makes the word odd, with a release fence so that no store to the record
/// is seen before the odd word. Returns the word's even value, for [`end_write`].
#[inline]
pub(super) fn begin_write<W: Word>(pending: &W, seq: &W, index: u64) -> u64 {
    pending.store(index.wrapping_add(1), Ordering::Release);
    let even = seq.load(Ordering::Relaxed);
    seq.store(even.wrapping_add(1), Ordering::Relaxed);
    W::fence(Ordering::Release);
    even
}

/// The writer's last step: the word even again (release: a reader that sees it sees the
/// whole record), and no update pending.
#[inline]
pub(super) fn end_write<W: Word>(pending: &W, seq: &W, even: u64) {
    seq.store(even.wrapping_add(2), Ordering::Release);
    pending.store(0, Ordering::Release);
}

/// The reader's first step: the sequence word before the copy. Odd means an update is
/// in progress: wait, and begin again.
#[inline]
pub(super) fn begin_read<W: Word>(seq: &W) -> u64 {
    seq.load(Ordering::Acquire)
}

/// The reader's last step, after its relaxed loads of the record: whether the copy is
/// whole, that is, whether the word still holds `s1` from [`begin_read`]. The acquire
/// fence keeps the record's loads before the word's second load: if any of them saw a
/// store of an update, this load sees that update's odd word (or later).
#[inline]
pub(super) fn end_read<W: Word>(seq: &W, s1: u64) -> bool {
    W::fence(Ordering::Acquire);
    seq.load(Ordering::Relaxed) == s1
}

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

/// The sequence lock model-checked with loom: every interleaving of a writer and a
/// reader, and every value each relaxed load may return under the C11 memory model, run
/// through the protocol functions above. Run it with
/// `RUSTFLAGS="--cfg loom" cargo test --release --lib --no-default-features seqlock::model`
/// (and a target directory of its own, as `.ci/run` does).
#[cfg(all(test, loom))]
mod model {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicU64 as LoomU64;

    impl Word for LoomU64 {
        fn load(&self, order: Ordering) -> u64 {
            LoomU64::load(self, order)
        }

        fn store(&self, value: u64, order: Ordering) {
            LoomU64::store(self, value, order)
        }

        fn fence(order: Ordering) {
            loom::sync::atomic::fence(order)
        }
    }

    /// A record of two words, version `v` being `[v, v]`, with its sequence word.
    struct Shared {
        pending: LoomU64,
        seq: LoomU64,
        record: [LoomU64; 2],
    }

    /// The writer's side of one update to version `v` (as `SharedStore::begin`, the
    /// record's relaxed stores, and `RecordWrite`'s drop).
    fn update(s: &Shared, v: u64) {
        let even = begin_write(&s.pending, &s.seq, 0);
        for word in &s.record {
            word.store(v, Ordering::Relaxed);
        }
        end_write(&s.pending, &s.seq, even);
    }

    /// One read attempt (as `SharedStore::read_bytes`): the copy, if the protocol says
    /// it is whole, with the sequence word it was read under.
    fn try_read(s: &Shared) -> Option<([u64; 2], u64)> {
        let s1 = begin_read(&s.seq);
        if s1 & 1 == 1 {
            return None;
        }
        let copy = [
            s.record[0].load(Ordering::Relaxed),
            s.record[1].load(Ordering::Relaxed),
        ];
        end_read(&s.seq, s1).then_some((copy, s1))
    }

    /// A copy the protocol accepts is one version, whole, and the one its sequence word
    /// names (update `v` leaves the word at `2 v`): never a torn record, never a stale
    /// one under a newer word.
    #[test]
    fn a_reader_accepts_only_whole_records() {
        loom::model(|| {
            let s = Arc::new(Shared {
                pending: LoomU64::new(0),
                seq: LoomU64::new(0),
                record: [LoomU64::new(0), LoomU64::new(0)],
            });
            let writer = {
                let s = Arc::clone(&s);
                loom::thread::spawn(move || {
                    update(&s, 1);
                    update(&s, 2);
                })
            };
            // The reader has a thread of its own: run on the model's main thread, it was
            // never scheduled after the writer's stores, and a relaxed `begin_read`
            // passed.
            let reader = loom::thread::spawn(move || {
                if let Some((copy, s1)) = try_read(&s) {
                    assert_eq!(copy[0], copy[1], "a torn record was accepted: {copy:?}");
                    assert_eq!(copy[0], s1 / 2, "version {copy:?} under sequence word {s1}");
                }
            });
            writer.join().unwrap();
            reader.join().unwrap();
        });
    }
}
