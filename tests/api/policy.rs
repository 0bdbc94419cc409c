//! Records → policy → credential → perk, end to end; the signed breakdown.

use crate::cli::{run, setup, Tmp};
use crate::fixture::*;
use creditproof::policy::{score, Date, Policy, Records, ScoreReport};
use creditproof::{verify_breakdown, Claims, Limits, PresentOptions, TrustStore, Wallet};

const SESAME: &str = include_str!("../../policies/sesame-style.json");

/// Sesame-style records that score exactly `target` (start 600; a settled
/// judgement is +50, a 30-day late payment -20, an on-time repayment +5).
fn records_for(target: u64) -> Records {
    let json = match target {
        700 => {
            r#"[{"kind":"judgement_settled","date":"2026-01-01","reference":"j1"},
                   {"kind":"judgement_settled","date":"2026-02-01","reference":"j2"}]"#
        }
        600 => {
            r#"[{"kind":"repayment_late_30d","date":"2026-01-01","reference":"l1"},
                   {"kind":"repayment_on_time","date":"2026-02-01","reference":"r1"},
                   {"kind":"repayment_on_time","date":"2026-03-01","reference":"r2"},
                   {"kind":"repayment_on_time","date":"2026-04-01","reference":"r3"},
                   {"kind":"repayment_on_time","date":"2026-05-01","reference":"r4"}]"#
        }
        _ => unreachable!(),
    };
    Records::from_json_slice(json.as_bytes(), 10_000, 100).unwrap()
}

fn scored(target: u64) -> (Policy, ScoreReport) {
    let policy = Policy::from_json_slice(SESAME.as_bytes(), 1 << 20).unwrap();
    let report = score(&policy, records_for(target).as_slice(), Date::new(2026, 11, 21).unwrap()).unwrap();
    assert_eq!(report.score, target);
    (policy, report)
}

#[test]
fn perk_accepted_at_700_and_refused_by_the_holder_at_600() {
    let mut fx = Fixture::new();
    for (target, eligible) in [(700, true), (600, false)] {
        let (policy, report) = scored(target);
        let claims = Claims::from_score(&policy, &report).unwrap();
        let mut w = Wallet::new();
        for _ in 0..2 {
            let pk = w.generate_key(&mut fx.rng);
            w.store(fx.issue_revocable(&pk, &claims)).unwrap();
        }
        let req = fx.request(&[], &["perk:no_deposit_rental"]);
        match w.present(&req, PresentOptions::default(), NOW, &mut fx.rng) {
            Ok(p) => {
                assert!(eligible);
                let v = fx.verify(&req, p.as_str()).unwrap();
                assert_eq!(v.proven()[0].to_string(), "perk:no_deposit_rental");
                assert!(v.disclosed().is_empty(), "neither score nor tier is disclosed");
                assert!(!p.as_str().contains("700"));
            }
            Err(e) => {
                assert!(!eligible);
                assert_eq!(e.check(), "holder.predicate_not_satisfied");
            }
        }
        // The range proof on the perk's threshold gives the same answer.
        let threshold = policy.perk_threshold("no_deposit_rental").unwrap();
        let req = fx.request(&[], &[&format!("score>={threshold}")]);
        assert_eq!(w.present(&req, PresentOptions::default(), NOW, &mut fx.rng).is_ok(), eligible);
    }
}

#[test]
fn breakdown_is_signed_for_the_holder() {
    let mut fx = Fixture::new();
    let (_, report) = scored(700);
    let holder = Wallet::new().generate_key(&mut fx.rng);
    let token = fx.issuer.sign_breakdown(&report, &holder, NOW);
    let mut trust = TrustStore::new();
    trust.add(ISS, fx.issuer.public_key());
    let (iss, sub, back) = verify_breakdown(&token, &trust, &Limits::default()).unwrap();
    assert_eq!((iss.as_str(), sub, back), (ISS, holder.thumbprint(), report));
    // Tampered: the score changed, signature kept.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = decode_json(&parts[1]);
    payload["breakdown"]["score"] = serde_json::json!(950);
    parts[1] = b64(payload.to_string());
    let e = verify_breakdown(&parts.join("."), &trust, &Limits::default()).unwrap_err();
    assert_eq!(e.check(), "signature.token");
    // A breakdown is not a credential.
    let req = fx.request(&[], &[]);
    assert_eq!(fx.verify(&req, &format!("{token}~")).unwrap_err().check(), "header.typ");
}

#[test]
fn cli_score_issue_and_dispute() {
    let t = Tmp::new("policy");
    setup(&t, r#"{"tier":"A"}"#, "2");
    std::fs::write(
        t.path("records.json"),
        r#"[{"kind":"judgement_settled","date":"2026-01-01","reference":"j1"},
            {"kind":"default","date":"2026-02-01","reference":"d1"}]"#,
    )
    .unwrap();
    let policy = format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR"));
    let o = run(&[
        &"issuer",
        &"score",
        &"--policy",
        &policy,
        &"--records",
        &t.path("records.json"),
        &"--as-of",
        &"2026-11-21",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("score 550"), "{table}");
    let o = run(&[
        &"issuer",
        &"score",
        &"--policy",
        &policy,
        &"--records",
        &t.path("records.json"),
        &"--as-of",
        &"2026-11-21",
        &"--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["score"], 550);

    let o = run(&[&"holder", &"keys", &"--wallet", &t.path("wallet"), &"--out", &t.path("k2.json")]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&[
        &"issuer",
        &"issue",
        &"--dir",
        &t.path("bureau"),
        &"--keys",
        &t.path("k2.json"),
        &"--policy",
        &policy,
        &"--records",
        &t.path("records.json"),
        &"--as-of",
        &"2026-11-21",
        &"--out",
        &t.path("pbatch.json"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[&"holder", &"breakdown", &"--batch", &t.path("pbatch.json"), &"--trust", &t.path("bureau.pub.json")]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("d1"));
    let o = run(&[
        &"holder",
        &"dispute",
        &"--batch",
        &t.path("pbatch.json"),
        &"--entry",
        &"d1=this loan was repaid",
        &"--out",
        &t.path("dispute.json"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(t.path("dispute.json")).unwrap()).unwrap();
    assert_eq!(d["dispute"]["entries"][0]["reference"], "d1");
    assert_eq!(d["type"], "creditproof-dispute/1");
    let o = run(&[
        &"holder",
        &"dispute",
        &"--batch",
        &t.path("pbatch.json"),
        &"--entry",
        &"nope=x",
        &"--out",
        &t.path("d2.json"),
    ]);
    assert_eq!(o.status.code(), Some(2));

    // A future-dated record and an unknown kind are refused with exit 2.
    std::fs::write(t.path("future.json"), r#"[{"kind":"default","date":"2099-01-01","reference":"x"}]"#).unwrap();
    std::fs::write(t.path("unknown.json"), r#"[{"kind":"said_something","date":"2020-01-01","reference":"x"}]"#)
        .unwrap();
    for f in ["future.json", "unknown.json"] {
        let o = run(&[&"issuer", &"score", &"--policy", &policy, &"--records", &t.path(f)]);
        assert_eq!(o.status.code(), Some(2), "{f}");
    }
}

/// `requires_valid_status` (the default) is kept at issuance: claims that
/// grant such a perk are never issued without a status entry.
#[test]
fn a_perk_that_requires_status_is_never_issued_without_one() {
    let mut fx = Fixture::new();
    let (policy, report) = scored(700);
    let claims = Claims::from_score(&policy, &report).unwrap();
    assert_eq!(claims.status_required_by(), Some("no_deposit_rental"));
    let pk = fx.wallet.generate_key(&mut fx.rng);
    let e = fx.issuer.issue(&pk, &claims, NOW, &mut fx.rng).unwrap_err();
    assert_eq!(e.check(), "issuance.status_required");
    assert!(e.to_string().contains("no_deposit_rental"), "{e}");
    fx.issue_revocable(&pk, &claims);
    // A perk whose policy waives the status may be issued without one.
    let mut relaxed: serde_json::Value = serde_json::from_str(SESAME).unwrap();
    for perk in relaxed["perks"].as_object_mut().unwrap().values_mut() {
        perk["requires_valid_status"] = serde_json::json!(false);
    }
    let relaxed = Policy::from_json_slice(relaxed.to_string().as_bytes(), 1 << 20).unwrap();
    let report = score(&relaxed, records_for(700).as_slice(), Date::new(2026, 11, 21).unwrap()).unwrap();
    let claims = Claims::from_score(&relaxed, &report).unwrap();
    assert_eq!(claims.status_required_by(), None);
    assert!(fx.issuer.issue(&pk, &claims, NOW, &mut fx.rng).is_ok());
}
