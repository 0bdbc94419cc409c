//! The helpers every handler shares: reading a bounded body, and
//! answering with the specification's error.

use crate::protocol::oid4vci::Oid4vciError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the endpoint's limit (413).
    TooLarge,
    /// Broken off or malformed (the endpoint's 400).
    Broken,
}

/// A body read within `limit` bytes: over the limit (told by
/// `Content-Length` before reading, or while reading a chunked body) is
/// [`BodyError::TooLarge`].
pub(crate) async fn read_body(headers: &axum::http::HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    if declared_too_large(headers, limit) {
        return Err(BodyError::TooLarge);
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if over {
            BodyError::TooLarge
        } else {
            BodyError::Broken
        }
    })
}

/// Whether the request's `Content-Length` already says the body is over
/// `limit`.
fn declared_too_large(headers: &axum::http::HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
}

/// The media type of a request (`Content-Type` without parameters,
/// lowercased), if any.
pub(crate) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// A JSON response with `Cache-Control: no-store`.
pub(crate) fn no_store_json(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An OAuth-style `{error, error_description}` JSON response with
/// `Cache-Control: no-store`; a 401 also carries `WWW-Authenticate` for
/// the bearer token of `realm` (RFC 6750).
pub(crate) fn bearer_api_error(status: StatusCode, code: &str, description: &str, realm: &'static str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description}).to_string();
    let mut r = no_store_json(status, body);
    if status == StatusCode::UNAUTHORIZED {
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer realm=\"{realm}\", error=\"invalid_token\"")) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    r
}

/// 413 with an OAuth-style JSON body.
pub(crate) fn too_large() -> Response {
    no_store_json(
        StatusCode::PAYLOAD_TOO_LARGE,
        serde_json::json!({"error": "invalid_request", "error_description": "the request body is too large"})
            .to_string(),
    )
}

/// The answer for a protocol error: its status, its JSON body,
/// `Cache-Control: no-store`, and `WWW-Authenticate` for a 401.
pub(crate) fn error_response(e: &Oid4vciError) -> Response {
    if let Oid4vciError::ServerError { reason } = e {
        // The reason stays in the logs (no secrets in it: store and
        // signing failures only); the wire gets a generic text.
        tracing::error!(reason = %reason, "server error");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = no_store_json(status, e.to_json().to_string());
    if let Some(challenge) = e.www_authenticate().and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    r
}

/// 404 with a JSON body.
pub(crate) fn not_found() -> Response {
    no_store_json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.to_owned())
}
