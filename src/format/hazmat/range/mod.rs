//! HashWires credential-based range proofs (Chalkias, Cohen, Lewi, Moezinia,
//! Romailler, PoPETs 2021), written from the paper for `creditproof`.
//!
//! An **issuer** commits to a secret integer `v` (e.g. a credit score) and
//! puts the 32-byte [`Commitment`] in a signed credential; it hands the
//! **holder** `v` and the 32-byte [`RangeSeed`]. The holder later proves
//! `v >= t` for a verifier-chosen threshold `t` with a fixed-size
//! [`RangeProof`]; the **verifier** learns only that the predicate holds.
//! `v <= u` is proven against a second commitment to
//! [`RangeParams::mirror`]`(v) = max - v` under
//! [`RangeSeed::derive_child`]`(b"le")`, as `mirror(v) >= mirror(u)`.
//!
//! Security model (from the paper): *commitment-conditional soundness* (the
//! issuer is honest; a holder who knows the seed still cannot prove a false
//! predicate) and *hiding / witness indistinguishability* against verifiers
//! (who never see the seed).
//!
//! # Specification (v2, scheme name `hashwires-v2`)
//!
//! v2 differs from v1 in the 16-byte (was 32-byte) accumulator salt, hence
//! the proof encoding, and in the issued base (per bit width, see *Choice of
//! the base*); every tag and HKDF label moved from `v1` to `v2`, so nothing
//! produced under v1 verifies under v2.
//!
//! ## Parameters
//! [`RangeParams`] `{ base b ∈ 2..=256, bits ∈ 1..=64 }`; `max = 2^bits − 1`;
//! `n` = number of base-`b` digits of `max`; `L = next_power_of_two(n)`
//! Merkle leaves (`n` bounds `|MDP(v)|` for every `v ≤ max`); tree height
//! `h = log2 L` (≤ 6); proof length `1 + 16 + 32·(n + h)` bytes. Every value
//! and threshold is written with exactly `n` digits, digit `i` weighing `b^i`.
//! `P = be16(b) || u8(bits)` (3 bytes) is bound into every hash and secret.
//! This module proves and verifies under any valid `P`; creditproof
//! credentials carry only `bits`, and issuer and verifier both take `P` from
//! [`RangeParams::for_bits`].
//!
//! ## Hashes
//! Tagged SHA-256, `H_tag(m) = SHA-256(SHA-256(tag) || SHA-256(tag) || m)`
//! (BIP-340 style; the 64-byte prefix is one cached midstate, so a chain step
//! costs one compression). Tags are `creditproof/hashwires/v2/<purpose>`:
//!
//! | purpose | definition |
//! |---|---|
//! | chain step | `step_i(x) = H_step(u8(i) ‖ P ‖ x)` |
//! | accumulator (leaf) | `leaf = H_leaf(P ‖ salt ‖ node_0 ‖ … ‖ node_{n−1})` (16-byte salt, always `n` nodes) |
//! | Merkle node | `H_node(u8(level) ‖ left ‖ right)` (level 0 = leaves' parents) |
//! | commitment | `C = H_root(P ‖ u8(h) ‖ tree_root)` |
//!
//! All inputs have fixed lengths under fixed `P`, so no length prefixes are
//! needed. The step hash contains the position `i` but **not** the chain level,
//! so the verifier never needs the holder's digit.
//!
//! ## Secrets (HKDF-SHA-256, RFC 5869)
//! `PRK = HKDF-Extract(salt = "creditproof/hashwires/v2/seed", IKM = seed)`,
//! `secret(label, j, len) = HKDF-Expand(PRK, u8(len(label)) ‖ label ‖ P ‖ u8(j), len)`
//! with `len = 32` unless stated:
//! chain starts `start_i = secret(".../start", i)`, accumulator salts
//! `salt_k = secret(".../salt", k, 16)` (the first 16 bytes of the 32-byte
//! expansion), padding leaves `pad_s = secret(".../pad", s)`,
//! permutation keys `key_s = secret(".../perm", s)`; child seeds
//! `HKDF-Expand(PRK, u8(len) ‖ ".../child" ‖ label, 32)`. (Implemented on
//! `ring::hmac` because for outputs of at most 32 bytes HKDF-Expand is a
//! single HMAC and thus infallible; a test checks both lengths against
//! `ring::hkdf`.) Chain starts come
//! from HKDF, **not** from `step`: were `start_i = step_i(s)`, a holder (who
//! knows the seed) could reveal `s` and prove a digit one higher.
//!
//! ## Minimum dominating partition
//! `x` dominates `y` if `x_i ≥ y_i` for every digit. [`mdp`]`(v)` is `v`
//! followed by, for each position `i ≥ 1` (increasing) with `v_i ≥ 1` whose
//! lower digits `v_0…v_{i−1}` are not all `b−1`, the element
//! `z_i = ⌊v / b^i⌋·b^i − 1` (digit `i` decremented, lower digits `b−1`). Every
//! `y ≤ v` is dominated by `v` (if `y = v`) or by `z_j`, `j` the highest
//! position where `y` and `v` differ; no `y > v` is dominated. Example, base 10:
//! `MDP(3413) = {3413, 3409, 3399, 2999}`.
//!
//! ## Commitment
//! 1. Chains (one per digit position, shared by all MDP elements, "wires"):
//!    `node_i^d = step_i^d(start_i)`.
//! 2. For MDP element `x^k` (`k = 0…m−1`, order above):
//!    `leaf_k = H_leaf(P ‖ salt_k ‖ node_0^{x^k_0} ‖ … ‖ node_{n−1}^{x^k_{n−1}})`.
//! 3. Slots `0…L−1` sorted by `(key_s, s)` give a secret uniformly random
//!    permutation `σ`; `leaf_k` goes to slot `σ(k)`, every other slot `s`
//!    holds `pad_s`.
//! 4. Merkle tree of fixed height `h` over the `L` slots; `C = H_root(P ‖ h ‖ root)`.
//!
//! ## Proof (holder, `t ≤ v`)
//! Take the first `x^k` dominating `t`; reveal `p_i = node_i^{x^k_i − t_i}`.
//! Byte layout: `σ(k) (1) ‖ salt_k (16) ‖ p_0 … p_{n−1} (32 each) ‖
//! sibling_0 … sibling_{h−1} (32 each, leaf level first)`.
//! [`RangeProof::from_bytes`] rejects any other length ([`RangeError::WrongLength`])
//! and an index `≥ L` ([`RangeError::Malformed`]).
//!
//! ## Verification
//! 1. `t > max` → [`RangeError::ThresholdOutOfRange`] (public input).
//! 2. `N_i = step_i^{t_i}(p_i)`; `leaf = H_leaf(P ‖ salt ‖ N_0 ‖ … ‖ N_{n−1})`.
//! 3. Climb: at level `ℓ`, bit `ℓ` of the index says whether the current node
//!    is the right child.
//! 4. Accept iff `H_root(P ‖ h ‖ root') = C` (compared without early exit);
//!    every failure is the single [`RangeError::ProofInvalid`].
//!
//! Cost: `Σ t_i ≤ n(b−1)` one-block step hashes, one leaf hash, `h + 1` node
//! and root hashes; no heap allocation; running time depends only on `P` and
//! the public `t`.
//!
//! ## Security argument (sketch)
//! *Soundness.* If the verifier accepts, then by collision resistance of
//! `H_root`/`H_node` the opened leaf is one of the `L` committed leaves. A
//! padding leaf is a uniformly random 32-byte string, so opening it needs an
//! `H_leaf` preimage; hence it is `leaf_k` for a real MDP element `x^k`, and by
//! collision resistance of `H_leaf` the revealed salt and `N_i` equal the
//! committed `node_i^{x^k_i}`. If `t_i > x^k_i` for some `i`, then
//! `step_i^{t_i}(p_i) = step_i^{x^k_i}(start_i)` yields either a `step_i`
//! collision or a `step_i` preimage of `start_i`, an HKDF output outside the
//! step domain: infeasible even for a holder who knows the seed. So `t` is
//! dominated by `x^k ≤ v`, i.e. `t ≤ v`. The position in the step input stops
//! moving nodes between chains; `P` and the tags stop cross-parameter and
//! cross-purpose reuse.
//!
//! *Hiding.* The verifier sees `C`, the index, the salt, the `p_i` and the
//! siblings. Without the seed these are PRF/hash outputs and padding, all
//! pseudorandom, with one exception that the salt exists for: from `p_i` the
//! verifier can compute `node_i^d` for every `d ≥ x^k_i − t_i`, which may be
//! every node of another MDP element's leaf (e.g. `z_j`'s when `k = 0` and
//! `t_j ≥ 1`). Unsalted, such a leaf could be recomputed for a guessed `v`
//! and compared with the siblings, revealing `v`. Salted, recomputing it
//! needs that leaf's `salt_{k'}`: 128 bits of HKDF output the verifier never
//! sees (only the opened leaf's salt is revealed; salts of different `k` are
//! independent PRF outputs). Each hash evaluation tests one salt guess for
//! one hypothesised leaf, so `Q` evaluations succeed with probability about
//! `Q/2^128` per hidden leaf (at most `L − 1 ≤ 63` per proof), and nothing
//! is amortised across commitments because the chain nodes inside a leaf
//! differ per seed. That is the 128-bit level of the rest of the system
//! (Ed25519; SHA-256 collisions), which is why 16 bytes suffice and a 32-byte
//! salt bought nothing but proof size. Soundness never uses the salt's
//! secrecy or length: it is an `H_leaf` input, bound by collision resistance
//! like the nodes. Padding leaves stay full 32-byte HKDF outputs (opening one
//! needs an `H_leaf` preimage). `L` and the proof length depend only on `P`,
//! so neither `v` nor `|MDP(v)|` shows; the index is `σ(k)` for a secret uniform permutation
//! `σ`, hence uniform on `0…L−1` whatever `k` and `m` are. Placing leaves by
//! `σ` does not affect soundness, which never uses leaf positions (Merkle
//! binding holds at every index). *Limits:* proofs from the same commitment
//! are linkable (same `C`), and two of them reveal whether the same MDP
//! element was used (same index and salt); issue fresh commitments (batch
//! issuance) where unlinkability matters. [`RangeError::PredicateFalse`] is
//! a holder-side error and must not be forwarded to a verifier.
//!
//! # Choice of the base
//! Issuers use [`RangeParams::for_bits`]: `n = ⌈bits / 6⌉` digits and the
//! smallest base `b ≥ 2` with `b^n ≥ 2^bits` (exact integer arithmetic).
//! Proof bytes, `1 + 16 + 32·(n + ⌈log2 n⌉)`, depend only on the digit
//! count, and they are what the holder's phone pays in every presentation
//! (more than once: the proof is base64url inside the KB-JWT payload, which
//! is base64url again, so a proof byte costs about 1.8 bytes on the wire).
//! Verification costs at most `n·(b − 1)` chain steps, so for a given `n`
//! the smallest base is the fastest at the same size. Verifiers accept every
//! base [`RangeParams::new`] accepts; the rule only fixes what is issued.
//!
//! Measured with `cargo run --release --example range_bench` on the noisy
//! shared 2-core development machine (Intel Xeon, load average ≈ 1.7): the
//! median of three runs of per-figure medians (run-to-run spread up to ~10%);
//! every row uses the v2 encoding (base 8 was the v1 default: 225 bytes at
//! 11 bits under v1). SHA-256 of 64 bytes = 171–181 ns; "typical" is
//! `t ≈ 0.6·max` for `v ≈ 0.73·max`, "worst" the threshold with the largest
//! digit sum (its chain steps in brackets); prove time ≈ commit time:
//!
//! | bits | base | digits | proof bytes | commit µs | verify µs typical / worst (steps) |
//! |---:|---:|---:|---:|---:|---:|
//! | 11 | **46** (rule) | 2 | **113** | 13.4 | 7.6 / 11.3 (88) |
//! | 11 | 8 | 4 | 209 | 8.7 | 1.9 / 3.6 (24) |
//! | 11 | 16 | 3 | 177 | 10.0 | 4.0 / 5.1 (37) |
//! | 16 | **41** (rule) | 3 | **177** | 19.6 | 5.8 / 15.5 (117) |
//! | 16 | 8 | 6 | 305 | 16.7 | 3.0 / 5.5 (36) |
//! | 16 | 16 | 4 | 209 | 14.6 | 5.7 / 8.8 (60) |
//! | 32 | **41** (rule) | 6 | **305** | 40.4 | 19.3 / 31.4 (236) |
//! | 32 | 8 | 11 | 497 | 32.6 | 5.8 / 11.1 (73) |
//! | 32 | 16 | 8 | 369 | 28.8 | 10.5 / 16.9 (120) |
//! | 64 | **57** (rule) | 11 | **497** | 104.8 | 39.6 / 80.6 (609) |
//! | 64 | 8 | 22 | 881 | 72.1 | 11.2 / 20.8 (148) |
//! | 64 | 16 | 16 | 657 | 62.3 | 20.5 / 31.4 (240) |
//!
//! Reasoning: a presentation with one 11-bit range proof should fit under
//! 1.5 KB, so size wins over verifier time as long as the latter stays
//! small next to the two Ed25519 verifications every presentation needs
//! (`verify_strict` measured 52 µs in a `creditproof-bench` run on the same
//! machine minutes later). At 11 bits the rule halves the proof against
//! base 8 (209 → 113 bytes; 225 → 113 against v1) for a worst case of
//! 11 µs instead of 4 µs, about a fifth of one Ed25519 verification. No
//! supported base does better at 11 bits: one digit would need base 2048,
//! and every base from 46 to 256 gives the same 113 bytes with more steps.
//! Six-bit digits cap a digit's steps at 63, so the worst case stays
//! linear in the width: at 64 bits 81 µs (~1.5 Ed25519 verifications, four
//! times base 8) buys a 497-byte instead of an 881-byte proof; 8-bit digits
//! (base 256) would need fewer digits (8 instead of 11 at 64 bits) but allow
//! 255 steps per digit. Commit time grows too (105 µs at 64 bits), but the
//! issuer pays it once per commitment and the holder once per proof (prove
//! rebuilds the tree), never the verifier.
//!
//! # Known-answer vectors
//! `examples/range_vectors.rs` writes `range_kat.json` and `mdp.json` into
//! [`VECTORS_DIR`]; the tests check every entry.

mod error;
mod hash;
mod mdp;
mod params;
mod proof;
mod scheme;
mod seed;

#[cfg(test)]
mod tests;

pub use error::RangeError;
pub use mdp::mdp;
pub use params::RangeParams;
pub use proof::{Commitment, RangeProof};
pub use scheme::{commit, prove, verify};
pub use seed::RangeSeed;

/// Directory (relative to the crate root) holding `range_kat.json` and
/// `mdp.json`, the known-answer vectors of this module.
pub const VECTORS_DIR: &str = "tests/vectors";
