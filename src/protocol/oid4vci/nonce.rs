//! The nonce endpoint (OpenID4VCI §7): a fresh `c_nonce` for the wallet's
//! proofs of possession.
//!
//! ```text
//! POST /nonce            (no authentication, usually no body)
//! 200  Content-Type: application/json   Cache-Control: no-store
//! {"c_nonce": "…"}
//! ```
//!
//! The response must not be cached (`Cache-Control: no-store`): that
//! header is the HTTP binding's job. creditproof's `c_nonce`s are the
//! issuer's stateless nonces ([`crate::Issuer::nonce`]: time, 8 random
//! bytes, HMAC under a key derived from the signing key), valid for an
//! hour; one serves every proof of one credential request. Replay of a
//! proof is stopped by the holder keys, each accepted once, not by the
//! nonce.

use serde_json::{json, Value};

use crate::format::encoding::{parse_json_object, to_json};
use crate::protocol::oid4vci::error::WalletError;
use crate::protocol::oid4vci::secret::{CNonce, MAX_SECRET_BYTES};
use crate::Limits;

/// A nonce response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceResponse {
    c_nonce: CNonce,
}

impl NonceResponse {
    pub(crate) fn new(c_nonce: CNonce) -> Self {
        Self { c_nonce }
    }

    /// The nonce.
    pub fn c_nonce(&self) -> &CNonce {
        &self.c_nonce
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        to_json(&json!({"c_nonce": self.c_nonce.expose_secret()}))
    }

    /// Reads a nonce response: a non-empty `c_nonce` string of at most
    /// 512 bytes; unknown members are ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Self, WalletError> {
        let what = "the nonce response";
        if bytes.len() > 4096 {
            return Err(WalletError::malformed(what, "too large"));
        }
        let m = parse_json_object(bytes, &Limits::default().with_max_json_depth(4), "nonce response")
            .map_err(|e| WalletError::malformed(what, e))?;
        let n = m
            .get("c_nonce")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= MAX_SECRET_BYTES)
            .ok_or_else(|| WalletError::malformed(what, "no `c_nonce` string of 1 to 512 bytes"))?;
        Ok(Self { c_nonce: CNonce::new(n) })
    }
}
