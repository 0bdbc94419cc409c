//! Batches whose hand-over finishes after their commit: listing the pending
//! ones, confirming a delivery, voiding a batch that was never delivered.

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{check_id, check_reason, from_db, invariant, to_db};
use super::{BatchRecord, DeliveryState, RegistryError, SqliteRegistry, StatusRef, Thumbprint};

/// The row id and delivery state of a batch.
fn batch_state(tx: &Transaction<'_>, batch_id: &str) -> Result<(i64, String), RegistryError> {
    tx.query_row("SELECT seq, delivery FROM batches WHERE batch_id = ?1", [batch_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(RegistryError::UnknownBatch)
}

pub(super) fn confirm(reg: &mut SqliteRegistry, batch_id: &str) -> Result<(), RegistryError> {
    check_id(batch_id, "batch id must be 1 to 512 bytes")?;
    let tx = reg.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (seq, delivery) = batch_state(&tx, batch_id)?;
    match delivery.as_str() {
        "delivered" => return Ok(()),
        "pending" => {}
        _ => return Err(RegistryError::NotPending),
    }
    tx.execute("UPDATE batches SET delivery = 'delivered' WHERE seq = ?1", [seq])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn void(reg: &mut SqliteRegistry, batch_id: &str, reason: &str, now: u64) -> Result<usize, RegistryError> {
    check_id(batch_id, "batch id must be 1 to 512 bytes")?;
    check_reason(reason)?;
    let at = to_db(now, "timestamp out of range")?;
    let tx = reg.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (seq, delivery) = batch_state(&tx, batch_id)?;
    if delivery != "pending" {
        return Err(RegistryError::NotPending);
    }
    let creds: Vec<(i64, i64)> = {
        let mut stmt = tx.prepare("SELECT list_n, idx FROM credentials WHERE batch = ?1 ORDER BY list_n, idx")?;
        let rows = stmt.query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for &(list_n, idx) in &creds {
        // Revoked for good (even if it was suspended or revoked meanwhile);
        // the index stays used.
        tx.prepare_cached("UPDATE credentials SET status = 1, voided = 1 WHERE list_n = ?1 AND idx = ?2")?
            .execute(params![list_n, idx])?;
        tx.prepare_cached("INSERT INTO history (at, action, list_n, idx, reason) VALUES (?1, 'voided', ?2, ?3, ?4)")?
            .execute(params![at, list_n, idx, reason])?;
    }
    tx.execute("UPDATE batches SET delivery = 'voided' WHERE seq = ?1", [seq])?;
    tx.commit()?;
    Ok(creds.len())
}

/// With `None`, every pending batch; with `Some(holders)`, every batch
/// holding a live credential of one of these holders. Oldest first.
pub(super) fn batches(reg: &SqliteRegistry, holders: Option<&[Thumbprint]>) -> Result<Vec<BatchRecord>, RegistryError> {
    let tx = reg.conn.unchecked_transaction()?;
    let seqs: BTreeSet<i64> = match holders {
        None => {
            let mut stmt = tx.prepare("SELECT seq FROM batches WHERE delivery = 'pending'")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        }
        Some(holders) => {
            let mut stmt = tx.prepare_cached("SELECT batch FROM credentials WHERE holder = ?1 AND voided = 0")?;
            let mut seqs = BTreeSet::new();
            for holder in holders {
                if let Some(seq) = stmt.query_row([holder], |r| r.get(0)).optional()? {
                    seqs.insert(seq);
                }
            }
            seqs
        }
    };
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let (batch_id, subject, at, delivery, note): (String, String, i64, String, Option<String>) = tx.query_row(
            "SELECT batch_id, subject, issued_at, delivery, delivery_note FROM batches WHERE seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let delivery = match delivery.as_str() {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "voided" => DeliveryState::Voided,
            _ => return Err(invariant("unknown delivery state")),
        };
        if delivery == DeliveryState::Pending && note.is_none() {
            return Err(invariant("pending batch without a delivery note"));
        }
        let mut stmt = tx.prepare_cached(
            "SELECT c.holder, l.uri, c.idx FROM credentials c JOIN lists l ON l.n = c.list_n
             WHERE c.batch = ?1 ORDER BY c.holder",
        )?;
        let mut rows = stmt.query([seq])?;
        let mut credentials = Vec::new();
        while let Some(row) = rows.next()? {
            let idx = from_db(row.get(2)?, "index")?;
            credentials.push((row.get(0)?, StatusRef { uri: row.get(1)?, idx }));
        }
        let issued_at = from_db(at, "issue time")?;
        out.push(BatchRecord { batch_id, subject, issued_at, delivery, note, credentials });
    }
    tx.rollback()?;
    Ok(out)
}
