//! `creditproof holder ...`: the wallet, key requests, presentations,
//! breakdowns and disputes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use crate::files::{read_bounded, write_file, Access, CliError, MAX_FILE};
use crate::{id_value, lib_err, parse_alg, read_request, time, Force, Insecure};

use creditproof::policy::{Dispute, ScoreReport};
use creditproof::{
    parse_batch, read_breakdown_unverified, verify_breakdown, Algorithm, Limits, PresentOptions, SystemRng, TrustStore,
};

use crate::{registry_cmd, state};

#[derive(Subcommand)]
pub(crate) enum HolderCmd {
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
        #[arg(long, requires = "nonce", allow_hyphen_values = true, value_parser = id_value)]
        issuer: Option<String>,
        /// The issuer's nonce (from `issuer nonce`), signed by every key.
        #[arg(long, requires = "issuer", allow_hyphen_values = true, value_parser = id_value)]
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
    /// Receive a batch from an issuer over OpenID4VCI (an offer link from
    /// `issuer offer`): every credential is verified against the issuer's
    /// published keys before it is stored, with its range secrets.
    Receive(crate::receive_cmd::Receive),
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
        /// Answer range thresholds off the credential's threshold grid (a
        /// verifier that asks again can then narrow the score below a cell).
        #[arg(long)]
        allow_off_grid: bool,
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
        #[arg(long, required = true, allow_hyphen_values = true, value_parser = id_value)]
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

pub(crate) fn run(cmd: HolderCmd) -> Result<ExitCode, CliError> {
    let mut rng = SystemRng::new();
    let limits = Limits::default();
    match cmd {
        HolderCmd::Receive(r) => crate::receive_cmd::run(&r),
        HolderCmd::Init { wallet, force } => {
            state::init_wallet(&wallet, force.force)?;
            println!("wallet created in {}", wallet.display());
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::Keys { wallet, count, alg, issuer, nonce, now, out, insecure } => {
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
        HolderCmd::Store { wallet, batch, insecure } => {
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
        HolderCmd::Present { wallet, request, out, dry_run, allow_reuse, allow_off_grid, now, insecure } => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let req = read_request(&request, &limits)?;
            let opts = PresentOptions::default().allow_reuse(allow_reuse).allow_off_grid(allow_off_grid);
            let now = time(now);
            let refused = |e: creditproof::Error| {
                let hint = if e.check() == "holder.off_grid" { " (--allow-off-grid answers anyway)" } else { "" };
                CliError(format!("{}: {e}{hint}", request.display()))
            };
            if dry_run {
                let preview = w.preview(&req, opts, now).map_err(refused)?;
                println!("{preview}");
                return Ok(ExitCode::SUCCESS);
            }
            let out = out.ok_or_else(|| CliError("--out is required".into()))?;
            let p = w.present(&req, opts, now, &mut rng).map_err(refused)?;
            // Spend first, then write: a crash in between loses one
            // presentation, never reuses a credential.
            state::save_wallet(&wallet, &w)?;
            write_file(&out, p.as_str().as_bytes(), Access::Public, true)?;
            println!("presentation for {} written to {}", req.audience(), out.display());
            if p.is_linkable() {
                eprintln!("warning: this credential was presented before; the two presentations are linkable");
            }
            if p.is_off_grid() {
                eprintln!(
                    "warning: answered a threshold off the grid; a verifier that asks again can narrow the score \
                     below one cell"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::Dispute { batch, entry, out } => {
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
            println!(
                "dispute of {} record(s) scored under {}/{} written to {}",
                pairs.len(),
                report.policy_id,
                report.policy_version,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::Breakdown { batch, trust } => {
            let (_, report) = read_batch_breakdown(&batch, Some(&trust))?;
            print!("{}", report.render_table());
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::Status { wallet, now, insecure } => {
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
    }
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
