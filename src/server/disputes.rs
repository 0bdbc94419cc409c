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
use super::IssuerService;
use crate::format::encoding::{b64_decode, b64_encode};
use crate::format::rng::{SecureRng, SystemRng};
use crate::format::time::UnixTime;
use crate::format::trust::TrustStore;
use crate::issuer::dispute_store::{DisputeStore, DisputeStoreError, NewDispute, SqliteDisputes};
use crate::issuer::registry::IssuerRegistry;
use crate::profile::dispute::{
    check_dispute_request, check_holder_query, DisputeError, Receipt, DISPUTE_MAX_AGE_SECS, MAX_DISPUTE_REQUEST_BYTES,
    MAX_EVIDENCE_BYTES,
};
use crate::profile::policy::answer_by;
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
