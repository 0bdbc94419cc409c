//! `load verifier`: a relying party and its customers' wallets running
//! OpenID4VP transactions against `creditproof serve verifier`, then the
//! same presentations verified in-process for comparison.

use std::hint::black_box;
use std::time::{Duration, Instant};

use creditproof::oid4vp::{accept_ack, fetch_request, parse_link, plan, OutgoingRequest, RequestLink, WalletMetadata};
use creditproof::{Limits, PresentOptions, PresentationRequest, SystemRng, UnixTime, Verifier, Wallet};
use serde_json::{json, Value};

use super::cpu::{own_ticks, server_pids, ticks_per_sec, Meter};
use super::http::{error_key, form_field, Answer, Client};
use super::issuer::{receive_one, IssuerContext};
use super::stats::{Stats, Summary};
use super::Options;
use crate::BoxError;

/// Presentations kept per wallet for the in-process comparison.
const KEEP_PER_WALLET: usize = 64;
/// Presentations per `verify_batch` call in-process.
const BATCH: usize = 64;

/// One answered transaction, as the service checked it: the audience,
/// nonce and presentation.
struct Sample {
    client_id: String,
    nonce: String,
    presentation: String,
}

fn send(client: &Client, req: &OutgoingRequest) -> Result<Answer, String> {
    let mut headers = vec![("Accept", req.accept)];
    if let Some(ct) = req.content_type {
        headers.push(("Content-Type", ct));
    }
    client.send(req.method, &req.url, &headers, Some(req.body.as_bytes()))
}

fn timed(stats: &mut Stats, name: &'static str, f: impl FnOnce() -> Result<Answer, String>) -> Result<Answer, String> {
    let t = Instant::now();
    let a = f()?;
    stats.time(name, t.elapsed());
    Ok(a)
}

struct Rp<'a> {
    url: &'a str,
    bearer: &'a str,
    body: Vec<u8>,
}

/// One transaction: created, fetched, answered, read. `Ok` is an accepted
/// verdict (with what the service verified).
fn transaction(client: &Client, rp: &Rp<'_>, wallet: &mut Wallet, stats: &mut Stats) -> Result<Sample, String> {
    let vp = |e: creditproof::oid4vp::Oid4vpError| format!("wallet: {}", e.check());
    let api = [("Authorization", rp.bearer), ("Content-Type", "application/json"), ("Accept", "application/json")];
    let url = format!("{}/transactions", rp.url);
    let a = timed(stats, "create", || client.send("POST", &url, &api, Some(&rp.body)))?;
    if a.status != 201 {
        return Err(format!("create: {}", error_key(&a)));
    }
    let created: Value = serde_json::from_slice(&a.body).map_err(|_| "create: not json".to_owned())?;
    let (Some(id), Some(link)) = (created["id"].as_str(), created["authorization_request"].as_str()) else {
        return Err("create: no id or link".into());
    };
    let now = UnixTime::now();
    let request = match parse_link(link).map_err(vp)? {
        RequestLink::ByValue(r) => r,
        RequestLink::ByReference(reference) => {
            let (pending, req) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut SystemRng::new());
            let a = timed(stats, "request", || send(client, &req))?;
            if a.status != 200 {
                return Err(format!("request: {}", error_key(&a)));
            }
            pending.accept(a.status, &a.body).map_err(vp)?
        }
    };
    let client_id = request.client_id().as_str().to_owned();
    let nonce = request.nonce().to_owned();
    let options = PresentOptions::default().allow_reuse(true);
    let planned = plan(request, wallet, options, now).map_err(vp)?;
    let response = planned.respond(wallet, now, &mut SystemRng::new()).map_err(vp)?;
    let token = form_field(&response.body, "vp_token").ok_or("no vp_token in the response")?;
    let a = timed(stats, "response", || send(client, &response))?;
    accept_ack(a.status, &a.body).map_err(|e| match a.status {
        200 => vp(e),
        _ => format!("response: {}", error_key(&a)),
    })?;
    let read = format!("{}/transactions/{id}", rp.url);
    let a = timed(stats, "result", || client.send("GET", &read, &api[..1], None))?;
    let outcome: Value = serde_json::from_slice(&a.body).map_err(|_| "result: not json".to_owned())?;
    match outcome["state"].as_str() {
        Some("accepted") => {}
        Some("rejected") => {
            let check = outcome["verdict"]["check"].as_str().unwrap_or("?");
            return Err(format!("rejected: {check}"));
        }
        other => return Err(format!("result: state {other:?}")),
    }
    let token: Value = serde_json::from_str(&token).map_err(|_| "vp_token: not json".to_owned())?;
    let presentation = token
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|v| v.get(0))
        .and_then(Value::as_str)
        .ok_or("vp_token: no presentation")?
        .to_owned();
    Ok(Sample { client_id, nonce, presentation })
}

/// The issuer the wallets receive (and refill) their credentials from.
struct Source<'a> {
    ctx: &'a IssuerContext,
    admin: &'a str,
    batch: usize,
}

impl Source<'_> {
    /// A fresh wallet with one batch.
    fn wallet(&self, client: &Client) -> Result<Wallet, String> {
        let mut w = Wallet::new();
        receive_one(client, self.ctx, self.admin, self.batch, &mut w, &mut Stats::default())?;
        Ok(w)
    }
}

/// One wallet's transactions until `deadline`. A credential answers one
/// range proof only (the wallet refuses to reuse it for one), so a wallet
/// whose batch is spent receives a new one from the issuer service: not
/// part of any latency, counted as `refills`, and its time taken off the
/// wall time of the throughput.
fn worker(rp: &Rp<'_>, source: &Source<'_>, mut wallet: Wallet, mut left: usize, deadline: Instant) -> Worked {
    let client = Client::new();
    let mut w = Worked::default();
    while Instant::now() < deadline {
        if left == 0 {
            let t = Instant::now();
            match source.wallet(&client) {
                Ok(fresh) => {
                    wallet = fresh;
                    left = source.batch;
                }
                Err(e) => w.stats.error(format!("refill: {e}")),
            }
            w.refills += 1;
            w.refill_time += t.elapsed();
            continue;
        }
        let t = Instant::now();
        match transaction(&client, rp, &mut wallet, &mut w.stats) {
            Ok(sample) => {
                left -= 1;
                w.stats.time("flow", t.elapsed());
                w.stats.flows += 1;
                w.stats.items += 1;
                if w.kept.len() < KEEP_PER_WALLET {
                    w.kept.push(sample);
                }
            }
            Err(key) => {
                w.stats.error(key);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    w
}

/// What one worker did.
#[derive(Default)]
struct Worked {
    stats: Stats,
    kept: Vec<Sample>,
    refills: u64,
    refill_time: Duration,
}

/// Runs the verifier load and the in-process comparison; prints both.
pub(crate) fn run(o: &Options, api_token: &str, admin_token: &str) -> Result<(), BoxError> {
    let issuer_url =
        o.issuer_url.as_deref().ok_or("give --issuer-url (the wallets receive their credentials there)")?;
    let url = o.urls.first().ok_or("give --url")?;
    let pids = server_pids(&o.server_pids, std::slice::from_ref(url))?;
    let setup = Client::new();
    let ctx = IssuerContext::fetch(&setup, issuer_url)?;
    let admin = format!("Bearer {admin_token}");
    let source = Source { ctx: &ctx, admin: &admin, batch: o.batch };
    let mut wallets = Vec::with_capacity(o.wallets);
    for _ in 0..o.wallets {
        wallets.push(source.wallet(&setup).map_err(|e| format!("receiving credentials from {issuer_url}: {e}"))?);
    }
    let bearer = format!("Bearer {api_token}");
    let rp = Rp { url, bearer: &bearer, body: json!({"predicates": [o.predicate]}).to_string().into_bytes() };
    // Warm-up outside the measurement: the service fetches the issuer's
    // keys and status list here, so the run sees warm status lists.
    for w in &mut wallets {
        transaction(&setup, &rp, w, &mut Stats::default())
            .map_err(|e| format!("the warm-up transaction failed: {e}"))?;
    }
    let meter = Meter::start(&pids, &o.cpu_of);
    let started = Instant::now();
    let deadline = started + o.duration;
    let parts: Vec<Worked> = std::thread::scope(|s| {
        let handles: Vec<_> = wallets
            .into_iter()
            .map(|w| {
                let (rp, source) = (&rp, &source);
                s.spawn(move || worker(rp, source, w, o.batch - 1, deadline))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let wall = started.elapsed();
    let cpu = meter.stop();
    let mut stats = Stats::default();
    let mut samples = Vec::new();
    let (mut refills, mut refill_time) = (0, Duration::ZERO);
    for w in parts {
        stats.merge(w.stats);
        samples.extend(w.kept);
        refills += w.refills;
        refill_time += w.refill_time;
    }
    // Per wallet, the time spent receiving new batches is not verifier time.
    let per_wallet = refill_time / u32::try_from(o.wallets).unwrap_or(u32::MAX);
    let wall_net = wall.saturating_sub(per_wallet);
    if o.json {
        println!("{}", json!({"name": "load.verifier.refills", "value": refills, "unit": ""}));
        println!(
            "{}",
            json!({"name": "load.verifier.refill_s_per_wallet", "value": per_wallet.as_secs_f64(), "unit": "s"})
        );
    } else {
        println!(
            "(wallets received {refills} new batches of {} during the run, {:.1} s per wallet; not in the latencies, \
             taken off the wall time)",
            o.batch,
            per_wallet.as_secs_f64()
        );
    }
    let over_http = Summary {
        kind: "verifier",
        unit: "verdicts",
        wallets: o.wallets,
        wall: wall_net,
        stats: &mut stats,
        cpu: &cpu,
        pids: &pids,
        json: o.json,
    }
    .print();
    in_process(&setup, &ctx, &samples, &o.predicate, over_http, o.json)
}

/// Verifies `samples` in-process, one thread, and prints verifications per
/// CPU-second with `verify` and `verify_batch`, and the service's ratio to
/// each.
fn in_process(
    client: &Client,
    ctx: &IssuerContext,
    samples: &[Sample],
    predicate: &str,
    over_http: f64,
    json: bool,
) -> Result<(), BoxError> {
    let first = samples.first().ok_or("no accepted presentation to verify in-process")?;
    let now = UnixTime::now();
    let limits = Limits::default();
    let mut verifier = Verifier::new(ctx.trust().clone());
    if let Some((issuer, status)) = verifier.credential_status(&first.presentation)? {
        let a = client.send("GET", &status.uri, &[("Accept", "application/statuslist+jwt")], None)?;
        if a.status != 200 {
            return Err(format!("{}: {}", &status.uri, error_key(&a)).into());
        }
        let token = String::from_utf8(a.body)?;
        verifier.add_fetched_status_list(&issuer, &status.uri, &token, now)?;
    }
    let requests: Vec<PresentationRequest> = samples
        .iter()
        .map(|s| {
            let r = json!({"aud": s.client_id, "nonce": s.nonce, "disclose": [], "predicates": [predicate]});
            PresentationRequest::from_json(r.to_string().as_bytes(), &limits)
        })
        .collect::<Result<_, _>>()?;
    let items: Vec<(&PresentationRequest, &str)> =
        requests.iter().zip(samples).map(|(r, s)| (r, s.presentation.as_str())).collect();
    if let Some((i, Err(e))) = verifier.verify_batch(&items, now).into_iter().enumerate().find(|(_, r)| r.is_err()) {
        return Err(format!("in-process: presentation {i} does not verify: {e}").into());
    }
    let tck = ticks_per_sec();
    let budget = Duration::from_secs(3);
    let measure = |f: &dyn Fn() -> usize| {
        let (t0, c0) = (Instant::now(), own_ticks());
        let mut n = 0;
        while t0.elapsed() < budget {
            n += f();
        }
        let cpu = own_ticks().saturating_sub(c0) as f64 / tck;
        (n, cpu)
    };
    let (n1, cpu1) = measure(&|| {
        for (r, p) in &items {
            black_box(verifier.verify(r, p, now).is_ok());
        }
        items.len()
    });
    let (n2, cpu2) = measure(&|| {
        for chunk in items.chunks(BATCH) {
            black_box(verifier.verify_batch(chunk, now));
        }
        items.len()
    });
    let single = n1 as f64 / cpu1;
    let batch = n2 as f64 / cpu2;
    let lines = [
        ("load.verifier.inprocess.verify_per_cpu_s", "in-process Verifier::verify per CPU-second", single, ""),
        ("load.verifier.inprocess.verify_batch_per_cpu_s", "in-process verify_batch (64) per CPU-second", batch, ""),
        ("load.verifier.ratio_to_verify", "over HTTP / in-process verify", over_http / single, "x"),
        ("load.verifier.ratio_to_verify_batch", "over HTTP / in-process verify_batch", over_http / batch, "x"),
    ];
    if json {
        for (name, _, value, unit) in lines {
            println!("{}", json!({"name": name, "value": value, "unit": unit}));
        }
    } else {
        println!("in-process, one thread, the same {} presentations (status list loaded):", items.len());
        for (_, label, value, unit) in lines {
            println!("  {label:<44} {value:>12.2} {unit}");
        }
    }
    Ok(())
}
