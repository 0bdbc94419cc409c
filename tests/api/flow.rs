//! The happy path through the public API.

use crate::fixture::*;
use creditproof::error::HolderError;
use creditproof::{verdict_json, Claims, HolderSigningKey, PresentOptions, Wallet};
use serde_json::{json, Value};

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
fn perk_shows_the_perks_object_and_one_flag() {
    let mut fx = Fixture::new();
    let req = fx.request(&[], &["perk:no_deposit_rental"]);
    let parts = split(&fx.present(&req));
    let shown: Vec<Value> = parts.disclosures.iter().map(|d| decode_json(d)).collect();
    assert_eq!(shown.len(), 2, "the perks object and one flag: {shown:?}");
    assert_eq!(shown[0][1], "perks");
    // The object shows the padded digests of the flags, not their names.
    let digests = shown[0][2]["_sd"].as_array().unwrap();
    assert_eq!((digests.len(), shown[0][2].as_object().unwrap().len()), (8, 1), "two flags padded to 8");
    assert_eq!((&shown[1][1], &shown[1][2]), (&json!("no_deposit_rental"), &json!(true)));
    assert!(digests.iter().any(|d| d == &json!(sd_hash(&parts.disclosures[1]))));
}

#[test]
fn disclosing_perks_shows_every_flag() {
    let mut fx = Fixture::new();
    let req = fx.request(&["perks"], &[]);
    let preview = fx.wallet.preview(&req, PresentOptions::default(), NOW).unwrap();
    let all = json!({"no_deposit_rental": true, "express_airport_security": false});
    assert_eq!(preview.claims["perks"], all);
    let p = fx.present(&req);
    let v = fx.verify(&req, &p).unwrap();
    assert_eq!(v.disclosed()["perks"], all);
    // Asked for both the object and a perk, the verdict keeps the object.
    let req = fx.request(&["perks"], &["perk:no_deposit_rental"]);
    let mut fx2 = Fixture::new();
    let p = fx2.present(&req);
    let v = fx2.verify(&req, &p).unwrap();
    assert_eq!(v.disclosed()["perks"], all);
}

#[test]
fn a_top_level_flag_is_not_a_perk() {
    // An issuer that signs `no_deposit_rental` as a plain claim has not
    // issued a perk: `perk:NAME` reads `perks.NAME` only.
    let mut fx = Fixture::new();
    fx.wallet = Wallet::new();
    let pk = fx.wallet.insert_key(HolderSigningKey::from_secret_bytes(&fx.holder_secret));
    let mut flat = Claims::new();
    flat.insert("no_deposit_rental", true).unwrap();
    fx.wallet.store(fx.issuer.issue(&pk, &flat, NOW, &mut fx.rng).unwrap()).unwrap();
    let req = fx.request(&[], &["perk:no_deposit_rental"]);
    let e = fx.wallet.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e, HolderError::ClaimNotAvailable { name: "perks.no_deposit_rental".into() }.into());
    // The flat flag, disclosed and bound to the perk request, is refused.
    let plain = fx.request(&["no_deposit_rental"], &[]);
    let p = fx.present(&plain);
    let mut parts = split(&p);
    parts.kb_payload["nonce"] = json!(req.nonce());
    parts.kb_payload["aud"] = json!(req.audience());
    let jwt = p.split('~').next().unwrap();
    let forged = parts.assemble_with_jwt(jwt, &fx.holder_secret);
    assert_eq!(fx.verify(&req, &forged).unwrap_err().check(), "predicate.missing_proof");
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
    let e = again.unwrap_err();
    assert_eq!(e, HolderError::NoneUsable { spent: 1, expired: 0, revoked: 0, suspended: 0, superseded: 0 }.into());
    assert!(e.to_string().contains("every credential that could answer is spent (1)"), "{e}");
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
    assert_eq!(p["vct"], "urn:creditproof:score:2");
    assert!(p.get("_sd_alg").is_none(), "absent means sha-256 (RFC 9901 §4.1.1)");
    // tier, policy, perks and one decoy: padded to a multiple of 4.
    assert_eq!(p["_sd"].as_array().unwrap().len(), 4, "real digests padded with decoys");
    assert_eq!(p["iat"].as_u64().unwrap() % 86_400, 0, "iat rounded to the day");
    assert_eq!(p["exp"].as_u64().unwrap() % 86_400, 0, "exp rounded to the day");
    assert_eq!(p["cnf"]["jwk"]["kty"], "OKP");
    for claim in ["tier", "policy", "perks", "no_deposit_rental"] {
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
