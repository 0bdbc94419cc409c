//! `creditproof holder respond`: an OpenID4VP wallet. Every decision is
//! the protocol layer's (`creditproof::oid4vp`) and the wallet's; this file
//! fetches and posts over the bounded client of `http_client` (no
//! redirects: OpenID4VP's `request_uri` and `response_uri` must not
//! answer with one), and saves the wallet.
//!
//! Read the link → by reference: POST `wallet_metadata` (announcing
//! creditproof's range predicates) and a `wallet_nonce` to the
//! `request_uri` and check the request object (typ, the same `client_id`,
//! the echoed nonce, the client identifier rules; for `x509_san_dns:` the
//! signature, the chain to a `--verifier-trust` anchor, the leaf's DNS
//! name and the `response_uri` host) → plan the answer with
//! the wallet's credentials under its probing policy (threshold grid,
//! single use) → `--dry-run`: print what would be revealed and to whom,
//! send nothing → otherwise spend the credentials (saved first), post the
//! presentations (KB-JWT `aud` = the full client identifier) to the
//! `response_uri`. A request the wallet will not answer gets an
//! `access_denied` error response, which tells the verifier nothing more.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use creditproof::oid4vp::{
    accept_ack, fetch_request, parse_link_with_trust, plan, refusal, AuthorizationRequest, Oid4vpError,
    OutgoingRequest, RequestLink, VerifierTrust, WalletMetadata,
};
use creditproof::{PresentOptions, SystemRng, UnixTime};

use crate::files::{read_bounded, CliError, MAX_FILE};
use crate::http_client::Http;
use crate::{state, time, Insecure};

/// The most bytes of a request object or a verifier's answer.
const MAX_ANSWER: u64 = 64 * 1024;

/// Arguments of `holder respond`.
#[derive(Args)]
pub(crate) struct Respond {
    /// Wallet directory.
    #[arg(long)]
    wallet: PathBuf,
    /// The verifier's `openid4vp://` request (by value or by reference).
    #[arg(long)]
    request: String,
    /// Only print what the answer would reveal and to whom; send nothing.
    /// A request by reference is fetched all the same, and a verifier
    /// serves it once: ask for a new link to answer.
    #[arg(long)]
    dry_run: bool,
    /// Reuse an already presented credential if needed (linkable!).
    #[arg(long)]
    allow_reuse: bool,
    /// Answer range thresholds off the credential's threshold grid (a
    /// verifier that asks again can then narrow the score below a cell).
    #[arg(long)]
    allow_off_grid: bool,
    /// A verifier trust anchor, PEM (repeatable; a file may hold several):
    /// an `x509_san_dns:` request is answered only if its certificate
    /// chain leads to one, the leaf is valid for the named host, the
    /// signature verifies and the response goes to that host. Without
    /// one, such requests are refused.
    #[arg(long, value_name = "PEM")]
    verifier_trust: Vec<PathBuf>,
    /// Seconds each HTTP request may take.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Presentation time in Unix seconds (default: now).
    #[arg(long)]
    now: Option<u64>,
    #[command(flatten)]
    insecure: Insecure,
}

fn vp_error(e: &Oid4vpError) -> CliError {
    CliError(format!("{e} ({})", e.check()))
}

/// Sends one of the protocol layer's requests; the status and body.
fn send(http: &Http, req: &OutgoingRequest) -> Result<(u16, Vec<u8>), CliError> {
    let mut headers = vec![("Accept", req.accept)];
    if let Some(ct) = req.content_type {
        headers.push(("Content-Type", ct));
    }
    let a = http.send(req.method, &req.url, &headers, Some(req.body.as_bytes()), MAX_ANSWER)?;
    Ok((a.status, a.body))
}

/// The checked request the link carries or points to.
fn resolve(http: &Http, link: &str, trust: &VerifierTrust, now: UnixTime) -> Result<AuthorizationRequest, CliError> {
    match parse_link_with_trust(link, trust, now).map_err(|e| vp_error(&e))? {
        RequestLink::ByValue(request) => Ok(request),
        RequestLink::ByReference(reference) => {
            let (pending, req) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut SystemRng::new());
            let (status, body) = send(http, &req)?;
            pending.accept_with_trust(status, &body, trust, now).map_err(|e| vp_error(&e))
        }
    }
}

/// The anchors of every `--verifier-trust` file.
fn verifier_trust(paths: &[PathBuf]) -> Result<VerifierTrust, CliError> {
    let mut trust = VerifierTrust::new();
    for path in paths {
        let pem = read_bounded(path, MAX_FILE)?;
        trust.add_pem(&pem).map_err(|e| CliError(format!("--verifier-trust {}: {e}", path.display())))?;
    }
    Ok(trust)
}

pub(crate) fn run(r: &Respond) -> Result<ExitCode, CliError> {
    let http = Http::new(Duration::from_secs(r.timeout_secs.clamp(1, 600)));
    let now = time(r.now);
    let trust = verifier_trust(&r.verifier_trust)?;
    let (mut wallet, _lock) = state::load_wallet_locked(&r.wallet, r.insecure.allow_insecure_permissions)?;
    let request = resolve(&http, r.request.trim(), &trust, now)?;
    let options = PresentOptions::default().allow_reuse(r.allow_reuse).allow_off_grid(r.allow_off_grid);
    let planned = match plan(request.clone(), &wallet, options, now) {
        Ok(p) => p,
        Err(e) => {
            let hint = match &e {
                Oid4vpError::AccessDenied { cause: Some(c), .. } if c.check() == "holder.off_grid" => {
                    " (--allow-off-grid answers anyway)"
                }
                _ => "",
            };
            if !r.dry_run {
                // The verifier learns only that the wallet did not answer.
                let (status, body) = send(&http, &refusal(&request, &e))?;
                let _ = accept_ack(status, &body);
            }
            return Err(CliError(format!("not answered: {e}{hint}")));
        }
    };
    let preview = planned.preview();
    if r.dry_run {
        println!("{preview}");
        return Ok(ExitCode::SUCCESS);
    }
    let response = planned.respond(&mut wallet, now, &mut SystemRng::new()).map_err(|e| vp_error(&e))?;
    // Spend first, then send: a crash in between loses one presentation,
    // never reuses a credential.
    state::save_wallet(&r.wallet, &wallet)?;
    let (status, body) = send(&http, &response)?;
    let redirect = accept_ack(status, &body).map_err(|e| vp_error(&e))?;
    println!("presented to {} at {}", preview.client_id, preview.response_uri);
    if let Some(next) = redirect {
        println!("the verifier continues at {next}");
    }
    Ok(ExitCode::SUCCESS)
}
