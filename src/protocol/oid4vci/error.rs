//! Errors of the OpenID4VCI layer.
//!
//! The issuer's [`Oid4vciError`] has one variant per error code it puts on
//! the wire — RFC 6749 §5.2 at the token endpoint, RFC 6750 §3.1 for the
//! bearer token, OpenID4VCI §8.3.1.2 at the credential endpoint — and says
//! which HTTP status, JSON body and `WWW-Authenticate` value to answer with.
//! The wallet's [`WalletError`] says why the wallet stopped, including the
//! issuer's own error answers ([`ErrorResponse`]).

use std::fmt;

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::format::encoding::parse_json_object;
use crate::Limits;

/// Why a pre-authorized code was refused (`invalid_grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantProblem {
    /// No offer has this code.
    Unknown,
    /// The offer has expired.
    Expired,
    /// The code was already exchanged for an access token.
    Used,
    /// The transaction code is wrong; the code survives this many more
    /// wrong attempts.
    WrongTxCode {
        /// Wrong attempts left before the code is dead.
        attempts_left: u32,
    },
    /// Too many wrong transaction codes: the code is dead.
    Locked,
}

/// Why a bearer access token was refused (`invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenProblem {
    /// No `Authorization: Bearer` header (or another scheme). RFC 6750
    /// §3.1: the `WWW-Authenticate` challenge then carries no error code.
    Missing,
    /// The header's token is not a well-formed bearer token.
    Malformed,
    /// No grant has this token (never issued, or another issuer's).
    Unknown,
    /// The token has expired.
    Expired,
    /// The token was used for every batch it allows.
    Spent,
}

/// An error the issuer answers with, one variant per wire error code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Oid4vciError {
    /// `invalid_request` (400): a token request that is malformed, lacks a
    /// parameter, repeats one, or has a transaction code where none is
    /// expected or none where one is.
    InvalidRequest {
        /// Why.
        reason: &'static str,
    },
    /// `invalid_grant` (400): the pre-authorized code or transaction code.
    InvalidGrant(GrantProblem),
    /// `unsupported_grant_type` (400): only the pre-authorized code grant
    /// is supported.
    UnsupportedGrantType,
    /// `invalid_token` (401, with `WWW-Authenticate`): the bearer token of
    /// a credential request.
    InvalidToken(TokenProblem),
    /// `invalid_credential_request` (400): the credential request is
    /// malformed, repeats or lacks a parameter, or asks for more
    /// credentials than the batch size.
    InvalidCredentialRequest {
        /// Why.
        reason: String,
    },
    /// `unknown_credential_configuration` (400).
    UnknownCredentialConfiguration,
    /// `unknown_credential_identifier` (400): this issuer hands out no
    /// credential identifiers.
    UnknownCredentialIdentifier,
    /// `invalid_proof` (400): `proofs` is missing or of an unsupported
    /// type, or a proof fails a check (type, algorithm, key, signature,
    /// audience, `iat`, a missing `nonce`), or its key is used twice or was
    /// used before.
    InvalidProof {
        /// Which proof (0-based), when one proof is at fault.
        proof: Option<usize>,
        /// Which check.
        reason: String,
    },
    /// `invalid_nonce` (400): a proof's `nonce` is not a valid, fresh
    /// `c_nonce` of this issuer. The wallet fetches a new one and retries.
    InvalidNonce {
        /// Which proof (0-based).
        proof: usize,
    },
    /// `invalid_encryption_parameters` (400): the wallet asked for an
    /// encrypted response, which this issuer does not offer yet.
    InvalidEncryptionParameters,
    /// `credential_request_denied` (400): the request is well formed but
    /// will not be granted.
    CredentialRequestDenied {
        /// Why.
        reason: &'static str,
    },
    /// `server_error` (500): the issuer's state or signing failed. The
    /// reason is for the issuer's logs; the wire gets a generic text.
    ServerError {
        /// What failed.
        reason: String,
    },
}

impl Oid4vciError {
    /// The wire error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "invalid_request",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken(_) => "invalid_token",
            Self::InvalidCredentialRequest { .. } => "invalid_credential_request",
            Self::UnknownCredentialConfiguration => "unknown_credential_configuration",
            Self::UnknownCredentialIdentifier => "unknown_credential_identifier",
            Self::InvalidProof { .. } => "invalid_proof",
            Self::InvalidNonce { .. } => "invalid_nonce",
            Self::InvalidEncryptionParameters => "invalid_encryption_parameters",
            Self::CredentialRequestDenied { .. } => "credential_request_denied",
            Self::ServerError { .. } => "server_error",
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidToken(_) => 401,
            Self::ServerError { .. } => 500,
            _ => 400,
        }
    }

    /// The `error_description`: ASCII without `"` and `\` (the characters
    /// RFC 6749 §5.2 and OpenID4VCI allow), at most 200 bytes. It quotes
    /// at most a short fragment of the request (an unsupported `alg`).
    pub fn description(&self) -> String {
        let text = match self {
            Self::ServerError { .. } => "the issuer could not complete the request".to_owned(),
            _ => self.to_string(),
        };
        crate::protocol::error_description(&text)
    }

    /// The JSON error body: `{"error", "error_description"}`.
    pub fn to_json(&self) -> Value {
        json!({"error": self.code(), "error_description": self.description()})
    }

    /// The `WWW-Authenticate` value for a 401 (RFC 6750 §3): `Bearer` alone
    /// when the request carried no bearer token, otherwise with `error` and
    /// `error_description`. `None` for every other error.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::InvalidToken(TokenProblem::Missing) => Some("Bearer".to_owned()),
            Self::InvalidToken(_) => {
                Some(format!("Bearer error=\"invalid_token\", error_description=\"{}\"", self.description()))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Oid4vciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest { reason } => write!(f, "invalid token request: {reason}"),
            Self::InvalidGrant(p) => match p {
                GrantProblem::Unknown => f.write_str("unknown pre-authorized code"),
                GrantProblem::Expired => f.write_str("the pre-authorized code has expired"),
                GrantProblem::Used => f.write_str("the pre-authorized code was already used"),
                GrantProblem::WrongTxCode { attempts_left } => {
                    write!(f, "wrong transaction code; {attempts_left} more wrong attempt(s) end the offer")
                }
                GrantProblem::Locked => {
                    f.write_str("the pre-authorized code is dead after too many wrong transaction codes")
                }
            },
            Self::UnsupportedGrantType => f.write_str("only the pre-authorized code grant is supported"),
            Self::InvalidToken(p) => f.write_str(match p {
                TokenProblem::Missing => "the request carries no bearer access token",
                TokenProblem::Malformed => "the bearer access token is malformed",
                TokenProblem::Unknown => "unknown access token",
                TokenProblem::Expired => "the access token has expired",
                TokenProblem::Spent => "the access token was already used for its credentials",
            }),
            Self::InvalidCredentialRequest { reason } => write!(f, "invalid credential request: {reason}"),
            Self::UnknownCredentialConfiguration => f.write_str("unknown credential configuration"),
            Self::UnknownCredentialIdentifier => f.write_str("unknown credential identifier"),
            Self::InvalidProof { proof: Some(i), reason } => write!(f, "proof {i} is invalid: {reason}"),
            Self::InvalidProof { proof: None, reason } => write!(f, "invalid proofs: {reason}"),
            Self::InvalidNonce { proof } => {
                write!(f, "proof {proof} does not sign a valid, fresh c_nonce; fetch a new one")
            }
            Self::InvalidEncryptionParameters => f.write_str("encrypted credential responses are not supported"),
            Self::CredentialRequestDenied { reason } => write!(f, "credential request denied: {reason}"),
            Self::ServerError { reason } => write!(f, "issuer failure: {reason}"),
        }
    }
}

impl std::error::Error for Oid4vciError {}

/// An error answer from the issuer, as the wallet reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The error code (`invalid_grant`, `invalid_nonce`, ...).
    pub error: String,
    /// The `error_description`, if any.
    pub description: Option<String>,
}

impl ErrorResponse {
    /// Reads an error body; one that is not `{"error": "...", ...}` gives
    /// the code `"unparseable_error"` (the status still says it failed).
    pub fn from_json(bytes: &[u8]) -> Self {
        let limits = Limits::default().with_max_string_bytes(1024).with_max_json_depth(4);
        let text = |m: &Map<String, Value>, k: &str| {
            m.get(k).and_then(Value::as_str).map(|s| s.chars().take(200).collect::<String>())
        };
        match (bytes.len() <= 16 * 1024).then(|| parse_json_object(bytes, &limits, "error response")) {
            Some(Ok(m)) => Self {
                error: text(&m, "error").unwrap_or_else(|| "unparseable_error".into()),
                description: text(&m, "error_description"),
            },
            _ => Self { error: "unparseable_error".into(), description: None },
        }
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{} ({d})", self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// Why the wallet stopped. Nothing is stored in the wallet unless every
/// credential of a response passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalletError {
    /// A message from the issuer (or an offer) could not be read.
    Malformed {
        /// Which message.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A URL is not `https` (or `http` to a loopback host), or is not a
    /// well-formed URL of its kind.
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The metadata's `credential_issuer` is not, byte for byte, the
    /// offer's (OpenID4VCI §12.2.4: the metadata must not be used).
    IssuerMismatch,
    /// The authorization server metadata's `issuer` is not the identifier
    /// it was fetched for (RFC 8414 §3.3).
    AuthorizationServerMismatch,
    /// The offer or the issuer needs something this wallet does not do.
    Unsupported {
        /// What.
        reason: &'static str,
    },
    /// The offer requires a transaction code and none was given, or the
    /// other way round.
    TxCode {
        /// Which.
        reason: &'static str,
    },
    /// The issuer answered with an error.
    ErrorResponse {
        /// The HTTP status.
        status: u16,
        /// The error body.
        response: ErrorResponse,
    },
    /// A received credential is not acceptable (does not parse, does not
    /// verify against the issuer's keys, ...).
    Credential {
        /// Which credential of the response (0-based).
        index: usize,
        /// The check that failed.
        error: Error,
    },
    /// A received credential is not bound as it must be: to one of the
    /// keys just proven, each key once, with the offered type and issuer.
    Binding {
        /// Which credential of the response (0-based).
        index: usize,
        /// Why.
        reason: &'static str,
    },
}

impl WalletError {
    /// A stable name of the failed check, e.g. `"wallet.issuer_mismatch"`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "wallet.malformed",
            Self::InsecureUrl { .. } => "wallet.insecure_url",
            Self::IssuerMismatch => "wallet.issuer_mismatch",
            Self::AuthorizationServerMismatch => "wallet.authorization_server_mismatch",
            Self::Unsupported { .. } => "wallet.unsupported",
            Self::TxCode { .. } => "wallet.tx_code",
            Self::ErrorResponse { .. } => "wallet.error_response",
            Self::Credential { .. } => "wallet.credential",
            Self::Binding { .. } => "wallet.binding",
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl fmt::Display) -> Self {
        Self::Malformed { what, reason: reason.to_string() }
    }
}

impl fmt::Display for WalletError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { what, reason } => write!(f, "{what} is malformed: {reason}"),
            Self::InsecureUrl { what, reason } => write!(f, "{what}: {reason}"),
            Self::IssuerMismatch => f.write_str(
                "the issuer metadata's credential_issuer is not the offer's credential issuer; the metadata is discarded",
            ),
            Self::AuthorizationServerMismatch => {
                f.write_str("the authorization server metadata's issuer is not the server it was fetched for")
            }
            Self::Unsupported { reason } => write!(f, "not supported: {reason}"),
            Self::TxCode { reason } => write!(f, "transaction code: {reason}"),
            Self::ErrorResponse { status, response } => write!(f, "the issuer answered {status}: {response}"),
            Self::Credential { index, error } => write!(f, "credential {index} is not acceptable: {error}"),
            Self::Binding { index, reason } => write!(f, "credential {index} is not acceptable: {reason}"),
        }
    }
}

impl std::error::Error for WalletError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Credential { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        let e = Oid4vciError::InvalidToken(TokenProblem::Expired);
        assert_eq!(e.status(), 401);
        assert_eq!(
            e.www_authenticate().unwrap(),
            "Bearer error=\"invalid_token\", error_description=\"the access token has expired\""
        );
        assert_eq!(Oid4vciError::InvalidToken(TokenProblem::Missing).www_authenticate().unwrap(), "Bearer");
        assert_eq!(Oid4vciError::UnsupportedGrantType.www_authenticate(), None);
        let e = Oid4vciError::InvalidCredentialRequest { reason: "a \"quoted\" \\ é\n".into() };
        assert_eq!(e.description(), "invalid credential request: a ?quoted? ? ??");
        let s = Oid4vciError::ServerError { reason: "sqlite: disk I/O error at /var/lib/x".into() };
        assert_eq!(s.status(), 500);
        assert!(!s.to_json().to_string().contains("sqlite"), "internals stay in the logs");
        assert_eq!(ErrorResponse::from_json(b"{\"error\":\"invalid_nonce\"}").error, "invalid_nonce");
        assert_eq!(ErrorResponse::from_json(b"<html>").error, "unparseable_error");
        assert_eq!(ErrorResponse::from_json(br#"{"error":"a","error":"b"}"#).error, "unparseable_error");
    }
}
