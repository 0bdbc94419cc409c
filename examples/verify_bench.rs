//! The verifier's hot path against its irreducible cost: two Ed25519
//! `verify_strict` calls (issuer signature and holder binding), measured in
//! the same run.
//!
//! Run: `cargo run --release --example verify_bench`
//!
//! Prints the median of many runs, in microseconds, of: one Ed25519
//! `verify_strict` of 32 bytes; `Verifier::verify` of (a) a presentation
//! disclosing one claim, (b) one with a `score>=650` range proof on an
//! 11-bit score, (c) a perk with a status list loaded; the per-item cost of
//! `Verifier::verify_batch` over 64 presentations of kind (b); and the size
//! of each presentation.
//!
//! For a profiler: `VERIFY_BENCH_PROFILE=1` only verifies (b) 20 000 times,
//! `VERIFY_BENCH_PROFILE=batch` only runs the 64-item batch 500 times.

use std::hint::black_box;
use std::time::Instant;

use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{
    Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, StatusRef, TrustStore, UnixTime, Verifier,
    VerifierOptions, Wallet, DAY,
};
use ed25519_dalek::Signer as _;

/// Runs every measured closure once per round, interleaved, so that load
/// from other processes hits them alike, and returns each one's median
/// seconds over `rounds` (after a tenth as many warm-up rounds).
fn interleaved(rounds: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    for _ in 0..(rounds / 10).max(3) {
        for f in fs.iter_mut() {
            f();
        }
    }
    let mut samples = vec![Vec::with_capacity(rounds); fs.len()];
    for _ in 0..rounds {
        for (f, v) in fs.iter_mut().zip(&mut samples) {
            let t = Instant::now();
            f();
            v.push(t.elapsed().as_secs_f64());
        }
    }
    samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect()
}

/// The claims `Claims::from_score` makes under `policies/civic-1300.json`:
/// an 11-bit committed score, tier, policy, scale and five perk flags.
fn civic_claims() -> Claims {
    let mut c = Claims::new();
    c.commit("score", 1012, 1300).expect("commit");
    c.insert("tier", "AA").expect("tier");
    c.insert("policy", "civic-1300/1").expect("policy");
    c.insert("score_scale", serde_json::json!({"min": 0, "max": 1300})).expect("scale");
    for (perk, on) in [
        ("travel_without_restriction", true),
        ("soft_sleeper_booking", true),
        ("preferential_loan_rate", false),
        ("no_deposit_rental", true),
        ("express_airport_security", false),
    ] {
        c.insert_perk(perk, on).expect("perk");
    }
    c
}

const STATUS_URI: &str = "https://bureau.example/status/1";

fn main() {
    let now = UnixTime(1_795_262_400);
    let mut rng = SeededRng::new(b"verify bench");
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).expect("issuer");
    let mut trust = TrustStore::new();
    trust.add(issuer.id(), issuer.public_key());
    let mut verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    let mut list = StatusList::new(2, 1 << 16).expect("list");
    list.set(3, 1).expect("revoke one");
    verifier.add_status_list(&issuer.sign_status_list(STATUS_URI, &list, now, DAY, 3600), now).expect("list");

    // Baseline: Ed25519 verify_strict of 32 bytes.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    let msg = [1u8; 32];
    let sig = key.sign(&msg);

    let mut wallet = Wallet::new();
    let mut present = |req: &PresentationRequest, status: Option<u64>, rng: &mut SeededRng| -> String {
        let pk = wallet.generate_key(rng);
        let cred = match status {
            None => issuer.issue(&pk, &civic_claims(), now, rng),
            Some(idx) => {
                let s = StatusRef { uri: STATUS_URI.into(), idx };
                issuer.issue_with_status(&pk, &civic_claims(), &s, now, rng)
            }
        }
        .expect("issue");
        wallet.store(cred).expect("store");
        // Benchmarks measure cost, not privacy: their thresholds (e.g. 1287 on
        // the 0..=1300 scale) need not be on the wallet's threshold grid.
        wallet
            .present(req, PresentOptions::default().allow_off_grid(true), now, rng)
            .expect("present")
            .as_str()
            .to_owned()
    };
    let request = |aud: &str, disclose: &[&str], predicates: &[&str], rng: &mut SeededRng| {
        let mut b = PresentationRequest::builder(aud);
        for d in disclose {
            b = b.disclose(*d);
        }
        for p in predicates {
            b = b.predicate(p.parse().expect("predicate"));
        }
        b.build(rng).expect("request")
    };

    let req_a = request("https://hotel.example", &["tier"], &[], &mut rng);
    let p_a = present(&req_a, None, &mut rng);
    let req_b = request("https://lender.example", &[], &["score>=650"], &mut rng);
    let p_b = present(&req_b, None, &mut rng);
    let req_c = request("https://rental.example", &[], &["perk:no_deposit_rental"], &mut rng);
    let p_c = present(&req_c, Some(4711), &mut rng);
    let req_d = request("https://lender.example", &["tier"], &["score>=650"], &mut rng);
    let p_d = present(&req_d, None, &mut rng);

    // 64 presentations of kind (b), each with its own request.
    let reqs: Vec<PresentationRequest> =
        (0..64).map(|_| request("https://lender.example", &[], &["score>=650"], &mut rng)).collect();
    let ps: Vec<String> = reqs.iter().map(|r| present(r, None, &mut rng)).collect();
    let items: Vec<(&PresentationRequest, &str)> = reqs.iter().zip(&ps).map(|(r, p)| (r, p.as_str())).collect();

    let mut ed = || assert!(black_box(&vk).verify_strict(black_box(&msg), black_box(&sig)).is_ok());
    let mut va = || drop(black_box(verifier.verify(&req_a, black_box(&p_a), now).expect("a")));
    let mut vb = || drop(black_box(verifier.verify(&req_b, black_box(&p_b), now).expect("b")));
    let mut vc = || drop(black_box(verifier.verify(&req_c, black_box(&p_c), now).expect("c")));
    match std::env::var("VERIFY_BENCH_PROFILE").as_deref() {
        Ok("batch") => {
            for _ in 0..500 {
                batch(&verifier, &items, now);
            }
            return;
        }
        Ok(_) => {
            for _ in 0..20000 {
                vb();
            }
            return;
        }
        Err(_) => {}
    }
    let t = interleaved(3001, &mut [&mut ed, &mut va, &mut vb, &mut vc]);
    let (ed, t_a, t_b, t_c) = (t[0], t[1], t[2], t[3]);
    let mut ed64 = || {
        for _ in 0..64 {
            assert!(black_box(&vk).verify_strict(black_box(&msg), black_box(&sig)).is_ok());
        }
    };
    let mut each64 = || {
        for (r, p) in &items {
            black_box(verifier.verify(r, p, now).expect("verify"));
        }
    };
    let mut batch64 = || batch(&verifier, &items, now);
    let t = interleaved(151, &mut [&mut ed64, &mut each64, &mut batch64]);
    let (ed64, each64, batch64) = (t[0] / 64.0, t[1] / 64.0, t[2] / 64.0);

    let two = 2.0 * ed;
    println!("baseline: Ed25519 verify_strict (32 B)          {:>8.1} us   two: {:.1} us", ed * 1e6, two * 1e6);
    let line = |name: &str, t: f64, two: f64| {
        println!("{name:<48}{:>8.1} us  = {:>5.2} x two verifies", t * 1e6, t / two);
    };
    line("verify (a) one disclosure", t_a, two);
    line("verify (b) one range proof score>=650", t_b, two);
    line("verify (c) perk + status list", t_c, two);
    println!("baseline in the 64-item rounds                  {:>8.1} us   two: {:.1} us", ed64 * 1e6, 2e6 * ed64);
    line("64 x verify (b), per item", each64, 2.0 * ed64);
    line("verify_batch of 64 (b), per item", batch64, 2.0 * ed64);
    if std::env::var_os("VERIFY_BENCH_DUMP").is_some() {
        println!("{p_b}");
        return;
    }
    println!("size (a) one disclosure                         {:>8} B", p_a.len());
    println!("size (b) one range proof (11-bit score)         {:>8} B", p_b.len());
    println!("size (c) perk + status                          {:>8} B", p_c.len());
    println!("size (d) tier + range proof                     {:>8} B", p_d.len());
}

/// Verifies 64 presentations of kind (b) in one batch.
fn batch(verifier: &Verifier<TrustStore>, items: &[(&PresentationRequest, &str)], now: UnixTime) {
    for outcome in black_box(verifier.verify_batch(items, now)) {
        outcome.expect("verify");
    }
}
