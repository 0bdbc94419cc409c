//! The full consistency check of a PostgreSQL registry, in one snapshot.

use postgres::Transaction;

use super::super::sqlite::{invariant, parse_status, to_db};
use super::super::{RegistryError, Status};

fn count(tx: &mut Transaction<'_>, sql: &str) -> Result<i64, RegistryError> {
    Ok(tx.query_one(sql, &[])?.get(0))
}

pub(super) fn check_all(tx: &mut Transaction<'_>, base_uri: &str, capacity: u64) -> Result<(), RegistryError> {
    let config: Vec<(String, i64)> = tx
        .query("SELECT base_uri, list_capacity FROM registry_meta", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let cap_db = to_db(capacity, "list capacity out of range")?;
    if config != [(base_uri.to_owned(), cap_db)] {
        return Err(invariant("configuration row missing, repeated or changed"));
    }

    // Lists: 1, 2, … with the right URI, capacity and used count; all but the
    // last full.
    let lists = tx.query(
        "SELECT l.n, l.uri, l.capacity, l.used, (SELECT COUNT(*) FROM credentials c WHERE c.list_n = l.n)
         FROM lists l ORDER BY l.n",
        &[],
    )?;
    if lists.is_empty() {
        return Err(invariant("no status list"));
    }
    let last = lists.len() - 1;
    for (i, row) in lists.iter().enumerate() {
        let (n, uri, cap, used, actual): (i64, String, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
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

    let checks: [(&str, &str); 14] = [
        (
            "SELECT COUNT(*) FROM credentials c LEFT JOIN lists l ON l.n = c.list_n
             WHERE l.n IS NULL OR c.idx < 0 OR c.idx >= l.capacity",
            "index outside its list",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT 1 FROM credentials GROUP BY list_n, idx HAVING COUNT(*) > 1) t",
            "index used twice",
        ),
        (
            "SELECT COUNT(*) FROM (SELECT 1 FROM credentials WHERE NOT voided GROUP BY holder HAVING COUNT(*) > 1) t",
            "holder issued twice",
        ),
        ("SELECT COUNT(*) FROM credentials WHERE voided AND status <> 1", "voided credential not revoked"),
        (
            "SELECT COUNT(*) FROM credentials c JOIN batches b ON b.seq = c.batch
             WHERE c.voided <> (b.delivery = 'voided')",
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
            "SELECT COUNT(*) FROM batches b WHERE NOT EXISTS (SELECT 1 FROM credentials c WHERE c.batch = b.seq)",
            "batch without credentials",
        ),
        (
            "SELECT COUNT(*) FROM history h WHERE NOT EXISTS
               (SELECT 1 FROM credentials c WHERE c.list_n = h.list_n AND c.idx = h.idx)",
            "history row without a credential",
        ),
        // The free-index shuffle: rows only in the last list, below its
        // number of unused indexes; ...
        (
            "SELECT COUNT(*) FROM free_slots f JOIN lists l ON l.n = f.list_n
             WHERE l.n <> (SELECT MAX(n) FROM lists) OR f.pos >= l.capacity - l.used OR f.idx >= l.capacity",
            "free index slot outside the current list",
        ),
        // ... its positions name no used index ...
        (
            "WITH cur AS (SELECT n, capacity - used AS free FROM lists ORDER BY n DESC LIMIT 1),
                  v AS (SELECT cur.n, COALESCE(f.idx, g.pos) AS idx
                        FROM cur CROSS JOIN generate_series(0, cur.free - 1) AS g(pos)
                        LEFT JOIN free_slots f ON f.list_n = cur.n AND f.pos = g.pos)
             SELECT COUNT(*) FROM v JOIN credentials c ON c.list_n = v.n AND c.idx = v.idx",
            "a free index slot names a used index",
        ),
        // ... and no index twice: so they are exactly the unused indexes.
        (
            "WITH cur AS (SELECT n, capacity - used AS free FROM lists ORDER BY n DESC LIMIT 1),
                  v AS (SELECT COALESCE(f.idx, g.pos) AS idx
                        FROM cur CROSS JOIN generate_series(0, cur.free - 1) AS g(pos)
                        LEFT JOIN free_slots f ON f.list_n = cur.n AND f.pos = g.pos)
             SELECT COUNT(*) FROM (SELECT 1 FROM v GROUP BY idx HAVING COUNT(*) > 1) t",
            "two free index slots name one index",
        ),
        (
            "SELECT COUNT(*) FROM corrections k JOIN batches nb ON nb.seq = k.new_batch
             WHERE nb.subject <> k.subject",
            "correction's new batch belongs to another subject",
        ),
    ];
    for (sql, what) in checks {
        if count(tx, sql)? != 0 {
            return Err(invariant(what));
        }
    }

    // History: per credential, exactly one `issued` row first, and the
    // changes replay to the current status; a voided credential's last row
    // is its one `voided` row.
    let rows = tx.query(
        "SELECT c.list_n, c.idx, c.status, c.voided, h.action FROM credentials c
         LEFT JOIN history h ON h.list_n = c.list_n AND h.idx = c.idx
         ORDER BY c.list_n, c.idx, h.seq",
        &[],
    )?;
    let mut current: Option<Replay> = None;
    for row in &rows {
        let key: (i64, i64) = (row.get(0), row.get(1));
        let (stored, voided, action): (i16, bool, Option<&str>) = (row.get(2), row.get(3), row.get(4));
        if current.as_ref().is_none_or(|c| c.0 != key) {
            if let Some(done) = current.take() {
                finish(done)?;
            }
            current = Some((key, stored, voided, None, false));
        }
        let Some((_, _, _, state, saw_void)) = current.as_mut() else {
            return Err(invariant("history replay lost its place"));
        };
        let next = match (action, *state) {
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
        finish(done)?;
    }

    // Corrections are all-or-nothing.
    let corrections: [(&str, &str); 2] = [
        (
            "SELECT COUNT(*) FROM corrections k
             JOIN batches ob ON ob.subject = k.subject AND ob.seq < k.new_batch
             JOIN credentials c ON c.batch = ob.seq
             WHERE c.status <> 1",
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
        if count(tx, sql)? != 0 {
            return Err(invariant(what));
        }
    }
    Ok(())
}

/// One credential's replay so far: its key, stored status and voided flag,
/// the status its history gives, and whether a `voided` row was seen.
type Replay = ((i64, i64), i16, bool, Option<Status>, bool);

fn finish(((list_n, idx), stored, voided, replayed, saw_void): Replay) -> Result<(), RegistryError> {
    let stored = parse_status(i64::from(stored))?;
    if replayed != Some(stored) {
        return Err(RegistryError::Invariant(format!(
            "credential {list_n}/{idx}: status {} disagrees with its history",
            stored.to_u8()
        )));
    }
    if voided != saw_void {
        return Err(RegistryError::Invariant(format!(
            "credential {list_n}/{idx}: voided flag disagrees with its history"
        )));
    }
    Ok(())
}
