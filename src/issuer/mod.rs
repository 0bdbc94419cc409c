//! The issuer: signs holder-bound SD-JWT VC score credentials, in batches,
//! with their breakdowns and status lists, and keeps its state in the
//! registry.

mod batch;
mod breakdown;
#[cfg(feature = "registry")]
pub mod dispute_store;
mod published;
#[cfg(feature = "registry")]
pub mod registry;
mod status;
mod stored_claims;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{Error, IssuanceError};
use crate::format::encoding::parse_json_object;
use crate::format::hazmat::range::RangeSeed;
use crate::format::keys::{HolderPublicKey, IssuerPublicKey, IssuerSigningKey};
use crate::format::rng::SecureRng;
use crate::format::sd_jwt::disclosure::{decoy_digest, Disclosure};
use crate::format::sd_jwt::CREDENTIAL_TYP;
use crate::format::time::{UnixTime, DAY};
use crate::format::{jws, trust};
use crate::profile::credential::{IssuedCredential, SCORE_VCT};
use crate::profile::grid::Grid;
use crate::profile::policy::{Policy, PolicyRef, ScoreReport};
use crate::profile::predicate::is_identifier;
use crate::profile::range_claim::{commit, RangeSecrets};
use crate::profile::status::StatusRef;
use crate::profile::PERKS;
use crate::Limits;

/// Claim names the credential format itself uses; a caller cannot set them.
const RESERVED: [&str; 15] = [
    "iss", "sub", "aud", "jti", "vct", "iat", "nbf", "exp", "cnf", "status", "range", "perks", "_sd", "_sd_alg", "...",
];

/// How credentials are shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    vct: String,
    validity_days: u32,
    /// A fixed number of top-level `_sd` digests, or `None` for the
    /// default: the smallest multiple of [`SD_SLOT_UNIT`] that holds the
    /// claims.
    sd_slots: Option<usize>,
    /// A fixed number of digests in the `perks` object, or `None` for the
    /// default: the smallest multiple of [`PERK_SLOT_UNIT`] that holds the
    /// perks.
    perk_slots: Option<usize>,
    max_batch: usize,
}

/// The default top-level `_sd` padding unit. A credential issued from a
/// policy score has exactly four top-level claims, whatever the policy
/// (`tier`, `policy`, `score_scale`, `perks`), so it carries four digests
/// and no decoy: there is no count to hide.
const SD_SLOT_UNIT: usize = 4;
/// The default padding unit of the digests inside `perks`: every shipped
/// policy (three to five perks) gives eight, so a disclosed `perks` object
/// does not tell the policies apart.
const PERK_SLOT_UNIT: usize = 8;
/// The most digests one `_sd` array may have.
const MAX_SD_SLOTS: usize = 256;
/// The default largest batch: room for an OpenID4VCI `batch_size` of up
/// to 64 (EUDI wallets ask for 10 to 20; the OpenID4VCI layer advertises
/// 16 by default).
const DEFAULT_MAX_BATCH: usize = 64;

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            vct: SCORE_VCT.into(),
            validity_days: 30,
            sd_slots: None,
            perk_slots: None,
            max_batch: DEFAULT_MAX_BATCH,
        }
    }
}

impl IssuerConfig {
    /// Sets the credential type (`vct`), default `urn:creditproof:score:2`.
    #[must_use]
    pub fn with_vct(mut self, vct: impl Into<String>) -> Self {
        self.vct = vct.into();
        self
    }

    /// Sets how many days a credential is valid (1 to 3660, default 30).
    #[must_use]
    pub fn with_validity_days(mut self, days: u32) -> Self {
        self.validity_days = days;
        self
    }

    /// Sets the fixed number of top-level `_sd` digests every credential
    /// carries (real ones padded with decoys; 1 to 256), so the count of
    /// disclosable claims does not leak. By default the claims are padded
    /// to a multiple of 4: a credential from a policy score always has
    /// exactly 4 (`tier`, `policy`, `score_scale`, `perks`), so this only
    /// matters for hand-built [`Claims`] whose number varies between
    /// holders; such an issuer sets a count that covers every credential.
    #[must_use]
    pub fn with_sd_slots(mut self, slots: usize) -> Self {
        self.sd_slots = Some(slots);
        self
    }

    /// Sets the fixed number of digests inside the `perks` object (real
    /// perk flags padded with decoys; 1 to 256). By default the perks are
    /// padded to a multiple of 8, which covers every shipped policy; an
    /// issuer with a policy of more perks sets a count that covers all of
    /// its policies, so that a disclosed `perks` object does not say which
    /// policy scored the holder.
    #[must_use]
    pub fn with_perk_slots(mut self, slots: usize) -> Self {
        self.perk_slots = Some(slots);
        self
    }

    /// Sets how many credentials one batch may hold (1 to 1024, default 64).
    #[must_use]
    pub fn with_max_batch(mut self, n: usize) -> Self {
        self.max_batch = n;
        self
    }
}

/// Selectively disclosable claims for one credential, by name.
///
/// Three kinds: plain claims ([`Claims::insert`]), each its own top-level
/// disclosure; perk flags ([`Claims::insert_perk`]), each its own disclosure
/// inside one recursively disclosable `perks` object, so that any number
/// of perks costs one top-level digest; and committed integers
/// ([`Claims::commit`]), which are never signed in the clear.
///
/// ```
/// use creditproof::Claims;
/// let mut claims = Claims::new();
/// claims.insert("tier", "A").unwrap();
/// claims.insert_perk("no_deposit_rental", true).unwrap();
/// assert!(claims.insert("iss", "x").is_err()); // reserved
/// assert!(claims.insert("perks", "x").is_err()); // use insert_perk
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    disclosable: BTreeMap<String, Value>,
    perks: BTreeMap<String, bool>,
    committed: BTreeMap<String, (u64, u64)>,
    grids: BTreeMap<String, Grid>,
    /// A granted perk whose policy says it `requires_valid_status`: such
    /// claims are only issued with a status entry.
    status_required_by: Option<String>,
}

impl Claims {
    /// No claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a claim. Names are `[a-z_][a-z0-9_]*` and not reserved by the
    /// format (`iss`, `vct`, `cnf`, `status`, `range`, ...).
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) -> Result<&mut Self, Error> {
        self.check_name(name)?;
        self.disclosable.insert(name.to_owned(), value.into());
        Ok(self)
    }

    /// Adds a perk flag: whether the holder is eligible for perk `name`
    /// (`[a-z_][a-z0-9_]*`). The credential signs it as `perks.name`, its
    /// own disclosure inside the `perks` object; a holder proves
    /// `perk:name` by disclosing the `perks` object and that one flag, and
    /// the verifier learns neither the other flags nor how many there are
    /// (beyond the padded count, see [`IssuerConfig::with_perk_slots`]).
    pub fn insert_perk(&mut self, name: &str, eligible: bool) -> Result<&mut Self, Error> {
        if !is_identifier(name) || self.perks.contains_key(name) {
            return Err(IssuanceError::ReservedClaim { name: name.chars().take(64).collect() }.into());
        }
        self.perks.insert(name.to_owned(), eligible);
        Ok(self)
    }

    /// Commits to an integer attribute in `0..=max` instead of signing it:
    /// the credential carries HashWires commitments, and the holder can
    /// prove `name >= t`, `name <= t` or `a <= name <= b` without revealing
    /// `value`. By default the holder's wallet answers only thresholds on
    /// the attribute's grid: [`Grid::default_for`]`(0, max)` unless
    /// [`Claims::set_grid`] gives another.
    ///
    /// ```
    /// use creditproof::Claims;
    /// let mut claims = Claims::new();
    /// claims.commit("score", 712, 950).unwrap();
    /// assert!(claims.commit("score2", 951, 950).is_err());
    /// ```
    pub fn commit(&mut self, name: &str, value: u64, max: u64) -> Result<&mut Self, Error> {
        self.check_name(name)?;
        if value > max {
            return Err(IssuanceError::Config { reason: "a committed value is above its maximum" }.into());
        }
        self.committed.insert(name.to_owned(), (value, max));
        Ok(self)
    }

    /// Sets the threshold grid the holder's wallet answers for committed
    /// attribute `name` (see [`Grid`]); it travels to the holder with the
    /// range secrets, outside the signed credential. The grid's scale must
    /// lie within `0..=max` of the commitment and hold the value.
    ///
    /// ```
    /// use creditproof::{Claims, Grid};
    /// let mut claims = Claims::new();
    /// claims.commit("score", 712, 950).unwrap();
    /// claims.set_grid("score", Grid::default_for(350, 950).unwrap()).unwrap();
    /// assert!(claims.set_grid("score", Grid::default_for(750, 950).unwrap()).is_err());
    /// assert!(claims.set_grid("income", Grid::default_for(0, 10).unwrap()).is_err());
    /// ```
    pub fn set_grid(&mut self, name: &str, grid: Grid) -> Result<&mut Self, Error> {
        let &(value, max) = self
            .committed
            .get(name)
            .ok_or(IssuanceError::Config { reason: "a grid for an attribute that is not committed" })?;
        if grid.max() > max || !(grid.min()..=grid.max()).contains(&value) {
            return Err(
                IssuanceError::Config { reason: "a grid's scale must lie within 0..=max and hold the value" }.into()
            );
        }
        self.grids.insert(name.to_owned(), grid);
        Ok(self)
    }

    fn check_name(&self, name: &str) -> Result<(), Error> {
        if !is_identifier(name)
            || RESERVED.contains(&name)
            || self.disclosable.contains_key(name)
            || self.committed.contains_key(name)
        {
            return Err(IssuanceError::ReservedClaim { name: name.chars().take(64).collect() }.into());
        }
        Ok(())
    }

    /// Reads claims from a JSON object such as
    /// `{"tier": "A", "perks": {"no_deposit_rental": true}}`. An integer
    /// `"score"` requires `"score_scale": {"min": ..., "max": ...}` and is
    /// committed (never signed in the clear); `score_scale` stays
    /// disclosable. `"perks"`, if present, is an object of boolean flags.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let mut m = parse_json_object(bytes, limits, "claims")?;
        let mut claims = Self::new();
        if let Some(perks) = m.remove(PERKS) {
            let bad = || Error::from(IssuanceError::Config { reason: "`perks` must be an object of true/false flags" });
            for (name, flag) in perks.as_object().ok_or_else(bad)? {
                claims.insert_perk(name, flag.as_bool().ok_or_else(bad)?)?;
            }
        }
        if let Some(score) = m.remove("score") {
            let bad = |reason| Error::from(IssuanceError::Config { reason });
            let score = score.as_u64().ok_or_else(|| bad("`score` must be a non-negative integer"))?;
            let scale = m.get("score_scale").ok_or_else(|| bad("`score` needs `score_scale` {min, max}"))?;
            let (min, max) = match (scale.get("min").and_then(Value::as_u64), scale.get("max").and_then(Value::as_u64))
            {
                (Some(min), Some(max)) if min < max => (min, max),
                _ => return Err(bad("`score_scale` must be {min, max} integers with min < max")),
            };
            if !(min..=max).contains(&score) {
                return Err(bad("`score` is outside `score_scale`"));
            }
            claims.commit("score", score, max)?;
            let grid = Grid::default_for(min, max).map_err(|_| bad("`score_scale` has no grid"))?;
            claims.set_grid("score", grid)?;
        }
        for (k, v) in m {
            claims.insert(&k, v)?;
        }
        Ok(claims)
    }

    /// The claims for a credential issued from a policy score: a commitment
    /// to the score (never in the clear) on the policy's threshold grid
    /// ([`Policy::grid`]), and as selectively disclosable
    /// claims the `tier`, the `policy` (`{"id", "version", "sha256"}`,
    /// [`PolicyRef::to_claim`]), the `score_scale`
    /// and, inside `perks`, one boolean flag per perk of the policy.
    pub fn from_score(policy: &Policy, report: &ScoreReport) -> Result<Self, Error> {
        if report.policy_id != policy.id() || report.policy_version != policy.version() {
            return Err(IssuanceError::Config { reason: "the score report is from another policy" }.into());
        }
        let scale = policy.scale();
        let mut claims = Self::new();
        claims.commit("score", report.score, scale.max)?;
        claims.set_grid("score", policy.grid().clone())?;
        claims.insert("tier", report.tier.as_str())?;
        claims.insert("policy", PolicyRef::of(policy).to_claim())?;
        claims.insert("score_scale", json!({"min": scale.min, "max": scale.max}))?;
        for (name, perk) in policy.perks() {
            let granted = report.perks.contains(name);
            claims.insert_perk(name, granted)?;
            if granted && perk.requires_valid_status && claims.status_required_by.is_none() {
                claims.status_required_by = Some(name.clone());
            }
        }
        Ok(claims)
    }

    /// The plain disclosable claims in name order (not the perks).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.disclosable.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The perk flags in name order.
    pub fn perks(&self) -> impl Iterator<Item = (&str, bool)> {
        self.perks.iter().map(|(k, &v)| (k.as_str(), v))
    }

    /// The granted perk, if any, whose policy `requires_valid_status`: these
    /// claims are then issued only with a status entry
    /// ([`Issuer::issue_with_status`]), so that a revocation can reach them.
    pub fn status_required_by(&self) -> Option<&str> {
        self.status_required_by.as_deref()
    }
}

/// An issuer: identifier, signing key and credential shape.
#[derive(Debug)]
pub struct Issuer {
    id: String,
    key: IssuerSigningKey,
    kid: String,
    config: IssuerConfig,
    retired: Vec<IssuerPublicKey>,
}

impl Issuer {
    /// An issuer with identifier `id` (an absolute URI such as
    /// `https://bureau.example`) and its signing key. The `kid` is the key's
    /// RFC 7638 thumbprint.
    pub fn new(id: impl Into<String>, key: IssuerSigningKey) -> Result<Self, Error> {
        let id = id.into();
        if !is_absolute_uri(&id) {
            return Err(IssuanceError::InvalidIssuerId.into());
        }
        let kid = key.public_key().thumbprint();
        Ok(Self { id, key, kid, config: IssuerConfig::default(), retired: Vec::new() })
    }

    /// Replaces the credential configuration.
    pub fn with_config(mut self, config: IssuerConfig) -> Result<Self, Error> {
        if !(1..=3660).contains(&config.validity_days) {
            return Err(IssuanceError::Config { reason: "validity must be 1 to 3660 days" }.into());
        }
        if !(1..=1024).contains(&config.max_batch) {
            return Err(IssuanceError::Config { reason: "max batch must be 1 to 1024" }.into());
        }
        if config.sd_slots.is_some_and(|n| !(1..=MAX_SD_SLOTS).contains(&n)) {
            return Err(IssuanceError::Config { reason: "sd slots must be 1 to 256" }.into());
        }
        if config.perk_slots.is_some_and(|n| !(1..=MAX_SD_SLOTS).contains(&n)) {
            return Err(IssuanceError::Config { reason: "perk slots must be 1 to 256" }.into());
        }
        if config.vct.is_empty() || config.vct.len() > 256 {
            return Err(IssuanceError::Config { reason: "vct must be 1 to 256 bytes" }.into());
        }
        self.config = config;
        Ok(self)
    }

    /// The largest batch this issuer signs in one call.
    pub fn max_batch(&self) -> usize {
        self.config.max_batch
    }

    /// The credential type (`vct`) this issuer signs.
    pub fn vct(&self) -> &str {
        &self.config.vct
    }

    /// A 32-byte secret derived from the signing key for one purpose
    /// (HKDF-SHA-256, `label` as info), e.g. the nonce MAC key.
    pub(crate) fn secret_for(&self, label: &[u8]) -> zeroize::Zeroizing<[u8; 32]> {
        let ikm = self.key.to_secret_bytes();
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"creditproof/issuer/v1").extract(ikm.as_ref());
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        let info = [label];
        if let Ok(okm) = prk.expand(&info, ring::hkdf::HKDF_SHA256) {
            let _ = okm.fill(out.as_mut());
        }
        out
    }

    /// The issuer identifier (`iss`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key id (`kid`) credentials are signed under.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key verifiers trust.
    pub fn public_key(&self) -> IssuerPublicKey {
        self.key.public_key()
    }

    pub(crate) fn sign_token(&self, header: &Value, payload: &Value) -> String {
        jws::sign(header, payload, &self.key)
    }

    /// Publishes a retired key next to the signing key, so that what it
    /// signed keeps verifying: after a key rotation, keep publishing the old
    /// key until the last credential it signed has expired
    /// ([`Issuer::credential_lifetime_secs`] after the rotation). A key
    /// already published is not added twice.
    pub fn publish_retired_key(&mut self, key: IssuerPublicKey) -> &mut Self {
        if key != self.public_key() && !self.retired.contains(&key) {
            self.retired.push(key);
        }
        self
    }

    /// How long a credential of this issuer stays valid, in seconds (its
    /// `exp` is at most this far after issuance).
    pub fn credential_lifetime_secs(&self) -> u64 {
        u64::from(self.config.validity_days).saturating_mul(DAY).saturating_add(DAY)
    }

    /// JWT VC Issuer Metadata (`issuer`, `jwks`) for verifiers' trust
    /// stores: the signing key first, then every retired key still
    /// published, each with its thumbprint as `kid`.
    pub fn metadata(&self) -> Value {
        let mut keys = vec![(self.kid.clone(), self.public_key())];
        keys.extend(self.retired.iter().map(|k| (k.thumbprint(), *k)));
        trust::metadata(&self.id, &keys)
    }

    /// Issues one credential bound to `holder`, with `claims` selectively
    /// disclosable. `iat` and `exp` are rounded to the day of `now`.
    pub fn issue(
        &self,
        holder: &HolderPublicKey,
        claims: &Claims,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<IssuedCredential, Error> {
        self.issue_inner(holder, claims, None, now, rng)
    }

    /// Issues one revocable credential: like [`Issuer::issue`], with
    /// `status.status_list {idx, uri}` pointing at the credential's entry in
    /// a Token Status List this issuer publishes.
    pub fn issue_with_status(
        &self,
        holder: &HolderPublicKey,
        claims: &Claims,
        status: &StatusRef,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<IssuedCredential, Error> {
        self.issue_inner(holder, claims, Some(status), now, rng)
    }

    pub(crate) fn issue_inner(
        &self,
        holder: &HolderPublicKey,
        claims: &Claims,
        status: Option<&StatusRef>,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<IssuedCredential, Error> {
        if holder.is_weak() {
            return Err(IssuanceError::WeakHolderKey.into());
        }
        if let (None, Some(perk)) = (status, &claims.status_required_by) {
            return Err(IssuanceError::StatusRequired { perk: perk.clone() }.into());
        }
        let perks: Vec<Disclosure> = claims.perks().map(|(k, v)| Disclosure::new(k, &Value::Bool(v), rng)).collect();
        let mut disclosures: Vec<Disclosure> = claims.iter().map(|(k, v)| Disclosure::new(k, v, rng)).collect();
        if !perks.is_empty() {
            let digests = padded_digests(&perks, self.config.perk_slots, PERK_SLOT_UNIT, rng)?;
            disclosures.push(Disclosure::new(PERKS, &json!({"_sd": digests}), rng));
        }
        let digests = padded_digests(&disclosures, self.config.sd_slots, SD_SLOT_UNIT, rng)?;
        disclosures.extend(perks);

        let iat = now.start_of_day().as_secs();
        let exp = iat + u64::from(self.config.validity_days) * DAY;
        let mut payload = Map::new();
        payload.insert("iss".into(), json!(self.id));
        payload.insert("vct".into(), json!(self.config.vct));
        payload.insert("iat".into(), json!(iat));
        payload.insert("exp".into(), json!(exp));
        payload.insert("cnf".into(), json!({"jwk": holder.to_jwk()}));
        if let Some(status) = status {
            payload.insert("status".into(), status.to_json());
        }
        // No `_sd_alg`: absent means sha-256 (RFC 9901 §4.1.1), the only
        // hash creditproof uses; writing it would cost 28 bytes per
        // presentation.
        payload.insert("_sd".into(), json!(digests));
        let range = if claims.committed.is_empty() {
            None
        } else {
            let seed = RangeSeed::generate(rng);
            let mut entries = Map::new();
            let mut values = BTreeMap::new();
            let mut grids = BTreeMap::new();
            for (name, &(value, max)) in &claims.committed {
                let entry = commit(&seed, name, value, max)
                    .map_err(|_| IssuanceError::Config { reason: "range commitment failed" })?;
                entries.insert(name.clone(), entry.to_json());
                values.insert(name.clone(), value);
                // The grid the wallet answers on; a scale of one value
                // (`max` 0) has none, and nothing to hide.
                if let Some(g) = claims.grids.get(name).cloned().or_else(|| Grid::default_for(0, max).ok()) {
                    grids.insert(name.clone(), g);
                }
            }
            payload.insert("range".into(), Value::Object(entries));
            Some(RangeSecrets::new(seed, values, grids))
        };
        let header = json!({"typ": CREDENTIAL_TYP, "kid": self.kid});
        let mut sd_jwt = jws::sign(&header, &Value::Object(payload), &self.key);
        sd_jwt.push('~');
        for d in &disclosures {
            sd_jwt.push_str(d.encoded());
            sd_jwt.push('~');
        }
        Ok(IssuedCredential::new(sd_jwt, range))
    }
}

/// The digests of `disclosures` padded with decoys to `fixed` slots, or to
/// the next multiple of `unit`, and sorted, so that neither the count nor
/// the position of a digest says anything about the claims.
fn padded_digests(
    disclosures: &[Disclosure],
    fixed: Option<usize>,
    unit: usize,
    rng: &mut dyn SecureRng,
) -> Result<Vec<String>, Error> {
    let n = disclosures.len();
    let slots = fixed.unwrap_or_else(|| n.div_ceil(unit).max(1) * unit);
    if n > slots || slots > MAX_SD_SLOTS {
        return Err(IssuanceError::TooManyClaims { limit: slots.min(MAX_SD_SLOTS) }.into());
    }
    let mut digests: Vec<String> = disclosures.iter().map(|d| d.digest().to_owned()).collect();
    while digests.len() < slots {
        digests.push(decoy_digest(rng));
    }
    digests.sort_unstable();
    Ok(digests)
}

/// `scheme:rest` with an RFC 3986 scheme and no whitespace.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    s.len() <= 512
        && !rest.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perks_from_json_and_their_padding() {
        let l = Limits::default();
        let c = Claims::from_json(br#"{"tier":"A","perks":{"b":false,"a":true}}"#, &l).unwrap();
        assert_eq!(c.perks().collect::<Vec<_>>(), [("a", true), ("b", false)]);
        assert_eq!(c.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["tier"]);
        for bad in [r#"{"perks":[]}"#, r#"{"perks":{"a":1}}"#, r#"{"perks":{"A b":true}}"#] {
            assert!(Claims::from_json(bad.as_bytes(), &l).is_err(), "{bad}");
        }

        let mut rng = crate::format::hazmat::SeededRng::new(b"perk slots");
        let holder = crate::HolderSigningKey::generate(&mut rng).public_key();
        let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
        let mut c = Claims::new();
        for name in ["a", "b", "c"] {
            c.insert_perk(name, true).unwrap();
        }
        let now = UnixTime(1_795_262_400);
        let perks_sd = |issued: IssuedCredential| {
            let disclosures: Vec<Value> = issued
                .expose_sd_jwt()
                .split('~')
                .skip(1)
                .filter(|d| !d.is_empty())
                .map(|d| {
                    crate::format::encoding::parse_json(&crate::format::encoding::b64_decode(d, "d").unwrap(), &l, "d")
                        .unwrap()
                })
                .collect();
            let perks = disclosures.iter().find(|d| d[1] == PERKS).unwrap();
            perks[2]["_sd"].as_array().unwrap().len()
        };
        assert_eq!(perks_sd(issuer.issue(&holder, &c, now, &mut rng).unwrap()), 8);
        let fixed = issuer.with_config(IssuerConfig::default().with_perk_slots(3)).unwrap();
        assert_eq!(perks_sd(fixed.issue(&holder, &c, now, &mut rng).unwrap()), 3);
        let small = fixed.with_config(IssuerConfig::default().with_perk_slots(2)).unwrap();
        assert_eq!(small.issue(&holder, &c, now, &mut rng).unwrap_err().check(), "issuance.too_many_claims");
        assert!(small.with_config(IssuerConfig::default().with_perk_slots(0)).is_err());
    }

    #[test]
    fn issuer_ids() {
        for ok in ["https://bureau.example", "urn:creditproof:issuer:1", "did:web:x.example"] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in ["", "bureau", "://x", "https:", "http://a b", "1http://x"] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }
}
