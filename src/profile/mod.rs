//! The score-credential profile: what the three roles agree on, above the
//! format core and below every role.
//!
//! The credential's claim names and `vct`, the range claim layout, the
//! threshold grids the holder answers on and the predicate language, the verifier's request, the key request of batch
//! issuance, the status reference and the loaded status lists, the signed
//! breakdown's format, and the published policy language. A role imports
//! from here, never from another role.

pub(crate) mod breakdown;
pub(crate) mod credential;
pub mod dispute;
pub(crate) mod grid;
pub(crate) mod key_request;
pub mod policy;
pub(crate) mod predicate;
pub(crate) mod range_claim;
pub(crate) mod request;
pub(crate) mod status;

/// The name of the recursively disclosable object that holds perk flags.
pub(crate) const PERKS: &str = "perks";
