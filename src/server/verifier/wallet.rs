//! The wallet-facing endpoints: the request object at the `request_uri`
//! (`GET`, or `POST` with `wallet_metadata` and `wallet_nonce`), and the
//! `response_uri` for `direct_post`. Each answers with the protocol
//! layer's result or its [`Oid4vpError`]'s status and JSON, `Cache-Control:
//! no-store`, never a redirect.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{api_id, transaction_json};
use super::status::{all_fresh, ensure_fresh};
use super::{webhook, Locked, VerifierService};
use crate::format::time::UnixTime;
use crate::protocol::oid4vp::metadata::MAX_REQUEST_URI_POST_BYTES;
use crate::protocol::oid4vp::{
    DirectPost, Oid4vpError, Oid4vpStore as _, Outcome, Phase, Verdict, DIRECT_POST_ACK, MAX_RESPONSE_BYTES,
    REQUEST_OBJECT_CONTENT_TYPE,
};
use crate::server::http::{media_type, no_store_json, read_body, too_large, BodyError};

const FORM: &str = "application/x-www-form-urlencoded";

type Shared = State<Arc<VerifierService>>;

fn fail(s: &VerifierService, e: &Oid4vpError) -> Response {
    if let Oid4vpError::ServerError { reason } = e {
        tracing::error!(reason = %reason, "verifier failure");
    }
    s.metrics.http.error(e.code());
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    no_store_json(status, e.to_json().to_string())
}

/// Reads a wallet's form body within `limit`: over it 413, a broken body
/// or another content type `invalid_request`.
async fn form_body(s: &VerifierService, headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let bytes = match read_body(headers, body, limit).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return Err(too_large()),
        Err(BodyError::Broken) => return Err(fail(s, &Oid4vpError::invalid("the body could not be read"))),
    };
    // A wallet may POST to the request_uri with no body and no type.
    if !(bytes.is_empty() || media_type(headers).as_deref() == Some(FORM)) {
        return Err(fail(s, &Oid4vpError::invalid("the content type must be application/x-www-form-urlencoded")));
    }
    Ok(bytes)
}

pub(crate) async fn request_object_get(State(s): Shared, Path(id): Path<String>) -> Response {
    request_object(&s, &id, None)
}

pub(crate) async fn request_object_post(
    State(s): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match form_body(&s, &headers, body, MAX_REQUEST_URI_POST_BYTES).await {
        Ok(bytes) => request_object(&s, &id, Some(&bytes)),
        Err(r) => r,
    }
}

fn request_object(s: &VerifierService, id: &str, post: Option<&[u8]>) -> Response {
    match s.oid4vp.request_object(&mut Locked(&s.transactions), id, post, UnixTime::now()) {
        Ok(object) => {
            tracing::info!(method = if post.is_some() { "post" } else { "get" }, "request object served");
            let mut r = (StatusCode::OK, object).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(REQUEST_OBJECT_CONTENT_TYPE));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => fail(s, &e),
    }
}

/// Whether transaction `state` would take a response now: only then are
/// its status lists worth fetching.
fn answerable(s: &VerifierService, state: &str) -> bool {
    let t = s.transactions.lock().get(state).ok().flatten();
    t.is_some_and(|t| matches!(t.phase, Phase::Served { .. }) && UnixTime::now() <= t.expires_at)
}

pub(crate) async fn response(State(s): Shared, headers: HeaderMap, body: Body) -> Response {
    let body = match form_body(&s, &headers, body, MAX_RESPONSE_BYTES).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let post = match DirectPost::from_form(&body) {
        Ok(p) => p,
        Err(e) => return fail(&s, &e),
    };
    if answerable(&s, post.state()) {
        // Off the async workers. The lists the credentials claim, without
        // their issuer signatures (checked once, by the verification): when
        // all are held fresh, nothing is fetched and nothing more is
        // checked here. Otherwise only references whose issuer signature
        // verifies are fetched.
        let (shared, p) = (s.clone(), post.clone());
        let needs = tokio::task::spawn_blocking(move || {
            let checks = shared.checks.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if all_fresh(&shared, &p.claimed_status_references(&checks)) {
                None
            } else {
                Some(p.status_references(&checks))
            }
        })
        .await
        .unwrap_or_default();
        if let Some(needs) = needs {
            ensure_fresh(&s, needs).await;
        }
    }
    let shared = s.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let checks = shared.checks.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let verdict = shared.oid4vp.direct_post(&mut Locked(&shared.transactions), &checks, &body, UnixTime::now());
        (verdict, start.elapsed())
    })
    .await;
    let (verdict, elapsed) = match checked {
        Ok(v) => v,
        Err(e) => return fail(&s, &Oid4vpError::ServerError { reason: format!("a worker failed: {e}") }),
    };
    match verdict {
        Ok(verdict) => {
            s.metrics.verdict(verdict.check(), elapsed);
            tracing::info!(
                verdict = if verdict.is_accepted() { "accepted" } else { "rejected" },
                check = verdict.check().unwrap_or("none"),
                "response checked"
            );
            s.done.notify_waiters();
            notify_webhook(&s, post.state(), verdict);
            no_store_json(StatusCode::OK, DIRECT_POST_ACK.to_owned())
        }
        Err(e) => fail(&s, &e),
    }
}

fn notify_webhook(s: &Arc<VerifierService>, request_id: &str, verdict: Verdict) {
    if s.config.webhook.is_none() {
        return;
    }
    let handle = s.handles.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(request_id);
    if let Some(handle) = handle {
        let body = transaction_json(&api_id(&handle), &Outcome::Done(verdict)).to_string();
        webhook::deliver(s, body);
    }
}
