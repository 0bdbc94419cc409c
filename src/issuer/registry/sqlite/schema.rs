//! The schema, its version, and opening a connection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension as _, TransactionBehavior};

use super::{invariant, RegistryError, MAX_URI_LEN};

/// The schema version this build writes and understands (`PRAGMA user_version`).
///
/// Version 2 records each batch's delivery (`pending`, `delivered`,
/// `voided`) and lets a voided credential's holder key be issued again;
/// [`SqliteRegistry::open`](super::SqliteRegistry::open) migrates a version 1
/// file in place, its batches counting as delivered.
///
/// Version 3 draws indexes from a lazy Fisher–Yates shuffle of the current
/// list's unused indexes (`free_slots`: O(1) a draw, no scan at any fill
/// level) and keeps each holder thumbprint in one index only (live
/// credentials: unique; voided ones: their own partial index) instead of
/// two; an index of the credentials that are not valid lets the lists be
/// read in time proportional to the revoked and suspended ones. Older
/// files are migrated version by version, each step one transaction.
pub const SCHEMA_VERSION: u32 = 3;

/// `PRAGMA application_id` of a registry file: ASCII "CPRG".
pub(super) const APPLICATION_ID: i32 = 0x4350_5247;

/// The version 2 `credentials` and `history` tables under the given names
/// (the migration builds them beside the version 1 tables, then renames).
/// A voided credential (status revoked) keeps its index forever but no
/// longer holds its holder key: only live credentials' holders are unique.
macro_rules! credentials_and_history {
    ($credentials:literal, $history:literal) => {
        concat!(
            "CREATE TABLE ",
            $credentials,
            " (
    list_n INTEGER NOT NULL REFERENCES lists (n),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    holder TEXT    NOT NULL,
    batch  INTEGER NOT NULL REFERENCES batches (seq),
    status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),
    voided INTEGER NOT NULL DEFAULT 0 CHECK (voided = 0 OR (voided = 1 AND status = 1)),
    PRIMARY KEY (list_n, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE ",
            $history,
            " (
    seq    INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    action TEXT    NOT NULL
           CHECK (action IN ('issued', 'revoked', 'suspended', 'reinstated', 'corrected', 'voided')),
    list_n INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    reason TEXT    NOT NULL,
    FOREIGN KEY (list_n, idx) REFERENCES credentials (list_n, idx)
) STRICT;
"
        )
    };
}

/// The indexes of `credentials` and `history`.
macro_rules! indexes {
    () => {
        "
CREATE INDEX credentials_by_batch ON credentials (batch);
CREATE INDEX credentials_by_holder ON credentials (holder, voided);
CREATE UNIQUE INDEX credentials_live_holder ON credentials (holder) WHERE voided = 0;
CREATE INDEX history_by_credential ON history (list_n, idx);
"
    };
}

/// Version 2 to 3 (the DDL; [`migrate`] then fills `free_slots` for the
/// current list).
macro_rules! v2_to_v3 {
    () => {
        "
DROP INDEX credentials_by_holder;
CREATE INDEX credentials_voided_holder ON credentials (holder) WHERE voided = 1;
CREATE INDEX credentials_not_valid ON credentials (list_n, idx) WHERE status != 0;
CREATE TABLE free_slots (
    list_n INTEGER NOT NULL REFERENCES lists (n),
    pos    INTEGER NOT NULL CHECK (pos >= 0),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    PRIMARY KEY (list_n, pos)
) STRICT, WITHOUT ROWID;
"
    };
}

/// The version 3 schema, as created by [`SqliteRegistry::create`](super::SqliteRegistry::create):
/// version 2's, then the DDL of the step to 3 (so a migrated file and a new
/// one have one shape).
pub(super) const SCHEMA: &str = concat!(
    "
CREATE TABLE config (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    base_uri      TEXT    NOT NULL,
    list_capacity INTEGER NOT NULL CHECK (list_capacity > 0)
) STRICT;
CREATE TABLE lists (
    n        INTEGER PRIMARY KEY CHECK (n >= 1),
    uri      TEXT    NOT NULL UNIQUE,
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    used     INTEGER NOT NULL CHECK (used >= 0 AND used <= capacity)
) STRICT;
CREATE TABLE batches (
    seq       INTEGER PRIMARY KEY,
    batch_id  TEXT    NOT NULL UNIQUE,
    subject   TEXT    NOT NULL,
    policy    TEXT,
    issued_at INTEGER NOT NULL,
    reason    TEXT    NOT NULL,
    delivery  TEXT    NOT NULL DEFAULT 'delivered' CHECK (delivery IN ('pending', 'delivered', 'voided')),
    delivery_note TEXT
) STRICT;
CREATE INDEX batches_by_subject ON batches (subject);
CREATE INDEX batches_pending ON batches (delivery) WHERE delivery = 'pending';
CREATE TABLE corrections (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    subject   TEXT    NOT NULL,
    new_batch INTEGER NOT NULL UNIQUE REFERENCES batches (seq),
    reason    TEXT    NOT NULL
) STRICT;
",
    credentials_and_history!("credentials", "history"),
    indexes!(),
    v2_to_v3!()
);

/// Version 1 to 2, run with foreign keys off inside one IMMEDIATE
/// transaction (SQLite's documented way to change a table's constraints):
/// the delivery columns are added (existing batches were delivered), and
/// `credentials` (holder no longer unique among voided credentials) and
/// `history` (action `voided`) are rebuilt with their rows.
pub(super) const MIGRATE_V1_TO_V2: &str = concat!(
    "
ALTER TABLE batches ADD COLUMN delivery TEXT NOT NULL DEFAULT 'delivered'
    CHECK (delivery IN ('pending', 'delivered', 'voided'));
ALTER TABLE batches ADD COLUMN delivery_note TEXT;
CREATE INDEX batches_pending ON batches (delivery) WHERE delivery = 'pending';
",
    credentials_and_history!("credentials_v2", "history_v2"),
    "
INSERT INTO credentials_v2 (list_n, idx, holder, batch, status, voided)
    SELECT list_n, idx, holder, batch, status, 0 FROM credentials;
INSERT INTO history_v2 (seq, at, action, list_n, idx, reason)
    SELECT seq, at, action, list_n, idx, reason FROM history;
DROP TABLE history;
DROP TABLE credentials;
ALTER TABLE credentials_v2 RENAME TO credentials;
ALTER TABLE history_v2 RENAME TO history;
",
    indexes!()
);

/// Migrates a version 1 or 2 file to version 3, one version a
/// transaction (IMMEDIATE): 1 to 2 with foreign keys off (they cannot be
/// switched inside a transaction), checking every foreign key before the
/// commit; 2 to 3 building `free_slots`. A file another process migrated
/// in the meantime is left alone.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), RegistryError> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        match version {
            1 => {}
            2 | 3 => return Ok(()),
            _ => return Err(RegistryError::NotARegistry),
        }
        tx.execute_batch(MIGRATE_V1_TO_V2)?;
        let dangling: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
        if dangling != 0 {
            return Err(invariant("dangling foreign key in the version 1 file"));
        }
        tx.pragma_update(None, "user_version", 2)?;
        tx.commit()?;
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version != 2 {
        return Ok(());
    }
    tx.execute_batch(v2_to_v3!())?;
    fill_free_slots(&tx)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Builds the shuffle of the current list's unused indexes with the fewest
/// rows: every unused index below the number of unused ones stays at its
/// own position (no row); each used position there takes one of the unused
/// indexes above (at most `used` rows, read once).
fn fill_free_slots(tx: &rusqlite::Transaction<'_>) -> Result<(), RegistryError> {
    let Some((n, cap, used)): Option<(i64, i64, i64)> = tx
        .query_row("SELECT n, capacity, used FROM lists ORDER BY n DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
    else {
        return Ok(());
    };
    let free = cap - used;
    let taken: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT idx FROM credentials WHERE list_n = ?1 ORDER BY idx")?;
        let rows = stmt.query_map([n], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    if i64::try_from(taken.len()).ok() != Some(used) {
        return Err(invariant("a list's used count disagrees with its credentials"));
    }
    let holes = taken.iter().copied().filter(|&i| i < free);
    let taken_above: std::collections::HashSet<i64> = taken.iter().copied().filter(|&i| i >= free).collect();
    let extras = (free..cap).filter(|i| !taken_above.contains(i));
    let mut insert = tx.prepare("INSERT INTO free_slots (list_n, pos, idx) VALUES (?1, ?2, ?3)")?;
    for (pos, idx) in holes.zip(extras) {
        insert.execute(rusqlite::params![n, pos, idx])?;
    }
    Ok(())
}

pub(super) fn connect(path: &Path) -> Result<Connection, RegistryError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(open_error)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

pub(super) fn configure(conn: &Connection) -> Result<(), RegistryError> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(RegistryError::Database(format!("cannot enable write-ahead logging (journal mode is {mode})")));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    Ok(())
}

pub(super) fn open_error(e: rusqlite::Error) -> RegistryError {
    if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        RegistryError::NotARegistry
    } else {
        e.into()
    }
}

pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub(in crate::issuer::registry) fn check_base_uri(base_uri: &str) -> Result<(), RegistryError> {
    if base_uri.is_empty()
        || base_uri.len() > MAX_URI_LEN
        || base_uri.ends_with('/')
        || base_uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RegistryError::InvalidArgument(
            "base uri must be non-empty, without whitespace and without a trailing '/'",
        ));
    }
    Ok(())
}
