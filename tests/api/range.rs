//! Range predicates end to end: `score >= t`, `score <= t`, `a <= score <= b`.

use crate::fixture::*;
use creditproof::hazmat::SeededRng;
use creditproof::{
    verdict_json, Claims, HolderSigningKey, PresentOptions, PresentationRequest, TrustStore, Verifier, VerifierOptions,
    Wallet,
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

/// Like [`present`], answering thresholds off the threshold grid too (the
/// proofs themselves work for every threshold).
fn present_any(w: &mut Wallet, req: &PresentationRequest, rng: &mut SeededRng) -> Result<String, creditproof::Error> {
    w.present(req, PresentOptions::default().allow_off_grid(true), NOW, rng).map(|p| p.as_str().to_owned())
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
        match present_any(&mut w, &req, &mut fx.rng) {
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
    let req_le = fx.request(&[], &["score<=799"]);
    let p_le = present(&mut w, &req_le, &mut fx.rng).unwrap();
    let le = split(&p_le).kb_payload["range_proofs"]["score<=799"].clone();
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
    let _ = Verifier::with_options(t, VerifierOptions::default().allow_missing_status());
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
    let req = fx.request(&[], &["600<=score<=799"]);
    let p = present(&mut w, &req, &mut fx.rng).unwrap();
    assert!(fx.verify(&req, &p).is_ok());
    // A reused credential never proves a second range predicate.
    let again = fx.request(&[], &["score>=500"]);
    let opts = PresentOptions::default().allow_reuse(true);
    let _fresh = w.present(&again, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
    let e = w.present(&again, opts, NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e.check(), "holder.unsafe_request");
}

/// Issue 15: by default the wallet answers only thresholds on the
/// credential's grid (here the default grid of 0..=950: every 50). An
/// off-grid threshold is refused with the same error whatever the score,
/// so the refusal tells the verifier nothing; nothing is spent.
#[test]
fn off_grid_thresholds_are_refused_whatever_the_score() {
    let mut fx = Fixture::new();
    let mut refusals = Vec::new();
    for score in [300, 712, 713, 949] {
        let (mut w, _) = scored(score, 1, &mut fx);
        for pred in ["score>=713", "score<=700", "600<=score<=800", "701<=score<=749"] {
            let req = fx.request(&[], &[pred]);
            let e = w.preview(&req, PresentOptions::default(), NOW).unwrap_err();
            assert_eq!(e.check(), "holder.off_grid", "{score}: {pred}");
            let e2 = w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap_err();
            assert_eq!(e, e2);
            refusals.push((pred, e.to_string()));
        }
        assert_eq!(w.inventory(NOW)[0].unspent, 1, "nothing spent, nothing sent");
    }
    // Identical for every score.
    for pred in ["score>=713", "score<=700", "600<=score<=800", "701<=score<=749"] {
        let msgs: Vec<&String> = refusals.iter().filter(|(p, _)| *p == pred).map(|(_, m)| m).collect();
        assert!(msgs.windows(2).all(|w| w[0] == w[1]), "{msgs:?}");
    }
    let msg = &refusals[0].1;
    assert!(msg.contains("nearest on the grid: `score>=700`, `score>=750`"), "{msg}");
    assert!(refusals[1].1.contains("`score<=699`, `score<=749`"), "{}", refusals[1].1);
    assert!(refusals[3].1.contains("`700<=score<=749`"), "{}", refusals[3].1);
}

/// On-grid predicates of every form are answered, and the dry run says so.
#[test]
fn on_grid_predicates_are_answered_and_previewed() {
    let mut fx = Fixture::new();
    let (mut w, _) = scored(712, 8, &mut fx);
    for pred in ["score>=700", "score<=749", "700<=score<=749", "score>=0", "score<=950", "score<=5000"] {
        let req = fx.request(&[], &[pred]);
        let preview = w.preview(&req, PresentOptions::default(), NOW).unwrap();
        assert_eq!(preview.grid.len(), 1);
        assert!(preview.grid[0].on_grid && preview.grid[0].nearest.is_empty(), "{pred}");
        assert_eq!((preview.grid[0].cells, preview.grid[0].narrowest_cell), (19, 50));
        assert!(preview.to_string().contains("on the threshold grid"), "{preview}");
        let p = w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
        assert!(!p.is_off_grid());
        fx.verify(&req, p.as_str()).unwrap();
    }
    // Above the score, on the grid: refused for what it is.
    let req = fx.request(&[], &["score>=750"]);
    let e = w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e.check(), "holder.predicate_not_satisfied");
}

/// The holder can allow off-grid thresholds explicitly; the preview warns
/// and names the nearest grid thresholds, and the presentation says so.
#[test]
fn allow_off_grid_is_explicit_and_flagged() {
    let mut fx = Fixture::new();
    let (mut w, _) = scored(712, 2, &mut fx);
    let req = fx.request(&[], &["score>=701"]);
    let opts = PresentOptions::default().allow_off_grid(true);
    let preview = w.preview(&req, opts, NOW).unwrap();
    assert!(!preview.grid[0].on_grid);
    assert_eq!(preview.grid[0].nearest, ["score>=700", "score>=750"]);
    let text = preview.to_string();
    assert!(
        text.contains("WARNING: score>=701 is OFF the threshold grid (nearest on the grid: score>=700, score>=750)")
    );
    let p = w.present(&req, opts, NOW, &mut fx.rng).unwrap();
    assert!(p.is_off_grid());
    fx.verify(&req, p.as_str()).unwrap();
    // A perk or an on-grid predicate is not flagged.
    let req = fx.request(&[], &["score>=700"]);
    assert!(!w.present(&req, opts, NOW, &mut fx.rng).unwrap().is_off_grid());
}

/// The grid travels with the range secrets in the batch file and the
/// wallet file; a batch written before grids existed still loads, with the
/// default grid of its signed `score_scale` (or of its bit width); a grid
/// that does not fit the commitment is refused.
#[test]
fn grids_in_batch_files_old_and_bad() {
    let mut fx = Fixture::new();
    let mut wallet = Wallet::new();
    let pk = wallet.generate_key(&mut fx.rng);
    let limits = creditproof::Limits::default();
    let claims =
        Claims::from_json(br#"{"score":712,"score_scale":{"min":350,"max":950},"tier":"A"}"#, &limits).unwrap();
    let issued = fx.issuer.issue(&pk, &claims, NOW, &mut fx.rng).unwrap();
    let json = issued.to_json();
    assert_eq!(
        json["range"]["grids"]["score"]["thresholds"],
        json!([400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900])
    );
    let grid_of = |j: &Value, w: &mut Wallet, rng: &mut SeededRng| {
        let mut w2 = Wallet::from_secret_json(w.to_secret_json().as_bytes()).unwrap();
        w2.store(creditproof::IssuedCredential::from_json(j)?)?;
        // The wallet file keeps what the batch gave.
        let w3 = Wallet::from_secret_json(w2.to_secret_json().as_bytes()).unwrap();
        let req = PresentationRequest::builder(AUD).predicate("score>=701".parse().unwrap()).build(rng).unwrap();
        let p = w3.preview(&req, PresentOptions::default().allow_off_grid(true), NOW).unwrap();
        Ok::<_, creditproof::Error>(p.grid[0].nearest.clone())
    };
    assert_eq!(grid_of(&json, &mut wallet, &mut fx.rng).unwrap(), ["score>=700", "score>=750"]);
    // An old batch entry: no `grids`; the signed score_scale gives the same.
    let mut old = json.clone();
    old["range"].as_object_mut().unwrap().remove("grids");
    assert_eq!(grid_of(&old, &mut wallet, &mut fx.rng).unwrap(), ["score>=700", "score>=750"]);
    // Without a score_scale either: the default grid of 10 bits, 0..=1023.
    let mut hand = Claims::new();
    hand.commit("score", 712, 950).unwrap();
    let mut old = fx.issuer.issue(&pk, &hand, NOW, &mut fx.rng).unwrap().to_json();
    old["range"].as_object_mut().unwrap().remove("grids");
    assert_eq!(grid_of(&old, &mut wallet, &mut fx.rng).unwrap(), ["score>=700", "score>=800"]);
    // Grids that do not fit.
    for (grid, check) in [
        (json!({"min": 0, "max": 1024, "thresholds": []}), "grid.scale_mismatch"),
        (json!({"min": 750, "max": 950, "thresholds": []}), "grid.scale_mismatch"),
        (json!({"min": 0, "max": 950, "thresholds": [500, 400]}), "grid.not_increasing"),
        (json!({"min": 0, "max": 950}), "grid.malformed"),
    ] {
        let mut bad = json.clone();
        bad["range"]["grids"]["score"] = grid;
        assert_eq!(grid_of(&bad, &mut wallet, &mut fx.rng).unwrap_err().check(), check);
    }
    let mut bad = json.clone();
    bad["range"]["grids"]["income"] = json!({"min": 0, "max": 10, "thresholds": []});
    assert!(creditproof::IssuedCredential::from_json(&bad).is_err(), "a grid for an attribute not committed");
}
