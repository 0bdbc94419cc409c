//! Unit, property, edge-case and known-answer tests of the range module.

use super::hash::Hash;
use super::mdp::{dominates, mdp_digits};
use super::scheme::build;
use super::seed::{Kdf, HKDF_SALT, INFO_CHILD, INFO_SALT, INFO_START};
use super::*;

/// Deterministic test RNG: SHA-256(label || counter).
struct TestRng {
    label: Vec<u8>,
    ctr: u64,
}

impl TestRng {
    fn new(label: &str) -> Self {
        Self { label: label.as_bytes().to_vec(), ctr: 0 }
    }

    fn bytes32(&mut self) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&self.label);
        ctx.update(&self.ctr.to_be_bytes());
        self.ctr += 1;
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn next_u64(&mut self) -> u64 {
        let b = self.bytes32();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// Uniform-ish in `0..=max` (modulo bias is irrelevant here).
    fn up_to(&mut self, max: u64) -> u64 {
        let r = self.next_u64();
        max.checked_add(1).map_or(r, |m| r % m)
    }

    /// Mostly uniform, sometimes a small number or a value near `max`, so
    /// that short digit strings and top-digit carries are exercised.
    fn interesting(&mut self, max: u64) -> u64 {
        match self.next_u64() % 4 {
            0 => self.up_to(max.min(20)),
            1 => max - self.up_to(max.min(20)),
            _ => self.up_to(max),
        }
    }

    fn seed(&mut self) -> RangeSeed {
        RangeSeed::from_bytes(self.bytes32())
    }
}

const BITS: [u8; 6] = [1, 8, 11, 16, 32, 64];
const BASES: [u16; 5] = [2, 4, 10, 16, 256];

fn params(base: u16, bits: u8) -> RangeParams {
    RangeParams::new(base, bits).expect("valid test params")
}

/// Every (base, bits) of [`BASES`] × [`BITS`], plus [`RangeParams::for_bits`]
/// for each of [`BITS`] (the parameters the crate issues with).
fn all_params() -> Vec<RangeParams> {
    let mut v = Vec::new();
    for &bits in &BITS {
        for &base in &BASES {
            v.push(params(base, bits));
        }
        let issued = RangeParams::for_bits(bits).expect("for_bits");
        if !v.contains(&issued) {
            v.push(issued);
        }
    }
    v
}

/// Proves (value >= t) and checks the honest proof verifies; returns it.
fn roundtrip(p: &RangeParams, value: u64, t: u64, seed: &RangeSeed) -> Option<RangeProof> {
    let c = commit(p, value, seed).expect("commit");
    match prove(p, value, seed, t) {
        Ok(proof) => {
            assert!(value >= t, "proof exists for {value} < {t} ({p:?})");
            assert_eq!(proof.to_bytes().len(), p.proof_len());
            let parsed = RangeProof::from_bytes(p, &proof.to_bytes()).expect("parse");
            assert_eq!(parsed, proof);
            assert_eq!(verify(p, &c, t, &parsed), Ok(()), "{p:?} v={value} t={t}");
            Some(proof)
        }
        Err(e) => {
            assert_eq!(e, RangeError::PredicateFalse);
            assert!(value < t, "no proof for {value} >= {t} ({p:?})");
            None
        }
    }
}

// ---------------------------------------------------------------- params

#[test]
fn params_validation_and_sizes() {
    assert_eq!(RangeParams::new(1, 8), Err(RangeError::InvalidParams));
    assert_eq!(RangeParams::new(257, 8), Err(RangeError::InvalidParams));
    assert_eq!(RangeParams::new(16, 0), Err(RangeError::InvalidParams));
    assert_eq!(RangeParams::new(16, 65), Err(RangeError::InvalidParams));
    // (base, bits, digits, leaves, height, proof_len); proof_len is
    // 1 (index) + 16 (salt) + 32 * (digits + height).
    let table: [(u16, u8, usize, usize, usize, usize); 12] = [
        (2, 1, 1, 1, 0, 49),
        (2, 11, 11, 16, 4, 1 + 16 + 32 * (11 + 4)),
        (4, 11, 6, 8, 3, 1 + 16 + 32 * (6 + 3)),
        (8, 11, 4, 4, 2, 209),
        (16, 11, 3, 4, 2, 177),
        (46, 11, 2, 2, 1, 113),
        (256, 11, 2, 2, 1, 113),
        (10, 16, 5, 8, 3, 1 + 16 + 32 * 8),
        (2, 64, 64, 64, 6, 1 + 16 + 32 * 70),
        (3, 64, 41, 64, 6, 1 + 16 + 32 * 47),
        (10, 64, 20, 32, 5, 1 + 16 + 32 * 25),
        (256, 64, 8, 8, 3, 369),
    ];
    for (base, bits, n, l, h, len) in table {
        let p = params(base, bits);
        assert_eq!(
            (p.digits(), p.leaf_count(), p.tree_height(), p.proof_len()),
            (n, l, h, len),
            "base {base} bits {bits}"
        );
    }
    // for_bits: the parameters the crate issues with.
    // (bits, base, digits, proof_len)
    for (bits, base, n, len) in [
        (1, 2, 1, 49),
        (6, 64, 1, 49),
        (7, 12, 2, 113),
        (10, 32, 2, 113),
        (11, 46, 2, 113),
        (16, 41, 3, 177),
        (32, 41, 6, 305),
        (64, 57, 11, 497),
    ] {
        let d = RangeParams::for_bits(bits).expect("for_bits");
        assert_eq!((d.base(), d.digits(), d.proof_len()), (base, n, len), "bits {bits}");
    }
    assert_eq!(RangeParams::for_bits(0), Err(RangeError::InvalidParams));
    assert_eq!(RangeParams::for_bits(65), Err(RangeError::InvalidParams));
    assert_eq!(params(16, 64).max_value(), u64::MAX);
    assert_eq!(params(16, 11).max_value(), 2047);
    assert_eq!(params(16, 11).mirror(47), Ok(2000));
    assert_eq!(params(16, 11).mirror(2048), Err(RangeError::ValueOutOfRange));
}

#[test]
fn for_bits_is_the_minimal_base_for_six_bit_digits() {
    for bits in 1..=64u8 {
        let p = RangeParams::for_bits(bits).expect("for_bits");
        let n = u32::from(bits).div_ceil(6);
        let b = u128::from(p.base());
        let target = 1u128 << bits;
        assert!(b.pow(n) >= target, "bits {bits}: {b}^{n} < 2^{bits}");
        assert!((b - 1).pow(n) < target, "bits {bits}: base {b} is not minimal");
        assert!(p.base() >= 2 && p.base() <= 64, "bits {bits}");
        // exactly n digits: the encoding uses all of them
        assert_eq!(p.digits(), usize::try_from(n).expect("small"), "bits {bits}");
        assert_eq!(p.bits(), bits);
        assert_eq!(p, params(p.base(), bits));
        assert_eq!(p.proof_len(), 1 + 16 + 32 * (p.digits() + p.tree_height()));
        if bits <= 6 {
            assert_eq!(u128::from(p.base()), target, "one digit of {bits} bits");
        }
    }
}

#[test]
fn credit_score_proof_is_113_bytes() {
    let p = RangeParams::for_bits(11).expect("for_bits");
    let seed = RangeSeed::from_bytes([3; 32]);
    let c = commit(&p, 712, &seed).expect("commit");
    let bytes = prove(&p, 712, &seed, 650).expect("prove").to_bytes();
    assert_eq!(bytes.len(), 113);
    let parsed = RangeProof::from_bytes(&p, &bytes).expect("parse");
    assert_eq!(verify(&p, &c, 650, &parsed), Ok(()));
}

// ---------------------------------------------------------------- MDP

#[test]
fn mdp_hand_checked() {
    // Base 10, value 3413 (digits 3 4 1 3): keep v; for each position i >= 1
    // with a non-zero digit, decrement it and fill lower digits with 9:
    // i=1 -> 3409, i=2 -> 3399, i=3 -> 2999. (The paper's own example.)
    let p10 = params(10, 14);
    assert_eq!(mdp(&p10, 3413), Ok(vec![3413, 3409, 3399, 2999]));
    // 3499: i=1 and i=2 are skipped because all digits below are already 9
    // (3489, 3399 are dominated by 3499 itself); i=3 -> 2999.
    assert_eq!(mdp(&p10, 3499), Ok(vec![3499, 2999]));
    assert_eq!(mdp(&p10, 1010), Ok(vec![1010, 1009, 999]));
    assert_eq!(mdp(&p10, 1000), Ok(vec![1000, 999]));
    assert_eq!(mdp(&p10, 9999), Ok(vec![9999]));
    assert_eq!(mdp(&p10, 10), Ok(vec![10, 9]));
    assert_eq!(mdp(&p10, 0), Ok(vec![0]));

    // Base 2, 180 = 1011_0100: one-bits at positions 2,4,5,7 give
    // 1011_0011=179, 1010_1111=175, 1001_1111=159, 0111_1111=127.
    let p2 = params(2, 8);
    assert_eq!(mdp(&p2, 180), Ok(vec![180, 179, 175, 159, 127]));
    assert_eq!(mdp(&p2, 6), Ok(vec![6, 5, 3]));
    assert_eq!(mdp(&p2, 7), Ok(vec![7]));
    assert_eq!(mdp(&p2, 8), Ok(vec![8, 7]));
    assert_eq!(mdp(&p2, 255), Ok(vec![255]));

    // Base 4, 100 = 1210_4: i=1 -> 1203_4=99, i=2 -> 1133_4=95, i=3 -> 0333_4=63.
    let p4 = params(4, 8);
    assert_eq!(mdp(&p4, 100), Ok(vec![100, 99, 95, 63]));
    assert_eq!(mdp(&p4, 63), Ok(vec![63]));
    assert_eq!(mdp(&p4, 64), Ok(vec![64, 63]));

    // Base 16, 0x1F3A (digits 1 F 3 A): i=1 -> 0x1F2F, i=2 -> 0x1EFF, i=3 -> 0x0FFF.
    let p16 = params(16, 16);
    assert_eq!(mdp(&p16, 0x1F3A), Ok(vec![0x1F3A, 0x1F2F, 0x1EFF, 0x0FFF]));
    assert_eq!(mdp(&p16, 0x2FFF), Ok(vec![0x2FFF]));
    assert_eq!(mdp(&p16, 0x100), Ok(vec![0x100, 0xFF]));

    // Base 256.
    let p256 = params(256, 64);
    assert_eq!(mdp(&p256, 0x0102), Ok(vec![0x0102, 0xFF]));
    assert_eq!(mdp(&p256, 0x0100_00FF), Ok(vec![0x0100_00FF, 0x00FF_FFFF]));
    assert_eq!(mdp(&p256, u64::MAX), Ok(vec![u64::MAX]));
    assert_eq!(mdp(&p256, 1 << 56), Ok(vec![1 << 56, 0x00FF_FFFF_FFFF_FFFF]));
    assert_eq!(mdp(&p2, 256), Err(RangeError::ValueOutOfRange));
}

#[test]
fn mdp_exhaustive_small() {
    for base in [2u16, 3, 4, 5, 10, 16, 256] {
        for bits in 1..=8u8 {
            let p = params(base, bits);
            let max = p.max_value();
            for v in 0..=max {
                let m = mdp_digits(&p, v);
                assert!(m.len() <= p.digits());
                let vals: Vec<u64> = m.iter().map(|d| p.value_of(d)).collect();
                assert_eq!(vals[0], v);
                for (a, da) in vals.iter().zip(&m) {
                    assert!(*a <= v);
                    assert_eq!(&p.digits_of(*a), da);
                    // antichain: no element dominates another
                    for (b, db) in vals.iter().zip(&m) {
                        assert!(a == b || !dominates(&p, da, db), "b={base} v={v}");
                    }
                }
                for y in 0..=max {
                    let dy = p.digits_of(y);
                    let dominated = m.iter().any(|x| dominates(&p, x, &dy));
                    assert_eq!(dominated, y <= v, "base {base} v={v} y={y}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- properties

#[test]
fn property_proof_exists_iff_ge_and_verifies() {
    let mut rng = TestRng::new("property");
    for p in all_params() {
        let max = p.max_value();
        for _ in 0..10 {
            let seed = rng.seed();
            let v = rng.interesting(max);
            let t = if rng.next_u64().is_multiple_of(2) { rng.interesting(max) } else { rng.up_to(v) };
            roundtrip(&p, v, t, &seed);
        }
    }
}

#[test]
fn proof_binds_threshold_commitment_and_value() {
    let mut rng = TestRng::new("binding");
    for p in all_params() {
        let max = p.max_value();
        for _ in 0..3 {
            let seed = rng.seed();
            let v = rng.interesting(max);
            let t = rng.up_to(v);
            let proof = roundtrip(&p, v, t, &seed).expect("v >= t");
            let c = commit(&p, v, &seed).expect("commit");
            let mut others = vec![t.wrapping_add(1), t.wrapping_sub(1), rng.up_to(max), 0, max];
            others.retain(|&o| o != t && o <= max);
            for o in others {
                assert_eq!(verify(&p, &c, o, &proof), Err(RangeError::ProofInvalid));
            }
            let other_seed = rng.seed();
            let c2 = commit(&p, v, &other_seed).expect("commit");
            assert_eq!(verify(&p, &c2, t, &proof), Err(RangeError::ProofInvalid));
            for v2 in [v.wrapping_add(1), v.wrapping_sub(1), rng.up_to(max)] {
                if v2 != v && v2 <= max {
                    let c3 = commit(&p, v2, &seed).expect("commit");
                    assert_eq!(verify(&p, &c3, t, &proof), Err(RangeError::ProofInvalid));
                }
            }
        }
    }
}

#[test]
fn edge_cases() {
    let mut rng = TestRng::new("edges");
    // 11-bit base 2 (n=11), 16-bit base 10 (n=5), 11-bit base 4 (n=6) and
    // 64-bit base 10 (n=20) have digit counts that are not powers of two.
    for p in all_params().into_iter().chain([params(10, 64), params(3, 64), params(7, 20)]) {
        let max = p.max_value();
        let b = u64::from(p.base());
        let seed = rng.seed();
        let mut cases = vec![(0, 0), (max, max), (max, 0), (0, max), (max, max - 1)];
        if max > 0 {
            cases.push((max - 1, max));
        }
        let mut pow = 1u64;
        while pow <= max {
            // value = b^k, b^k - 1, with thresholds around them
            cases.extend_from_slice(&[(pow, pow), (pow, pow - 1), (pow - 1, pow), (pow - 1, pow - 1)]);
            if pow < max {
                cases.push((pow, pow + 1));
            }
            pow = match pow.checked_mul(b) {
                Some(x) => x,
                None => break,
            };
        }
        for (v, t) in cases {
            if v <= max && t <= max {
                roundtrip(&p, v, t, &seed);
            }
        }
    }
    // u64::MAX with 64 bits.
    let p = params(16, 64);
    let seed = rng.seed();
    assert!(roundtrip(&p, u64::MAX, u64::MAX, &seed).is_some());
    assert!(roundtrip(&p, u64::MAX - 1, u64::MAX, &seed).is_none());
    // Out-of-range inputs are typed errors.
    let p = params(16, 11);
    assert_eq!(commit(&p, 2048, &seed), Err(RangeError::ValueOutOfRange));
    assert_eq!(prove(&p, 2048, &seed, 0), Err(RangeError::ValueOutOfRange));
    assert_eq!(prove(&p, 5, &seed, 2048), Err(RangeError::ThresholdOutOfRange));
    let c = commit(&p, 5, &seed).expect("commit");
    let proof = prove(&p, 5, &seed, 3).expect("prove");
    assert_eq!(verify(&p, &c, 2048, &proof), Err(RangeError::ThresholdOutOfRange));
}

/// What a cheating holder (who knows the seed, hence every chain node and
/// salt) can best assemble for threshold `t` from MDP element `k`: the honest
/// opening, except that a digit `t_i > x^k_i` gets the chain start (no node
/// below it exists).
fn holder_opening(p: &RangeParams, built: &super::scheme::Built, k: usize, t: u64) -> RangeProof {
    let td = p.digits_of(t);
    let x = &built.mdp[k];
    let nodes = built
        .chains
        .iter()
        .zip(x.iter().zip(td.iter()))
        .map(|(chain, (&xi, &ti))| chain[usize::from(xi.saturating_sub(ti))])
        .collect();
    let slot = built.slots[k];
    let path = built
        .levels
        .iter()
        .take(p.tree_height())
        .enumerate()
        .map(|(level, nodes)| nodes[(usize::from(slot) >> level) ^ 1])
        .collect();
    RangeProof { leaf_index: slot, salt: *built.salts[k], nodes, path }
}

#[test]
fn holder_with_seed_cannot_open_above_value() {
    // Exhaustive over a small issued parameter set (base 12, 2 digits), then
    // sampled at the credit-score width: for every t > v, no MDP element's
    // opening verifies; for t <= v the dominating element's does (so the
    // construction above is the honest one where it can be).
    let mut rng = TestRng::new("holder-forgery");
    let small = RangeParams::for_bits(7).expect("for_bits");
    let score = RangeParams::for_bits(11).expect("for_bits");
    let mut cases: Vec<(RangeParams, u64, Vec<u64>)> =
        (0..=small.max_value()).map(|v| (small, v, (0..=small.max_value()).collect())).collect();
    for _ in 0..40 {
        let v = rng.interesting(score.max_value());
        let mut ts = vec![v.saturating_sub(1), v, v + 1, score.max_value()];
        ts.extend((0..6).map(|_| rng.up_to(score.max_value())));
        ts.retain(|&t| t <= score.max_value());
        cases.push((score, v, ts));
    }
    let seed = rng.seed();
    for (p, v, thresholds) in cases {
        let built = build(&p, v, &seed).expect("build");
        for t in thresholds {
            let td = p.digits_of(t);
            for k in 0..built.mdp.len() {
                let forged = holder_opening(&p, &built, k, t);
                let res = verify(&p, &built.commitment, t, &forged);
                if dominates(&p, &built.mdp[k], &td) {
                    assert!(t <= v);
                    assert_eq!(res, Ok(()), "{p:?} v={v} t={t} k={k}");
                } else {
                    assert_eq!(res, Err(RangeError::ProofInvalid), "{p:?} v={v} t={t} k={k}");
                }
            }
            if t > v {
                assert_eq!(prove(&p, v, &seed, t), Err(RangeError::PredicateFalse));
            }
        }
    }
}

#[test]
fn at_most_via_mirrored_commitment() {
    let p = params(16, 11);
    let seed = RangeSeed::from_bytes([7; 32]);
    let le_seed = seed.derive_child(b"le");
    let value = 700u64;
    let c_le = commit(&p, p.mirror(value).expect("in range"), &le_seed).expect("commit");
    // prove value <= 750 as mirror(value) >= mirror(750)
    let proof = prove(&p, p.mirror(value).expect("m"), &le_seed, p.mirror(750).expect("m")).expect("prove");
    assert_eq!(verify(&p, &c_le, p.mirror(750).expect("m"), &proof), Ok(()));
    assert_eq!(
        prove(&p, p.mirror(value).expect("m"), &le_seed, p.mirror(699).expect("m")),
        Err(RangeError::PredicateFalse)
    );
}

// ---------------------------------------------------------------- encoding

#[test]
fn every_byte_change_is_rejected() {
    let mut rng = TestRng::new("flip");
    let issued = [11, 16, 64].map(|bits| RangeParams::for_bits(bits).expect("for_bits"));
    for p in [params(16, 11), params(2, 16), params(256, 64), params(10, 8), params(4, 11)].into_iter().chain(issued) {
        let seed = rng.seed();
        let v = rng.up_to(p.max_value());
        let t = rng.up_to(v);
        let c = commit(&p, v, &seed).expect("commit");
        let bytes = prove(&p, v, &seed, t).expect("prove").to_bytes();
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut bad = bytes.clone();
                bad[i] ^= mask;
                let res = RangeProof::from_bytes(&p, &bad).and_then(|pr| verify(&p, &c, t, &pr));
                assert!(
                    matches!(res, Err(RangeError::ProofInvalid | RangeError::Malformed { .. })),
                    "byte {i} mask {mask:#x}: {res:?}"
                );
            }
        }
        // all other leaf indices
        for idx in 0..=u8::MAX {
            if idx != bytes[0] {
                let mut bad = bytes.clone();
                bad[0] = idx;
                let res = RangeProof::from_bytes(&p, &bad).and_then(|pr| verify(&p, &c, t, &pr));
                assert!(res.is_err());
                if usize::from(idx) >= p.leaf_count() {
                    assert_eq!(res, Err(RangeError::Malformed { what: "leaf index" }));
                }
            }
        }
    }
}

#[test]
fn wrong_lengths_are_typed_errors() {
    let mut rng = TestRng::new("lengths");
    for p in all_params() {
        let seed = rng.seed();
        let bytes = prove(&p, p.max_value(), &seed, 0).expect("prove").to_bytes();
        let len = bytes.len();
        let mut lens = vec![0, 1, 32, 33, len - 1, len + 1, len - 32, len + 32, 2 * len];
        for _ in 0..5 {
            lens.push(usize::try_from(rng.up_to(3 * 2400)).expect("small"));
        }
        for l in lens {
            if l == len {
                continue;
            }
            let mut buf = bytes.clone();
            buf.resize(l, 0xAB);
            assert_eq!(RangeProof::from_bytes(&p, &buf), Err(RangeError::WrongLength { expected: len, actual: l }));
        }
    }
    // A proof parsed under one parameter set never panics under another.
    let seed = rng.seed();
    let p1 = params(2, 64);
    let proof = prove(&p1, 12345, &seed, 99).expect("prove");
    for p2 in all_params() {
        let c = commit(&p2, 0, &seed).expect("commit");
        let res = verify(&p2, &c, 0, &proof);
        if p2 != p1 {
            assert!(res.is_err());
        }
    }
    assert_eq!(Commitment::from_slice(&[0u8; 31]), Err(RangeError::WrongLength { expected: 32, actual: 31 }));
}

#[test]
fn proof_length_constant_across_values_and_thresholds() {
    let mut rng = TestRng::new("constant-length");
    for p in all_params() {
        let seed = rng.seed();
        for _ in 0..4 {
            let v = rng.interesting(p.max_value());
            let t = rng.up_to(v);
            let proof = prove(&p, v, &seed, t).expect("prove");
            assert_eq!(proof.to_bytes().len(), p.proof_len());
            assert_eq!(proof.encoded_len(), p.proof_len());
        }
    }
}

// ---------------------------------------------------------------- hiding

#[test]
fn tree_shape_independent_of_mdp_size() {
    let mut rng = TestRng::new("shape");
    for p in all_params() {
        let seed = rng.seed();
        let max = p.max_value();
        let mut sizes = std::collections::BTreeSet::new();
        for v in [0, max, max / 3, rng.up_to(max), rng.up_to(max)] {
            let built = build(&p, v, &seed).expect("build");
            sizes.insert(built.mdp.len());
            assert_eq!(built.levels[0].len(), p.leaf_count());
            assert_eq!(built.levels.len(), p.tree_height() + 1);
            assert_eq!(built.levels[p.tree_height()].len(), 1);
            // slots are distinct, in range, and every leaf is distinct
            let mut slots = built.slots.clone();
            slots.sort_unstable();
            slots.dedup();
            assert_eq!(slots.len(), built.mdp.len());
            let mut leaves: Vec<Hash> = built.levels[0].clone();
            leaves.sort_unstable();
            leaves.dedup();
            assert_eq!(leaves.len(), p.leaf_count());
        }
    }
}

#[test]
fn leaf_index_is_seed_dependent() {
    // Same value and threshold, different seeds: the revealed index spreads
    // over all slots (it does not encode which MDP element was used).
    let p = params(16, 11);
    let mut rng = TestRng::new("index");
    let mut seen = [false; 4];
    for _ in 0..64 {
        let proof = prove(&p, 700, &rng.seed(), 650).expect("prove");
        seen[usize::from(proof.leaf_index)] = true;
    }
    assert!(seen.iter().all(|&s| s));
}

// ---------------------------------------------------------------- seed / KDF

#[test]
fn kdf_matches_ring_hkdf() {
    struct Len32;
    impl ring::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    struct Len16;
    impl ring::hkdf::KeyType for Len16 {
        fn len(&self) -> usize {
            16
        }
    }
    let seed = RangeSeed::from_bytes([42; 32]);
    let p = params(16, 11);
    let ours = Kdf::new(&seed).secret(INFO_START, &p, 3);
    let len = [u8::try_from(INFO_START.len()).expect("short")];
    let enc = p.encode();
    let info: [&[u8]; 4] = [&len, INFO_START, &enc, &[3]];
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, HKDF_SALT).extract(&[42; 32]);
    let okm = prk.expand(&info, Len32).expect("expand");
    let mut theirs = [0u8; 32];
    okm.fill(&mut theirs).expect("fill");
    assert_eq!(*ours, theirs);

    let child = seed.derive_child(b"ge");
    let len = [u8::try_from(INFO_CHILD.len()).expect("short")];
    let info: [&[u8]; 3] = [&len, INFO_CHILD, b"ge"];
    let okm = prk.expand(&info, Len32).expect("expand");
    okm.fill(&mut theirs).expect("fill");
    assert_eq!(child.expose_secret_bytes(), &theirs);

    // The 16-byte accumulator salt is HKDF-Expand with L = 16.
    let ours = Kdf::new(&seed).salt(&p, 1);
    let len = [u8::try_from(INFO_SALT.len()).expect("short")];
    let info: [&[u8]; 4] = [&len, INFO_SALT, &enc, &[1]];
    let okm = prk.expand(&info, Len16).expect("expand");
    let mut theirs = [0u8; 16];
    okm.fill(&mut theirs).expect("fill");
    assert_eq!(*ours, theirs);
}

#[test]
fn every_label_is_v2() {
    // The encoding changed in v2 (16-byte salt); a v1 proof or commitment
    // must never verify under v2, so every tag and HKDF label was bumped.
    use super::hash::{TAG_LEAF, TAG_NODE, TAG_ROOT, TAG_STEP};
    use super::seed::{INFO_PAD, INFO_PERM};
    for label in
        [TAG_STEP, TAG_LEAF, TAG_NODE, TAG_ROOT, HKDF_SALT, INFO_START, INFO_SALT, INFO_PAD, INFO_PERM, INFO_CHILD]
    {
        assert!(label.starts_with(b"creditproof/hashwires/v2/"), "{}", String::from_utf8_lossy(label));
    }
}

#[test]
fn seed_hygiene() {
    let seed = RangeSeed::from_bytes([9; 32]);
    assert_eq!(format!("{seed:?}"), "RangeSeed([redacted])");
    let a = seed.derive_child(b"ge");
    let b = seed.derive_child(b"le");
    assert_ne!(a.expose_secret_bytes(), b.expose_secret_bytes());
    assert_ne!(a.expose_secret_bytes(), seed.expose_secret_bytes());
    assert_eq!(a.expose_secret_bytes(), seed.derive_child(b"ge").expose_secret_bytes());
    let g = RangeSeed::generate(&mut crate::SystemRng::new());
    assert_ne!(g.expose_secret_bytes(), &[0u8; 32]);
}

#[test]
fn error_messages_are_lowercase() {
    let errs = [
        RangeError::InvalidParams,
        RangeError::ValueOutOfRange,
        RangeError::ThresholdOutOfRange,
        RangeError::PredicateFalse,
        RangeError::WrongLength { expected: 1, actual: 2 },
        RangeError::Malformed { what: "leaf index" },
        RangeError::ProofInvalid,
        RangeError::RandomnessUnavailable,
    ];
    for e in errs {
        let s = e.to_string();
        assert!(s.chars().next().is_some_and(|c| c.is_ascii_lowercase()), "{s}");
        let _: &dyn std::error::Error = &e;
    }
}

// ---------------------------------------------------------------- vectors

fn vector_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTORS_DIR).join(name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

fn num(v: &serde_json::Value, key: &str) -> u64 {
    let s = v[key].as_str().expect("decimal string");
    s.parse().expect("u64")
}

fn case_params(c: &serde_json::Value) -> RangeParams {
    let base = u16::try_from(c["base"].as_u64().expect("base")).expect("u16");
    let bits = u8::try_from(c["bits"].as_u64().expect("bits")).expect("u8");
    params(base, bits)
}

#[test]
fn known_answer_vectors() {
    let text = std::fs::read_to_string(vector_path("range_kat.json")).expect("read range_kat.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cases = doc["valid"].as_array().expect("valid");
    assert!(cases.len() >= 10);
    for c in cases {
        let p = case_params(c);
        let seed_bytes: [u8; 32] = unhex(c["seed"].as_str().expect("seed")).try_into().expect("32");
        let seed = RangeSeed::from_bytes(seed_bytes);
        let (v, t) = (num(c, "value"), num(c, "threshold"));
        let com = commit(&p, v, &seed).expect("commit");
        assert_eq!(hex(com.as_bytes()), c["commitment"].as_str().expect("commitment"));
        let proof = prove(&p, v, &seed, t).expect("prove");
        assert_eq!(hex(&proof.to_bytes()), c["proof"].as_str().expect("proof"));
        assert_eq!(p.proof_len(), usize::try_from(c["proof_len"].as_u64().expect("len")).expect("usize"));
        let parsed = RangeProof::from_bytes(&p, &unhex(c["proof"].as_str().expect("proof"))).expect("parse");
        assert_eq!(verify(&p, &com, t, &parsed), Ok(()));
    }
    let failures = doc["invalid"].as_array().expect("invalid");
    assert!(failures.len() >= 5);
    for c in failures {
        let p = case_params(c);
        let t = num(c, "threshold");
        let com = Commitment::from_slice(&unhex(c["commitment"].as_str().expect("c"))).expect("32");
        let res = RangeProof::from_bytes(&p, &unhex(c["proof"].as_str().expect("proof")))
            .and_then(|pr| verify(&p, &com, t, &pr));
        let err = res.expect_err("must fail");
        assert_eq!(err.code(), c["error"].as_str().expect("error"), "{}", c["name"]);
    }
    let unprovable = doc["predicate_false"].as_array().expect("predicate_false");
    for c in unprovable {
        let p = case_params(c);
        let seed_bytes: [u8; 32] = unhex(c["seed"].as_str().expect("seed")).try_into().expect("32");
        let res = prove(&p, num(c, "value"), &RangeSeed::from_bytes(seed_bytes), num(c, "threshold"));
        assert_eq!(res.map(|_| ()), Err(RangeError::PredicateFalse));
    }
}

#[test]
fn mdp_vectors() {
    let text = std::fs::read_to_string(vector_path("mdp.json")).expect("read mdp.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for c in cases {
        let p = case_params(c);
        let expected: Vec<u64> =
            c["mdp"].as_array().expect("mdp").iter().map(|x| x.as_str().expect("str").parse().expect("u64")).collect();
        assert_eq!(mdp(&p, num(c, "value")), Ok(expected));
    }
}
