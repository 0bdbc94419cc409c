//! Disputes over the network: the holder's signed request, the issuer's
//! signed receipt and its signed resolution of each entry. Sans-IO: bytes
//! and an explicit `now` in, typed values or a typed error out; the
//! issuer service and the CLI move the bytes and keep the state.
//!
//! # Who can dispute in whose name
//!
//! A dispute request (`typ: creditproof-dispute+jwt`) carries the signed
//! breakdown it disputes and is signed by a holder key, whose public JWK is
//! in the `jwk` header (as an OpenID4VCI proof carries it). The issuer
//! checks its own signature on the breakdown, then the holder's signature,
//! and then ([`CheckedDispute`]) that the signing key is the breakdown's
//! holder key (`sub`) or, through its registry, another key issued to the
//! same person. Nobody without one of the holder's private keys can dispute
//! in their name, and everything the request names (the breakdown, its
//! entries, the key's thumbprint) is something the issuer itself signed or
//! issued: it learns only what the holder writes as reasons and evidence.
//! `aud` (the issuer), `iat` (at most [`DISPUTE_MAX_AGE_SECS`] old) and a
//! random `jti` bind the request to one issuer and one use: the issuer
//! keeps each `jti` for [`DISPUTE_MAX_AGE_SECS`] and refuses it again.
//!
//! # Errors
//!
//! [`DisputeError`] names the failed check; its [`DisputeError::code`] is
//! the wire error: `invalid_request` (malformed, an entry that is not in
//! the breakdown, a duplicate, too many entries, a reason too long) or
//! `invalid_proof` (the signature, the breakdown's signature, the key not
//! bound to the holder, `aud`, `iat`, a replayed `jti`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::format::encoding::{b64_encode, get_str, get_u64};
use crate::format::jws::{self, UnverifiedJws};
use crate::format::keys::{HolderPublicKey, HolderSigningKey};
use crate::format::rng::SecureRng;
use crate::format::time::UnixTime;
use crate::format::trust::KeyProvider;
use crate::profile::breakdown::verify_breakdown;
use crate::profile::policy::{DisputeEntry, ScoreReport, MAX_REASON_LEN};
use crate::Limits;

/// JOSE `typ` of a holder's signed dispute request.
pub const DISPUTE_TYP: &str = "creditproof-dispute+jwt";
/// JOSE `typ` of the issuer's signed receipt of a dispute.
pub const RECEIPT_TYP: &str = "creditproof-dispute-receipt+jwt";
/// JOSE `typ` of the issuer's signed resolution of one disputed entry.
pub const RESOLUTION_TYP: &str = "creditproof-dispute-resolution+jwt";

/// JOSE `typ` of a holder's signed query (its breakdown, its disputes).
pub const QUERY_TYP: &str = "creditproof-holder-query+jwt";

/// How old a dispute request may be, in seconds (and how long the issuer
/// keeps its `jti` to refuse a replay).
pub const DISPUTE_MAX_AGE_SECS: u64 = 300;
/// How far in the future a request's `iat` may lie (clock skew), in seconds.
pub const DISPUTE_MAX_SKEW_SECS: u64 = 60;
/// The most entries one dispute names.
pub const MAX_DISPUTE_ENTRIES: usize = 64;
/// The largest evidence attachment, in bytes.
pub const MAX_EVIDENCE_BYTES: usize = 256 * 1024;
/// The largest dispute request token, in bytes (a breakdown of many
/// records, the entries and their reasons).
pub const MAX_DISPUTE_REQUEST_BYTES: usize = 512 * 1024;

/// A failed dispute check. Nothing is recorded when one occurs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisputeError {
    /// The request is malformed or asks for something not allowed
    /// (`invalid_request`).
    InvalidRequest(String),
    /// The proof of possession, the breakdown's signature, the audience,
    /// the time or the one-time `jti` does not hold (`invalid_proof`).
    InvalidProof(String),
}

impl DisputeError {
    /// The wire error code: `invalid_request` or `invalid_proof`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidProof(_) => "invalid_proof",
        }
    }

    /// The description (safe to send back: it quotes no secret).
    pub fn description(&self) -> &str {
        match self {
            Self::InvalidRequest(d) | Self::InvalidProof(d) => d,
        }
    }
}

impl fmt::Display for DisputeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for DisputeError {}

fn bad(d: impl Into<String>) -> DisputeError {
    DisputeError::InvalidRequest(d.into())
}

fn proof(d: impl Into<String>) -> DisputeError {
    DisputeError::InvalidProof(d.into())
}

/// Lowercase hex SHA-256 of `bytes` (the evidence digest a request signs).
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds and signs the holder's dispute request.
///
/// `entries` are `(reference, reason)` pairs of the breakdown's records;
/// `evidence`, if any, is sent next to the token, and the token signs its
/// SHA-256.
pub fn sign_dispute_request(
    key: &HolderSigningKey,
    audience: &str,
    breakdown: &str,
    entries: &[DisputeEntry],
    evidence: Option<&[u8]>,
    now: UnixTime,
    rng: &mut dyn SecureRng,
) -> String {
    let mut jti = [0u8; 16];
    rng.fill(&mut jti);
    let mut payload = json!({
        "aud": audience,
        "iat": now.as_secs(),
        "jti": b64_encode(jti),
        "breakdown": breakdown,
        "entries": entries,
    });
    if let Some(e) = evidence {
        payload["evidence_sha256"] = json!(sha256_hex(e));
    }
    let header = json!({"typ": DISPUTE_TYP, "jwk": key.public_key().to_jwk()});
    jws::sign(&header, &payload, key)
}

/// Signs a holder's query to the issuer `audience` (`typ:
/// creditproof-holder-query+jwt`, payload `{aud, iat, jti}`, the key in
/// the `jwk` header): the proof of possession with which a holder asks for
/// its breakdown or the state of its disputes.
pub fn sign_holder_query(key: &HolderSigningKey, audience: &str, now: UnixTime, rng: &mut dyn SecureRng) -> String {
    let mut jti = [0u8; 16];
    rng.fill(&mut jti);
    let header = json!({"typ": QUERY_TYP, "jwk": key.public_key().to_jwk()});
    jws::sign(&header, &json!({"aud": audience, "iat": now.as_secs(), "jti": b64_encode(jti)}), key)
}

/// Checks a holder's query for the issuer `audience` at `now` (signature
/// with its `jwk`, `aud`, `iat` within [`DISPUTE_MAX_AGE_SECS`]) and
/// returns the key that signed it. The caller checks that the issuer issued
/// to this key.
pub fn check_holder_query(
    token: &str,
    audience: &str,
    now: UnixTime,
    limits: &Limits,
) -> Result<HolderPublicKey, DisputeError> {
    if token.len() > 8 * 1024 {
        return Err(bad("the query is too large"));
    }
    let (jws, key) = UnverifiedJws::parse_with_embedded_key(token, QUERY_TYP, limits, "holder query")
        .map_err(|e| bad(format!("the query: {e}")))?;
    if !jws.verify(&key) {
        return Err(proof("the query's signature does not verify with its key"));
    }
    if get_str(&jws.payload, "aud").ok() != Some(audience) {
        return Err(proof("the query is for another issuer (aud)"));
    }
    let iat = get_u64(&jws.payload, "iat").map_err(|_| bad("`iat` is missing or not a number"))?;
    if iat > now.as_secs().saturating_add(DISPUTE_MAX_SKEW_SECS)
        || now.as_secs().saturating_sub(iat) > DISPUTE_MAX_AGE_SECS
    {
        return Err(proof("the query is stale or from the future (iat)"));
    }
    Ok(key)
}

/// A dispute request whose signatures, audience, time and entries passed.
/// The caller still checks [`CheckedDispute::holder`] against its registry
/// (it must be [`CheckedDispute::breakdown_holder`] or a key issued to the
/// same person) and that [`CheckedDispute::jti`] was not seen before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDispute {
    /// The thumbprint of the key that signed the request.
    pub holder: String,
    /// The thumbprint the breakdown is bound to (`sub`).
    pub breakdown_holder: String,
    /// The disputed breakdown, as the issuer signed it.
    pub report: ScoreReport,
    /// The disputed entries, in request order.
    pub entries: Vec<DisputeEntry>,
    /// The request's one-time id.
    pub jti: String,
    /// When the holder signed it.
    pub iat: UnixTime,
    /// The SHA-256 of the evidence, if the request signs one.
    pub evidence_sha256: Option<String>,
}

/// Checks a dispute request for the issuer `audience` at `now`: size, the
/// holder's signature with the key in its `jwk` header, `aud`, `iat`,
/// `jti`, the breakdown's signature by one of `issuer_keys` (and that it
/// is this issuer's), every entry in the breakdown, no duplicate, at most
/// [`MAX_DISPUTE_ENTRIES`], reasons of 1 to [`MAX_REASON_LEN`] bytes, and
/// the evidence (if any) matching `evidence_sha256`.
pub fn check_dispute_request(
    token: &str,
    evidence: Option<&[u8]>,
    issuer_keys: &impl KeyProvider,
    audience: &str,
    now: UnixTime,
    limits: &Limits,
) -> Result<CheckedDispute, DisputeError> {
    if token.len() > MAX_DISPUTE_REQUEST_BYTES {
        return Err(bad("the dispute request is too large"));
    }
    if evidence.is_some_and(|e| e.len() > MAX_EVIDENCE_BYTES) {
        return Err(bad("the evidence is too large"));
    }
    let limits = (*limits).with_max_string_bytes(MAX_DISPUTE_REQUEST_BYTES);
    let (jws, key) = UnverifiedJws::parse_with_embedded_key(token, DISPUTE_TYP, &limits, "dispute request")
        .map_err(|e| bad(format!("the dispute request: {e}")))?;
    if !jws.verify(&key) {
        return Err(proof("the dispute request's signature does not verify with its key"));
    }
    let p = &jws.payload;
    let str_of = |m: &Map<String, Value>, name: &'static str| {
        get_str(m, name).map(str::to_owned).map_err(|_| bad(format!("`{name}` is missing or not a string")))
    };
    if str_of(p, "aud")? != audience {
        return Err(proof("the dispute request is for another issuer (aud)"));
    }
    let iat = get_u64(p, "iat").map_err(|_| bad("`iat` is missing or not a number"))?;
    if iat > now.as_secs().saturating_add(DISPUTE_MAX_SKEW_SECS) {
        return Err(proof("the dispute request is signed in the future (iat)"));
    }
    if now.as_secs().saturating_sub(iat) > DISPUTE_MAX_AGE_SECS {
        return Err(proof("the dispute request is too old (iat): sign a fresh one"));
    }
    let jti = str_of(p, "jti")?;
    if !(16..=64).contains(&jti.len()) || !jti.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(bad("`jti` must be 16 to 64 base64url characters"));
    }
    let breakdown = str_of(p, "breakdown")?;
    let (iss, breakdown_holder, report) = verify_breakdown(&breakdown, issuer_keys, &limits)
        .map_err(|e: Error| proof(format!("the breakdown is not one this issuer signed: {e}")))?;
    if iss != audience {
        return Err(proof("the breakdown was signed by another issuer"));
    }
    let entries: Vec<DisputeEntry> = p
        .get("entries")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| bad("`entries` must be a list of {reference, reason}"))?;
    if entries.is_empty() {
        return Err(bad("a dispute names at least one entry"));
    }
    if entries.len() > MAX_DISPUTE_ENTRIES {
        return Err(bad(format!("a dispute names at most {MAX_DISPUTE_ENTRIES} entries")));
    }
    let known: BTreeSet<&str> = report.references().collect();
    let mut seen = BTreeSet::new();
    for e in &entries {
        if !known.contains(e.reference.as_str()) {
            return Err(bad("an entry is not in the breakdown"));
        }
        if !seen.insert(e.reference.as_str()) {
            return Err(bad("an entry is disputed twice"));
        }
        if e.reason.trim().is_empty() || e.reason.len() > MAX_REASON_LEN {
            return Err(bad(format!("every entry needs a reason of 1 to {MAX_REASON_LEN} bytes")));
        }
    }
    let evidence_sha256 = match p.get("evidence_sha256") {
        None => None,
        Some(Value::String(h)) => Some(h.clone()),
        Some(_) => return Err(bad("`evidence_sha256` must be a string")),
    };
    match (&evidence_sha256, evidence) {
        (None, None) => {}
        (Some(h), Some(e)) if *h == sha256_hex(e) => {}
        (Some(_), Some(_)) => return Err(proof("the evidence is not the one the request signs")),
        (Some(_), None) => return Err(bad("the request signs evidence that was not sent")),
        (None, Some(_)) => return Err(bad("evidence was sent that the request does not sign")),
    }
    Ok(CheckedDispute {
        holder: key.thumbprint(),
        breakdown_holder,
        report,
        entries,
        jti,
        iat: UnixTime(iat),
        evidence_sha256,
    })
}

/// The issuer's receipt of a dispute, signed (`typ:
/// creditproof-dispute-receipt+jwt`; these fields plus `iss`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The dispute's id at the issuer.
    pub dispute_id: String,
    /// The holder key thumbprint the receipt is for.
    pub sub: String,
    /// The disputed references.
    pub entries: Vec<String>,
    /// The policy id of the disputed breakdown.
    pub policy_id: String,
    /// Its version.
    pub policy_version: String,
    /// When the issuer received the dispute (Unix seconds).
    pub received_at: u64,
    /// The last moment the issuer may answer (Unix seconds): after it, an
    /// unanswered entry stops counting.
    pub answer_by: u64,
}

/// How the issuer answered one disputed entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The holder was right: the records were corrected, the old
    /// credentials revoked and new ones offered.
    Upheld,
    /// The entry stands, for the reason given.
    Rejected,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upheld => "upheld",
            Self::Rejected => "rejected",
        })
    }
}

/// The issuer's signed answer to one disputed entry (`typ:
/// creditproof-dispute-resolution+jwt`; these fields plus `iss`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// The dispute's id.
    pub dispute_id: String,
    /// The holder key thumbprint it is for.
    pub sub: String,
    /// The entry's reference.
    pub reference: String,
    /// Upheld or rejected.
    pub outcome: Outcome,
    /// Why, in the issuer's words.
    pub reason: String,
    /// When the issuer answered (Unix seconds).
    pub resolved_at: u64,
    /// Whether the answer came after the deadline (then the entry stays
    /// out of the score until the issuer re-scores with it).
    pub late: bool,
}

/// The payload of a signed receipt or resolution: the document's fields
/// plus `iss`.
pub(crate) fn signed_payload<T: Serialize>(iss: &str, doc: &T) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert("iss".to_owned(), json!(iss));
    }
    v
}

/// Checks an issuer-signed receipt or resolution (`typ`, the issuer's
/// trusted key) and returns the issuer and the document.
pub fn verify_signed<T: for<'de> Deserialize<'de>>(
    token: &str,
    typ: &str,
    keys: &impl KeyProvider,
    limits: &Limits,
) -> Result<(String, T), Error> {
    let jws = UnverifiedJws::parse(token, typ, limits, "dispute document")?;
    let kid = jws.kid()?;
    let iss = get_str(&jws.payload, "iss")?.to_owned();
    let key = keys.issuer_key(&iss, kid)?;
    if !jws.verify(&key) {
        return Err(crate::error::SignatureError::Token.into());
    }
    let mut m = jws.payload;
    m.remove("iss");
    let doc = serde_json::from_value(Value::Object(m))
        .map_err(|_| crate::error::MalformedError::Claim { name: "dispute document" })?;
    Ok((iss, doc))
}
