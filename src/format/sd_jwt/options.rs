//! How strict a verifier is: input limits, clock skew and key-binding age.
//!
//! Shared by the generic SD-JWT verifier and the score-credential verifier,
//! so it lives with the format, below both.

use crate::Limits;

/// Verification settings. Defaults: [`Limits::default`], 300 s clock skew,
/// key binding at most 300 s old, status list tokens at most one hour old,
/// and score credentials without a status refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifierOptions {
    limits: Limits,
    clock_skew_secs: u64,
    kb_max_age_secs: u64,
    status_max_age_secs: u64,
    status_min_ttl_secs: u64,
    status_stale_skew_secs: Option<u64>,
    allow_missing_status: bool,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            clock_skew_secs: 300,
            kb_max_age_secs: 300,
            status_max_age_secs: Self::DEFAULT_STATUS_MAX_AGE_SECS,
            status_min_ttl_secs: Self::DEFAULT_STATUS_MIN_TTL_SECS,
            status_stale_skew_secs: None,
            allow_missing_status: false,
        }
    }
}

impl VerifierOptions {
    /// The default bound on a status list token's age: one hour.
    pub const DEFAULT_STATUS_MAX_AGE_SECS: u64 = 3600;
    /// The largest accepted bound on a status list token's age: 30 days.
    pub const MAX_STATUS_MAX_AGE_SECS: u64 = 30 * 86_400;
    /// The default floor under a status list token's `ttl`: a minute (see
    /// [`Self::with_status_min_ttl_secs`]).
    pub const DEFAULT_STATUS_MIN_TTL_SECS: u64 = 60;

    /// Sets the input limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Sets the tolerated clock difference, in seconds (at most 3600).
    #[must_use]
    pub fn with_clock_skew_secs(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs.min(3600);
        self
    }
    /// Sets how old a key binding JWT may be, in seconds (at most 86400).
    #[must_use]
    pub fn with_kb_max_age_secs(mut self, secs: u64) -> Self {
        self.kb_max_age_secs = secs.min(86_400);
        self
    }
    /// Sets how long a status list token counts after its `iat`, in seconds:
    /// a token without `ttl` counts this long and a larger `ttl` is clamped
    /// to it (then `status.stale`). At least 60 s, at most
    /// [`Self::MAX_STATUS_MAX_AGE_SECS`].
    #[must_use]
    pub fn with_status_max_age_secs(mut self, secs: u64) -> Self {
        self.status_max_age_secs = secs.clamp(60, Self::MAX_STATUS_MAX_AGE_SECS);
        self
    }
    /// Lowers the floor under a status list token's `ttl`, in seconds (1 to
    /// [`Self::DEFAULT_STATUS_MIN_TTL_SECS`]): a token whose `ttl` is below
    /// the floor still counts that long. The default floor, a minute, keeps
    /// a verifier from refetching one list more often than that; a lower one
    /// is for tests and for issuers that publish very short `ttl`s on
    /// purpose. The refetch schedule follows it.
    #[must_use]
    pub fn with_status_min_ttl_secs(mut self, secs: u64) -> Self {
        self.status_min_ttl_secs = secs.clamp(1, Self::DEFAULT_STATUS_MIN_TTL_SECS);
        self
    }
    /// Sets the clock difference tolerated before a status list counts as
    /// stale (`iat` + `ttl` passed), in seconds (at most 3600); by default
    /// the clock skew. A service that refetches every list when it is due
    /// ([`crate::Verifier::status_refetch_schedule`]) sets it low, so that
    /// a list it could not refetch stops counting at once: fail closed.
    #[must_use]
    pub fn with_status_stale_skew_secs(mut self, secs: u64) -> Self {
        self.status_stale_skew_secs = Some(secs.min(3600));
        self
    }
    /// Accepts score credentials that carry no `status` (so cannot be
    /// revoked). By default they are refused with `status.missing`: a lender
    /// that relies on revocation must not be handed a credential no
    /// revocation can reach. Name this only for issuers that never publish
    /// status lists.
    #[must_use]
    pub fn allow_missing_status(mut self) -> Self {
        self.allow_missing_status = true;
        self
    }
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }
    pub(crate) fn clock_skew_secs(&self) -> u64 {
        self.clock_skew_secs
    }
    pub(crate) fn kb_max_age_secs(&self) -> u64 {
        self.kb_max_age_secs
    }
    pub(crate) fn status_max_age_secs(&self) -> u64 {
        self.status_max_age_secs
    }
    pub(crate) fn status_min_ttl_secs(&self) -> u64 {
        self.status_min_ttl_secs
    }
    pub(crate) fn status_stale_skew_secs(&self) -> u64 {
        self.status_stale_skew_secs.unwrap_or(self.clock_skew_secs)
    }
    pub(crate) fn missing_status_allowed(&self) -> bool {
        self.allow_missing_status
    }
}
