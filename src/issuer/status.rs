//! The issuer's side of Token Status Lists: signing a list as a
//! `statuslist+jwt` that verifiers load into [`crate::StatusLists`].

use serde_json::json;

use crate::format::status_list::StatusList;
use crate::format::time::UnixTime;
use crate::issuer::Issuer;
use crate::profile::status::STATUS_LIST_TYP;

impl Issuer {
    /// Signs `list` as the status list token for `uri`, valid for
    /// `validity_secs` from `now`, with `ttl` advising verifiers how long
    /// to cache it.
    pub fn sign_status_list(
        &self,
        uri: &str,
        list: &StatusList,
        now: UnixTime,
        validity_secs: u64,
        ttl_secs: u64,
    ) -> String {
        let header = json!({"typ": STATUS_LIST_TYP, "kid": self.kid()});
        let payload = json!({
            "iss": self.id(),
            "sub": uri,
            "iat": now.as_secs(),
            "exp": now.as_secs().saturating_add(validity_secs),
            "ttl": ttl_secs,
            "status_list": {"bits": list.bits(), "lst": list.encode_lst()},
        });
        self.sign_token(&header, &payload)
    }
}
