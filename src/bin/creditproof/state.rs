//! The issuer directory and the wallet directory on disk.

use std::path::Path;

use creditproof::registry::{AnyRegistry, RegistryError, RegistryLocation, DEFAULT_LIST_CAPACITY};
use creditproof::{Algorithm, Issuer, IssuerPublicKey, IssuerSigningKey, SecureRng, UnixTime, Wallet};
use serde_json::{json, Value};
use zeroize::{Zeroize as _, Zeroizing};

use crate::files::{
    check_private, check_regular, create_private_dir, open_regular, read_bounded, write_file, Access, CliError,
};

const ISSUER_FILE: &str = "issuer.json";
const REGISTRY_FILE: &str = "registry.sqlite";
/// The PostgreSQL URL of the registry, when `issuer init --registry`
/// put it there (owner-only: it may hold a password).
const REGISTRY_URL_FILE: &str = "registry.url";
/// The OpenID4VCI state (offers, grants, used keys) of the issuer service
/// and `issuer offer`.
const STORE_FILE: &str = "oid4vci.sqlite";
const WALLET_FILE: &str = "wallet.json";
const LOCK_FILE: &str = ".lock";
const MAX_STATE: u64 = 64 * 1024 * 1024;

pub fn init_issuer(
    dir: &Path,
    iss: &str,
    status_base: Option<&str>,
    force: bool,
    alg: Algorithm,
    registry_url: Option<&str>,
    rng: &mut dyn SecureRng,
) -> Result<(), CliError> {
    let location = registry_url.map(postgres_location).transpose()?;
    let key = IssuerSigningKey::generate_with(alg, rng).map_err(|e| CliError(format!("key generation: {e}")))?;
    let secret = key.to_secret_string();
    // Validate the identifier before touching the disk: what the issuer
    // service will publish as its credential issuer identifier (https, or
    // http to a loopback host; no query, no fragment).
    let issuer = Issuer::new(iss, key).map_err(|e| CliError(format!("--iss {iss}: {e}")))?;
    creditproof::oid4vci::Oid4vciIssuer::new(issuer, creditproof::oid4vci::Oid4vciConfig::default())
        .map_err(|e| CliError(format!("--iss {iss}: {e}")))?;
    let registry = dir.join(REGISTRY_FILE);
    if !force && dir.join(ISSUER_FILE).exists() {
        return Err((dir.join(ISSUER_FILE).as_path(), "already exists (use --force to overwrite)").into());
    }
    if registry.exists() || dir.join(REGISTRY_URL_FILE).exists() {
        // --force may not discard the record of what was issued: a new
        // registry would hand out indexes already in use.
        return Err((dir, "already holds an issuer registry; refusing to discard issuer state").into());
    }
    create_private_dir(dir)?;
    let state = json!({"type": "creditproof-issuer/1", "iss": iss, "signing_key": secret.as_str(), "retired_keys": []});
    write_issuer_state(dir, state, force)?;
    let base = status_base.map_or_else(|| format!("{}/status", iss.trim_end_matches('/')), str::to_owned);
    match location {
        Some(location) => {
            match location.create(&base, DEFAULT_LIST_CAPACITY) {
                Ok(_) => {}
                Err(RegistryError::Exists) => {
                    // Another node's directory made it: share it, if it is
                    // this issuer's (same status list base).
                    let mut reg = location.open().map_err(|e| CliError(format!("--registry {location}: {e}")))?;
                    let lists = reg.lists().map_err(|e| CliError(format!("--registry {location}: {e}")))?;
                    if lists.first().is_none_or(|(uri, _)| uri != &format!("{base}/1")) {
                        return Err(CliError(format!(
                            "--registry {location}: already holds the registry of another status list base"
                        )));
                    }
                }
                Err(e) => return Err(CliError(format!("--registry {location}: {e}"))),
            }
            let RegistryLocation::Postgres(url) = &location else {
                return Err(CliError("--registry: expected a postgres:// URL".into()));
            };
            write_file(&dir.join(REGISTRY_URL_FILE), format!("{url}\n").as_bytes(), Access::Secret, false)
        }
        None => {
            RegistryLocation::Sqlite(registry.clone())
                .create(&base, DEFAULT_LIST_CAPACITY)
                .map_err(|e| CliError::from((registry.as_path(), e)))?;
            set_private(&registry)
        }
    }
}

/// The registry location of a `--registry` value: a PostgreSQL URL.
fn postgres_location(url: &str) -> Result<RegistryLocation, CliError> {
    if !creditproof::registry::is_postgres_url(url) {
        return Err(CliError("--registry: expected a postgres:// or postgresql:// URL".into()));
    }
    Ok(RegistryLocation::Postgres(url.trim().to_owned()))
}

/// Where the issuer directory's registry lives: `--registry` if given, else
/// the URL `issuer init --registry` recorded, else `registry.sqlite`.
pub fn registry_location(
    dir: &Path,
    registry_url: Option<&str>,
    allow_insecure: bool,
) -> Result<RegistryLocation, CliError> {
    if let Some(url) = registry_url {
        return postgres_location(url);
    }
    let recorded = dir.join(REGISTRY_URL_FILE);
    if recorded.exists() {
        check_private(&recorded, allow_insecure)?;
        let text = Zeroizing::new(
            String::from_utf8(read_bounded(&recorded, 4096)?)
                .map_err(|_| CliError::from((recorded.as_path(), "is not utf-8")))?,
        );
        return postgres_location(text.trim()).map_err(|e| CliError(format!("{}: {}", recorded.display(), e.0)));
    }
    Ok(RegistryLocation::Sqlite(dir.join(REGISTRY_FILE)))
}

/// An exclusive advisory lock on a state directory (`flock` on `.lock`),
/// held until dropped. The operating system releases it when the process
/// dies, so a crash never leaves a stale lock behind.
#[must_use = "the lock is released when dropped"]
pub struct DirLock {
    _file: std::fs::File,
}

/// Waits for and takes the lock of `dir`, which must exist (else `missing`
/// is the error).
fn lock_dir(dir: &Path, missing: &str) -> Result<DirLock, CliError> {
    if !dir.is_dir() {
        return Err((dir, missing.to_owned()).into());
    }
    let path = dir.join(LOCK_FILE);
    // A FIFO here would block the open (and the command) forever.
    let file = open_regular(&path, std::fs::OpenOptions::new().create(true).truncate(false).write(true))?;
    file.lock().map_err(|e| CliError::from((path.as_path(), e)))?;
    Ok(DirLock { _file: file })
}

/// Waits for and takes the lock of an issuer directory (see [`DirLock`]).
pub fn lock_issuer(dir: &Path) -> Result<DirLock, CliError> {
    lock_dir(dir, NOT_ISSUER)
}

const NOT_ISSUER: &str = "is not an issuer directory (run `creditproof issuer init`)";
const NOT_WALLET: &str = "is not a wallet (run `creditproof holder init`)";

/// Writes the issuer file atomically, then wipes the secret from `state`.
/// Callers that read, change and write it hold the directory's lock.
fn write_issuer_state(dir: &Path, state: Value, replace: bool) -> Result<(), CliError> {
    let state = WipeOnDrop(state);
    let text = Zeroizing::new(serde_json::to_string_pretty(&state.0).unwrap_or_default());
    write_file(&dir.join(ISSUER_FILE), text.as_bytes(), Access::Secret, replace)
}

fn wipe_secret(state: &mut Value) {
    if let Some(Value::String(s)) = state.get_mut("signing_key") {
        s.zeroize();
    }
}

/// The issuer file, parsed: its JSON (secret, wiped on drop) and the issuer
/// it describes.
struct IssuerState {
    doc: WipeOnDrop,
    issuer: Issuer,
}

fn read_issuer_state(dir: &Path, allow_insecure: bool, now: UnixTime) -> Result<IssuerState, CliError> {
    let path = dir.join(ISSUER_FILE);
    if !path.exists() {
        return Err((dir, NOT_ISSUER).into());
    }
    check_private(&path, allow_insecure)?;
    let bytes = Zeroizing::new(read_bounded(&path, MAX_STATE)?);
    let bad = |what: &str| CliError::from((path.as_path(), what.to_owned()));
    // Wiped however this function returns.
    let doc = WipeOnDrop(serde_json::from_slice(&bytes).map_err(|_| bad("is not valid json"))?);
    let v = &doc.0;
    if v.get("type").and_then(Value::as_str) != Some("creditproof-issuer/1") {
        return Err(bad("is not a creditproof issuer file"));
    }
    let iss = v.get("iss").and_then(Value::as_str).ok_or_else(|| bad("has no `iss`"))?;
    let secret = v.get("signing_key").and_then(Value::as_str).unwrap_or_default();
    let key = IssuerSigningKey::from_secret_string(secret).map_err(|_| bad("has no valid `signing_key`"))?;
    let mut issuer = Issuer::new(iss, key).map_err(|e| CliError::from((path.as_path(), e)))?;
    for retired in retired_keys(v) {
        let key = IssuerPublicKey::from_jwk(&retired["jwk"]).map_err(|_| bad("has an invalid retired key"))?;
        if retired["publish_until"].as_u64().unwrap_or(0) > now.as_secs() {
            issuer.publish_retired_key(key);
        }
    }
    Ok(IssuerState { doc, issuer })
}

/// Issuer state parsed into a `Value`, its secret wiped on drop.
struct WipeOnDrop(Value);

impl Drop for WipeOnDrop {
    fn drop(&mut self) {
        wipe_secret(&mut self.0);
    }
}

fn retired_keys(v: &Value) -> Vec<Value> {
    v.get("retired_keys").and_then(Value::as_array).cloned().unwrap_or_default()
}

pub fn load_issuer(dir: &Path, allow_insecure: bool) -> Result<Issuer, CliError> {
    load_issuer_at(dir, allow_insecure, UnixTime::now())
}

/// The issuer, publishing the retired keys still published at `now`.
pub fn load_issuer_at(dir: &Path, allow_insecure: bool, now: UnixTime) -> Result<Issuer, CliError> {
    read_issuer_state(dir, allow_insecure, now).map(|s| s.issuer)
}

/// Replaces the signing key with a fresh one of `alg`. The old key is
/// retired: it signs nothing more, but stays in the published metadata until
/// every credential it signed has expired. Returns the new and the old `kid`.
pub fn rotate_key(
    dir: &Path,
    alg: Algorithm,
    now: UnixTime,
    allow_insecure: bool,
    rng: &mut dyn SecureRng,
) -> Result<(String, String), CliError> {
    // Locked: two rotations at once would otherwise each retire the same
    // key, and the last writer would drop the other's new key.
    let _lock = lock_dir(dir, NOT_ISSUER)?;
    let mut state = read_issuer_state(dir, allow_insecure, now)?;
    let old = state.issuer.public_key();
    let key = IssuerSigningKey::generate_with(alg, rng).map_err(|e| CliError(format!("key generation: {e}")))?;
    let new_kid = key.public_key().thumbprint();
    let until = now.as_secs().saturating_add(state.issuer.credential_lifetime_secs());
    let v = &mut state.doc.0;
    let mut retired = retired_keys(v);
    retired.push(json!({"jwk": old.to_jwk(), "retired_at": now.as_secs(), "publish_until": until}));
    v["retired_keys"] = Value::Array(retired);
    wipe_secret(v); // the old secret, before its string is replaced
    v["signing_key"] = Value::String(key.to_secret_string().to_string());
    write_issuer_state(dir, std::mem::take(v), true)?;
    Ok((new_kid, old.thumbprint()))
}

/// Stops publishing a retired key now (e.g. after a compromise): what it
/// signed stops verifying for verifiers that build their trust store
/// afresh from the new metadata.
pub fn remove_key(dir: &Path, kid: &str, allow_insecure: bool) -> Result<(), CliError> {
    let _lock = lock_dir(dir, NOT_ISSUER)?;
    let mut state = read_issuer_state(dir, allow_insecure, UnixTime::now())?;
    if state.issuer.kid() == kid {
        return Err(CliError(format!("{kid} is the current signing key; rotate first (`issuer rotate-key`)")));
    }
    let v = &mut state.doc.0;
    let mut retired = retired_keys(v);
    let before = retired.len();
    retired.retain(|r| IssuerPublicKey::from_jwk(&r["jwk"]).map(|k| k.thumbprint()).ok().as_deref() != Some(kid));
    if retired.len() == before {
        return Err(CliError(format!("{kid} is not a retired key of this issuer")));
    }
    v["retired_keys"] = Value::Array(retired);
    write_issuer_state(dir, std::mem::take(v), true)
}

/// The issuer directory's registry file.
pub fn registry_path(dir: &Path) -> std::path::PathBuf {
    dir.join(REGISTRY_FILE)
}

/// The issuer directory's OpenID4VCI state file (created on first use).
pub fn store_path(dir: &Path) -> std::path::PathBuf {
    dir.join(STORE_FILE)
}

/// Opens (creating it if needed) the issuer directory's OpenID4VCI state,
/// refusing a file, or companion file, that is not a regular one or that
/// others can read.
///
/// With a PostgreSQL registry (`issuer init --registry`), the state lives
/// in that database, shared by every node.
pub fn open_store(dir: &Path, allow_insecure: bool) -> Result<creditproof::server::IssuerStore, CliError> {
    if let RegistryLocation::Postgres(url) = registry_location(dir, None, allow_insecure)? {
        return creditproof::server::PgStore::open(&url)
            .map(creditproof::server::IssuerStore::Postgres)
            .map_err(|e| CliError(format!("{}: {e}", RegistryLocation::Postgres(url.clone()))));
    }
    let path = store_path(dir);
    if path.exists() {
        check_private(&path, allow_insecure)?;
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.clone().into_os_string();
        side.push(suffix);
        check_regular(Path::new(&side))?;
    }
    creditproof::server::SqliteStore::open(&path)
        .map(creditproof::server::IssuerStore::Sqlite)
        .map_err(|e| CliError::from((path.as_path(), e)))
}

/// A number that changes when `issuer.json` does (its modification time
/// and length), for the service to reload the issuer.
pub fn issuer_file_version(dir: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(dir.join(ISSUER_FILE)) else {
        return 0;
    };
    let nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    nanos ^ meta.len().rotate_left(48)
}

/// Opens the issuer's registry (see [`registry_location`]; an SQLite file
/// is refused if others can read it).
pub fn open_registry(dir: &Path, registry_url: Option<&str>, allow_insecure: bool) -> Result<AnyRegistry, CliError> {
    let location = registry_location(dir, registry_url, allow_insecure)?;
    let path = match location {
        RegistryLocation::Sqlite(path) => path,
        postgres => return postgres.open().map_err(|e| CliError(format!("registry {postgres}: {e}"))),
    };
    if !path.exists() {
        return Err((dir, "has no issuer registry (run `creditproof issuer init`)").into());
    }
    check_private(&path, allow_insecure)?; // refuses a FIFO or a device too
                                           // SQLite opens the companion files itself: none may be one either.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.clone().into_os_string();
        side.push(suffix);
        check_regular(Path::new(&side))?;
    }
    RegistryLocation::Sqlite(path.clone()).open().map_err(|e| CliError::from((path.as_path(), e)))
}

/// The issuer's policy book: `policies/` in the issuer directory.
pub fn policy_book(dir: &Path) -> creditproof::server::PolicyBook {
    creditproof::server::PolicyBook::new(dir.join("policies"))
}

/// Publishes a policy the issuer scores with in its policy book, before
/// anything is scored: so corrections re-score under exactly the same
/// rules, the service serves it, and a version already published with
/// other rules is refused (versions are append-only).
pub fn keep_policy(dir: &Path, policy: &creditproof::policy::Policy) -> Result<(), CliError> {
    let book = policy_book(dir);
    book.publish(policy).map(|_| ()).map_err(|e| CliError::from((book.dir(), e.to_string())))
}

/// The published policy `id@version` from the issuer's policy book.
pub fn kept_policy(dir: &Path, id: &str, version: &str) -> Result<creditproof::policy::Policy, CliError> {
    let book = policy_book(dir);
    match book.get(id, version) {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err((dir, format!("has not published policy {id}@{version}")).into()),
        Err(e) => Err(CliError::from((book.dir(), e.to_string()))),
    }
}

fn set_private(path: &Path) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| CliError::from((path, e)))?;
    }
    let _ = path;
    Ok(())
}

pub fn init_wallet(dir: &Path, force: bool) -> Result<(), CliError> {
    create_private_dir(dir)?;
    write_file(&dir.join(WALLET_FILE), Wallet::new().to_secret_json().as_bytes(), Access::Secret, force)
}

/// The wallet, with its directory's lock: held until the changed wallet
/// is saved, so two commands never spend the same credential or drop each
/// other's keys.
pub fn load_wallet_locked(dir: &Path, allow_insecure: bool) -> Result<(Wallet, DirLock), CliError> {
    let lock = lock_dir(dir, NOT_WALLET)?;
    Ok((load_wallet(dir, allow_insecure)?, lock))
}

pub fn load_wallet(dir: &Path, allow_insecure: bool) -> Result<Wallet, CliError> {
    let path = dir.join(WALLET_FILE);
    if !path.exists() {
        return Err((dir, NOT_WALLET).into());
    }
    check_private(&path, allow_insecure)?;
    let bytes = Zeroizing::new(read_bounded(&path, MAX_STATE)?);
    Wallet::from_secret_json(&bytes).map_err(|e| CliError::from((path.as_path(), e)))
}

pub fn save_wallet(dir: &Path, w: &Wallet) -> Result<(), CliError> {
    write_file(&dir.join(WALLET_FILE), w.to_secret_json().as_bytes(), Access::Secret, true)
}
