//! The holder's copy of an issued credential, as it travels from issuer to
//! wallet: the SD-JWT with every disclosure, plus holder-only secrets.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, GridError, HolderError};
use crate::format::encoding::{get_str, get_u64, parse_json_object, to_json};
use crate::format::jws::UnverifiedJws;
use crate::format::keys::HolderPublicKey;
use crate::format::sd_jwt::disclosure::{process, Disclosure};
use crate::format::sd_jwt::CREDENTIAL_TYP;
use crate::profile::grid::Grid;
use crate::profile::range_claim::{commit, parse_range_claim, RangeEntry, RangeSecrets};
use crate::Limits;

/// The default credential type of a creditproof score credential.
pub const SCORE_VCT: &str = "urn:creditproof:score:2";

/// An issued credential as the holder receives it: the issuer-signed JWT
/// and every disclosure (`<jwt>~<d1>~...~<dn>~`).
///
/// It is a holder secret until presented (the salts and undisclosed values
/// are in it): it zeroizes on drop and `Debug` does not print it.
#[derive(Clone)]
pub struct IssuedCredential {
    sd_jwt: Zeroizing<String>,
    range: Option<RangeSecrets>,
}

impl IssuedCredential {
    pub(crate) fn new(sd_jwt: String, range: Option<RangeSecrets>) -> Self {
        Self { sd_jwt: Zeroizing::new(sd_jwt), range }
    }

    /// The holder's range-proof secrets, if the credential commits to
    /// integer attributes.
    pub(crate) fn range_secrets(&self) -> Option<&RangeSecrets> {
        self.range.as_ref()
    }

    /// The full SD-JWT with every disclosure. Handle as a secret.
    pub fn expose_sd_jwt(&self) -> &str {
        &self.sd_jwt
    }

    /// The credential as a JSON object for a batch file.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"sd_jwt": self.sd_jwt.as_str()});
        if let Some(r) = &self.range {
            v["range"] = r.to_json();
        }
        v
    }

    /// Reads a credential from a batch file entry.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let sd_jwt = v.get("sd_jwt").and_then(Value::as_str).ok_or_else(|| bad("entry has no `sd_jwt` string"))?;
        let range = v.get("range").map(RangeSecrets::from_json).transpose()?;
        Ok(Self::new(sd_jwt.to_owned(), range))
    }
}

impl fmt::Debug for IssuedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuedCredential([redacted])")
    }
}

fn bad(reason: &str) -> Error {
    HolderError::BadCredential { reason: reason.into() }.into()
}

/// What the wallet knows about a credential after checking its structure.
#[derive(Clone)]
pub(crate) struct ParsedCredential {
    pub(crate) jwt: String,
    /// Every disclosure, with the index of the disclosure whose object
    /// value references it (`None`: referenced from the payload's `_sd`).
    disclosures: Vec<(Disclosure, Option<usize>)>,
    pub(crate) holder_key: HolderPublicKey,
    pub(crate) iss: String,
    pub(crate) exp: u64,
    pub(crate) ranges: BTreeMap<String, RangeEntry>,
    /// The threshold grid of each committed attribute: the issuer's, from
    /// the range secrets, or for a credential from an older batch file the
    /// default grid of its `score_scale` (or of its bit width).
    pub(crate) grids: BTreeMap<String, Grid>,
}

impl ParsedCredential {
    /// Splits and checks an issued SD-JWT: the JWT header and payload are
    /// well formed, the disclosures pass the verifier's RFC 9901 processing
    /// (each referenced exactly once), each is referenced from the payload's
    /// `_sd` or from the `_sd` of a top-level disclosure's object (the
    /// nesting creditproof issues: `perks`), and `cnf.jwk` is a usable key.
    /// The issuer signature is not checked here (the wallet may not have the
    /// trust store).
    pub(crate) fn parse(c: &IssuedCredential, limits: &Limits) -> Result<Self, Error> {
        let s: &str = &c.sd_jwt;
        let body = s.strip_suffix('~').ok_or_else(|| bad("an issued sd-jwt ends with `~`"))?;
        let mut parts = body.split('~');
        let jwt = parts.next().unwrap_or_default();
        let jws = UnverifiedJws::parse(jwt, CREDENTIAL_TYP, limits, "credential")?;
        let encoded: Vec<&str> = parts.collect();
        process(jws.payload.clone(), &encoded, limits).map_err(|e| bad(&e.to_string()))?;
        let disclosures = encoded.iter().map(|d| Disclosure::parse(d, limits)).collect::<Result<Vec<_>, _>>()?;
        let top = sd_digests(&jws.payload);
        let mut tree = Vec::with_capacity(disclosures.len());
        for d in &disclosures {
            let parent = if top.contains(&d.digest()) {
                None
            } else {
                let parent = disclosures.iter().position(|p| {
                    top.contains(&p.digest())
                        && p.value().as_object().is_some_and(|o| sd_digests(o).contains(&d.digest()))
                });
                Some(parent.ok_or_else(|| bad("a disclosure is nested deeper than one level"))?)
            };
            tree.push(parent);
        }
        let disclosures = disclosures.into_iter().zip(tree).collect();
        let holder_key = jws
            .payload
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .ok_or_else(|| bad("no cnf.jwk"))
            .and_then(HolderPublicKey::from_jwk)?;
        let iss = get_str(&jws.payload, "iss")?.to_owned();
        let exp = get_u64(&jws.payload, "exp")?;
        let ranges = parse_range_claim(&jws.payload)?;
        for (attribute, entry) in &ranges {
            let secrets = c.range.as_ref().ok_or_else(|| bad("range commitments without their secrets"))?;
            let value = secrets.value(attribute).ok_or_else(|| bad("no secret value for a committed attribute"))?;
            let ours =
                commit(secrets.seed(), attribute, value, entry.params.max_value()).map_err(|e| bad(&e.to_string()))?;
            if ours.ge.as_bytes() != entry.ge.as_bytes()
                || ours.le.as_bytes() != entry.le.as_bytes()
                || ours.params != entry.params
            {
                return Err(bad("the range commitment does not match its secrets"));
            }
        }
        let mut parsed =
            Self { jwt: jwt.to_owned(), disclosures, holder_key, iss, exp, ranges, grids: BTreeMap::new() };
        for (attribute, entry) in &parsed.ranges {
            // Present whenever `ranges` is not empty (checked above).
            let Some((secrets, value)) = c.range.as_ref().and_then(|s| Some((s, s.value(attribute)?))) else {
                continue;
            };
            let max = entry.params.max_value();
            let grid = match secrets.grid(attribute) {
                Some(g) if g.max() > max => {
                    return Err(
                        GridError::ScaleMismatch { reason: "the grid's scale is wider than the commitment" }.into()
                    )
                }
                Some(g) if !(g.min()..=g.max()).contains(&value) => {
                    return Err(
                        GridError::ScaleMismatch { reason: "the committed value is outside the grid's scale" }.into()
                    )
                }
                Some(g) => g.clone(),
                None => parsed.fallback_grid(attribute, value, max)?,
            };
            parsed.grids.insert(attribute.clone(), grid);
        }
        Ok(parsed)
    }

    /// The grid of a credential from a batch file without grids: the
    /// default grid of the signed `score_scale` for `score` when it holds
    /// the value, otherwise of `0..=max` of the commitment.
    fn fallback_grid(&self, attribute: &str, value: u64, max: u64) -> Result<Grid, Error> {
        let scale = (attribute == "score")
            .then(|| self.disclosure("score_scale"))
            .flatten()
            .and_then(|d| Some((d.value().get("min")?.as_u64()?, d.value().get("max")?.as_u64()?)))
            .filter(|&(lo, hi)| lo < hi && hi <= max && (lo..=hi).contains(&value));
        let (lo, hi) = scale.unwrap_or((0, max));
        Ok(Grid::default_for(lo, hi)?)
    }

    fn position(&self, parent: Option<usize>, name: &str) -> Option<usize> {
        self.disclosures.iter().position(|(d, p)| *p == parent && d.name() == name)
    }

    /// The disclosure of top-level claim `name`, if the credential has one.
    pub(crate) fn disclosure(&self, name: &str) -> Option<&Disclosure> {
        self.position(None, name).map(|i| &self.disclosures[i].0)
    }

    /// The disclosure of claim `name` inside top-level claim `parent`
    /// (e.g. a perk flag inside `perks`).
    pub(crate) fn nested(&self, parent: &str, name: &str) -> Option<&Disclosure> {
        let p = self.position(None, parent)?;
        self.position(Some(p), name).map(|i| &self.disclosures[i].0)
    }

    /// Top-level claim `name` with everything nested in it: the
    /// disclosures to send to disclose it whole.
    pub(crate) fn whole(&self, name: &str) -> Vec<&Disclosure> {
        let Some(p) = self.position(None, name) else {
            return Vec::new();
        };
        let mut out = vec![&self.disclosures[p].0];
        out.extend(self.disclosures.iter().filter(|(_, q)| *q == Some(p)).map(|(d, _)| d));
        out
    }

    /// Top-level claim `name` as a verifier sees it when it is disclosed
    /// whole: nested disclosures substituted, digests removed.
    pub(crate) fn value(&self, name: &str) -> Option<Value> {
        let p = self.position(None, name)?;
        let mut v = self.disclosures[p].0.value().clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("_sd");
            for (d, _) in self.disclosures.iter().filter(|(_, q)| *q == Some(p)) {
                o.insert(d.name().to_owned(), d.value().clone());
            }
        }
        Some(v)
    }
}

/// The digest strings of an object's `_sd` array (none if absent).
fn sd_digests(o: &Map<String, Value>) -> Vec<&str> {
    o.get("_sd").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Parses a batch file (`{"credentials": [...]}`) into credentials.
pub fn parse_batch(bytes: &[u8], limits: &Limits) -> Result<Vec<IssuedCredential>, Error> {
    let m = parse_json_object(bytes, limits, "batch")?;
    if m.get("type").and_then(Value::as_str) != Some("creditproof-batch/1") {
        return Err(bad("not a credential batch (type creditproof-batch/1)"));
    }
    let items =
        m.get("credentials").and_then(Value::as_array).ok_or_else(|| bad("a batch has a `credentials` array"))?;
    items.iter().map(IssuedCredential::from_json).collect()
}

/// Serializes credentials as a batch file, with the signed score breakdown
/// when they were issued from a policy.
pub fn batch_to_json(issuer: &str, credentials: &[IssuedCredential], breakdown: Option<&str>) -> Zeroizing<String> {
    let items: Vec<Value> = credentials.iter().map(IssuedCredential::to_json).collect();
    let mut v = json!({"type": "creditproof-batch/1", "issuer": issuer, "credentials": items});
    if let Some(b) = breakdown {
        v["breakdown"] = json!(b);
    }
    Zeroizing::new(to_json(&v))
}
