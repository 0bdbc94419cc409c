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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::policy::{shipped, Records};

    const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn records() -> Records {
        Records::from_json(
            br#"[{"kind": "default", "date": "2025-03-01", "reference": "loan-17"},
                 {"kind": "repayment_on_time", "date": "2025-02-01", "reference": "card-02"},
                 {"kind": "repayment_late_30d", "date": "2025-04-01", "reference": "card-04"}]"#,
        )
        .unwrap()
    }

    fn as_of() -> Date {
        Date::parse("2025-12-31").unwrap()
    }

    #[test]
    fn the_deadline_is_the_policy_period_after_receipt() {
        let p = shipped("sesame-style").unwrap().unwrap();
        let c = EntryClock::new("loan-17", UnixTime(T0), &p);
        assert_eq!(c.answer_by, UnixTime(T0 + 30 * DAY));
        assert_eq!(answer_by(UnixTime(u64::MAX - 1), 30), UnixTime(u64::MAX), "saturates");
        // Counts while the deadline runs, including its last second.
        assert!(c.counts(UnixTime(T0)) && c.counts(UnixTime(T0 + 30 * DAY)));
        assert!(!c.is_overdue(UnixTime(T0 + 30 * DAY)));
        // Stops counting one second after.
        assert!(!c.counts(UnixTime(T0 + 30 * DAY + 1)));
        assert!(c.is_overdue(UnixTime(T0 + 30 * DAY + 1)));
    }

    #[test]
    fn an_answer_in_time_keeps_the_entry_and_a_late_one_does_not_bring_it_back() {
        let p = shipped("sesame-style").unwrap().unwrap();
        let later = UnixTime(T0 + 90 * DAY);
        let mut c = EntryClock::new("loan-17", UnixTime(T0), &p);
        c.answered_at = Some(UnixTime(T0 + 29 * DAY));
        assert!(c.counts(later) && !c.is_overdue(later) && !c.answered_late());
        c.answered_at = Some(UnixTime(T0 + 31 * DAY));
        assert!(c.answered_late());
        assert!(!c.counts(later), "a late answer leaves the entry out");
        c.reinstated_at = Some(UnixTime(T0 + 32 * DAY));
        assert!(c.counts(later), "until the issuer re-scores with it, explicitly");
    }

    #[test]
    fn an_overdue_entry_is_left_out_of_the_score_and_listed() {
        let p = shipped("sesame-style").unwrap().unwrap();
        let recs = records();
        let full = score_with_disputes(&p, recs.as_slice(), as_of(), &[], UnixTime(T0)).unwrap();
        assert_eq!(full, score(&p, recs.as_slice(), as_of()).unwrap(), "no dispute: the plain score");
        let clock = EntryClock::new("loan-17", UnixTime(T0), &p);
        let pending =
            score_with_disputes(&p, recs.as_slice(), as_of(), std::slice::from_ref(&clock), UnixTime(T0 + DAY))
                .unwrap();
        assert_eq!(pending, full, "within the period the entry counts");
        let after = UnixTime(T0 + 31 * DAY);
        let out = score_with_disputes(&p, recs.as_slice(), as_of(), &[clock], after).unwrap();
        assert_eq!(out.score, full.score + 100, "the -100 default no longer counts");
        assert!(out.references().all(|r| r != "loan-17"));
        assert_eq!(out.not_counted.len(), 1);
        let n = &out.not_counted[0];
        assert_eq!((n.reference.as_str(), n.kind.as_str()), ("loan-17", "default"));
        assert_eq!(n.disputed_on, Date::parse("2026-01-01").unwrap());
        assert_eq!(n.answer_by, Date::parse("2026-01-31").unwrap());
        let table = out.render_table();
        assert!(table.contains("loan-17: disputed on 2026-01-01, not answered by 2026-01-31: not counted"), "{table}");
        // The report round-trips through JSON (it is what the breakdown signs).
        let json = serde_json::to_string(&out).unwrap();
        assert_eq!(serde_json::from_str::<ScoreReport>(&json).unwrap(), out);
        assert!(!serde_json::to_string(&full).unwrap().contains("not_counted"), "absent when empty");
    }

    #[test]
    fn a_clock_for_another_reference_changes_nothing() {
        let p = shipped("sesame-style").unwrap().unwrap();
        let recs = records();
        let clock = EntryClock::new("not-a-record", UnixTime(T0), &p);
        let out = score_with_disputes(&p, recs.as_slice(), as_of(), &[clock], UnixTime(T0 + 90 * DAY)).unwrap();
        assert_eq!(out, score(&p, recs.as_slice(), as_of()).unwrap());
    }
}
