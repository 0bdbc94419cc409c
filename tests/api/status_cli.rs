//! Status-list freshness through the command line, as a verifier meets it.

use std::process::Output;

use crate::cli::{run, setup, Tmp};

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
}

fn check(o: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v["error"]["check"].as_str().unwrap_or("accepted").to_owned()
}

/// The attacker's reproduction: lists published before and after a
/// revocation within one second, loaded in either order. Before the fix
/// the one loaded last won, so `after before` accepted a revoked credential.
#[test]
fn an_equally_old_list_never_undoes_a_revocation() {
    let t = Tmp::new("status-tie");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    let req = t.path("req.json");
    ok(&run(&[&"verifier", &"request", &"--aud", &"https://v.example", &"--disclose", &"tier", &"--out", &req]));
    ok(&run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--out", &t.path("p.txt")]));
    let p = std::fs::read_to_string(t.path("p.txt")).unwrap();
    let status = &crate::fixture::split(&p).payload["status"]["status_list"];
    let index = format!("{}#{}", status["uri"].as_str().unwrap(), status["idx"]);

    // Both lists carry the same `iat` second: pin the clock with --now.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    ok(&run(&[&"issuer", &"status-list", &"--dir", &dir, &"--out-dir", &t.path("before"), &"--now", &now]));
    ok(&run(&[&"issuer", &"revoke", &"--dir", &dir, &"--index", &index, &"--reason", &"fraud"]));
    ok(&run(&[&"issuer", &"status-list", &"--dir", &dir, &"--out-dir", &t.path("after"), &"--now", &now]));
    let verify = |lists: &[&str]| {
        let mut args: Vec<Box<dyn AsRef<std::ffi::OsStr>>> = vec![
            Box::new("verifier"),
            Box::new("verify"),
            Box::new("--trust"),
            Box::new(t.path("bureau.pub.json")),
            Box::new("--request"),
            Box::new(req.clone()),
            Box::new("--presentation"),
            Box::new(t.path("p.txt")),
            Box::new("--now"),
            Box::new(now.clone()),
        ];
        for l in lists {
            args.push(Box::new("--status-list"));
            args.push(Box::new(t.path(&format!("{l}/list-1.jwt"))));
        }
        let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a.as_ref() as _).collect();
        check(&run(&refs))
    };
    assert_eq!(verify(&["before"]), "accepted");
    assert_eq!(verify(&["after"]), "status.revoked");
    assert_eq!(verify(&["after", "before"]), "status.revoked");
    assert_eq!(verify(&["before", "after"]), "status.revoked");
}

/// A list older than its `ttl` is refused with its own check, and the
/// verifier's maximum age bounds a list whatever its `ttl` says.
#[test]
fn a_stale_list_fails_closed_on_the_command_line() {
    let t = Tmp::new("status-stale");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let (dir, wallet) = (t.path("bureau"), t.path("wallet"));
    let req = t.path("req.json");
    ok(&run(&[&"verifier", &"request", &"--aud", &"https://v.example", &"--disclose", &"tier", &"--out", &req]));
    ok(&run(&[&"holder", &"present", &"--wallet", &wallet, &"--request", &req, &"--out", &t.path("p.txt")]));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let old = (now - 2 * 3600).to_string();
    ok(&run(&[&"issuer", &"status-list", &"--dir", &dir, &"--out-dir", &t.path("old"), &"--now", &old]));
    let verify = |extra: &[&str]| {
        let mut c = crate::cli::bin();
        c.args(["verifier", "verify", "--trust"]).arg(t.path("bureau.pub.json"));
        c.arg("--request").arg(&req).arg("--presentation").arg(t.path("p.txt"));
        c.arg("--status-list").arg(t.path("old/list-1.jwt")).args(extra);
        check(&c.output().unwrap())
    };
    // Issued two hours ago with the default ttl of one hour: stale.
    assert_eq!(verify(&[]), "status.stale");
    // A verifier that allows three hours must also see a ttl that does.
    assert_eq!(verify(&["--status-max-age", "10800"]), "status.stale");
    ok(&run(&[
        &"issuer",
        &"status-list",
        &"--dir",
        &dir,
        &"--out-dir",
        &t.path("old"),
        &"--now",
        &old,
        &"--ttl-secs",
        &"86400",
    ]));
    // ttl of a day, clamped to the verifier's default of one hour: stale.
    assert_eq!(verify(&[]), "status.stale");
    assert_eq!(verify(&["--status-max-age", "10800"]), "accepted");
}
