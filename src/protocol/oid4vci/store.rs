//! The issuer's protocol state behind a trait: open offers, granted access
//! tokens, and the holder keys already bound to a credential.
//!
//! The decisions — expiry, transaction-code attempts, single use — are made
//! by [`crate::oid4vci::Oid4vciIssuer`], in one place for every backend.
//! A store only provides the atomic steps it needs: read-modify-write of
//! one offer or one grant ([`Oid4vciStore::update_offer`],
//! [`Oid4vciStore::update_grant`]: the closure runs inside the store's
//! transaction, and may run again if the store retries one), and an
//! all-or-nothing claim of holder keys ([`Oid4vciStore::use_holder_keys`]).
//! With those, two service nodes racing on one code, one token or one key
//! cannot both win. [`MemoryStore`] is the in-memory store for tests and a
//! single process; a service puts the same records in SQLite or PostgreSQL.
//!
//! Records are keyed by [`SecretDigest`]s, never by the codes and tokens
//! themselves.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::format::time::UnixTime;
use crate::issuer::Claims;
use crate::protocol::oid4vci::secret::SecretDigest;

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferStatus {
    /// Waiting for its pre-authorized code.
    Open,
    /// Exchanged for an access token: its code is spent.
    Redeemed,
    /// Dead after too many wrong transaction codes.
    Locked,
}

/// An offer, as the store keeps it under the digest of its pre-authorized
/// code. Kept after it is redeemed or locked, until it expires, so that a
/// second use is told apart from a wrong code.
#[derive(Clone)]
pub struct Offer {
    /// The issuer-internal person the offer is for; never sent.
    pub subject: String,
    /// The credential dataset: the claims every credential of the batch
    /// carries.
    pub claims: Claims,
    /// The offered credential configuration.
    pub configuration_id: String,
    /// When the pre-authorized code stops being accepted.
    pub expires_at: UnixTime,
    /// The digest of the transaction code with the pre-authorized code,
    /// when one is required.
    pub tx_code: Option<SecretDigest>,
    /// Wrong transaction codes still tolerated.
    pub tx_attempts_left: u32,
    /// Where the offer stands.
    pub status: OfferStatus,
}

/// What an access token grants, as the store keeps it under the token's
/// digest.
#[derive(Clone)]
pub struct Grant {
    /// The issuer-internal person; never sent.
    pub subject: String,
    /// The credential dataset.
    pub claims: Claims,
    /// The credential configuration the token is good for.
    pub configuration_id: String,
    /// When the token stops being accepted.
    pub expires_at: UnixTime,
    /// How many more credential responses (batches) the token may obtain.
    pub batches_left: u32,
}

impl fmt::Debug for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Neither the subject nor the claims: they are personal data.
        f.debug_struct("Offer")
            .field("configuration_id", &self.configuration_id)
            .field("expires_at", &self.expires_at)
            .field("tx_code", &self.tx_code.is_some())
            .field("tx_attempts_left", &self.tx_attempts_left)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("configuration_id", &self.configuration_id)
            .field("expires_at", &self.expires_at)
            .field("batches_left", &self.batches_left)
            .finish_non_exhaustive()
    }
}

/// Whether a set of holder keys could be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClaim {
    /// None was used before; all are now marked used.
    Claimed,
    /// The key at this index was used before; none was marked.
    AlreadyUsed {
        /// Its index in the list given.
        index: usize,
    },
}

/// The store failed (I/O, a lost connection): the request fails with
/// `server_error` and may be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// What failed, for the issuer's logs.
    pub reason: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "issuer state store failed: {}", self.reason)
    }
}

impl std::error::Error for StoreError {}

/// The issuer's OpenID4VCI state. See the [module documentation](self).
pub trait Oid4vciStore {
    /// Records a new offer under the digest of its pre-authorized code.
    /// Digests of fresh random codes do not collide; a store may refuse a
    /// duplicate with an error.
    fn insert_offer(&mut self, code: SecretDigest, offer: Offer) -> Result<(), StoreError>;

    /// Runs `f` on the offer under `code` (`None` if there is none) inside
    /// one transaction, and stores what `f` leaves: the changed offer, or
    /// nothing if `f` set it to `None`.
    fn update_offer(&mut self, code: &SecretDigest, f: &mut dyn FnMut(&mut Option<Offer>)) -> Result<(), StoreError>;

    /// Records a new grant under the digest of its access token.
    fn insert_grant(&mut self, token: SecretDigest, grant: Grant) -> Result<(), StoreError>;

    /// Like [`Oid4vciStore::update_offer`], for the grant under `token`.
    fn update_grant(&mut self, token: &SecretDigest, f: &mut dyn FnMut(&mut Option<Grant>)) -> Result<(), StoreError>;

    /// Marks every key (RFC 7638 thumbprints) used at `now`, unless one of
    /// them already is: then nothing is marked. All or nothing, in one
    /// transaction. A key stays used for good: a credential is bound to a
    /// key once, ever.
    fn use_holder_keys(&mut self, thumbprints: &[String], now: UnixTime) -> Result<KeyClaim, StoreError>;

    /// Drops offers and grants that expired before `now` and returns how
    /// many. Used keys are kept.
    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError>;
}

/// The in-memory [`Oid4vciStore`]: for tests and one process. Its state
/// dies with it, including the used keys.
#[derive(Debug, Default)]
pub struct MemoryStore {
    offers: HashMap<SecretDigest, Offer>,
    grants: HashMap<SecretDigest, Grant>,
    used_keys: BTreeMap<String, UnixTime>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many holder keys are marked used.
    pub fn used_key_count(&self) -> usize {
        self.used_keys.len()
    }
}

impl Oid4vciStore for MemoryStore {
    fn insert_offer(&mut self, code: SecretDigest, offer: Offer) -> Result<(), StoreError> {
        match self.offers.entry(code) {
            std::collections::hash_map::Entry::Occupied(_) => {
                Err(StoreError { reason: "an offer with this code digest exists".into() })
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(offer);
                Ok(())
            }
        }
    }

    fn update_offer(&mut self, code: &SecretDigest, f: &mut dyn FnMut(&mut Option<Offer>)) -> Result<(), StoreError> {
        let mut slot = self.offers.remove(code);
        f(&mut slot);
        if let Some(offer) = slot {
            self.offers.insert(*code, offer);
        }
        Ok(())
    }

    fn insert_grant(&mut self, token: SecretDigest, grant: Grant) -> Result<(), StoreError> {
        match self.grants.entry(token) {
            std::collections::hash_map::Entry::Occupied(_) => {
                Err(StoreError { reason: "a grant with this token digest exists".into() })
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(grant);
                Ok(())
            }
        }
    }

    fn update_grant(&mut self, token: &SecretDigest, f: &mut dyn FnMut(&mut Option<Grant>)) -> Result<(), StoreError> {
        let mut slot = self.grants.remove(token);
        f(&mut slot);
        if let Some(grant) = slot {
            self.grants.insert(*token, grant);
        }
        Ok(())
    }

    fn use_holder_keys(&mut self, thumbprints: &[String], now: UnixTime) -> Result<KeyClaim, StoreError> {
        if let Some(index) = thumbprints.iter().position(|t| self.used_keys.contains_key(t)) {
            return Ok(KeyClaim::AlreadyUsed { index });
        }
        for t in thumbprints {
            self.used_keys.insert(t.clone(), now);
        }
        Ok(KeyClaim::Claimed)
    }

    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError> {
        let before = self.offers.len() + self.grants.len();
        self.offers.retain(|_, o| o.expires_at > now);
        self.grants.retain(|_, g| g.expires_at > now);
        Ok(before - self.offers.len() - self.grants.len())
    }
}
