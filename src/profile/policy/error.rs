//! The one error type of the policy module.

use std::fmt;
use std::str::FromStr;

use super::date::{parse_opt, Date};
use super::text::clip;
pub use super::text::MAX_QUOTED_CHARS;

/// Everything that can go wrong loading a policy or records, scoring, or disputing.
///
/// Untrusted text quoted in a variant is clipped to [`MAX_QUOTED_CHARS`] characters.
/// `Display` gives a lowercase sentence naming the offending field or record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The input file is longer than the caller's limit (checked before parsing).
    TooLarge {
        /// `"policy"` or `"records"`.
        what: &'static str,
        /// Length of the input in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The input is not valid JSON, or does not have the expected shape.
    InvalidJson {
        /// `"policy"` or `"records"`.
        what: &'static str,
        /// The parser's message (includes line and column).
        message: String,
    },
    /// A records file holds more records than the caller's limit.
    TooManyRecords {
        /// The limit.
        max: usize,
    },
    /// A name or text field is empty, too long, or has characters it may not have.
    InvalidField {
        /// Which field, e.g. `rules key "x y"` or `record "r1" reference`.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `scale.min` is not below `scale.max`.
    EmptyScale {
        /// `scale.min`.
        min: u64,
        /// `scale.max`.
        max: u64,
    },
    /// `scale.start` lies outside `[scale.min, scale.max]`.
    StartOutsideScale {
        /// `scale.start`.
        start: u64,
        /// `scale.min`.
        min: u64,
        /// `scale.max`.
        max: u64,
    },
    /// A rule's cap sets neither `max_records` nor `max_points`.
    EmptyCap {
        /// The record kind of the rule.
        kind: String,
    },
    /// The policy has no tiers.
    NoTiers,
    /// Two tiers have the same name.
    DuplicateTierName {
        /// The repeated name.
        name: String,
    },
    /// A tier's `min` is above its `max`.
    InvertedTier {
        /// The tier.
        name: String,
        /// Its `min`.
        min: u64,
        /// Its `max`.
        max: u64,
    },
    /// Two tiers share some scores.
    TierOverlap {
        /// The lower tier.
        lower: String,
        /// The tier that starts inside it.
        upper: String,
    },
    /// Some scores between two tiers belong to no tier.
    TierGap {
        /// The lower tier.
        lower: String,
        /// The next tier up.
        upper: String,
        /// First uncovered score.
        from: u64,
        /// Last uncovered score.
        to: u64,
    },
    /// The tiers together do not span exactly `[scale.min, scale.max]`.
    TiersDoNotCoverScale {
        /// Lowest score of the lowest tier.
        tiers_min: u64,
        /// Highest score of the highest tier.
        tiers_max: u64,
        /// `scale.min`.
        scale_min: u64,
        /// `scale.max`.
        scale_max: u64,
    },
    /// A perk's `min_tier` names no tier of the policy.
    UnknownTier {
        /// The perk.
        perk: String,
        /// The tier it names.
        tier: String,
    },
    /// A perk's `min_score` lies outside the scale.
    PerkThresholdOutOfScale {
        /// The perk.
        perk: String,
        /// Its `min_score`.
        min_score: u64,
        /// `scale.min`.
        min: u64,
        /// `scale.max`.
        max: u64,
    },
    /// The policy's threshold grid is not acceptable.
    InvalidGrid {
        /// Why.
        reason: String,
    },
    /// A record's kind has no rule in the policy.
    UnknownRecordKind {
        /// The record's reference.
        reference: String,
        /// Its kind.
        kind: String,
    },
    /// A record is dated after the scoring date.
    RecordAfterAsOf {
        /// The record's reference.
        reference: String,
        /// Its date.
        date: Date,
        /// The scoring date.
        as_of: Date,
    },
    /// A date is not a real `YYYY-MM-DD` calendar date.
    InvalidDate {
        /// Where it was, e.g. `record "r1" date`.
        context: String,
        /// The text found.
        value: String,
    },
    /// Two records (or two corrections) share a reference.
    DuplicateReference {
        /// The repeated reference.
        reference: String,
    },
    /// A running total left the `i64` range (see [`super::score`] for the bound).
    ArithmeticOverflow {
        /// The record at which it happened.
        reference: String,
    },
    /// A dispute names a reference that is not in the report or records.
    UnknownDisputeReference {
        /// The reference.
        reference: String,
    },
    /// A dispute names the same reference twice.
    DuplicateDisputeEntry {
        /// The reference.
        reference: String,
    },
    /// A correction replaces a record that was not disputed.
    CorrectionNotDisputed {
        /// The correction's reference.
        reference: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { what, len, max } => {
                write!(f, "{what} file is {len} bytes, over the limit of {max} bytes")
            }
            Self::InvalidJson { what, message } => {
                write!(f, "{what} file is not valid: {message}")
            }
            Self::TooManyRecords { max } => {
                write!(f, "records file holds more than {max} records")
            }
            Self::InvalidField { field, reason } => write!(f, "{field} is invalid: {reason}"),
            Self::EmptyScale { min, max } => {
                write!(f, "scale.min ({min}) must be below scale.max ({max})")
            }
            Self::StartOutsideScale { start, min, max } => {
                write!(f, "scale.start ({start}) is outside the scale {min}..={max}")
            }
            Self::EmptyCap { kind } => write!(f, "rules.{kind:?}.cap sets neither max_records nor max_points"),
            Self::NoTiers => write!(f, "tiers is empty: the policy needs at least one tier"),
            Self::DuplicateTierName { name } => write!(f, "tier name {name:?} is used twice"),
            Self::InvertedTier { name, min, max } => {
                write!(f, "tier {name:?} has min ({min}) above max ({max})")
            }
            Self::TierOverlap { lower, upper } => {
                write!(f, "tiers {lower:?} and {upper:?} overlap")
            }
            Self::TierGap { lower, upper, from, to } => {
                write!(f, "scores {from}..={to} between tiers {lower:?} and {upper:?} belong to no tier")
            }
            Self::TiersDoNotCoverScale { tiers_min, tiers_max, scale_min, scale_max } => {
                write!(f, "tiers span {tiers_min}..={tiers_max} but must span the scale {scale_min}..={scale_max}")
            }
            Self::UnknownTier { perk, tier } => {
                write!(f, "perk {perk:?} names unknown min_tier {tier:?}")
            }
            Self::PerkThresholdOutOfScale { perk, min_score, min, max } => {
                write!(f, "perk {perk:?} has min_score {min_score} outside the scale {min}..={max}")
            }
            Self::InvalidGrid { reason } => write!(f, "grid is invalid: {reason}"),
            Self::UnknownRecordKind { reference, kind } => {
                write!(f, "record {reference:?} has kind {kind:?}, which the policy has no rule for")
            }
            Self::RecordAfterAsOf { reference, date, as_of } => {
                write!(f, "record {reference:?} is dated {date}, after the scoring date {as_of}")
            }
            Self::InvalidDate { context, value } => {
                write!(f, "{context} {value:?} is not a calendar date of the form YYYY-MM-DD")
            }
            Self::DuplicateReference { reference } => {
                write!(f, "reference {reference:?} is used by more than one record")
            }
            Self::ArithmeticOverflow { reference } => {
                write!(f, "running total overflows at record {reference:?}: point values are too large")
            }
            Self::UnknownDisputeReference { reference } => {
                write!(f, "disputed reference {reference:?} is not among the scored records")
            }
            Self::DuplicateDisputeEntry { reference } => {
                write!(f, "reference {reference:?} is disputed twice")
            }
            Self::CorrectionNotDisputed { reference } => {
                write!(f, "correction {reference:?} replaces no disputed record")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

// Reading a date is where a date becomes a policy error; it lives here so
// that `date` needs no error type (no import cycle between the two).
impl Date {
    /// Parses `YYYY-MM-DD`; any other form is [`PolicyError::InvalidDate`].
    pub fn parse(text: &str) -> Result<Date, PolicyError> {
        parse_opt(text).ok_or_else(|| PolicyError::InvalidDate { context: "date".to_owned(), value: clip(text) })
    }
}

impl FromStr for Date {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s)
    }
}
