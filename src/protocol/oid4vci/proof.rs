//! The `jwt` proof type (OpenID4VCI Appendix F.1): a holder key proving
//! possession of itself over the issuer's `c_nonce`.
//!
//! ```text
//! {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": …}}
//! .{"aud": "https://bureau.example", "iat": 1795262400, "nonce": "<c_nonce>"}
//! ```
//!
//! The issuer's checks (Appendix F.4), each failing as `invalid_proof`
//! unless said otherwise: size; the header — `alg` one creditproof
//! supports (never `none` or HMAC), `typ`, exactly one of `jwk`/`kid`/`x5c`
//! and that one `jwk` (keys by reference are not resolved), no private key
//! in it, no `crit`; the key not of small order; the signature, with the
//! key's own algorithm; `aud` the credential issuer identifier; `iat`
//! neither in the future beyond the clock skew nor older than the maximum
//! age; `nonce` present (Appendix F.1: required when the issuer has a nonce
//! endpoint) and a valid, fresh `c_nonce` of this issuer, else
//! `invalid_nonce`. `iss` is ignored: an anonymous pre-authorized client
//! has no client id to compare it with.

use serde_json::{json, Value};

use crate::format::encoding::{get_opt_numeric_date, Round};
use crate::format::jws::UnverifiedJws;
use crate::format::keys::HolderPublicKey;
use crate::format::time::UnixTime;
use crate::holder::wallet::Wallet;
use crate::issuer::Issuer;
use crate::profile::key_request::PROOF_TYP;
use crate::protocol::oid4vci::error::Oid4vciError;
use crate::protocol::oid4vci::secret::CNonce;
use crate::Limits;

/// The most bytes one proof JWT may have (a P-256 key's proof is about
/// 600).
pub const MAX_PROOF_BYTES: usize = 4096;

/// What a proof is checked against.
pub(crate) struct ProofCheck<'a> {
    pub(crate) issuer: &'a Issuer,
    pub(crate) audience: &'a str,
    pub(crate) now: UnixTime,
    pub(crate) max_age_secs: u64,
    pub(crate) clock_skew_secs: u64,
}

impl ProofCheck<'_> {
    /// Checks proof number `index` and returns the key it proves.
    pub(crate) fn check(&self, index: usize, jwt: &str) -> Result<HolderPublicKey, Oid4vciError> {
        let invalid = |reason: &str| Oid4vciError::InvalidProof { proof: Some(index), reason: reason.to_owned() };
        if jwt.len() > MAX_PROOF_BYTES {
            return Err(invalid("longer than 4096 bytes"));
        }
        let limits = Limits::default().with_max_json_depth(4).with_max_string_bytes(1024);
        let (jws, key) = UnverifiedJws::parse_with_embedded_key(jwt, PROOF_TYP, &limits, "proof")
            .map_err(|e| invalid(&format!("{} ({})", e, e.check())))?;
        if key.is_weak() {
            return Err(invalid("the key is a small-order (weak) ed25519 point"));
        }
        if !jws.verify(&key) {
            return Err(invalid("the signature does not verify with the header's key"));
        }
        match jws.payload.get("aud") {
            Some(Value::String(aud)) if aud == self.audience => {}
            _ => return Err(invalid("`aud` is not this credential issuer")),
        }
        let iat = get_opt_numeric_date(&jws.payload, "iat", Round::Up)
            .ok()
            .flatten()
            .ok_or_else(|| invalid("no numeric `iat`"))?;
        let now = self.now.as_secs();
        if iat > now.saturating_add(self.clock_skew_secs) {
            return Err(invalid("`iat` is in the future"));
        }
        if now.saturating_sub(iat) > self.max_age_secs {
            return Err(invalid("`iat` is too old"));
        }
        match jws.payload.get("nonce") {
            None => Err(invalid("no `nonce`: proofs must sign a c_nonce from the nonce endpoint")),
            Some(Value::String(n)) => match self.issuer.check_nonce(n, self.now) {
                Ok(()) => Ok(key),
                Err(_) => Err(Oid4vciError::InvalidNonce { proof: index }),
            },
            Some(_) => Err(invalid("`nonce` is not a string")),
        }
    }
}

/// Signs a proof with the wallet's key `key`, for `audience` over
/// `c_nonce` (none when the issuer has no nonce endpoint), with header
/// `alg` as the issuer lists it; no `iss` (anonymous pre-authorized
/// access). `None` if the wallet lacks the key or `alg` does not name its
/// algorithm.
pub(crate) fn sign_proof(
    wallet: &Wallet,
    key: &HolderPublicKey,
    alg: &str,
    audience: &str,
    c_nonce: Option<&CNonce>,
    now: UnixTime,
) -> Option<String> {
    let header = json!({"typ": PROOF_TYP, "jwk": key.to_jwk()});
    let mut payload = json!({"aud": audience, "iat": now.as_secs()});
    if let Some(n) = c_nonce {
        payload["nonce"] = json!(n.expose_secret());
    }
    wallet.sign_with_alg(key, alg, &header, &payload)
}
