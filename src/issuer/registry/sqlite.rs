//! [`IssuerRegistry`] over one SQLite file.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use super::{HistoryEntry, IssuerRegistry, NewBatch, RegistryError, Status, StatusRef, Target};

/// The schema version this build writes and understands (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = 1;

/// The default number of entries of each status list.
pub const DEFAULT_LIST_CAPACITY: u64 = 1 << 20;

/// The largest accepted list capacity (each list is materialised in memory by
/// [`IssuerRegistry::lists`]).
pub const MAX_LIST_CAPACITY: u64 = 1 << 24;

/// `PRAGMA application_id` of a registry file: ASCII "CPRG".
const APPLICATION_ID: i32 = 0x4350_5247;

/// Longest accepted id (batch id, subject, policy, holder thumbprint), in bytes.
const MAX_ID_LEN: usize = 512;
/// Longest accepted reason, in bytes.
const MAX_REASON_LEN: usize = 4096;
/// Longest accepted base URI, in bytes.
const MAX_URI_LEN: usize = 2048;
/// Most holders in one batch.
const MAX_BATCH_LEN: usize = 65_536;

/// Rejection-sampling draws before falling back to picking among the
/// enumerated unused indexes.
const REJECTION_TRIES: u32 = 8192;
/// Rejection sampling is used while at least 1/`FALLBACK_RATIO` of the list is
/// free (expected draws ≤ `FALLBACK_RATIO`); below that, the unused indexes are
/// enumerated once per transaction.
const FALLBACK_RATIO: u64 = 1024;

const SCHEMA: &str = "
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
            Err(e) => return Err(RegistryError::Sqlite(format!("cannot create {}: {e}", path.display()))),
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
    /// is not modified before these checks pass.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(RegistryError::NotARegistry),
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(RegistryError::NotFound),
            Err(e) => return Err(RegistryError::Sqlite(format!("cannot open {}: {e}", path.display()))),
        }
        let conn = connect(path)?;
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
        if version != i64::from(SCHEMA_VERSION) {
            // Version 1 is the first schema: there is nothing older to migrate.
            return Err(RegistryError::NotARegistry);
        }
        configure(&conn)?;
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

    /// Checks every invariant of the stored state, in one read snapshot:
    /// SQLite's own `quick_check` and foreign keys; lists numbered 1, 2, … with
    /// URI `{base_uri}/{n}`, the configured capacity, a correct `used` count
    /// and every list but the last full; every (list, idx) used once with
    /// `idx < capacity`; status in {0, 1, 2}; every credential in an existing
    /// batch and every batch with a credential; every credential's history
    /// starting with exactly one `issued` row and replaying to its current
    /// status; and every correction complete (all older credentials of the
    /// subject revoked, and no `corrected` revocation without its correction).
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
    ) -> Result<Vec<StatusRef>, RegistryError> {
        check_batch(batch)?;
        let at = to_db(now, "timestamp out of range")?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (_, refs) = issue_in(&tx, &self.base_uri, self.capacity, batch, at, rng)?;
        tx.commit()?;
        Ok(refs)
    }

    fn set_status(
        &mut self,
        target: Target<'_>,
        status: Status,
        reason: &str,
        now: u64,
    ) -> Result<usize, RegistryError> {
        check_reason(reason)?;
        let at = to_db(now, "timestamp out of range")?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let creds = match target {
            Target::Index { uri, idx } => {
                let idx = i64::try_from(idx).map_err(|_| RegistryError::UnknownIndex)?;
                let found: Option<(i64, i64)> = tx
                    .query_row(
                        "SELECT c.list_n, c.status FROM credentials c JOIN lists l ON l.n = c.list_n
                         WHERE l.uri = ?1 AND c.idx = ?2",
                        params![uri, idx],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let (list_n, status) = found.ok_or(RegistryError::UnknownIndex)?;
                vec![(list_n, idx, status)]
            }
            Target::Holder(holder) => {
                let subject = subject_in(&tx, holder)?;
                subject_credentials(&tx, &subject, false)?
            }
            Target::Batch(batch_id) => {
                let seq: i64 = tx
                    .query_row("SELECT seq FROM batches WHERE batch_id = ?1", [batch_id], |r| r.get(0))
                    .optional()?
                    .ok_or(RegistryError::UnknownBatch)?;
                let mut stmt =
                    tx.prepare("SELECT list_n, idx, status FROM credentials WHERE batch = ?1 ORDER BY list_n, idx")?;
                let rows = stmt.query_map([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<Result<Vec<_>, _>>()?
            }
        };
        if creds.is_empty() {
            return Err(invariant("target matched a batch without credentials"));
        }
        let mut all_revoked = true;
        let mut changed = 0usize;
        for (list_n, idx, current) in creds {
            let current = parse_status(current)?;
            if current == Status::Revoked {
                continue;
            }
            all_revoked = false;
            let action = match (current, status) {
                (Status::Valid | Status::Suspended, Status::Revoked) => "revoked",
                (Status::Valid, Status::Suspended) => "suspended",
                (Status::Suspended, Status::Valid) => "reinstated",
                _ => continue,
            };
            change_status(&tx, list_n, idx, status, action, reason, at)?;
            changed += 1;
        }
        if all_revoked {
            return Err(RegistryError::AlreadyRevoked);
        }
        tx.commit()?;
        Ok(changed)
    }

    fn correct(
        &mut self,
        subject: &str,
        new_batch: &NewBatch<'_>,
        now: u64,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Vec<StatusRef>, RegistryError> {
        check_batch(new_batch)?;
        if new_batch.subject != subject {
            return Err(RegistryError::InvalidArgument("the new batch's subject differs from the corrected subject"));
        }
        let reason = format!("corrected: {}", new_batch.reason);
        let at = to_db(now, "timestamp out of range")?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM batches WHERE subject = ?1)", [subject], |r| r.get(0))?;
        if !known {
            return Err(RegistryError::UnknownSubject);
        }
        for (list_n, idx, _) in subject_credentials(&tx, subject, true)? {
            change_status(&tx, list_n, idx, Status::Revoked, "corrected", &reason, at)?;
        }
        let (seq, refs) = issue_in(&tx, &self.base_uri, self.capacity, new_batch, at, rng)?;
        tx.execute(
            "INSERT INTO corrections (at, subject, new_batch, reason) VALUES (?1, ?2, ?3, ?4)",
            params![at, subject, seq, new_batch.reason],
        )?;
        tx.commit()?;
        Ok(refs)
    }

    fn lists(&self) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        {
            let mut stmt = tx.prepare("SELECT n, uri, capacity FROM lists ORDER BY n")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let n: i64 = row.get(0)?;
                if usize::try_from(n).ok() != Some(out.len() + 1) {
                    return Err(invariant("list numbers are not 1, 2, 3, …"));
                }
                let capacity = from_db(row.get(2)?, "list capacity")?;
                if capacity > MAX_LIST_CAPACITY {
                    return Err(invariant("list capacity out of range"));
                }
                let len = usize::try_from(capacity).map_err(|_| invariant("list capacity out of range"))?;
                out.push((row.get(1)?, vec![0u8; len]));
            }
        }
        {
            let mut stmt = tx.prepare("SELECT list_n, idx, status FROM credentials ORDER BY list_n, idx")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let list_n: i64 = row.get(0)?;
                let idx: i64 = row.get(1)?;
                let status = parse_status(row.get(2)?)?;
                let bytes = usize::try_from(list_n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| out.get_mut(i))
                    .map(|(_, bytes)| bytes)
                    .ok_or_else(|| invariant("credential in a missing list"))?;
                let slot = usize::try_from(idx)
                    .ok()
                    .and_then(|i| bytes.get_mut(i))
                    .ok_or_else(|| invariant("index out of the list's range"))?;
                *slot = status.to_u8();
            }
        }
        tx.rollback()?;
        Ok(out)
    }

    fn history(&self, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError> {
        let tx = self.conn.unchecked_transaction()?;
        const SELECT: &str = "SELECT h.at, h.action, l.uri, h.idx, c.holder, b.batch_id, h.reason
             FROM history h
             JOIN credentials c ON c.list_n = h.list_n AND c.idx = h.idx
             JOIN batches b ON b.seq = c.batch
             JOIN lists l ON l.n = h.list_n";
        let subject = match holder {
            Some(holder) => Some(subject_in(&tx, holder)?),
            None => None,
        };
        let mut out = Vec::new();
        {
            let mut stmt;
            let mut rows = match &subject {
                Some(subject) => {
                    stmt = tx.prepare(&format!("{SELECT} WHERE b.subject = ?1 ORDER BY h.seq"))?;
                    stmt.query([subject])?
                }
                None => {
                    stmt = tx.prepare(&format!("{SELECT} ORDER BY h.seq"))?;
                    stmt.query([])?
                }
            };
            while let Some(row) = rows.next()? {
                out.push(HistoryEntry {
                    at: from_db(row.get(0)?, "history time")?,
                    action: row.get(1)?,
                    uri: row.get(2)?,
                    idx: from_db(row.get(3)?, "index")?,
                    holder: row.get(4)?,
                    batch_id: row.get(5)?,
                    reason: row.get(6)?,
                });
            }
        }
        tx.rollback()?;
        Ok(out)
    }

    fn subject_of(&self, holder: &str) -> Result<String, RegistryError> {
        subject_in(&self.conn, holder)
    }
}

// ---------------------------------------------------------------------------
// Connection set-up

fn connect(path: &Path) -> Result<Connection, RegistryError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(open_error)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), RegistryError> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(RegistryError::Sqlite(format!("cannot enable write-ahead logging (journal mode is {mode})")));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    Ok(())
}

fn open_error(e: rusqlite::Error) -> RegistryError {
    if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        RegistryError::NotARegistry
    } else {
        e.into()
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

// ---------------------------------------------------------------------------
// Argument checks and conversions

fn check_base_uri(base_uri: &str) -> Result<(), RegistryError> {
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

fn check_id(id: &str, what: &'static str) -> Result<(), RegistryError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(RegistryError::InvalidArgument(what));
    }
    Ok(())
}

fn check_reason(reason: &str) -> Result<(), RegistryError> {
    if reason.len() > MAX_REASON_LEN {
        return Err(RegistryError::InvalidArgument("reason too long"));
    }
    Ok(())
}

fn check_batch(batch: &NewBatch<'_>) -> Result<(), RegistryError> {
    check_id(batch.batch_id, "batch id must be 1 to 512 bytes")?;
    check_id(batch.subject, "subject must be 1 to 512 bytes")?;
    if let Some(policy) = batch.policy {
        check_id(policy, "policy must be 1 to 512 bytes")?;
    }
    check_reason(batch.reason)?;
    if batch.holders.is_empty() {
        return Err(RegistryError::EmptyBatch);
    }
    if batch.holders.len() > MAX_BATCH_LEN {
        return Err(RegistryError::InvalidArgument("too many holders in one batch"));
    }
    let mut seen = HashSet::with_capacity(batch.holders.len());
    for holder in batch.holders {
        check_id(holder, "holder thumbprint must be 1 to 512 bytes")?;
        if !seen.insert(holder.as_str()) {
            return Err(RegistryError::DuplicateHolder);
        }
    }
    Ok(())
}

fn to_db(value: u64, what: &'static str) -> Result<i64, RegistryError> {
    i64::try_from(value).map_err(|_| RegistryError::InvalidArgument(what))
}

fn from_db(value: i64, what: &str) -> Result<u64, RegistryError> {
    u64::try_from(value).map_err(|_| invariant(&format!("negative {what}")))
}

fn parse_status(value: i64) -> Result<Status, RegistryError> {
    u8::try_from(value).ok().and_then(Status::from_u8).ok_or_else(|| invariant("status outside {0, 1, 2}"))
}

fn invariant(msg: &str) -> RegistryError {
    RegistryError::Invariant(msg.to_owned())
}

// ---------------------------------------------------------------------------
// Writes (always inside a caller's IMMEDIATE transaction)

fn insert_list(tx: &Transaction<'_>, base_uri: &str, capacity: u64, n: i64) -> Result<String, RegistryError> {
    let uri = format!("{base_uri}/{n}");
    tx.execute(
        "INSERT INTO lists (n, uri, capacity, used) VALUES (?1, ?2, ?3, 0)",
        params![n, uri, to_db(capacity, "list capacity out of range")?],
    )?;
    Ok(uri)
}

fn change_status(
    tx: &Transaction<'_>,
    list_n: i64,
    idx: i64,
    status: Status,
    action: &str,
    reason: &str,
    at: i64,
) -> Result<(), RegistryError> {
    tx.prepare_cached("UPDATE credentials SET status = ?3 WHERE list_n = ?1 AND idx = ?2")?.execute(params![
        list_n,
        idx,
        status.to_u8()
    ])?;
    tx.prepare_cached("INSERT INTO history (at, action, list_n, idx, reason) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![at, action, list_n, idx, reason])?;
    Ok(())
}

/// The unused indexes of one list, enumerated once per transaction when the
/// list is nearly full (or the random draws keep hitting used indexes).
struct FreeIndexes {
    list_n: i64,
    free: Vec<u64>,
}

/// Records `batch` and allocates its indexes; returns the batch's row id and
/// its refs in holder order.
fn issue_in(
    tx: &Transaction<'_>,
    base_uri: &str,
    capacity: u64,
    batch: &NewBatch<'_>,
    at: i64,
    rng: &mut dyn FnMut(&mut [u8]),
) -> Result<(i64, Vec<StatusRef>), RegistryError> {
    let exists: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM batches WHERE batch_id = ?1)", [batch.batch_id], |r| r.get(0))?;
    if exists {
        return Err(RegistryError::DuplicateBatch);
    }
    {
        let mut stmt = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM credentials WHERE holder = ?1)")?;
        for holder in batch.holders {
            if stmt.query_row([holder], |r| r.get::<_, bool>(0))? {
                return Err(RegistryError::DuplicateHolder);
            }
        }
    }
    tx.execute(
        "INSERT INTO batches (batch_id, subject, policy, issued_at, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![batch.batch_id, batch.subject, batch.policy, at, batch.reason],
    )?;
    let seq = tx.last_insert_rowid();
    let mut cache: Option<FreeIndexes> = None;
    let mut refs = Vec::with_capacity(batch.holders.len());
    for holder in batch.holders {
        let (list_n, uri, idx) = allocate(tx, base_uri, capacity, &mut cache, rng)?;
        let idx_db = to_db(idx, "index out of range")?;
        tx.prepare_cached("INSERT INTO credentials (list_n, idx, holder, batch, status) VALUES (?1, ?2, ?3, ?4, 0)")?
            .execute(params![list_n, idx_db, holder, seq])?;
        tx.prepare_cached("UPDATE lists SET used = used + 1 WHERE n = ?1")?.execute([list_n])?;
        tx.prepare_cached("INSERT INTO history (at, action, list_n, idx, reason) VALUES (?1, 'issued', ?2, ?3, ?4)")?
            .execute(params![at, list_n, idx_db, batch.reason])?;
        refs.push(StatusRef { uri, idx });
    }
    Ok((seq, refs))
}

/// Draws one unused index, uniformly at random, from the current list
/// (opening the next list when it is full). The caller inserts it.
fn allocate(
    tx: &Transaction<'_>,
    base_uri: &str,
    capacity: u64,
    cache: &mut Option<FreeIndexes>,
    rng: &mut dyn FnMut(&mut [u8]),
) -> Result<(i64, String, u64), RegistryError> {
    let current: Option<(i64, String, i64, i64)> = tx
        .prepare_cached("SELECT n, uri, capacity, used FROM lists ORDER BY n DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (mut list_n, mut uri, cap, used) = current.ok_or_else(|| invariant("no status list"))?;
    let mut cap = from_db(cap, "list capacity")?;
    let mut used = from_db(used, "used count")?;
    if cap == 0 || cap > MAX_LIST_CAPACITY || used > cap {
        return Err(invariant("list capacity or used count out of range"));
    }
    if used == cap {
        list_n = list_n.checked_add(1).ok_or_else(|| invariant("list number overflow"))?;
        uri = insert_list(tx, base_uri, capacity, list_n)?;
        cap = capacity;
        used = 0;
    }
    let free = cap - used;
    let cached = matches!(cache, Some(c) if c.list_n == list_n);
    if !cached && free.saturating_mul(FALLBACK_RATIO) >= cap {
        let mut stmt = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM credentials WHERE list_n = ?1 AND idx = ?2)")?;
        for _ in 0..REJECTION_TRIES {
            let idx = uniform_below(cap, rng);
            let taken: bool = stmt.query_row(params![list_n, to_db(idx, "index out of range")?], |r| r.get(0))?;
            if !taken {
                return Ok((list_n, uri, idx));
            }
        }
    }
    if !cached {
        let mut unused = Vec::new();
        let mut next = 0u64;
        let mut stmt = tx.prepare_cached("SELECT idx FROM credentials WHERE list_n = ?1 ORDER BY idx")?;
        let mut rows = stmt.query([list_n])?;
        while let Some(row) = rows.next()? {
            let idx = from_db(row.get(0)?, "index")?;
            if idx < next || idx >= cap {
                return Err(invariant("index out of range or repeated"));
            }
            unused.extend(next..idx);
            next = idx + 1;
        }
        unused.extend(next..cap);
        if u64::try_from(unused.len()).ok() != Some(free) {
            return Err(invariant("a list's used count disagrees with its credentials"));
        }
        *cache = Some(FreeIndexes { list_n, free: unused });
    }
    let slot = cache.as_mut().filter(|c| c.list_n == list_n).ok_or_else(|| invariant("free index cache lost"))?;
    let len = u64::try_from(slot.free.len()).map_err(|_| invariant("list too large"))?;
    if len == 0 {
        return Err(invariant("a list not marked full has no unused index"));
    }
    let k = usize::try_from(uniform_below(len, rng)).map_err(|_| invariant("index out of range"))?;
    let idx = slot.free.swap_remove(k);
    Ok((list_n, uri, idx))
}

/// A uniform random integer in `0..n` (`n > 0`), by rejection on the next
/// power of two; a broken generator that keeps failing the rejection gets a
/// modulo reduction rather than an endless loop.
fn uniform_below(n: u64, rng: &mut dyn FnMut(&mut [u8])) -> u64 {
    let n = n.max(1);
    let mask = n.checked_next_power_of_two().map_or(u64::MAX, |p| p - 1);
    let mut r = 0;
    for _ in 0..64 {
        let mut buf = [0u8; 8];
        rng(&mut buf);
        r = u64::from_le_bytes(buf);
        if r & mask < n {
            return r & mask;
        }
    }
    r % n
}

// ---------------------------------------------------------------------------
// Reads

fn subject_in(conn: &Connection, holder: &str) -> Result<String, RegistryError> {
    conn.query_row(
        "SELECT b.subject FROM credentials c JOIN batches b ON b.seq = c.batch WHERE c.holder = ?1",
        [holder],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(RegistryError::UnknownHolder)
}

/// (list, idx, status) of every credential of every batch of `subject`; with
/// `live_only`, only the valid and suspended ones.
fn subject_credentials(
    conn: &Connection,
    subject: &str,
    live_only: bool,
) -> Result<Vec<(i64, i64, i64)>, RegistryError> {
    let mut stmt = conn.prepare(
        "SELECT c.list_n, c.idx, c.status FROM credentials c JOIN batches b ON b.seq = c.batch
         WHERE b.subject = ?1 AND (?2 = 0 OR c.status IN (0, 2))
         ORDER BY b.seq, c.list_n, c.idx",
    )?;
    let rows = stmt.query_map(params![subject, live_only], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn count(conn: &Connection, sql: &str) -> Result<i64, RegistryError> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

fn check_all(conn: &Connection, base_uri: &str, capacity: u64) -> Result<(), RegistryError> {
    // SQLite's own structural checks.
    {
        let mut stmt = conn.prepare("PRAGMA quick_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let rows = rows.collect::<Result<Vec<_>, _>>()?;
        if rows != ["ok"] {
            return Err(RegistryError::Invariant(format!("quick_check: {}", rows.join("; "))));
        }
    }
    if count(conn, "SELECT COUNT(*) FROM pragma_foreign_key_check")? != 0 {
        return Err(invariant("dangling foreign key"));
    }

    // Configuration.
    let config: Vec<(String, i64)> = {
        let mut stmt = conn.prepare("SELECT base_uri, list_capacity FROM config")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let cap_db = to_db(capacity, "list capacity out of range")?;
    if config != [(base_uri.to_owned(), cap_db)] {
        return Err(invariant("configuration row missing, repeated or changed"));
    }

    // Lists: 1, 2, … with the right URI, capacity and used count; all but the
    // last full.
    {
        let mut stmt = conn.prepare(
            "SELECT l.n, l.uri, l.capacity, l.used,
                    (SELECT COUNT(*) FROM credentials c WHERE c.list_n = l.n)
             FROM lists l ORDER BY l.n",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let lists = rows.collect::<Result<Vec<_>, _>>()?;
        if lists.is_empty() {
            return Err(invariant("no status list"));
        }
        let last = lists.len() - 1;
        for (i, (n, uri, cap, used, actual)) in lists.into_iter().enumerate() {
            if usize::try_from(n).ok() != Some(i + 1) {
                return Err(invariant("list numbers are not 1, 2, 3, …"));
            }
            if uri != format!("{base_uri}/{n}") {
                return Err(RegistryError::Invariant(format!("list {n} has uri {uri}")));
            }
            if cap != cap_db {
                return Err(RegistryError::Invariant(format!("list {n} has capacity {cap}")));
            }
            if used != actual {
                return Err(RegistryError::Invariant(format!("list {n} records {used} used indexes but has {actual}")));
            }
            if i < last && used != cap {
                return Err(RegistryError::Invariant(format!("list {n} is not full but a later list exists")));
            }
        }
    }

    // Credentials.
    let checks: [(&str, &str); 7] = [
        (
            "SELECT COUNT(*) FROM credentials c LEFT JOIN lists l ON l.n = c.list_n
             WHERE l.n IS NULL OR c.idx < 0 OR c.idx >= l.capacity",
            "index outside its list",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT 1 FROM credentials GROUP BY list_n, idx HAVING COUNT(*) > 1)",
            "index used twice",
        ),
        ("SELECT COUNT(*) FROM (SELECT 1 FROM credentials GROUP BY holder HAVING COUNT(*) > 1)", "holder issued twice"),
        ("SELECT COUNT(*) FROM credentials WHERE status NOT IN (0, 1, 2)", "status outside {0, 1, 2}"),
        (
            "SELECT COUNT(*) FROM credentials c WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.seq = c.batch)",
            "credential without a batch",
        ),
        (
            "SELECT COUNT(*) FROM batches b WHERE NOT EXISTS (SELECT 1 FROM credentials c WHERE c.batch = b.seq)",
            "batch without credentials",
        ),
        (
            "SELECT COUNT(*) FROM history h WHERE NOT EXISTS
               (SELECT 1 FROM credentials c WHERE c.list_n = h.list_n AND c.idx = h.idx)",
            "history row without a credential",
        ),
    ];
    for (sql, what) in checks {
        if count(conn, sql)? != 0 {
            return Err(invariant(what));
        }
    }

    // History: per credential, exactly one `issued` row first, and the
    // changes replay to the current status.
    {
        let mut stmt = conn.prepare(
            "SELECT c.list_n, c.idx, c.status, h.action FROM credentials c
             LEFT JOIN history h ON h.list_n = c.list_n AND h.idx = c.idx
             ORDER BY c.list_n, c.idx, h.seq",
        )?;
        let mut rows = stmt.query([])?;
        // (list, idx, stored status, replayed status so far)
        let mut current: Option<(i64, i64, i64, Option<Status>)> = None;
        while let Some(row) = rows.next()? {
            let key = (row.get::<_, i64>(0)?, row.get::<_, i64>(1)?);
            let stored: i64 = row.get(2)?;
            let action: Option<String> = row.get(3)?;
            match &current {
                Some((l, i, _, _)) if (*l, *i) == key => {}
                _ => {
                    if let Some(done) = current.take() {
                        finish_replay(done)?;
                    }
                    current = Some((key.0, key.1, stored, None));
                }
            }
            let Some((_, _, _, state)) = current.as_mut() else {
                return Err(invariant("history replay lost its place"));
            };
            let next = match (action.as_deref(), *state) {
                (Some("issued"), None) => Status::Valid,
                (Some("revoked" | "corrected"), Some(Status::Valid | Status::Suspended)) => Status::Revoked,
                (Some("suspended"), Some(Status::Valid)) => Status::Suspended,
                (Some("reinstated"), Some(Status::Suspended)) => Status::Valid,
                (None, _) => {
                    return Err(RegistryError::Invariant(format!("credential {}/{} has no history", key.0, key.1)))
                }
                (Some(a), _) => {
                    return Err(RegistryError::Invariant(format!(
                        "credential {}/{}: history action {a} out of order",
                        key.0, key.1
                    )))
                }
            };
            *state = Some(next);
        }
        if let Some(done) = current {
            finish_replay(done)?;
        }
    }

    // Corrections are all-or-nothing: every older credential of the subject
    // is revoked, and no credential was revoked by a correction that does not
    // exist.
    let corrections: [(&str, &str); 3] = [
        (
            "SELECT COUNT(*) FROM corrections k JOIN batches nb ON nb.seq = k.new_batch
             WHERE nb.subject != k.subject",
            "correction's new batch belongs to another subject",
        ),
        (
            "SELECT COUNT(*) FROM corrections k
             JOIN batches ob ON ob.subject = k.subject AND ob.seq < k.new_batch
             JOIN credentials c ON c.batch = ob.seq
             WHERE c.status != 1",
            "a corrected subject still has a live older credential",
        ),
        (
            "SELECT COUNT(*) FROM history h
             JOIN credentials c ON c.list_n = h.list_n AND c.idx = h.idx
             JOIN batches b ON b.seq = c.batch
             WHERE h.action = 'corrected' AND NOT EXISTS
               (SELECT 1 FROM corrections k WHERE k.subject = b.subject AND k.new_batch > b.seq)",
            "credential revoked by a correction that has no new batch",
        ),
    ];
    for (sql, what) in corrections {
        if count(conn, sql)? != 0 {
            return Err(invariant(what));
        }
    }
    Ok(())
}

fn finish_replay((list_n, idx, stored, replayed): (i64, i64, i64, Option<Status>)) -> Result<(), RegistryError> {
    let stored = parse_status(stored)?;
    if replayed != Some(stored) {
        return Err(RegistryError::Invariant(format!(
            "credential {list_n}/{idx}: status {} disagrees with its history",
            stored.to_u8()
        )));
    }
    Ok(())
}
