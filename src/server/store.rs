//! The issuer's OpenID4VCI state in SQLite ([`SqliteStore`]): offers,
//! grants, used holder keys, and the offers published by reference.
//!
//! One file (conventionally `oid4vci.sqlite` beside the registry in the
//! issuer directory), shared by the service and by `creditproof issuer
//! offer` running at the same time: WAL, `synchronous=FULL`, a busy
//! timeout, and every read-modify-write one `BEGIN IMMEDIATE` transaction,
//! so two processes racing on one code, token or key cannot both win.
//! Offers survive a restart.
//!
//! Like [`crate::oid4vci::MemoryStore`], records are keyed by the digests
//! of the secrets. An offer published by reference (`GET
//! /credential-offer/{id}`) must hand out its pre-authorized code, so it
//! is stored *sealed*: ChaCha20-Poly1305 under a key derived from the
//! random `{id}` of its URI, looked up by a digest of the id. A copy of
//! the file therefore yields no code; only the holder of the offer URI
//! can read the offer, which is exactly who it is for.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::format::encoding::{b64_encode, to_json};
use crate::format::rng::{random_array, SecureRng};
use crate::format::time::UnixTime;
use crate::issuer::Claims;
use crate::protocol::oid4vci::{
    CredentialOffer, Grant, KeyClaim, Offer, OfferStatus, Oid4vciStore, SecretDigest, StoreError,
};
use crate::Limits;

/// `PRAGMA application_id` of the file: ASCII "CPVC".
const APPLICATION_ID: i32 = 0x4350_5643;
/// The schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i32 = 1;
/// The most bytes of a stored record read back.
const MAX_RECORD_BYTES: usize = 1 << 20;

const SCHEMA: &str = "
CREATE TABLE offers (
    code       BLOB    PRIMARY KEY CHECK (length(code) = 32),
    record     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE grants (
    token      BLOB    PRIMARY KEY CHECK (length(token) = 32),
    record     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE used_keys (
    thumbprint TEXT    PRIMARY KEY,
    used_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE offer_refs (
    id         BLOB    PRIMARY KEY CHECK (length(id) = 32),
    sealed     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// The OpenID4VCI state of an issuer in one SQLite file; see the
/// [module documentation](self).
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError { reason: format!("sqlite: {e}") }
}

fn corrupt(what: &str) -> StoreError {
    StoreError { reason: format!("a stored {what} is malformed") }
}

pub(super) fn db_time(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens the store at `path`, creating it (owner-only) if it does not
    /// exist. Refuses a file that is not such a store, or of a newer schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let existed = path.exists();
        if !existed {
            // Owner-only from the start: it holds claims (personal data).
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            opts.open(path).map_err(|e| StoreError { reason: format!("cannot create {}: {e}", path.display()) })?;
        } else if !std::fs::metadata(path).map(|m| m.is_file()).unwrap_or(false) {
            return Err(StoreError { reason: format!("{} is not a regular file", path.display()) });
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError { reason: format!("cannot enable write-ahead logging (journal mode {mode})") });
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        conn.pragma_update(None, "trusted_schema", "OFF").map_err(sql)?;
        let mut store = Self { conn };
        store.init()?;
        Ok(store)
    }

    /// Creates the schema in an empty file (once, whichever process comes
    /// first), or checks it.
    fn init(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let app: i32 = tx.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(sql)?;
        let version: i32 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql)?;
        let tables: i64 = tx.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(sql)?;
        match (app, version) {
            (0, 0) if tables == 0 => {
                tx.execute_batch(SCHEMA).map_err(sql)?;
                tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(sql)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(sql)?;
            }
            (APPLICATION_ID, SCHEMA_VERSION) => {}
            (APPLICATION_ID, v) if v > SCHEMA_VERSION => {
                return Err(StoreError { reason: format!("schema version {v} is newer than this build's") })
            }
            _ => return Err(StoreError { reason: "the file is not a creditproof OpenID4VCI store".into() }),
        }
        tx.commit().map_err(sql)
    }

    /// Publishes `offer` by reference until `expires_at`: returns the
    /// random id of its URI (`<issuer>/credential-offer/<id>`). The offer
    /// is stored sealed under a key only the id gives.
    pub fn publish_offer(
        &mut self,
        offer: &CredentialOffer,
        expires_at: UnixTime,
        rng: &mut dyn SecureRng,
    ) -> Result<String, StoreError> {
        let (id, digest, sealed) = seal_offer(offer, rng)?;
        self.conn
            .execute(
                "INSERT INTO offer_refs (id, sealed, expires_at) VALUES (?1, ?2, ?3)",
                params![digest.as_slice(), sealed, db_time(expires_at)],
            )
            .map_err(sql)?;
        Ok(id)
    }

    /// The offer object published under `id`, if it exists and has not
    /// expired at `now`.
    pub fn published_offer(&self, id: &str, now: UnixTime) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        let row: Option<(Vec<u8>, i64)> = self
            .conn
            .query_row("SELECT sealed, expires_at FROM offer_refs WHERE id = ?1", [ref_digest(id).as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(sql)?;
        Ok(row.filter(|(_, exp)| *exp > db_time(now)).and_then(|(sealed, _)| open_sealed(id, sealed)))
    }

    /// How many holder keys are marked used.
    pub fn used_key_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM used_keys", [], |r| r.get(0)).map_err(sql)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// A fresh random id for `offer`, its lookup digest, and the offer sealed
/// under a key only the id gives.
pub(super) fn seal_offer(
    offer: &CredentialOffer,
    rng: &mut dyn SecureRng,
) -> Result<(String, [u8; 32], Vec<u8>), StoreError> {
    let raw = Zeroizing::new(random_array::<32>(rng));
    let id = b64_encode(raw.as_ref());
    let plain = Zeroizing::new(to_json(&offer.to_json()).into_bytes());
    let sealed = seal(&id, &plain).ok_or_else(|| StoreError { reason: "sealing the offer failed".into() })?;
    let digest = ref_digest(&id);
    Ok((id, digest, sealed))
}

/// The lookup key of a published offer: a digest of its id.
pub(super) fn ref_digest(id: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"creditproof/oid4vci/v1/offer_ref/id\0");
    ctx.update(id.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The sealing key of a published offer, derived from its id.
fn ref_key(id: &str) -> Option<ring::aead::LessSafeKey> {
    struct Len;
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            32
        }
    }
    let prk =
        ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"creditproof/oid4vci/v1/offer_ref/key").extract(id.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    prk.expand(&[b"chacha20-poly1305"], Len).ok()?.fill(key.as_mut()).ok()?;
    let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, key.as_ref()).ok()?;
    Some(ring::aead::LessSafeKey::new(unbound))
}

fn seal(id: &str, plain: &[u8]) -> Option<Vec<u8>> {
    let key = ref_key(id)?;
    let mut buf = plain.to_vec();
    // One key per id, used once: a fixed nonce is safe.
    let nonce = ring::aead::Nonce::assume_unique_for_key([0u8; 12]);
    key.seal_in_place_append_tag(nonce, ring::aead::Aad::from(ref_digest(id)), &mut buf).ok()?;
    Some(buf)
}

pub(super) fn open_sealed(id: &str, mut sealed: Vec<u8>) -> Option<Zeroizing<Vec<u8>>> {
    let key = ref_key(id)?;
    let nonce = ring::aead::Nonce::assume_unique_for_key([0u8; 12]);
    let plain = key.open_in_place(nonce, ring::aead::Aad::from(ref_digest(id)), &mut sealed).ok()?.to_vec();
    sealed.fill(0);
    Some(Zeroizing::new(plain))
}

fn status_name(s: OfferStatus) -> &'static str {
    match s {
        OfferStatus::Open => "open",
        OfferStatus::Redeemed => "redeemed",
        OfferStatus::Locked => "locked",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn claims_json(claims: &Claims) -> Value {
    serde_json::from_str(&claims.to_stored_json()).unwrap_or(Value::Null)
}

fn read_claims(v: Option<&Value>) -> Option<Claims> {
    let text = to_json(v?);
    Claims::from_stored_json(text.as_bytes(), &record_limits()).ok()
}

fn record_limits() -> Limits {
    Limits::default().with_max_json_depth(16)
}

pub(super) fn offer_to_record(o: &Offer) -> String {
    to_json(&json!({
        "subject": o.subject,
        "claims": claims_json(&o.claims),
        "configuration_id": o.configuration_id,
        "expires_at": o.expires_at.as_secs(),
        "tx_code": o.tx_code.map(|d| hex(d.as_bytes())),
        "tx_attempts_left": o.tx_attempts_left,
        "status": status_name(o.status),
    }))
}

pub(super) fn offer_from_record(text: &str) -> Result<Offer, StoreError> {
    let bad = || corrupt("offer");
    if text.len() > MAX_RECORD_BYTES {
        return Err(bad());
    }
    let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(bad);
    let tx_code = match v.get("tx_code") {
        Some(Value::Null) => None,
        Some(Value::String(h)) => Some(SecretDigest::from_bytes(unhex32(h).ok_or_else(bad)?)),
        _ => return Err(bad()),
    };
    let status = match v.get("status").and_then(Value::as_str) {
        Some("open") => OfferStatus::Open,
        Some("redeemed") => OfferStatus::Redeemed,
        Some("locked") => OfferStatus::Locked,
        _ => return Err(bad()),
    };
    Ok(Offer {
        subject: s("subject")?,
        claims: read_claims(v.get("claims")).ok_or_else(bad)?,
        configuration_id: s("configuration_id")?,
        expires_at: UnixTime(v.get("expires_at").and_then(Value::as_u64).ok_or_else(bad)?),
        tx_code,
        tx_attempts_left: v
            .get("tx_attempts_left")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(bad)?,
        status,
    })
}

pub(super) fn grant_to_record(g: &Grant) -> String {
    to_json(&json!({
        "subject": g.subject,
        "claims": claims_json(&g.claims),
        "configuration_id": g.configuration_id,
        "expires_at": g.expires_at.as_secs(),
        "batches_left": g.batches_left,
    }))
}

pub(super) fn grant_from_record(text: &str) -> Result<Grant, StoreError> {
    let bad = || corrupt("grant");
    if text.len() > MAX_RECORD_BYTES {
        return Err(bad());
    }
    let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(bad);
    Ok(Grant {
        subject: s("subject")?,
        claims: read_claims(v.get("claims")).ok_or_else(bad)?,
        configuration_id: s("configuration_id")?,
        expires_at: UnixTime(v.get("expires_at").and_then(Value::as_u64).ok_or_else(bad)?),
        batches_left: v
            .get("batches_left")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(bad)?,
    })
}

impl Oid4vciStore for SqliteStore {
    fn insert_offer(&mut self, code: SecretDigest, offer: Offer) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO offers (code, record, expires_at) VALUES (?1, ?2, ?3)",
                params![code.as_bytes().as_slice(), offer_to_record(&offer), db_time(offer.expires_at)],
            )
            .map_err(sql)?;
        Ok(())
    }

    fn update_offer(&mut self, code: &SecretDigest, f: &mut dyn FnMut(&mut Option<Offer>)) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let key = code.as_bytes().as_slice();
        let text: Option<String> =
            tx.query_row("SELECT record FROM offers WHERE code = ?1", [key], |r| r.get(0)).optional().map_err(sql)?;
        let mut slot = text.as_deref().map(offer_from_record).transpose()?;
        f(&mut slot);
        match slot {
            Some(o) => tx
                .execute(
                    "INSERT OR REPLACE INTO offers (code, record, expires_at) VALUES (?1, ?2, ?3)",
                    params![key, offer_to_record(&o), db_time(o.expires_at)],
                )
                .map_err(sql)?,
            None => tx.execute("DELETE FROM offers WHERE code = ?1", [key]).map_err(sql)?,
        };
        tx.commit().map_err(sql)
    }

    fn insert_grant(&mut self, token: SecretDigest, grant: Grant) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO grants (token, record, expires_at) VALUES (?1, ?2, ?3)",
                params![token.as_bytes().as_slice(), grant_to_record(&grant), db_time(grant.expires_at)],
            )
            .map_err(sql)?;
        Ok(())
    }

    fn update_grant(&mut self, token: &SecretDigest, f: &mut dyn FnMut(&mut Option<Grant>)) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let key = token.as_bytes().as_slice();
        let text: Option<String> =
            tx.query_row("SELECT record FROM grants WHERE token = ?1", [key], |r| r.get(0)).optional().map_err(sql)?;
        let mut slot = text.as_deref().map(grant_from_record).transpose()?;
        f(&mut slot);
        match slot {
            Some(g) => tx
                .execute(
                    "INSERT OR REPLACE INTO grants (token, record, expires_at) VALUES (?1, ?2, ?3)",
                    params![key, grant_to_record(&g), db_time(g.expires_at)],
                )
                .map_err(sql)?,
            None => tx.execute("DELETE FROM grants WHERE token = ?1", [key]).map_err(sql)?,
        };
        tx.commit().map_err(sql)
    }

    fn use_holder_keys(&mut self, thumbprints: &[String], now: UnixTime) -> Result<KeyClaim, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        {
            let mut seen = tx.prepare("SELECT EXISTS (SELECT 1 FROM used_keys WHERE thumbprint = ?1)").map_err(sql)?;
            for (index, t) in thumbprints.iter().enumerate() {
                if seen.query_row([t], |r| r.get::<_, bool>(0)).map_err(sql)? {
                    return Ok(KeyClaim::AlreadyUsed { index });
                }
            }
            let mut insert = tx.prepare("INSERT INTO used_keys (thumbprint, used_at) VALUES (?1, ?2)").map_err(sql)?;
            for t in thumbprints {
                insert.execute(params![t, db_time(now)]).map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(KeyClaim::Claimed)
    }

    fn prune(&mut self, now: UnixTime) -> Result<usize, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let t = db_time(now);
        let mut n = 0;
        for table in ["offers", "grants", "offer_refs"] {
            n += tx.execute(&format!("DELETE FROM {table} WHERE expires_at <= ?1"), [t]).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::hazmat::SeededRng;
    use crate::oid4vci::{NewOffer, NoStatus, Oid4vciConfig, Oid4vciIssuer};
    use crate::{Issuer, IssuerSigningKey};

    fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("creditproof-store-{name}-{}.sqlite", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    #[test]
    fn offers_survive_reopening_and_a_code_is_spent_once() {
        let path = tmp("reopen");
        let mut rng = SeededRng::new(b"sqlite store");
        let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
        let vci = Oid4vciIssuer::new(issuer, Oid4vciConfig::default()).unwrap();
        let now = UnixTime(1_795_262_400);
        let mut claims = Claims::new();
        claims.commit("score", 712, 950).unwrap().insert("tier", "A").unwrap();
        let created = {
            let mut store = SqliteStore::open(&path).unwrap();
            vci.create_offer(&mut store, NewOffer::new("p-1", claims).with_tx_code(), now, &mut rng).unwrap()
        };
        let mut store = SqliteStore::open(&path).unwrap();
        let id = store.publish_offer(created.offer(), created.expires_at(), &mut rng).unwrap();
        let got = store.published_offer(&id, now).unwrap().unwrap();
        assert_eq!(CredentialOffer::from_json(&got).unwrap(), *created.offer());
        assert!(store.published_offer(&id, created.expires_at()).unwrap().is_none(), "expired");
        assert!(store.published_offer("nope", now).unwrap().is_none());
        let code = created.offer().pre_authorized().unwrap().code().expose_secret().to_owned();
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(code.len()).any(|w| w == code.as_bytes()), "no code in the file");

        let form = |tx: &str| {
            format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}&tx_code={tx}")
        };
        let wrong = vci.token(&mut store, form("000000x").as_bytes(), now, &mut rng).unwrap_err();
        assert_eq!(wrong.code(), "invalid_grant");
        let tx = created.tx_code().unwrap().expose_secret().to_owned();
        let token = vci.token(&mut store, form(&tx).as_bytes(), now, &mut rng).unwrap();
        assert_eq!(vci.token(&mut store, form(&tx).as_bytes(), now, &mut rng).unwrap_err().code(), "invalid_grant");
        let auth = crate::oid4vci::bearer_header(token.access_token());
        let err = vci.credential(&mut store, &mut NoStatus, Some(&auth), b"{}", now, &mut rng).unwrap_err();
        assert_eq!(err.code(), "invalid_credential_request", "the grant was found");
        assert_eq!(store.use_holder_keys(&["a".into(), "b".into()], now).unwrap(), KeyClaim::Claimed);
        assert_eq!(store.use_holder_keys(&["c".into(), "b".into()], now).unwrap(), KeyClaim::AlreadyUsed { index: 1 });
        assert_eq!(store.used_key_count().unwrap(), 2, "all or nothing");
        assert!(store.prune(UnixTime(now.as_secs() + 86_400)).unwrap() >= 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn refuses_other_files() {
        let path = tmp("other");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE x (y INTEGER);").unwrap();
        drop(conn);
        assert!(SqliteStore::open(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
