//! The issuer signs the itemized breakdown for the holder
//! (the token's format is in [`crate::profile::breakdown`]).

use serde_json::json;

use crate::format::keys::HolderPublicKey;
use crate::format::time::UnixTime;
use crate::issuer::Issuer;
use crate::profile::breakdown::BREAKDOWN_TYP;
use crate::profile::policy::ScoreReport;

impl Issuer {
    /// Signs `report` for the holder of `holder` (one of the batch's keys).
    pub fn sign_breakdown(&self, report: &ScoreReport, holder: &HolderPublicKey, now: UnixTime) -> String {
        let header = json!({"typ": BREAKDOWN_TYP, "kid": self.kid()});
        let payload = json!({
            "iss": self.id(),
            "sub": holder.thumbprint(),
            "iat": now.start_of_day().as_secs(),
            "breakdown": report,
        });
        self.sign_token(&header, &payload)
    }
}
