//! Issuing a batch into a file without ever leaving a phantom batch (issue
//! 15 item 2): a batch recorded as issued whose file the holder never gets,
//! its keys burned.
//!
//! `issuer issue` and `issuer correct` go through [`issue`]:
//!
//! 1. the output path is checked before anything else (its directory exists,
//!    it is not a directory; it exists only with `--force`);
//! 2. inside the registry's write transaction, after the indexes are drawn,
//!    the deliver step signs the credentials and writes the batch file to a
//!    staged copy beside `--out` (`.NAME.BATCHID.staged`, owner-only,
//!    fsynced with its directory). Any failure up to here — too many claims,
//!    an unwritable directory, a full disk — rolls the transaction back:
//!    nothing is recorded and no index or key is used up;
//! 3. the transaction commits the batch as *pending*, with a note naming
//!    `--out` and the SHA-256 of the staged bytes;
//! 4. the staged copy is renamed to `--out` (the directory fsynced) and the
//!    batch recorded as delivered.
//!
//! A run killed after 3 leaves a pending batch. Re-running the same command
//! settles it first: if `--out` already holds those bytes the delivery is
//! recorded; if the staged copy is there it is renamed into place; if
//! neither, the batch never reached the holder and is voided (its indexes
//! revoked for good, history `voided`) and the same keys are issued afresh.
//! Re-running a command whose batch was delivered (killed after 4, say)
//! succeeds without change while `--out` still holds that batch.
//! A staged copy whose transaction never committed (killed during 2) holds
//! indexes the registry never recorded; the re-run deletes it.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use creditproof::policy::ScoreReport;
use creditproof::registry::{BatchRecord, Delivery, DeliveryState, IssuerRegistry, NewBatch, RegistryError};
use creditproof::{Batch, Claims, Issuer, KeyRequest, SecureRng, StatusRef, SystemRng, UnixTime};
use serde_json::{json, Value};

use crate::files::{io_reason, CliError};
use crate::state;

/// The history reason of a pending batch voided by a re-run.
const VOID_REASON: &str = "not delivered: its batch file was not found when the issue was re-run";

/// A batch to issue into a file.
pub struct IssueJob<'a> {
    /// Issuer directory.
    pub dir: &'a Path,
    pub issuer: &'a Issuer,
    pub request: &'a KeyRequest,
    pub claims: &'a Claims,
    /// Score report whose signed breakdown goes into the batch file.
    pub report: Option<&'a ScoreReport>,
    pub subject: &'a str,
    pub policy: Option<&'a str>,
    /// `issuer correct`: revoke the subject's earlier batches in the same
    /// transaction, and name them in the batch file as superseded.
    pub correcting: bool,
    /// Why the batch is issued, for the history (a correction's revocations
    /// get it too, as `corrected: REASON`).
    pub reason: &'a str,
    pub now: UnixTime,
    pub out: &'a Out,
    pub force: bool,
}

/// How the batch reached `--out`.
pub enum Issued {
    /// Issued now, with this many credentials.
    Fresh(usize),
    /// An interrupted earlier run of the same command had issued it; its
    /// delivery was finished now.
    Finished(usize),
    /// An earlier run of the same command had delivered it: nothing to do.
    Done(usize),
}

/// The output file of a batch, checked before anything is issued.
pub struct Out {
    path: PathBuf,
    dir: PathBuf,
    name: OsString,
    /// The absolute path (directory resolved), as recorded in the note.
    key: String,
}

impl Out {
    /// Checks that `path` names a file in an existing directory.
    pub fn new(path: &Path) -> Result<Self, CliError> {
        let name = path.file_name().ok_or_else(|| CliError::from((path, "is not a file path")))?.to_owned();
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned();
        let canonical = fs::canonicalize(&dir)
            .map_err(|e| CliError::from((path, format!("cannot be written: {}: {}", dir.display(), io_reason(&e)))))?;
        if !canonical.is_dir() {
            return Err((path, format!("cannot be written: {} is not a directory", dir.display())).into());
        }
        if path.is_dir() {
            return Err((path, "is a directory, expected a file").into());
        }
        let key = canonical.join(&name).to_string_lossy().into_owned();
        Ok(Self { path: path.to_owned(), dir, name, key })
    }

    fn staged(&self, batch_id: &str) -> PathBuf {
        self.dir.join(staged_name(&self.name.to_string_lossy(), batch_id))
    }
}

fn staged_name(name: &str, batch_id: &str) -> String {
    format!(".{name}.{batch_id}.staged")
}

/// What a pending batch's note says: where its file goes and its digest.
struct Note {
    out: String,
    sha256: String,
}

impl Note {
    fn to_json(&self) -> String {
        json!({"out": self.out, "sha256": self.sha256}).to_string()
    }

    fn parse(note: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(note).ok()?;
        Some(Self { out: v.get("out")?.as_str()?.to_owned(), sha256: v.get("sha256")?.as_str()?.to_owned() })
    }
}

/// Issues (or corrects) `job` into its output file; see the module
/// documentation for why a failure at any point is safe to re-run.
pub fn issue(job: &IssueJob<'_>, reg: &mut dyn IssuerRegistry, rng: &mut SystemRng) -> Result<Issued, CliError> {
    // One issuing command per issuer directory at a time, so that settling
    // leftovers never races another run's delivery.
    let _lock = state::lock_issuer(job.dir)?;
    let holders: Vec<String> = job.request.keys().iter().map(|k| k.thumbprint()).collect();
    let earlier = reg.batches_of(&holders).map_err(|e| registry_error(job.dir, e))?;
    for b in &earlier {
        if let Some(n) = settle(job, reg, &holders, b)? {
            return Ok(n);
        }
    }
    remove_orphans(job.dir, reg, job.out)?;
    if job.out.path.exists() && !job.force {
        return Err((job.out.path.as_path(), "already exists (use --force to overwrite)").into());
    }

    let batch_id = {
        let mut b = [0u8; 12];
        rng.fill(&mut b);
        hex(&b)
    };
    let batch = NewBatch {
        batch_id: &batch_id,
        subject: job.subject,
        policy: job.policy,
        holders: &holders,
        reason: job.reason,
    };
    // The batches a correction revokes, named in its batch file so that the
    // holder's wallet stops presenting them. Read under the issuer lock: no
    // batch of the subject can be issued before the correction commits.
    let supersedes = if job.correcting {
        reg.batch_ids_of_subject(job.subject).map_err(|e| registry_error(job.dir, e))?
    } else {
        Vec::new()
    };
    let staged = job.out.staged(&batch_id);
    let mut signing_rng = SystemRng::new();
    let mut count = 0;
    let mut deliver = |refs: &[StatusRef]| -> Result<Delivery, RegistryError> {
        let failed = |e: creditproof::Error| RegistryError::Delivery(format!("{}: {e}", job.dir.display()));
        let batch =
            job.issuer.issue_batch(job.request, job.claims, Some(refs), job.now, &mut signing_rng).map_err(failed)?;
        let breakdown = job.report.map(|r| job.issuer.sign_breakdown(r, &job.request.keys()[0], job.now));
        count = batch.len();
        let file = Batch::new(job.issuer.id(), batch)
            .with_id(batch_id.as_str())
            .and_then(|b| b.superseding(supersedes.clone()))
            .map_err(failed)?;
        let text = file.to_json(breakdown.as_deref());
        stage(&staged, text.as_bytes())
            .map_err(|e| RegistryError::Delivery(format!("{}: {}", job.out.path.display(), io_reason(&e))))?;
        crash_point("staged");
        let digest = hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref());
        Ok(Delivery::Staged(Note { out: job.out.key.clone(), sha256: digest }.to_json()))
    };
    let mut fill = |b: &mut [u8]| rng.fill(b);
    let now = job.now.as_secs();
    let recorded = if job.correcting {
        reg.correct(job.subject, &batch, now, &mut fill, &mut deliver)
    } else {
        reg.issue_batch(&batch, now, &mut fill, &mut deliver)
    };
    if let Err(e) = recorded {
        // Rolled back: the staged copy's indexes were never recorded.
        let _ = fs::remove_file(&staged);
        return Err(registry_error(job.dir, e));
    }
    crash_point("committed");
    finish(reg, &staged, job.out, &batch_id)?;
    Ok(Issued::Fresh(count))
}

/// Settles an earlier batch holding some of these keys. Returns how this
/// command's batch got delivered if `p` is it (the same keys, the same
/// output) and is now delivered: by an earlier run that was stopped before
/// it could say so, or now, from its staged copy. Returns `None` if `p` is
/// someone else's delivered batch (the new issue will then refuse the keys)
/// or was voided here.
fn settle(
    job: &IssueJob<'_>,
    reg: &mut dyn IssuerRegistry,
    holders: &[String],
    p: &BatchRecord,
) -> Result<Option<Issued>, CliError> {
    let same_keys = {
        let theirs: HashSet<&str> = p.credentials.iter().map(|(h, _)| h.as_str()).collect();
        theirs.len() == holders.len() && holders.iter().all(|h| theirs.contains(h.as_str()))
    };
    let note = p.note.as_deref().and_then(Note::parse);
    if p.delivery != DeliveryState::Pending {
        // Delivered: a re-run of the command that delivered it changes
        // nothing and succeeds, as long as the file is still the batch.
        let done = note.is_some_and(|n| {
            same_keys && n.out == job.out.key && file_sha256(&job.out.path).as_deref() == Some(n.sha256.as_str())
        });
        return Ok(done.then_some(Issued::Done(p.credentials.len())));
    }
    if let Some(note) = note {
        let here = note.out == job.out.key;
        let (dest, staged) = if here {
            (job.out.path.clone(), job.out.staged(&p.batch_id))
        } else {
            let dest = PathBuf::from(&note.out);
            let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let staged = dest.with_file_name(staged_name(&name, &p.batch_id));
            (dest, staged)
        };
        if file_sha256(&dest).as_deref() == Some(note.sha256.as_str()) {
            // Renamed into place before the run was stopped.
            reg.confirm_delivery(&p.batch_id).map_err(|e| registry_error(job.dir, e))?;
            if same_keys && here {
                return Ok(Some(Issued::Finished(p.credentials.len())));
            }
            return Err(CliError(format!(
                "holder keys already issued: batch {} was delivered to {}",
                p.batch_id,
                dest.display()
            )));
        }
        if file_sha256(&staged).as_deref() == Some(note.sha256.as_str()) {
            if !(same_keys && here) {
                return Err(CliError(format!(
                    "holder keys already issued: batch {} awaits delivery to {}; re-run the command that issued it",
                    p.batch_id,
                    dest.display()
                )));
            }
            if job.out.path.exists() && !job.force {
                return Err((job.out.path.as_path(), "already exists (use --force to overwrite)").into());
            }
            finish(reg, &staged, job.out, &p.batch_id)?;
            return Ok(Some(Issued::Finished(p.credentials.len())));
        }
        // A damaged staged copy is as good as none.
        let _ = fs::remove_file(&staged);
    }
    // The batch file is nowhere: the holder never got it.
    reg.void_batch(&p.batch_id, VOID_REASON, job.now.as_secs()).map_err(|e| registry_error(job.dir, e))?;
    crash_point("voided");
    Ok(None)
}

/// Moves the staged copy into place and records the delivery.
fn finish(reg: &mut dyn IssuerRegistry, staged: &Path, out: &Out, batch_id: &str) -> Result<(), CliError> {
    fs::rename(staged, &out.path).map_err(|e| {
        CliError(format!(
            "{}: batch {batch_id} is recorded but could not be moved into place ({}); \
             re-run the same command to deliver it",
            out.path.display(),
            io_reason(&e)
        ))
    })?;
    sync_dir(&out.dir);
    crash_point("renamed");
    reg.confirm_delivery(batch_id).map_err(|e| {
        CliError(format!(
            "{}: written, but not recorded as delivered ({e}); re-run the same command to record it",
            out.path.display()
        ))
    })
}

/// Deletes staged copies beside `out` whose batch is not pending: their
/// transaction never committed, so they hold indexes nobody reserved.
fn remove_orphans(dir: &Path, reg: &mut dyn IssuerRegistry, out: &Out) -> Result<(), CliError> {
    let prefix = format!(".{}.", out.name.to_string_lossy());
    let Ok(entries) = fs::read_dir(&out.dir) else {
        return Ok(());
    };
    let mut pending: Option<HashSet<String>> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".staged")) else {
            continue;
        };
        if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        if pending.is_none() {
            let batches = reg.pending_batches().map_err(|e| registry_error(dir, e))?;
            pending = Some(batches.into_iter().map(|p| p.batch_id).collect());
        }
        if !pending.as_ref().is_some_and(|p| p.contains(id)) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Writes a new owner-only file and makes it and its directory entry
/// durable.
fn stage(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result?;
    sync_dir(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The SHA-256 of a file's bytes (hex), if it can be read.
fn file_sha256(path: &Path) -> Option<String> {
    let mut f = fs::File::open(path).ok()?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match f.read(&mut buf).ok()? {
            0 => break,
            n => ctx.update(&buf[..n]),
        }
    }
    Some(hex(ctx.finish().as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A registry error as a one-line message: a failed deliver step speaks for
/// itself, anything else names the issuer directory.
fn registry_error(dir: &Path, e: RegistryError) -> CliError {
    match e {
        RegistryError::Delivery(msg) => CliError(msg),
        e => CliError::from((dir, e)),
    }
}

/// Test hook of debug builds: stops the process at a named point of an
/// issue, as a kill there would (`CREDITPROOF_TEST_CRASH_AT`).
fn crash_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("CREDITPROOF_TEST_CRASH_AT").is_some_and(|v| v == name) {
        std::process::abort();
    }
    let _ = name;
}
