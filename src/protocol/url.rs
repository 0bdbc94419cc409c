//! The URLs the protocols exchange: checked strictly, never normalized.
//!
//! OpenID4VCI requires `https` for the credential issuer identifier, its
//! endpoints and a `credential_offer_uri`; tests and local development run
//! on loopback, so `http` is accepted for a loopback host (`localhost`,
//! `127.0.0.0/8`, `[::1]`) and for nothing else. Identifiers are compared
//! byte for byte elsewhere, so this module only decides whether a string is
//! acceptable, and builds well-known URLs.

/// What the URL is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlUse {
    /// An identifier (credential issuer, authorization server): scheme,
    /// host, optional port and path; no query, no fragment.
    Identifier,
    /// An endpoint or a resource: a query is allowed, a fragment is not.
    Endpoint,
}

/// The most bytes a URL may have.
pub(crate) const MAX_URL_BYTES: usize = 2048;

/// A URL that passed [`check`]: its parts, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WebUrl<'a> {
    /// `https://` or `http://` (only to a loopback host).
    pub(crate) scheme: &'a str,
    /// Host and optional `:port`.
    pub(crate) authority: &'a str,
    /// The path, empty or starting with `/`.
    pub(crate) path: &'a str,
    /// The query without `?`, if any.
    pub(crate) query: Option<&'a str>,
}

/// Checks `s` as a URL of use `u`: `https://host[:port][/path][?query]`,
/// or `http://` to a loopback host; ASCII only, RFC 3986 characters, valid
/// percent escapes, no userinfo, a well-formed host and port.
pub(crate) fn check(s: &str, u: UrlUse) -> Result<WebUrl<'_>, &'static str> {
    if s.len() > MAX_URL_BYTES {
        return Err("the url is too long");
    }
    if !s.bytes().all(uri_char) {
        return Err("the url has a character a url may not have");
    }
    if !escapes_ok(s) {
        return Err("the url has a `%` that does not start a two-digit hex escape");
    }
    let (scheme, rest) = if let Some(rest) = s.strip_prefix("https://") {
        ("https://", rest)
    } else if let Some(rest) = s.strip_prefix("http://") {
        ("http://", rest)
    } else {
        return Err("the url is not https");
    };
    if rest.contains('#') {
        return Err("the url has a fragment");
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    if query.is_some() && u == UrlUse::Identifier {
        return Err("an identifier has no query");
    }
    let (authority, path) = before_query.find('/').map_or((before_query, ""), |i| before_query.split_at(i));
    if authority.contains('@') {
        return Err("the url has userinfo");
    }
    let host = host_of(authority)?;
    if scheme == "http://" && !is_loopback(host) {
        return Err("the url is not https (http is accepted only to a loopback host)");
    }
    Ok(WebUrl { scheme, authority, path, query })
}

/// The host of `host[:port]`, after checking both.
fn host_of(authority: &str) -> Result<&str, &'static str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or("the url's ipv6 host is not closed")?;
        let (host, rest) = authority.split_at(end + 1);
        let inner = &host[1..end];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return Err("the url's ipv6 host is malformed");
        }
        let port = match rest {
            "" => None,
            r => Some(r.strip_prefix(':').ok_or("the url's authority is malformed")?),
        };
        (host, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if let Some(port) = port {
        let ok = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p));
        if !ok {
            return Err("the url's port is malformed");
        }
    }
    if !host.starts_with('[') {
        let labels_ok = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty() && !l.starts_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err("the url's host is malformed");
        }
    }
    Ok(host)
}

/// `localhost`, an IPv4 address in `127.0.0.0/8`, or `[::1]`.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets.iter().all(|o| !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()))
        && octets.iter().all(|o| o.parse::<u16>().is_ok_and(|n| n <= 255))
}

/// RFC 3986 characters: unreserved, reserved and `%`.
fn uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().filter(|(_, c)| **c == b'%').all(|(i, _)| {
        b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

/// The well-known URL of `identifier` for `suffix`
/// (`openid-credential-issuer`, `oauth-authorization-server`,
/// `jwt-vc-issuer`): `/.well-known/<suffix>` inserted between the host and
/// the path, a terminating `/` of the path removed first (RFC 8414 §3.1,
/// OpenID4VCI §12.2.2).
pub(crate) fn well_known(identifier: &str, suffix: &str) -> Result<String, &'static str> {
    let u = check(identifier, UrlUse::Identifier)?;
    let path = u.path.strip_suffix('/').unwrap_or(u.path);
    Ok(format!("{}{}/.well-known/{suffix}{path}", u.scheme, u.authority))
}

/// `base` with `path` appended (`base`'s terminating `/` removed first).
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.strip_suffix('/').unwrap_or(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused() {
        for ok in [
            "https://bureau.example",
            "https://bureau.example/",
            "https://bureau.example:8443/tenant/a",
            "https://bureau.example/p%20q",
            "http://localhost:8080",
            "http://127.0.0.1:3000/x",
            "http://127.1.2.3",
            "http://[::1]:8080/x",
            "https://[2001:db8::1]/x",
        ] {
            assert!(check(ok, UrlUse::Identifier).is_ok(), "{ok}");
        }
        assert!(check("https://b.example/credential?tenant=1", UrlUse::Endpoint).is_ok());
        for bad in [
            "http://bureau.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "http://128.0.0.1",
            "http://127.0.0.256",
            "HTTPS://bureau.example",
            "ftp://bureau.example",
            "https://",
            "https://user@bureau.example",
            "https://bureau.example#frag",
            "https://bureau.example/a b",
            "https://bureau.example/%zz",
            "https://bureau.example:",
            "https://bureau.example:0",
            "https://bureau.example:65536",
            "https://bureau..example",
            "https://-bureau.example",
            "https://bureau_example",
            "https://[::1",
            "https://[::1]x",
            "https://b\u{e9}reau.example",
            "//bureau.example",
            "https://bureau.example?x=1",
        ] {
            assert!(check(bad, UrlUse::Identifier).is_err(), "{bad}");
        }
        assert!(check("https://bureau.example#x", UrlUse::Endpoint).is_err());
        assert!(check(&format!("https://b.example/{}", "a".repeat(MAX_URL_BYTES)), UrlUse::Endpoint).is_err());
    }

    #[test]
    fn well_known_urls() {
        let w = |id| well_known(id, "openid-credential-issuer").unwrap();
        assert_eq!(w("https://issuer.example.com"), "https://issuer.example.com/.well-known/openid-credential-issuer");
        assert_eq!(
            w("https://issuer.example.com/tenant"),
            "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"
        );
        assert_eq!(w("https://issuer.example.com/"), "https://issuer.example.com/.well-known/openid-credential-issuer");
        assert_eq!(w("http://127.0.0.1:8080/t/"), "http://127.0.0.1:8080/.well-known/openid-credential-issuer/t");
        assert!(well_known("http://bureau.example", "x").is_err());
        assert_eq!(join("https://b.example/", "/token"), "https://b.example/token");
        assert_eq!(join("https://b.example/t", "/token"), "https://b.example/t/token");
    }
}
