//! Command-line edge cases (issue 15, item 3): identifiers that begin with
//! `-`, and input files that are not regular files.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use creditproof::hazmat::SeededRng;
use creditproof::{Algorithm, IssuerSigningKey, UnixTime, Wallet};
use serde_json::Value;

use crate::cli::{bin, run, setup, Tmp};

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "stderr: {} stdout: {out}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The value reached the application: it succeeded, gave a verdict (exit 1),
/// or failed with the application's one-line message; never clap's
/// "unexpected argument".
fn reached_the_app(o: &Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("unexpected argument"), "{what}: {err}");
    assert!(
        matches!(o.status.code(), Some(0 | 1)) || err.starts_with("creditproof: "),
        "{what}: exit {:?}, {err}",
        o.status.code()
    );
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A holder key whose thumbprint begins with `-` (found deterministically),
/// issued to and then revoked by `--holder <THUMBPRINT>`, the documented
/// space-separated form; `issuer history --holder` finds it too.
#[test]
fn a_thumbprint_starting_with_a_hyphen_is_revoked() {
    let t = Tmp::new("hyphen-holder");
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    let mut rng = SeededRng::new(b"creditproof cli hyphen holder");
    let (w, request) = (0..10_000)
        .map(|_| {
            let mut w = Wallet::new();
            let r = w.request_keys_with(Algorithm::Ed25519, 1, None, UnixTime::now(), &mut rng).unwrap();
            (w, r)
        })
        .find(|(_, r)| r.keys()[0].thumbprint().starts_with('-'))
        .unwrap();
    let thumb = request.keys()[0].thumbprint();
    std::fs::write(wallet.join("wallet.json"), w.to_secret_json().as_bytes()).unwrap();
    #[cfg(unix)]
    chmod(&wallet.join("wallet.json"), 0o600);
    std::fs::write(t.path("keys.json"), request.to_json().to_string()).unwrap();
    std::fs::write(t.path("claims.json"), r#"{"tier":"A"}"#).unwrap();
    let (keys, claims, batch) = (t.path("keys.json"), t.path("claims.json"), t.path("batch.json"));
    ok(&run(&[&"issuer", &"issue", &"--dir", &dir, &"--keys", &keys, &"--claims", &claims, &"--out", &batch]));
    ok(&run(&[&"holder", &"store", &"--wallet", &wallet, &"--batch", &batch]));

    let o = run(&[&"issuer", &"suspend", &"--dir", &dir, &"--holder", &thumb, &"--reason", &"under review"]);
    assert!(ok(&o).contains("1 credential(s) now suspended"));
    let o = run(&[&"issuer", &"revoke", &"--dir", &dir, &"--holder", &thumb, &"--reason", &"key lost"]);
    assert!(ok(&o).contains("1 credential(s) now revoked"), "{thumb}");
    let h = ok(&run(&[&"issuer", &"history", &"--dir", &dir, &"--holder", &thumb]));
    assert!(h.contains("key lost") && h.contains(&thumb), "{h}");
}

/// A retired key whose kid begins with `-` is removed with `--kid <KID>`.
#[test]
fn a_kid_starting_with_a_hyphen_is_removed() {
    let t = Tmp::new("hyphen-kid");
    let dir = t.path("bureau");
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    let mut rng = SeededRng::new(b"creditproof cli hyphen kid");
    let key = (0..10_000)
        .map(|_| IssuerSigningKey::generate(&mut rng))
        .find(|k| k.public_key().thumbprint().starts_with('-'))
        .unwrap();
    let kid = key.public_key().thumbprint();
    // Make it the signing key, then retire it the ordinary way.
    let file = dir.join("issuer.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    state["signing_key"] = Value::String(key.to_secret_string().to_string());
    std::fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();
    ok(&run(&[&"issuer", &"rotate-key", &"--dir", &dir]));
    let published = |t: &Tmp| {
        ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &t.path("pub.json")]));
        std::fs::read_to_string(t.path("pub.json")).unwrap().contains(&kid)
    };
    assert!(published(&t), "the retired key is still published");
    let o = run(&[&"issuer", &"remove-key", &"--dir", &dir, &"--kid", &kid]);
    assert!(ok(&o).contains("no longer published"), "{kid}");
    assert!(!published(&t));
    // Removed once: now the application's own refusal, not clap's.
    let o = run(&[&"issuer", &"remove-key", &"--dir", &dir, &"--kid", &kid]);
    reached_the_app(&o, "remove-key twice");
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a retired key"));
}

/// Every option that takes an identifier, thumbprint, index, nonce or
/// base64url value passes a value starting with `-` to the application.
#[test]
fn every_identifier_option_takes_a_leading_hyphen() {
    let t = Tmp::new("hyphen-all");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let (dir, wallet, keys, claims) = (t.path("bureau"), t.path("wallet"), t.path("keys.json"), t.path("claims.json"));
    let (trust, batch, out) = (t.path("bureau.pub.json"), t.path("batch.json"), t.path("out"));
    let (d1, d2, k2, req) = (t.path("d1"), t.path("d2"), t.path("k2"), t.path("req.json"));
    let v = "-Xy_0aZ-3kLmN8pQrStUvWxYz0123456789AbCdEfG";
    let index = "-lists/1#7";
    let cases: Vec<(&str, Vec<&dyn AsRef<OsStr>>)> = vec![
        ("init --iss", vec![&"issuer", &"init", &"--iss", &v, &"--dir", &d1]),
        (
            "init --status-base",
            vec![&"issuer", &"init", &"--iss", &"https://b.example", &"--dir", &d2, &"--status-base", &v],
        ),
        ("remove-key --kid", vec![&"issuer", &"remove-key", &"--dir", &dir, &"--kid", &v]),
        ("revoke --holder", vec![&"issuer", &"revoke", &"--dir", &dir, &"--holder", &v, &"--reason", &"x"]),
        ("suspend --holder", vec![&"issuer", &"suspend", &"--dir", &dir, &"--holder", &v, &"--reason", &"x"]),
        ("reinstate --holder", vec![&"issuer", &"reinstate", &"--dir", &dir, &"--holder", &v, &"--reason", &"x"]),
        ("revoke --index", vec![&"issuer", &"revoke", &"--dir", &dir, &"--index", &index, &"--reason", &"x"]),
        ("history --holder", vec![&"issuer", &"history", &"--dir", &dir, &"--holder", &v]),
        (
            "issue --subject",
            vec![
                &"issuer",
                &"issue",
                &"--dir",
                &dir,
                &"--keys",
                &keys,
                &"--claims",
                &claims,
                &"--out",
                &out,
                &"--subject",
                &v,
            ],
        ),
        (
            "keys --issuer --nonce",
            vec![&"holder", &"keys", &"--wallet", &wallet, &"--issuer", &v, &"--nonce", &v, &"--out", &k2],
        ),
        ("dispute --entry", vec![&"holder", &"dispute", &"--batch", &batch, &"--entry", &"-ref=x", &"--out", &out]),
        ("request --aud", vec![&"verifier", &"request", &"--aud", &v, &"--out", &req]),
        (
            "sd-jwt --nonce --aud",
            vec![
                &"sd-jwt",
                &"verify",
                &"--key",
                &trust,
                &"--typ",
                &"x",
                &"--sd-jwt",
                &batch,
                &"--nonce",
                &v,
                &"--aud",
                &v,
            ],
        ),
    ];
    for (what, args) in &cases {
        reached_the_app(&run(args), what);
    }
    // The values arrived intact.
    let o = run(&[&"verifier", &"request", &"--aud", &v, &"--out", &t.path("req.json")]);
    ok(&o);
    let req: Value = serde_json::from_slice(&std::fs::read(t.path("req.json")).unwrap()).unwrap();
    assert_eq!(req["aud"], v);
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://b.example", &"--dir", &t.path("d3"), &"--status-base", &"-l"]));
}

/// An option whose value was forgotten does not swallow the next option.
#[test]
fn a_forgotten_value_is_not_taken_from_the_next_option() {
    let t = Tmp::new("hyphen-forgot");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let dir = t.path("bureau");
    let before = std::fs::read(dir.join("registry.sqlite")).unwrap();
    for args in [
        vec!["issuer", "revoke", "--dir", "D", "--holder", "--allow-insecure-permissions", "--reason", "x"],
        vec!["issuer", "revoke", "--dir", "D", "--reason", "x", "--holder", "--allow-insecure-permissions"],
        vec!["issuer", "revoke", "--dir", "D", "--holder=--reason", "--reason", "x"],
        vec!["issuer", "remove-key", "--dir", "D", "--kid", "--help"],
    ] {
        let o =
            bin().args(args.iter().map(|a| if *a == "D" { dir.as_os_str() } else { OsStr::new(a) })).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("the value is missing"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(dir.join("registry.sqlite")).unwrap(), before);
}

/// Input files that are not regular files (FIFOs, sockets, devices,
/// directories): refused at once, each command under a watchdog.
#[cfg(unix)]
mod not_regular {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::*;

    /// Seconds a command may take before the watchdog calls it hung.
    const WATCHDOG_SECS: u64 = 5;

    /// Runs the CLI with stdin closed; kills it and fails the test if it has not
    /// exited within the watchdog's time.
    fn run_watched(args: &[&dyn AsRef<OsStr>]) -> Output {
        let mut c = bin();
        for a in args {
            c.arg(a);
        }
        let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(WATCHDOG_SECS) {
                let _ = child.kill();
                let _ = child.wait();
                let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
                panic!("hung for {WATCHDOG_SECS} s, killed: {shown:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().unwrap()
    }

    /// Exit 2 and one line naming `path` as not a regular file.
    fn refused(o: &Output, path: &Path, what: &str) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
        assert!(err.contains(&*path.to_string_lossy()), "{what}: names {}: {err}", path.display());
        assert!(err.contains("is not a regular file ("), "{what}: {err}");
    }

    fn mkfifo(p: &Path) {
        let status = Command::new("mkfifo").arg("-m").arg("600").arg(p).status().unwrap();
        assert!(status.success(), "mkfifo {}", p.display());
    }

    /// A FIFO, a socket, a device or a directory given as any input file is
    /// refused at once (exit 2, one line naming it), and changes nothing. A
    /// FIFO used to block the CLI forever in `open`.
    #[test]
    fn input_files_that_are_not_regular_files_are_refused_at_once() {
        let t = Tmp::new("fifo-inputs");
        setup(&t, r#"{"tier":"A"}"#, "1");
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
            &t.path("wallet"),
            &"--request",
            &t.path("req.json"),
            &"--out",
            &t.path("p.txt"),
        ]));
        mkfifo(&t.path("fifo"));
        std::fs::create_dir(t.path("adir")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(t.path("sock")).unwrap();
        // A batch with a signed breakdown, for `holder breakdown --trust`.
        std::fs::write(
            t.path("records.json"),
            r#"[{"kind":"bill_paid_on_time","date":"2026-02-01","reference":"b1"}]"#,
        )
        .unwrap();
        let (k2, records, scored) = (t.path("k2.json"), t.path("records.json"), t.path("scored.json"));
        ok(&run(&[&"holder", &"keys", &"--wallet", &t.path("wallet"), &"--out", &k2]));
        let policy = std::path::PathBuf::from(format!("{}/policies/sesame-style.json", env!("CARGO_MANIFEST_DIR")));
        ok(&run(&[
            &"issuer",
            &"issue",
            &"--dir",
            &t.path("bureau"),
            &"--keys",
            &k2,
            &"--policy",
            &policy,
            &"--records",
            &records,
            &"--as-of",
            &"2026-11-21",
            &"--out",
            &scored,
        ]));
        let mut odd = vec![("FIFO", t.path("fifo")), ("socket", t.path("sock")), ("directory", t.path("adir"))];
        if Path::new("/dev/null").exists() {
            odd.push(("character device", "/dev/null".into()));
        }
        let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
        let (keys, claims) = (t.path("keys.json"), t.path("claims.json"));
        let (req, p, trust, out) = (t.path("req.json"), t.path("p.txt"), t.path("bureau.pub.json"), t.path("out"));
        let state = || {
            ["bureau/issuer.json", "bureau/registry.sqlite", "wallet/wallet.json"]
                .map(|f| std::fs::read(t.path(f)).unwrap())
        };
        let before = state();
        let mut tried = 0;
        for (kind, f) in &odd {
            let cases: Vec<Vec<&dyn AsRef<OsStr>>> = vec![
                vec![&"verifier", &"verify", &"--trust", &trust, &"--request", &req, &"--presentation", f],
                vec![&"verifier", &"verify", &"--trust", &trust, &"--request", f, &"--presentation", &p],
                vec![&"verifier", &"verify", &"--trust", f, &"--request", &req, &"--presentation", &p],
                vec![
                    &"verifier",
                    &"verify",
                    &"--trust",
                    &trust,
                    &"--request",
                    &req,
                    &"--presentation",
                    &p,
                    &"--status-list",
                    f,
                ],
                vec![&"holder", &"store", &"--wallet", &wallet, &"--batch", f],
                vec![&"holder", &"present", &"--wallet", &wallet, &"--request", f, &"--out", &out],
                vec![&"holder", &"dispute", &"--batch", f, &"--entry", &"a=b", &"--out", &out],
                vec![&"holder", &"breakdown", &"--batch", f, &"--trust", &trust],
                vec![&"holder", &"breakdown", &"--batch", &scored, &"--trust", f],
                vec![&"issuer", &"issue", &"--dir", &dir, &"--keys", f, &"--claims", &claims, &"--out", &out],
                vec![&"issuer", &"issue", &"--dir", &dir, &"--keys", &keys, &"--claims", f, &"--out", &out],
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
                    &out,
                ],
                vec![&"sd-jwt", &"verify", &"--key", f, &"--typ", &"dc+sd-jwt", &"--sd-jwt", &p],
                vec![&"sd-jwt", &"verify", &"--key", &trust, &"--typ", &"dc+sd-jwt", &"--sd-jwt", f],
            ];
            for args in &cases {
                let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
                refused(&run_watched(args), f, &format!("{kind}: {shown:?}"));
                tried += 1;
            }
            assert!(!out.exists(), "{kind}: nothing written");
            assert_eq!(state(), before, "{kind}: issuer and wallet unchanged");
        }
        println!("non-regular input files: {tried} invocations, all refused at once");
    }

    /// The same for the issuer's and the wallet's own state files: a FIFO in
    /// place of the issuer file, the wallet, the registry (or its WAL) or a
    /// directory's lock file is refused, never waited on.
    #[test]
    fn state_files_that_are_not_regular_files_are_refused_at_once() {
        let t = Tmp::new("fifo-state");
        setup(&t, r#"{"tier":"A"}"#, "1");
        let (dir, wallet, batch) = (t.path("bureau"), t.path("wallet"), t.path("batch.json"));
        let cases: Vec<(&str, Vec<&dyn AsRef<OsStr>>)> = vec![
            ("bureau/issuer.json", vec![&"issuer", &"nonce", &"--dir", &dir]),
            ("bureau/registry.sqlite", vec![&"issuer", &"history", &"--dir", &dir]),
            ("bureau/registry.sqlite-wal", vec![&"issuer", &"history", &"--dir", &dir]),
            ("bureau/.lock", vec![&"issuer", &"rotate-key", &"--dir", &dir]),
            ("wallet/wallet.json", vec![&"holder", &"status", &"--wallet", &wallet]),
            ("wallet/.lock", vec![&"holder", &"store", &"--wallet", &wallet, &"--batch", &batch]),
            ("wallet/wallet.json", vec![&"holder", &"list", &"--wallet", &wallet]),
            ("wallet/.lock", vec![&"holder", &"remove", &"--wallet", &wallet, &"--expired"]),
        ];
        for (file, args) in &cases {
            let path = t.path(file);
            let aside = t.path("aside");
            let existed = path.exists();
            if existed {
                std::fs::rename(&path, &aside).unwrap();
            }
            mkfifo(&path);
            refused(&run_watched(args), &path, file);
            std::fs::remove_file(&path).unwrap();
            if existed {
                std::fs::rename(&aside, &path).unwrap();
            }
            ok(&run_watched(args));
        }
    }
}

/// `creditproof issuer history | head`: a reader that goes away ends the
/// command quietly (exit 141, as `cat` would), never with a panic message.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let t = Tmp::new("edges-pipe");
    setup(&t, r#"{"tier":"A"}"#, "2");
    // The read end is closed before the command starts, so its first write
    // fails with EPIPE every time.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = bin()
        .args(["issuer", "history", "--dir"])
        .arg(t.path("bureau"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "no panic message: {stderr}");
    assert!(stderr.is_empty(), "nothing on stderr: {stderr}");
    assert_eq!(out.status.code(), Some(141));
}

/// `issuer history` reads like a log: UTC times, not Unix seconds, and the
/// `URI#IDX` reference that `issuer suspend --index` takes.
#[test]
fn history_shows_readable_utc_times_and_the_index() {
    let t = Tmp::new("edges-history");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let out = run(&[&"issuer", &"history", &"--dir", &t.path("bureau")]);
    let text = ok(&out);
    let line = text.lines().next().unwrap_or_default();
    let (at, rest) = line.split_once("  ").unwrap_or_default();
    assert_eq!(at.len(), "2026-11-21T12:00:00Z".len(), "{line}");
    assert!(at.ends_with('Z') && at.as_bytes()[10] == b'T', "{line}");
    assert!(rest.contains("issued") && rest.contains("https://bureau.example/status/1#"), "{line}");
}
