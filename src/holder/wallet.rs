//! The holder's wallet: keys, credentials, and presentations that reveal
//! only what a request asks for.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, HolderError, MalformedError};
use crate::format::encoding::{parse_json_object, to_json};
use crate::format::jws;
use crate::format::keys::{Algorithm, HolderPublicKey, HolderSigningKey};
use crate::format::rng::SecureRng;
use crate::format::sd_jwt::disclosure::{sha256_b64, Disclosure};
use crate::format::sd_jwt::KB_TYP;
use crate::format::time::UnixTime;
use crate::profile::credential::{IssuedCredential, ParsedCredential};
use crate::profile::grid::Grid;
use crate::profile::predicate::Predicate;
use crate::profile::range_claim::{atoms, check_one_atom_per_commitment, prove};
use crate::profile::request::PresentationRequest;
use crate::profile::PERKS;
use crate::Limits;

/// A holder's keys and credentials.
///
/// Every credential is bound to its own key and, by default, is presented
/// at most once (see [`PresentOptions::allow_reuse`]).
#[derive(Default)]
pub struct Wallet {
    keys: BTreeMap<String, HolderSigningKey>,
    credentials: Vec<Entry>,
}

struct Entry {
    issued: IssuedCredential,
    parsed: ParsedCredential,
    spent: bool,
}

/// How to answer a request. The default is the safe one: single use, and
/// range predicates only on the credential's threshold grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PresentOptions {
    allow_reuse: bool,
    allow_off_grid: bool,
}

impl PresentOptions {
    /// Allows presenting an already-spent credential when no unspent one can
    /// answer. Such a presentation is **linkable** to the earlier one
    /// (same signature, key and salts); [`Presentation::is_linkable`] says so.
    #[must_use]
    pub fn allow_reuse(mut self, allow: bool) -> Self {
        self.allow_reuse = allow;
        self
    }

    /// Allows answering range predicates whose thresholds are off the
    /// credential's threshold grid ([`crate::Grid`]). By default the wallet
    /// refuses them (`holder.off_grid`, naming the nearest on-grid
    /// predicates) whatever the committed value, so that a verifier which
    /// recognises the holder and asks again and again learns at most which
    /// cell of the grid the value lies in. With this, such a verifier can
    /// binary-search the exact value (712 on a 350–950 scale in about ten
    /// requests). [`Presentation::is_off_grid`] and the [`Preview`] say
    /// when it was used.
    #[must_use]
    pub fn allow_off_grid(mut self, allow: bool) -> Self {
        self.allow_off_grid = allow;
        self
    }
}

/// How one range predicate of a request sits on the credential's
/// threshold grid, as a [`Preview`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridNote {
    /// The predicate, as written in the request.
    pub predicate: String,
    /// Whether it is on the grid (answering it reveals at most the cell).
    pub on_grid: bool,
    /// The nearest on-grid predicates, when it is not.
    pub nearest: Vec<String>,
    /// How many cells the grid has.
    pub cells: usize,
    /// The width of the grid's narrowest cell.
    pub narrowest_cell: u64,
}

/// Exactly what a presentation would reveal, for the holder to review.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The verifier the presentation is bound to.
    pub audience: String,
    /// The issuer of the credential that would be used.
    pub issuer: String,
    /// Claims whose values the verifier would see.
    pub claims: BTreeMap<String, Value>,
    /// Predicates the verifier would learn to be true.
    pub predicates: Vec<String>,
    /// Whether the credential was presented before (linkable).
    pub linkable: bool,
    /// For each range predicate: whether it is on the threshold grid.
    pub grid: Vec<GridNote>,
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "verifier (aud): {}", self.audience)?;
        writeln!(f, "credential issuer: {}", self.issuer)?;
        if self.claims.is_empty() {
            writeln!(f, "claims disclosed: none")?;
        }
        for (k, v) in &self.claims {
            writeln!(f, "claim disclosed: {k} = {v}")?;
        }
        for p in &self.predicates {
            writeln!(f, "predicate proven (value stays hidden): {p}")?;
        }
        for g in &self.grid {
            if g.on_grid {
                writeln!(
                    f,
                    "on the threshold grid: {} ({} cells, the narrowest {} wide): a verifier learns at most \
                     which cell the value is in, however often it asks",
                    g.predicate, g.cells, g.narrowest_cell
                )?;
            } else {
                writeln!(
                    f,
                    "WARNING: {} is OFF the threshold grid (nearest on the grid: {}); a verifier that asks \
                     again can narrow the value below one cell",
                    g.predicate,
                    if g.nearest.is_empty() { "none".to_owned() } else { g.nearest.join(", ") }
                )?;
            }
        }
        if self.linkable {
            writeln!(f, "WARNING: this credential was presented before; the verifiers can link the two")?;
        }
        write!(f, "nothing else from the credential is sent")
    }
}

/// A presentation ready to send: `<jwt>~<disclosures>~<kb-jwt>`.
#[derive(Clone)]
pub struct Presentation {
    compact: String,
    linkable: bool,
    off_grid: bool,
}

impl Presentation {
    /// The compact serialization to send to the verifier.
    pub fn as_str(&self) -> &str {
        &self.compact
    }

    /// Whether this reused a credential presented before, so that the two
    /// verifiers could link the presentations.
    pub fn is_linkable(&self) -> bool {
        self.linkable
    }

    /// Whether this answered a range predicate off the credential's
    /// threshold grid (only with [`PresentOptions::allow_off_grid`]).
    pub fn is_off_grid(&self) -> bool {
        self.off_grid
    }
}

impl fmt::Debug for Presentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Presentation({} bytes, linkable: {}, off grid: {})",
            self.compact.len(),
            self.linkable,
            self.off_grid
        )
    }
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("keys", &self.keys.len())
            .field("credentials", &self.credentials.len())
            .field("unspent", &self.credentials.iter().filter(|e| !e.spent).count())
            .finish_non_exhaustive()
    }
}

/// Unspent credentials of one issuer, as [`Wallet::inventory`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The issuer.
    pub issuer: String,
    /// The scoring policy (`id/version`) the credentials were issued under,
    /// from their `policy` claim, if they have one.
    pub policy: Option<String>,
    /// Credentials never presented and not expired.
    pub unspent: usize,
    /// Credentials presented at least once.
    pub spent: usize,
    /// Unspent credentials that have expired.
    pub expired: usize,
}

/// When fewer unspent credentials than this remain for an issuer, it is
/// time to ask for a new batch.
pub const REFILL_BELOW: usize = 3;

impl Inventory {
    /// Whether it is time to ask this issuer for a new batch.
    pub fn needs_refill(&self) -> bool {
        self.unspent < REFILL_BELOW
    }
}

impl Wallet {
    /// An empty wallet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Generates a fresh holder key, keeps it, and returns its public half
    /// for the issuer.
    pub fn generate_key(&mut self, rng: &mut dyn SecureRng) -> HolderPublicKey {
        let key = HolderSigningKey::generate(rng);
        let public = key.public_key();
        self.keys.insert(public.thumbprint(), key);
        public
    }

    /// Like [`Wallet::generate_key`], for a key of `alg` (e.g. P-256 for an
    /// issuer that only accepts ES256 holder keys).
    pub fn generate_key_with(&mut self, alg: Algorithm, rng: &mut dyn SecureRng) -> Result<HolderPublicKey, Error> {
        let key = HolderSigningKey::generate_with(alg, rng)?;
        Ok(self.insert_key(key))
    }

    /// Adds an existing holder key (e.g. restored from a backup) and returns
    /// its public half.
    pub fn insert_key(&mut self, key: HolderSigningKey) -> HolderPublicKey {
        let public = key.public_key();
        self.keys.insert(public.thumbprint(), key);
        public
    }

    /// Signs a JWS with the secret of `public`, if this wallet holds it.
    pub(crate) fn sign_with(&self, public: &HolderPublicKey, header: &Value, payload: &Value) -> Option<String> {
        self.keys.get(&public.thumbprint()).map(|k| jws::sign(header, payload, k))
    }

    /// Like [`Wallet::sign_with`], writing `alg` as given (e.g. the
    /// fully-specified `Ed25519` a recipient asks for instead of `EdDSA`),
    /// if it names the key's algorithm.
    pub(crate) fn sign_with_alg(
        &self,
        public: &HolderPublicKey,
        alg: &str,
        header: &Value,
        payload: &Value,
    ) -> Option<String> {
        let key = self.keys.get(&public.thumbprint()).filter(|k| k.algorithm().accepts_jws_alg(alg))?;
        let mut header = header.clone();
        header.as_object_mut()?.insert("alg".to_owned(), Value::from(alg));
        Some(jws::sign_raw(&header, payload, key))
    }

    /// Stores an issued credential after checking its structure and that it
    /// is bound to one of this wallet's keys. Storing the same credential
    /// twice is a no-op.
    pub fn store(&mut self, issued: IssuedCredential) -> Result<(), Error> {
        let parsed = ParsedCredential::parse(&issued, &Limits::default())?;
        if !self.keys.contains_key(&parsed.holder_key.thumbprint()) {
            return Err(HolderError::UnknownKey.into());
        }
        if self.credentials.iter().any(|e| e.parsed.jwt == parsed.jwt) {
            return Ok(());
        }
        self.credentials.push(Entry { issued, parsed, spent: false });
        Ok(())
    }

    /// Per issuer and policy: how many credentials are left, spent, expired
    /// at `now`.
    pub fn inventory(&self, now: UnixTime) -> Vec<Inventory> {
        let mut by_issuer: BTreeMap<(&str, Option<&str>), Inventory> = BTreeMap::new();
        for e in &self.credentials {
            let policy = e.parsed.disclosure("policy").and_then(|d| d.value().as_str());
            let inv = by_issuer.entry((&e.parsed.iss, policy)).or_insert_with(|| Inventory {
                issuer: e.parsed.iss.clone(),
                policy: policy.map(str::to_owned),
                unspent: 0,
                spent: 0,
                expired: 0,
            });
            if e.spent {
                inv.spent += 1;
            } else if e.parsed.exp <= now.as_secs() {
                inv.expired += 1;
            } else {
                inv.unspent += 1;
            }
        }
        by_issuer.into_values().collect()
    }

    /// Shows what answering `request` would reveal, without spending
    /// anything.
    pub fn preview(
        &self,
        request: &PresentationRequest,
        options: PresentOptions,
        now: UnixTime,
    ) -> Result<Preview, Error> {
        let (i, answer) = self.choose(request, options, now)?;
        let e = &self.credentials[i];
        Ok(Preview {
            audience: request.audience().to_owned(),
            issuer: e.parsed.iss.clone(),
            claims: request.disclose().iter().filter_map(|n| e.parsed.value(n).map(|v| (n.clone(), v))).collect(),
            predicates: answer.proven,
            linkable: e.spent,
            grid: grid_notes(e, request),
        })
    }

    /// Answers `request` with an unspent credential, marking it spent.
    /// Fails (and sends nothing) if no credential has every requested claim
    /// or satisfies every predicate.
    pub fn present(
        &mut self,
        request: &PresentationRequest,
        options: PresentOptions,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<Presentation, Error> {
        let (i, answer) = self.choose(request, options, now)?;
        let _ = rng; // range proofs are deterministic given the seed; kept for API stability
        let e = &self.credentials[i];
        let key = self.keys.get(&e.parsed.holder_key.thumbprint()).ok_or(HolderError::UnknownKey)?;
        let mut compact = e.parsed.jwt.clone();
        compact.push('~');
        for d in &answer.disclose {
            compact.push_str(d.encoded());
            compact.push('~');
        }
        let mut payload = json!({
            "iat": now.as_secs(),
            "aud": request.audience(),
            "nonce": request.nonce(),
            "sd_hash": sha256_b64(compact.as_bytes()),
        });
        if !answer.range_proofs.is_empty() {
            payload["range_proofs"] = Value::Object(answer.range_proofs);
        }
        let kb = jws::sign(&json!({"typ": KB_TYP}), &payload, key);
        compact.push_str(&kb);
        let linkable = e.spent;
        let off_grid = answer.off_grid;
        self.credentials[i].spent = true;
        Ok(Presentation { compact, linkable, off_grid })
    }

    /// Picks the credential to answer with, and what it will disclose.
    fn choose(
        &self,
        request: &PresentationRequest,
        options: PresentOptions,
        now: UnixTime,
    ) -> Result<(usize, Answer<'_>), Error> {
        let mut first_err: Option<Error> = None;
        let usable = |spent_ok: bool| {
            self.credentials
                .iter()
                .enumerate()
                .filter(move |(_, e)| e.parsed.exp > now.as_secs() && (spent_ok || !e.spent))
        };
        let passes: &[bool] = if options.allow_reuse { &[false, true] } else { &[false] };
        for &spent_ok in passes {
            for (i, e) in usable(spent_ok) {
                match answer(e, request, options) {
                    Ok(a) => return Ok((i, a)),
                    Err(err) => {
                        first_err.get_or_insert(err);
                    }
                }
            }
        }
        Err(first_err.unwrap_or_else(|| HolderError::NoCredential.into()))
    }

    /// The wallet as JSON, including every secret key. Write it only to an
    /// owner-only file; the buffer zeroizes on drop.
    pub fn to_secret_json(&self) -> Zeroizing<String> {
        let keys: Vec<Zeroizing<String>> = self.keys.values().map(HolderSigningKey::to_secret_string).collect();
        let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        let creds: Vec<Value> = self
            .credentials
            .iter()
            .map(|e| {
                let mut v = e.issued.to_json();
                v["spent"] = json!(e.spent);
                v
            })
            .collect();
        Zeroizing::new(to_json(&json!({"type": "creditproof-wallet/1", "keys": keys, "credentials": creds})))
    }

    /// Reads a wallet written by [`Wallet::to_secret_json`].
    pub fn from_secret_json(bytes: &[u8]) -> Result<Self, Error> {
        let limits = Limits::default().with_max_json_depth(8);
        let m = parse_json_object(bytes, &limits, "wallet")?;
        let bad = |r: &str| Error::from(MalformedError::Request { reason: format!("wallet: {r}") });
        if m.get("type").and_then(Value::as_str) != Some("creditproof-wallet/1") {
            return Err(bad("not a creditproof wallet file"));
        }
        let mut w = Self::new();
        for k in m.get("keys").and_then(Value::as_array).ok_or_else(|| bad("no keys array"))? {
            let key = HolderSigningKey::from_secret_string(k.as_str().unwrap_or_default())?;
            w.keys.insert(key.public_key().thumbprint(), key);
        }
        for c in m.get("credentials").and_then(Value::as_array).ok_or_else(|| bad("no credentials array"))? {
            let spent = c.get("spent").and_then(Value::as_bool).ok_or_else(|| bad("credential without `spent`"))?;
            w.store(IssuedCredential::from_json(c)?)?;
            if let Some(last) = w.credentials.last_mut() {
                last.spent = spent;
            }
        }
        Ok(w)
    }
}

/// What a credential will disclose and prove for a request.
struct Answer<'a> {
    /// The disclosures to send, in order, each once.
    disclose: Vec<&'a Disclosure>,
    proven: Vec<String>,
    range_proofs: Map<String, Value>,
    /// Whether a range predicate is off the grid (allowed by the options).
    off_grid: bool,
}

impl<'a> Answer<'a> {
    fn add(&mut self, d: &'a Disclosure) {
        if !self.disclose.iter().any(|o| o.digest() == d.digest()) {
            self.disclose.push(d);
        }
    }
}

/// The grid of the attribute a range predicate is about (none for perks,
/// or for an attribute the credential does not commit to).
fn grid_of<'a>(e: &'a Entry, p: &Predicate) -> Option<&'a Grid> {
    atoms(p).first().and_then(|a| e.parsed.grids.get(a.attribute))
}

fn grid_notes(e: &Entry, request: &PresentationRequest) -> Vec<GridNote> {
    request
        .predicates()
        .iter()
        .filter_map(|p| {
            let g = grid_of(e, p)?;
            Some(GridNote {
                predicate: p.to_string(),
                on_grid: g.allows(p),
                nearest: g.nearest(p).iter().map(ToString::to_string).collect(),
                cells: g.thresholds().len() + 1,
                narrowest_cell: g.narrowest_cell(),
            })
        })
        .collect()
}

fn answer<'a>(e: &'a Entry, request: &PresentationRequest, options: PresentOptions) -> Result<Answer<'a>, Error> {
    let c = &e.parsed;
    let mut a = Answer { disclose: Vec::new(), proven: Vec::new(), range_proofs: Map::new(), off_grid: false };
    for name in request.disclose() {
        let whole = c.whole(name);
        if whole.is_empty() {
            return Err(HolderError::ClaimNotAvailable { name: name.clone() }.into());
        }
        whole.into_iter().for_each(|d| a.add(d));
    }
    // A hostile verifier skips its own request validation: the wallet
    // enforces the one-proof-per-commitment rule itself.
    check_one_atom_per_commitment(request.predicates()).map_err(|reason| HolderError::UnsafeRequest { reason })?;
    // A spent credential already showed a proof on its commitments; a
    // second, different proof could reveal the value.
    if e.spent && request.predicates().iter().any(|p| !atoms(p).is_empty()) {
        return Err(HolderError::UnsafeRequest {
            reason: "a reused credential cannot prove a range predicate again: two proofs on one commitment \
                     could reveal the value"
                .into(),
        }
        .into());
    }
    // Probing: a verifier that picks any threshold binary-searches the
    // value. Off-grid thresholds are refused here, before the value is
    // looked at, so the refusal is the same for every value.
    for p in request.predicates() {
        if let Some(g) = grid_of(e, p).filter(|g| !g.allows(p)) {
            if !options.allow_off_grid {
                let nearest = g.nearest(p).iter().map(ToString::to_string).collect();
                return Err(HolderError::OffGrid { predicate: p.to_string(), nearest }.into());
            }
            a.off_grid = true;
        }
    }
    for p in request.predicates() {
        match p {
            Predicate::Perk { name } => {
                // The issuer-signed perk flag inside `perks`: it says
                // exactly "eligible". The `perks` disclosure itself shows
                // only the padded digests of the other flags.
                match (c.disclosure(PERKS), c.nested(PERKS, name)) {
                    (Some(perks), Some(flag)) if flag.value() == &Value::Bool(true) => {
                        a.add(perks);
                        a.add(flag);
                    }
                    (_, Some(_)) => return Err(HolderError::PredicateNotSatisfied { predicate: p.to_string() }.into()),
                    _ => return Err(HolderError::ClaimNotAvailable { name: format!("{PERKS}.{name}") }.into()),
                }
            }
            _ => {
                let not_satisfied = || Error::from(HolderError::PredicateNotSatisfied { predicate: p.to_string() });
                for atom in atoms(p) {
                    let entry = c
                        .ranges
                        .get(atom.attribute)
                        .ok_or_else(|| HolderError::ClaimNotAvailable { name: atom.attribute.to_owned() })?;
                    let secrets = e.issued.range_secrets().ok_or_else(not_satisfied)?;
                    let value = secrets.value(atom.attribute).ok_or_else(not_satisfied)?;
                    let proof = prove(entry, secrets.seed(), value, &atom).map_err(|_| not_satisfied())?;
                    a.range_proofs.insert(atom.to_string(), Value::String(proof));
                }
            }
        }
        a.proven.push(p.to_string());
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;
    use crate::{Claims, Issuer, IssuerSigningKey};

    /// A hostile verifier builds its request by hand, skipping validation:
    /// the wallet still refuses two proofs on one commitment.
    #[test]
    fn wallet_refuses_two_proofs_on_one_commitment_from_an_unvalidated_request() {
        let mut rng = SeededRng::new(b"hostile");
        let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
        let mut w = Wallet::new();
        let pk = w.generate_key(&mut rng);
        let mut claims = Claims::new();
        claims.commit("score", 712, 950).unwrap();
        let now = UnixTime(1_795_262_400);
        w.store(issuer.issue(&pk, &claims, now, &mut rng).unwrap()).unwrap();
        let hostile = PresentationRequest::unchecked_for_tests(
            "https://evil.example",
            vec!["score>=0".parse().unwrap(), "score>=511".parse().unwrap()],
        );
        let e = w.present(&hostile, PresentOptions::default(), now, &mut rng).unwrap_err();
        assert_eq!(e.check(), "holder.unsafe_request");
        assert_eq!(w.inventory(now)[0].unspent, 1, "nothing spent, nothing sent");
    }
}
