//! What the reliability tests share: a seedable generator and a record that checks
//! itself. Each test file uses its own part of it.
#![allow(dead_code)]

pub mod cli;

use fixrec::record;

/// SplitMix64: small, seedable, good enough to pick operations and mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub fn upto(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

record! {
    #[repr(C)]
    /// 64 bytes, so a record never straddles a 512-byte sector. Every byte derives from
    /// (index, version), and `sum` checks the rest.
    #[derive(Debug, PartialEq)]
    pub struct Rec {
        pub index: u64,
        pub version: u64,
        pub fill: [u8; 40],
        pub sum: u64,
    }
}

/// Two numbers mixed into one, for seeds and record bytes.
pub fn mix(a: u64, b: u64) -> u64 {
    Rng(a.wrapping_mul(0x1000_0000_01b3) ^ b).next()
}

/// Version `version` of record `index`.
pub fn rec(index: u64, version: u64) -> Rec {
    let mut fill = [0u8; 40];
    for (k, chunk) in fill.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(mix(index, version), k as u64).to_le_bytes());
    }
    let mut r = Rec {
        index,
        version,
        fill,
        sum: 0,
    };
    r.sum = checksum(&r);
    r
}

/// FNV-1a of the record's bytes before `sum`.
pub fn checksum(r: &Rec) -> u64 {
    bytemuck::bytes_of(r)[..56]
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}
