//! Timings for status lists of 1,000,000 and 10,000,000 2-bit entries with
//! 1 % of them randomly revoked: build, compress, sign (the issuer), load
//! (signature check + bounded decode, once per fetch) and look up (once per
//! presentation; the verifier).
//!
//! Run with `cargo run --release --example status_bench`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use creditproof::hazmat::SeededRng;
use creditproof::status_list::{DecodeLimits, StatusList, STATUS_INVALID};
use creditproof::{Issuer, IssuerSigningKey, StatusLists, TrustStore, UnixTime, VerifierOptions};

/// splitmix64, good enough for picking benchmark positions.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Roughly uniform index below `n` (slight modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n).unwrap_or(u64::MAX)).unwrap_or(0)
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = SplitMix(0x5eed);
    let issuer =
        Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut SeededRng::new(b"status bench")))?;
    let mut trust = TrustStore::new();
    trust.add(issuer.id(), issuer.public_key());
    for len in [1_000_000usize, 10_000_000] {
        let t = Instant::now();
        let mut list = StatusList::new(2, len)?;
        let revoked = len / 100;
        let mut set = 0;
        while set < revoked {
            let i = rng.below(len);
            if list.get(i) == Some(0) {
                list.set(i, STATUS_INVALID)?;
                set += 1;
            }
        }
        let build = t.elapsed();

        let t = Instant::now();
        let lst = list.encode_lst();
        let encode = t.elapsed();
        // base64url carries 3 bytes per 4 symbols.
        let compressed = lst.len() * 3 / 4;

        let limits = DecodeLimits::default();
        let t = Instant::now();
        let decoded = StatusList::decode(2, &lst, &limits)?;
        let decode = t.elapsed();
        assert_eq!(decoded.as_bytes(), list.as_bytes());

        let t = Instant::now();
        let now = UnixTime(1_795_262_400);
        let token = issuer.sign_status_list("https://bureau.example/status/1", &list, now, 86_400, 3600);
        let sign = t.elapsed();
        let t = Instant::now();
        StatusLists::new().add(&token, &trust, &VerifierOptions::default(), now)?;
        let load = t.elapsed();

        const BATCH: u32 = 1000;
        let samples: Vec<Duration> = (0..1001)
            .map(|_| {
                let idx: Vec<usize> = (0..BATCH).map(|_| rng.below(len)).collect();
                let t = Instant::now();
                for &i in &idx {
                    black_box(decoded.get(black_box(i)));
                }
                t.elapsed() / BATCH
            })
            .collect();

        println!(
            "{len:>10} entries x 2 bits, {revoked} revoked: raw {} B, build {:.1} ms, compress+encode {:.1} ms, \
             compressed {compressed} B (lst {} chars), build token (compress+sign) {:.1} ms, token {} B",
            list.as_bytes().len(),
            build.as_secs_f64() * 1e3,
            encode.as_secs_f64() * 1e3,
            lst.len(),
            sign.as_secs_f64() * 1e3,
            token.len(),
        );
        println!(
            "{:>10} verifier: load token (signature + bounded decode) {:.1} ms, decode alone {:.1} ms, \
             one lookup {} ns (median)",
            "",
            load.as_secs_f64() * 1e3,
            decode.as_secs_f64() * 1e3,
            median(samples).as_nanos(),
        );
    }
    Ok(())
}
