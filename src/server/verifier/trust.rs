//! The trusted issuers of the verifier service: metadata documents given
//! once (files from `creditproof issuer public`), and issuer identifiers
//! whose `/.well-known/jwt-vc-issuer` metadata is fetched and refreshed.
//!
//! Every refresh replaces an issuer's keys with the ones it publishes now:
//! a new key verifies from the refresh that brings it, and a key the
//! issuer stopped publishing stops verifying at the refresh that no longer
//! finds it. A refresh that fails keeps the keys last fetched (logged and
//! counted); an identifier never fetched trusts no key, so its credentials
//! fail with `trust.issuer` until a fetch succeeds.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use super::{Fetch, MAX_METADATA_BYTES};
use crate::error::TrustError;
use crate::format::keys::IssuerPublicKey;
use crate::format::trust::{IssuerMetadata, KeyProvider, TrustStore};
use crate::protocol::oid4vci::jwt_vc_issuer_metadata_url;
use crate::Limits;

/// An issuer the verifier service trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedIssuer {
    /// A JWT VC Issuer Metadata document, read once (a file from
    /// `creditproof issuer public`).
    Metadata(IssuerMetadata),
    /// An issuer identifier (`https`, or `http` to a loopback host): its
    /// metadata is fetched from `/.well-known/jwt-vc-issuer` (the path
    /// inserted as the SD-JWT VC draft says), its `issuer` must be the
    /// identifier, and it is refreshed periodically.
    Identifier(String),
}

/// The trust store every verification reads, shared with the refresher
/// that replaces it.
#[derive(Clone, Default)]
pub(crate) struct SharedTrust(Arc<RwLock<TrustStore>>);

impl fmt::Debug for SharedTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedTrust")
    }
}

impl KeyProvider for SharedTrust {
    fn issuer_key(&self, iss: &str, kid: &str) -> Result<IssuerPublicKey, TrustError> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).issuer_key(iss, kid)
    }
}

/// What one refresh did.
#[derive(Debug, Default)]
pub(crate) struct Refreshed {
    /// Whether any issuer's keys changed.
    pub(crate) changed: bool,
    /// The identifiers fetched.
    pub(crate) fetched: usize,
    /// The identifiers whose metadata could not be had, and why.
    pub(crate) failed: Vec<(String, String)>,
}

/// The trusted issuers: the sources, what was fetched last, and the store
/// built from both.
pub(crate) struct Trust {
    shared: SharedTrust,
    fixed: Vec<IssuerMetadata>,
    identifiers: Vec<String>,
    fetched: Mutex<BTreeMap<String, IssuerMetadata>>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust").field("identifiers", &self.identifiers).finish_non_exhaustive()
    }
}

impl Trust {
    pub(crate) fn new(sources: &[TrustedIssuer]) -> Self {
        let mut fixed = Vec::new();
        let mut identifiers = Vec::new();
        for s in sources {
            match s {
                TrustedIssuer::Metadata(m) => fixed.push(m.clone()),
                TrustedIssuer::Identifier(id) if !identifiers.contains(id) => identifiers.push(id.clone()),
                TrustedIssuer::Identifier(_) => {}
            }
        }
        let trust = Self { shared: SharedTrust::default(), fixed, identifiers, fetched: Mutex::new(BTreeMap::new()) };
        trust.rebuild(&BTreeMap::new());
        trust
    }

    /// The key provider of the verifications.
    pub(crate) fn shared(&self) -> SharedTrust {
        self.shared.clone()
    }

    /// Whether some identifiers are fetched (and so refreshed).
    pub(crate) fn has_identifiers(&self) -> bool {
        !self.identifiers.is_empty()
    }

    /// Fetches the metadata of every identifier (blocking) and rebuilds the
    /// store from what it got; an issuer whose fetch failed keeps its last
    /// keys.
    pub(crate) fn refresh(&self, fetch: &dyn Fetch) -> Refreshed {
        let mut out = Refreshed::default();
        let mut got = BTreeMap::new();
        for id in &self.identifiers {
            match fetch_metadata(fetch, id) {
                Ok(m) => {
                    out.fetched += 1;
                    got.insert(id.clone(), m);
                }
                Err(e) => out.failed.push((id.clone(), e)),
            }
        }
        let mut fetched = self.fetched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (id, m) in got {
            if fetched.get(&id) != Some(&m) {
                out.changed = true;
                fetched.insert(id, m);
            }
        }
        if out.changed {
            self.rebuild(&fetched);
        }
        out
    }

    fn rebuild(&self, fetched: &BTreeMap<String, IssuerMetadata>) {
        let mut store = TrustStore::new();
        for m in self.fixed.iter().chain(fetched.values()) {
            for (kid, key) in m.keys() {
                let kid = kid.clone().unwrap_or_else(|| key.thumbprint());
                store.add_with_kid(m.issuer(), kid, *key);
            }
        }
        *self.shared.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = store;
    }
}

/// `GET <identifier's /.well-known/jwt-vc-issuer>`: 200, a metadata
/// document within [`MAX_METADATA_BYTES`], whose `issuer` is the
/// identifier byte for byte.
fn fetch_metadata(fetch: &dyn Fetch, id: &str) -> Result<IssuerMetadata, String> {
    let url = jwt_vc_issuer_metadata_url(id).map_err(|e| e.to_string())?;
    let got = fetch.get(&url, "application/json", MAX_METADATA_BYTES)?;
    if got.status != 200 {
        return Err(format!("{url} answered {}", got.status));
    }
    let m = IssuerMetadata::from_json(&got.body, &Limits::default()).map_err(|e| format!("{url}: {e}"))?;
    if m.issuer() != id {
        return Err(format!("{url} publishes keys for {}, not for {id}", m.issuer()));
    }
    Ok(m)
}
