//! Public parameters: base, bit width, and everything derived from them.

use super::error::RangeError;

/// Length of every hash value and secret in this module.
pub(crate) const HASH_LEN: usize = 32;

/// Length of the per-leaf accumulator salt: 128 bits (see the module docs,
/// *Hiding*).
pub(crate) const SALT_LEN: usize = 16;

/// Largest number of base-`b` digits any supported parameter set has
/// (base 2, 64 bits).
pub(crate) const MAX_DIGITS: usize = 64;

/// Digits of a value, least-significant first; only the first
/// [`RangeParams::digits`] entries are meaningful.
pub(crate) type Digits = [u8; MAX_DIGITS];

/// Public parameters of a HashWires commitment.
///
/// Committed values and thresholds live in `0..=2^bits - 1` and are written in
/// base `base` with exactly [`RangeParams::digits`] digits. Every size (leaf
/// count, tree height, proof length) is a function of these parameters only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RangeParams {
    base: u16,
    bits: u8,
    digits: u8,
}

impl RangeParams {
    /// Smallest supported base.
    pub const MIN_BASE: u16 = 2;
    /// Largest supported base (digits must fit in one byte).
    pub const MAX_BASE: u16 = 256;
    /// Largest supported bit width.
    pub const MAX_BITS: u8 = 64;
    /// Largest digit width, in bits, that [`RangeParams::for_bits`] uses:
    /// `bits`-bit values get `ceil(bits / 6)` digits.
    pub const MAX_DIGIT_BITS: u8 = 6;

    /// Validates and builds parameters for values in `0..=2^bits - 1` in base `base`.
    ///
    /// # Errors
    /// [`RangeError::InvalidParams`] unless `2 <= base <= 256` and `1 <= bits <= 64`.
    pub fn new(base: u16, bits: u8) -> Result<Self, RangeError> {
        if !(Self::MIN_BASE..=Self::MAX_BASE).contains(&base) || !(1..=Self::MAX_BITS).contains(&bits) {
            return Err(RangeError::InvalidParams);
        }
        let max = max_for_bits(bits);
        let b = u64::from(base);
        let mut digits: u8 = 0;
        let mut rest = max;
        while rest > 0 {
            rest /= b;
            digits = digits.saturating_add(1);
        }
        Ok(Self { base, bits, digits })
    }

    /// The parameters this crate uses for `bits`-bit values: `n = ceil(bits / 6)`
    /// digits (at most [`RangeParams::MAX_DIGIT_BITS`] bits each) and the
    /// smallest base `b >= 2` with `b^n >= 2^bits`, computed exactly in
    /// integers. Examples: 11 bits → base 46, 2 digits (113-byte proof);
    /// 16 → 41, 3; 32 → 41, 6; 64 → 57, 11; `bits <= 6` → base `2^bits`, one
    /// digit.
    ///
    /// Why: proof size is what a holder's phone pays (every byte travels in
    /// the presentation), and it is `1 + 16 + 32·(n + ⌈log2 n⌉)` bytes, so
    /// few digits win; verification costs at most `n·(b − 1)` chain steps
    /// (one SHA-256 compression each): at most 2·45 = 90 at 11 bits, whose
    /// worst threshold (88 steps) verified in about 11 µs on the 2-core dev
    /// machine, still well under one Ed25519 verification (about 50 µs there).
    /// Six-bit digits keep that worst case linear in the width (`b ≤ 64`, so
    /// at most 63 steps per digit) while halving the digit count of base 8.
    /// See the module docs (*Choice of the base*) for the measurements.
    ///
    /// The credential format (`hashwires-v2` range entries) relies on this
    /// rule: an entry carries only `bits`, and issuer and verifier both
    /// derive the base from it, so changing the rule is a new scheme.
    ///
    /// # Errors
    /// [`RangeError::InvalidParams`] unless `1 <= bits <= 64`.
    pub fn for_bits(bits: u8) -> Result<Self, RangeError> {
        if !(1..=Self::MAX_BITS).contains(&bits) {
            return Err(RangeError::InvalidParams);
        }
        let n = u32::from(bits.div_ceil(Self::MAX_DIGIT_BITS));
        let target = 1u128 << bits;
        // b^n >= 2^bits holds at b = 2^MAX_DIGIT_BITS = 64 (64^n = 2^(6n))
        // and, for one digit, at b = 2^bits <= 64; so the search ends by 64.
        let base = (Self::MIN_BASE..=Self::MAX_BASE)
            .find(|&b| u128::from(b).checked_pow(n).is_none_or(|p| p >= target))
            .ok_or(RangeError::InvalidParams)?;
        Self::new(base, bits)
    }

    /// The base `b`.
    #[must_use]
    pub fn base(&self) -> u16 {
        self.base
    }

    /// The bit width; values range over `0..=2^bits - 1`.
    #[must_use]
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The largest committable value and threshold, `2^bits - 1`.
    #[must_use]
    pub fn max_value(&self) -> u64 {
        max_for_bits(self.bits)
    }

    /// `n`, the number of base-`b` digits of [`RangeParams::max_value`]; every
    /// value and threshold is padded to exactly this many digits.
    #[must_use]
    pub fn digits(&self) -> usize {
        usize::from(self.digits)
    }

    /// Number of Merkle leaves: `n` (the largest possible MDP size) rounded up
    /// to a power of two. At most 64.
    #[must_use]
    pub fn leaf_count(&self) -> usize {
        self.digits().next_power_of_two()
    }

    /// Height of the Merkle tree (`log2` of [`RangeParams::leaf_count`]); the
    /// number of sibling hashes in a proof.
    #[must_use]
    pub fn tree_height(&self) -> usize {
        let mut h = 0;
        while (1usize << h) < self.leaf_count() {
            h += 1;
        }
        h
    }

    /// Exact encoded proof length in bytes:
    /// `1 + 16 + 32 * digits + 32 * tree_height` (leaf index, salt, chain
    /// nodes, Merkle siblings).
    #[must_use]
    pub fn proof_len(&self) -> usize {
        1 + SALT_LEN + HASH_LEN * (self.digits() + self.tree_height())
    }

    /// `max_value - x`: the value an issuer commits to (under a separate child
    /// seed) so that `value <= u` can be proven as `mirror(value) >= mirror(u)`.
    ///
    /// # Errors
    /// [`RangeError::ValueOutOfRange`] if `x > max_value`.
    pub fn mirror(&self, x: u64) -> Result<u64, RangeError> {
        self.max_value().checked_sub(x).ok_or(RangeError::ValueOutOfRange)
    }

    /// Parameter bytes bound into every hash: `base` (u16 big-endian) || `bits`.
    pub(crate) fn encode(&self) -> [u8; 3] {
        let b = self.base.to_be_bytes();
        [b[0], b[1], self.bits]
    }

    /// `b - 1` as a digit.
    pub(crate) fn max_digit(&self) -> u8 {
        // base <= 256, so base - 1 <= 255; the low byte is exact.
        (self.base - 1).to_le_bytes()[0]
    }

    /// Writes the `n` digits of `v` (least significant first); `v` must be
    /// `<= max_value` (digits past `n` are then zero).
    pub(crate) fn digits_of(&self, mut v: u64) -> Digits {
        let b = u64::from(self.base);
        let mut out = [0u8; MAX_DIGITS];
        for d in out.iter_mut().take(self.digits()) {
            // v % b < b <= 256, so the low byte is exact.
            *d = (v % b).to_le_bytes()[0];
            v /= b;
        }
        out
    }

    /// Inverse of [`RangeParams::digits_of`] for digit vectors whose value fits
    /// in `u64` (all digit vectors produced by this module do).
    pub(crate) fn value_of(&self, digits: &Digits) -> u64 {
        let b = u64::from(self.base);
        digits.iter().take(self.digits()).rev().fold(0u64, |acc, &d| acc.wrapping_mul(b).wrapping_add(u64::from(d)))
    }
}

fn max_for_bits(bits: u8) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}
