//! The issuer signs each policy version it publishes (the token's format
//! is in [`crate::policy`]: [`crate::policy::verify_policy_token`]), and
//! its receipts and resolutions of disputes ([`crate::dispute`]).

use serde_json::json;

use crate::format::time::UnixTime;
use crate::issuer::Issuer;
use crate::profile::dispute::{signed_payload, Receipt, Resolution, RECEIPT_TYP, RESOLUTION_TYP};
use crate::profile::policy::{policy_token_payload, Policy, POLICY_TYP};

impl Issuer {
    /// Signs `policy` as a published policy version
    /// (`typ: creditproof-policy+jwt`, payload `{"iss", "iat", "sha256",
    /// "policy"}`, `iat` rounded to the day).
    pub fn sign_policy(&self, policy: &Policy, now: UnixTime) -> String {
        let header = json!({"typ": POLICY_TYP, "kid": self.kid()});
        self.sign_token(&header, &policy_token_payload(self.id(), policy, now.start_of_day().as_secs()))
    }

    /// Signs a dispute receipt for the holder
    /// (`typ: creditproof-dispute-receipt+jwt`).
    pub fn sign_receipt(&self, receipt: &Receipt) -> String {
        let header = json!({"typ": RECEIPT_TYP, "kid": self.kid()});
        self.sign_token(&header, &signed_payload(self.id(), receipt))
    }

    /// Signs the resolution of one disputed entry for the holder
    /// (`typ: creditproof-dispute-resolution+jwt`).
    pub fn sign_resolution(&self, resolution: &Resolution) -> String {
        let header = json!({"typ": RESOLUTION_TYP, "kid": self.kid()});
        self.sign_token(&header, &signed_payload(self.id(), resolution))
    }
}
