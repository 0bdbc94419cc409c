//! The issuer directory and the wallet directory on disk.

use std::path::Path;

use creditproof::{Issuer, IssuerSigningKey, SecureRng, Wallet};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::files::{check_private, create_private_dir, read_bounded, write_file, Access, CliError};

const ISSUER_FILE: &str = "issuer.json";
const WALLET_FILE: &str = "wallet.json";
const MAX_STATE: u64 = 64 * 1024 * 1024;

pub fn init_issuer(
    dir: &Path,
    iss: &str,
    force: bool,
    rng: &mut dyn SecureRng,
) -> Result<(), CliError> {
    let key = IssuerSigningKey::generate(rng);
    // Validate the identifier before touching the disk.
    Issuer::new(
        iss,
        IssuerSigningKey::from_secret_bytes(&key.to_secret_bytes()),
    )
    .map_err(|e| CliError(format!("--iss {iss}: {e}")))?;
    create_private_dir(dir)?;
    let secret = Zeroizing::new(base64_secret(&key));
    let text = Zeroizing::new(
        json!({"type": "creditproof-issuer/1", "iss": iss, "signing_key": secret.as_str()})
            .to_string(),
    );
    write_file(
        &dir.join(ISSUER_FILE),
        text.as_bytes(),
        Access::Secret,
        force,
    )
}

fn base64_secret(key: &IssuerSigningKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*key.to_secret_bytes())
}

pub fn load_issuer(dir: &Path, allow_insecure: bool) -> Result<Issuer, CliError> {
    let path = dir.join(ISSUER_FILE);
    if !path.exists() {
        return Err((
            dir,
            "is not an issuer directory (run `creditproof issuer init`)",
        )
            .into());
    }
    check_private(&path, allow_insecure)?;
    let bytes = Zeroizing::new(read_bounded(&path, MAX_STATE)?);
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| CliError::from((path.as_path(), "is not valid json")))?;
    if v.get("type").and_then(Value::as_str) != Some("creditproof-issuer/1") {
        return Err((path.as_path(), "is not a creditproof issuer file").into());
    }
    let iss = v
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::from((path.as_path(), "has no `iss`")))?;
    let secret = v
        .get("signing_key")
        .and_then(Value::as_str)
        .unwrap_or_default();
    use base64::Engine as _;
    let raw = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| CliError::from((path.as_path(), "has no valid `signing_key`")))?,
    );
    Issuer::new(iss, IssuerSigningKey::from_secret_bytes(&raw))
        .map_err(|e| CliError::from((path.as_path(), e)))
}

pub fn init_wallet(dir: &Path, force: bool) -> Result<(), CliError> {
    create_private_dir(dir)?;
    write_file(
        &dir.join(WALLET_FILE),
        Wallet::new().to_secret_json().as_bytes(),
        Access::Secret,
        force,
    )
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
    write_file(
        &dir.join(WALLET_FILE),
        w.to_secret_json().as_bytes(),
        Access::Secret,
        true,
    )
}
