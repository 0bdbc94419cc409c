//! The full consistency check of a registry file.

use rusqlite::Connection;

use super::{invariant, parse_status, to_db, RegistryError, Status};

pub(super) fn count(conn: &Connection, sql: &str) -> Result<i64, RegistryError> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

pub(super) fn check_all(conn: &Connection, base_uri: &str, capacity: u64) -> Result<(), RegistryError> {
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
    let checks: [(&str, &str); 11] = [
        (
            "SELECT COUNT(*) FROM credentials c LEFT JOIN lists l ON l.n = c.list_n
             WHERE l.n IS NULL OR c.idx < 0 OR c.idx >= l.capacity",
            "index outside its list",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT 1 FROM credentials GROUP BY list_n, idx HAVING COUNT(*) > 1)",
            "index used twice",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT 1 FROM credentials WHERE voided = 0 GROUP BY holder HAVING COUNT(*) > 1)",
            "holder issued twice",
        ),
        (
            "SELECT COUNT(*) FROM credentials WHERE voided NOT IN (0, 1) OR (voided = 1 AND status != 1)",
            "voided credential not revoked",
        ),
        (
            "SELECT COUNT(*) FROM credentials c JOIN batches b ON b.seq = c.batch
             WHERE (c.voided = 1) != (b.delivery = 'voided')",
            "voided credentials are not exactly those of voided batches",
        ),
        (
            "SELECT COUNT(*) FROM batches WHERE delivery NOT IN ('pending', 'delivered', 'voided')",
            "unknown delivery state",
        ),
        (
            "SELECT COUNT(*) FROM batches WHERE delivery = 'pending' AND (delivery_note IS NULL OR delivery_note = '')",
            "pending batch without a delivery note",
        ),
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

    check_free_slots(conn)?;

    // History: per credential, exactly one `issued` row first, and the
    // changes replay to the current status; a voided credential's last row
    // is its one `voided` row.
    {
        let mut stmt = conn.prepare(
            "SELECT c.list_n, c.idx, c.status, c.voided, h.action FROM credentials c
             LEFT JOIN history h ON h.list_n = c.list_n AND h.idx = c.idx
             ORDER BY c.list_n, c.idx, h.seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut current: Option<Replay> = None;
        while let Some(row) = rows.next()? {
            let key = (row.get::<_, i64>(0)?, row.get::<_, i64>(1)?);
            let stored: i64 = row.get(2)?;
            let voided = row.get::<_, i64>(3)? == 1;
            let action: Option<String> = row.get(4)?;
            match &current {
                Some(r) if (r.list_n, r.idx) == key => {}
                _ => {
                    if let Some(done) = current.take() {
                        finish_replay(done)?;
                    }
                    current =
                        Some(Replay { list_n: key.0, idx: key.1, stored, voided, replayed: None, saw_void: false });
                }
            }
            let Some(Replay { replayed: state, saw_void, .. }) = current.as_mut() else {
                return Err(invariant("history replay lost its place"));
            };
            let next = match (action.as_deref(), *state) {
                _ if *saw_void => {
                    return Err(RegistryError::Invariant(format!(
                        "credential {}/{}: history continues after `voided`",
                        key.0, key.1
                    )))
                }
                (Some("voided"), Some(_)) => {
                    *saw_void = true;
                    Status::Revoked
                }
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

/// The free-index shuffle: rows only in the current (last) list, at
/// positions below its number of unused indexes, and the indexes those
/// positions name are exactly its unused ones.
fn check_free_slots(conn: &Connection) -> Result<(), RegistryError> {
    use std::collections::{HashMap, HashSet};
    let (n, cap, used): (i64, i64, i64) =
        conn.query_row("SELECT n, capacity, used FROM lists ORDER BY n DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let free = cap - used;
    if count(conn, &format!("SELECT COUNT(*) FROM free_slots WHERE list_n != {n} OR pos >= {free} OR pos < 0"))? != 0 {
        return Err(invariant("free index slot outside the current list"));
    }
    let slots: HashMap<i64, i64> = {
        let mut stmt = conn.prepare("SELECT pos, idx FROM free_slots WHERE list_n = ?1")?;
        let rows = stmt.query_map([n], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let taken: HashSet<i64> = {
        let mut stmt = conn.prepare("SELECT idx FROM credentials WHERE list_n = ?1")?;
        let rows = stmt.query_map([n], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut seen = HashSet::new();
    for pos in 0..free {
        let idx = slots.get(&pos).copied().unwrap_or(pos);
        if idx < 0 || idx >= cap || taken.contains(&idx) || !seen.insert(idx) {
            return Err(RegistryError::Invariant(format!("free index slot {pos} of list {n} names index {idx}")));
        }
    }
    Ok(())
}

/// One credential's history replay so far.
pub(super) struct Replay {
    list_n: i64,
    idx: i64,
    /// The stored status.
    stored: i64,
    /// The stored voided flag.
    voided: bool,
    /// The status the history gives so far.
    replayed: Option<Status>,
    /// Whether a `voided` row was seen.
    saw_void: bool,
}

pub(super) fn finish_replay(r: Replay) -> Result<(), RegistryError> {
    let stored = parse_status(r.stored)?;
    if r.replayed != Some(stored) {
        return Err(RegistryError::Invariant(format!(
            "credential {}/{}: status {} disagrees with its history",
            r.list_n,
            r.idx,
            stored.to_u8()
        )));
    }
    if r.voided != r.saw_void {
        return Err(RegistryError::Invariant(format!(
            "credential {}/{}: voided flag disagrees with its history",
            r.list_n, r.idx
        )));
    }
    Ok(())
}
