//! Issue 20 from the command line: the wallet never spends a credential it
//! could know the verifier will reject, and the holder sees and prunes what
//! the wallet holds.

use std::process::Output;

use crate::cli::{bin, setup, Tmp};

const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/sesame-style.json");

/// Runs the binary in `t`'s directory, the arguments split at spaces.
fn cp(t: &Tmp, args: &str) -> Output {
    bin().current_dir(&t.0).args(args.split_whitespace()).output().unwrap()
}

fn ok(o: Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The one-line refusal of a command that exits 2.
fn refused(o: Output) -> String {
    assert_eq!(o.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn check(o: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v["error"]["check"].as_str().unwrap_or("accepted").to_owned()
}

fn json(t: &Tmp, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(t.path(name)).unwrap()).unwrap()
}

/// The status references (`URI#IDX`) of a batch file's credentials, in order.
fn indexes(t: &Tmp, batch: &str) -> Vec<String> {
    json(t, batch)["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let jwt = c["sd_jwt"].as_str().unwrap().split('~').next().unwrap();
            let payload = crate::fixture::decode_json(jwt.split('.').nth(1).unwrap());
            let s = &payload["status"]["status_list"];
            format!("{}#{}", s["uri"].as_str().unwrap(), s["idx"])
        })
        .collect()
}

const VERIFY: &str = "verifier verify --trust bureau.pub.json --request req.json --presentation p.txt \
                      --status-list lists/list-1.jwt";

#[test]
fn after_a_correction_the_superseded_batch_is_never_presented() {
    let t = Tmp::new("select-correct");
    setup(&t, r#"{"tier":"A"}"#, "1");
    std::fs::write(
        t.path("records.json"),
        r#"[{"kind":"default","date":"2026-02-01","reference":"d1"},{"kind":"judgement_settled","date":"2026-03-01","reference":"j1"}]"#,
    )
    .unwrap();
    std::fs::write(t.path("fixed.json"), r#"[{"kind":"judgement_settled","date":"2026-03-01","reference":"j1"}]"#)
        .unwrap();
    ok(cp(&t, "holder keys --wallet wallet --count 2 --out k2.json"));
    let issue = format!(
        "issuer issue --dir bureau --keys k2.json --policy {POLICY} --records records.json --as-of 2026-11-21 --out b2.json"
    );
    ok(cp(&t, &issue));
    ok(cp(&t, "holder store --wallet wallet --batch b2.json"));
    ok(cp(&t, "holder dispute --batch b2.json --entry d1=repaid --out dispute.json"));
    ok(cp(&t, "holder keys --wallet wallet --count 1 --out k3.json"));
    ok(cp(
        &t,
        "issuer correct --dir bureau --dispute dispute.json --records fixed.json --keys k3.json --out b3.json \
         --as-of 2026-11-21",
    ));
    let stored = ok(cp(&t, "holder store --wallet wallet --batch b3.json"));
    assert!(stored.contains("2 earlier credential(s) superseded by this correction"), "{stored}");
    ok(cp(&t, "issuer status-list --dir bureau --out-dir lists"));

    // Only the policy credentials have a `policy` claim: the corrected one
    // answers, and is accepted.
    ok(cp(&t, "verifier request --aud https://v.example --disclose policy --out req.json"));
    ok(cp(&t, "holder present --wallet wallet --request req.json --out p.txt"));
    assert_eq!(check(&cp(&t, VERIFY)), "accepted");
    // Asked again, the wallet refuses rather than spend a superseded
    // credential (the verifier would answer status.revoked).
    ok(cp(&t, "verifier request --aud https://v.example --disclose policy --out req.json"));
    std::fs::remove_file(t.path("p.txt")).unwrap();
    let e = refused(cp(&t, "holder present --wallet wallet --request req.json --out p.txt"));
    assert!(e.contains("every credential that could answer is spent (1), superseded by a correction (2)"), "{e}");
    assert!(!t.path("p.txt").exists(), "nothing is sent");

    let status = ok(cp(&t, "holder status --wallet wallet"));
    assert!(status.contains("(policy sesame-style/1): 0 unused, 1 spent, 0 expired, 2 superseded"), "{status}");
    let fix_id = json(&t, "b3.json")["batch_id"].as_str().unwrap().to_owned();
    let list = ok(cp(&t, "holder list --wallet wallet"));
    assert_eq!(list.matches(&format!("superseded by batch {fix_id}")).count(), 2, "{list}");
}

#[test]
fn a_request_naming_its_issuer_gets_a_credential_of_that_issuer() {
    let t = Tmp::new("select-issuer");
    setup(&t, r#"{"tier":"A"}"#, "1");
    // A second issuer, whose credential is stored last: the newest.
    ok(cp(&t, "issuer init --iss https://other.example --dir other"));
    ok(cp(&t, "holder keys --wallet wallet --count 1 --out ko.json"));
    ok(cp(&t, "issuer issue --dir other --keys ko.json --claims claims.json --out bo.json"));
    ok(cp(&t, "holder store --wallet wallet --batch bo.json"));
    ok(cp(&t, "issuer status-list --dir bureau --out-dir lists"));

    // Without --issuer the wallet may take the other issuer's credential,
    // which this verifier does not trust: the dry run shows it would.
    ok(cp(&t, "verifier request --aud https://v.example --disclose tier --out req.json"));
    let dry = ok(cp(&t, "holder present --wallet wallet --request req.json --dry-run"));
    assert!(dry.contains("credential issuer: https://other.example"), "{dry}");

    ok(cp(
        &t,
        "verifier request --aud https://v.example --disclose tier --issuer https://bureau.example --out req.json",
    ));
    assert_eq!(json(&t, "req.json")["issuers"], serde_json::json!(["https://bureau.example"]));
    ok(cp(&t, "holder present --wallet wallet --request req.json --out p.txt"));
    let v = cp(&t, VERIFY);
    assert_eq!(check(&v), "accepted");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&v.stdout).unwrap()["issuer"], "https://bureau.example");

    ok(cp(&t, "verifier request --aud https://v.example --issuer https://nobody.example --out req.json"));
    let e = refused(cp(&t, "holder present --wallet wallet --request req.json --out p2.txt"));
    assert!(e.contains("no credential in the wallet is one the request accepts"), "{e}");
    assert!(e.contains("accepted issuers: https://nobody.example"), "{e}");
}

#[test]
fn a_status_list_given_to_the_wallet_keeps_it_from_revoked_credentials() {
    let t = Tmp::new("select-status");
    setup(&t, r#"{"tier":"A"}"#, "3");
    let idx = indexes(&t, "batch.json");
    // The first stored (what a naive wallet takes) and the last stored
    // (what the newest-first preference takes) are revoked.
    for i in [&idx[0], &idx[2]] {
        ok(cp(&t, &format!("issuer revoke --dir bureau --index {i} --reason lost")));
    }
    ok(cp(&t, "issuer status-list --dir bureau --out-dir lists"));
    ok(cp(&t, "verifier request --aud https://v.example --disclose tier --out req.json"));
    let e =
        refused(cp(&t, "holder present --wallet wallet --request req.json --out p.txt --status-list lists/list-1.jwt"));
    assert!(e.contains("--trust"), "the list's signature needs the issuer's key: {e}");
    let present = "holder present --wallet wallet --request req.json --out p.txt --trust bureau.pub.json \
                   --status-list lists/list-1.jwt";
    ok(cp(&t, present));
    assert_eq!(check(&cp(&t, VERIFY)), "accepted");
    // The wallet remembers what the list showed.
    let status = ok(cp(&t, "holder status --wallet wallet"));
    assert!(status.contains("0 unused, 1 spent, 0 expired, 2 revoked"), "{status}");
    let list = ok(cp(&t, "holder list --wallet wallet"));
    assert_eq!(list.matches("revoked (list of ").count(), 2, "{list}");
    ok(cp(&t, "verifier request --aud https://v.example --disclose tier --out req.json"));
    std::fs::remove_file(t.path("p.txt")).unwrap();
    let e = refused(cp(&t, "holder present --wallet wallet --request req.json --out p.txt"));
    assert!(e.contains("every credential that could answer is spent (1), revoked (2)"), "{e}");
    assert!(e.contains("--allow-reuse"), "{e}");

    // `holder status` checks a list too, and counts suspended apart.
    let t2 = Tmp::new("select-status-2");
    setup(&t2, r#"{"tier":"A"}"#, "2");
    let idx = indexes(&t2, "batch.json");
    ok(cp(&t2, &format!("issuer suspend --dir bureau --index {} --reason check", idx[1])));
    ok(cp(&t2, "issuer status-list --dir bureau --out-dir lists"));
    let status = ok(cp(&t2, "holder status --wallet wallet --trust bureau.pub.json --status-list lists/list-1.jwt"));
    assert!(status.contains("1 unused, 0 spent, 0 expired, 1 suspended"), "{status}");
    // A list that fails its checks is refused, and the wallet unchanged.
    let before = std::fs::read(t2.path("wallet/wallet.json")).unwrap();
    std::fs::write(t2.path("forged.jwt"), "eyJhbGciOiJFZERTQSJ9.e30.AAAA").unwrap();
    refused(cp(&t2, "holder status --wallet wallet --trust bureau.pub.json --status-list forged.jwt"));
    assert_eq!(std::fs::read(t2.path("wallet/wallet.json")).unwrap(), before);
}

#[test]
fn a_mixed_wallet_says_the_score_is_there_but_does_not_satisfy() {
    let t = Tmp::new("select-mixed");
    setup(&t, r#"{"tier":"A"}"#, "1");
    std::fs::write(t.path("score.json"), r#"{"score":712,"score_scale":{"min":350,"max":950}}"#).unwrap();
    ok(cp(&t, "holder keys --wallet wallet --count 1 --out k2.json"));
    ok(cp(&t, "issuer issue --dir bureau --keys k2.json --claims score.json --out b2.json"));
    ok(cp(&t, "holder store --wallet wallet --batch b2.json"));
    ok(cp(&t, "verifier request --aud https://lender.example --predicate score>=750 --out req.json"));
    let e = refused(cp(&t, "holder present --wallet wallet --request req.json --out p.txt"));
    assert!(e.contains("a credential has the claim, but its value does not satisfy `score>=750`"), "{e}");
    assert!(!e.contains("has the requested claim"), "{e}");
}

#[test]
fn the_holder_lists_and_removes_credentials() {
    let t = Tmp::new("select-list");
    setup(&t, r#"{"tier":"A"}"#, "2");
    let id = json(&t, "batch.json")["batch_id"].as_str().unwrap().to_owned();
    let list = ok(cp(&t, "holder list --wallet wallet"));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    for col in ["ISSUER", "TYPE", "POLICY", "BATCH", "ISSUED", "EXPIRES", "STATUS", "SPENT", "STATE"] {
        assert!(lines[0].contains(col), "{list}");
    }
    for l in &lines[1..] {
        for cell in ["https://bureau.example", "urn:creditproof:score:2", &id, "unknown", " no ", "unused"] {
            assert!(l.contains(cell), "{cell} in {l}");
        }
    }
    assert_eq!(ok(cp(&t, "holder remove --wallet wallet --expired")), "removed 0 credential(s)\n");
    assert_eq!(
        ok(cp(&t, "holder remove --wallet wallet --issuer https://nobody.example")),
        "removed 0 credential(s)\n"
    );
    refused(cp(&t, "holder remove --wallet wallet"));
    refused(cp(&t, "holder remove --wallet wallet --expired --batch x"));
    assert_eq!(ok(cp(&t, &format!("holder remove --wallet wallet --batch {id}"))), "removed 2 credential(s)\n");
    assert_eq!(ok(cp(&t, "holder list --wallet wallet")), "no credentials\n");

    // Expired ones, as of a moment after they expire.
    let t = Tmp::new("select-list-2");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let later = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 400 * 86_400)
        .to_string();
    let list = ok(cp(&t, &format!("holder list --wallet wallet --now {later}")));
    assert!(list.contains("expired"), "{list}");
    let removed = ok(cp(&t, &format!("holder remove --wallet wallet --expired --now {later}")));
    assert_eq!(removed, "removed 1 credential(s)\n");
    assert_eq!(
        ok(cp(&t, "holder remove --wallet wallet --issuer https://bureau.example")),
        "removed 0 credential(s)\n"
    );
}

#[test]
fn holder_store_with_trust_refuses_a_batch_forged_in_the_issuers_name() {
    let t = Tmp::new("select-forged");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let genuine = json(&t, "batch.json")["batch_id"].as_str().unwrap().to_owned();
    // Another key under the bureau's name, a batch for the holder's keys
    // that claims to supersede the genuine one.
    ok(cp(&t, "issuer init --iss https://bureau.example --dir impostor"));
    ok(cp(&t, "holder keys --wallet wallet --count 1 --out k2.json"));
    ok(cp(&t, "issuer issue --dir impostor --keys k2.json --claims claims.json --out forged.json"));
    let mut forged = json(&t, "forged.json");
    forged["supersedes"] = serde_json::json!([genuine]);
    std::fs::write(t.path("forged.json"), forged.to_string()).unwrap();
    let before = std::fs::read(t.path("wallet/wallet.json")).unwrap();
    let e = refused(cp(&t, "holder store --wallet wallet --batch forged.json --trust bureau.pub.json"));
    assert!(e.contains("forged.json") && e.contains("key id is not in the trust store"), "{e}");
    assert_eq!(std::fs::read(t.path("wallet/wallet.json")).unwrap(), before, "wallet unchanged");
    let stored = ok(cp(&t, "holder store --wallet wallet --batch batch.json --trust bureau.pub.json"));
    assert!(stored.contains("stored 0 credential(s)"), "the genuine batch checks out (already held): {stored}");
}
