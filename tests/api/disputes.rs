//! Disputes over loopback (issue 21): a holder disputes entries of its
//! breakdown at the issuer service; the bureau rejects one with a signed
//! reason, upholds another (old credentials revoked, a new offer, a new
//! breakdown without the entry), and leaves a third unanswered until the
//! clock passes its deadline: the next scoring leaves it out and says so.
//! Bad disputes get their error and change nothing.

use serde_json::{json, Value};

use super::cli::{fails_with_2, ok, run};
use super::serve::Service;
use creditproof::dispute::{sign_holder_query, MAX_EVIDENCE_BYTES};
use creditproof::policy::ScoreReport;
use creditproof::{verify_breakdown, HolderSigningKey, Limits, SystemRng, TrustStore, UnixTime, Wallet, DAY};

const RECORDS: &str = r#"[
  {"kind": "repayment_on_time",  "date": "2025-01-15", "reference": "card-2025-01"},
  {"kind": "repayment_late_30d", "date": "2025-03-15", "reference": "card-2025-03"},
  {"kind": "default",            "date": "2025-05-01", "reference": "loan-17"},
  {"kind": "court_judgement_unpaid", "date": "2025-06-01", "reference": "court-2025-9"}
]"#;

/// The records without `loan-17`: the correction of the upheld entry.
const CORRECTED: &str = r#"[
  {"kind": "repayment_on_time",  "date": "2025-01-15", "reference": "card-2025-01"},
  {"kind": "repayment_late_30d", "date": "2025-03-15", "reference": "card-2025-03"},
  {"kind": "court_judgement_unpaid", "date": "2025-06-01", "reference": "court-2025-9"}
]"#;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn offer(s: &Service, records: &std::path::Path, now: Option<u64>) -> String {
    let mut args: Vec<String> =
        ["issuer", "offer", "--policy", "sesame-style", "--as-of", "2025-12-31", "--subject", "person-1"]
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
    args.extend([
        "--dir".to_owned(),
        s.dir.display().to_string(),
        "--records".to_owned(),
        records.display().to_string(),
    ]);
    if let Some(n) = now {
        args.extend(["--now".to_owned(), n.to_string()]);
    }
    let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect();
    let o = run(&refs);
    ok(&o);
    stdout(&o).lines().next().unwrap().to_owned()
}

/// The breakdown the service keeps for the wallet's holder, checked.
fn breakdown(s: &Service, wallet: &std::path::Path) -> ScoreReport {
    let w = Wallet::from_secret_json(&std::fs::read(wallet.join("wallet.json")).unwrap()).unwrap();
    let query = w.sign_holder_query(&s.url, UnixTime::now(), &mut SystemRng::new()).unwrap();
    let got = post_json(s, "/disputes/breakdown", &json!({"query": query}));
    assert_eq!(got.status, 200, "{}", got.text());
    let keys = s.get("/.well-known/jwt-vc-issuer", &[]);
    let mut trust = TrustStore::new();
    trust.add_metadata(&keys.body, &Limits::default()).unwrap();
    let token = got.json()["breakdown"].as_str().unwrap().to_owned();
    verify_breakdown(&token, &trust, &Limits::default()).unwrap().2
}

fn post_json(s: &Service, path: &str, body: &Value) -> super::serve::Reply {
    s.post(path, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

fn dispute_id(out: &str) -> String {
    // "dispute ID received by URL: ..."
    out.split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn reject_uphold_and_silence_over_loopback() {
    let s = Service::start("disputes", true, &[]);
    let t = &s.tmp;
    std::fs::write(t.path("records.json"), RECORDS).unwrap();
    std::fs::write(t.path("corrected.json"), CORRECTED).unwrap();
    let wallet = t.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    let link = offer(&s, &t.path("records.json"), None);
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--count", &"4"]));
    let before = breakdown(&s, &wallet);
    assert_eq!(before.items.len(), 4);
    assert!(before.not_counted.is_empty());

    // Three disputes, each with its signed receipt and a 30-day deadline.
    let url = s.url.clone();
    let file = |entry: &str| {
        let o = run(&[&"holder", &"dispute", &"--wallet", &wallet, &"--issuer", &url, &"--entry", &entry]);
        ok(&o);
        let out = stdout(&o);
        assert!(out.contains("answer due by"), "{out}");
        dispute_id(&out)
    };
    std::fs::write(t.path("letter.txt"), b"the court record was annulled").unwrap();
    let rejected = file("card-2025-03=I paid on time, see my bank statement");
    let upheld = file("loan-17=This loan was never mine");
    let silent = {
        let o = run(&[
            &"holder",
            &"dispute",
            &"--wallet",
            &wallet,
            &"--issuer",
            &url,
            &"--entry",
            &"court-2025-9=The judgement was annulled",
            &"--evidence",
            &t.path("letter.txt"),
        ]);
        ok(&o);
        dispute_id(&stdout(&o))
    };
    // An entry that is not in the breakdown: invalid_request, nothing filed.
    let bad = run(&[&"holder", &"dispute", &"--wallet", &wallet, &"--issuer", &url, &"--entry", &"loan-99=not mine"]);
    assert!(fails_with_2(&bad).contains("invalid_request"), "{bad:?}");

    let listed = run(&[&"issuer", &"disputes", &"--dir", &s.dir, &"--open"]);
    ok(&listed);
    assert!(stdout(&listed).contains("3 dispute(s)"), "{}", stdout(&listed));

    // The bureau rejects one entry with a reason, and upholds another.
    ok(&run(&[
        &"issuer",
        &"resolve",
        &"--dir",
        &s.dir,
        &"--dispute",
        &rejected,
        &"--entry",
        &"card-2025-03",
        &"--reject",
        &"--reason",
        &"The lender's ledger shows the payment 31 days late",
    ]));
    let up = run(&[
        &"issuer",
        &"resolve",
        &"--dir",
        &s.dir,
        &"--dispute",
        &upheld,
        &"--entry",
        &"loan-17",
        &"--uphold",
        &"--records",
        &t.path("corrected.json"),
        &"--as-of",
        &"2025-12-31",
    ]);
    ok(&up);
    assert!(stdout(&up).contains("4 credential(s) revoked"), "{}", stdout(&up));
    // Answering twice is refused.
    let again = run(&[
        &"issuer",
        &"resolve",
        &"--dir",
        &s.dir,
        &"--dispute",
        &rejected,
        &"--entry",
        &"card-2025-03",
        &"--reject",
        &"--reason",
        &"x",
    ]);
    assert!(fails_with_2(&again).contains("already answered"));

    // The holder sees the signed reason, the upheld entry and the new offer.
    let seen = run(&[&"holder", &"disputes", &"--wallet", &wallet]);
    ok(&seen);
    let seen = stdout(&seen);
    assert!(seen.contains("card-2025-03: rejected on"), "{seen}");
    assert!(seen.contains("signed: The lender's ledger shows the payment 31 days late"), "{seen}");
    assert!(seen.contains("loan-17: upheld on"), "{seen}");
    assert!(seen.contains("court-2025-9: open"), "{seen}");
    let new_offer = seen.lines().find_map(|l| l.trim().strip_prefix("new offer: ")).unwrap().to_owned();
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &new_offer, &"--count", &"4"]));
    let auth = format!("Bearer {}", s.token);
    let history = s.get("/admin/history", &[("Authorization", &auth)]).json();
    let revoked = history.as_array().unwrap().iter().filter(|r| r["action"] == "revoked").count();
    assert_eq!(revoked, 4, "{history}");
    assert!(history.to_string().contains(&format!("corrected: dispute {upheld} entry loan-17 upheld")), "{history}");
    let after_uphold = breakdown(&s, &wallet);
    assert!(after_uphold.references().all(|r| r != "loan-17"), "{after_uphold:?}");
    assert_eq!(after_uphold.score, before.score + 100, "the -100 default is gone");
    assert!(after_uphold.references().any(|r| r == "court-2025-9"), "still counts within its period");

    // Silence: the clock passes the third dispute's deadline.
    let later = UnixTime::now().as_secs() + 31 * DAY;
    let overdue = run(&[&"issuer", &"disputes", &"--dir", &s.dir, &"--overdue", &"--now", &later.to_string()]);
    ok(&overdue);
    let overdue = stdout(&overdue);
    assert!(overdue.contains(&silent) && overdue.contains("OVERDUE") && overdue.contains("1 dispute(s)"), "{overdue}");
    // The next scoring leaves the entry out, and the breakdown says so.
    let next = offer(&s, &t.path("corrected.json"), Some(later));
    assert!(next.starts_with("openid-credential-offer://"));
    let last = breakdown(&s, &wallet);
    assert!(last.references().all(|r| r != "court-2025-9"), "{last:?}");
    assert_eq!(last.score, after_uphold.score + 100, "the -100 judgement no longer counts");
    assert_eq!(last.not_counted.len(), 1);
    assert_eq!(last.not_counted[0].reference, "court-2025-9");
    let table = last.render_table();
    assert!(table.contains("court-2025-9: disputed on") && table.contains(": not counted"), "{table}");
    // The rejected entry was answered in time: it still counts.
    assert!(last.references().any(|r| r == "card-2025-03"));

    // A late rejection does not bring the entry back by itself...
    let when = (later + DAY).to_string();
    let late = [
        "issuer",
        "resolve",
        "--dispute",
        &silent,
        "--entry",
        "court-2025-9",
        "--reject",
        "--reason",
        "The court confirms it",
        "--now",
        &when,
    ];
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = late.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect();
    args.extend([&"--dir" as &dyn AsRef<std::ffi::OsStr>, &s.dir]);
    let o = run(&args);
    ok(&o);
    assert!(stdout(&o).contains("after the deadline"), "{}", stdout(&o));
    offer(&s, &t.path("corrected.json"), Some(later + 2 * DAY));
    assert_eq!(breakdown(&s, &wallet).not_counted.len(), 1, "still out after a late rejection");
    let seen = stdout(&run(&[&"holder", &"disputes", &"--wallet", &wallet]));
    assert!(seen.contains("court-2025-9: rejected late: the entry stays out"), "{seen}");
    // ...only an explicit re-score and re-issue, which the history shows.
    let when = (later + 3 * DAY).to_string();
    let back = run(&[
        &"issuer",
        &"resolve",
        &"--dir",
        &s.dir,
        &"--dispute",
        &silent,
        &"--entry",
        &"court-2025-9",
        &"--reinstate",
        &"--records",
        &t.path("corrected.json"),
        &"--as-of",
        &"2025-12-31",
        &"--now",
        &when,
    ]);
    ok(&back);
    let reinstated = breakdown(&s, &wallet);
    assert!(reinstated.not_counted.is_empty() && reinstated.references().any(|r| r == "court-2025-9"));
    assert_eq!(reinstated.score, after_uphold.score);
    let again = run(&[
        &"issuer",
        &"resolve",
        &"--dir",
        &s.dir,
        &"--dispute",
        &rejected,
        &"--entry",
        &"card-2025-03",
        &"--reinstate",
        &"--records",
        &t.path("corrected.json"),
    ]);
    assert!(fails_with_2(&again).contains("not answered late"), "an answer in time has nothing to reinstate");
    let history = run(&[&"issuer", &"disputes", &"--dir", &s.dir, &"--history"]);
    ok(&history);
    let history = stdout(&history);
    for action in ["received", "rejected", "upheld", "rejected_late", "reinstated"] {
        assert!(history.contains(&format!(" {action} ")), "{action}: {history}");
    }
}

#[test]
fn bad_disputes_get_their_error_and_change_nothing() {
    let s = Service::start("dispute-abuse", true, &[]);
    let t = &s.tmp;
    std::fs::write(t.path("records.json"), RECORDS).unwrap();
    let wallet = t.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    let link = offer(&s, &t.path("records.json"), None);
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--count", &"2"]));
    let count = || {
        let o = run(&[&"issuer", &"disputes", &"--dir", &s.dir]);
        ok(&o);
        stdout(&o).lines().last().unwrap().to_owned()
    };

    // A key the issuer never bound: invalid_proof.
    let stranger = HolderSigningKey::generate(&mut SystemRng::new());
    let q = sign_holder_query(&stranger, &s.url, UnixTime::now(), &mut SystemRng::new());
    let r = post_json(&s, "/disputes/breakdown", &json!({"query": q}));
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_proof")), "{}", r.text());
    let r = post_json(&s, "/disputes/mine", &json!({"query": q}));
    assert_eq!(r.json()["error"], "invalid_proof");
    // Malformed: invalid_request.
    let r = post_json(&s, "/disputes", &json!({"request": "a.b.c"}));
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_request")), "{}", r.text());
    let r = s.post("/disputes", &[("Content-Type", "text/plain")], b"{}");
    assert_eq!(r.status, 400);
    // Oversized evidence, oversized body: 413.
    let w = Wallet::from_secret_json(&std::fs::read(wallet.join("wallet.json")).unwrap()).unwrap();
    let q = w.sign_holder_query(&s.url, UnixTime::now(), &mut SystemRng::new()).unwrap();
    let bd =
        post_json(&s, "/disputes/breakdown", &json!({"query": q})).json()["breakdown"].as_str().unwrap().to_owned();
    let entry = creditproof::policy::DisputeEntry { reference: "loan-17".into(), reason: "not mine".into() };
    let big = vec![7u8; MAX_EVIDENCE_BYTES + 1];
    let req = w
        .sign_dispute(&s.url, &bd, std::slice::from_ref(&entry), Some(&big), UnixTime::now(), &mut SystemRng::new())
        .unwrap();
    let r = post_json(&s, "/disputes", &json!({"request": req, "evidence": super::fixture::b64(&big)}));
    assert_eq!(r.status, 413, "{}", r.text());
    let huge = vec![b' '; 2 * 1024 * 1024];
    assert_eq!(s.post("/disputes", &[("Content-Type", "application/json")], &huge).status, 413);
    assert_eq!(count(), "0 dispute(s)", "nothing was recorded");

    // A replayed request: the first is received, the copy is invalid_proof.
    let req = w
        .sign_dispute(&s.url, &bd, std::slice::from_ref(&entry), None, UnixTime::now(), &mut SystemRng::new())
        .unwrap();
    assert_eq!(post_json(&s, "/disputes", &json!({"request": req})).status, 201);
    let r = post_json(&s, "/disputes", &json!({"request": req}));
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_proof")), "{}", r.text());
    assert_eq!(count(), "1 dispute(s)");
    // A flood from one holder: 429 after the daily limit, nothing recorded.
    let limit = creditproof::dispute_store::MAX_DISPUTES_PER_WINDOW as usize;
    for _ in 1..limit {
        let req = w
            .sign_dispute(&s.url, &bd, std::slice::from_ref(&entry), None, UnixTime::now(), &mut SystemRng::new())
            .unwrap();
        assert_eq!(post_json(&s, "/disputes", &json!({"request": req})).status, 201);
    }
    let req = w.sign_dispute(&s.url, &bd, &[entry], None, UnixTime::now(), &mut SystemRng::new()).unwrap();
    let r = post_json(&s, "/disputes", &json!({"request": req}));
    assert_eq!((r.status, r.json()["error"].as_str()), (429, Some("too_many_requests")), "{}", r.text());
    assert_eq!(count(), format!("{limit} dispute(s)"));

    // The back office lists and answers them too.
    let auth = format!("Bearer {}", s.token);
    let open = s.get("/admin/disputes?state=open", &[("Authorization", &auth)]);
    assert_eq!(open.status, 200, "{}", open.text());
    let open = open.json();
    assert_eq!(open.as_array().unwrap().len(), limit);
    assert_eq!(open[0]["entries"][0]["state"], "open");
    assert_eq!(open[0]["evidence"], false);
    assert_eq!(s.get("/admin/disputes?state=overdue", &[("Authorization", &auth)]).json(), json!([]));
    assert_eq!(s.get("/admin/disputes", &[]).status, 401);
    let id = open[0]["dispute_id"].as_str().unwrap();
    let reject =
        json!({"dispute": id, "entry": "loan-17", "decision": "reject", "reason": "The loan file is signed by you"});
    let r = s.admin("/admin/disputes/resolve", &reject);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["late"], false);
    let r = s.admin("/admin/disputes/resolve", &reject);
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_request")), "answered once");
    let r = s.admin("/admin/disputes/resolve", &json!({"dispute": id, "entry": "loan-17", "decision": "uphold"}));
    assert_eq!(r.status, 400, "uphold needs records");
    let seen = stdout(&run(&[&"holder", &"disputes", &"--wallet", &wallet]));
    assert!(seen.contains("loan-17: rejected on") && seen.contains("signed: The loan file is signed by you"), "{seen}");
}
