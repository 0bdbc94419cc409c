//! Tools that are correct only when used exactly as documented.
//!
//! Nothing in here is needed to issue, present or verify. [`range`] is the
//! raw HashWires range-proof scheme (commit, prove, verify a bare
//! commitment, with none of the credential's signatures or bindings around
//! it); [`SeededRng`] exists for test vectors and reproducible examples.

use crate::format::rng::SecureRng;
use zeroize::Zeroize;

/// A deterministic byte stream: SHA-256 in counter mode over a seed.
///
/// With a public label ([`SeededRng::new`]) it makes test vectors and
/// examples reproducible byte for byte — **never** use a known label for real
/// credentials: anyone who knows it knows every key and salt. Seeded with
/// 32 secret random bytes ([`SeededRng::from_seed`]) it is a sound DRBG.
pub struct SeededRng {
    seed: [u8; 32],
    counter: u64,
}

impl SeededRng {
    /// A stream derived from `label` (hashed to a 32-byte seed).
    pub fn new(label: &[u8]) -> Self {
        let mut seed = [0u8; 32];
        seed.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, label).as_ref());
        Self { seed, counter: 0 }
    }
}

impl SeededRng {
    /// A stream from a 32-byte seed. Sound as a DRBG when the seed itself
    /// is drawn from a CSPRNG (batch issuance uses it that way, one stream
    /// per credential so credentials can be signed in parallel).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { seed, counter: 0 }
    }
}

impl Drop for SeededRng {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl std::fmt::Debug for SeededRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededRng([redacted])")
    }
}

impl SecureRng for SeededRng {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(b"creditproof/hazmat/seeded-rng/v1");
            ctx.update(&self.seed);
            ctx.update(&self.counter.to_be_bytes());
            self.counter = self.counter.wrapping_add(1);
            let block = ctx.finish();
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
    }
}

pub mod range;
