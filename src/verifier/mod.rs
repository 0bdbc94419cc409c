//! The verifier: the ordered checks of DESIGN.md, ending in a
//! [`VerifiedPresentation`] that only this module can construct.
//!
//! Order: size limits → split and strict-decode → header (`alg`, `typ`) →
//! issuer accepted by the request → issuer trusted (`iss` + `kid`) → issuer
//! signature → time → type (`vct`) accepted by the request → disclosures →
//! holder binding → status → predicates. The first failure is returned as
//! its own error variant.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::{
    DisclosureError, Error, HolderBindingError, LimitError, MalformedError, PredicateError, RequestError,
    SignatureError, StatusError, TimeError,
};
use crate::format::ed25519::{self, BatchItem, KeyTable, KeyTables, VerifyKey};
use crate::format::encoding::{get_opt_u64, get_str, get_u64};
use crate::format::jws::UnverifiedJws;
use crate::format::keys::{Algorithm, PublicKey, Role};
use crate::format::sd_jwt::disclosure::process;
use crate::format::sd_jwt::{check_key_binding_claims, cnf_holder_key, split, ExpectedBinding, Split, VerifierOptions};
use crate::format::sd_jwt::{CREDENTIAL_TYP, KB_TYP};
use crate::format::time::UnixTime;
use crate::format::trust::KeyProvider;
use crate::profile::policy::{PolicyPin, PolicyRef};
use crate::profile::predicate::Predicate;
use crate::profile::range_claim::{self, parse_range_claim, proofs_of};
use crate::profile::request::PresentationRequest;
use crate::profile::status::{StatusLists, StatusRef, StatusRefetch};
use crate::profile::PERKS;

/// Checks presentations against requests, trusting the keys of `K`.
#[derive(Debug, Clone)]
pub struct Verifier<K: KeyProvider> {
    keys: K,
    options: VerifierOptions,
    status_lists: StatusLists,
    /// Precomputed multiples of the trusted Ed25519 keys used so far.
    tables: KeyTables,
    /// The policy versions accepted; empty: any.
    policies: Vec<PolicyPin>,
}

/// A presentation that passed every check. Only [`Verifier::verify`]
/// creates one; it holds the issuer, what was disclosed and what was
/// proven, and nothing undisclosed.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedPresentation {
    issuer: String,
    vct: String,
    disclosed: BTreeMap<String, Value>,
    proven: Vec<Predicate>,
    status: Option<StatusRef>,
}

impl VerifiedPresentation {
    /// The credential's status reference (list `uri` and index), when it has
    /// one: what the issuer needs to suspend or revoke this credential
    /// (`creditproof issuer suspend --index URI#IDX`).
    pub fn status(&self) -> Option<&StatusRef> {
        self.status.as_ref()
    }
    /// The issuer (`iss`), whose key was in the trust store.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The credential type (`vct`).
    pub fn vct(&self) -> &str {
        &self.vct
    }
    /// The claims the holder disclosed, as the issuer signed them.
    pub fn disclosed(&self) -> &BTreeMap<String, Value> {
        &self.disclosed
    }
    /// The predicates proven true.
    pub fn proven(&self) -> &[Predicate] {
        &self.proven
    }
}

/// The JSON verdict for an outcome: `{"accepted", "issuer", "vct",
/// "disclosed", "proven", "status"}` (`status` is `{"uri", "idx"}`, or null
/// for a credential without one) or `{"accepted": false, "error": {"check",
/// "message"}}`.
pub fn verdict_json(outcome: &Result<VerifiedPresentation, Error>) -> Value {
    match outcome {
        Ok(v) => json!({
            "accepted": true,
            "issuer": v.issuer,
            "vct": v.vct,
            "disclosed": v.disclosed,
            "proven": v.proven.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "status": v.status.as_ref().map_or(Value::Null, |s| json!({"uri": s.uri, "idx": s.idx})),
        }),
        Err(e) => json!({
            "accepted": false,
            "issuer": Value::Null,
            "disclosed": {},
            "proven": [],
            "error": {"check": e.check(), "message": e.to_string()},
        }),
    }
}

impl<K: KeyProvider> Verifier<K> {
    /// A verifier with default options.
    pub fn new(keys: K) -> Self {
        Self::with_options(keys, VerifierOptions::default())
    }

    /// A verifier with explicit options.
    pub fn with_options(keys: K, options: VerifierOptions) -> Self {
        Self { keys, options, status_lists: StatusLists::new(), tables: KeyTables::default(), policies: Vec::new() }
    }

    /// Accepts only credentials scored under one of these policy versions
    /// (by `ID@VERSION` or by the hash of the published document). The
    /// holder must then disclose the `policy` claim (otherwise
    /// `request.policy_not_disclosed`), and a credential under any other
    /// version is refused (`request.policy`). Empty: any policy.
    pub fn accept_policies(&mut self, pins: Vec<PolicyPin>) -> &mut Self {
        self.policies = pins;
        self
    }

    /// Loads a status list token the verifier fetched at `now`: its
    /// signature is checked against the trust store, a token from the future
    /// is refused, and its list decoded once, so each later verification
    /// costs one lookup. A credential that carries a status is rejected
    /// (`status.no_list`) until its list is loaded. Which of several tokens
    /// for one list counts, and for how long: [`StatusLists`].
    pub fn add_status_list(&mut self, token: &str, now: UnixTime) -> Result<&mut Self, Error> {
        self.status_lists.add(token, &self.keys, &self.options, now)?;
        Ok(self)
    }

    /// Loads a status list token fetched at `now` from `uri` for the
    /// credentials of `issuer`: the checks of
    /// [`Verifier::add_status_list`], and its `sub` must be `uri`
    /// (`status.sub`) and its `iss` `issuer` (`status.issuer`). Returns when
    /// the list stops counting: fetch it again from then on.
    pub fn add_fetched_status_list(
        &mut self,
        issuer: &str,
        uri: &str,
        token: &str,
        now: UnixTime,
    ) -> Result<UnixTime, Error> {
        self.status_lists.add_fetched(issuer, uri, token, &self.keys, &self.options, now)
    }

    /// The issuer and status reference of the credential in
    /// `presentation`, once the checks up to its issuer signature pass
    /// (size, encoding, header, a trusted issuer key, the signature): which
    /// list a service must hold fresh before it verifies the presentation.
    /// `Ok(None)` for a credential without status. Nothing is fetched here,
    /// and a presentation that passes is not yet verified.
    pub fn credential_status(&self, presentation: &str) -> Result<Option<(String, StatusRef)>, Error> {
        self.status_of(presentation, true)
    }

    /// The issuer and status reference the credential in `presentation`
    /// *claims*, checked up to a trusted issuer key but **not** its
    /// signature: a cheap look for a service to see that every list a
    /// response names is already held fresh, in which case it skips
    /// [`Verifier::credential_status`] and the signature is checked once,
    /// by [`Verifier::verify`]. Never fetch what this returns: anyone can
    /// claim any reference.
    pub fn credential_status_claimed(&self, presentation: &str) -> Result<Option<(String, StatusRef)>, Error> {
        self.status_of(presentation, false)
    }

    fn status_of(&self, presentation: &str, check_signature: bool) -> Result<Option<(String, StatusRef)>, Error> {
        let limits = self.options.limits();
        if presentation.len() > limits.max_presentation_bytes() {
            return Err(
                LimitError::InputTooLarge { what: "presentation", limit: limits.max_presentation_bytes() }.into()
            );
        }
        let Split { jwt, .. } = split(presentation, limits)?;
        let jws = UnverifiedJws::parse(jwt, CREDENTIAL_TYP, limits, "credential")?;
        let kid = jws.kid()?;
        let iss = get_str(&jws.payload, "iss")?;
        let key = self.keys.issuer_key(iss, kid)?;
        if check_signature && !jws.verify(&key) {
            return Err(SignatureError::Issuer.into());
        }
        Ok(StatusRef::from_payload(&jws.payload)?.map(|s| (iss.to_owned(), s)))
    }

    /// When each loaded status list stops counting, soonest first (see
    /// [`StatusLists::refetch_schedule`]).
    pub fn status_refetch_schedule(&self) -> Vec<StatusRefetch> {
        self.status_lists.refetch_schedule(&self.options)
    }

    /// The loaded status lists that no longer count at `now` (stale or
    /// expired): fetch these from their `uri` before the next verification
    /// of a credential that names them.
    pub fn status_lists_due(&self, now: UnixTime) -> Vec<StatusRefetch> {
        let skew = self.options.clock_skew_secs();
        let mut due = self.status_refetch_schedule();
        due.retain(|r| now.as_secs() > r.due.as_secs().saturating_add(skew));
        due
    }

    /// Replaces the loaded status lists (e.g. after a periodic refresh).
    pub fn set_status_lists(&mut self, lists: StatusLists) -> &mut Self {
        self.status_lists = lists;
        self
    }

    /// Like [`Verifier::verify`], for a presentation received as bytes: the
    /// size limit first, then UTF-8 (`malformed.utf8`).
    pub fn verify_bytes(
        &self,
        request: &PresentationRequest,
        presentation: &[u8],
        now: UnixTime,
    ) -> Result<VerifiedPresentation, Error> {
        let limit = self.options.limits().max_presentation_bytes();
        if presentation.len() > limit {
            return Err(LimitError::InputTooLarge { what: "presentation", limit }.into());
        }
        let text = std::str::from_utf8(presentation).map_err(|_| MalformedError::Utf8 { what: "presentation" })?;
        self.verify(request, text, now)
    }

    /// Runs every check on `presentation` for `request` at time `now`.
    ///
    /// The nonce binds a presentation to `request`; use each request for one
    /// presentation and discard it after verifying, or a presentation could
    /// be replayed against the same request within the key-binding age.
    /// A request that names the issuers or credential types it accepts
    /// ([`PresentationRequest::issuers`], [`PresentationRequest::vct_values`])
    /// gets only those: any other issuer fails with `request.issuer`, even
    /// one the trust store trusts, and any other type with `request.vct`.
    /// Otherwise the type is reported ([`VerifiedPresentation::vct`]), not
    /// checked.
    ///
    /// The issuer and key-binding signatures are checked together, in one
    /// randomized batch equation (see [`Verifier::verify_batch`]); the error
    /// is still that of the first failed check in the documented order: a
    /// check after a signature only counts once that signature is known to
    /// be valid.
    pub fn verify(
        &self,
        request: &PresentationRequest,
        presentation: &str,
        now: UnixTime,
    ) -> Result<VerifiedPresentation, Error> {
        let mut pending = Pending::default();
        let outcome = self.check(request, presentation, now, &mut pending);
        let table = pending.issuer_table(&self.tables);
        match ed25519::first_invalid(&pending.items(), table.as_deref()) {
            None => outcome,
            Some(i) => Err(pending.error(i)),
        }
    }

    /// Verifies many presentations, each against its own request, and
    /// returns one outcome per item, in order. Each outcome is exactly what
    /// [`Verifier::verify`] returns for that item (the same error variant
    /// when it fails), but the Ed25519 signatures of all items (issuer and
    /// key binding) are checked with one random linear combination whose
    /// 128-bit weights come from the operating system's RNG; if that fails,
    /// each signature is checked on its own, so one bad item never changes
    /// another's verdict. For large batches this costs well under two
    /// signature verifications per presentation.
    ///
    /// Requests stay single-use, and that is the caller's job here as with
    /// [`Verifier::verify`]: the verifier remembers no nonce, so two items
    /// with the same request and presentation are both accepted.
    ///
    /// ```
    /// # use creditproof::{Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest,
    /// #                   SystemRng, TrustStore, UnixTime, Verifier, VerifierOptions, Wallet};
    /// # fn main() -> Result<(), creditproof::Error> {
    /// # let mut rng = SystemRng::new();
    /// # let now = UnixTime::now();
    /// # let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng))?;
    /// # let mut wallet = Wallet::new();
    /// let mut requests = Vec::new();
    /// let mut presentations = Vec::new();
    /// for _ in 0..3 {
    ///     let key = wallet.generate_key(&mut rng);
    ///     let mut claims = Claims::new();
    ///     claims.insert("tier", "A")?;
    ///     wallet.store(issuer.issue(&key, &claims, now, &mut rng)?)?;
    ///     let request = PresentationRequest::builder("https://desk.example").disclose("tier").build(&mut rng)?;
    ///     presentations.push(wallet.present(&request, PresentOptions::default(), now, &mut rng)?);
    ///     requests.push(request);
    /// }
    /// let mut trust = TrustStore::new();
    /// trust.add(issuer.id(), issuer.public_key());
    /// let items: Vec<(&PresentationRequest, &str)> =
    ///     requests.iter().zip(&presentations).map(|(r, p)| (r, p.as_str())).collect();
    /// // These credentials carry no status; this verifier says it accepts that.
    /// let options = VerifierOptions::default().allow_missing_status();
    /// let outcomes = Verifier::with_options(trust, options).verify_batch(&items, now);
    /// assert!(outcomes.iter().all(Result::is_ok));
    /// # Ok(())
    /// # }
    /// ```
    pub fn verify_batch(
        &self,
        items: &[(&PresentationRequest, &str)],
        now: UnixTime,
    ) -> Vec<Result<VerifiedPresentation, Error>> {
        let mut pending = Vec::with_capacity(items.len());
        let mut outcomes = Vec::with_capacity(items.len());
        for (request, presentation) in items {
            let mut p = Pending::default();
            outcomes.push(self.check(request, presentation, now, &mut p));
            pending.push(p);
        }
        let sigs: Vec<BatchItem<'_>> = pending.iter().flat_map(Pending::items).collect();
        // The first issuer key's table: a batch usually has one issuer.
        let table = pending.iter().find_map(|p| p.issuer_table(&self.tables));
        let valid = ed25519::verify_batch(&sigs, table.as_deref());
        let mut at = 0;
        outcomes
            .into_iter()
            .zip(&pending)
            .map(|(outcome, p)| {
                let mine = valid.get(at..at + p.len()).unwrap_or_default();
                at += p.len();
                match mine.iter().position(|v| !v) {
                    None => outcome,
                    Some(i) => Err(p.error(i)),
                }
            })
            .collect()
    }

    /// Every check but the signature equations, which it leaves in
    /// `pending` (in check order) once their keys and encodings are known.
    /// The caller combines the outcome with the signatures' verdicts.
    fn check<'a>(
        &self,
        request: &PresentationRequest,
        presentation: &'a str,
        now: UnixTime,
        pending: &mut Pending<'a>,
    ) -> Result<VerifiedPresentation, Error> {
        let limits = self.options.limits();
        let skew = self.options.clock_skew_secs();
        let now = now.as_secs();

        // 1. Size.
        if presentation.len() > limits.max_presentation_bytes() {
            return Err(
                LimitError::InputTooLarge { what: "presentation", limit: limits.max_presentation_bytes() }.into()
            );
        }
        // 2. Split: `<jwt>~<d1>~...~<dn>~<kb>`.
        let Split { jwt, disclosures, sd_jwt: sd_jwt_part, kb } = split(presentation, limits)?;
        // 3. Header (alg first, then typ) and strict decoding of the JWT.
        let jws = UnverifiedJws::parse(jwt, CREDENTIAL_TYP, limits, "credential")?;
        let kid = jws.kid()?;
        // 4. Issuer accepted by the request, and trusted.
        let iss = get_str(&jws.payload, "iss")?;
        if !request.accepts_issuer(iss) {
            return Err(RequestError::IssuerNotAccepted.into());
        }
        let issuer_key = self.keys.issuer_key(iss, kid)?;
        // 5. Issuer signature (the equation is checked by the caller).
        pending.defer_or_check(SigKind::Issuer, &issuer_key, &jws)?;
        // 6. Time.
        let exp = get_u64(&jws.payload, "exp")?;
        let iat = get_u64(&jws.payload, "iat")?;
        let nbf = get_opt_u64(&jws.payload, "nbf")?;
        if now > exp.saturating_add(skew) {
            return Err(TimeError::Expired.into());
        }
        if iat.max(nbf.unwrap_or(0)) > now.saturating_add(skew) {
            return Err(TimeError::NotYetValid.into());
        }
        let vct = get_str(&jws.payload, "vct")?.to_owned();
        if !request.accepts_vct(&vct) {
            return Err(RequestError::VctNotAccepted.into());
        }
        let issuer = iss.to_owned();
        // 7. Disclosures (RFC 9901 §7.1).
        // The holder key is read here, before `process` consumes the
        // payload, but a missing or bad one fails at its place in step 8.
        let holder_key = cnf_holder_key(&jws.payload);
        let ranges = parse_range_claim(&jws.payload)?;
        let status = StatusRef::from_payload(&jws.payload)?;
        let processed = process(jws.payload, &disclosures, limits)?;
        // 8. Holder binding.
        let holder_key = holder_key.ok_or(HolderBindingError::NoConfirmationKey)?;
        if kb.is_empty() {
            return Err(HolderBindingError::MissingKbJwt.into());
        }
        let kb = UnverifiedJws::parse(kb, KB_TYP, limits, "key binding jwt")?;
        pending.defer_or_check(SigKind::Holder, &holder_key, &kb)?;
        let expected =
            ExpectedBinding { nonce: request.nonce(), audience: request.audience(), sd_jwt: sd_jwt_part, now };
        check_key_binding_claims(&kb.payload, &expected, &self.options)?;
        // 9. Status.
        match &status {
            Some(status) => self.status_lists.check(&issuer, status, now, &self.options)?,
            None if !self.options.missing_status_allowed() => return Err(StatusError::Missing.into()),
            None => {}
        }
        // 10. Predicates and requested disclosures.
        let mut disclosed: BTreeMap<String, Value> =
            processed.claims.into_iter().filter(|(k, _)| processed.disclosed_top_level.contains(k)).collect();
        for name in request.disclose() {
            if !disclosed.contains_key(name) {
                return Err(DisclosureError::Missing { name: name.clone() }.into());
            }
        }
        let range_proofs = proofs_of(&kb.payload, 2 * limits.max_predicates())?;
        let mut proven = Vec::with_capacity(request.predicates().len());
        let mut perk_shown = false;
        for p in request.predicates() {
            match p {
                // The issuer-signed flag `perks.NAME`, disclosed inside the
                // `perks` object.
                Predicate::Perk { name } => match disclosed.get(PERKS).and_then(|v| v.get(name)) {
                    Some(Value::Bool(true)) => perk_shown = true,
                    Some(_) => return Err(PredicateError::ProofInvalid { predicate: p.to_string() }.into()),
                    None => return Err(PredicateError::MissingProof { predicate: p.to_string() }.into()),
                },
                _ => range_claim::verify(p, &ranges, range_proofs)?,
            }
            proven.push(p.clone());
        }
        // 11. The pinned policy versions, if any.
        if !self.policies.is_empty() {
            let claimed = disclosed.get("policy").ok_or(RequestError::PolicyNotDisclosed)?;
            let claimed = PolicyRef::from_claim(claimed).ok_or(RequestError::PolicyNotAccepted)?;
            if !self.policies.iter().any(|p| p.matches(&claimed)) {
                return Err(RequestError::PolicyNotAccepted.into());
            }
        }
        // A perk answers its predicate; the `perks` object is reported as
        // disclosed only when the request asked for it.
        if perk_shown && !request.disclose().iter().any(|n| n == PERKS) {
            disclosed.remove(PERKS);
        }
        Ok(VerifiedPresentation { issuer, vct, disclosed, proven, status })
    }
}

/// Which check a deferred signature belongs to.
#[derive(Clone, Copy)]
enum SigKind {
    Issuer,
    Holder,
}

impl SigKind {
    fn error(self) -> Error {
        match self {
            Self::Holder => HolderBindingError::Signature.into(),
            Self::Issuer => SignatureError::Issuer.into(),
        }
    }
}

/// Signatures whose keys and encodings are known but whose equations are
/// not checked yet, in check order (at most two per presentation).
#[derive(Default)]
struct Pending<'a> {
    sigs: Vec<(SigKind, VerifyKey, &'a [u8], [u8; 64])>,
}

impl<'a> Pending<'a> {
    /// Defers an Ed25519 signature whose header names Ed25519 to the batch
    /// equation; checks any other (ES256, or an `alg` that does not fit the
    /// key, which fails) at once.
    fn defer_or_check<R: Role>(
        &mut self,
        kind: SigKind,
        key: &PublicKey<R>,
        jws: &UnverifiedJws<'a>,
    ) -> Result<(), Error> {
        match (key.ed25519_key(), jws.alg()) {
            (Some(vk), Algorithm::Ed25519) => {
                self.push(kind, vk, jws.signing_input(), jws.signature());
                Ok(())
            }
            _ if jws.verify(key) => Ok(()),
            _ => Err(kind.error()),
        }
    }

    fn push(&mut self, kind: SigKind, key: VerifyKey, msg: &'a [u8], sig: &[u8; 64]) {
        self.sigs.push((kind, key, msg, *sig));
    }
    fn len(&self) -> usize {
        self.sigs.len()
    }
    fn items(&self) -> Vec<BatchItem<'_>> {
        self.sigs.iter().map(|(_, key, msg, sig)| BatchItem { key, msg, sig }).collect()
    }
    /// The table of the issuer key, if an issuer signature is pending.
    fn issuer_table(&self, tables: &KeyTables) -> Option<std::sync::Arc<KeyTable>> {
        self.sigs.iter().find(|s| matches!(s.0, SigKind::Issuer)).and_then(|s| tables.get(&s.1))
    }
    /// The error of the `i`-th signature's check.
    fn error(&self, i: usize) -> Error {
        self.sigs.get(i).map_or(SigKind::Issuer, |s| s.0).error()
    }
}
