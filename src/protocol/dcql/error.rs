//! Why a DCQL query was refused, or cannot be answered in creditproof's
//! terms.

use std::fmt;

/// A DCQL query that is malformed, too large, inconsistent, or asks for
/// something creditproof does not map. Each variant has a stable
/// [`DcqlError::check`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DcqlError {
    /// Not JSON, not an object, duplicate keys, or a member of the wrong
    /// type or shape.
    Malformed {
        /// Why.
        reason: String,
    },
    /// More bytes or more entries than a bound allows.
    Limit {
        /// What was counted.
        what: &'static str,
        /// The bound.
        limit: usize,
    },
    /// Well formed but inconsistent: a repeated id, an id referenced but
    /// not defined, `values` on a claim that is not a leaf, ...
    Invalid {
        /// Why.
        reason: String,
    },
    /// A `creditproof_`-namespaced member this version does not know. The
    /// namespace is creditproof's, so an unknown member is an error rather
    /// than something to ignore.
    UnknownExtension {
        /// The member's name (truncated).
        name: String,
    },
    /// A `creditproof_predicate` whose `op` is not `gte`, `lte` or
    /// `between`.
    UnknownPredicateOp {
        /// The op seen (truncated).
        op: String,
    },
    /// A `creditproof_predicate` on a path other than `["range", ATTR]`:
    /// range predicates are proven on committed attributes only.
    PredicateNotOnCommitment {
        /// The claim's path, as JSON (truncated).
        path: String,
    },
    /// A claims query creditproof cannot answer or check (a path it does
    /// not map, a perk asked without `values: [true]`, ...).
    Unsupported {
        /// Why.
        reason: String,
    },
}

impl DcqlError {
    /// The stable name of the failed check, e.g. `"dcql.unknown_op"`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "dcql.malformed",
            Self::Limit { .. } => "dcql.limit",
            Self::Invalid { .. } => "dcql.invalid",
            Self::UnknownExtension { .. } => "dcql.unknown_extension",
            Self::UnknownPredicateOp { .. } => "dcql.unknown_op",
            Self::PredicateNotOnCommitment { .. } => "dcql.predicate_not_on_commitment",
            Self::Unsupported { .. } => "dcql.unsupported",
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed { reason: reason.into() }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid { reason: reason.into() }
    }

    pub(crate) fn unsupported(reason: impl Into<String>) -> Self {
        Self::Unsupported { reason: reason.into() }
    }
}

/// At most `max` characters of `s`, for quoting untrusted input.
pub(crate) fn quote(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl fmt::Display for DcqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { reason } => write!(f, "malformed dcql query: {reason}"),
            Self::Limit { what, limit } => write!(f, "dcql query: more than {limit} {what}"),
            Self::Invalid { reason } => write!(f, "invalid dcql query: {reason}"),
            Self::UnknownExtension { name } => {
                write!(f, "dcql query: unknown creditproof extension member `{name}`")
            }
            Self::UnknownPredicateOp { op } => {
                write!(f, "dcql query: unknown creditproof_predicate op `{op}` (gte, lte or between)")
            }
            Self::PredicateNotOnCommitment { path } => write!(
                f,
                "dcql query: a creditproof_predicate on {path}, which is not a committed attribute \
                 (predicates go on [\"range\", ATTRIBUTE])"
            ),
            Self::Unsupported { reason } => write!(f, "dcql query not supported: {reason}"),
        }
    }
}

impl std::error::Error for DcqlError {}
