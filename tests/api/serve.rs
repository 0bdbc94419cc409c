//! The issuer service over real loopback HTTP: the built binary runs
//! `serve issuer` on 127.0.0.1, the CLI makes offers and receives batches,
//! and a raw HTTP/1.1 client checks the binding — status codes, headers,
//! `WWW-Authenticate`, 413, wrong content types, slow clients. Every
//! server is stopped by a drop guard; every wait has a timeout.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cli::{bin, ok, run, Tmp};

/// A response as the raw client read it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not json: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends raw bytes to `addr`, reads the whole answer (the request asks the
/// server to close), and parses it; chunked bodies are decoded.
pub fn raw(addr: &str, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // A server that answers early (413 on the declared length) may close
    // before the whole body is written: the answer is what counts.
    let _ = s.write_all(request);
    read_reply(&mut s)
}

pub fn read_reply(s: &mut TcpStream) -> Reply {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    parse_reply(&all)
}

fn parse_reply(all: &[u8]) -> Reply {
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = all[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Reply { status, headers, body }
}

/// A request with `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `creditproof serve issuer`, killed when dropped.
pub struct Service {
    child: Option<Child>,
    pub url: String,
    pub addr: String,
    pub dir: std::path::PathBuf,
    pub token: String,
    pub tmp: Tmp,
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef0123456789";

impl Service {
    /// An issuer directory whose `iss` is the service's loopback URL, and
    /// the service on it, with a back office unless `admin` is false.
    pub fn start(tag: &str, admin: bool, extra: &[&str]) -> Self {
        let tmp = Tmp::new(&format!("serve-{tag}"));
        let token_file = tmp.path("admin.token");
        std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // The identifier names the port, so the port is chosen first; if
        // another process takes it in between, start over on another.
        for attempt in 0..5 {
            let port = free_port();
            let url = format!("http://127.0.0.1:{port}");
            let dir = tmp.path(&format!("bureau-{attempt}"));
            ok(&run(&[&"issuer", &"init", &"--iss", &url, &"--dir", &dir]));
            let mut cmd = bin();
            cmd.args(["serve", "issuer", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &url])
                .arg("--dir")
                .arg(&dir)
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(tmp.path(&format!("serve-{attempt}.log"))).unwrap());
            if admin {
                cmd.arg("--admin-token-file").arg(&token_file);
            }
            let mut child = cmd.spawn().unwrap();
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.starts_with("listening on http://127.0.0.1:") => {
                    let addr = format!("127.0.0.1:{port}");
                    return Self { child: Some(child), url, addr, dir, token: ADMIN_TOKEN.into(), tmp };
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("the service did not start; see {}", tmp.0.display());
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        raw(&self.addr, &request("GET", path, headers, b""))
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        raw(&self.addr, &request("POST", path, headers, body))
    }

    pub fn admin(&self, path: &str, body: &Value) -> Reply {
        let auth = format!("Bearer {}", self.token);
        self.post(path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.to_string().as_bytes())
    }

    /// Sends SIGTERM and waits (at most 30 s) for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("the service did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(&self.tmp.0).unwrap().flatten() {
            if e.file_name().to_string_lossy().ends_with(".log") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn records(t: &Tmp) -> std::path::PathBuf {
    let path = t.path("records.json");
    let src = format!("{}/policies/examples/records-sesame-style.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(src, &path).unwrap();
    path
}

/// `issuer offer --tx-code`: the link and the transaction code.
pub fn offer_with_tx_code(s: &Service) -> (String, String) {
    let o = run(&[
        &"issuer",
        &"offer",
        &"--dir",
        &s.dir,
        &"--policy",
        &"sesame-style",
        &"--records",
        &records(&s.tmp),
        &"--as-of",
        &"2025-01-01",
        &"--tx-code",
    ]);
    ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    let mut lines = out.lines();
    let link = lines.next().unwrap().to_owned();
    let tx = lines.next().unwrap().to_owned();
    assert!(link.starts_with("openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A"), "{link}");
    assert!(tx.len() == 6 && tx.bytes().all(|b| b.is_ascii_digit()), "{tx}");
    (link, tx)
}

/// The path of the `credential_offer_uri` in a link.
fn offer_path(link: &str) -> String {
    let encoded = link.split_once("credential_offer_uri=").unwrap().1;
    let uri = encoded.replace("%3A", ":").replace("%2F", "/");
    format!("/{}", uri.splitn(4, '/').nth(3).unwrap())
}

// ------------------------------------------------------------- end to end

/// Done means: offer → `holder receive` a batch of 16 → present
/// `score>=650` → verify with the status list fetched from the service →
/// revoke through the back office → the refetched list makes the same
/// presentation fail.
#[test]
fn offer_receive_present_verify_revoke_over_http() {
    let mut s = Service::start("e2e", true, &[]);
    let (link, tx) = offer_with_tx_code(&s);
    let wallet = s.tmp.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    let received =
        run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--tx-code", &tx, &"--count", &"16"]);
    ok(&received);
    assert!(String::from_utf8_lossy(&received.stdout).starts_with("received 16 credential(s)"));
    let status = run(&[&"holder", &"status", &"--wallet", &wallet]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("16 unused"), "{status:?}");

    // The offer is single use.
    let again = run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--tx-code", &tx]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("invalid_grant"), "{again:?}");

    // A lender asks; the holder proves score>=650.
    let t = &s.tmp;
    ok(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://lender.example",
        &"--predicate",
        &"score>=650",
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

    // The verifier fetches the issuer's keys and the status list from the service.
    let keys = s.get("/.well-known/jwt-vc-issuer", &[]);
    assert_eq!(keys.status, 200);
    std::fs::write(t.path("bureau.pub.json"), &keys.body).unwrap();
    let verify = |list: &[u8]| {
        std::fs::write(t.path("list.jwt"), list).unwrap();
        run(&[
            &"verifier",
            &"verify",
            &"--trust",
            &t.path("bureau.pub.json"),
            &"--request",
            &t.path("request.json"),
            &"--presentation",
            &t.path("presentation.txt"),
            &"--status-list",
            &t.path("list.jwt"),
        ])
    };
    let list = s.get("/status/1", &[]);
    assert_eq!(list.status, 200);
    assert_eq!(list.header("content-type"), Some("application/statuslist+jwt"));
    assert_eq!(list.header("cache-control"), Some("public, max-age=3600"));
    let accepted = verify(&list.body);
    ok(&accepted);
    let verdict: Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(verdict["accepted"], true, "{verdict}");
    let uri = verdict["status"]["uri"].as_str().unwrap().to_owned();
    let idx = verdict["status"]["idx"].as_u64().unwrap();
    assert_eq!(uri, format!("{}/status/1", s.url));

    // Not re-signed on every request: the same token while nothing changed.
    assert_eq!(s.get("/status/1", &[]).body, list.body);

    // The bureau revokes that credential through the back office.
    let revoked = s.admin("/admin/status", &json!({"status": "revoked", "uri": uri, "idx": idx, "reason": "fraud"}));
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(revoked.json()["changed"], 1);
    assert_eq!(
        s.admin("/admin/status", &json!({"status": "revoked", "uri": uri, "idx": idx, "reason": "x"})).status,
        409
    );

    // The refetched list makes the same presentation fail.
    let refetched = s.get("/status/1", &[]);
    assert_ne!(refetched.body, list.body, "re-signed after the change");
    let rejected = verify(&refetched.body);
    assert_eq!(rejected.status.code(), Some(1), "{rejected:?}");
    let verdict: Value = serde_json::from_slice(&rejected.stdout).unwrap();
    assert_eq!(verdict["error"]["check"], "status.revoked", "{verdict}");

    // The history tells it, through the back office.
    let auth = format!("Bearer {}", s.token);
    let history = s.get("/admin/history", &[("Authorization", &auth)]);
    assert_eq!(history.status, 200);
    let rows = history.json();
    let actions: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "issued").count(), 16);
    assert_eq!(actions.last(), Some(&"revoked"));

    // Every index of the batch is distinct (random, never reused).
    let mut idxs: Vec<u64> = rows.as_array().unwrap().iter().map(|r| r["idx"].as_u64().unwrap()).take(16).collect();
    idxs.sort_unstable();
    idxs.dedup();
    assert_eq!(idxs.len(), 16);

    // Metrics counted it; the logs hold no secret.
    let metrics = s.get("/metrics", &[]).text();
    assert!(metrics.contains("creditproof_credentials_issued_total 16"), "{metrics}");
    assert!(metrics.contains("creditproof_oauth_errors_total{error=\"invalid_grant\"} 1"), "{metrics}");
    assert!(metrics.contains("creditproof_http_request_duration_seconds_bucket{route=\"/credential\""), "{metrics}");
    let exit = s.terminate();
    assert!(exit.success(), "a clean exit on SIGTERM: {exit:?}");
    let log = s.log();
    assert!(log.contains("route=/credential status=200") || log.contains("route=/credential"), "{log}");
    let id = offer_path(&link).rsplit('/').next().unwrap().to_owned();
    for secret in [tx.as_str(), id.as_str(), ADMIN_TOKEN, "very_good", "pre-authorized_code"] {
        assert!(!log.contains(secret), "the log leaks {secret}: {log}");
    }
}

// ------------------------------------------------ the binding, bad input

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn metadata_offers_and_status_lists_over_http() {
    let s = Service::start("binding-get", true, &["--batch-size", "64", "--status-ttl-secs", "120"]);
    let md = s.get("/.well-known/openid-credential-issuer", &[]);
    assert_eq!(md.status, 200);
    let md = md.json();
    assert_eq!(md["credential_issuer"], s.url.as_str(), "byte for byte the public url");
    assert_eq!(md["credential_endpoint"], format!("{}/credential", s.url));
    assert_eq!(md["nonce_endpoint"], format!("{}/nonce", s.url));
    assert_eq!(md["batch_credential_issuance"]["batch_size"], 64);
    let conf = &md["credential_configurations_supported"]["creditproof_score"];
    assert_eq!(conf["format"], "dc+sd-jwt");
    assert!(conf["credential_metadata"]["display"][0]["name"].is_string(), "display metadata");
    let asm = s.get("/.well-known/oauth-authorization-server", &[]).json();
    assert_eq!(asm["issuer"], s.url.as_str());
    assert_eq!(asm["pre-authorized_grant_anonymous_access_supported"], true);
    let keys = s.get("/.well-known/jwt-vc-issuer", &[]).json();
    assert_eq!(keys["issuer"], s.url.as_str());
    // The same keys `issuer public` writes.
    let out = s.tmp.path("public.json");
    ok(&run(&[&"issuer", &"public", &"--dir", &s.dir, &"--out", &out]));
    let written: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(keys, written);

    // An offer made by the CLI while the service runs is served by reference.
    let (link, _) = offer_with_tx_code(&s);
    let offer = s.get(&offer_path(&link), &[]);
    assert_eq!(offer.status, 200);
    assert_eq!(offer.header("cache-control"), Some("no-store"));
    let offer = offer.json();
    assert_eq!(offer["credential_issuer"], s.url.as_str());
    assert!(offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"].is_object());
    assert_eq!(s.get("/credential-offer/unknown", &[]).status, 404);

    // Status lists: ttl as configured, exp set, gzip, CORS, ?time= is 501.
    let list = s.get("/status/1", &[("Accept-Encoding", "gzip"), ("Origin", "https://lender.example")]);
    assert_eq!(list.status, 200);
    assert_eq!(list.header("content-encoding"), Some("gzip"));
    assert_eq!(list.header("access-control-allow-origin"), Some("*"));
    assert_eq!(list.header("cache-control"), Some("public, max-age=120"));
    let mut token = String::new();
    flate2::read::GzDecoder::new(&list.body[..]).read_to_string(&mut token).unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let payload = super::fixture::decode_json(payload);
    assert_eq!(payload["sub"], format!("{}/status/1", s.url));
    assert_eq!(payload["ttl"], 120);
    assert_eq!(payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(), 86_400);
    assert_eq!(s.get("/status/1?time=1700000000", &[]).status, 501);
    assert_eq!(s.get("/status/2", &[]).status, 404);
    assert_eq!(s.get("/nowhere", &[]).status, 404);
    let health = s.get("/health", &[]);
    assert_eq!((health.status, health.json()["status"].clone()), (200, json!("ok")));
}

#[test]
fn token_nonce_and_credential_errors_over_http() {
    let s = Service::start("binding-errors", true, &[]);
    // Token: the specification's errors, no-store.
    let bad_code = s.post(
        "/token",
        &[("Content-Type", FORM)],
        b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=nope",
    );
    assert_eq!(bad_code.status, 400);
    assert_eq!(bad_code.json()["error"], "invalid_grant");
    assert_eq!(bad_code.header("cache-control"), Some("no-store"));
    assert_eq!(bad_code.header("content-type"), Some("application/json"));
    let wrong_type = s.post("/token", &[("Content-Type", "application/json")], b"{\"grant_type\":\"x\"}");
    assert_eq!((wrong_type.status, wrong_type.json()["error"].clone()), (400, json!("invalid_request")));
    let other_grant = s.post("/token", &[("Content-Type", FORM)], b"grant_type=authorization_code&code=x");
    assert_eq!(other_grant.json()["error"], "unsupported_grant_type");
    let huge = vec![b'a'; 64 * 1024];
    let too_large = s.post("/token", &[("Content-Type", FORM)], &huge);
    assert_eq!(too_large.status, 413);
    // Chunked, without a Content-Length: still 413.
    let mut chunked = b"POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..8 {
        chunked.extend_from_slice(format!("{:x}\r\n", 4096).as_bytes());
        chunked.extend_from_slice(&[b'a'; 4096]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw(&s.addr, &chunked).status, 413);
    assert_eq!(s.get("/token", &[]).status, 405, "GET on a POST endpoint");

    // Nonce: no body, no content type; never cached.
    let nonce = s.post("/nonce", &[], b"");
    assert_eq!(nonce.status, 200);
    assert_eq!(nonce.header("cache-control"), Some("no-store"));
    assert!(nonce.json()["c_nonce"].is_string());

    // Credential: RFC 6750 challenges.
    let json_ct = ("Content-Type", "application/json");
    let body = br#"{"credential_configuration_id":"creditproof_score","proofs":{"jwt":["x"]}}"#;
    let missing = s.post("/credential", &[json_ct], body);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    assert_eq!(missing.header("cache-control"), Some("no-store"));
    let unknown = s.post("/credential", &[json_ct, ("Authorization", "Bearer unknown-token")], body);
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json()["error"], "invalid_token");
    assert!(unknown.header("www-authenticate").unwrap().starts_with("Bearer error=\"invalid_token\""));
    let malformed = s.post("/credential", &[json_ct, ("Authorization", "Bearer a b")], body);
    assert_eq!(malformed.status, 401);
    let wrong_type = s.post("/credential", &[("Content-Type", "text/plain"), ("Authorization", "Bearer t")], body);
    assert_eq!((wrong_type.status, wrong_type.json()["error"].clone()), (400, json!("invalid_credential_request")));
    let huge = vec![b'{'; 2 * 1024 * 1024];
    assert_eq!(s.post("/credential", &[json_ct, ("Authorization", "Bearer t")], &huge).status, 413);

    // A real token, then a broken request body and an unknown configuration.
    let (link, tx) = offer_with_tx_code(&s);
    let offer = s.get(&offer_path(&link), &[]).json();
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = |tx: &str| {
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}&tx_code={tx}")
    };
    let wrong_tx = s.post("/token", &[("Content-Type", FORM)], form("000000x").as_bytes());
    assert_eq!(wrong_tx.json()["error"], "invalid_grant");
    let token = s.post("/token", &[("Content-Type", FORM)], form(&tx).as_bytes());
    assert_eq!(token.status, 200, "{}", token.text());
    assert_eq!(token.header("cache-control"), Some("no-store"));
    let auth = format!("Bearer {}", token.json()["access_token"].as_str().unwrap());
    let broken = s.post("/credential", &[json_ct, ("Authorization", &auth)], b"{not json");
    assert_eq!((broken.status, broken.json()["error"].clone()), (400, json!("invalid_credential_request")));
    let other = s.post(
        "/credential",
        &[json_ct, ("Authorization", &auth)],
        br#"{"credential_configuration_id":"other","proofs":{"jwt":["x"]}}"#,
    );
    assert_eq!(other.json()["error"], "unknown_credential_configuration");
    let bad_proof = s.post("/credential", &[json_ct, ("Authorization", &auth)], body);
    assert_eq!(bad_proof.json()["error"], "invalid_proof");

    // Oversized headers: refused, not read forever.
    let long = "a".repeat(32 * 1024);
    let r = raw(&s.addr, &request("GET", "/health", &[("X-Long", &long)], b""));
    assert_eq!(r.status, 431);
    let metrics = s.get("/metrics", &[]).text();
    assert!(metrics.contains("creditproof_oauth_errors_total{error=\"invalid_token\"} 3"), "{metrics}");
}

#[test]
fn slow_clients_time_out() {
    let s = Service::start("binding-slow", true, &["--request-timeout-secs", "1", "--header-timeout-secs", "1"]);
    // A body that never finishes: 408 once the request timeout passes.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    c.write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=").unwrap();
    let reply = read_reply(&mut c);
    assert_eq!(reply.status, 408);
    assert!(start.elapsed() < Duration::from_secs(10));
    // Headers that never finish: the connection is closed.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(start.elapsed() < Duration::from_secs(10), "dropped after the header timeout");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    // The service still answers others.
    assert_eq!(s.get("/health", &[]).status, 200);
}

#[test]
fn the_back_office_is_authenticated_and_off_without_a_token() {
    let off = Service::start("admin-off", false, &[]);
    let r = off.admin("/admin/offers", &json!({"claims": {"tier": "A"}}));
    assert_eq!(r.status, 404, "no token file, no back office");
    drop(off);

    let s = Service::start("admin-on", true, &[]);
    let body = json!({"claims": {"tier": "A"}}).to_string();
    let none = s.post("/admin/offers", &[("Content-Type", "application/json")], body.as_bytes());
    assert_eq!(none.status, 401);
    assert!(none.header("www-authenticate").unwrap().starts_with("Bearer"));
    let wrong = s.post(
        "/admin/offers",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer test-admin-token-0123456789abcdef012345678X"),
        ],
        body.as_bytes(),
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(s.get("/admin/history", &[]).status, 401);

    // Offers from claims and from policy + records, with a tx code when asked.
    let made = s.admin("/admin/offers", &json!({"claims": {"tier": "A"}, "tx_code": true}));
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    assert!(made["offer"].as_str().unwrap().starts_with("openid-credential-offer://?credential_offer_uri="));
    assert_eq!(made["tx_code"].as_str().unwrap().len(), 6);
    let records: Value = serde_json::from_slice(&std::fs::read(records(&s.tmp)).unwrap()).unwrap();
    let scored = s.admin(
        "/admin/offers",
        &json!({"policy": "sesame-style", "records": records, "as_of": "2025-01-01", "subject": "person-17"}),
    );
    assert_eq!(scored.status, 201, "{}", scored.text());
    assert!(scored.json().get("tx_code").is_none());

    // Receive the scored offer, then correct it after a dispute.
    let wallet = s.tmp.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    let link = scored.json()["offer"].as_str().unwrap().to_owned();
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--count", &"4"]));
    let auth = format!("Bearer {}", s.token);
    let history = s.get("/admin/history", &[("Authorization", &auth)]).json();
    let holder = history[0]["holder"].as_str().unwrap().to_owned();
    let corrected = s.admin(
        "/admin/corrections",
        &json!({"holder": holder, "reason": "loan-17 was paid on time", "policy": "sesame-style",
                "records": records, "as_of": "2025-01-01"}),
    );
    assert_eq!(corrected.status, 201, "{}", corrected.text());
    assert_eq!(corrected.json()["revoked"], 4);
    let rows = s.get(&format!("/admin/history?holder={holder}"), &[("Authorization", &auth)]).json();
    let reasons: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"corrected: loan-17 was paid on time"), "{reasons:?}");

    // Suspend and reinstate by holder; unknown targets are 404; bad input 400.
    let suspend =
        |status: &str| s.admin("/admin/status", &json!({"status": status, "holder": holder, "reason": "check"}));
    assert_eq!(suspend("suspended").status, 409, "all revoked by the correction");
    let unknown = s.admin("/admin/status", &json!({"status": "revoked", "holder": "nobody", "reason": "x"}));
    assert_eq!(unknown.status, 404);
    assert_eq!(s.admin("/admin/status", &json!({"status": "gone", "holder": holder, "reason": "x"})).status, 400);
    let no_reason = s.admin("/admin/status", &json!({"status": "revoked", "holder": holder}));
    assert_eq!(no_reason.status, 400);
    let not_json = s.post("/admin/offers", &[("Content-Type", "application/json"), ("Authorization", &auth)], b"[1]");
    assert_eq!(not_json.status, 400);
    let huge = vec![b' '; 5 * 1024 * 1024];
    let too_large = s.post("/admin/offers", &[("Content-Type", "application/json"), ("Authorization", &auth)], &huge);
    assert_eq!(too_large.status, 413);
}

// ------------------------------------------- shared state, shutdown

/// CLI commands run while the service runs: a revocation reaches the
/// served list at once, a key rotation the published keys.
#[test]
fn cli_commands_share_the_issuer_directory_with_the_running_service() {
    let s = Service::start("shared", true, &[]);
    let (link, tx) = offer_with_tx_code(&s);
    let wallet = s.tmp.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--tx-code", &tx, &"--count", &"2"]));
    let before = s.get("/status/1", &[]).body;
    let auth = format!("Bearer {}", s.token);
    let first = &s.get("/admin/history", &[("Authorization", &auth)]).json()[0];
    let index = format!("{}#{}", first["uri"].as_str().unwrap(), first["idx"]);
    ok(&run(&[&"issuer", &"suspend", &"--dir", &s.dir, &"--index", &index, &"--reason", &"check"]));
    assert_ne!(s.get("/status/1", &[]).body, before, "the CLI's change is served");

    let keys = |s: &Service| s.get("/.well-known/jwt-vc-issuer", &[]).json()["jwks"]["keys"].as_array().unwrap().len();
    assert_eq!(keys(&s), 1);
    ok(&run(&[&"issuer", &"rotate-key", &"--dir", &s.dir]));
    assert_eq!(keys(&s), 2, "the new key and the retired one");
}

/// SIGTERM while a request is in flight: the request is finished and
/// answered, then the process exits cleanly.
#[test]
fn sigterm_finishes_requests_in_flight() {
    let mut s = Service::start("sigterm", true, &[]);
    let body = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=nope";
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {FORM}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = s.child.as_ref().unwrap().id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are no longer accepted...
    assert!(TcpStream::connect(&s.addr).is_err(), "the listener is closed");
    // ...but the request in flight completes.
    c.write_all(&body[10..]).unwrap();
    let reply = read_reply(&mut c);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert!(s.terminate().success());
}
