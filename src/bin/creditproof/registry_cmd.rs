//! Issuer commands that change or publish registry state: revoke, suspend,
//! reinstate, status-list, correct, history.

use std::path::{Path, PathBuf};

use clap::Args;
use creditproof::policy::{score, Date, Dispute, Records, ScoreReport};
use creditproof::registry::{IssuerRegistry, Status, Target};
use creditproof::status_list::StatusList;
use creditproof::{Claims, KeyRequest, Limits, NoncePolicy, SystemRng, UnixTime};
use serde_json::{json, Value};

use crate::deliver::{self, IssueJob, Issued, Out};
use crate::files::{read_bounded, write_file, Access, CliError, MAX_FILE};
use crate::progress::Progress;
use crate::{id_value, state};

/// Which credentials a status change applies to.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// One credential, as `URI#IDX`: its status list and index, as a
    /// verifier's verdict names them (`status.uri`, `status.idx`) and
    /// `issuer history` lists them.
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    index: Option<String>,
    /// The one credential a verifier's verdict names (the JSON `verifier
    /// verify` prints for an accepted presentation: its `status`).
    #[arg(long)]
    verdict: Option<PathBuf>,
    /// Every credential of every batch of the person this holder key
    /// thumbprint was issued to (base64url: it may begin with `-`, as in
    /// `--holder -Xy…`).
    #[arg(long, allow_hyphen_values = true, value_parser = id_value)]
    holder: Option<String>,
}

/// Arguments of `issuer revoke`, `suspend` and `reinstate`.
#[derive(Args)]
pub struct StatusChange {
    /// Issuer directory.
    #[arg(long)]
    dir: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    /// Why (kept in the history).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    registry: crate::RegistryArg,
    /// Open secret files even if others can read them.
    #[arg(long)]
    allow_insecure_permissions: bool,
}

/// Applies `status` to the credentials `change` names, recording its reason.
pub fn set_status(change: &StatusChange, status: Status) -> Result<(), CliError> {
    let (dir, target, reason, insecure) =
        (change.dir.as_path(), &change.target, change.reason.as_str(), change.allow_insecure_permissions);
    let issuer = state::load_issuer(dir, insecure)?;
    let mut reg = state::open_registry(dir, change.registry.registry.as_deref(), insecure)?;
    let (uri, idx);
    let t = match (&target.index, &target.verdict, &target.holder) {
        (Some(i), None, None) => {
            let (u, n) = i.rsplit_once('#').ok_or_else(|| CliError(format!("--index {i}: expected URI#IDX")))?;
            (uri, idx) =
                (u.to_owned(), n.parse::<u64>().map_err(|_| CliError(format!("--index {i}: IDX is not a number")))?);
            Target::Index { uri: &uri, idx }
        }
        (None, Some(v), None) => {
            (uri, idx) = verdict_status(v, issuer.id())?;
            Target::Index { uri: &uri, idx }
        }
        (None, None, Some(h)) => Target::Holder(h),
        _ => return Err(CliError("give exactly one of --index, --verdict and --holder".into())),
    };
    let which = match t {
        Target::Index { uri, idx } => format!(": {uri}#{idx}"),
        _ => String::new(),
    };
    let n = reg.set_status(t, status, reason, UnixTime::now().as_secs()).map_err(|e| CliError::from((dir, e)))?;
    println!("{n} credential(s) now {}{which}", status_word(status));
    Ok(())
}

/// The status entry (`URI`, `IDX`) a verifier's verdict names, if the
/// verdict is on a credential of the issuer `iss`.
fn verdict_status(path: &Path, iss: &str) -> Result<(String, u64), CliError> {
    let v: Value = serde_json::from_slice(&read_bounded(path, MAX_FILE)?)
        .map_err(|_| CliError::from((path, "is not valid json")))?;
    let status = v.get("status").filter(|s| !s.is_null());
    let entry = status.and_then(|s| Some((s.get("uri")?.as_str()?.to_owned(), s.get("idx")?.as_u64()?)));
    let Some((uri, idx)) = entry else {
        let why = if v.get("accepted").and_then(Value::as_bool) == Some(false) {
            "is a rejected verdict, which names no credential"
        } else if status.is_some() {
            "has a `status` without a string `uri` and an integer `idx`"
        } else {
            "names no status entry (not a verdict of `verifier verify`, or a credential without status)"
        };
        return Err((path, format!("{why}; give --index URI#IDX")).into());
    };
    match v.get("issuer").and_then(Value::as_str) {
        Some(i) if i == iss => Ok((uri, idx)),
        Some(i) => Err((path, format!("is a verdict on a credential of {i}, not of {iss}")).into()),
        None => Err((path, "names no issuer").into()),
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Valid => "valid",
        Status::Revoked => "revoked",
        Status::Suspended => "suspended",
    }
}

/// Writes one signed status list token per list into `out_dir`.
pub fn publish(
    dir: &Path,
    registry: Option<&str>,
    out_dir: &Path,
    validity: u64,
    ttl: u64,
    now: UnixTime,
    insecure: bool,
) -> Result<(), CliError> {
    if ttl > validity {
        return Err(CliError(format!("--ttl-secs {ttl} exceeds --validity-secs {validity}: the tokens expire first")));
    }
    let issuer = state::load_issuer(dir, insecure)?;
    let mut reg = state::open_registry(dir, registry, insecure)?;
    std::fs::create_dir_all(out_dir).map_err(|e| CliError::from((out_dir, e)))?;
    let lists = reg.lists().map_err(|e| CliError::from((dir, e)))?;
    // Progress on stderr for a publication of several lists.
    let mut progress = (lists.len() > 1).then(|| Progress::new("status lists", lists.len() as u64, 0));
    for (n, (uri, statuses)) in lists.iter().enumerate() {
        let mut list = StatusList::new(2, statuses.len()).map_err(|e| CliError(e.to_string()))?;
        for (i, &s) in statuses.iter().enumerate().filter(|(_, &s)| s != 0) {
            list.set(i, s).map_err(|e| CliError(e.to_string()))?;
        }
        let token = issuer.sign_status_list(uri, &list, now, validity, ttl);
        let path = out_dir.join(format!("list-{}.jwt", n + 1));
        write_file(&path, token.as_bytes(), Access::Public, true)?;
        println!("{uri} -> {}", path.display());
        if let Some(p) = &mut progress {
            p.inc();
        }
    }
    if let Some(p) = &progress {
        p.finish();
    }
    if lists.is_empty() {
        println!("no status lists yet (nothing issued)");
    }
    Ok(())
}

/// Prints the history of changes, optionally for one holder.
pub fn history(dir: &Path, registry: Option<&str>, holder: Option<&str>, insecure: bool) -> Result<(), CliError> {
    let mut reg = state::open_registry(dir, registry, insecure)?;
    let rows = reg.history(holder).map_err(|e| CliError::from((dir, e)))?;
    for r in &rows {
        println!(
            "{}  {:<10}  {}#{}  batch {}  holder {}  {}",
            UnixTime(r.at),
            r.action,
            r.uri,
            r.idx,
            r.batch_id,
            r.holder,
            r.reason
        );
    }
    if rows.is_empty() {
        println!("no history");
    }
    // Batches whose delivery an interrupted `issue`/`correct` left open.
    let subject = holder.map(|h| reg.subject_of(h)).transpose().map_err(|e| CliError::from((dir, e)))?;
    for p in reg.pending_batches().map_err(|e| CliError::from((dir, e)))? {
        if subject.as_ref().is_none_or(|s| *s == p.subject) {
            println!(
                "{}  pending     batch {}  {} credential(s) not yet delivered: re-run the command that issued it",
                UnixTime(p.issued_at),
                p.batch_id,
                p.credentials.len()
            );
        }
    }
    Ok(())
}

/// A holder's dispute as the issuer receives it.
pub fn dispute_file(holder: &str, dispute: &Dispute) -> Value {
    json!({"type": "creditproof-dispute/1", "holder": holder, "dispute": dispute})
}

/// The history reason of a correction: which records the holder disputed
/// and why, and the new score, e.g. `re-scored after dispute of loan-17
/// ("paid on time"): 676, very_good`. Each reason is cut at 80 characters
/// and the whole at 600, and control characters become spaces, so that the
/// history stays one readable line per change.
pub fn correction_reason(dispute: &Dispute, report: &ScoreReport) -> String {
    fn clean(text: &str, max: usize) -> String {
        let mut out: String = text.chars().take(max).map(|c| if c.is_control() { ' ' } else { c }).collect();
        if text.chars().count() > max {
            out.push('…');
        }
        out
    }
    let entries: Vec<String> =
        dispute.entries.iter().map(|e| format!("{} ({:?})", clean(&e.reference, 80), clean(&e.reason, 80))).collect();
    let disputed = match entries.len() {
        0 => "re-scored after a dispute of no entries".to_owned(),
        1 => format!("re-scored after dispute of {}", entries[0]),
        n => format!("re-scored after dispute of {n} entries: {}", entries.join(", ")),
    };
    format!("{}: {}, {}", clean(&disputed, 600), report.score, clean(&report.tier, 80))
}

/// Arguments of `issuer correct`.
pub struct Correct<'a> {
    pub dir: &'a Path,
    pub registry: Option<&'a str>,
    pub dispute: &'a Path,
    pub records: &'a Path,
    pub keys: &'a Path,
    pub out: &'a Path,
    pub as_of: Option<&'a str>,
    pub force: bool,
    pub insecure: bool,
}

/// Re-scores a disputed holder under the same policy with the corrected
/// records, and in one registry transaction revokes every credential of the
/// holder's earlier batches and issues the new batch into `out` (see
/// `deliver`: a failure records nothing; a re-run finishes an interrupted
/// delivery).
pub fn correct(c: &Correct<'_>, rng: &mut SystemRng) -> Result<(), CliError> {
    let out = Out::new(c.out)?;
    let issuer = state::load_issuer(c.dir, c.insecure)?;
    let limits = Limits::default();
    let v: Value = serde_json::from_slice(&read_bounded(c.dispute, MAX_FILE)?)
        .map_err(|_| CliError::from((c.dispute, "is not valid json")))?;
    if v.get("type").and_then(Value::as_str) != Some("creditproof-dispute/1") {
        return Err((c.dispute, "is not a dispute file (from `creditproof holder dispute`)").into());
    }
    let holder = v.get("holder").and_then(Value::as_str).ok_or_else(|| CliError::from((c.dispute, "has no holder")))?;
    let dispute: Dispute = v
        .get("dispute")
        .cloned()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| CliError::from((c.dispute, "has no valid dispute")))?;
    let mut reg = state::open_registry(c.dir, c.registry, c.insecure)?;
    let subject = reg.subject_of(holder).map_err(|e| CliError::from((c.dispute, e)))?;
    let policy = state::kept_policy(c.dir, &dispute.policy_id, &dispute.policy_version)?;
    let rbytes = read_bounded(c.records, MAX_FILE)?;
    let records = Records::from_json_slice(&rbytes, limits.max_records_bytes(), limits.max_records())
        .map_err(|e| CliError::from((c.records, e)))?;
    let now = UnixTime::now();
    let as_of = match c.as_of {
        Some(d) => Date::parse(d).map_err(|e| CliError(format!("--as-of: {e}")))?,
        None => Date::from_unix(now).ok_or_else(|| CliError("the system clock is out of range".into()))?,
    };
    let report = score(&policy, records.as_slice(), as_of).map_err(|e| CliError::from((c.records, e)))?;
    let claims = Claims::from_score(&policy, &report).map_err(|e| CliError::from((c.dispute, e)))?;
    let request =
        KeyRequest::from_json(&read_bounded(c.keys, MAX_FILE)?, &issuer, NoncePolicy::IfPresent, now, &limits)
            .map_err(|e| CliError::from((c.keys, e)))?;
    let policy_name = format!("{}/{}", policy.id(), policy.version());
    let job = IssueJob {
        dir: c.dir,
        issuer: &issuer,
        request: &request,
        claims: &claims,
        report: Some(&report),
        subject: &subject,
        policy: Some(&policy_name),
        correcting: true,
        reason: &correction_reason(&dispute, &report),
        now,
        out: &out,
        force: c.force,
    };
    let (n, finished) = match deliver::issue(&job, &mut reg, rng)? {
        Issued::Fresh(n) => (n, ""),
        Issued::Finished(n) => (n, " (finished the delivery of an interrupted run)"),
        Issued::Done(n) => (n, " (already delivered by an earlier run)"),
    };
    println!(
        "corrected: earlier credentials of this holder revoked, {n} new credential(s) with score {} written to {}{finished}",
        report.score,
        c.out.display()
    );
    Ok(())
}
