//! `creditproof holder receive`: an OpenID4VCI wallet for the
//! pre-authorized code flow. Every decision is the protocol layer's
//! (`creditproof::oid4vci`); this file fetches, over the bounded client of
//! `http_client`, and saves the wallet.
//!
//! Resolve the offer → the issuer's metadata (its `credential_issuer` must
//! be exactly the offer's) → the authorization server's → the issuer's
//! `jwt-vc-issuer` keys (their `issuer` must be the offer's too) → token
//! (with the transaction code) → nonce → N fresh keys, each proving itself
//! → the batch, every credential verified against those keys and bound to
//! one of the fresh keys before any is stored, with its range secrets.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use creditproof::oid4vci::{
    authorization_server_metadata_url, credential_issuer_metadata_url, jwt_vc_issuer_metadata_url, parse_offer_link,
    AuthorizationServerMetadata, CredentialIssuerMetadata, CredentialOffer, ErrorResponse, OfferLink, TxCode,
    WalletError,
};
use creditproof::{IssuerMetadata, Limits, SystemRng, TrustStore, UnixTime, Wallet};

use crate::files::CliError;
use crate::http_client::{Answer, Http};
use crate::{state, Insecure};

/// The most bytes of an offer, a metadata document or a small answer.
const SMALL: u64 = 256 * 1024;
/// The most bytes of a credential response.
const LARGE: u64 = creditproof::oid4vci::credential::MAX_CREDENTIAL_RESPONSE_BYTES as u64;

/// Arguments of `holder receive`.
#[derive(Args)]
pub(crate) struct Receive {
    /// Wallet directory.
    #[arg(long)]
    wallet: PathBuf,
    /// The offer: an `openid-credential-offer://` link (by reference or by
    /// value).
    #[arg(long)]
    offer: String,
    /// The transaction code the issuer sent over another channel, when the
    /// offer asks for one.
    #[arg(long)]
    tx_code: Option<String>,
    /// How many credentials to ask for (default: the issuer's batch size).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    count: Option<u16>,
    /// Seconds each HTTP request may take.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    #[command(flatten)]
    insecure: Insecure,
}

fn wallet_error(e: WalletError) -> CliError {
    CliError(format!("{} ({})", e, e.check()))
}

fn json_ok(url: &str, a: Answer) -> Result<Vec<u8>, CliError> {
    if a.status == 200 {
        Ok(a.body)
    } else {
        Err(CliError(format!("{url}: the issuer answered {}: {}", a.status, ErrorResponse::from_json(&a.body))))
    }
}

pub(crate) fn run(r: &Receive) -> Result<ExitCode, CliError> {
    let http = Http::new(Duration::from_secs(r.timeout_secs.clamp(1, 600)));
    let (mut wallet, _lock) = state::load_wallet_locked(&r.wallet, r.insecure.allow_insecure_permissions)?;
    let (n, issuer) = receive(&http, &mut wallet, &r.offer, r.tx_code.as_deref(), r.count.map(usize::from))?;
    state::save_wallet(&r.wallet, &wallet)?;
    println!("received {n} credential(s) from {issuer}, each verified against its published keys");
    Ok(ExitCode::SUCCESS)
}

/// The wallet's side of the pre-authorized code flow, from the offer link
/// to the batch stored in `wallet` (in memory: the caller saves it). Asks
/// for `count` credentials (default: the issuer's batch size). Returns how
/// many were stored, and the credential issuer.
pub(crate) fn receive(
    http: &Http,
    wallet: &mut Wallet,
    offer_link: &str,
    tx_code: Option<&str>,
    count: Option<usize>,
) -> Result<(usize, String), CliError> {
    let limits = Limits::default();
    let offer = match parse_offer_link(offer_link.trim()).map_err(wallet_error)? {
        OfferLink::ByValue(offer) => offer,
        OfferLink::ByReference(url) => {
            let body = json_ok(&url, http.get(&url, "application/json", SMALL)?)?;
            CredentialOffer::from_json(&body).map_err(wallet_error)?
        }
    };
    let issuer = offer.credential_issuer().to_owned();
    let url = credential_issuer_metadata_url(&issuer).map_err(wallet_error)?;
    let body = json_ok(&url, http.get(&url, "application/json", SMALL)?)?;
    let metadata = CredentialIssuerMetadata::from_json(&body, &issuer).map_err(wallet_error)?;
    let url = authorization_server_metadata_url(metadata.authorization_server()).map_err(wallet_error)?;
    let body = json_ok(&url, http.get(&url, "application/json", SMALL)?)?;
    let as_metadata =
        AuthorizationServerMetadata::from_json(&body, metadata.authorization_server()).map_err(wallet_error)?;

    // The keys every credential must verify under, from the issuer itself.
    let url = jwt_vc_issuer_metadata_url(&issuer).map_err(wallet_error)?;
    let keys = json_ok(&url, http.get(&url, "application/json", SMALL)?)?;
    let published = IssuerMetadata::from_json(&keys, &limits).map_err(|e| CliError(format!("{url}: {e}")))?;
    if published.issuer() != issuer {
        return Err(CliError(format!("{url}: the keys are published for {}, not for {issuer}", published.issuer())));
    }
    let mut trust = TrustStore::new();
    trust.add_metadata(&keys, &limits).map_err(|e| CliError(format!("{url}: {e}")))?;

    let session = creditproof::oid4vci::IssuanceSession::new(offer, &metadata, &as_metadata).map_err(wallet_error)?;
    let count = count.unwrap_or(session.batch_size());
    let token_request = session.token_request(tx_code.map(TxCode::new)).map_err(wallet_error)?;
    let answer = http.post(&token_request, SMALL)?;
    let authorized = session.accept_token_response(answer.status, &answer.body).map_err(wallet_error)?;

    let mut rng = SystemRng::new();
    let mut stored = None;
    // One retry after `invalid_nonce` (a nonce that expired in between).
    for _ in 0..2 {
        let nonce = match authorized.nonce_request() {
            Some(req) => {
                let a = http.post(&req, SMALL)?;
                Some(authorized.accept_nonce_response(a.status, &a.body).map_err(wallet_error)?)
            }
            None => None,
        };
        let now = UnixTime::now();
        let (pending, request) =
            authorized.credential_request(wallet, count, nonce.as_ref(), now, &mut rng).map_err(wallet_error)?;
        let answer = http.post(&request, LARGE)?;
        if answer.status == 400 && ErrorResponse::from_json(&answer.body).error == "invalid_nonce" {
            continue;
        }
        stored = Some(pending.accept(answer.status, &answer.body, &trust, wallet, now).map_err(wallet_error)?);
        break;
    }
    let n = stored.ok_or_else(|| CliError("the issuer refused two fresh nonces in a row".into()))?;
    Ok((n, issuer))
}
