//! `creditproof`: issue, hold, present and verify privacy-preserving credit
//! credentials from the command line. Run `creditproof demo` for the story.

mod demo;
mod files;
mod state;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use creditproof::{
    batch_to_json, parse_batch, verdict_json, Claims, HolderPublicKey, Limits, Predicate,
    PresentOptions, PresentationRequest, SystemRng, TrustStore, UnixTime, Verifier,
};
use serde_json::{json, Value};

use files::{read_bounded, read_text, write_file, Access, CliError, MAX_FILE};

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
    /// Create an issuer directory with a fresh Ed25519 key.
    Init {
        /// Issuer identifier, an absolute URI (e.g. https://bureau.example).
        #[arg(long)]
        iss: String,
        /// Issuer directory (created owner-only).
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        force: Force,
    },
    /// Write JWT VC Issuer Metadata (issuer + jwks) for verifiers.
    Public {
        /// Issuer directory.
        #[arg(long)]
        dir: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
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
        /// Claims as a JSON object, e.g. {"tier":"A","no_deposit_rental":true}.
        #[arg(long)]
        claims: PathBuf,
        /// Output batch file (holder secret; owner-only).
        #[arg(long)]
        out: PathBuf,
        /// Issuance time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        force: Force,
        #[command(flatten)]
        insecure: Insecure,
    },
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
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        count: u16,
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

fn lib_err(path: &Path) -> impl Fn(creditproof::Error) -> CliError + '_ {
    move |e| CliError::from((path, e))
}

fn run(cmd: Command) -> Result<ExitCode, CliError> {
    let mut rng = SystemRng::new();
    let limits = Limits::default();
    match cmd {
        Command::Demo => demo::run().map(|()| ExitCode::SUCCESS),
        Command::Issuer(IssuerCmd::Init { iss, dir, force }) => {
            state::init_issuer(&dir, &iss, force.force, &mut rng)?;
            println!("issuer {iss} created in {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Public { dir, out, insecure }) => {
            let issuer = state::load_issuer(&dir, insecure.allow_insecure_permissions)?;
            let text = serde_json::to_string_pretty(&issuer.metadata()).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Issuer(IssuerCmd::Issue {
            dir,
            keys,
            claims,
            out,
            now,
            force,
            insecure,
        }) => {
            let issuer = state::load_issuer(&dir, insecure.allow_insecure_permissions)?;
            let holder_keys = read_holder_keys(&keys, &limits)?;
            let claims_bytes = read_bounded(&claims, MAX_FILE)?;
            let claims_v = Claims::from_json(&claims_bytes, &limits).map_err(lib_err(&claims))?;
            let now = time(now);
            let batch = holder_keys
                .iter()
                .map(|k| issuer.issue(k, &claims_v, now, &mut rng))
                .collect::<Result<Vec<_>, _>>()
                .map_err(lib_err(&keys))?;
            write_file(
                &out,
                batch_to_json(issuer.id(), &batch).as_bytes(),
                Access::Secret,
                force.force,
            )?;
            println!("issued {} credential(s) to {}", batch.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Init { wallet, force }) => {
            state::init_wallet(&wallet, force.force)?;
            println!("wallet created in {}", wallet.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Keys {
            wallet,
            count,
            out,
            insecure,
        }) => {
            let mut w = state::load_wallet(&wallet, insecure.allow_insecure_permissions)?;
            let keys: Vec<Value> = (0..count)
                .map(|_| w.generate_key(&mut rng).to_jwk())
                .collect();
            // Keys first: a crash after this leaves unused keys, never a
            // published key whose secret was lost.
            state::save_wallet(&wallet, &w)?;
            let text = json!({"type": "creditproof-holder-keys/1", "keys": keys});
            write_file(&out, text.to_string().as_bytes(), Access::Public, true)?;
            println!("{count} key(s) written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Store {
            wallet,
            batch,
            insecure,
        }) => {
            let mut w = state::load_wallet(&wallet, insecure.allow_insecure_permissions)?;
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
        Command::Holder(HolderCmd::Present {
            wallet,
            request,
            out,
            dry_run,
            allow_reuse,
            now,
            insecure,
        }) => {
            let mut w = state::load_wallet(&wallet, insecure.allow_insecure_permissions)?;
            let req = read_request(&request, &limits)?;
            let opts = PresentOptions::default().allow_reuse(allow_reuse);
            let now = time(now);
            if dry_run {
                let preview = w.preview(&req, opts, now).map_err(lib_err(&request))?;
                println!("{preview}");
                return Ok(ExitCode::SUCCESS);
            }
            let out = out.ok_or_else(|| CliError("--out is required".into()))?;
            let p = w
                .present(&req, opts, now, &mut rng)
                .map_err(lib_err(&request))?;
            // Spend first, then write: a crash in between loses one
            // presentation, never reuses a credential.
            state::save_wallet(&wallet, &w)?;
            write_file(&out, p.as_str().as_bytes(), Access::Public, true)?;
            if p.is_linkable() {
                eprintln!("warning: this credential was presented before; the two presentations are linkable");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Holder(HolderCmd::Status {
            wallet,
            now,
            insecure,
        }) => {
            let w = state::load_wallet(&wallet, insecure.allow_insecure_permissions)?;
            let inv = w.inventory(time(now));
            if inv.is_empty() {
                println!("no credentials");
            }
            for i in inv {
                println!(
                    "{}: {} unused, {} spent, {} expired",
                    i.issuer, i.unspent, i.spent, i.expired
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifier(VerifierCmd::Request {
            aud,
            disclose,
            predicate,
            out,
        }) => {
            let mut b = PresentationRequest::builder(aud);
            for d in disclose {
                b = b.disclose(d);
            }
            for p in predicate {
                let parsed: Predicate = p
                    .parse()
                    .map_err(|e| CliError(format!("--predicate {p}: {e}")))?;
                b = b.predicate(parsed);
            }
            let req = b.build(&mut rng).map_err(|e| CliError(e.to_string()))?;
            let text = serde_json::to_string_pretty(&req.to_json()).unwrap_or_default();
            write_file(&out, text.as_bytes(), Access::Public, true)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifier(VerifierCmd::Verify {
            trust,
            request,
            presentation,
            now,
        }) => {
            let mut store = TrustStore::new();
            for t in &trust {
                let bytes = read_bounded(t, MAX_FILE)?;
                store.add_metadata(&bytes, &limits).map_err(lib_err(t))?;
            }
            let req = read_request(&request, &limits)?;
            let pres = read_text(&presentation, MAX_FILE)?;
            let outcome = Verifier::new(store).verify(&req, &pres, time(now));
            println!(
                "{}",
                serde_json::to_string_pretty(&verdict_json(&outcome)).unwrap_or_default()
            );
            Ok(if outcome.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn read_request(path: &Path, limits: &Limits) -> Result<PresentationRequest, CliError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    PresentationRequest::from_json(&bytes, limits).map_err(lib_err(path))
}

fn read_holder_keys(path: &Path, limits: &Limits) -> Result<Vec<HolderPublicKey>, CliError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::from((path, format!("not valid json: {e}"))))?;
    let _ = limits;
    if v.get("type").and_then(Value::as_str) != Some("creditproof-holder-keys/1") {
        return Err((
            path,
            "not a holder keys file (from `creditproof holder keys`)",
        )
            .into());
    }
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| CliError::from((path, "no `keys` array")))?;
    if keys.is_empty() || keys.len() > 256 {
        return Err((path, "must hold 1 to 256 keys").into());
    }
    keys.iter()
        .map(|k| HolderPublicKey::from_jwk(k).map_err(lib_err(path)))
        .collect()
}
