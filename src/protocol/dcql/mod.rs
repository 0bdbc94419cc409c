//! The Digital Credentials Query Language (OpenID4VP 1.0 §6), sans-IO: a
//! typed query with strict, bounded parsing and serialization
//! ([`DcqlQuery`]), creditproof's Tier-2 extension member
//! ([`RangePredicate`], `creditproof_predicate`), and the mapping between
//! creditproof's requests and DCQL both ways ([`ScoreAsk`] →
//! [`DcqlQuery`] for a verifier; [`obligations`] for a wallet, and for the
//! verifier's own check of what came back).
//!
//! ```
//! use creditproof::dcql::{obligations, DcqlQuery, ScoreAsk, Tier, SCORE_QUERY_ID};
//! let ask = ScoreAsk::new()
//!     .predicate("score>=650".parse().unwrap())
//!     .predicate("perk:no_deposit_rental".parse().unwrap());
//! assert_eq!(ask.tier(), Tier::Two);
//! let query = ask.to_query(SCORE_QUERY_ID).unwrap();
//! let wire = query.to_json().to_string();
//! assert!(wire.contains(r#""creditproof_predicate":{"op":"gte","value":650}"#));
//! // The wallet's side: what answering the query means.
//! let received = DcqlQuery::from_json(wire.as_bytes()).unwrap();
//! let needs = obligations(&received.credentials()[0]).unwrap();
//! assert_eq!(needs[0].predicates().len(), 2);
//! ```

pub mod error;
pub mod predicate;
pub mod profile;
pub mod query;

pub use error::DcqlError;
pub use predicate::{RangePredicate, PREDICATE_MEMBER};
pub use profile::{obligations, query_tier, Obligation, ScoreAsk, Tier, SCORE_QUERY_ID};
pub use query::{
    is_dcql_id, ClaimValue, ClaimsQuery, CredentialQuery, CredentialSetQuery, DcqlQuery, PathElement, TrustedAuthority,
    MAX_CLAIMS, MAX_CREDENTIAL_QUERIES, MAX_ENTRIES, MAX_ID_BYTES, MAX_PATH_ELEMENTS, MAX_QUERY_BYTES,
    MAX_STRING_BYTES, SD_JWT_FORMAT,
};
