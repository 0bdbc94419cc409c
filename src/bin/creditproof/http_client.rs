//! The CLI's HTTP client (ureq, rustls on ring), bounded the way a wallet
//! talking to an untrusted issuer must be: every URL checked (`https`, or
//! `http` to a loopback host only), responses read up to a limit, a global
//! timeout per request, and redirects followed only within the same origin
//! (a `GET`, at most three); a `POST` never follows one.

use std::time::Duration;

use creditproof::oid4vci::{check_fetch_url, origin_of, PostRequest};

use crate::files::CliError;

/// The most redirects a `GET` follows.
const MAX_REDIRECTS: usize = 3;

/// A response: status and body (within the limit).
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The client.
pub struct Http {
    agent: ureq::Agent,
    /// Print each exchange (`GET /path → 200`), for `demo --over-http`.
    trace: bool,
}

fn failed(url: &str, e: &ureq::Error) -> CliError {
    match e {
        ureq::Error::BodyExceedsLimit(n) => CliError(format!("{url}: the response is larger than {n} bytes")),
        ureq::Error::Timeout(_) => CliError(format!("{url}: timed out")),
        e => CliError(format!("{url}: {e}")),
    }
}

impl Http {
    /// A client whose requests each time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("creditproof/", env!("CARGO_PKG_VERSION")))
            .build();
        Self { agent: config.into(), trace: false }
    }

    /// The same client, printing one line per exchange: method, path and
    /// status. The query is left out, and an offer's id (a bearer
    /// capability) shown as `…`.
    pub fn traced(mut self) -> Self {
        self.trace = true;
        self
    }

    fn show(&self, method: &str, url: &str, status: u16) {
        if self.trace {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            let path = rest.find('/').map_or("/", |i| &rest[i..]);
            let path = path.split(['?', '#']).next().unwrap_or_default();
            let path = match path.find("/credential-offer/") {
                Some(i) => format!("{}/credential-offer/…", &path[..i]),
                None => path.to_owned(),
            };
            println!("  {method} {path} -> {status}");
        }
    }

    /// `GET url` (JSON or any `accept`ed type), following same-origin
    /// redirects; the body is read up to `limit` bytes.
    pub fn get(&self, url: &str, accept: &str, limit: u64) -> Result<Answer, CliError> {
        let origin = origin_of(url);
        let mut url = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            check_fetch_url(&url).map_err(|e| CliError(format!("{url}: {e}")))?;
            let mut resp = self.agent.get(&url).header("Accept", accept).call().map_err(|e| failed(&url, &e))?;
            let status = resp.status().as_u16();
            self.show("GET", &url, status);
            if (300..400).contains(&status) {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| CliError(format!("{url}: a redirect without a location")))?;
                let next = if location.starts_with('/') {
                    format!("{}{location}", origin.clone().unwrap_or_default())
                } else {
                    location.to_owned()
                };
                if origin_of(&next).is_none() || origin_of(&next) != origin {
                    return Err(CliError(format!("{url}: refused a redirect to another host")));
                }
                url = next;
                continue;
            }
            let body = resp.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| failed(&url, &e))?;
            return Ok(Answer { status, body });
        }
        Err(CliError(format!("{url}: too many redirects")))
    }

    /// Sends the wallet's `POST`; a redirect is refused.
    pub fn post(&self, req: &PostRequest, limit: u64) -> Result<Answer, CliError> {
        let url = req.url.as_str();
        check_fetch_url(url).map_err(|e| CliError(format!("{url}: {e}")))?;
        let mut builder = self.agent.post(url).header("Accept", "application/json");
        if let Some(ct) = req.content_type {
            builder = builder.header("Content-Type", ct);
        }
        if let Some(auth) = &req.authorization {
            builder = builder.header("Authorization", auth.as_str());
        }
        let result = if req.body.is_empty() { builder.send_empty() } else { builder.send(req.body.as_bytes()) };
        let mut resp = result.map_err(|e| failed(url, &e))?;
        let status = resp.status().as_u16();
        self.show("POST", url, status);
        if (300..400).contains(&status) {
            return Err(CliError(format!("{url}: refused a redirect (status {status})")));
        }
        let body = resp.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| failed(url, &e))?;
        Ok(Answer { status, body })
    }
}

impl Http {
    /// Sends a request without following any redirect (OpenID4VP's
    /// `request_uri` and `response_uri`, the verifier service's API): a
    /// redirect is an error. `headers` are added as given (an
    /// `Authorization` header among them is a secret: never printed).
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        limit: u64,
    ) -> Result<Answer, CliError> {
        check_fetch_url(url).map_err(|e| CliError(format!("{url}: {e}")))?;
        let result = match method {
            "GET" => {
                let mut b = self.agent.get(url);
                for (k, v) in headers {
                    b = b.header(*k, *v);
                }
                b.call()
            }
            "POST" => {
                let mut b = self.agent.post(url);
                for (k, v) in headers {
                    b = b.header(*k, *v);
                }
                match body {
                    Some(body) if !body.is_empty() => b.send(body),
                    _ => b.send_empty(),
                }
            }
            other => return Err(CliError(format!("{url}: unsupported method {other}"))),
        };
        let mut resp = result.map_err(|e| failed(url, &e))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(CliError(format!("{url}: refused a redirect (status {status})")));
        }
        let body = resp.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| failed(url, &e))?;
        Ok(Answer { status, body })
    }
}

/// The verifier service's outgoing requests (status lists, issuer
/// metadata, the webhook) go through the same bounded client: loopback-only
/// `http`, size and time limits, same-origin redirects for a `GET` only.
impl creditproof::server::verifier::Fetch for Http {
    fn get(&self, url: &str, accept: &str, limit: u64) -> Result<creditproof::server::verifier::Fetched, String> {
        Http::get(self, url, accept, limit)
            .map(|a| creditproof::server::verifier::Fetched { status: a.status, body: a.body })
            .map_err(|e| e.0)
    }

    fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        limit: u64,
    ) -> Result<creditproof::server::verifier::Fetched, String> {
        let mut all = vec![("Content-Type", content_type)];
        all.extend_from_slice(headers);
        self.send("POST", url, &all, Some(body), limit)
            .map(|a| creditproof::server::verifier::Fetched { status: a.status, body: a.body })
            .map_err(|e| e.0)
    }
}
