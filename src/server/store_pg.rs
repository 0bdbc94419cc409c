//! The issuer's OpenID4VCI state in PostgreSQL ([`PgStore`], feature
//! `postgres`), beside the registry in the schema `creditproof` (tables
//! `vci_*`), so that several issuer nodes share offers, grants and used
//! keys: an offer is redeemed once across all of them. [`IssuerStore`] is
//! either backend, as the service and the CLI hold it.
//!
//! Records are those of [`SqliteStore`] (keyed by digests of the secrets,
//! published offers sealed under their id). Every read-modify-write is one
//! transaction that locks its row (`SELECT … FOR UPDATE`): a second node
//! racing on the same code or token waits, then sees the first one's
//! result. Used keys are claimed with `INSERT … ON CONFLICT DO NOTHING`
//! under their primary key, all or nothing.

use postgres::Client;
use zeroize::Zeroizing;

use crate::format::rng::SecureRng;
use crate::format::time::UnixTime;
use crate::protocol::oid4vci::{CredentialOffer, Grant, KeyClaim, Offer, Oid4vciStore, SecretDigest, StoreError};

use super::store::{self as sq, SqliteStore};

/// The store's schema version (`creditproof.vci_meta`).
const PG_STORE_VERSION: i32 = 1;

/// The advisory lock key the schema creation takes (ASCII "CPVC").
const LOCK_KEY: i64 = 0x4350_5643;

const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS creditproof;
CREATE TABLE IF NOT EXISTS creditproof.vci_meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS creditproof.vci_offers (
    code       BYTEA  PRIMARY KEY CHECK (length(code) = 32),
    record     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS creditproof.vci_grants (
    token      BYTEA  PRIMARY KEY CHECK (length(token) = 32),
    record     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS creditproof.vci_used_keys (
    thumbprint TEXT   PRIMARY KEY,
    used_at    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS creditproof.vci_offer_refs (
    id         BYTEA  PRIMARY KEY CHECK (length(id) = 32),
    sealed     BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL
);
";

fn pg(e: postgres::Error) -> StoreError {
    StoreError { reason: crate::issuer::registry::pg_error_message(&e) }
}

/// The OpenID4VCI state of an issuer in PostgreSQL (tables
/// `creditproof.vci_*`), shared by several issuer nodes: each
/// read-modify-write locks its row, so an offer or a token is spent once
/// across them. One value is one connection.
pub struct PgStore {
    client: Client,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Opens the store in the database at `url` (a `postgres://` URL),
    /// creating its tables if needed (once, whichever node comes first).
    /// Refuses a newer schema.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        if !crate::issuer::registry::is_postgres_url(url) {
            return Err(StoreError { reason: "a PostgreSQL URL starts with postgres:// or postgresql://".into() });
        }
        let mut client = crate::issuer::registry::pg_connect(url).map_err(pg)?;
        let mut tx = client.transaction().map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).map_err(pg)?;
        tx.batch_execute(SCHEMA).map_err(pg)?;
        tx.execute(
            "INSERT INTO vci_meta (id, schema_version) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[&PG_STORE_VERSION],
        )
        .map_err(pg)?;
        let version: i32 = tx.query_one("SELECT schema_version FROM vci_meta WHERE id = 1", &[]).map_err(pg)?.get(0);
        if version > PG_STORE_VERSION {
            return Err(StoreError { reason: format!("schema version {version} is newer than this build's") });
        }
        tx.commit().map_err(pg)?;
        Ok(Self { client })
    }

    /// See [`SqliteStore::publish_offer`].
    pub fn publish_offer(
        &mut self,
        offer: &CredentialOffer,
        expires_at: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<String, StoreError> {
        let (id, digest, sealed) = sq::seal_offer(offer, rng)?;
        self.client
            .execute(
                "INSERT INTO vci_offer_refs (id, sealed, expires_at) VALUES ($1, $2, $3)",
                &[&digest.as_slice(), &sealed, &sq::db_time(expires_at)],
            )
            .map_err(pg)?;
        Ok(id)
    }

    /// See [`SqliteStore::published_offer`].
    pub fn published_offer(&mut self, id: &str, now: UnixTime) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt("SELECT sealed, expires_at FROM vci_offer_refs WHERE id = $1", &[&sq::ref_digest(id).as_slice()])
            .map_err(pg)?;
        Ok(row
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, i64>(1)))
            .filter(|(_, exp)| *exp > sq::db_time(now))
            .and_then(|(sealed, _)| sq::open_sealed(id, sealed)))
    }

    /// How many holder keys are marked used.
    pub fn used_key_count(&mut self) -> Result<u64, StoreError> {
        let n: i64 = self.client.query_one("SELECT COUNT(*) FROM vci_used_keys", &[]).map_err(pg)?.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Read-modify-write of one record under its row lock.
    fn update<T>(
        &mut self,
        table: &str,
        key_col: &str,
        key: &[u8],
        read: fn(&str) -> Result<T, StoreError>,
        write: fn(&T) -> (String, i64),
        f: &mut dyn FnMut(&mut Option<T>),
    ) -> Result<(), StoreError> {
        let mut tx = self.client.transaction().map_err(pg)?;
        let row = tx
            .query_opt(&format!("SELECT record FROM {table} WHERE {key_col} = $1 FOR UPDATE"), &[&key])
            .map_err(pg)?;
        let mut slot = row.map(|r| r.get::<_, String>(0)).as_deref().map(read).transpose()?;
        f(&mut slot);
        match slot {
            Some(v) => {
                let (record, expires_at) = write(&v);
                tx.execute(
                    &format!(
                        "INSERT INTO {table} ({key_col}, record, expires_at) VALUES ($1, $2, $3)
                         ON CONFLICT ({key_col}) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at"
                    ),
                    &[&key, &record, &expires_at],
                )
                .map_err(pg)?
            }
            None => tx.execute(&format!("DELETE FROM {table} WHERE {key_col} = $1"), &[&key]).map_err(pg)?,
        };
        tx.commit().map_err(pg)
    }
}

fn offer_row(o: &Offer) -> (String, i64) {
    (sq::offer_to_record(o), sq::db_time(o.expires_at))
}

fn grant_row(g: &Grant) -> (String, i64) {
    (sq::grant_to_record(g), sq::db_time(g.expires_at))
}

impl Oid4vciStore for PgStore {
    fn insert_offer(&mut self, code: SecretDigest, offer: Offer) -> Result<(), StoreError> {
        let (record, exp) = offer_row(&offer);
        self.client
            .execute(
                "INSERT INTO vci_offers (code, record, expires_at) VALUES ($1, $2, $3)",
                &[&code.as_bytes().as_slice(), &record, &exp],
            )
            .map_err(pg)?;
        Ok(())
    }

    fn update_offer(&mut self, code: &SecretDigest, f: &mut dyn FnMut(&mut Option<Offer>)) -> Result<(), StoreError> {
        self.update("vci_offers", "code", code.as_bytes().as_slice(), sq::offer_from_record, offer_row, f)
    }

    fn insert_grant(&mut self, token: SecretDigest, grant: Grant) -> Result<(), StoreError> {
        let (record, exp) = grant_row(&grant);
        self.client
            .execute(
                "INSERT INTO vci_grants (token, record, expires_at) VALUES ($1, $2, $3)",
                &[&token.as_bytes().as_slice(), &record, &exp],
            )
            .map_err(pg)?;
        Ok(())
    }

    fn update_grant(&mut self, token: &SecretDigest, f: &mut dyn FnMut(&mut Option<Grant>)) -> Result<(), StoreError> {
        self.update("vci_grants", "token", token.as_bytes().as_slice(), sq::grant_from_record, grant_row, f)
    }

    fn use_holder_keys(&mut self, thumbprints: &[String], now: UnixTime) -> Result<KeyClaim, StoreError> {
        let mut tx = self.client.transaction().map_err(pg)?;
        let insert = tx
            .prepare("INSERT INTO vci_used_keys (thumbprint, used_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .map_err(pg)?;
        for (index, t) in thumbprints.iter().enumerate() {
            if tx.execute(&insert, &[t, &sq::db_time(now)]).map_err(pg)? == 0 {
                // Rolled back on drop: nothing is marked.
                return Ok(KeyClaim::AlreadyUsed { index });
            }
        }
        tx.commit().map_err(pg)?;
        Ok(KeyClaim::Claimed)
    }

    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction().map_err(pg)?;
        let t = sq::db_time(now);
        let mut n = 0;
        for table in ["vci_offers", "vci_grants", "vci_offer_refs"] {
            n += tx.execute(&format!("DELETE FROM {table} WHERE expires_at <= $1"), &[&t]).map_err(pg)?;
        }
        tx.commit().map_err(pg)?;
        usize::try_from(n).map_err(|_| StoreError { reason: "count out of range".into() })
    }
}

/// The OpenID4VCI state in either backend: an SQLite file, or PostgreSQL
/// (shared by several nodes).
#[derive(Debug)]
pub enum IssuerStore {
    /// `oid4vci.sqlite` in the issuer directory.
    Sqlite(SqliteStore),
    /// PostgreSQL, beside the registry.
    Postgres(PgStore),
}

impl IssuerStore {
    /// See [`SqliteStore::publish_offer`].
    pub fn publish_offer(
        &mut self,
        offer: &CredentialOffer,
        expires_at: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<String, StoreError> {
        match self {
            Self::Sqlite(s) => s.publish_offer(offer, expires_at, rng),
            Self::Postgres(s) => s.publish_offer(offer, expires_at, rng),
        }
    }

    /// See [`SqliteStore::published_offer`].
    pub fn published_offer(&mut self, id: &str, now: UnixTime) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        match self {
            Self::Sqlite(s) => s.published_offer(id, now),
            Self::Postgres(s) => s.published_offer(id, now),
        }
    }

    /// How many holder keys are marked used.
    pub fn used_key_count(&mut self) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.used_key_count(),
            Self::Postgres(s) => s.used_key_count(),
        }
    }

    /// Whether this handle can still be used: `false` once its PostgreSQL
    /// connection is lost (the service's pool then opens another).
    pub fn is_usable(&self) -> bool {
        match self {
            Self::Sqlite(_) => true,
            Self::Postgres(s) => !s.client.is_closed(),
        }
    }

    fn inner(&mut self) -> &mut dyn Oid4vciStore {
        match self {
            Self::Sqlite(s) => s,
            Self::Postgres(s) => s,
        }
    }
}

impl Oid4vciStore for IssuerStore {
    fn insert_offer(&mut self, code: SecretDigest, offer: Offer) -> Result<(), StoreError> {
        self.inner().insert_offer(code, offer)
    }
    fn update_offer(&mut self, code: &SecretDigest, f: &mut dyn FnMut(&mut Option<Offer>)) -> Result<(), StoreError> {
        self.inner().update_offer(code, f)
    }
    fn insert_grant(&mut self, token: SecretDigest, grant: Grant) -> Result<(), StoreError> {
        self.inner().insert_grant(token, grant)
    }
    fn update_grant(&mut self, token: &SecretDigest, f: &mut dyn FnMut(&mut Option<Grant>)) -> Result<(), StoreError> {
        self.inner().update_grant(token, f)
    }
    fn use_holder_keys(&mut self, thumbprints: &[String], now: UnixTime) -> Result<KeyClaim, StoreError> {
        self.inner().use_holder_keys(thumbprints, now)
    }
    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError> {
        self.inner().prune(now)
    }
}
