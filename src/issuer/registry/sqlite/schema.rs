//! The schema, its version, and opening a connection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{RegistryError, MAX_URI_LEN};

/// The schema version this build writes and understands (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = 1;

/// `PRAGMA application_id` of a registry file: ASCII "CPRG".
pub(super) const APPLICATION_ID: i32 = 0x4350_5247;

pub(super) const SCHEMA: &str = "
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
    reason    TEXT    NOT NULL
) STRICT;
CREATE INDEX batches_by_subject ON batches (subject);
CREATE TABLE credentials (
    list_n INTEGER NOT NULL REFERENCES lists (n),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    holder TEXT    NOT NULL UNIQUE,
    batch  INTEGER NOT NULL REFERENCES batches (seq),
    status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),
    PRIMARY KEY (list_n, idx)
) STRICT, WITHOUT ROWID;
CREATE INDEX credentials_by_batch ON credentials (batch);
CREATE TABLE history (
    seq    INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    action TEXT    NOT NULL
           CHECK (action IN ('issued', 'revoked', 'suspended', 'reinstated', 'corrected')),
    list_n INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    reason TEXT    NOT NULL,
    FOREIGN KEY (list_n, idx) REFERENCES credentials (list_n, idx)
) STRICT;
CREATE INDEX history_by_credential ON history (list_n, idx);
CREATE TABLE corrections (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    subject   TEXT    NOT NULL,
    new_batch INTEGER NOT NULL UNIQUE REFERENCES batches (seq),
    reason    TEXT    NOT NULL
) STRICT;
";

pub(super) fn connect(path: &Path) -> Result<Connection, RegistryError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(open_error)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

pub(super) fn configure(conn: &Connection) -> Result<(), RegistryError> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(RegistryError::Sqlite(format!("cannot enable write-ahead logging (journal mode is {mode})")));
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

pub(super) fn check_base_uri(base_uri: &str) -> Result<(), RegistryError> {
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
