//! The format core: bytes, keys, signatures, SD-JWT, status lists and range
//! proofs. Nothing here knows about scores, policies or roles; every layer
//! above builds on it.

pub(crate) mod ed25519;
pub(crate) mod encoding;
pub mod hazmat;
pub(crate) mod jws;
pub mod keys;
pub(crate) mod limits;
pub(crate) mod rng;
pub mod sd_jwt;
pub mod status_list;
pub(crate) mod time;
pub(crate) mod trust;
