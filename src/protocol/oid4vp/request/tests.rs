use serde_json::{json, Map, Value};

use super::*;
use crate::protocol::dcql::ScoreAsk;

const CLIENT: &str = "redirect_uri:https://lender.example/response";
const RESPONSE_URI: &str = "https://lender.example/response";
const NONCE: &str = "n-0S6_WzA2Mj-0S6_WzA2Mj";

fn request(wallet_nonce: Option<&str>) -> AuthorizationRequest {
    let query = ScoreAsk::new().predicate("score>=650".parse().unwrap()).to_query("credit").unwrap();
    AuthorizationRequest::new(
        ClientId::parse(CLIENT).unwrap(),
        RESPONSE_URI.into(),
        NONCE.into(),
        Some("st-1".into()),
        query,
        wallet_nonce.map(str::to_owned),
    )
}

fn forge(header: &Value, payload: &Map<String, Value>, signature: &str) -> String {
    format!("{}.{}.{signature}", b64_encode(to_json(header)), b64_encode(to_json(&Value::Object(payload.clone()))))
}

fn unsigned(payload: &Map<String, Value>) -> String {
    forge(&json!({"alg": "none", "typ": REQUEST_OBJECT_TYP}), payload, "")
}

/// Checks a request object whose payload is the good one changed by `f`.
fn object_check(f: impl FnOnce(&mut Map<String, Value>)) -> &'static str {
    let mut claims = request(None).to_claims();
    f(&mut claims);
    let client = claims.get("client_id").and_then(Value::as_str).unwrap_or(CLIENT).to_owned();
    parse_request_object(&unsigned(&claims), &client, None).unwrap_err().check()
}

#[test]
fn by_value_by_reference_and_request_objects_round_trip() {
    let r = request(None);
    assert_eq!(parse_link(&r.to_link()).unwrap(), RequestLink::ByValue(r.clone()));
    let object = r.to_request_object().unwrap();
    assert!(object.ends_with('.'), "an unsigned request object has an empty signature");
    assert_eq!(parse_request_object(&object, CLIENT, None).unwrap(), r);
    let link = format!("{SCHEME}?client_id={}&request={object}", form::encode(CLIENT));
    assert_eq!(parse_link(&link).unwrap(), RequestLink::ByValue(r));
    let with_nonce = request(Some("wn-1"));
    assert_eq!(
        parse_request_object(&with_nonce.to_request_object().unwrap(), CLIENT, Some("wn-1")).unwrap(),
        with_nonce
    );

    let by_ref = link_by_reference(&ClientId::parse(CLIENT).unwrap(), "https://lender.example/request/abc");
    assert_eq!(
        by_ref,
        "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Flender.example%2Fresponse\
         &request_uri=https%3A%2F%2Flender.example%2Frequest%2Fabc&request_uri_method=post"
    );
    let RequestLink::ByReference(reference) = parse_link(&by_ref).unwrap() else { panic!("by reference") };
    assert_eq!((reference.client_id.as_str(), reference.method), (CLIENT, RequestUriMethod::Post));
    let get = format!("{SCHEME}?client_id=x&request_uri=https%3A%2F%2Fl.example%2Fr");
    assert!(matches!(
        parse_link(&get).unwrap(),
        RequestLink::ByReference(RequestReference { method: RequestUriMethod::Get, .. })
    ));
}

#[test]
fn client_identifier_and_wallet_nonce() {
    let object = request(None).to_request_object().unwrap();
    assert_eq!(
        parse_request_object(&object, "redirect_uri:https://other.example/response", None).unwrap_err().check(),
        "oid4vp.client_id_mismatch"
    );
    assert_eq!(
        parse_request_object(&object, "https://lender.example/response", None).unwrap_err().check(),
        "oid4vp.client_id_mismatch"
    );
    assert_eq!(parse_request_object(&object, CLIENT, Some("wn-1")).unwrap_err().check(), "oid4vp.wallet_nonce");
    let other = request(Some("wn-2")).to_request_object().unwrap();
    assert_eq!(parse_request_object(&other, CLIENT, Some("wn-1")).unwrap_err().check(), "oid4vp.wallet_nonce");
    // An unsigned request claiming a prefix that must sign: by value and
    // as a request object.
    let x509 = |claims: &mut Map<String, Value>| {
        claims.insert("client_id".into(), json!("x509_san_dns:lender.example"));
    };
    assert_eq!(object_check(x509), "oid4vp.request_signature");
    let mut claims = request(None).to_claims();
    x509(&mut claims);
    let texts: Vec<(String, String)> =
        claims.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect();
    let fields: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let link = format!("{SCHEME}?{}", form::encode_fields(&fields));
    assert_eq!(parse_link(&link).unwrap_err().check(), "oid4vp.request_signature");
    // Signed: redirect_uri: cannot be; x509_san_dns: needs x5c, then the
    // verifier trust anchors this parse has none of (src/protocol/oid4vp/x509/tests.rs).
    let header = json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP});
    let signed = forge(&header, &request(None).to_claims(), "c2ln");
    assert_eq!(parse_request_object(&signed, CLIENT, None).unwrap_err().check(), "oid4vp.request_signature");
    let mut claims = request(None).to_claims();
    x509(&mut claims);
    claims.insert("response_uri".into(), json!("https://lender.example/post"));
    let x = "x509_san_dns:lender.example";
    let no_chain = forge(&header, &claims, "c2ln");
    assert_eq!(parse_request_object(&no_chain, x, None).unwrap_err().check(), "oid4vp.request_signature");
    let chain = forge(&json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "x5c": ["MIIB"]}), &claims, "c2ln");
    assert_eq!(parse_request_object(&chain, x, None).unwrap_err().check(), "oid4vp.client_auth.no_trust_anchors");
    claims.insert("response_uri".into(), json!("https://evil.example/post"));
    let elsewhere = forge(&json!({"alg": "ES256", "typ": REQUEST_OBJECT_TYP, "x5c": ["MIIB"]}), &claims, "c2ln");
    assert_eq!(parse_request_object(&elsewhere, x, None).unwrap_err().check(), "oid4vp.response_uri");
}

#[test]
fn request_parameters_refused() {
    let set = |k: &'static str, v: Value| {
        move |c: &mut Map<String, Value>| {
            c.insert(k.into(), v);
        }
    };
    let drop = |k: &'static str| {
        move |c: &mut Map<String, Value>| {
            c.remove(k);
        }
    };
    assert_eq!(object_check(set("response_uri", json!("http://lender.example/response"))), "oid4vp.response_uri");
    assert_eq!(object_check(set("response_uri", json!("https://lender.example/other"))), "oid4vp.response_uri");
    assert_eq!(
        object_check(set("client_id", json!("redirect_uri:http://lender.example/response"))),
        "oid4vp.client_id_prefix"
    );
    assert_eq!(object_check(set("client_id", json!("lender"))), "oid4vp.client_id_prefix");
    assert_eq!(object_check(set("redirect_uri", json!(RESPONSE_URI))), "oid4vp.invalid_request");
    assert_eq!(object_check(set("transaction_data", json!(["e30"]))), "oid4vp.invalid_transaction_data");
    assert_eq!(object_check(set("scope", json!("credit"))), "oid4vp.invalid_request");
    assert_eq!(object_check(set("response_mode", json!("direct_post.jwt"))), "oid4vp.invalid_request");
    assert_eq!(object_check(set("response_type", json!("vp_token id_token"))), "oid4vp.invalid_request");
    assert_eq!(object_check(set("nonce", json!("short"))), "oid4vp.invalid_request");
    assert_eq!(object_check(set("nonce", json!("n o n c e n o n c e n o n c e"))), "oid4vp.invalid_request");
    assert_eq!(object_check(set("state", json!("a/b"))), "oid4vp.invalid_request");
    assert_eq!(object_check(drop("dcql_query")), "oid4vp.invalid_request");
    assert_eq!(object_check(drop("nonce")), "oid4vp.invalid_request");
    assert_eq!(object_check(drop("client_metadata")), "oid4vp.invalid_client");
    assert_eq!(
        object_check(set("client_metadata", json!({"vp_formats_supported": {"mso_mdoc": {}}}))),
        "oid4vp.vp_formats_not_supported"
    );
    let unknown_op = |c: &mut Map<String, Value>| {
        c["dcql_query"]["credentials"][0]["claims"][0]["creditproof_predicate"] = json!({"op": "gt", "value": 650});
    };
    assert_eq!(object_check(unknown_op), "oid4vp.invalid_request");
    // The request object's own header.
    let claims = request(None).to_claims();
    for (header, sig) in [
        (json!({"alg": "none"}), ""),
        (json!({"alg": "none", "typ": "JWT"}), ""),
        (json!({"alg": "none", "typ": REQUEST_OBJECT_TYP}), "c2ln"),
        (json!({"typ": REQUEST_OBJECT_TYP}), ""),
    ] {
        assert_eq!(
            parse_request_object(&forge(&header, &claims, sig), CLIENT, None).unwrap_err().check(),
            "oid4vp.invalid_request",
            "{header}"
        );
    }
    assert!(parse_request_object(
        &forge(&json!({"alg": "none", "typ": "application/oauth-authz-req+jwt"}), &claims, ""),
        CLIENT,
        None
    )
    .is_ok());
    for bad in ["a.b", "a.b.c.d", ".e30.", "!!.e30."] {
        assert_eq!(parse_request_object(bad, CLIENT, None).unwrap_err().check(), "oid4vp.invalid_request", "{bad}");
    }
}

#[test]
fn links_refused() {
    let check = |link: &str| parse_link(link).unwrap_err().check();
    let by_ref = "openid4vp://?client_id=c&request_uri=https%3A%2F%2Fl.example%2Fr";
    assert_eq!(check(&format!("{by_ref}&request_uri_method=put")), "oid4vp.invalid_request_uri_method");
    assert_eq!(check(&format!("{by_ref}&request_uri_method=POST")), "oid4vp.invalid_request_uri_method");
    assert_eq!(check("openid4vp://?client_id=c&request_uri=http%3A%2F%2Fl.example%2Fr"), "oid4vp.invalid_request");
    assert_eq!(check("openid4vp://?request_uri=https%3A%2F%2Fl.example%2Fr"), "oid4vp.invalid_request");
    assert_eq!(check(&format!("{by_ref}&request=a.b.")), "oid4vp.invalid_request");
    assert_eq!(check(&format!("{by_ref}&client_id=d")), "oid4vp.invalid_request");
    assert_eq!(check("openid4vp://?client_id=c&request_uri_method=post"), "oid4vp.invalid_request");
    assert_eq!(check("openid4vp://"), "oid4vp.invalid_request");
    assert_eq!(check(&format!("{by_ref}#frag")), "oid4vp.invalid_request");
    assert!(parse_link("openid4vp://?client_id=c&request_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fr").is_ok());
}
