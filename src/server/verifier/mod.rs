//! The verifier service (feature `server`): a thin HTTP binding of the
//! sans-IO OpenID4VP layer ([`crate::oid4vp`]) for a relying party, on the
//! same axum/tokio infrastructure as the issuer service (accept loop,
//! limits, timeouts, graceful shutdown, metrics, bearer token).
//!
//! # Endpoints
//!
//! With the public URL `https://lender.example` (its path, if any,
//! prefixes every endpoint); the client identifier is
//! `redirect_uri:https://lender.example/response`:
//!
//! | endpoint | who | what |
//! |---|---|---|
//! | `POST /transactions` | the relying party (bearer token) | `{"predicates": [...], "disclose": [...]}` or `{"dcql_query": {...}}` (+ `"tier1_fallback"`, `"by_value"`) → 201 `{id, authorization_request, request_uri, expires_at}` |
//! | `GET /transactions/{id}[?wait=SECONDS]` | the relying party (bearer token) | `{id, state: pending \| accepted \| rejected \| expired, verdict}`, waiting up to `wait` seconds for the verdict |
//! | `GET`, `POST /request/{request id}` | the wallet | the request object (`application/oauth-authz-req+jwt`; unsigned for `redirect_uri:`, signed for `x509_san_dns:`), served once |
//! | `POST /response` | the wallet | `direct_post`: `vp_token` + `state` → 200 `{}`, the verdict recorded |
//! | `GET /health`, `GET /metrics` | operations | liveness, Prometheus text |
//! | `GET /desk/`, `POST /desk/check`, `GET /desk/check/{id}` | the relying party's staff (only with [`VerifierConfig::with_desk`]) | the rental-desk page: see the `desk` module |
//!
//! The API's errors are `{"error", "error_description"}`: 400
//! `invalid_request`, 401 `invalid_token` (with `WWW-Authenticate`), 404
//! `not_found`, 413, 503 `temporarily_unavailable` (too many live
//! transactions). The wallet endpoints answer each [`Oid4vpError`] with its
//! status and JSON, never with a redirect.
//!
//! # What a verification fetches
//!
//! Each presentation's status list, from the `uri` its credential names,
//! only for trusted issuers, cached until it is due and fetched once
//! however many verifications wait for it, failing closed when none fresh
//! can be had; and the metadata of issuers trusted by identifier
//! ([`TrustedIssuer::Identifier`]), refreshed periodically.
//! The HTTP client is a parameter ([`Fetch`]): the CLI passes its bounded
//! ureq client (loopback-only `http`, size, time and redirect limits), so
//! this module never picks a transport.
//!
//! # State and its limits
//!
//! Transactions live in memory ([`MemoryStore`]) for their lifetime plus
//! a retention period in which the verdict stays readable, then they are
//! pruned; a restart loses them (wallets holding a link then get
//! `invalid_request`). Several nodes behind a load balancer need the
//! transactions in a shared store ([`crate::oid4vp::Oid4vpStore`] over
//! PostgreSQL: not written yet) and webhook delivery that survives a node.
//!
//! # Client identifiers
//!
//! `redirect_uri:<public url>/response` by default: unsigned request
//! objects, which a wallet cannot authenticate (development, pilots).
//! With [`VerifierConfig::with_request_signer`], `x509_san_dns:<DNS name>`:
//! every request object (served at `/request/…`, or in a by-value link's
//! `request`) is signed with the configured key, `typ:
//! oauth-authz-req+jwt`, `x5c` leaf first; the DNS name is the leaf's
//! first DNS SAN, and the public URL's host must equal it (the
//! `response_uri` is on it), or the service does not build. Either way the
//! KB-JWT `aud` is the full client identifier, prefix included.
//!
//! # Logs
//!
//! Method, route pattern (never a path: it holds transaction ids), status,
//! latency, verdicts by check name, fetch failures by list URI. Never a
//! presentation, a nonce, a claim, a token or a transaction id.

mod api;
mod desk;
mod metrics;
mod status;
#[cfg(test)]
mod tests;
mod trust;
mod wallet;
mod webhook;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::{header, Method};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

pub use self::desk::DEFAULT_DESK_PREDICATES;
pub use self::trust::TrustedIssuer;
pub use self::webhook::{Webhook, SIGNATURE_HEADER};

use self::metrics::VerifierMetrics;
use self::status::ListCache;
use self::trust::{SharedTrust, Trust};
use super::listen::{serve_app, HttpSettings};
use super::{prefix_of, AdminToken};
use crate::format::sd_jwt::VerifierOptions;
use crate::format::time::UnixTime;
use crate::protocol::oid4vp::{
    ClientId, MemoryStore, Oid4vpError, Oid4vpStore, Oid4vpVerifier, Outcome, RequestSigner, StoreError, Transaction,
    TransactionHandle, Verdict,
};
use crate::protocol::url::{self, UrlUse};
use crate::verifier::Verifier;

/// The most bytes of an issuer's metadata document.
pub const MAX_METADATA_BYTES: u64 = 256 * 1024;
/// The most bytes of a status list token.
pub const MAX_STATUS_LIST_BYTES: u64 = 2 * 1024 * 1024;
/// How often expired transactions are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// How often, with a webhook, transactions that expired unanswered are
/// looked for (each is posted once, `"state": "expired"`).
const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// An answer to one of the service's outgoing requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The HTTP status (a redirect the client did not follow included).
    pub status: u16,
    /// The body, within the limit asked for.
    pub body: Vec<u8>,
}

/// The service's HTTP client, for status lists, issuer metadata and the
/// webhook. Blocking: the service calls it off its async workers. An
/// implementation must refuse URLs that are not `https` (or `http` to a
/// loopback host), read at most `limit` bytes of a body, bound each
/// request's time, and follow no redirect to another origin.
pub trait Fetch: Send + Sync + 'static {
    /// `GET url` with `Accept: accept`.
    fn get(&self, url: &str, accept: &str, limit: u64) -> Result<Fetched, String>;
    /// `POST body` to `url` with `Content-Type: content_type` and the
    /// extra `headers`; a redirect is not followed.
    fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        limit: u64,
    ) -> Result<Fetched, String>;
}

/// How the verifier service runs. Built with [`VerifierConfig::new`] and
/// the `with_*` setters; checked by [`VerifierService::new`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub(crate) public_url: String,
    pub(crate) api_token: AdminToken,
    pub(crate) trust: Vec<TrustedIssuer>,
    pub(crate) lifetime_secs: u64,
    pub(crate) retention_secs: u64,
    pub(crate) max_transactions: usize,
    pub(crate) max_wait_secs: u64,
    pub(crate) status_min_ttl_secs: u64,
    pub(crate) status_max_age_secs: u64,
    pub(crate) metadata_refresh_secs: u64,
    pub(crate) allow_missing_status: bool,
    pub(crate) webhook: Option<Webhook>,
    pub(crate) signer: Option<Arc<RequestSigner>>,
    pub(crate) http: HttpSettings,
    /// The rental-desk page's predicates, when it is served.
    pub(crate) desk: Option<Vec<String>>,
}

impl VerifierConfig {
    /// A service published at `public_url` (`https`, or `http` to a
    /// loopback host), its backend API behind `api_token`, trusting
    /// `trust` (at least one issuer). Defaults: transactions live 300 s
    /// and stay readable 600 s more, at most 10 000 at once; long polls
    /// wait at most 20 s; status lists count `ttl` clamped to 60 s – 1 h;
    /// issuer metadata refreshed hourly; credentials without status
    /// refused; no webhook; the HTTP limits of the issuer service.
    pub fn new(public_url: impl Into<String>, api_token: AdminToken, trust: Vec<TrustedIssuer>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            api_token,
            trust,
            lifetime_secs: crate::oid4vp::DEFAULT_TRANSACTION_LIFETIME_SECS,
            retention_secs: 600,
            max_transactions: 10_000,
            max_wait_secs: 20,
            status_min_ttl_secs: VerifierOptions::DEFAULT_STATUS_MIN_TTL_SECS,
            status_max_age_secs: VerifierOptions::DEFAULT_STATUS_MAX_AGE_SECS,
            metadata_refresh_secs: 3600,
            allow_missing_status: false,
            webhook: None,
            signer: None,
            http: HttpSettings::default(),
            desk: None,
        }
    }

    /// Sets how long a transaction accepts its request fetch and response
    /// (30 s to an hour), and how long its verdict stays readable after
    /// that (up to a day).
    #[must_use]
    pub fn with_transaction_lifetime(mut self, lifetime_secs: u64, retention_secs: u64) -> Self {
        self.lifetime_secs = lifetime_secs;
        self.retention_secs = retention_secs;
        self
    }

    /// Sets how many transactions may be live at once (1 to 1 000 000).
    #[must_use]
    pub fn with_max_transactions(mut self, n: usize) -> Self {
        self.max_transactions = n;
        self
    }

    /// Sets the bounds a status list's `ttl` is clamped to, in seconds:
    /// the floor (1 to 60; below a minute only for tests) and the most a
    /// list counts after its `iat` (60 s to 30 days).
    #[must_use]
    pub fn with_status_ttl_bounds(mut self, min_secs: u64, max_secs: u64) -> Self {
        self.status_min_ttl_secs = min_secs;
        self.status_max_age_secs = max_secs;
        self
    }

    /// Sets how often the metadata of issuers trusted by identifier is
    /// fetched again (1 s to a day).
    #[must_use]
    pub fn with_metadata_refresh_secs(mut self, secs: u64) -> Self {
        self.metadata_refresh_secs = secs;
        self
    }

    /// Accepts credentials that carry no status (cannot be revoked).
    #[must_use]
    pub fn allow_missing_status(mut self) -> Self {
        self.allow_missing_status = true;
        self
    }

    /// Posts every verdict to `webhook`.
    #[must_use]
    pub fn with_webhook(mut self, webhook: Webhook) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// Identifies the service as `x509_san_dns:<the leaf's DNS name>`
    /// instead of `redirect_uri:`: request objects are signed by `signer`
    /// (`x5c` leaf first). The public URL's host must be that DNS name,
    /// or [`VerifierService::new`] refuses the configuration.
    #[must_use]
    pub fn with_request_signer(mut self, signer: RequestSigner) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Serves the rental-desk page at `/desk/` (see the `desk` module):
    /// each check asks `predicates` (e.g. `score>=650`). Its endpoints
    /// are not behind the API token: guard `/desk/` where it is served.
    #[must_use]
    pub fn with_desk(mut self, predicates: Vec<String>) -> Self {
        self.desk = Some(predicates);
        self
    }

    /// Sets how long one request may take (then 408; a long poll waits at
    /// most this minus five seconds, and at most a minute) and how long a
    /// client may take to send its headers.
    #[must_use]
    pub fn with_timeouts(mut self, request: Duration, headers: Duration) -> Self {
        self.http.request_timeout = request;
        self.http.header_timeout = headers;
        self.max_wait_secs = request.as_secs().saturating_sub(5).clamp(1, 60);
        self
    }

    /// Sets how many requests are handled at once and how many connections
    /// are kept open.
    #[must_use]
    pub fn with_limits(mut self, concurrent_requests: usize, connections: usize) -> Self {
        self.http.max_concurrent_requests = concurrent_requests;
        self.http.max_connections = connections;
        self
    }

    /// Sets how long a shutdown waits for in-flight requests.
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.http.shutdown_grace = grace;
        self
    }

    fn check(&self) -> Result<(), String> {
        url::check(&self.public_url, UrlUse::Identifier).map_err(|r| format!("the public url: {r}"))?;
        if self.public_url.contains('?') || self.public_url.contains('#') {
            return Err("the public url must have no query and no fragment".into());
        }
        if let Some(desk) = &self.desk {
            if desk.is_empty() || desk.len() > 8 {
                return Err("the desk asks 1 to 8 predicates".into());
            }
            for p in desk {
                p.parse::<crate::profile::predicate::Predicate>().map_err(|e| format!("desk predicate `{p}`: {e}"))?;
            }
        }
        if self.trust.is_empty() {
            return Err("a verifier needs at least one trusted issuer".into());
        }
        for t in &self.trust {
            if let TrustedIssuer::Identifier(id) = t {
                url::check(id, UrlUse::Identifier).map_err(|r| format!("the trusted issuer {id}: {r}"))?;
            }
        }
        if !(30..=3600).contains(&self.lifetime_secs) || self.retention_secs > 86_400 {
            return Err("a transaction lives 30 s to an hour and stays readable at most a day more".into());
        }
        if !(1..=1_000_000).contains(&self.max_transactions) {
            return Err("1 to 1000000 live transactions".into());
        }
        if !(1..=VerifierOptions::DEFAULT_STATUS_MIN_TTL_SECS).contains(&self.status_min_ttl_secs)
            || !(60..=VerifierOptions::MAX_STATUS_MAX_AGE_SECS).contains(&self.status_max_age_secs)
        {
            return Err("the status list ttl floor must be 1 to 60 s, the most a list counts 60 s to 30 days".into());
        }
        if !(1..=86_400).contains(&self.metadata_refresh_secs) {
            return Err("issuer metadata is refreshed every 1 s to a day".into());
        }
        self.http.check()
    }
}

/// The in-memory transactions, locked per step (never across a
/// verification).
#[derive(Debug, Default)]
struct Transactions(Mutex<MemoryStore>);

impl Transactions {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryStore> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One step's view of [`Transactions`] as an [`Oid4vpStore`].
struct Locked<'a>(&'a Transactions);

impl Oid4vpStore for Locked<'_> {
    fn insert(&mut self, transaction: Transaction) -> Result<(), StoreError> {
        self.0.lock().insert(transaction)
    }
    fn update(&mut self, request_id: &str, f: &mut dyn FnMut(&mut Option<Transaction>)) -> Result<(), StoreError> {
        self.0.lock().update(request_id, f)
    }
    fn get(&self, request_id: &str) -> Result<Option<Transaction>, StoreError> {
        self.0.lock().get(request_id)
    }
    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError> {
        self.0.lock().prune(now)
    }
}

/// The running verifier service's state: configuration, the OpenID4VP
/// verifier, transactions, trusted issuers, loaded status lists and
/// metrics. Cheap to share (`Arc`).
pub struct VerifierService {
    config: VerifierConfig,
    oid4vp: Oid4vpVerifier,
    transactions: Transactions,
    trust: Trust,
    checks: RwLock<Verifier<SharedTrust>>,
    lists: ListCache,
    fetch: Arc<dyn Fetch>,
    done: tokio::sync::Notify,
    /// With a webhook: the handles of live transactions, to name them in
    /// the delivery (the store keeps only a digest of their secrets).
    handles: Mutex<std::collections::HashMap<String, TransactionHandle>>,
    metrics: VerifierMetrics,
}

impl fmt::Debug for VerifierService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierService").field("client_id", &self.oid4vp.client_id().as_str()).finish_non_exhaustive()
    }
}

impl VerifierService {
    /// Checks `config` and builds the service; `fetch` is its HTTP client.
    /// Issuers trusted by identifier trust no key until
    /// [`VerifierService::refresh_trust`] (which [`serve`] repeats
    /// periodically).
    pub fn new(config: VerifierConfig, fetch: Arc<dyn Fetch>) -> Result<Self, String> {
        config.check()?;
        let bad = |e: Oid4vpError| e.to_string();
        let response_uri = format!("{}/response", config.public_url);
        let request_base = format!("{}/request", config.public_url);
        let oid4vp = match &config.signer {
            Some(signer) => {
                Oid4vpVerifier::x509_san_dns(signer.clone(), &response_uri, &request_base).map_err(|e| {
                    format!(
                        "{e}: the public url's host must be the DNS name of the certificate ({})",
                        signer.client_id().as_str()
                    )
                })?
            }
            None => {
                Oid4vpVerifier::new(ClientId::redirect_uri(&response_uri).map_err(bad)?, &request_base).map_err(bad)?
            }
        };
        let oid4vp = oid4vp.with_lifetime_secs(config.lifetime_secs).map_err(bad)?;
        let trust = Trust::new(&config.trust);
        let mut options = VerifierOptions::default()
            .with_status_max_age_secs(config.status_max_age_secs)
            .with_status_min_ttl_secs(config.status_min_ttl_secs)
            // The service refetches each list when it is due: one it could
            // not refetch stops counting then, not a clock skew later.
            .with_status_stale_skew_secs(0);
        if config.allow_missing_status {
            options = options.allow_missing_status();
        }
        let checks = RwLock::new(Verifier::with_options(trust.shared(), options));
        Ok(Self {
            config,
            oid4vp,
            transactions: Transactions::default(),
            trust,
            checks,
            lists: ListCache::default(),
            fetch,
            done: tokio::sync::Notify::new(),
            handles: Mutex::new(std::collections::HashMap::new()),
            metrics: VerifierMetrics::default(),
        })
    }

    /// The client identifier wallets see, prefix included (the KB-JWT
    /// `aud` of every presentation).
    pub fn client_id(&self) -> &str {
        self.oid4vp.client_id().as_str()
    }

    /// The public URL.
    pub fn public_url(&self) -> &str {
        &self.config.public_url
    }

    /// Fetches the metadata of every issuer trusted by identifier now
    /// (blocking); returns the ones that failed, and why. When keys
    /// changed, the loaded status lists are dropped, to be fetched and
    /// checked again under the new keys.
    pub fn refresh_trust(&self) -> Vec<(String, String)> {
        let refreshed = self.trust.refresh(self.fetch.as_ref());
        for _ in 0..refreshed.fetched {
            self.metrics.fetch("issuer_metadata", true);
        }
        for (id, e) in &refreshed.failed {
            self.metrics.fetch("issuer_metadata", false);
            tracing::warn!(issuer = %id, error = %e, "issuer metadata refresh failed; keeping the keys last fetched");
        }
        if refreshed.changed {
            let mut checks = self.checks.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            checks.set_status_lists(crate::StatusLists::new());
            drop(checks);
            self.lists.clear();
            tracing::info!(issuers = refreshed.fetched, "trusted issuer keys changed");
        }
        refreshed.failed
    }

    /// Drops transactions whose verdict is no longer kept; returns how
    /// many.
    pub fn prune(&self, now: UnixTime) -> usize {
        let cutoff = UnixTime(now.as_secs().saturating_sub(self.config.retention_secs));
        let n = self.transactions.lock().prune(cutoff).unwrap_or(0);
        if n > 0 {
            let store = self.transactions.lock();
            let mut handles = self.handles.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            handles.retain(|id, _| matches!(store.get(id), Ok(Some(_))));
        }
        n
    }

    /// With a webhook: the bodies to post for transactions that expired
    /// unanswered (`"state": "expired"`), each once; their handles are
    /// forgotten. Without one: nothing.
    pub(crate) fn expired_unanswered(&self, now: UnixTime) -> Vec<String> {
        if self.config.webhook.is_none() {
            return Vec::new();
        }
        let store = self.transactions.lock();
        let mut handles = self.handles.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut bodies = Vec::new();
        handles.retain(|_, handle| match self.oid4vp.outcome(&*store, handle, now) {
            Ok(outcome @ Outcome::Done(Verdict::Expired)) => {
                bodies.push(api::transaction_json(&api::api_id(handle), &outcome).to_string());
                false
            }
            Ok(_) => true,
            // Pruned (or never stored): nothing to tell.
            Err(_) => false,
        });
        bodies
    }

    /// How many transactions are held (live or kept for their verdict).
    pub fn transactions(&self) -> usize {
        self.transactions.lock().len()
    }
}

/// The service's router, with every layer: per-route body limits in the
/// handlers (413), then gzip, the concurrency limit and the request
/// timeout (408) as for the issuer service, and logs and metrics around
/// everything. CORS (any origin, no credentials) on the wallet endpoints
/// only; the backend API is for the relying party's servers.
pub fn router(service: Arc<VerifierService>) -> Router {
    let p = prefix_of(&service.config.public_url);
    let at = |path: &str| format!("{p}{path}");
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    let wallet = Router::new()
        .route(&at("/request/{id}"), get(wallet::request_object_get).post(wallet::request_object_post))
        .route(&at("/response"), post(wallet::response))
        .layer(cors);
    let ops = Router::new().route(&at("/health"), get(api::health)).route(&at("/metrics"), get(api::metrics));
    let mut app = wallet.merge(ops).merge(api::routes(&p, service.clone()));
    if service.config.desk.is_some() {
        app = app.merge(desk::routes(&p));
    }
    let app = app.fallback(api::not_found_fallback);
    service
        .config
        .http
        .layer(app)
        .layer(axum::middleware::from_fn_with_state(service.clone(), api::observe))
        .with_state(service)
}

/// Serves `service` on `listener` until `shutdown` completes, like the
/// issuer service's [`crate::server::serve`]; in the background, the
/// metadata of issuers trusted by identifier is refreshed periodically
/// (call [`VerifierService::refresh_trust`] once before, to start with
/// their keys) and expired transactions are pruned.
pub async fn serve(
    listener: TcpListener,
    service: Arc<VerifierService>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = service.config.http;
    let app = router(service.clone());
    let s = service.clone();
    let pruning = tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            let n = s.prune(UnixTime::now());
            if n > 0 {
                tracing::info!(transactions = n, "expired transactions dropped");
            }
        }
    });
    let s = service.clone();
    let expiring = tokio::spawn(async move {
        if s.config.webhook.is_none() {
            return;
        }
        let mut every = tokio::time::interval(EXPIRY_SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            for body in s.expired_unanswered(UnixTime::now()) {
                tracing::info!("transaction expired unanswered");
                webhook::deliver(&s, body);
            }
        }
    });
    let s = service.clone();
    let refreshing = tokio::spawn(async move {
        if !s.trust.has_identifiers() {
            return;
        }
        let period = Duration::from_secs(s.config.metadata_refresh_secs);
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let s2 = s.clone();
            let _ = tokio::task::spawn_blocking(move || s2.refresh_trust()).await;
        }
    });
    let served = serve_app(listener, app, &settings, shutdown).await;
    pruning.abort();
    expiring.abort();
    refreshing.abort();
    served
}
