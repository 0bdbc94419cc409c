//! [`IssuerRegistry`] over one SQLite file.
//!
//! - `schema`: the schema, its version and the connection set-up;
//! - `alloc`: recording batches and allocating random, never reused indexes;
//! - `delivery`: pending batches, confirming their delivery or voiding them;
//! - `status`: revocation, suspension, corrections and the list bitstrings;
//! - `history`: the audit trail and holder → subject look-ups;
//! - `invariants`: the full consistency check the kill tests run.

pub(in crate::issuer::registry) mod alloc;
mod delivery;
mod history;
mod invariants;
pub(in crate::issuer::registry) mod schema;
mod status;

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use self::alloc::insert_list;
use self::invariants::check_all;
pub use self::schema::SCHEMA_VERSION;
use self::schema::{check_base_uri, configure, connect, migrate, open_error, sibling, APPLICATION_ID, SCHEMA};
use super::{BatchRecord, Deliver, Delivery, HistoryEntry, IssuerRegistry, NewBatch, RegistryError, Status, StatusRef};
use super::{DeliveryState, Target, Thumbprint};

/// The default number of entries of each status list.
pub const DEFAULT_LIST_CAPACITY: u64 = 1 << 20;

/// The largest accepted list capacity (each list is materialised in memory by
/// [`IssuerRegistry::lists`]).
pub const MAX_LIST_CAPACITY: u64 = 1 << 24;

/// Longest accepted id (batch id, subject, policy, holder thumbprint), in bytes.
const MAX_ID_LEN: usize = 512;

/// Longest accepted reason, in bytes.
const MAX_REASON_LEN: usize = 4096;

/// Longest accepted delivery note, in bytes.
pub(in crate::issuer::registry) const MAX_NOTE_LEN: usize = 8192;

/// Longest accepted base URI, in bytes.
const MAX_URI_LEN: usize = 2048;

/// An [`IssuerRegistry`] kept in one SQLite file (WAL, `synchronous=FULL`,
/// foreign keys on); every change is one `BEGIN IMMEDIATE` transaction.
#[derive(Debug)]
pub struct SqliteRegistry {
    conn: Connection,
    base_uri: String,
    capacity: u64,
}

impl SqliteRegistry {
    /// Creates a new registry file at `path`, whose lists have `list_capacity`
    /// entries (1 ..= [`MAX_LIST_CAPACITY`]) and URIs `{base_uri}/{n}`.
    ///
    /// Fails with [`RegistryError::Exists`] if the file (or a leftover
    /// `-wal`/`-journal` beside it) already exists. List 1 is created at once.
    pub fn create(path: &Path, base_uri: &str, list_capacity: u64) -> Result<Self, RegistryError> {
        check_base_uri(base_uri)?;
        if list_capacity == 0 || list_capacity > MAX_LIST_CAPACITY {
            return Err(RegistryError::InvalidArgument("list capacity out of range"));
        }
        for suffix in ["-wal", "-journal"] {
            if sibling(path, suffix).exists() {
                return Err(RegistryError::Exists);
            }
        }
        match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(file) => drop(file),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(RegistryError::Exists),
            Err(e) => return Err(RegistryError::Database(format!("cannot create {}: {e}", path.display()))),
        }
        match Self::init(path, base_uri, list_capacity) {
            Ok(registry) => Ok(registry),
            Err(e) => {
                // Best effort: the file was created by us a moment ago.
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(sibling(path, suffix));
                }
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    fn init(path: &Path, base_uri: &str, capacity: u64) -> Result<Self, RegistryError> {
        let mut conn = connect(path)?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let cap = to_db(capacity, "list capacity out of range")?;
        tx.execute("INSERT INTO config (id, base_uri, list_capacity) VALUES (1, ?1, ?2)", params![base_uri, cap])?;
        insert_list(&tx, base_uri, capacity, 1)?;
        tx.commit()?;
        Ok(Self { conn, base_uri: base_uri.to_owned(), capacity })
    }

    /// Opens an existing registry file.
    ///
    /// Fails with [`RegistryError::NotFound`] if it is missing,
    /// [`RegistryError::NotARegistry`] if it is not a registry (or not SQLite),
    /// and [`RegistryError::NewerSchema`] if a newer version wrote it. The file
    /// is not modified before these checks pass. An older file is migrated,
    /// one version a transaction (see [`SCHEMA_VERSION`]).
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(RegistryError::NotARegistry),
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(RegistryError::NotFound),
            Err(e) => return Err(RegistryError::Database(format!("cannot open {}: {e}", path.display()))),
        }
        let mut conn = connect(path)?;
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(open_error)?;
        if app_id != APPLICATION_ID {
            return Err(RegistryError::NotARegistry);
        }
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(open_error)?;
        if version > i64::from(SCHEMA_VERSION) {
            return Err(RegistryError::NewerSchema {
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: SCHEMA_VERSION,
            });
        }
        if version < 1 {
            // Version 1 is the first schema: there is nothing older to migrate.
            return Err(RegistryError::NotARegistry);
        }
        configure(&conn)?;
        if version < i64::from(SCHEMA_VERSION) {
            migrate(&mut conn)?;
        }
        let config: Option<(String, i64)> = conn
            .query_row("SELECT base_uri, list_capacity FROM config WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (base_uri, cap) = config.ok_or(RegistryError::NotARegistry)?;
        let capacity = from_db(cap, "list capacity")?;
        if capacity == 0 || capacity > MAX_LIST_CAPACITY {
            return Err(invariant("list capacity out of range"));
        }
        if check_base_uri(&base_uri).is_err() {
            return Err(invariant("stored base uri is malformed"));
        }
        Ok(Self { conn, base_uri, capacity })
    }

    /// The base URI the list URIs are built from (`{base_uri}/{n}`).
    pub fn base_uri(&self) -> &str {
        &self.base_uri
    }

    /// The number of entries of every list.
    pub fn list_capacity(&self) -> u64 {
        self.capacity
    }

    /// A number that grows with every committed change of the lists (any
    /// process's): the last history row. Every issuance, status change,
    /// correction and void adds one, so a publisher re-reads
    /// [`IssuerRegistry::lists`] only when this moved.
    pub fn revision(&self) -> Result<u64, RegistryError> {
        let seq: i64 = self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM history", [], |r| r.get(0))?;
        from_db(seq, "history sequence")
    }

    /// Checks every invariant of the stored state, in one read snapshot:
    /// SQLite's own `quick_check` and foreign keys; lists numbered 1, 2, … with
    /// URI `{base_uri}/{n}`, the configured capacity, a correct `used` count
    /// and every list but the last full; every (list, idx) used once with
    /// `idx < capacity`; status in {0, 1, 2}; every credential in an existing
    /// batch and every batch with a credential; every credential's history
    /// starting with exactly one `issued` row and replaying to its current
    /// status; each live holder key in one credential only; voided
    /// credentials exactly those of voided batches, each revoked by one final
    /// `voided` row; every pending batch with its delivery note; and every
    /// correction complete (all older credentials of the subject revoked, and
    /// no `corrected` revocation without its correction).
    pub fn check_invariants(&self) -> Result<(), RegistryError> {
        let tx = self.conn.unchecked_transaction()?;
        check_all(&tx, &self.base_uri, self.capacity)?;
        tx.rollback()?;
        Ok(())
    }
}

impl IssuerRegistry for SqliteRegistry {
    fn issue_batch(
        &mut self,
        batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError> {
        alloc::issue_batch(self, batch, now, rng, deliver)
    }

    fn set_status(
        &mut self,
        target: Target<'_>,
        status: Status,
        reason: &str,
        now: u64,
    ) -> Result<usize, RegistryError> {
        status::set_status(self, target, status, reason, now)
    }

    fn correct(
        &mut self,
        subject: &str,
        new_batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError> {
        status::correct(self, subject, new_batch, now, rng, deliver)
    }

    fn confirm_delivery(&mut self, batch_id: &str) -> Result<(), RegistryError> {
        delivery::confirm(self, batch_id)
    }

    fn void_batch(&mut self, batch_id: &str, reason: &str, now: u64) -> Result<usize, RegistryError> {
        delivery::void(self, batch_id, reason, now)
    }

    fn pending_batches(&mut self) -> Result<Vec<BatchRecord>, RegistryError> {
        delivery::batches(self, None)
    }

    fn batches_of(&mut self, holders: &[Thumbprint]) -> Result<Vec<BatchRecord>, RegistryError> {
        delivery::batches(self, Some(holders))
    }

    fn lists(&mut self) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
        status::lists(self)
    }

    fn history(&mut self, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError> {
        history::history(self, holder)
    }

    fn subject_of(&mut self, holder: &str) -> Result<String, RegistryError> {
        history::subject_in(&self.conn, holder)
    }

    fn batch_ids_of_subject(&mut self, subject: &str) -> Result<Vec<String>, RegistryError> {
        history::batch_ids_of_subject(&self.conn, subject)
    }

    fn revision(&mut self) -> Result<u64, RegistryError> {
        SqliteRegistry::revision(self)
    }

    fn check_invariants(&mut self) -> Result<(), RegistryError> {
        SqliteRegistry::check_invariants(self)
    }
}

// Argument checks and conversions, shared by the submodules.

pub(in crate::issuer::registry) fn check_id(id: &str, what: &'static str) -> Result<(), RegistryError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(RegistryError::InvalidArgument(what));
    }
    Ok(())
}

pub(in crate::issuer::registry) fn check_reason(reason: &str) -> Result<(), RegistryError> {
    if reason.len() > MAX_REASON_LEN {
        return Err(RegistryError::InvalidArgument("reason too long"));
    }
    Ok(())
}

pub(in crate::issuer::registry) fn to_db(value: u64, what: &'static str) -> Result<i64, RegistryError> {
    i64::try_from(value).map_err(|_| RegistryError::InvalidArgument(what))
}

pub(in crate::issuer::registry) fn from_db(value: i64, what: &str) -> Result<u64, RegistryError> {
    u64::try_from(value).map_err(|_| invariant(&format!("negative {what}")))
}

pub(in crate::issuer::registry) fn parse_status(value: i64) -> Result<Status, RegistryError> {
    u8::try_from(value).ok().and_then(Status::from_u8).ok_or_else(|| invariant("status outside {0, 1, 2}"))
}

pub(in crate::issuer::registry) fn invariant(msg: &str) -> RegistryError {
    RegistryError::Invariant(msg.to_owned())
}
