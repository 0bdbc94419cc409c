//! Issue 15, item 4: score probing. A verifier that recognises a returning
//! holder (an account, a loyalty card) asks `score>=t` again and again,
//! binary-searching the score. Against a default wallet, which answers only
//! thresholds on the credential's grid, the interval consistent with every
//! answer stays at least one grid cell wide (at least 1/20 of the scale
//! for the default grid); against a wallet that allows off-grid thresholds,
//! the same attack pins the exact score, so these tests can fail.
//!
//! Run with `--nocapture` to see the measured figures.

use std::process::Command;

use crate::fixture::*;
use creditproof::error::HolderError;
use creditproof::hazmat::SeededRng;
use creditproof::policy::{score, Date, Policy, Records};
use creditproof::{Claims, Error, Grid, Predicate, PresentOptions, Wallet};

const SESAME: &str = include_str!("../../policies/sesame-style.json");

/// What the attacker ends with.
#[derive(Debug)]
struct Outcome {
    /// The interval consistent with every answer.
    lo: u64,
    hi: u64,
    /// Requests sent, presentations received (credentials spent), and
    /// refusals for being off the grid.
    requests: usize,
    spent: usize,
    off_grid: usize,
}

impl Outcome {
    fn width(&self) -> u64 {
        self.hi - self.lo + 1
    }
}

/// A verifier's answer to `score>=t`, as the attacker sees it.
enum Answer {
    /// A proof that verified: the score is at least `t`.
    Proof,
    /// Refused, the score does not satisfy it: the score is below `t`.
    NotSatisfied,
    /// Refused whatever the score, naming the nearest on-grid predicates.
    OffGrid(Vec<String>),
}

/// Binary search on `score>=t` over `[lo, hi]`. When a threshold is
/// refused as off the grid, the attacker learns nothing about the score
/// and tries instead the on-grid threshold the refusal names that lies
/// inside the interval nearest its middle; it stops when there is none
/// (or after 40 requests).
fn binary_search(mut lo: u64, mut hi: u64, mut ask: impl FnMut(u64) -> Answer) -> Outcome {
    let (mut requests, mut spent, mut off_grid) = (0, 0, 0);
    let mid = |lo: u64, hi: u64| lo + (hi - lo).div_ceil(2);
    let mut t = mid(lo, hi);
    while lo < hi && requests < 40 {
        requests += 1;
        match ask(t) {
            Answer::Proof => {
                spent += 1;
                lo = t;
            }
            Answer::NotSatisfied => hi = t - 1,
            Answer::OffGrid(nearest) => {
                off_grid += 1;
                let m = mid(lo, hi);
                let inside = nearest
                    .iter()
                    .filter_map(|p| match p.parse::<Predicate>() {
                        Ok(Predicate::AtLeast { threshold, .. }) if lo < threshold && threshold <= hi => {
                            Some(threshold)
                        }
                        _ => None,
                    })
                    .min_by_key(|&x| x.abs_diff(m));
                match inside {
                    Some(x) => {
                        t = x;
                        continue;
                    }
                    None => break,
                }
            }
        }
        t = mid(lo, hi);
    }
    Outcome { lo, hi, requests, spent, off_grid }
}

/// The verifier side of one request: build it, ask the wallet, verify the
/// proof it gets.
fn ask(fx: &mut Fixture, w: &mut Wallet, opts: PresentOptions, t: u64) -> Answer {
    let req = fx.request(&[], &[&format!("score>={t}")]);
    match w.present(&req, opts, NOW, &mut fx.rng) {
        Ok(p) => {
            fx.verify(&req, p.as_str()).unwrap_or_else(|e| panic!("score>={t}: {e}"));
            Answer::Proof
        }
        Err(Error::Holder(HolderError::PredicateNotSatisfied { .. })) => Answer::NotSatisfied,
        Err(Error::Holder(HolderError::OffGrid { nearest, .. })) => Answer::OffGrid(nearest),
        Err(e) => panic!("score>={t}: {e}"),
    }
}

/// A wallet holding `n` credentials of `claims`, each with its own key.
fn wallet_with(fx: &mut Fixture, claims: &Claims, n: usize) -> Wallet {
    let mut w = Wallet::new();
    for _ in 0..n {
        let pk = w.generate_key(&mut fx.rng);
        w.store(fx.issue_revocable(&pk, claims)).unwrap();
    }
    w
}

/// Sesame-style records scoring 712: start 600, two settled judgements
/// (+100), two on-time repayments (+10), bills paid in two months (+2).
fn sesame_712() -> (Policy, Claims) {
    let policy = Policy::from_json_slice(SESAME.as_bytes(), 1 << 20).unwrap();
    let records = Records::from_json_slice(
        br#"[{"kind":"judgement_settled","date":"2026-01-01","reference":"j1"},
             {"kind":"judgement_settled","date":"2026-02-01","reference":"j2"},
             {"kind":"repayment_on_time","date":"2026-03-01","reference":"r1"},
             {"kind":"repayment_on_time","date":"2026-04-01","reference":"r2"},
             {"kind":"bill_paid_on_time","date":"2026-05-01","reference":"b1"},
             {"kind":"bill_paid_on_time","date":"2026-06-01","reference":"b2"}]"#,
        10_000,
        100,
    )
    .unwrap();
    let report = score(&policy, records.as_slice(), Date::new(2026, 11, 21).unwrap()).unwrap();
    assert_eq!(report.score, 712);
    let claims = Claims::from_score(&policy, &report).unwrap();
    (policy, claims)
}

/// The attack of the issue, on three kinds of credential holding 712:
/// issued from the Sesame-style policy (its published grid), from a claims
/// file with a 350..=950 `score_scale`, and hand-built on 0..=950 (default
/// grids). A default wallet leaves the whole cell of 712; a permissive one
/// gives the score away.
#[test]
fn binary_search_attack_is_bounded_by_one_grid_cell() {
    let mut fx = Fixture::new();
    let (policy, from_policy) = sesame_712();
    let limits = creditproof::Limits::default();
    let from_file = Claims::from_json(br#"{"score":712,"score_scale":{"min":350,"max":950}}"#, &limits).unwrap();
    let mut hand_built = Claims::new();
    hand_built.commit("score", 712, 950).unwrap();
    let cases = [
        ("policy sesame-style", from_policy, policy.grid().clone()),
        ("claims file 350..=950", from_file, Grid::default_for(350, 950).unwrap()),
        ("Claims::commit 0..=950", hand_built, Grid::default_for(0, 950).unwrap()),
    ];
    for (label, claims, grid) in cases {
        let (min, max) = (grid.min(), grid.max());
        let scale = max - min + 1;
        let cell = grid.cell_of(712).unwrap();

        let mut w = wallet_with(&mut fx, &claims, 16);
        let opts = PresentOptions::default();
        let default = binary_search(min, max, |t| ask(&mut fx, &mut w, opts, t));
        println!(
            "probing {label}: default wallet: score in [{}, {}] ({} wide, scale {scale}) after {} requests, \
             {} credentials spent, {} off-grid refusals",
            default.lo,
            default.hi,
            default.width(),
            default.requests,
            default.spent,
            default.off_grid
        );
        assert!(default.lo <= 712 && 712 <= default.hi, "{label}: the tracking is sound: {default:?}");
        assert_eq!((default.lo, default.hi), cell, "{label}: the attacker gets exactly the cell of 712, no less");
        assert!(default.width() >= grid.narrowest_cell(), "{label}: {default:?}");
        assert!(default.width() * 20 >= scale, "{label}: at least 1/20 of the scale: {default:?}");
        assert!(default.spent <= 6, "{label}: {default:?}");

        let mut w = wallet_with(&mut fx, &claims, 16);
        let opts = PresentOptions::default().allow_off_grid(true);
        let permissive = binary_search(min, max, |t| ask(&mut fx, &mut w, opts, t));
        println!(
            "probing {label}: allow_off_grid wallet: score in [{}, {}] after {} requests, {} credentials spent",
            permissive.lo, permissive.hi, permissive.requests, permissive.spent
        );
        assert_eq!((permissive.lo, permissive.hi), (712, 712), "{label}: the attack works without the grid");
        assert_eq!(permissive.off_grid, 0);
        assert!(permissive.requests <= 10, "{label}: {permissive:?}");
    }
}

/// The same attack for scores across the whole Sesame-style scale: the
/// default wallet always leaves exactly the cell of the score, the
/// permissive one always gives the score away.
#[test]
fn binary_search_attack_across_the_scale() {
    let mut fx = Fixture::new();
    let grid = Grid::default_for(350, 950).unwrap();
    let mut narrowest = u64::MAX;
    for score in (350..=950).step_by(23).chain([399, 400, 949, 950]) {
        let claims = Claims::from_json(
            format!(r#"{{"score":{score},"score_scale":{{"min":350,"max":950}}}}"#).as_bytes(),
            &creditproof::Limits::default(),
        )
        .unwrap();
        let mut w = wallet_with(&mut fx, &claims, 12);
        let default = binary_search(350, 950, |t| ask(&mut fx, &mut w, PresentOptions::default(), t));
        assert_eq!((default.lo, default.hi), grid.cell_of(score).unwrap(), "{score}: {default:?}");
        narrowest = narrowest.min(default.width());
        let mut w = wallet_with(&mut fx, &claims, 12);
        let opts = PresentOptions::default().allow_off_grid(true);
        let exact = binary_search(350, 950, |t| ask(&mut fx, &mut w, opts, t));
        assert_eq!((exact.lo, exact.hi), (score, score), "{score}: {exact:?}");
    }
    assert_eq!(narrowest, 50);
    assert!(narrowest * 20 >= 601);
}

/// A verifier that mixes `>=`, `<=` and `between` predicates with random
/// thresholds, on and off the grid, and keeps the exact set of scores
/// consistent with every answer: against a default wallet that set always
/// holds the whole cell of the score.
#[test]
fn mixed_random_probes_never_split_the_cell() {
    let mut fx = Fixture::new();
    let mut rng = SeededRng::new(b"probing");
    let mut draw = |n: u64| {
        let mut b = [0u8; 8];
        creditproof::SecureRng::fill(&mut rng, &mut b);
        u64::from_le_bytes(b) % n
    };
    let grid = Grid::default_for(350, 950).unwrap();
    for score in [350, 512, 699, 700, 712, 950] {
        let claims = Claims::from_json(
            format!(r#"{{"score":{score},"score_scale":{{"min":350,"max":950}}}}"#).as_bytes(),
            &creditproof::Limits::default(),
        )
        .unwrap();
        let mut w = wallet_with(&mut fx, &claims, 40);
        // (v, whether score v agrees with every answer so far).
        let mut consistent: Vec<(u64, bool)> = (350..=950).map(|v| (v, true)).collect();
        let (mut answered, mut refused_off_grid) = (0, 0);
        for _ in 0..120 {
            // Thresholds on the grid half the time.
            let pick = |d: &mut dyn FnMut(u64) -> u64| {
                if d(2) == 0 {
                    grid.thresholds()[usize::try_from(d(grid.thresholds().len() as u64)).unwrap()]
                } else {
                    340 + d(620)
                }
            };
            let a = pick(&mut draw);
            let b = pick(&mut draw);
            let pred = match draw(3) {
                0 => format!("score>={a}"),
                1 => format!("score<={}", a - 1),
                _ => format!("{}<=score<={}", a.min(b), a.max(b) - 1),
            };
            let Ok(p) = pred.parse::<Predicate>() else { continue };
            let holds = |v: u64| match &p {
                Predicate::AtLeast { threshold, .. } => v >= *threshold,
                Predicate::AtMost { threshold, .. } => v <= *threshold,
                Predicate::Between { low, high, .. } => *low <= v && v <= *high,
                _ => unreachable!(),
            };
            let req = fx.request(&[], &[&pred]);
            let truth = match w.present(&req, PresentOptions::default(), NOW, &mut fx.rng) {
                Ok(pres) => {
                    fx.verify(&req, pres.as_str()).unwrap();
                    true
                }
                Err(Error::Holder(HolderError::PredicateNotSatisfied { .. })) => false,
                Err(Error::Holder(HolderError::OffGrid { .. })) => {
                    refused_off_grid += 1;
                    continue;
                }
                Err(e) => panic!("{pred}: {e}"),
            };
            answered += 1;
            for (v, c) in &mut consistent {
                *c &= holds(*v) == truth;
            }
        }
        let (lo, hi) = grid.cell_of(score).unwrap();
        let cell_kept = consistent.iter().filter(|(v, _)| (lo..=hi).contains(v)).all(|&(_, c)| c);
        assert!(cell_kept, "{score}: the cell [{lo}, {hi}] was split");
        let left = consistent.iter().filter(|&&(_, c)| c).count();
        assert!(answered > 10 && refused_off_grid > 10, "{score}: {answered} answered, {refused_off_grid} refused");
        println!(
            "probing mixed: score {score}: {answered} answered, {refused_off_grid} off-grid refusals, \
             {left} scores still consistent (cell [{lo}, {hi}])"
        );
    }
}

/// `tests/probing_attack.sh`: the same binary search with the real binary
/// and files, against a default wallet and one run with `--allow-off-grid`.
#[test]
fn probing_attack_script() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/probing_attack.sh");
    let out = Command::new("bash").arg(script).arg(env!("CARGO_BIN_EXE_creditproof")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    let line = |label: &str| stdout.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line("default wallet:").contains("score in [700, 749] (50 wide"), "{stdout}");
    assert!(line("--allow-off-grid wallet:").contains("score in [712, 712] (1 wide"), "{stdout}");
}
