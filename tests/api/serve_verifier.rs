//! The verifier service over real loopback HTTP: `serve issuer` and `serve
//! verifier` run as processes on 127.0.0.1; a lender asks through the
//! backend API (`verifier ask`), the holder answers with `holder respond`,
//! the lender reads the verdict (`verifier result`); and a raw HTTP/1.1
//! client checks the binding. Every server is stopped by a drop guard;
//! every wait has a timeout.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cli::{bin, ok, run, Tmp};
use super::serve::{free_port, offer_with_tx_code, raw, request, Reply, Service};

pub const API_TOKEN: &str = "test-verifier-api-token-0123456789abcdef0123";

/// A running `creditproof serve verifier`, killed when dropped.
pub struct Verifier {
    child: Option<Child>,
    pub url: String,
    pub addr: String,
    pub token_file: std::path::PathBuf,
    log: std::path::PathBuf,
}

fn private_file(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

impl Verifier {
    /// The service on a free loopback port, trusting each of `trust`.
    pub fn start(t: &Tmp, tag: &str, trust: &[&str], extra: &[&str]) -> Self {
        Self::start_as(t, tag, "127.0.0.1", trust, extra)
    }

    /// [`Verifier::start`] with the public URL `http://<host>:<port>`
    /// (listening on 127.0.0.1 all the same).
    pub fn start_as(t: &Tmp, tag: &str, host: &str, trust: &[&str], extra: &[&str]) -> Self {
        let token_file = t.path(&format!("{tag}-api.token"));
        private_file(&token_file, &format!("{API_TOKEN}\n"));
        for attempt in 0..5 {
            let port = free_port();
            let url = format!("http://{host}:{port}");
            let log = t.path(&format!("{tag}-verifier-{attempt}.log"));
            let mut cmd = bin();
            cmd.args(["serve", "verifier", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &url])
                .arg("--api-token-file")
                .arg(&token_file)
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).unwrap());
            for tr in trust {
                cmd.args(["--trust", tr]);
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
                    return Self { child: Some(child), url, addr, token_file, log };
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("the verifier service did not start; see {}", t.0.display());
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        raw(&self.addr, &request("GET", path, headers, b""))
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        raw(&self.addr, &request("POST", path, headers, body))
    }

    /// `POST /transactions` with the API token.
    pub fn create(&self, body: &Value) -> Reply {
        let auth = format!("Bearer {API_TOKEN}");
        self.post(
            "/transactions",
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    /// `GET /transactions/{id}` with the API token.
    pub fn read(&self, id: &str, query: &str) -> Reply {
        let auth = format!("Bearer {API_TOKEN}");
        self.get(&format!("/transactions/{id}{query}"), &[("Authorization", &auth)])
    }

    /// `verifier ask` with `args`: the transaction id and the link.
    pub fn ask(&self, args: &[&str]) -> (String, String) {
        let mut c = bin();
        c.args(["verifier", "ask", "--service", &self.url]).arg("--api-token-file").arg(&self.token_file).args(args);
        let o = c.output().unwrap();
        ok(&o);
        let out = String::from_utf8(o.stdout).unwrap();
        let mut lines = out.lines();
        let id = lines.next().unwrap().to_owned();
        let link = lines.next().unwrap().to_owned();
        (id, link)
    }

    /// `verifier result --transaction id` (with `extra`).
    pub fn result(&self, id: &str, extra: &[&str]) -> (Option<i32>, Value) {
        let mut c = bin();
        c.args(["verifier", "result", "--service", &self.url, "--transaction", id])
            .arg("--api-token-file")
            .arg(&self.token_file)
            .args(extra);
        let o = c.output().unwrap();
        let v = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("not json: {:?} {}", o, String::from_utf8_lossy(&o.stderr)));
        (o.status.code(), v)
    }

    pub fn metrics(&self) -> String {
        self.get("/metrics", &[]).text()
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
            assert!(start.elapsed() < Duration::from_secs(30), "the verifier did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `holder respond` with `extra`.
pub fn respond(wallet: &std::path::Path, link: &str, extra: &[&str]) -> Output {
    let mut c = bin();
    c.args(["holder", "respond", "--request", link]).arg("--wallet").arg(wallet).args(extra);
    c.output().unwrap()
}

/// A holder with `n` credentials received from `issuer` over OpenID4VCI.
fn holder(issuer: &Service, n: &str) -> std::path::PathBuf {
    let (link, tx) = offer_with_tx_code(issuer);
    let wallet = issuer.tmp.path("wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    ok(&run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &link, &"--tx-code", &tx, &"--count", &n]));
    wallet
}

pub fn count(metrics: &str, line_start: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

// ------------------------------------------------------------- end to end

/// Done means: a lender asks `score>=650` (Tier 2) and
/// `perk:no_deposit_rental` (Tier 1) through the backend API, `holder
/// respond` answers, the verdict is accepted; the issuer revokes the
/// holder's credentials, and once the list's `ttl` has passed the next
/// transaction answered with one of them is rejected as revoked, because
/// the service refetched the list on its own.
#[test]
fn lender_asks_holder_responds_and_a_revocation_reaches_the_next_verdict() {
    // Status lists live 2 s at the issuer; the verifier honours that (its
    // floor lowered from a minute, for this test).
    let issuer = Service::start("vp-e2e", true, &["--status-ttl-secs", "2", "--status-validity-secs", "3600"]);
    let wallet = holder(&issuer, "4");
    let mut lender = Verifier::start(&issuer.tmp, "e2e", &[&issuer.url], &["--status-min-ttl-secs", "1"]);
    let asks = ["--predicate", "score>=650", "--predicate", "perk:no_deposit_rental"];

    // The holder looks first: what would be revealed, to whom. Nothing is
    // sent, so the transaction stays pending (its request was fetched).
    let (id, link) = lender.ask(&asks);
    assert!(link.starts_with("openid4vp://?client_id=redirect_uri%3Ahttp%3A%2F%2F127.0.0.1%3A"), "{link}");
    assert!(link.contains("request_uri_method=post"), "{link}");
    let dry = respond(&wallet, &link, &["--dry-run"]);
    ok(&dry);
    let preview = String::from_utf8_lossy(&dry.stdout);
    assert!(preview.contains(&format!("verifier: redirect_uri:{}/response", lender.url)), "{preview}");
    assert!(preview.contains("NOT AUTHENTICATED"), "{preview}");
    assert!(preview.contains("predicate proven (value stays hidden): score>=650"), "{preview}");
    assert!(preview.contains("no_deposit_rental"), "{preview}");
    assert!(preview.contains(&format!("credential issuer: {}", issuer.url)), "{preview}");
    let (code, pending) = lender.result(&id, &[]);
    assert_eq!(code, Some(3), "{pending}");
    assert_eq!((pending["state"].as_str(), pending["fetched"].as_bool()), (Some("pending"), Some(true)));

    // The real answer: accepted, the score hidden, the perk proven.
    let (id, link) = lender.ask(&asks);
    let answered = respond(&wallet, &link, &[]);
    ok(&answered);
    assert!(String::from_utf8_lossy(&answered.stdout).starts_with("presented to redirect_uri:"), "{answered:?}");
    let (code, verdict) = lender.result(&id, &["--wait", "10"]);
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(verdict["accepted"], true, "{verdict}");
    assert_eq!(verdict["transaction"], id.as_str());
    assert_eq!(verdict["tier"], 2);
    assert_eq!(verdict["issuer"], issuer.url.as_str());
    let proven: Vec<&str> = verdict["proven"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(proven.contains(&"score>=650"), "{verdict}");
    assert!(verdict.to_string().contains("no_deposit_rental"), "{verdict}");
    assert!(!verdict["disclosed"].as_object().unwrap().contains_key("score"), "the score stays hidden: {verdict}");
    let uri = verdict["status"]["uri"].as_str().unwrap().to_owned();
    assert_eq!(uri, format!("{}/status/1", issuer.url));
    // The transaction is single use: its link cannot be answered again.
    let again = respond(&wallet, &link, &[]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already used"), "{again:?}");

    // The issuer re-signs an unchanged list once half its ttl has passed,
    // so a fetched list is always worth at least half a ttl.
    let first = issuer.get("/status/1", &[]);
    assert!(first.header("cache-control").unwrap().starts_with("public, max-age="));
    std::thread::sleep(Duration::from_millis(1100));
    let second = issuer.get("/status/1", &[]);
    assert_ne!(first.body, second.body, "re-signed");
    assert_eq!(second.header("cache-control"), Some("public, max-age=2"));

    // The bureau revokes every credential of this holder.
    let auth = format!("Bearer {}", issuer.token);
    let history = issuer.get("/admin/history", &[("Authorization", &auth)]).json();
    let holder_key = history[0]["holder"].as_str().unwrap().to_owned();
    let revoked = issuer.admin("/admin/status", &json!({"status": "revoked", "holder": holder_key, "reason": "fraud"}));
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(revoked.json()["changed"], 4);

    // Once the cached list's ttl has passed, the next answer is rejected:
    // the service fetched the list again by itself.
    std::thread::sleep(Duration::from_millis(2100));
    let (id, link) = lender.ask(&asks);
    ok(&respond(&wallet, &link, &[]));
    let (code, verdict) = lender.result(&id, &["--wait", "10"]);
    assert_eq!(code, Some(1), "{verdict}");
    assert_eq!(verdict["accepted"], false);
    assert_eq!(verdict["error"]["check"], "status.revoked", "{verdict}");
    assert_eq!(verdict["transaction"], id.as_str());

    // Metrics tell it; the logs hold no secret.
    let m = lender.metrics();
    assert_eq!(count(&m, "creditproof_verifier_fetches_total{kind=\"status_list\",outcome=\"ok\"}"), 2, "{m}");
    assert!(count(&m, "creditproof_verifier_fetches_total{kind=\"issuer_metadata\",outcome=\"ok\"}") >= 1, "{m}");
    assert_eq!(count(&m, "creditproof_verifier_verdicts_total{verdict=\"accepted\",check=\"none\"}"), 1, "{m}");
    assert_eq!(
        count(&m, "creditproof_verifier_verdicts_total{verdict=\"rejected\",check=\"status.revoked\"}"),
        1,
        "{m}"
    );
    assert_eq!(count(&m, "creditproof_verifier_transactions_total"), 3, "{m}");
    assert!(m.contains("creditproof_verifier_verification_seconds_count 2"), "{m}");
    assert!(m.contains("creditproof_http_requests_total{route=\"/response\",status=\"200\"} 2"), "{m}");
    assert!(lender.terminate().success());
    let log = lender.log();
    assert!(log.contains("verifier service started"), "{log}");
    assert!(log.contains("check=\"status.revoked\""), "{log}");
    let (request_id, secret) = id.split_once('.').unwrap();
    for secret in [request_id, secret, API_TOKEN, "vp_token", "~", "no_deposit_rental\":true"] {
        assert!(!log.contains(secret), "the log leaks {secret}: {log}");
    }
}

// ------------------------------------------------ the binding, bad input

const FORM: &str = "application/x-www-form-urlencoded";

/// The path of a link's `request_uri`.
fn request_path(link: &str) -> String {
    let encoded = link.split_once("request_uri=").unwrap().1.split('&').next().unwrap();
    let uri = encoded.replace("%3A", ":").replace("%2F", "/");
    format!("/{}", uri.splitn(4, '/').nth(3).unwrap())
}

#[test]
fn the_backend_api_and_the_wallet_endpoints_over_http() {
    let issuer = Service::start("vp-binding", true, &[]);
    // Trusted by metadata file this time.
    let keys = issuer.tmp.path("bureau.pub.json");
    ok(&run(&[&"issuer", &"public", &"--dir", &issuer.dir, &"--out", &keys]));
    let keys = keys.to_string_lossy().into_owned();
    let lender = Verifier::start(&issuer.tmp, "binding", &[&keys], &[]);
    let auth = format!("Bearer {API_TOKEN}");
    let json_ct = ("Content-Type", "application/json");

    // The API needs its token.
    let body = json!({"predicates": ["score>=650"]}).to_string();
    let none = lender.post("/transactions", &[json_ct], body.as_bytes());
    assert_eq!(none.status, 401);
    assert!(none.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(none.json()["error"], "invalid_token");
    let wrong = lender.post(
        "/transactions",
        &[json_ct, ("Authorization", "Bearer test-verifier-api-token-0123456789abcdef012X")],
        body.as_bytes(),
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(lender.get("/transactions/a.b", &[]).status, 401);

    // Bad requests name what is wrong; nothing is created.
    for (bad, why) in [
        (json!({"predicates": ["score>>650"]}), "predicate"),
        (json!({"dcql_query": {"credentials": [{"id": "x", "format": "mso_mdoc"}]}}), "dcql_query"),
        (json!({"predicates": ["score>=650"], "nonce": "mine"}), "unknown member"),
    ] {
        let r = lender.create(&bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(r.json()["error"], "invalid_request");
        assert!(r.json()["error_description"].as_str().unwrap().contains(why), "{bad}: {}", r.text());
    }
    let text = lender.post("/transactions", &[("Authorization", &auth), ("Content-Type", "text/plain")], b"{}");
    assert_eq!(text.status, 400);
    let huge = vec![b' '; 128 * 1024];
    assert_eq!(lender.post("/transactions", &[("Authorization", &auth), json_ct], &huge).status, 413);
    assert_eq!(lender.read("unknown.id", "").status, 404);
    assert_eq!(lender.read("no-dot", "").status, 404);

    // A transaction: the link points to a request object served once.
    let created = lender.create(&json!({"predicates": ["score>=650"], "disclose": ["tier"]}));
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let created = created.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let link = created["authorization_request"].as_str().unwrap().to_owned();
    assert_eq!(created["client_id"], format!("redirect_uri:{}/response", lender.url));
    assert_eq!(created["request_uri"], format!("{}{}", lender.url, request_path(&link)));
    let pending = lender.read(&id, "");
    assert_eq!((pending.status, pending.json()["state"].clone()), (200, json!("pending")));
    assert_eq!(pending.json()["fetched"], false);
    assert_eq!(lender.read(&id, "?wait=x").status, 400);
    // A long poll waits, then says pending.
    let start = Instant::now();
    assert_eq!(lender.read(&id, "?wait=1").json()["state"], "pending");
    assert!(start.elapsed() >= Duration::from_millis(900), "{:?}", start.elapsed());

    // Tier 2 to a wallet that does not announce range proofs: refused.
    let path = request_path(&link);
    let plain = lender.get(&path, &[]);
    assert_eq!(plain.status, 400, "{}", plain.text());
    assert!(plain.json()["error_description"].as_str().unwrap().contains("creditproof_range_predicates"));
    // Announced: the request object, once.
    let metadata = r#"{"vp_formats_supported":{"dc+sd-jwt":{}},"creditproof_range_predicates":{"schemes":["hashwires-v2"],"ops":["gte","lte","between"]}}"#;
    let form = format!("wallet_metadata={}&wallet_nonce=n-0123456789", percent(metadata));
    let served = lender.post(&path, &[("Content-Type", FORM), ("Origin", "https://wallet.example")], form.as_bytes());
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(served.header("content-type"), Some("application/oauth-authz-req+jwt"));
    assert_eq!(served.header("cache-control"), Some("no-store"));
    assert_eq!(served.header("access-control-allow-origin"), Some("*"));
    let object = served.text();
    assert!(object.ends_with('.'), "unsigned: {object}");
    let claims = super::fixture::decode_json(object.split('.').nth(1).unwrap());
    assert_eq!(claims["wallet_nonce"], "n-0123456789");
    assert_eq!(claims["response_uri"], format!("{}/response", lender.url));
    let state = claims["state"].as_str().unwrap().to_owned();
    let again = lender.post(&path, &[("Content-Type", FORM)], form.as_bytes());
    assert_eq!(again.status, 400);
    assert!(again.text().contains("already used"), "{}", again.text());
    assert_eq!(lender.read(&id, "").json()["fetched"], true);

    // The response endpoint: form only, bounded, state required.
    assert_eq!(lender.post("/response", &[json_ct], b"{}").status, 400);
    assert_eq!(lender.post("/response", &[("Content-Type", FORM)], b"vp_token=%7B%7D").status, 400);
    let unknown = lender.post("/response", &[("Content-Type", FORM)], b"vp_token=%7B%7D&state=nobody");
    assert_eq!((unknown.status, unknown.json()["error"].clone()), (400, json!("invalid_request")));
    let huge = vec![b'a'; 600 * 1024];
    assert_eq!(lender.post("/response", &[("Content-Type", FORM)], &huge).status, 413);
    // A broken vp_token is recorded as a rejection: 200 to the wallet.
    let broken = format!("vp_token=%7B%22credit%22%3A%5B%22a~b~%22%5D%7D&state={state}");
    let r = lender.post("/response", &[("Content-Type", FORM)], broken.as_bytes());
    assert_eq!((r.status, r.text()), (200, "{}".to_owned()));
    let verdict = lender.read(&id, "?wait=5").json();
    assert_eq!(verdict["state"], "rejected", "{verdict}");
    assert_eq!(verdict["verdict"]["check"], "malformed.jws", "{verdict}");
    // One response per transaction.
    let second = lender.post("/response", &[("Content-Type", FORM)], broken.as_bytes());
    assert_eq!(second.status, 400);
    assert!(second.text().contains("already received"), "{}", second.text());

    // A raw DCQL query, checked, and the wallet's refusal as a verdict.
    let dcql = issuer.tmp.path("query.json");
    let query = json!({"credentials": [{"id": "rental", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:creditproof:score:2"]},
        "claims": [{"path": ["perks", "no_deposit_rental"], "values": [true]}]}]});
    std::fs::write(&dcql, query.to_string()).unwrap();
    let (id, link) = lender.ask(&["--dcql", &dcql.to_string_lossy()]);
    let empty = issuer.tmp.path("empty-wallet");
    ok(&run(&[&"holder", &"init", &"--wallet", &empty]));
    let refused = respond(&empty, &link, &[]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not answered"), "{refused:?}");
    let (code, verdict) = lender.result(&id, &["--wait", "5"]);
    assert_eq!(code, Some(1), "{verdict}");
    assert_eq!(verdict["error"]["check"], "oid4vp.wallet_error", "{verdict}");
    assert!(verdict["error"]["message"].as_str().unwrap().contains("access_denied"), "{verdict}");

    // Operations.
    assert_eq!(lender.get("/health", &[]).json()["status"], "ok");
    assert_eq!(lender.get("/nowhere", &[]).status, 404);
    let m = lender.metrics();
    assert!(m.contains("creditproof_oauth_errors_total{error=\"invalid_token\"} 3"), "{m}");
    assert!(m.contains("creditproof_verifier_verdicts_total{verdict=\"rejected\",check=\"oid4vp.wallet_error\"} 1"));
    assert!(m.contains("route=\"/transactions/{id}\""), "{m}");
}

/// Percent-encodes everything but unreserved characters.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A loopback receiver that answers every POST with 200 and hands over
/// its headers and body.
fn receiver() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) <= 2 {
                    break;
                }
                head.push_str(&line);
            }
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx.send((head, body)).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

/// The delivery's `Creditproof-Signature` header (any case) is the
/// webhook's signature of `body` at the time it names.
fn assert_signed(hook: &str, secret: &str, head: &str, body: &[u8]) {
    let signature = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("creditproof-signature: ").map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no signature: {head}"));
    let t: u64 = signature.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    let expected = creditproof::server::verifier::Webhook::new(hook, secret.as_bytes())
        .unwrap()
        .signature(creditproof::UnixTime(t), body);
    assert_eq!(signature, expected);
}

#[test]
fn verdicts_are_posted_to_the_webhook_signed() {
    let issuer = Service::start("vp-webhook", true, &[]);
    let wallet = holder(&issuer, "2");
    let (hook, received) = receiver();
    let secret = "webhook-secret-0123456789abcdef-0123456789";
    let secret_file = issuer.tmp.path("webhook.secret");
    private_file(&secret_file, secret);
    let secret_path = secret_file.to_string_lossy().into_owned();
    let lender = Verifier::start(
        &issuer.tmp,
        "hook",
        &[&issuer.url],
        &["--webhook-url", &hook, "--webhook-secret-file", &secret_path],
    );
    let (id, link) = lender.ask(&["--predicate", "score>=650"]);
    ok(&respond(&wallet, &link, &[]));
    let (head, body) = received.recv_timeout(Duration::from_secs(20)).expect("the webhook was called");
    assert!(head.starts_with("POST /hook HTTP/1.1"), "{head}");
    assert_signed(&hook, secret, &head, &body);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((v["id"].as_str(), v["state"].as_str()), (Some(id.as_str()), Some("accepted")), "{v}");
    assert_eq!(v["verdict"]["presentations"]["credit"][0]["proven"][0], "score>=650", "{v}");
    // What the API says is what the webhook said.
    assert_eq!(lender.read(&id, "").json(), v);
    // A request by value (no request_uri, no negotiation) works too.
    let (id, link) = lender.ask(&["--predicate", "score>=650", "--by-value"]);
    assert!(link.contains("dcql_query=") && !link.contains("request_uri="), "{link}");
    ok(&respond(&wallet, &link, &[]));
    let (code, verdict) = lender.result(&id, &["--wait", "10"]);
    assert_eq!((code, verdict["proven"][0].as_str()), (Some(0), Some("score>=650")), "{verdict}");
    // Counted once the service has read the receiver's answer.
    let start = Instant::now();
    let delivered = "creditproof_verifier_webhooks_total{outcome=\"delivered\"} 2";
    while !lender.metrics().contains(delivered) {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", lender.metrics());
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------- x509_san_dns:

/// A file of the fixed test PKI (tests/x509, see its gen.sh).
fn pki(file: &str) -> String {
    format!("{}/tests/x509/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a test key, owner-only (the service refuses a key others
/// can read).
fn key_copy(t: &Tmp, file: &str) -> String {
    let path = t.path(&format!("copy-{file}"));
    private_file(&path, &std::fs::read_to_string(pki(file)).unwrap());
    path.to_str().unwrap().to_owned()
}

/// Done means: `serve verifier --client-id-scheme x509_san_dns` signs its
/// request objects with the leaf for `localhost`; `holder respond` with
/// the test CA as its verifier trust anchor answers, its presentation
/// bound to `x509_san_dns:localhost`, and the lender's verdict is
/// accepted; without the anchor, or with another one, the wallet refuses
/// and sends nothing; the service refuses to start with a key that is not
/// the leaf's, a leaf without a DNS SAN, or a public URL on another host.
#[test]
fn x509_san_dns_signed_requests_from_the_service_to_the_wallet() {
    let issuer = Service::start("vp-x509", true, &[]);
    let wallet = holder(&issuer, "3");
    let t = &issuer.tmp;
    let key = key_copy(t, "leaf.key");
    let chain = pki("chain.pem");
    let signed = ["--client-id-scheme", "x509_san_dns", "--signing-key", &key, "--cert-chain", &chain];
    let lender = Verifier::start_as(t, "x509", "localhost", &[&issuer.url], &signed);
    let asks = ["--predicate", "score>=650"];
    let ca = pki("ca.pem");

    // No anchor, another CA: refused before anything is planned or sent;
    // the transaction stays pending.
    let (id, link) = lender.ask(&asks);
    assert!(link.starts_with("openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri="), "{link}");
    let refused = respond(&wallet, &link, &[]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("oid4vp.client_auth.no_trust_anchors") && err.contains("--verifier-trust"), "{err}");
    let (id2, link) = lender.ask(&asks);
    let refused = respond(&wallet, &link, &["--verifier-trust", &pki("other-ca.pem")]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("oid4vp.client_auth.chain"), "{refused:?}");
    for id in [&id, &id2] {
        let (code, pending) = lender.result(id, &[]);
        assert_eq!((code, pending["state"].as_str()), (Some(3), Some("pending")), "{pending}");
    }

    // With the CA: authenticated, answered, accepted.
    let (id, link) = lender.ask(&asks);
    let dry = respond(&wallet, &link, &["--dry-run", "--verifier-trust", &ca]);
    ok(&dry);
    let preview = String::from_utf8_lossy(&dry.stdout);
    assert!(preview.contains("verifier: x509_san_dns:localhost"), "{preview}");
    assert!(!preview.contains("NOT AUTHENTICATED"), "{preview}");
    assert!(preview.contains(&format!("answers go to: {}/response", lender.url)), "{preview}");
    let (_, pending) = lender.result(&id, &[]);
    assert_eq!(pending["state"], "pending");
    let (id, link) = lender.ask(&asks);
    let answered = respond(&wallet, &link, &["--verifier-trust", &ca]);
    ok(&answered);
    assert!(String::from_utf8_lossy(&answered.stdout).starts_with("presented to x509_san_dns:localhost at "));
    let (code, verdict) = lender.result(&id, &["--wait", "10"]);
    assert_eq!(code, Some(0), "{verdict}");
    assert_eq!(verdict["accepted"], true, "{verdict}");

    // The request object itself: signed ES256, typ, x5c leaf first.
    let (_, link) = lender.ask(&asks);
    let metadata = r#"{"vp_formats_supported":{"dc+sd-jwt":{}},"creditproof_range_predicates":{"schemes":["hashwires-v2"],"ops":["gte","lte","between"]}}"#;
    let form = format!("wallet_metadata={}&wallet_nonce=n-0123456789", percent(metadata));
    let reply = lender.post(&request_path(&link), &[("Content-Type", FORM)], form.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let object = reply.text();
    let header: Value = serde_json::from_slice(&b64url(object.split('.').next().unwrap())).unwrap();
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("ES256"), Some("oauth-authz-req+jwt")));
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(2), "{header}");
    assert!(!object.ends_with('.'), "signed");
    drop(lender);

    // Configurations the service refuses to start with.
    let refuse = |extra: &[&str], host: &str, why: &str| {
        let o = bin()
            .args(["serve", "verifier", "--listen", "127.0.0.1:0", "--public-url", &format!("http://{host}:9")])
            .args(["--trust", &issuer.url])
            .arg("--api-token-file")
            .arg(t.path("x509-api.token"))
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{why}: {o:?}");
        assert!(err.contains(why), "{why}: {err}");
    };
    refuse(&signed, "127.0.0.1", "its host must be the named dns name");
    let other_key = key_copy(t, "other-leaf.key");
    let mismatch = ["--client-id-scheme", "x509_san_dns", "--signing-key", &other_key, "--cert-chain", &chain];
    refuse(&mismatch, "localhost", "not the leaf certificate's key");
    let nosan_key = key_copy(t, "nosan-leaf.key");
    let nosan_chain = pki("nosan-leaf.pem");
    let nosan = ["--client-id-scheme", "x509_san_dns", "--signing-key", &nosan_key, "--cert-chain", &nosan_chain];
    refuse(&nosan, "localhost", "no DNS subjectAltName");
    refuse(&["--client-id-scheme", "x509_san_dns"], "localhost", "needs --signing-key and --cert-chain");
    refuse(&["--signing-key", &key, "--cert-chain", &chain], "localhost", "are for --client-id-scheme x509_san_dns");
}

pub fn b64url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// `--max-transactions` bounds the transactions a node holds (answered
/// ones included, until their retention ends): one more is refused with
/// 503 `temporarily_unavailable`.
#[test]
fn max_transactions_is_the_node_s_bound() {
    let t = Tmp::new("vp-max");
    let dir = t.path("bureau");
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    let keys = t.path("bureau.pub.json");
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &keys]));
    let keys = keys.to_string_lossy().into_owned();
    let lender = Verifier::start(&t, "max", &[&keys], &["--max-transactions", "2"]);
    let ask = json!({"predicates": ["score>=650"]});
    assert_eq!(lender.create(&ask).status, 201);
    assert_eq!(lender.create(&ask).status, 201);
    let full = lender.create(&ask);
    assert_eq!((full.status, full.json()["error"].as_str()), (503, Some("temporarily_unavailable")));
    let o = run(&[
        &"serve",
        &"verifier",
        &"--listen",
        &"127.0.0.1:0",
        &"--public-url",
        &"http://127.0.0.1:9",
        &"--trust",
        &keys,
        &"--api-token-file",
        &lender.token_file,
        &"--max-transactions",
        &"0",
    ]);
    assert_eq!(o.status.code(), Some(2), "0 is refused: {o:?}");
}

/// Done means: a transaction nobody answers is posted to the webhook once,
/// signed, as `expired`, shortly after its lifetime ends; the API says the
/// same.
#[test]
fn an_unanswered_transaction_is_posted_to_the_webhook_as_expired() {
    let t = Tmp::new("vp-webhook-expiry");
    let dir = t.path("bureau");
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    ok(&run(&[&"issuer", &"public", &"--dir", &dir, &"--out", &t.path("bureau.pub.json")]));
    let (hook, received) = receiver();
    let secret = "webhook-secret-0123456789abcdef-0123456789";
    let secret_file = t.path("webhook.secret");
    private_file(&secret_file, secret);
    let lender = Verifier::start(
        &t,
        "expiry",
        &[t.path("bureau.pub.json").to_str().unwrap()],
        &[
            "--webhook-url",
            &hook,
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
            "--transaction-lifetime-secs",
            "30",
        ],
    );
    let (id, _link) = lender.ask(&["--predicate", "perk:no_deposit_rental"]);
    let asked = Instant::now();
    assert!(received.recv_timeout(Duration::from_secs(25)).is_err(), "nothing is posted while it is pending");
    let (head, body) = received.recv_timeout(Duration::from_secs(20)).expect("the expiry was posted");
    assert!(asked.elapsed() >= Duration::from_secs(30), "not before the transaction expired");
    assert_signed(&hook, secret, &head, &body);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((v["id"].as_str(), v["state"].as_str()), (Some(id.as_str()), Some("expired")), "{v}");
    assert_eq!(lender.read(&id, "").json(), v, "the API says the same");
    assert!(received.recv_timeout(Duration::from_secs(3)).is_err(), "posted once");
}
