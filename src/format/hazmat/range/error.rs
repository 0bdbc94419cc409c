//! Error type of the range-proof module.

use core::fmt;

/// Errors returned by the HashWires range-proof functions.
///
/// Verification failures are deliberately collapsed into the single
/// [`RangeError::ProofInvalid`] variant: a verifier learns only "accepted" or
/// "rejected", never which digit, chain or Merkle level failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeError {
    /// The parameters are unsupported (base must be in `2..=256`, bits in `1..=64`).
    InvalidParams,
    /// The committed value exceeds the parameters' maximum `2^bits - 1`.
    ValueOutOfRange,
    /// The threshold exceeds the parameters' maximum `2^bits - 1`.
    ThresholdOutOfRange,
    /// Holder side only: the committed value is below the threshold, so no
    /// proof exists.
    PredicateFalse,
    /// An encoded object does not have the exact length the parameters require.
    WrongLength {
        /// The only accepted length in bytes.
        expected: usize,
        /// The length that was supplied.
        actual: usize,
    },
    /// An encoded object has the right length but an invalid field.
    Malformed {
        /// Which field is invalid.
        what: &'static str,
    },
    /// The proof does not verify against the commitment and threshold.
    ProofInvalid,
    /// The system random number generator failed.
    RandomnessUnavailable,
}

impl RangeError {
    /// A stable snake_case name for the variant, as the known-answer vectors
    /// (`tests/vectors/range_kat.json`) record it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParams => "invalid_params",
            Self::ValueOutOfRange => "value_out_of_range",
            Self::ThresholdOutOfRange => "threshold_out_of_range",
            Self::PredicateFalse => "predicate_false",
            Self::WrongLength { .. } => "wrong_length",
            Self::Malformed { .. } => "malformed",
            Self::ProofInvalid => "proof_invalid",
            Self::RandomnessUnavailable => "randomness_unavailable",
        }
    }
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidParams => f.write_str("invalid range parameters (base must be 2..=256, bits 1..=64)"),
            Self::ValueOutOfRange => f.write_str("value exceeds the parameters' maximum"),
            Self::ThresholdOutOfRange => f.write_str("threshold exceeds the parameters' maximum"),
            Self::PredicateFalse => f.write_str("value is below the threshold"),
            Self::WrongLength { expected, actual } => {
                write!(f, "wrong length: expected {expected} bytes, got {actual}")
            }
            Self::Malformed { what } => write!(f, "malformed range proof: {what}"),
            Self::ProofInvalid => f.write_str("range proof is invalid"),
            Self::RandomnessUnavailable => f.write_str("system randomness unavailable"),
        }
    }
}

impl std::error::Error for RangeError {}
