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

use std::collections::HashMap;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::error::{Error, LimitError, MalformedError, StatusError};
use crate::format::encoding::{get_str, get_u64};
use crate::format::jws::UnverifiedJws;
use crate::format::status_list::{DecodeLimits, StatusList, STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID};
use crate::format::trust::KeyProvider;
use crate::Limits;

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

/// One signature-checked, decoded status list.
#[derive(Debug, Clone)]
struct CheckedList {
    iat: u64,
    exp: u64,
    list: StatusList,
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
    /// of the issuer it names, and decodes its list within the limits.
    /// Expiry is checked at each verification, against that moment. Of two
    /// tokens of the same issuer for the same `uri`, the one with the later
    /// `iat` is kept, in whatever order they are added.
    pub fn add(&mut self, token: &str, keys: &impl KeyProvider, limits: &Limits) -> Result<&mut Self, Error> {
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
        // Keep the newest list per uri: loading an older cached token after a
        // fresher one must never un-revoke a credential.
        let key = (iss.to_owned(), sub);
        if self.lists.get(&key).is_some_and(|held| held.iat > iat) {
            return Ok(self);
        }
        self.lists.insert(key, CheckedList { iat, exp, list });
        Ok(self)
    }

    /// The status of `status` for a credential of issuer `iss` at `now`.
    pub(crate) fn check(&self, iss: &str, status: &StatusRef, now: u64, skew: u64) -> Result<(), Error> {
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
        if now > checked.exp.saturating_add(skew) {
            return Err(StatusError::ListExpired.into());
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
