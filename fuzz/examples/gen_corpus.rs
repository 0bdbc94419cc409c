//! Writes the seed corpus under `corpus/<target>/` from real library output.
//! Run once from `fuzz/`: `cargo run --example gen_corpus`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use creditproof::hazmat::range::{prove, RangeParams, RangeSeed};
use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, StatusRef, Wallet, DAY};
use std::fs;

#[path = "../fuzz_targets/forged_fixture.rs"]
mod forged_fixture;
use forged_fixture::{forged_fixture, Forged, NOW, URI};

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = format!("corpus/{target}");
    fs::create_dir_all(&dir).unwrap();
    fs::write(format!("{dir}/{name}"), bytes).unwrap();
}

fn main() {
    let mut rng = SeededRng::new(b"creditproof fuzz corpus");
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();

    // verify: real presentations (a disclosure; a range proof; a status-checked credential).
    let mut claims = Claims::new();
    claims.insert("tier", "A").unwrap();
    claims.insert_perk("no_deposit_rental", true).unwrap();
    claims.commit("score", 712, 950).unwrap();
    let status = StatusRef { uri: URI.into(), idx: 3 };
    for (i, preds) in
        [&[][..], &["score>=650"][..], &["perk:no_deposit_rental", "600<=score<=800"][..]].into_iter().enumerate()
    {
        let mut w = Wallet::new();
        let pk = w.generate_key(&mut rng);
        let cred = if i == 2 {
            issuer.issue_with_status(&pk, &claims, &status, NOW, &mut rng)
        } else {
            issuer.issue(&pk, &claims, NOW, &mut rng)
        };
        w.store(cred.unwrap()).unwrap();
        let mut b = PresentationRequest::builder("https://v.example").disclose("tier");
        for p in preds {
            b = b.predicate(p.parse().unwrap());
        }
        let request = b.build(&mut rng).unwrap();
        let p = w.present(&request, PresentOptions::default().allow_off_grid(true), NOW, &mut rng).unwrap();
        write("verify", &format!("presentation{i}"), p.as_str());
        write("request", &format!("request{i}"), request.to_json().to_string());
        if i == 2 {
            // oracle: a real presentation too (read as ops, it is just noise).
            write("oracle", "presentation", p.as_str());
        }
    }

    // oracle: op sequences [case, (op, x, y, z)*].
    write("oracle", "substitute", [2, 0, 0, 0x10, b'A']);
    write("oracle", "delete_disclosure", [1, 1, 1, 0, 0]);
    write("oracle", "swap_disclosures", [2, 3, 1, 2, 0]);
    write("oracle", "splice", [2, 6, 1, 1, 0]);
    write("oracle", "duplicate_truncate", [0, 2, 1, 0, 0, 4, 0x01, 0x00, 0]);

    // status_list: (bits byte, lst) pairs and a token signed by an untrusted key.
    for (bits, len) in [(1u8, 8usize), (2, 16), (4, 100), (8, 64)] {
        let mut list = StatusList::new(bits, len).unwrap();
        for i in (0..len).step_by(3) {
            list.set(i, 1).unwrap();
        }
        let mut input = vec![bits];
        input.extend_from_slice(list.encode_lst().as_bytes());
        write("status_list", &format!("bits{bits}"), input);
    }
    let list = StatusList::new(2, 16).unwrap();
    write("status_list", "token", issuer.sign_status_list(URI, &list, NOW, DAY, 3600));

    // policy: the shipped policies and a records file.
    for name in ["sesame-style", "suining-2013", "civic-1300"] {
        write("policy", name, fs::read(format!("../policies/{name}.json")).unwrap());
    }
    write(
        "policy",
        "records",
        r#"[{"kind":"repayment_on_time","date":"2026-01-01","reference":"r1"},
 {"kind":"repayment_late_30d","date":"2026-02-01","reference":"l1","evidence":"stmt 2026-02"},
 {"kind":"default","date":"2025-04-01","reference":"d1"},
 {"kind":"judgement_settled","date":"2026-03-01","reference":"j1"}]"#,
    );

    forged_seeds();

    // range: valid proofs for the target's parameter sets.
    let seed = RangeSeed::from_bytes([7; 32]);
    for (base, bits, value, t) in [
        (46u16, 11u8, 712u64, 650u64),
        (8, 10, 712, 650),
        (2, 8, 77, 3),
        (16, 16, 40_000, 1),
        (256, 64, u64::MAX / 3, 5),
    ] {
        let params = RangeParams::new(base, bits).unwrap();
        let proof = prove(&params, value, &seed, t).unwrap();
        write("range", &format!("b{base}_bits{bits}"), proof.to_bytes());
    }
}

/// forged: a real presentation of the target's credential
/// (`fuzz_targets/forged_fixture.rs`), cut into the target's sections
/// (issuer payload, KB payload, disclosures, as JSON text).
fn forged_seeds() {
    let Forged { holder, issued, request, mut rng, .. } = forged_fixture();
    let mut w = Wallet::new();
    w.insert_key(holder);
    w.store(issued).unwrap();
    let p = w.present(&request, PresentOptions::default().allow_off_grid(true), NOW, &mut rng).unwrap();
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
    let comps: Vec<&str> = p.as_str().split('~').collect();
    let payload = decode(comps[0].split('.').nth(1).unwrap());
    let kb_payload = decode(comps[comps.len() - 1].split('.').nth(1).unwrap());
    let disclosures: Vec<Vec<u8>> = comps[1..comps.len() - 1].iter().map(|d| decode(d)).collect();
    let join = |parts: &[Vec<u8>]| parts.join(&0u8);
    let mut all = vec![payload.clone(), kb_payload.clone()];
    all.extend(disclosures.iter().cloned());
    // The genuine presentation (it verifies: the payload is the signed one).
    write("forged", "genuine", join(&all));
    // A forged payload: the same claims with the tier's digest replaced.
    let mut forged: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    forged["exp"] = serde_json::json!(NOW.0 + 400 * 86_400);
    let mut parts = vec![serde_json::to_vec(&forged).unwrap(), kb_payload];
    parts.extend(disclosures);
    write("forged", "later_exp", join(&parts));
}
