//! The predicate language: `score>=650`, `score<=900`, `600<=score<=800`,
//! `perk:no_deposit_rental`, and the identifier rule for claim names.
//!
//! Shared by the verifier (who asks) and the holder (who answers); the range
//! proofs behind the range predicates live in [`super::range_claim`].

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, MalformedError};

/// A fact the holder must prove without disclosing the underlying value.
///
/// Written as `score>=650`, `score<=900`, `600<=score<=800` or
/// `perk:no_deposit_rental`.
///
/// ```
/// use creditproof::Predicate;
/// let p: Predicate = "score>=650".parse().unwrap();
/// assert_eq!(p, Predicate::AtLeast { attribute: "score".into(), threshold: 650 });
/// assert_eq!(p.to_string(), "score>=650");
/// assert!("score > 650; drop".parse::<Predicate>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Predicate {
    /// `attribute >= threshold`.
    AtLeast {
        /// The committed attribute, e.g. `score`.
        attribute: String,
        /// The verifier's threshold.
        threshold: u64,
    },
    /// `attribute <= threshold`.
    AtMost {
        /// The committed attribute.
        attribute: String,
        /// The verifier's threshold.
        threshold: u64,
    },
    /// `low <= attribute <= high`.
    Between {
        /// The committed attribute.
        attribute: String,
        /// Inclusive lower bound.
        low: u64,
        /// Inclusive upper bound.
        high: u64,
    },
    /// The holder is eligible for a named perk of the issuer's policy.
    Perk {
        /// The perk's name, e.g. `no_deposit_rental`.
        name: String,
    },
}

/// Whether `s` is a claim or attribute identifier: `[a-z_][a-z0-9_]*`,
/// at most 64 bytes.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl FromStr for Predicate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::from(MalformedError::Predicate { expr: s.chars().take(80).collect() });
        let num = |t: &str| -> Result<u64, Error> {
            // Plain decimal only: no sign, no leading zeros, no spaces.
            if t.is_empty() || (t.len() > 1 && t.starts_with('0')) || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse().map_err(|_| bad())
        };
        let ident = |t: &str| {
            if is_identifier(t) {
                Ok(t.to_owned())
            } else {
                Err(bad())
            }
        };
        if let Some(name) = s.strip_prefix("perk:") {
            return Ok(Self::Perk { name: ident(name)? });
        }
        let parts: Vec<&str> = s.split("<=").collect();
        match parts.as_slice() {
            [low, attr, high] => {
                let (low, high) = (num(low)?, num(high)?);
                if low > high {
                    return Err(bad());
                }
                Ok(Self::Between { attribute: ident(attr)?, low, high })
            }
            [attr, t] => Ok(Self::AtMost { attribute: ident(attr)?, threshold: num(t)? }),
            [one] => match one.split_once(">=") {
                Some((attr, t)) => Ok(Self::AtLeast { attribute: ident(attr)?, threshold: num(t)? }),
                None => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AtLeast { attribute, threshold } => write!(f, "{attribute}>={threshold}"),
            Self::AtMost { attribute, threshold } => write!(f, "{attribute}<={threshold}"),
            Self::Between { attribute, low, high } => write!(f, "{low}<={attribute}<={high}"),
            Self::Perk { name } => write!(f, "perk:{name}"),
        }
    }
}
