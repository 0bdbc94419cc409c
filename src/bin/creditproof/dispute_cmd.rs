//! Disputes over the network, the CLI's side: `holder dispute --issuer`,
//! `holder disputes`, `issuer disputes`, `issuer resolve`, and the
//! dispute-aware scoring of `issuer offer --subject`. Every decision is in
//! the library (`creditproof::dispute`, `creditproof::dispute_store`,
//! `creditproof::policy::score_with_disputes`); this moves files and bytes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use creditproof::dispute::{verify_signed, Receipt, Resolution, RECEIPT_TYP, RESOLUTION_TYP};
use creditproof::dispute_store::{DisputeStore as _, SqliteDisputes, StoredDispute};
use creditproof::oid4vci::{Oid4vciConfig, Oid4vciIssuer};
use creditproof::policy::{score_with_disputes, Date, DisputeEntry, Policy, Records, ScoreReport};
use creditproof::server;
use creditproof::{Limits, SystemRng, TrustStore, UnixTime};
use serde_json::{json, Value};

use crate::files::{read_bounded, write_file, Access, CliError, MAX_FILE};
use crate::http_client::Http;
use crate::issuer_cmd::{read_score_input, ScoreArgs, ScoreInput};
use crate::{id_value, state, time, Insecure, RegistryArg};

/// The dispute store of an issuer directory.
pub(crate) fn store_path(dir: &Path) -> PathBuf {
    dir.join("disputes.sqlite")
}

pub(crate) fn open_store(dir: &Path) -> Result<SqliteDisputes, CliError> {
    let path = store_path(dir);
    SqliteDisputes::open(&path).map_err(|e| CliError::from((path.as_path(), e.to_string())))
}

/// Scores `args` for `subject` at `now` through the dispute store: entries
/// whose dispute went unanswered past its deadline are left out (and listed
/// in the breakdown), and the scoring is kept as the breakdown the holder
/// can fetch and dispute. Without a subject, the plain score.
pub(crate) fn score_for(
    dir: &Path,
    subject: Option<&str>,
    args: &ScoreArgs,
    now: UnixTime,
) -> Result<(Policy, ScoreReport), CliError> {
    let ScoreInput { policy, records, as_of, .. } = read_score_input(args, now)?;
    let Some(subject) = subject else {
        let report = creditproof::policy::score(&policy, records.as_slice(), as_of)
            .map_err(|e| CliError::from((args.records.as_path(), e)))?;
        return Ok((policy, report));
    };
    let mut store = open_store(dir)?;
    let clocks = store.clocks_of(subject).map_err(|e| CliError(e.to_string()))?;
    let report = score_with_disputes(&policy, records.as_slice(), as_of, &clocks, now)
        .map_err(|e| CliError::from((args.records.as_path(), e)))?;
    store.keep_report(subject, &report, now).map_err(|e| CliError(e.to_string()))?;
    Ok((policy, report))
}

/// Which disputes `issuer disputes` lists.
#[derive(Args)]
#[group(multiple = false)]
pub(crate) struct Which {
    /// Only disputes with an unanswered entry.
    #[arg(long)]
    open: bool,
    /// Only disputes with an unanswered entry past its deadline.
    #[arg(long)]
    overdue: bool,
}

/// Arguments of `issuer disputes`.
#[derive(Args)]
pub(crate) struct ListArgs {
    /// Issuer directory.
    #[arg(long)]
    dir: PathBuf,
    #[command(flatten)]
    which: Which,
    /// Also print the dispute history (every step with its time).
    #[arg(long)]
    history: bool,
    /// The time deadlines are judged at, in Unix seconds (default: now).
    #[arg(long)]
    now: Option<u64>,
}

/// `issuer disputes`: one line per dispute entry.
pub(crate) fn list(a: &ListArgs) -> Result<ExitCode, CliError> {
    let now = time(a.now);
    let store = open_store(&a.dir)?;
    let all = store.all().map_err(|e| CliError(e.to_string()))?;
    let shown: Vec<&StoredDispute> =
        all.iter().filter(|d| (!a.which.open || d.is_open()) && (!a.which.overdue || d.is_overdue(now))).collect();
    println!(
        "{:<16}  {:<10}  {:<10}  {:<20}  {:<8}  HOLDER'S REASON",
        "DISPUTE", "RECEIVED", "ANSWER BY", "ENTRY", "STATE"
    );
    for d in &shown {
        for e in &d.entries {
            let state = match e.outcome {
                Some(_) if e.reinstated_at.is_some() => "reinstated".to_owned(),
                Some(o) => o.to_string(),
                None if now > d.answer_by => "OVERDUE".to_owned(),
                None => "open".to_owned(),
            };
            println!(
                "{:<16}  {:<10}  {:<10}  {:<20}  {:<8}  {}",
                d.id,
                day(d.received_at),
                day(d.answer_by),
                clean(&e.reference),
                state,
                clean(&e.reason)
            );
        }
    }
    println!("{} dispute(s)", shown.len());
    if a.history {
        for ev in store.history().map_err(|e| CliError(e.to_string()))? {
            println!(
                "{}  {}  {}  {}  {}",
                ev.at.as_secs(),
                ev.dispute_id,
                ev.action,
                ev.reference.as_deref().map_or(String::new(), clean),
                clean(&ev.detail)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn day(t: UnixTime) -> String {
    Date::from_unix(t).map_or_else(|| t.as_secs().to_string(), |d| d.to_string())
}

fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).take(120).collect()
}

/// How `issuer resolve` answers.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Decision {
    /// The holder is right: re-score with --records, revoke the holder's
    /// credentials and make a new offer.
    #[arg(long, requires = "records")]
    uphold: bool,
    /// The entry stands; --reason says why (signed, delivered to the holder).
    #[arg(long, requires = "reason")]
    reject: bool,
    /// After answering an entry late (it stays out of the score), count it
    /// again: re-score with --records, revoke the holder's credentials and
    /// make a new offer. The history shows it (`reinstated`).
    #[arg(long, requires = "records")]
    reinstate: bool,
}

/// Arguments of `issuer resolve`.
#[derive(Args)]
pub(crate) struct ResolveArgs {
    /// Issuer directory.
    #[arg(long)]
    dir: PathBuf,
    /// The dispute's id (from `issuer disputes`).
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    dispute: String,
    /// The disputed entry's reference.
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    entry: String,
    #[command(flatten)]
    decision: Decision,
    /// The corrected records of the person (for --uphold).
    #[arg(long)]
    records: Option<PathBuf>,
    /// Why the entry stands (for --reject), or a note (for --uphold).
    #[arg(long)]
    reason: Option<String>,
    /// Scoring date of the re-score, YYYY-MM-DD (default: today).
    #[arg(long)]
    as_of: Option<String>,
    /// The time of the answer, in Unix seconds (default: now).
    #[arg(long)]
    now: Option<u64>,
    #[command(flatten)]
    registry: RegistryArg,
    #[command(flatten)]
    insecure: Insecure,
}

/// `issuer resolve`: answers one entry through the library's
/// `creditproof::server::resolve`, signed for the holder.
pub(crate) fn resolve(a: &ResolveArgs) -> Result<ExitCode, CliError> {
    let insecure = a.insecure.allow_insecure_permissions;
    let now = time(a.now);
    let limits = Limits::default();
    let records = match &a.records {
        Some(p) => Some(
            Records::from_json_slice(&read_bounded(p, MAX_FILE)?, limits.max_records_bytes(), limits.max_records())
                .map_err(|e| CliError::from((p.as_path(), e)))?,
        ),
        None => None,
    };
    let decision = match (&a.decision, &records) {
        (Decision { uphold: true, .. }, Some(r)) => server::Decision::Uphold(r.as_slice()),
        (Decision { reinstate: true, .. }, Some(r)) => server::Decision::Reinstate(r.as_slice()),
        (Decision { reject: true, .. }, _) => server::Decision::Reject,
        _ => return Err(CliError("give --uphold or --reinstate with --records, or --reject with --reason".into())),
    };
    let as_of = a.as_of.as_deref().map(Date::parse).transpose().map_err(|e| CliError(format!("--as-of: {e}")))?;
    let config = Oid4vciConfig::default().with_offer_lifetime_secs(86_400);
    let vci = Oid4vciIssuer::new(state::load_issuer(&a.dir, insecure)?, config)
        .map_err(|e| CliError(format!("{}: {e}", a.dir.display())))?;
    let mut registry = state::open_registry(&a.dir, a.registry.registry.as_deref(), insecure)?;
    let mut offers = state::open_store(&a.dir, insecure)?;
    let mut disputes = open_store(&a.dir)?;
    let book = state::policy_book(&a.dir);
    let mut st = server::ResolveState {
        vci: &vci,
        registry: &mut registry,
        offers: &mut offers,
        disputes: &mut disputes,
        book: &book,
    };
    let r = server::Resolve { dispute: &a.dispute, entry: &a.entry, decision, reason: a.reason.as_deref(), as_of, now };
    let done = server::resolve(&mut st, &r)
        .map_err(|e| CliError(format!("--dispute {} --entry {}: {e}", a.dispute, a.entry)))?;
    match (decision, &done.report) {
        (server::Decision::Reject, _) => println!(
            "rejected{}",
            if done.late { " (after the deadline: the entry stays out until re-scored with --reinstate)" } else { "" }
        ),
        (server::Decision::Uphold(_), Some(rep)) => println!(
            "upheld: {} credential(s) revoked; re-scored {} ({}); a new offer is delivered with the resolution",
            done.revoked, rep.score, rep.tier
        ),
        (_, Some(rep)) => println!(
            "reinstated: {} credential(s) revoked; re-scored {} ({}) with the entry counted; a new offer waits for the holder",
            done.revoked, rep.score, rep.tier
        ),
        (_, None) => {}
    }
    println!("the signed answer waits for the holder (`holder disputes`)");
    Ok(ExitCode::SUCCESS)
}

/// The wallet's record of its disputes: `disputes.json` next to it.
fn wallet_disputes(wallet: &Path) -> PathBuf {
    wallet.join("disputes.json")
}

fn post(http: &Http, url: &str, body: &Value) -> Result<Value, CliError> {
    let bytes = body.to_string();
    let answer = http.send("POST", url, &[("Content-Type", "application/json")], Some(bytes.as_bytes()), MAX_FILE)?;
    let v: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if !(200..300).contains(&answer.status) {
        let code = v.get("error").and_then(Value::as_str).unwrap_or("error");
        let why = v.get("error_description").and_then(Value::as_str).unwrap_or("");
        return Err(CliError(format!("{url}: HTTP {} {code}: {}", answer.status, clean(why))));
    }
    Ok(v)
}

fn trust_of(http: &Http, issuer: &str) -> Result<TrustStore, CliError> {
    let url = format!("{}/.well-known/jwt-vc-issuer", issuer.trim_end_matches('/'));
    let answer = http.get(&url, "application/json", MAX_FILE)?;
    let mut t = TrustStore::new();
    t.add_metadata(&answer.body, &Limits::default()).map_err(|e| CliError(format!("{url}: {e}")))?;
    Ok(t)
}

/// `holder dispute --wallet W --issuer URL --entry REF=REASON... [--evidence F]`.
pub(crate) fn dispute(
    wallet: &Path,
    issuer: &str,
    entries: &[String],
    evidence: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let w = state::load_wallet(wallet, false)?;
    let http = Http::new(Duration::from_secs(20));
    let mut rng = SystemRng::new();
    let base = issuer.trim_end_matches('/');
    let mut pairs = Vec::new();
    for e in entries {
        let (r, why) = e.split_once('=').ok_or_else(|| CliError(format!("--entry {e}: expected REFERENCE=REASON")))?;
        pairs.push(DisputeEntry { reference: r.to_owned(), reason: why.to_owned() });
    }
    let evidence = evidence.map(|p| read_bounded(p, creditproof::dispute::MAX_EVIDENCE_BYTES as u64)).transpose()?;
    let now = UnixTime::now();
    let no_key = || CliError(format!("the wallet holds no credential of {issuer}"));
    let query = w.sign_holder_query(issuer, now, &mut rng).ok_or_else(no_key)?;
    let got = post(&http, &format!("{base}/disputes/breakdown"), &json!({"query": query}))?;
    let breakdown =
        got.get("breakdown").and_then(Value::as_str).ok_or_else(|| CliError("no breakdown in the answer".into()))?;
    let request = w.sign_dispute(issuer, breakdown, &pairs, evidence.as_deref(), now, &mut rng).ok_or_else(no_key)?;
    let mut body = json!({"request": request});
    if let Some(e) = &evidence {
        use base64::Engine as _;
        body["evidence"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(e));
    }
    let filed = post(&http, &format!("{base}/disputes"), &body)?;
    let receipt_token = filed.get("receipt").and_then(Value::as_str).ok_or_else(|| CliError("no receipt".into()))?;
    let trust = trust_of(&http, issuer)?;
    let (_, receipt): (String, Receipt) = verify_signed(receipt_token, RECEIPT_TYP, &trust, &Limits::default())
        .map_err(|e| CliError(format!("the receipt: {e}")))?;
    let path = wallet_disputes(wallet);
    let mut kept: Vec<Value> =
        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    kept.push(json!({"issuer": issuer, "dispute_id": receipt.dispute_id, "receipt": receipt_token}));
    write_file(&path, serde_json::to_string_pretty(&kept).unwrap_or_default().as_bytes(), Access::Secret, true)?;
    println!(
        "dispute {} received by {issuer}: {} entr{} ({}), answer due by {}",
        receipt.dispute_id,
        receipt.entries.len(),
        if receipt.entries.len() == 1 { "y" } else { "ies" },
        receipt.entries.join(", "),
        day(UnixTime(receipt.answer_by))
    );
    Ok(ExitCode::SUCCESS)
}

/// `holder disputes --wallet W`: asks each issuer how the disputes stand
/// and prints each entry, with the issuer's signed reason.
pub(crate) fn disputes(wallet: &Path) -> Result<ExitCode, CliError> {
    let w = state::load_wallet(wallet, false)?;
    let kept: Vec<Value> =
        std::fs::read(wallet_disputes(wallet)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    // The issuers this wallet disputed with, and every issuer it holds
    // credentials of (a dispute may have been filed from another device
    // with the same keys); only the first must answer.
    let mut issuers: Vec<(String, bool)> =
        kept.iter().filter_map(|v| v.get("issuer").and_then(Value::as_str)).map(|i| (i.to_owned(), true)).collect();
    issuers.extend(w.inventory(UnixTime::now()).into_iter().map(|i| (i.issuer, false)));
    issuers.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    issuers.dedup_by(|a, b| a.0 == b.0);
    let http = Http::new(Duration::from_secs(20));
    let mut rng = SystemRng::new();
    let limits = Limits::default();
    let mut any = false;
    for (issuer, must) in &issuers {
        let issuer = issuer.as_str();
        let asked = (|| {
            let trust = trust_of(&http, issuer)?;
            let query = w
                .sign_holder_query(issuer, UnixTime::now(), &mut rng)
                .ok_or_else(|| CliError(format!("the wallet holds no credential of {issuer}")))?;
            let url = format!("{}/disputes/mine", issuer.trim_end_matches('/'));
            Ok::<_, CliError>((trust, post(&http, &url, &json!({"query": query}))?))
        })();
        let (trust, v) = match asked {
            Ok(x) => x,
            Err(e) if *must => return Err(e),
            Err(_) => continue,
        };
        for d in v.get("disputes").and_then(Value::as_array).into_iter().flatten() {
            any = true;
            let token = d.get("receipt").and_then(Value::as_str).unwrap_or_default();
            let (_, receipt): (String, Receipt) = verify_signed(token, RECEIPT_TYP, &trust, &limits)
                .map_err(|e| CliError(format!("a receipt from {issuer}: {e}")))?;
            println!(
                "dispute {} at {issuer}: received {}, answer due by {}",
                receipt.dispute_id,
                day(UnixTime(receipt.received_at)),
                day(UnixTime(receipt.answer_by))
            );
            for e in d.get("entries").and_then(Value::as_array).into_iter().flatten() {
                let reference = e.get("reference").and_then(Value::as_str).unwrap_or_default();
                let state = e.get("state").and_then(Value::as_str).unwrap_or_default();
                match e.get("resolution").and_then(Value::as_str) {
                    Some(t) => {
                        let (_, r): (String, Resolution) = verify_signed(t, RESOLUTION_TYP, &trust, &limits)
                            .map_err(|e| CliError(format!("a resolution from {issuer}: {e}")))?;
                        let late = match (r.late, state) {
                            (_, "reinstated") => " late, then re-scored with the entry counted",
                            (true, _) => " late: the entry stays out until the bureau re-scores with it",
                            _ => "",
                        };
                        println!(
                            "  {}: {}{late} on {}, signed: {}",
                            clean(reference),
                            r.outcome,
                            day(UnixTime(r.resolved_at)),
                            clean(&r.reason)
                        );
                    }
                    None if state == "overdue" => println!(
                        "  {}: not answered by {}: it no longer counts in your score",
                        clean(reference),
                        day(UnixTime(receipt.answer_by))
                    ),
                    None => println!("  {}: open", clean(reference)),
                }
                if let Some(o) = e.get("offer").and_then(Value::as_str) {
                    println!("  new offer: {o}");
                }
            }
        }
    }
    if !any {
        println!("no disputes");
    }
    Ok(ExitCode::SUCCESS)
}
