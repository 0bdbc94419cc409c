//! Arbitrary bytes as a policy and as a records file: parsing must error or
//! succeed, never panic. Parsed records are scored under the shipped
//! Sesame-style policy, and a parsed policy scores an empty record set;
//! every report must lie on the scale, name the tier the score falls in,
//! and not depend on record order.
#![no_main]

use creditproof::policy::{score, Date, Policy, Records, ScoreReport};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const MAX_LEN: usize = 1 << 20;

fn shipped() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        Policy::from_json_slice(include_str!("../../policies/sesame-style.json").as_bytes(), MAX_LEN)
            .expect("the shipped policy parses")
    })
}

fn check(policy: &Policy, report: &ScoreReport) {
    let scale = policy.scale();
    assert!(scale.min <= report.score && report.score <= scale.max, "score off the scale");
    let tier = policy.tier_for(report.score).expect("every score has a tier");
    assert_eq!(tier.name, report.tier);
}

fuzz_target!(|data: &[u8]| {
    let as_of = Date::new(2026, 11, 21).unwrap();
    if let Ok(policy) = Policy::from_json_slice(data, MAX_LEN) {
        if let Ok(report) = score(&policy, &[], as_of) {
            check(&policy, &report);
            assert_eq!(report.score, policy.scale().start);
        }
    }
    if let Ok(records) = Records::from_json_slice(data, MAX_LEN, 10_000) {
        let policy = shipped();
        let forward = score(policy, records.as_slice(), as_of);
        let mut reversed = records.as_slice().to_vec();
        reversed.reverse();
        let backward = score(policy, &reversed, as_of);
        match (&forward, &backward) {
            (Ok(a), Ok(b)) => {
                check(policy, a);
                assert_eq!(a, b, "score depends on record order");
            }
            (Err(_), Err(_)) => {}
            _ => panic!("score depends on record order: {forward:?} vs {backward:?}"),
        }
    }
});
