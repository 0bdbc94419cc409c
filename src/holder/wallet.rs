//! The holder's wallet: keys, credentials, and presentations that reveal
//! only what a request asks for.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, HolderError, MalformedError, SignatureError};
use crate::format::encoding::{parse_json_object, to_json};
use crate::format::jws::{self, UnverifiedJws};
use crate::format::keys::{Algorithm, HolderPublicKey, HolderSigningKey};
use crate::format::rng::SecureRng;
use crate::format::sd_jwt::disclosure::{sha256_b64, Disclosure};
use crate::format::sd_jwt::{CREDENTIAL_TYP, KB_TYP};
use crate::format::status_list::{STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID};
use crate::format::time::UnixTime;
use crate::format::trust::KeyProvider;
use crate::profile::credential::{Batch, IssuedCredential, ParsedCredential};
use crate::profile::grid::Grid;
use crate::profile::predicate::Predicate;
use crate::profile::range_claim::{atoms, check_one_atom_per_commitment, prove};
use crate::profile::request::PresentationRequest;
use crate::profile::status::StatusLists;
use crate::profile::PERKS;
use crate::Limits;

/// A holder's keys and credentials.
///
/// Every credential is bound to its own key and, by default, is presented
/// at most once (see [`PresentOptions::allow_reuse`]).
///
/// # Which credential answers a request
///
/// The wallet never knowingly spends a credential on a presentation the
/// verifier is bound to reject. [`Wallet::present`] considers only the
/// credentials of the issuers and types the request accepts
/// ([`PresentationRequest::issuers`], [`PresentationRequest::vct_values`]),
/// and skips those that are expired, shown revoked or suspended by a status
/// list the wallet was given ([`Wallet::set_status_lists`]), or superseded
/// by a correcting batch of their issuer ([`Wallet::store_batch`]). Among
/// the rest it takes the newest issuance first (latest `iat`, then latest
/// `exp`, then the most recently stored), spent ones only with
/// [`PresentOptions::allow_reuse`]. When none can answer, the refusal names
/// the reason: no accepted credential (`holder.not_accepted`), a missing
/// claim (`holder.claim_not_available`), a claim whose value does not
/// satisfy the predicate (`holder.predicate_not_satisfied`), a threshold off
/// the grid (`holder.off_grid`), or credentials that could answer but are
/// all spent, expired, revoked, suspended or superseded
/// (`holder.none_usable`, with how many of each).
#[derive(Default)]
pub struct Wallet {
    keys: BTreeMap<String, HolderSigningKey>,
    credentials: Vec<Entry>,
    /// Batches superseded by a correction: (issuer, batch id) → the id of
    /// the correcting batch. Kept so that a superseded batch stored later
    /// is superseded at once.
    superseded: BTreeMap<(String, String), String>,
}

struct Entry {
    issued: IssuedCredential,
    parsed: ParsedCredential,
    spent: bool,
    /// The issuer's id of the batch it came in, if the batch file had one.
    batch: Option<String>,
    /// The id of the correcting batch that replaced it.
    superseded_by: Option<String>,
    /// What the newest status list the wallet was given shows.
    status: Option<SeenStatus>,
}

/// A `policy` claim as the wallet shows it: `id/version`.
fn policy_name(claim: Option<&Value>) -> Option<String> {
    let r = crate::profile::policy::PolicyRef::from_claim(claim?)?;
    Some(format!("{}/{}", r.id, r.version))
}

impl Entry {
    fn new(issued: IssuedCredential, parsed: ParsedCredential) -> Self {
        Self { issued, parsed, spent: false, batch: None, superseded_by: None, status: None }
    }

    /// The `policy` claim as `id/version` (the object form and the older
    /// string form alike).
    fn policy(&self) -> Option<String> {
        policy_name(self.parsed.disclosure("policy").map(|d| d.value()))
    }

    /// Why this credential must not be presented, spent or not.
    fn blocked(&self, now: UnixTime) -> Option<CredentialState> {
        if self.parsed.exp <= now.as_secs() {
            Some(CredentialState::Expired)
        } else if self.status.is_some_and(|s| s.status == KnownStatus::Revoked) {
            Some(CredentialState::Revoked)
        } else if self.superseded_by.is_some() {
            Some(CredentialState::Superseded)
        } else if self.status.is_some_and(|s| s.status == KnownStatus::Suspended) {
            Some(CredentialState::Suspended)
        } else {
            None
        }
    }

    fn state(&self, now: UnixTime) -> CredentialState {
        if self.spent {
            CredentialState::Spent
        } else {
            self.blocked(now).unwrap_or(CredentialState::Unused)
        }
    }
}

/// A credential's status as a status list given to the wallet shows it,
/// ordered from the least to the most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KnownStatus {
    /// Valid when the list was issued.
    Valid,
    /// Suspended when the list was issued (the issuer may reinstate it: a
    /// newer list that shows it valid makes it usable again).
    Suspended,
    /// Revoked: final, whatever a later list shows.
    Revoked,
}

impl KnownStatus {
    fn from_value(value: u8) -> Option<Self> {
        match value {
            STATUS_VALID => Some(Self::Valid),
            STATUS_INVALID => Some(Self::Revoked),
            STATUS_SUSPENDED => Some(Self::Suspended),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Valid, Self::Suspended, Self::Revoked].into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for KnownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status and the `iat` of the list that showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeenStatus {
    status: KnownStatus,
    list_iat: u64,
}

/// Where a credential stands, as [`Wallet::inventory`] counts it and
/// [`Wallet::list`] shows it. A credential is in the first state that
/// applies, in the order of the variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialState {
    /// Presented at least once.
    Spent,
    /// Past its `exp`.
    Expired,
    /// Shown revoked by a status list the wallet was given.
    Revoked,
    /// Replaced by a correcting batch of its issuer.
    Superseded,
    /// Shown suspended by the newest status list the wallet was given.
    Suspended,
    /// Never presented, and nothing the wallet knows stops it.
    Unused,
}

impl fmt::Display for CredentialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Spent => "spent",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Superseded => "superseded",
            Self::Suspended => "suspended",
            Self::Unused => "unused",
        })
    }
}

/// One credential as [`Wallet::list`] shows it: what the holder needs to
/// manage the wallet, nothing secret and no correlating handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCredential {
    /// The issuer.
    pub issuer: String,
    /// The credential type (`vct`), if it has one.
    pub vct: Option<String>,
    /// The scoring policy (`id/version`), from its `policy` claim.
    pub policy: Option<String>,
    /// The issuer's id of its batch, if the batch file had one.
    pub batch: Option<String>,
    /// When it was issued (`iat`).
    pub issued: UnixTime,
    /// When it expires (`exp`).
    pub expires: UnixTime,
    /// Whether it has a status list entry at all.
    pub has_status: bool,
    /// Its status as the newest list the wallet was given shows it, and
    /// that list's `iat`.
    pub known_status: Option<(KnownStatus, UnixTime)>,
    /// Whether it was presented.
    pub spent: bool,
    /// The correcting batch that superseded it.
    pub superseded_by: Option<String>,
    /// Where it stands.
    pub state: CredentialState,
}

/// Which credentials [`Wallet::remove`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal<'a> {
    /// Every credential of this issuer.
    Issuer(&'a str),
    /// Every credential of the batch with this id.
    Batch(&'a str),
    /// Every credential past its `exp`.
    Expired,
}

/// What [`Wallet::store_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// Credentials stored (ones already held are not counted).
    pub stored: usize,
    /// Earlier credentials this batch superseded.
    pub superseded: usize,
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

/// The credentials of one issuer and policy, as [`Wallet::inventory`]
/// counts them: each once, under its [`CredentialState`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The issuer.
    pub issuer: String,
    /// The scoring policy (`id/version`) the credentials were issued under,
    /// from their `policy` claim, if they have one.
    pub policy: Option<String>,
    /// Credentials never presented that nothing the wallet knows stops
    /// (not expired, revoked, superseded or suspended).
    pub unspent: usize,
    /// Credentials presented at least once.
    pub spent: usize,
    /// Unspent credentials that have expired.
    pub expired: usize,
    /// Unspent credentials a status list showed revoked.
    pub revoked: usize,
    /// Unspent credentials superseded by a correcting batch.
    pub superseded: usize,
    /// Unspent credentials the newest status list showed suspended.
    pub suspended: usize,
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

    /// The key a holder disputes with at `issuer`: the key of the newest
    /// credential that issuer bound to this wallet (its thumbprint is one
    /// the issuer knows, so the issuer learns nothing new from it).
    fn dispute_key(&self, issuer: &str) -> Option<&HolderSigningKey> {
        self.credentials
            .iter()
            .filter(|e| e.parsed.iss == issuer)
            .max_by_key(|e| (e.parsed.iat, e.parsed.holder_key.thumbprint()))
            .and_then(|e| self.keys.get(&e.parsed.holder_key.thumbprint()))
    }

    /// Signs a query to `issuer` (for the breakdown it keeps, or the state
    /// of this holder's disputes) with [the dispute key](crate::dispute);
    /// `None` if the wallet holds no credential of that issuer.
    pub fn sign_holder_query(&self, issuer: &str, now: UnixTime, rng: &mut dyn SecureRng) -> Option<String> {
        self.dispute_key(issuer).map(|k| crate::profile::dispute::sign_holder_query(k, issuer, now, rng))
    }

    /// Signs a dispute of `entries` of `breakdown` (a breakdown `issuer`
    /// signed for the dispute key, e.g. fetched with
    /// [`Wallet::sign_holder_query`]) for `issuer`; `None` if the wallet
    /// holds no credential of that issuer.
    pub fn sign_dispute(
        &self,
        issuer: &str,
        breakdown: &str,
        entries: &[crate::profile::policy::DisputeEntry],
        evidence: Option<&[u8]>,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Option<String> {
        self.dispute_key(issuer)
            .map(|k| crate::profile::dispute::sign_dispute_request(k, issuer, breakdown, entries, evidence, now, rng))
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
    /// twice is a no-op. A credential stored this way has no batch id, so a
    /// correction can supersede it only by issuer and policy (see
    /// [`Wallet::store_batch`]).
    pub fn store(&mut self, issued: IssuedCredential) -> Result<(), Error> {
        let parsed = self.check(&issued)?;
        self.insert(issued, parsed, None);
        Ok(())
    }

    /// Stores a batch file's credentials, all or none, recording their
    /// batch id. A batch that supersedes earlier batches (one issued by a
    /// correction: [`Batch::supersedes`]) marks the credentials of those
    /// batches of the same issuer as superseded, now and if they are
    /// stored later, and so does it for the credentials of that issuer and
    /// the same policy, issued no later than it, that were stored without a
    /// batch id (from older batch files). The wallet never presents a superseded credential: the
    /// issuer revoked it in the correction.
    ///
    /// Every credential must be of one issuer, the one the file names.
    pub fn store_batch(&mut self, batch: Batch) -> Result<Stored, Error> {
        let mut checked = Vec::with_capacity(batch.credentials().len());
        for c in batch.credentials() {
            checked.push(self.check(c)?);
        }
        let iss = match (checked.first(), batch.issuer()) {
            (Some(first), _) => first.iss.clone(),
            (None, Some(i)) => i.to_owned(),
            (None, None) => return Ok(Stored::default()),
        };
        if checked.iter().any(|p| p.iss != iss) || batch.issuer().is_some_and(|i| i != iss) {
            return Err(bad_credential("the batch's credentials are not all from the issuer it names"));
        }
        let policy = policy_name(checked.first().and_then(|p| p.disclosure("policy")).map(|d| d.value()));
        let issued_at = checked.iter().map(|p| p.iat).max().unwrap_or(0);
        let id = batch.id().map(str::to_owned);
        let supersedes = batch.supersedes().to_vec();
        let before = self.credentials.len();
        let mut stored = Stored::default();
        let mut ours = Vec::with_capacity(checked.len());
        for (issued, parsed) in batch.into_credentials().into_iter().zip(checked) {
            ours.push(self.insert(issued, parsed, id.clone()));
        }
        stored.stored = self.credentials.len() - before;
        if let (Some(id), false) = (id, supersedes.is_empty()) {
            for s in supersedes {
                self.superseded.insert((iss.clone(), s), id.clone());
            }
            for (i, e) in self.credentials.iter_mut().enumerate() {
                if e.parsed.iss != iss || e.superseded_by.is_some() || ours.contains(&i) {
                    continue;
                }
                let listed = e.batch.as_ref().is_some_and(|b| self.superseded.contains_key(&(iss.clone(), b.clone())));
                // Stored without a batch id: the correction replaces the
                // holder's credentials of this issuer and policy issued
                // before it.
                let legacy = e.batch.is_none() && e.policy() == policy && e.parsed.iat <= issued_at;
                if listed || legacy {
                    e.superseded_by = Some(id.clone());
                    stored.superseded += 1;
                }
            }
        }
        Ok(stored)
    }

    /// Like [`Wallet::store_batch`], after checking every credential's
    /// issuer signature against `keys` (e.g. a [`crate::TrustStore`] loaded
    /// from the issuer's metadata): a batch file forged in an issuer's name
    /// (with the holder's public keys, which the holder hands out) is
    /// refused instead of superseding that issuer's genuine batches.
    /// Nothing is stored unless every signature verifies.
    pub fn store_batch_verified(&mut self, batch: Batch, keys: &impl KeyProvider) -> Result<Stored, Error> {
        let limits = Limits::default();
        for c in batch.credentials() {
            let parsed = self.check(c)?;
            let jws = UnverifiedJws::parse(&parsed.jwt, CREDENTIAL_TYP, &limits, "credential")?;
            let key = keys.issuer_key(&parsed.iss, jws.kid()?)?;
            if !jws.verify(&key) {
                return Err(SignatureError::Issuer.into());
            }
        }
        self.store_batch(batch)
    }

    /// Parses a credential and checks it is bound to a key of this wallet.
    fn check(&self, issued: &IssuedCredential) -> Result<ParsedCredential, Error> {
        let parsed = ParsedCredential::parse(issued, &Limits::default())?;
        if !self.keys.contains_key(&parsed.holder_key.thumbprint()) {
            return Err(HolderError::UnknownKey.into());
        }
        Ok(parsed)
    }

    /// Adds a checked credential (or finds it, if held) and returns its
    /// index. A batch id fills in one that was not known.
    fn insert(&mut self, issued: IssuedCredential, parsed: ParsedCredential, batch: Option<String>) -> usize {
        let i = match self.credentials.iter().position(|e| e.parsed.jwt == parsed.jwt) {
            Some(i) => i,
            None => {
                self.credentials.push(Entry::new(issued, parsed));
                self.credentials.len() - 1
            }
        };
        let e = &mut self.credentials[i];
        if e.batch.is_none() {
            e.batch = batch;
        }
        if let Some(b) = &e.batch {
            if e.superseded_by.is_none() {
                e.superseded_by = self.superseded.get(&(e.parsed.iss.clone(), b.clone())).cloned();
            }
        }
        i
    }

    /// Records what signature-checked status lists show about the held
    /// credentials, so that [`Wallet::present`] skips the revoked and
    /// suspended ones and [`Wallet::inventory`] counts them apart. Build
    /// `lists` with [`StatusLists::add`] and the issuers' keys (their
    /// metadata); the lists' age does not matter here: a revocation is
    /// final however old the list that shows it, and for the rest the
    /// newest list wins (a suspension lasts until a newer list shows the
    /// credential valid). A list no credential points at changes nothing.
    /// Returns how many credentials' known status changed.
    pub fn set_status_lists(&mut self, lists: &StatusLists) -> usize {
        let mut changed = 0;
        for e in &mut self.credentials {
            let Some(r) = &e.parsed.status else {
                continue;
            };
            let Some((list_iat, status)) =
                lists.lookup(&e.parsed.iss, r).and_then(|(iat, v)| Some((iat, KnownStatus::from_value(v)?)))
            else {
                continue;
            };
            let seen = SeenStatus { status, list_iat };
            let newer = match e.status {
                None => true,
                Some(old) if old.status == KnownStatus::Revoked => false,
                Some(old) => list_iat > old.list_iat || (list_iat == old.list_iat && status > old.status),
            };
            if newer && e.status != Some(seen) {
                e.status = Some(seen);
                changed += 1;
            }
        }
        changed
    }

    /// The status lists the held credentials point at, as (issuer, list
    /// URI) pairs, each once: what a wallet fetches to learn their status
    /// ([`Wallet::set_status_lists`]).
    pub fn status_sources(&self) -> Vec<(String, String)> {
        let mut sources: Vec<(String, String)> = self
            .credentials
            .iter()
            .filter_map(|e| e.parsed.status.as_ref().map(|r| (e.parsed.iss.clone(), r.uri.clone())))
            .collect();
        sources.sort();
        sources.dedup();
        sources
    }

    /// Removes the credentials `which` names, and the keys only they used.
    /// Returns how many credentials were removed.
    pub fn remove(&mut self, which: Removal<'_>, now: UnixTime) -> usize {
        let gone = |e: &Entry| match which {
            Removal::Issuer(iss) => e.parsed.iss == iss,
            Removal::Batch(id) => e.batch.as_deref() == Some(id),
            Removal::Expired => e.parsed.exp <= now.as_secs(),
        };
        let (removed, kept): (Vec<Entry>, Vec<Entry>) =
            std::mem::take(&mut self.credentials).into_iter().partition(gone);
        self.credentials = kept;
        for e in &removed {
            let thumbprint = e.parsed.holder_key.thumbprint();
            if !self.credentials.iter().any(|k| k.parsed.holder_key.thumbprint() == thumbprint) {
                self.keys.remove(&thumbprint);
            }
        }
        removed.len()
    }

    /// Every held credential, per issuer and newest first, as a holder
    /// reviews the wallet.
    pub fn list(&self, now: UnixTime) -> Vec<HeldCredential> {
        let mut order: Vec<usize> = (0..self.credentials.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&self.credentials[a].parsed, &self.credentials[b].parsed);
            (&x.iss, y.iat, y.exp, b).cmp(&(&y.iss, x.iat, x.exp, a))
        });
        order
            .into_iter()
            .map(|i| {
                let e = &self.credentials[i];
                HeldCredential {
                    issuer: e.parsed.iss.clone(),
                    vct: e.parsed.vct.clone(),
                    policy: e.policy(),
                    batch: e.batch.clone(),
                    issued: UnixTime(e.parsed.iat),
                    expires: UnixTime(e.parsed.exp),
                    has_status: e.parsed.status.is_some(),
                    known_status: e.status.map(|s| (s.status, UnixTime(s.list_iat))),
                    spent: e.spent,
                    superseded_by: e.superseded_by.clone(),
                    state: e.state(now),
                }
            })
            .collect()
    }

    /// Per issuer and policy: how many credentials are unused, spent,
    /// expired, revoked, superseded and suspended at `now` (each counted
    /// once, see [`CredentialState`]).
    pub fn inventory(&self, now: UnixTime) -> Vec<Inventory> {
        let mut by_issuer: BTreeMap<(&str, Option<String>), Inventory> = BTreeMap::new();
        for e in &self.credentials {
            let policy = e.policy();
            let inv = by_issuer.entry((&e.parsed.iss, policy.clone())).or_insert_with(|| Inventory {
                issuer: e.parsed.iss.clone(),
                policy,
                unspent: 0,
                spent: 0,
                expired: 0,
                revoked: 0,
                superseded: 0,
                suspended: 0,
            });
            *match e.state(now) {
                CredentialState::Spent => &mut inv.spent,
                CredentialState::Expired => &mut inv.expired,
                CredentialState::Revoked => &mut inv.revoked,
                CredentialState::Superseded => &mut inv.superseded,
                CredentialState::Suspended => &mut inv.suspended,
                CredentialState::Unused => &mut inv.unspent,
            } += 1;
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

    /// Picks the credential to answer with, and what it will disclose (see
    /// "Which credential answers a request" on [`Wallet`]).
    fn choose(
        &self,
        request: &PresentationRequest,
        options: PresentOptions,
        now: UnixTime,
    ) -> Result<(usize, Answer<'_>), Error> {
        // A hostile verifier skips its own request validation: the wallet
        // enforces the one-proof-per-commitment rule itself, whatever it holds.
        check_one_atom_per_commitment(request.predicates()).map_err(|reason| HolderError::UnsafeRequest { reason })?;
        if self.credentials.is_empty() {
            return Err(HolderError::NoCredential.into());
        }
        let mut order: Vec<usize> = (0..self.credentials.len())
            .filter(|&i| {
                let c = &self.credentials[i].parsed;
                request.accepts(&c.iss, c.vct.as_deref())
            })
            .collect();
        if order.is_empty() {
            return Err(HolderError::NotAccepted {
                issuers: request.issuers().to_vec(),
                vct_values: request.vct_values().to_vec(),
            }
            .into());
        }
        // Newest issuance first; among equals, the most recently stored.
        order.sort_by(|&a, &b| {
            let (x, y) = (&self.credentials[a].parsed, &self.credentials[b].parsed);
            (y.iat, y.exp, b).cmp(&(x.iat, x.exp, a))
        });
        let mut refusal = Refusal::default();
        // 1. Unspent credentials that nothing stops.
        for &i in &order {
            let e = &self.credentials[i];
            if e.spent || e.blocked(now).is_some() {
                continue;
            }
            match answer(e, request, options, false) {
                Ok(a) => return Ok((i, a)),
                Err(err) => refusal.keep(err),
            }
        }
        // 2. If allowed, spent ones that nothing else stops (linkable).
        let mut reuse_refused = None;
        if options.allow_reuse {
            for &i in &order {
                let e = &self.credentials[i];
                if !e.spent || e.blocked(now).is_some() {
                    continue;
                }
                match answer(e, request, options, true) {
                    Ok(a) => return Ok((i, a)),
                    Err(err) if err.check() == "holder.unsafe_request" => {
                        reuse_refused.get_or_insert(err);
                    }
                    Err(_) => {}
                }
            }
        }
        // 3. Why not: would a spent, expired, revoked, superseded or
        // suspended credential have answered? Then that is the reason.
        let mut unusable = [0usize; 5];
        for &i in &order {
            let e = &self.credentials[i];
            let state = e.state(now);
            if state == CredentialState::Unused {
                continue; // tried in 1
            }
            match answer(e, request, options, false) {
                Ok(_) => unusable[state as usize] += 1,
                Err(err) => refusal.keep(err),
            }
        }
        if let Some(err) = reuse_refused {
            return Err(err);
        }
        if unusable.iter().any(|&n| n > 0) {
            let [spent, expired, revoked, superseded, suspended] = unusable;
            return Err(HolderError::NoneUsable { spent, expired, revoked, suspended, superseded }.into());
        }
        Err(refusal.best.unwrap_or_else(|| HolderError::NoCredential.into()))
    }

    /// The wallet as JSON, including every secret key. Write it only to an
    /// owner-only file; the buffer zeroizes on drop.
    ///
    /// Format `creditproof-wallet/2`: each credential with `spent` and, when
    /// known, its `batch`, `superseded_by` and last seen `status` (`value`,
    /// `list_iat`); and the `superseded` batches (`issuer`, `batch`, `by`).
    pub fn to_secret_json(&self) -> Zeroizing<String> {
        let keys: Vec<Zeroizing<String>> = self.keys.values().map(HolderSigningKey::to_secret_string).collect();
        let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        let creds: Vec<Value> = self
            .credentials
            .iter()
            .map(|e| {
                let mut v = e.issued.to_json();
                v["spent"] = json!(e.spent);
                if let Some(b) = &e.batch {
                    v["batch"] = json!(b);
                }
                if let Some(b) = &e.superseded_by {
                    v["superseded_by"] = json!(b);
                }
                if let Some(s) = e.status {
                    v["status"] = json!({"value": s.status.as_str(), "list_iat": s.list_iat});
                }
                v
            })
            .collect();
        let superseded: Vec<Value> = self
            .superseded
            .iter()
            .map(|((issuer, batch), by)| json!({"issuer": issuer, "batch": batch, "by": by}))
            .collect();
        Zeroizing::new(to_json(&json!({
            "type": WALLET_TYPE,
            "keys": keys,
            "credentials": creds,
            "superseded": superseded,
        })))
    }

    /// Reads a wallet written by [`Wallet::to_secret_json`], in this format
    /// or the older `creditproof-wallet/1` (no batches, supersessions or
    /// statuses).
    pub fn from_secret_json(bytes: &[u8]) -> Result<Self, Error> {
        let limits = Limits::default().with_max_json_depth(8);
        let m = parse_json_object(bytes, &limits, "wallet")?;
        let bad = |r: &str| Error::from(MalformedError::Request { reason: format!("wallet: {r}") });
        if !matches!(m.get("type").and_then(Value::as_str), Some(WALLET_TYPE | WALLET_TYPE_V1)) {
            return Err(bad("not a creditproof wallet file"));
        }
        let mut w = Self::new();
        for k in m.get("keys").and_then(Value::as_array).ok_or_else(|| bad("no keys array"))? {
            let key = HolderSigningKey::from_secret_string(k.as_str().unwrap_or_default())?;
            w.keys.insert(key.public_key().thumbprint(), key);
        }
        let opt_str = |c: &Value, k: &str| -> Result<Option<String>, Error> {
            match c.get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!("a credential's `{k}` is not a string"))),
            }
        };
        for c in m.get("superseded").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            let (Some(issuer), Some(batch), Some(by)) =
                (opt_str(c, "issuer")?, opt_str(c, "batch")?, opt_str(c, "by")?)
            else {
                return Err(bad("a superseded batch is {issuer, batch, by}"));
            };
            w.superseded.insert((issuer, batch), by);
        }
        for c in m.get("credentials").and_then(Value::as_array).ok_or_else(|| bad("no credentials array"))? {
            let spent = c.get("spent").and_then(Value::as_bool).ok_or_else(|| bad("credential without `spent`"))?;
            let issued = IssuedCredential::from_json(c)?;
            let parsed = w.check(&issued)?;
            let i = w.insert(issued, parsed, opt_str(c, "batch")?);
            let e = &mut w.credentials[i];
            e.spent |= spent;
            if let Some(by) = opt_str(c, "superseded_by")? {
                e.superseded_by = Some(by);
            }
            if let Some(s) = c.get("status") {
                let status = s.get("value").and_then(Value::as_str).and_then(KnownStatus::parse);
                let list_iat = s.get("list_iat").and_then(Value::as_u64);
                let (Some(status), Some(list_iat)) = (status, list_iat) else {
                    return Err(bad("a credential's `status` is {value, list_iat}"));
                };
                e.status = Some(SeenStatus { status, list_iat });
            }
        }
        Ok(w)
    }
}

/// The type of a wallet file.
const WALLET_TYPE: &str = "creditproof-wallet/2";
/// The type of a wallet file before batches, supersession and statuses.
const WALLET_TYPE_V1: &str = "creditproof-wallet/1";

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

/// The most telling of the refusals of several credentials: a threshold off
/// the grid (the holder can choose to answer it) over a claim whose value
/// does not satisfy the predicate over a missing claim; the first of equal
/// rank, in the order of preference.
#[derive(Default)]
struct Refusal {
    best: Option<Error>,
}

impl Refusal {
    fn rank(e: &Error) -> u8 {
        match e {
            Error::Holder(HolderError::OffGrid { .. }) => 4,
            Error::Holder(HolderError::UnsafeRequest { .. }) => 3,
            Error::Holder(HolderError::PredicateNotSatisfied { .. }) => 2,
            Error::Holder(HolderError::ClaimNotAvailable { .. }) => 1,
            _ => 0,
        }
    }

    fn keep(&mut self, e: Error) {
        if self.best.as_ref().is_none_or(|b| Self::rank(&e) > Self::rank(b)) {
            self.best = Some(e);
        }
    }
}

fn bad_credential(reason: &str) -> Error {
    HolderError::BadCredential { reason: reason.into() }.into()
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

/// What credential `e` would send for `request`; `reused` when it was
/// presented before.
fn answer<'a>(
    e: &'a Entry,
    request: &PresentationRequest,
    options: PresentOptions,
    reused: bool,
) -> Result<Answer<'a>, Error> {
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
    if reused && request.predicates().iter().any(|p| !atoms(p).is_empty()) {
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
