//! The dispute deadline and the rule that gives it teeth: **an entry
//! disputed and not answered by its deadline stops counting.**
//!
//! The issuer has the policy's dispute period
//! ([`Policy::dispute_period_days`], 30 days in the shipped policies, as
//! the US Fair Credit Reporting Act §611 gives a bureau) from the moment it
//! receives a dispute to answer each entry. Until then the entry counts as
//! before. If the period passes without an answer, every later scoring of
//! that holder leaves the entry out and says so in the breakdown
//! ([`ScoreReport::not_counted`]). A late answer does not silently bring
//! it back: an entry answered after its deadline stays out until the issuer
//! explicitly reinstates it ([`EntryClock::reinstated_at`]), which is a
//! re-score and re-issue that its history shows.
//!
//! Time is an input everywhere: nothing here reads a clock.

use super::date::Date;
use super::error::PolicyError;
use super::model::Policy;
use super::records::Record;
use super::score::{score, NotCounted, ScoreReport};
use crate::format::time::{UnixTime, DAY};

/// The last moment the issuer may answer a dispute received at
/// `received_at` under a dispute period of `period_days` days.
pub fn answer_by(received_at: UnixTime, period_days: u32) -> UnixTime {
    UnixTime(received_at.as_secs().saturating_add(u64::from(period_days).saturating_mul(DAY)))
}

/// Where one disputed entry stands, as far as the scoring rule cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryClock {
    /// The disputed record's reference.
    pub reference: String,
    /// When the issuer received the dispute.
    pub received_at: UnixTime,
    /// The deadline ([`answer_by`]).
    pub answer_by: UnixTime,
    /// When the issuer answered the entry (upheld or rejected), if it has.
    pub answered_at: Option<UnixTime>,
    /// When the issuer, after answering late, explicitly re-scored with the
    /// entry counted again (a re-issue its history shows), if it has.
    pub reinstated_at: Option<UnixTime>,
}

impl EntryClock {
    /// An unanswered entry received at `received_at` under `policy`.
    pub fn new(reference: impl Into<String>, received_at: UnixTime, policy: &Policy) -> Self {
        Self {
            reference: reference.into(),
            received_at,
            answer_by: answer_by(received_at, policy.dispute_period_days()),
            answered_at: None,
            reinstated_at: None,
        }
    }

    /// Whether the entry is unanswered and its deadline has passed at `now`.
    pub fn is_overdue(&self, now: UnixTime) -> bool {
        self.answered_at.is_none() && now > self.answer_by
    }

    /// Whether the entry was answered, but after its deadline.
    pub fn answered_late(&self) -> bool {
        self.answered_at.is_some_and(|at| at > self.answer_by)
    }

    /// Whether the record still counts in a scoring at `now`: yes while
    /// the deadline runs and after an answer in time; no once the deadline
    /// passed without an answer, or with a late one, unless the issuer
    /// reinstated it.
    pub fn counts(&self, now: UnixTime) -> bool {
        if self.reinstated_at.is_some() {
            return true;
        }
        match self.answered_at {
            Some(at) => at <= self.answer_by,
            None => now <= self.answer_by,
        }
    }
}

/// Scores `records` under `policy` as of `as_of` ([`score`]), leaving out
/// every record whose dispute is overdue at `now` by [`EntryClock::counts`],
/// and listing each in [`ScoreReport::not_counted`] with the day it was
/// disputed and the day the answer was due. Several clocks for one
/// reference: it is left out if any of them says so.
pub fn score_with_disputes(
    policy: &Policy,
    records: &[Record],
    as_of: Date,
    disputes: &[EntryClock],
    now: UnixTime,
) -> Result<ScoreReport, PolicyError> {
    let mut kept = Vec::with_capacity(records.len());
    let mut left_out = Vec::new();
    for record in records {
        match disputes.iter().find(|c| c.reference == record.reference && !c.counts(now)) {
            Some(clock) => left_out.push(NotCounted {
                reference: record.reference.clone(),
                kind: record.kind.clone(),
                date: record.date,
                disputed_on: date_of(clock.received_at)?,
                answer_by: date_of(clock.answer_by)?,
            }),
            None => kept.push(record.clone()),
        }
    }
    // The left-out records are checked like the rest, so a malformed one
    // is an error either way.
    super::records::check_all(records)?;
    let mut report = score(policy, &kept, as_of)?;
    left_out.sort_by(|a, b| (a.date, &a.kind, &a.reference).cmp(&(b.date, &b.kind, &b.reference)));
    report.not_counted = left_out;
    Ok(report)
}

fn date_of(t: UnixTime) -> Result<Date, PolicyError> {
    Date::from_unix(t).ok_or(PolicyError::InvalidField {
        field: "dispute time".to_owned(),
        reason: "it is outside the years a date can hold",
    })
}
