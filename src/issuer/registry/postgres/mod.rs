//! [`IssuerRegistry`] over PostgreSQL (feature `postgres`): several issuer
//! nodes share one database.
//!
//! - `schema`: the schema, its version and migrations;
//! - `ops`: issuing, status changes, corrections, deliveries and the reads;
//! - `invariants`: the full consistency check the tests run.
//!
//! # Concurrency
//!
//! Every change is one transaction (READ COMMITTED) whose first statement
//! takes a transaction-level advisory lock (`pg_advisory_xact_lock`, key
//! [`schema::LOCK_KEY`]): writers on every node run one at a time, and each
//! reads the state the previous one committed (the lock is released only
//! after the commit is visible). That is SQLite's `BEGIN IMMEDIATE` across
//! machines: an index is never allocated twice, a correction or a
//! revocation is all or nothing, and there is no serialization failure to
//! retry. The primary key `(list_n, idx)` and the unique index on live
//! holders are a second line that PostgreSQL enforces itself. Reads
//! (`lists`, `history`, `batches_of`…) run in one REPEATABLE READ snapshot
//! and take no lock. A killed node's transaction is rolled back by the
//! server when its connection drops: nothing half-done is ever seen.
//!
//! The writers' lock is held while the deliver step signs the batch (as in
//! SQLite): a batch of 16 costs about 4 ms of signing, so the lock bounds
//! all nodes together to a few thousand credentials a second; sign outside
//! it (pre-allocating indexes) if that ever becomes the limit.

mod invariants;
mod ops;
mod schema;

use std::fmt;

use postgres::{Client, IsolationLevel, NoTls, Transaction};

pub use self::schema::PG_SCHEMA_VERSION;
use self::schema::{APPLICATION, LOCK_KEY, MIGRATIONS, SCHEMA};
use super::sqlite::schema::check_base_uri;
use super::sqlite::{from_db, invariant, to_db};
use super::{BatchRecord, Deliver, HistoryEntry, IssuerRegistry, NewBatch, RegistryError, Status, StatusRef};
use super::{Target, Thumbprint, MAX_LIST_CAPACITY};

const _: () = assert!(MIGRATIONS.len() + 1 == PG_SCHEMA_VERSION as usize);

/// An [`IssuerRegistry`] in a PostgreSQL database (schema `creditproof`).
/// One value is one connection.
///
/// Every change is one READ COMMITTED transaction whose first statement
/// takes a transaction-level advisory lock: writers on every node run one
/// at a time on committed state, so an index is never allocated twice and a
/// correction or revocation is all or nothing; reads run in one REPEATABLE
/// READ snapshot. Indexes are drawn from a lazy Fisher–Yates shuffle of the
/// current list's unused indexes (O(1), uniform, no scan).
pub struct PgRegistry {
    client: Client,
    base_uri: String,
    capacity: u64,
}

impl fmt::Debug for PgRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgRegistry").field("base_uri", &self.base_uri).field("capacity", &self.capacity).finish()
    }
}

impl From<postgres::Error> for RegistryError {
    fn from(e: postgres::Error) -> Self {
        Self::Database(pg_message(&e))
    }
}

/// The error's text with the server's message and SQLSTATE when there is
/// one (postgres' own `Display` says only `db error`).
pub(crate) fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("postgresql: {} ({})", db.message(), db.code().code()),
        None => {
            let mut msg = format!("postgresql: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            msg
        }
    }
}

/// Whether `location` names a PostgreSQL database (`postgres://` or
/// `postgresql://`).
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A connection to `url` with `search_path` set to the registry's schema.
/// The URL is never echoed in errors (it may hold a password).
pub(crate) fn connect(url: &str) -> Result<Client, RegistryError> {
    if !is_postgres_url(url) {
        return Err(RegistryError::InvalidArgument("a PostgreSQL URL starts with postgres:// or postgresql://"));
    }
    Ok(pg_connect(url)?)
}

/// A connection to `url` (10 s to connect unless the URL says otherwise)
/// whose session has `search_path` set to the schema `creditproof`, gives
/// up waiting for a lock after 30 s (`lock_timeout`), and is cut by the
/// server if it idles 60 s inside a transaction
/// (`idle_in_transaction_session_timeout`): a stalled node never holds the
/// writers' lock for long. Shared with the OpenID4VCI store.
pub(crate) fn pg_connect(url: &str) -> Result<Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    config.application_name("creditproof");
    let mut client = config.connect(NoTls)?;
    client.batch_execute(
        "SET search_path TO creditproof; SET lock_timeout TO '30s';
         SET idle_in_transaction_session_timeout TO '60s'",
    )?;
    Ok(client)
}

/// A write transaction: the registry lock first.
fn write_tx(client: &mut Client) -> Result<Transaction<'_>, RegistryError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])?;
    Ok(tx)
}

/// A read-only snapshot.
fn read_tx(client: &mut Client) -> Result<Transaction<'_>, RegistryError> {
    Ok(client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()?)
}

/// Whether the registry's tables exist, and whether the schema does.
fn exists(tx: &mut Transaction<'_>) -> Result<(bool, bool), RegistryError> {
    let row = tx.query_one(
        "SELECT to_regclass('creditproof.registry_meta') IS NOT NULL,
                EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'creditproof')",
        &[],
    )?;
    Ok((row.get(0), row.get(1)))
}

impl PgRegistry {
    /// Creates the registry in the database at `url` (a `postgres://` URL),
    /// whose lists have `list_capacity` entries (1 ..= [`MAX_LIST_CAPACITY`])
    /// and URIs `{base_uri}/{n}`; list 1 is created at once.
    ///
    /// Fails with [`RegistryError::Exists`] if that database already holds
    /// one. The database itself must exist.
    pub fn create(url: &str, base_uri: &str, list_capacity: u64) -> Result<Self, RegistryError> {
        check_base_uri(base_uri)?;
        if list_capacity == 0 || list_capacity > MAX_LIST_CAPACITY {
            return Err(RegistryError::InvalidArgument("list capacity out of range"));
        }
        let mut client = connect(url)?;
        {
            let mut tx = write_tx(&mut client)?;
            if exists(&mut tx)?.0 {
                return Err(RegistryError::Exists);
            }
            tx.batch_execute(SCHEMA)?;
            let version = i32::try_from(PG_SCHEMA_VERSION).map_err(|_| invariant("schema version"))?;
            let cap = to_db(list_capacity, "list capacity out of range")?;
            tx.execute(
                "INSERT INTO registry_meta (id, application, schema_version, base_uri, list_capacity)
                 VALUES (1, $1, $2, $3, $4)",
                &[&APPLICATION, &version, &base_uri, &cap],
            )?;
            tx.execute(
                "INSERT INTO lists (n, uri, capacity, used) VALUES (1, $1, $2, 0)",
                &[&format!("{base_uri}/1"), &cap],
            )?;
            tx.commit()?;
        }
        Ok(Self { client, base_uri: base_uri.to_owned(), capacity: list_capacity })
    }

    /// Opens the registry in the database at `url`.
    ///
    /// Fails with [`RegistryError::NotFound`] if the database holds none,
    /// [`RegistryError::NotARegistry`] if its `creditproof.registry_meta`
    /// is not a registry's, and [`RegistryError::NewerSchema`] if a newer
    /// version wrote it (nothing is changed then). An older version is
    /// migrated, one version a transaction.
    pub fn open(url: &str) -> Result<Self, RegistryError> {
        let mut client = connect(url)?;
        let version = {
            let mut tx = read_tx(&mut client)?;
            let (tables, _) = exists(&mut tx)?;
            if !tables {
                return Err(RegistryError::NotFound);
            }
            let row = tx
                .query_opt("SELECT application, schema_version FROM registry_meta WHERE id = 1", &[])
                .map_err(|_| RegistryError::NotARegistry)?
                .ok_or(RegistryError::NotARegistry)?;
            let application: String = row.try_get(0).map_err(|_| RegistryError::NotARegistry)?;
            let version: i32 = row.try_get(1).map_err(|_| RegistryError::NotARegistry)?;
            if application != APPLICATION {
                return Err(RegistryError::NotARegistry);
            }
            let version = u32::try_from(version).map_err(|_| RegistryError::NotARegistry)?;
            if version > PG_SCHEMA_VERSION {
                return Err(RegistryError::NewerSchema { found: version, supported: PG_SCHEMA_VERSION });
            }
            if version == 0 {
                return Err(RegistryError::NotARegistry);
            }
            version
        };
        if version < PG_SCHEMA_VERSION {
            migrate(&mut client)?;
        }
        let row = client.query_one("SELECT base_uri, list_capacity FROM registry_meta WHERE id = 1", &[])?;
        let base_uri: String = row.get(0);
        let capacity = from_db(row.get(1), "list capacity")?;
        if capacity == 0 || capacity > MAX_LIST_CAPACITY {
            return Err(invariant("list capacity out of range"));
        }
        if check_base_uri(&base_uri).is_err() {
            return Err(invariant("stored base uri is malformed"));
        }
        Ok(Self { client, base_uri, capacity })
    }

    /// The base URI the list URIs are built from (`{base_uri}/{n}`).
    pub fn base_uri(&self) -> &str {
        &self.base_uri
    }

    /// The number of entries of every list.
    pub fn list_capacity(&self) -> u64 {
        self.capacity
    }

    /// A number that grows with every committed change of the lists, on any
    /// node (the last history row); see
    /// [`SqliteRegistry::revision`](super::SqliteRegistry::revision).
    pub fn revision(&mut self) -> Result<u64, RegistryError> {
        let row = self.client.query_one("SELECT COALESCE(MAX(seq), 0) FROM history", &[])?;
        from_db(row.get(0), "history sequence")
    }

    /// Checks every invariant of the stored state in one snapshot (those of
    /// [`SqliteRegistry::check_invariants`](super::SqliteRegistry::check_invariants),
    /// PostgreSQL enforcing the foreign keys itself, and the free-index
    /// shuffle: exactly the current list's unused indexes).
    pub fn check_invariants(&mut self) -> Result<(), RegistryError> {
        let mut tx = read_tx(&mut self.client)?;
        invariants::check_all(&mut tx, &self.base_uri, self.capacity)?;
        tx.commit()?;
        Ok(())
    }

    /// The registry's size on disk, tables and indexes (for the bytes per
    /// credential figures), and the number of credentials.
    pub fn storage(&mut self) -> Result<(u64, u64), RegistryError> {
        let row = self.client.query_one(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT,
                    (SELECT COUNT(*) FROM credentials)
             FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = 'creditproof' AND c.relkind = 'r' AND c.relname NOT LIKE 'vci\\_%'",
            &[],
        )?;
        Ok((from_db(row.get(0), "size")?, from_db(row.get(1), "count")?))
    }
}

/// Applies the migrations from the stored version up, each in one
/// transaction under the lock (another node may have done it meanwhile).
fn migrate(client: &mut Client) -> Result<(), RegistryError> {
    loop {
        let mut tx = write_tx(client)?;
        let version: i32 = tx.query_one("SELECT schema_version FROM registry_meta WHERE id = 1", &[])?.get(0);
        let version = u32::try_from(version).map_err(|_| RegistryError::NotARegistry)?;
        if version >= PG_SCHEMA_VERSION {
            return Ok(());
        }
        let step = usize::try_from(version - 1).map_err(|_| RegistryError::NotARegistry)?;
        let sql = MIGRATIONS.get(step).ok_or(RegistryError::NotARegistry)?;
        tx.batch_execute(sql)?;
        let next = i32::try_from(version + 1).map_err(|_| invariant("schema version"))?;
        tx.execute("UPDATE registry_meta SET schema_version = $1 WHERE id = 1", &[&next])?;
        tx.commit()?;
    }
}

impl IssuerRegistry for PgRegistry {
    fn issue_batch(
        &mut self,
        batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError> {
        ops::issue_batch(self, batch, now, rng, deliver)
    }

    fn set_status(
        &mut self,
        target: Target<'_>,
        status: Status,
        reason: &str,
        now: u64,
    ) -> Result<usize, RegistryError> {
        ops::set_status(self, target, status, reason, now)
    }

    fn correct(
        &mut self,
        subject: &str,
        new_batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
        deliver: &mut Deliver<'_>,
    ) -> Result<Vec<StatusRef>, RegistryError> {
        ops::correct(self, subject, new_batch, now, rng, deliver)
    }

    fn confirm_delivery(&mut self, batch_id: &str) -> Result<(), RegistryError> {
        ops::confirm(self, batch_id)
    }

    fn void_batch(&mut self, batch_id: &str, reason: &str, now: u64) -> Result<usize, RegistryError> {
        ops::void(self, batch_id, reason, now)
    }

    fn pending_batches(&mut self) -> Result<Vec<BatchRecord>, RegistryError> {
        ops::batches(self, None)
    }

    fn batches_of(&mut self, holders: &[Thumbprint]) -> Result<Vec<BatchRecord>, RegistryError> {
        ops::batches(self, Some(holders))
    }

    fn lists(&mut self) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
        ops::lists(self)
    }

    fn history(&mut self, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError> {
        ops::history(self, holder)
    }

    fn subject_of(&mut self, holder: &str) -> Result<String, RegistryError> {
        let mut tx = read_tx(&mut self.client)?;
        let subject = ops::subject_in(&mut tx, holder)?;
        tx.commit()?;
        Ok(subject)
    }

    fn batch_ids_of_subject(&mut self, subject: &str) -> Result<Vec<String>, RegistryError> {
        let rows = self.client.query(
            "SELECT batch_id FROM batches WHERE subject = $1 AND delivery <> 'voided' ORDER BY seq",
            &[&subject],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn revision(&mut self) -> Result<u64, RegistryError> {
        PgRegistry::revision(self)
    }

    fn check_invariants(&mut self) -> Result<(), RegistryError> {
        PgRegistry::check_invariants(self)
    }

    fn is_usable(&self) -> bool {
        !self.client.is_closed()
    }
}
