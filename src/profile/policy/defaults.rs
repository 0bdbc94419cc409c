//! The common path without hand-made bounds: loading with the default
//! [`Limits`], and scoring at the [`UnixTime`] that issuing takes.

use super::date::Date;
use super::error::PolicyError;
use super::model::Policy;
use super::records::{Record, Records};
use super::score::{score, ScoreReport};
use crate::format::time::UnixTime;
use crate::Limits;

impl Policy {
    /// [`Policy::from_json_slice`] bounded by [`Limits::default`]'s
    /// `max_policy_bytes`.
    pub fn from_json(bytes: &[u8]) -> Result<Policy, PolicyError> {
        Policy::from_json_slice(bytes, Limits::default().max_policy_bytes())
    }
}

impl Records {
    /// [`Records::from_json_slice`] bounded by [`Limits::default`]'s
    /// `max_records_bytes` and `max_records`.
    pub fn from_json(bytes: &[u8]) -> Result<Records, PolicyError> {
        let limits = Limits::default();
        Records::from_json_slice(bytes, limits.max_records_bytes(), limits.max_records())
    }
}

impl TryFrom<UnixTime> for Date {
    type Error = PolicyError;

    /// The UTC calendar date of `t`; [`PolicyError::InvalidDate`] past the
    /// year 9999.
    fn try_from(t: UnixTime) -> Result<Date, PolicyError> {
        Date::from_unix(t)
            .ok_or_else(|| PolicyError::InvalidDate { context: "unix time".to_owned(), value: t.as_secs().to_string() })
    }
}

/// [`score`] as of the UTC day of `now`, the time type issuing takes.
///
/// ```
/// use creditproof::{policy, UnixTime};
/// let p = policy::shipped("sesame-style").unwrap().unwrap();
/// let records = policy::Records::from_json(br#"[]"#).unwrap();
/// let report = policy::score_at(&p, records.as_slice(), UnixTime(1_795_262_400)).unwrap();
/// assert_eq!(report.as_of.to_string(), "2026-11-21");
/// // Past the year 9999 there is no calendar date: an error, not a panic.
/// assert!(policy::score_at(&p, records.as_slice(), UnixTime(u64::MAX)).is_err());
/// ```
pub fn score_at(policy: &Policy, records: &[Record], now: UnixTime) -> Result<ScoreReport, PolicyError> {
    score(policy, records, Date::try_from(now)?)
}
