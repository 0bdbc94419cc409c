//! The verifier's transactions behind a small trait.
//!
//! A transaction is keyed by its request id, which is also its `state`
//! and the last segment of its `request_uri`: the one handle the wallet
//! sees. The verifier's own frontend holds a second, secret value (the
//! [`crate::oid4vp::TransactionHandle`]'s), of which the store keeps only
//! a digest, so the response data cannot be read with what the wallet
//! knows (OpenID4VP §14.3.3: "two cryptographically random numbers").
//!
//! The decisions — expiry, serving the request object once, accepting one
//! response — are made by [`crate::oid4vp::Oid4vpVerifier`], in one place
//! for every backend. A store provides an atomic read-modify-write of one
//! transaction ([`Oid4vpStore::update`]: the closure runs inside the
//! store's transaction, and may run again if the store retries it), so
//! two service nodes racing on one transaction cannot both serve its
//! request object or both accept a response. [`MemoryStore`] keeps them in
//! memory, for tests and one process; a service puts the same records in
//! PostgreSQL ([`Transaction`]'s queries serialize with
//! [`crate::dcql::DcqlQuery::to_json`], its verdict with
//! [`crate::oid4vp::Verdict::to_json`]).

use std::collections::HashMap;
use std::fmt;

use crate::format::time::UnixTime;
use crate::protocol::dcql::DcqlQuery;
use crate::protocol::oid4vp::response::Verdict;

/// Where a transaction stands.
#[derive(Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Phase {
    /// Created with a link by reference; the request object has not been
    /// fetched.
    AwaitingFetch,
    /// The request object was served (or the request went by value): the
    /// wallet may answer, against the served query.
    Served {
        /// Whether the Tier-1 fallback query was served instead of the
        /// preferred one.
        fallback: bool,
    },
    /// A response is being checked; no other is accepted.
    Checking {
        /// As in [`Phase::Served`].
        fallback: bool,
    },
    /// The response was checked.
    Answered(Verdict),
}

impl fmt::Debug for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AwaitingFetch => f.write_str("AwaitingFetch"),
            Self::Served { fallback } => write!(f, "Served {{ fallback: {fallback} }}"),
            Self::Checking { fallback } => write!(f, "Checking {{ fallback: {fallback} }}"),
            // What the holder disclosed stays out of logs.
            Self::Answered(v) => write!(f, "Answered({})", v.check().unwrap_or("accepted")),
        }
    }
}

/// One transaction, as a store keeps it under its request id.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The request id: the `state`, and the `request_uri`'s last segment.
    pub request_id: String,
    /// SHA-256 of the frontend's secret (see the [module
    /// documentation](self)).
    pub secret_digest: [u8; 32],
    /// The nonce every presentation must bind to.
    pub nonce: String,
    /// When it stops accepting anything.
    pub expires_at: UnixTime,
    /// The preferred query (Tier 2 when it asks for range predicates).
    pub query: DcqlQuery,
    /// The Tier-1 query served to a wallet that did not announce Tier 2,
    /// if the verifier gave one.
    pub fallback: Option<DcqlQuery>,
    /// Where it stands.
    pub phase: Phase,
}

impl Transaction {
    /// The query the wallet was served, once one was.
    pub fn served_query(&self) -> Option<&DcqlQuery> {
        match self.phase {
            Phase::Served { fallback } | Phase::Checking { fallback } => {
                if fallback {
                    self.fallback.as_ref()
                } else {
                    Some(&self.query)
                }
            }
            _ => None,
        }
    }
}

/// The store failed (I/O, a lost connection): the step fails with
/// `server_error` and may be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// What failed, for the verifier's logs.
    pub reason: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verifier transaction store failed: {}", self.reason)
    }
}

impl std::error::Error for StoreError {}

/// The verifier's OpenID4VP state. See the [module documentation](self).
pub trait Oid4vpStore {
    /// Records a new transaction. Request ids are fresh random values; a
    /// store may refuse a duplicate with an error.
    fn insert(&mut self, transaction: Transaction) -> Result<(), StoreError>;

    /// Runs `f` on the transaction `request_id` (`None` if there is none)
    /// inside one store transaction, and keeps what `f` leaves: the
    /// changed transaction, or nothing if `f` set it to `None`.
    fn update(&mut self, request_id: &str, f: &mut dyn FnMut(&mut Option<Transaction>)) -> Result<(), StoreError>;

    /// The transaction `request_id`, if there is one.
    fn get(&self, request_id: &str) -> Result<Option<Transaction>, StoreError>;

    /// Drops transactions that expired before `now` and returns how many.
    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError>;
}

/// The in-memory [`Oid4vpStore`]: for tests and one process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    transactions: HashMap<String, Transaction>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many transactions it holds.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }
}

impl Oid4vpStore for MemoryStore {
    fn insert(&mut self, transaction: Transaction) -> Result<(), StoreError> {
        match self.transactions.entry(transaction.request_id.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => {
                Err(StoreError { reason: "a transaction with this request id exists".into() })
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(transaction);
                Ok(())
            }
        }
    }

    fn update(&mut self, request_id: &str, f: &mut dyn FnMut(&mut Option<Transaction>)) -> Result<(), StoreError> {
        let mut slot = self.transactions.remove(request_id);
        f(&mut slot);
        if let Some(t) = slot {
            self.transactions.insert(t.request_id.clone(), t);
        }
        Ok(())
    }

    fn get(&self, request_id: &str) -> Result<Option<Transaction>, StoreError> {
        Ok(self.transactions.get(request_id).cloned())
    }

    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError> {
        let before = self.transactions.len();
        self.transactions.retain(|_, t| t.expires_at >= now);
        Ok(before - self.transactions.len())
    }
}
