//! creditproof's extension of a DCQL claims query: the
//! `creditproof_predicate` member, a range predicate on a committed
//! attribute (Tier 2).
//!
//! ```json
//! {"id": "score", "path": ["range", "score"], "creditproof_predicate": {"op": "gte", "value": 650}}
//! {"id": "score", "path": ["range", "score"], "creditproof_predicate": {"op": "lte", "value": 899}}
//! {"id": "score", "path": ["range", "score"], "creditproof_predicate": {"op": "between", "low": 600, "high": 899}}
//! ```
//!
//! An interval is one `between` member, not a `gte` and an `lte` claim:
//! DCQL forbids pointing at the same claim twice in one credential query
//! (OpenID4VP §6.3), and two claims queries on `["range", "score"]` would
//! do exactly that. Each member is exact: the members of its `op` and
//! nothing else, non-negative integers only, `low <= high`. The proofs
//! themselves travel in the KB-JWT's `range_proofs`, bound to the nonce,
//! the audience and `sd_hash`.

use serde_json::{json, Map, Value};

use crate::profile::predicate::Predicate;
use crate::protocol::dcql::error::{quote, DcqlError};

/// The claims-query member that carries a range predicate.
pub const PREDICATE_MEMBER: &str = "creditproof_predicate";

/// A range predicate on the attribute a claims query's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangePredicate {
    /// `{"op": "gte", "value": t}`: the attribute is at least `t`.
    AtLeast(u64),
    /// `{"op": "lte", "value": t}`: the attribute is at most `t`.
    AtMost(u64),
    /// `{"op": "between", "low": l, "high": h}`: `l <= attribute <= h`.
    Between {
        /// Inclusive lower bound.
        low: u64,
        /// Inclusive upper bound.
        high: u64,
    },
}

impl RangePredicate {
    /// The `op` name on the wire.
    pub fn op(&self) -> &'static str {
        match self {
            Self::AtLeast(_) => "gte",
            Self::AtMost(_) => "lte",
            Self::Between { .. } => "between",
        }
    }

    /// The member's JSON value.
    pub fn to_json(&self) -> Value {
        match *self {
            Self::AtLeast(t) | Self::AtMost(t) => json!({"op": self.op(), "value": t}),
            Self::Between { low, high } => json!({"op": "between", "low": low, "high": high}),
        }
    }

    /// Reads the member's value: exactly the members of its `op`.
    pub fn from_json(v: &Value) -> Result<Self, DcqlError> {
        let bad = |r: &str| DcqlError::malformed(format!("{PREDICATE_MEMBER}: {r}"));
        let m = v.as_object().ok_or_else(|| bad("must be an object"))?;
        let op = m.get("op").and_then(Value::as_str).ok_or_else(|| bad("`op` must be a string"))?;
        let expect = |names: &[&str]| -> Result<(), DcqlError> {
            match m.keys().find(|k| k.as_str() != "op" && !names.contains(&k.as_str())) {
                Some(k) => Err(bad(&format!("unexpected member `{}` for op `{op}`", quote(k, 40)))),
                None => Ok(()),
            }
        };
        let num = |m: &Map<String, Value>, k: &str| {
            m.get(k).and_then(Value::as_u64).ok_or_else(|| bad(&format!("`{k}` must be a non-negative integer")))
        };
        match op {
            "gte" => expect(&["value"]).and_then(|()| Ok(Self::AtLeast(num(m, "value")?))),
            "lte" => expect(&["value"]).and_then(|()| Ok(Self::AtMost(num(m, "value")?))),
            "between" => {
                expect(&["low", "high"])?;
                let (low, high) = (num(m, "low")?, num(m, "high")?);
                if low > high {
                    return Err(bad("`low` is above `high`"));
                }
                Ok(Self::Between { low, high })
            }
            other => Err(DcqlError::UnknownPredicateOp { op: quote(other, 40) }),
        }
    }

    /// The creditproof predicate on `attribute`.
    pub fn on(&self, attribute: &str) -> Predicate {
        let attribute = attribute.to_owned();
        match *self {
            Self::AtLeast(threshold) => Predicate::AtLeast { attribute, threshold },
            Self::AtMost(threshold) => Predicate::AtMost { attribute, threshold },
            Self::Between { low, high } => Predicate::Between { attribute, low, high },
        }
    }

    /// The DCQL form of a range predicate, with its attribute; `None` for
    /// a perk (or any later kind that is not a range predicate).
    pub fn from_predicate(p: &Predicate) -> Option<(&str, Self)> {
        match p {
            Predicate::AtLeast { attribute, threshold } => Some((attribute, Self::AtLeast(*threshold))),
            Predicate::AtMost { attribute, threshold } => Some((attribute, Self::AtMost(*threshold))),
            Predicate::Between { attribute, low, high } => Some((attribute, Self::Between { low: *low, high: *high })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_members_only() {
        for (v, p) in [
            (json!({"op": "gte", "value": 650}), RangePredicate::AtLeast(650)),
            (json!({"op": "lte", "value": 0}), RangePredicate::AtMost(0)),
            (json!({"op": "between", "low": 600, "high": 600}), RangePredicate::Between { low: 600, high: 600 }),
        ] {
            assert_eq!(RangePredicate::from_json(&v).unwrap(), p);
            assert_eq!(p.to_json(), v);
        }
        let check = |v: Value| RangePredicate::from_json(&v).unwrap_err().check();
        assert_eq!(check(json!({"op": "gt", "value": 650})), "dcql.unknown_op");
        assert_eq!(check(json!({"op": "GTE", "value": 650})), "dcql.unknown_op");
        for bad in [
            json!({"op": "gte"}),
            json!({"op": "gte", "value": -1}),
            json!({"op": "gte", "value": 650.5}),
            json!({"op": "gte", "value": "650"}),
            json!({"op": "gte", "value": 650, "high": 700}),
            json!({"op": "between", "low": 700, "high": 600}),
            json!({"op": "between", "value": 700}),
            json!({"value": 700}),
            json!([]),
        ] {
            assert_eq!(check(bad.clone()), "dcql.malformed", "{bad}");
        }
        let p: Predicate = "600<=score<=800".parse().unwrap();
        let (attr, r) = RangePredicate::from_predicate(&p).unwrap();
        assert_eq!((attr, r.on(attr)), ("score", p.clone()));
    }
}
