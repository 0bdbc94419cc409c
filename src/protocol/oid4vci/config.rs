//! How an issuer runs OpenID4VCI: batch size, lifetimes, attempt limits
//! and display metadata. Checked when the [`super::Oid4vciIssuer`] is
//! built, so a running issuer never holds an unusable value.

use serde_json::{json, Value};

use crate::error::{Error, IssuanceError};
use crate::profile::key_request::NONCE_LIFETIME_SECS;

/// The default credential configuration id (and `scope`).
pub const DEFAULT_CONFIGURATION_ID: &str = "creditproof_score";
/// The default batch size: credentials per credential request.
pub const DEFAULT_BATCH_SIZE: usize = 16;

/// OpenID4VCI settings of an issuer.
///
/// ```
/// use creditproof::oid4vci::Oid4vciConfig;
/// let config = Oid4vciConfig::default().with_batch_size(64).with_tx_code_attempts(5);
/// assert_eq!(config.batch_size(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oid4vciConfig {
    pub(crate) configuration_id: String,
    pub(crate) batch_size: usize,
    pub(crate) offer_lifetime_secs: u64,
    pub(crate) token_lifetime_secs: u64,
    pub(crate) tx_code_length: usize,
    pub(crate) tx_code_attempts: u32,
    pub(crate) tx_code_description: Option<String>,
    pub(crate) batches_per_token: u32,
    pub(crate) proof_max_age_secs: u64,
    pub(crate) clock_skew_secs: u64,
    pub(crate) issuer_name: Option<String>,
    pub(crate) credential_name: String,
    pub(crate) credential_description: String,
    pub(crate) perks: Vec<(String, String)>,
}

impl Default for Oid4vciConfig {
    fn default() -> Self {
        Self {
            configuration_id: DEFAULT_CONFIGURATION_ID.into(),
            batch_size: DEFAULT_BATCH_SIZE,
            offer_lifetime_secs: 600,
            token_lifetime_secs: 600,
            tx_code_length: 6,
            tx_code_attempts: 3,
            tx_code_description: None,
            batches_per_token: 1,
            proof_max_age_secs: NONCE_LIFETIME_SECS,
            clock_skew_secs: 300,
            issuer_name: None,
            credential_name: "Credit score".into(),
            credential_description: "A holder-bound score credential: the score stays hidden behind range proofs"
                .into(),
            perks: Vec::new(),
        }
    }
}

impl Oid4vciConfig {
    /// Sets the credential configuration id, also its `scope` (default
    /// `creditproof_score`; 1 to 128 visible ASCII characters).
    #[must_use]
    pub fn with_configuration_id(mut self, id: impl Into<String>) -> Self {
        self.configuration_id = id.into();
        self
    }

    /// Sets the batch size: the most proofs, hence credentials, one
    /// credential request may carry (default 16; 1 up to the issuer's
    /// [`crate::Issuer::max_batch`], 64 by default). Advertised as
    /// `batch_credential_issuance.batch_size` when 2 or more.
    #[must_use]
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Sets how long a pre-authorized code is accepted (default 600 s;
    /// 1 s to 1 day): offers are short-lived.
    #[must_use]
    pub fn with_offer_lifetime_secs(mut self, secs: u64) -> Self {
        self.offer_lifetime_secs = secs;
        self
    }

    /// Sets how long an access token is accepted (default 600 s; 1 s to 1
    /// day).
    #[must_use]
    pub fn with_token_lifetime_secs(mut self, secs: u64) -> Self {
        self.token_lifetime_secs = secs;
        self
    }

    /// Sets the number of digits of generated transaction codes (default
    /// 6; 4 to 12).
    #[must_use]
    pub fn with_tx_code_length(mut self, digits: usize) -> Self {
        self.tx_code_length = digits;
        self
    }

    /// Sets how many wrong transaction codes kill an offer (default 3; 1
    /// to 10). The OpenID4VCI errata ask to limit attempts, then
    /// invalidate the code.
    #[must_use]
    pub fn with_tx_code_attempts(mut self, attempts: u32) -> Self {
        self.tx_code_attempts = attempts;
        self
    }

    /// Sets the transaction code's description shown by wallets (at most
    /// 300 characters), e.g. which channel it arrives by.
    #[must_use]
    pub fn with_tx_code_description(mut self, description: impl Into<String>) -> Self {
        self.tx_code_description = Some(description.into());
        self
    }

    /// Sets how many credential responses (batches) one access token may
    /// obtain (default 1; 1 to 16).
    #[must_use]
    pub fn with_batches_per_token(mut self, batches: u32) -> Self {
        self.batches_per_token = batches;
        self
    }

    /// Sets the most a proof's `iat` may lie in the past (default 3600 s,
    /// the `c_nonce` lifetime; 60 s to 1 day).
    #[must_use]
    pub fn with_proof_max_age_secs(mut self, secs: u64) -> Self {
        self.proof_max_age_secs = secs;
        self
    }

    /// Sets the tolerated clock skew of a proof's `iat` (default 300 s; at
    /// most 600).
    #[must_use]
    pub fn with_clock_skew_secs(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// Sets the issuer's display name in the metadata.
    #[must_use]
    pub fn with_issuer_name(mut self, name: impl Into<String>) -> Self {
        self.issuer_name = Some(name.into());
        self
    }

    /// Sets the credential's display name and description.
    #[must_use]
    pub fn with_credential_display(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.credential_name = name.into();
        self.credential_description = description.into();
        self
    }

    /// Adds a perk to the claims metadata (`["perks", name]`, shown as
    /// `display`).
    #[must_use]
    pub fn with_perk(mut self, name: impl Into<String>, display: impl Into<String>) -> Self {
        self.perks.push((name.into(), display.into()));
        self
    }

    /// Checks every value against its range; `max_batch` is the issuer's.
    pub(crate) fn check(&self, max_batch: usize) -> Result<(), Error> {
        let bad = |reason| Err(IssuanceError::Config { reason }.into());
        let id_ok = |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        if !id_ok(&self.configuration_id) {
            return bad("the configuration id must be 1 to 128 visible ascii characters");
        }
        if !(1..=max_batch).contains(&self.batch_size) {
            return bad("the batch size must be 1 to the issuer's max batch");
        }
        if !(1..=86_400).contains(&self.offer_lifetime_secs) || !(1..=86_400).contains(&self.token_lifetime_secs) {
            return bad("offer and token lifetimes must be 1 s to 1 day");
        }
        if !(4..=12).contains(&self.tx_code_length) || !(1..=10).contains(&self.tx_code_attempts) {
            return bad("transaction codes have 4 to 12 digits and 1 to 10 attempts");
        }
        if self.tx_code_description.as_ref().is_some_and(|d| d.chars().count() > 300) {
            return bad("the transaction code description has at most 300 characters");
        }
        if !(1..=16).contains(&self.batches_per_token) {
            return bad("an access token obtains 1 to 16 batches");
        }
        if !(60..=86_400).contains(&self.proof_max_age_secs) || self.clock_skew_secs > 600 {
            return bad("the proof age must be 60 s to 1 day and the clock skew at most 600 s");
        }
        Ok(())
    }

    /// `credential_metadata`: display, and claims for the disclosable
    /// claims of a score credential (never the committed score).
    pub(crate) fn credential_metadata(&self) -> Value {
        let claim = |path: Value, name: &str| json!({"path": path, "display": [{"name": name, "locale": "en"}]});
        let mut claims = vec![
            claim(json!(["tier"]), "Tier"),
            claim(json!(["policy"]), "Scoring policy"),
            claim(json!(["score_scale"]), "Score scale"),
            claim(json!(["perks"]), "Perks"),
        ];
        claims.extend(self.perks.iter().map(|(name, display)| claim(json!(["perks", name]), display)));
        json!({
            "display": [{"name": self.credential_name, "locale": "en", "description": self.credential_description}],
            "claims": claims,
        })
    }
}
