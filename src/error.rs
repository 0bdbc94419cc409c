//! Errors: one top-level [`Error`] with a sub-enum per category of check.
//!
//! Every failed check has its own variant, and [`Error::check`] gives it a
//! stable dotted name (`"holder_binding.nonce"`, `"time.expired"`, ...) that
//! verdicts, test vectors and the CLI print. Messages are lowercase sentences.
//! A failed range proof never says where the hidden value lies.

use std::fmt;

/// Everything that can go wrong in creditproof.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Untrusted input exceeded a [`crate::Limits`] bound.
    Limit(LimitError),
    /// Input could not be split, decoded or parsed.
    Malformed(MalformedError),
    /// A JOSE header was not acceptable.
    Header(HeaderError),
    /// The issuer or its key is not in the trust store.
    Trust(TrustError),
    /// A signature did not verify.
    Signature(SignatureError),
    /// A validity window check failed.
    Time(TimeError),
    /// A selective disclosure check failed (RFC 9901 §7.1).
    Disclosure(DisclosureError),
    /// The Key Binding JWT did not bind this presentation to this request.
    HolderBinding(HolderBindingError),
    /// A requested predicate could not be established.
    Predicate(PredicateError),
    /// The issuer refused to issue.
    Issuance(IssuanceError),
    /// The holder's wallet refused to answer (nothing was sent).
    Holder(HolderError),
    /// A policy, records or dispute file was invalid, or scoring failed.
    Policy(crate::profile::policy::PolicyError),
    /// The credential's status could not be established as valid.
    Status(StatusError),
    /// A status list's `lst` could not be decoded within the limits.
    StatusList(crate::format::status_list::StatusListError),
    /// A threshold grid was not acceptable.
    Grid(GridError),
    /// The credential is not one the request accepts (its issuers or
    /// credential types).
    Request(RequestError),
}

/// The presented credential is not one the verifier's request accepts.
/// Checked by the verifier even when its trust store trusts the issuer: a
/// request that names issuers or types accepts only those.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The credential's issuer is not among the request's `issuers`.
    IssuerNotAccepted,
    /// The credential's type (`vct`) is not among the request's `vct_values`.
    VctNotAccepted,
    /// The verifier pins policy versions and the credential was scored
    /// under another one.
    PolicyNotAccepted,
    /// The verifier pins policy versions and the `policy` claim was not
    /// disclosed.
    PolicyNotDisclosed,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::IssuerNotAccepted => "the credential's issuer is not one the request accepts",
            Self::VctNotAccepted => "the credential's type (vct) is not one the request accepts",
            Self::PolicyNotAccepted => "the credential was scored under a policy version the verifier does not accept",
            Self::PolicyNotDisclosed => {
                "the verifier accepts only some policy versions, and the policy was not disclosed"
            }
        })
    }
}

/// A threshold grid ([`crate::Grid`]) that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GridError {
    /// The scale is empty: `min` is not below `max`.
    EmptyScale,
    /// More thresholds than a grid may have.
    TooManyThresholds {
        /// The limit.
        limit: usize,
    },
    /// The thresholds are not strictly increasing.
    NotIncreasing,
    /// A threshold is not inside the scale (`min < t <= max`).
    OutsideScale {
        /// The threshold.
        threshold: u64,
    },
    /// The step is zero.
    ZeroStep,
    /// The grid's scale does not fit the committed attribute.
    ScaleMismatch {
        /// Why.
        reason: &'static str,
    },
    /// A grid in a file was not a `{min, max, thresholds}` object.
    Malformed,
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyScale => f.write_str("the grid's scale is empty (min is not below max)"),
            Self::TooManyThresholds { limit } => write!(f, "the grid has more than {limit} thresholds"),
            Self::NotIncreasing => f.write_str("the grid's thresholds are not strictly increasing"),
            Self::OutsideScale { threshold } => {
                write!(f, "grid threshold {threshold} is not inside the scale (min < t <= max)")
            }
            Self::ZeroStep => f.write_str("the grid step is zero"),
            Self::ScaleMismatch { reason } => write!(f, "the grid does not fit the committed attribute: {reason}"),
            Self::Malformed => f.write_str("a grid is an object {min, max, thresholds} of integers"),
        }
    }
}

/// The credential's status is not "valid" according to its issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusError {
    /// The credential has a status, but the verifier supplied no list.
    NoList,
    /// The credential carries no status, and the verifier requires one
    /// (see `VerifierOptions::allow_missing_status`).
    Missing,
    /// No supplied list has the credential's `uri` as its `sub`.
    UriMismatch,
    /// The list for this `uri` was signed by another issuer.
    WrongIssuer,
    /// A status list token fetched from a `uri` names another list as its
    /// `sub`.
    SubjectMismatch,
    /// The list's issuer or key is not in the trust store.
    UntrustedList,
    /// The list's signature does not verify.
    ListSignature,
    /// The list has expired.
    ListExpired,
    /// The list's `iat` lies beyond the clock skew in the future.
    FutureIat,
    /// The list is older than its `ttl` (or the verifier's maximum age)
    /// allows: a fresher one must be fetched.
    Stale,
    /// The credential's index is outside the list.
    IndexOutOfRange,
    /// The credential has been revoked.
    Revoked,
    /// The credential is suspended.
    Suspended,
    /// The entry holds a status value this profile does not define.
    UnknownStatus,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoList => "the credential has a status but no status list was supplied",
            Self::Missing => {
                "the credential carries no status, so it cannot be revoked, and this verifier requires one"
            }
            Self::UriMismatch => "no supplied status list is for the credential's uri",
            Self::WrongIssuer => "the status list was signed by another issuer",
            Self::SubjectMismatch => "the status list token's sub is not the uri it was fetched from",
            Self::UntrustedList => "the status list's issuer key is not trusted",
            Self::ListSignature => "the status list signature does not verify",
            Self::ListExpired => "the status list has expired",
            Self::FutureIat => "the status list was issued in the future, beyond the allowed clock skew",
            Self::Stale => "the status list is older than its ttl allows; fetch a fresh one",
            Self::IndexOutOfRange => "the status index is outside the list",
            Self::Revoked => "the credential has been revoked",
            Self::Suspended => "the credential is suspended",
            Self::UnknownStatus => "the status entry has an undefined value",
        })
    }
}

/// A bound from [`crate::Limits`] was exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitError {
    /// The input is larger than the limit.
    InputTooLarge {
        /// What was being read.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// More disclosures than allowed.
    TooManyDisclosures {
        /// The limit.
        limit: usize,
    },
    /// JSON nested deeper than allowed.
    JsonTooDeep {
        /// The limit.
        limit: usize,
    },
    /// A JSON string longer than allowed.
    StringTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// More predicates or range proofs than allowed.
    TooManyPredicates {
        /// The limit.
        limit: usize,
    },
}

/// Input that could not be split, decoded or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedError {
    /// Not valid (strict, unpadded, canonical) base64url.
    Base64 {
        /// Which part.
        what: &'static str,
    },
    /// Not valid UTF-8.
    Utf8 {
        /// Which part.
        what: &'static str,
    },
    /// Not valid JSON, or JSON with duplicate object keys.
    Json {
        /// Which part.
        what: &'static str,
        /// The parser's reason.
        reason: String,
    },
    /// A compact JWS did not have exactly three non-empty parts.
    JwsStructure {
        /// Which token.
        what: &'static str,
    },
    /// The SD-JWT could not be split into `jwt~disclosures~kb`.
    SdJwtStructure,
    /// A required claim is missing or has the wrong type.
    Claim {
        /// The claim.
        name: &'static str,
    },
    /// A key (JWK) was not a valid Ed25519 public key.
    Jwk,
    /// A request was malformed.
    Request {
        /// Why.
        reason: String,
    },
    /// A predicate expression could not be parsed.
    Predicate {
        /// The expression.
        expr: String,
    },
}

/// A JOSE header that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// `alg` is not one of `EdDSA`, `Ed25519`, `ES256` (this covers `none`,
    /// HMAC and case variants).
    UnsupportedAlg {
        /// The `alg` value seen (truncated).
        alg: String,
    },
    /// `typ` is not the one expected for this token.
    WrongTyp {
        /// Expected value.
        expected: String,
    },
    /// A header parameter we refuse (`crit`, `jwk`, `x5u`, `x5c`, `jku`).
    Forbidden {
        /// The parameter.
        name: &'static str,
    },
    /// `kid` missing or not a string.
    MissingKid,
    /// A token that must carry its own signing key (an OpenID4VCI proof
    /// JWT) does not name exactly one usable public key in its header.
    EmbeddedKey {
        /// Why.
        reason: &'static str,
    },
}

/// The issuer is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustError {
    /// No key of this issuer is trusted.
    UnknownIssuer,
    /// The issuer is known but this `kid` is not.
    UnknownKid,
}

/// A signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The issuer's signature over the credential.
    Issuer,
    /// A signature over a token that is not a credential (e.g. a breakdown).
    Token,
}

/// A validity window check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// `exp` is in the past (beyond the allowed skew).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the allowed skew).
    NotYetValid,
}

/// A selective disclosure check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisclosureError {
    /// `_sd_alg` names a hash we do not know.
    UnsupportedHashAlg,
    /// `_sd` is present but not an array of strings.
    SdNotArray,
    /// A digest occurs more than once in the credential.
    DuplicateDigest,
    /// A disclosure's digest is not referenced by the credential.
    Unreferenced,
    /// The same disclosure appears twice.
    Duplicate,
    /// A disclosure names `_sd` or `...`.
    ReservedName,
    /// A disclosed name already exists at its level of the payload.
    NameExists,
    /// A disclosure is not a `[salt, name, value]` array of the right shape
    /// for where it is referenced.
    Shape,
    /// The verifier asked for a claim the presentation does not disclose.
    Missing {
        /// The claim.
        name: String,
    },
}

/// The Key Binding JWT does not bind the presentation to this request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HolderBindingError {
    /// The credential has no usable `cnf.jwk`.
    NoConfirmationKey,
    /// The presentation has no KB-JWT.
    MissingKbJwt,
    /// The KB-JWT signature does not verify under `cnf.jwk`.
    Signature,
    /// `nonce` differs from the request's.
    Nonce,
    /// `aud` differs from the request's.
    Audience,
    /// `iat` is older than the allowed age.
    Stale,
    /// `iat` is in the future.
    IssuedInFuture,
    /// `sd_hash` does not match the presented SD-JWT.
    SdHash,
    /// A KB-JWT was presented where none was asked for (generic mode
    /// without a nonce and audience).
    Unexpected,
}

/// A requested predicate could not be established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PredicateError {
    /// The presentation carries no proof for a requested predicate.
    MissingProof {
        /// The predicate, as written in the request.
        predicate: String,
    },
    /// The credential has no commitment for the predicate's attribute.
    NoCommitment {
        /// The attribute.
        attribute: String,
    },
    /// A proof was present but did not verify. Says nothing about the value.
    ProofInvalid {
        /// The predicate, as written in the request.
        predicate: String,
    },
    /// This kind of predicate is not supported.
    Unsupported {
        /// The predicate.
        predicate: String,
    },
}

/// The issuer refused to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuanceError {
    /// The holder key is a small-order (weak) Ed25519 point.
    WeakHolderKey,
    /// A claim name is reserved or invalid.
    ReservedClaim {
        /// The name.
        name: String,
    },
    /// More claims than the fixed `_sd` size can hold.
    TooManyClaims {
        /// The limit.
        limit: usize,
    },
    /// The issuer identifier is not an absolute URI.
    InvalidIssuerId,
    /// More keys than the issuer's batch limit.
    BatchTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A holder's proof of possession failed a check.
    ProofOfPossession {
        /// Which check.
        reason: &'static str,
    },
    /// The claims grant a perk whose policy requires a valid status, and the
    /// credential was to be issued without a status entry.
    StatusRequired {
        /// The perk.
        perk: String,
    },
    /// The issuer requires proofs over its nonce ([`crate::NoncePolicy::Required`])
    /// and a proof carries neither a nonce nor an audience: the holder made
    /// its keys without asking the issuer for a nonce first.
    ProofWithoutNonce,
    /// A configuration value is out of range.
    Config {
        /// Why.
        reason: &'static str,
    },
}

/// The holder's wallet refused to answer; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HolderError {
    /// The request asks for a claim that no credential it accepts has
    /// (whether spent or not).
    ClaimNotAvailable {
        /// The claim.
        name: String,
    },
    /// The wallet holds no credential at all.
    NoCredential,
    /// The request names the issuers or credential types (`vct`) it
    /// accepts, and the wallet holds none of them.
    NotAccepted {
        /// The issuers the request accepts (empty: any).
        issuers: Vec<String>,
        /// The credential types the request accepts (empty: any).
        vct_values: Vec<String>,
    },
    /// Credentials that could answer exist, but every one of them is
    /// spent, expired, revoked, suspended or superseded: presenting one
    /// would be refused by the verifier, or would be linkable. Each
    /// credential is counted once, under the first of these that applies.
    NoneUsable {
        /// Already presented (see [`crate::PresentOptions::allow_reuse`]).
        spent: usize,
        /// Past their `exp`.
        expired: usize,
        /// Shown revoked by a status list the wallet was given.
        revoked: usize,
        /// Shown suspended by the newest status list the wallet was given.
        suspended: usize,
        /// Replaced by a correcting batch of their issuer.
        superseded: usize,
    },
    /// The credential does not belong to a key in this wallet.
    UnknownKey,
    /// The holder cannot prove a requested predicate.
    PredicateNotSatisfied {
        /// The predicate.
        predicate: String,
    },
    /// Answering would reveal more than the request's predicates (e.g. two
    /// range proofs on one commitment).
    UnsafeRequest {
        /// Why.
        reason: String,
    },
    /// The credential handed to the wallet is not well formed.
    BadCredential {
        /// Why.
        reason: String,
    },
    /// A range predicate's threshold is not on the credential's threshold
    /// grid. Refused whatever the committed value, so the refusal itself
    /// says nothing about it.
    OffGrid {
        /// The predicate, as written in the request.
        predicate: String,
        /// The nearest predicates on the grid, as they would be written.
        nearest: Vec<String>,
    },
}

impl Error {
    /// The stable dotted name of the failed check, e.g. `"time.expired"`.
    pub fn check(&self) -> &'static str {
        use Error as E;
        match self {
            E::Limit(e) => match e {
                LimitError::InputTooLarge { .. } => "limit.input_size",
                LimitError::TooManyDisclosures { .. } => "limit.disclosures",
                LimitError::JsonTooDeep { .. } => "limit.json_depth",
                LimitError::StringTooLong { .. } => "limit.string_length",
                LimitError::TooManyPredicates { .. } => "limit.predicates",
            },
            E::Malformed(e) => match e {
                MalformedError::Base64 { .. } => "malformed.base64url",
                MalformedError::Utf8 { .. } => "malformed.utf8",
                MalformedError::Json { .. } => "malformed.json",
                MalformedError::JwsStructure { .. } => "malformed.jws",
                MalformedError::SdJwtStructure => "malformed.sd_jwt",
                MalformedError::Claim { .. } => "malformed.claim",
                MalformedError::Jwk => "malformed.jwk",
                MalformedError::Request { .. } => "malformed.request",
                MalformedError::Predicate { .. } => "malformed.predicate",
            },
            E::Header(e) => match e {
                HeaderError::UnsupportedAlg { .. } => "header.alg",
                HeaderError::WrongTyp { .. } => "header.typ",
                HeaderError::Forbidden { .. } => "header.forbidden",
                HeaderError::MissingKid => "header.kid",
                HeaderError::EmbeddedKey { .. } => "header.embedded_key",
            },
            E::Trust(e) => match e {
                TrustError::UnknownIssuer => "trust.issuer",
                TrustError::UnknownKid => "trust.kid",
            },
            E::Signature(e) => match e {
                SignatureError::Issuer => "signature.issuer",
                SignatureError::Token => "signature.token",
            },
            E::Time(e) => match e {
                TimeError::Expired => "time.expired",
                TimeError::NotYetValid => "time.not_yet_valid",
            },
            E::Disclosure(e) => match e {
                DisclosureError::UnsupportedHashAlg => "disclosure.hash_alg",
                DisclosureError::SdNotArray => "disclosure.sd_not_array",
                DisclosureError::DuplicateDigest => "disclosure.duplicate_digest",
                DisclosureError::Unreferenced => "disclosure.unreferenced",
                DisclosureError::Duplicate => "disclosure.duplicate",
                DisclosureError::ReservedName => "disclosure.reserved_name",
                DisclosureError::NameExists => "disclosure.name_exists",
                DisclosureError::Shape => "disclosure.shape",
                DisclosureError::Missing { .. } => "disclosure.missing",
            },
            E::HolderBinding(e) => match e {
                HolderBindingError::NoConfirmationKey => "holder_binding.cnf",
                HolderBindingError::MissingKbJwt => "holder_binding.missing",
                HolderBindingError::Signature => "holder_binding.signature",
                HolderBindingError::Nonce => "holder_binding.nonce",
                HolderBindingError::Audience => "holder_binding.aud",
                HolderBindingError::Stale => "holder_binding.iat_stale",
                HolderBindingError::IssuedInFuture => "holder_binding.iat_future",
                HolderBindingError::SdHash => "holder_binding.sd_hash",
                HolderBindingError::Unexpected => "holder_binding.unexpected",
            },
            E::Predicate(e) => match e {
                PredicateError::MissingProof { .. } => "predicate.missing_proof",
                PredicateError::NoCommitment { .. } => "predicate.no_commitment",
                PredicateError::ProofInvalid { .. } => "predicate.proof_invalid",
                PredicateError::Unsupported { .. } => "predicate.unsupported",
            },
            E::Issuance(e) => match e {
                IssuanceError::WeakHolderKey => "issuance.weak_holder_key",
                IssuanceError::ReservedClaim { .. } => "issuance.reserved_claim",
                IssuanceError::TooManyClaims { .. } => "issuance.too_many_claims",
                IssuanceError::InvalidIssuerId => "issuance.issuer_id",
                IssuanceError::Config { .. } => "issuance.config",
                IssuanceError::BatchTooLarge { .. } => "issuance.batch_size",
                IssuanceError::ProofOfPossession { .. } => "issuance.proof_of_possession",
                IssuanceError::ProofWithoutNonce => "issuance.proof_without_nonce",
                IssuanceError::StatusRequired { .. } => "issuance.status_required",
            },
            E::Policy(_) => "policy.invalid",
            E::Status(e) => match e {
                StatusError::NoList => "status.no_list",
                StatusError::Missing => "status.missing",
                StatusError::UriMismatch => "status.uri",
                StatusError::WrongIssuer => "status.issuer",
                StatusError::SubjectMismatch => "status.sub",
                StatusError::UntrustedList => "status.untrusted",
                StatusError::ListSignature => "status.signature",
                StatusError::ListExpired => "status.expired",
                StatusError::FutureIat => "status.future_iat",
                StatusError::Stale => "status.stale",
                StatusError::IndexOutOfRange => "status.index",
                StatusError::Revoked => "status.revoked",
                StatusError::Suspended => "status.suspended",
                StatusError::UnknownStatus => "status.unknown_value",
            },
            E::StatusList(e) => {
                use crate::format::status_list::StatusListError as S;
                match e {
                    S::InvalidBits(_) => "status_list.bits",
                    S::InvalidBase64(_) => "status_list.base64url",
                    S::CompressedTooLarge { .. } => "status_list.compressed_size",
                    S::DecompressedTooLarge { .. } => "status_list.decompressed_size",
                    S::TruncatedZlib => "status_list.truncated",
                    S::CorruptZlib => "status_list.corrupt",
                    S::TrailingData { .. } => "status_list.trailing_data",
                    _ => "status_list.invalid",
                }
            }
            E::Holder(e) => match e {
                HolderError::ClaimNotAvailable { .. } => "holder.claim_not_available",
                HolderError::NoCredential => "holder.no_credential",
                HolderError::NotAccepted { .. } => "holder.not_accepted",
                HolderError::NoneUsable { .. } => "holder.none_usable",
                HolderError::UnknownKey => "holder.unknown_key",
                HolderError::PredicateNotSatisfied { .. } => "holder.predicate_not_satisfied",
                HolderError::BadCredential { .. } => "holder.bad_credential",
                HolderError::UnsafeRequest { .. } => "holder.unsafe_request",
                HolderError::OffGrid { .. } => "holder.off_grid",
            },
            E::Grid(e) => match e {
                GridError::EmptyScale => "grid.empty_scale",
                GridError::TooManyThresholds { .. } => "grid.too_many_thresholds",
                GridError::NotIncreasing => "grid.not_increasing",
                GridError::OutsideScale { .. } => "grid.outside_scale",
                GridError::ZeroStep => "grid.zero_step",
                GridError::ScaleMismatch { .. } => "grid.scale_mismatch",
                GridError::Malformed => "grid.malformed",
            },
            E::Request(e) => match e {
                RequestError::IssuerNotAccepted => "request.issuer",
                RequestError::VctNotAccepted => "request.vct",
                RequestError::PolicyNotAccepted => "request.policy",
                RequestError::PolicyNotDisclosed => "request.policy_not_disclosed",
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Limit(e) => write!(f, "input limit exceeded: {e}"),
            Error::Malformed(e) => write!(f, "malformed input: {e}"),
            Error::Header(e) => write!(f, "unacceptable header: {e}"),
            Error::Trust(e) => write!(f, "untrusted issuer: {e}"),
            Error::Signature(e) => write!(f, "bad signature: {e}"),
            Error::Time(e) => write!(f, "validity check failed: {e}"),
            Error::Disclosure(e) => write!(f, "disclosure check failed: {e}"),
            Error::HolderBinding(e) => write!(f, "holder binding failed: {e}"),
            Error::Predicate(e) => write!(f, "predicate not established: {e}"),
            Error::Issuance(e) => write!(f, "issuance refused: {e}"),
            Error::Holder(e) => write!(f, "wallet refused to present: {e}"),
            Error::Policy(e) => write!(f, "policy error: {e}"),
            Error::Status(e) => write!(f, "status check failed: {e}"),
            Error::StatusList(e) => write!(f, "bad status list: {e}"),
            Error::Grid(e) => write!(f, "bad threshold grid: {e}"),
            Error::Request(e) => write!(f, "not accepted by the request: {e}"),
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InputTooLarge { what, limit } => write!(f, "{what} is larger than {limit} bytes"),
            Self::TooManyDisclosures { limit } => write!(f, "more than {limit} disclosures"),
            Self::JsonTooDeep { limit } => write!(f, "json nested deeper than {limit} levels"),
            Self::StringTooLong { limit } => {
                write!(f, "a json string is longer than {limit} bytes")
            }
            Self::TooManyPredicates { limit } => {
                write!(f, "more than {limit} predicates or proofs")
            }
        }
    }
}

impl fmt::Display for MalformedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Base64 { what } => write!(f, "{what} is not strict unpadded base64url"),
            Self::Utf8 { what } => write!(f, "{what} is not valid utf-8"),
            Self::Json { what, reason } => write!(f, "{what} is not valid json: {reason}"),
            Self::JwsStructure { what } => {
                write!(f, "{what} is not a compact jws with three non-empty parts")
            }
            Self::SdJwtStructure => f.write_str("not an sd-jwt of the form jwt~disclosure~...~kb-jwt"),
            Self::Claim { name } => write!(f, "claim `{name}` is missing or has the wrong type"),
            Self::Jwk => f.write_str("not a valid okp/ed25519 jwk"),
            Self::Request { reason } => write!(f, "bad request: {reason}"),
            Self::Predicate { expr } => write!(
                f,
                "cannot parse predicate `{expr}` (expected e.g. `score>=650`, `score<=900`, \
                 `600<=score<=800` or `perk:NAME`)"
            ),
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedAlg { alg } => write!(f, "alg `{alg}` is not accepted (only EdDSA)"),
            Self::WrongTyp { expected } => write!(f, "typ is not `{expected}`"),
            Self::Forbidden { name } => write!(f, "header parameter `{name}` is not accepted"),
            Self::MissingKid => f.write_str("kid is missing"),
            Self::EmbeddedKey { reason } => write!(f, "the header's own key is not acceptable: {reason}"),
        }
    }
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownIssuer => "the issuer is not in the trust store",
            Self::UnknownKid => "the issuer's key id is not in the trust store",
        })
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Issuer => "the issuer signature does not verify",
            Self::Token => "the token signature does not verify",
        })
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Expired => "the credential has expired",
            Self::NotYetValid => "the credential is not yet valid",
        })
    }
}

impl fmt::Display for DisclosureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedHashAlg => f.write_str("_sd_alg is not sha-256"),
            Self::SdNotArray => f.write_str("_sd is not an array of digest strings"),
            Self::DuplicateDigest => f.write_str("a digest appears more than once"),
            Self::Unreferenced => f.write_str("a disclosure is not referenced by the credential"),
            Self::Duplicate => f.write_str("the same disclosure appears twice"),
            Self::ReservedName => f.write_str("a disclosure uses the reserved name `_sd` or `...`"),
            Self::NameExists => f.write_str("a disclosed claim name already exists in the payload"),
            Self::Shape => f.write_str("a disclosure has the wrong shape for where it is referenced"),
            Self::Missing { name } => write!(f, "the requested claim `{name}` is not disclosed"),
        }
    }
}

impl fmt::Display for HolderBindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoConfirmationKey => "the credential has no usable cnf.jwk holder key",
            Self::MissingKbJwt => "the presentation has no key binding jwt",
            Self::Signature => "the key binding jwt is not signed by the credential's holder key",
            Self::Nonce => "the key binding nonce is not the request's",
            Self::Audience => "the key binding audience is not this verifier",
            Self::Stale => "the key binding jwt is too old",
            Self::IssuedInFuture => "the key binding jwt is dated in the future",
            Self::SdHash => "sd_hash does not match the presented sd-jwt",
            Self::Unexpected => "a key binding jwt was presented but none was requested",
        })
    }
}

impl fmt::Display for PredicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingProof { predicate } => write!(f, "no proof for `{predicate}`"),
            Self::NoCommitment { attribute } => {
                write!(f, "the credential has no commitment to `{attribute}`")
            }
            Self::ProofInvalid { predicate } => write!(f, "the proof for `{predicate}` is invalid"),
            Self::Unsupported { predicate } => write!(f, "`{predicate}` is not supported"),
        }
    }
}

impl fmt::Display for IssuanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WeakHolderKey => f.write_str("the holder key is a weak (small-order) ed25519 key"),
            Self::ReservedClaim { name } => write!(f, "claim name `{name}` is reserved or invalid"),
            Self::TooManyClaims { limit } => write!(f, "more than {limit} disclosable claims"),
            Self::InvalidIssuerId => f.write_str("the issuer identifier is not an absolute uri"),
            Self::Config { reason } => write!(f, "bad issuer configuration: {reason}"),
            Self::BatchTooLarge { limit } => write!(f, "more than {limit} keys in one batch"),
            Self::ProofOfPossession { reason } => {
                write!(f, "a proof of possession of a holder key failed its {reason} check")
            }
            Self::StatusRequired { perk } => write!(
                f,
                "the perk `{perk}` requires a valid status (its policy's `requires_valid_status`): \
                 issue with a status entry"
            ),
            Self::ProofWithoutNonce => f.write_str(
                "the holder keys' proofs of possession carry no issuer nonce, and this issuer requires one: \
                 the holder must make them over a fresh nonce of this issuer, with the issuer as audience",
            ),
        }
    }
}

impl fmt::Display for HolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClaimNotAvailable { name } => {
                write!(f, "no credential the request accepts has the claim `{name}`")
            }
            Self::NoCredential => f.write_str("the wallet holds no credential"),
            Self::NotAccepted { issuers, vct_values } => {
                f.write_str("no credential in the wallet is one the request accepts")?;
                if !issuers.is_empty() {
                    write!(f, "; accepted issuers: {}", issuers.join(", "))?;
                }
                if !vct_values.is_empty() {
                    write!(f, "; accepted types: {}", vct_values.join(", "))?;
                }
                Ok(())
            }
            Self::NoneUsable { spent, expired, revoked, suspended, superseded } => {
                f.write_str("every credential that could answer is")?;
                let parts: Vec<String> = [
                    (*spent, "spent"),
                    (*expired, "expired"),
                    (*revoked, "revoked"),
                    (*suspended, "suspended"),
                    (*superseded, "superseded by a correction"),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!(" {what} ({n})"))
                .collect();
                f.write_str(&parts.join(","))
            }
            Self::UnknownKey => f.write_str("the credential is bound to a key this wallet lacks"),
            Self::PredicateNotSatisfied { predicate } => {
                write!(f, "a credential has the claim, but its value does not satisfy `{predicate}`")
            }
            Self::BadCredential { reason } => write!(f, "bad credential: {reason}"),
            Self::UnsafeRequest { reason } => write!(f, "refused, answering would reveal more than asked: {reason}"),
            Self::OffGrid { predicate, nearest } => {
                write!(
                    f,
                    "`{predicate}` is off the credential's threshold grid: answering any threshold a verifier \
                     picks lets one that asks again narrow the score below one cell of the grid"
                )?;
                match nearest.as_slice() {
                    [] => Ok(()),
                    n => write!(f, "; nearest on the grid: `{}`", n.join("`, `")),
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Limit(e) => Some(e),
            Error::Malformed(e) => Some(e),
            Error::Header(e) => Some(e),
            Error::Trust(e) => Some(e),
            Error::Signature(e) => Some(e),
            Error::Time(e) => Some(e),
            Error::Disclosure(e) => Some(e),
            Error::HolderBinding(e) => Some(e),
            Error::Predicate(e) => Some(e),
            Error::Issuance(e) => Some(e),
            Error::Holder(e) => Some(e),
            Error::Policy(e) => Some(e),
            Error::Status(e) => Some(e),
            Error::StatusList(e) => Some(e),
            Error::Grid(e) => Some(e),
            Error::Request(e) => Some(e),
        }
    }
}

macro_rules! sub_error {
    ($($t:ident => $v:ident),* $(,)?) => {$(
        impl std::error::Error for $t {}
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$v(e)
            }
        }
    )*};
}

impl From<crate::profile::policy::PolicyError> for Error {
    fn from(e: crate::profile::policy::PolicyError) -> Self {
        Error::Policy(e)
    }
}

impl From<crate::format::status_list::StatusListError> for Error {
    fn from(e: crate::format::status_list::StatusListError) -> Self {
        Error::StatusList(e)
    }
}

sub_error! {
    LimitError => Limit,
    MalformedError => Malformed,
    HeaderError => Header,
    TrustError => Trust,
    SignatureError => Signature,
    TimeError => Time,
    DisclosureError => Disclosure,
    HolderBindingError => HolderBinding,
    PredicateError => Predicate,
    IssuanceError => Issuance,
    HolderError => Holder,
    StatusError => Status,
    GridError => Grid,
    RequestError => Request,
}
