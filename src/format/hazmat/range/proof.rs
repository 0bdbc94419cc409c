//! Commitment and proof types with their byte encodings.

use core::fmt;

use super::error::RangeError;
use super::hash::{Hash, Salt, HASH_LEN, SALT_LEN};
use super::params::RangeParams;

/// A HashWires commitment: the 32-byte tagged hash of the Merkle root.
///
/// Public; reveals neither the value nor the size of its MDP.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment([u8; 32]);

impl Commitment {
    /// Wraps 32 bytes received from an issuer or credential.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses a commitment from a slice.
    ///
    /// # Errors
    /// [`RangeError::WrongLength`] unless the slice is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, RangeError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| RangeError::WrongLength { expected: HASH_LEN, actual: bytes.len() })
    }

    /// The 32 commitment bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Commitment(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A HashWires proof that a committed value is `>=` a threshold.
///
/// Encoding (all lengths fixed by [`RangeParams`], see
/// [`RangeParams::proof_len`]):
/// `leaf_index (1) || salt (16) || p_0 … p_{n-1} (32 each, least significant
/// digit first) || sibling_0 … sibling_{h-1} (32 each, leaf level first)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RangeProof {
    pub(crate) leaf_index: u8,
    pub(crate) salt: Salt,
    pub(crate) nodes: Vec<Hash>,
    pub(crate) path: Vec<Hash>,
}

impl RangeProof {
    /// Length of [`RangeProof::to_bytes`].
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + SALT_LEN + HASH_LEN * (self.nodes.len() + self.path.len())
    }

    /// Serializes the proof (see the type docs for the layout).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(self.leaf_index);
        out.extend_from_slice(&self.salt);
        for h in self.nodes.iter().chain(self.path.iter()) {
            out.extend_from_slice(h);
        }
        out
    }

    /// Parses a proof for `params`.
    ///
    /// # Errors
    /// [`RangeError::WrongLength`] unless `bytes.len() == params.proof_len()`;
    /// [`RangeError::Malformed`] if the leaf index is not below
    /// [`RangeParams::leaf_count`].
    pub fn from_bytes(params: &RangeParams, bytes: &[u8]) -> Result<Self, RangeError> {
        let expected = params.proof_len();
        if bytes.len() != expected {
            return Err(RangeError::WrongLength { expected, actual: bytes.len() });
        }
        let short = RangeError::WrongLength { expected, actual: bytes.len() };
        let (&leaf_index, rest) = bytes.split_first().ok_or(short)?;
        if usize::from(leaf_index) >= params.leaf_count() {
            return Err(RangeError::Malformed { what: "leaf index" });
        }
        let (salt_bytes, rest) = rest.split_at_checked(SALT_LEN).ok_or(short)?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(salt_bytes);
        let mut hashes = rest.chunks_exact(HASH_LEN).map(|c| {
            let mut h = [0u8; HASH_LEN];
            h.copy_from_slice(c);
            h
        });
        let nodes: Vec<Hash> = hashes.by_ref().take(params.digits()).collect();
        let path: Vec<Hash> = hashes.collect();
        Ok(Self { leaf_index, salt, nodes, path })
    }
}
