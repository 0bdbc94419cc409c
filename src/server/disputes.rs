//! Disputes over the network: a holder fetches its breakdown, disputes
//! entries, and asks how its disputes stand. Every request is signed by a
//! holder key the issuer issued a credential to (see
//! [`crate::dispute`]); JSON in, JSON out, `Cache-Control: no-store`.
//!
//! ```text
//! POST /disputes/breakdown  {"query"}                 → 200 {"breakdown"}
//! POST /disputes            {"request", "evidence"?}  → 201 {"dispute_id", "receipt"}
//! POST /disputes/mine       {"query"}                 → 200 {"disputes": [{"dispute_id", "receipt",
//!                                                        "entries": [{"reference", "state", "resolution"?, "offer"?}]}]}
//!                           state: open | overdue | upheld | rejected | reinstated
//! ```
//!
//! Errors are `{"error", "error_description"}`: 400 `invalid_request`
//! (malformed, an entry not in the breakdown, ...), 400 `invalid_proof` (a
//! bad signature, a key this issuer never bound, a replayed request), 404
//! `not_found` (no breakdown yet), 413 (a body or evidence too large), 429
//! `too_many_requests` (over the per-person limit). On any error nothing
//! is recorded. Evidence (base64url, at most
//! [`crate::dispute::MAX_EVIDENCE_BYTES`]) goes into the dispute store,
//! never into a log.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

use super::http::{media_type, no_store_json, read_body, too_large, BodyError};
use super::policies::PolicyBook;
use super::IssuerService;
use super::{make_offer, IssuerStore, MadeOffer};
use crate::format::encoding::{b64_decode, b64_encode};
use crate::format::rng::{SecureRng, SystemRng};
use crate::format::time::UnixTime;
use crate::format::trust::TrustStore;
use crate::issuer::dispute_store::{
    Answer, DisputeStore, DisputeStoreError, NewDispute, SqliteDisputes, StoredDispute,
};
use crate::issuer::registry::{IssuerRegistry, RegistryError, Status, Target};
use crate::issuer::Claims;
use crate::profile::dispute::{
    check_dispute_request, check_holder_query, DisputeError, Outcome, Receipt, Resolution, DISPUTE_MAX_AGE_SECS,
    MAX_DISPUTE_REQUEST_BYTES, MAX_EVIDENCE_BYTES,
};
use crate::profile::policy::{answer_by, score_with_disputes, Date, Record, ScoreReport};
use crate::protocol::oid4vci::{NewOffer, Oid4vciIssuer};
use crate::Limits;

type Shared = State<Arc<IssuerService>>;

/// The largest dispute body: the request, the evidence in base64url, JSON.
const MAX_DISPUTE_BODY: usize = MAX_DISPUTE_REQUEST_BYTES + MAX_EVIDENCE_BYTES * 4 / 3 + 1024;
/// The largest query body.
const MAX_QUERY_BODY: usize = 16 * 1024;

struct Failure {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl Failure {
    fn respond(&self, s: &IssuerService) -> Response {
        s.metrics.error(self.code);
        let body = json!({"error": self.code, "error_description": self.description});
        no_store_json(self.status, body.to_string())
    }
}

fn request(d: impl Into<String>) -> Failure {
    Failure { status: StatusCode::BAD_REQUEST, code: "invalid_request", description: d.into() }
}

fn proof(d: impl Into<String>) -> Failure {
    Failure { status: StatusCode::BAD_REQUEST, code: "invalid_proof", description: d.into() }
}

fn internal(d: impl std::fmt::Display) -> Failure {
    tracing::error!(error = %d, "dispute endpoint");
    Failure { status: StatusCode::INTERNAL_SERVER_ERROR, code: "server_error", description: "internal error".into() }
}

impl From<DisputeError> for Failure {
    fn from(e: DisputeError) -> Self {
        match e {
            DisputeError::InvalidRequest(d) => request(d),
            DisputeError::InvalidProof(d) => proof(d),
        }
    }
}

/// The dispute routes under the service's path prefix `p`.
pub(crate) fn routes(p: &str) -> Router<Arc<IssuerService>> {
    Router::new()
        .route(&format!("{p}/disputes"), post(file))
        .route(&format!("{p}/disputes/breakdown"), post(breakdown))
        .route(&format!("{p}/disputes/mine"), post(mine))
}

async fn body_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Map<String, Value>, Option<Failure>> {
    let bytes = match read_body(headers, body, limit).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return Err(None),
        Err(BodyError::Broken) => return Err(Some(request("the body could not be read"))),
    };
    if media_type(headers).as_deref() != Some("application/json") {
        return Err(Some(request("the content type must be application/json")));
    }
    let limits = Limits::default().with_max_string_bytes(limit);
    crate::format::encoding::parse_json_object(&bytes, &limits, "dispute request")
        .map_err(|e| Some(request(format!("the body is not a json object: {e}"))))
}

fn string<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, Failure> {
    m.get(name).and_then(Value::as_str).ok_or_else(|| request(format!("`{name}` must be a string")))
}

fn store_path(s: &IssuerService) -> Result<PathBuf, Failure> {
    s.config.disputes.clone().ok_or_else(|| Failure {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        description: "this service takes no disputes".into(),
    })
}

/// The issuer's own keys, to check the breakdowns it signed.
fn own_keys(s: &IssuerService) -> Result<(String, TrustStore), Failure> {
    let vci = s.vci().map_err(internal)?;
    let issuer = vci.issuer();
    let mut trust = TrustStore::new();
    trust.add_with_kid(issuer.id(), issuer.kid(), issuer.public_key());
    Ok((issuer.id().to_owned(), trust))
}

/// The subject the registry issued `holder` to; `invalid_proof` if none.
fn subject_of(s: &IssuerService, holder: &str) -> Result<String, Failure> {
    s.registries
        .with(|reg| reg.subject_of(holder))
        .map_err(internal)?
        .map_err(|_| proof("the key is not one this issuer bound in a credential"))
}

async fn run<T: Send + 'static>(f: impl FnOnce() -> Result<T, Failure> + Send + 'static) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}

macro_rules! json_or_respond {
    ($s:expr, $headers:expr, $body:expr, $limit:expr) => {
        match body_json(&$headers, $body, $limit).await {
            Ok(m) => m,
            Err(None) => return too_large(),
            Err(Some(f)) => return f.respond(&$s),
        }
    };
}

async fn breakdown(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = json_or_respond!(s, headers, body, MAX_QUERY_BODY);
    let shared = s.clone();
    let done = run(move || {
        let path = store_path(&shared)?;
        let now = UnixTime::now();
        let key = check_holder_query(string(&m, "query")?, &shared.config.public_url, now, &Limits::default())?;
        let subject = subject_of(&shared, &key.thumbprint())?;
        let store = SqliteDisputes::open(&path).map_err(internal)?;
        let report = store.report_of(&subject).map_err(internal)?.ok_or_else(|| Failure {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            description: "no scoring of this holder is kept".into(),
        })?;
        let vci = shared.vci().map_err(internal)?;
        Ok(vci.issuer().sign_breakdown(&report, &key, now))
    })
    .await;
    match done {
        Ok(token) => no_store_json(StatusCode::OK, json!({"breakdown": token}).to_string()),
        Err(f) => f.respond(&s),
    }
}

async fn file(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = json_or_respond!(s, headers, body, MAX_DISPUTE_BODY);
    let shared = s.clone();
    let done = run(move || {
        let path = store_path(&shared)?;
        let evidence = match m.get("evidence") {
            None => None,
            Some(Value::String(e)) => {
                let bytes = b64_decode(e, "evidence").map_err(|_| request("`evidence` must be base64url"))?;
                if bytes.len() > MAX_EVIDENCE_BYTES {
                    return Err(Failure {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        code: "invalid_request",
                        description: format!("the evidence is larger than {MAX_EVIDENCE_BYTES} bytes"),
                    });
                }
                Some(bytes)
            }
            Some(_) => return Err(request("`evidence` must be a base64url string")),
        };
        let now = UnixTime::now();
        let (iss, trust) = own_keys(&shared)?;
        let checked =
            check_dispute_request(string(&m, "request")?, evidence.as_deref(), &trust, &iss, now, &Limits::default())?;
        let subject = subject_of(&shared, &checked.holder)?;
        if checked.breakdown_holder != checked.holder && subject_of(&shared, &checked.breakdown_holder)? != subject {
            return Err(proof("the breakdown is another person's"));
        }
        let policy_id = checked.report.policy_id.clone();
        let policy_version = checked.report.policy_version.clone();
        let policy = shared
            .config
            .policies
            .as_ref()
            .and_then(|b| b.get(&policy_id, &policy_version).ok().flatten())
            .ok_or_else(|| request("the breakdown's policy is not published by this issuer"))?;
        let deadline = answer_by(now, policy.dispute_period_days());
        let mut id = [0u8; 12];
        SystemRng::new().fill(&mut id);
        let id = b64_encode(id);
        let receipt = Receipt {
            dispute_id: id.clone(),
            sub: checked.holder.clone(),
            entries: checked.entries.iter().map(|e| e.reference.clone()).collect(),
            policy_id: policy_id.clone(),
            policy_version: policy_version.clone(),
            received_at: now.as_secs(),
            answer_by: deadline.as_secs(),
        };
        let vci = shared.vci().map_err(internal)?;
        let signed = vci.issuer().sign_receipt(&receipt);
        let entries: Vec<(String, String)> =
            checked.entries.iter().map(|e| (e.reference.clone(), e.reason.clone())).collect();
        let mut store = SqliteDisputes::open(&path).map_err(internal)?;
        let new = NewDispute {
            id: &id,
            holder: &checked.holder,
            subject: &subject,
            policy: (&policy_id, &policy_version),
            entries: &entries,
            received_at: now,
            answer_by: deadline,
            receipt: &signed,
            evidence: evidence.as_deref(),
            jti: &checked.jti,
            jti_expires_at: UnixTime(checked.iat.as_secs().saturating_add(DISPUTE_MAX_AGE_SECS + 120)),
        };
        match store.file(&new, now) {
            Ok(()) => Ok((id, signed)),
            Err(DisputeStoreError::Replayed) => Err(proof("this dispute request was already used")),
            Err(DisputeStoreError::RateLimited) => Err(Failure {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_requests",
                description: "too many disputes from this holder today; try again tomorrow".into(),
            }),
            Err(e) => Err(internal(e)),
        }
    })
    .await;
    match done {
        Ok((id, receipt)) => {
            tracing::info!("dispute received");
            no_store_json(StatusCode::CREATED, json!({"dispute_id": id, "receipt": receipt}).to_string())
        }
        Err(f) => f.respond(&s),
    }
}

async fn mine(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = json_or_respond!(s, headers, body, MAX_QUERY_BODY);
    let shared = s.clone();
    let done = run(move || {
        let path = store_path(&shared)?;
        let now = UnixTime::now();
        let key = check_holder_query(string(&m, "query")?, &shared.config.public_url, now, &Limits::default())?;
        let subject = subject_of(&shared, &key.thumbprint())?;
        let store = SqliteDisputes::open(&path).map_err(internal)?;
        let list = store.of_subject(&subject).map_err(internal)?;
        let out: Vec<Value> = list
            .iter()
            .map(|d| {
                let entries: Vec<Value> = d
                    .entries
                    .iter()
                    .map(|e| {
                        let state = match e.outcome {
                            Some(_) if e.reinstated_at.is_some() => "reinstated".to_owned(),
                            Some(o) => o.to_string(),
                            None if now > d.answer_by => "overdue".to_owned(),
                            None => "open".to_owned(),
                        };
                        let mut v = json!({"reference": e.reference, "state": state});
                        if let Some(r) = &e.resolution {
                            v["resolution"] = json!(r);
                        }
                        if let Some(o) = &e.offer {
                            v["offer"] = json!(o);
                        }
                        v
                    })
                    .collect();
                json!({"dispute_id": d.id, "receipt": d.receipt, "entries": entries})
            })
            .collect();
        Ok(json!({"disputes": out}))
    })
    .await;
    match done {
        Ok(v) => no_store_json(StatusCode::OK, v.to_string()),
        Err(f) => f.respond(&s),
    }
}

/// How the bureau answers one disputed entry.
#[derive(Debug, Clone, Copy)]
pub enum Decision<'a> {
    /// The holder is right: re-score with these corrected records, revoke
    /// the holder's credentials and make a new offer.
    Uphold(&'a [Record]),
    /// The entry stands, for the reason given.
    Reject,
    /// After a late answer (the entry stays out of the score), count it
    /// again: re-score with these records, revoke and make a new offer.
    Reinstate(&'a [Record]),
}

/// One answer to one disputed entry.
#[derive(Debug, Clone, Copy)]
pub struct Resolve<'a> {
    /// The dispute's id.
    pub dispute: &'a str,
    /// The entry's reference.
    pub entry: &'a str,
    /// Uphold, reject or reinstate.
    pub decision: Decision<'a>,
    /// Why (required to reject; a note otherwise), 1 to 4096 bytes.
    pub reason: Option<&'a str>,
    /// The scoring date of a re-score (default: the day of `now`).
    pub as_of: Option<Date>,
    /// The time of the answer.
    pub now: UnixTime,
}

/// What [`resolve`] did.
#[derive(Debug)]
pub struct Resolved {
    /// Whether the answer came after the deadline.
    pub late: bool,
    /// How many credentials were revoked (uphold, reinstate).
    pub revoked: usize,
    /// The re-score (uphold, reinstate).
    pub report: Option<ScoreReport>,
    /// The new offer (uphold, reinstate).
    pub offer: Option<MadeOffer>,
    /// The signed resolution delivered to the holder (uphold, reject).
    pub resolution: Option<String>,
}

/// The state [`resolve`] works on: the issuer, its registry, its
/// OpenID4VCI store (for the new offer), its dispute store and its policy
/// book.
pub struct ResolveState<'a> {
    /// The OpenID4VCI issuer (signing, offers).
    pub vci: &'a Oid4vciIssuer,
    /// The registry (revocation).
    pub registry: &'a mut dyn IssuerRegistry,
    /// The OpenID4VCI store (the new offer).
    pub offers: &'a mut IssuerStore,
    /// The dispute store.
    pub disputes: &'a mut dyn DisputeStore,
    /// The published policies.
    pub book: &'a PolicyBook,
}

impl std::fmt::Debug for ResolveState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolveState").finish_non_exhaustive()
    }
}

/// Answers one disputed entry: what `issuer resolve` and `POST
/// /admin/disputes/resolve` do. An upheld or reinstated entry is re-scored
/// under the dispute's published policy through the dispute store (other
/// overdue entries stay out), every credential of the person is revoked
/// (history reason `corrected: dispute ID entry REF upheld|reinstated…`),
/// a new offer of the corrected claims is made, and the answer is recorded
/// with the signed resolution; a rejection records the signed reason. The
/// three stores change in that order, each in its own transaction; a re-run
/// after a failure in between revokes nothing more and offers again.
pub fn resolve(st: &mut ResolveState<'_>, r: &Resolve<'_>) -> Result<Resolved, String> {
    let d = st.disputes.get(r.dispute).map_err(|e| e.to_string())?.ok_or("no such dispute")?;
    let entry = d.entries.iter().find(|e| e.reference == r.entry).ok_or("no such entry in the dispute")?;
    if let Some(reason) = r.reason {
        if reason.trim().is_empty() || reason.len() > 4096 {
            return Err("the reason must be 1 to 4096 bytes".into());
        }
    }
    let late = r.now > d.answer_by;
    let reissue = |st: &mut ResolveState<'_>, records: &[Record], reinstate: bool, what: &str| {
        let policy = st
            .book
            .get(&d.policy.0, &d.policy.1)
            .map_err(|e| e.to_string())?
            .ok_or("the dispute's policy is not published")?;
        let mut clocks = Vec::new();
        for other in st.disputes.of_subject(&d.subject).map_err(|e| e.to_string())? {
            for mut c in other.clocks() {
                if reinstate && other.id == d.id && c.reference == r.entry {
                    c.reinstated_at = Some(r.now);
                }
                clocks.push(c);
            }
        }
        let as_of = match r.as_of {
            Some(a) => a,
            None => Date::from_unix(r.now).ok_or("the clock is out of range")?,
        };
        let report = score_with_disputes(&policy, records, as_of, &clocks, r.now).map_err(|e| e.to_string())?;
        let claims = Claims::from_score(&policy, &report).map_err(|e| e.to_string())?;
        let why = format!(
            "corrected: dispute {} entry {} {what}{}",
            d.id,
            r.entry,
            r.reason.map_or(String::new(), |x| format!(": {x}"))
        );
        let revoked = match st.registry.set_status(Target::Holder(&d.holder), Status::Revoked, &why, r.now.as_secs()) {
            Ok(n) => n,
            Err(RegistryError::AlreadyRevoked) => 0,
            Err(e) => return Err(e.to_string()),
        };
        st.disputes.keep_report(&d.subject, &report, r.now).map_err(|e| e.to_string())?;
        let made =
            make_offer(st.vci, st.offers, NewOffer::new(d.subject.clone(), claims), r.now, &mut SystemRng::new())
                .map_err(|e| e.to_string())?;
        Ok::<_, String>((revoked, report, made))
    };
    if let Decision::Reinstate(records) = r.decision {
        if !(entry.outcome.is_some()
            && entry.answered_at.is_some_and(|a| a > d.answer_by)
            && entry.reinstated_at.is_none())
        {
            return Err("the entry was not answered late, or is reinstated already".into());
        }
        let (revoked, report, made) = reissue(st, records, true, "reinstated after a late answer")?;
        st.disputes.reinstate(&d.id, r.entry, &made.link, r.now).map_err(|e| e.to_string())?;
        return Ok(Resolved { late, revoked, report: Some(report), offer: Some(made), resolution: None });
    }
    if entry.outcome.is_some() {
        return Err("the entry is already answered".into());
    }
    let (outcome, revoked, report, made) = match r.decision {
        Decision::Uphold(records) => {
            let (revoked, report, made) = reissue(st, records, false, "upheld")?;
            (Outcome::Upheld, revoked, Some(report), Some(made))
        }
        _ => {
            if r.reason.is_none() {
                return Err("a rejection needs a reason".into());
            }
            (Outcome::Rejected, 0, None, None)
        }
    };
    let reason = r.reason.map_or_else(|| "the entry was corrected".to_owned(), str::to_owned);
    let resolution = Resolution {
        dispute_id: d.id.clone(),
        sub: d.holder.clone(),
        reference: r.entry.to_owned(),
        outcome,
        reason: reason.clone(),
        resolved_at: r.now.as_secs(),
        late,
    };
    let signed = st.vci.issuer().sign_resolution(&resolution);
    st.disputes
        .answer(&Answer {
            dispute_id: &d.id,
            reference: r.entry,
            outcome,
            reason: &reason,
            resolution: &signed,
            offer: made.as_ref().map(|m| m.link.as_str()),
            at: r.now,
        })
        .map_err(|e| e.to_string())?;
    Ok(Resolved { late, revoked, report, offer: made, resolution: Some(signed) })
}

/// The disputes as the back office lists them; `state` `open` or
/// `overdue` filters.
pub(crate) fn list_json(all: &[StoredDispute], state: Option<&str>, now: UnixTime) -> Value {
    let shown = all.iter().filter(|d| match state {
        Some("open") => d.is_open(),
        Some("overdue") => d.is_overdue(now),
        _ => true,
    });
    Value::Array(
        shown
            .map(|d| {
                let entries: Vec<Value> = d
                    .entries
                    .iter()
                    .map(|e| {
                        let state = match e.outcome {
                            Some(_) if e.reinstated_at.is_some() => "reinstated".to_owned(),
                            Some(o) => o.to_string(),
                            None if now > d.answer_by => "overdue".to_owned(),
                            None => "open".to_owned(),
                        };
                        json!({"reference": e.reference, "reason": e.reason, "state": state, "answer": e.answer})
                    })
                    .collect();
                json!({"dispute_id": d.id, "holder": d.holder, "subject": d.subject,
                       "policy": format!("{}@{}", d.policy.0, d.policy.1),
                       "received_at": d.received_at.as_secs(), "answer_by": d.answer_by.as_secs(),
                       "evidence": d.has_evidence, "entries": entries})
            })
            .collect(),
    )
}

/// `GET /admin/disputes[?state=open|overdue]` (behind the back office's
/// token): every dispute, its deadline and each entry's state.
pub(crate) async fn admin_list(
    State(s): Shared,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let shared = s.clone();
    let done = run(move || {
        let store = SqliteDisputes::open(&store_path(&shared)?).map_err(internal)?;
        let all = store.all().map_err(internal)?;
        match q.get("state").map(String::as_str) {
            None | Some("open" | "overdue" | "all") => {}
            Some(_) => return Err(request("`state` must be open, overdue or all")),
        }
        Ok(list_json(&all, q.get("state").map(String::as_str), UnixTime::now()))
    })
    .await;
    match done {
        Ok(v) => no_store_json(StatusCode::OK, v.to_string()),
        Err(f) => f.respond(&s),
    }
}

/// `POST /admin/disputes/resolve` (behind the back office's token):
/// `{"dispute", "entry", "decision": "uphold"|"reject"|"reinstate",
/// "reason"?, "records"? (uphold, reinstate), "as_of"?}` → 200
/// `{"late", "revoked", "score"?, "offer"?, "credential_offer_uri"?,
/// "expires_at"?}`; see [`resolve`].
pub(crate) async fn admin_resolve(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = json_or_respond!(s, headers, body, 4 * 1024 * 1024);
    let shared = s.clone();
    let done = run(move || {
        let path = store_path(&shared)?;
        let book = shared.config.policies.clone().ok_or_else(|| request("this service publishes no policies"))?;
        let limits = Limits::default();
        let records = match m.get("records") {
            None => None,
            Some(r) => Some(
                crate::profile::policy::Records::from_json_slice(
                    r.to_string().as_bytes(),
                    limits.max_records_bytes(),
                    limits.max_records(),
                )
                .map_err(|e| request(format!("records: {e}")))?,
            ),
        };
        let decision = match (string(&m, "decision")?, &records) {
            ("uphold", Some(r)) => Decision::Uphold(r.as_slice()),
            ("reinstate", Some(r)) => Decision::Reinstate(r.as_slice()),
            ("reject", None) => Decision::Reject,
            _ => return Err(request("`decision` is uphold or reinstate (with `records`) or reject (without)")),
        };
        let as_of = match m.get("as_of") {
            None => None,
            Some(Value::String(d)) => Some(Date::parse(d).map_err(|e| request(format!("as_of: {e}")))?),
            Some(_) => return Err(request("`as_of` must be a YYYY-MM-DD string")),
        };
        let reason = match m.get("reason") {
            None => None,
            Some(Value::String(r)) => Some(r.as_str()),
            Some(_) => return Err(request("`reason` must be a string")),
        };
        let r = Resolve {
            dispute: string(&m, "dispute")?,
            entry: string(&m, "entry")?,
            decision,
            reason,
            as_of,
            now: UnixTime::now(),
        };
        let vci = shared.vci().map_err(internal)?;
        let mut disputes = SqliteDisputes::open(&path).map_err(internal)?;
        let resolved = shared
            .registries
            .with(|registry| {
                shared.stores.with(|offers| {
                    let mut st = ResolveState { vci: &vci, registry, offers, disputes: &mut disputes, book: &book };
                    resolve(&mut st, &r)
                })
            })
            .map_err(internal)?
            .map_err(internal)?
            .map_err(request)?;
        let mut v = json!({"late": resolved.late, "revoked": resolved.revoked});
        if let Some(rep) = &resolved.report {
            v["score"] = json!(rep.score);
        }
        if let Some(o) = &resolved.offer {
            v["offer"] = json!(o.link);
            v["credential_offer_uri"] = json!(o.offer_uri);
            v["expires_at"] = json!(o.expires_at.as_secs());
        }
        Ok(v)
    })
    .await;
    match done {
        Ok(v) => no_store_json(StatusCode::OK, v.to_string()),
        Err(f) => f.respond(&s),
    }
}
