//! Serving the registry's status lists: one signed `statuslist+jwt` per
//! list, cached and re-signed only when needed.
//!
//! A token is re-signed when its list changed (the registry's
//! [`IssuerRegistry::revision`] moved and the list's bytes differ), when
//! fewer than `ttl` seconds of its `exp` are left (so a cached copy never
//! outlives its token), when half its `ttl` has passed since its `iat`, or
//! when the signing key changed — not on every request. A verifier counts a
//! token until `iat + ttl` (not until it fetched it plus `ttl`), so a token
//! served must be younger than its `ttl`: re-signing at half of it gives
//! every fetch at least half a `ttl` of use, and `Cache-Control: max-age`
//! says what is left of it. Changes made by other processes (`creditproof issuer revoke`
//! while the service runs) are seen on the next request.

use std::collections::HashMap;

use crate::format::status_list::StatusList;
use crate::format::time::UnixTime;
use crate::issuer::registry::{IssuerRegistry, RegistryError};
use crate::issuer::Issuer;

/// One signed list.
#[derive(Debug, Clone)]
struct Signed {
    statuses: Vec<u8>,
    token: String,
    iat: u64,
    exp: u64,
    kid: String,
}

/// The cache of signed lists, by list URI.
#[derive(Debug, Default)]
pub(crate) struct StatusCache {
    revision: Option<u64>,
    statuses: HashMap<String, Vec<u8>>,
    signed: HashMap<String, Signed>,
}

/// What a status list request gets.
#[derive(Debug)]
pub(crate) enum ListAnswer {
    /// The token, whether it was signed for this request, and how many
    /// seconds a cache may keep it (what is left of its `ttl`).
    Token { token: String, fresh: bool, max_age: u64 },
    /// No list has this URI.
    Unknown,
}

/// How status list tokens are signed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListTiming {
    pub(crate) ttl_secs: u64,
    pub(crate) validity_secs: u64,
}

impl StatusCache {
    /// The token of the list `uri` at `now`, re-read from `registry` if it
    /// changed and re-signed if needed.
    pub(crate) fn token(
        &mut self,
        uri: &str,
        registry: &mut dyn IssuerRegistry,
        issuer: &Issuer,
        timing: ListTiming,
        now: UnixTime,
    ) -> Result<ListAnswer, RegistryError> {
        let revision = registry.revision()?;
        if self.revision != Some(revision) {
            self.statuses = registry.lists()?.into_iter().collect();
            self.revision = Some(revision);
        }
        let Some(statuses) = self.statuses.get(uri) else {
            return Ok(ListAnswer::Unknown);
        };
        let now_secs = now.as_secs();
        let current = self.signed.get(uri).filter(|s| {
            s.statuses == *statuses
                && s.kid == issuer.kid()
                && now_secs.saturating_add(timing.ttl_secs) < s.exp
                && now_secs.saturating_sub(s.iat) < timing.ttl_secs.div_ceil(2)
        });
        if let Some(s) = current {
            let max_age = s.iat.saturating_add(timing.ttl_secs).saturating_sub(now_secs);
            return Ok(ListAnswer::Token { token: s.token.clone(), fresh: false, max_age });
        }
        let mut list = StatusList::new(2, statuses.len())
            .map_err(|e| RegistryError::Invariant(format!("status list of {} entries: {e}", statuses.len())))?;
        for (i, &s) in statuses.iter().enumerate().filter(|(_, &s)| s != 0) {
            list.set(i, s).map_err(|e| RegistryError::Invariant(format!("status value {s}: {e}")))?;
        }
        let token = issuer.sign_status_list(uri, &list, now, timing.validity_secs, timing.ttl_secs);
        let signed = Signed {
            statuses: statuses.clone(),
            token: token.clone(),
            iat: now_secs,
            exp: now_secs.saturating_add(timing.validity_secs),
            kid: issuer.kid().to_owned(),
        };
        self.signed.insert(uri.to_owned(), signed);
        Ok(ListAnswer::Token { token, fresh: true, max_age: timing.ttl_secs })
    }
}
