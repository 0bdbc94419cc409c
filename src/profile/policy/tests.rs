//! Tests for the policy module.

use serde_json::{json, Value};

use super::*;

const SUINING: &str = include_str!("../../../policies/suining-2013.json");
const SESAME: &str = include_str!("../../../policies/sesame-style.json");
const CIVIC: &str = include_str!("../../../policies/civic-1300.json");
const LIMIT: usize = 1 << 20;

fn load(text: &str) -> Policy {
    Policy::from_json_slice(text.as_bytes(), LIMIT).expect("shipped policy loads")
}

fn d(text: &str) -> Date {
    Date::parse(text).expect("test date")
}

fn rec(kind: &str, date: &str, reference: &str) -> Record {
    Record { kind: kind.to_owned(), date: d(date), reference: reference.to_owned(), evidence: None }
}

/// `n` records of one kind, references `{prefix}{i}`, all on `date`.
fn many(kind: &str, date: &str, prefix: &str, n: usize) -> Vec<Record> {
    (0..n).map(|i| rec(kind, date, &format!("{prefix}{i}"))).collect()
}

fn as_of() -> Date {
    d("2024-12-31")
}

fn try_load(v: &Value) -> Result<Policy, PolicyError> {
    Policy::from_json_slice(&serde_json::to_vec(v).expect("serialize"), LIMIT)
}

/// A small valid policy for targeted tests.
fn mini() -> Value {
    json!({
        "id": "mini", "version": "1", "description": "test", "source": "test",
        "scale": {"min": 0, "max": 100, "start": 50},
        "rules": {"x": {"points": 30, "cap": {"per": "all_time", "max_points": 50}}},
        "tiers": [{"name": "low", "min": 0, "max": 49}, {"name": "high", "min": 50, "max": 100}],
        "perks": {"p": {"min_score": 60}}
    })
}

fn err_of(v: &Value) -> PolicyError {
    try_load(v).expect_err("policy should be rejected")
}

// ---------------------------------------------------------------- loading

#[test]
fn shipped_policies_load() {
    for (text, id) in [(SUINING, "suining-2013"), (SESAME, "sesame-style"), (CIVIC, "civic-1300")] {
        let p = load(text);
        assert_eq!(p.id(), id);
        assert!(!p.source().is_empty() && !p.description().is_empty());
        // Tiers come back ascending and contiguous.
        let t = p.tiers();
        assert_eq!(t[0].min, p.scale().min);
        assert_eq!(t[t.len() - 1].max, p.scale().max);
        // Round trip through serialization gives the same policy.
        let again = Policy::from_json_slice(&serde_json::to_vec(&p).expect("ser"), LIMIT);
        assert_eq!(again.as_ref(), Ok(&p));
    }
}

#[test]
fn shipped_policies_only_use_financial_and_civic_kinds() {
    let banned = ["relative", "family", "friend", "opinion", "speech", "associat", "religio"];
    for text in [SUINING, SESAME, CIVIC] {
        for kind in load(text).rules().keys() {
            assert!(!banned.iter().any(|b| kind.contains(b)), "{kind}");
        }
    }
}

#[test]
fn perk_thresholds() {
    let civic = load(CIVIC);
    // max(min_score 1000, tier A's lower bound 960) = 1000
    assert_eq!(civic.perk_threshold("no_deposit_rental"), Some(1000));
    assert_eq!(civic.perk_threshold("express_airport_security"), Some(1050));
    assert_eq!(civic.perk_threshold("travel_without_restriction"), Some(600));
    assert_eq!(civic.perk_threshold("nope"), None);
    let sesame = load(SESAME);
    assert_eq!(sesame.perk_threshold("no_deposit_rental"), Some(650));
    let suining = load(SUINING);
    assert_eq!(suining.perk_threshold("soft_sleeper_booking"), Some(850));

    let rental = sesame.perk("no_deposit_rental").expect("perk");
    assert!(rental.requires_valid_status);
    assert!(!rental.is_granted(&sesame, 649, true));
    assert!(rental.is_granted(&sesame, 650, true));
    assert!(!rental.is_granted(&sesame, 950, false));
    let travel = civic.perk("travel_without_restriction").expect("perk");
    assert!(travel.is_granted(&civic, 600, false));
    assert!(!travel.is_granted(&civic, 599, false));

    // No predicate at all: threshold is the scale minimum.
    let bare = Perk { description: None, min_score: None, min_tier: None, requires_valid_status: true };
    assert_eq!(bare.score_threshold(&sesame), 350);
    // A tier from another policy fails closed.
    let foreign = Perk { min_tier: Some("AAA".to_owned()), ..bare };
    assert_eq!(foreign.score_threshold(&sesame), u64::MAX);
}

// ---------------------------------------------------------------- hand-computed scores

#[test]
fn suining_hand_computed_with_cap() {
    let p = load(SUINING);
    let records = vec![
        rec("tax_arrears", "2022-08-01", "t3"),
        rec("repayment_late_90d", "2022-03-01", "late1"),
        rec("tax_arrears", "2022-06-01", "t1"),
        rec("tax_arrears", "2023-01-10", "t4"),
        rec("tax_arrears", "2022-07-01", "t2"),
    ];
    let r = score(&p, &records, as_of()).expect("score");
    // 1000 - 50 (late1) = 950
    //      - 50 (t1, 1st 2022 tax notice) = 900
    //      - 50 (t2, 2nd) = 850
    //      -  0 (t3, 3rd in 2022: max_records 2 bites) = 850
    //      - 50 (t4, 1st of 2023) = 800  -> tier C (600..=849)
    let running: Vec<i64> = r.items.iter().map(|i| i.running_total).collect();
    assert_eq!(running, [950, 900, 850, 850, 800]);
    let refs: Vec<&str> = r.references().collect();
    assert_eq!(refs, ["late1", "t1", "t2", "t3", "t4"]);
    assert_eq!(r.items[3].applied_points, 0);
    assert_eq!(r.items[3].rule_points, -50);
    assert_eq!(
        r.items[3].caps,
        [CapHit { limit: CapLimit::MaxRecords, per: Period::CalendarYear, period: "2022".to_owned(), value: 2 }]
    );
    assert!(r.items.iter().enumerate().all(|(i, it)| (i == 3) != it.caps.is_empty()));
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (800, Clamp::None, "C"));
    assert_eq!(r.perks, ["travel_without_restriction"]);
}

#[test]
fn suining_clamps_at_both_ends() {
    let p = load(SUINING);
    // 1000 - 11 * 100 = -100 -> clamped up to 0, tier D, no perks.
    let r = score(&p, &many("default", "2020-01-01", "d", 11), as_of()).expect("score");
    assert_eq!(r.unclamped_total, -100);
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (0, Clamp::AtMin, "D"));
    assert!(r.perks.is_empty());
    // No records: the start, 1000 = max, tier A, every perk.
    let r = score(&p, &[], as_of()).expect("score");
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (1000, Clamp::None, "A"));
    assert_eq!(r.perks.len(), 4);
}

#[test]
fn sesame_hand_computed_with_caps() {
    let p = load(SESAME);
    let mut records: Vec<Record> =
        (1..=10).map(|m| rec("repayment_on_time", &format!("2022-{m:02}-05"), &format!("on{m}"))).collect();
    records.extend([
        rec("bill_paid_on_time", "2022-05-03", "bill1"),
        rec("bill_paid_on_time", "2022-05-20", "bill2"),
        rec("repayment_late_30d", "2022-11-01", "late"),
        rec("repayment_on_time", "2023-01-05", "on2023"),
        rec("bill_paid_on_time", "2023-02-01", "bill3"),
        rec("judgement_settled", "2023-03-01", "settled"),
    ]);
    let r = score(&p, &records, as_of()).expect("score");
    // 600
    //  + 8 * 5 = 40 (on1..on8; 2022 cap max_points 40 is then used up)
    //  + 0 + 0     (on9, on10: max_points bites)
    //  + 1         (bill1; bill2 in the same month: max_records 1 bites)
    //  - 20        (late)
    //  + 5         (on2023: new year, new cap)
    //  + 1         (bill3)
    //  + 50        (settled)
    //  = 677 -> tier very_good (650..=699); only no_deposit_rental (650).
    assert_eq!(r.unclamped_total, 677);
    assert_eq!((r.score, r.tier.as_str()), (677, "very_good"));
    assert_eq!(r.perks, ["no_deposit_rental"]);
    let capped: Vec<(&str, CapLimit)> =
        r.items.iter().filter(|i| !i.caps.is_empty()).map(|i| (i.reference.as_str(), i.caps[0].limit)).collect();
    assert_eq!(capped, [("bill2", CapLimit::MaxRecords), ("on9", CapLimit::MaxPoints), ("on10", CapLimit::MaxPoints)]);
}

#[test]
fn sesame_clamps_at_both_ends() {
    let p = load(SESAME);
    // 600 + 8 * 50 = 1000 -> clamped down to 950, excellent, all three perks.
    let r = score(&p, &many("judgement_settled", "2021-01-01", "s", 8), as_of()).expect("s");
    assert_eq!(r.unclamped_total, 1000);
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (950, Clamp::AtMax, "excellent"));
    assert_eq!(r.perks, ["express_airport_security", "no_deposit_rental", "preferential_loan_rate"]);
    // 600 - 3 * 100 = 300 -> clamped up to 350, poor.
    let r = score(&p, &many("default", "2021-01-01", "d", 3), as_of()).expect("s");
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (350, Clamp::AtMin, "poor"));
    // 600 + 50 = 650: exactly the deposit-free threshold.
    let r = score(&p, &many("judgement_settled", "2021-01-01", "s", 1), as_of()).expect("s");
    assert_eq!((r.score, r.tier.as_str()), (650, "very_good"));
    assert_eq!(r.perks, ["no_deposit_rental"]);
}

#[test]
fn civic_hand_computed_with_caps() {
    let p = load(CIVIC);
    let mut records = vec![
        rec("tax_filed_on_time", "2021-04-01", "tax1"),
        rec("tax_filed_on_time", "2021-09-01", "tax2"),
        rec("jury_service_completed", "2021-06-01", "jury"),
        rec("traffic_fine_unpaid", "2022-03-02", "f1"),
        rec("traffic_fine_unpaid", "2022-03-10", "f2"),
        rec("traffic_fine_unpaid", "2022-03-20", "f3"),
        rec("traffic_fine_unpaid", "2022-04-01", "f4"),
        rec("repayment_on_time", "2022-12-20", "r13"),
        rec("repayment_on_time", "2022-12-28", "r14"),
    ];
    records.extend((1..=12).map(|m| rec("repayment_on_time", &format!("2022-{m:02}-15"), &format!("r{m}"))));
    let r = score(&p, &records, as_of()).expect("score");
    // 1000
    //  + 10  (tax1)          ; tax2 same year: max_records 1 bites, 0
    //  + 20  (jury)
    //  - 20 - 20 (f1, f2)    ; f3 same month: max_points 40 used up, 0
    //  - 20  (f4, April: new month)
    //  + 12 * 5 = 60 (r1..r12) ; r13, r14: 2022 max_points 60 used up, 0
    //  = 1030 -> tier A (960..=1049)
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (1030, Clamp::None, "A"));
    assert_eq!(
        r.perks,
        ["no_deposit_rental", "preferential_loan_rate", "soft_sleeper_booking", "travel_without_restriction"]
    );
    let mut capped: Vec<&str> = r.items.iter().filter(|i| !i.caps.is_empty()).map(|i| i.reference.as_str()).collect();
    capped.sort_unstable();
    assert_eq!(capped, ["f3", "r13", "r14", "tax2"]);
    let f3 = r.items.iter().find(|i| i.reference == "f3").expect("f3");
    assert_eq!(f3.caps[0].period, "2022-03");
    assert_eq!(f3.caps[0].per, Period::CalendarMonth);
}

#[test]
fn civic_clamps_at_both_ends() {
    let p = load(CIVIC);
    // 1000 + 7 * 50 = 1350 -> 1300, AAA, all five perks.
    let r = score(&p, &many("judgement_settled", "2020-05-05", "s", 7), as_of()).expect("s");
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (1300, Clamp::AtMax, "AAA"));
    assert_eq!(r.perks.len(), 5);
    // 1000 - 11 * 100 = -100 -> 0, D, no perks.
    let r = score(&p, &many("default", "2020-05-05", "d", 11), as_of()).expect("s");
    assert_eq!((r.score, r.clamped, r.tier.as_str()), (0, Clamp::AtMin, "D"));
    assert!(r.perks.is_empty());
}

#[test]
fn partial_point_caps_keep_sign() {
    // Rule +30, cap 50 points all time: 30, then 20 (cap bites), then 0.
    let p = try_load(&mini()).expect("mini");
    let r = score(&p, &many("x", "2020-01-01", "x", 3), as_of()).expect("s");
    let applied: Vec<i64> = r.items.iter().map(|i| i.applied_points).collect();
    assert_eq!(applied, [30, 20, 0]);
    assert_eq!(r.unclamped_total, 100); // 50 + 50
    let mut v = mini();
    v["rules"]["x"]["points"] = json!(-30);
    v["rules"]["x"]["cap"]["max_records"] = json!(2);
    let p = try_load(&v).expect("mini");
    let r = score(&p, &many("x", "2020-01-01", "x", 3), as_of()).expect("s");
    let applied: Vec<i64> = r.items.iter().map(|i| i.applied_points).collect();
    // -30, -20 (points cap), then 0 from max_records (only that cap is listed).
    assert_eq!(applied, [-30, -20, 0]);
    assert_eq!(r.items[2].caps.len(), 1);
    assert_eq!(r.items[2].caps[0].limit, CapLimit::MaxRecords);
    assert_eq!(r.score, 0);
}

// ---------------------------------------------------------------- report

#[test]
fn report_round_trips_and_renders() {
    let p = load(CIVIC);
    let mut records = many("traffic_fine_unpaid", "2022-03-02", "fine", 3);
    records.push(rec("jury_service_completed", "2021-06-01", "jury"));
    let mut r = score(&p, &records, as_of()).expect("s");
    let json = serde_json::to_string(&r).expect("ser");
    let back: ScoreReport = serde_json::from_str(&json).expect("de");
    assert_eq!(back, r);
    // A report read from elsewhere may hold anything; the table stays one line per item.
    r.items[0].reference = "evil\u{1b}[2J".to_owned();
    let table = r.render_table();
    assert!(table.contains("policy civic-1300 version 1, as of 2024-12-31"));
    assert!(table.contains("max_points 40 per calendar_month (2022-03)"));
    assert!(table.contains("score 980, tier A")); // 1000 + 20 - 20 - 20
    assert!(!table.contains('\u{1b}'), "control characters are replaced");
    assert!(table.lines().count() >= 6);
}

// ---------------------------------------------------------------- policy validation errors

#[test]
fn rejects_oversized_policy_before_parsing() {
    let junk = vec![b'{'; 101];
    assert_eq!(Policy::from_json_slice(&junk, 100), Err(PolicyError::TooLarge { what: "policy", len: 101, max: 100 }));
}

#[test]
fn rejects_invalid_json_and_unknown_fields() {
    for bad in [&b"not json"[..], b"", b"[]", b"{\"id\": 1}", &SESAME.as_bytes()[..SESAME.len() - 2]] {
        assert!(matches!(Policy::from_json_slice(bad, LIMIT), Err(PolicyError::InvalidJson { what: "policy", .. })));
    }
    let mut v = mini();
    v["relatives_weight"] = json!(1);
    assert!(matches!(err_of(&v), PolicyError::InvalidJson { .. }));
    let mut v = mini();
    v["rules"]["x"]["subject"] = json!("someone else");
    assert!(matches!(err_of(&v), PolicyError::InvalidJson { .. }));
    // Duplicate rule keys would otherwise silently keep the last one.
    let dup = SESAME.replacen("\"default\": {", "\"default\": { \"points\": 0 }, \"default\": {", 1);
    match Policy::from_json_slice(dup.as_bytes(), LIMIT) {
        Err(PolicyError::InvalidJson { message, .. }) => assert!(message.contains("duplicate")),
        other => panic!("{other:?}"),
    }
    // Point values beyond i64 are a parse error, not a wrap.
    let mut v = mini();
    v["rules"]["x"]["points"] = json!(u64::MAX);
    assert!(matches!(err_of(&v), PolicyError::InvalidJson { .. }));
}

#[test]
fn rejects_bad_names() {
    for (path, value) in [("id", json!("has space")), ("version", json!("")), ("id", json!("x".repeat(65)))] {
        let mut v = mini();
        v[path] = value;
        assert!(matches!(err_of(&v), PolicyError::InvalidField { .. }), "{path}");
    }
    let mut v = mini();
    v["rules"]["bad kind"] = json!({"points": 1});
    let e = err_of(&v);
    assert!(matches!(e, PolicyError::InvalidField { .. }));
    assert!(e.to_string().contains("bad kind"), "{e}");
}

#[test]
fn rejects_bad_scales() {
    for (min, max, start) in [(100, 100, 100), (101, 100, 100)] {
        let mut v = mini();
        v["scale"] = json!({"min": min, "max": max, "start": start});
        assert_eq!(err_of(&v), PolicyError::EmptyScale { min, max });
    }
    for start in [101, 0] {
        let mut v = mini();
        v["scale"] = json!({"min": 1, "max": 100, "start": start});
        v["tiers"][0]["min"] = json!(1);
        assert_eq!(err_of(&v), PolicyError::StartOutsideScale { start, min: 1, max: 100 });
    }
    let mut v = mini();
    v["scale"]["max"] = json!(u64::MAX);
    let e = err_of(&v);
    assert!(matches!(e, PolicyError::InvalidField { ref field, .. } if field == "scale.max"));
    assert!(e.to_string().starts_with("scale.max is invalid"));
}

#[test]
fn rejects_empty_cap() {
    let mut v = mini();
    v["rules"]["x"]["cap"] = json!({"per": "calendar_year"});
    assert_eq!(err_of(&v), PolicyError::EmptyCap { kind: "x".into() });
}

#[test]
fn rejects_bad_tiers() {
    let tiers = |t: Value| {
        let mut v = mini();
        v["tiers"] = t;
        err_of(&v)
    };
    assert_eq!(tiers(json!([])), PolicyError::NoTiers);
    assert_eq!(
        tiers(json!([{"name": "a", "min": 0, "max": 49}, {"name": "a", "min": 50, "max": 100}])),
        PolicyError::DuplicateTierName { name: "a".into() }
    );
    assert_eq!(
        tiers(json!([{"name": "a", "min": 0, "max": 49}, {"name": "b", "min": 100, "max": 50}])),
        PolicyError::InvertedTier { name: "b".into(), min: 100, max: 50 }
    );
    assert_eq!(
        tiers(json!([{"name": "a", "min": 0, "max": 50}, {"name": "b", "min": 50, "max": 100}])),
        PolicyError::TierOverlap { lower: "a".into(), upper: "b".into() }
    );
    // A tier nested inside another is an overlap too.
    assert!(matches!(
        tiers(json!([{"name": "a", "min": 0, "max": 100}, {"name": "b", "min": 10, "max": 20}])),
        PolicyError::TierOverlap { .. }
    ));
    assert_eq!(
        tiers(json!([{"name": "a", "min": 0, "max": 40}, {"name": "b", "min": 50, "max": 100}])),
        PolicyError::TierGap { lower: "a".into(), upper: "b".into(), from: 41, to: 49 }
    );
    let cover = |lo: u64, hi: u64| PolicyError::TiersDoNotCoverScale {
        tiers_min: lo,
        tiers_max: hi,
        scale_min: 0,
        scale_max: 100,
    };
    assert_eq!(tiers(json!([{"name": "a", "min": 1, "max": 100}])), cover(1, 100));
    assert_eq!(tiers(json!([{"name": "a", "min": 0, "max": 99}])), cover(0, 99));
    assert_eq!(tiers(json!([{"name": "a", "min": 0, "max": 101}])), cover(0, 101));
    // Order in the file does not matter.
    let mut v = mini();
    v["tiers"] = json!([{"name": "high", "min": 50, "max": 100}, {"name": "low", "min": 0, "max": 49}]);
    assert_eq!(try_load(&v).expect("ok").tiers()[0].name, "low");
    // u64::MAX tier bound does not overflow the adjacency check.
    assert!(matches!(
        tiers(json!([{"name": "a", "min": 0, "max": u64::MAX}, {"name": "b", "min": 5, "max": u64::MAX}])),
        PolicyError::TierOverlap { .. }
    ));
}

#[test]
fn rejects_bad_perks() {
    let mut v = mini();
    v["perks"]["p"] = json!({"min_tier": "gold"});
    assert_eq!(err_of(&v), PolicyError::UnknownTier { perk: "p".into(), tier: "gold".into() });
    for min_score in [101, u64::MAX] {
        let mut v = mini();
        v["perks"]["p"] = json!({ "min_score": min_score });
        assert_eq!(err_of(&v), PolicyError::PerkThresholdOutOfScale { perk: "p".into(), min_score, min: 0, max: 100 });
    }
    let mut v = mini();
    v["scale"]["min"] = json!(10);
    v["tiers"][0]["min"] = json!(10);
    v["perks"]["p"] = json!({"min_score": 9});
    assert!(matches!(err_of(&v), PolicyError::PerkThresholdOutOfScale { .. }));
    let mut v = mini();
    v["perks"]["p"]["requires_relatives"] = json!(false);
    assert!(matches!(err_of(&v), PolicyError::InvalidJson { .. }));
}

// ---------------------------------------------------------------- record validation errors

#[test]
fn records_parse_and_reject() {
    let ok = br#"[{"kind": "default", "date": "2023-04-01", "reference": "loan-17", "evidence": "court 2023/117"},
                 {"kind": "repayment_on_time", "date": "2024-02-29", "reference": "loan-18"}]"#;
    let rs = Records::from_json_slice(ok, LIMIT, 10).expect("records");
    assert_eq!(rs.as_slice().len(), 2);
    assert_eq!(rs.as_slice()[1].date, Date::new(2024, 2, 29).expect("leap"));

    assert_eq!(
        Records::from_json_slice(&[b'x'; 11], 10, 10),
        Err(PolicyError::TooLarge { what: "records", len: 11, max: 10 })
    );
    assert_eq!(Records::from_json_slice(ok, LIMIT, 1), Err(PolicyError::TooManyRecords { max: 1 }));
    assert_eq!(Records::from_json_slice(b"[]", LIMIT, 0).map(|r| r.into_vec()), Ok(vec![]));
    for bad in [
        &b"{}"[..],
        b"[1]",
        b"[] x",
        br#"[{"kind": "default", "date": "2023-04-01", "reference": "a", "subject_id": "someone"}]"#,
        br#"[{"kind": "default", "date": "2023-04-01"}]"#,
    ] {
        assert!(
            matches!(Records::from_json_slice(bad, LIMIT, 10), Err(PolicyError::InvalidJson { what: "records", .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    for date in ["2023-02-29", "2023-1-05", "2024-13-01", "0000-01-01", "2023-04-31", "２０２３-01-01"] {
        let text = format!(r#"[{{"kind": "default", "date": "{date}", "reference": "r9"}}]"#);
        assert_eq!(
            Records::from_json_slice(text.as_bytes(), LIMIT, 10),
            Err(PolicyError::InvalidDate { context: "record \"r9\" date".into(), value: date.into() })
        );
    }
    let dup = br#"[{"kind": "default", "date": "2023-04-01", "reference": "a"},
                   {"kind": "default", "date": "2023-05-01", "reference": "a"}]"#;
    assert_eq!(
        Records::from_json_slice(dup, LIMIT, 10),
        Err(PolicyError::DuplicateReference { reference: "a".into() })
    );
    for (reference, kind, evidence) in [
        ("", "default", None),
        ("a\nb", "default", None),
        ("a", "bad kind", None),
        ("a", "default", Some("x".repeat(MAX_EVIDENCE_LEN + 1))),
    ] {
        let r = Record { kind: kind.into(), date: d("2020-01-01"), reference: reference.into(), evidence };
        assert!(matches!(Records::new(vec![r]), Err(PolicyError::InvalidField { .. })));
    }
    let long = Record { reference: "r".repeat(MAX_REFERENCE_LEN + 1), ..rec("default", "2020-01-01", "x") };
    assert!(matches!(long.check(), Err(PolicyError::InvalidField { .. })));
}

#[test]
fn score_rejects_unknown_kind_future_date_and_duplicates() {
    let p = load(SESAME);
    let e = score(&p, &[rec("relative_defaulted", "2020-01-01", "r1")], as_of());
    assert_eq!(e, Err(PolicyError::UnknownRecordKind { reference: "r1".into(), kind: "relative_defaulted".into() }));
    let e = score(&p, &[rec("default", "2025-01-01", "r1")], as_of());
    assert_eq!(e, Err(PolicyError::RecordAfterAsOf { reference: "r1".into(), date: d("2025-01-01"), as_of: as_of() }));
    // A record on the scoring date itself counts.
    assert!(score(&p, &[rec("default", "2024-12-31", "r1")], as_of()).is_ok());
    let e = score(&p, &[rec("default", "2020-01-01", "r1"), rec("judgement_settled", "2021-01-01", "r1")], as_of());
    assert_eq!(e, Err(PolicyError::DuplicateReference { reference: "r1".into() }));
    let e = score(&p, &[rec("default", "2020-01-01", "")], as_of());
    assert!(matches!(e, Err(PolicyError::InvalidField { .. })));
}

#[test]
fn dates() {
    assert!(Date::new(2000, 2, 29).is_some());
    assert!(Date::new(1900, 2, 29).is_none());
    assert!(Date::new(2023, 12, 31).is_some());
    assert!(Date::new(10000, 1, 1).is_none());
    assert!(d("2023-12-31") < d("2024-01-01"));
    assert_eq!(d("0001-01-01").to_string(), "0001-01-01");
    assert_eq!("2024-02-29".parse::<Date>().map(|x| x.day()), Ok(29));
    assert!(matches!(Date::parse("2024-02-30"), Err(PolicyError::InvalidDate { .. })));
    assert!(serde_json::from_str::<Date>("\"2023-02-29\"").is_err());
    assert_eq!(serde_json::to_string(&d("2023-07-04")).expect("ser"), "\"2023-07-04\"");
}

#[test]
fn error_messages_are_lowercase_sentences_naming_the_field() {
    let cases = [
        PolicyError::NoTiers,
        PolicyError::EmptyCap { kind: "x".into() },
        PolicyError::UnknownRecordKind { reference: "r1".into(), kind: "k".into() },
        PolicyError::TooManyRecords { max: 3 },
    ];
    for e in cases {
        let s = e.to_string();
        assert!(s.chars().next().is_some_and(|c| c.is_lowercase()), "{s}");
    }
    let long = "x".repeat(10_000);
    let e = Date::parse(&long).expect_err("bad");
    assert!(e.to_string().len() < 200, "untrusted text is clipped");
}

// ---------------------------------------------------------------- disputes

#[test]
fn disputes_and_corrections() {
    let p = load(SESAME);
    let records = vec![
        rec("default", "2022-01-01", "d1"),
        rec("repayment_late_30d", "2022-02-01", "l1"),
        rec("repayment_on_time", "2022-03-01", "o1"),
    ];
    let report = score(&p, &records, as_of()).expect("s");
    assert_eq!(report.score, 485); // 600 - 100 - 20 + 5
    assert_eq!(
        Dispute::new(&report, &[("zz", "not mine")]),
        Err(PolicyError::UnknownDisputeReference { reference: "zz".into() })
    );
    assert_eq!(
        Dispute::new(&report, &[("d1", "a"), ("d1", "b")]),
        Err(PolicyError::DuplicateDisputeEntry { reference: "d1".into() })
    );
    let dispute = Dispute::new(&report, &[("d1", "loan was repaid, see receipt"), ("l1", "paid 10 days late, not 30")])
        .expect("dispute");
    assert_eq!(dispute.policy_id, "sesame-style");
    let text = serde_json::to_string(&dispute).expect("ser");
    assert_eq!(serde_json::from_str::<Dispute>(&text).expect("de"), dispute);
    assert!(serde_json::from_str::<Dispute>(r#"{"policy_id":"a","policy_version":"1","entries":[],"x":1}"#).is_err());

    // Issuer upholds d1 (removed) and corrects l1 to an on-time repayment.
    let corrected = rec("repayment_on_time", "2022-02-01", "l1");
    let fixed = apply_corrections(&records, &dispute, std::slice::from_ref(&corrected)).expect("fix");
    assert_eq!(fixed, [corrected.clone(), records[2].clone()]);
    let rescored = score(&p, &fixed, as_of()).expect("s");
    assert_eq!(rescored.score, 610); // 600 + 5 + 5

    assert_eq!(
        apply_corrections(&records, &dispute, &[rec("default", "2022-01-01", "o1")]),
        Err(PolicyError::CorrectionNotDisputed { reference: "o1".into() })
    );
    assert_eq!(
        apply_corrections(&records, &dispute, &[corrected.clone(), corrected]),
        Err(PolicyError::DuplicateReference { reference: "l1".into() })
    );
    assert!(matches!(
        apply_corrections(&records[1..], &dispute, &[]),
        Err(PolicyError::UnknownDisputeReference { .. })
    ));
}

// ---------------------------------------------------------------- properties and bounds

/// xorshift64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).expect("n fits")).expect("fits")
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

fn random_records(rng: &mut Rng, policy: &Policy, n: usize) -> Vec<Record> {
    let kinds: Vec<&String> = policy.rules().keys().collect();
    (0..n)
        .map(|i| {
            let kind = kinds[rng.below(kinds.len())];
            let year = u16::try_from(2019 + rng.below(6)).expect("year");
            let month = u8::try_from(1 + rng.below(12)).expect("month");
            let day = u8::try_from(1 + rng.below(28)).expect("day");
            Record {
                kind: kind.clone(),
                date: Date::new(year, month, day).expect("date"),
                // Few distinct dates and references that sort differently from i.
                reference: format!("ref-{}", (i * 7919) % 100_003),
                evidence: None,
            }
        })
        .collect()
}

#[test]
fn property_score_in_scale_and_order_independent() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let policies = [load(SUINING), load(SESAME), load(CIVIC)];
    for round in 0..300 {
        let p = &policies[round % 3];
        let n = rng.below(80);
        let mut records = random_records(&mut rng, p, n);
        let a = score(p, &records, as_of()).expect("score");
        let s = p.scale();
        assert!(s.min <= a.score && a.score <= s.max);
        assert_eq!(p.tier_for(a.score).map(|t| t.name.as_str()), Some(a.tier.as_str()));
        assert_eq!(a.items.len(), n);
        assert_eq!(
            a.unclamped_total,
            i64::try_from(s.start).expect("start") + a.items.iter().map(|i| i.applied_points).sum::<i64>()
        );
        rng.shuffle(&mut records);
        let b = score(p, &records, as_of()).expect("score");
        assert_eq!(a, b, "order independence, round {round}");
    }
}

#[test]
fn property_random_policies_never_panic() {
    let mut rng = Rng(42);
    let extremes = [i64::MAX, i64::MIN, i64::MAX / 2, -1_000_000_000_000, 0, 7, -13];
    for _ in 0..200 {
        let mut v = mini();
        let points = extremes[rng.below(extremes.len())];
        v["rules"]["x"]["points"] = json!(points);
        v["rules"]["x"]["cap"] = match rng.below(3) {
            0 => json!({"per": "calendar_month", "max_records": rng.below(5)}),
            1 => json!({"per": "calendar_year", "max_points": rng.next()}),
            _ => {
                json!({"per": "all_time", "max_points": rng.below(100), "max_records": rng.below(4)})
            }
        };
        v["rules"]["y"] = json!({ "points": extremes[rng.below(extremes.len())] });
        let p = try_load(&v).expect("policy");
        let n = rng.below(40);
        let records = random_records(&mut rng, &p, n);
        match score(&p, &records, as_of()) {
            Ok(r) => assert!(r.score <= 100),
            Err(e) => assert!(matches!(e, PolicyError::ArithmeticOverflow { .. }), "{e}"),
        }
    }
}

#[test]
fn huge_values_and_counts_do_not_overflow_or_panic() {
    // 100k deductions: 600 - 100_000 * 100 = -9_999_400 -> clamped to 350.
    let p = load(SESAME);
    let records: Vec<Record> = (0..100_000).map(|i| rec("default", "2020-01-01", &format!("d{i}"))).collect();
    let r = score(&p, &records, as_of()).expect("score");
    assert_eq!(r.unclamped_total, -9_999_400);
    assert_eq!((r.score, r.clamped), (350, Clamp::AtMin));

    // 100k records of 10^12 points: 50 + 10^17 fits in i64; clamped to 100.
    let mut v = mini();
    v["rules"]["x"] = json!({"points": 1_000_000_000_000_i64});
    let p = try_load(&v).expect("policy");
    let r = score(&p, &many("x", "2020-01-01", "x", 100_000), as_of()).expect("score");
    assert_eq!(r.unclamped_total, 50 + 100_000 * 1_000_000_000_000);
    assert_eq!(r.score, 100);

    // i64::MAX points overflow the reported i64 running total: a typed error.
    v["rules"]["x"] = json!({"points": i64::MAX});
    let p = try_load(&v).expect("policy");
    assert_eq!(
        score(&p, &many("x", "2020-01-01", "x", 100_000), as_of()),
        Err(PolicyError::ArithmeticOverflow { reference: "x0".into() })
    );
    // ...but with a points cap the same rule is harmless.
    v["rules"]["x"]["cap"] = json!({"per": "all_time", "max_points": 10});
    let p = try_load(&v).expect("policy");
    let r = score(&p, &many("x", "2020-01-01", "x", 100_000), as_of()).expect("score");
    assert_eq!(r.unclamped_total, 60);

    // i64::MIN from a zero start is exactly representable.
    let mut v = mini();
    v["scale"]["start"] = json!(0);
    v["rules"]["x"] = json!({"points": i64::MIN});
    let p = try_load(&v).expect("policy");
    let r = score(&p, &many("x", "2020-01-01", "x", 1), as_of()).expect("score");
    assert_eq!((r.unclamped_total, r.score), (i64::MIN, 0));
    assert!(matches!(
        score(&p, &many("x", "2020-01-01", "x", 2), as_of()),
        Err(PolicyError::ArithmeticOverflow { .. })
    ));

    // A records file with 100k entries parses within its limits.
    let mut text = String::from("[");
    for i in 0..100_000 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(r#"{{"kind":"default","date":"2020-01-01","reference":"d{i}"}}"#));
    }
    text.push(']');
    assert_eq!(Records::from_json_slice(text.as_bytes(), 10 << 20, 100_000).map(|r| r.as_slice().len()), Ok(100_000));
    assert_eq!(
        Records::from_json_slice(text.as_bytes(), 10 << 20, 99_999).map(|r| r.as_slice().len()),
        Err(PolicyError::TooManyRecords { max: 99_999 })
    );
}

// ---------------------------------------------------------------- threshold grids

#[test]
fn shipped_policies_publish_their_grids() {
    // Sesame-style: tiers from 550, perks at 650/700/750, default step 50.
    let g = load(SESAME).grid().clone();
    assert_eq!(g.thresholds(), [400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900]);
    assert_eq!((g.min(), g.max(), g.narrowest_cell()), (350, 950, 50));
    // Suining: tiers C 600, B 850, A 970 (also the perks), step 100; the
    // multiples within a step of 850 and 970 give way.
    let g = load(SUINING).grid().clone();
    assert_eq!(g.thresholds(), [100, 200, 300, 400, 500, 600, 700, 850, 970]);
    assert_eq!(g.narrowest_cell(), 31);
    // Civic: tiers 600, 800, 960, 1050, 1150 and the rental perk at 1000.
    let g = load(CIVIC).grid().clone();
    assert_eq!(g.thresholds(), [100, 200, 300, 400, 500, 600, 700, 800, 960, 1000, 1050, 1150]);
    assert_eq!(g.narrowest_cell(), 40);
    for text in [SUINING, SESAME, CIVIC] {
        let p = load(text);
        let g = p.grid();
        // Every tier boundary and perk threshold is on the grid, so a
        // disclosed tier or perk flag never splits a cell.
        for t in p.tiers() {
            assert!(g.allows_at_least(t.min) && g.allows_at_most(t.max), "{}: {}", p.id(), t.name);
        }
        for name in p.perks().keys() {
            assert!(g.allows_at_least(p.perk_threshold(name).expect("perk")), "{}: {name}", p.id());
        }
    }
}

#[test]
fn explicit_grids_are_validated() {
    let mut v = mini();
    v["grid"] = json!({"step": 20, "thresholds": [35]});
    let p = try_load(&v).expect("grid");
    // Anchors 35 (extra), 50 (tier), 60 (perk); of the multiples of 20 in
    // 20..=81 (a step from both ends), 20 and 40 lie within 20 of 35, and
    // 60 is an anchor: 80 remains, its cell [80, 100] 21 wide.
    assert_eq!(p.grid().thresholds(), [35, 50, 60, 80]);
    // Round trip keeps the grid spec.
    let again = Policy::from_json_slice(&serde_json::to_vec(&p).expect("ser"), LIMIT).expect("again");
    assert_eq!(again, p);
    let invalid = |grid: Value| {
        let mut v = mini();
        v["grid"] = grid;
        match err_of(&v) {
            PolicyError::InvalidGrid { reason } => reason,
            PolicyError::InvalidJson { message, .. } => message,
            e => panic!("{e}"),
        }
    };
    assert!(invalid(json!({"step": 0})).contains("step is zero"));
    assert!(invalid(json!({"step": 1})).contains("more than 64"));
    assert!(invalid(json!({"thresholds": [0]})).contains("not inside the scale"));
    assert!(invalid(json!({"thresholds": [101]})).contains("not inside the scale"));
    assert!(invalid(json!({"thresholds": [30, 20]})).contains("strictly increasing"));
    assert!(invalid(json!({"thresholds": [30, 30]})).contains("strictly increasing"));
    assert!(invalid(json!({"thresholds": (1..=65).collect::<Vec<u64>>()})).contains("more than 64"));
    assert!(invalid(json!({"step": 5, "extra": 1})).contains("unknown field"));
    assert!(invalid(json!({"step": -5})).contains("invalid value"));
    let e = err_of(&{
        let mut v = mini();
        v["grid"] = json!({"step": 0});
        v
    });
    assert!(e.to_string().starts_with("grid is invalid: "), "{e}");
}
