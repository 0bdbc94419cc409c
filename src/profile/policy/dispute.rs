//! Disputes: the holder contests records by reference; the issuer corrects and re-scores.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::PolicyError;
use super::records::{check_all, Record};
use super::score::ScoreReport;
use super::text::clip;

/// Longest dispute reason, in bytes.
pub const MAX_REASON_LEN: usize = 2048;

/// One contested record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeEntry {
    /// The record's reference, as in the report.
    pub reference: String,
    /// Why the holder contests it, in their words.
    pub reason: String,
}

/// A holder's dispute of some records of a [`ScoreReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dispute {
    /// The policy the disputed report was scored under.
    pub policy_id: String,
    /// Its version.
    pub policy_version: String,
    /// The contested records, one entry per reference.
    pub entries: Vec<DisputeEntry>,
}

impl Dispute {
    /// Builds a dispute of `report` from `(reference, reason)` pairs. Every
    /// reference must be in the report, and appear once; a reason is at most
    /// [`MAX_REASON_LEN`] bytes.
    pub fn new(report: &ScoreReport, entries: &[(&str, &str)]) -> Result<Dispute, PolicyError> {
        let known: BTreeSet<&str> = report.references().collect();
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(entries.len());
        for &(reference, reason) in entries {
            if !known.contains(reference) {
                return Err(PolicyError::UnknownDisputeReference { reference: clip(reference) });
            }
            if !seen.insert(reference) {
                return Err(PolicyError::DuplicateDisputeEntry { reference: reference.to_owned() });
            }
            if reason.len() > MAX_REASON_LEN {
                return Err(PolicyError::InvalidField {
                    field: format!("dispute reason for {reference:?}"),
                    reason: "it is longer than 2048 bytes",
                });
            }
            out.push(DisputeEntry { reference: reference.to_owned(), reason: reason.to_owned() });
        }
        Ok(Dispute { policy_id: report.policy_id.clone(), policy_version: report.policy_version.clone(), entries: out })
    }

    /// The disputed references.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.reference.as_str())
    }
}

/// The issuer's resolution of a dispute: returns `records` with every record
/// named in `dispute` removed, except that a record in `corrected` with the
/// same reference takes its place (same position). So an upheld dispute is a
/// removal, a corrected record is a replacement; a dispute the issuer rejects
/// should be dropped from `dispute.entries` before calling this.
///
/// Errors if a disputed reference is not among `records`, a reference is
/// disputed twice, a corrected record's reference was not disputed, or the
/// result fails the record checks (e.g. duplicate references). Re-score the
/// result with [`super::score`].
pub fn apply_corrections(
    records: &[Record],
    dispute: &Dispute,
    corrected: &[Record],
) -> Result<Vec<Record>, PolicyError> {
    let mut disputed = BTreeSet::new();
    for reference in dispute.references() {
        if !disputed.insert(reference) {
            return Err(PolicyError::DuplicateDisputeEntry { reference: clip(reference) });
        }
    }
    let present: BTreeSet<&str> = records.iter().map(|r| r.reference.as_str()).collect();
    if let Some(missing) = disputed.iter().find(|r| !present.contains(*r)) {
        return Err(PolicyError::UnknownDisputeReference { reference: clip(missing) });
    }
    let mut replacements = BTreeMap::new();
    for record in corrected {
        if !disputed.contains(record.reference.as_str()) {
            return Err(PolicyError::CorrectionNotDisputed { reference: clip(&record.reference) });
        }
        if replacements.insert(record.reference.as_str(), record).is_some() {
            return Err(PolicyError::DuplicateReference { reference: record.reference.clone() });
        }
    }
    let out: Vec<Record> = records
        .iter()
        .filter_map(|r| {
            if disputed.contains(r.reference.as_str()) {
                replacements.get(r.reference.as_str()).map(|c| (*c).clone())
            } else {
                Some(r.clone())
            }
        })
        .collect();
    check_all(&out)?;
    Ok(out)
}
