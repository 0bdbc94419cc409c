//! Secrets never show in Debug output.

use crate::fixture::*;
use creditproof::hazmat::range::RangeSeed;
use creditproof::hazmat::SeededRng;
use creditproof::{Claims, HolderSigningKey, IssuerSigningKey, Wallet};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// No rendering of `secret` (bytes list, hex, base64url) is in `shown`.
fn assert_hidden(shown: &str, secret: &[u8], what: &str) {
    assert!(!shown.contains(&format!("{secret:?}")), "{what}: byte list in {shown}");
    assert!(!shown.contains(&hex(secret)), "{what}: hex in {shown}");
    assert!(!shown.contains(&b64(secret)), "{what}: base64url in {shown}");
}

#[test]
fn debug_output_of_every_secret_type_is_redacted() {
    let mut rng = SeededRng::new(b"secrets");
    let ik = IssuerSigningKey::generate(&mut rng);
    assert_hidden(&format!("{ik:?}"), &*ik.to_secret_bytes(), "issuer key");
    let hk = HolderSigningKey::generate(&mut rng);
    let hk_bytes = *hk.to_secret_bytes();
    assert_hidden(&format!("{hk:?}"), &hk_bytes, "holder key");
    let seed = RangeSeed::from_bytes([0x5a; 32]);
    assert_hidden(&format!("{seed:?}"), &[0x5a; 32], "range seed");
    assert_hidden(&format!("{rng:?}"), b"secrets", "seeded rng");

    // An issued credential (salts, undisclosed values, range seed and the
    // committed score) and the wallet holding it.
    let fx = Fixture::new();
    let mut claims = Claims::new();
    claims.commit("score", 712, 950).unwrap();
    claims.insert("tier", "secret-tier-value").unwrap();
    let mut w = Wallet::new();
    let pk = w.insert_key(hk);
    let cred = fx.issuer.issue(&pk, &claims, NOW, &mut rng).unwrap();
    let shown = format!("{cred:?}");
    assert!(!shown.contains("secret-tier-value") && !shown.contains("712") && !shown.contains('~'), "{shown}");
    w.store(cred).unwrap();
    let shown = format!("{w:?}");
    assert!(!shown.contains("secret-tier-value") && !shown.contains("712"), "{shown}");
    assert_hidden(&shown, &hk_bytes, "wallet");
    let shown = format!("{:?}", fx.issuer);
    assert_hidden(&shown, &fx.issuer_secret, "issuer");
}
