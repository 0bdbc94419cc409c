//! The holder's own records.
//!
//! A record says only *what kind* of event happened, *when*, and a
//! *reference* to the issuer's own file on it. There is deliberately no field
//! for a person, an account holder, a relative, a contact or any other
//! subject: the format cannot express "someone else's records", so no score
//! can depend on them. Unknown fields are rejected, so none can be smuggled in.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::date::{parse_opt, Date};
use super::error::PolicyError;
use super::model::check_name;
use super::text::clip;

/// Longest record reference, in bytes.
pub const MAX_REFERENCE_LEN: usize = 128;
/// Longest evidence field, in bytes.
pub const MAX_EVIDENCE_LEN: usize = 1024;

/// One record about the holder, e.g. a repayment or a court judgement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The record kind; the policy must have a rule for it.
    pub kind: String,
    /// The date of the event.
    pub date: Date,
    /// The issuer's unique reference for this record (unique within a record set).
    pub reference: String,
    /// Optional pointer to evidence (case number, document hash, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl Record {
    /// Checks the fields that do not depend on a policy: `kind` is a valid
    /// name, `reference` is 1..=[`MAX_REFERENCE_LEN`] bytes without control
    /// characters, `evidence` is at most [`MAX_EVIDENCE_LEN`] bytes without
    /// control characters.
    pub fn check(&self) -> Result<(), PolicyError> {
        let reason = if self.reference.is_empty() {
            Some("it is empty")
        } else if self.reference.len() > MAX_REFERENCE_LEN {
            Some("it is longer than 128 bytes")
        } else if self.reference.chars().any(char::is_control) {
            Some("it contains control characters")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(PolicyError::InvalidField {
                field: format!("record reference {:?}", clip(&self.reference)),
                reason,
            });
        }
        check_name(&format!("record {:?} kind {:?}", self.reference, clip(&self.kind)), &self.kind)?;
        if let Some(evidence) = &self.evidence {
            let reason = if evidence.len() > MAX_EVIDENCE_LEN {
                Some("it is longer than 1024 bytes")
            } else if evidence.chars().any(char::is_control) {
                Some("it contains control characters")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(PolicyError::InvalidField {
                    field: format!("record {:?} evidence", self.reference),
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// A checked set of records: every record passes [`Record::check`] and
/// references are unique. Kinds and dates are checked against a policy and a
/// scoring date later, by [`super::score`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Records {
    records: Vec<Record>,
}

/// Serde shape of a record with the date still as text, so that a bad date
/// gives [`PolicyError::InvalidDate`] naming the record.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    kind: String,
    date: String,
    reference: String,
    #[serde(default)]
    evidence: Option<String>,
}

/// Reads a JSON array, failing as soon as it holds more than `max` elements.
struct BoundedSeq {
    max: usize,
    exceeded: Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for &BoundedSeq {
    type Value = Vec<RawRecord>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &BoundedSeq {
    type Value = Vec<RawRecord>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(raw) = seq.next_element::<RawRecord>()? {
            if out.len() >= self.max {
                self.exceeded.set(true);
                return Err(A::Error::custom("too many records"));
            }
            out.push(raw);
        }
        Ok(out)
    }
}

impl Records {
    /// Parses a records file: a JSON array of records. `bytes.len()` is checked
    /// against `max_len` before parsing, and parsing stops as soon as the array
    /// holds more than `max_records` elements, so memory stays proportional to
    /// `max_len`.
    pub fn from_json_slice(bytes: &[u8], max_len: usize, max_records: usize) -> Result<Records, PolicyError> {
        if bytes.len() > max_len {
            return Err(PolicyError::TooLarge { what: "records", len: bytes.len(), max: max_len });
        }
        let seed = BoundedSeq { max: max_records, exceeded: Cell::new(false) };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
        let raw = match parsed {
            Ok(raw) => raw,
            Err(_) if seed.exceeded.get() => return Err(PolicyError::TooManyRecords { max: max_records }),
            Err(e) => return Err(PolicyError::InvalidJson { what: "records", message: e.to_string() }),
        };
        let mut records = Vec::with_capacity(raw.len());
        for r in raw {
            let date = parse_opt(&r.date).ok_or_else(|| PolicyError::InvalidDate {
                context: format!("record {:?} date", clip(&r.reference)),
                value: clip(&r.date),
            })?;
            records.push(Record { kind: r.kind, date, reference: r.reference, evidence: r.evidence });
        }
        Records::new(records)
    }

    /// Checks every record ([`Record::check`]) and that references are unique.
    pub fn new(records: Vec<Record>) -> Result<Records, PolicyError> {
        check_all(&records)?;
        Ok(Records { records })
    }

    /// The records, in file order.
    pub fn as_slice(&self) -> &[Record] {
        &self.records
    }

    /// Gives back the records.
    pub fn into_vec(self) -> Vec<Record> {
        self.records
    }
}

/// [`Record::check`] on each record, and unique references.
pub(crate) fn check_all(records: &[Record]) -> Result<(), PolicyError> {
    let mut seen = BTreeSet::new();
    for record in records {
        record.check()?;
        if !seen.insert(record.reference.as_str()) {
            return Err(PolicyError::DuplicateReference { reference: record.reference.clone() });
        }
    }
    Ok(())
}
