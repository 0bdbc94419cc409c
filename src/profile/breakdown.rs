//! The itemized score breakdown the issuer signs for the holder.
//!
//! It is a separate token (`typ: creditproof-breakdown+jwt`), bound to the
//! holder by `sub` (the holder key's thumbprint) and never part of a
//! presentation: it is for the holder to read and, if an entry is wrong, to
//! dispute.

use crate::error::{Error, MalformedError, SignatureError};
use crate::format::encoding::{get_str, parse_json_object};
use crate::format::jws::UnverifiedJws;
use crate::format::trust::KeyProvider;
use crate::profile::policy::ScoreReport;
use crate::Limits;

/// JOSE `typ` of a signed score breakdown.
pub const BREAKDOWN_TYP: &str = "creditproof-breakdown+jwt";

/// Checks a breakdown token's signature against the issuer's trusted key and
/// returns the report with the issuer and the holder thumbprint it names.
pub fn verify_breakdown(
    token: &str,
    keys: &impl KeyProvider,
    limits: &Limits,
) -> Result<(String, String, ScoreReport), Error> {
    let jws = UnverifiedJws::parse(token, BREAKDOWN_TYP, limits, "breakdown")?;
    let kid = jws.kid()?;
    let iss = get_str(&jws.payload, "iss")?.to_owned();
    let key = keys.issuer_key(&iss, kid)?;
    if !jws.verify(&key) {
        return Err(SignatureError::Token.into());
    }
    let sub = get_str(&jws.payload, "sub")?.to_owned();
    let report = jws
        .payload
        .get("breakdown")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or(MalformedError::Claim { name: "breakdown" })?;
    Ok((iss, sub, report))
}

/// Reads the holder thumbprint (`sub`) and the report out of a breakdown
/// token **without** checking its signature (for a holder who has no trust
/// store at hand; the issuer re-checks every disputed reference against its
/// own records).
pub fn read_breakdown_unverified(token: &str, limits: &Limits) -> Result<(String, ScoreReport), Error> {
    let payload = token.split('.').nth(1).ok_or(MalformedError::JwsStructure { what: "breakdown" })?;
    let bytes = crate::format::encoding::b64_decode(payload, "breakdown")?;
    let m = parse_json_object(&bytes, limits, "breakdown")?;
    let sub = get_str(&m, "sub")?.to_owned();
    let report = m
        .get("breakdown")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or(MalformedError::Claim { name: "breakdown" })?;
    Ok((sub, report))
}
