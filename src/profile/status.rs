//! Revocation and suspension with IETF Token Status Lists
//! (draft-ietf-oauth-status-list).
//!
//! A credential carries `status.status_list {idx, uri}`. The issuer
//! publishes each list as a signed `statuslist+jwt` whose `sub` is the
//! list's `uri` and whose `status_list {bits: 2, lst}` holds the
//! zlib-compressed bitstring (0 valid, 1 revoked, 2 suspended). A verifier
//! loads the tokens it fetched into [`StatusLists`] once (signature checked
//! against the trust store, `lst` decoded within [`DecodeLimits`]) and every
//! verification then costs one lookup.
//!
//! # Which token counts, and for how long
//!
//! * **The newest wins, whatever the loading order.** Per issuer and `uri`
//!   the token with the latest `iat` is kept; an older one loaded later is
//!   ignored. Tokens that share the newest `iat` are merged entry by entry,
//!   the stricter status winning (revoked over suspended over valid), so an
//!   older or equally old token can never undo a status a fresher one shows.
//! * **No token from the future.** A token whose `iat` lies beyond the clock
//!   skew ahead of `now` is refused (`status.future_iat`): it would
//!   otherwise shadow every honest, fresher list until its `exp`.
//! * **`ttl` is honoured.** A token counts until `iat + ttl` (plus the clock
//!   skew), then verification fails closed with `status.stale` until a
//!   fresher token is loaded. The verifier bounds the age of any token by
//!   [`VerifierOptions::with_status_max_age_secs`] (default one hour): a
//!   token without `ttl` counts that long, a larger `ttl` is clamped to it,
//!   and a `ttl` below [`MIN_STATUS_TTL_SECS`] counts as that floor so a
//!   verifier never refetches a list more than once a minute (a floor
//!   [`VerifierOptions::with_status_min_ttl_secs`] may lower, for tests).
//!   [`StatusLists::refetch_schedule`] says which list is due when.
//! * `exp` still ends a token's life (`status.expired`) when it comes first.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::error::{Error, LimitError, MalformedError, StatusError};
use crate::format::encoding::{get_str, get_u64};
use crate::format::jws::UnverifiedJws;
use crate::format::sd_jwt::VerifierOptions;
use crate::format::status_list::{DecodeLimits, StatusList, STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID};
use crate::format::time::UnixTime;
use crate::format::trust::KeyProvider;

/// JOSE `typ` of a status list token.
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";

/// Where a credential's status lives: index `idx` of the list at `uri`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusRef {
    /// The list's URI (the token's `sub`).
    pub uri: String,
    /// The credential's index in the list.
    pub idx: u64,
}

impl StatusRef {
    pub(crate) fn to_json(&self) -> Value {
        json!({"status_list": {"idx": self.idx, "uri": self.uri}})
    }

    /// Reads `status.status_list` from a credential payload (absent → None).
    pub(crate) fn from_payload(payload: &Map<String, Value>) -> Result<Option<Self>, Error> {
        let Some(status) = payload.get("status") else {
            return Ok(None);
        };
        let bad = || Error::from(MalformedError::Claim { name: "status" });
        let sl = status.get("status_list").and_then(Value::as_object).ok_or_else(bad)?;
        let uri = sl.get("uri").and_then(Value::as_str).ok_or_else(bad)?;
        let idx = sl.get("idx").and_then(Value::as_u64).ok_or_else(bad)?;
        Ok(Some(Self { uri: uri.to_owned(), idx }))
    }
}

impl fmt::Display for StatusRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.uri, self.idx)
    }
}

/// The smallest `ttl` a verifier honours by default, in seconds: a token
/// asking to be refetched sooner still counts this long, so that a verifier
/// never fetches one list more than once a minute
/// ([`VerifierOptions::with_status_min_ttl_secs`] lowers it).
pub const MIN_STATUS_TTL_SECS: u64 = VerifierOptions::DEFAULT_STATUS_MIN_TTL_SECS;

/// The signature-checked, decoded list of one issuer and `uri`: the token
/// with the latest `iat`, or the entry-wise strictest merge of every loaded
/// token that shares that `iat`.
#[derive(Debug, Clone)]
struct CheckedList {
    iat: u64,
    /// The earliest `exp` of the merged tokens.
    exp: u64,
    /// The smallest `ttl` of the merged tokens, if any had one.
    ttl: Option<u64>,
    list: StatusList,
}

impl CheckedList {
    /// Until when this list counts (exclusive of the clock skew): `iat` +
    /// its `ttl` clamped to the verifier's bounds, or `exp` if sooner.
    fn fresh_until(&self, options: &VerifierOptions) -> u64 {
        let max_age = options.status_max_age_secs();
        let ttl = self.ttl.unwrap_or(max_age).clamp(options.status_min_ttl_secs().min(max_age), max_age);
        self.iat.saturating_add(ttl).min(self.exp)
    }

    /// Folds in a token with the same `iat`: every entry takes the stricter
    /// of the two statuses. The merge is commutative and associative, so the
    /// result does not depend on the order tokens arrive in.
    fn merge(&mut self, other: CheckedList) -> Result<(), Error> {
        self.exp = self.exp.min(other.exp);
        self.ttl = match (self.ttl, other.ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.list == other.list {
            return Ok(());
        }
        let bits = self.list.bits().max(other.list.bits());
        let len = self.list.len().min(other.list.len());
        let mut merged = StatusList::new(bits, len).map_err(Error::StatusList)?;
        for i in 0..len {
            let (a, b) = (self.list.get(i).unwrap_or(STATUS_VALID), other.list.get(i).unwrap_or(STATUS_VALID));
            let strictest = if strictness(a) >= strictness(b) { a } else { b };
            merged.set(i, strictest).map_err(Error::StatusList)?;
        }
        self.list = merged;
        Ok(())
    }
}

/// A total order on status values, strictest last: valid < suspended <
/// revoked < any value this profile does not define (which fails closed).
fn strictness(value: u8) -> (u8, u8) {
    match value {
        STATUS_VALID => (0, 0),
        STATUS_SUSPENDED => (1, 0),
        STATUS_INVALID => (2, 0),
        other => (3, other),
    }
}

/// When a loaded list stops counting and should be fetched again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRefetch {
    /// The issuer that signed the list.
    pub issuer: String,
    /// The list's `uri` (where to fetch it).
    pub uri: String,
    /// From this moment (plus the clock skew) verifications that need the
    /// list fail with `status.stale` or `status.expired`.
    pub due: UnixTime,
}

/// Status list tokens a verifier has fetched, each checked against the
/// trust store and decoded once.
#[derive(Debug, Clone, Default)]
pub struct StatusLists {
    /// Keyed by (issuer, uri): one trusted issuer cannot displace another's list.
    lists: HashMap<(String, String), CheckedList>,
}

impl StatusLists {
    /// No lists. A credential with a status claim fails with
    /// `status.no_list` against an empty set: there is no silent pass.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of lists held.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether no list is held.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Checks a status list token's header, its signature by a trusted key
    /// of the issuer it names, that its `iat` is not beyond the clock skew
    /// ahead of `now` (`status.future_iat`), and decodes its list within the
    /// limits. Of the tokens of one issuer for one `uri`, the one with the
    /// latest `iat` is kept and tokens sharing that `iat` are merged, the
    /// stricter status winning, in whatever order they are added. Expiry and
    /// staleness are checked at each verification, against that moment.
    pub fn add(
        &mut self,
        token: &str,
        keys: &impl KeyProvider,
        options: &VerifierOptions,
        now: UnixTime,
    ) -> Result<&mut Self, Error> {
        let (iss, sub, checked) = Self::check_token(token, keys, options, now)?;
        self.insert(iss, sub, checked)
    }

    /// Like [`StatusLists::add`], for a token fetched from `uri` for the
    /// credentials of `issuer`: its `sub` must be `uri` (`status.sub`) and
    /// its `iss` `issuer` (`status.issuer`), so that a list served at one
    /// address can never stand in for another. Returns when the list stops
    /// counting (as [`StatusLists::refetch_schedule`] says).
    pub fn add_fetched(
        &mut self,
        issuer: &str,
        uri: &str,
        token: &str,
        keys: &impl KeyProvider,
        options: &VerifierOptions,
        now: UnixTime,
    ) -> Result<UnixTime, Error> {
        let (iss, sub, checked) = Self::check_token(token, keys, options, now)?;
        if iss != issuer {
            return Err(StatusError::WrongIssuer.into());
        }
        if sub != uri {
            return Err(StatusError::SubjectMismatch.into());
        }
        self.insert(iss, sub, checked)?;
        let held = self.lists.get(&(issuer.to_owned(), uri.to_owned())).map(|c| c.fresh_until(options));
        Ok(UnixTime(held.unwrap_or(0)))
    }

    /// The checks of [`StatusLists::add`]: the token's issuer, its `sub`
    /// and its decoded list.
    fn check_token(
        token: &str,
        keys: &impl KeyProvider,
        options: &VerifierOptions,
        now: UnixTime,
    ) -> Result<(String, String, CheckedList), Error> {
        let limits = options.limits();
        // `lst` is one long string: allow it up to the compressed-size bound
        // (base64url: 4/3), and bound the whole token by the same figure.
        let decode_limits = DecodeLimits::new()
            .with_max_compressed_bytes(limits.max_status_list_compressed_bytes())
            .with_max_decompressed_bytes(limits.max_status_list_decompressed_bytes());
        let lst_max = limits.max_status_list_compressed_bytes().saturating_mul(4) / 3 + 4;
        let token_max = lst_max.saturating_add(limits.max_request_bytes());
        if token.len() > token_max {
            return Err(LimitError::InputTooLarge { what: "status list token", limit: token_max }.into());
        }
        let limits = limits.with_max_string_bytes(limits.max_string_bytes().max(lst_max));
        let jws = UnverifiedJws::parse(token, STATUS_LIST_TYP, &limits, "status list")?;
        let kid = jws.kid()?;
        let iss = get_str(&jws.payload, "iss")?;
        let key = keys.issuer_key(iss, kid).map_err(|_| StatusError::UntrustedList)?;
        if !jws.verify(&key) {
            return Err(StatusError::ListSignature.into());
        }
        let sub = get_str(&jws.payload, "sub")?.to_owned();
        let exp = get_u64(&jws.payload, "exp")?;
        let iat = get_u64(&jws.payload, "iat")?;
        if iat > now.as_secs().saturating_add(options.clock_skew_secs()) {
            return Err(StatusError::FutureIat.into());
        }
        let ttl = match jws.payload.get("ttl") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or(MalformedError::Claim { name: "ttl" })?),
        };
        let sl = jws
            .payload
            .get("status_list")
            .and_then(Value::as_object)
            .ok_or(MalformedError::Claim { name: "status_list" })?;
        let bits = sl
            .get("bits")
            .and_then(Value::as_u64)
            .and_then(|b| u8::try_from(b).ok())
            .ok_or(MalformedError::Claim { name: "status_list.bits" })?;
        let lst = sl.get("lst").and_then(Value::as_str).ok_or(MalformedError::Claim { name: "status_list.lst" })?;
        let list = StatusList::decode(bits, lst, &decode_limits).map_err(Error::StatusList)?;
        Ok((iss.to_owned(), sub, CheckedList { iat, exp, ttl, list }))
    }

    /// Keeps a checked list: the newest per issuer and `uri` wins; an
    /// equally new one is merged, the stricter status winning: loading an
    /// older or equally old token after a fresher one must never un-revoke
    /// a credential.
    fn insert(&mut self, iss: String, sub: String, checked: CheckedList) -> Result<&mut Self, Error> {
        match self.lists.entry((iss, sub)) {
            Entry::Vacant(slot) => {
                slot.insert(checked);
            }
            Entry::Occupied(mut slot) => {
                let held = slot.get_mut();
                if checked.iat > held.iat {
                    *held = checked;
                } else if checked.iat == held.iat {
                    held.merge(checked)?;
                }
            }
        }
        Ok(self)
    }

    /// When each loaded list stops counting, soonest first: `iat` + `ttl`
    /// (clamped to the bounds of `options`), or `exp` if sooner. A verifier
    /// refetches a list from its `uri` before then.
    pub fn refetch_schedule(&self, options: &VerifierOptions) -> Vec<StatusRefetch> {
        let mut out: Vec<StatusRefetch> = self
            .lists
            .iter()
            .map(|((issuer, uri), checked)| StatusRefetch {
                issuer: issuer.clone(),
                uri: uri.clone(),
                due: UnixTime(checked.fresh_until(options)),
            })
            .collect();
        out.sort_by(|a, b| (a.due, &a.issuer, &a.uri).cmp(&(b.due, &b.issuer, &b.uri)));
        out
    }

    /// What the held list of issuer `iss` says about `status`, whatever its
    /// age: the list's `iat` and the entry's value, or `None` when no list
    /// of that issuer and `uri` is held or the index is outside it. For a
    /// holder, who wants to know whether a credential is worth presenting
    /// (a revocation stays true however old the list that shows it), not
    /// for a verifier, which uses [`StatusLists::check`].
    pub(crate) fn lookup(&self, iss: &str, status: &StatusRef) -> Option<(u64, u8)> {
        let checked = self.lists.get(&(iss.to_owned(), status.uri.clone()))?;
        let value = checked.list.get(usize::try_from(status.idx).ok()?)?;
        Some((checked.iat, value))
    }

    /// The status of `status` for a credential of issuer `iss` at `now`.
    pub(crate) fn check(
        &self,
        iss: &str,
        status: &StatusRef,
        now: u64,
        options: &VerifierOptions,
    ) -> Result<(), Error> {
        if self.lists.is_empty() {
            return Err(StatusError::NoList.into());
        }
        let Some(checked) = self.lists.get(&(iss.to_owned(), status.uri.clone())) else {
            // A list for this uri from another issuer says nothing about
            // this credential.
            if self.lists.keys().any(|(_, uri)| *uri == status.uri) {
                return Err(StatusError::WrongIssuer.into());
            }
            return Err(StatusError::UriMismatch.into());
        };
        let skew = options.clock_skew_secs();
        if checked.iat > now.saturating_add(skew) {
            return Err(StatusError::FutureIat.into());
        }
        if now > checked.exp.saturating_add(skew) {
            return Err(StatusError::ListExpired.into());
        }
        if now > checked.fresh_until(options).saturating_add(options.status_stale_skew_secs()) {
            return Err(StatusError::Stale.into());
        }
        let idx = usize::try_from(status.idx).map_err(|_| StatusError::IndexOutOfRange)?;
        match checked.list.get(idx) {
            None => Err(StatusError::IndexOutOfRange.into()),
            Some(STATUS_VALID) => Ok(()),
            Some(STATUS_INVALID) => Err(StatusError::Revoked.into()),
            Some(STATUS_SUSPENDED) => Err(StatusError::Suspended.into()),
            Some(_) => Err(StatusError::UnknownStatus.into()),
        }
    }
}
