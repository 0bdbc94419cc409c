//! `creditproof holder ...`: the wallet, key requests, presentations,
//! breakdowns and disputes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::files::{read_bounded, read_text, write_file, Access, CliError, MAX_FILE};
use crate::verifier_cmd::MAX_STATUS_LIST;
use crate::{id_value, lib_err, parse_alg, read_request, time, Force, Insecure};

use creditproof::policy::{Dispute, ScoreReport};
use creditproof::{
    read_breakdown_unverified, verify_breakdown, Algorithm, Batch, CredentialState, HeldCredential, Limits,
    PresentOptions, Removal, StatusLists, SystemRng, TrustStore, UnixTime, VerifierOptions, Wallet,
};

use crate::{registry_cmd, state};

/// Status lists for the wallet to check its credentials against.
#[derive(Args)]
pub(crate) struct StatusArgs {
    /// A status list token of an issuer (repeatable, any order: per list the
    /// newest wins). Credentials it shows revoked or suspended are not
    /// presented; a revocation is remembered. Needs --trust.
    #[arg(long, requires = "trust")]
    status_list: Vec<PathBuf>,
    /// Issuer metadata (from `issuer public`) to check the status lists'
    /// signatures with (repeatable).
    #[arg(long)]
    trust: Vec<PathBuf>,
}

impl StatusArgs {
    /// Checks every token against the trusted issuers' keys and records what
    /// they show in `wallet`; whether anything changed. A token that fails
    /// its checks is an error: it is never skipped.
    fn apply(&self, wallet: &mut Wallet, now: UnixTime) -> Result<bool, CliError> {
        if self.status_list.is_empty() {
            return Ok(false);
        }
        let store = trust_store(&self.trust)?;
        let options = VerifierOptions::default();
        let mut lists = StatusLists::new();
        for path in &self.status_list {
            let token = read_text(path, MAX_STATUS_LIST)?;
            lists.add(&token, &store, &options, now).map_err(lib_err(path))?;
        }
        Ok(wallet.set_status_lists(&lists) > 0)
    }
}

/// The issuers' keys from metadata files.
fn trust_store(files: &[PathBuf]) -> Result<TrustStore, CliError> {
    let limits = Limits::default();
    let mut store = TrustStore::new();
    for t in files {
        store.add_metadata(&read_bounded(t, MAX_FILE)?, &limits).map_err(lib_err(t))?;
    }
    Ok(store)
}

/// Which credentials `holder remove` removes.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct RemoveWhich {
    /// Every credential of this issuer.
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    issuer: Option<String>,
    /// Every credential of this batch (the BATCH column of `holder list`).
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    batch: Option<String>,
    /// Every expired credential.
    #[arg(long)]
    expired: bool,
}

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
    /// Answer a verifier's OpenID4VP request (an `openid4vp://` link, e.g.
    /// from `verifier ask`): shows with --dry-run what would be revealed
    /// and to whom, otherwise presents an unused credential and posts it.
    Respond(crate::respond_cmd::Respond),
    /// Store a batch of issued credentials.
    ///
    /// A batch from `issuer correct` supersedes the earlier batches it
    /// names: their credentials are never presented. With --trust, every
    /// credential's issuer signature is checked first, so that a batch
    /// forged in the issuer's name cannot supersede genuine ones.
    Store {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// Batch file from `issuer issue`.
        #[arg(long)]
        batch: PathBuf,
        /// Issuer metadata (from `issuer public`) to check the credentials'
        /// signatures with before storing them (repeatable).
        #[arg(long)]
        trust: Vec<PathBuf>,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Answer a verifier's request with an unused credential.
    ///
    /// Only credentials of the issuers and types the request accepts are
    /// considered; never an expired, superseded, revoked or suspended one
    /// (with --status-list); the newest first.
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
        status: StatusArgs,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Dispute entries of the signed score breakdown in a batch.
    ///
    /// Over the network (--wallet, --issuer): the wallet fetches its
    /// breakdown from the issuer service, signs the dispute with a key of
    /// one of its credentials, and keeps the issuer's signed receipt, whose
    /// answer-by date is the deadline: an entry not answered by then stops
    /// counting. By file (--batch, --out): a dispute file to hand over.
    Dispute {
        /// The wallet (network disputes).
        #[arg(long, requires = "issuer", conflicts_with_all = ["batch", "out"])]
        wallet: Option<PathBuf>,
        /// The issuer service's URL (its credential issuer identifier).
        #[arg(long, requires = "wallet")]
        issuer: Option<String>,
        /// Batch file from `issuer issue --policy` (holds the breakdown).
        #[arg(long, required_unless_present = "wallet", requires = "out")]
        batch: Option<PathBuf>,
        /// An entry to dispute, as REFERENCE=REASON (repeatable).
        #[arg(long, required = true, allow_hyphen_values = true, value_parser = id_value)]
        entry: Vec<String>,
        /// A file of evidence for the issuer (network disputes; at most 256 KiB).
        #[arg(long, requires = "wallet")]
        evidence: Option<PathBuf>,
        /// Output dispute file for the issuer.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Ask each issuer you disputed with how your disputes stand: open,
    /// overdue (the entry no longer counts), or answered with the issuer's
    /// signed reason (and, when upheld, the new offer).
    Disputes {
        /// The wallet.
        #[arg(long)]
        wallet: PathBuf,
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
    /// Show how many unused credentials are left, per issuer and policy.
    ///
    /// Spent, expired, revoked, superseded and suspended credentials are
    /// counted apart (revoked and suspended as far as the status lists given
    /// now or before showed).
    Status {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// Time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        status: StatusArgs,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// List the credentials in the wallet as a table.
    ///
    /// Columns: issuer, type, policy, batch, issued, expires, known status
    /// (from the status lists given so far), spent, and what that makes
    /// them.
    List {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        /// Time in Unix seconds (default: now).
        #[arg(long)]
        now: Option<u64>,
        #[command(flatten)]
        insecure: Insecure,
    },
    /// Remove credentials (and the keys only they used) from the wallet.
    Remove {
        /// Wallet directory.
        #[arg(long)]
        wallet: PathBuf,
        #[command(flatten)]
        which: RemoveWhich,
        /// Time in Unix seconds, for --expired (default: now).
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
        HolderCmd::Respond(r) => crate::respond_cmd::run(&r),
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
        HolderCmd::Store { wallet, batch, trust, insecure } => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let bytes = read_bounded(&batch, MAX_FILE)?;
            let file = Batch::parse(&bytes, &limits).map_err(lib_err(&batch))?;
            let id = file.id().map(|i| format!(" of batch {i}")).unwrap_or_default();
            let stored = if trust.is_empty() {
                w.store_batch(file)
            } else {
                w.store_batch_verified(file, &trust_store(&trust)?)
            }
            .map_err(lib_err(&batch))?;
            state::save_wallet(&wallet, &w)?;
            let superseded = match stored.superseded {
                0 => String::new(),
                n => format!("; {n} earlier credential(s) superseded by this correction, never to be presented"),
            };
            println!("stored {} credential(s){id}{superseded}", stored.stored);
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::Present { wallet, request, out, dry_run, allow_reuse, allow_off_grid, now, status, insecure } => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let req = read_request(&request, &limits)?;
            let opts = PresentOptions::default().allow_reuse(allow_reuse).allow_off_grid(allow_off_grid);
            let now = time(now);
            let learned = status.apply(&mut w, now)?;
            let refused = |e: creditproof::Error| {
                let hint = match &e {
                    _ if e.check() == "holder.off_grid" => " (--allow-off-grid answers anyway)",
                    creditproof::Error::Holder(creditproof::error::HolderError::NoneUsable { spent, .. })
                        if *spent > 0 && !allow_reuse =>
                    {
                        " (--allow-reuse presents a spent one, linkably)"
                    }
                    _ => "",
                };
                CliError(format!("{}: {e}{hint}", request.display()))
            };
            if dry_run {
                let preview = w.preview(&req, opts, now).map_err(refused)?;
                println!("{preview}");
                return Ok(ExitCode::SUCCESS);
            }
            let out = out.ok_or_else(|| CliError("--out is required".into()))?;
            let p = match w.present(&req, opts, now, &mut rng) {
                Ok(p) => p,
                Err(e) => {
                    // What the status lists showed is kept, even when
                    // nothing could answer.
                    if learned {
                        state::save_wallet(&wallet, &w)?;
                    }
                    return Err(refused(e));
                }
            };
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
        HolderCmd::Disputes { wallet } => crate::dispute_cmd::disputes(&wallet),
        HolderCmd::Dispute { wallet: Some(wallet), issuer, entry, evidence, .. } => {
            crate::dispute_cmd::dispute(&wallet, issuer.as_deref().unwrap_or_default(), &entry, evidence.as_deref())
        }
        HolderCmd::Dispute { batch, entry, out, .. } => {
            let (Some(batch), Some(out)) = (batch, out) else {
                return Err(CliError("give --wallet and --issuer, or --batch and --out".into()));
            };
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
        HolderCmd::Status { wallet, now, status, insecure } => {
            let now = time(now);
            let w = if status.status_list.is_empty() {
                state::load_wallet(&wallet, insecure.allow_insecure_permissions)?
            } else {
                // What the lists show is recorded in the wallet.
                let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
                if status.apply(&mut w, now)? {
                    state::save_wallet(&wallet, &w)?;
                }
                w
            };
            let inv = w.inventory(now);
            if inv.is_empty() {
                println!("no credentials");
            }
            for i in inv {
                let hint = if i.needs_refill() { "; time to ask for a new batch" } else { "" };
                let policy = i.policy.as_deref().map(|p| format!(" (policy {p})")).unwrap_or_default();
                let mut counts = format!("{} unused, {} spent, {} expired", i.unspent, i.spent, i.expired);
                for (n, what) in [(i.revoked, "revoked"), (i.superseded, "superseded"), (i.suspended, "suspended")] {
                    if n > 0 {
                        counts.push_str(&format!(", {n} {what}"));
                    }
                }
                println!("{}{policy}: {counts}{hint}", i.issuer);
            }
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::List { wallet, now, insecure } => {
            let w = state::load_wallet(&wallet, insecure.allow_insecure_permissions)?;
            print!("{}", render_list(&w.list(time(now))));
            Ok(ExitCode::SUCCESS)
        }
        HolderCmd::Remove { wallet, which, now, insecure } => {
            let (mut w, _lock) = state::load_wallet_locked(&wallet, insecure.allow_insecure_permissions)?;
            let removal = match (&which.issuer, &which.batch, which.expired) {
                (Some(i), None, false) => Removal::Issuer(i),
                (None, Some(b), false) => Removal::Batch(b),
                (None, None, true) => Removal::Expired,
                _ => return Err(CliError("give exactly one of --issuer, --batch and --expired".into())),
            };
            let n = w.remove(removal, time(now));
            if n > 0 {
                state::save_wallet(&wallet, &w)?;
            }
            println!("removed {n} credential(s)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The wallet's credentials as a table, one line each (or "no
/// credentials").
fn render_list(creds: &[HeldCredential]) -> String {
    if creds.is_empty() {
        return "no credentials\n".into();
    }
    let date = |t: UnixTime| t.to_string().get(..10).unwrap_or_default().to_owned();
    let header = ["ISSUER", "TYPE", "POLICY", "BATCH", "ISSUED", "EXPIRES", "STATUS", "SPENT", "STATE"];
    let rows: Vec<[String; 9]> = creds
        .iter()
        .map(|c| {
            let status = match (c.has_status, c.known_status) {
                (false, _) => "none".to_owned(),
                (true, None) => "unknown".to_owned(),
                (true, Some((s, at))) => format!("{s} (list of {})", date(at)),
            };
            let state = match (&c.state, &c.superseded_by) {
                (CredentialState::Superseded, Some(by)) => format!("superseded by batch {by}"),
                (s, _) => s.to_string(),
            };
            [
                c.issuer.clone(),
                c.vct.clone().unwrap_or_else(|| "-".into()),
                c.policy.clone().unwrap_or_else(|| "-".into()),
                c.batch.clone().unwrap_or_else(|| "-".into()),
                date(c.issued),
                date(c.expires),
                status,
                if c.spent { "yes" } else { "no" }.to_owned(),
                state,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header);
    for r in &rows {
        out.push_str(&line(&r.each_ref().map(String::as_str)));
    }
    out
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
