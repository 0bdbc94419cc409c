//! The rental-desk page (issue 19): a page a relying party's staff shows
//! customers, served by the verifier service when configured
//! ([`super::VerifierConfig::with_desk`]).
//!
//! ```text
//! GET  /desk/                 the page (static, strict CSP, no inline script)
//! GET  /desk/desk.js, desk.css
//! POST /desk/check            → {"id", "link", "qr", "asks"}: a transaction asking the desk's
//!                               predicates; `qr` is the link as a QR code (an SVG data URL)
//! GET  /desk/check/{id}       → {"state", "eligible", "words", "check"?}, waiting up to 20 s
//! ```
//!
//! The page's server side is this module: it creates the transaction and
//! reads its verdict in-process, through the backend API's own handlers,
//! so the browser never holds the API token. The desk shows the verdict in
//! plain words and nothing of the presentation: the desk learns whether
//! the customer is eligible, or why an answer was rejected.
//!
//! The desk's endpoints are not behind the API token (the page is for a
//! browser at the counter): serve them only where the relying party's own
//! access control guards `/desk/`. A transaction's `id` on these
//! endpoints is the API's secret handle: the desk page keeps it in memory.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::VerifierService;
use crate::server::http::no_store_json;

const INDEX: &str = include_str!("../../../web/desk/index.html");
const SCRIPT: &str = include_str!("../../../web/desk/desk.js");
const STYLE: &str = include_str!("../../../web/desk/desk.css");

/// The pages' Content-Security-Policy: own scripts, styles and images
/// only, no inline script, no framing.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                              connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The predicates the desk asks when none are configured.
pub const DEFAULT_DESK_PREDICATES: [&str; 1] = ["score>=650"];

type Shared = State<Arc<VerifierService>>;

/// A static file with the pages' security headers.
pub(crate) fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The desk's routes under `prefix`.
pub(crate) fn routes(prefix: &str) -> Router<Arc<VerifierService>> {
    let at = |path: &str| format!("{prefix}/desk{path}");
    Router::new()
        .route(&at("/"), get(|| async { static_file("text/html; charset=utf-8", INDEX) }))
        .route(&at("/desk.js"), get(|| async { static_file("text/javascript; charset=utf-8", SCRIPT) }))
        .route(&at("/desk.css"), get(|| async { static_file("text/css; charset=utf-8", STYLE) }))
        .route(&at("/check"), post(check))
        .route(&at("/check/{id}"), get(verdict))
}

fn desk_error(status: StatusCode, message: &str) -> Response {
    no_store_json(status, json!({"error": message}).to_string())
}

async fn body_json(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 256 * 1024).await.unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Creates a transaction asking the desk's predicates, by reference.
async fn check(State(s): Shared) -> Response {
    let predicates = s.config.desk.clone().unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = Body::from(json!({ "predicates": predicates }).to_string());
    let (status, v) = body_json(super::api::create(State(s.clone()), headers, body).await).await;
    if status != StatusCode::CREATED {
        let why = v["error_description"].as_str().unwrap_or("the verifier could not create the transaction");
        return desk_error(status, why);
    }
    let link = v["authorization_request"].as_str().unwrap_or_default().to_owned();
    no_store_json(
        StatusCode::CREATED,
        json!({"id": v["id"], "link": link, "qr": qr_data_url(&link), "asks": predicates}).to_string(),
    )
}

/// The verdict in plain words, waiting for it up to 20 s.
async fn verdict(State(s): Shared, Path(id): Path<String>) -> Response {
    let r = super::api::read(State(s.clone()), Path(id), RawQuery(Some("wait=20".into()))).await;
    let (status, v) = body_json(r).await;
    if status != StatusCode::OK {
        return desk_error(StatusCode::NOT_FOUND, "no such check (or it is too old)");
    }
    let state = v["state"].as_str().unwrap_or("pending").to_owned();
    let check = v["verdict"]["check"].as_str().map(str::to_owned);
    let (eligible, words) = match state.as_str() {
        "accepted" => (true, "Eligible. Nothing else about this customer was shared.".to_owned()),
        "rejected" => (false, rejection_words(check.as_deref())),
        "expired" => (false, "No answer came in time. Start a new check.".to_owned()),
        _ => (false, "Waiting for the customer's wallet…".to_owned()),
    };
    no_store_json(
        StatusCode::OK,
        json!({"state": state, "eligible": eligible, "words": words, "check": check}).to_string(),
    )
}

/// Why an answer was rejected, for the desk.
fn rejection_words(check: Option<&str>) -> String {
    let why = match check.unwrap_or("") {
        "status.revoked" => "Not eligible: the credential was revoked by its issuer.",
        "status.suspended" => "Not eligible: the credential is suspended by its issuer.",
        "oid4vp.wallet_error" => "The customer's wallet did not answer (declined, or it holds no credential that can).",
        c if c.starts_with("predicate") || c.starts_with("range") || c.starts_with("dcql") => {
            "Not eligible: the answer does not prove what was asked."
        }
        c if c.contains("expired") => "Not eligible: the credential has expired.",
        _ => "Not eligible: the answer failed the verifier's checks.",
    };
    match check {
        Some(c) => format!("{why} (check: {c})"),
        None => why.to_owned(),
    }
}

/// A link as a QR code: an SVG `data:` URL for the page's `<img>`.
fn qr_data_url(link: &str) -> Option<String> {
    use base64::Engine as _;
    let code = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::L).ok()?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build();
    Some(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)))
}
