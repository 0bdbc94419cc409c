//! The authorization response (`direct_post`, §8.2) and what the verifier
//! makes of it: the form the wallet POSTs to the `response_uri`, and the
//! [`Verdict`].
//!
//! `vp_token` is a JSON object keyed by credential query id; each value is
//! an array of presentations (one unless the query says `multiple`). The
//! verifier checks the token's shape against the query it served, every
//! presentation with [`crate::Verifier`] (integrity, holder binding to the
//! nonce and the **full** client identifier, status, the disclosures and
//! predicates the query asks for, range proofs included), and the query's
//! own constraints that [`crate::Verifier`] does not know (`vct_values`,
//! `values`): never trusting the wallet to have enforced any of them.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::format::encoding::parse_json_object;
use crate::format::trust::KeyProvider;
use crate::profile::status::StatusRef;
use crate::protocol::dcql::{Tier, MAX_CREDENTIAL_QUERIES};
use crate::protocol::form;
use crate::protocol::oid4vp::error::Oid4vpError;
use crate::protocol::oid4vp::metadata::is_url_safe;
use crate::verifier::{verdict_json, VerifiedPresentation, Verifier};
use crate::Limits;

/// The most bytes of a `direct_post` body.
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// The most presentations one credential query may be answered with
/// (when it allows `multiple`).
pub const MAX_PRESENTATIONS_PER_QUERY: usize = 8;

/// What the wallet POSTed to the `response_uri`.
#[derive(Clone, PartialEq, Eq)]
pub enum DirectPost {
    /// A response: `vp_token` (still unparsed: its checks belong to the
    /// transaction) and `state`.
    Response {
        /// The `vp_token` parameter, if present.
        vp_token: Option<Zeroizing<String>>,
        /// The `state` parameter.
        state: String,
    },
    /// An error response (§8.5): the wallet did not answer.
    Error {
        /// The error code.
        error: String,
        /// The description, if any.
        description: Option<String>,
        /// The `state` parameter.
        state: String,
    },
}

impl fmt::Debug for DirectPost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Presentations are personal data: their size only.
            Self::Response { vp_token, state } => f
                .debug_struct("Response")
                .field("vp_token_bytes", &vp_token.as_ref().map(|t| t.len()))
                .field("state", state)
                .finish(),
            Self::Error { error, description, state } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .field("state", state)
                .finish(),
        }
    }
}

impl DirectPost {
    /// Reads a `direct_post` body: strictly form-encoded, at most
    /// [`MAX_RESPONSE_BYTES`], each parameter once; `state` is required
    /// (every creditproof request has one); unknown parameters are ignored
    /// (§8.1).
    pub fn from_form(body: &[u8]) -> Result<Self, Oid4vpError> {
        let mut fields =
            form::parse(body, MAX_RESPONSE_BYTES, 32).map_err(|e| Oid4vpError::invalid(format!("response: {e}")))?;
        let state = match fields.remove("state") {
            Some(s) if is_url_safe(&s, 256) => s.as_str().to_owned(),
            Some(_) => return Err(Oid4vpError::invalid("state must be 1 to 256 url-safe characters")),
            None => return Err(Oid4vpError::invalid("the response has no state")),
        };
        match fields.remove("error") {
            Some(error) => {
                let clip = |s: &str| s.chars().take(200).collect::<String>();
                let description = fields.remove("error_description").map(|d| clip(&d));
                Ok(Self::Error { error: clip(&error), description, state })
            }
            None => Ok(Self::Response { vp_token: fields.remove("vp_token"), state }),
        }
    }

    /// The status lists the presentations of this response need, as
    /// `(issuer, status reference)` without repeats: of every presentation
    /// (at most [`MAX_PRESENTATIONS_PER_QUERY`] per credential query) whose
    /// issuer is trusted and whose issuer signature verifies
    /// ([`Verifier::credential_status`]). A service fetches these fresh
    /// before [`crate::oid4vp::Oid4vpVerifier::direct_post`]; what fails
    /// here is left for that call to reject.
    pub fn status_references<K: KeyProvider>(&self, verifier: &Verifier<K>) -> Vec<(String, StatusRef)> {
        self.references(|p| verifier.credential_status(p))
    }

    /// The status lists the presentations of this response *claim* to
    /// need ([`Verifier::credential_status_claimed`]: issuer signatures not
    /// checked). For a cache look only: when every one is held fresh, a
    /// service may skip [`DirectPost::status_references`] (and its second
    /// signature check); otherwise it must call that, and fetch only what
    /// it returns.
    pub fn claimed_status_references<K: KeyProvider>(&self, verifier: &Verifier<K>) -> Vec<(String, StatusRef)> {
        self.references(|p| verifier.credential_status_claimed(p))
    }

    fn references(
        &self,
        status_of: impl Fn(&str) -> Result<Option<(String, StatusRef)>, crate::Error>,
    ) -> Vec<(String, StatusRef)> {
        let Self::Response { vp_token: Some(token), .. } = self else { return Vec::new() };
        let limits = Limits::default().with_max_json_depth(3).with_max_string_bytes(MAX_RESPONSE_BYTES);
        let Ok(map) = parse_json_object(token.as_bytes(), &limits, "vp_token") else { return Vec::new() };
        let mut out: Vec<(String, StatusRef)> = Vec::new();
        let presentations = map
            .values()
            .take(MAX_CREDENTIAL_QUERIES)
            .filter_map(Value::as_array)
            .flat_map(|a| a.iter().take(MAX_PRESENTATIONS_PER_QUERY))
            .filter_map(Value::as_str);
        for p in presentations {
            if let Ok(Some(found)) = status_of(p) {
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
        out
    }

    /// The `state`.
    pub fn state(&self) -> &str {
        match self {
            Self::Response { state, .. } | Self::Error { state, .. } => state,
        }
    }
}

/// The body of a `direct_post` response: `vp_token=<JSON>[&state=…]`.
pub fn response_form(vp_token: &BTreeMap<String, Vec<String>>, state: Option<&str>) -> Zeroizing<String> {
    let token = Zeroizing::new(json!(vp_token).to_string());
    let mut fields = vec![("vp_token", token.as_str())];
    if let Some(s) = state {
        fields.push(("state", s));
    }
    Zeroizing::new(form::encode_fields(&fields))
}

/// What is wrong with a `vp_token` as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VpTokenProblem {
    /// The response has no `vp_token`.
    Missing,
    /// `vp_token` is not a JSON object (within the bounds).
    NotJson {
        /// The parser's reason.
        reason: String,
    },
    /// A key that is no credential query of the request.
    UnknownQuery {
        /// The key (truncated).
        id: String,
    },
    /// A required credential query is not answered.
    MissingQuery {
        /// The query id.
        id: String,
    },
    /// No option of a required credential set is answered in full.
    CredentialSet {
        /// The set's index.
        index: usize,
    },
    /// A value that is not an array (one presentation must still come in
    /// an array).
    NotAnArray {
        /// The query id.
        id: String,
    },
    /// An empty array.
    Empty {
        /// The query id.
        id: String,
    },
    /// More than one presentation where the query did not allow
    /// `multiple`, or more than [`MAX_PRESENTATIONS_PER_QUERY`].
    TooMany {
        /// The query id.
        id: String,
    },
    /// An array entry that is not a string (an SD-JWT presentation is
    /// one).
    NotAString {
        /// The query id.
        id: String,
    },
}

/// What a presentation fails of its credential query, beyond
/// [`crate::Verifier`]'s checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintProblem {
    /// The credential's `vct` is not one of `meta.vct_values`.
    VctValues,
    /// A disclosed claim's value is not one of its `values`.
    Values {
        /// The claim.
        claim: String,
    },
}

/// Why the verifier rejected a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The `vp_token` as a whole.
    VpToken(VpTokenProblem),
    /// A presentation failed one of [`crate::Verifier`]'s checks.
    Presentation {
        /// The credential query it answered.
        query_id: String,
        /// Its index in the array.
        index: usize,
        /// The failed check.
        error: Error,
    },
    /// A presentation verified but does not meet its credential query.
    Constraint {
        /// The credential query it answered.
        query_id: String,
        /// Its index in the array.
        index: usize,
        /// What it does not meet.
        problem: ConstraintProblem,
    },
    /// The wallet answered with an error response.
    Wallet {
        /// The error code it sent.
        error: String,
        /// Its description, if any.
        description: Option<String>,
    },
}

impl Rejection {
    /// The stable name of the failed check: a presentation's is the crate's
    /// own [`Error::check`] (`holder_binding.aud`, `predicate.missing_proof`,
    /// ...).
    pub fn check(&self) -> &'static str {
        match self {
            Self::VpToken(p) => match p {
                VpTokenProblem::Missing => "vp_token.missing",
                VpTokenProblem::NotJson { .. } => "vp_token.json",
                VpTokenProblem::UnknownQuery { .. } => "vp_token.unknown_query",
                VpTokenProblem::MissingQuery { .. } => "vp_token.missing_query",
                VpTokenProblem::CredentialSet { .. } => "vp_token.credential_set",
                VpTokenProblem::NotAnArray { .. } => "vp_token.not_an_array",
                VpTokenProblem::Empty { .. } => "vp_token.empty",
                VpTokenProblem::TooMany { .. } => "vp_token.too_many",
                VpTokenProblem::NotAString { .. } => "vp_token.not_a_string",
            },
            Self::Presentation { error, .. } => error.check(),
            Self::Constraint { problem: ConstraintProblem::VctValues, .. } => "dcql.vct_values",
            Self::Constraint { problem: ConstraintProblem::Values { .. }, .. } => "dcql.values",
            Self::Wallet { .. } => "oid4vp.wallet_error",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VpToken(p) => match p {
                VpTokenProblem::Missing => f.write_str("the response has no vp_token"),
                VpTokenProblem::NotJson { reason } => write!(f, "vp_token is not a json object: {reason}"),
                VpTokenProblem::UnknownQuery { id } => write!(f, "vp_token answers `{id}`, which was not asked"),
                VpTokenProblem::MissingQuery { id } => write!(f, "vp_token does not answer `{id}`"),
                VpTokenProblem::CredentialSet { index } => {
                    write!(f, "vp_token answers no option of required credential set {index}")
                }
                VpTokenProblem::NotAnArray { id } => write!(f, "vp_token's `{id}` is not an array"),
                VpTokenProblem::Empty { id } => write!(f, "vp_token's `{id}` is empty"),
                VpTokenProblem::TooMany { id } => write!(f, "vp_token's `{id}` has more presentations than asked"),
                VpTokenProblem::NotAString { id } => write!(f, "vp_token's `{id}` holds a non-string"),
            },
            Self::Presentation { query_id, index, error } => write!(f, "presentation {query_id}[{index}]: {error}"),
            Self::Constraint { query_id, index, problem } => match problem {
                ConstraintProblem::VctValues => {
                    write!(f, "presentation {query_id}[{index}]: the credential type is not one asked for")
                }
                ConstraintProblem::Values { claim } => {
                    write!(f, "presentation {query_id}[{index}]: `{claim}` has a value that was not asked for")
                }
            },
            Self::Wallet { error, description } => match description {
                Some(d) => write!(f, "the wallet answered {error}: {d}"),
                None => write!(f, "the wallet answered {error}"),
            },
        }
    }
}

/// What the verifier learned from an accepted response.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Which query was served (Tier 2, or Tier 1).
    pub tier: Tier,
    /// Per credential query id, the verified presentations, each with what
    /// was disclosed, what was proven, and its status reference.
    pub presentations: BTreeMap<String, Vec<VerifiedPresentation>>,
}

/// The end of a transaction.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Verdict {
    /// Every presentation verified and the query is met.
    Accepted(Accepted),
    /// The response was rejected; the first failed check.
    Rejected(Rejection),
    /// No response came before the transaction expired.
    Expired,
}

impl Verdict {
    /// Whether the verdict is an acceptance.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted(_))
    }

    /// The failed check of a rejection (`"expired"` for an expired
    /// transaction), `None` for an acceptance.
    pub fn check(&self) -> Option<&'static str> {
        match self {
            Self::Accepted(_) => None,
            Self::Rejected(r) => Some(r.check()),
            Self::Expired => Some("oid4vp.expired"),
        }
    }

    /// The verdict as JSON for the verifier's own frontend:
    /// `{"verdict": "accepted", "tier": 2, "presentations": {id: [<verdict
    /// of each, as crate::verdict_json writes it>]}}`, `{"verdict":
    /// "rejected", "check", "message"}` or `{"verdict": "expired"}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Accepted(a) => {
                let p: serde_json::Map<String, Value> = a
                    .presentations
                    .iter()
                    .map(|(id, ps)| (id.clone(), ps.iter().map(|v| verdict_json(&Ok(v.clone()))).collect()))
                    .collect();
                json!({"verdict": "accepted", "tier": if a.tier == Tier::Two { 2 } else { 1 }, "presentations": p})
            }
            Self::Rejected(r) => json!({"verdict": "rejected", "check": r.check(), "message": r.to_string()}),
            Self::Expired => json!({"verdict": "expired"}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_post_forms() {
        let token = BTreeMap::from([("credit".to_owned(), vec!["a~b~c".to_owned()])]);
        let body = response_form(&token, Some("st"));
        let DirectPost::Response { vp_token, state } = DirectPost::from_form(body.as_bytes()).unwrap() else {
            panic!("a response")
        };
        assert_eq!((vp_token.unwrap().as_str(), state.as_str()), (r#"{"credit":["a~b~c"]}"#, "st"));
        let e = DirectPost::from_form(b"error=access_denied&state=st&future=1").unwrap();
        assert!(matches!(e, DirectPost::Error { ref error, .. } if error == "access_denied"));
        assert_eq!(e.state(), "st");
        for bad in [&b"vp_token=%7B%7D"[..], b"vp_token=%7B%7D&state=a%20b", b"state=a&state=a", b"state"] {
            assert_eq!(DirectPost::from_form(bad).unwrap_err().code(), "invalid_request");
        }
        assert!(!format!("{:?}", DirectPost::from_form(body.as_bytes()).unwrap()).contains("a~b~c"));
    }
}
