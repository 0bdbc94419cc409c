//! Reads: the audit trail, and which subject a holder key belongs to.

use rusqlite::{params, Connection, OptionalExtension};

use super::{from_db, HistoryEntry, RegistryError, SqliteRegistry};

pub(super) fn history(reg: &SqliteRegistry, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError> {
    let tx = reg.conn.unchecked_transaction()?;
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

/// The subject of a holder key's live credential, else of its latest voided
/// one.
pub(super) fn subject_in(conn: &Connection, holder: &str) -> Result<String, RegistryError> {
    // One look-up per partial index (live, then voided): each holder key is
    // in exactly one of them.
    let live = conn
        .prepare_cached(
            "SELECT b.subject FROM credentials c JOIN batches b ON b.seq = c.batch
             WHERE c.holder = ?1 AND c.voided = 0",
        )?
        .query_row([holder], |r| r.get(0))
        .optional()?;
    if let Some(subject) = live {
        return Ok(subject);
    }
    conn.prepare_cached(
        "SELECT b.subject FROM credentials c JOIN batches b ON b.seq = c.batch
         WHERE c.holder = ?1 AND c.voided = 1 ORDER BY b.seq DESC LIMIT 1",
    )?
    .query_row([holder], |r| r.get(0))
    .optional()?
    .ok_or(RegistryError::UnknownHolder)
}

/// The ids of the batches of `subject` that were not voided, oldest first.
pub(super) fn batch_ids_of_subject(conn: &Connection, subject: &str) -> Result<Vec<String>, RegistryError> {
    let mut stmt =
        conn.prepare("SELECT batch_id FROM batches WHERE subject = ?1 AND delivery != 'voided' ORDER BY seq")?;
    let rows = stmt.query_map([subject], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<String>, _>>()?)
}

/// (list, idx, status) of every credential of every batch of `subject`; with
/// `live_only`, only the valid and suspended ones.
pub(super) fn subject_credentials(
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
