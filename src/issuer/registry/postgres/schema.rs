//! The PostgreSQL schema, its version and its migrations.
//!
//! Everything lives in the schema `creditproof` of the database the URL
//! names (the OpenID4VCI store's tables sit beside it, prefixed `vci_`).
//! `registry_meta` holds the schema version: `PgRegistry::open` refuses a
//! newer version and applies the [`MIGRATIONS`] from an older one, each in
//! one transaction under the registry lock.

/// The schema version this build writes and understands
/// (`registry_meta.schema_version`).
pub const PG_SCHEMA_VERSION: u32 = 1;

/// What `registry_meta.application` says in a registry database.
pub(super) const APPLICATION: &str = "creditproof-registry";

/// The key of the transaction-level advisory lock every registry write
/// takes first (ASCII "CPRG"): writers, on whatever node, run one at a time,
/// each reading the state the previous one committed.
pub(super) const LOCK_KEY: i64 = 0x4350_5247;

/// The schema of a new registry (version [`PG_SCHEMA_VERSION`]).
///
/// `free_slots` is the sparse part of a lazy Fisher–Yates shuffle of the
/// current list's unused indexes: position `p < capacity - used` holds the
/// index `free_slots.idx` if a row exists, else `p` itself. Drawing position
/// `k` uniformly below `capacity - used` takes the index there and moves the
/// last position's index into its place (see `draw_indexes`): a uniform
/// draw among the unused indexes in O(1), whatever the fill level, never a
/// scan. Only the current list has rows, at most `min(used, free)` of them.
///
/// A credential's holder thumbprint is stored once in the table and once in
/// exactly one of two partial indexes (live credentials: unique; voided
/// ones: looked up for history).
pub(super) const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS creditproof;
CREATE TABLE creditproof.registry_meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    application    TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    base_uri       TEXT    NOT NULL,
    list_capacity  BIGINT  NOT NULL CHECK (list_capacity > 0)
);
CREATE TABLE creditproof.lists (
    n        BIGINT PRIMARY KEY CHECK (n >= 1),
    uri      TEXT   NOT NULL UNIQUE,
    capacity BIGINT NOT NULL CHECK (capacity > 0),
    used     BIGINT NOT NULL CHECK (used >= 0 AND used <= capacity)
);
CREATE TABLE creditproof.free_slots (
    list_n BIGINT NOT NULL REFERENCES creditproof.lists (n),
    pos    BIGINT NOT NULL CHECK (pos >= 0),
    idx    BIGINT NOT NULL CHECK (idx >= 0),
    PRIMARY KEY (list_n, pos)
);
CREATE TABLE creditproof.batches (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id      TEXT   NOT NULL UNIQUE,
    subject       TEXT   NOT NULL,
    policy        TEXT,
    issued_at     BIGINT NOT NULL,
    reason        TEXT   NOT NULL,
    delivery      TEXT   NOT NULL DEFAULT 'delivered' CHECK (delivery IN ('pending', 'delivered', 'voided')),
    delivery_note TEXT
);
CREATE INDEX batches_by_subject ON creditproof.batches (subject);
CREATE INDEX batches_pending ON creditproof.batches (delivery) WHERE delivery = 'pending';
CREATE TABLE creditproof.corrections (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    subject   TEXT   NOT NULL,
    new_batch BIGINT NOT NULL UNIQUE REFERENCES creditproof.batches (seq),
    reason    TEXT   NOT NULL
);
CREATE TABLE creditproof.credentials (
    list_n BIGINT   NOT NULL REFERENCES creditproof.lists (n),
    idx    BIGINT   NOT NULL CHECK (idx >= 0),
    holder TEXT     NOT NULL,
    batch  BIGINT   NOT NULL REFERENCES creditproof.batches (seq),
    status SMALLINT NOT NULL CHECK (status IN (0, 1, 2)),
    voided BOOLEAN  NOT NULL DEFAULT FALSE CHECK (NOT voided OR status = 1),
    PRIMARY KEY (list_n, idx)
);
CREATE INDEX credentials_by_batch ON creditproof.credentials (batch);
CREATE UNIQUE INDEX credentials_live_holder ON creditproof.credentials (holder) WHERE NOT voided;
CREATE INDEX credentials_voided_holder ON creditproof.credentials (holder) WHERE voided;
CREATE INDEX credentials_not_valid ON creditproof.credentials (list_n, idx) WHERE status <> 0;
CREATE TABLE creditproof.history (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    action TEXT   NOT NULL
           CHECK (action IN ('issued', 'revoked', 'suspended', 'reinstated', 'corrected', 'voided')),
    list_n BIGINT NOT NULL,
    idx    BIGINT NOT NULL,
    reason TEXT   NOT NULL,
    FOREIGN KEY (list_n, idx) REFERENCES creditproof.credentials (list_n, idx)
);
CREATE INDEX history_by_credential ON creditproof.history (list_n, idx);
CREATE FUNCTION creditproof.draw_indexes(p_list BIGINT, p_ks BIGINT[]) RETURNS BIGINT[]
LANGUAGE plpgsql SET search_path = creditproof AS $$
DECLARE
    v_out  BIGINT[] := '{}';
    v_k    BIGINT;
    v_last BIGINT;
    v_pick BIGINT;
    v_tail BIGINT;
BEGIN
    FOREACH v_k IN ARRAY p_ks LOOP
        UPDATE lists SET used = used + 1 WHERE n = p_list AND used < capacity
            RETURNING capacity - used INTO v_last;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'status list % is full or missing', p_list;
        END IF;
        IF v_k < 0 OR v_k > v_last THEN
            RAISE EXCEPTION 'draw % outside 0..%', v_k, v_last;
        END IF;
        SELECT idx INTO v_pick FROM free_slots WHERE list_n = p_list AND pos = v_k;
        IF NOT FOUND THEN
            v_pick := v_k;
        END IF;
        IF v_k <> v_last THEN
            SELECT idx INTO v_tail FROM free_slots WHERE list_n = p_list AND pos = v_last;
            IF NOT FOUND THEN
                v_tail := v_last;
            END IF;
            INSERT INTO free_slots (list_n, pos, idx) VALUES (p_list, v_k, v_tail)
                ON CONFLICT (list_n, pos) DO UPDATE SET idx = EXCLUDED.idx;
        END IF;
        DELETE FROM free_slots WHERE list_n = p_list AND pos = v_last;
        v_out := v_out || v_pick;
    END LOOP;
    RETURN v_out;
END
$$;
";

/// `MIGRATIONS[i]` upgrades schema version `i + 1` to `i + 2`; each runs
/// in one transaction under the registry lock. Version 1 is the first
/// PostgreSQL schema, so there is nothing to migrate yet.
pub(super) const MIGRATIONS: &[&str] = &[];
