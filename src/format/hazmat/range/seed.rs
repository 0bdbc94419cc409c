//! The per-commitment secret seed and HKDF-SHA-256 derivation of all secrets.

use core::fmt;

use ring::hmac;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::hash::{Hash, Salt, HASH_LEN, SALT_LEN};
use super::params::RangeParams;

/// HKDF-Extract salt.
pub(crate) const HKDF_SALT: &[u8] = b"creditproof/hashwires/v2/seed";
/// HKDF info label: chain start of digit position `i`.
pub(crate) const INFO_START: &[u8] = b"creditproof/hashwires/v2/start";
/// HKDF info label: accumulator salt of MDP element `k` (16-byte output,
/// [`Kdf::salt`]).
pub(crate) const INFO_SALT: &[u8] = b"creditproof/hashwires/v2/salt";
/// HKDF info label: padding leaf in slot `s`.
pub(crate) const INFO_PAD: &[u8] = b"creditproof/hashwires/v2/pad";
/// HKDF info label: sort key of slot `s` (leaf permutation).
pub(crate) const INFO_PERM: &[u8] = b"creditproof/hashwires/v2/perm";
/// HKDF info label: child seed.
pub(crate) const INFO_CHILD: &[u8] = b"creditproof/hashwires/v2/child";

/// A 32-byte secret seed from which every secret of one commitment is derived.
///
/// Zeroized on drop, redacted in `Debug`, not comparable and not serializable.
/// The issuer draws it at random, commits with it, and hands it to the holder
/// (who needs it to prove); it must never reach a verifier.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RangeSeed([u8; 32]);

impl RangeSeed {
    /// Wraps 32 secret bytes (which must be uniformly random).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Draws a fresh seed from `rng`.
    pub fn generate(rng: &mut dyn crate::SecureRng) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill(bytes.as_mut());
        Self(*bytes)
    }

    /// The raw secret bytes, for storage in the holder's wallet only.
    #[must_use]
    pub fn expose_secret_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Derives an independent child seed,
    /// `HKDF-Expand(PRK, len(tag) || "…/child" || label, 32)`, e.g. separate
    /// seeds for the `>=` commitment and the `<=` (mirrored) commitment.
    #[must_use]
    pub fn derive_child(&self, label: &[u8]) -> RangeSeed {
        let kdf = Kdf::new(self);
        RangeSeed(*kdf.expand(INFO_CHILD, &[label]))
    }
}

impl fmt::Debug for RangeSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RangeSeed([redacted])")
    }
}

/// HKDF-SHA-256 (RFC 5869) restricted to 32-byte outputs, written on
/// `ring::hmac` so that it is infallible (no `Result` to unwrap): with
/// `L = 32`, `OKM = T(1) = HMAC(PRK, info || 0x01)`. Tests check it against
/// `ring::hkdf` byte for byte.
pub(crate) struct Kdf {
    prk: hmac::Key,
}

impl Kdf {
    /// `PRK = HKDF-Extract(salt = HKDF_SALT, IKM = seed)`.
    pub(crate) fn new(seed: &RangeSeed) -> Self {
        let salt = hmac::Key::new(hmac::HMAC_SHA256, HKDF_SALT);
        let prk = hmac::sign(&salt, &seed.0);
        Self { prk: hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()) }
    }

    /// `HKDF-Expand(PRK, len(label) || label || parts..., 32)`.
    pub(crate) fn expand(&self, label: &[u8], parts: &[&[u8]]) -> Zeroizing<Hash> {
        let mut ctx = hmac::Context::with_key(&self.prk);
        // Labels are short constants; the length byte makes the encoding
        // prefix-free across labels.
        let len = u8::try_from(label.len()).unwrap_or(u8::MAX);
        ctx.update(&[len]);
        ctx.update(label);
        for p in parts {
            ctx.update(p);
        }
        ctx.update(&[1u8]);
        let tag = ctx.sign();
        let mut out = Zeroizing::new([0u8; HASH_LEN]);
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// A per-commitment secret: `expand(label, params || index)`.
    pub(crate) fn secret(&self, label: &[u8], params: &RangeParams, index: u8) -> Zeroizing<Hash> {
        self.expand(label, &[&params.encode(), &[index]])
    }

    /// The accumulator salt of MDP element `k`:
    /// `HKDF-Expand(PRK, len || INFO_SALT || params || k, 16)`, which is the
    /// first 16 bytes of the 32-byte expansion (RFC 5869: `OKM` is a prefix
    /// of `T(1)`). The 32-byte intermediate is zeroized on drop.
    pub(crate) fn salt(&self, params: &RangeParams, k: u8) -> Zeroizing<Salt> {
        let full = self.secret(INFO_SALT, params, k);
        let mut out = Zeroizing::new([0u8; SALT_LEN]);
        out.copy_from_slice(&full[..SALT_LEN]);
        out
    }
}
