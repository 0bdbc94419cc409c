//! The token endpoint (OpenID4VCI §6, RFC 6749 §4.1.3 and §5) and the
//! bearer token of the credential endpoint (RFC 6750 §2.1).
//!
//! ```text
//! POST /token   Content-Type: application/x-www-form-urlencoded
//! grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=…&tx_code=493536
//!
//! 200  Cache-Control: no-store
//! {"access_token": "…", "token_type": "Bearer", "expires_in": 600}
//! ```

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::format::encoding::{parse_json_object, to_json};
use crate::protocol::form;
use crate::protocol::oid4vci::error::{GrantProblem, Oid4vciError, TokenProblem, WalletError};
use crate::protocol::oid4vci::offer::PRE_AUTHORIZED_GRANT;
use crate::protocol::oid4vci::secret::{AccessToken, PreAuthorizedCode, TxCode, MAX_SECRET_BYTES};
use crate::Limits;

/// The most bytes of a token request body the issuer reads.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;
/// The most fields of a token request body.
const MAX_TOKEN_REQUEST_FIELDS: usize = 32;

/// A token request of the pre-authorized code flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    code: PreAuthorizedCode,
    tx_code: Option<TxCode>,
}

impl TokenRequest {
    /// A request exchanging `code` (and the transaction code the holder
    /// entered, when the offer asks for one).
    pub fn new(code: PreAuthorizedCode, tx_code: Option<TxCode>) -> Self {
        Self { code, tx_code }
    }

    /// The pre-authorized code.
    pub fn code(&self) -> &PreAuthorizedCode {
        &self.code
    }

    /// The transaction code, if sent.
    pub fn tx_code(&self) -> Option<&TxCode> {
        self.tx_code.as_ref()
    }

    /// The form body to `POST` (`Content-Type:
    /// application/x-www-form-urlencoded`). It holds the codes: the buffer
    /// zeroizes on drop.
    pub fn to_form(&self) -> Zeroizing<String> {
        let mut fields = vec![("grant_type", PRE_AUTHORIZED_GRANT), ("pre-authorized_code", self.code.expose_secret())];
        if let Some(tx) = &self.tx_code {
            fields.push(("tx_code", tx.expose_secret()));
        }
        Zeroizing::new(form::encode_fields(&fields))
    }

    /// Reads a token request body, strictly: a bounded form without
    /// repeated fields (`invalid_request`), the pre-authorized code grant
    /// (`unsupported_grant_type` for another), a `pre-authorized_code`.
    /// An empty value counts as absent (RFC 6749 §3.1). Parameters this
    /// issuer does not use — `client_id`, `resource`,
    /// `authorization_details`, `scope`, the draft-era `user_pin` — are
    /// ignored.
    pub fn from_form(body: &[u8]) -> Result<Self, Oid4vciError> {
        let fields = form::parse(body, MAX_TOKEN_REQUEST_BYTES, MAX_TOKEN_REQUEST_FIELDS).map_err(|e| {
            Oid4vciError::InvalidRequest {
                reason: match e {
                    form::FormError::Duplicate => "a parameter is repeated",
                    form::FormError::TooLarge | form::FormError::TooManyFields => "the body is too large",
                    _ => "the body is not a well-formed form",
                },
            }
        })?;
        let get = |k: &str| fields.get(k).map(|v| v.as_str()).filter(|v| !v.is_empty());
        match get("grant_type") {
            None => return Err(Oid4vciError::InvalidRequest { reason: "grant_type is missing" }),
            Some(PRE_AUTHORIZED_GRANT) => {}
            Some(_) => return Err(Oid4vciError::UnsupportedGrantType),
        }
        let code = get("pre-authorized_code")
            .ok_or(Oid4vciError::InvalidRequest { reason: "pre-authorized_code is missing" })?;
        if code.len() > MAX_SECRET_BYTES {
            return Err(Oid4vciError::InvalidGrant(GrantProblem::Unknown));
        }
        let tx_code = match get("tx_code") {
            Some(t) if t.len() > MAX_SECRET_BYTES => {
                return Err(Oid4vciError::InvalidRequest { reason: "tx_code is too long" })
            }
            t => t.map(TxCode::new),
        };
        Ok(Self { code: PreAuthorizedCode::new(code), tx_code })
    }
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    access_token: AccessToken,
    expires_in: Option<u64>,
    credential_identifiers: Vec<String>,
}

impl TokenResponse {
    pub(crate) fn new(access_token: AccessToken, expires_in: u64) -> Self {
        Self { access_token, expires_in: Some(expires_in), credential_identifiers: Vec::new() }
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// Seconds until the token expires, if the server said.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// The `credential_identifiers` of an `openid_credential` entry of
    /// `authorization_details`, when the server returned one: the wallet
    /// must then name one in its credential request.
    pub fn credential_identifiers(&self) -> &[String] {
        &self.credential_identifiers
    }

    /// The JSON body (answer with `Cache-Control: no-store`). It holds the
    /// token: the buffer zeroizes on drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut v = json!({"access_token": self.access_token.expose_secret(), "token_type": "Bearer"});
        if let Some(e) = self.expires_in {
            v["expires_in"] = json!(e);
        }
        Zeroizing::new(to_json(&v))
    }

    /// Reads a token response: a bearer `access_token` (`token_type`
    /// compared case-insensitively, RFC 6749 §7.1), an optional integer
    /// `expires_in`. Unknown members are ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Self, WalletError> {
        let what = "the token response";
        if bytes.len() > MAX_TOKEN_REQUEST_BYTES {
            return Err(WalletError::malformed(what, "too large"));
        }
        let m = parse_json_object(bytes, &Limits::default().with_max_json_depth(8), "token response")
            .map_err(|e| WalletError::malformed(what, e))?;
        let token = m
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| is_b64token(t))
            .ok_or_else(|| WalletError::malformed(what, "no well-formed `access_token`"))?;
        match m.get("token_type").and_then(Value::as_str) {
            Some(t) if t.eq_ignore_ascii_case("bearer") => {}
            _ => return Err(WalletError::Unsupported { reason: "a token_type other than Bearer" }),
        }
        let expires_in = match m.get("expires_in") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| WalletError::malformed(what, "`expires_in` is not an integer"))?),
        };
        let credential_identifiers = m
            .get("authorization_details")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|d| d.get("type").and_then(Value::as_str) == Some("openid_credential")))
            .and_then(|d| d.get("credential_identifiers"))
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self { access_token: AccessToken::new(token), expires_in, credential_identifiers })
    }
}

/// The `Authorization` header value that presents `token`.
pub fn bearer_header(token: &AccessToken) -> Zeroizing<String> {
    Zeroizing::new(format!("Bearer {}", token.expose_secret()))
}

/// Reads the `Authorization` header of a credential request: absent, or of
/// another scheme, is [`TokenProblem::Missing`] (RFC 6750 §3.1: no error
/// code in the challenge); `Bearer` with anything but one well-formed
/// token is [`TokenProblem::Malformed`]. The scheme is case-insensitive.
pub(crate) fn parse_bearer(authorization: Option<&str>) -> Result<AccessToken, Oid4vciError> {
    let missing = Oid4vciError::InvalidToken(TokenProblem::Missing);
    let malformed = Oid4vciError::InvalidToken(TokenProblem::Malformed);
    let header = authorization.ok_or(missing.clone())?;
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing);
    }
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(malformed);
    }
    Ok(AccessToken::new(token))
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
/// "+" / "/" ) *"="`, here also at most 512 bytes.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && t.len() <= MAX_SECRET_BYTES
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests() {
        let r = TokenRequest::new(PreAuthorizedCode::new("c0de"), Some(TxCode::new("493536")));
        let form = r.to_form();
        assert_eq!(
            form.as_str(),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=c0de&tx_code=493536"
        );
        assert_eq!(TokenRequest::from_form(form.as_bytes()).unwrap(), r);
        // What clients add is ignored; an empty value is absent.
        let extra = format!(
            "{}&client_id=wallet&resource=https%3A%2F%2Fbureau.example&user_pin=1&authorization_details=%5B%5D",
            form.as_str()
        );
        assert_eq!(TokenRequest::from_form(extra.as_bytes()).unwrap(), r);
        let no_tx = "grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code&pre-authorized_code=c0de&tx_code=";
        assert_eq!(TokenRequest::from_form(no_tx.as_bytes()).unwrap().tx_code(), None);
        let err = |b: &str| TokenRequest::from_form(b.as_bytes()).unwrap_err();
        assert_eq!(err("").code(), "invalid_request");
        assert_eq!(err("grant_type=authorization_code&code=x").code(), "unsupported_grant_type");
        assert_eq!(err("grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code").code(), "invalid_request");
        assert_eq!(err(&format!("{}&tx_code=1", form.as_str())).code(), "invalid_request");
        assert_eq!(err("grant_type=x&&y=1").code(), "invalid_request");
        assert_eq!(err(&"a=b&".repeat(40)).code(), "invalid_request");
    }

    #[test]
    fn token_responses_and_bearer_headers() {
        let r = TokenResponse::new(AccessToken::new("tok.en-_~+/=="), 600);
        let back = TokenResponse::from_json(r.to_json().as_bytes()).unwrap();
        assert_eq!(back, r);
        let h = bearer_header(r.access_token());
        assert_eq!(parse_bearer(Some(&h)).unwrap(), *r.access_token());
        assert_eq!(parse_bearer(Some("bEaReR   tok")).unwrap(), AccessToken::new("tok"));
        let problem = |h: Option<&str>| match parse_bearer(h) {
            Err(Oid4vciError::InvalidToken(p)) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(problem(None), TokenProblem::Missing);
        assert_eq!(problem(Some("Basic dXNlcjpwYXNz")), TokenProblem::Missing);
        assert_eq!(problem(Some("DPoP tok")), TokenProblem::Missing);
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer ===", "Bearer t\u{e9}", "Bearer a=b"] {
            assert_eq!(problem(Some(bad)), TokenProblem::Malformed, "{bad}");
        }
        let long = format!("Bearer {}", "a".repeat(513));
        assert_eq!(problem(Some(&long)), TokenProblem::Malformed);
        for bad in [
            r#"{"access_token":"t","token_type":"DPoP"}"#,
            r#"{"access_token":"t"}"#,
            r#"{"access_token":"a b","token_type":"Bearer"}"#,
            r#"{"access_token":"t","token_type":"Bearer","expires_in":"600"}"#,
            r#"{"access_token":"t","access_token":"u","token_type":"Bearer"}"#,
        ] {
            assert!(TokenResponse::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
