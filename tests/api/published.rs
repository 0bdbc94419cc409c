//! Published policies over loopback: a credential's `policy` claim names
//! the version and the SHA-256 of the document the issuer service
//! publishes, signed; a verifier pinned to that version (or hash) accepts,
//! one pinned to another refuses with `request.policy`; versions are
//! append-only; `policy show` and `policy diff` read them.

use serde_json::{json, Value};

use super::cli::{ok, run};
use super::fixture::{b64, decode_json};
use super::serve::{offer_with_tx_code, Service};

#[test]
fn policy_claim_resolves_to_the_published_document_and_pins_are_enforced() {
    let s = Service::start("published", true, &[]);
    let t = &s.tmp;
    // Scoring publishes the policy (issuer offer --policy sesame-style).
    let (link, tx) = offer_with_tx_code(&s);
    let wallet = t.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--tx-code", &tx, &"--count", &"4"]));

    // The list names the version and its hash, and links the signed document.
    let list = s.get("/policies", &[]);
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    assert_eq!(list["issuer"], s.url.as_str());
    let entry = list["policies"].as_array().unwrap().iter().find(|p| p["id"] == "sesame-style").unwrap().clone();
    assert_eq!(entry["version"], "1");
    let sha = entry["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    assert_eq!(entry["url"], format!("{}/policies/sesame-style/1", s.url).as_str());
    let doc = s.get("/policies/sesame-style/1", &[]);
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/jwt"));
    assert_eq!(s.get("/policies/sesame-style/2", &[]).status, 404);
    assert_eq!(s.get("/policies/..%2Fregistry/1", &[]).status, 404);

    // `policy show` of the URL checks the issuer's signature and prints the hash.
    let keys = s.get("/.well-known/jwt-vc-issuer", &[]);
    std::fs::write(t.path("bureau.pub.json"), &keys.body).unwrap();
    let shown = run(&[&"policy", &"show", &entry["url"].as_str().unwrap(), &"--trust", &t.path("bureau.pub.json")]);
    ok(&shown);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("(signature checked)"), "{shown}");
    assert!(shown.contains(&format!("sha256 {sha}")), "{shown}");
    assert!(shown.contains("answered within 30 days"), "{shown}");

    // A tampered document fails its hash.
    let token = String::from_utf8(doc.body.clone()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = decode_json(parts[1]);
    payload["policy"]["scale"]["start"] = json!(601);
    let forged = format!("{}.{}.{}", parts[0], b64(payload.to_string()), parts[2]);
    std::fs::write(t.path("forged.jwt"), forged).unwrap();
    let refused = run(&[&"policy", &"show", &t.path("forged.jwt")]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");

    // A lender asks for the policy claim; the disclosed claim names the hash.
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://lender.example",
        &"--predicate",
        &"score>=650",
        &"--disclose",
        &"policy",
        &"--policy",
        &"sesame-style",
        &"--out",
        &t.path("request.json"),
    ]));
    ok(&run(&[
        &"holder",
        &"present",
        &"--wallet",
        &wallet,
        &"--request",
        &t.path("request.json"),
        &"--out",
        &t.path("presentation.txt"),
    ]));
    std::fs::write(t.path("list.jwt"), s.get("/status/1", &[]).body).unwrap();
    let verify = |pins: &[&str]| {
        let mut args: Vec<String> = vec!["verifier".into(), "verify".into()];
        for (k, v) in [
            ("--trust", t.path("bureau.pub.json")),
            ("--request", t.path("request.json")),
            ("--presentation", t.path("presentation.txt")),
            ("--status-list", t.path("list.jwt")),
        ] {
            args.push(k.into());
            args.push(v.display().to_string());
        }
        for p in pins {
            args.push("--accept-policy".into());
            args.push((*p).to_owned());
        }
        let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect();
        run(&refs)
    };
    let accepted = verify(&[]);
    ok(&accepted);
    let verdict: Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(verdict["disclosed"]["policy"], json!({"id": "sesame-style", "version": "1", "sha256": sha}));

    ok(&verify(&["sesame-style@1"]));
    ok(&verify(&[&format!("sha256:{sha}")]));
    ok(&verify(&["civic-1300@1", "sesame-style@1"]));
    for pin in ["sesame-style@2", &format!("sha256:{}", "0".repeat(64))] {
        let rejected = verify(&[pin]);
        assert_eq!(rejected.status.code(), Some(1), "{pin}: {rejected:?}");
        let verdict: Value = serde_json::from_slice(&rejected.stdout).unwrap();
        assert_eq!(verdict["error"]["check"], "request.policy", "{pin}: {verdict}");
    }
}

#[test]
fn versions_are_append_only_and_diff_shows_the_change() {
    let s = Service::start("append-only", true, &[]);
    let t = &s.tmp;
    let records: Value = serde_json::from_slice(&std::fs::read(super::serve::records(t)).unwrap()).unwrap();
    let v1: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    let offer = |policy: &Value| {
        s.admin("/admin/offers", &json!({"policy": policy, "records": records, "as_of": "2025-01-01"}))
    };
    assert_eq!(offer(&v1).status, 201);
    // Same version, other rules: refused, and the published version is unchanged.
    let mut changed = v1.clone();
    changed["rules"]["default"]["points"] = json!(-150);
    let conflict = offer(&changed);
    assert_eq!(conflict.status, 409, "{}", conflict.text());
    assert!(conflict.text().contains("append-only"), "{}", conflict.text());
    let before = s.get("/policies", &[]).json();
    assert_eq!(before["policies"].as_array().unwrap().len(), 1);
    // As a new version it is published next to the old one.
    changed["version"] = json!("2");
    changed["dispute_period_days"] = json!(45);
    assert_eq!(offer(&changed).status, 201);
    let after = s.get("/policies", &[]).json();
    let versions: Vec<&str> =
        after["policies"].as_array().unwrap().iter().map(|p| p["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["1", "2"]);
    assert_eq!(after["policies"][0], before["policies"][0], "version 1 is untouched");

    let diff = run(&[
        &"policy",
        &"diff",
        &format!("{}/policies/sesame-style/1", s.url),
        &format!("{}/policies/sesame-style/2", s.url),
    ]);
    ok(&diff);
    let out = String::from_utf8_lossy(&diff.stdout).into_owned();
    assert!(out.contains("~ version: 1 -> 2"), "{out}");
    assert!(out.contains("~ dispute period: 30 days -> 45 days"), "{out}");
    assert!(out.contains("~ rule default: -100 points -> -150 points"), "{out}");
    let same = run(&[&"policy", &"diff", &"sesame-style", &format!("{}/policies/sesame-style/1", s.url)]);
    ok(&same);
    assert!(String::from_utf8_lossy(&same.stdout).starts_with("the same policy"), "{same:?}");
}
