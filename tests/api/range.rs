//! Range predicates end to end: `score >= t`, `score <= t`, `a <= score <= b`.

use crate::fixture::*;
use creditproof::hazmat::SeededRng;
use creditproof::{
    verdict_json, Claims, HolderSigningKey, PresentOptions, PresentationRequest, TrustStore, Verifier, Wallet,
};
use serde_json::{json, Value};

/// A wallet with `n` credentials committing to `score` on a 350..=950 scale.
fn scored(score: u64, n: usize, fx: &mut Fixture) -> (Wallet, [u8; 32]) {
    let mut claims = Claims::new();
    claims.commit("score", score, 950).unwrap();
    claims.insert("tier", "A").unwrap();
    let mut wallet = Wallet::new();
    let key = HolderSigningKey::generate(&mut fx.rng);
    let secret = *key.to_secret_bytes();
    let pk = wallet.insert_key(key);
    for _ in 0..n {
        wallet.store(fx.issuer.issue(&pk, &claims, NOW, &mut fx.rng).unwrap()).unwrap();
    }
    (wallet, secret)
}

fn present(w: &mut Wallet, req: &PresentationRequest, rng: &mut SeededRng) -> Result<String, creditproof::Error> {
    w.present(req, PresentOptions::default(), NOW, rng).map(|p| p.as_str().to_owned())
}

#[test]
fn predicates_hold_iff_the_score_satisfies_them() {
    let mut fx = Fixture::new();
    let (mut w, _) = scored(712, 12, &mut fx);
    for (pred, holds) in [
        ("score>=650", true),
        ("score>=712", true),
        ("score>=713", false),
        ("score>=0", true),
        ("score<=712", true),
        ("score<=711", false),
        ("score<=950", true),
        ("score<=100000", true),
        ("700<=score<=800", true),
        ("713<=score<=800", false),
        ("600<=score<=711", false),
        ("712<=score<=712", true),
    ] {
        let req = fx.request(&[], &[pred]);
        match present(&mut w, &req, &mut fx.rng) {
            Ok(p) => {
                assert!(holds, "{pred} must be refused by the holder");
                let v = fx.verify(&req, &p).unwrap();
                assert_eq!(v.proven()[0].to_string(), pred);
                let verdict = verdict_json(&Ok(v)).to_string();
                assert!(
                    !verdict.contains("712") || pred.contains("712"),
                    "the verdict never carries the score: {verdict}"
                );
            }
            Err(e) => {
                assert!(!holds, "{pred}: {e}");
                assert_eq!(e.check(), "holder.predicate_not_satisfied");
            }
        }
    }
}

#[test]
fn the_score_is_never_in_the_presentation_or_credential() {
    let mut fx = Fixture::new();
    let (mut w, _) = scored(712, 1, &mut fx);
    let req = fx.request(&["tier"], &["score>=650"]);
    let p = present(&mut w, &req, &mut fx.rng).unwrap();
    let parts = split(&p);
    assert!(parts.payload.get("score").is_none());
    for d in &parts.disclosures {
        assert!(!decode_json(d).to_string().contains("712"));
    }
    assert_eq!(parts.payload["range"]["score"]["scheme"], "hashwires-v2");
    assert_eq!(parts.payload["range"]["score"]["bits"], 10);
    // The base follows from `bits` (RangeParams::for_bits), so it is not sent.
    assert_eq!(parts.payload["range"]["score"].as_object().unwrap().len(), 4, "scheme, bits, ge, le");
    let proofs = parts.kb_payload["range_proofs"].as_object().unwrap();
    assert_eq!(proofs.keys().collect::<Vec<_>>(), ["score>=650"]);
}

/// Moves the range proofs of `from` into the KB-JWT of `to`, re-signed by
/// the holder, so only the range check can fail.
fn graft(to: &str, proofs: Value, holder: &[u8; 32], fx: &Fixture) -> String {
    let mut parts = split(to);
    parts.kb_payload["range_proofs"] = proofs;
    let jwt = to.split('~').next().unwrap();
    let _ = fx;
    parts.assemble_with_jwt(jwt, holder)
}

#[test]
fn a_proof_for_one_threshold_never_verifies_for_another() {
    let mut fx = Fixture::new();
    let (mut w, holder) = scored(712, 3, &mut fx);
    let req600 = fx.request(&[], &["score>=600"]);
    let p600 = present(&mut w, &req600, &mut fx.rng).unwrap();
    let proof600 = split(&p600).kb_payload["range_proofs"]["score>=600"].clone();
    let req650 = fx.request(&[], &["score>=650"]);
    let p650 = present(&mut w, &req650, &mut fx.rng).unwrap();
    let forged = graft(&p650, json!({"score>=650": proof600}), &holder, &fx);
    assert_eq!(fx.verify(&req650, &forged).unwrap_err().check(), "predicate.proof_invalid");
    // And a <= proof relabelled as >=.
    let req_le = fx.request(&[], &["score<=800"]);
    let p_le = present(&mut w, &req_le, &mut fx.rng).unwrap();
    let le = split(&p_le).kb_payload["range_proofs"]["score<=800"].clone();
    let forged = graft(&p650, json!({"score>=650": le}), &holder, &fx);
    assert_eq!(fx.verify(&req650, &forged).unwrap_err().check(), "predicate.proof_invalid");
}

#[test]
fn a_proof_never_verifies_for_another_credential_or_request() {
    let mut fx = Fixture::new();
    let (mut w, holder) = scored(712, 2, &mut fx);
    let req = fx.request(&[], &["score>=650"]);
    let a = w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap().as_str().to_owned();
    let b = w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap().as_str().to_owned();
    assert_ne!(a.split('~').next(), b.split('~').next(), "two different credentials");
    let proof_a = split(&a).kb_payload["range_proofs"].clone();
    let forged = graft(&b, proof_a, &holder, &fx);
    assert_eq!(fx.verify(&req, &forged).unwrap_err().check(), "predicate.proof_invalid");
    // Another request: the proof sits inside the KB-JWT, so it is bound to
    // that request's nonce and audience.
    let other = fx.request(&[], &["score>=650"]);
    assert_eq!(fx.verify(&other, &a).unwrap_err().check(), "holder_binding.nonce");
}

#[test]
fn missing_or_malformed_proofs_are_typed_errors() {
    let mut fx = Fixture::new();
    let (mut w, holder) = scored(712, 1, &mut fx);
    let req = fx.request(&[], &["score>=650"]);
    let p = present(&mut w, &req, &mut fx.rng).unwrap();
    let proof = split(&p).kb_payload["range_proofs"]["score>=650"].as_str().unwrap().to_owned();
    for (proofs, want) in [
        (json!({}), "predicate.missing_proof"),
        (json!({"score>=651": proof}), "predicate.missing_proof"),
        (json!({"score>=650": &proof[..proof.len() - 4]}), "predicate.proof_invalid"),
        (json!({"score>=650": format!("{proof}AAAA")}), "predicate.proof_invalid"),
        (json!({"score>=650": 5}), "predicate.missing_proof"),
        (json!("x"), "malformed.claim"),
    ] {
        let forged = graft(&p, proofs.clone(), &holder, &fx);
        assert_eq!(fx.verify(&req, &forged).unwrap_err().check(), want, "{proofs}");
    }
    // A credential without a commitment.
    let req = fx.request(&[], &["months_on_time>=12"]);
    let mut parts = split(&p);
    parts.kb_payload["nonce"] = json!(req.nonce());
    parts.kb_payload["range_proofs"] = json!({});
    let forged = parts.assemble_with_jwt(p.split('~').next().unwrap(), &holder);
    assert_eq!(fx.verify(&req, &forged).unwrap_err().check(), "predicate.no_commitment");
}

#[test]
fn every_byte_of_a_proof_matters() {
    let mut fx = Fixture::new();
    let (mut w, holder) = scored(712, 1, &mut fx);
    let req = fx.request(&[], &["score>=650"]);
    let p = present(&mut w, &req, &mut fx.rng).unwrap();
    let proof = split(&p).kb_payload["range_proofs"]["score>=650"].as_str().unwrap().to_owned();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &proof).unwrap();
    let mut tried = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let forged = graft(&p, json!({"score>=650": b64(&b)}), &holder, &fx);
        assert!(fx.verify(&req, &forged).is_err(), "byte {i}");
        tried += 1;
    }
    assert_eq!(tried, bytes.len());
}

#[test]
fn claims_file_commits_the_score() {
    let mut fx = Fixture::new();
    let claims = Claims::from_json(
        br#"{"score": 712, "score_scale": {"min": 350, "max": 950}, "tier": "A"}"#,
        &creditproof::Limits::default(),
    )
    .unwrap();
    let mut w = Wallet::new();
    let pk = w.generate_key(&mut fx.rng);
    w.store(fx.issuer.issue(&pk, &claims, NOW, &mut fx.rng).unwrap()).unwrap();
    let req = fx.request(&["score_scale"], &["score>=650"]);
    let p = present(&mut w, &req, &mut fx.rng).unwrap();
    let v = fx.verify(&req, &p).unwrap();
    assert_eq!(v.disclosed()["score_scale"], json!({"min": 350, "max": 950}));
    for bad in [
        r#"{"score": 712}"#,
        r#"{"score": 1000, "score_scale": {"min": 350, "max": 950}}"#,
        r#"{"score": -1, "score_scale": {"min": 350, "max": 950}}"#,
        r#"{"score": 700, "score_scale": {"min": 950, "max": 350}}"#,
    ] {
        assert!(Claims::from_json(bad.as_bytes(), &creditproof::Limits::default()).is_err(), "{bad}");
    }
    let mut t = TrustStore::new();
    t.add(ISS, fx.issuer.public_key());
    let _ = Verifier::new(t);
}

/// Two proofs on one commitment can reveal the value: with `score>=0` the
/// holder reveals its own digits' nodes, with `score>=511` (octal 777) the
/// chain starts, and hashing forward recovers the score. Neither a request
/// nor a wallet allows it.
#[test]
fn two_proofs_on_one_commitment_are_refused() {
    let mut fx = Fixture::new();
    for preds in
        [vec!["score>=0", "score>=511"], vec!["score>=600", "650<=score<=900"], vec!["score<=900", "600<=score<=800"]]
    {
        let mut b = PresentationRequest::builder(AUD);
        for p in &preds {
            b = b.predicate(p.parse().unwrap());
        }
        let e = b.build(&mut fx.rng).unwrap_err();
        assert_eq!(e.check(), "malformed.request", "{preds:?}");
        let raw = json!({"aud": AUD, "nonce": "0123456789abcdef0123", "predicates": preds}).to_string();
        assert!(PresentationRequest::from_json(raw.as_bytes(), &creditproof::Limits::default()).is_err());
    }
    // One >= and one <= (two different commitments) is fine.
    let (mut w, _) = scored(712, 2, &mut fx);
    let req = fx.request(&[], &["600<=score<=800"]);
    let p = present(&mut w, &req, &mut fx.rng).unwrap();
    assert!(fx.verify(&req, &p).is_ok());
    // A reused credential never proves a second range predicate.
    let again = fx.request(&[], &["score>=511"]);
    let opts = PresentOptions::default().allow_reuse(true);
    let _fresh = w.present(&again, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
    let e = w.present(&again, opts, NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e.check(), "holder.unsafe_request");
}
