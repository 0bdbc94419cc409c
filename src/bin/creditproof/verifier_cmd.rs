//! `creditproof verifier ...` (requests and verdicts) and `creditproof
//! sd-jwt verify` (any issuer's SD-JWT, outside the profile).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use crate::files::{read_bounded, read_text, write_file, Access, CliError, MAX_FILE};
use crate::{id_value, lib_err, read_policy, read_request, time};

use creditproof::policy::PolicyPin;
use creditproof::sd_jwt::{KeyBinding, SdJwtVerifier};
use creditproof::{
    verdict_json, Grid, IssuerMetadata, IssuerPublicKey, Limits, Predicate, PresentationRequest, SystemRng, TrustStore,
    UnixTime, Verifier, VerifierOptions,
};

/// Largest status list token accepted (the decoder bounds its contents).
pub(crate) const MAX_STATUS_LIST: u64 = 2 * 1024 * 1024;

#[derive(Subcommand)]
pub(crate) enum VerifierCmd {
    /// Ask through a verifier service (`serve verifier`): prints the
    /// transaction id, then the `openid4vp://` link for the holder's wallet.
    Ask(crate::ask_cmd::Ask),
    /// Read a transaction's verdict from a verifier service; prints the
    /// JSON verdict of `verifier verify` with the transaction id. Exit 0
    /// accepted, 1 rejected (or expired), 3 still pending after --wait.
    #[command(name = "result")]
    Outcome(crate::ask_cmd::Outcome),
    /// Create a request with a fresh nonce.
    Request {
        /// This verifier's identifier (the audience the holder binds to).
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        aud: String,
        /// A claim the holder must disclose (repeatable).
        #[arg(long)]
        disclose: Vec<String>,
        /// A predicate to prove, e.g. `perk:no_deposit_rental` (repeatable).
        #[arg(long)]
        predicate: Vec<String>,
        /// The issuer's published policy (a JSON file, or a shipped policy's
        /// id such as sesame-style): refuse `score` thresholds off its
        /// threshold grid, which holders' wallets refuse by default.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Accept only credentials of this issuer (repeatable; default: any
        /// issuer `verifier verify --trust` trusts). Wallets consider only
        /// these, and `verifier verify` rejects any other (`request.issuer`).
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        issuer: Vec<String>,
        /// Accept only credentials of this type, `vct` (repeatable; default:
        /// any). Others are rejected with `request.vct`.
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        vct: Vec<String>,
        /// Output request file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a presentation; prints a JSON verdict. Exit 0 accepted, 1 rejected.
    Verify {
        /// Issuer metadata files to trust (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// The request this presentation answers.
        #[arg(long)]
        request: PathBuf,
        /// The presentation.
        #[arg(long)]
        presentation: PathBuf,
        /// Status list tokens fetched from the issuer (repeatable, any
        /// order: per list the newest `iat` wins, and tokens of equal `iat`
        /// merge with the stricter status winning).
        #[arg(long)]
        status_list: Vec<PathBuf>,
        /// How long a status list counts after its `iat`, in seconds: a token
        /// without `ttl` counts this long, a larger `ttl` is clamped to it
        /// (then `status.stale`).
        #[arg(long, default_value_t = VerifierOptions::DEFAULT_STATUS_MAX_AGE_SECS)]
        status_max_age: u64,
        /// Accept a credential that carries no status (so cannot be
        /// revoked). Refused by default (`status.missing`).
        #[arg(long)]
        allow_missing_status: bool,
        /// Accept only credentials scored under this policy version:
        /// `ID@VERSION`, or `sha256:HEX` of its published document
        /// (repeatable; default: any). The request must ask for
        /// `--disclose policy`; another version is rejected with
        /// `request.policy`.
        #[arg(long, value_name = "ID@VERSION|sha256:HEX")]
        accept_policy: Vec<String>,
        /// Verification time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
    },
}

#[derive(Subcommand)]
pub(crate) enum SdJwtCmd {
    /// Verify an SD-JWT or SD-JWT+KB; prints the processed claims (RFC 9901
    /// §7.1) as JSON. Exit 0 accepted, 1 rejected. Generic mode does not
    /// check revocation: a `status` claim is returned as a claim, never looked
    /// up (use `verifier verify --status-list` for creditproof credentials).
    Verify {
        /// The issuer's public key: a JWK, or issuer metadata (`jwks`), whose
        /// key the JWT's `kid` selects.
        #[arg(long)]
        key: PathBuf,
        /// The issuer JWT's expected `typ` (e.g. dc+sd-jwt).
        #[arg(long)]
        typ: String,
        /// The SD-JWT (+KB) to verify.
        #[arg(long)]
        sd_jwt: PathBuf,
        /// Require a key binding JWT with this nonce (needs --aud).
        #[arg(long, requires = "aud", allow_hyphen_values = true, value_parser = id_value)]
        nonce: Option<String>,
        /// Require a key binding JWT for this audience (needs --nonce).
        #[arg(long, requires = "nonce", allow_hyphen_values = true, value_parser = id_value)]
        aud: Option<String>,
        /// Verification time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
    },
}

pub(crate) fn run(cmd: VerifierCmd) -> Result<ExitCode, CliError> {
    let mut rng = SystemRng::new();
    let limits = Limits::default();
    match cmd {
        VerifierCmd::Ask(a) => crate::ask_cmd::ask(&a),
        VerifierCmd::Outcome(r) => crate::ask_cmd::result(&r),
        VerifierCmd::Request { aud, disclose, predicate, policy, issuer, vct, out } => {
            let grid = policy_grid(policy.as_deref(), &limits)?;
            let mut b = PresentationRequest::builder(aud);
            for i in issuer {
                b = b.issuer(i);
            }
            for v in vct {
                b = b.vct(v);
            }
            for d in disclose {
                b = b.disclose(d);
            }
            for p in predicate {
                b = b.predicate(on_grid(&p, grid.as_ref())?);
            }
            let req = b.build(&mut rng).map_err(|e| CliError(e.to_string()))?;
            let text = serde_json::to_string_pretty(&req.to_json()).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            println!("request of {} with a fresh nonce written to {}", req.audience(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        VerifierCmd::Verify {
            trust,
            request,
            presentation,
            status_list,
            status_max_age,
            allow_missing_status,
            accept_policy,
            now,
        } => {
            let now = time(now);
            let pins = accept_policy
                .iter()
                .map(|p| PolicyPin::parse(p).map_err(|e| CliError(format!("--accept-policy: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            let mut store = TrustStore::new();
            for t in &trust {
                let bytes = read_bounded(t, MAX_FILE)?;
                store.add_metadata(&bytes, &limits).map_err(lib_err(t))?;
            }
            let req = read_request(&request, &limits)?;
            let pres = read_text(&presentation, MAX_FILE)?;
            let mut options = VerifierOptions::default().with_status_max_age_secs(status_max_age);
            if allow_missing_status {
                options = options.allow_missing_status();
            }
            let mut verifier = Verifier::with_options(store, options);
            verifier.accept_policies(pins);
            let mut outcome = Ok(());
            for path in &status_list {
                let token = read_text(path, MAX_STATUS_LIST)?;
                if outcome.is_ok() {
                    outcome = verifier.add_status_list(&token, now).map(|_| ());
                }
            }
            // A status list that fails its checks rejects the presentation
            // with that check's name; it is never silently skipped.
            let outcome = outcome.and_then(|()| verifier.verify(&req, &pres, now));
            println!("{}", serde_json::to_string_pretty(&verdict_json(&outcome)).unwrap_or_default());
            Ok(if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// The threshold grid of `--policy` (a file or a shipped policy's id).
pub(crate) fn policy_grid(policy: Option<&Path>, limits: &Limits) -> Result<Option<Grid>, CliError> {
    policy.map(|path| Ok(read_policy(path, limits)?.0.grid().clone())).transpose()
}

/// `--predicate p` parsed, refused when it is a `score` threshold off
/// `grid`, which holders' wallets refuse by default: asking for it would
/// only waste the holder's time.
pub(crate) fn on_grid(p: &str, grid: Option<&Grid>) -> Result<Predicate, CliError> {
    let parsed: Predicate = p.parse().map_err(|e| CliError(format!("--predicate {p}: {e}")))?;
    if let Some(g) = grid.filter(|g| on_score(&parsed) && !g.allows(&parsed)) {
        let nearest: Vec<String> = g.nearest(&parsed).iter().map(ToString::to_string).collect();
        return Err(CliError(format!(
            "--predicate {p}: off the policy's threshold grid, which wallets refuse by default; \
             nearest on the grid: {}",
            if nearest.is_empty() { "none".to_owned() } else { nearest.join(", ") }
        )));
    }
    Ok(parsed)
}

/// Whether a predicate is a range predicate on `score`, the attribute a
/// policy's grid is for.
fn on_score(p: &Predicate) -> bool {
    matches!(p, Predicate::AtLeast { attribute, .. } | Predicate::AtMost { attribute, .. }
        | Predicate::Between { attribute, .. } if attribute == "score")
}

/// `creditproof sd-jwt ...`.
pub(crate) fn run_sd_jwt(cmd: SdJwtCmd) -> Result<ExitCode, CliError> {
    let limits = Limits::default();
    match cmd {
        SdJwtCmd::Verify { key, typ, sd_jwt, nonce, aud, now } => {
            sd_jwt_verify(&key, &typ, &sd_jwt, nonce.zip(aud), time(now), &limits)
        }
    }
}

/// `sd-jwt verify`: the key from a JWK or metadata file, then the generic
/// verifier; prints the processed claims or the failed check.
fn sd_jwt_verify(
    key: &Path,
    typ: &str,
    input: &Path,
    binding: Option<(String, String)>,
    now: UnixTime,
    limits: &Limits,
) -> Result<ExitCode, CliError> {
    let key_bytes = read_bounded(key, MAX_FILE)?;
    let doc: Value = serde_json::from_slice(&key_bytes).map_err(|_| CliError::from((key, "is not valid json")))?;
    let (keys, issuer) = if doc.get("jwks").is_some() {
        let metadata = IssuerMetadata::from_value(&doc).map_err(lib_err(key))?;
        (metadata.keys().to_vec(), Some(metadata.issuer().to_owned()))
    } else {
        let kid = doc.get("kid").and_then(Value::as_str).map(str::to_owned);
        (vec![(kid, IssuerPublicKey::from_jwk(&doc).map_err(lib_err(key))?)], None)
    };
    let Some((_, first)) = keys.first() else {
        return Err((key, "holds no key").into());
    };
    // An unnamed lone key matches any header kid; named keys must be named.
    let mut verifier = SdJwtVerifier::new(*first, typ);
    for (kid, k) in &keys {
        if let Some(kid) = kid {
            verifier = verifier.with_key(kid.clone(), *k);
        } else if keys.len() > 1 {
            verifier = verifier.with_key(k.thumbprint(), *k);
        }
    }
    if let Some(issuer) = issuer {
        verifier = verifier.with_issuer(issuer);
    }
    if let Some((nonce, aud)) = binding {
        verifier = verifier.with_key_binding(KeyBinding::required(nonce, aud));
    }
    verifier = verifier.with_options(VerifierOptions::default().with_limits(*limits));
    let text = read_text(input, limits.max_presentation_bytes() as u64)?;
    let outcome = verifier.verify(text.trim(), now);
    let verdict = match &outcome {
        Ok(v) => serde_json::json!({"accepted": true, "claims": v.claims()}),
        Err(e) => serde_json::json!({"accepted": false, "error": {"check": e.check(), "message": e.to_string()}}),
    };
    println!("{}", serde_json::to_string_pretty(&verdict).unwrap_or_default());
    Ok(if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
