//! `creditproof demo` and `demo --over-http`: each tells its whole story
//! and exits 0 (each checks its own outcomes and fails otherwise).

use super::cli::{ok, run};

#[test]
fn demo_runs() {
    let o = run(&[&"demo"]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"check\": \"status.revoked\""), "{out}");
    assert!(!out.contains("127.0.0.1"), "the plain demo stays in memory: {out}");
    // The journalist's story: a wrong entry, a dispute, silence, not counted.
    assert!(out.contains("court-2025-442: disputed on "), "{out}");
    assert!(out.contains(": not counted"), "{out}");
    assert!(out.contains("score 510 -> 610, tier poor -> good"), "{out}");
}

/// Done means: the issuer service in the same process on loopback, an
/// offer from its back office, a batch received over OpenID4VCI, a perk
/// and `score>=650` verified with the status list fetched over HTTP, a
/// revocation through the back office, the refetched list refusing the
/// desk's presentation; the temporary issuer directory removed.
#[test]
fn demo_over_http_runs_the_story_over_loopback() {
    let o = run(&[&"demo", &"--over-http"]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    for line in [
        "  POST /admin/offers -> 201",
        "  GET /credential-offer/… -> 200",
        "  POST /token -> 200",
        "  POST /nonce -> 200",
        "  POST /credential -> 200",
        "received 8 credential(s) from http://127.0.0.1:",
        "refused (invalid_grant): an offer is single use",
        "  GET /status/1 -> 200",
        "\"perk:no_deposit_rental\"",
        "\"score>=650\"",
        "  POST /admin/status -> 200",
        "\"check\": \"status.revoked\"",
        "the lender's, another of the batch, still verifies",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // Nothing secret printed: not the offer's id, not the admin token.
    let link = out.lines().find(|l| l.contains("openid-credential-offer://")).unwrap();
    assert!(link.ends_with("%2Fcredential-offer%2F…"), "{link}");
    assert!(!out.contains("Bearer"), "{out}");
    let dir = out
        .lines()
        .find_map(|l| l.strip_prefix("(an issuer directory in "))
        .and_then(|l| l.strip_suffix(", removed at the end)"))
        .expect("the temporary directory is named");
    assert!(!std::path::Path::new(dir).exists(), "{dir} is left behind");
}

/// `demo --over-http | head`: the reader quits (here before the first
/// line), the command exits as a command cut off by its reader does
/// (141), and still removes its temporary issuer directory, though an exit
/// on a broken pipe runs no destructor.
#[cfg(unix)]
#[test]
fn demo_over_http_cut_off_by_its_reader_leaves_nothing_behind() {
    use std::process::Stdio;

    let t = super::cli::Tmp::new("demo-broken-pipe");
    let tmpdir = t.path("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    let mut child = super::cli::bin()
        .args(["demo", "--over-http"])
        .env("TMPDIR", &tmpdir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<_> = std::fs::read_dir(&tmpdir).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
