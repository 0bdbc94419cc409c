//! The credential endpoint's messages (OpenID4VCI §8): the credential
//! request with its proofs, and the credential response with creditproof's
//! range secrets.
//!
//! ```text
//! POST /credential   Authorization: Bearer …   Content-Type: application/json
//! {"credential_configuration_id": "creditproof_score", "proofs": {"jwt": ["eyJ…", …]}}
//!
//! 200  Cache-Control: no-store
//! {"credentials": [{"credential": "<sd-jwt>~…~", "creditproof_range_secrets": {"seed": …, "values": …, "grids": …}}, …]}
//! ```
//!
//! # The `creditproof_range_secrets` extension member
//!
//! A score credential commits to the score (HashWires) instead of signing
//! it; without the commitment's 32-byte seed (and the committed values and
//! their threshold grids) its holder cannot prove `score>=650`. Each entry
//! of `credentials` therefore carries, next to `credential`, a member
//! [`RANGE_SECRETS_MEMBER`] holding exactly what a creditproof batch file
//! holds under `range`: `{"seed": <base64url, 32 bytes>, "values": {<attribute>:
//! <integer>}, "grids": {<attribute>: {"min", "max", "thresholds"}}}`.
//! OpenID4VCI lets an issuer add members and tells wallets to ignore the
//! ones they do not know (§8.3), so a generic SD-JWT VC wallet stores the
//! credential and can still answer plain claim and perk requests. The seed
//! is a secret of the holder: the response travels over TLS only, and
//! encrypted credential responses (`credential_response_encryption`) are a
//! later step; until then a request asking for one is refused
//! (`invalid_encryption_parameters`) rather than answered in clear.

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::format::encoding::{parse_json_object, to_json};
use crate::profile::credential::IssuedCredential;
use crate::profile::range_claim::RangeSecrets;
use crate::protocol::oid4vci::error::{Oid4vciError, WalletError};
use crate::Limits;

/// The member of a credential response entry that carries the holder's
/// range secrets.
pub const RANGE_SECRETS_MEMBER: &str = "creditproof_range_secrets";
/// The most bytes of a credential response the wallet reads.
pub const MAX_CREDENTIAL_RESPONSE_BYTES: usize = 1 << 20;

/// What a credential request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialTarget {
    /// `credential_configuration_id`: a key of the issuer metadata's
    /// `credential_configurations_supported`.
    ConfigurationId(String),
    /// `credential_identifier`: one the token response listed.
    Identifier(String),
}

/// A credential request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRequest {
    target: CredentialTarget,
    proofs: Vec<String>,
    wants_encryption: bool,
}

impl CredentialRequest {
    /// A request for `target` with these `jwt` proofs (one per credential).
    pub fn new(target: CredentialTarget, proofs: Vec<String>) -> Self {
        Self { target, proofs, wants_encryption: false }
    }

    /// What the request asks for.
    pub fn target(&self) -> &CredentialTarget {
        &self.target
    }

    /// The `jwt` proofs, one per credential asked for.
    pub fn proofs(&self) -> &[String] {
        &self.proofs
    }

    /// Whether the wallet asked for an encrypted response.
    pub fn wants_encryption(&self) -> bool {
        self.wants_encryption
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        let mut v = json!({"proofs": {"jwt": self.proofs}});
        match &self.target {
            CredentialTarget::ConfigurationId(id) => v["credential_configuration_id"] = json!(id),
            CredentialTarget::Identifier(id) => v["credential_identifier"] = json!(id),
        }
        to_json(&v)
    }

    /// Reads a credential request body of at most `max_bytes`, strictly
    /// (duplicate keys refused): exactly one of
    /// `credential_configuration_id` and `credential_identifier`, and
    /// `proofs` with one proof type, `jwt`, holding a non-empty array of
    /// strings. The draft-era singular `proof` is refused (OpenID4VCI 1.0
    /// has `proofs` only). Unknown members are ignored.
    pub fn from_json(body: &[u8], max_bytes: usize) -> Result<Self, Oid4vciError> {
        let bad = |reason: &str| Oid4vciError::InvalidCredentialRequest { reason: reason.to_owned() };
        let bad_proofs = |reason: &str| Oid4vciError::InvalidProof { proof: None, reason: reason.to_owned() };
        if body.len() > max_bytes {
            return Err(bad("the body is too large"));
        }
        let limits = Limits::default().with_max_json_depth(8);
        let m = parse_json_object(body, &limits, "credential request").map_err(|e| match e.check() {
            "malformed.json" => bad("the body is not one strict json object (syntax, or a duplicate key)"),
            _ => bad("the body exceeds a json limit"),
        })?;
        let target = match (m.get("credential_configuration_id"), m.get("credential_identifier")) {
            (Some(Value::String(id)), None) => CredentialTarget::ConfigurationId(id.clone()),
            (None, Some(Value::String(id))) => CredentialTarget::Identifier(id.clone()),
            (Some(_), Some(_)) => {
                return Err(bad("credential_configuration_id and credential_identifier are exclusive"))
            }
            (None, None) => return Err(bad("neither credential_configuration_id nor credential_identifier")),
            _ => return Err(bad("the credential identification is not a string")),
        };
        if m.contains_key("proof") {
            return Err(bad("the singular `proof` is not OpenID4VCI 1.0; send `proofs`"));
        }
        let proofs = match m.get("proofs") {
            None => return Err(bad_proofs("the request has no `proofs`")),
            Some(Value::Object(p)) if p.len() == 1 => match p.get("jwt") {
                Some(Value::Array(jwts)) if !jwts.is_empty() => jwts
                    .iter()
                    .map(|j| j.as_str().map(str::to_owned).ok_or_else(|| bad_proofs("a `jwt` proof is not a string")))
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err(bad_proofs("`proofs.jwt` must be a non-empty array")),
                None => return Err(bad_proofs("only the `jwt` proof type is supported")),
            },
            Some(_) => return Err(bad_proofs("`proofs` must be an object with exactly one proof type")),
        };
        Ok(Self { target, proofs, wants_encryption: m.contains_key("credential_response_encryption") })
    }
}

/// A credential response: one credential per accepted proof key, each
/// with its range secrets.
#[derive(Debug, Clone)]
pub struct CredentialResponse {
    credentials: Vec<IssuedCredential>,
}

impl CredentialResponse {
    pub(crate) fn new(credentials: Vec<IssuedCredential>) -> Self {
        Self { credentials }
    }

    /// The credentials, in the order of the request's proofs.
    pub fn credentials(&self) -> &[IssuedCredential] {
        &self.credentials
    }

    /// The JSON body (answer with `Cache-Control: no-store`). It holds
    /// every credential's salts and range seed: the buffer zeroizes on
    /// drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        let entries: Vec<Value> = self
            .credentials
            .iter()
            .map(|c| {
                let mut e = json!({"credential": c.expose_sd_jwt()});
                if let Some(r) = c.range_secrets() {
                    e[RANGE_SECRETS_MEMBER] = r.to_json();
                }
                e
            })
            .collect();
        Zeroizing::new(to_json(&json!({"credentials": entries})))
    }

    /// Reads a credential response: a non-empty `credentials` array whose
    /// entries are `{"credential": "<sd-jwt>"}`, with the range secrets
    /// when present. A deferred answer (`transaction_id`) is not
    /// supported. Nothing is verified here; see the wallet's
    /// `PendingCredentials::accept`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, WalletError> {
        let what = "the credential response";
        if bytes.len() > MAX_CREDENTIAL_RESPONSE_BYTES {
            return Err(WalletError::malformed(what, "too large"));
        }
        let limits = Limits::default().with_max_json_depth(8).with_max_string_bytes(64 * 1024);
        let m =
            parse_json_object(bytes, &limits, "credential response").map_err(|e| WalletError::malformed(what, e))?;
        if m.contains_key("transaction_id") {
            return Err(WalletError::Unsupported { reason: "deferred issuance (a transaction_id)" });
        }
        let entries = m
            .get("credentials")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| WalletError::malformed(what, "no non-empty `credentials` array"))?;
        let credentials = entries
            .iter()
            .map(|e| {
                let sd_jwt = e
                    .get("credential")
                    .and_then(Value::as_str)
                    .ok_or_else(|| WalletError::malformed(what, "an entry has no `credential` string"))?;
                let range = e
                    .get(RANGE_SECRETS_MEMBER)
                    .map(RangeSecrets::from_json)
                    .transpose()
                    .map_err(|err| WalletError::malformed(what, err))?;
                Ok(IssuedCredential::new(sd_jwt.to_owned(), range))
            })
            .collect::<Result<Vec<_>, WalletError>>()?;
        Ok(Self { credentials })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = CredentialRequest::new(CredentialTarget::ConfigurationId("c".into()), vec!["a.b.c".into()]);
        assert_eq!(CredentialRequest::from_json(r.to_json().as_bytes(), 4096).unwrap(), r);
        let code = |body: &str| CredentialRequest::from_json(body.as_bytes(), 4096).map_err(|e| e.code());
        assert_eq!(
            code(r#"{"credential_identifier":"x","proofs":{"jwt":["a"]}}"#).unwrap().target(),
            &CredentialTarget::Identifier("x".into())
        );
        for (body, want) in [
            (r#"{"proofs":{"jwt":["a"]}}"#, "invalid_credential_request"),
            (
                r#"{"credential_configuration_id":"c","credential_identifier":"x","proofs":{"jwt":["a"]}}"#,
                "invalid_credential_request",
            ),
            (r#"{"credential_configuration_id":1,"proofs":{"jwt":["a"]}}"#, "invalid_credential_request"),
            (
                r#"{"credential_configuration_id":"c","proof":{"proof_type":"jwt","jwt":"a"}}"#,
                "invalid_credential_request",
            ),
            (
                r#"{"credential_configuration_id":"c","credential_configuration_id":"c","proofs":{"jwt":["a"]}}"#,
                "invalid_credential_request",
            ),
            (r#"{"credential_configuration_id":"c""#, "invalid_credential_request"),
            (r#"[]"#, "invalid_credential_request"),
            (r#"{"credential_configuration_id":"c"}"#, "invalid_proof"),
            (r#"{"credential_configuration_id":"c","proofs":{"jwt":[]}}"#, "invalid_proof"),
            (r#"{"credential_configuration_id":"c","proofs":{"jwt":[1]}}"#, "invalid_proof"),
            (r#"{"credential_configuration_id":"c","proofs":{"di_vp":[{}]}}"#, "invalid_proof"),
            (r#"{"credential_configuration_id":"c","proofs":{"jwt":["a"],"attestation":["b"]}}"#, "invalid_proof"),
        ] {
            assert_eq!(code(body).unwrap_err(), want, "{body}");
        }
        assert!(code(
            r#"{"credential_configuration_id":"c","proofs":{"jwt":["a"]},"credential_response_encryption":{}}"#
        )
        .unwrap()
        .wants_encryption());
        assert_eq!(
            CredentialRequest::from_json(r.to_json().as_bytes(), 8).unwrap_err().code(),
            "invalid_credential_request"
        );
    }

    #[test]
    fn responses() {
        for bad in [
            r#"{"credentials":[]}"#,
            r#"{"transaction_id":"t","interval":5}"#,
            r#"{"credentials":[{"credential":1}]}"#,
            r#"{"credentials":[{"credential":"x","creditproof_range_secrets":{"seed":"short"}}]}"#,
        ] {
            assert!(CredentialResponse::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
        let ok =
            CredentialResponse::from_json(br#"{"credentials":[{"credential":"x~"}],"notification_id":"n"}"#).unwrap();
        assert_eq!(ok.credentials().len(), 1);
    }
}
