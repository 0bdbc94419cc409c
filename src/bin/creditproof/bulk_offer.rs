//! `creditproof issuer offer --bulk SUBJECTS.jsonl --out OFFERS.jsonl`: a
//! bureau's monthly run, one offer per subject.
//!
//! Each line of SUBJECTS.jsonl is `{"subject": ID, "records": RECORDS}`
//! (scored with `--policy`, as of `--as-of`), or `{"subject": ID,
//! "claims": {...}}`; blank lines are skipped. The whole file is checked
//! before any offer is made: a bad line stops the run with an error naming
//! its line number, and so does a subject named twice.
//!
//! Each offer is appended to OFFERS.jsonl (owner-only: it holds the
//! transaction codes) as `{"line", "subject", "offer", "tx_code"?,
//! "expires_at"}` and flushed to disk (`fsync`) before the next one.
//! Re-running the same command after a crash skips every subject already
//! in OFFERS.jsonl; a torn last line (no newline: the crash came in the
//! middle of a write) is cut off and its subject offered again. The one
//! window left: an offer made but not yet written when the process died
//! is made anew on the re-run, and the first one expires unredeemed.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use creditproof::dispute_store::DisputeStore as _;
use creditproof::oid4vci::{NewOffer, Oid4vciIssuer};
use creditproof::policy::{score_with_disputes, Date, Policy, Records};
use creditproof::server::make_offer;
use creditproof::{Claims, Limits, SystemRng, UnixTime};
use serde_json::{json, Map, Value};

use crate::files::{check_private, CliError};
use crate::progress::Progress;
use crate::state;

/// The most bytes of one line of SUBJECTS.jsonl (records included).
const MAX_LINE: u64 = 4 * 1024 * 1024;
/// The most bytes of a subject id.
const MAX_SUBJECT: usize = 512;

/// What is wrong with SUBJECTS.jsonl or OFFERS.jsonl, and where.
#[derive(Debug)]
pub(crate) enum BulkError {
    /// A line is longer than [`MAX_LINE`].
    LineTooLong { line: usize },
    /// A line is not UTF-8 JSON.
    NotJson { line: usize, reason: String },
    /// A line is JSON but not an object.
    NotAnObject { line: usize },
    /// `subject` is missing, not a string, empty or too long.
    Subject { line: usize },
    /// A subject already named on an earlier line.
    DuplicateSubject { line: usize, first: usize },
    /// Neither `records` nor `claims`, both, or an unknown member.
    Members { line: usize, reason: String },
    /// `records` with no `--policy`.
    NoPolicy { line: usize },
    /// The records or claims do not parse, or scoring fails.
    Content { line: usize, reason: String },
    /// A complete line of OFFERS.jsonl is not one this command wrote.
    BadOffersLine { line: usize },
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineTooLong { line } => write!(f, "line {line}: longer than {MAX_LINE} bytes"),
            Self::NotJson { line, reason } => write!(f, "line {line}: not a JSON object ({reason})"),
            Self::NotAnObject { line } => write!(f, "line {line}: not a JSON object"),
            Self::Subject { line } => {
                write!(f, "line {line}: `subject` must be a string of 1 to {MAX_SUBJECT} bytes")
            }
            Self::DuplicateSubject { line, first } => {
                write!(f, "line {line}: the subject of line {first} again (one offer per subject)")
            }
            Self::Members { line, reason } => write!(f, "line {line}: {reason}"),
            Self::NoPolicy { line } => write!(f, "line {line}: `records` need --policy to be scored"),
            Self::Content { line, reason } => write!(f, "line {line}: {reason}"),
            Self::BadOffersLine { line } => {
                write!(f, "line {line}: not an offer line of `issuer offer --bulk` (is this the right --out file?)")
            }
        }
    }
}

impl BulkError {
    fn at(self, path: &Path) -> CliError {
        CliError(format!("{}: {self}", path.display()))
    }
}

/// One line of SUBJECTS.jsonl, checked.
struct Subject {
    line: usize,
    subject: String,
    what: Content,
}

enum Content {
    Records(Records),
    Claims(Claims),
}

/// Reads the next line (without its newline) into `buf`; `Ok(false)` at
/// the end. `complete` tells whether the line ended with a newline.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, line: usize) -> Result<Option<bool>, BulkError> {
    buf.clear();
    let n = reader
        .by_ref()
        .take(MAX_LINE + 1)
        .read_until(b'\n', buf)
        .map_err(|e| BulkError::NotJson { line, reason: e.to_string() })?;
    if n == 0 {
        return Ok(None);
    }
    let complete = buf.last() == Some(&b'\n');
    if complete {
        buf.pop();
    } else if n as u64 > MAX_LINE {
        return Err(BulkError::LineTooLong { line });
    }
    Ok(Some(complete))
}

fn parse_subject(line: usize, bytes: &[u8], policy: Option<&Policy>) -> Result<Subject, BulkError> {
    let limits = Limits::default();
    let v: Value = serde_json::from_slice(bytes).map_err(|e| BulkError::NotJson { line, reason: e.to_string() })?;
    let Value::Object(m) = v else { return Err(BulkError::NotAnObject { line }) };
    if let Some(k) = m.keys().find(|k| !["subject", "records", "claims"].contains(&k.as_str())) {
        return Err(BulkError::Members { line, reason: format!("unknown member `{k:.40}`") });
    }
    let subject = match m.get("subject") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_SUBJECT => s.clone(),
        _ => return Err(BulkError::Subject { line }),
    };
    let content = |reason: String| BulkError::Content { line, reason };
    let what = match (m.get("records"), m.get("claims")) {
        (Some(r), None) => {
            if policy.is_none() {
                return Err(BulkError::NoPolicy { line });
            }
            let text = r.to_string();
            Content::Records(
                Records::from_json_slice(text.as_bytes(), limits.max_records_bytes(), limits.max_records())
                    .map_err(|e| content(format!("records: {e}")))?,
            )
        }
        (None, Some(c)) => Content::Claims(
            Claims::from_json(c.to_string().as_bytes(), &limits).map_err(|e| content(format!("claims: {e}")))?,
        ),
        (Some(_), Some(_)) => {
            return Err(BulkError::Members { line, reason: "give `records` or `claims`, not both".into() })
        }
        (None, None) => return Err(BulkError::Members { line, reason: "give `records` or `claims`".into() }),
    };
    Ok(Subject { line, subject, what })
}

/// Every subject of SUBJECTS.jsonl, checked (not yet scored).
fn read_subjects(path: &Path, policy: Option<&Policy>) -> Result<Vec<Subject>, CliError> {
    let file = File::open(path).map_err(|e| CliError::from((path, e)))?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut line = 0;
    loop {
        line += 1;
        if next_line(&mut reader, &mut buf, line).map_err(|e| e.at(path))?.is_none() {
            break;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let s = parse_subject(line, &buf, policy).map_err(|e| e.at(path))?;
        if let Some(first) = seen.insert(s.subject.clone(), line) {
            return Err(BulkError::DuplicateSubject { line, first }.at(path));
        }
        out.push(s);
    }
    Ok(out)
}

/// The subjects OFFERS.jsonl already holds, and the file opened for
/// appending after its last complete line (a torn last line is cut off).
fn open_offers(path: &Path, insecure: bool) -> Result<(HashSet<String>, File), CliError> {
    let io = |e: std::io::Error| CliError::from((path, e));
    let exists = path.exists();
    if exists {
        check_private(path, insecure)?;
    }
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(io)?;
    let mut done = HashSet::new();
    let mut good_len = 0u64;
    {
        let mut reader = BufReader::new(&file);
        let mut buf = Vec::new();
        let mut line = 0;
        while let Some(complete) = next_line(&mut reader, &mut buf, line + 1).map_err(|e| e.at(path))? {
            line += 1;
            if !complete {
                eprintln!(
                    "{}: line {line} is torn (no newline): cut off, its subject is offered again",
                    path.display()
                );
                break;
            }
            let subject = serde_json::from_slice::<Map<String, Value>>(&buf)
                .ok()
                .and_then(|m| m.get("subject").and_then(Value::as_str).map(str::to_owned))
                .ok_or_else(|| BulkError::BadOffersLine { line }.at(path))?;
            done.insert(subject);
            good_len += buf.len() as u64 + 1;
        }
    }
    file.set_len(good_len).map_err(io)?;
    file.seek(SeekFrom::End(0)).map_err(io)?;
    file.sync_all().map_err(io)?;
    if !exists {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok((done, file))
}

/// What the bulk run needs from `issuer offer`'s arguments.
pub(crate) struct Bulk<'a> {
    pub dir: &'a Path,
    pub subjects: &'a Path,
    pub out: &'a Path,
    pub policy: Option<(Policy, Vec<u8>)>,
    pub as_of: Option<&'a str>,
    pub tx_code: bool,
    pub vci: Oid4vciIssuer,
    pub insecure: bool,
}

/// Runs the bulk offers; returns how many were made in this run.
pub(crate) fn run(b: Bulk<'_>) -> Result<usize, CliError> {
    let policy = b.policy.as_ref().map(|(p, _)| p);
    let subjects = read_subjects(b.subjects, policy)?;
    let as_of = match b.as_of {
        Some(d) => Date::parse(d).map_err(|e| CliError(format!("--as-of: {e}")))?,
        None => Date::from_unix(UnixTime::now()).ok_or_else(|| CliError("the system clock is out of range".into()))?,
    };
    if let Some((p, _)) = &b.policy {
        state::keep_policy(b.dir, p)?;
    }
    // Every subject is scored through the dispute store, as a single
    // `issuer offer --subject` is: entries whose dispute went unanswered
    // past its deadline are left out, and the scoring is kept as the
    // breakdown the holder can dispute.
    let mut disputes = crate::dispute_cmd::open_store(b.dir)?;
    let now = UnixTime::now();
    let (done, mut file) = open_offers(b.out, b.insecure)?;
    let skipped = subjects.iter().filter(|s| done.contains(&s.subject)).count();
    let mut store = state::open_store(b.dir, b.insecure)?;
    let mut rng = SystemRng::new();
    let mut progress = Progress::new("offers", subjects.len() as u64, skipped as u64);
    let mut made = 0;
    for s in subjects.into_iter().filter(|s| !done.contains(&s.subject)) {
        let content = |reason: String| BulkError::Content { line: s.line, reason }.at(b.subjects);
        let claims = match s.what {
            Content::Claims(c) => c,
            Content::Records(records) => {
                let p = policy.ok_or_else(|| BulkError::NoPolicy { line: s.line }.at(b.subjects))?;
                let clocks = disputes.clocks_of(&s.subject).map_err(|e| content(format!("disputes: {e}")))?;
                let report = score_with_disputes(p, records.as_slice(), as_of, &clocks, now)
                    .map_err(|e| content(format!("scoring: {e}")))?;
                disputes.keep_report(&s.subject, &report, now).map_err(|e| content(format!("disputes: {e}")))?;
                Claims::from_score(p, &report).map_err(|e| content(format!("claims: {e}")))?
            }
        };
        let mut offer = NewOffer::new(s.subject.clone(), claims);
        if b.tx_code {
            offer = offer.with_tx_code();
        }
        let m = make_offer(&b.vci, &mut store, offer, UnixTime::now(), &mut rng)
            .map_err(|e| CliError(format!("{}: line {}: {e}", b.dir.display(), s.line)))?;
        let mut v =
            json!({"line": s.line, "subject": s.subject, "offer": m.link, "expires_at": m.expires_at.as_secs()});
        if let Some(tx) = &m.tx_code {
            v["tx_code"] = json!(tx.expose_secret());
        }
        let mut text = zeroize::Zeroizing::new(v.to_string());
        text.push('\n');
        file.write_all(text.as_bytes()).and_then(|()| file.sync_data()).map_err(|e| CliError::from((b.out, e)))?;
        made += 1;
        progress.inc();
    }
    progress.finish();
    Ok(made)
}
