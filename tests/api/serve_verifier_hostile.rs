//! `serve verifier` against a hostile issuer host, over real loopback HTTP:
//! the status list every credential names is served oversized, as a zlib
//! bomb, slowly, redirected to another host, for another list, signed by
//! another key, or stale; and an issuer trusted by identifier publishes
//! metadata for another issuer. The service fails closed on each — the
//! verdict is a rejection naming the check, the log names the reason, the
//! other host is never asked — and stays up: once a good list is served,
//! the same credentials are accepted, so the rejections came from the
//! hostility and not from the set-up.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use creditproof::status_list::StatusList;
use creditproof::{Issuer, IssuerSigningKey, SystemRng, UnixTime};
use serde_json::Value;

use super::cli::{ok, run, Tmp};
use super::serve_verifier::{b64url, count, respond, Verifier};
use super::serve_wallet::{Answer, Hostile};

/// An issuer directory whose lists live under `status_base`, and a wallet
/// holding `n` of its credentials (`tier` and a perk).
fn issue(t: &Tmp, tag: &str, iss: &str, status_base: &str, n: &str) -> (PathBuf, PathBuf) {
    let (dir, wallet) = (t.path(&format!("{tag}-bureau")), t.path(&format!("{tag}-wallet")));
    let keys = t.path(&format!("{tag}-keys.json"));
    let claims = t.path(&format!("{tag}-claims.json"));
    let batch = t.path(&format!("{tag}-batch.json"));
    ok(&run(&[&"issuer", &"init", &"--iss", &iss, &"--dir", &dir, &"--status-base", &status_base]));
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    ok(&run(&[&"holder", &"keys", &"--wallet", &wallet, &"--count", &n, &"--out", &keys]));
    std::fs::write(&claims, r#"{"tier":"A","perks":{"no_deposit_rental":true}}"#).unwrap();
    ok(&run(&[&"issuer", &"issue", &"--dir", &dir, &"--keys", &keys, &"--claims", &claims, &"--out", &batch]));
    ok(&run(&[&"holder", &"store", &"--wallet", &wallet, &"--batch", &batch]));
    (dir, wallet)
}

/// The issuer's signing key, read from its directory.
fn signer(dir: &Path, iss: &str) -> Issuer {
    let state: Value = serde_json::from_slice(&std::fs::read(dir.join("issuer.json")).unwrap()).unwrap();
    let key = IssuerSigningKey::from_secret_string(state["signing_key"].as_str().unwrap()).unwrap();
    Issuer::new(iss, key).unwrap()
}

/// `issuer status-list`'s token for the one list of `dir`: its URI (the
/// `sub`) and the token.
fn published(t: &Tmp, dir: &Path) -> (String, String) {
    let out = t.path("lists");
    let _ = std::fs::remove_dir_all(&out);
    ok(&run(&[&"issuer", &"status-list", &"--dir", &dir, &"--out-dir", &out]));
    let file = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let token = std::fs::read_to_string(file).unwrap().trim().to_owned();
    let payload = token.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(&b64url(payload)).unwrap();
    (payload["sub"].as_str().unwrap().to_owned(), token)
}

/// Asks for the perk, answers with the wallet, and returns the verdict.
fn ask_and_answer(lender: &Verifier, wallet: &Path) -> (Option<i32>, Value) {
    let (id, link) = lender.ask(&["--predicate", "perk:no_deposit_rental"]);
    ok(&respond(wallet, &link, &[]));
    lender.result(&id, &["--wait", "20"])
}

/// Done means: each hostile way of serving a status list is refused with
/// its own reason in the log, the verdict is `status.no_list` (fail
/// closed; `status.stale` for a stale token), the redirect target is never contacted, and the service then
/// accepts the same credentials once the list is served properly.
#[test]
fn status_lists_from_a_hostile_host_fail_closed() {
    let t = Tmp::new("verifier-hostile-lists");
    // The host the redirect points to: it must never be asked.
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let elsewhere = {
        let hits = elsewhere_hits.clone();
        Hostile::start(Arc::new(move |_m: &str, _p: &str, _a: Option<&str>, _b: &[u8]| -> Answer {
            hits.fetch_add(1, Ordering::SeqCst);
            (200, "application/statuslist+jwt", b"never".to_vec())
        }))
    };
    // The issuer's status host: it answers with whatever `answer` holds,
    // after `delay`.
    let answer: Arc<Mutex<(Answer, Duration)>> = Arc::new(Mutex::new(((404, "text/plain", vec![]), Duration::ZERO)));
    let host = {
        let answer = answer.clone();
        Hostile::start(Arc::new(move |_m: &str, _p: &str, _a: Option<&str>, _b: &[u8]| -> Answer {
            let (a, delay) = answer.lock().unwrap().clone();
            std::thread::sleep(delay);
            a
        }))
    };
    let iss = "https://bureau.example";
    let (dir, wallet) = issue(&t, "b", iss, &format!("{}/status", host.url), "12");
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &t.path("bureau.pub.json")]));
    let metadata = t.path("bureau.pub.json");
    let (uri, good) = published(&t, &dir);
    let bureau = signer(&dir, iss);
    let now = UnixTime::now();
    let list = StatusList::new(2, 1 << 20).unwrap();

    let mut lender = Verifier::start(
        &t,
        "hostile",
        &[metadata.to_str().unwrap()],
        &["--status-min-ttl-secs", "1", "--fetch-timeout-secs", "1"],
    );

    let bomb = {
        // 64 MiB of zeros: about 64 KiB compressed, signed by the issuer
        // itself, so only the decompression limit stops it.
        let zeros = StatusList::from_bytes(2, vec![0; 64 << 20]).unwrap();
        bureau.sign_status_list(&uri, &zeros, now, 86_400, 60)
    };
    let impostor = Issuer::new(iss, IssuerSigningKey::generate(&mut SystemRng::new())).unwrap();
    let stale = bureau.sign_status_list(&uri, &list, UnixTime(now.as_secs() - 7200), 86_400, 60);
    let jwt = "application/statuslist+jwt";
    let cases: Vec<(&str, Answer, Duration, &str)> = vec![
        ("oversized", (200, jwt, vec![b'a'; 3 << 20]), Duration::ZERO, "larger than"),
        ("a zlib bomb", (200, jwt, bomb.into_bytes()), Duration::ZERO, "decompressed status list exceeds"),
        ("slow", (200, jwt, good.clone().into_bytes()), Duration::from_secs(3), "timed out"),
        (
            "redirected to another host",
            (302, "text/plain", format!("{}/status/1", elsewhere.url).into_bytes()),
            Duration::ZERO,
            "redirect",
        ),
        (
            "for another list",
            (200, jwt, bureau.sign_status_list(&format!("{uri}x"), &list, now, 86_400, 60).into_bytes()),
            Duration::ZERO,
            "sub",
        ),
        (
            "signed by another key",
            (200, jwt, impostor.sign_status_list(&uri, &list, now, 86_400, 60).into_bytes()),
            Duration::ZERO,
            "status.untrusted",
        ),
        ("stale", (200, jwt, stale.into_bytes()), Duration::ZERO, "already stale"),
    ];
    let mut refusals = 0;
    for (what, a, delay, reason) in cases {
        *answer.lock().unwrap() = (a, delay);
        let before = lender.log().len();
        let (code, verdict) = ask_and_answer(&lender, &wallet);
        assert_eq!(code, Some(1), "{what}: {verdict}");
        // A stale token is held (and named as such); nothing else is.
        let check = if what == "stale" { "status.stale" } else { "status.no_list" };
        assert_eq!(verdict["error"]["check"], check, "{what}: {verdict}");
        let log = lender.log();
        let new = &log[before..];
        assert!(new.contains("status list") && new.contains(reason), "{what}: the log says why: {new}");
        refusals += 1;
        // The service pauses before it asks a failing host again.
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0, "the redirect was not followed");
    assert_eq!(lender.get("/health", &[]).status, 200, "still up");
    let m = lender.metrics();
    let rejected = |check: &str| {
        count(&m, &format!("creditproof_verifier_verdicts_total{{verdict=\"rejected\",check=\"{check}\"}}"))
    };
    assert_eq!(rejected("status.no_list") + rejected("status.stale"), refusals, "{m}");
    // Four are failed fetches (size, time, redirect); the rest fail when
    // the fetched token is loaded.
    assert!(count(&m, "creditproof_verifier_fetches_total{kind=\"status_list\",outcome=\"error\"}") >= 3, "{m}");

    // The same host serving the issuer's own list: accepted.
    *answer.lock().unwrap() = ((200, jwt, good.into_bytes()), Duration::ZERO);
    let (code, verdict) = ask_and_answer(&lender, &wallet);
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(verdict["accepted"], true, "{verdict}");
    assert!(lender.terminate().success());
}

/// Done means: an issuer trusted by identifier whose host publishes
/// metadata naming another issuer is not trusted at all (its credentials
/// are rejected with `trust.issuer`); once the host publishes its own
/// metadata, the next refresh trusts it and the same credentials pass.
#[test]
fn metadata_for_another_issuer_is_not_trusted() {
    let t = Tmp::new("verifier-hostile-metadata");
    let metadata: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(vec![]));
    let list: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(vec![]));
    let host = {
        let (metadata, list) = (metadata.clone(), list.clone());
        Hostile::start(Arc::new(move |_m: &str, path: &str, _a: Option<&str>, _b: &[u8]| -> Answer {
            match path {
                "/.well-known/jwt-vc-issuer" => (200, "application/json", metadata.lock().unwrap().clone()),
                p if p.starts_with("/status/") => (200, "application/statuslist+jwt", list.lock().unwrap().clone()),
                _ => (404, "text/plain", vec![]),
            }
        }))
    };
    // The credentials name the host as their issuer.
    let (dir, wallet) = issue(&t, "h", &host.url, &format!("{}/status", host.url), "4");
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &t.path("own.json")]));
    let own = std::fs::read(t.path("own.json")).unwrap();
    *list.lock().unwrap() = published(&t, &dir).1.into_bytes();
    // The same keys, claimed for another issuer.
    let mut other: Value = serde_json::from_slice(&own).unwrap();
    other["issuer"] = Value::String("https://other.example".into());
    *metadata.lock().unwrap() = serde_json::to_vec(&other).unwrap();

    let lender =
        Verifier::start(&t, "meta", &[&host.url], &["--metadata-refresh-secs", "1", "--status-min-ttl-secs", "1"]);
    let (code, verdict) = ask_and_answer(&lender, &wallet);
    assert_eq!(code, Some(1), "{verdict}");
    assert_eq!(verdict["error"]["check"], "trust.issuer", "{verdict}");
    assert!(lender.log().contains("not for"), "the log says why: {}", lender.log());
    let m = lender.metrics();
    assert!(count(&m, "creditproof_verifier_fetches_total{kind=\"issuer_metadata\",outcome=\"error\"}") >= 1, "{m}");

    // The host now publishes its own metadata: trusted after a refresh.
    *metadata.lock().unwrap() = own;
    std::thread::sleep(Duration::from_millis(2500));
    let (code, verdict) = ask_and_answer(&lender, &wallet);
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(verdict["accepted"], true, "{verdict}");
}

/// Done means: `verifier ask --policy` refuses a `score` threshold off the
/// policy's grid before it reaches the service (no transaction is made),
/// names the nearest thresholds on the grid, and sends an on-grid one.
#[test]
fn ask_refuses_thresholds_off_the_policy_grid() {
    let t = Tmp::new("verifier-ask-grid");
    let dir = t.path("bureau");
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &t.path("bureau.pub.json")]));
    let lender = Verifier::start(&t, "grid", &[t.path("bureau.pub.json").to_str().unwrap()], &[]);
    let ask = |predicate: &str| {
        let mut c = super::cli::bin();
        c.args(["verifier", "ask", "--service", &lender.url, "--policy", "sesame-style", "--predicate", predicate])
            .arg("--api-token-file")
            .arg(&lender.token_file);
        c.output().unwrap()
    };
    let refused = ask("score>=712");
    let err = super::cli::fails_with_2(&refused);
    assert!(err.contains("off the policy's threshold grid") && err.contains("score>=700"), "{err}");
    let m = lender.metrics();
    assert_eq!(count(&m, "creditproof_verifier_transactions_total"), 0, "nothing reached the service: {m}");
    ok(&ask("score>=700"));
    assert_eq!(count(&lender.metrics(), "creditproof_verifier_transactions_total"), 1);
}
