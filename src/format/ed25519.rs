//! One Ed25519 verification rule for single and batch verification.
//!
//! `ed25519-dalek` offers `verify_strict` (cofactorless, rejects small-order
//! keys and `R`) and `verify_batch` (cofactorless, with randomness derived
//! from the transcript). The two disagree on signatures whose `R` carries a
//! small-order (torsion) component, and a cofactorless batch is not even
//! sound against them: a random linear combination of cofactorless
//! equations can cancel torsion components it should have caught. Following
//! "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, 2020), this
//! module uses one rule everywhere. A signature `(R, s)` by key `A` on `M`
//! is valid iff
//!
//! 1. `s` is canonical (`s < ℓ`), which keeps signatures non-malleable;
//! 2. the encodings of `A` and `R` are canonical (`y < p`, and no "negative
//!    zero" `x`) and decode to curve points;
//! 3. neither `A` nor `R` has small order (weak keys and trivially
//!    forgeable `R`);
//! 4. the **cofactored** equation holds: `[8]([s]B − R − [k]A) = 0` with
//!    `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
//!
//! A batch of `n` signatures that pass 1–3 is checked with one equation
//! `[8]([Σ zᵢsᵢ]B − Σ zᵢRᵢ − Σ (zᵢkᵢ)Aᵢ) = 0`, where `z₁ = 1` and the other
//! `zᵢ` are non-zero 128-bit scalars drawn from the operating system's RNG
//! (never derived from the inputs). If every signature is valid the batch
//! equation holds. If one is not, write `Eᵢ = [8]([sᵢ]B − Rᵢ − [kᵢ]Aᵢ)` for
//! its error, a point of the prime-order subgroup: the equation is
//! `Σ zᵢEᵢ = 0`. If only `E₁` is non-zero the sum is `E₁ ≠ 0`; otherwise
//! some `Eⱼ ≠ 0` with `j > 1`, and fixing every other weight, at most one of
//! the 2¹²⁸ values of `zⱼ` cancels the rest (`z ↦ [z]Eⱼ` is injective
//! below `ℓ > 2¹²⁸`), so the equation fails except with probability at most
//! 2⁻¹²⁸. When it fails every signature is checked on its own, so the
//! verdicts are exactly those of [`verify`]: single and batch verification
//! agree (up to 2⁻¹²⁸). Fixing `z₁ = 1` spares one scalar multiplication:
//! `R₁` is subtracted once instead of entering the multiscalar
//! multiplication.
//!
//! A trusted key that signs many of the signatures (the issuer's) can come
//! with a [`KeyTable`]: wide precomputed multiples of it next to those of
//! the basepoint, built once per key ([`KeyTables`]). Its terms are then
//! added up and multiplied from the table, which changes the cost and never
//! the result.
//!
//! Relative to `verify_strict` this rule additionally accepts the signatures
//! with a torsion component in `R` or `A` (neither of small order) that
//! satisfy the cofactored equation but not the cofactorless one; no honest
//! signer produces them and they do not help forge signatures (the torsion
//! part is not bound to the message). Everything `verify_strict` rejects for
//! malleability or weak keys is still rejected.

use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint, VartimeEdwardsPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _, VartimePrecomputedMultiscalarMul as _};

/// `p = 2²⁵⁵ − 19`, little-endian.
const P_BYTES: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// Whether `bytes` is the canonical encoding of its `y` (that is, `y < p`)
/// and not one of the two "negative zero" encodings (`x = 0` with the sign
/// bit set, possible only for `y = ±1`). Whether it decodes to a point is
/// checked separately.
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // y < p, comparing little-endian byte strings from the top.
    let below_p = y.iter().rev().zip(P_BYTES.iter().rev()).find(|(a, b)| a != b).is_some_and(|(a, b)| a < b);
    if !below_p {
        return false;
    }
    if sign == 1 {
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut minus_one = P_BYTES;
        minus_one[0] -= 1;
        if y == one || y == minus_one {
            return false;
        }
    }
    true
}

/// Decodes a point that passes rule 2 and 3 (canonical, on the curve, not
/// of small order).
fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_encoding(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress().filter(|p| !p.is_small_order())
}

/// A public key checked against rules 2 and 3, with its encoding (which is
/// hashed into `k`).
#[derive(Clone, Copy)]
pub(crate) struct VerifyKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl VerifyKey {
    /// Checks and decodes 32 bytes of public key.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        decode_point(bytes).map(|point| Self { bytes: *bytes, point })
    }

    /// From a key `ed25519-dalek` already decoded (no second
    /// decompression); `None` if it breaks rule 2 or 3.
    pub(crate) fn from_dalek(key: &ed25519_dalek::VerifyingKey) -> Option<Self> {
        let point = key.to_edwards();
        let bytes = key.to_bytes();
        (is_canonical_encoding(&bytes) && !point.is_small_order()).then_some(Self { bytes, point })
    }
}

/// A signature that passed rules 1–3, ready for the equation.
struct Prepared {
    /// `A`, as a point, and its encoding.
    a: EdwardsPoint,
    a_bytes: [u8; 32],
    /// `R`, as a point.
    r: EdwardsPoint,
    s: Scalar,
    /// `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
    k: Scalar,
}

fn prepare(key: &VerifyKey, msg: &[u8], sig: &[u8; 64]) -> Option<Prepared> {
    let (r_bytes, s_bytes) = sig.split_at(32);
    let r_bytes: [u8; 32] = r_bytes.try_into().ok()?;
    let s_bytes: [u8; 32] = s_bytes.try_into().ok()?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let r = decode_point(&r_bytes)?;
    let mut h = ring::digest::Context::new(&ring::digest::SHA512);
    h.update(&r_bytes);
    h.update(&key.bytes);
    h.update(msg);
    let digest = h.finish();
    let wide: [u8; 64] = digest.as_ref().try_into().ok()?;
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    Some(Prepared { a: key.point, a_bytes: key.bytes, r, s, k })
}

/// The cofactored equation for one prepared signature.
fn equation_holds(p: &Prepared) -> bool {
    // [s]B − [k]A, then − R, times 8.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &(-p.a), &p.s);
    (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
}

/// Verifies one Ed25519 signature under the rule of the module docs.
pub(crate) fn verify(key: &VerifyKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    prepare(key, msg, sig).is_some_and(|p| equation_holds(&p))
}

/// One signature of a batch.
#[derive(Clone, Copy)]
pub(crate) struct BatchItem<'a> {
    pub(crate) key: &'a VerifyKey,
    pub(crate) msg: &'a [u8],
    pub(crate) sig: &'a [u8; 64],
}

/// Verifies many signatures at once: `result[i] == verify(items[i])` for
/// every `i` (up to 2⁻¹²⁸, see the module docs). Costs about half as much
/// per signature as [`verify`] when all are valid; when some are not, it
/// costs one batch equation more than checking each alone. `table`, if
/// given, is used for the signatures by its key.
pub(crate) fn verify_batch(items: &[BatchItem<'_>], table: Option<&KeyTable>) -> Vec<bool> {
    let prepared: Vec<Option<Prepared>> = items.iter().map(|i| prepare(i.key, i.msg, i.sig)).collect();
    let ok: Vec<&Prepared> = prepared.iter().flatten().collect();
    if batch_holds(&ok, table) {
        prepared.iter().map(Option::is_some).collect()
    } else {
        prepared.iter().map(|p| p.as_ref().is_some_and(equation_holds)).collect()
    }
}

/// The index of the first invalid signature of `items`, or `None` if every
/// one is valid: what checking them one by one in order and stopping at the
/// first failure would say (up to 2⁻¹²⁸), at the cost of one batch equation
/// when all are valid. `table`, if given, is used for the signatures by its
/// key.
pub(crate) fn first_invalid(items: &[BatchItem<'_>], table: Option<&KeyTable>) -> Option<usize> {
    let mut prepared = Vec::with_capacity(items.len());
    for i in items {
        match prepare(i.key, i.msg, i.sig) {
            Some(p) => prepared.push(p),
            None => break,
        }
    }
    // Every item before `prepared.len()` passed rules 1-3.
    let refs: Vec<&Prepared> = prepared.iter().collect();
    if batch_holds(&refs, table) {
        return (prepared.len() < items.len()).then_some(prepared.len());
    }
    // The batch failed, so one of the prepared signatures is invalid (a
    // batch of valid ones always holds): if all but the last pass, it is
    // the last, without checking it.
    let last = prepared.len() - 1;
    prepared[..last].iter().position(|p| !equation_holds(p)).or(Some(last))
}

/// Whether every signature of `ok` (each past rules 1–3) satisfies the
/// equation, up to 2⁻¹²⁸: one equation alone, or the batch equation.
fn batch_holds(ok: &[&Prepared], table: Option<&KeyTable>) -> bool {
    match ok {
        [] => true,
        [one] if table.is_none_or(|t| t.bytes != one.a_bytes) => equation_holds(one),
        _ => batch_equation_holds(ok, &random_z(ok.len() - 1), table),
    }
}

/// `n` independent uniformly random non-zero 128-bit scalars from the OS.
fn random_z(n: usize) -> Vec<Scalar> {
    use ring::rand::SecureRandom as _;
    let rng = ring::rand::SystemRandom::new();
    let mut buf = vec![0u8; 16 * n];
    // Without randomness a batch could be fooled; the OS generator failing
    // is not recoverable (as in `SystemRng`).
    #[allow(clippy::expect_used)]
    rng.fill(&mut buf).expect("the operating system random number generator failed");
    buf.chunks_exact(16)
        .map(|c| {
            let mut wide = [0u8; 32];
            wide[..16].copy_from_slice(c);
            if wide == [0u8; 32] {
                // Probability 2⁻¹²⁸; a zero weight would drop a signature.
                wide[0] = 1;
            }
            Scalar::from_bytes_mod_order(wide)
        })
        .collect()
}

/// `[8]([Σ zᵢsᵢ]B − Σ zᵢRᵢ − Σ (zᵢkᵢ)Aᵢ) = 0` with `z₁ = 1` and `z₂…` the
/// `z` given (one fewer than `ok`), the coefficients of equal keys added up
/// (a batch of presentations shares its issuer key), and the terms of
/// `table`'s key taken from its table.
fn batch_equation_holds(ok: &[&Prepared], z: &[Scalar], table: Option<&KeyTable>) -> bool {
    let Some((first, rest)) = ok.split_first() else { return true };
    let mut scalars: Vec<Scalar> = Vec::with_capacity(2 * ok.len());
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(2 * ok.len());
    // R₁, with weight 1, is subtracted after the multiplication.
    let mut b_coeff = first.s;
    for (p, z) in rest.iter().zip(z) {
        b_coeff += z * p.s;
        scalars.push(-z);
        points.push(p.r);
    }
    // Keys: one term per distinct key (by its canonical encoding); the
    // table's key in its own coefficient.
    let mut table_coeff = Scalar::ZERO;
    let mut index: HashMap<[u8; 32], usize> = HashMap::with_capacity(ok.len());
    let weighted = std::iter::once((*first, Scalar::ONE)).chain(rest.iter().copied().zip(z.iter().copied()));
    for (p, z) in weighted {
        let coeff = -(z * p.k);
        if table.is_some_and(|t| t.bytes == p.a_bytes) {
            table_coeff += coeff;
            continue;
        }
        match index.entry(p.a_bytes) {
            Entry::Occupied(e) => scalars[*e.get()] += coeff,
            Entry::Vacant(e) => {
                e.insert(points.len());
                scalars.push(coeff);
                points.push(p.a);
            }
        }
    }
    // Straus with precomputed tables below dalek's Pippenger threshold (190
    // points), Pippenger with the basepoint (and the table's key) as more
    // points above.
    let sum = match table {
        Some(t) if points.len() < 190 => {
            t.table.vartime_mixed_multiscalar_mul([b_coeff, table_coeff], &scalars, &points)
        }
        _ => {
            if let Some(t) = table {
                scalars.push(table_coeff);
                points.push(t.point);
            }
            if points.len() < 190 {
                basepoint_table().vartime_mixed_multiscalar_mul([b_coeff], &scalars, &points)
            } else {
                scalars.push(b_coeff);
                points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
                EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
            }
        }
    };
    (sum - first.r).mul_by_cofactor().is_identity()
}

/// Wide precomputed multiples of a trusted key and of the basepoint, for
/// the batch equation.
pub(crate) struct KeyTable {
    bytes: [u8; 32],
    point: EdwardsPoint,
    /// The basepoint, then the key.
    table: VartimeEdwardsPrecomputation,
}

impl KeyTable {
    fn new(key: &VerifyKey) -> Self {
        let table =
            VartimeEdwardsPrecomputation::new([curve25519_dalek::constants::ED25519_BASEPOINT_POINT, key.point]);
        Self { bytes: key.bytes, point: key.point, table }
    }
}

/// The [`KeyTable`]s of the trusted keys a verifier has used, built on
/// first use and shared by the verifier's clones. Only keys from the
/// verifier's key provider go in, never a key a presentation carries, and
/// at most [`KeyTables::CAPACITY`] of them: past that, keys go without a
/// table (slower, same verdicts).
#[derive(Clone, Default)]
pub(crate) struct KeyTables(Arc<RwLock<HashMap<[u8; 32], Arc<KeyTable>>>>);

impl KeyTables {
    /// Tables kept at most (about 20 KiB each).
    pub(crate) const CAPACITY: usize = 64;

    /// The table of `key`, built now if it is not there and there is room.
    pub(crate) fn get(&self, key: &VerifyKey) -> Option<Arc<KeyTable>> {
        // A poisoned lock (a panic while building a table) only costs speed.
        if let Some(t) = self.0.read().ok()?.get(&key.bytes) {
            return Some(Arc::clone(t));
        }
        let mut map = self.0.write().ok()?;
        if map.len() >= Self::CAPACITY && !map.contains_key(&key.bytes) {
            return None;
        }
        Some(Arc::clone(map.entry(key.bytes).or_insert_with(|| Arc::new(KeyTable::new(key)))))
    }

    fn len(&self) -> usize {
        self.0.read().map_or(0, |m| m.len())
    }
}

impl fmt::Debug for KeyTables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyTables").field("keys", &self.len()).finish()
    }
}

/// Wide precomputed multiples of the basepoint for the batch equation,
/// built once.
fn basepoint_table() -> &'static VartimeEdwardsPrecomputation {
    static TABLE: OnceLock<VartimeEdwardsPrecomputation> = OnceLock::new();
    TABLE.get_or_init(|| VartimeEdwardsPrecomputation::new([curve25519_dalek::constants::ED25519_BASEPOINT_POINT]))
}

#[cfg(test)]
mod tests;
