//! The relying party's backend API (bearer token), and the operational
//! endpoints and layers of the verifier service.
//!
//! ```text
//! POST /transactions   {"predicates": ["score>=650", "perk:no_deposit_rental"], "disclose": ["tier"]}
//!                    | {"dcql_query": {...}}
//!                      (+ "tier1_fallback": {...} a query for wallets without range proofs,
//!                       + "by_value": true  for a link that carries the request itself)
//!                   → 201 {"id", "authorization_request": "openid4vp://?…", "request_uri", "client_id", "expires_at"}
//! GET  /transactions/{id}[?wait=SECONDS]
//!                   → 200 {"id", "state": "pending", "fetched": bool}
//!                       | {"id", "state": "accepted" | "rejected" | "expired", "verdict": {...}}
//! ```
//!
//! The `id` is the transaction's request id and a secret the wallet never
//! sees: treat it as a secret. `wait` holds the answer until the verdict
//! comes or `wait` seconds pass (at most the configured long-poll bound).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::{Locked, VerifierService};
use crate::format::rng::SystemRng;
use crate::format::time::UnixTime;
use crate::profile::predicate::Predicate;
use crate::protocol::dcql::{DcqlQuery, ScoreAsk};
use crate::protocol::oid4vp::{NewTransaction, Outcome, TransactionHandle, Verdict};
use crate::server::http::{bearer_api_error, media_type, no_store_json, read_body, BodyError};
use crate::Limits;

/// The most bytes of a transaction request.
const MAX_CREATE_BODY: usize = 64 * 1024;
/// The most predicates or claims one transaction asks for.
const MAX_ASKS: usize = 32;

type Shared = State<Arc<VerifierService>>;

/// A backend API failure.
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

pub(crate) fn bad(description: impl Into<String>) -> ApiError {
    ApiError { status: StatusCode::BAD_REQUEST, code: "invalid_request", description: description.into() }
}

impl ApiError {
    fn respond(&self, s: &VerifierService) -> Response {
        s.metrics.http.error(self.code);
        bearer_api_error(self.status, self.code, &self.description, "creditproof-verifier")
    }
}

/// The backend API's routes under `prefix`, behind the bearer token.
pub(crate) fn routes(prefix: &str, service: Arc<VerifierService>) -> Router<Arc<VerifierService>> {
    Router::new()
        .route(&format!("{prefix}/transactions"), post(create))
        .route(&format!("{prefix}/transactions/{{id}}"), get(read))
        .route_layer(middleware::from_fn_with_state(service, authenticate))
}

/// 401 without the right bearer token.
async fn authenticate(State(s): Shared, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    match presented {
        Some(t) if s.config.api_token.matches(&t) => next.run(req).await,
        _ => ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
            description: "the verifier's API needs its bearer token".into(),
        }
        .respond(&s),
    }
}

/// Reads the transaction a relying party asks for; see the [module
/// documentation](self).
pub(crate) fn new_transaction(m: &Map<String, Value>) -> Result<NewTransaction, ApiError> {
    const KNOWN: [&str; 5] = ["predicates", "disclose", "dcql_query", "tier1_fallback", "by_value"];
    if let Some(k) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("unknown member `{}`", k.chars().take(64).collect::<String>())));
    }
    let strings = |k: &str| -> Result<Vec<String>, ApiError> {
        match m.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) if a.len() <= MAX_ASKS => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad(format!("`{k}` must hold strings"))))
                .collect(),
            Some(_) => Err(bad(format!("`{k}` must be an array of at most {MAX_ASKS} strings"))),
        }
    };
    let predicates = strings("predicates")?;
    let disclose = strings("disclose")?;
    let mut new = match m.get("dcql_query") {
        Some(q) if predicates.is_empty() && disclose.is_empty() => {
            let query = DcqlQuery::from_value(q).map_err(|e| bad(format!("dcql_query: {e}")))?;
            NewTransaction::new(query).map_err(|e| bad(format!("dcql_query: {e}")))?
        }
        Some(_) => return Err(bad("give `dcql_query`, or `predicates` and `disclose`, not both")),
        None if predicates.is_empty() && disclose.is_empty() => {
            return Err(bad("give `predicates` or `disclose` (or a `dcql_query`)"))
        }
        None => {
            let mut ask = ScoreAsk::new();
            for d in disclose {
                ask = ask.disclose(d);
            }
            for p in &predicates {
                let parsed: Predicate = p.parse().map_err(|e| bad(format!("predicate `{p}`: {e}")))?;
                ask = ask.predicate(parsed);
            }
            NewTransaction::from_ask(&ask).map_err(|e| bad(e.to_string()))?
        }
    };
    if let Some(f) = m.get("tier1_fallback") {
        let query = DcqlQuery::from_value(f).map_err(|e| bad(format!("tier1_fallback: {e}")))?;
        new = new.with_tier1_fallback(query).map_err(|e| bad(format!("tier1_fallback: {e}")))?;
    }
    match m.get("by_value") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => new = new.by_value(),
        Some(_) => return Err(bad("`by_value` must be true or false")),
    }
    Ok(new)
}

pub(super) async fn create(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&headers, body, MAX_CREATE_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "invalid_request",
                description: "the request body is too large".into(),
            }
            .respond(&s)
        }
        Err(BodyError::Broken) => return bad("the body could not be read").respond(&s),
    };
    if media_type(&headers).as_deref() != Some("application/json") {
        return bad("the content type must be application/json").respond(&s);
    }
    let limits = Limits::default().with_max_json_depth(16);
    let m = match crate::format::encoding::parse_json_object(&bytes, &limits, "transaction request") {
        Ok(m) => m,
        Err(e) => return bad(format!("the body is not a json object: {e}")).respond(&s),
    };
    let by_value = m.get("by_value") == Some(&Value::Bool(true));
    let new = match new_transaction(&m) {
        Ok(n) => n,
        Err(e) => return e.respond(&s),
    };
    if s.transactions() >= s.config.max_transactions {
        let r = s.prune(UnixTime::now());
        if r == 0 && s.transactions() >= s.config.max_transactions {
            tracing::warn!("too many live transactions; refusing a new one");
            return ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "temporarily_unavailable",
                description: "too many live transactions; try again later".into(),
            }
            .respond(&s);
        }
    }
    let created = s.oid4vp.create(&mut Locked(&s.transactions), new, UnixTime::now(), &mut SystemRng::new());
    let created = match created {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "creating a transaction failed");
            return ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "server_error",
                description: "the verifier could not create the transaction".into(),
            }
            .respond(&s);
        }
    };
    s.metrics.transaction();
    let request_id = created.handle.request_id().to_owned();
    let by_reference = !by_value;
    let body = json!({
        "id": api_id(&created.handle),
        "authorization_request": created.link,
        "request_uri": if by_reference { json!(s.oid4vp.request_uri(&request_id)) } else { Value::Null },
        "client_id": s.client_id(),
        "expires_at": created.expires_at.as_secs(),
    });
    if s.config.webhook.is_some() {
        s.handles.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(request_id, created.handle);
    }
    tracing::info!(by_reference, "transaction created");
    no_store_json(StatusCode::CREATED, body.to_string())
}

/// The API's name of a transaction: its request id, a dot, its secret.
pub(crate) fn api_id(handle: &TransactionHandle) -> String {
    format!("{}.{}", handle.request_id(), handle.expose_secret())
}

/// What `GET /transactions/{id}` (and the webhook) says of a transaction.
pub(crate) fn transaction_json(id: &str, outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Pending { fetched } => json!({"id": id, "state": "pending", "fetched": fetched}),
        Outcome::Done(v) => {
            let state = match v {
                Verdict::Accepted(_) => "accepted",
                Verdict::Rejected(_) => "rejected",
                Verdict::Expired => "expired",
            };
            json!({"id": id, "state": state, "verdict": v.to_json()})
        }
    }
}

/// `wait=SECONDS`, the only query parameter.
fn wait_of(query: Option<&str>, max: u64) -> Result<Duration, ApiError> {
    let Some(q) = query.filter(|q| !q.is_empty()) else { return Ok(Duration::ZERO) };
    match q.strip_prefix("wait=").and_then(|v| v.parse::<u64>().ok()) {
        Some(n) if !q.contains('&') => Ok(Duration::from_secs(n.min(max))),
        _ => Err(bad("the only query parameter is wait=SECONDS")),
    }
}

pub(super) async fn read(State(s): Shared, Path(id): Path<String>, RawQuery(query): RawQuery) -> Response {
    let wait = match wait_of(query.as_deref(), s.config.max_wait_secs) {
        Ok(w) => w,
        Err(e) => return e.respond(&s),
    };
    let Some((request_id, secret)) = id.split_once('.') else {
        return ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            description: "no such transaction".into(),
        }
        .respond(&s);
    };
    let handle = TransactionHandle::new(request_id, secret);
    let deadline = Instant::now() + wait;
    loop {
        // Registered before the look, so a verdict recorded in between
        // still wakes this request.
        let notified = s.done.notified();
        let outcome = match s.oid4vp.outcome(&Locked(&s.transactions), &handle, UnixTime::now()) {
            Ok(o) => o,
            Err(_) => {
                return ApiError {
                    status: StatusCode::NOT_FOUND,
                    code: "not_found",
                    description: "no such transaction (or its verdict is no longer kept)".into(),
                }
                .respond(&s)
            }
        };
        let now = Instant::now();
        if matches!(outcome, Outcome::Done(_)) || now >= deadline {
            return no_store_json(StatusCode::OK, transaction_json(&id, &outcome).to_string());
        }
        // Woken by a verdict, or once a second to notice an expiry.
        let pause = deadline.saturating_duration_since(now).min(Duration::from_secs(1));
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

pub(crate) async fn health() -> Response {
    no_store_json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
}

pub(crate) async fn metrics(State(s): Shared) -> Response {
    let mut r = (StatusCode::OK, s.metrics.render()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

pub(crate) async fn not_found_fallback() -> Response {
    crate::server::http::not_found()
}

/// Logs and metrics of every request: method, route pattern (never the
/// path: it holds transaction ids), status, latency. Nothing else.
pub(crate) async fn observe(State(s): Shared, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let elapsed = start.elapsed();
    s.metrics.http.request(&route, status, elapsed);
    match status {
        408 => s.metrics.http.error("request_timeout"),
        413 => s.metrics.http.error("payload_too_large"),
        _ => {}
    }
    tracing::info!(%method, route = %route, status, micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), "request");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(v: Value) -> Result<NewTransaction, String> {
        new_transaction(v.as_object().unwrap()).map_err(|e| e.description)
    }

    #[test]
    fn transaction_requests_are_read_strictly() {
        assert!(new(json!({"predicates": ["score>=650", "perk:no_deposit_rental"], "disclose": ["tier"]})).is_ok());
        let q = ScoreAsk::new().predicate("perk:no_deposit_rental".parse().unwrap()).to_query("credit").unwrap();
        assert!(new(json!({"dcql_query": q.to_json(), "by_value": true})).is_ok());
        for (bad, why) in [
            (json!({}), "give `predicates`"),
            (json!({"predicates": ["score>=650"], "dcql_query": q.to_json()}), "not both"),
            (json!({"predicates": ["score>>650"]}), "predicate `score>>650`"),
            (json!({"predicates": "score>=650"}), "must be an array"),
            (json!({"dcql_query": {"credentials": []}}), "dcql_query"),
            (json!({"predicates": ["score>=650"], "extra": 1}), "unknown member `extra`"),
            (json!({"predicates": ["score>=650"], "tier1_fallback": q.to_json(), "by_value": "yes"}), "by_value"),
        ] {
            let e = new(bad.clone()).err().unwrap_or_else(|| panic!("{bad} was accepted"));
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(wait_of(Some("wait=99"), 20).ok(), Some(Duration::from_secs(20)));
        assert_eq!(wait_of(None, 20).ok(), Some(Duration::ZERO));
        assert!(wait_of(Some("wait=1&x=2"), 20).is_err());
        assert!(wait_of(Some("wait=-1"), 20).is_err());
    }
}
