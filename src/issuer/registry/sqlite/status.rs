//! Status changes (revoke, suspend, reinstate), corrections, and the list
//! bitstrings the issuer signs.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::alloc::{check_batch, deliver_in, issue_in};
use super::history::{subject_credentials, subject_in};
use super::{check_reason, from_db, invariant, parse_status, to_db, MAX_LIST_CAPACITY};
use super::{Deliver, NewBatch, RegistryError, SqliteRegistry, Status, StatusRef, Target};

pub(super) fn set_status(
    reg: &mut SqliteRegistry,
    target: Target<'_>,
    status: Status,
    reason: &str,
    now: u64,
) -> Result<usize, RegistryError> {
    check_reason(reason)?;
    let at = to_db(now, "timestamp out of range")?;
    let tx = reg.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

pub(super) fn correct(
    reg: &mut SqliteRegistry,
    subject: &str,
    new_batch: &NewBatch<'_>,
    now: u64,
    rng: &mut dyn FnMut(&mut [u8]),
    deliver: &mut Deliver<'_>,
) -> Result<Vec<StatusRef>, RegistryError> {
    check_batch(new_batch)?;
    if new_batch.subject != subject {
        return Err(RegistryError::InvalidArgument("the new batch's subject differs from the corrected subject"));
    }
    let reason = format!("corrected: {}", new_batch.reason);
    let at = to_db(now, "timestamp out of range")?;
    let tx = reg.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM batches WHERE subject = ?1)", [subject], |r| r.get(0))?;
    if !known {
        return Err(RegistryError::UnknownSubject);
    }
    for (list_n, idx, _) in subject_credentials(&tx, subject, true)? {
        change_status(&tx, list_n, idx, Status::Revoked, "corrected", &reason, at)?;
    }
    let (seq, refs) = issue_in(&tx, &reg.base_uri, reg.capacity, new_batch, at, rng)?;
    tx.execute(
        "INSERT INTO corrections (at, subject, new_batch, reason) VALUES (?1, ?2, ?3, ?4)",
        params![at, subject, seq, new_batch.reason],
    )?;
    deliver_in(&tx, seq, &refs, deliver)?;
    tx.commit()?;
    Ok(refs)
}

pub(super) fn lists(reg: &SqliteRegistry) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
    let tx = reg.conn.unchecked_transaction()?;
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
        // Unused indexes and valid credentials are 0: only the others are
        // read (through the partial index `credentials_not_valid`).
        let mut stmt = tx.prepare("SELECT list_n, idx, status FROM credentials WHERE status != 0")?;
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

pub(super) fn change_status(
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
