//! Metadata: the credential issuer's (OpenID4VCI §12.2), served at
//! `/.well-known/openid-credential-issuer`, and its authorization server's
//! (RFC 8414), served at `/.well-known/oauth-authorization-server`.
//!
//! The issuer builds both from its configuration; the wallet reads them,
//! keeps what it uses and ignores unknown members (§12.2.4), and checks
//! what it relies on: the identifiers byte for byte, the URLs `https` (or
//! `http` to a loopback host), the format, the key binding and the proof
//! algorithms.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::format::encoding::parse_json_object;
use crate::format::sd_jwt::CREDENTIAL_TYP;
use crate::protocol::oid4vci::error::WalletError;
use crate::protocol::oid4vci::offer::PRE_AUTHORIZED_GRANT;
use crate::protocol::url::{self, UrlUse};
use crate::Limits;

/// The most bytes of a metadata document the wallet reads.
pub const MAX_METADATA_BYTES: usize = 256 * 1024;
/// The JWS algorithms creditproof signs and checks with, as metadata lists
/// them: `EdDSA` beside its fully-specified name `Ed25519` (RFC 9864), and
/// `ES256`. Clients look for the name they know.
pub const SIGNING_ALGS: [&str; 3] = ["EdDSA", "Ed25519", "ES256"];

/// One entry of `credential_configurations_supported`.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialConfiguration {
    format: String,
    vct: Option<String>,
    scope: Option<String>,
    binding_methods: Vec<String>,
    credential_signing_algs: Vec<String>,
    proof_signing_algs: Option<Vec<String>>,
    credential_metadata: Option<Value>,
}

impl CredentialConfiguration {
    /// A `dc+sd-jwt` configuration of type `vct`, bound to `jwk` keys
    /// proven with `jwt` proofs, with display and claims metadata.
    pub(crate) fn sd_jwt(vct: &str, scope: &str, credential_metadata: Value) -> Self {
        let algs: Vec<String> = SIGNING_ALGS.iter().map(|a| (*a).to_owned()).collect();
        Self {
            format: CREDENTIAL_TYP.to_owned(),
            vct: Some(vct.to_owned()),
            scope: Some(scope.to_owned()),
            binding_methods: vec!["jwk".to_owned()],
            credential_signing_algs: algs.clone(),
            proof_signing_algs: Some(algs),
            credential_metadata: Some(credential_metadata),
        }
    }

    /// The format (`dc+sd-jwt`).
    pub fn format(&self) -> &str {
        &self.format
    }

    /// The SD-JWT VC type.
    pub fn vct(&self) -> Option<&str> {
        self.vct.as_deref()
    }

    /// The `jwt` proof type's `proof_signing_alg_values_supported`, if the
    /// configuration requires `jwt` proofs.
    pub fn proof_signing_algs(&self) -> Option<&[String]> {
        self.proof_signing_algs.as_deref()
    }

    /// Whether credentials are bound to a key given as a JWK.
    pub fn binds_to_jwk(&self) -> bool {
        self.binding_methods.iter().any(|m| m == "jwk")
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"format": self.format});
        if let Some(vct) = &self.vct {
            v["vct"] = json!(vct);
        }
        if let Some(scope) = &self.scope {
            v["scope"] = json!(scope);
        }
        if !self.binding_methods.is_empty() {
            v["cryptographic_binding_methods_supported"] = json!(self.binding_methods);
        }
        if !self.credential_signing_algs.is_empty() {
            v["credential_signing_alg_values_supported"] = json!(self.credential_signing_algs);
        }
        if let Some(algs) = &self.proof_signing_algs {
            v["proof_types_supported"] = json!({"jwt": {"proof_signing_alg_values_supported": algs}});
        }
        if let Some(m) = &self.credential_metadata {
            v["credential_metadata"] = m.clone();
        }
        v
    }

    fn from_json(v: &Value) -> Result<Self, WalletError> {
        let bad = |reason: &str| WalletError::malformed("a credential configuration", reason);
        let m = v.as_object().ok_or_else(|| bad("must be an object"))?;
        let opt_str = |k: &str| match m.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad("a member that must be a string is not")),
        };
        let strings = |v: Option<&Value>| -> Result<Vec<String>, WalletError> {
            match v {
                None => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| bad("an array of strings holds a non-string")))
                    .collect(),
                Some(_) => Err(bad("a member that must be an array of strings is not")),
            }
        };
        let format = opt_str("format")?.ok_or_else(|| bad("no `format`"))?;
        let proof_signing_algs = match m.get("proof_types_supported") {
            None => None,
            Some(Value::Object(types)) => match types.get("jwt") {
                None => Some(Vec::new()),
                Some(jwt) => Some(strings(jwt.get("proof_signing_alg_values_supported"))?),
            },
            Some(_) => return Err(bad("`proof_types_supported` must be an object")),
        };
        Ok(Self {
            format,
            vct: opt_str("vct")?,
            scope: opt_str("scope")?,
            binding_methods: strings(m.get("cryptographic_binding_methods_supported"))?,
            credential_signing_algs: strings(m.get("credential_signing_alg_values_supported"))?,
            proof_signing_algs,
            credential_metadata: m.get("credential_metadata").cloned(),
        })
    }
}

/// Credential issuer metadata (OpenID4VCI §12.2.4).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialIssuerMetadata {
    credential_issuer: String,
    authorization_servers: Option<Vec<String>>,
    credential_endpoint: String,
    nonce_endpoint: Option<String>,
    batch_size: Option<usize>,
    display: Option<Value>,
    configurations: BTreeMap<String, CredentialConfiguration>,
}

impl CredentialIssuerMetadata {
    pub(crate) fn new(
        credential_issuer: &str,
        credential_endpoint: String,
        nonce_endpoint: String,
        batch_size: usize,
        display: Option<Value>,
        configurations: BTreeMap<String, CredentialConfiguration>,
    ) -> Self {
        Self {
            credential_issuer: credential_issuer.to_owned(),
            authorization_servers: None,
            credential_endpoint,
            nonce_endpoint: Some(nonce_endpoint),
            // §12.2.4: `batch_size` is 2 or more; a batch of one is no batch.
            batch_size: (batch_size >= 2).then_some(batch_size),
            display,
            configurations,
        }
    }

    /// The credential issuer identifier.
    pub fn credential_issuer(&self) -> &str {
        &self.credential_issuer
    }

    /// The authorization server the wallet asks for tokens: the first of
    /// `authorization_servers`, or the credential issuer itself.
    pub fn authorization_server(&self) -> &str {
        self.authorization_servers.as_ref().and_then(|a| a.first()).map_or(&self.credential_issuer, String::as_str)
    }

    /// The credential endpoint.
    pub fn credential_endpoint(&self) -> &str {
        &self.credential_endpoint
    }

    /// The nonce endpoint, if the issuer requires `c_nonce`s.
    pub fn nonce_endpoint(&self) -> Option<&str> {
        self.nonce_endpoint.as_deref()
    }

    /// The most proofs (and credentials) one credential request may carry:
    /// `batch_credential_issuance.batch_size`, or 1 without it.
    pub fn batch_size(&self) -> usize {
        self.batch_size.unwrap_or(1)
    }

    /// A supported configuration by id.
    pub fn configuration(&self, id: &str) -> Option<&CredentialConfiguration> {
        self.configurations.get(id)
    }

    /// The metadata document.
    pub fn to_json(&self) -> Value {
        let configurations: Map<String, Value> =
            self.configurations.iter().map(|(k, c)| (k.clone(), c.to_json())).collect();
        let mut v = json!({
            "credential_issuer": self.credential_issuer,
            "credential_endpoint": self.credential_endpoint,
            "credential_configurations_supported": configurations,
        });
        if let Some(a) = &self.authorization_servers {
            v["authorization_servers"] = json!(a);
        }
        if let Some(n) = &self.nonce_endpoint {
            v["nonce_endpoint"] = json!(n);
        }
        if let Some(b) = self.batch_size {
            v["batch_credential_issuance"] = json!({"batch_size": b});
        }
        if let Some(d) = &self.display {
            v["display"] = d.clone();
        }
        v
    }

    /// Reads a metadata document fetched for the credential issuer
    /// `expected_issuer` (the offer's `credential_issuer`): its
    /// `credential_issuer` must equal it byte for byte, and every endpoint
    /// and authorization server must be `https` (or `http` to a loopback
    /// host). Unknown members are ignored.
    pub fn from_json(bytes: &[u8], expected_issuer: &str) -> Result<Self, WalletError> {
        let m = read_document(bytes, "the credential issuer metadata")?;
        let bad = |reason: &str| WalletError::malformed("the credential issuer metadata", reason);
        let credential_issuer =
            m.get("credential_issuer").and_then(Value::as_str).ok_or_else(|| bad("no `credential_issuer` string"))?;
        if credential_issuer != expected_issuer {
            return Err(WalletError::IssuerMismatch);
        }
        checked_url(credential_issuer, UrlUse::Identifier, "the metadata's credential_issuer")?;
        let credential_endpoint = m
            .get("credential_endpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `credential_endpoint` string"))?;
        checked_url(credential_endpoint, UrlUse::Endpoint, "the credential_endpoint")?;
        let nonce_endpoint = match m.get("nonce_endpoint") {
            None => None,
            Some(Value::String(n)) => Some(checked_url(n, UrlUse::Endpoint, "the nonce_endpoint")?),
            Some(_) => return Err(bad("`nonce_endpoint` must be a string")),
        };
        let authorization_servers = match m.get("authorization_servers") {
            None => None,
            Some(Value::Array(a)) if !a.is_empty() => Some(
                a.iter()
                    .map(|s| {
                        let s = s.as_str().ok_or_else(|| bad("`authorization_servers` must hold strings"))?;
                        checked_url(s, UrlUse::Identifier, "an authorization server")
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(bad("`authorization_servers` must be a non-empty array")),
        };
        let batch_size = match m.get("batch_credential_issuance") {
            None => None,
            Some(b) => Some(
                b.get("batch_size")
                    .and_then(Value::as_u64)
                    .filter(|n| *n >= 2)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| bad("`batch_credential_issuance.batch_size` must be an integer of at least 2"))?,
            ),
        };
        let configurations = m
            .get("credential_configurations_supported")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no `credential_configurations_supported` object"))?
            .iter()
            .map(|(k, v)| Ok((k.clone(), CredentialConfiguration::from_json(v)?)))
            .collect::<Result<BTreeMap<_, _>, WalletError>>()?;
        Ok(Self {
            credential_issuer: credential_issuer.to_owned(),
            authorization_servers,
            credential_endpoint: credential_endpoint.to_owned(),
            nonce_endpoint,
            batch_size,
            display: m.get("display").cloned(),
            configurations,
        })
    }
}

/// OAuth 2.0 authorization server metadata (RFC 8414) of an issuer that
/// is its own authorization server and grants only pre-authorized codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationServerMetadata {
    issuer: String,
    token_endpoint: String,
    grant_types: Vec<String>,
    anonymous_access: bool,
}

impl AuthorizationServerMetadata {
    pub(crate) fn new(issuer: &str, token_endpoint: String) -> Self {
        Self {
            issuer: issuer.to_owned(),
            token_endpoint,
            grant_types: vec![PRE_AUTHORIZED_GRANT.to_owned()],
            anonymous_access: true,
        }
    }

    /// The authorization server's identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> &str {
        &self.token_endpoint
    }

    /// The metadata document. `response_types_supported` is left out, as
    /// OpenID4VCI §12.3 allows a server that grants only pre-authorized
    /// codes.
    pub fn to_json(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "token_endpoint": self.token_endpoint,
            "grant_types_supported": self.grant_types,
            "pre-authorized_grant_anonymous_access_supported": self.anonymous_access,
        })
    }

    /// Reads the metadata fetched for authorization server
    /// `expected_issuer`: `issuer` must equal it byte for byte, the token
    /// endpoint must be `https` (or `http` to a loopback host), and the
    /// server must grant pre-authorized codes to anonymous clients (this
    /// wallet sends no `client_id`). Unknown members are ignored.
    pub fn from_json(bytes: &[u8], expected_issuer: &str) -> Result<Self, WalletError> {
        let m = read_document(bytes, "the authorization server metadata")?;
        let bad = |reason: &str| WalletError::malformed("the authorization server metadata", reason);
        let issuer = m.get("issuer").and_then(Value::as_str).ok_or_else(|| bad("no `issuer` string"))?;
        if issuer != expected_issuer {
            return Err(WalletError::AuthorizationServerMismatch);
        }
        let token_endpoint =
            m.get("token_endpoint").and_then(Value::as_str).ok_or_else(|| bad("no `token_endpoint` string"))?;
        let token_endpoint = checked_url(token_endpoint, UrlUse::Endpoint, "the token_endpoint")?;
        // RFC 8414 §2: without `grant_types_supported` the server grants
        // `authorization_code` and `implicit` only.
        let grant_types: Vec<String> = match m.get("grant_types_supported") {
            None => Vec::new(),
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(_) => return Err(bad("`grant_types_supported` must be an array")),
        };
        if !grant_types.iter().any(|g| g == PRE_AUTHORIZED_GRANT) {
            return Err(WalletError::Unsupported { reason: "the authorization server grants no pre-authorized codes" });
        }
        let anonymous_access = m.get("pre-authorized_grant_anonymous_access_supported") == Some(&Value::Bool(true));
        if !anonymous_access {
            return Err(WalletError::Unsupported {
                reason: "the authorization server wants a client_id with pre-authorized codes",
            });
        }
        Ok(Self { issuer: issuer.to_owned(), token_endpoint, grant_types, anonymous_access })
    }
}

fn read_document(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, WalletError> {
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(WalletError::malformed(what, "too large"));
    }
    let limits = Limits::default().with_max_json_depth(12);
    parse_json_object(bytes, &limits, "metadata").map_err(|e| WalletError::malformed(what, e))
}

fn checked_url(s: &str, u: UrlUse, what: &'static str) -> Result<String, WalletError> {
    url::check(s, u).map_err(|reason| WalletError::InsecureUrl { what, reason })?;
    Ok(s.to_owned())
}

/// Where to fetch the credential issuer metadata of `credential_issuer`.
pub fn credential_issuer_metadata_url(credential_issuer: &str) -> Result<String, WalletError> {
    url::well_known(credential_issuer, "openid-credential-issuer")
        .map_err(|reason| WalletError::InsecureUrl { what: "the credential issuer identifier", reason })
}

/// Where to fetch the RFC 8414 metadata of authorization server `issuer`.
pub fn authorization_server_metadata_url(issuer: &str) -> Result<String, WalletError> {
    url::well_known(issuer, "oauth-authorization-server")
        .map_err(|reason| WalletError::InsecureUrl { what: "the authorization server identifier", reason })
}

/// Where to fetch the SD-JWT VC issuer metadata (`{issuer, jwks}`, read
/// with [`crate::TrustStore::add_metadata`]) of credential issuer `iss`.
pub fn jwt_vc_issuer_metadata_url(iss: &str) -> Result<String, WalletError> {
    url::well_known(iss, "jwt-vc-issuer")
        .map_err(|reason| WalletError::InsecureUrl { what: "the credential issuer identifier", reason })
}
