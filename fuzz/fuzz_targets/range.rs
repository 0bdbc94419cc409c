//! Arbitrary bytes as a HashWires range proof for a few parameter sets:
//! parsing must error or give a proof that re-encodes to the same bytes,
//! and a parsed proof may verify against the fixed commitment only for
//! thresholds at most the committed value (soundness), never panic.
#![no_main]

use creditproof::hazmat::range::{commit, verify, Commitment, RangeParams, RangeProof, RangeSeed};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// (params, committed value, commitment) for each parameter set.
fn setups() -> &'static [(RangeParams, u64, Commitment)] {
    static SETUPS: OnceLock<Vec<(RangeParams, u64, Commitment)>> = OnceLock::new();
    SETUPS.get_or_init(|| {
        let seed = RangeSeed::from_bytes([7; 32]);
        // (46, 11): what RangeParams::for_bits issues for an 11-bit score.
        [(46, 11, 712), (8, 10, 712), (2, 8, 77), (16, 16, 40_000), (256, 64, u64::MAX / 3), (10, 10, 0)]
            .into_iter()
            .map(|(base, bits, value)| {
                let params = RangeParams::new(base, bits).unwrap();
                let c = commit(&params, value, &seed).unwrap();
                (params, value, c)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for (params, value, commitment) in setups() {
        let Ok(proof) = RangeProof::from_bytes(params, data) else {
            continue;
        };
        assert_eq!(proof.to_bytes(), data, "proof encoding round trip");
        let max = params.max_value();
        let thresholds = [0, 1, value.saturating_sub(1), *value, value.saturating_add(1), max / 2, max];
        for t in thresholds {
            if verify(params, commitment, t, &proof).is_ok() {
                assert!(t <= *value, "proof of {t} accepted, but the value is {value}");
            }
        }
    }
});
