//! Single-use credentials in batches: proofs of possession, unlinkability.

use std::collections::HashSet;

use crate::fixture::*;
use creditproof::hazmat::SeededRng;
use creditproof::status_list::IndexAllocator;
use creditproof::{Claims, KeyRequest, NoncePolicy, PresentOptions, PresentationRequest, StatusRef, Wallet};
use serde_json::Value;

const URI: &str = "https://bureau.example/status/1";

fn batch(fx: &mut Fixture, wallet: &mut Wallet, n: usize, alloc: &mut IndexAllocator) -> Vec<StatusRef> {
    let nonce = fx.issuer.nonce(NOW, &mut fx.rng);
    let req = wallet.request_keys(n, Some((ISS, &nonce)), NOW, &mut fx.rng);
    let bytes = req.to_json().to_string();
    let checked = KeyRequest::from_json(
        bytes.as_bytes(),
        &fx.issuer,
        NoncePolicy::Required,
        NOW,
        &creditproof::Limits::default(),
    )
    .unwrap();
    let mut rng = SeededRng::new(b"alloc");
    let statuses: Vec<StatusRef> = (0..n)
        .map(|_| StatusRef {
            uri: URI.into(),
            idx: alloc.allocate(&mut |b| creditproof::SecureRng::fill(&mut rng, b)).unwrap() as u64,
        })
        .collect();
    let mut claims = Claims::new();
    claims.commit("score", 712, 950).unwrap();
    claims.insert("tier", "A").unwrap();
    claims.insert_perk("no_deposit_rental", true).unwrap();
    for c in fx.issuer.issue_batch(&checked, &claims, Some(&statuses), NOW, &mut fx.rng).unwrap() {
        wallet.store(c).unwrap();
    }
    statuses
}

#[test]
fn proofs_of_possession_are_checked() {
    let mut fx = Fixture::new();
    let mut w = Wallet::new();
    let l = creditproof::Limits::default();
    let nonce = fx.issuer.nonce(NOW, &mut fx.rng);
    let good = w.request_keys(2, Some((ISS, &nonce)), NOW, &mut fx.rng).to_json();
    assert!(KeyRequest::from_json(good.to_string().as_bytes(), &fx.issuer, NoncePolicy::Required, NOW, &l).is_ok());
    let no_nonce = w.request_keys(1, None, NOW, &mut fx.rng).to_json().to_string();
    let e = KeyRequest::from_json(no_nonce.as_bytes(), &fx.issuer, NoncePolicy::Required, NOW, &l).unwrap_err();
    // Keys made without a nonce are told so, not "failed its audience check".
    assert_eq!(e.check(), "issuance.proof_without_nonce");
    assert!(e.to_string().contains("carry no issuer nonce"), "{e}");
    assert!(KeyRequest::from_json(no_nonce.as_bytes(), &fx.issuer, NoncePolicy::IfPresent, NOW, &l).is_ok());
    // A stale nonce, another issuer's audience, and a key swapped under a proof.
    let later = creditproof::UnixTime(NOW.0 + 2 * 3600);
    let e =
        KeyRequest::from_json(good.to_string().as_bytes(), &fx.issuer, NoncePolicy::Required, later, &l).unwrap_err();
    assert_eq!(e.check(), "issuance.proof_of_possession");
    let other = w.request_keys(1, Some(("https://other.example", &nonce)), NOW, &mut fx.rng).to_json().to_string();
    assert!(KeyRequest::from_json(other.as_bytes(), &fx.issuer, NoncePolicy::Required, NOW, &l).is_err());
    let mut swapped = good.clone();
    swapped["keys"][0]["jwk"] = good["keys"][1]["jwk"].clone();
    let e =
        KeyRequest::from_json(swapped.to_string().as_bytes(), &fx.issuer, NoncePolicy::IfPresent, NOW, &l).unwrap_err();
    assert_eq!(e.check(), "issuance.proof_of_possession");
    let forged_nonce = "A".repeat(64);
    let bad = w.request_keys(1, Some((ISS, &forged_nonce)), NOW, &mut fx.rng).to_json().to_string();
    assert!(KeyRequest::from_json(bad.as_bytes(), &fx.issuer, NoncePolicy::IfPresent, NOW, &l).is_err());
    // Over the batch limit.
    let big = w.request_keys(65, Some((ISS, &nonce)), NOW, &mut fx.rng).to_json().to_string();
    let e = KeyRequest::from_json(big.as_bytes(), &fx.issuer, NoncePolicy::Required, NOW, &l).unwrap_err();
    assert_eq!(e.check(), "issuance.batch_size");
}

#[test]
fn a_batch_shares_timestamps_and_draws_scattered_indexes() {
    let mut fx = Fixture::new();
    let mut w = Wallet::new();
    let mut alloc = IndexAllocator::new(1 << 20);
    let statuses = batch(&mut fx, &mut w, 16, &mut alloc);
    let mut idx: Vec<u64> = statuses.iter().map(|s| s.idx).collect();
    let drawn = idx.clone();
    idx.sort_unstable();
    assert_ne!(drawn, idx, "not drawn in increasing order");
    assert!(idx.windows(2).filter(|w| w[1] == w[0] + 1).count() < 2, "not consecutive: {idx:?}");
    let mut times = HashSet::new();
    for _ in 0..16 {
        let req = fx.request(&[], &[]);
        let p = w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
        let parts = split(p.as_str());
        times.insert((parts.payload["iat"].clone(), parts.payload["exp"].clone()));
    }
    assert_eq!(times.len(), 1, "one iat/exp for the whole batch");
    let req = fx.request(&[], &[]);
    assert_eq!(w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).unwrap_err().check(), "holder.none_usable");
}

/// Every leaf value (string or number) of a JSON value, as bytes.
fn leaves(v: &Value, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::String(s) => out.push(s.as_bytes().to_vec()),
        Value::Number(n) => out.push(n.to_string().into_bytes()),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Value::Object(m) => m.values().for_each(|x| leaves(x, out)),
        _ => {}
    }
}

/// The byte strings a presentation carries: every decoded JSON leaf of the
/// issuer JWT, the disclosures and the KB-JWT, the decoded digests,
/// commitments and proofs, and both signatures.
fn material(p: &str) -> Vec<Vec<u8>> {
    let parts = split(p);
    let mut out = Vec::new();
    for v in [&parts.header, &parts.payload, &parts.kb_header, &parts.kb_payload] {
        leaves(v, &mut out);
    }
    for d in &parts.disclosures {
        leaves(&decode_json(d), &mut out);
    }
    for jwt in [p.split('~').next().unwrap(), p.rsplit('~').next().unwrap()] {
        out.push(jwt.rsplit('.').next().unwrap().as_bytes().to_vec());
    }
    let decoded: Vec<Vec<u8>> = out
        .iter()
        .filter_map(|b| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b).ok())
        .collect();
    out.extend(decoded);
    out
}

/// Windows of 12 bytes that occur in both presentations and are not part
/// of a public value every holder of this issuer shares.
fn shared_secrets(a: &str, b: &str, public: &[Vec<u8>]) -> Vec<String> {
    let ma = material(a);
    let set_a: HashSet<&[u8]> = ma.iter().flat_map(|m| m.windows(12)).collect();
    let mb = material(b);
    let mut found = Vec::new();
    for w in mb.iter().flat_map(|m| m.windows(12)) {
        if set_a.contains(w) && !public.iter().any(|p| p.windows(12).any(|pw| pw == w)) {
            found.push(String::from_utf8_lossy(w).into_owned());
        }
    }
    found
}

#[test]
fn presentations_from_one_batch_cannot_be_linked() {
    for round in 0..6u8 {
        let mut fx = Fixture::new();
        fx.rng = SeededRng::new(&[b'l', round]);
        let mut w = Wallet::new();
        let mut alloc = IndexAllocator::new(1 << 20);
        batch(&mut fx, &mut w, 4, &mut alloc);
        let same = fx.request(&["tier"], &["score>=650"]);
        let other1 = fx.request(&["tier"], &["perk:no_deposit_rental"]);
        let other2 = PresentationRequest::builder("https://hotel.example")
            .predicate("score<=899".parse().unwrap())
            .build(&mut fx.rng)
            .unwrap();
        let ps: Vec<(String, &PresentationRequest)> = [&same, &same, &other1, &other2]
            .into_iter()
            .map(|r| (w.present(r, PresentOptions::default(), NOW, &mut fx.rng).unwrap().as_str().to_owned(), r))
            .collect();
        for (i, (a, ra)) in ps.iter().enumerate() {
            for (b, rb) in &ps[i + 1..] {
                // Public: the header and issuer-wide values, the disclosed
                // values, and what the verifiers themselves chose.
                let mut public: Vec<Vec<u8>> = vec![];
                for v in [&split(a).header, &split(b).header] {
                    leaves(v, &mut public);
                }
                for s in [ISS, "urn:creditproof:score:2", URI, "hashwires-v2", "sha-256", "perks", "no_deposit_rental"]
                {
                    public.push(s.as_bytes().to_vec());
                }
                for r in [ra, rb] {
                    public.push(r.nonce().as_bytes().to_vec());
                    public.push(r.audience().as_bytes().to_vec());
                }
                // Public values also count in their base64url-decoded form
                // (the kid is a thumbprint).
                let decoded: Vec<Vec<u8>> = public
                    .iter()
                    .filter_map(|p| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).ok())
                    .collect();
                public.extend(decoded);
                let shared = shared_secrets(a, b, &public);
                assert!(shared.is_empty(), "round {round}: presentations share {shared:?}");
            }
        }
    }
}

#[test]
fn a_reused_credential_is_linkable_and_says_so() {
    let mut fx = Fixture::new();
    let mut w = Wallet::new();
    let mut alloc = IndexAllocator::new(64);
    batch(&mut fx, &mut w, 1, &mut alloc);
    let r1 = fx.request(&["tier"], &[]);
    let r2 = fx.request(&["tier"], &[]);
    let a = w.present(&r1, PresentOptions::default(), NOW, &mut fx.rng).unwrap();
    assert!(w.present(&r2, PresentOptions::default(), NOW, &mut fx.rng).is_err(), "refused by default");
    let b = w.present(&r2, PresentOptions::default().allow_reuse(true), NOW, &mut fx.rng).unwrap();
    assert!(b.is_linkable() && !a.is_linkable());
    assert_eq!(a.as_str().split('~').next(), b.as_str().split('~').next(), "same signed credential: linkable");
    // The detector used for unlinkability fires on this linkable pair.
    let public = vec![ISS.as_bytes().to_vec()];
    assert!(!shared_secrets(a.as_str(), b.as_str(), &public).is_empty());
    assert!(w.inventory(NOW)[0].needs_refill());
}
