#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::mem_forget)]

mod batch;
mod breakdown;
mod credential;
mod disclosure;
mod ed25519;
mod encoding;
pub mod error;
pub mod hazmat;
mod issuer;
mod jws;
pub mod keys;
mod limits;
pub mod policy;
mod predicate;
#[cfg(feature = "registry")]
pub mod registry;
mod request;
mod rng;
pub mod sd_jwt;
mod status;
pub mod status_list;
mod time;
mod trust;
mod verifier;
mod wallet;

pub use batch::{KeyRequest, NoncePolicy, NONCE_LIFETIME_SECS, PROOF_TYP};
pub use breakdown::{read_breakdown_unverified, verify_breakdown, BREAKDOWN_TYP};
pub use credential::{batch_to_json, parse_batch, IssuedCredential, CREDENTIAL_TYP, KB_TYP, SCORE_VCT};
pub use error::Error;
pub use issuer::{Claims, Issuer, IssuerConfig};
pub use keys::{Algorithm, HolderPublicKey, HolderSigningKey, IssuerPublicKey, IssuerSigningKey};
pub use limits::Limits;
pub use predicate::RangeSecrets;
pub use request::{Predicate, PresentationRequest, RequestBuilder};
pub use rng::{SecureRng, SystemRng};
pub use status::{StatusLists, StatusRef, STATUS_LIST_TYP};
pub use time::{UnixTime, DAY};
pub use trust::{IssuerMetadata, KeyProvider, TrustStore};
pub use verifier::{verdict_json, VerifiedPresentation, Verifier, VerifierOptions};
pub use wallet::{Inventory, PresentOptions, Presentation, Preview, Wallet, REFILL_BELOW};
