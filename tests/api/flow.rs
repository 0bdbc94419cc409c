//! The happy path through the public API.

use crate::fixture::*;
use creditproof::error::HolderError;
use creditproof::{verdict_json, PresentOptions, Wallet};
use serde_json::json;

#[test]
fn discloses_only_what_is_asked() {
    let mut fx = Fixture::new();
    let req = fx.request(&["tier"], &[]);
    let p = fx.present(&req);
    assert_eq!(split(&p).disclosures.len(), 1, "only the tier disclosure is sent");
    let v = fx.verify(&req, &p).unwrap();
    assert_eq!(v.issuer(), ISS);
    assert_eq!(v.disclosed().len(), 1);
    assert_eq!(v.disclosed()["tier"], "A");
    assert!(!p.contains("sesame"), "no other claim value leaks");
}

#[test]
fn perk_is_proven_without_other_claims() {
    let mut fx = Fixture::new();
    let req = fx.request(&[], &["perk:no_deposit_rental"]);
    let p = fx.present(&req);
    let v = fx.verify(&req, &p).unwrap();
    assert!(v.disclosed().is_empty());
    assert_eq!(v.proven()[0].to_string(), "perk:no_deposit_rental");
    let verdict = verdict_json(&Ok(v));
    assert_eq!(verdict["accepted"], true);
    assert_eq!(verdict["proven"], json!(["perk:no_deposit_rental"]));
}

#[test]
fn holder_refuses_missing_claim_and_false_perk() {
    let mut fx = Fixture::new();
    let req = fx.request(&["income"], &[]);
    let e = fx.wallet.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e, HolderError::ClaimNotAvailable { name: "income".into() }.into());
    let req = fx.request(&[], &["perk:express_airport_security"]);
    let e = fx.wallet.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e.check(), "holder.predicate_not_satisfied");
    // Nothing was spent by the refusals.
    let inv = fx.wallet.inventory(NOW);
    assert_eq!((inv[0].unspent, inv[0].spent), (1, 0));
}

#[test]
fn credentials_are_single_use_unless_reuse_is_explicit() {
    let mut fx = Fixture::new();
    let req = fx.request(&["tier"], &[]);
    let first = fx.wallet.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
    assert!(!first.is_linkable());
    let again = fx.wallet.present(&req, PresentOptions::default(), NOW, &mut fx.rng);
    assert_eq!(again.unwrap_err().check(), "holder.no_credential");
    let reused = fx.wallet.present(&req, PresentOptions::default().allow_reuse(true), NOW, &mut fx.rng).unwrap();
    assert!(reused.is_linkable());
}

#[test]
fn wallet_round_trips_through_its_secret_file() {
    let mut fx = Fixture::new();
    let req = fx.request(&["tier"], &[]);
    fx.present(&req);
    let restored = Wallet::from_secret_json(fx.wallet.to_secret_json().as_bytes()).unwrap();
    assert_eq!(restored.inventory(NOW), fx.wallet.inventory(NOW));
    assert!(format!("{restored:?}").contains("credentials: 1"));
}

#[test]
fn issued_credential_shape() {
    let mut fx = Fixture::new();
    let req = fx.request(&[], &[]);
    let parts = split(&fx.present(&req));
    assert_eq!(parts.header, json!({"alg":"EdDSA","typ":"dc+sd-jwt","kid": fx.issuer.kid()}));
    let p = &parts.payload;
    assert_eq!(p["iss"], ISS);
    assert_eq!(p["vct"], "urn:creditproof:score:1");
    assert_eq!(p["_sd_alg"], "sha-256");
    assert_eq!(p["_sd"].as_array().unwrap().len(), 8, "real digests padded with decoys");
    assert_eq!(p["iat"].as_u64().unwrap() % 86_400, 0, "iat rounded to the day");
    assert_eq!(p["exp"].as_u64().unwrap() % 86_400, 0, "exp rounded to the day");
    assert_eq!(p["cnf"]["jwk"]["kty"], "OKP");
    for claim in ["tier", "policy", "no_deposit_rental"] {
        assert!(p.get(claim).is_none(), "{claim} is only a digest");
    }
    assert_eq!(parts.kb_header, json!({"alg":"EdDSA","typ":"kb+jwt"}));
    for k in ["iat", "aud", "nonce", "sd_hash"] {
        assert!(parts.kb_payload.get(k).is_some(), "{k}");
    }
}

#[test]
fn inventory_is_per_issuer_and_policy() {
    let mut fx = Fixture::new();
    let pk = fx.wallet.generate_key(&mut fx.rng);
    let mut other = creditproof::Claims::new();
    other.insert("tier", "B").unwrap();
    fx.wallet.store(fx.issuer.issue(&pk, &other, NOW, &mut fx.rng).unwrap()).unwrap();
    let inv = fx.wallet.inventory(NOW);
    let keys: Vec<(&str, Option<&str>, usize)> =
        inv.iter().map(|i| (i.issuer.as_str(), i.policy.as_deref(), i.unspent)).collect();
    assert_eq!(keys, [(ISS, None, 1), (ISS, Some("sesame-style/1"), 1)]);
}
