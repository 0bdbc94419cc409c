//! The policies that ship with creditproof, reachable from the API.

use super::error::PolicyError;
use super::model::Policy;

/// The shipped policies: `(id, JSON document)`, the same files as
/// `policies/*.json` in the repository.
pub const SHIPPED: [(&str, &str); 3] = [
    ("civic-1300", include_str!("../../../policies/civic-1300.json")),
    ("sesame-style", include_str!("../../../policies/sesame-style.json")),
    ("suining-2013", include_str!("../../../policies/suining-2013.json")),
];

/// A shipped policy by id (`civic-1300`, `sesame-style`, `suining-2013`),
/// parsed and validated like any other; `None` for an unknown id.
///
/// ```
/// let policy = creditproof::policy::shipped("sesame-style").unwrap().unwrap();
/// assert_eq!(policy.id(), "sesame-style");
/// assert!(creditproof::policy::shipped("no-such-policy").is_none());
/// ```
pub fn shipped(id: &str) -> Option<Result<Policy, PolicyError>> {
    SHIPPED.iter().find(|(name, _)| *name == id).map(|(_, json)| Policy::from_json(json.as_bytes()))
}
