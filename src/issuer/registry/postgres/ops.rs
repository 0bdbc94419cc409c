//! Issuing, status changes, corrections, deliveries and the reads, in
//! PostgreSQL; each change one transaction under the registry lock.

use std::collections::BTreeSet;

use postgres::Transaction;

use super::super::sqlite::alloc::{check_batch, uniform_below};
use super::super::sqlite::{check_id, check_reason, from_db, invariant, parse_status, to_db, MAX_NOTE_LEN};
use super::super::{BatchRecord, Deliver, Delivery, DeliveryState, HistoryEntry, NewBatch, RegistryError};
use super::super::{Status, StatusRef, Target, Thumbprint, MAX_LIST_CAPACITY};
use super::{read_tx, write_tx, PgRegistry};

pub(super) fn issue_batch(
    reg: &mut PgRegistry,
    batch: &NewBatch<'_>,
    now: u64,
    rng: &mut dyn FnMut(&mut [u8]),
    deliver: &mut Deliver<'_>,
) -> Result<Vec<StatusRef>, RegistryError> {
    check_batch(batch)?;
    let at = to_db(now, "timestamp out of range")?;
    let PgRegistry { client, base_uri, capacity } = reg;
    let mut tx = write_tx(client)?;
    let (seq, refs) = issue_in(&mut tx, base_uri, *capacity, batch, at, rng)?;
    deliver_in(&mut tx, seq, &refs, deliver)?;
    tx.commit()?;
    Ok(refs)
}

fn deliver_in(
    tx: &mut Transaction<'_>,
    seq: i64,
    refs: &[StatusRef],
    deliver: &mut Deliver<'_>,
) -> Result<(), RegistryError> {
    match deliver(refs)? {
        Delivery::Delivered => Ok(()),
        Delivery::Staged(note) => {
            if note.is_empty() || note.len() > MAX_NOTE_LEN {
                return Err(RegistryError::InvalidArgument("delivery note must be 1 to 8192 bytes"));
            }
            tx.execute("UPDATE batches SET delivery = 'pending', delivery_note = $2 WHERE seq = $1", &[&seq, &note])?;
            Ok(())
        }
    }
}

/// Records `batch` and draws its indexes (the lock is held); returns the
/// batch's row id and its refs in holder order.
fn issue_in(
    tx: &mut Transaction<'_>,
    base_uri: &str,
    capacity: u64,
    batch: &NewBatch<'_>,
    at: i64,
    rng: &mut dyn FnMut(&mut [u8]),
) -> Result<(i64, Vec<StatusRef>), RegistryError> {
    let exists: bool =
        tx.query_one("SELECT EXISTS (SELECT 1 FROM batches WHERE batch_id = $1)", &[&batch.batch_id])?.get(0);
    if exists {
        return Err(RegistryError::DuplicateBatch);
    }
    let taken: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM credentials WHERE holder = ANY($1) AND NOT voided)",
            &[&batch.holders],
        )?
        .get(0);
    if taken {
        return Err(RegistryError::DuplicateHolder);
    }
    let seq: i64 = tx
        .query_one(
            "INSERT INTO batches (batch_id, subject, policy, issued_at, reason) VALUES ($1, $2, $3, $4, $5)
             RETURNING seq",
            &[&batch.batch_id, &batch.subject, &batch.policy, &at, &batch.reason],
        )?
        .get(0);
    let row = tx.query_one("SELECT n, uri, capacity, used FROM lists ORDER BY n DESC LIMIT 1", &[])?;
    let (mut list_n, mut uri): (i64, String) = (row.get(0), row.get(1));
    let mut cap = from_db(row.get(2), "list capacity")?;
    let mut used = from_db(row.get(3), "used count")?;
    if cap == 0 || cap > MAX_LIST_CAPACITY || used > cap {
        return Err(invariant("list capacity or used count out of range"));
    }
    let mut refs = Vec::with_capacity(batch.holders.len());
    let (mut lists_col, mut idx_col) = (Vec::with_capacity(refs.capacity()), Vec::with_capacity(refs.capacity()));
    let mut left = batch.holders.len();
    while left > 0 {
        if used == cap {
            list_n = list_n.checked_add(1).ok_or_else(|| invariant("list number overflow"))?;
            uri = format!("{base_uri}/{list_n}");
            let cap_db = to_db(capacity, "list capacity out of range")?;
            tx.execute("INSERT INTO lists (n, uri, capacity, used) VALUES ($1, $2, $3, 0)", &[&list_n, &uri, &cap_db])?;
            cap = capacity;
            used = 0;
        }
        // Draw here as many as fit: position k_j uniform below the number of
        // unused indexes before the j-th draw.
        let free = cap - used;
        let here = usize::try_from(free).map_or(left, |f| f.min(left));
        let mut ks = Vec::with_capacity(here);
        for j in 0..here {
            let j = u64::try_from(j).map_err(|_| invariant("batch too large"))?;
            ks.push(to_db(uniform_below(free - j, rng), "index out of range")?);
        }
        let drawn: Vec<i64> = tx.query_one("SELECT draw_indexes($1, $2)", &[&list_n, &ks])?.get(0);
        if drawn.len() != here {
            return Err(invariant("the index draw returned a wrong count"));
        }
        for idx in drawn {
            let idx_u = from_db(idx, "index")?;
            if idx_u >= cap {
                return Err(invariant("drawn index outside its list"));
            }
            refs.push(StatusRef { uri: uri.clone(), idx: idx_u });
            lists_col.push(list_n);
            idx_col.push(idx);
        }
        used += u64::try_from(here).map_err(|_| invariant("batch too large"))?;
        left -= here;
    }
    tx.execute(
        "INSERT INTO credentials (list_n, idx, holder, batch, status)
         SELECT l, i, h, $4, 0 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[]) AS t(l, i, h)",
        &[&lists_col, &idx_col, &batch.holders, &seq],
    )?;
    tx.execute(
        "INSERT INTO history (at, action, list_n, idx, reason)
         SELECT $3, 'issued', l, i, $4 FROM UNNEST($1::BIGINT[], $2::BIGINT[]) WITH ORDINALITY AS t(l, i, o)
         ORDER BY o",
        &[&lists_col, &idx_col, &at, &batch.reason],
    )?;
    Ok((seq, refs))
}

pub(super) fn set_status(
    reg: &mut PgRegistry,
    target: Target<'_>,
    status: Status,
    reason: &str,
    now: u64,
) -> Result<usize, RegistryError> {
    check_reason(reason)?;
    let at = to_db(now, "timestamp out of range")?;
    let mut tx = write_tx(&mut reg.client)?;
    let creds: Vec<(i64, i64, i16)> = match target {
        Target::Index { uri, idx } => {
            let idx = i64::try_from(idx).map_err(|_| RegistryError::UnknownIndex)?;
            let row = tx
                .query_opt(
                    "SELECT c.list_n, c.status FROM credentials c JOIN lists l ON l.n = c.list_n
                     WHERE l.uri = $1 AND c.idx = $2",
                    &[&uri, &idx],
                )?
                .ok_or(RegistryError::UnknownIndex)?;
            vec![(row.get(0), idx, row.get(1))]
        }
        Target::Holder(holder) => {
            let subject = subject_in(&mut tx, holder)?;
            subject_credentials(&mut tx, &subject, false)?
        }
        Target::Batch(batch_id) => {
            let seq: i64 = tx
                .query_opt("SELECT seq FROM batches WHERE batch_id = $1", &[&batch_id])?
                .ok_or(RegistryError::UnknownBatch)?
                .get(0);
            tx.query("SELECT list_n, idx, status FROM credentials WHERE batch = $1 ORDER BY list_n, idx", &[&seq])?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect()
        }
    };
    if creds.is_empty() {
        return Err(invariant("target matched a batch without credentials"));
    }
    let mut all_revoked = true;
    let mut changes: Vec<(i64, i64, &str)> = Vec::new();
    for (list_n, idx, current) in creds {
        let current = parse_status(i64::from(current))?;
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
        changes.push((list_n, idx, action));
    }
    if all_revoked {
        return Err(RegistryError::AlreadyRevoked);
    }
    change_statuses(&mut tx, &changes, status, reason, at)?;
    tx.commit()?;
    Ok(changes.len())
}

/// Sets `status` on each (list, idx) and records each one's history row
/// with its action, in two statements.
fn change_statuses(
    tx: &mut Transaction<'_>,
    changes: &[(i64, i64, &str)],
    status: Status,
    reason: &str,
    at: i64,
) -> Result<(), RegistryError> {
    if changes.is_empty() {
        return Ok(());
    }
    let lists: Vec<i64> = changes.iter().map(|c| c.0).collect();
    let idxs: Vec<i64> = changes.iter().map(|c| c.1).collect();
    let actions: Vec<&str> = changes.iter().map(|c| c.2).collect();
    let status = i16::from(status.to_u8());
    tx.execute(
        "UPDATE credentials c SET status = $3 FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(l, i)
         WHERE c.list_n = t.l AND c.idx = t.i",
        &[&lists, &idxs, &status],
    )?;
    tx.execute(
        "INSERT INTO history (at, action, list_n, idx, reason)
         SELECT $4, a, l, i, $5 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[]) WITH ORDINALITY AS t(l, i, a, o)
         ORDER BY o",
        &[&lists, &idxs, &actions, &at, &reason],
    )?;
    Ok(())
}

pub(super) fn correct(
    reg: &mut PgRegistry,
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
    let PgRegistry { client, base_uri, capacity } = reg;
    let mut tx = write_tx(client)?;
    let known: bool = tx.query_one("SELECT EXISTS (SELECT 1 FROM batches WHERE subject = $1)", &[&subject])?.get(0);
    if !known {
        return Err(RegistryError::UnknownSubject);
    }
    let live: Vec<(i64, i64, &str)> =
        subject_credentials(&mut tx, subject, true)?.into_iter().map(|(l, i, _)| (l, i, "corrected")).collect();
    change_statuses(&mut tx, &live, Status::Revoked, &reason, at)?;
    let (seq, refs) = issue_in(&mut tx, base_uri, *capacity, new_batch, at, rng)?;
    tx.execute(
        "INSERT INTO corrections (at, subject, new_batch, reason) VALUES ($1, $2, $3, $4)",
        &[&at, &subject, &seq, &new_batch.reason],
    )?;
    deliver_in(&mut tx, seq, &refs, deliver)?;
    tx.commit()?;
    Ok(refs)
}

/// The row id and delivery state of a batch.
fn batch_state(tx: &mut Transaction<'_>, batch_id: &str) -> Result<(i64, String), RegistryError> {
    let row = tx
        .query_opt("SELECT seq, delivery FROM batches WHERE batch_id = $1", &[&batch_id])?
        .ok_or(RegistryError::UnknownBatch)?;
    Ok((row.get(0), row.get(1)))
}

pub(super) fn confirm(reg: &mut PgRegistry, batch_id: &str) -> Result<(), RegistryError> {
    check_id(batch_id, "batch id must be 1 to 512 bytes")?;
    let mut tx = write_tx(&mut reg.client)?;
    let (seq, delivery) = batch_state(&mut tx, batch_id)?;
    match delivery.as_str() {
        "delivered" => return Ok(()),
        "pending" => {}
        _ => return Err(RegistryError::NotPending),
    }
    tx.execute("UPDATE batches SET delivery = 'delivered' WHERE seq = $1", &[&seq])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn void(reg: &mut PgRegistry, batch_id: &str, reason: &str, now: u64) -> Result<usize, RegistryError> {
    check_id(batch_id, "batch id must be 1 to 512 bytes")?;
    check_reason(reason)?;
    let at = to_db(now, "timestamp out of range")?;
    let mut tx = write_tx(&mut reg.client)?;
    let (seq, delivery) = batch_state(&mut tx, batch_id)?;
    if delivery != "pending" {
        return Err(RegistryError::NotPending);
    }
    // Revoked for good (even if it was suspended or revoked meanwhile); the
    // indexes stay used.
    let voided = tx.execute("UPDATE credentials SET status = 1, voided = TRUE WHERE batch = $1", &[&seq])?;
    tx.execute(
        "INSERT INTO history (at, action, list_n, idx, reason)
         SELECT $2, 'voided', list_n, idx, $3 FROM credentials WHERE batch = $1 ORDER BY list_n, idx",
        &[&seq, &at, &reason],
    )?;
    tx.execute("UPDATE batches SET delivery = 'voided' WHERE seq = $1", &[&seq])?;
    tx.commit()?;
    usize::try_from(voided).map_err(|_| invariant("count out of range"))
}

pub(super) fn batches(reg: &mut PgRegistry, holders: Option<&[Thumbprint]>) -> Result<Vec<BatchRecord>, RegistryError> {
    let mut tx = read_tx(&mut reg.client)?;
    let seqs: BTreeSet<i64> = match holders {
        None => tx.query("SELECT seq FROM batches WHERE delivery = 'pending'", &[])?.iter().map(|r| r.get(0)).collect(),
        Some(holders) => tx
            .query("SELECT batch FROM credentials WHERE holder = ANY($1) AND NOT voided", &[&holders])?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let row = tx.query_one(
            "SELECT batch_id, subject, issued_at, delivery, delivery_note FROM batches WHERE seq = $1",
            &[&seq],
        )?;
        let delivery = match row.get::<_, &str>(3) {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "voided" => DeliveryState::Voided,
            _ => return Err(invariant("unknown delivery state")),
        };
        let note: Option<String> = row.get(4);
        if delivery == DeliveryState::Pending && note.is_none() {
            return Err(invariant("pending batch without a delivery note"));
        }
        let mut credentials = Vec::new();
        for r in tx.query(
            "SELECT c.holder, l.uri, c.idx FROM credentials c JOIN lists l ON l.n = c.list_n
             WHERE c.batch = $1 ORDER BY c.holder COLLATE \"C\"",
            &[&seq],
        )? {
            credentials.push((r.get(0), StatusRef { uri: r.get(1), idx: from_db(r.get(2), "index")? }));
        }
        out.push(BatchRecord {
            batch_id: row.get(0),
            subject: row.get(1),
            issued_at: from_db(row.get(2), "issue time")?,
            delivery,
            note,
            credentials,
        });
    }
    tx.commit()?;
    Ok(out)
}

pub(super) fn lists(reg: &mut PgRegistry) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
    let mut tx = read_tx(&mut reg.client)?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for row in tx.query("SELECT n, uri, capacity FROM lists ORDER BY n", &[])? {
        let n: i64 = row.get(0);
        if usize::try_from(n).ok() != Some(out.len() + 1) {
            return Err(invariant("list numbers are not 1, 2, 3, …"));
        }
        let capacity = from_db(row.get(2), "list capacity")?;
        if capacity > MAX_LIST_CAPACITY {
            return Err(invariant("list capacity out of range"));
        }
        let len = usize::try_from(capacity).map_err(|_| invariant("list capacity out of range"))?;
        out.push((row.get(1), vec![0u8; len]));
    }
    // Unused indexes and valid credentials are 0: only the others are read.
    for row in tx.query("SELECT list_n, idx, status FROM credentials WHERE status <> 0", &[])? {
        let (list_n, idx, status): (i64, i64, i16) = (row.get(0), row.get(1), row.get(2));
        let status = parse_status(i64::from(status))?;
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
    tx.commit()?;
    Ok(out)
}

pub(super) fn history(reg: &mut PgRegistry, holder: Option<&str>) -> Result<Vec<HistoryEntry>, RegistryError> {
    const SELECT: &str = "SELECT h.at, h.action, l.uri, h.idx, c.holder, b.batch_id, h.reason
         FROM history h
         JOIN credentials c ON c.list_n = h.list_n AND c.idx = h.idx
         JOIN batches b ON b.seq = c.batch
         JOIN lists l ON l.n = h.list_n";
    let mut tx = read_tx(&mut reg.client)?;
    let rows = match holder {
        Some(holder) => {
            let subject = subject_in(&mut tx, holder)?;
            tx.query(&format!("{SELECT} WHERE b.subject = $1 ORDER BY h.seq"), &[&subject])?
        }
        None => tx.query(&format!("{SELECT} ORDER BY h.seq"), &[])?,
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(HistoryEntry {
            at: from_db(row.get(0), "history time")?,
            action: row.get(1),
            uri: row.get(2),
            idx: from_db(row.get(3), "index")?,
            holder: row.get(4),
            batch_id: row.get(5),
            reason: row.get(6),
        });
    }
    tx.commit()?;
    Ok(out)
}

/// The subject of a holder key's live credential, else of its latest voided
/// one.
pub(super) fn subject_in(tx: &mut Transaction<'_>, holder: &str) -> Result<String, RegistryError> {
    Ok(tx
        .query_opt(
            "SELECT b.subject FROM credentials c JOIN batches b ON b.seq = c.batch WHERE c.holder = $1
             ORDER BY c.voided, b.seq DESC LIMIT 1",
            &[&holder],
        )?
        .ok_or(RegistryError::UnknownHolder)?
        .get(0))
}

/// (list, idx, status) of every credential of every batch of `subject`;
/// with `live_only`, only the valid and suspended ones.
fn subject_credentials(
    tx: &mut Transaction<'_>,
    subject: &str,
    live_only: bool,
) -> Result<Vec<(i64, i64, i16)>, RegistryError> {
    Ok(tx
        .query(
            "SELECT c.list_n, c.idx, c.status FROM credentials c JOIN batches b ON b.seq = c.batch
             WHERE b.subject = $1 AND (NOT $2 OR c.status IN (0, 2))
             ORDER BY b.seq, c.list_n, c.idx",
            &[&subject, &live_only],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
