//! Errors of the OpenID4VP layer, one variant per reason, each with the
//! wire error code OpenID4VP 1.0 §8.5 (and RFC 6749) gives it, an HTTP
//! status, and a stable [`Oid4vpError::check`] name.
//!
//! The same type serves both directions: the verifier's endpoints answer
//! a wallet with one ([`Oid4vpError::to_json`]), and a wallet refusing a
//! request tells the verifier with one ([`Oid4vpError::to_form`], the
//! `direct_post` error response). A refusal never tells the verifier *why*
//! the holder did not answer ([`Oid4vpError::AccessDenied`] has one
//! description for "no credential", "the predicate is false" and "the
//! holder said no"), so a refusal leaks nothing about the score.

use std::fmt;

use serde_json::{json, Value};

use crate::error::Error;
use crate::protocol::form;
use crate::protocol::oid4vci::ErrorResponse;

/// Why an OpenID4VP step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Oid4vpError {
    /// `invalid_request`: a message is malformed, lacks or repeats a
    /// parameter, or has one this profile refuses.
    InvalidRequest {
        /// Why.
        reason: String,
    },
    /// `invalid_request`: the client identifier's prefix is not one this
    /// wallet supports (`redirect_uri:` and `x509_san_dns:`), or the
    /// identifier is malformed for its prefix.
    ClientIdPrefix {
        /// Why.
        reason: String,
    },
    /// `invalid_request`: the `client_id` of the link and of the request
    /// object differ (they must be identical, prefix included).
    ClientIdMismatch,
    /// `invalid_request`: an unsigned request uses a client identifier
    /// prefix that requires a signed request object (`x509_san_dns:`), or
    /// a signed one uses `redirect_uri:`, which cannot be signed.
    Signature {
        /// Why.
        reason: &'static str,
    },
    /// `invalid_request`: the `response_uri` is not acceptable (not
    /// `https` except to a loopback host; for `redirect_uri:` not the
    /// client identifier without its prefix; for `x509_san_dns:` not on
    /// the named host).
    ResponseUri {
        /// Why.
        reason: &'static str,
    },
    /// `invalid_request`: the request object does not echo the
    /// `wallet_nonce` the wallet sent.
    WalletNonce,
    /// `invalid_client`: the verifier's metadata is not acceptable.
    InvalidClient {
        /// Why.
        reason: String,
    },
    /// `vp_formats_not_supported`: the verifier accepts no `dc+sd-jwt`
    /// presentation this wallet can make.
    VpFormatsNotSupported {
        /// Why.
        reason: &'static str,
    },
    /// `access_denied`: the wallet did not answer — no credential matches,
    /// a requested predicate cannot be proven, or the holder declined.
    /// The cause stays with the holder; the wire gets a generic
    /// description.
    AccessDenied {
        /// Why, for the holder's eyes (a [`crate::Error`] from the
        /// wallet, such as `holder.off_grid`).
        cause: Option<Error>,
        /// Why, in words, for the holder.
        reason: String,
    },
    /// `invalid_request_uri_method`: `request_uri_method` is neither `get`
    /// nor `post`.
    InvalidRequestUriMethod,
    /// `invalid_transaction_data`: the request carries `transaction_data`,
    /// of which this wallet supports no type.
    InvalidTransactionData,
    /// `wallet_unavailable`: the wallet could not be reached or started.
    WalletUnavailable,
    /// `invalid_request` (verifier): no live transaction has this id or
    /// `state`.
    UnknownTransaction,
    /// `invalid_request` (verifier): the transaction has expired.
    Expired,
    /// `invalid_request` (verifier): the request object of this
    /// transaction was already served; a `request_uri` is used once.
    RequestAlreadyServed,
    /// `invalid_request` (verifier): the transaction already received its
    /// one response.
    AlreadyAnswered,
    /// `invalid_request` (verifier): the request asks for a range proof
    /// (Tier 2), the wallet did not announce creditproof's range
    /// predicates in its `wallet_metadata`, and the verifier set no Tier-1
    /// fallback.
    TierTwoNotAnnounced,
    /// `invalid_client`: the wallet could not authenticate the verifier of
    /// a signed (`x509_san_dns:`) request object; `failure` names the
    /// check.
    ClientAuthentication {
        /// Which check failed.
        failure: ClientAuthFailure,
    },
    /// A step this version does not implement. On the wire:
    /// `invalid_request`.
    Unsupported {
        /// What.
        reason: &'static str,
    },
    /// The other party answered with an error (its HTTP status and body).
    ErrorResponse {
        /// The HTTP status.
        status: u16,
        /// The error body.
        response: ErrorResponse,
    },
    /// `server_error` (500): the verifier's state store failed. The reason
    /// is for its logs; the wire gets a generic text.
    ServerError {
        /// What failed.
        reason: String,
    },
}

impl Oid4vpError {
    /// The wire error code.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidClient { .. } | Self::ClientAuthentication { .. } => "invalid_client",
            Self::VpFormatsNotSupported { .. } => "vp_formats_not_supported",
            Self::AccessDenied { .. } => "access_denied",
            Self::InvalidRequestUriMethod => "invalid_request_uri_method",
            Self::InvalidTransactionData => "invalid_transaction_data",
            Self::WalletUnavailable => "wallet_unavailable",
            Self::ServerError { .. } => "server_error",
            Self::ErrorResponse { response, .. } => &response.error,
            _ => "invalid_request",
        }
    }

    /// A stable name of the failed check, e.g. `"oid4vp.client_id_mismatch"`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "oid4vp.invalid_request",
            Self::ClientIdPrefix { .. } => "oid4vp.client_id_prefix",
            Self::ClientIdMismatch => "oid4vp.client_id_mismatch",
            Self::Signature { .. } => "oid4vp.request_signature",
            Self::ResponseUri { .. } => "oid4vp.response_uri",
            Self::WalletNonce => "oid4vp.wallet_nonce",
            Self::InvalidClient { .. } => "oid4vp.invalid_client",
            Self::VpFormatsNotSupported { .. } => "oid4vp.vp_formats_not_supported",
            Self::AccessDenied { .. } => "oid4vp.access_denied",
            Self::InvalidRequestUriMethod => "oid4vp.invalid_request_uri_method",
            Self::InvalidTransactionData => "oid4vp.invalid_transaction_data",
            Self::WalletUnavailable => "oid4vp.wallet_unavailable",
            Self::UnknownTransaction => "oid4vp.unknown_transaction",
            Self::Expired => "oid4vp.expired",
            Self::RequestAlreadyServed => "oid4vp.request_already_served",
            Self::AlreadyAnswered => "oid4vp.already_answered",
            Self::TierTwoNotAnnounced => "oid4vp.tier2_not_announced",
            Self::ClientAuthentication { failure } => failure.check(),
            Self::Unsupported { .. } => "oid4vp.unsupported",
            Self::ErrorResponse { .. } => "oid4vp.error_response",
            Self::ServerError { .. } => "oid4vp.server_error",
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::ServerError { .. } => 500,
            Self::ErrorResponse { status, .. } => *status,
            _ => 400,
        }
    }

    /// The `error_description`: ASCII without `"` and `\`, at most 200
    /// bytes. Generic for `access_denied` (why the holder did not answer is
    /// the holder's business) and `server_error` (internals stay in logs).
    pub fn description(&self) -> String {
        let text = match self {
            Self::AccessDenied { .. } => "the wallet did not present credentials for this request".to_owned(),
            Self::ServerError { .. } => "the verifier could not complete the request".to_owned(),
            _ => self.to_string(),
        };
        crate::protocol::error_description(&text)
    }

    /// The JSON error body: `{"error", "error_description"}`.
    pub fn to_json(&self) -> Value {
        json!({"error": self.code(), "error_description": self.description()})
    }

    /// The `direct_post` error response a wallet sends to the
    /// `response_uri`: `error=…&error_description=…[&state=…]`.
    pub fn to_form(&self, state: Option<&str>) -> String {
        let description = self.description();
        let mut fields = vec![("error", self.code()), ("error_description", description.as_str())];
        if let Some(s) = state {
            fields.push(("state", s));
        }
        form::encode_fields(&fields)
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidRequest { reason: reason.into() }
    }
}

impl fmt::Display for Oid4vpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest { reason } => write!(f, "invalid request: {reason}"),
            Self::ClientIdPrefix { reason } => write!(f, "client identifier not supported: {reason}"),
            Self::ClientIdMismatch => {
                f.write_str("the client_id of the link and of the request object differ (prefix included)")
            }
            Self::Signature { reason } => write!(f, "request signature: {reason}"),
            Self::ResponseUri { reason } => write!(f, "response_uri not acceptable: {reason}"),
            Self::WalletNonce => f.write_str("the request object does not echo the wallet_nonce the wallet sent"),
            Self::InvalidClient { reason } => write!(f, "verifier metadata not acceptable: {reason}"),
            Self::VpFormatsNotSupported { reason } => write!(f, "no supported presentation format: {reason}"),
            Self::AccessDenied { reason, .. } => write!(f, "the wallet did not answer: {reason}"),
            Self::InvalidRequestUriMethod => f.write_str("request_uri_method must be `get` or `post`"),
            Self::InvalidTransactionData => f.write_str("transaction_data is not supported by this wallet"),
            Self::WalletUnavailable => f.write_str("the wallet is unavailable"),
            Self::UnknownTransaction => f.write_str("no live transaction has this identifier"),
            Self::Expired => f.write_str("the transaction has expired"),
            Self::RequestAlreadyServed => f.write_str("this request_uri was already used; start a new transaction"),
            Self::AlreadyAnswered => f.write_str("the transaction already received its response"),
            Self::TierTwoNotAnnounced => f.write_str(
                "the request needs creditproof range proofs (creditproof_range_predicates in wallet_metadata), \
                 which this wallet did not announce",
            ),
            Self::ClientAuthentication { failure } => write!(f, "the verifier is not authenticated: {failure}"),
            Self::Unsupported { reason } => write!(f, "not supported: {reason}"),
            Self::ErrorResponse { status, response } => write!(f, "the other party answered {status}: {response}"),
            Self::ServerError { reason } => write!(f, "verifier failure: {reason}"),
        }
    }
}

/// Why a wallet could not authenticate the verifier of an `x509_san_dns:`
/// request object (OpenID4VP 1.0 §5.9.3), one variant per check, in the
/// order they run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthFailure {
    /// The wallet has no verifier trust anchors (or was built without
    /// the `x509` feature): it cannot authenticate any signed request.
    NoTrustAnchors,
    /// `x5c` is missing, empty, too long, not base64, or its first
    /// certificate is not a certificate.
    MalformedChain {
        /// Why.
        reason: &'static str,
    },
    /// The chain does not lead to a configured trust anchor (or a
    /// certificate is expired, not yet valid, not for server
    /// authentication, ...).
    UntrustedChain {
        /// The path validator's reason.
        reason: String,
    },
    /// The leaf certificate is not valid for the DNS name of the client
    /// identifier.
    DnsName,
    /// `alg` is not one the leaf's key can verify (ES256 for a P-256 key,
    /// EdDSA for an Ed25519 key).
    Algorithm,
    /// The signature does not verify with the leaf's key.
    BadSignature,
}

impl ClientAuthFailure {
    /// A stable name of the check, e.g. `"oid4vp.client_auth.chain"`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::NoTrustAnchors => "oid4vp.client_auth.no_trust_anchors",
            Self::MalformedChain { .. } => "oid4vp.client_auth.x5c",
            Self::UntrustedChain { .. } => "oid4vp.client_auth.chain",
            Self::DnsName => "oid4vp.client_auth.dns_name",
            Self::Algorithm => "oid4vp.client_auth.alg",
            Self::BadSignature => "oid4vp.client_auth.signature",
        }
    }
}

impl fmt::Display for ClientAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTrustAnchors => f.write_str(
                "no verifier trust anchors are configured, so an x509_san_dns: request cannot be checked \
                 (holder respond --verifier-trust <CA.pem>)",
            ),
            Self::MalformedChain { reason } => write!(f, "x5c: {reason}"),
            Self::UntrustedChain { reason } => {
                write!(f, "the certificate chain does not lead to a trusted verifier anchor: {reason}")
            }
            Self::DnsName => f.write_str("the leaf certificate is not valid for the client identifier's dns name"),
            Self::Algorithm => f.write_str("the request object's alg does not fit the leaf certificate's key"),
            Self::BadSignature => f.write_str("the request object's signature does not verify with the leaf's key"),
        }
    }
}

impl std::error::Error for Oid4vpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::AccessDenied { cause: Some(e), .. } => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HolderError;

    #[test]
    fn wire_forms_say_nothing_about_the_holder() {
        let e = Oid4vpError::AccessDenied {
            cause: Some(HolderError::PredicateNotSatisfied { predicate: "score>=650".into() }.into()),
            reason: "score>=650 does not hold".into(),
        };
        assert_eq!(e.code(), "access_denied");
        let form = e.to_form(Some("st-1"));
        assert!(form.starts_with("error=access_denied&error_description=") && form.ends_with("&state=st-1"));
        assert!(!form.contains("650") && !e.to_json().to_string().contains("650"));
        assert!(e.to_string().contains("650"), "the holder sees why");
        let s = Oid4vpError::ServerError { reason: "postgres: connection reset".into() };
        assert_eq!((s.status(), s.code()), (500, "server_error"));
        assert!(!s.to_json().to_string().contains("postgres"));
        assert_eq!(Oid4vpError::invalid("a \"b\" é").description(), "invalid request: a ?b? ?");
        assert_eq!(Oid4vpError::InvalidRequestUriMethod.code(), "invalid_request_uri_method");
        assert_eq!(Oid4vpError::TierTwoNotAnnounced.code(), "invalid_request");
    }
}
