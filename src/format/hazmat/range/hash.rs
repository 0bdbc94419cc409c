//! Domain-separated SHA-256 hashes (tagged hashes with cached midstates).

use ring::digest::{self, Context, SHA256};
use std::sync::OnceLock;

use super::params::RangeParams;
pub(crate) use super::params::{HASH_LEN, SALT_LEN};

/// A 32-byte hash value.
pub(crate) type Hash = [u8; HASH_LEN];

/// A 16-byte accumulator salt.
pub(crate) type Salt = [u8; SALT_LEN];

/// Tag of the chain step hash.
pub(crate) const TAG_STEP: &[u8] = b"creditproof/hashwires/v2/step";
/// Tag of the accumulator (Merkle leaf) hash.
pub(crate) const TAG_LEAF: &[u8] = b"creditproof/hashwires/v2/leaf";
/// Tag of the inner Merkle node hash.
pub(crate) const TAG_NODE: &[u8] = b"creditproof/hashwires/v2/node";
/// Tag of the final commitment hash.
pub(crate) const TAG_ROOT: &[u8] = b"creditproof/hashwires/v2/root";

/// SHA-256 contexts that have already absorbed the 64-byte tag prefix
/// `SHA-256(tag) || SHA-256(tag)`; cloning one skips that compression.
struct Prefixes {
    step: Context,
    leaf: Context,
    node: Context,
    root: Context,
}

fn prefixed(tag: &[u8]) -> Context {
    let t = digest::digest(&SHA256, tag);
    let mut ctx = Context::new(&SHA256);
    ctx.update(t.as_ref());
    ctx.update(t.as_ref());
    ctx
}

fn prefixes() -> &'static Prefixes {
    static PREFIXES: OnceLock<Prefixes> = OnceLock::new();
    PREFIXES.get_or_init(|| Prefixes {
        step: prefixed(TAG_STEP),
        leaf: prefixed(TAG_LEAF),
        node: prefixed(TAG_NODE),
        root: prefixed(TAG_ROOT),
    })
}

pub(crate) fn finish(ctx: Context) -> Hash {
    let d = ctx.finish();
    let mut out = [0u8; HASH_LEN];
    // SHA-256 output is always HASH_LEN bytes.
    out.copy_from_slice(d.as_ref());
    out
}

/// All tagged hashes for one parameter set.
pub(crate) struct Hasher {
    p: &'static Prefixes,
    params: [u8; 3],
}

impl Hasher {
    pub(crate) fn new(params: &RangeParams) -> Self {
        Self { p: prefixes(), params: params.encode() }
    }

    /// `step_i(x) = H_step(i || params || x)`: 36-byte message, one compression.
    #[inline]
    pub(crate) fn step(&self, pos: u8, x: &Hash) -> Hash {
        let mut buf = [0u8; 4 + HASH_LEN];
        buf[0] = pos;
        buf[1..4].copy_from_slice(&self.params);
        buf[4..].copy_from_slice(x);
        let mut ctx = self.p.step.clone();
        ctx.update(&buf);
        finish(ctx)
    }

    /// Starts `H_leaf(params || salt || node_0 || ... || node_{n-1})`; the
    /// caller absorbs exactly `n` nodes and calls [`finish`].
    pub(crate) fn leaf_start(&self, salt: &Salt) -> Context {
        let mut ctx = self.p.leaf.clone();
        ctx.update(&self.params);
        ctx.update(salt);
        ctx
    }

    /// `H_node(level || left || right)`.
    #[inline]
    pub(crate) fn node(&self, level: u8, left: &Hash, right: &Hash) -> Hash {
        let mut buf = [0u8; 1 + 2 * HASH_LEN];
        buf[0] = level;
        buf[1..=HASH_LEN].copy_from_slice(left);
        buf[1 + HASH_LEN..].copy_from_slice(right);
        let mut ctx = self.p.node.clone();
        ctx.update(&buf);
        finish(ctx)
    }

    /// `H_root(params || height || tree_root)`: the published commitment.
    pub(crate) fn root(&self, height: u8, tree_root: &Hash) -> Hash {
        let mut buf = [0u8; 4 + HASH_LEN];
        buf[..3].copy_from_slice(&self.params);
        buf[3] = height;
        buf[4..].copy_from_slice(tree_root);
        let mut ctx = self.p.root.clone();
        ctx.update(&buf);
        finish(ctx)
    }
}

/// Equality of two public 32-byte values without data-dependent early exit.
pub(crate) fn ct_eq(a: &Hash, b: &Hash) -> bool {
    let diff = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}
