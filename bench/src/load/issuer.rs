//! `load issuer`: wallets running the OpenID4VCI pre-authorized code flow
//! against `creditproof serve issuer`, each offer made by the back office.

use std::time::{Duration, Instant};

use creditproof::oid4vci::{
    authorization_server_metadata_url, credential_issuer_metadata_url, jwt_vc_issuer_metadata_url, parse_offer_link,
    AuthorizationServerMetadata, CredentialIssuerMetadata, CredentialOffer, IssuanceSession, OfferLink, PostRequest,
};
use creditproof::{Limits, SystemRng, TrustStore, UnixTime, Wallet};
use serde_json::{json, Value};

use super::cpu::{server_pids, Meter};
use super::http::{error_key, Answer, Client};
use super::stats::{Stats, Summary};
use super::Options;
use crate::BoxError;

/// The records the back office scores for every offer (the shipped
/// example of the `sesame-style` policy).
const RECORDS: &str = include_str!("../../../policies/examples/records-sesame-style.json");

/// What a wallet learns once about an issuer: its metadata and keys.
pub(crate) struct IssuerContext {
    url: String,
    metadata: CredentialIssuerMetadata,
    authorization_server: AuthorizationServerMetadata,
    trust: TrustStore,
    offer_body: Vec<u8>,
}

fn get_json(client: &Client, url: &str) -> Result<Vec<u8>, BoxError> {
    let a = client.send("GET", url, &[("Accept", "application/json")], None)?;
    if a.status != 200 {
        return Err(format!("{url}: {}", error_key(&a)).into());
    }
    Ok(a.body)
}

impl IssuerContext {
    /// Fetches the metadata and keys of the issuer at `url` (its public
    /// URL, which is its identifier).
    pub(crate) fn fetch(client: &Client, url: &str) -> Result<Self, BoxError> {
        let limits = Limits::default();
        let md_url = credential_issuer_metadata_url(url)?;
        let metadata = CredentialIssuerMetadata::from_json(&get_json(client, &md_url)?, url)?;
        let as_url = authorization_server_metadata_url(metadata.authorization_server())?;
        let authorization_server =
            AuthorizationServerMetadata::from_json(&get_json(client, &as_url)?, metadata.authorization_server())?;
        let keys = get_json(client, &jwt_vc_issuer_metadata_url(url)?)?;
        let mut trust = TrustStore::new();
        trust.add_metadata(&keys, &limits)?;
        let records: Value = serde_json::from_str(RECORDS)?;
        let offer_body =
            json!({"policy": "sesame-style", "records": records, "as_of": "2025-01-01"}).to_string().into_bytes();
        Ok(Self { url: url.to_owned(), metadata, authorization_server, trust, offer_body })
    }

    /// The keys the issuer publishes.
    pub(crate) fn trust(&self) -> &TrustStore {
        &self.trust
    }
}

/// Times one step: the answer, or the error-table key.
fn step(stats: &mut Stats, name: &'static str, f: impl FnOnce() -> Result<Answer, String>) -> Result<Answer, String> {
    let t = Instant::now();
    let a = f()?;
    stats.time(name, t.elapsed());
    Ok(a)
}

fn post(client: &Client, req: &PostRequest) -> Result<Answer, String> {
    let mut headers = vec![("Accept", "application/json")];
    if let Some(ct) = req.content_type {
        headers.push(("Content-Type", ct));
    }
    if let Some(auth) = &req.authorization {
        headers.push(("Authorization", auth.as_str()));
    }
    client.send("POST", &req.url, &headers, Some(req.body.as_bytes()))
}

fn ok2xx(a: Answer) -> Result<Answer, String> {
    if (200..300).contains(&a.status) {
        Ok(a)
    } else {
        Err(error_key(&a))
    }
}

/// One whole issuance: the back office's offer, then the wallet's flow;
/// `batch` credentials checked and stored in `wallet`. Returns how many.
pub(crate) fn receive_one(
    client: &Client,
    ctx: &IssuerContext,
    bearer: &str,
    batch: usize,
    wallet: &mut Wallet,
    stats: &mut Stats,
) -> Result<usize, String> {
    let wallet_error = |e: creditproof::oid4vci::WalletError| format!("wallet: {}", e.check());
    let admin = format!("{}/admin/offers", ctx.url);
    let made = step(stats, "offer", || {
        client.send(
            "POST",
            &admin,
            &[("Authorization", bearer), ("Content-Type", "application/json"), ("Accept", "application/json")],
            Some(&ctx.offer_body),
        )
    })
    .and_then(ok2xx)?;
    let made: Value = serde_json::from_slice(&made.body).map_err(|_| "offer: not json".to_owned())?;
    let link = made["offer"].as_str().ok_or("offer: no link")?;
    let offer = match parse_offer_link(link).map_err(wallet_error)? {
        OfferLink::ByValue(offer) => offer,
        OfferLink::ByReference(uri) => {
            let a = step(stats, "resolve", || client.send("GET", &uri, &[("Accept", "application/json")], None))
                .and_then(ok2xx)?;
            CredentialOffer::from_json(&a.body).map_err(wallet_error)?
        }
    };
    let session = IssuanceSession::new(offer, &ctx.metadata, &ctx.authorization_server).map_err(wallet_error)?;
    let request = session.token_request(None).map_err(wallet_error)?;
    let a = step(stats, "token", || post(client, &request))?;
    let authorized = session.accept_token_response(a.status, &a.body).map_err(|e| match a.status {
        200 => wallet_error(e),
        _ => error_key(&a),
    })?;
    let mut rng = SystemRng::new();
    let nonce = match authorized.nonce_request() {
        Some(req) => {
            let a = step(stats, "nonce", || post(client, &req)).and_then(ok2xx)?;
            Some(authorized.accept_nonce_response(a.status, &a.body).map_err(wallet_error)?)
        }
        None => None,
    };
    let now = UnixTime::now();
    let (pending, request) =
        authorized.credential_request(wallet, batch, nonce.as_ref(), now, &mut rng).map_err(wallet_error)?;
    let a = step(stats, "credential", || post(client, &request)).and_then(ok2xx)?;
    pending.accept(a.status, &a.body, &ctx.trust, wallet, now).map_err(wallet_error)
}

/// Runs the issuer load and prints the figures.
pub(crate) fn run(o: &Options, admin_token: &str) -> Result<(), BoxError> {
    let bearer = format!("Bearer {admin_token}");
    let setup = Client::new();
    let contexts: Vec<IssuerContext> =
        o.urls.iter().map(|u| IssuerContext::fetch(&setup, u)).collect::<Result<_, _>>()?;
    let pids = server_pids(&o.server_pids, &o.urls)?;
    // Warm-up: one flow per wallet, outside the measurement (connections,
    // the server's caches and thread pools).
    let warm: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.wallets)
            .map(|i| {
                let ctx = &contexts[i % contexts.len()];
                let bearer = &bearer;
                s.spawn(move || {
                    receive_one(&Client::new(), ctx, bearer, o.batch, &mut Wallet::new(), &mut Stats::default())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("panicked".into()))).collect()
    });
    if let Some(Err(e)) = warm.iter().find(|r| r.is_err()) {
        return Err(format!("the warm-up flow failed: {e}").into());
    }
    let meter = Meter::start(&pids, &o.cpu_of);
    let started = Instant::now();
    let deadline = started + o.duration;
    let parts: Vec<Stats> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.wallets)
            .map(|i| {
                let ctx = &contexts[i % contexts.len()];
                let bearer = &bearer;
                s.spawn(move || worker(ctx, bearer, o.batch, deadline))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let wall = started.elapsed();
    let cpu = meter.stop();
    let mut stats = Stats::default();
    for p in parts {
        stats.merge(p);
    }
    Summary {
        kind: "issuer",
        unit: "credentials",
        wallets: o.wallets,
        wall,
        stats: &mut stats,
        cpu: &cpu,
        pids: &pids,
        json: o.json,
    }
    .print();
    Ok(())
}

fn worker(ctx: &IssuerContext, bearer: &str, batch: usize, deadline: Instant) -> Stats {
    let client = Client::new();
    let mut stats = Stats::default();
    while Instant::now() < deadline {
        let t = Instant::now();
        // A fresh wallet per flow: what a holder keeps is not measured.
        let mut wallet = Wallet::new();
        match receive_one(&client, ctx, bearer, batch, &mut wallet, &mut stats) {
            Ok(n) => {
                stats.time("flow", t.elapsed());
                stats.flows += 1;
                stats.items += n as u64;
            }
            Err(key) => {
                stats.error(key);
                // Do not spin on a failing server.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    stats
}
