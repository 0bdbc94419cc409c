//! The key request of batch issuance: holder keys with proofs of
//! possession, as the holder sends them and the issuer checks them.
//!
//! The holder generates N fresh keys and signs, with each, a proof JWT
//! (`typ: openid4vci-proof+jwt`, as OpenID4VCI's proof JWTs) over the
//! issuer's nonce; the issuer checks every proof and signs N credentials
//! that share nothing but the issuer, the public parameters and the rounded
//! `iat`/`exp`.

use std::fmt;

use serde_json::{json, Value};

use crate::format::keys::HolderPublicKey;

/// JOSE `typ` of a holder's proof of possession.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";
/// How long an issuer nonce stays acceptable.
pub const NONCE_LIFETIME_SECS: u64 = 3600;

/// Holder keys with proofs of possession, as sent to the issuer.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRequest {
    pub(crate) entries: Vec<(HolderPublicKey, String)>,
}

impl fmt::Debug for KeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRequest({} keys)", self.entries.len())
    }
}

impl KeyRequest {
    /// The keys, in order.
    pub fn keys(&self) -> Vec<HolderPublicKey> {
        self.entries.iter().map(|(k, _)| *k).collect()
    }

    /// The request as JSON: `{"type": "creditproof-holder-keys/1", "keys": [{"jwk", "proof"}]}`.
    pub fn to_json(&self) -> Value {
        let keys: Vec<Value> = self.entries.iter().map(|(k, p)| json!({"jwk": k.to_jwk(), "proof": p})).collect();
        json!({"type": "creditproof-holder-keys/1", "keys": keys})
    }
}

/// Whether proofs of possession must carry an issuer nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoncePolicy {
    /// Every proof must carry a fresh nonce of this issuer and name it as
    /// audience (replay-resistant; the OpenID4VCI flow).
    Required,
    /// A nonce and audience are checked when present; a proof without them
    /// still proves possession of the key at its `iat`.
    IfPresent,
}
