//! Commit, prove and verify.

use zeroize::Zeroizing;

use super::error::RangeError;
use super::hash::{ct_eq, finish, Hash, Hasher, Salt};
use super::mdp::{dominates, mdp_digits};
use super::params::{Digits, RangeParams};
use super::proof::{Commitment, RangeProof};
use super::seed::{Kdf, RangeSeed, INFO_PAD, INFO_PERM, INFO_START};

/// Everything the issuer/holder recomputes from `(params, value, seed)`.
pub(crate) struct Built {
    /// MDP elements as digit vectors, in [`mdp_digits`] order.
    pub(crate) mdp: Vec<Digits>,
    /// Merkle slot of MDP element `k`.
    pub(crate) slots: Vec<u8>,
    /// `levels[0]` are the leaves, `levels[h]` is `[tree_root]`.
    pub(crate) levels: Vec<Vec<Hash>>,
    /// Accumulator salt (16 bytes) of MDP element `k`.
    pub(crate) salts: Vec<Zeroizing<Salt>>,
    /// `chains[i][l] = step_i^l(start_i)` for `l` up to the largest digit any
    /// MDP element has at position `i`.
    pub(crate) chains: Vec<Zeroizing<Vec<Hash>>>,
    /// The commitment.
    pub(crate) commitment: Commitment,
}

fn height_u8(params: &RangeParams) -> u8 {
    // tree_height <= 6 for every supported parameter set.
    u8::try_from(params.tree_height()).unwrap_or(u8::MAX)
}

pub(crate) fn build(params: &RangeParams, value: u64, seed: &RangeSeed) -> Result<Built, RangeError> {
    if value > params.max_value() {
        return Err(RangeError::ValueOutOfRange);
    }
    let hasher = Hasher::new(params);
    let kdf = Kdf::new(seed);
    let n = params.digits();
    let mdp = mdp_digits(params, value);

    // One secret chain per digit position, shared by all MDP elements.
    let mut chains = Vec::with_capacity(n);
    for (i, pos) in (0..n).zip(0u8..) {
        let top = mdp.iter().map(|x| x[i]).max().unwrap_or(0);
        let mut chain = Zeroizing::new(Vec::with_capacity(usize::from(top) + 1));
        let mut cur = kdf.secret(INFO_START, params, pos);
        chain.push(*cur);
        for _ in 0..top {
            *cur = hasher.step(pos, &cur);
            chain.push(*cur);
        }
        chains.push(chain);
    }

    // Secret uniformly random permutation of the slots: sort by PRF keys.
    let l = params.leaf_count();
    let mut keyed: Vec<(Zeroizing<Hash>, u8)> =
        (0..l).zip(0u8..).map(|(_, s)| (kdf.secret(INFO_PERM, params, s), s)).collect();
    keyed.sort_by(|a, b| a.0[..].cmp(&b.0[..]).then(a.1.cmp(&b.1)));

    let mut leaves: Vec<Option<Hash>> = vec![None; l];
    let mut salts = Vec::with_capacity(mdp.len());
    let mut slots = Vec::with_capacity(mdp.len());
    for ((x, (_, slot)), k) in mdp.iter().zip(keyed.iter()).zip(0u8..) {
        let salt = kdf.salt(params, k);
        let mut ctx = hasher.leaf_start(&salt);
        for (chain, &d) in chains.iter().zip(x.iter()) {
            ctx.update(&chain[usize::from(d)]);
        }
        leaves[usize::from(*slot)] = Some(finish(ctx));
        salts.push(salt);
        slots.push(*slot);
    }
    let leaves: Vec<Hash> = leaves
        .into_iter()
        .zip(0u8..)
        .map(|(leaf, s)| leaf.unwrap_or_else(|| *kdf.secret(INFO_PAD, params, s)))
        .collect();

    let mut levels = Vec::with_capacity(params.tree_height() + 1);
    levels.push(leaves);
    for level in 0..height_u8(params) {
        let next: Vec<Hash> =
            levels[levels.len() - 1].chunks_exact(2).map(|p| hasher.node(level, &p[0], &p[1])).collect();
        levels.push(next);
    }
    let commitment = Commitment::from_bytes(hasher.root(height_u8(params), &levels[levels.len() - 1][0]));
    Ok(Built { mdp, slots, levels, salts, chains, commitment })
}

/// Issuer: commits to `value` under `seed`.
///
/// # Errors
/// [`RangeError::ValueOutOfRange`] if `value > params.max_value()`.
pub fn commit(params: &RangeParams, value: u64, seed: &RangeSeed) -> Result<Commitment, RangeError> {
    build(params, value, seed).map(|b| b.commitment)
}

/// Holder: proves that the value committed under `seed` is `>= threshold`.
///
/// Deterministic: the same inputs always give the same proof.
///
/// # Errors
/// [`RangeError::ValueOutOfRange`] / [`RangeError::ThresholdOutOfRange`] if an
/// input exceeds `params.max_value()`; [`RangeError::PredicateFalse`] if
/// `value < threshold`.
pub fn prove(params: &RangeParams, value: u64, seed: &RangeSeed, threshold: u64) -> Result<RangeProof, RangeError> {
    if value > params.max_value() {
        return Err(RangeError::ValueOutOfRange);
    }
    if threshold > params.max_value() {
        return Err(RangeError::ThresholdOutOfRange);
    }
    if value < threshold {
        return Err(RangeError::PredicateFalse);
    }
    let t = params.digits_of(threshold);
    let built = build(params, value, seed)?;
    let k = built.mdp.iter().position(|x| dominates(params, x, &t)).ok_or(RangeError::PredicateFalse)?;
    let x = &built.mdp[k];
    let nodes: Vec<Hash> = built
        .chains
        .iter()
        .zip(x.iter().zip(t.iter()))
        .map(|(chain, (&xi, &ti))| chain[usize::from(xi - ti)])
        .collect();
    let slot = built.slots[k];
    let path: Vec<Hash> = built
        .levels
        .iter()
        .take(params.tree_height())
        .enumerate()
        .map(|(level, nodes)| nodes[(usize::from(slot) >> level) ^ 1])
        .collect();
    Ok(RangeProof { leaf_index: slot, salt: *built.salts[k], nodes, path })
}

/// Verifier: checks that `proof` shows the value committed in `commitment`
/// is `>= threshold`.
///
/// Runs in time depending only on `params` and the (public) threshold digits;
/// allocates nothing.
///
/// # Errors
/// [`RangeError::ThresholdOutOfRange`] if `threshold > params.max_value()`;
/// [`RangeError::WrongLength`] / [`RangeError::Malformed`] if the proof was
/// parsed for other parameters; otherwise any failure is the single
/// [`RangeError::ProofInvalid`].
pub fn verify(
    params: &RangeParams,
    commitment: &Commitment,
    threshold: u64,
    proof: &RangeProof,
) -> Result<(), RangeError> {
    if threshold > params.max_value() {
        return Err(RangeError::ThresholdOutOfRange);
    }
    if proof.nodes.len() != params.digits() || proof.path.len() != params.tree_height() {
        return Err(RangeError::WrongLength { expected: params.proof_len(), actual: proof.encoded_len() });
    }
    if usize::from(proof.leaf_index) >= params.leaf_count() {
        return Err(RangeError::Malformed { what: "leaf index" });
    }
    let hasher = Hasher::new(params);
    let t = params.digits_of(threshold);
    let mut leaf = hasher.leaf_start(&proof.salt);
    for ((p, &ti), pos) in proof.nodes.iter().zip(t.iter()).zip(0u8..) {
        let mut node: Hash = *p;
        for _ in 0..ti {
            node = hasher.step(pos, &node);
        }
        leaf.update(&node);
    }
    let mut cur = finish(leaf);
    let mut idx = proof.leaf_index;
    for (sibling, level) in proof.path.iter().zip(0u8..) {
        cur = if idx & 1 == 0 { hasher.node(level, &cur, sibling) } else { hasher.node(level, sibling, &cur) };
        idx >>= 1;
    }
    let root = hasher.root(height_u8(params), &cur);
    if ct_eq(&root, commitment.as_bytes()) {
        Ok(())
    } else {
        Err(RangeError::ProofInvalid)
    }
}
