//! Mutation test: valid presentations and status list tokens, built
//! deterministically through the public API, must be rejected (with an
//! `Err`, never a panic) after any single-byte substitution, truncation,
//! or deletion / duplication / swap of one `~`-separated component.
//!
//! Run with `cargo test --test mutation -- --nocapture` to see the counts.

use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{
    Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, StatusRef, TrustStore, UnixTime, Verifier,
    VerifierOptions, Wallet, DAY,
};
use std::collections::BTreeMap;
use std::time::Instant;

/// 2026-11-21T12:00:00Z.
const NOW: UnixTime = UnixTime(1_795_262_400);
const ISS: &str = "https://bureau.example";
const AUD: &str = "https://lender.example";
const URI: &str = "https://bureau.example/status/1";

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One valid presentation, the request it answers, and the status list
/// tokens its verifier needs.
struct Case {
    name: &'static str,
    request: PresentationRequest,
    presentation: String,
    lists: Vec<String>,
}

struct World {
    trust: TrustStore,
    cases: Vec<Case>,
    status_token: String,
}

fn claims(with_score: bool) -> Claims {
    let mut c = Claims::new();
    c.insert("tier", "A").unwrap();
    c.insert_perk("no_deposit_rental", true).unwrap();
    if with_score {
        c.commit("score", 712, 950).unwrap();
    }
    c
}

fn world() -> World {
    let mut rng = SeededRng::new(b"creditproof mutation test");
    let issuer = Issuer::new(ISS, IssuerSigningKey::generate(&mut rng)).unwrap();
    let mut trust = TrustStore::new();
    trust.add(issuer.id(), issuer.public_key());
    // `600<=score<=800` is off the wallet's default grid (`score<=799` is
    // on it); the mutants test the verifier, so the wallet allows it.
    let opts = || PresentOptions::default().allow_reuse(true).allow_off_grid(true);

    let mut cases = Vec::new();

    // (a) disclosure only.
    let mut w = Wallet::new();
    let pk = w.generate_key(&mut rng);
    w.store(issuer.issue(&pk, &claims(false), NOW, &mut rng).unwrap()).unwrap();
    let request = PresentationRequest::builder(AUD).disclose("tier").build(&mut rng).unwrap();
    let p = w.present(&request, opts(), NOW, &mut rng).unwrap();
    cases.push(Case { name: "disclosure", request, presentation: p.as_str().to_owned(), lists: vec![] });

    // (b) disclosure and a range proof.
    let mut w = Wallet::new();
    let pk = w.generate_key(&mut rng);
    w.store(issuer.issue(&pk, &claims(true), NOW, &mut rng).unwrap()).unwrap();
    let request = PresentationRequest::builder(AUD)
        .disclose("tier")
        .predicate("score>=650".parse().unwrap())
        .build(&mut rng)
        .unwrap();
    let p = w.present(&request, opts(), NOW, &mut rng).unwrap();
    assert!(!p.as_str().contains("712"));
    cases.push(Case { name: "range", request, presentation: p.as_str().to_owned(), lists: vec![] });

    // (c) status list, a disclosure, a perk and a two-sided range proof.
    let mut w = Wallet::new();
    let pk = w.generate_key(&mut rng);
    let status = StatusRef { uri: URI.into(), idx: 3 };
    w.store(issuer.issue_with_status(&pk, &claims(true), &status, NOW, &mut rng).unwrap()).unwrap();
    let mut list = StatusList::new(2, 16).unwrap();
    for i in [0, 5, 9] {
        list.set(i, 1).unwrap(); // others revoked; index 3 stays valid
    }
    let status_token = issuer.sign_status_list(URI, &list, NOW, DAY, 3600);
    let request = PresentationRequest::builder(AUD)
        .disclose("tier")
        .predicate("perk:no_deposit_rental".parse().unwrap())
        .predicate("600<=score<=800".parse().unwrap())
        .build(&mut rng)
        .unwrap();
    let p = w.present(&request, opts(), NOW, &mut rng).unwrap();
    cases.push(Case {
        name: "status+range",
        request,
        presentation: p.as_str().to_owned(),
        lists: vec![status_token.clone()],
    });

    World { trust, cases, status_token }
}

fn verifier(trust: &TrustStore, lists: &[String]) -> Verifier<TrustStore> {
    let mut v = Verifier::with_options(trust.clone(), VerifierOptions::default().allow_missing_status());
    for t in lists {
        v.add_status_list(t, NOW).unwrap();
    }
    v
}

/// Up to three substitutes for the byte at `pos` (always different from
/// it): xor 0x01; the next base64url character (or 'A'); and one structural
/// character (`~`, `.` or `=`, rotating with the position).
fn substitutes(pos: usize, b: u8) -> Vec<u8> {
    let mut out = vec![b ^ 0x01];
    let next = match B64URL.iter().position(|&c| c == b) {
        Some(i) => B64URL[(i + 1) % B64URL.len()],
        None => b'A',
    };
    out.push(next);
    out.push(match b {
        b'~' => b'.',
        b'.' => b'~',
        _ => [b'~', b'.', b'='][pos % 3],
    });
    out.retain(|&c| c != b);
    out.dedup();
    out
}

/// Every mutant string of `original` by category, never equal to it.
fn mutants(original: &str) -> Vec<(&'static str, Vec<u8>)> {
    let bytes = original.as_bytes();
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for (pos, &b) in bytes.iter().enumerate() {
        for s in substitutes(pos, b) {
            let mut m = bytes.to_vec();
            m[pos] = s;
            out.push(("substitution", m));
        }
    }
    for len in 0..bytes.len() {
        out.push(("truncation", bytes[..len].to_vec()));
    }
    let comps: Vec<&str> = original.split('~').collect();
    let join = |c: &[&str]| c.join("~").into_bytes();
    for i in 0..comps.len() {
        let mut c = comps.clone();
        c.remove(i);
        out.push(("deletion", join(&c)));
        let mut c = comps.clone();
        c.insert(i + 1, comps[i]);
        out.push(("duplication", join(&c)));
        for j in i + 1..comps.len() {
            if comps[i] != comps[j] {
                let mut c = comps.clone();
                c.swap(i, j);
                out.push(("swap", join(&c)));
            }
        }
    }
    out.retain(|(_, m)| m.as_slice() != bytes);
    out
}

#[test]
fn every_mutant_is_rejected() {
    let started = Instant::now();
    let w = world();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut accepted: Vec<String> = Vec::new();
    let mut tried = 0usize;

    for case in &w.cases {
        let v = verifier(&w.trust, &case.lists);
        v.verify(&case.request, &case.presentation, NOW)
            .unwrap_or_else(|e| panic!("{}: the original must verify: {e}", case.name));
        let comps = case.presentation.split('~').count();
        assert!(comps >= 3, "{}: {comps} components", case.name);
        for (category, m) in mutants(&case.presentation) {
            tried += 1;
            *counts.entry(category).or_default() += 1;
            // Mutants that are not UTF-8 cannot even be passed as `&str`.
            let Ok(s) = std::str::from_utf8(&m) else {
                continue;
            };
            if v.verify(&case.request, s, NOW).is_ok() {
                accepted.push(format!("{} {category}: {s}", case.name));
            }
        }
    }

    // Status list tokens: every substitution and truncation must fail to load.
    let token = &w.status_token;
    verifier(&w.trust, std::slice::from_ref(token)); // the original loads
    let bytes = token.as_bytes();
    let mut list_mutants: Vec<Vec<u8>> = Vec::new();
    for (pos, &b) in bytes.iter().enumerate() {
        for s in substitutes(pos, b) {
            let mut m = bytes.to_vec();
            m[pos] = s;
            list_mutants.push(m);
        }
    }
    for len in 0..bytes.len() {
        list_mutants.push(bytes[..len].to_vec());
    }
    for m in list_mutants {
        assert_ne!(m.as_slice(), bytes);
        tried += 1;
        *counts.entry("status-list").or_default() += 1;
        let Ok(s) = std::str::from_utf8(&m) else {
            continue;
        };
        let mut v = Verifier::with_options(w.trust.clone(), VerifierOptions::default().allow_missing_status());
        if v.add_status_list(s, NOW).is_ok() {
            accepted.push(format!("status-list: {s}"));
        }
    }

    let order = ["substitution", "truncation", "deletion", "duplication", "swap", "status-list"];
    assert_eq!(counts.len(), order.len(), "{counts:?}");
    let detail: Vec<String> = order.iter().map(|k| format!("{k} {}", counts.get(k).copied().unwrap_or(0))).collect();
    let summary = format!(
        "mutation: {tried} mutants tried, {} accepted ({}) in {:.1?}",
        accepted.len(),
        detail.join(", "),
        started.elapsed()
    );
    println!("{summary}");
    assert!(accepted.is_empty(), "{summary}; accepted mutants:\n{}", accepted.join("\n"));
}

#[test]
fn mutants_differ_from_the_original() {
    let s = "aaa.bbb.ccc~ZGlz~a.b.c";
    let ms = mutants(s);
    assert!(ms.iter().all(|(_, m)| m.as_slice() != s.as_bytes()));
    let count = |cat: &str| ms.iter().filter(|(c, _)| *c == cat).count();
    assert_eq!(count("deletion"), 3);
    assert_eq!(count("duplication"), 3);
    assert_eq!(count("swap"), 3);
    assert_eq!(count("truncation"), s.len());
}
