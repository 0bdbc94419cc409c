#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::mem_forget)]

// The layout, bottom to top (README "Layout"; `.ci/layers.py` keeps it true):
//
// error.rs    the one `Error` of every layer, with a sub-enum per category
// format/     the format core: encoding, limits, time, rng, keys, jws,
//             ed25519, trust, sd_jwt/ (disclosures, the generic verifier),
//             status_list, hazmat/range
// profile/    the score-credential profile shared by the roles: claim names,
//             range claims, threshold grids, predicates, requests, key
//             requests, status, breakdowns, policy/ (with published
//             versions and the dispute deadline), dispute (the signed
//             dispute request, receipt and resolution)
// issuer/     issuing, batches, breakdowns, status-list signing, registry/
//             (SQLite, and PostgreSQL with feature `postgres`),
//             dispute_store (disputes.sqlite)
// holder/     the wallet and its key requests
// verifier/   the ordered checks, ending in a VerifiedPresentation
// protocol/   sans-IO OpenID4VC above the roles: oid4vci/ (offers, token,
//             nonce and credential endpoints, the wallet's steps), oid4vp/
//             (verifier transactions, the wallet's steps), dcql/ (queries
//             and creditproof's Tier-1/Tier-2 mapping), strict form and URL
//             helpers
// server/     the services (feature `server`): axum bindings of the
//             protocol layer — the issuer service (status lists, the back
//             office, published policies, disputes; its OpenID4VCI state
//             in SQLite or PostgreSQL) and verifier/, the OpenID4VP
//             verifier service
// bin/        the CLI: arguments and files only
//
// Data flows issuer → holder → verifier; a role imports the layers below it,
// never another role.

pub mod error;
mod format;
mod holder;
mod issuer;
mod profile;
mod protocol;
#[cfg(feature = "server")]
pub mod server;
mod verifier;

pub use format::{hazmat, keys, sd_jwt, status_list};
#[cfg(feature = "registry")]
pub use issuer::dispute_store;
#[cfg(feature = "registry")]
pub use issuer::registry;
pub use profile::{dispute, policy};
pub use protocol::{dcql, oid4vci, oid4vp};

pub use error::Error;
pub use format::keys::{Algorithm, HolderPublicKey, HolderSigningKey, IssuerPublicKey, IssuerSigningKey};
pub use format::limits::Limits;
pub use format::rng::{SecureRng, SystemRng};
pub use format::sd_jwt::{VerifierOptions, CREDENTIAL_TYP, KB_TYP};
pub use format::time::{UnixTime, DAY};
pub use format::trust::{IssuerMetadata, KeyProvider, TrustStore};
pub use holder::wallet::{
    CredentialState, GridNote, HeldCredential, Inventory, KnownStatus, PresentOptions, Presentation, Preview, Removal,
    Stored, Wallet, REFILL_BELOW,
};
pub use issuer::{Claims, Issuer, IssuerConfig};
pub use profile::breakdown::{read_breakdown_unverified, verify_breakdown, BREAKDOWN_TYP};
pub use profile::credential::{batch_to_json, parse_batch, Batch, IssuedCredential, MAX_SUPERSEDED_BATCHES, SCORE_VCT};
pub use profile::grid::{Grid, DEFAULT_GRID_CELLS, MAX_GRID_THRESHOLDS};
pub use profile::key_request::{KeyRequest, NoncePolicy, NONCE_LIFETIME_SECS, PROOF_TYP};
pub use profile::predicate::Predicate;
pub use profile::range_claim::RangeSecrets;
pub use profile::request::{PresentationRequest, RequestBuilder, MAX_REQUEST_ISSUERS};
pub use profile::status::{StatusLists, StatusRef, StatusRefetch, MIN_STATUS_TTL_SECS, STATUS_LIST_TYP};
pub use verifier::{verdict_json, VerifiedPresentation, Verifier};
