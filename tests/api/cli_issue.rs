//! Issue 15 item 2: a failed or killed `issuer issue` / `issuer correct`
//! never leaves a phantom batch. Whatever stops it, re-running the same
//! command succeeds and the holder ends with exactly one usable batch; no
//! index is reused and the history tells what happened.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use creditproof::registry::{HistoryEntry, IssuerRegistry, RegistryLocation};
use serde_json::Value;

use crate::cli::{bin, fails_with_2, ok, run, setup, Tmp};
use crate::multinode::{TestDb, PG_ENV};

/// Where one run of a test keeps its registry: the issuer directory's
/// SQLite file, and (when `CREDITPROOF_TEST_POSTGRES` names a server) a
/// fresh PostgreSQL database, recorded by `issuer init --registry`.
fn places(tag: &str) -> Vec<(Tmp, Option<TestDb>)> {
    let mut out = vec![(Tmp::new(tag), None)];
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => out.push((Tmp::new(&format!("{tag}-pg")), Some(TestDb::new(url.trim())))),
        _ => crate::multinode::skipped_postgres(),
    }
    out
}

/// `setup`, with the registry in `db` when given.
fn setup_on(t: &Tmp, claims: &str, n: &str, db: Option<&TestDb>) {
    let Some(db) = db else {
        return setup(t, claims, n);
    };
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir, &"--registry", &db.url]));
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &t.path("bureau.pub.json")]));
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    ok(&run(&[&"holder", &"keys", &"--wallet", &wallet, &"--count", &n, &"--out", &t.path("keys.json")]));
    std::fs::write(t.path("claims.json"), claims).unwrap();
    ok(&run(&[
        &"issuer",
        &"issue",
        &"--dir",
        &dir,
        &"--keys",
        &t.path("keys.json"),
        &"--claims",
        &t.path("claims.json"),
        &"--out",
        &t.path("batch.json"),
    ]));
    ok(&run(&[&"holder", &"store", &"--wallet", &wallet, &"--batch", &t.path("batch.json")]));
}

/// The issuer directory's registry, wherever it is.
fn open_reg(dir: &Path) -> Box<dyn IssuerRegistry + Send> {
    let location = match std::fs::read_to_string(dir.join("registry.url")) {
        Ok(url) => RegistryLocation::Postgres(url.trim().to_owned()),
        Err(_) => RegistryLocation::Sqlite(dir.join("registry.sqlite")),
    };
    location.open().unwrap()
}

/// Debug builds of the CLI abort at this named point of an issue, as a kill
/// there would stop it (`staged`, `committed`, `renamed`, `voided`).
const CRASH_AT: &str = "CREDITPROOF_TEST_CRASH_AT";

/// The status entries of a batch file, in file order.
fn batch_refs(batch: &Path) -> Vec<(String, u64)> {
    let v: Value = serde_json::from_slice(&std::fs::read(batch).unwrap()).unwrap();
    v["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let jwt = c["sd_jwt"].as_str().unwrap().split('~').next().unwrap();
            let payload: Value = serde_json::from_slice(&B64.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap();
            let s = &payload["status"]["status_list"];
            (s["uri"].as_str().unwrap().to_owned(), s["idx"].as_u64().unwrap())
        })
        .collect()
}

/// Files beside `out` that an issue left behind (its staged copies).
fn leftovers(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&format!(".{name}.")))
        .collect()
}

/// Checks the registry after a (re-)run that delivered `out` with `n`
/// credentials: the invariants hold, no index was ever issued twice, each
/// of the batch's holder keys has exactly one live credential — the one in
/// `out`, valid in the lists — and nothing is left pending or staged.
/// Returns each holder's history as (action, batch id).
fn one_usable_batch(dir: &Path, out: &Path, n: usize) -> Vec<Vec<(String, String)>> {
    let mut reg = open_reg(dir);
    reg.check_invariants().unwrap();
    assert!(reg.pending_batches().unwrap().is_empty(), "a batch left pending");
    assert_eq!(leftovers(out), Vec::<String>::new(), "staged files left beside {}", out.display());
    let history = reg.history(None).unwrap();
    let issued: Vec<(&str, u64)> =
        history.iter().filter(|h| h.action == "issued").map(|h| (h.uri.as_str(), h.idx)).collect();
    assert_eq!(issued.iter().collect::<HashSet<_>>().len(), issued.len(), "an index was issued twice");
    let lists: HashMap<String, Vec<u8>> = reg.lists().unwrap().into_iter().collect();
    let refs = batch_refs(out);
    assert_eq!(refs.len(), n);
    let mut per_holder = Vec::new();
    for (uri, idx) in &refs {
        assert_eq!(lists[uri][usize::try_from(*idx).unwrap()], 0, "{uri}#{idx} is not valid");
        let holder = &history.iter().find(|h| h.uri == *uri && h.idx == *idx).expect("credential in history").holder;
        let mine: Vec<&HistoryEntry> = history.iter().filter(|h| h.holder == *holder).collect();
        // Per credential of this key: its last action tells whether it lives.
        let mut last: HashMap<(&str, u64), &str> = HashMap::new();
        for h in &mine {
            last.insert((h.uri.as_str(), h.idx), h.action.as_str());
        }
        let live: Vec<(&str, u64)> =
            last.iter().filter(|(_, a)| !["revoked", "corrected", "voided"].contains(a)).map(|(k, _)| *k).collect();
        assert_eq!(live, [(uri.as_str(), *idx)], "holder {holder}: exactly one live credential, the delivered one");
        per_holder.push(mine.iter().map(|h| (h.action.clone(), h.batch_id.clone())).collect());
    }
    per_holder
}

/// The registry's full history, to compare before and after a failure.
fn history(dir: &Path) -> Vec<HistoryEntry> {
    open_reg(dir).history(None).unwrap()
}

fn keys(t: &Tmp, name: &str, n: usize) -> PathBuf {
    let path = t.path(name);
    ok(&run(&[&"holder", &"keys", &"--wallet", &t.path("wallet"), &"--count", &n.to_string(), &"--out", &path]));
    path
}

fn issue_args(t: &Tmp, keys: &Path, claims: &Path, out: &Path) -> Vec<std::ffi::OsString> {
    let dir = t.path("bureau");
    let args: [&dyn AsRef<OsStr>; 10] =
        [&"issuer", &"issue", &"--dir", &dir, &"--keys", &keys, &"--claims", &claims, &"--out", &out];
    args.iter().map(|a| a.as_ref().to_owned()).collect()
}

fn run_args(args: &[std::ffi::OsString]) -> Output {
    bin().args(args).output().unwrap()
}

#[test]
fn a_failed_issue_records_nothing_and_the_same_keys_then_get_one_batch() {
    for (t, db) in places("issue-fail") {
        setup_on(&t, r#"{"tier":"A"}"#, "1", db.as_ref());
        let dir = t.path("bureau");
        let k = keys(&t, "k.json", 3);
        let too_many: serde_json::Map<String, Value> = (0..300).map(|i| (format!("c{i}"), Value::from(i))).collect();
        std::fs::write(t.path("300.json"), Value::Object(too_many).to_string()).unwrap();
        let before = history(&dir);

        // More than 256 disclosable claims: refused when signing, before
        // anything is recorded.
        let out = t.path("b.json");
        let o = run_args(&issue_args(&t, &k, &t.path("300.json"), &out));
        assert!(fails_with_2(&o).contains("more than 256 disclosable claims"));
        assert!(!out.exists());
        // An output directory that does not exist.
        let o = run_args(&issue_args(&t, &k, &t.path("claims.json"), &t.path("nodir/b.json")));
        assert!(fails_with_2(&o).contains("nodir"));
        assert_eq!(history(&dir), before, "nothing recorded");
        assert_eq!(leftovers(&out), Vec::<String>::new());

        // The same keys, valid claims and output: one batch, three credentials.
        ok(&run_args(&issue_args(&t, &k, &t.path("claims.json"), &out)));
        for h in one_usable_batch(&dir, &out, 3) {
            assert_eq!(h.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["issued"]);
        }
        ok(&run(&[&"holder", &"store", &"--wallet", &t.path("wallet"), &"--batch", &out]));
        // Issued keys stay issued.
        let o = run_args(&issue_args(&t, &k, &t.path("claims.json"), &t.path("again.json")));
        assert!(fails_with_2(&o).contains("already issued"));
        assert!(!t.path("again.json").exists());
    }
}

#[test]
fn a_failed_correction_records_nothing_and_the_same_keys_then_get_one_batch() {
    for (t, db) in places("correct-fail") {
        setup_on(&t, r#"{"tier":"A"}"#, "1", db.as_ref());
        let dir = t.path("bureau");
        let policy = format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(t.path("records.json"), r#"[{"kind":"default","date":"2026-02-01","reference":"d1"}]"#).unwrap();
        let k1 = keys(&t, "k1.json", 2);
        ok(&run(&[
            &"issuer",
            &"issue",
            &"--dir",
            &dir,
            &"--keys",
            &k1,
            &"--policy",
            &policy,
            &"--records",
            &t.path("records.json"),
            &"--as-of",
            &"2026-11-21",
            &"--out",
            &t.path("b1.json"),
        ]));
        ok(&run(&[
            &"holder",
            &"dispute",
            &"--batch",
            &t.path("b1.json"),
            &"--entry",
            &"d1=repaid",
            &"--out",
            &t.path("dispute.json"),
        ]));
        std::fs::write(t.path("fixed.json"), "[]").unwrap();
        let k2 = keys(&t, "k2.json", 2);
        let correct = |out: &Path| {
            run(&[
                &"issuer",
                &"correct",
                &"--dir",
                &dir,
                &"--dispute",
                &t.path("dispute.json"),
                &"--records",
                &t.path("fixed.json"),
                &"--keys",
                &k2,
                &"--out",
                &out,
                &"--as-of",
                &"2026-11-21",
            ])
        };
        let before = history(&dir);
        assert!(fails_with_2(&correct(&t.path("nodir/b2.json"))).contains("nodir"));
        assert_eq!(history(&dir), before, "nothing recorded, the old batch not revoked");
        ok(&correct(&t.path("b2.json")));
        for h in one_usable_batch(&dir, &t.path("b2.json"), 2) {
            assert_eq!(h.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["issued"]);
        }
        let corrected = history(&dir).iter().filter(|h| h.action == "corrected").count();
        assert_eq!(corrected, 2, "the disputed batch revoked once");
    }
}

/// One attempt of a command: run to a named crash point, or killed after a
/// delay.
enum Stop {
    At(&'static str),
    After(Duration),
}

/// Runs `args` and stops it as told; returns whether it was stopped before
/// finishing.
fn attempt(args: &[std::ffi::OsString], stop: &Stop) -> bool {
    match stop {
        Stop::At(point) => {
            let o = bin().args(args).env(CRASH_AT, point).output().unwrap();
            assert_ne!(o.status.code(), Some(0), "did not stop at {point}: {}", String::from_utf8_lossy(&o.stderr));
            true
        }
        Stop::After(delay) => {
            let mut child = bin()
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(*delay);
            let killed = child.try_wait().unwrap().is_none();
            let _ = child.kill();
            let _ = child.wait();
            killed
        }
    }
}

/// The existing kill test's approach (`wallet_survives_kills_mid_write`)
/// applied to issuing: `issuer issue` and `issuer correct` are stopped at
/// each crash point between the registry transaction and the output file,
/// then killed at random points; after each, the same command is re-run and
/// must succeed with exactly one usable batch for the holder's keys, the
/// invariants holding and no index reused.
#[test]
fn issue_and_correct_survive_kills_and_retries() {
    for (t, db) in places("issue-kill") {
        setup_on(&t, r#"{"tier":"A"}"#, "1", db.as_ref());
        let dir = t.path("bureau");
        let claims = t.path("claims.json");
        let policy = format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(t.path("records.json"), r#"[{"kind":"default","date":"2026-02-01","reference":"d1"}]"#).unwrap();
        let k = keys(&t, "k-policy.json", 1);
        ok(&run(&[
            &"issuer",
            &"issue",
            &"--dir",
            &dir,
            &"--keys",
            &k,
            &"--policy",
            &policy,
            &"--records",
            &t.path("records.json"),
            &"--as-of",
            &"2026-11-21",
            &"--out",
            &t.path("scored.json"),
        ]));
        ok(&run(&[
            &"holder",
            &"dispute",
            &"--batch",
            &t.path("scored.json"),
            &"--entry",
            &"d1=repaid",
            &"--out",
            &t.path("dispute.json"),
        ]));
        std::fs::write(t.path("fixed.json"), "[]").unwrap();
        let correct_args = |keys: &Path, out: &Path| -> Vec<std::ffi::OsString> {
            let args: [&dyn AsRef<OsStr>; 14] = [
                &"issuer",
                &"correct",
                &"--dir",
                &dir,
                &"--dispute",
                &t.path("dispute.json"),
                &"--records",
                &t.path("fixed.json"),
                &"--keys",
                &keys,
                &"--out",
                &out,
                &"--as-of",
                &"2026-11-21",
            ];
            args.iter().map(|a| a.as_ref().to_owned()).collect()
        };

        // Calibrate: kill anywhere from start-up to just after a normal run.
        let k = keys(&t, "k-calibrate.json", 4);
        let started = Instant::now();
        ok(&run_args(&issue_args(&t, &k, &claims, &t.path("calibrate.json"))));
        let span = u64::try_from(started.elapsed().as_micros()).unwrap().max(1000) * 3 / 2;

        // (crash point, remove the staged copy before the re-run, a second crash
        // point for the re-run)
        let scripted: [(&str, bool, Option<&str>); 7] = [
            ("staged", false, None),
            ("committed", false, None),
            ("renamed", false, None),
            ("committed", true, None),
            ("committed", true, Some("voided")),
            ("committed", false, Some("renamed")),
            ("staged", false, Some("staged")),
        ];
        const RANDOM: usize = 20;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (mut killed, mut voided_rounds, mut stopped) = (0, 0, [0; 3]);
        for round in 0..scripted.len() * 2 + RANDOM {
            let keys_path = keys(&t, &format!("k{round}.json"), 4);
            let out = t.path(&format!("b{round}.json"));
            // Every other scripted round, and every fourth random one, corrects.
            let correcting = if round < scripted.len() * 2 { round % 2 == 1 } else { round % 4 == 0 };
            let args =
                if correcting { correct_args(&keys_path, &out) } else { issue_args(&t, &keys_path, &claims, &out) };
            if let Some((point, lose_staged, second)) = scripted.get(round / 2) {
                attempt(&args, &Stop::At(point));
                if *lose_staged {
                    for f in leftovers(&out) {
                        std::fs::remove_file(out.parent().unwrap().join(f)).unwrap();
                    }
                }
                if let Some(second) = second {
                    attempt(&args, &Stop::At(second));
                }
                killed += 1;
            } else {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if attempt(&args, &Stop::After(Duration::from_micros(seed % span))) {
                    killed += 1;
                }
            }
            // Where the attempt stopped: before the commit, between the commit
            // and the recorded delivery, or after it.
            let pending = open_reg(&dir).pending_batches().unwrap().len();
            let phase = if pending > 0 { 1 } else { usize::from(out.exists()) * 2 };
            stopped[phase] += 1;
            if pending > 0 {
                let h = run(&[&"issuer", &"history", &"--dir", &dir]);
                ok(&h);
                assert!(
                    String::from_utf8_lossy(&h.stdout).contains("not yet delivered"),
                    "history shows the pending batch"
                );
            }
            let o = run_args(&args);
            ok(&o);
            // History: issued once, or (the staged batch lost) issued, voided
            // and issued afresh to the same keys.
            let mut voided = 0;
            for h in one_usable_batch(&dir, &out, 4) {
                let actions: Vec<&str> = h.iter().map(|(a, _)| a.as_str()).collect();
                match actions.as_slice() {
                    ["issued"] => {}
                    ["issued", "voided", "issued"] => {
                        assert_ne!(h[0].1, h[2].1, "round {round}: a voided batch is never delivered");
                        voided += 1;
                    }
                    other => panic!("round {round}: history {other:?}"),
                }
            }
            match scripted.get(round / 2) {
                Some((_, lost, _)) => assert_eq!(voided, if *lost { 4 } else { 0 }, "round {round}"),
                None => assert!(voided == 0 || voided == 4, "round {round}: a batch is voided whole"),
            }
            voided_rounds += usize::from(voided > 0);
            ok(&run(&[&"holder", &"store", &"--wallet", &t.path("wallet"), &"--batch", &out]));
        }
        println!(
            "issue kill test: {} rounds, {killed} stopped before finishing; {} before the commit, {} between \
         the commit and the recorded delivery, {} after it; {voided_rounds} re-issued after a void (window {span} us)",
            scripted.len() * 2 + RANDOM,
            stopped[0],
            stopped[1],
            stopped[2],
        );
        assert!(stopped[1] >= 8, "the scripted rounds stop between the commit and the delivery");
    }
}
