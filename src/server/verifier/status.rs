//! Status lists fetched on demand, cached until they are due, one fetch at
//! a time per list.
//!
//! Before a response is checked, the service asks
//! [`crate::oid4vp::DirectPost::status_references`] which lists its
//! presentations need: only lists named by credentials whose issuer is
//! trusted and whose issuer signature verifies, so nobody can make the
//! service fetch an address of their choosing. For each list:
//!
//! * **cached**: held and not due (its `iat` + `ttl`, clamped to the
//!   configured bounds, or its `exp`) — nothing is fetched;
//! * **due**: one task fetches it from its `uri` (`https`, or `http` to a
//!   loopback host, through the service's [`Fetch`] client with its size,
//!   time and redirect limits) while every other verification that needs
//!   it waits for that fetch instead of starting its own;
//! * the token must be signed by the credential's issuer, with `sub` equal
//!   to the `uri` ([`crate::Verifier::add_fetched_status_list`]);
//! * **fail closed**: when no fresh token can be had (the fetch failed, or
//!   the issuer served a token that is already stale), the held list stays
//!   as it was and the verification rejects with `status.stale` (or
//!   `status.no_list` if none was ever fetched). Another fetch is tried
//!   after a short pause, not on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Fetch, VerifierService, MAX_STATUS_LIST_BYTES};
use crate::format::time::UnixTime;
use crate::profile::status::{StatusRef, STATUS_LIST_TYP};
use crate::protocol::url::{self, UrlUse};

/// The most distinct lists remembered (fetch locks and due times).
const MAX_LISTS: usize = 10_000;

/// One list's cache state.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    /// When the held token stops counting (none held: `None`).
    fresh_until: Option<UnixTime>,
    /// No fetch before this moment (after a failure).
    retry_at: Option<Instant>,
}

/// A list: its issuer and `uri`.
type ListKey = (String, String);
/// Held while a list is fetched.
type FetchLock = Arc<tokio::sync::Mutex<()>>;

/// The due times and fetch locks, by list.
#[derive(Debug, Default)]
pub(crate) struct ListCache {
    entries: Mutex<HashMap<ListKey, Entry>>,
    locks: Mutex<HashMap<ListKey, FetchLock>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How one list was made ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ready {
    /// Held and fresh.
    Hit,
    /// Fetched now, or by a concurrent verification this one waited for.
    Fetched,
    /// No fresh token could be had: the verification fails closed.
    Unavailable,
}

impl ListCache {
    /// Forgets every due time (after the trusted keys changed: the lists
    /// are fetched and checked again).
    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }

    fn fresh(&self, key: &ListKey, now: UnixTime) -> bool {
        lock(&self.entries).get(key).and_then(|e| e.fresh_until).is_some_and(|t| now < t)
    }

    fn retry_blocked(&self, key: &ListKey) -> bool {
        lock(&self.entries).get(key).and_then(|e| e.retry_at).is_some_and(|t| Instant::now() < t)
    }

    fn record(&self, key: ListKey, fresh_until: Option<UnixTime>, retry_at: Option<Instant>) {
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_LISTS && !entries.contains_key(&key) {
            entries.clear();
        }
        let e = entries.entry(key).or_default();
        if fresh_until.is_some() {
            e.fresh_until = fresh_until;
        }
        e.retry_at = retry_at;
    }

    fn fetch_lock(&self, key: &ListKey) -> FetchLock {
        let mut locks = lock(&self.locks);
        if locks.len() >= MAX_LISTS && !locks.contains_key(key) {
            // Locks nobody holds can go; a held one is kept.
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(key.clone()).or_default().clone()
    }
}

/// Whether every list in `claimed` is held fresh now; if so, each counts
/// as a cache hit. For [`crate::oid4vp::DirectPost::claimed_status_references`]:
/// nothing here fetches.
pub(crate) fn all_fresh(service: &VerifierService, claimed: &[(String, StatusRef)]) -> bool {
    let now = UnixTime::now();
    let fresh = claimed.iter().all(|(issuer, s)| service.lists.fresh(&(issuer.clone(), s.uri.clone()), now));
    if fresh {
        for _ in claimed {
            service.metrics.status_list(Ready::Hit);
        }
    }
    fresh
}

/// Makes every list in `needs` fresh if it can (see the [module
/// documentation](self)).
pub(crate) async fn ensure_fresh(service: &Arc<VerifierService>, needs: Vec<(String, StatusRef)>) {
    for (issuer, status) in needs {
        let ready = ensure_one(service, issuer, status.uri).await;
        service.metrics.status_list(ready);
    }
}

async fn ensure_one(service: &Arc<VerifierService>, issuer: String, uri: String) -> Ready {
    let cache = &service.lists;
    let key = (issuer, uri);
    if cache.fresh(&key, UnixTime::now()) {
        return Ready::Hit;
    }
    let fetch_lock = cache.fetch_lock(&key);
    let _one_at_a_time = fetch_lock.lock().await;
    // Whoever held the lock before may have fetched it.
    if cache.fresh(&key, UnixTime::now()) {
        return Ready::Fetched;
    }
    if cache.retry_blocked(&key) {
        return Ready::Unavailable;
    }
    let s = service.clone();
    let (issuer, uri) = key.clone();
    let fetched = tokio::task::spawn_blocking(move || fetch_and_load(&s, &issuer, &uri)).await;
    let retry = Duration::from_secs(service.config.status_min_ttl_secs.min(10));
    match fetched {
        Ok(Ok(fresh_until)) if UnixTime::now() < fresh_until => {
            cache.record(key, Some(fresh_until), None);
            Ready::Fetched
        }
        Ok(Ok(fresh_until)) => {
            tracing::warn!(uri = %key.1, "the issuer served a status list that is already stale");
            cache.record(key, Some(fresh_until), Some(Instant::now() + retry));
            Ready::Unavailable
        }
        Ok(Err(e)) => {
            tracing::warn!(uri = %key.1, error = %e, "status list fetch failed");
            cache.record(key, None, Some(Instant::now() + retry));
            Ready::Unavailable
        }
        Err(e) => {
            tracing::error!(error = %e, "status list worker failed");
            Ready::Unavailable
        }
    }
}

/// Fetches the list at `uri` and loads it for `issuer`'s credentials;
/// returns when it stops counting.
fn fetch_and_load(service: &VerifierService, issuer: &str, uri: &str) -> Result<UnixTime, String> {
    url::check(uri, UrlUse::Endpoint).map_err(|r| format!("the status list uri: {r}"))?;
    let got = fetch_list(service.fetch.as_ref(), uri);
    service.metrics.fetch("status_list", got.is_ok());
    let token = got?;
    let now = UnixTime::now();
    let mut checks = service.checks.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    checks.add_fetched_status_list(issuer, uri, token.trim(), now).map_err(|e| format!("{} ({})", e, e.check()))
}

fn fetch_list(fetch: &dyn Fetch, uri: &str) -> Result<String, String> {
    let got = fetch.get(uri, &format!("application/{STATUS_LIST_TYP}"), MAX_STATUS_LIST_BYTES)?;
    if got.status != 200 {
        return Err(format!("answered {}", got.status));
    }
    String::from_utf8(got.body).map_err(|_| "the token is not utf-8".to_owned())
}
