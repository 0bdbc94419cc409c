//! X.509 for `x509_san_dns:` client identifiers (OpenID4VP 1.0 §5.9.3;
//! feature `x509`): the verifier signs its request objects with a key and
//! a certificate chain ([`RequestSigner`]); the wallet checks them against
//! its verifier trust anchors ([`VerifierTrust`]).
//!
//! * **Verifier**: a PKCS#8 key (P-256 → `ES256`, Ed25519 → `EdDSA`) and a
//!   PEM chain, leaf first. The key must be the leaf's; the leaf must have
//!   a DNS SAN, and its first one is the identifier:
//!   `x509_san_dns:<name>`. Request objects carry `typ:
//!   oauth-authz-req+jwt` and `x5c` (standard base64 DER, leaf first).
//! * **Wallet**: `x5c` present and well-formed; the chain leads to a
//!   configured anchor at `now` (webpki path validation, ECDSA P-256/P-384
//!   and Ed25519 signatures, an `extKeyUsage`, when present, allowing
//!   server authentication); the leaf is valid for the identifier's DNS
//!   name; `alg` fits the leaf's key and the signature verifies with it.
//!   That the `response_uri` is on the named host is checked with the
//!   request's other parameters ([`crate::oid4vp::ClientId::check_response_uri`]).
//!   Each failure is an [`Oid4vpError::ClientAuthentication`] naming its
//!   check ([`ClientAuthFailure`]).
//!
//! rustls-webpki and rustls-pki-types are the crates rustls itself uses:
//! already in the tree, on `ring` like the rest of the crate.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, TrustAnchor};
use serde_json::{Map, Value};
use webpki::{EndEntityCert, KeyUsage};

use crate::format::encoding::{b64_encode, to_json};
use crate::format::time::UnixTime;
use crate::protocol::oid4vp::client_id::ClientId;
use crate::protocol::oid4vp::error::{ClientAuthFailure, Oid4vpError};

/// The most certificates in an `x5c` chain.
pub const MAX_CHAIN_CERTS: usize = 5;
/// The most bytes of one certificate (DER).
pub const MAX_CERT_BYTES: usize = 8 * 1024;

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` before the 65-byte
/// uncompressed point (id-ecPublicKey, prime256v1).
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` before the 32-byte
/// key (id-Ed25519).
const ED25519_SPKI_PREFIX: &[u8] = &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// The signature algorithms a chain may use.
static CHAIN_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
];

/// Why a key, a certificate chain or a trust anchor could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum X509Error {
    /// The PEM text holds no usable section of the kind needed.
    Pem {
        /// What was expected.
        what: &'static str,
    },
    /// The key is not a PKCS#8 P-256 or Ed25519 private key.
    Key,
    /// A certificate could not be parsed.
    Certificate {
        /// Why.
        reason: String,
    },
    /// The chain has more than [`MAX_CHAIN_CERTS`] certificates.
    ChainTooLong,
    /// The leaf certificate has no DNS name in its subjectAltName.
    NoDnsSan,
    /// The leaf's first DNS SAN is not a DNS name an `x509_san_dns:`
    /// identifier can hold (a wildcard, say).
    BadDnsSan {
        /// The name.
        name: String,
    },
    /// The private key is not the leaf certificate's key (or the leaf's
    /// key is neither P-256 nor Ed25519).
    KeyMismatch,
}

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem { what } => write!(f, "no {what} in the PEM text"),
            Self::Key => f.write_str("the key is not a PKCS#8 P-256 or Ed25519 private key"),
            Self::Certificate { reason } => write!(f, "a certificate could not be read: {reason}"),
            Self::ChainTooLong => write!(f, "the chain has more than {MAX_CHAIN_CERTS} certificates"),
            Self::NoDnsSan => f.write_str("the leaf certificate has no DNS subjectAltName"),
            Self::BadDnsSan { name } => write!(f, "the leaf's DNS subjectAltName `{name}` cannot be a client id"),
            Self::KeyMismatch => f.write_str("the signing key is not the leaf certificate's key"),
        }
    }
}

impl std::error::Error for X509Error {}

enum SignerKey {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// A verifier's request-signing key with its certificate chain: the
/// `x509_san_dns:` client identifier and signed request objects.
pub struct RequestSigner {
    key: SignerKey,
    x5c: Vec<String>,
    client_id: ClientId,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("client_id", &self.client_id.as_str())
            .field("alg", &self.alg())
            .field("chain_len", &self.x5c.len())
            .finish_non_exhaustive()
    }
}

/// The public key an SPKI holds, if P-256 or Ed25519.
enum SpkiKey<'a> {
    P256(&'a [u8]),
    Ed25519(&'a [u8]),
}

fn spki_key(spki: &[u8]) -> Option<SpkiKey<'_>> {
    if let Some(point) = spki.strip_prefix(P256_SPKI_PREFIX).filter(|p| p.len() == 65) {
        Some(SpkiKey::P256(point))
    } else {
        spki.strip_prefix(ED25519_SPKI_PREFIX).filter(|k| k.len() == 32).map(SpkiKey::Ed25519)
    }
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, X509Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| X509Error::Certificate { reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(X509Error::Pem { what: "CERTIFICATE" });
    }
    Ok(certs)
}

/// A key that does not load as the leaf's kind: a mismatch if it is a
/// key of the other kind, else not a usable key.
fn other_kind(is_other_kind: bool) -> X509Error {
    if is_other_kind {
        X509Error::KeyMismatch
    } else {
        X509Error::Key
    }
}

impl RequestSigner {
    /// Loads a PKCS#8 private key (PEM `PRIVATE KEY`) and a certificate
    /// chain (PEM, leaf first, at most [`MAX_CHAIN_CERTS`]). Refused: a key
    /// that is not the leaf's, a leaf without a DNS SAN.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<Self, X509Error> {
        let key_der =
            PrivatePkcs8KeyDer::from_pem_slice(key_pem).map_err(|_| X509Error::Pem { what: "PRIVATE KEY" })?;
        let chain = certificates(chain_pem)?;
        if chain.len() > MAX_CHAIN_CERTS {
            return Err(X509Error::ChainTooLong);
        }
        let leaf = EndEntityCert::try_from(&chain[0]).map_err(|e| X509Error::Certificate { reason: e.to_string() })?;
        let name = leaf.valid_dns_names().next().ok_or(X509Error::NoDnsSan)?;
        let client_id = ClientId::x509_san_dns(name).map_err(|_| X509Error::BadDnsSan { name: name.to_owned() })?;
        let spki = leaf.subject_public_key_info();
        let secret = key_der.secret_pkcs8_der();
        let key = match spki_key(spki.as_ref()).ok_or(X509Error::KeyMismatch)? {
            SpkiKey::P256(point) => {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, secret, &SystemRandom::new())
                        .map_err(|_| other_kind(Ed25519KeyPair::from_pkcs8_maybe_unchecked(secret).is_ok()))?;
                if pair.public_key().as_ref() != point {
                    return Err(X509Error::KeyMismatch);
                }
                SignerKey::Es256(pair)
            }
            SpkiKey::Ed25519(public) => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(secret).map_err(|_| {
                    other_kind(
                        EcdsaKeyPair::from_pkcs8(
                            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                            secret,
                            &SystemRandom::new(),
                        )
                        .is_ok(),
                    )
                })?;
                if pair.public_key().as_ref() != public {
                    return Err(X509Error::KeyMismatch);
                }
                SignerKey::EdDsa(pair)
            }
        };
        let x5c = chain.iter().map(|c| STANDARD.encode(c.as_ref())).collect();
        Ok(Self { key, x5c, client_id })
    }

    /// `x509_san_dns:<the leaf's first DNS SAN>`.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The JWS `alg`: `ES256` or `EdDSA`.
    pub fn alg(&self) -> &'static str {
        match self.key {
            SignerKey::Es256(_) => "ES256",
            SignerKey::EdDsa(_) => "EdDSA",
        }
    }

    /// A compact JWS of `claims` with `alg`, `typ` and `x5c` in its header.
    pub(crate) fn sign(&self, typ: &str, claims: &Value) -> Result<String, Oid4vpError> {
        let header = serde_json::json!({"alg": self.alg(), "typ": typ, "x5c": self.x5c});
        let input = format!("{}.{}", b64_encode(to_json(&header)), b64_encode(to_json(claims)));
        let sig = match &self.key {
            SignerKey::Es256(pair) => pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .map_err(|_| Oid4vpError::ServerError { reason: "signing the request object failed".into() })?
                .as_ref()
                .to_vec(),
            SignerKey::EdDsa(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!("{input}.{}", b64_encode(sig)))
    }
}

/// A wallet's verifier trust anchors: the roots an `x509_san_dns:`
/// request's chain must lead to.
#[derive(Debug, Clone, Default)]
pub struct VerifierTrust {
    anchors: Vec<TrustAnchor<'static>>,
}

impl VerifierTrust {
    /// No anchors: every `x509_san_dns:` request is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every certificate of `pem` as a trust anchor; how many.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, X509Error> {
        let certs = certificates(pem)?;
        for c in &certs {
            let anchor =
                webpki::anchor_from_trusted_cert(c).map_err(|e| X509Error::Certificate { reason: e.to_string() })?;
            self.anchors.push(anchor.to_owned());
        }
        Ok(certs.len())
    }

    /// Whether no anchor is configured.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Authenticates a signed request object of `client_id` (an
    /// `x509_san_dns:` identifier): `header` its JOSE header,
    /// `signing_input` the `header.payload` text, `signature` the decoded
    /// signature.
    pub(crate) fn authenticate(
        &self,
        client_id: &ClientId,
        header: &Map<String, Value>,
        signing_input: &[u8],
        signature: &[u8],
        now: UnixTime,
    ) -> Result<(), ClientAuthFailure> {
        let malformed = |reason| ClientAuthFailure::MalformedChain { reason };
        if self.anchors.is_empty() {
            return Err(ClientAuthFailure::NoTrustAnchors);
        }
        let x5c = header.get("x5c").and_then(Value::as_array).ok_or(malformed("missing"))?;
        if x5c.is_empty() || x5c.len() > MAX_CHAIN_CERTS {
            return Err(malformed("empty, or more certificates than accepted"));
        }
        let mut chain = Vec::with_capacity(x5c.len());
        for c in x5c {
            let text = c.as_str().ok_or(malformed("an entry is not a string"))?;
            if text.len() > MAX_CERT_BYTES * 4 / 3 + 4 {
                return Err(malformed("a certificate is too large"));
            }
            chain.push(CertificateDer::from(STANDARD.decode(text).map_err(|_| malformed("not standard base64"))?));
        }
        let leaf = EndEntityCert::try_from(&chain[0]).map_err(|_| malformed("the leaf is not a certificate"))?;
        let time = rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs()));
        leaf.verify_for_usage(CHAIN_ALGS, &self.anchors, &chain[1..], time, KeyUsage::server_auth(), None, None)
            .map_err(|e| ClientAuthFailure::UntrustedChain { reason: e.to_string() })?;
        let name = ServerName::try_from(client_id.original()).map_err(|_| ClientAuthFailure::DnsName)?;
        leaf.verify_is_valid_for_subject_name(&name).map_err(|_| ClientAuthFailure::DnsName)?;
        let spki = leaf.subject_public_key_info();
        let (alg, key): (&dyn signature::VerificationAlgorithm, &[u8]) =
            match (header.get("alg").and_then(Value::as_str), spki_key(spki.as_ref())) {
                (Some("ES256"), Some(SpkiKey::P256(point))) => (&signature::ECDSA_P256_SHA256_FIXED, point),
                (Some("EdDSA" | "Ed25519"), Some(SpkiKey::Ed25519(k))) => (&signature::ED25519, k),
                _ => return Err(ClientAuthFailure::Algorithm),
            };
        UnparsedPublicKey::new(alg, key).verify(signing_input, signature).map_err(|_| ClientAuthFailure::BadSignature)
    }
}

#[cfg(test)]
mod tests;
