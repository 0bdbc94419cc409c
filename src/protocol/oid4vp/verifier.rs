//! The verifier's side: a transaction as a state machine over a store,
//! with every step a function of (bytes received, state, `now`,
//! randomness).
//!
//! ```text
//! create ──► AwaitingFetch ──request_object (POST/GET)──► Served ──direct_post──► Checking ──► Answered(verdict)
//!   │ (by value) ─────────────────────────────────────────►  │                                     │
//!   └──────────────── now > expires_at: every step refused; outcome = Expired ◄──────────────────┘ (kept)
//! ```
//!
//! * The request object is served **once** ([`Oid4vpError::RequestAlreadyServed`]
//!   after that): the `request_uri` is a one-time capability, and the
//!   served query is the one the answer is checked against.
//! * **Negotiation**: a wallet whose `wallet_metadata` announces
//!   `creditproof_range_predicates` (with every op the query uses) gets the
//!   preferred query, Tier 2 when it has range predicates; any other
//!   wallet gets the Tier-1 fallback the verifier set, or
//!   [`Oid4vpError::TierTwoNotAnnounced`]. One query is served, never
//!   "Tier 2 or Tier 1" alternatives in one: an unaware wallet would pick
//!   the Tier-2 one and answer it without a proof.
//! * Exactly **one response** per transaction: the first one claims it
//!   (`Checking`) in one store step, so a second — replayed, or racing on
//!   another node — is refused ([`Oid4vpError::AlreadyAnswered`]), whatever
//!   the first one's verdict. A response whose checks fail still ends the
//!   transaction, with a rejection naming the check.
//! * The response's `state` names the transaction; the presentations are
//!   bound to its nonce and to the **full** client identifier (the KB-JWT
//!   `aud`, prefix included).

use ring::digest;
use zeroize::Zeroizing;

use crate::error::MalformedError;
use crate::format::encoding::{b64_encode, parse_json_object};
use crate::format::rng::{random_array, SecureRng};
use crate::format::time::UnixTime;
use crate::format::trust::KeyProvider;
use crate::protocol::dcql::error::quote;
use crate::protocol::dcql::{
    obligations, query_tier, CredentialQuery, DcqlError, DcqlQuery, Obligation, ScoreAsk, Tier, SCORE_QUERY_ID,
};
use crate::protocol::oid4vci::secret::ct_eq;
use crate::protocol::oid4vp::client_id::{ClientId, ClientIdPrefix};
use crate::protocol::oid4vp::error::Oid4vpError;
use crate::protocol::oid4vp::metadata::{ClientMetadata, RequestUriPost};
use crate::protocol::oid4vp::request::{link_by_reference, link_with_request_object, AuthorizationRequest};
use crate::protocol::oid4vp::response::{
    Accepted, ConstraintProblem, DirectPost, Rejection, Verdict, VpTokenProblem, MAX_PRESENTATIONS_PER_QUERY,
    MAX_RESPONSE_BYTES,
};
use crate::protocol::oid4vp::store::{Oid4vpStore, Phase, StoreError, Transaction};
#[cfg(feature = "x509")]
use crate::protocol::oid4vp::x509::RequestSigner;
use crate::protocol::url::{self, UrlUse};
use crate::verifier::{VerifiedPresentation, Verifier};
use crate::Limits;

/// How long a transaction lives by default: five minutes.
pub const DEFAULT_TRANSACTION_LIFETIME_SECS: u64 = 300;
/// The JSON body to answer a `direct_post` with (HTTP 200) once it was
/// recorded, whatever its verdict.
pub const DIRECT_POST_ACK: &str = "{}";

/// A verifier speaking OpenID4VP. It holds no mutable state: every step
/// takes the store, so one value serves every thread of a service.
#[derive(Debug, Clone)]
pub struct Oid4vpVerifier {
    client_id: ClientId,
    response_uri: String,
    #[cfg(feature = "x509")]
    signer: Option<std::sync::Arc<RequestSigner>>,
    request_uri_base: String,
    lifetime_secs: u64,
}

/// A transaction to create: the query, an optional Tier-1 fallback, and
/// how the request travels.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    query: DcqlQuery,
    fallback: Option<DcqlQuery>,
    by_value: bool,
}

/// What the verifier's frontend keeps to read the outcome: the request id
/// and a secret that the wallet never sees.
#[derive(Clone)]
pub struct TransactionHandle {
    request_id: String,
    secret: Zeroizing<String>,
}

/// A created transaction.
#[derive(Debug, Clone)]
pub struct CreatedTransaction {
    /// The frontend's handle.
    pub handle: TransactionHandle,
    /// The link (or QR code) for the wallet.
    pub link: String,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// Where a transaction stands, as its frontend sees it.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// No verdict yet; `fetched` says whether a wallet has the request.
    Pending {
        /// Whether the request object was served.
        fetched: bool,
    },
    /// The verdict.
    Done(Verdict),
}

impl std::fmt::Debug for TransactionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionHandle")
            .field("request_id", &self.request_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl TransactionHandle {
    /// A handle read back from the frontend's session.
    pub fn new(request_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self { request_id: request_id.into(), secret: Zeroizing::new(secret.into()) }
    }
    /// The request id (also the `state`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// The secret, to keep in the frontend's session. Handle as a secret.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }
}

fn secret_digest(secret: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"creditproof/oid4vp/v1/transaction-secret");
    ctx.update(secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn store_failed(e: StoreError) -> Oid4vpError {
    Oid4vpError::ServerError { reason: e.to_string() }
}

/// Checks that creditproof can check the answers to every credential
/// query of `query`.
fn checkable(query: &DcqlQuery) -> Result<(), DcqlError> {
    query.credentials().iter().try_for_each(|c| obligations(c).map(|_| ()))
}

impl NewTransaction {
    /// A transaction asking `query`, which creditproof must be able to
    /// check ([`obligations`] of every credential query), by reference.
    pub fn new(query: DcqlQuery) -> Result<Self, DcqlError> {
        checkable(&query)?;
        Ok(Self { query, fallback: None, by_value: false })
    }

    /// A transaction asking `ask` as the credential query
    /// [`SCORE_QUERY_ID`].
    pub fn from_ask(ask: &ScoreAsk) -> Result<Self, DcqlError> {
        Self::new(ask.to_query(SCORE_QUERY_ID)?)
    }

    /// Sets the Tier-1 query a wallet that did not announce Tier 2 gets
    /// instead (e.g. a perk whose policy stands for the threshold). It
    /// must have no range predicate.
    pub fn with_tier1_fallback(mut self, query: DcqlQuery) -> Result<Self, DcqlError> {
        if query_tier(&query) != Tier::One {
            return Err(DcqlError::invalid("a fallback is a Tier-1 query: no creditproof_predicate"));
        }
        checkable(&query)?;
        self.fallback = Some(query);
        Ok(self)
    }

    /// Sends the request by value in the link instead: no `request_uri`,
    /// so no negotiation (the preferred query goes), and a longer link.
    #[must_use]
    pub fn by_value(mut self) -> Self {
        self.by_value = true;
        self
    }
}

impl Oid4vpVerifier {
    /// A verifier identified by `client_id` whose request objects are
    /// served at `<request_uri_base>/<request id>`, unsigned: a
    /// `redirect_uri:` client, whose `response_uri` is the identifier
    /// without the prefix. An `x509_san_dns:` client signs its request
    /// objects ([`Oid4vpVerifier::x509_san_dns`]); here it is refused
    /// ([`Oid4vpError::Signature`]).
    pub fn new(client_id: ClientId, request_uri_base: &str) -> Result<Self, Oid4vpError> {
        if client_id.prefix() != ClientIdPrefix::RedirectUri {
            return Err(Oid4vpError::Signature {
                reason: "an x509_san_dns: verifier signs its requests: build it with its key and chain",
            });
        }
        let response_uri = client_id.original().to_owned();
        Self::build(client_id, response_uri, request_uri_base)
    }

    /// A verifier identified by `x509_san_dns:<the leaf's DNS name>`
    /// ([`RequestSigner::client_id`]) whose request objects are signed by
    /// `signer`, receiving responses at `response_uri`, which must be on
    /// that host ([`Oid4vpError::ResponseUri`] otherwise).
    #[cfg(feature = "x509")]
    pub fn x509_san_dns(
        signer: std::sync::Arc<RequestSigner>,
        response_uri: &str,
        request_uri_base: &str,
    ) -> Result<Self, Oid4vpError> {
        let client_id = signer.client_id().clone();
        client_id.check_response_uri(response_uri)?;
        let mut v = Self::build(client_id, response_uri.to_owned(), request_uri_base)?;
        v.signer = Some(signer);
        Ok(v)
    }

    fn build(client_id: ClientId, response_uri: String, request_uri_base: &str) -> Result<Self, Oid4vpError> {
        url::check(request_uri_base, UrlUse::Identifier)
            .map_err(|r| Oid4vpError::invalid(format!("the request_uri base: {r}")))?;
        Ok(Self {
            client_id,
            response_uri,
            #[cfg(feature = "x509")]
            signer: None,
            request_uri_base: request_uri_base.trim_end_matches('/').to_owned(),
            lifetime_secs: DEFAULT_TRANSACTION_LIFETIME_SECS,
        })
    }

    /// The request object of `request`: signed for an `x509_san_dns:`
    /// client, unsigned for `redirect_uri:`.
    fn object_of(&self, request: &AuthorizationRequest) -> Result<String, Oid4vpError> {
        #[cfg(feature = "x509")]
        if let Some(signer) = &self.signer {
            return request.to_signed_request_object(signer);
        }
        request.to_request_object()
    }

    /// Sets how long transactions live (30 seconds to an hour).
    pub fn with_lifetime_secs(mut self, secs: u64) -> Result<Self, Oid4vpError> {
        if !(30..=3600).contains(&secs) {
            return Err(Oid4vpError::invalid("a transaction lives 30 seconds to an hour"));
        }
        self.lifetime_secs = secs;
        Ok(self)
    }

    /// The client identifier, prefix included.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Where wallets POST their responses.
    pub fn response_uri(&self) -> &str {
        &self.response_uri
    }

    /// The `request_uri` of a transaction.
    pub fn request_uri(&self, request_id: &str) -> String {
        format!("{}/{request_id}", self.request_uri_base)
    }

    /// The verifier's metadata, as every request carries it.
    pub fn client_metadata(&self) -> ClientMetadata {
        ClientMetadata::creditproof()
    }

    /// Records a transaction: a fresh request id (the `state`), a fresh
    /// frontend secret and a fresh nonce (256 bits each), valid until `now`
    /// plus the lifetime. Returns the link for the wallet.
    pub fn create(
        &self,
        store: &mut dyn Oid4vpStore,
        new: NewTransaction,
        now: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<CreatedTransaction, Oid4vpError> {
        let request_id = b64_encode(random_array::<32>(rng));
        let secret = Zeroizing::new(b64_encode(Zeroizing::new(random_array::<32>(rng)).as_ref()));
        let nonce = b64_encode(random_array::<32>(rng));
        let expires_at = UnixTime(now.as_secs().saturating_add(self.lifetime_secs));
        let link = if new.by_value {
            let request = AuthorizationRequest::new(
                self.client_id.clone(),
                self.response_uri().to_owned(),
                nonce.clone(),
                Some(request_id.clone()),
                new.query.clone(),
                None,
            );
            if self.client_id.prefix().requires_signed_request() {
                // Signed: the request object itself in `request`.
                link_with_request_object(&self.client_id, &self.object_of(&request)?)
            } else {
                request.to_link()
            }
        } else {
            link_by_reference(&self.client_id, &self.request_uri(&request_id))
        };
        let transaction = Transaction {
            request_id: request_id.clone(),
            secret_digest: secret_digest(&secret),
            nonce,
            expires_at,
            query: new.query,
            fallback: new.fallback,
            phase: if new.by_value { Phase::Served { fallback: false } } else { Phase::AwaitingFetch },
        };
        store.insert(transaction).map_err(store_failed)?;
        Ok(CreatedTransaction { handle: TransactionHandle { request_id, secret }, link, expires_at })
    }

    /// The `request_uri` endpoint: the request object of transaction
    /// `request_id`, for a wallet that POSTed `post_body` (its
    /// `wallet_metadata` and `wallet_nonce`) or sent a GET (`None`).
    /// Chooses the query (see the [module documentation](self)), echoes
    /// the `wallet_nonce`, and serves it once. Answer with
    /// `Content-Type: application/oauth-authz-req+jwt`, never a redirect.
    pub fn request_object(
        &self,
        store: &mut dyn Oid4vpStore,
        request_id: &str,
        post_body: Option<&[u8]>,
        now: UnixTime,
    ) -> Result<String, Oid4vpError> {
        let post = post_body.map(RequestUriPost::from_form).transpose()?.unwrap_or_default();
        let mut served = Err(Oid4vpError::UnknownTransaction);
        store.update(request_id, &mut |slot| served = serve(slot, &post, now)).map_err(store_failed)?;
        let (query, nonce) = served?;
        let request = AuthorizationRequest::new(
            self.client_id.clone(),
            self.response_uri().to_owned(),
            nonce,
            Some(request_id.to_owned()),
            query,
            post.wallet_nonce,
        );
        self.object_of(&request)
    }

    /// The `response_uri` endpoint: a `direct_post` body → the verdict,
    /// recorded with the transaction its `state` names. `verifier` checks
    /// each presentation (its trust store and loaded status lists).
    ///
    /// `Ok` means the response was recorded — answer HTTP 200 with
    /// [`DIRECT_POST_ACK`], whatever the verdict; the verdict is for the
    /// frontend ([`Oid4vpVerifier::outcome`]). `Err` means nothing was
    /// recorded: a malformed body or no `state`, an unknown or expired
    /// transaction, one whose request was never fetched, or a second
    /// response.
    pub fn direct_post<K: KeyProvider>(
        &self,
        store: &mut dyn Oid4vpStore,
        verifier: &Verifier<K>,
        body: &[u8],
        now: UnixTime,
    ) -> Result<Verdict, Oid4vpError> {
        let post = DirectPost::from_form(body)?;
        let state = post.state().to_owned();
        let mut claimed = Err(Oid4vpError::UnknownTransaction);
        store.update(&state, &mut |slot| claimed = claim(slot, now)).map_err(store_failed)?;
        let (query, nonce) = claimed?;
        let verdict = match &post {
            DirectPost::Error { error, description, .. } => {
                Verdict::Rejected(Rejection::Wallet { error: error.clone(), description: description.clone() })
            }
            DirectPost::Response { vp_token, .. } => {
                self.check_vp_token(&query, &nonce, vp_token.as_deref().map(|t| t.as_str()), verifier, now)
            }
        };
        let recorded = verdict.clone();
        let mut record = Some(recorded);
        store
            .update(&state, &mut |slot| {
                if let (Some(t), Some(v)) = (slot.as_mut(), record.take()) {
                    t.phase = Phase::Answered(v);
                }
            })
            .map_err(store_failed)?;
        Ok(verdict)
    }

    /// The frontend's view of a transaction: pending, or its verdict
    /// (`Expired` once it expired without one). An unknown id and a wrong
    /// secret are the same error.
    pub fn outcome(
        &self,
        store: &dyn Oid4vpStore,
        handle: &TransactionHandle,
        now: UnixTime,
    ) -> Result<Outcome, Oid4vpError> {
        let t = store.get(&handle.request_id).map_err(store_failed)?.ok_or(Oid4vpError::UnknownTransaction)?;
        if !ct_eq(&secret_digest(&handle.secret), &t.secret_digest) {
            return Err(Oid4vpError::UnknownTransaction);
        }
        Ok(match t.phase {
            Phase::Answered(v) => Outcome::Done(v),
            _ if now > t.expires_at => Outcome::Done(Verdict::Expired),
            Phase::AwaitingFetch => Outcome::Pending { fetched: false },
            _ => Outcome::Pending { fetched: true },
        })
    }

    /// Checks a `vp_token` against the served query: its shape first,
    /// then every presentation.
    fn check_vp_token<K: KeyProvider>(
        &self,
        query: &DcqlQuery,
        nonce: &str,
        token: Option<&str>,
        verifier: &Verifier<K>,
        now: UnixTime,
    ) -> Verdict {
        let reject = |p| Verdict::Rejected(Rejection::VpToken(p));
        let Some(token) = token else { return reject(VpTokenProblem::Missing) };
        let limits = Limits::default().with_max_json_depth(3).with_max_string_bytes(MAX_RESPONSE_BYTES);
        let map = match parse_json_object(token.as_bytes(), &limits, "vp_token") {
            Ok(m) => m,
            Err(e) => return reject(VpTokenProblem::NotJson { reason: e.to_string() }),
        };
        if let Some(k) = map.keys().find(|k| query.credential(k).is_none()) {
            return reject(VpTokenProblem::UnknownQuery { id: quote(k, 64) });
        }
        if query.credential_sets().is_empty() {
            if let Some(c) = query.credentials().iter().find(|c| !map.contains_key(c.id())) {
                return reject(VpTokenProblem::MissingQuery { id: c.id().to_owned() });
            }
        }
        for (index, set) in query.credential_sets().iter().enumerate().filter(|(_, s)| s.is_required()) {
            if !set.options().iter().any(|o| o.iter().all(|id| map.contains_key(id))) {
                return reject(VpTokenProblem::CredentialSet { index });
            }
        }
        let mut answered = Vec::new();
        for c in query.credentials() {
            let Some(value) = map.get(c.id()) else { continue };
            let id = || c.id().to_owned();
            let presentations = match value.as_array() {
                None => return reject(VpTokenProblem::NotAnArray { id: id() }),
                Some(a) if a.is_empty() => return reject(VpTokenProblem::Empty { id: id() }),
                Some(a) if a.len() > MAX_PRESENTATIONS_PER_QUERY || (a.len() > 1 && !c.allows_multiple()) => {
                    return reject(VpTokenProblem::TooMany { id: id() })
                }
                Some(a) => a,
            };
            let Some(texts) = presentations.iter().map(|p| p.as_str()).collect::<Option<Vec<&str>>>() else {
                return reject(VpTokenProblem::NotAString { id: id() });
            };
            answered.push((c, texts));
        }
        let mut accepted = Accepted { tier: query_tier(query), presentations: Default::default() };
        for (c, texts) in answered {
            let mut verified = Vec::with_capacity(texts.len());
            for (index, p) in texts.into_iter().enumerate() {
                match self.check_presentation(c, p, nonce, verifier, now) {
                    Ok(v) => verified.push(v),
                    Err(problem) => return Verdict::Rejected(problem.at(c.id(), index)),
                }
            }
            accepted.presentations.insert(c.id().to_owned(), verified);
        }
        Verdict::Accepted(accepted)
    }

    /// One presentation against one credential query: the first claim set
    /// it meets, or the failure of the first one tried.
    fn check_presentation<K: KeyProvider>(
        &self,
        c: &CredentialQuery,
        presentation: &str,
        nonce: &str,
        verifier: &Verifier<K>,
        now: UnixTime,
    ) -> Result<VerifiedPresentation, Failure> {
        let alternatives: Vec<Obligation> =
            obligations(c).map_err(|e| Failure::Error(MalformedError::Request { reason: e.to_string() }.into()))?;
        let mut first = None;
        for o in &alternatives {
            let outcome =
                o.request(self.client_id.as_str(), nonce).and_then(|r| verifier.verify(&r, presentation, now));
            let failure = match outcome {
                Ok(v) if !c.vct_values().iter().any(|t| t == v.vct()) => {
                    Failure::Constraint(ConstraintProblem::VctValues)
                }
                Ok(v) => match o.value_mismatch(v.disclosed()) {
                    None => return Ok(v),
                    Some(claim) => Failure::Constraint(ConstraintProblem::Values { claim: claim.to_owned() }),
                },
                Err(e) => Failure::Error(e),
            };
            first.get_or_insert(failure);
        }
        Err(first.unwrap_or(Failure::Error(MalformedError::Request { reason: "no claim set".into() }.into())))
    }
}

/// Why one presentation failed, before it is placed in the token.
enum Failure {
    Error(crate::Error),
    Constraint(ConstraintProblem),
}

impl Failure {
    fn at(self, query_id: &str, index: usize) -> Rejection {
        let query_id = query_id.to_owned();
        match self {
            Self::Error(error) => Rejection::Presentation { query_id, index, error },
            Self::Constraint(problem) => Rejection::Constraint { query_id, index, problem },
        }
    }
}

/// The request object's step on the stored transaction: the query to
/// serve and the nonce.
fn serve(
    slot: &mut Option<Transaction>,
    post: &RequestUriPost,
    now: UnixTime,
) -> Result<(DcqlQuery, String), Oid4vpError> {
    let t = slot.as_mut().ok_or(Oid4vpError::UnknownTransaction)?;
    if now > t.expires_at {
        return Err(Oid4vpError::Expired);
    }
    if t.phase != Phase::AwaitingFetch {
        return Err(Oid4vpError::RequestAlreadyServed);
    }
    let announces = post.wallet_metadata.as_ref().is_some_and(|m| m.answers(&t.query));
    let fallback = match (query_tier(&t.query), announces, &t.fallback) {
        (Tier::One, _, _) | (Tier::Two, true, _) => false,
        (Tier::Two, false, Some(_)) => true,
        (Tier::Two, false, None) => return Err(Oid4vpError::TierTwoNotAnnounced),
    };
    t.phase = Phase::Served { fallback };
    let query = t.served_query().cloned().ok_or(Oid4vpError::UnknownTransaction)?;
    Ok((query, t.nonce.clone()))
}

/// The response's step on the stored transaction: claims it for checking.
fn claim(slot: &mut Option<Transaction>, now: UnixTime) -> Result<(DcqlQuery, String), Oid4vpError> {
    let t = slot.as_mut().ok_or(Oid4vpError::UnknownTransaction)?;
    let fallback = match t.phase {
        Phase::Checking { .. } | Phase::Answered(_) => return Err(Oid4vpError::AlreadyAnswered),
        _ if now > t.expires_at => return Err(Oid4vpError::Expired),
        Phase::AwaitingFetch => return Err(Oid4vpError::invalid("the request of this transaction was never fetched")),
        Phase::Served { fallback } => fallback,
    };
    t.phase = Phase::Checking { fallback };
    let query = t.served_query().cloned().ok_or(Oid4vpError::UnknownTransaction)?;
    Ok((query, t.nonce.clone()))
}
