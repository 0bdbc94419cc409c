//! `creditproof issuer ...`: scoring, keys, issuing, and (through
//! `registry_cmd`) revocation, corrections and history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::files::{read_bounded, write_file, Access, CliError, MAX_FILE};
use crate::{
    id_value, lib_err, parse_alg, read_policy, time, Force, Insecure, RegistryArg, POLICY_HELP, RECORDS_HELP,
    RECORDS_LONG_HELP,
};

use creditproof::policy::{Date, Policy, Records, ScoreReport};
use creditproof::registry::Status;
use creditproof::{Algorithm, Claims, KeyRequest, Limits, NoncePolicy, SystemRng, UnixTime};

use crate::deliver::{self, Issued};
use crate::{registry_cmd, state};

#[derive(Subcommand)]
pub(crate) enum IssuerCmd {
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
        /// Issuer identifier: an https URL (e.g. https://bureau.example; http
        /// only to a loopback host, for tests), the public URL of `serve issuer`.
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        iss: String,
        /// Key algorithm: ed25519 (EdDSA, default) or es256 (P-256).
        #[arg(long, default_value = "ed25519", value_parser = parse_alg)]
        alg: Algorithm,
        /// Issuer directory (created owner-only).
        #[arg(long)]
        dir: PathBuf,
        /// Base URI of the status lists (default: <ISS>/status).
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        status_base: Option<String>,
        /// Keep the registry (and the OpenID4VCI state) in this PostgreSQL
        /// database (postgres://USER@HOST:PORT/DB) instead of SQLite files
        /// in the directory; recorded in the directory (registry.url), so
        /// later commands and `serve issuer` use it. Several issuer nodes
        /// (directories holding the same issuer key) may share it.
        #[arg(long, value_name = "URL")]
        registry: Option<String>,
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
        /// The retired key's kid (its RFC 7638 thumbprint, base64url: it may
        /// begin with `-`, as in `--kid -Xy…`).
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
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
        /// Seconds the tokens stay valid (`exp` = now + this).
        #[arg(long, default_value_t = 86_400)]
        validity_secs: u64,
        /// Seconds verifiers may rely on a token before fetching a fresh one
        /// (`ttl`); a revocation reaches verifiers within this time.
        #[arg(long, default_value_t = 3_600)]
        ttl_secs: u64,
        /// Signing time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        registry: RegistryArg,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Correct a disputed score: re-score, revoke the old batches, issue anew.
    ///
    /// As with `issue`, a failure records nothing, and after a crash
    /// re-running the same command finishes the delivery.
    Correct {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// The holder's dispute (from `holder dispute`).
        #[arg(long)]
        dispute: PathBuf,
        /// The corrected records, in full, in the format of `issue --records`.
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
        registry: RegistryArg,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Show the history of issuance and status changes.
    History {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Only this holder's subject (a holder key thumbprint, which may
        /// begin with `-`).
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        holder: Option<String>,
        #[command(flatten)]
        registry: RegistryArg,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Make a credential offer (OpenID4VCI, pre-authorized code) and print
    /// its `openid-credential-offer://` link, then the transaction code
    /// on its own line when --tx-code is given. The issuer service serves
    /// the offer (it may run at the same time, or start later).
    Offer(crate::offer_cmd::OfferArgs),
    /// List disputes filed over the network: every entry, its deadline and
    /// state (open, OVERDUE: it no longer counts, upheld, rejected).
    Disputes(crate::dispute_cmd::ListArgs),
    /// Answer one disputed entry: --uphold re-scores with corrected
    /// --records, revokes the holder's credentials and makes a new offer;
    /// --reject --reason gives the holder a signed reason.
    Resolve(crate::dispute_cmd::ResolveArgs),
    /// Print a fresh nonce for holders' proofs of possession (valid 1 hour).
    Nonce {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Issue one credential per holder key.
    ///
    /// The batch is signed and written beside --out (a staged
    /// `.NAME.BATCHID.staged` copy) before the registry records it, so a
    /// failure records nothing and burns no key. If a run is killed or fails
    /// after that, re-run the same command: it finishes the delivery, or
    /// voids the lost batch and issues the same keys afresh.
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
        /// Scoring policy: a JSON file, or the id of a shipped policy
        /// (civic-1300, sesame-style, suining-2013); with --records, instead
        /// of --claims.
        #[arg(long, requires = "records")]
        policy: Option<PathBuf>,
        #[arg(long, requires = "policy", help = RECORDS_HELP, long_help = RECORDS_LONG_HELP)]
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
        #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
        subject: Option<String>,
        #[command(flatten)]
        force: Force,
        #[command(flatten)]
        registry: RegistryArg,
        #[command(flatten)]
        insecure: Insecure,
    },
}

#[derive(Args)]
pub(crate) struct ScoreArgs {
    #[arg(long, help = POLICY_HELP)]
    pub(crate) policy: PathBuf,
    #[arg(long, help = RECORDS_HELP, long_help = RECORDS_LONG_HELP)]
    pub(crate) records: PathBuf,
    /// Scoring date YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub(crate) as_of: Option<String>,
}

pub(crate) fn run(cmd: IssuerCmd) -> Result<ExitCode, CliError> {
    let mut rng = SystemRng::new();
    let limits = Limits::default();
    match cmd {
        IssuerCmd::Init { iss, alg, dir, status_base, registry, force } => {
            state::init_issuer(&dir, &iss, status_base.as_deref(), force.force, alg, registry.as_deref(), &mut rng)?;
            println!("issuer {iss} created in {} ({alg} key)", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        IssuerCmd::RotateKey { dir, alg, now, insecure } => {
            let (new, old) = state::rotate_key(&dir, alg, time(now), insecure.allow_insecure_permissions, &mut rng)?;
            println!("signing with {new} ({alg}); {old} retired, published until its credentials expire");
            Ok(ExitCode::SUCCESS)
        }
        IssuerCmd::RemoveKey { dir, kid, insecure } => {
            state::remove_key(&dir, &kid, insecure.allow_insecure_permissions)?;
            println!("{kid} no longer published");
            Ok(ExitCode::SUCCESS)
        }
        IssuerCmd::Public { dir, out, now, insecure } => {
            let issuer = state::load_issuer_at(&dir, insecure.allow_insecure_permissions, time(now))?;
            let metadata = issuer.metadata();
            let text = serde_json::to_string_pretty(&metadata).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            let keys = metadata.pointer("/jwks/keys").and_then(Value::as_array).map_or(0, Vec::len);
            println!("issuer metadata of {} ({keys} key(s)) written to {}", issuer.id(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        IssuerCmd::Revoke(c) => registry_cmd::set_status(&c, Status::Revoked).map(|()| ExitCode::SUCCESS),
        IssuerCmd::Suspend(c) => registry_cmd::set_status(&c, Status::Suspended).map(|()| ExitCode::SUCCESS),
        IssuerCmd::Reinstate(c) => registry_cmd::set_status(&c, Status::Valid).map(|()| ExitCode::SUCCESS),
        IssuerCmd::StatusList { dir, out_dir, validity_secs, ttl_secs, now, registry, insecure } => {
            registry_cmd::publish(
                &dir,
                registry.registry.as_deref(),
                &out_dir,
                validity_secs,
                ttl_secs,
                time(now),
                insecure.allow_insecure_permissions,
            )
            .map(|()| ExitCode::SUCCESS)
        }
        IssuerCmd::Correct { dir, dispute, records, keys, out, as_of, force, registry, insecure } => {
            let c = registry_cmd::Correct {
                dir: &dir,
                registry: registry.registry.as_deref(),
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
        IssuerCmd::History { dir, holder, registry, insecure } => registry_cmd::history(
            &dir,
            registry.registry.as_deref(),
            holder.as_deref(),
            insecure.allow_insecure_permissions,
        )
        .map(|()| ExitCode::SUCCESS),
        IssuerCmd::Offer(args) => crate::offer_cmd::run(&args),
        IssuerCmd::Disputes(args) => crate::dispute_cmd::list(&args),
        IssuerCmd::Resolve(args) => crate::dispute_cmd::resolve(&args),
        IssuerCmd::Nonce { dir, insecure } => {
            let issuer = state::load_issuer(&dir, insecure.allow_insecure_permissions)?;
            println!("{}", issuer.nonce(UnixTime::now(), &mut rng));
            Ok(ExitCode::SUCCESS)
        }
        IssuerCmd::Score { args, json } => {
            let (_, _, report) = score(&args)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", report.render_table());
            }
            Ok(ExitCode::SUCCESS)
        }
        IssuerCmd::Issue {
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
            registry,
            insecure,
        } => {
            let out_file = deliver::Out::new(&out)?;
            let issuer = state::load_issuer(&dir, insecure.allow_insecure_permissions)?;
            let now = time(now);
            let nonce_policy = if require_nonce { NoncePolicy::Required } else { NoncePolicy::IfPresent };
            let key_request =
                KeyRequest::from_json(&read_bounded(&keys, MAX_FILE)?, &issuer, nonce_policy, now, &limits)
                    .map_err(lib_err(&keys))?;
            let holder_keys = key_request.keys();
            let (claims_v, report, policy_name) = match (claims, policy, records) {
                (Some(claims), _, _) => {
                    let claims_bytes = read_bounded(&claims, MAX_FILE)?;
                    refuse_other_role(&claims, &claims_bytes, "a claims file")?;
                    (Claims::from_json(&claims_bytes, &limits).map_err(lib_err(&claims))?, None, None)
                }
                (None, Some(policy), Some(records)) => {
                    let args = ScoreArgs { policy: policy.clone(), records, as_of };
                    let (p, _, report) = score(&args)?;
                    state::keep_policy(&dir, &p)?;
                    let name = format!("{}/{}", p.id(), p.version());
                    (Claims::from_score(&p, &report).map_err(lib_err(&policy))?, Some(report), Some(name))
                }
                _ => return Err(CliError("give --claims, or --policy with --records".into())),
            };
            let subject = subject.unwrap_or_else(|| format!("holder:{}", holder_keys[0].thumbprint()));
            let mut reg =
                state::open_registry(&dir, registry.registry.as_deref(), insecure.allow_insecure_permissions)?;
            let job = deliver::IssueJob {
                dir: &dir,
                issuer: &issuer,
                request: &key_request,
                claims: &claims_v,
                report: report.as_ref(),
                subject: &subject,
                policy: policy_name.as_deref(),
                correcting: false,
                reason: "issued",
                now,
                out: &out_file,
                force: force.force,
            };
            match deliver::issue(&job, &mut reg, &mut rng)? {
                Issued::Fresh(n) => println!("issued {n} credential(s) to {}", out.display()),
                Issued::Finished(n) => println!(
                    "issued {n} credential(s) to {} (finished the delivery of an interrupted run)",
                    out.display()
                ),
                Issued::Done(n) => {
                    println!("issued {n} credential(s) to {} (already delivered by an earlier run)", out.display())
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What scoring reads from `--policy`, `--records` and `--as-of`.
pub(crate) struct ScoreInput {
    pub policy: Policy,
    /// The bytes the policy was read from.
    pub policy_bytes: Vec<u8>,
    pub records: Records,
    pub as_of: Date,
}

/// Reads `--policy`, `--records` and `--as-of` (default: the day of `now`).
pub(crate) fn read_score_input(args: &ScoreArgs, now: UnixTime) -> Result<ScoreInput, CliError> {
    let limits = Limits::default();
    let (policy, policy_bytes) = read_policy(&args.policy, &limits)?;
    let rbytes = read_bounded(&args.records, MAX_FILE)?;
    let records = Records::from_json_slice(&rbytes, limits.max_records_bytes(), limits.max_records())
        .map_err(|e| CliError::from((args.records.as_path(), e)))?;
    let as_of = match &args.as_of {
        Some(d) => Date::parse(d).map_err(|e| CliError(format!("--as-of: {e}")))?,
        None => Date::from_unix(now).ok_or_else(|| CliError("the system clock is out of range".into()))?,
    };
    Ok(ScoreInput { policy, policy_bytes, records, as_of })
}

/// Scores `--records` under `--policy` as of `--as-of` (default today);
/// returns the policy, the bytes it was read from, and the report.
pub(crate) fn score(args: &ScoreArgs) -> Result<(Policy, Vec<u8>, ScoreReport), CliError> {
    let i = read_score_input(args, UnixTime::now())?;
    let report = creditproof::policy::score(&i.policy, i.records.as_slice(), i.as_of)
        .map_err(|e| CliError::from((args.records.as_path(), e)))?;
    Ok((i.policy, i.policy_bytes, report))
}

/// Refuses a creditproof file of another role (a wallet, a batch, keys...)
/// where free-form JSON is expected, so that no such file — least of all a
/// wallet with its secret keys — is ever taken for claims or records.
pub(crate) fn refuse_other_role(path: &Path, bytes: &[u8], expected: &str) -> Result<(), CliError> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        if let Some(t) = v.get("type").and_then(Value::as_str).filter(|t| t.starts_with("creditproof-")) {
            return Err((path, format!("is a {t} file, not {expected}")).into());
        }
    }
    Ok(())
}
