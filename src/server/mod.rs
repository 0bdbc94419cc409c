//! The issuer service (feature `server`): a thin HTTP binding of the
//! sans-IO OpenID4VCI layer ([`crate::oid4vci`]), the registry's status
//! lists, and a back-office API, on axum and tokio. The verifier service,
//! on the same infrastructure, is [`verifier`].
//!
//! The protocol layer decides; this module moves bytes, maps each
//! [`Oid4vciError`] to its status, body and `WWW-Authenticate`, and owns
//! what only a server can: body limits (413), timeouts (408, and a header
//! read timeout that drops slow clients), a concurrency limit, gzip, CORS,
//! `Cache-Control`, logs, metrics and a graceful shutdown. Every layer is
//! configured in one place, [`router`].
//!
//! # Endpoints
//!
//! With the public URL `https://bureau.example` (its path, if any, prefixes
//! every endpoint, and follows the well-known segment as RFC 8414 says):
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /.well-known/openid-credential-issuer` | credential issuer metadata |
//! | `GET /.well-known/oauth-authorization-server` | authorization server metadata (the issuer is its own) |
//! | `GET /.well-known/jwt-vc-issuer` | `{issuer, jwks}`: what `creditproof issuer public` writes, retired keys included |
//! | `GET /credential-offer/{id}` | an offer by reference (`openid-credential-offer://?credential_offer_uri=…`) |
//! | `POST /token` | pre-authorized code (+ `tx_code`) → access token |
//! | `POST /nonce` | a fresh `c_nonce` |
//! | `POST /credential` | bearer token + `proofs.jwt` → a batch, with `creditproof_range_secrets` |
//! | `GET <each status list URI>` | `application/statuslist+jwt`, `Cache-Control: max-age=<ttl>`; `?time=` is 501 |
//! | `POST /admin/offers`, `POST /admin/status`, `POST /admin/corrections`, `GET /admin/history` | the back office (bearer token; off without one) |
//! | `GET /health`, `GET /metrics` | liveness, Prometheus text |
//!
//! # State
//!
//! The registry (`registry.sqlite`: status lists, batches, history) and the
//! OpenID4VCI state ([`SqliteStore`], `oid4vci.sqlite`: offers, grants,
//! used keys) are SQLite files in WAL mode, shared safely with CLI commands
//! running at the same time (`issuer offer`, `issuer revoke`): every change
//! is one transaction, and the service re-reads what others changed. With
//! [`ServiceConfig::with_registry`] and a PostgreSQL database, both live
//! there instead ([`PgRegistry`](crate::issuer::registry::PgRegistry),
//! [`PgStore`]), and several services (nodes) share them: an index is
//! never allocated twice, an offer is redeemed once across nodes, and each
//! node's status lists follow the database. The
//! issuer (its keys) comes from an [`IssuerSource`], re-read when it
//! changes, so a key rotation by the CLI reaches the running service.

mod admin;
mod disputes;
mod http;
mod listen;
mod metrics;
mod policies;
mod routes;
mod status;
mod store;
mod store_pg;
pub mod verifier;
pub mod wallet_site;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::format::rng::SecureRng;
use crate::format::time::UnixTime;
use crate::issuer::registry::{
    AnyRegistry, Delivery, IssuerRegistry, NewBatch, RegistryError, RegistryLocation, Thumbprint,
};
use crate::issuer::Issuer;
use crate::profile::status::StatusRef;
use crate::protocol::oid4vci::{
    offer_link_by_reference, Batch, NewOffer, Oid4vciConfig, Oid4vciError, Oid4vciIssuer, SignBatch, StatusSource,
    TxCode,
};
use crate::IssuedCredential;

pub use self::disputes::{resolve, Decision, Resolve, ResolveState, Resolved};
use self::listen::HttpSettings;
pub use self::listen::{serve, shutdown_signal};
pub use self::policies::{PolicyBook, PolicyBookError, PublishedVersion};
pub use self::routes::router;
pub use self::store::SqliteStore;
pub use self::store_pg::{IssuerStore, PgStore};

/// Where the service gets its issuer (signing key, retired keys still
/// published) from: the CLI reads the issuer directory's `issuer.json`.
pub trait IssuerSource: Send + Sync {
    /// The issuer as of `now`.
    fn load(&self, now: UnixTime) -> Result<Issuer, String>;
    /// A value that changes whenever [`IssuerSource::load`] may return
    /// another issuer (e.g. the file's modification time and length): the
    /// service reloads when it moves, and at least every five minutes.
    fn version(&self) -> u64;
}

/// The back office's bearer token. Compared in constant time; printed as
/// `[redacted]`.
#[derive(Clone)]
pub struct AdminToken(zeroize::Zeroizing<String>);

impl AdminToken {
    /// The token (surrounding whitespace removed): 32 to 512 visible ASCII
    /// characters.
    pub fn new(token: &str) -> Result<Self, String> {
        let t = token.trim();
        if !(32..=512).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the admin token must be 32 to 512 visible ascii characters".into());
        }
        Ok(Self(zeroize::Zeroizing::new(t.to_owned())))
    }

    /// Whether `presented` is the token (both hashed first, then compared
    /// in constant time, so neither contents nor length leak).
    pub(crate) fn matches(&self, presented: &str) -> bool {
        let a = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let b = ring::digest::digest(&ring::digest::SHA256, presented.as_bytes());
        crate::protocol::oid4vci::secret::ct_eq(a.as_ref(), b.as_ref())
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken([redacted])")
    }
}

/// How the service runs. Built with [`ServiceConfig::new`] and the
/// `with_*` setters; checked by [`IssuerService::new`].
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub(crate) public_url: String,
    pub(crate) registry: RegistryLocation,
    pub(crate) store_path: PathBuf,
    pub(crate) oid4vci: Oid4vciConfig,
    pub(crate) admin_token: Option<AdminToken>,
    pub(crate) status_ttl_secs: u64,
    pub(crate) status_validity_secs: u64,
    pub(crate) http: HttpSettings,
    pub(crate) policies: Option<PolicyBook>,
    pub(crate) disputes: Option<PathBuf>,
}

impl ServiceConfig {
    /// A service published at `public_url` (its credential issuer
    /// identifier: the issuer's `iss`), over the registry and OpenID4VCI
    /// store files given. Defaults: batch size 16, status lists with `ttl`
    /// 3600 s and `exp` 86400 s, 30 s per request, 10 s to send the
    /// headers, 64 requests at once, 1024 connections, 30 s to finish
    /// in-flight requests at shutdown, no back office.
    pub fn new(public_url: impl Into<String>, registry_path: &Path, store_path: &Path) -> Self {
        Self {
            public_url: public_url.into(),
            registry: RegistryLocation::Sqlite(registry_path.to_owned()),
            store_path: store_path.to_owned(),
            oid4vci: Oid4vciConfig::default(),
            admin_token: None,
            status_ttl_secs: 3600,
            status_validity_secs: 86_400,
            http: HttpSettings::default(),
            policies: None,
            disputes: None,
        }
    }

    /// Keeps the registry at `location` instead of the SQLite file given to
    /// [`ServiceConfig::new`]: with a PostgreSQL database, several
    /// services (nodes) share it, and the OpenID4VCI state (offers,
    /// grants, used keys) lives there too, so that an offer is redeemed
    /// once across all nodes.
    #[must_use]
    pub fn with_registry(mut self, location: RegistryLocation) -> Self {
        self.registry = location;
        self
    }

    /// Takes disputes over the network (`POST /disputes`, `/disputes/mine`,
    /// `/disputes/breakdown`), kept in the SQLite dispute store at `path`
    /// (`disputes.sqlite` in the issuer directory; see
    /// [`crate::dispute_store`]), and scores through it: the back office's
    /// scorings leave out the entries whose dispute went unanswered past
    /// its deadline, and are kept as the breakdown a holder can dispute.
    #[must_use]
    pub fn with_dispute_store(mut self, path: &Path) -> Self {
        self.disputes = Some(path.to_owned());
        self
    }

    /// Publishes the issuer's policy book (`GET /policies`, `GET
    /// /policies/{id}/{version}`), and lets the back office score under a
    /// policy, publishing it there first. Without a book the service serves
    /// no policies and scores under none.
    #[must_use]
    pub fn with_policy_book(mut self, book: PolicyBook) -> Self {
        self.policies = Some(book);
        self
    }

    /// Sets the OpenID4VCI settings (batch size, lifetimes, display).
    #[must_use]
    pub fn with_oid4vci(mut self, config: Oid4vciConfig) -> Self {
        self.oid4vci = config;
        self
    }

    /// Turns the back-office API on, behind this bearer token.
    #[must_use]
    pub fn with_admin_token(mut self, token: AdminToken) -> Self {
        self.admin_token = Some(token);
        self
    }

    /// Sets the status list tokens' `ttl` and validity (`exp` = signing
    /// time + validity), in seconds: 1 ≤ ttl ≤ validity / 2, validity at
    /// most 30 days. A token is re-signed once half its `ttl` has passed,
    /// so a `ttl` under a minute costs a signature that often; verifiers
    /// count such a `ttl` as their floor (a minute by default) anyway. It
    /// is meant for tests.
    #[must_use]
    pub fn with_status_timing(mut self, ttl_secs: u64, validity_secs: u64) -> Self {
        self.status_ttl_secs = ttl_secs;
        self.status_validity_secs = validity_secs;
        self
    }

    /// Sets how long one request may take (then 408), and how long a
    /// client may take to send its headers (then the connection is
    /// closed).
    #[must_use]
    pub fn with_timeouts(mut self, request: Duration, headers: Duration) -> Self {
        self.http.request_timeout = request;
        self.http.header_timeout = headers;
        self
    }

    /// Sets how many requests are handled at once (others wait, within
    /// their timeout) and how many connections are kept open.
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
        if !(1..=self.status_validity_secs / 2).contains(&self.status_ttl_secs)
            || self.status_validity_secs > 30 * 86_400
        {
            return Err("status lists need 1 s <= ttl <= validity / 2 and a validity of at most 30 days".into());
        }
        self.http.check()
    }
}

/// Most database handles (connections) one pool keeps open: a busy node
/// holds at most this many per pool (registry, OpenID4VCI store), so
/// several nodes stay within PostgreSQL's `max_connections` (100 by
/// default); more callers wait for a handle.
const MAX_OPEN_HANDLES: usize = 24;

/// How long a caller waits for a free handle before failing.
const HANDLE_WAIT: Duration = Duration::from_secs(30);

/// A small pool of database handles (each is one connection), at most
/// [`MAX_OPEN_HANDLES`] open; a handle whose connection was lost is
/// dropped rather than reused.
struct Pool<T> {
    state: Mutex<PoolState<T>>,
    returned: std::sync::Condvar,
    open: Box<dyn Fn() -> Result<T, String> + Send + Sync>,
    usable: fn(&T) -> bool,
}

struct PoolState<T> {
    idle: Vec<T>,
    /// Handles open: idle or in use.
    count: usize,
}

/// A handle in use; given back (or, if unusable or dropped in a panic,
/// closed) when dropped.
struct Lease<'a, T> {
    pool: &'a Pool<T>,
    handle: Option<T>,
}

impl<T> Drop for Lease<'_, T> {
    fn drop(&mut self) {
        let mut state = self.pool.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.handle.take() {
            Some(h) if !std::thread::panicking() && (self.pool.usable)(&h) => state.idle.push(h),
            _ => state.count = state.count.saturating_sub(1),
        }
        self.pool.returned.notify_one();
    }
}

impl<T> Pool<T> {
    fn new(open: impl Fn() -> Result<T, String> + Send + Sync + 'static, usable: fn(&T) -> bool) -> Self {
        Self {
            state: Mutex::new(PoolState { idle: Vec::new(), count: 0 }),
            returned: std::sync::Condvar::new(),
            open: Box::new(open),
            usable,
        }
    }

    /// Runs `f` with a handle (an idle one, a new one while fewer than
    /// [`MAX_OPEN_HANDLES`] are open, else the next one given back), and
    /// keeps the handle for the next caller.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, String> {
        let idle = {
            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let deadline = Instant::now() + HANDLE_WAIT;
            loop {
                if let Some(h) = state.idle.pop() {
                    break Some(h);
                }
                if state.count < MAX_OPEN_HANDLES {
                    state.count += 1;
                    break None;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err("no database connection became free in time".into());
                }
                state = self.returned.wait_timeout(state, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
            }
        };
        let mut lease = Lease { pool: self, handle: idle };
        if lease.handle.is_none() {
            // Counted already: a failed open gives the place back on drop.
            lease.handle = Some((self.open)()?);
        }
        let handle = lease.handle.as_mut().ok_or("the pool lost a handle")?;
        Ok(f(handle))
    }
}

/// The issuer as last loaded.
struct Loaded {
    vci: Arc<Oid4vciIssuer>,
    version: u64,
    at: Instant,
}

/// The running service's state: configuration, issuer, state stores,
/// status-list cache and metrics. Cheap to share (`Arc`).
pub struct IssuerService {
    config: ServiceConfig,
    source: Box<dyn IssuerSource>,
    loaded: RwLock<Loaded>,
    stores: Pool<IssuerStore>,
    registries: Pool<AnyRegistry>,
    lists: Mutex<status::StatusCache>,
    metrics: metrics::Metrics,
}

impl fmt::Debug for IssuerService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerService").field("public_url", &self.config.public_url).finish_non_exhaustive()
    }
}

/// How often the issuer is re-read even if its source did not change (the
/// retired keys' publication windows depend on the time).
const RELOAD_EVERY: Duration = Duration::from_secs(300);

impl IssuerService {
    /// Checks `config`, loads the issuer from `source` (whose `iss` must be
    /// the public URL, an `https` URL or `http` to a loopback host), and
    /// opens both state files.
    pub fn new(config: ServiceConfig, source: Box<dyn IssuerSource>) -> Result<Self, String> {
        config.check()?;
        let version = source.version();
        let vci = build(&config, source.as_ref())?;
        let registry = config.registry.clone();
        let store_path = config.store_path.clone();
        // With a PostgreSQL registry the OpenID4VCI state lives beside it,
        // shared by every node.
        let store_location = config.registry.clone();
        let service = Self {
            loaded: RwLock::new(Loaded { vci: Arc::new(vci), version, at: Instant::now() }),
            source,
            stores: Pool::new(
                move || {
                    match &store_location {
                        RegistryLocation::Postgres(url) => PgStore::open(url).map(IssuerStore::Postgres),
                        RegistryLocation::Sqlite(_) => SqliteStore::open(&store_path).map(IssuerStore::Sqlite),
                    }
                    .map_err(|e| e.to_string())
                },
                IssuerStore::is_usable,
            ),
            registries: Pool::new(
                move || registry.open().map_err(|e| format!("{registry}: {e}")),
                |r: &AnyRegistry| r.is_usable(),
            ),
            lists: Mutex::new(status::StatusCache::default()),
            metrics: metrics::Metrics::default(),
            config,
        };
        service.stores.with(|_| ())?;
        service.registries.with(|_| ())?;
        Ok(service)
    }

    /// The public URL (the credential issuer identifier).
    pub fn public_url(&self) -> &str {
        &self.config.public_url
    }

    /// The status list URIs of the registry this service does not serve
    /// (not under its public URL): publish those with `issuer status-list`.
    pub fn unserved_lists(&self) -> Result<Vec<String>, String> {
        let origin = origin_of(&self.config.public_url);
        let lists = self.registries.with(|r| r.lists())?.map_err(|e| e.to_string())?;
        Ok(lists.into_iter().map(|(uri, _)| uri).filter(|u| !u.starts_with(&format!("{origin}/"))).collect())
    }

    /// Drops the offers, grants and published offers that have expired;
    /// returns how many. The service does this every few minutes.
    pub fn prune(&self, now: UnixTime) -> Result<usize, String> {
        use crate::protocol::oid4vci::Oid4vciStore as _;
        self.stores.with(|s| s.prune(now))?.map_err(|e| e.to_string())
    }

    /// How many credentials this process issued.
    pub fn issued_total(&self) -> u64 {
        self.metrics.issued_total()
    }

    /// The OpenID4VCI issuer, reloaded from the source when it changed.
    pub(crate) fn vci(&self) -> Result<Arc<Oid4vciIssuer>, String> {
        {
            let loaded = self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if loaded.version == self.source.version() && loaded.at.elapsed() < RELOAD_EVERY {
                return Ok(loaded.vci.clone());
            }
        }
        let version = self.source.version();
        let vci = Arc::new(build(&self.config, self.source.as_ref())?);
        let mut loaded = self.loaded.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *loaded = Loaded { vci: vci.clone(), version, at: Instant::now() };
        tracing::info!(kid = vci.issuer().kid(), "issuer reloaded");
        Ok(vci)
    }
}

fn build(config: &ServiceConfig, source: &dyn IssuerSource) -> Result<Oid4vciIssuer, String> {
    let issuer = source.load(UnixTime::now())?;
    if issuer.id() != config.public_url {
        return Err(format!(
            "the public URL {} is not the issuer's identifier {} (they must be equal: wallets check it byte for byte)",
            config.public_url,
            issuer.id()
        ));
    }
    Oid4vciIssuer::new(issuer, config.oid4vci.clone()).map_err(|e| e.to_string())
}

/// `scheme://authority` of a URL that passed the protocol's URL check.
fn origin_of(url: &str) -> String {
    match crate::protocol::url::check(url, crate::protocol::url::UrlUse::Identifier) {
        Ok(u) => format!("{}{}", u.scheme, u.authority),
        Err(_) => url.to_owned(),
    }
}

/// The path of the public URL (`""` or `/tenant`), which prefixes every
/// endpoint.
fn prefix_of(url: &str) -> String {
    match crate::protocol::url::check(url, crate::protocol::url::UrlUse::Identifier) {
        Ok(u) => u.path.trim_end_matches('/').to_owned(),
        Err(_) => String::new(),
    }
}

/// An offer made and published by reference: what the bureau hands the
/// holder.
pub struct MadeOffer {
    /// `openid-credential-offer://?credential_offer_uri=…` (for a QR code
    /// or a link). It leads to the pre-authorized code: a secret.
    pub link: String,
    /// The `credential_offer_uri` itself.
    pub offer_uri: String,
    /// The transaction code, for a second channel, when one was asked for.
    pub tx_code: Option<TxCode>,
    /// When the offer stops being accepted.
    pub expires_at: UnixTime,
}

impl fmt::Debug for MadeOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MadeOffer")
            .field("link", &"[redacted]")
            .field("tx_code", &self.tx_code.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Records `offer` in `store` and publishes it by reference under the
/// issuer's identifier (`<iss>/credential-offer/<id>`): what `creditproof
/// issuer offer` and the back office's `POST /admin/offers` do. The
/// service need not run: it serves the offer from the same store.
pub fn make_offer(
    vci: &Oid4vciIssuer,
    store: &mut IssuerStore,
    offer: NewOffer,
    now: UnixTime,
    rng: &mut dyn SecureRng,
) -> Result<MadeOffer, Oid4vciError> {
    let created = vci.create_offer(store, offer, now, rng)?;
    let id = store
        .publish_offer(created.offer(), created.expires_at(), rng)
        .map_err(|e| Oid4vciError::ServerError { reason: e.to_string() })?;
    let offer_uri = format!("{}/credential-offer/{id}", vci.credential_issuer().trim_end_matches('/'));
    Ok(MadeOffer {
        link: offer_link_by_reference(&offer_uri),
        offer_uri,
        tx_code: created.tx_code().cloned(),
        expires_at: created.expires_at(),
    })
}

/// The registry as the credential endpoint's [`StatusSource`]: each batch
/// is recorded with one random, never reused status index per credential,
/// signed inside the registry's transaction, and its history says
/// `issued` with `reason`.
pub struct RegistryStatus<'a> {
    registry: &'a mut dyn IssuerRegistry,
    rng: &'a mut dyn SecureRng,
    reason: &'a str,
}

impl<'a> RegistryStatus<'a> {
    /// Issues through `registry`, drawing indexes with `rng`.
    pub fn new(registry: &'a mut dyn IssuerRegistry, rng: &'a mut dyn SecureRng, reason: &'a str) -> Self {
        Self { registry, rng, reason }
    }
}

impl fmt::Debug for RegistryStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryStatus").finish_non_exhaustive()
    }
}

impl StatusSource for RegistryStatus<'_> {
    fn issue(
        &mut self,
        batch: &Batch<'_>,
        now: UnixTime,
        sign: &mut SignBatch<'_>,
    ) -> Result<Vec<IssuedCredential>, Oid4vciError> {
        let holders: Vec<Thumbprint> = batch.holders.iter().map(|k| k.thumbprint()).collect();
        let mut id = [0u8; 12];
        self.rng.fill(&mut id);
        let batch_id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let record = NewBatch {
            batch_id: &batch_id,
            subject: batch.subject,
            policy: None,
            holders: &holders,
            reason: self.reason,
        };
        let mut signed = None;
        let mut deliver = |refs: &[StatusRef]| -> Result<Delivery, RegistryError> {
            let credentials = sign(Some(refs)).map_err(|e| RegistryError::Delivery(format!("signing failed: {e}")))?;
            signed = Some(credentials);
            // Handed over in the HTTP response, after the commit.
            Ok(Delivery::Delivered)
        };
        let rng = &mut *self.rng;
        let mut fill = |b: &mut [u8]| rng.fill(b);
        self.registry
            .issue_batch(&record, now.as_secs(), &mut fill, &mut deliver)
            .map_err(|e| Oid4vciError::ServerError { reason: format!("registry: {e}") })?;
        signed.ok_or_else(|| Oid4vciError::ServerError { reason: "the registry did not run the signing step".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_tokens_are_checked_in_constant_time_and_never_printed() {
        let secret = "0123456789abcdef0123456789abcdef-admin";
        let t = AdminToken::new(&format!("  {secret}\n")).unwrap();
        assert!(t.matches(secret));
        assert!(!t.matches(&secret[1..]));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains(secret));
        let config = ServiceConfig::new("https://b.example", Path::new("r"), Path::new("s")).with_admin_token(t);
        assert!(!format!("{config:?}").contains(secret));
        assert!(AdminToken::new("short").is_err());
        assert!(AdminToken::new(&format!("{secret} with space")).is_err());
    }

    #[test]
    fn pools_cap_open_handles_and_drop_unusable_ones() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static OPENED: AtomicUsize = AtomicUsize::new(0);
        static LIVE: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        // A handle is (its number, whether it still works).
        let pool = Arc::new(Pool::new(|| Ok((OPENED.fetch_add(1, Ordering::SeqCst), true)), |h: &(usize, bool)| h.1));
        let threads: Vec<_> = (0..64)
            .map(|i| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    pool.with(|h| {
                        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
                        PEAK.fetch_max(live, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(5));
                        LIVE.fetch_sub(1, Ordering::SeqCst);
                        // Every 8th caller loses its connection.
                        if i % 8 == 0 {
                            h.1 = false;
                        }
                    })
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(PEAK.load(Ordering::SeqCst) <= MAX_OPEN_HANDLES);
        let state = pool.state.lock().unwrap();
        assert!(state.idle.iter().all(|h| h.1), "an unusable handle was kept");
        assert_eq!(state.count, state.idle.len(), "every handle given back");
        assert!(OPENED.load(Ordering::SeqCst) <= MAX_OPEN_HANDLES + 8, "handles reused, not reopened");
    }

    #[test]
    fn configurations_out_of_range_are_refused() {
        let base = || ServiceConfig::new("https://b.example", Path::new("r"), Path::new("s"));
        assert!(base().check().is_ok());
        assert!(base().with_status_timing(0, 86_400).check().is_err(), "no ttl");
        assert!(base().with_status_timing(50_000, 86_400).check().is_err(), "ttl above half the validity");
        assert!(base().with_timeouts(Duration::ZERO, Duration::from_secs(1)).check().is_err());
        assert!(base().with_limits(0, 10).check().is_err());
        assert_eq!(prefix_of("https://b.example/tenant/"), "/tenant");
        assert_eq!(origin_of("https://b.example:8443/tenant"), "https://b.example:8443");
    }
}
