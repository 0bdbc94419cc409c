//! `creditproof demo --over-http`: the demo's story over loopback HTTP.
//! The issuer service runs in this process on 127.0.0.1 (a free port) over
//! a temporary issuer directory; its back office makes the offer; the
//! holder's wallet receives a batch over OpenID4VCI with the code of
//! `holder receive`; the desk and the lender fetch the issuer's keys and
//! the status list from the service; the back office revokes, and the
//! refetched list makes the desk refuse. Every exchange is printed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use creditproof::oid4vci::{Oid4vciConfig, PostRequest};
use creditproof::server::{serve, AdminToken, IssuerService, ServiceConfig};
use creditproof::{
    verdict_json, Algorithm, Limits, PresentOptions, SecureRng as _, SystemRng, TrustStore, UnixTime, Verifier, Wallet,
};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::demo::{pretty, request, step, DEMO_RECORDS};
use crate::files::CliError;
use crate::http_client::Http;
use crate::serve_cmd::DirSource;
use crate::{receive_cmd, state};

/// Credentials in the holder's batch.
const BATCH: usize = 8;
/// The most bytes of a status list token or a metadata document fetched.
const FETCH_LIMIT: u64 = 1024 * 1024;

fn fail(what: &str) -> impl Fn(creditproof::Error) -> CliError + '_ {
    move |e| CliError(format!("demo failed: {what}: {e}"))
}

/// A private temporary directory, removed when dropped (or, as the output
/// goes to a reader that quit, on the exit that skips the drop).
struct TempDir(PathBuf);

impl TempDir {
    fn new(rng: &mut SystemRng) -> Result<Self, CliError> {
        let mut b = [0u8; 8];
        rng.fill(&mut b);
        let name = format!("creditproof-demo-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
        let path = std::env::temp_dir().join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        crate::remove_on_broken_pipe(&path);
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A verifier of `issuer` as someone who trusts it would build one: the
/// keys published at its `/.well-known/jwt-vc-issuer`, and the status list
/// the presentation's credential names, fetched only from under the
/// issuer's own URL.
fn fetch_verifier(
    http: &Http,
    issuer: &str,
    presentation: &str,
    now: UnixTime,
) -> Result<Verifier<TrustStore>, CliError> {
    let limits = Limits::default();
    let url = creditproof::oid4vci::jwt_vc_issuer_metadata_url(issuer)
        .map_err(|e| CliError(format!("demo failed: {issuer}: {e}")))?;
    let keys = ok_body(&url, http.get(&url, "application/json", FETCH_LIMIT)?)?;
    let mut trust = TrustStore::new();
    trust.add_metadata(&keys, &limits).map_err(fail(&url))?;
    let mut verifier = Verifier::new(trust);
    // Which list to fetch: the credential's status reference, read once its
    // issuer signature has been checked (the verifier checks everything
    // again when it verifies).
    let (_, status) = verifier
        .credential_status(presentation)
        .map_err(fail("the presentation"))?
        .ok_or_else(|| CliError("demo failed: no status list named".into()))?;
    let uri = status.uri;
    if !uri.starts_with(&format!("{issuer}/")) {
        return Err(CliError(format!("demo failed: {uri} is not the issuer's to serve")));
    }
    let token = ok_body(&uri, http.get(&uri, "application/statuslist+jwt", FETCH_LIMIT)?)?;
    let token = String::from_utf8(token).map_err(|_| CliError(format!("demo failed: {uri}: not text")))?;
    verifier.add_status_list(&token, now).map_err(fail(&uri))?;
    Ok(verifier)
}

fn ok_body(url: &str, a: crate::http_client::Answer) -> Result<Vec<u8>, CliError> {
    if (200..300).contains(&a.status) {
        Ok(a.body)
    } else {
        Err(CliError(format!("demo failed: {url}: {} {}", a.status, String::from_utf8_lossy(&a.body))))
    }
}

/// A `POST` of JSON to the back office, with its bearer token.
fn admin_post(http: &Http, url: &str, token: &str, body: &Value) -> Result<Value, CliError> {
    let req = PostRequest {
        url: url.to_owned(),
        content_type: Some("application/json"),
        authorization: Some(Zeroizing::new(format!("Bearer {token}"))),
        body: Zeroizing::new(body.to_string()),
    };
    let body = ok_body(url, http.post(&req, FETCH_LIMIT)?)?;
    serde_json::from_slice(&body).map_err(|e| CliError(format!("demo failed: {url}: {e}")))
}

/// The issuer service, running on a runtime of its own until dropped.
struct RunningService {
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningService {
    /// Binds 127.0.0.1 on a free port, creates the issuer directory `dir`
    /// for that URL, and serves it with a back office behind `admin`.
    fn start(dir: &Path, admin: &AdminToken, rng: &mut SystemRng) -> Result<(Self, String), CliError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| CliError(format!("cannot start the runtime: {e}")))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| CliError(format!("demo failed: cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener.local_addr().map_err(|e| CliError(format!("demo failed: {e}")))?;
        let url = format!("http://{addr}");
        state::init_issuer(dir, &url, None, false, Algorithm::Ed25519, None, rng)?;
        let config = ServiceConfig::new(&url, &state::registry_path(dir), &state::store_path(dir))
            .with_oid4vci(Oid4vciConfig::default().with_batch_size(BATCH))
            .with_admin_token(admin.clone())
            .with_policy_book(state::policy_book(dir))
            .with_dispute_store(&crate::dispute_cmd::store_path(dir))
            .with_shutdown_grace(Duration::from_secs(5));
        let source = Box::new(DirSource { dir: dir.to_owned(), insecure: false });
        let service = Arc::new(IssuerService::new(config, source).map_err(|e| CliError(format!("demo failed: {e}")))?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(serve(listener, service, async move {
            let _ = stopped.await;
        }));
        Ok((Self { runtime: Some(runtime), stop: Some(stop), task: Some(task) }, url))
    }

    /// Stops accepting, finishes what is in flight, and waits.
    fn stop(mut self) -> Result<(), CliError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), CliError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let (Some(runtime), Some(task)) = (self.runtime.take(), self.task.take()) {
            let served = runtime.block_on(task).map_err(|e| CliError(format!("demo failed: the service: {e}")))?;
            served.map_err(|e| CliError(format!("demo failed: the service: {e}")))?;
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
        Ok(())
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

pub fn run() -> Result<(), CliError> {
    let mut rng = SystemRng::new();
    let opts = PresentOptions::default();
    let http = Http::new(Duration::from_secs(30)).traced();
    let tmp = TempDir::new(&mut rng)?;

    step(1, "A credit bureau starts its issuer service on loopback HTTP");
    let mut secret = [0u8; 32];
    rng.fill(&mut secret);
    let token = Zeroizing::new(secret.iter().map(|x| format!("{x:02x}")).collect::<String>());
    let admin = AdminToken::new(&token).map_err(|e| CliError(format!("demo failed: {e}")))?;
    let (service, iss) = RunningService::start(&tmp.0.join("bureau"), &admin, &mut rng)?;
    println!("issuer {iss}: OpenID4VCI (pre-authorized code, batches of {BATCH}), status lists, a back office");
    println!("(an issuer directory in {}, removed at the end)", tmp.0.display());

    step(2, "The bureau's back office scores the holder's own records and makes an offer");
    let made = admin_post(
        &http,
        &format!("{iss}/admin/offers"),
        &token,
        &json!({
            "policy": "sesame-style",
            "records": serde_json::from_str::<Value>(DEMO_RECORDS).unwrap_or_default(),
            "tx_code": true,
        }),
    )?;
    let link = made["offer"].as_str().ok_or_else(|| CliError("demo failed: no offer link".into()))?.to_owned();
    let tx_code = made["tx_code"].as_str().ok_or_else(|| CliError("demo failed: no tx code".into()))?.to_owned();
    // The offer's id is a bearer capability: shown as `…`, like in the trace.
    let cut = link.find("credential-offer%2F").map_or(link.len(), |i| i + "credential-offer%2F".len());
    println!("the link for the holder's wallet (a QR code): {}…", link.get(..cut).unwrap_or_default());
    println!("the transaction code, sent over another channel (a letter, an SMS): {tx_code}");

    step(3, "The holder's wallet receives a batch over OpenID4VCI, one fresh key per credential");
    let mut wallet = Wallet::new();
    let (n, from) = receive_cmd::receive(&http, &mut wallet, &link, Some(&tx_code), None)?;
    println!("received {n} credential(s) from {from}, each verified against the keys it publishes");
    println!("the same offer and code, redeemed a second time:");
    match receive_cmd::receive(&http, &mut Wallet::new(), &link, Some(&tx_code), None) {
        Err(e) if e.0.contains("invalid_grant") => println!("refused (invalid_grant): an offer is single use"),
        _ => return Err(CliError("demo failed: an offer was redeemed twice".into())),
    }

    step(4, "A car-rental desk asks one question: eligible for a no-deposit rental?");
    let now = UnixTime::now();
    let desk_request = request("https://rental-desk.example", "perk:no_deposit_rental", &mut rng)?;
    println!("request: aud {}, nonce {}", desk_request.audience(), desk_request.nonce());
    println!("{}", wallet.preview(&desk_request, opts, now).map_err(fail("preview"))?);
    let presentation = wallet.present(&desk_request, opts, now, &mut rng).map_err(fail("present"))?;

    step(5, "The desk fetches the bureau's keys and the status list over HTTP, and verifies");
    println!(
        "the keys from the bureau's /.well-known/jwt-vc-issuer; the list the credential names, from the bureau only:"
    );
    let desk = fetch_verifier(&http, &iss, presentation.as_str(), now)?;
    let outcome = desk.verify(&desk_request, presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&outcome)));
    let verified = outcome.map_err(fail("the desk's verification"))?;

    step(6, "A lender asks score >= 650, proven without the score, on another credential of the batch");
    let lender_request = request("https://lender.example", "score>=650", &mut rng)?;
    let lender_presentation = wallet.present(&lender_request, opts, now, &mut rng).map_err(fail("present"))?;
    let lender = fetch_verifier(&http, &iss, lender_presentation.as_str(), now)?;
    let lender_outcome = lender.verify(&lender_request, lender_presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&lender_outcome)));
    lender_outcome.map_err(fail("the lender's verification"))?;

    step(7, "The desk reports fraud with the status entry from its verdict; the back office revokes it");
    let reported = verified.status().cloned().ok_or_else(|| CliError("demo failed: no status reference".into()))?;
    println!("the desk's verdict named {reported}");
    let changed = admin_post(
        &http,
        &format!("{iss}/admin/status"),
        &token,
        &json!({"status": "revoked", "uri": reported.uri, "idx": reported.idx, "reason": "fraud reported by the desk"}),
    )?;
    let changed = changed["changed"].as_u64().unwrap_or_default();
    if changed != 1 {
        return Err(CliError(format!("demo failed: {changed} entries revoked, not one")));
    }
    println!("the bureau's registry changed {changed} entry; the service re-signs the list on the next fetch");

    step(8, "The desk fetches the list again: the same presentation is now refused");
    let later = UnixTime::now();
    let again =
        fetch_verifier(&http, &iss, presentation.as_str(), later)?.verify(&desk_request, presentation.as_str(), later);
    println!("{}", pretty(&verdict_json(&again)));
    match again {
        Err(e) if e.check() == "status.revoked" => {}
        _ => return Err(CliError("demo failed: a revoked credential was accepted".into())),
    }
    println!("the lender checks its presentation against the fresh list too:");
    let still = fetch_verifier(&http, &iss, lender_presentation.as_str(), later)?.verify(
        &lender_request,
        lender_presentation.as_str(),
        later,
    );
    match still {
        Ok(_) => println!("\nThe revoked credential is refused; the lender's, another of the batch, still verifies."),
        Err(e) => return Err(CliError(format!("demo failed: an untouched credential was refused: {e}"))),
    }

    service.stop()?;
    drop(tmp);
    println!("\nThe service stopped; the temporary bureau is gone.");
    Ok(())
}
