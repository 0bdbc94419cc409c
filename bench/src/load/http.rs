//! A small HTTP/1.1 client for loopback services (ureq, keep-alive, no
//! redirects, bodies bounded), and how its failures are counted.

use std::time::Duration;

/// The most bytes of any answer.
const LIMIT: u64 = 4 * 1024 * 1024;

/// A response.
pub(crate) struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// One wallet's (or relying party's) connection pool.
pub(crate) struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// A client whose requests time out after 60 s.
    pub(crate) fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent("creditproof-bench-load")
            .build();
        Self { agent: config.into() }
    }

    /// Sends `method url` with `headers` and `body`; `Err` is a transport
    /// failure, named for the error table.
    pub(crate) fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Answer, String> {
        let result = if method == "GET" {
            let mut b = self.agent.get(url);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.call()
        } else {
            let mut b = self.agent.post(url);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            match body {
                Some(body) if !body.is_empty() => b.send(body),
                _ => b.send_empty(),
            }
        };
        let mut resp = result.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(LIMIT).read_to_vec().map_err(|e| transport(&e))?;
        Ok(Answer { status, body })
    }
}

fn transport(e: &ureq::Error) -> String {
    let kind = match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(io) => return format!("transport: {:?}", io.kind()),
        ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::BodyExceedsLimit(_) => "body too large",
        _ => "other",
    };
    format!("transport: {kind}")
}

/// The error-table key of a non-2xx answer: the status and the body's
/// `error` code (`400 invalid_nonce`).
pub(crate) fn error_key(a: &Answer) -> String {
    let code = serde_json::from_slice::<serde_json::Value>(&a.body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "-".into());
    format!("{} {code}", a.status)
}

/// Decodes `application/x-www-form-urlencoded` text.
pub(crate) fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The value of `name` in a form body.
pub(crate) fn form_field(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (form_decode(k)? == name).then(|| form_decode(v)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode() {
        let body = "vp_token=%7B%22a%22%3A%5B%22x~y%22%5D%7D&state=s+1";
        assert_eq!(form_field(body, "vp_token").as_deref(), Some("{\"a\":[\"x~y\"]}"));
        assert_eq!(form_field(body, "state").as_deref(), Some("s 1"));
        assert_eq!(form_field(body, "nope"), None);
        assert_eq!(form_decode("%zz"), None);
    }
}
