//! `creditproof`: issue, hold, present and verify privacy-preserving credit
//! credentials from the command line. Run `creditproof demo` for the story.

mod demo;
mod files;
mod registry_cmd;
mod state;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use creditproof::policy::{Date, Dispute, Policy, Records, ScoreReport};
use creditproof::registry::Status;
use creditproof::sd_jwt::{KeyBinding, SdJwtVerifier};
use creditproof::{
    batch_to_json, parse_batch, read_breakdown_unverified, verdict_json, verify_breakdown, Algorithm, Claims,
    IssuerMetadata, IssuerPublicKey, KeyRequest, Limits, NoncePolicy, Predicate, PresentOptions, PresentationRequest,
    SystemRng, TrustStore, UnixTime, Verifier, VerifierOptions,
};
use serde_json::Value;

use files::{read_bounded, read_text, write_file, Access, CliError, MAX_FILE};

/// Largest status list token accepted (the decoder bounds its contents).
const MAX_STATUS_LIST: u64 = 2 * 1024 * 1024;

#[derive(Parser)]
#[command(
    name = "creditproof",
    version,
    about = "Privacy-preserving credit attestation: prove one fact, reveal nothing else"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole story on built-in defaults (no files needed).
    Demo,
    /// Scoring authority: keys, credentials.
    #[command(subcommand)]
    Issuer(IssuerCmd),
    /// Holder: a wallet of keys and credentials.
    #[command(subcommand)]
    Holder(HolderCmd),
    /// Verifier: requests and verdicts.
    #[command(subcommand)]
    Verifier(VerifierCmd),
    /// Any issuer's RFC 9901 SD-JWT, outside the score-credential profile.
    #[command(subcommand, name = "sd-jwt")]
    SdJwt(SdJwtCmd),
}

#[derive(Subcommand)]
enum SdJwtCmd {
    /// Verify an SD-JWT or SD-JWT+KB; prints the processed claims (RFC 9901
    /// §7.1) as JSON. Exit 0 accepted, 1 rejected.
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
        #[arg(long, requires = "aud")]
        nonce: Option<String>,
        /// Require a key binding JWT for this audience (needs --nonce).
        #[arg(long, requires = "nonce")]
        aud: Option<String>,
        /// Verification time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
    },
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    s.parse().map_err(|e: creditproof::Error| e.to_string())
}

#[derive(Args)]
struct Force {
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct Insecure {
    /// Open secret files even if others can read them.
    #[arg(long)]
    allow_insecure_permissions: bool,
}

#[derive(Subcommand)]
enum IssuerCmd {
    /// Score records under a policy and print the itemized breakdown.
    Score {
        #[command(flatten)]
        args: ScoreArgs,
        /// Print the structured JSON report instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create an issuer directory with a fresh signing key.
    Init {
        /// Issuer identifier, an absolute URI (e.g. https://bureau.example).
        #[arg(long)]
        iss: String,
        /// Key algorithm: ed25519 (EdDSA, default) or es256 (P-256).
        #[arg(long, default_value = "ed25519", value_parser = parse_alg)]
        alg: Algorithm,
        /// Issuer directory (created owner-only).
        #[arg(long)]
        dir: PathBuf,
        /// Base URI of the status lists (default: <ISS>/status).
        #[arg(long)]
        status_base: Option<String>,
        #[command(flatten)]
        force: Force,
    },
    /// Write JWT VC Issuer Metadata (issuer + jwks: the signing key and every
    /// retired key whose credentials may still be valid) for verifiers.
    Public {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Sign with a fresh key from now on. The old key is retired: it stays
    /// published until every credential it signed has expired.
    RotateKey {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Algorithm of the new key: ed25519 (default) or es256.
        #[arg(long, default_value = "ed25519", value_parser = parse_alg)]
        alg: Algorithm,
        /// Time of the rotation in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Stop publishing a retired key at once (e.g. after a compromise).
    RemoveKey {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// The retired key's kid (its RFC 7638 thumbprint).
        #[arg(long)]
        kid: String,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Revoke credentials (permanent).
    Revoke(registry_cmd::StatusChange),
    /// Suspend credentials (reversible with `reinstate`).
    Suspend(registry_cmd::StatusChange),
    /// Reinstate suspended credentials.
    Reinstate(registry_cmd::StatusChange),
    /// Write one signed status list token per list.
    StatusList {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Output directory for the tokens.
        #[arg(long)]
        out_dir: PathBuf,
        /// Seconds the tokens stay valid.
        #[arg(long, default_value_t = 86_400)]
        validity_secs: u64,
        /// Seconds verifiers may cache them (ttl).
        #[arg(long, default_value_t = 3_600)]
        ttl_secs: u64,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Correct a disputed score: re-score, revoke the old batches, issue anew.
    Correct {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// The holder's dispute (from `holder dispute`).
        #[arg(long)]
        dispute: PathBuf,
        /// The corrected records, in full.
        #[arg(long)]
        records: PathBuf,
        /// Fresh holder keys for the new batch.
        #[arg(long)]
        keys: PathBuf,
        /// Output batch file.
        #[arg(long)]
        out: PathBuf,
        /// Scoring date YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        force: Force,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Show the history of issuance and status changes.
    History {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Only this holder's subject.
        #[arg(long)]
        holder: Option<String>,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Print a fresh nonce for holders' proofs of possession (valid 1 hour).
    Nonce {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Issue one credential per holder key.
    Issue {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Holder public keys (from `holder keys`).
        #[arg(long)]
        keys: PathBuf,
        /// Claims as a JSON object, e.g. {"tier":"A","perks":{"no_deposit_rental":true}}.
        #[arg(long, required_unless_present = "policy", conflicts_with_all = ["policy", "records"])]
        claims: Option<PathBuf>,
        /// Scoring policy (JSON); with --records, instead of --claims.
        #[arg(long, requires = "records")]
        policy: Option<PathBuf>,
        /// The holder's own records (JSON array).
        #[arg(long, requires = "policy")]
        records: Option<PathBuf>,
        /// Scoring date YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
        /// Output batch file (holder secret; owner-only).
        #[arg(long)]
        out: PathBuf,
        /// Issuance time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        /// Refuse keys whose proofs do not carry a fresh nonce of this issuer.
        #[arg(long)]
        require_nonce: bool,
        /// The issuer's own id for this person (never put in credentials);
        /// corrections revoke every batch of a subject. Default: one subject
        /// per batch.
        #[arg(long)]
        subject: Option<String>,
        #[command(flatten)]
        force: Force,
        #[command(flatten)]
        insecure: Insecure,
    },
}

#[derive(Args)]
struct ScoreArgs {
    /// Scoring policy (JSON).
    #[arg(long)]
    policy: PathBuf,
    /// The holder's own records (JSON array).
    #[arg(long)]
    records: PathBuf,
    /// Scoring date YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    as_of: Option<String>,
}

#[derive(Subcommand)]
enum HolderCmd {
    /// Create an empty wallet directory.
    Init {
        /// Wallet directory (created owner-only).
        #[arg(long)]
        wallet: PathBuf,
        #[command(flatten)]
        force: Force,
    },
    /// Generate fresh holder keys and write their public halves.
    Keys {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// How many keys (one per credential).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
        count: u16,
        /// Key algorithm: ed25519 (EdDSA, default) or es256 (P-256).
        #[arg(long, default_value = "ed25519", value_parser = parse_alg)]
        alg: Algorithm,
        /// The issuer's identifier, named as audience of the proofs.
        #[arg(long, requires = "nonce")]
        issuer: Option<String>,
        /// The issuer's nonce (from `issuer nonce`), signed by every key.
        #[arg(long, requires = "issuer")]
        nonce: Option<String>,
        /// Time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        /// Output file with the public keys.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Store a batch of issued credentials.
    Store {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// Batch file from `issuer issue`.
        #[arg(long)]
        batch: PathBuf,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Answer a verifier's request with an unused credential.
    Present {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// The verifier's request.
        #[arg(long)]
        request: PathBuf,
        /// Output presentation file.
        #[arg(long, required_unless_present = "dry_run")]
        out: Option<PathBuf>,
        /// Only print what the presentation would reveal.
        #[arg(long)]
        dry_run: bool,
        /// Reuse an already presented credential if needed (linkable!).
        #[arg(long)]
        allow_reuse: bool,
        /// Presentation time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Dispute entries of the signed score breakdown in a batch.
    Dispute {
        /// Batch file from `issuer issue --policy` (holds the breakdown).
        #[arg(long)]
        batch: PathBuf,
        /// An entry to dispute, as REFERENCE=REASON (repeatable).
        #[arg(long, required = true)]
        entry: Vec<String>,
        /// Output dispute file for the issuer.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the signed score breakdown in a batch.
    Breakdown {
        /// Batch file from `issuer issue --policy`.
        #[arg(long)]
        batch: PathBuf,
        /// Issuer metadata to check the breakdown's signature with.
        #[arg(long)]
        trust: PathBuf,
    },
    /// Show how many unused credentials are left, per issuer.
    Status {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// Time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        insecure: Insecure,
    },
}

#[derive(Subcommand)]
enum VerifierCmd {
    /// Create a request with a fresh nonce.
    Request {
        /// This verifier's identifier (the audience the holder binds to).
        #[arg(long)]
        aud: String,
        /// A claim the holder must disclose (repeatable).
        #[arg(long)]
        disclose: Vec<String>,
        /// A predicate to prove, e.g. `perk:no_deposit_rental` (repeatable).
        #[arg(long)]
        predicate: Vec<String>,
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
        /// Status list tokens fetched from the issuer (repeatable).
        #[arg(long)]
        status_list: Vec<PathBuf>,
        /// Verification time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("creditproof: {}", msg.lines().next().unwrap_or_default());
            ExitCode::from(2)
        }
    }
}

fn time(now: Option<u64>) -> UnixTime {
    now.map_or_else(UnixTime::now, UnixTime)
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

fn lib_err(path: &Path) -> impl Fn(creditproof::Error) -> CliError + '_ {
    move |e| CliError::from((path, e))
}

fn run(cmd: Command) -> Result<ExitCode, CliError> {
    let mut rng = SystemRng::new();
    let limits = Limits::default();
    match cmd {
        Command::Demo => demo::run().map(|()| ExitCode::SUCCESS),
        Command::Issuer(IssuerCmd::Init { iss, alg, dir, status_base, force }) => {
            state::init_issuer(&dir, &iss, status_base.as_deref(), force.force, alg, &mut rng)?;
            println!("issuer {iss} created in {} ({alg} key)", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::RotateKey { dir, alg, now, insecure }) => {
            let (new, old) = state::rotate_key(&dir, alg, time(now), insecure.allow_insecure_permissions, &mut rng)?;
            println!("signing with {new} ({alg}); {old} retired, published until its credentials expire");
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::RemoveKey { dir, kid, insecure }) => {
            state::remove_key(&dir, &kid, insecure.allow_insecure_permissions)?;
            println!("{kid} no longer published");
            Ok(ExitCode::SUCCESS)
        }
        Command::SdJwt(SdJwtCmd::Verify { key, typ, sd_jwt, nonce, aud, now }) => {
            sd_jwt_verify(&key, &typ, &sd_jwt, nonce.zip(aud), time(now), &limits)
        }
        Command::Issuer(IssuerCmd::Public { dir, out, now, insecure }) => {
            let issuer = state::load_issuer_at(&dir, insecure.allow_insecure_permissions, time(now))?;
            let text = serde_json::to_string_pretty(&issuer.metadata()).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Revoke(c)) => {
            registry_cmd::set_status(&c, Status::Revoked).map(|()| ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Suspend(c)) => {
            registry_cmd::set_status(&c, Status::Suspended).map(|()| ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Reinstate(c)) => {
            registry_cmd::set_status(&c, Status::Valid).map(|()| ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::StatusList { dir, out_dir, validity_secs, ttl_secs, insecure }) => {
            registry_cmd::publish(&dir, &out_dir, validity_secs, ttl_secs, insecure.allow_insecure_permissions)
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Correct { dir, dispute, records, keys, out, as_of, force, insecure }) => {
            let c = registry_cmd::Correct {
                dir: &dir,
                dispute: &dispute,
                records: &records,
                keys: &keys,
                out: &out,
                as_of: as_of.as_deref(),
                force: force.force,
                insecure: insecure.allow_insecure_permissions,
            };
            registry_cmd::correct(&c, &mut rng).map(|()| ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::History { dir, holder, insecure }) => {
            registry_cmd::history(&dir, holder.as_deref(), insecure.allow_insecure_permissions)
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Nonce { dir, insecure }) => {
            let issuer = state::load_issuer(&dir, insecure.allow_insecure_permissions)?;
            println!("{}", issuer.nonce(UnixTime::now(), &mut rng));
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Score { args, json }) => {
            let (_, report) = score(&args)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", report.render_table());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Issue {
            dir,
            keys,
            claims,
            policy,
            records,
            as_of,
            out,
            now,
            require_nonce,
            subject,
            force,
            insecure,
        }) => {
            let issuer = state::load_issuer(&dir, insecure.allow_insecure_permissions)?;
            let now = time(now);
            let nonce_policy = if require_nonce { NoncePolicy::Required } else { NoncePolicy::IfPresent };
            let key_request =
                KeyRequest::from_json(&read_bounded(&keys, MAX_FILE)?, &issuer, nonce_policy, now, &limits)
                    .map_err(lib_err(&keys))?;
            let holder_keys = key_request.keys();
            if out.exists() && !force.force {
                return Err((out.as_path(), "already exists (use --force to overwrite)").into());
            }
            let (claims_v, report, policy_name) = match (claims, policy, records) {
                (Some(claims), _, _) => {
                    let claims_bytes = read_bounded(&claims, MAX_FILE)?;
                    refuse_other_role(&claims, &claims_bytes, "a claims file")?;
                    (Claims::from_json(&claims_bytes, &limits).map_err(lib_err(&claims))?, None, None)
                }
                (None, Some(policy), Some(records)) => {
                    let args = ScoreArgs { policy: policy.clone(), records, as_of };
                    let (p, report) = score(&args)?;
                    state::keep_policy(&dir, p.id(), p.version(), &read_bounded(&policy, MAX_FILE)?)?;
                    let name = format!("{}/{}", p.id(), p.version());
                    (Claims::from_score(&p, &report).map_err(lib_err(&policy))?, Some(report), Some(name))
                }
                _ => return Err(CliError("give --claims, or --policy with --records".into())),
            };
            let subject = subject.unwrap_or_else(|| format!("holder:{}", holder_keys[0].thumbprint()));
            let mut reg = state::open_registry(&dir, insecure.allow_insecure_permissions)?;
            let batch = registry_cmd::issue_recorded(
                &dir,
                &mut reg,
                &issuer,
                &key_request,
                &claims_v,
                &subject,
                policy_name.as_deref(),
                false,
                now,
                &mut rng,
            )?;
            let breakdown = report.map(|r| issuer.sign_breakdown(&r, &holder_keys[0], now));
            let text = batch_to_json(issuer.id(), &batch, breakdown.as_deref());
            write_file(&out, text.as_bytes(), Access::Secret, true)?;
            println!("issued {} credential(s) to {}", batch.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Init { wallet, force }) => {
            state::init_wallet(&wallet, force.force)?;
            println!("wallet created in {}", wallet.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Keys { wallet, count, alg, issuer, nonce, now, out, insecure }) => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let target = match (&issuer, &nonce) {
                (Some(i), Some(n)) => Some((i.as_str(), n.as_str())),
                (None, None) => None,
                _ => return Err(CliError("--issuer and --nonce go together".into())),
            };
            let request = w
                .request_keys_with(alg, usize::from(count), target, time(now), &mut rng)
                .map_err(|e| CliError(format!("key generation: {e}")))?;
            // Keys first: a crash after this leaves unused keys, never a
            // published key whose secret was lost.
            state::save_wallet(&wallet, &w)?;
            write_file(&out, request.to_json().to_string().as_bytes(), Access::Public, true)?;
            println!("{count} key(s) with proofs of possession written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Store { wallet, batch, insecure }) => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let bytes = read_bounded(&batch, MAX_FILE)?;
            let creds = parse_batch(&bytes, &limits).map_err(lib_err(&batch))?;
            let n = creds.len();
            for c in creds {
                w.store(c).map_err(lib_err(&batch))?;
            }
            state::save_wallet(&wallet, &w)?;
            println!("stored {n} credential(s)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Present { wallet, request, out, dry_run, allow_reuse, now, insecure }) => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let req = read_request(&request, &limits)?;
            let opts = PresentOptions::default().allow_reuse(allow_reuse);
            let now = time(now);
            if dry_run {
                let preview = w.preview(&req, opts, now).map_err(lib_err(&request))?;
                println!("{preview}");
                return Ok(ExitCode::SUCCESS);
            }
            let out = out.ok_or_else(|| CliError("--out is required".into()))?;
            let p = w.present(&req, opts, now, &mut rng).map_err(lib_err(&request))?;
            // Spend first, then write: a crash in between loses one
            // presentation, never reuses a credential.
            state::save_wallet(&wallet, &w)?;
            write_file(&out, p.as_str().as_bytes(), Access::Public, true)?;
            if p.is_linkable() {
                eprintln!("warning: this credential was presented before; the two presentations are linkable");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Dispute { batch, entry, out }) => {
            let (holder, report) = read_batch_breakdown(&batch, None)?;
            let mut pairs = Vec::new();
            for e in &entry {
                let (r, why) =
                    e.split_once('=').ok_or_else(|| CliError(format!("--entry {e}: expected REFERENCE=REASON")))?;
                pairs.push((r, why));
            }
            let dispute = Dispute::new(&report, &pairs).map_err(|e| CliError(format!("--entry: {e}")))?;
            let text = serde_json::to_string_pretty(&registry_cmd::dispute_file(&holder, &dispute)).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            println!("disputed {} entries of {}/{}", pairs.len(), report.policy_id, report.policy_version);
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Breakdown { batch, trust }) => {
            let (_, report) = read_batch_breakdown(&batch, Some(&trust))?;
            print!("{}", report.render_table());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Status { wallet, now, insecure }) => {
            let w = state::load_wallet(&wallet, insecure.allow_insecure_permissions)?;
            let inv = w.inventory(time(now));
            if inv.is_empty() {
                println!("no credentials");
            }
            for i in inv {
                let hint = if i.needs_refill() { "; time to ask for a new batch" } else { "" };
                let policy = i.policy.as_deref().map(|p| format!(" (policy {p})")).unwrap_or_default();
                println!("{}{policy}: {} unused, {} spent, {} expired{hint}", i.issuer, i.unspent, i.spent, i.expired);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifier(VerifierCmd::Request { aud, disclose, predicate, out }) => {
            let mut b = PresentationRequest::builder(aud);
            for d in disclose {
                b = b.disclose(d);
            }
            for p in predicate {
                let parsed: Predicate = p.parse().map_err(|e| CliError(format!("--predicate {p}: {e}")))?;
                b = b.predicate(parsed);
            }
            let req = b.build(&mut rng).map_err(|e| CliError(e.to_string()))?;
            let text = serde_json::to_string_pretty(&req.to_json()).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifier(VerifierCmd::Verify { trust, request, presentation, status_list, now }) => {
            let mut store = TrustStore::new();
            for t in &trust {
                let bytes = read_bounded(t, MAX_FILE)?;
                store.add_metadata(&bytes, &limits).map_err(lib_err(t))?;
            }
            let req = read_request(&request, &limits)?;
            let pres = read_text(&presentation, MAX_FILE)?;
            let mut verifier = Verifier::new(store);
            let mut outcome = Ok(());
            for path in &status_list {
                let token = read_text(path, MAX_STATUS_LIST)?;
                if outcome.is_ok() {
                    outcome = verifier.add_status_list(&token).map(|_| ());
                }
            }
            // A status list that fails its checks rejects the presentation
            // with that check's name; it is never silently skipped.
            let outcome = outcome.and_then(|()| verifier.verify(&req, &pres, time(now)));
            println!("{}", serde_json::to_string_pretty(&verdict_json(&outcome)).unwrap_or_default());
            Ok(if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// Scores `--records` under `--policy` as of `--as-of` (default today).
fn score(args: &ScoreArgs) -> Result<(Policy, ScoreReport), CliError> {
    let limits = Limits::default();
    let pbytes = read_bounded(&args.policy, MAX_FILE)?;
    let policy = Policy::from_json_slice(&pbytes, limits.max_policy_bytes())
        .map_err(|e| CliError::from((args.policy.as_path(), e)))?;
    let rbytes = read_bounded(&args.records, MAX_FILE)?;
    let records = Records::from_json_slice(&rbytes, limits.max_records_bytes(), limits.max_records())
        .map_err(|e| CliError::from((args.records.as_path(), e)))?;
    let as_of = match &args.as_of {
        Some(d) => Date::parse(d).map_err(|e| CliError(format!("--as-of: {e}")))?,
        None => Date::from_unix(UnixTime::now()).ok_or_else(|| CliError("the system clock is out of range".into()))?,
    };
    let report = creditproof::policy::score(&policy, records.as_slice(), as_of)
        .map_err(|e| CliError::from((args.records.as_path(), e)))?;
    Ok((policy, report))
}

/// The breakdown in a batch file, signature-checked when `trust` is given.
fn read_batch_breakdown(batch: &Path, trust: Option<&Path>) -> Result<(String, ScoreReport), CliError> {
    let limits = Limits::default().with_max_string_bytes(1 << 20);
    let bytes = read_bounded(batch, MAX_FILE)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| CliError::from((batch, "is not valid json")))?;
    let token = v
        .get("breakdown")
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::from((batch, "has no signed breakdown (issued with --claims, not --policy)")))?;
    match trust {
        None => read_breakdown_unverified(token, &limits).map_err(lib_err(batch)),
        Some(t) => {
            let mut store = TrustStore::new();
            store.add_metadata(&read_bounded(t, MAX_FILE)?, &limits).map_err(lib_err(t))?;
            verify_breakdown(token, &store, &limits).map(|(_, sub, r)| (sub, r)).map_err(lib_err(batch))
        }
    }
}

/// Refuses a creditproof file of another role (a wallet, a batch, keys...)
/// where free-form JSON is expected, so that no such file — least of all a
/// wallet with its secret keys — is ever taken for claims or records.
fn refuse_other_role(path: &Path, bytes: &[u8], expected: &str) -> Result<(), CliError> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        if let Some(t) = v.get("type").and_then(Value::as_str).filter(|t| t.starts_with("creditproof-")) {
            return Err((path, format!("is a {t} file, not {expected}")).into());
        }
    }
    Ok(())
}

fn read_request(path: &Path, limits: &Limits) -> Result<PresentationRequest, CliError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    PresentationRequest::from_json(&bytes, limits).map_err(lib_err(path))
}
