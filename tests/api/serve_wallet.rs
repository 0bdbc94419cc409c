//! `holder receive` against hostile issuers: real HTTP servers on
//! 127.0.0.1 that lie (another `credential_issuer` in the metadata,
//! credentials signed under a key they do not publish), redirect to
//! another host, or answer too much. The wallet refuses each, and stores
//! nothing.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use creditproof::hazmat::SeededRng;
use creditproof::oid4vci::{MemoryStore, NewOffer, NoStatus, Oid4vciConfig, Oid4vciIssuer};
use creditproof::{Claims, Issuer, IssuerSigningKey, UnixTime};
use serde_json::json;

use super::cli::{ok, run, Tmp};

/// What a handler answers: status, content type, body.
pub type Answer = (u16, &'static str, Vec<u8>);
pub type Handler = dyn Fn(&str, &str, Option<&str>, &[u8]) -> Answer + Send + Sync;

/// A loopback HTTP server answering every request with `handler(method,
/// path, authorization, body)`; stopped when dropped.
pub struct Hostile {
    pub url: String,
    stop: Arc<AtomicBool>,
    addr: String,
}

impl Hostile {
    pub fn start(handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let handler = handler.clone();
                std::thread::spawn(move || serve_one(&mut conn, handler.as_ref()));
            }
        });
        Self { url: format!("http://{addr}"), stop, addr }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve_one(conn: &mut TcpStream, handler: &Handler) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (first.next().unwrap_or_default().to_owned(), first.next().unwrap_or_default().to_owned());
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let (status, ctype, out) = handler(&method, &path, header("authorization").as_deref(), &body);
    let location = if (300..400).contains(&status) {
        format!("Location: {}\r\n", String::from_utf8_lossy(&out))
    } else {
        String::new()
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n",
        out.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&out);
}

fn receive(t: &Tmp, offer: &str) -> String {
    let wallet = t.path("wallet");
    if !wallet.exists() {
        ok(&run(&[&"holder", &"init", &"--wallet", &wallet]));
    }
    let o = run(&[&"holder", &"receive", &"--wallet", &wallet, &"--offer", &offer, &"--timeout-secs", &"10"]);
    assert_eq!(o.status.code(), Some(2), "refused: {o:?}");
    let status = run(&[&"holder", &"status", &"--wallet", &wallet]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("no credentials"), "nothing stored");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn link_to(url: &str) -> String {
    format!("openid-credential-offer://?credential_offer_uri={}", url.replace(':', "%3A").replace('/', "%2F"))
}

#[test]
fn http_to_a_non_loopback_host_is_refused_before_any_request() {
    let t = Tmp::new("receive-http");
    let err = receive(&t, &link_to("http://bureau.example/credential-offer/x"));
    assert!(err.contains("wallet.insecure_url"), "{err}");
}

#[test]
fn metadata_of_another_credential_issuer_is_refused() {
    let t = Tmp::new("receive-mismatch");
    let server = Arc::new(Mutex::new(String::new()));
    let me = server.clone();
    let h = Hostile::start(Arc::new(move |_m: &str, path: &str, _a: Option<&str>, _b: &[u8]| -> Answer {
        let url = me.lock().unwrap().clone();
        match path {
            "/offer" => (
                200,
                "application/json",
                json!({"credential_issuer": url, "credential_configuration_ids": ["creditproof_score"],
                       "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c"}}})
                .to_string()
                .into_bytes(),
            ),
            "/.well-known/openid-credential-issuer" => (
                200,
                "application/json",
                json!({"credential_issuer": format!("{url}/other"), "credential_endpoint": format!("{url}/credential"),
                       "credential_configurations_supported": {}})
                .to_string()
                .into_bytes(),
            ),
            _ => (404, "text/plain", b"no".to_vec()),
        }
    }));
    *server.lock().unwrap() = h.url.clone();
    let err = receive(&t, &link_to(&format!("{}/offer", h.url)));
    assert!(err.contains("wallet.issuer_mismatch"), "{err}");
}

#[test]
fn redirects_to_another_host_and_oversized_answers_are_refused() {
    let t = Tmp::new("receive-redirect");
    let h = Hostile::start(Arc::new(|_m: &str, path: &str, _a: Option<&str>, _b: &[u8]| -> Answer {
        match path {
            "/elsewhere" => (302, "text/plain", b"http://127.0.0.2:9/offer".to_vec()),
            "/huge" => (200, "application/json", vec![b' '; 512 * 1024]),
            _ => (404, "text/plain", b"no".to_vec()),
        }
    }));
    let err = receive(&t, &link_to(&format!("{}/elsewhere", h.url)));
    assert!(err.contains("refused a redirect to another host"), "{err}");
    let err = receive(&t, &link_to(&format!("{}/huge", h.url)));
    assert!(err.contains("larger than"), "{err}");
}

/// The forger's state: the issuer that signs, the one whose keys it
/// publishes, its protocol state and randomness.
type Forger = (Oid4vciIssuer, Issuer, MemoryStore, SeededRng);

/// An issuer that speaks the protocol correctly (the library's own
/// sans-IO issuer) but signs under a key it does not publish.
#[test]
fn credentials_that_do_not_verify_against_the_published_keys_are_refused() {
    let t = Tmp::new("receive-forged");
    // The identifier names the server's port: the issuer is set up once
    // the server is listening.
    let state: Arc<Mutex<Option<Forger>>> = Arc::new(Mutex::new(None));
    let s = state.clone();
    let h = Hostile::start(Arc::new(move |method: &str, path: &str, auth: Option<&str>, body: &[u8]| -> Answer {
        let mut guard = s.lock().unwrap();
        let (vci, published, store, rng) = guard.as_mut().unwrap();
        let now = UnixTime::now();
        let json = |v: String| (200, "application/json", v.into_bytes());
        let fail = |e: creditproof::oid4vci::Oid4vciError| {
            (e.status(), "application/json", e.to_json().to_string().into_bytes())
        };
        match (method, path) {
            ("GET", "/.well-known/openid-credential-issuer") => {
                json(vci.credential_issuer_metadata().to_json().to_string())
            }
            ("GET", "/.well-known/oauth-authorization-server") => {
                json(vci.authorization_server_metadata().to_json().to_string())
            }
            ("GET", "/.well-known/jwt-vc-issuer") => json(published.metadata().to_string()),
            ("POST", "/token") => match vci.token(store, body, now, rng) {
                Ok(t) => json(t.to_json().to_string()),
                Err(e) => fail(e),
            },
            ("POST", "/nonce") => json(vci.nonce(now, rng).to_json()),
            ("POST", "/credential") => match vci.credential(store, &mut NoStatus, auth, body, now, rng) {
                Ok(r) => json(r.to_json().to_string()),
                Err(e) => fail(e),
            },
            _ => (404, "text/plain", b"no".to_vec()),
        }
    }));
    let mut rng = SeededRng::new(b"forger");
    let signer = Issuer::new(h.url.clone(), IssuerSigningKey::generate(&mut rng)).unwrap();
    let published = Issuer::new(h.url.clone(), IssuerSigningKey::generate(&mut rng)).unwrap();
    let vci = Oid4vciIssuer::new(signer, Oid4vciConfig::default()).unwrap();
    let mut store = MemoryStore::new();
    let mut claims = Claims::new();
    claims.commit("score", 712, 950).unwrap().insert("tier", "A").unwrap();
    let created = vci.create_offer(&mut store, NewOffer::new("p", claims), UnixTime::now(), &mut rng).unwrap();
    let link = created.offer().to_link();
    *state.lock().unwrap() = Some((vci, published, store, rng));
    let err = receive(&t, &link);
    assert!(err.contains("wallet.credential"), "{err}");
}
