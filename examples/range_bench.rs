//! Benchmarks commit / prove / verify of `creditproof::hazmat::range`.
//!
//! Run: `cargo run --release --example range_bench`
//! Prints medians (after warm-up) and each verify as a multiple of one
//! SHA-256 over 64 bytes (the floor; no Ed25519 is available here), for the
//! issued parameters ([`RangeParams::for_bits`]) and, for comparison, fixed
//! bases 8 and 16; `steps` is the worst threshold's chain steps.

use std::hint::black_box;
use std::time::{Duration, Instant};

use creditproof::hazmat::range::{commit, mdp, prove, verify, RangeParams, RangeSeed};

/// Median time of `f` in nanoseconds; `batch` calls per sample.
fn median_ns<F: FnMut()>(mut f: F, batch: u32) -> f64 {
    for _ in 0..3 {
        f();
    }
    let probe = Instant::now();
    f();
    let one = probe.elapsed().max(Duration::from_nanos(50));
    // ~40 ms per measurement, between 15 and 301 samples.
    let budget = Duration::from_millis(40).as_nanos() / (one.as_nanos() * u128::from(batch));
    let samples = usize::try_from(budget.clamp(15, 301)).unwrap_or(15);
    let mut v: Vec<f64> = (0..samples)
        .map(|_| {
            let s = Instant::now();
            for _ in 0..batch {
                f();
            }
            s.elapsed().as_secs_f64() * 1e9 / f64::from(batch)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn digit_sum(mut x: u64, base: u64) -> u64 {
    let mut s = 0;
    while x > 0 {
        s += x % base;
        x /= base;
    }
    s
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let block = [0x5au8; 64];
    let sha = median_ns(
        || {
            black_box(ring::digest::digest(&ring::digest::SHA256, black_box(&block)));
        },
        1000,
    );
    println!("floor: SHA-256(64 bytes) = {sha:.0} ns");
    println!(
        "{:>4} {:>8} {:>5} {:>3} {:>6} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8} {:>6}",
        "bits",
        "rule",
        "base",
        "n",
        "bytes",
        "commit_us",
        "prove_us",
        "verify_us",
        "xSHA",
        "vworst_us",
        "xSHA",
        "steps"
    );
    let seed = RangeSeed::from_bytes([0x11; 32]);
    for bits in [11u8, 16, 32, 64] {
        // The issued parameters (RangeParams::for_bits), then fixed bases for
        // comparison: 8 (the v1 default) and 16.
        let rows = [
            ("for_bits", RangeParams::for_bits(bits)?),
            ("fixed", RangeParams::new(8, bits)?),
            ("fixed", RangeParams::new(16, bits)?),
        ];
        for (rule, p) in rows {
            let base = p.base();
            let max = p.max_value();
            // a "typical" value/threshold pair: ~0.73 max, threshold ~0.6 max
            let value = max / 11 * 8;
            let t = max / 5 * 3;
            // worst-case verify: the threshold with the largest digit sum,
            // i.e. the MDP(max) element with the largest digit sum
            let worst = mdp(&p, max)?.into_iter().max_by_key(|&x| digit_sum(x, u64::from(base))).unwrap_or(max);
            let c = commit(&p, value, &seed)?;
            let proof = prove(&p, value, &seed, t)?;
            let cw = commit(&p, max, &seed)?;
            let pw = prove(&p, max, &seed, worst)?;
            verify(&p, &c, t, &proof)?;
            verify(&p, &cw, worst, &pw)?;
            let tc = median_ns(
                || {
                    let _ = black_box(commit(&p, black_box(value), &seed));
                },
                1,
            );
            let tp = median_ns(
                || {
                    let _ = black_box(prove(&p, black_box(value), &seed, t));
                },
                1,
            );
            let tv = median_ns(
                || {
                    let _ = black_box(verify(&p, &c, black_box(t), &proof));
                },
                10,
            );
            let tw = median_ns(
                || {
                    let _ = black_box(verify(&p, &cw, black_box(worst), &pw));
                },
                10,
            );
            println!(
                "{bits:>4} {rule:>8} {base:>5} {:>3} {:>6} {:>10.1} {:>10.1} {:>10.2} {:>8.1} {:>10.2} {:>8.1} {:>6}",
                p.digits(),
                p.proof_len(),
                tc / 1e3,
                tp / 1e3,
                tv / 1e3,
                tv / sha,
                tw / 1e3,
                tw / sha,
                digit_sum(worst, u64::from(base))
            );
        }
    }
    presentation_share();
    Ok(())
}

/// The same presentation verified with and without one `score>=650` range
/// proof, so the proof's share of the verifier's cost is visible.
fn presentation_share() {
    use creditproof::hazmat::SeededRng;
    use creditproof::{
        Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, TrustStore, UnixTime, Verifier,
        VerifierOptions, Wallet,
    };
    let now = UnixTime(1_795_262_400);
    let mut rng = SeededRng::new(b"range bench presentation");
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).expect("issuer");
    let mut trust = TrustStore::new();
    trust.add(issuer.id(), issuer.public_key());
    let verifier = Verifier::with_options(trust, VerifierOptions::default().allow_missing_status());
    println!();
    let params = RangeParams::for_bits(11).expect("11 bits");
    println!(
        "presentation verify (11-bit score, base {}, {}-byte proof): with vs without one range proof",
        params.base(),
        params.proof_len()
    );
    for (label, predicates) in [("disclosure only (tier)", vec![]), ("tier + score>=650", vec!["score>=650"])] {
        let mut wallet = Wallet::new();
        let pk = wallet.generate_key(&mut rng);
        let mut claims = Claims::new();
        claims.commit("score", 712, 1300).expect("commit");
        claims.insert("tier", "A").expect("tier");
        wallet.store(issuer.issue(&pk, &claims, now, &mut rng).expect("issue")).expect("store");
        let mut b = PresentationRequest::builder("https://v.example").disclose("tier");
        for p in &predicates {
            b = b.predicate(p.parse().expect("predicate"));
        }
        let req = b.build(&mut rng).expect("request");
        // Benchmarks measure cost, not privacy: their thresholds (e.g. 1287 on
        // the 0..=1300 scale) need not be on the wallet's threshold grid.
        let p = wallet.present(&req, PresentOptions::default().allow_off_grid(true), now, &mut rng).expect("present");
        let t = median_ns(
            || {
                black_box(verifier.verify(&req, black_box(p.as_str()), now).is_ok());
            },
            1,
        );
        println!("  {label:<24} {:>8.1} us  {:>5} bytes", t / 1e3, p.as_str().len());
    }
}
