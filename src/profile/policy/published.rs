//! Published policies: the hash a credential names, the pins a verifier
//! accepts, the signed document the issuer serves, and a readable text and
//! diff of policies.
//!
//! A policy is identified by `id`, `version` and the SHA-256 of its
//! canonical JSON ([`Policy::sha256`]). A score credential's `policy` claim
//! is the object `{"id", "version", "sha256"}` ([`PolicyRef::to_claim`]);
//! credentials from before this claim named the hash were the string
//! `"id/version"`, which [`PolicyRef::from_claim`] still reads (without a
//! hash, so no hash pin matches it).
//!
//! The issuer publishes each version as a signed token
//! (`typ: creditproof-policy+jwt`, payload `{"iss", "iat", "sha256",
//! "policy"}`); [`verify_policy_token`] checks the signature and that the
//! document hashes to the `sha256` it claims.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

use serde_json::{json, Value};

use super::error::PolicyError;
use super::model::Policy;
use super::text::clip;
use crate::error::{Error, MalformedError, SignatureError};
use crate::format::encoding::get_str;
use crate::format::jws::UnverifiedJws;
use crate::format::trust::KeyProvider;
use crate::Limits;

/// JOSE `typ` of a policy version signed by its issuer.
pub const POLICY_TYP: &str = "creditproof-policy+jwt";

/// Which policy version a credential was scored under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRef {
    /// The policy's id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// The SHA-256 of its canonical JSON, lowercase hex; `None` for a
    /// credential issued before the claim named the hash.
    pub sha256: Option<String>,
}

impl PolicyRef {
    /// The reference to `policy`, with its hash.
    pub fn of(policy: &Policy) -> Self {
        Self { id: policy.id().to_owned(), version: policy.version().to_owned(), sha256: Some(policy.sha256()) }
    }

    /// The `policy` claim of a score credential: `{"id", "version", "sha256"}`.
    pub fn to_claim(&self) -> Value {
        match &self.sha256 {
            Some(h) => json!({"id": self.id, "version": self.version, "sha256": h}),
            None => json!({"id": self.id, "version": self.version}),
        }
    }

    /// Reads a `policy` claim: the object form, or the older `"id/version"`
    /// string (then without a hash). `None` if it is neither.
    pub fn from_claim(claim: &Value) -> Option<Self> {
        match claim {
            Value::String(s) => {
                let (id, version) = s.rsplit_once('/')?;
                Some(Self { id: id.to_owned(), version: version.to_owned(), sha256: None })
            }
            Value::Object(m) => {
                let id = m.get("id")?.as_str()?.to_owned();
                let version = m.get("version")?.as_str()?.to_owned();
                let sha256 = match m.get("sha256") {
                    None => None,
                    Some(v) => Some(v.as_str().filter(|h| is_sha256_hex(h))?.to_owned()),
                };
                Some(Self { id, version, sha256 })
            }
            _ => None,
        }
    }
}

impl fmt::Display for PolicyRef {
    /// `id@version` (and ` sha256:HEX` when the hash is known).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.version)?;
        if let Some(h) = &self.sha256 {
            write!(f, " sha256:{h}")?;
        }
        Ok(())
    }
}

/// A policy version a verifier accepts: by `ID@VERSION`, or by the hash of
/// its document (`sha256:HEX`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyPin {
    /// This id and version (whatever the hash, if the claim names none;
    /// a claim naming a hash is still matched by id and version).
    Version {
        /// The policy id.
        id: String,
        /// The version.
        version: String,
    },
    /// Exactly the document with this SHA-256 (lowercase hex).
    Sha256(String),
}

impl PolicyPin {
    /// Parses `ID@VERSION` or `sha256:HEX` (64 hex digits).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let bad = |reason| PolicyError::InvalidField { field: format!("policy pin {:?}", clip(text)), reason };
        if let Some(hex) = text.strip_prefix("sha256:") {
            let hex = hex.to_ascii_lowercase();
            if !is_sha256_hex(&hex) {
                return Err(bad("a hash pin is sha256: and 64 hex digits"));
            }
            return Ok(Self::Sha256(hex));
        }
        match text.rsplit_once('@') {
            Some((id, version)) if !id.is_empty() && !version.is_empty() => {
                Ok(Self::Version { id: id.to_owned(), version: version.to_owned() })
            }
            _ => Err(bad("expected ID@VERSION or sha256:HEX")),
        }
    }

    /// Whether a credential's policy reference is the pinned one.
    pub fn matches(&self, policy: &PolicyRef) -> bool {
        match self {
            Self::Version { id, version } => &policy.id == id && &policy.version == version,
            Self::Sha256(h) => policy.sha256.as_deref() == Some(h.as_str()),
        }
    }
}

impl fmt::Display for PolicyPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Version { id, version } => write!(f, "{id}@{version}"),
            Self::Sha256(h) => write!(f, "sha256:{h}"),
        }
    }
}

fn is_sha256_hex(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks a published policy token against the issuer's trusted keys:
/// `typ`, signature, and that the policy document hashes to the `sha256`
/// the token claims. Returns the issuer and the policy.
pub fn verify_policy_token(token: &str, keys: &impl KeyProvider, limits: &Limits) -> Result<(String, Policy), Error> {
    let jws = UnverifiedJws::parse(token, POLICY_TYP, limits, "policy")?;
    let kid = jws.kid()?;
    let iss = get_str(&jws.payload, "iss")?.to_owned();
    let key = keys.issuer_key(&iss, kid)?;
    if !jws.verify(&key) {
        return Err(SignatureError::Token.into());
    }
    let policy = policy_of_payload(&jws.payload, limits)?;
    Ok((iss, policy))
}

/// Reads the policy out of a published policy token **without** checking
/// its signature (to show a policy someone handed over); the hash is still
/// checked.
pub fn read_policy_token_unverified(token: &str, limits: &Limits) -> Result<(String, Policy), Error> {
    let payload = token.split('.').nth(1).ok_or(MalformedError::JwsStructure { what: "policy" })?;
    let bytes = crate::format::encoding::b64_decode(payload, "policy")?;
    let m = crate::format::encoding::parse_json_object(&bytes, limits, "policy")?;
    let iss = get_str(&m, "iss")?.to_owned();
    Ok((iss, policy_of_payload(&m, limits)?))
}

fn policy_of_payload(m: &serde_json::Map<String, Value>, limits: &Limits) -> Result<Policy, Error> {
    let claimed = get_str(m, "sha256")?;
    let doc = m.get("policy").ok_or(MalformedError::Claim { name: "policy" })?;
    let policy = Policy::from_json_slice(doc.to_string().as_bytes(), limits.max_policy_bytes())
        .map_err(|_| MalformedError::Claim { name: "policy" })?;
    if policy.sha256() != claimed {
        return Err(MalformedError::Claim { name: "sha256" }.into());
    }
    Ok(policy)
}

/// The payload of a published policy token (the issuer signs it).
pub(crate) fn policy_token_payload(iss: &str, policy: &Policy, iat: u64) -> Value {
    json!({"iss": iss, "iat": iat, "sha256": policy.sha256(), "policy": policy})
}

/// A policy in plain words: id, version, hash, scale, rules, tiers, perks
/// and the dispute period, one line each.
pub fn describe(policy: &Policy) -> String {
    let mut out = String::new();
    let scale = policy.scale();
    let _ = writeln!(out, "policy {}@{}", policy.id(), policy.version());
    let _ = writeln!(out, "sha256 {}", policy.sha256());
    let _ = writeln!(out, "{}", printable(policy.description()));
    let _ = writeln!(out, "source: {}", printable(policy.source()));
    let _ = writeln!(out, "scale: {}..{}, everyone starts at {}", scale.min, scale.max, scale.start);
    let _ =
        writeln!(out, "disputes: answered within {} days, else the entry stops counting", policy.dispute_period_days());
    let _ = writeln!(out, "rules:");
    for line in rule_lines(policy) {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "tiers:");
    for t in policy.tiers().iter().rev() {
        let _ = writeln!(out, "  {}: {}..{}", t.name, t.min, t.max);
    }
    if !policy.perks().is_empty() {
        let _ = writeln!(out, "perks:");
        for name in policy.perks().keys() {
            let _ = writeln!(out, "  {}", perk_line(policy, name));
        }
    }
    out
}

fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn rule_lines(policy: &Policy) -> Vec<String> {
    policy.rules().keys().map(|k| rule_line(policy, k)).collect()
}

fn rule_line(policy: &Policy, kind: &str) -> String {
    let Some(rule) = policy.rule(kind) else { return format!("{kind}: (none)") };
    let mut s = format!("{kind}: {:+} points", rule.points);
    if let Some(cap) = rule.cap {
        let mut parts = Vec::new();
        if let Some(n) = cap.max_records {
            parts.push(format!("at most {n} record(s)"));
        }
        if let Some(n) = cap.max_points {
            parts.push(format!("at most {n} points"));
        }
        let _ = write!(s, ", {} per {}", parts.join(" and "), cap.per);
    }
    s
}

fn perk_line(policy: &Policy, name: &str) -> String {
    let threshold = policy.perk_threshold(name).unwrap_or(u64::MAX);
    let status = match policy.perk(name) {
        Some(p) if p.requires_valid_status => ", needs a valid credential",
        _ => "",
    };
    format!("{name}: score {threshold} or more{status}")
}

/// The differences from `old` to `new` in readable lines (`-` what only
/// `old` has, `+` what only `new` has, `~` what changed); empty if the two
/// are the same document.
pub fn diff(old: &Policy, new: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    let mut changed = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("~ {what}: {a} -> {b}"));
        }
    };
    changed("id", old.id().to_owned(), new.id().to_owned());
    changed("version", old.version().to_owned(), new.version().to_owned());
    changed("sha256", old.sha256(), new.sha256());
    let (so, sn) = (old.scale(), new.scale());
    changed(
        "scale",
        format!("{}..{} start {}", so.min, so.max, so.start),
        format!("{}..{} start {}", sn.min, sn.max, sn.start),
    );
    changed(
        "dispute period",
        format!("{} days", old.dispute_period_days()),
        format!("{} days", new.dispute_period_days()),
    );
    changed("description", printable(old.description()), printable(new.description()));
    let kinds: BTreeSet<&String> = old.rules().keys().chain(new.rules().keys()).collect();
    for k in kinds {
        match (old.rule(k), new.rule(k)) {
            (Some(_), None) => out.push(format!("- rule {}", rule_line(old, k))),
            (None, Some(_)) => out.push(format!("+ rule {}", rule_line(new, k))),
            (Some(a), Some(b)) if a != b => {
                out.push(format!(
                    "~ rule {} -> {}",
                    rule_line(old, k),
                    rule_line(new, k).split_once(": ").map_or("", |x| x.1)
                ));
            }
            _ => {}
        }
    }
    let tiers =
        |p: &Policy| p.tiers().iter().rev().map(|t| format!("{} {}..{}", t.name, t.min, t.max)).collect::<Vec<_>>();
    let (to, tn) = (tiers(old), tiers(new));
    for t in &to {
        if !tn.contains(t) {
            out.push(format!("- tier {t}"));
        }
    }
    for t in &tn {
        if !to.contains(t) {
            out.push(format!("+ tier {t}"));
        }
    }
    let perks: BTreeSet<&String> = old.perks().keys().chain(new.perks().keys()).collect();
    for name in perks {
        match (old.perk(name), new.perk(name)) {
            (Some(_), None) => out.push(format!("- perk {}", perk_line(old, name))),
            (None, Some(_)) => out.push(format!("+ perk {}", perk_line(new, name))),
            (Some(_), Some(_)) => {
                let (a, b) = (perk_line(old, name), perk_line(new, name));
                if a != b {
                    out.push(format!("~ perk {a} -> {}", b.split_once(": ").map_or("", |x| x.1)));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::policy::shipped;

    fn sesame() -> Policy {
        shipped("sesame-style").unwrap().unwrap()
    }

    #[test]
    fn the_hash_is_of_the_canonical_document_not_the_file() {
        let a = sesame();
        let text = serde_json::to_string_pretty(&a).unwrap();
        let b = Policy::from_json_slice(text.as_bytes(), 1 << 20).unwrap();
        assert_eq!(a.sha256(), b.sha256());
        let mut spec = a.spec().clone();
        spec.dispute_period_days = Some(31);
        assert_ne!(Policy::new(spec).unwrap().sha256(), a.sha256());
    }

    #[test]
    fn claims_and_pins() {
        let p = sesame();
        let r = PolicyRef::of(&p);
        assert_eq!(PolicyRef::from_claim(&r.to_claim()), Some(r.clone()));
        let legacy = PolicyRef::from_claim(&json!("sesame-style/1")).unwrap();
        assert_eq!(legacy.sha256, None);
        assert!(PolicyRef::from_claim(&json!({"id": "x", "version": "1", "sha256": "not-hex"})).is_none());
        assert!(PolicyRef::from_claim(&json!(17)).is_none());

        let by_version = PolicyPin::parse("sesame-style@1").unwrap();
        assert!(by_version.matches(&r) && by_version.matches(&legacy));
        assert!(!PolicyPin::parse("sesame-style@2").unwrap().matches(&r));
        let by_hash = PolicyPin::parse(&format!("sha256:{}", p.sha256().to_uppercase())).unwrap();
        assert!(by_hash.matches(&r));
        assert!(!by_hash.matches(&legacy), "a claim without a hash never matches a hash pin");
        for bad in ["sesame-style", "@1", "x@", "sha256:abc", &format!("sha256:{}", "g".repeat(64))] {
            assert!(PolicyPin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn diff_names_each_change_and_nothing_else() {
        let old = sesame();
        assert!(diff(&old, &old).is_empty());
        let mut spec = old.spec().clone();
        spec.version = "2".into();
        spec.rules.remove("judgement_settled");
        spec.rules.get_mut("default").unwrap().points = -120;
        spec.dispute_period_days = Some(20);
        let new = Policy::new(spec).unwrap();
        let lines = diff(&old, &new);
        assert!(lines.contains(&"~ version: 1 -> 2".to_owned()), "{lines:?}");
        assert!(lines.contains(&"- rule judgement_settled: +50 points".to_owned()), "{lines:?}");
        assert!(lines.contains(&"~ rule default: -100 points -> -120 points".to_owned()), "{lines:?}");
        assert!(lines.contains(&"~ dispute period: 30 days -> 20 days".to_owned()), "{lines:?}");
        assert_eq!(lines.len(), 5, "version, sha256, dispute period, two rules: {lines:?}");
        assert!(describe(&new).contains("answered within 20 days"));
    }

    #[test]
    fn a_dispute_period_outside_one_to_366_days_is_refused() {
        for days in [0, 367] {
            let mut spec = sesame().spec().clone();
            spec.dispute_period_days = Some(days);
            assert!(Policy::new(spec).is_err(), "{days}");
        }
    }
}
