//! The back office: the bureau's own systems make offers, change statuses,
//! correct after a dispute and read the history. Behind a bearer token
//! (compared in constant time); without one configured every route answers
//! 404, as if it did not exist. JSON in, JSON out, `Cache-Control:
//! no-store`; errors are `{"error", "error_description"}` with 400
//! (`invalid_request`), 401 (`invalid_token`, with `WWW-Authenticate`),
//! 404 (`not_found`), 409 (`conflict`: already revoked) or 413.
//!
//! ```text
//! POST /admin/offers       {"claims": {...}} | {"policy": "sesame-style" | {...}, "records": [...], "as_of": "YYYY-MM-DD"},
//!                          "subject"?, "tx_code"?: bool
//!                       → 201 {"offer", "credential_offer_uri", "tx_code"?, "expires_at"}
//! POST /admin/status       {"status": "revoked"|"suspended"|"valid", "uri", "idx" | "holder", "reason"}
//!                       → 200 {"changed": n}
//! POST /admin/corrections  {"holder", "reason", claims or policy + records, "tx_code"?}
//!                       → 201 {"revoked": n, "offer", "credential_offer_uri", "tx_code"?, "expires_at"}
//! GET  /admin/history[?holder=THUMBPRINT]
//!                       → 200 [{"at", "action", "uri", "idx", "holder", "batch_id", "reason"}]
//! GET  /admin/disputes[?state=open|overdue]
//!                       → 200 [{"dispute_id", "holder", "subject", "policy", "received_at", "answer_by", "entries"}]
//! POST /admin/disputes/resolve {"dispute", "entry", "decision": "uphold"|"reject"|"reinstate", "reason"?, "records"?}
//!                       → 200 {"late", "revoked", "score"?, "offer"?} (see server::disputes)
//! ```
//!
//! A correction revokes, at once, every live credential of the person the
//! holder key was issued to (history reason `corrected: <reason>`), and
//! makes a new offer to the same person with the corrected claims.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::http::{bearer_api_error, media_type, no_store_json, not_found, read_body, BodyError};
use super::policies::{PolicyBook, PolicyBookError};
use super::{make_offer, IssuerService, MadeOffer};
use crate::format::rng::{SecureRng, SystemRng};
use crate::format::time::UnixTime;
use crate::issuer::dispute_store::{DisputeStore as _, SqliteDisputes};
use crate::issuer::registry::{RegistryError, Status, Target};
use crate::issuer::Claims;
use crate::profile::policy::{score, score_with_disputes, shipped, Date, Policy, Records};
use crate::protocol::oid4vci::NewOffer;
use crate::Limits;

/// The most bytes of a back-office request (records included).
const MAX_ADMIN_BODY: usize = 4 * 1024 * 1024;

type Shared = State<Arc<IssuerService>>;

/// A back-office failure.
struct AdminError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

fn bad(description: impl Into<String>) -> AdminError {
    AdminError { status: StatusCode::BAD_REQUEST, code: "invalid_request", description: description.into() }
}

fn internal(description: impl Into<String>) -> AdminError {
    let description = description.into();
    tracing::error!(reason = %description, "back office failed");
    AdminError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "server_error",
        description: "the issuer could not complete the request".into(),
    }
}

fn registry_error(e: RegistryError) -> AdminError {
    match e {
        RegistryError::UnknownIndex | RegistryError::UnknownHolder | RegistryError::UnknownBatch => {
            AdminError { status: StatusCode::NOT_FOUND, code: "not_found", description: e.to_string() }
        }
        RegistryError::AlreadyRevoked => {
            AdminError { status: StatusCode::CONFLICT, code: "conflict", description: e.to_string() }
        }
        RegistryError::InvalidArgument(what) => bad(what),
        e => internal(format!("registry: {e}")),
    }
}

impl AdminError {
    fn respond(&self, s: &IssuerService) -> Response {
        s.metrics.error(self.code);
        bearer_api_error(self.status, self.code, &self.description, "creditproof-admin")
    }
}

/// The back-office routes under `prefix`.
pub(crate) fn routes(prefix: &str, service: Arc<IssuerService>) -> Router<Arc<IssuerService>> {
    Router::new()
        .route(&format!("{prefix}/admin/offers"), post(offers))
        .route(&format!("{prefix}/admin/status"), post(status))
        .route(&format!("{prefix}/admin/corrections"), post(corrections))
        .route(&format!("{prefix}/admin/history"), get(history))
        .route(&format!("{prefix}/admin/disputes"), get(super::disputes::admin_list))
        .route(&format!("{prefix}/admin/disputes/resolve"), post(super::disputes::admin_resolve))
        .route_layer(middleware::from_fn_with_state(service, authenticate))
}

/// 404 when the back office is off; 401 without the right bearer token.
async fn authenticate(State(s): Shared, req: Request, next: Next) -> Response {
    let Some(expected) = s.config.admin_token.as_ref() else {
        return not_found();
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    match presented {
        Some(t) if expected.matches(&t) => next.run(req).await,
        _ => AdminError {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
            description: "the back office needs its bearer token".into(),
        }
        .respond(&s),
    }
}

async fn json_body(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, AdminError> {
    let bytes = match read_body(headers, body, MAX_ADMIN_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return Err(AdminError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "invalid_request",
                description: "the request body is too large".into(),
            })
        }
        Err(BodyError::Broken) => return Err(bad("the body could not be read")),
    };
    if media_type(headers).as_deref() != Some("application/json") {
        return Err(bad("the content type must be application/json"));
    }
    let limits = Limits::default().with_max_json_depth(16);
    crate::format::encoding::parse_json_object(&bytes, &limits, "back-office request")
        .map_err(|e| bad(format!("the body is not a json object: {e}")))
}

/// Reads the claims of an offer: `claims`, or `policy` + `records` (+
/// `as_of`, default today) scored here. A policy is published in the
/// service's policy book first (append-only: a version already published
/// with another document is refused with 409); a service without a book
/// scores under no policy.
///
/// With a dispute store and the person (`disputes`), the scoring leaves out
/// the person's entries whose dispute went unanswered past its deadline
/// (and says so in the breakdown), and is kept as the breakdown the holder
/// can fetch and dispute.
fn claims_of(
    m: &Map<String, Value>,
    book: Option<&PolicyBook>,
    disputes: Option<(&std::path::Path, &str)>,
) -> Result<(Claims, Option<String>), AdminError> {
    let limits = Limits::default();
    match (m.get("claims"), m.get("policy"), m.get("records")) {
        (Some(c), None, None) => {
            let text = c.to_string();
            Claims::from_json(text.as_bytes(), &limits).map(|c| (c, None)).map_err(|e| bad(format!("claims: {e}")))
        }
        (None, Some(p), Some(r)) => {
            let policy: Policy = match p {
                Value::String(id) => shipped(id)
                    .ok_or_else(|| bad(format!("no shipped policy {id:?}")))?
                    .map_err(|e| internal(format!("shipped policy: {e}")))?,
                Value::Object(_) => Policy::from_json_slice(p.to_string().as_bytes(), limits.max_policy_bytes())
                    .map_err(|e| bad(format!("policy: {e}")))?,
                _ => return Err(bad("`policy` must be a shipped policy's id or a policy object")),
            };
            let book = book.ok_or_else(|| bad("this service publishes no policies, so it scores under none"))?;
            book.publish(&policy).map_err(|e| match e {
                PolicyBookError::Conflict { .. } => {
                    AdminError { status: StatusCode::CONFLICT, code: "conflict", description: e.to_string() }
                }
                _ => internal(e.to_string()),
            })?;
            let records =
                Records::from_json_slice(r.to_string().as_bytes(), limits.max_records_bytes(), limits.max_records())
                    .map_err(|e| bad(format!("records: {e}")))?;
            let as_of = match m.get("as_of") {
                None => Date::from_unix(UnixTime::now()).ok_or_else(|| internal("the clock is out of range"))?,
                Some(Value::String(d)) => Date::parse(d).map_err(|e| bad(format!("as_of: {e}")))?,
                Some(_) => return Err(bad("`as_of` must be a YYYY-MM-DD string")),
            };
            let now = UnixTime::now();
            let report = match disputes {
                None => score(&policy, records.as_slice(), as_of),
                Some((path, subject)) => {
                    let clocks = SqliteDisputes::open(path)
                        .and_then(|st| st.clocks_of(subject))
                        .map_err(|e| internal(e.to_string()))?;
                    score_with_disputes(&policy, records.as_slice(), as_of, &clocks, now)
                }
            }
            .map_err(|e| bad(format!("scoring: {e}")))?;
            if let Some((path, subject)) = disputes {
                SqliteDisputes::open(path)
                    .and_then(|mut st| st.keep_report(subject, &report, now))
                    .map_err(|e| internal(e.to_string()))?;
            }
            let claims = Claims::from_score(&policy, &report).map_err(|e| bad(format!("claims: {e}")))?;
            Ok((claims, Some(format!("{}/{}", policy.id(), policy.version()))))
        }
        _ => Err(bad("give `claims`, or `policy` with `records`")),
    }
}

fn tx_code_wanted(m: &Map<String, Value>) -> Result<bool, AdminError> {
    match m.get("tx_code") {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad("`tx_code` must be true or false")),
    }
}

fn offer_json(made: &MadeOffer) -> Value {
    let mut v = json!({
        "offer": made.link,
        "credential_offer_uri": made.offer_uri,
        "expires_at": made.expires_at.as_secs(),
    });
    if let Some(tx) = &made.tx_code {
        v["tx_code"] = json!(tx.expose_secret());
    }
    v
}

fn random_subject(rng: &mut dyn SecureRng) -> String {
    let mut b = [0u8; 12];
    rng.fill(&mut b);
    format!("offer:{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

/// Makes and publishes an offer to `subject` (blocking).
fn offer_to(s: &IssuerService, subject: String, claims: Claims, tx_code: bool) -> Result<MadeOffer, AdminError> {
    let vci = s.vci().map_err(internal)?;
    let mut offer = NewOffer::new(subject, claims);
    if tx_code {
        offer = offer.with_tx_code();
    }
    let made = s
        .stores
        .with(|store| make_offer(&vci, store, offer, UnixTime::now(), &mut SystemRng::new()))
        .map_err(internal)?
        .map_err(|e| internal(e.to_string()))?;
    s.metrics.offer();
    Ok(made)
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| internal(format!("a worker failed: {e}")))?
}

macro_rules! body_or_respond {
    ($s:expr, $headers:expr, $body:expr) => {
        match json_body(&$headers, $body).await {
            Ok(m) => m,
            Err(e) => return e.respond(&$s),
        }
    };
}

async fn offers(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = body_or_respond!(s, headers, body);
    let shared = s.clone();
    let made = run_blocking(move || {
        let subject = match m.get("subject") {
            None => random_subject(&mut SystemRng::new()),
            Some(Value::String(x)) if !x.is_empty() && x.len() <= 512 => x.clone(),
            Some(_) => return Err(bad("`subject` must be a string of 1 to 512 bytes")),
        };
        let disputes = shared.config.disputes.as_deref().map(|p| (p, subject.as_str()));
        let (claims, _) = claims_of(&m, shared.config.policies.as_ref(), disputes)?;
        let tx = tx_code_wanted(&m)?;
        offer_to(&shared, subject, claims, tx)
    })
    .await;
    match made {
        Ok(made) => {
            tracing::info!(tx_code = made.tx_code.is_some(), "offer made by the back office");
            no_store_json(StatusCode::CREATED, offer_json(&made).to_string())
        }
        Err(e) => e.respond(&s),
    }
}

fn parse_status(m: &Map<String, Value>) -> Result<Status, AdminError> {
    match m.get("status").and_then(Value::as_str) {
        Some("revoked") => Ok(Status::Revoked),
        Some("suspended") => Ok(Status::Suspended),
        Some("valid") => Ok(Status::Valid),
        _ => Err(bad("`status` must be revoked, suspended or valid")),
    }
}

fn reason_of(m: &Map<String, Value>) -> Result<String, AdminError> {
    match m.get("reason") {
        Some(Value::String(r)) if !r.is_empty() && r.len() <= 4096 => Ok(r.clone()),
        _ => Err(bad("`reason` must be a string of 1 to 4096 bytes")),
    }
}

async fn status(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = body_or_respond!(s, headers, body);
    let shared = s.clone();
    let changed = run_blocking(move || {
        let status = parse_status(&m)?;
        let reason = reason_of(&m)?;
        let now = UnixTime::now();
        shared
            .registries
            .with(|reg| match (m.get("uri"), m.get("idx"), m.get("holder")) {
                (Some(Value::String(uri)), Some(idx), None) => {
                    let idx = idx.as_u64().ok_or_else(|| bad("`idx` must be a non-negative integer"))?;
                    reg.set_status(Target::Index { uri, idx }, status, &reason, now.as_secs()).map_err(registry_error)
                }
                (None, None, Some(Value::String(holder))) => {
                    reg.set_status(Target::Holder(holder), status, &reason, now.as_secs()).map_err(registry_error)
                }
                _ => Err(bad("give `uri` and `idx`, or `holder`")),
            })
            .map_err(internal)?
    })
    .await;
    match changed {
        Ok(n) => {
            tracing::info!(changed = n, "status changed by the back office");
            no_store_json(StatusCode::OK, json!({"changed": n}).to_string())
        }
        Err(e) => e.respond(&s),
    }
}

async fn corrections(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let m = body_or_respond!(s, headers, body);
    let shared = s.clone();
    let done = run_blocking(move || {
        let holder = match m.get("holder") {
            Some(Value::String(h)) => h.clone(),
            _ => return Err(bad("`holder` must be a holder key thumbprint")),
        };
        let reason = reason_of(&m)?;
        // Scored through the dispute store for the holder's person, like an
        // offer with a subject: overdue disputed entries stay out.
        let person =
            shared.registries.with(|reg| reg.subject_of(&holder)).map_err(internal)?.map_err(registry_error)?;
        let disputes = shared.config.disputes.as_deref().map(|p| (p, person.as_str()));
        let (claims, _) = claims_of(&m, shared.config.policies.as_ref(), disputes)?;
        let tx = tx_code_wanted(&m)?;
        let now = UnixTime::now();
        let (subject, revoked) = shared
            .registries
            .with(|reg| -> Result<(String, usize), AdminError> {
                let subject = reg.subject_of(&holder).map_err(registry_error)?;
                let why = format!("corrected: {reason}");
                let n = match reg.set_status(Target::Holder(&holder), Status::Revoked, &why, now.as_secs()) {
                    Ok(n) => n,
                    Err(RegistryError::AlreadyRevoked) => 0,
                    Err(e) => return Err(registry_error(e)),
                };
                Ok((subject, n))
            })
            .map_err(internal)??;
        let made = offer_to(&shared, subject, claims, tx)?;
        Ok((revoked, made))
    })
    .await;
    match done {
        Ok((revoked, made)) => {
            tracing::info!(revoked, "correction: earlier credentials revoked, new offer made");
            let mut v = offer_json(&made);
            v["revoked"] = json!(revoked);
            no_store_json(StatusCode::CREATED, v.to_string())
        }
        Err(e) => e.respond(&s),
    }
}

#[derive(serde::Deserialize)]
struct HistoryQuery {
    holder: Option<String>,
}

async fn history(State(s): Shared, Query(q): Query<HistoryQuery>) -> Response {
    let shared = s.clone();
    let rows = run_blocking(move || {
        shared.registries.with(|reg| reg.history(q.holder.as_deref()).map_err(registry_error)).map_err(internal)?
    })
    .await;
    match rows {
        Ok(rows) => {
            let v: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"at": r.at, "action": r.action, "uri": r.uri, "idx": r.idx, "holder": r.holder,
                           "batch_id": r.batch_id, "reason": r.reason})
                })
                .collect();
            no_store_json(StatusCode::OK, Value::Array(v).to_string())
        }
        Err(e) => e.respond(&s),
    }
}
