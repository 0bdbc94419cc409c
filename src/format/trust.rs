//! Which issuer keys a verifier trusts, looked up by `iss` and `kid`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{Error, MalformedError, TrustError};
use crate::format::encoding::parse_json_object;
use crate::format::keys::IssuerPublicKey;
use crate::Limits;

/// Finds the key an issuer signed with. Implement it to back trust by a
/// database, a metadata cache or an HSM; [`TrustStore`] is the in-memory
/// one.
pub trait KeyProvider {
    /// The key for `iss` + `kid`, or which of the two is unknown.
    fn issuer_key(&self, iss: &str, kid: &str) -> Result<IssuerPublicKey, TrustError>;
}

/// Trusted issuer keys, by issuer identifier and key id.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    issuers: BTreeMap<String, BTreeMap<String, IssuerPublicKey>>,
}

impl TrustStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for issuer `iss`, under its RFC 7638 thumbprint as `kid`.
    pub fn add(&mut self, iss: impl Into<String>, key: IssuerPublicKey) -> &mut Self {
        let kid = key.thumbprint();
        self.add_with_kid(iss, kid, key)
    }

    /// Trusts `key` for issuer `iss` under an explicit `kid`.
    pub fn add_with_kid(&mut self, iss: impl Into<String>, kid: impl Into<String>, key: IssuerPublicKey) -> &mut Self {
        self.issuers.entry(iss.into()).or_default().insert(kid.into(), key);
        self
    }

    /// Trusts every key in a JWT VC Issuer Metadata document
    /// (draft-ietf-oauth-sd-jwt-vc: `{"issuer": ..., "jwks": {"keys": [...]}}`).
    /// A key without `kid` is trusted under its thumbprint.
    pub fn add_metadata(&mut self, bytes: &[u8], limits: &Limits) -> Result<&mut Self, Error> {
        let metadata = IssuerMetadata::from_json(bytes, limits)?;
        for (kid, key) in metadata.keys {
            let kid = kid.unwrap_or_else(|| key.thumbprint());
            self.add_with_kid(metadata.issuer.as_str(), kid, key);
        }
        Ok(self)
    }
}

/// A JWT VC Issuer Metadata document (draft-ietf-oauth-sd-jwt-vc): the
/// issuer identifier and its keys, each with the `kid` it is published
/// under, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerMetadata {
    issuer: String,
    keys: Vec<(Option<String>, IssuerPublicKey)>,
}

impl IssuerMetadata {
    /// Parses a metadata document (strict JSON within `limits`).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        Self::from_map(&parse_json_object(bytes, limits, "issuer metadata")?)
    }

    /// Reads a metadata document already parsed as JSON.
    pub fn from_value(doc: &Value) -> Result<Self, Error> {
        Self::from_map(doc.as_object().ok_or_else(|| bad_metadata("must be a json object"))?)
    }

    fn from_map(m: &Map<String, Value>) -> Result<Self, Error> {
        let issuer =
            m.get("issuer").and_then(Value::as_str).ok_or_else(|| bad_metadata("`issuer` must be a string"))?;
        let list = m
            .get("jwks")
            .and_then(|j| j.get("keys"))
            .and_then(Value::as_array)
            .ok_or_else(|| bad_metadata("`jwks.keys` must be an array"))?;
        let mut keys = Vec::with_capacity(list.len());
        for jwk in list {
            let key = IssuerPublicKey::from_jwk(jwk)?;
            let kid = match jwk.get("kid") {
                None => None,
                Some(Value::String(k)) => Some(k.clone()),
                Some(_) => return Err(bad_metadata("`kid` must be a string")),
            };
            keys.push((kid, key));
        }
        Ok(Self { issuer: issuer.to_owned(), keys })
    }

    /// The issuer identifier (`issuer`), which credentials carry as `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The keys, in document order, with their published `kid`, if any.
    pub fn keys(&self) -> &[(Option<String>, IssuerPublicKey)] {
        &self.keys
    }
}

fn bad_metadata(reason: &str) -> Error {
    MalformedError::Request { reason: format!("issuer metadata: {reason}") }.into()
}

impl KeyProvider for TrustStore {
    fn issuer_key(&self, iss: &str, kid: &str) -> Result<IssuerPublicKey, TrustError> {
        let keys = self.issuers.get(iss).ok_or(TrustError::UnknownIssuer)?;
        keys.get(kid).copied().ok_or(TrustError::UnknownKid)
    }
}

/// JWT VC Issuer Metadata for one issuer and its current keys.
pub(crate) fn metadata(iss: &str, keys: &[(String, IssuerPublicKey)]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, k)| {
            let mut jwk = k.to_jwk();
            jwk["kid"] = json!(kid);
            jwk["alg"] = json!(k.algorithm().jws_alg());
            jwk["use"] = json!("sig");
            jwk
        })
        .collect();
    json!({"issuer": iss, "jwks": {"keys": keys}})
}
