//! The command-line contract: subcommand names, exit codes, file safety.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_creditproof"))
}

pub struct Tmp(pub PathBuf);

impl Tmp {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("creditproof-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = bin();
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

pub fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
}

pub fn fails_with_2(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one-line message: {err}");
    err
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Issuer and holder set up with a stored batch of `n` credentials.
pub fn setup(t: &Tmp, claims: &str, n: &str) {
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
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

#[test]
fn readme_flow_accepts_then_rejects_replay() {
    let t = Tmp::new("flow");
    setup(&t, r#"{"tier":"A","perks":{"no_deposit_rental":true}}"#, "2");
    let wallet = t.path("wallet");
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://rental.example",
        &"--predicate",
        &"perk:no_deposit_rental",
        &"--out",
        &t.path("req.json"),
    ]));
    let dry = run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &t.path("req.json"), &"--dry-run"]);
    ok(&dry);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("perk:no_deposit_rental"));
    ok(&run(&[
        &"holder",
        &"present",
        &"--wallet",
        &wallet,
        &"--request",
        &t.path("req.json"),
        &"--out",
        &t.path("p.txt"),
    ]));
    ok(&run(&[&"issuer", &"status-list", &"--dir", &t.path("bureau"), &"--out-dir", &t.path("lists")]));
    let lists = t.path("lists/list-1.jwt");
    let (trust, req, p) = (t.path("bureau.pub.json"), t.path("req.json"), t.path("p.txt"));
    let v = run(&[
        &"verifier",
        &"verify",
        &"--trust",
        &trust,
        &"--request",
        &req,
        &"--presentation",
        &p,
        &"--status-list",
        &lists,
    ]);
    ok(&v);
    let verdict: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(verdict["accepted"], true);
    assert_eq!(verdict["issuer"], "https://bureau.example");
    assert_eq!(verdict["proven"][0], "perk:no_deposit_rental");
    assert!(verdict.get("error").is_none());

    // The same presentation against another verifier's request: exit 1.
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://hotel.example",
        &"--predicate",
        &"perk:no_deposit_rental",
        &"--out",
        &t.path("req2.json"),
    ]));
    let v = run(&[
        &"verifier",
        &"verify",
        &"--trust",
        &t.path("bureau.pub.json"),
        &"--request",
        &t.path("req2.json"),
        &"--presentation",
        &t.path("p.txt"),
    ]);
    assert_eq!(v.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(verdict["accepted"], false);
    assert!(verdict["error"]["check"].as_str().unwrap().starts_with("holder_binding."));

    let status = run(&[&"holder", &"status", &"--wallet", &wallet]);
    ok(&status);
    assert!(String::from_utf8_lossy(&status.stdout).contains("1 unused, 1 spent"));
}

#[test]
fn holder_refuses_a_claim_it_lacks() {
    let t = Tmp::new("lacks");
    setup(&t, r#"{"tier":"A"}"#, "1");
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://v.example",
        &"--disclose",
        &"income",
        &"--out",
        &t.path("req.json"),
    ]));
    let o = run(&[
        &"holder",
        &"present",
        &"--wallet",
        &t.path("wallet"),
        &"--request",
        &t.path("req.json"),
        &"--out",
        &t.path("p.txt"),
    ]);
    assert!(fails_with_2(&o).contains("income"));
    assert!(!t.path("p.txt").exists(), "nothing is sent");
}

#[cfg(unix)]
#[test]
fn secret_files_are_private_and_not_overwritten() {
    let t = Tmp::new("secrets");
    setup(&t, r#"{"tier":"A"}"#, "1");
    assert_eq!(mode(&t.path("bureau/issuer.json")), 0o600);
    assert_eq!(mode(&t.path("bureau")), 0o700);
    assert_eq!(mode(&t.path("wallet/wallet.json")), 0o600);
    assert_eq!(mode(&t.path("batch.json")), 0o600);
    let before = std::fs::read(t.path("bureau/issuer.json")).unwrap();
    let o = run(&[&"issuer", &"init", &"--iss", &"https://x.example", &"--dir", &t.path("bureau")]);
    assert!(fails_with_2(&o).contains("--force"));
    assert_eq!(std::fs::read(t.path("bureau/issuer.json")).unwrap(), before, "issuer key unchanged");
    let o = run(&[&"holder", &"init", &"--wallet", &t.path("wallet")]);
    fails_with_2(&o);

    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(t.path("wallet/wallet.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&[&"holder", &"status", &"--wallet", &t.path("wallet")]);
    assert!(fails_with_2(&o).contains("owner-only"));
    ok(&run(&[&"holder", &"status", &"--wallet", &t.path("wallet"), &"--allow-insecure-permissions"]));
}

#[test]
fn bad_usage_and_bad_files_exit_2() {
    let t = Tmp::new("bad");
    std::fs::write(t.path("garbage"), [0xff, 0x00, 0x13]).unwrap();
    std::fs::write(t.path("empty"), b"").unwrap();
    assert_eq!(run(&[&"issuer", &"nonsense"]).status.code(), Some(2));
    fails_with_2(&run(&[&"issuer", &"init", &"--iss", &"not a uri", &"--dir", &t.path("d")]));
    fails_with_2(&run(&[&"holder", &"status", &"--wallet", &t.path("missing")]));
    for file in ["garbage", "empty", "missing"] {
        let o = run(&[
            &"verifier",
            &"verify",
            &"--trust",
            &t.path(file),
            &"--request",
            &t.path(file),
            &"--presentation",
            &t.path(file),
        ]);
        assert!(fails_with_2(&o).contains(file));
    }
    fails_with_2(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"a",
        &"--predicate",
        &"score>>1",
        &"--out",
        &t.path("r.json"),
    ]));
}

/// A wallet killed while storing a batch or spending a credential comes
/// back with every credential either unspent or spent: never lost, never
/// duplicated (writes are a temporary file, fsync, rename).
#[test]
fn wallet_survives_kills_mid_write() {
    let t = Tmp::new("kill");
    setup(&t, r#"{"tier":"A"}"#, "16");
    let wallet = t.path("wallet");
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://v.example",
        &"--disclose",
        &"tier",
        &"--out",
        &t.path("req.json"),
    ]));
    let count = |w: &Path| -> (u64, u64) {
        let o = run(&[&"holder", &"status", &"--wallet", &w]);
        ok(&o);
        let s = String::from_utf8_lossy(&o.stdout).to_string();
        let num = |label: &str| -> u64 {
            let i = s.find(label).unwrap();
            s[..i].trim_end().rsplit(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
        };
        (num(" unused"), num(" spent"))
    };
    assert_eq!(count(&wallet), (16, 0));
    // Calibrate: kill anywhere from start-up to just after a normal run.
    let started = std::time::Instant::now();
    ok(&run(&[
        &"holder",
        &"present",
        &"--allow-reuse",
        &"--wallet",
        &wallet,
        &"--request",
        &t.path("req.json"),
        &"--out",
        &t.path("p.txt"),
    ]));
    let span = u64::try_from(started.elapsed().as_micros()).unwrap().max(1000) * 3 / 2;
    assert_eq!(count(&wallet), (15, 1));
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut kills = 0;
    for round in 0..24 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_micros(seed % span);
        let mut child = if round % 3 == 0 {
            // Re-storing the same batch is idempotent; killing it must not
            // duplicate or drop anything.
            bin()
                .args(["holder", "store", "--wallet"])
                .arg(&wallet)
                .arg("--batch")
                .arg(t.path("batch.json"))
                .spawn()
                .unwrap()
        } else {
            bin()
                .args(["holder", "present", "--allow-reuse", "--wallet"])
                .arg(&wallet)
                .arg("--request")
                .arg(t.path("req.json"))
                .arg("--out")
                .arg(t.path(&format!("p{round}.txt")))
                .spawn()
                .unwrap()
        };
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let (unused, spent) = count(&wallet);
        assert_eq!(unused + spent, 16, "round {round}: a credential was lost or duplicated");
        // No temporary file is mistaken for the wallet.
        assert!(wallet.join("wallet.json").exists());
    }
    println!("wallet kill test: 24 rounds, {kills} killed before finishing (window {span} us)");
    assert!(kills > 0, "no kill landed mid-run");
}

fn verdict(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("no verdict: {}", String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn revoke_suspend_reinstate_and_correct() {
    let t = Tmp::new("status");
    setup(&t, r#"{"tier":"A"}"#, "2");
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://v.example",
        &"--disclose",
        &"tier",
        &"--out",
        &t.path("req.json"),
    ]));
    ok(&run(&[
        &"holder",
        &"present",
        &"--wallet",
        &wallet,
        &"--request",
        &t.path("req.json"),
        &"--out",
        &t.path("p.txt"),
    ]));
    let p = std::fs::read_to_string(t.path("p.txt")).unwrap();
    let payload = crate::fixture::split(&p).payload;
    let index = format!(
        "{}#{}",
        payload["status"]["status_list"]["uri"].as_str().unwrap(),
        payload["status"]["status_list"]["idx"]
    );
    assert_eq!(payload["status"]["status_list"]["uri"], "https://bureau.example/status/1");

    let verify = || {
        ok(&run(&[&"issuer", &"status-list", &"--dir", &dir, &"--out-dir", &t.path("lists")]));
        run(&[
            &"verifier",
            &"verify",
            &"--trust",
            &t.path("bureau.pub.json"),
            &"--request",
            &t.path("req.json"),
            &"--presentation",
            &t.path("p.txt"),
            &"--status-list",
            &t.path("lists/list-1.jwt"),
        ])
    };
    let o = verify();
    assert_eq!(o.status.code(), Some(0), "valid: {}", verdict(&o));
    // Without the list: an explicit rejection.
    let o = run(&[
        &"verifier",
        &"verify",
        &"--trust",
        &t.path("bureau.pub.json"),
        &"--request",
        &t.path("req.json"),
        &"--presentation",
        &t.path("p.txt"),
    ]);
    assert_eq!(verdict(&o)["error"]["check"], "status.no_list");

    ok(&run(&[&"issuer", &"suspend", &"--dir", &dir, &"--index", &index, &"--reason", &"under review"]));
    let o = verify();
    assert_eq!((o.status.code(), verdict(&o)["error"]["check"].clone()), (Some(1), "status.suspended".into()));
    ok(&run(&[&"issuer", &"reinstate", &"--dir", &dir, &"--index", &index, &"--reason", &"review closed"]));
    assert_eq!(verify().status.code(), Some(0), "reinstated");
    ok(&run(&[&"issuer", &"revoke", &"--dir", &dir, &"--index", &index, &"--reason", &"fraud"]));
    let o = verify();
    assert_eq!(verdict(&o)["error"]["check"], "status.revoked");
    fails_with_2(&run(&[&"issuer", &"reinstate", &"--dir", &dir, &"--index", &index, &"--reason", &"undo"]));

    let h = run(&[&"issuer", &"history", &"--dir", &dir]);
    ok(&h);
    let h = String::from_utf8_lossy(&h.stdout).to_string();
    for word in ["issued", "suspended", "reinstated", "revoked", "fraud"] {
        assert!(h.contains(word), "{word} in {h}");
    }
    // Re-initialising never discards the registry, even with --force.
    let before = std::fs::read(dir.join("registry.sqlite")).unwrap();
    fails_with_2(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir, &"--force"]));
    assert_eq!(std::fs::read(dir.join("registry.sqlite")).unwrap(), before);
}

#[test]
fn correction_revokes_the_old_batch_and_issues_a_new_one() {
    let t = Tmp::new("correct");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    let policy = format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        t.path("records.json"),
        r#"[{"kind":"default","date":"2026-02-01","reference":"d1"},{"kind":"judgement_settled","date":"2026-03-01","reference":"j1"}]"#,
    )
    .unwrap();
    ok(&run(&[&"holder", &"keys", &"--wallet", &wallet, &"--count", &"2", &"--out", &t.path("k2.json")]));
    ok(&run(&[
        &"issuer",
        &"issue",
        &"--dir",
        &dir,
        &"--keys",
        &t.path("k2.json"),
        &"--policy",
        &policy,
        &"--records",
        &t.path("records.json"),
        &"--as-of",
        &"2026-11-21",
        &"--out",
        &t.path("b2.json"),
    ]));
    ok(&run(&[&"holder", &"store", &"--wallet", &wallet, &"--batch", &t.path("b2.json")]));
    ok(&run(&[
        &"holder",
        &"dispute",
        &"--batch",
        &t.path("b2.json"),
        &"--entry",
        &"d1=repaid, not a default",
        &"--out",
        &t.path("dispute.json"),
    ]));
    std::fs::write(t.path("fixed.json"), r#"[{"kind":"judgement_settled","date":"2026-03-01","reference":"j1"}]"#)
        .unwrap();
    ok(&run(&[&"holder", &"keys", &"--wallet", &wallet, &"--count", &"2", &"--out", &t.path("k3.json")]));
    let o = run(&[
        &"issuer",
        &"correct",
        &"--dir",
        &dir,
        &"--dispute",
        &t.path("dispute.json"),
        &"--records",
        &t.path("fixed.json"),
        &"--keys",
        &t.path("k3.json"),
        &"--out",
        &t.path("b3.json"),
        &"--as-of",
        &"2026-11-21",
    ]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("score 650"), "{}", String::from_utf8_lossy(&o.stdout));
    let h = String::from_utf8_lossy(&run(&[&"issuer", &"history", &"--dir", &dir]).stdout).to_string();
    let corrected = h.lines().filter(|l| l.split_whitespace().nth(1) == Some("corrected")).count();
    assert_eq!(corrected, 2, "both credentials of the disputed batch revoked as corrected: {h}");
    // The correcting batch names the batch it replaces (the disputed one),
    // not the first batch, which was issued to another subject.
    let batch_file =
        |name: &str| -> serde_json::Value { serde_json::from_slice(&std::fs::read(t.path(name)).unwrap()).unwrap() };
    let (b1, b2, b3) = (batch_file("batch.json"), batch_file("b2.json"), batch_file("b3.json"));
    for b in [&b1, &b2, &b3] {
        assert_eq!(b["batch_id"].as_str().map(str::len), Some(24), "every batch file names its batch");
    }
    assert_eq!(b3["supersedes"], serde_json::json!([b2["batch_id"]]));
    assert!(b1.get("supersedes").is_none() && b2.get("supersedes").is_none());
    // The first batch (other subject) is untouched: it stays valid.
    ok(&run(&[&"holder", &"store", &"--wallet", &wallet, &"--batch", &t.path("b3.json")]));
    ok(&run(&[&"issuer", &"status-list", &"--dir", &dir, &"--out-dir", &t.path("lists")]));
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://v.example",
        &"--predicate",
        &"perk:no_deposit_rental",
        &"--out",
        &t.path("req.json"),
    ]));
    ok(&run(&[
        &"holder",
        &"present",
        &"--wallet",
        &wallet,
        &"--request",
        &t.path("req.json"),
        &"--out",
        &t.path("p.txt"),
    ]));
    let o = run(&[
        &"verifier",
        &"verify",
        &"--trust",
        &t.path("bureau.pub.json"),
        &"--request",
        &t.path("req.json"),
        &"--presentation",
        &t.path("p.txt"),
        &"--status-list",
        &t.path("lists/list-1.jwt"),
    ]);
    assert_eq!(o.status.code(), Some(0), "the corrected credential proves the perk: {}", verdict(&o));
}

/// The bytes of the issuer's and the holder's state files.
fn state_bytes(t: &Tmp) -> Vec<(String, Vec<u8>)> {
    ["bureau/issuer.json", "bureau/registry.sqlite", "wallet/wallet.json"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(t.path(f)).unwrap()))
        .collect()
}

#[test]
fn every_subcommand_refuses_bad_files_and_changes_nothing() {
    let t = Tmp::new("badfiles");
    setup(&t, r#"{"tier":"A"}"#, "2");
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://v.example",
        &"--disclose",
        &"tier",
        &"--out",
        &t.path("req.json"),
    ]));
    ok(&run(&[&"issuer", &"status-list", &"--dir", &t.path("bureau"), &"--out-dir", &t.path("lists")]));
    let list = t.path("lists/list-1.jwt");
    let bad: Vec<(&str, PathBuf)> = {
        std::fs::write(t.path("empty"), b"").unwrap();
        std::fs::create_dir_all(t.path("adir")).unwrap();
        std::fs::write(t.path("garbage"), [0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37]).unwrap();
        std::fs::write(t.path("truncated"), br#"{"type": "creditproof-batch/1", "credentials": [{"sd_"#).unwrap();
        std::fs::File::create(t.path("huge")).unwrap().set_len(100 * 1024 * 1024).unwrap();
        vec![
            ("missing", t.path("missing")),
            ("empty", t.path("empty")),
            ("directory", t.path("adir")),
            ("garbage", t.path("garbage")),
            ("truncated", t.path("truncated")),
            ("100 MB", t.path("huge")),
            ("wrong role", t.path("wallet/wallet.json")),
        ]
    };
    let policy = PathBuf::from(format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR")));
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    let (keys, claims, req, trust) =
        (t.path("keys.json"), t.path("claims.json"), t.path("req.json"), t.path("bureau.pub.json"));
    let outs: Vec<PathBuf> = (1..=6).map(|i| t.path(&format!("o{i}.out"))).collect();
    let before = state_bytes(&t);
    let mut tried = 0;
    for (label, f) in &bad {
        // Each entry: the arguments, with the bad file in one place.
        let cases: Vec<Vec<&dyn AsRef<std::ffi::OsStr>>> = vec![
            vec![&"issuer", &"issue", &"--dir", &dir, &"--keys", f, &"--claims", &claims, &"--out", &outs[0]],
            vec![&"issuer", &"issue", &"--dir", &dir, &"--keys", &keys, &"--claims", f, &"--out", &outs[1]],
            vec![&"issuer", &"score", &"--policy", f, &"--records", &claims],
            vec![&"issuer", &"score", &"--policy", &policy, &"--records", f],
            vec![
                &"issuer",
                &"correct",
                &"--dir",
                &dir,
                &"--dispute",
                f,
                &"--records",
                &claims,
                &"--keys",
                &keys,
                &"--out",
                &outs[2],
            ],
            vec![&"holder", &"store", &"--wallet", &wallet, &"--batch", f],
            vec![&"holder", &"present", &"--wallet", &wallet, &"--request", f, &"--out", &outs[3]],
            vec![
                &"holder",
                &"present",
                &"--wallet",
                &wallet,
                &"--request",
                &req,
                &"--out",
                &outs[3],
                &"--trust",
                f,
                &"--status-list",
                &list,
            ],
            vec![
                &"holder",
                &"present",
                &"--wallet",
                &wallet,
                &"--request",
                &req,
                &"--out",
                &outs[3],
                &"--trust",
                &trust,
                &"--status-list",
                f,
            ],
            vec![&"holder", &"status", &"--wallet", &wallet, &"--trust", &trust, &"--status-list", f],
            vec![&"holder", &"dispute", &"--batch", f, &"--entry", &"a=b", &"--out", &outs[4]],
            vec![&"holder", &"breakdown", &"--batch", f, &"--trust", &trust],
            vec![&"verifier", &"request", &"--aud", &"https://v.example", &"--policy", f, &"--out", &outs[5]],
            vec![&"verifier", &"verify", &"--trust", f, &"--request", &req, &"--presentation", &req],
            vec![&"verifier", &"verify", &"--trust", &trust, &"--request", f, &"--presentation", &req],
            vec![&"sd-jwt", &"verify", &"--key", f, &"--typ", &"dc+sd-jwt", &"--sd-jwt", &req],
        ];
        for args in cases {
            let o = run(&args);
            let shown: Vec<String> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
            assert_eq!(o.status.code(), Some(2), "{label}: {shown:?}: {}", String::from_utf8_lossy(&o.stdout));
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(err.trim_end().lines().count(), 1, "{label}: one line: {err}");
            let name = f.file_name().unwrap().to_string_lossy();
            assert!(err.contains(name.as_ref()), "{label}: {shown:?}: message names the file: {err}");
            tried += 1;
        }
        assert_eq!(state_bytes(&t), before, "{label}: issuer and wallet unchanged");
    }
    // Unreadable presentations are bad files too; readable garbage is a verdict.
    for (label, f) in bad.iter().filter(|(l, _)| ["missing", "empty", "directory", "garbage", "100 MB"].contains(l)) {
        let o = run(&[&"verifier", &"verify", &"--trust", &trust, &"--request", &req, &"--presentation", f]);
        assert_eq!(o.status.code(), Some(2), "{label}");
        let o = run(&[&"sd-jwt", &"verify", &"--key", &trust, &"--typ", &"dc+sd-jwt", &"--sd-jwt", f]);
        assert_eq!(o.status.code(), Some(2), "{label}");
        tried += 2;
    }
    let o =
        run(&[&"verifier", &"verify", &"--trust", &trust, &"--request", &req, &"--presentation", &t.path("truncated")]);
    assert_eq!(o.status.code(), Some(1), "readable garbage is rejected with a verdict");
    assert_eq!(state_bytes(&t), before);
    println!("cli bad-file matrix: {tried} invocations, all exit 2");
}

/// A registry others can read is refused by `issuer issue`, and the
/// explicit override reaches the registry too (it once opened the registry
/// without the caller's choice).
#[cfg(unix)]
#[test]
fn issue_honours_the_permission_override_for_the_registry() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = Tmp::new("regperm");
    setup(&t, r#"{"tier":"A"}"#, "1");
    std::fs::set_permissions(t.path("bureau/registry.sqlite"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (dir, claims) = (t.path("bureau"), t.path("claims.json"));
    ok(&run(&[&"holder", &"keys", &"--wallet", &t.path("wallet"), &"--out", &t.path("k2.json")]));
    let k2 = t.path("k2.json");
    let o =
        run(&[&"issuer", &"issue", &"--dir", &dir, &"--keys", &k2, &"--claims", &claims, &"--out", &t.path("b2.json")]);
    assert!(fails_with_2(&o).contains("registry.sqlite"));
    let o = run(&[
        &"issuer",
        &"issue",
        &"--dir",
        &dir,
        &"--keys",
        &k2,
        &"--claims",
        &claims,
        &"--out",
        &t.path("b2.json"),
        &"--allow-insecure-permissions",
    ]);
    ok(&o);
    let o = run(&[&"issuer", &"revoke", &"--dir", &dir, &"--holder", &"nope", &"--reason", &"x"]);
    assert!(fails_with_2(&o).contains("registry.sqlite"));
}

/// Issue 3 from the command line: a claims file with a score is committed,
/// a verifier's `--predicate score>=650` is proven, and the score appears
/// nowhere a verifier can see; a threshold above the score is refused by
/// the holder. Issue 15: a threshold off the grid (350..=950 cut every 50)
/// is refused whatever the score, naming the nearest grid thresholds,
/// unless the holder passes `--allow-off-grid`, which the dry run flags.
#[test]
fn range_predicate_from_the_command_line() {
    let t = Tmp::new("range");
    setup(&t, r#"{"score":712,"score_scale":{"min":350,"max":950},"tier":"A"}"#, "2");
    let (wallet, req, p) = (t.path("wallet"), t.path("req.json"), t.path("p.txt"));
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://lender.example",
        &"--predicate",
        &"score>=650",
        &"--out",
        &req,
    ]));
    ok(&run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--out", &p]));
    ok(&run(&[&"issuer", &"status-list", &"--dir", &t.path("bureau"), &"--out-dir", &t.path("lists")]));
    let (trust, lists) = (t.path("bureau.pub.json"), t.path("lists/list-1.jwt"));
    let v = run(&[
        &"verifier",
        &"verify",
        &"--trust",
        &trust,
        &"--request",
        &req,
        &"--presentation",
        &p,
        &"--status-list",
        &lists,
    ]);
    ok(&v);
    let out = String::from_utf8_lossy(&v.stdout).to_string();
    assert_eq!(verdict(&v)["proven"], serde_json::json!(["score>=650"]));
    assert!(!out.contains("712"), "{out}");
    let parts = crate::fixture::split(&std::fs::read_to_string(&p).unwrap());
    assert!(parts.payload.get("score").is_none() && !parts.payload.to_string().contains("712"));
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://lender.example",
        &"--predicate",
        &"score>=713",
        &"--out",
        &req,
    ]));
    let o = run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--out", &t.path("p2.txt")]);
    let err = fails_with_2(&o);
    assert!(err.contains("`score>=713` is off the credential's threshold grid"), "{err}");
    assert!(err.contains("`score>=700`, `score>=750`") && err.contains("--allow-off-grid"), "{err}");
    assert!(!t.path("p2.txt").exists());
    let dry = run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--dry-run"]);
    assert!(fails_with_2(&dry).contains("off the credential's threshold grid"));
    // Allowed explicitly: the dry run warns, and 713 > 712 is then refused
    // for what it is.
    let dry =
        run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--dry-run", &"--allow-off-grid"]);
    assert!(fails_with_2(&dry).contains("does not satisfy `score>=713`"));
    let o = run(&[
        &"holder",
        &"present",
        &"--wallet",
        &wallet,
        &"--request",
        &req,
        &"--out",
        &t.path("p2.txt"),
        &"--allow-off-grid",
    ]);
    assert!(fails_with_2(&o).contains("does not satisfy `score>=713`"));
    for (pred, warned) in [("score>=700", false), ("score>=701", true)] {
        ok(&run(&[
            &"verifier",
            &"request",
            &"--aud",
            &"https://lender.example",
            &"--predicate",
            &pred,
            &"--out",
            &req,
        ]));
        let dry =
            run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--dry-run", &"--allow-off-grid"]);
        ok(&dry);
        let text = String::from_utf8_lossy(&dry.stdout).to_string();
        assert_eq!(text.contains("WARNING: score>=701 is OFF the threshold grid"), warned, "{text}");
        assert_eq!(
            text.contains("on the threshold grid: score>=700 (12 cells, the narrowest 50 wide)"),
            !warned,
            "{text}"
        );
    }
    // A verifier given the policy refuses to build an off-grid request.
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/sesame-style.json");
    let o = run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://lender.example",
        &"--predicate",
        &"600<=score<=800",
        &"--policy",
        &policy,
        &"--out",
        &t.path("r3.json"),
    ]);
    assert!(fails_with_2(&o).contains("nearest on the grid: 600<=score<=849, 600<=score<=799"));
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://lender.example",
        &"--predicate",
        &"600<=score<=799",
        &"--policy",
        &policy,
        &"--out",
        &t.path("r3.json"),
    ]));
}
