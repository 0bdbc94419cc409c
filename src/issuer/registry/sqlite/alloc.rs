//! Recording a batch and allocating its status indexes: uniformly random
//! among the unused ones (a lazy Fisher–Yates shuffle, O(1) a draw), never
//! reused (always inside a caller's IMMEDIATE transaction).

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{check_id, check_reason, from_db, invariant, to_db, MAX_LIST_CAPACITY, MAX_NOTE_LEN};
use super::{Deliver, Delivery, NewBatch, RegistryError, SqliteRegistry, StatusRef};

/// Most holders in one batch.
const MAX_BATCH_LEN: usize = 65_536;

pub(super) fn issue_batch(
    reg: &mut SqliteRegistry,
    batch: &NewBatch<'_>,
    now: u64,
    rng: &mut dyn FnMut(&mut [u8]),
    deliver: &mut Deliver<'_>,
) -> Result<Vec<StatusRef>, RegistryError> {
    check_batch(batch)?;
    let at = to_db(now, "timestamp out of range")?;
    let tx = reg.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (seq, refs) = issue_in(&tx, &reg.base_uri, reg.capacity, batch, at, rng)?;
    deliver_in(&tx, seq, &refs, deliver)?;
    tx.commit()?;
    Ok(refs)
}

/// Runs the caller's deliver step for the batch `seq` inside `tx` (which the
/// caller commits only if this succeeds) and records how it went.
pub(super) fn deliver_in(
    tx: &Transaction<'_>,
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
            tx.execute(
                "UPDATE batches SET delivery = 'pending', delivery_note = ?2 WHERE seq = ?1",
                params![seq, note],
            )?;
            Ok(())
        }
    }
}

pub(in crate::issuer::registry) fn check_batch(batch: &NewBatch<'_>) -> Result<(), RegistryError> {
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

pub(super) fn insert_list(
    tx: &Transaction<'_>,
    base_uri: &str,
    capacity: u64,
    n: i64,
) -> Result<String, RegistryError> {
    let uri = format!("{base_uri}/{n}");
    tx.execute(
        "INSERT INTO lists (n, uri, capacity, used) VALUES (?1, ?2, ?3, 0)",
        params![n, uri, to_db(capacity, "list capacity out of range")?],
    )?;
    Ok(uri)
}

/// Records `batch` and allocates its indexes; returns the batch's row id and
/// its refs in holder order.
pub(super) fn issue_in(
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
        // Voided credentials never reached their holder: their keys may be
        // issued again.
        let mut stmt =
            tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM credentials WHERE holder = ?1 AND voided = 0)")?;
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
    let mut refs = Vec::with_capacity(batch.holders.len());
    for holder in batch.holders {
        let (list_n, uri, idx) = allocate(tx, base_uri, capacity, rng)?;
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
/// (opening the next list when it is full). The caller inserts it and
/// counts it in `lists.used`.
///
/// The unused indexes of the current list are a lazy Fisher–Yates shuffle
/// kept in `free_slots`: position `p < capacity - used` holds the index of
/// its row if there is one, else `p`. A draw picks position `k` uniformly
/// below `capacity - used`, takes its index and moves the last position's
/// index into its place: O(1) and uniform at any fill level, never a scan.
pub(super) fn allocate(
    tx: &Transaction<'_>,
    base_uri: &str,
    capacity: u64,
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
    let k = to_db(uniform_below(free, rng), "index out of range")?;
    let last = to_db(free - 1, "index out of range")?;
    let slot = |pos: i64| -> Result<i64, RegistryError> {
        Ok(tx
            .prepare_cached("SELECT idx FROM free_slots WHERE list_n = ?1 AND pos = ?2")?
            .query_row(params![list_n, pos], |r| r.get(0))
            .optional()?
            .unwrap_or(pos))
    };
    let pick = slot(k)?;
    if k != last {
        let tail = slot(last)?;
        tx.prepare_cached("INSERT OR REPLACE INTO free_slots (list_n, pos, idx) VALUES (?1, ?2, ?3)")?
            .execute(params![list_n, k, tail])?;
    }
    tx.prepare_cached("DELETE FROM free_slots WHERE list_n = ?1 AND pos = ?2")?.execute(params![list_n, last])?;
    let idx = from_db(pick, "index")?;
    if idx >= cap {
        return Err(invariant("a free index slot outside its list"));
    }
    Ok((list_n, uri, idx))
}

/// A uniform random integer in `0..n` (`n > 0`), by rejection on the next
/// power of two; a broken generator that keeps failing the rejection gets a
/// modulo reduction rather than an endless loop.
pub(in crate::issuer::registry) fn uniform_below(n: u64, rng: &mut dyn FnMut(&mut [u8])) -> u64 {
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
