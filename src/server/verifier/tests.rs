//! The verifier service's fetching over real loopback HTTP: a tiny server
//! on 127.0.0.1 plays the issuer (metadata, status lists), the service's
//! client is ureq with the same limits the CLI sets.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::status::ensure_fresh;
use super::*;
use crate::format::keys::IssuerSigningKey;
use crate::format::rng::SystemRng;
use crate::format::status_list::StatusList;
use crate::format::trust::KeyProvider as _;
use crate::issuer::Issuer;
use crate::profile::status::StatusRef;

/// What the test issuer serves: a status, a body, and a pause first.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    delay: Duration,
}

/// A loopback HTTP/1.1 server answering every request with the current
/// [`Answer`], counting requests.
struct Origin {
    url: String,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
}

impl Origin {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(Answer { status: 404, body: String::new(), delay: Duration::ZERO }));
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (a, h) = (a.clone(), h.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    // The request head, up to the empty line.
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let answer = a.lock().unwrap().clone();
                    std::thread::sleep(answer.delay);
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                        answer.status,
                        answer.body.len(),
                        answer.body
                    );
                    let _ = stream.flush();
                });
            }
        });
        Self { url, answer, hits }
    }

    fn set(&self, status: u16, body: String, delay: Duration) {
        *self.answer.lock().unwrap() = Answer { status, body, delay };
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// ureq, bounded as the CLI's client is.
struct Ureq(ureq::Agent);

impl Ureq {
    fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build();
        Self(config.into())
    }
}

impl Fetch for Ureq {
    fn get(&self, url: &str, accept: &str, limit: u64) -> Result<Fetched, String> {
        let mut r = self.0.get(url).header("Accept", accept).call().map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let body = r.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| e.to_string())?;
        Ok(Fetched { status, body })
    }

    fn post(&self, _: &str, _: &str, _: &[(&str, &str)], _: &[u8], _: u64) -> Result<Fetched, String> {
        Err("not used here".into())
    }
}

fn token() -> AdminToken {
    AdminToken::new("test-api-token-0123456789abcdef0123456789").unwrap()
}

fn service(trust: Vec<TrustedIssuer>, min_ttl: u64) -> Arc<VerifierService> {
    let config = VerifierConfig::new("http://127.0.0.1:9/lender", token(), trust).with_status_ttl_bounds(min_ttl, 3600);
    Arc::new(VerifierService::new(config, Arc::new(Ureq::new())).unwrap())
}

fn metadata_of(issuer: &Issuer, keys: &[&Issuer]) -> String {
    let keys: Vec<(String, crate::IssuerPublicKey)> =
        keys.iter().map(|k| (k.kid().to_owned(), k.public_key())).collect();
    crate::format::trust::metadata(issuer.id(), &keys).to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn configurations_that_cannot_work_do_not_build() {
    let fetch: Arc<dyn Fetch> = Arc::new(Ureq::new());
    let id = TrustedIssuer::Identifier("https://bureau.example".into());
    let build = |c: VerifierConfig| VerifierService::new(c, fetch.clone()).map(|_| ());
    assert!(build(VerifierConfig::new("https://lender.example", token(), vec![id.clone()])).is_ok());
    for (config, why) in [
        (VerifierConfig::new("https://lender.example", token(), vec![]), "trusted issuer"),
        (VerifierConfig::new("http://lender.example", token(), vec![id.clone()]), "public url"),
        (VerifierConfig::new("https://lender.example?x=1", token(), vec![id.clone()]), "public url"),
        (
            VerifierConfig::new("https://lender.example", token(), vec![TrustedIssuer::Identifier("ftp://b".into())]),
            "trusted issuer",
        ),
        (
            VerifierConfig::new("https://lender.example", token(), vec![id.clone()]).with_status_ttl_bounds(0, 3600),
            "ttl",
        ),
        (
            VerifierConfig::new("https://lender.example", token(), vec![id.clone()]).with_transaction_lifetime(5, 0),
            "transaction",
        ),
    ] {
        let e = build(config).unwrap_err();
        assert!(e.contains(why), "{e}");
    }
    let s = service(vec![id], 60);
    assert_eq!(s.client_id(), "redirect_uri:http://127.0.0.1:9/lender/response");
    assert!(!format!("{s:?}").contains("test-api-token"));
}

/// Key rotation is followed, and a key the issuer stops publishing stops
/// verifying at the next refresh; a failed refresh keeps the last keys;
/// metadata for another issuer is refused.
#[test]
fn trusted_issuers_by_identifier_follow_their_published_keys() {
    let origin = Origin::start();
    let mut rng = SystemRng::new();
    let old = Issuer::new(origin.url.clone(), IssuerSigningKey::generate(&mut rng)).unwrap();
    let new = Issuer::new(origin.url.clone(), IssuerSigningKey::generate(&mut rng)).unwrap();
    let s = service(vec![TrustedIssuer::Identifier(origin.url.clone())], 60);
    let keys = s.trust.shared();
    let key = |i: &Issuer| keys.issuer_key(&origin.url, i.kid()).map(|_| ()).map_err(|e| e.to_string());
    assert!(key(&old).is_err(), "nothing trusted before the first fetch");

    origin.set(200, metadata_of(&old, &[&old]), Duration::ZERO);
    assert!(s.refresh_trust().is_empty());
    assert!(key(&old).is_ok() && key(&new).is_err());
    origin.set(200, metadata_of(&old, &[&old, &new]), Duration::ZERO);
    assert!(s.refresh_trust().is_empty());
    assert!(key(&old).is_ok() && key(&new).is_ok(), "the rotation is followed");
    origin.set(500, String::new(), Duration::ZERO);
    assert_eq!(s.refresh_trust().len(), 1);
    assert!(key(&old).is_ok() && key(&new).is_ok(), "a failed refresh keeps the last keys");
    let stranger = Issuer::new("https://other.example", IssuerSigningKey::generate(&mut rng)).unwrap();
    origin.set(200, metadata_of(&stranger, &[&stranger]), Duration::ZERO);
    let failed = s.refresh_trust();
    assert!(failed[0].1.contains("not for"), "{failed:?}");
    origin.set(200, metadata_of(&new, &[&new]), Duration::ZERO);
    assert!(s.refresh_trust().is_empty());
    assert!(key(&old).is_err(), "a removed key stops verifying");
    assert!(key(&new).is_ok());
    assert_eq!(origin.hits(), 5, "one fetch per refresh");
}

/// However many verifications wait for one list, it is fetched once;
/// then it is cached until due; a failed fetch fails closed and is not
/// retried on every request.
#[test]
fn one_fetch_per_list_and_fail_closed() {
    let origin = Origin::start();
    let mut rng = SystemRng::new();
    let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
    let metadata = crate::format::trust::IssuerMetadata::from_json(
        metadata_of(&issuer, &[&issuer]).as_bytes(),
        &crate::Limits::default(),
    )
    .unwrap();
    let s = service(vec![TrustedIssuer::Metadata(metadata)], 1);
    let uri = format!("{}/status/1", origin.url);
    let list = StatusList::new(2, 16).unwrap();
    let signed = issuer.sign_status_list(&uri, &list, UnixTime::now(), 3600, 2);
    origin.set(200, signed, Duration::from_millis(300));
    let need = vec![(issuer.id().to_owned(), StatusRef { uri: uri.clone(), idx: 3 })];
    let rt = runtime();
    rt.block_on(async {
        let waiting: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn({
                    let (s, need) = (s.clone(), need.clone());
                    async move { ensure_fresh(&s, need).await }
                })
            })
            .collect();
        for w in waiting {
            w.await.unwrap();
        }
    });
    assert_eq!(origin.hits(), 1, "one fetch for eight verifications");
    let m = s.metrics.render();
    assert!(m.contains("creditproof_verifier_status_lists_total{result=\"fetched\"} 8"), "{m}");
    rt.block_on(ensure_fresh(&s, need.clone()));
    assert_eq!(origin.hits(), 1, "cached while fresh");
    assert!(s.metrics.render().contains("creditproof_verifier_status_lists_total{result=\"hit\"} 1"));

    // Due (ttl 2 s), and the issuer is down: unavailable, and not asked
    // again on the next request within the pause.
    std::thread::sleep(Duration::from_millis(2100));
    origin.set(503, String::new(), Duration::ZERO);
    rt.block_on(ensure_fresh(&s, need.clone()));
    rt.block_on(ensure_fresh(&s, need.clone()));
    assert_eq!(origin.hits(), 2);
    let m = s.metrics.render();
    assert!(m.contains("creditproof_verifier_status_lists_total{result=\"unavailable\"} 2"), "{m}");
    assert!(m.contains("creditproof_verifier_fetches_total{kind=\"status_list\",outcome=\"error\"} 1"), "{m}");

    // A token for another list at this address is refused.
    std::thread::sleep(Duration::from_millis(1100));
    let elsewhere = issuer.sign_status_list("https://bureau.example/status/9", &list, UnixTime::now(), 3600, 2);
    origin.set(200, elsewhere, Duration::ZERO);
    rt.block_on(ensure_fresh(&s, need));
    assert_eq!(origin.hits(), 3);
    assert!(s.metrics.render().contains("creditproof_verifier_status_lists_total{result=\"unavailable\"} 3"));
}
