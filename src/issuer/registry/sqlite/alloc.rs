//! Recording a batch and allocating its status indexes: uniformly random
//! among the unused ones, never reused (always inside a caller's IMMEDIATE
//! transaction).

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{check_id, check_reason, from_db, invariant, to_db, MAX_LIST_CAPACITY, MAX_NOTE_LEN};
use super::{Deliver, Delivery, NewBatch, RegistryError, SqliteRegistry, StatusRef};

/// Most holders in one batch.
const MAX_BATCH_LEN: usize = 65_536;

/// Rejection-sampling draws before falling back to picking among the
/// enumerated unused indexes.
const REJECTION_TRIES: u32 = 8192;

/// Rejection sampling is used while at least 1/`FALLBACK_RATIO` of the list is
/// free (expected draws ≤ `FALLBACK_RATIO`); below that, the unused indexes are
/// enumerated once per transaction.
const FALLBACK_RATIO: u64 = 1024;

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

/// The unused indexes of one list, enumerated once per transaction when the
/// list is nearly full (or the random draws keep hitting used indexes).
pub(super) struct FreeIndexes {
    list_n: i64,
    free: Vec<u64>,
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
pub(super) fn allocate(
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
