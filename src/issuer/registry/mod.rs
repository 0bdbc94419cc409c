//! The issuer's durable registry of status lists and issued credentials.
//!
//! Every credential an issuer signs carries a Token Status List entry
//! (`status.status_list {idx, uri}`). The registry is the issuer's record of
//! which lists exist, which indexes are taken, which credential (by holder key
//! thumbprint and batch) owns which index, its current status, and the history
//! of every change with its reason.
//!
//! The state sits behind the [`IssuerRegistry`] trait; [`SqliteRegistry`] keeps
//! it in one SQLite file (conventionally `registry.sqlite` in the issuer
//! directory). Every change is a single `BEGIN IMMEDIATE … COMMIT` transaction,
//! so a crash leaves either the old or the new state: never a reused index, a
//! half-issued batch or a half-applied correction.
//!
//! Indexes are drawn uniformly at random among the unused indexes of the
//! current list, never sequentially and never reused; randomness is an input
//! (`&mut dyn FnMut(&mut [u8])`, which must be a CSPRNG in production).
//!
//! # Issuing without phantom batches
//!
//! A batch must not be recorded as issued unless the holder can get it. So
//! [`IssuerRegistry::issue_batch`] and [`IssuerRegistry::correct`] take a
//! *deliver* step that runs inside the transaction, after the indexes are
//! drawn and before the commit: it signs the credentials and hands them over
//! (or stages them, e.g. as a synced temporary file). If it fails, nothing is
//! recorded and no index or holder key is used up. A hand-over that can only
//! finish after the commit (renaming the staged file into place) is recorded
//! as *pending*, with a note from the deliver step, until
//! [`IssuerRegistry::confirm_delivery`]; a later attempt finds it with
//! [`IssuerRegistry::batches_of`] and either finishes the delivery or,
//! if the staged batch is lost, voids it with [`IssuerRegistry::void_batch`]
//! (history action `voided`; its indexes are revoked and never reused) and
//! issues afresh to the same holder keys. A holder key is issued at most
//! once, except after a void.

use std::fmt;

#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
#[cfg(test)]
mod tests;

#[cfg(feature = "postgres")]
pub use self::postgres::{is_postgres_url, PgRegistry, PG_SCHEMA_VERSION};
#[cfg(feature = "postgres")]
pub(crate) use self::postgres::{pg_connect, pg_message as pg_error_message};
pub use sqlite::{SqliteRegistry, DEFAULT_LIST_CAPACITY, MAX_LIST_CAPACITY, SCHEMA_VERSION};

/// The RFC 7638 JWK thumbprint of a holder key (base64url text).
pub type Thumbprint = String;

pub use crate::profile::status::StatusRef;

/// The status of one credential, as written into a Token Status List.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `0`: valid.
    Valid,
    /// `1`: invalid (revoked); permanent.
    Revoked,
    /// `2`: suspended; reversible.
    Suspended,
}

impl Status {
    /// The status list value: 0 valid, 1 revoked, 2 suspended.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Revoked => 1,
            Self::Suspended => 2,
        }
    }

    /// The status for a status list value, if it is one of 0, 1, 2.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Valid),
            1 => Some(Self::Revoked),
            2 => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// Which credentials a status change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The one credential at `idx` of the list `uri`.
    Index {
        /// The status list's URI.
        uri: &'a str,
        /// The index in that list.
        idx: u64,
    },
    /// Every credential of every batch of the subject that the batch holding
    /// this holder thumbprint belongs to.
    Holder(&'a str),
    /// Every credential of one batch, by batch id.
    Batch(&'a str),
}

/// A batch of credentials to issue: one credential per holder key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewBatch<'a> {
    /// Unique id of the batch.
    pub batch_id: &'a str,
    /// Issuer-internal person id; never written into credentials.
    pub subject: &'a str,
    /// The policy the batch was issued under, if any.
    pub policy: Option<&'a str>,
    /// One holder key thumbprint per credential; each is issued at most once,
    /// ever.
    pub holders: &'a [Thumbprint],
    /// Why the batch is issued (recorded in the history).
    pub reason: &'a str,
}

/// What the deliver step of [`IssuerRegistry::issue_batch`] or
/// [`IssuerRegistry::correct`] did with the signed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Handed over inside the transaction (e.g. returned in memory): the
    /// batch is recorded as delivered when the transaction commits.
    Delivered,
    /// Staged durably; the hand-over finishes after the commit. The batch is
    /// recorded as pending, with this note (at most 8192 bytes, e.g. where
    /// the staged copy is and its digest), until
    /// [`IssuerRegistry::confirm_delivery`] or [`IssuerRegistry::void_batch`].
    Staged(String),
}

/// Where a batch's hand-over stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Staged ([`Delivery::Staged`]); the hand-over is not confirmed yet.
    Pending,
    /// Handed over in its transaction, or confirmed since.
    Delivered,
    /// Never delivered, and voided: its credentials are revoked.
    Voided,
}

/// A recorded batch and its delivery, as a later attempt needs it to settle
/// an interrupted hand-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// The batch id.
    pub batch_id: String,
    /// The issuer-internal subject.
    pub subject: String,
    /// When it was issued (seconds since the Unix epoch, as given).
    pub issued_at: u64,
    /// Where its hand-over stands.
    pub delivery: DeliveryState,
    /// The note its deliver step returned with [`Delivery::Staged`] (kept
    /// after the delivery is confirmed).
    pub note: Option<String>,
    /// Its credentials: holder thumbprint and status entry, ordered by holder.
    pub credentials: Vec<(Thumbprint, StatusRef)>,
}

/// The deliver step: given the batch's status entries (in the order of
/// [`NewBatch::holders`]), sign and hand over or stage the batch. It runs
/// inside the registry's write transaction; an error rolls everything back.
pub type Deliver<'a> = dyn FnMut(&[StatusRef]) -> Result<Delivery, RegistryError> + 'a;

/// One row of the registry's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When, as given by the caller (seconds since the Unix epoch).
    pub at: u64,
    /// `issued`, `revoked`, `suspended`, `reinstated`, `corrected` (revoked
    /// by a correction) or `voided` (revoked because its pending batch was
    /// never delivered).
    pub action: String,
    /// The status list's URI.
    pub uri: String,
    /// The index in that list.
    pub idx: u64,
    /// The holder key thumbprint of the credential.
    pub holder: Thumbprint,
    /// The batch the credential belongs to.
    pub batch_id: String,
    /// The reason given for the change.
    pub reason: String,
}

/// The issuer's durable state; see the [module documentation](self).
pub trait IssuerRegistry {
    /// Allocates one random unused index per holder key, runs `deliver` with
    /// the refs, and records the batch, atomically: if `deliver` fails,
    /// nothing is recorded. The refs are in the order of `batch.holders`.
    ///
    /// A holder key already issued fails with
    /// [`RegistryError::DuplicateHolder`], unless its only earlier batches
    /// were voided. With [`Delivery::Staged`] the batch stays pending until
    /// [`confirm_delivery`](Self::confirm_delivery).
    fn issue_batch(
        &mut self,
        batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError>;

    /// Sets the status of every credential matched by `target`, in one
    /// transaction, and returns how many changed.
    ///
    /// Revoked is final: already-revoked credentials are left alone, and if
    /// every matched credential is revoked the result is
    /// [`RegistryError::AlreadyRevoked`]. Suspending and reinstating apply
    /// to the non-revoked credentials only. Credentials already in `status`
    /// do not count as changed.
    fn set_status(
        &mut self,
        target: Target<'_>,
        status: Status,
        reason: &str,
        now: u64,
    ) -> Result<usize, RegistryError>;

    /// Correction, in one transaction: revokes (history action `corrected`,
    /// reason `corrected: <new_batch.reason>`) every valid or suspended
    /// credential of every batch of `subject`, and issues `new_batch`, whose
    /// subject must equal `subject`, delivering it as
    /// [`issue_batch`](Self::issue_batch) does. Returns the new batch's refs.
    fn correct(
        &mut self,
        subject: &str,
        new_batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError>;

    /// Records a pending batch as delivered. Confirming a delivered batch
    /// again is a no-op; a voided batch fails with
    /// [`RegistryError::NotPending`].
    fn confirm_delivery(&mut self, batch_id: &str) -> Result<(), RegistryError>;

    /// Voids a pending batch that will never be delivered, in one
    /// transaction: each credential is revoked with history action `voided`
    /// and `reason`, its index stays used forever, and its holder key may be
    /// issued again. Returns how many credentials were voided. Batches that
    /// are not pending fail with [`RegistryError::NotPending`].
    fn void_batch(&mut self, batch_id: &str, reason: &str, now: u64) -> Result<usize, RegistryError>;

    /// Every pending batch, oldest first.
    fn pending_batches(&mut self) -> Result<Vec<BatchRecord>, RegistryError>;

    /// The batches (pending or delivered) holding a live credential of one
    /// of these holder thumbprints, oldest first.
    fn batches_of(&mut self, holders: &[Thumbprint]) -> Result<Vec<BatchRecord>, RegistryError>;

    /// Every list, in order: its URI and the status byte (0/1/2) of every
    /// index `0..capacity` (unused indexes are 0).
    fn lists(&mut self) -> Result<Vec<(String, Vec<u8>)>, RegistryError>;

    /// The history, oldest first; with `Some(holder)`, only that of the
    /// subject the holder thumbprint was issued to (by its live credential,
    /// else its latest voided one).
    fn history(&mut self, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError>;

    /// The subject a holder thumbprint was issued to (by its live
    /// credential, else its latest voided one).
    fn subject_of(&mut self, holder: &str) -> Result<String, RegistryError>;

    /// The ids of the batches issued to `subject` that were not voided
    /// (delivered or pending), oldest first: the batches a
    /// [`correct`](Self::correct) of the subject supersedes, which the
    /// correcting batch names so that the holder's wallet stops presenting
    /// them. Read it under the same lock as the correction, so that no batch
    /// is issued in between.
    fn batch_ids_of_subject(&mut self, subject: &str) -> Result<Vec<String>, RegistryError>;

    /// A number that grows with every committed change of the lists, by
    /// any process or node (the last history row): a publisher re-reads
    /// [`lists`](Self::lists) only when it moved.
    fn revision(&mut self) -> Result<u64, RegistryError>;

    /// Checks every invariant of the stored state in one read snapshot (see
    /// [`SqliteRegistry::check_invariants`]); what the crash and kill tests
    /// run after each kill.
    fn check_invariants(&mut self) -> Result<(), RegistryError>;

    /// Whether this handle can still be used: `false` once a database
    /// connection is lost (a pool then opens another). Default: `true`.
    fn is_usable(&self) -> bool {
        true
    }
}

impl<T: IssuerRegistry + ?Sized> IssuerRegistry for Box<T> {
    fn issue_batch(
        &mut self,
        batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError> {
        (**self).issue_batch(batch, now, rng, deliver)
    }
    fn set_status(
        &mut self,
        target: Target<'_>,
        status: Status,
        reason: &str,
        now: u64,
    ) -> Result<usize, RegistryError> {
        (**self).set_status(target, status, reason, now)
    }
    fn correct(
        &mut self,
        subject: &str,
        new_batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError> {
        (**self).correct(subject, new_batch, now, rng, deliver)
    }
    fn confirm_delivery(&mut self, batch_id: &str) -> Result<(), RegistryError> {
        (**self).confirm_delivery(batch_id)
    }
    fn void_batch(&mut self, batch_id: &str, reason: &str, now: u64) -> Result<usize, RegistryError> {
        (**self).void_batch(batch_id, reason, now)
    }
    fn pending_batches(&mut self) -> Result<Vec<BatchRecord>, RegistryError> {
        (**self).pending_batches()
    }
    fn batches_of(&mut self, holders: &[Thumbprint]) -> Result<Vec<BatchRecord>, RegistryError> {
        (**self).batches_of(holders)
    }
    fn lists(&mut self) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
        (**self).lists()
    }
    fn history(&mut self, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError> {
        (**self).history(holder)
    }
    fn subject_of(&mut self, holder: &str) -> Result<String, RegistryError> {
        (**self).subject_of(holder)
    }
    fn batch_ids_of_subject(&mut self, subject: &str) -> Result<Vec<String>, RegistryError> {
        (**self).batch_ids_of_subject(subject)
    }
    fn revision(&mut self) -> Result<u64, RegistryError> {
        (**self).revision()
    }
    fn check_invariants(&mut self) -> Result<(), RegistryError> {
        (**self).check_invariants()
    }
    fn is_usable(&self) -> bool {
        (**self).is_usable()
    }
}

/// Where a registry lives: an SQLite file (the embedded default) or, with
/// the `postgres` feature, a PostgreSQL database that several issuer nodes
/// share. `Debug` and `Display` never show a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum RegistryLocation {
    /// An SQLite file ([`SqliteRegistry`]).
    Sqlite(std::path::PathBuf),
    /// A `postgres://` URL ([`PgRegistry`]).
    #[cfg(feature = "postgres")]
    Postgres(String),
}

/// A registry of either backend, as the service and the CLI hold it.
pub type AnyRegistry = Box<dyn IssuerRegistry + Send>;

impl RegistryLocation {
    /// Opens the registry there.
    pub fn open(&self) -> Result<AnyRegistry, RegistryError> {
        Ok(match self {
            Self::Sqlite(path) => Box::new(SqliteRegistry::open(path)?),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => Box::new(PgRegistry::open(url)?),
        })
    }

    /// Creates a registry there (see [`SqliteRegistry::create`] and
    /// [`PgRegistry::create`]).
    pub fn create(&self, base_uri: &str, list_capacity: u64) -> Result<AnyRegistry, RegistryError> {
        Ok(match self {
            Self::Sqlite(path) => Box::new(SqliteRegistry::create(path, base_uri, list_capacity)?),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => Box::new(PgRegistry::create(url, base_uri, list_capacity)?),
        })
    }

    /// Whether it is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        !matches!(self, Self::Sqlite(_))
    }
}

/// `url` with the password of its user info (if any) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

impl fmt::Display for RegistryLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for RegistryLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

/// What can go wrong with the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// An error from the database (SQLite or PostgreSQL: I/O, locking,
    /// connection, corruption…), as text.
    Database(String),
    /// The database was written by a newer version of this software.
    NewerSchema {
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this build understands.
        supported: u32,
    },
    /// The file is not an issuer registry (or not an SQLite database).
    NotARegistry,
    /// The registry file to open does not exist.
    NotFound,
    /// The registry file to create already exists.
    Exists,
    /// No credential was issued to this holder thumbprint.
    UnknownHolder,
    /// No credential uses this list URI and index.
    UnknownIndex,
    /// No batch has this id.
    UnknownBatch,
    /// No batch was issued to this subject.
    UnknownSubject,
    /// A batch with this id already exists.
    DuplicateBatch,
    /// A holder thumbprint was already issued, or appears twice in a batch.
    DuplicateHolder,
    /// The batch is not pending delivery (it was voided, or, for a void,
    /// delivered).
    NotPending,
    /// The deliver step failed (its message); nothing was recorded.
    Delivery(String),
    /// Every matched credential is revoked; revocation is final.
    AlreadyRevoked,
    /// The stored state breaks an invariant (details as text).
    Invariant(String),
    /// A batch without holders.
    EmptyBatch,
    /// An argument is out of range or malformed.
    InvalidArgument(&'static str),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(msg) => write!(f, "registry database error: {msg}"),
            Self::NewerSchema { found, supported } => {
                write!(f, "registry schema version {found} is newer than the supported version {supported}")
            }
            Self::NotARegistry => f.write_str("file is not an issuer registry"),
            Self::NotFound => f.write_str("registry file does not exist"),
            Self::Exists => f.write_str("registry file already exists"),
            Self::UnknownHolder => f.write_str("unknown holder thumbprint"),
            Self::UnknownIndex => f.write_str("unknown status list index"),
            Self::UnknownBatch => f.write_str("unknown batch"),
            Self::UnknownSubject => f.write_str("unknown subject"),
            Self::DuplicateBatch => f.write_str("batch id already exists"),
            Self::DuplicateHolder => f.write_str("holder thumbprint already issued"),
            Self::NotPending => f.write_str("batch is not pending delivery"),
            Self::Delivery(msg) => f.write_str(msg),
            Self::AlreadyRevoked => f.write_str("credential already revoked"),
            Self::Invariant(msg) => write!(f, "registry invariant violated: {msg}"),
            Self::EmptyBatch => f.write_str("batch has no holders"),
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl std::error::Error for RegistryError {}

impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}
