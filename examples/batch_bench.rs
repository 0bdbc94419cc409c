//! The cost of unlinkability: issuing a batch of 16 single-use credentials
//! (per batch and per credential) and answering one request, each against
//! one Ed25519 signature measured in the same run.
//!
//! Run: `cargo run --release --example batch_bench`

use std::hint::black_box;
use std::time::Instant;

use creditproof::hazmat::SeededRng;
use creditproof::{
    Claims, Issuer, IssuerSigningKey, KeyRequest, Limits, NoncePolicy, PresentOptions, PresentationRequest, UnixTime,
    Wallet,
};
use ed25519_dalek::Signer as _;

/// Median seconds of `f` over `n` runs after 3 warm-up runs.
fn median(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let now = UnixTime(1_795_262_400);
    let mut rng = SeededRng::new(b"batch bench");
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).expect("issuer");
    let mut claims = Claims::new();
    claims.commit("score", 712, 1300).expect("commit");
    for (k, v) in [("tier", "A"), ("policy", "sesame-style/1")] {
        claims.insert(k, v).expect("claim");
    }
    claims.insert_perk("no_deposit_rental", true).expect("perk");

    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let sign = median(2001, || {
        black_box(key.sign(black_box(&[1u8; 32])));
    });

    let mut wallet = Wallet::new();
    let nonce = issuer.nonce(now, &mut rng);
    let request = wallet.request_keys(16, Some((issuer.id(), &nonce)), now, &mut rng);
    let bytes = request.to_json().to_string();
    let checked =
        KeyRequest::from_json(bytes.as_bytes(), &issuer, NoncePolicy::Required, now, &Limits::default()).expect("keys");
    let batch = median(41, || {
        black_box(issuer.issue_batch(&checked, &claims, None, now, &mut rng).expect("batch"));
    });
    let check_keys = median(41, || {
        black_box(
            KeyRequest::from_json(bytes.as_bytes(), &issuer, NoncePolicy::Required, now, &Limits::default())
                .expect("keys"),
        );
    });
    for c in issuer.issue_batch(&checked, &claims, None, now, &mut rng).expect("batch") {
        wallet.store(c).expect("store");
    }
    let req = PresentationRequest::builder("https://rental.example")
        .predicate("score>=650".parse().expect("predicate"))
        .build(&mut rng)
        .expect("request");
    // Benchmarks measure cost, not privacy: their thresholds (e.g. 1287 on
    // the 0..=1300 scale) need not be on the wallet's threshold grid.
    let present = median(201, || {
        black_box(
            wallet
                .present(&req, PresentOptions::default().allow_reuse(true).allow_off_grid(true), now, &mut rng)
                .expect("present"),
        );
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("baseline: one Ed25519 signature                  {:>9.1} us", sign * 1e6);
    println!("check 16 proofs of possession                   {:>9.1} us", check_keys * 1e6);
    println!(
        "issue a batch of 16 ({threads} threads)                 {:>9.1} us  = {:>6.1} x one signature",
        batch * 1e6,
        batch / sign
    );
    println!(
        "  per credential                                {:>9.1} us  = {:>6.1} x one signature",
        batch * 1e6 / 16.0,
        batch / 16.0 / sign
    );
    println!(
        "present one credential (score>=650 proof)       {:>9.1} us  = {:>6.1} x one signature",
        present * 1e6,
        present / sign
    );
}
