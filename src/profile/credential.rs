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
use crate::profile::status::StatusRef;
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
    /// The credential type, if the payload has one.
    pub(crate) vct: Option<String>,
    /// When it was issued (day-rounded by creditproof issuers).
    pub(crate) iat: u64,
    pub(crate) exp: u64,
    /// Where its status is published, if it has one.
    pub(crate) status: Option<StatusRef>,
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
        let vct = jws.payload.get("vct").and_then(Value::as_str).map(str::to_owned);
        let iat = get_u64(&jws.payload, "iat")?;
        let exp = get_u64(&jws.payload, "exp")?;
        let status = StatusRef::from_payload(&jws.payload)?;
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
        let mut parsed = Self {
            jwt: jwt.to_owned(),
            disclosures,
            holder_key,
            iss,
            vct,
            iat,
            exp,
            status,
            ranges,
            grids: BTreeMap::new(),
        };
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

/// The type of a batch file.
const BATCH_TYPE: &str = "creditproof-batch/1";

/// The most batch ids one batch file may say it supersedes.
pub const MAX_SUPERSEDED_BATCHES: usize = 1024;

/// The longest batch id a batch file may carry, in bytes.
const MAX_BATCH_ID_LEN: usize = 128;

/// A batch file as the holder receives it: the credentials of one issuance,
/// which batch they are (its id in the issuer's registry) and, for a batch
/// issued by a correction, which earlier batches of the same issuer it
/// replaces. A wallet that stores a correcting batch stops presenting the
/// credentials of the batches it supersedes ([`crate::Wallet::store_batch`]).
///
/// Batch files written before batch ids existed have neither member and
/// still load.
#[derive(Debug, Clone)]
pub struct Batch {
    issuer: Option<String>,
    id: Option<String>,
    supersedes: Vec<String>,
    credentials: Vec<IssuedCredential>,
}

impl Batch {
    /// A batch of `credentials` issued by `issuer`, without an id.
    pub fn new(issuer: impl Into<String>, credentials: Vec<IssuedCredential>) -> Self {
        Self { issuer: Some(issuer.into()), id: None, supersedes: Vec::new(), credentials }
    }

    /// Names the batch (the issuer's id for it, 1 to 128 bytes of printable
    /// ASCII).
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        check_batch_id(&id)?;
        self.id = Some(id);
        Ok(self)
    }

    /// Says that this batch replaces the issuer's earlier batches `ids` of
    /// the same holder (a correction). At most [`MAX_SUPERSEDED_BATCHES`],
    /// each a valid batch id other than this batch's own.
    pub fn superseding(mut self, ids: Vec<String>) -> Result<Self, Error> {
        self.supersedes = ids;
        self.check()?;
        Ok(self)
    }

    /// The issuer the file names (absent in hand-made files).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The batch id, if the file carries one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The ids of the earlier batches this one supersedes.
    pub fn supersedes(&self) -> &[String] {
        &self.supersedes
    }

    /// The credentials.
    pub fn credentials(&self) -> &[IssuedCredential] {
        &self.credentials
    }

    /// The credentials, consuming the batch.
    pub fn into_credentials(self) -> Vec<IssuedCredential> {
        self.credentials
    }

    fn check(&self) -> Result<(), Error> {
        if self.supersedes.len() > MAX_SUPERSEDED_BATCHES {
            return Err(bad("a batch supersedes more than 1024 batches"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.supersedes {
            check_batch_id(s)?;
            if !seen.insert(s.as_str()) || self.id.as_deref() == Some(s.as_str()) {
                return Err(bad("a batch names a superseded batch twice, or itself"));
            }
        }
        if !self.supersedes.is_empty() && self.id.is_none() {
            return Err(bad("a batch that supersedes others has a `batch_id`"));
        }
        Ok(())
    }

    /// Serializes the batch as a batch file, with the signed score
    /// breakdown when the credentials were issued from a policy.
    pub fn to_json(&self, breakdown: Option<&str>) -> Zeroizing<String> {
        let items: Vec<Value> = self.credentials.iter().map(IssuedCredential::to_json).collect();
        let mut v = json!({"type": BATCH_TYPE, "credentials": items});
        if let Some(i) = &self.issuer {
            v["issuer"] = json!(i);
        }
        if let Some(id) = &self.id {
            v["batch_id"] = json!(id);
        }
        if !self.supersedes.is_empty() {
            v["supersedes"] = json!(self.supersedes);
        }
        if let Some(b) = breakdown {
            v["breakdown"] = json!(b);
        }
        Zeroizing::new(to_json(&v))
    }

    /// Parses a batch file (untrusted input). `batch_id` and `supersedes`
    /// are optional; when present they are checked.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let m = parse_json_object(bytes, limits, "batch")?;
        if m.get("type").and_then(Value::as_str) != Some(BATCH_TYPE) {
            return Err(bad("not a credential batch (type creditproof-batch/1)"));
        }
        let items =
            m.get("credentials").and_then(Value::as_array).ok_or_else(|| bad("a batch has a `credentials` array"))?;
        let credentials = items.iter().map(IssuedCredential::from_json).collect::<Result<Vec<_>, _>>()?;
        let issuer = match m.get("issuer") {
            None => None,
            Some(v) => Some(v.as_str().ok_or_else(|| bad("a batch's `issuer` is a string"))?.to_owned()),
        };
        let id = match m.get("batch_id") {
            None => None,
            Some(v) => {
                let id = v.as_str().ok_or_else(|| bad("a batch's `batch_id` is a string"))?;
                check_batch_id(id)?;
                Some(id.to_owned())
            }
        };
        let supersedes = match m.get("supersedes") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() <= MAX_SUPERSEDED_BATCHES => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad("`supersedes` holds batch id strings")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("`supersedes` is an array of at most 1024 batch ids")),
        };
        let batch = Self { issuer, id, supersedes, credentials };
        batch.check()?;
        Ok(batch)
    }
}

/// A batch id: 1 to 128 bytes of printable ASCII without spaces.
fn check_batch_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > MAX_BATCH_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("a batch id is 1 to 128 bytes of printable ascii without spaces"));
    }
    Ok(())
}

/// Parses a batch file (`{"credentials": [...]}`) into credentials. See
/// [`Batch::parse`] for the batch's id and what it supersedes.
pub fn parse_batch(bytes: &[u8], limits: &Limits) -> Result<Vec<IssuedCredential>, Error> {
    Batch::parse(bytes, limits).map(Batch::into_credentials)
}

/// Serializes credentials as a batch file, with the signed score breakdown
/// when they were issued from a policy. See [`Batch`] for a file with a
/// batch id.
pub fn batch_to_json(issuer: &str, credentials: &[IssuedCredential], breakdown: Option<&str>) -> Zeroizing<String> {
    Batch::new(issuer, credentials.to_vec()).to_json(breakdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred() -> IssuedCredential {
        IssuedCredential::new("e30.e30.sig~".into(), None)
    }

    #[test]
    fn batch_files_carry_their_id_and_what_they_supersede() {
        let l = Limits::default();
        let b = Batch::new("https://bureau.example", vec![cred()])
            .with_id("b2")
            .unwrap()
            .superseding(vec!["b0".into(), "b1".into()])
            .unwrap();
        let text = b.to_json(None);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!((v["batch_id"].clone(), v["supersedes"].clone()), (json!("b2"), json!(["b0", "b1"])));
        let back = Batch::parse(text.as_bytes(), &l).unwrap();
        assert_eq!(
            (back.issuer(), back.id(), back.supersedes()),
            (Some("https://bureau.example"), Some("b2"), &["b0".to_owned(), "b1".to_owned()][..])
        );
        assert_eq!(back.credentials().len(), 1);
        // A file written before batch ids: no id, supersedes nothing.
        let old = batch_to_json("https://bureau.example", &[cred()], None);
        let v: Value = serde_json::from_str(&old).unwrap();
        assert!(v.get("batch_id").is_none() && v.get("supersedes").is_none());
        let old = Batch::parse(old.as_bytes(), &l).unwrap();
        assert_eq!((old.id(), old.supersedes().len()), (None, 0));
        assert_eq!(parse_batch(br#"{"type":"creditproof-batch/1","credentials":[]}"#, &l).unwrap().len(), 0);
    }

    #[test]
    fn bad_batch_ids_and_supersessions_are_refused() {
        let l = Limits::default();
        let many: Vec<String> = (0..=MAX_SUPERSEDED_BATCHES).map(|i| format!("b{i}")).collect();
        for bad in [
            json!({"batch_id": ""}),
            json!({"batch_id": "a b"}),
            json!({"batch_id": "x".repeat(129)}),
            json!({"batch_id": 7}),
            json!({"issuer": 7}),
            json!({"supersedes": ["b0"]}),
            json!({"batch_id": "b1", "supersedes": "b0"}),
            json!({"batch_id": "b1", "supersedes": [0]}),
            json!({"batch_id": "b1", "supersedes": ["b0", "b0"]}),
            json!({"batch_id": "b1", "supersedes": ["b1"]}),
            json!({"batch_id": "b1", "supersedes": ["\n"]}),
            json!({"batch_id": "b1", "supersedes": many}),
        ] {
            let mut v = bad.clone();
            v["type"] = json!("creditproof-batch/1");
            v["credentials"] = json!([]);
            let e = Batch::parse(v.to_string().as_bytes(), &l).unwrap_err();
            assert_eq!(e.check(), "holder.bad_credential", "{bad}");
        }
        assert!(Batch::new("i", vec![]).with_id("a b").is_err());
        assert!(Batch::new("i", vec![]).superseding(vec!["b0".into()]).is_err(), "a superseding batch has an id");
    }
}
