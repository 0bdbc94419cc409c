//! The issuer directory and the wallet directory on disk.

use std::path::Path;

use creditproof::registry::{SqliteRegistry, DEFAULT_LIST_CAPACITY};
use creditproof::{Issuer, IssuerSigningKey, SecureRng, Wallet};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::files::{check_private, create_private_dir, read_bounded, write_file, Access, CliError};

const ISSUER_FILE: &str = "issuer.json";
const REGISTRY_FILE: &str = "registry.sqlite";
const WALLET_FILE: &str = "wallet.json";
const MAX_STATE: u64 = 64 * 1024 * 1024;

pub fn init_issuer(
    dir: &Path,
    iss: &str,
    status_base: Option<&str>,
    force: bool,
    rng: &mut dyn SecureRng,
) -> Result<(), CliError> {
    let key = IssuerSigningKey::generate(rng);
    // Validate the identifier before touching the disk.
    Issuer::new(iss, IssuerSigningKey::from_secret_bytes(&key.to_secret_bytes()))
        .map_err(|e| CliError(format!("--iss {iss}: {e}")))?;
    let registry = dir.join(REGISTRY_FILE);
    if !force && dir.join(ISSUER_FILE).exists() {
        return Err((dir.join(ISSUER_FILE).as_path(), "already exists (use --force to overwrite)").into());
    }
    if registry.exists() {
        // --force may not discard the record of what was issued: a new
        // registry would hand out indexes already in use.
        return Err((dir, "already holds an issuer registry; refusing to discard issuer state").into());
    }
    create_private_dir(dir)?;
    let secret = Zeroizing::new(base64_secret(&key));
    let text =
        Zeroizing::new(json!({"type": "creditproof-issuer/1", "iss": iss, "signing_key": secret.as_str()}).to_string());
    write_file(&dir.join(ISSUER_FILE), text.as_bytes(), Access::Secret, force)?;
    let base = status_base.map_or_else(|| format!("{}/status", iss.trim_end_matches('/')), str::to_owned);
    SqliteRegistry::create(&registry, &base, DEFAULT_LIST_CAPACITY)
        .map_err(|e| CliError::from((registry.as_path(), e)))?;
    set_private(&registry)
}

fn base64_secret(key: &IssuerSigningKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*key.to_secret_bytes())
}

pub fn load_issuer(dir: &Path, allow_insecure: bool) -> Result<Issuer, CliError> {
    let path = dir.join(ISSUER_FILE);
    if !path.exists() {
        return Err((dir, "is not an issuer directory (run `creditproof issuer init`)").into());
    }
    check_private(&path, allow_insecure)?;
    let bytes = Zeroizing::new(read_bounded(&path, MAX_STATE)?);
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| CliError::from((path.as_path(), "is not valid json")))?;
    if v.get("type").and_then(Value::as_str) != Some("creditproof-issuer/1") {
        return Err((path.as_path(), "is not a creditproof issuer file").into());
    }
    let iss = v.get("iss").and_then(Value::as_str).ok_or_else(|| CliError::from((path.as_path(), "has no `iss`")))?;
    let secret = v.get("signing_key").and_then(Value::as_str).unwrap_or_default();
    use base64::Engine as _;
    let raw = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| CliError::from((path.as_path(), "has no valid `signing_key`")))?,
    );
    Issuer::new(iss, IssuerSigningKey::from_secret_bytes(&raw)).map_err(|e| CliError::from((path.as_path(), e)))
}

/// Opens the issuer's registry (refused if others can read it).
pub fn open_registry(dir: &Path, allow_insecure: bool) -> Result<SqliteRegistry, CliError> {
    let path = dir.join(REGISTRY_FILE);
    if !path.exists() {
        return Err((dir, "has no issuer registry (run `creditproof issuer init`)").into());
    }
    check_private(&path, allow_insecure)?;
    SqliteRegistry::open(&path).map_err(|e| CliError::from((path.as_path(), e)))
}

/// Keeps a copy of a policy the issuer scored with, so corrections can
/// re-score under exactly the same rules.
pub fn keep_policy(dir: &Path, id: &str, version: &str, bytes: &[u8]) -> Result<(), CliError> {
    let pdir = dir.join("policies");
    std::fs::create_dir_all(&pdir).map_err(|e| CliError::from((pdir.as_path(), e)))?;
    let path = pdir.join(policy_file(id, version));
    if path.exists() {
        return Ok(());
    }
    write_file(&path, bytes, Access::Public, false)
}

/// The kept copy of a policy, by id and version.
pub fn kept_policy(dir: &Path, id: &str, version: &str) -> Result<std::path::PathBuf, CliError> {
    let path = dir.join("policies").join(policy_file(id, version));
    if !path.exists() {
        return Err((dir, format!("has no kept copy of policy {id}/{version}")).into());
    }
    Ok(path)
}

fn policy_file(id: &str, version: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
            .collect::<String>()
    };
    format!("{}@{}.json", clean(id), clean(version))
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

pub fn load_wallet(dir: &Path, allow_insecure: bool) -> Result<Wallet, CliError> {
    let path = dir.join(WALLET_FILE);
    if !path.exists() {
        return Err((dir, "is not a wallet (run `creditproof holder init`)").into());
    }
    check_private(&path, allow_insecure)?;
    let bytes = Zeroizing::new(read_bounded(&path, MAX_STATE)?);
    Wallet::from_secret_json(&bytes).map_err(|e| CliError::from((path.as_path(), e)))
}

pub fn save_wallet(dir: &Path, w: &Wallet) -> Result<(), CliError> {
    write_file(&dir.join(WALLET_FILE), w.to_secret_json().as_bytes(), Access::Secret, true)
}
