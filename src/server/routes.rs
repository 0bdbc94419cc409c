//! The router and the public endpoints: metadata, offers by reference,
//! token, nonce, credential, status lists, health and metrics. Each
//! handler extracts, calls the protocol layer (on the blocking pool: SQLite
//! and signing), and maps the result; limits, timeouts, compression, CORS,
//! logs and metrics are layers, set here once.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

use super::http::{error_response, media_type, no_store_json, not_found, read_body, too_large, BodyError};
use super::status::{ListAnswer, ListTiming};
use super::{admin, disputes, origin_of, policies, prefix_of, IssuerService, RegistryStatus};
use crate::format::rng::SystemRng;
use crate::format::time::UnixTime;
use crate::protocol::oid4vci::proof::MAX_PROOF_BYTES;
use crate::protocol::oid4vci::token::MAX_TOKEN_REQUEST_BYTES;
use crate::protocol::oid4vci::Oid4vciError;

/// The most bytes of a nonce request body (which carries nothing).
const MAX_NONCE_BODY: usize = 1024;

type Shared = State<Arc<IssuerService>>;

/// The service's router, with every layer: per-route body limits in the
/// handlers (413), then, outermost last, gzip, the concurrency limit, the
/// request timeout (408), and logs and metrics around everything. CORS
/// (any origin, no credentials) on the public endpoints, not on the back
/// office.
pub fn router(service: Arc<IssuerService>) -> Router {
    let p = prefix_of(&service.config.public_url);
    let wk = |name: &str| format!("/.well-known/{name}{p}");
    let at = |path: &str| format!("{p}{path}");
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::WWW_AUTHENTICATE]);
    let public = Router::new()
        .route(&wk("openid-credential-issuer"), get(issuer_metadata))
        .route(&wk("oauth-authorization-server"), get(authorization_server_metadata))
        .route(&wk("jwt-vc-issuer"), get(jwt_vc_issuer_metadata))
        .route(&at("/credential-offer/{id}"), get(offer_by_reference))
        .route(&at("/token"), post(token))
        .route(&at("/nonce"), post(nonce))
        .route(&at("/credential"), post(credential))
        .merge(policies::routes(&p))
        .merge(disputes::routes(&p))
        .fallback(status_list_or_404)
        .layer(cors);
    let ops = Router::new().route(&at("/health"), get(health)).route(&at("/metrics"), get(metrics));
    let app = public.merge(ops).merge(admin::routes(&p, service.clone()));
    service.config.http.layer(app).layer(middleware::from_fn_with_state(service.clone(), observe)).with_state(service)
}

/// Logs and metrics of every request: method, route pattern (never the
/// path: an offer's id is a secret), status, latency. Nothing else of the
/// request is logged.
async fn observe(State(s): Shared, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let route = route.unwrap_or_else(|| {
        let is_list =
            response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == LIST_MEDIA_TYPE.as_bytes());
        if is_list { "status_list" } else { "unmatched" }.to_owned()
    });
    let elapsed = start.elapsed();
    s.metrics.request(&route, status, elapsed);
    match status {
        408 => s.metrics.error("request_timeout"),
        413 => s.metrics.error("payload_too_large"),
        _ => {}
    }
    tracing::info!(%method, route = %route, status, micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), "request");
    response
}

const LIST_MEDIA_TYPE: &str = "application/statuslist+jwt";

/// Runs blocking work (SQLite, signing) off the async workers.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R, Oid4vciError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Oid4vciError::ServerError { reason: format!("a worker failed: {e}") })
}

fn fail(s: &IssuerService, e: &Oid4vciError) -> Response {
    s.metrics.error(e.code());
    error_response(e)
}

fn server_error(reason: impl Into<String>) -> Oid4vciError {
    Oid4vciError::ServerError { reason: reason.into() }
}

fn json_public(body: String, max_age: u32) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    r
}

async fn issuer_metadata(State(s): Shared) -> Response {
    match s.vci() {
        Ok(vci) => json_public(vci.credential_issuer_metadata().to_json().to_string(), 300),
        Err(e) => fail(&s, &server_error(e)),
    }
}

async fn authorization_server_metadata(State(s): Shared) -> Response {
    match s.vci() {
        Ok(vci) => json_public(vci.authorization_server_metadata().to_json().to_string(), 300),
        Err(e) => fail(&s, &server_error(e)),
    }
}

async fn jwt_vc_issuer_metadata(State(s): Shared) -> Response {
    match s.vci() {
        Ok(vci) => json_public(vci.jwt_vc_issuer_metadata().to_string(), 300),
        Err(e) => fail(&s, &server_error(e)),
    }
}

async fn offer_by_reference(State(s): Shared, Path(id): Path<String>) -> Response {
    let shared = s.clone();
    let found = blocking(move || shared.stores.with(|st| st.published_offer(&id, UnixTime::now()))).await;
    match found {
        Ok(Ok(Ok(Some(offer)))) => no_store_json(StatusCode::OK, String::from_utf8_lossy(&offer).into_owned()),
        Ok(Ok(Ok(None))) => not_found(),
        Ok(Ok(Err(e))) => fail(&s, &server_error(e.to_string())),
        Ok(Err(e)) => fail(&s, &server_error(e)),
        Err(e) => fail(&s, &e),
    }
}

async fn token(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&headers, body, MAX_TOKEN_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Broken) => {
            return fail(&s, &Oid4vciError::InvalidRequest { reason: "the body could not be read" })
        }
    };
    if media_type(&headers).as_deref() != Some("application/x-www-form-urlencoded") {
        let e = Oid4vciError::InvalidRequest { reason: "the content type must be application/x-www-form-urlencoded" };
        return fail(&s, &e);
    }
    let shared = s.clone();
    let answer = blocking(move || {
        let vci = shared.vci().map_err(server_error)?;
        shared
            .stores
            .with(|store| vci.token(store, &body, UnixTime::now(), &mut SystemRng::new()))
            .map_err(server_error)?
    })
    .await
    .and_then(|r| r);
    match answer {
        Ok(t) => no_store_json(StatusCode::OK, t.to_json().to_string()),
        Err(e) => fail(&s, &e),
    }
}

async fn nonce(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    // The body carries nothing; it is read (bounded) and dropped.
    if let Err(BodyError::TooLarge) = read_body(&headers, body, MAX_NONCE_BODY).await {
        return too_large();
    }
    match s.vci() {
        Ok(vci) => no_store_json(StatusCode::OK, vci.nonce(UnixTime::now(), &mut SystemRng::new()).to_json()),
        Err(e) => fail(&s, &server_error(e)),
    }
}

async fn credential(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let batch = s.config.oid4vci.batch_size();
    let limit = MAX_PROOF_BYTES.saturating_add(64).saturating_mul(batch).saturating_add(4096);
    let body = match read_body(&headers, body, limit).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Broken) => {
            let e = Oid4vciError::InvalidCredentialRequest { reason: "the body could not be read".into() };
            return fail(&s, &e);
        }
    };
    if media_type(&headers).as_deref() != Some("application/json") {
        let e = Oid4vciError::InvalidCredentialRequest { reason: "the content type must be application/json".into() };
        return fail(&s, &e);
    }
    // A header that is not visible ASCII becomes a malformed token, not a
    // missing one.
    let authorization = headers.get(header::AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let shared = s.clone();
    let answer = blocking(move || {
        let vci = shared.vci().map_err(server_error)?;
        let now = UnixTime::now();
        shared
            .stores
            .with(|store| {
                shared.registries.with(|registry| {
                    let mut index_rng = SystemRng::new();
                    let mut statuses = RegistryStatus::new(&mut **registry, &mut index_rng, "issued over OpenID4VCI");
                    vci.credential(store, &mut statuses, authorization.as_deref(), &body, now, &mut SystemRng::new())
                })
            })
            .and_then(|r| r)
            .map_err(server_error)?
    })
    .await
    .and_then(|r| r);
    match answer {
        Ok(response) => {
            let n = response.credentials().len();
            s.metrics.issued(n);
            tracing::info!(credentials = n, "batch issued");
            no_store_json(StatusCode::OK, response.to_json().to_string())
        }
        Err(e) => fail(&s, &e),
    }
}

/// `GET` on a status list URI (any path under the public URL that names a
/// list of the registry); everything else is 404.
async fn status_list_or_404(State(s): Shared, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let list_uri = format!("{}{}", origin_of(&s.config.public_url), uri.path());
    let historical = uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "time" || kv.starts_with("time=")));
    let timing = ListTiming { ttl_secs: s.config.status_ttl_secs, validity_secs: s.config.status_validity_secs };
    let shared = s.clone();
    let answer = blocking(move || {
        let vci = shared.vci().map_err(server_error)?;
        let mut cache = shared.lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shared
            .registries
            .with(|registry| cache.token(&list_uri, &mut **registry, vci.issuer(), timing, UnixTime::now()))
            .map_err(server_error)?
            .map_err(|e| server_error(format!("registry: {e}")))
    })
    .await
    .and_then(|r| r);
    match answer {
        Ok(ListAnswer::Unknown) => not_found(),
        Ok(ListAnswer::Token { .. }) if historical => {
            let body = serde_json::json!({"error": "not_implemented", "error_description": "historical status (time) is not supported"});
            (StatusCode::NOT_IMPLEMENTED, [(header::CONTENT_TYPE, "application/json")], body.to_string())
                .into_response()
        }
        Ok(ListAnswer::Token { token, fresh, max_age }) => {
            if fresh {
                s.metrics.status_signed();
            }
            let mut r = (StatusCode::OK, token).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(LIST_MEDIA_TYPE));
            if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
                h.insert(header::CACHE_CONTROL, v);
            }
            r
        }
        Err(e) => fail(&s, &e),
    }
}

async fn health(State(s): Shared) -> Response {
    let shared = s.clone();
    let ok = blocking(move || shared.registries.with(|r| r.revision().is_ok()).unwrap_or(false)).await;
    if matches!(ok, Ok(true)) {
        no_store_json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
    } else {
        no_store_json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"unavailable"}"#.to_owned())
    }
}

async fn metrics(State(s): Shared) -> Response {
    let mut r = (StatusCode::OK, s.metrics.render()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}
