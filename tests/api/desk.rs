//! The rental-desk page of `serve verifier --desk` (issue 19) over real
//! loopback HTTP: served only when asked for, with a strict
//! Content-Security-Policy and no inline script; a check creates a
//! transaction on the server side (no API token in the browser) whose
//! link asks the desk's predicate, with a QR code; unknown checks are
//! 404. The whole story in a browser is `web/run.sh` (Chromium).

use super::cli::{ok, run, Tmp};
use super::serve_verifier::Verifier;

fn trust_file(t: &Tmp) -> String {
    let dir = t.path("bureau");
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    let keys = t.path("bureau.pub.json");
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &keys]));
    keys.to_str().unwrap().to_owned()
}

#[test]
fn the_desk_is_served_only_when_asked_for() {
    let t = Tmp::new("desk-off");
    let trust = trust_file(&t);
    let v = Verifier::start(&t, "off", &[&trust], &[]);
    assert_eq!(v.get("/desk/", &[]).status, 404);
    assert_eq!(v.post("/desk/check", &[], b"").status, 404);
}

#[test]
fn the_desk_creates_checks_server_side_under_a_strict_csp() {
    let t = Tmp::new("desk-on");
    let trust = trust_file(&t);
    let v = Verifier::start(&t, "on", &[&trust], &["--desk", "--desk-predicate", "score>=700"]);

    let page = v.get("/desk/", &[]);
    assert_eq!(page.status, 200, "{}", page.text());
    let csp = page.header("content-security-policy").unwrap_or_default().to_owned();
    for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = page.text();
    assert!(html.contains("Check eligibility for a no-deposit rental"), "{html}");
    assert!(html.contains(r#"<script type="module" src="desk.js"></script>"#), "{html}");
    assert_eq!(html.matches("<script").count(), 1, "no inline script: {html}");
    assert_eq!(v.get("/desk/desk.js", &[]).header("content-type"), Some("text/javascript; charset=utf-8"));

    let check = v.post("/desk/check", &[], b"");
    assert_eq!(check.status, 201, "{}", check.text());
    let c = check.json();
    let link = c["link"].as_str().unwrap();
    assert!(link.starts_with("openid4vp://?client_id=redirect_uri%3A"), "{link}");
    assert_eq!(c["asks"], serde_json::json!(["score>=700"]));
    assert!(c["qr"].as_str().unwrap().starts_with("data:image/svg+xml;base64,"), "{c}");
    // The check is a transaction of the backend API, readable with the token.
    let id = c["id"].as_str().unwrap();
    let read = v.read(id, "");
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json()["state"], "pending");
    // An unknown check is not found, at once.
    assert_eq!(v.get("/desk/check/nope", &[]).status, 404);
}

#[test]
fn the_desk_refuses_a_bad_predicate_at_start() {
    let t = Tmp::new("desk-bad");
    let trust = trust_file(&t);
    let token = t.path("api.token");
    std::fs::write(&token, "test-verifier-api-token-0123456789abcdef0123\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(&[
        &"serve",
        &"verifier",
        &"--listen",
        &"127.0.0.1:0",
        &"--public-url",
        &"http://127.0.0.1:9",
        &"--trust",
        &trust,
        &"--api-token-file",
        &token,
        &"--desk",
        &"--desk-predicate",
        &"score>>1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("desk predicate `score>>1`"), "{err}");
}
