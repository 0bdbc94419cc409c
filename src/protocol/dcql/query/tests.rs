use serde_json::json;

use super::*;

/// Sets the member or element at a JSON pointer, creating a missing member.
fn set(v: &mut Value, pointer: &str, new: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let parent = if parent.is_empty() { v } else { v.pointer_mut(parent).unwrap() };
    match last.parse::<usize>() {
        Ok(i) => parent[i] = new,
        Err(_) => parent[last] = new,
    }
}

fn parse(v: Value) -> Result<DcqlQuery, &'static str> {
    DcqlQuery::from_json(v.to_string().as_bytes()).map_err(|e| e.check())
}

fn base() -> Value {
    json!({"credentials": [{"id": "credit", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:creditproof:score:2"]},
        "claims": [{"id": "t", "path": ["tier"]}, {"id": "p", "path": ["perks", "no_deposit_rental"], "values": [true]}]}]})
}

#[test]
fn round_trip_with_every_member() {
    let v = json!({
        "credentials": [
            {"id": "a", "format": "dc+sd-jwt", "multiple": true, "meta": {"vct_values": ["urn:x"]},
             "trusted_authorities": [{"type": "openid_federation", "values": ["https://ta.example"]}],
             "require_cryptographic_holder_binding": false,
             "claims": [{"id": "x", "path": ["items", null, 0]}, {"id": "y", "path": ["n"], "values": ["s", 3, false]}],
             "claim_sets": [["y"], ["x", "y"]]},
            {"id": "b-2", "format": "mso_mdoc", "meta": {"doctype_value": "org.iso.18013.5.1.mDL"}}
        ],
        "credential_sets": [{"options": [["a"], ["b-2"]]}, {"options": [["a", "b-2"]], "required": false}]
    });
    let q = parse(v.clone()).unwrap();
    let c = &q.credentials()[0];
    assert!(c.allows_multiple() && !c.requires_holder_binding());
    assert_eq!(c.claims()[0].path(), [PathElement::Key("items".into()), PathElement::All, PathElement::Index(0)]);
    assert_eq!(c.claims()[1].claim_values()[1], ClaimValue::Integer(3));
    assert!(!q.credential_sets()[1].is_required());
    // The mdoc query keeps its format; its meta is not creditproof's.
    let mut expected = v;
    expected["credentials"][1]["meta"] = json!({});
    assert_eq!(q.to_json(), expected);
    assert_eq!(parse(q.to_json()).unwrap(), q);
}

#[test]
fn unknown_members_ignored_but_not_ours() {
    let mut v = base();
    v["future"] = json!(1);
    v["credentials"][0]["claims"][0]["intent_to_retain"] = json!(true);
    assert!(parse(v).is_ok());
    for at in ["/", "/credentials/0", "/credentials/0/meta", "/credentials/0/claims/0"] {
        let mut v = base();
        let target = if at == "/" { &mut v } else { v.pointer_mut(at).unwrap() };
        target["creditproof_tier3"] = json!({});
        assert_eq!(parse(v), Err("dcql.unknown_extension"), "{at}");
    }
}

#[test]
fn shapes_refused() {
    for (pointer, bad, check) in [
        ("/credentials", json!([]), "dcql.malformed"),
        ("/credentials/0/id", json!("a b"), "dcql.malformed"),
        ("/credentials/0/id", json!(""), "dcql.malformed"),
        ("/credentials/0/format", json!(7), "dcql.malformed"),
        ("/credentials/0/meta", json!({}), "dcql.malformed"),
        ("/credentials/0/meta/vct_values", json!([]), "dcql.malformed"),
        ("/credentials/0/meta/vct_values", json!([1]), "dcql.malformed"),
        ("/credentials/0/multiple", json!("yes"), "dcql.malformed"),
        ("/credentials/0/claims", json!([]), "dcql.malformed"),
        ("/credentials/0/claims/0/path", json!([]), "dcql.malformed"),
        ("/credentials/0/claims/0/path", json!([-1]), "dcql.malformed"),
        ("/credentials/0/claims/0/path", json!([1.5]), "dcql.malformed"),
        ("/credentials/0/claims/0/path", json!([{}]), "dcql.malformed"),
        ("/credentials/0/claims/0/path", json!(["a", "b", "c", "d", "e", "f", "g", "h", "i"]), "dcql.limit"),
        ("/credentials/0/claims/0/values", json!([]), "dcql.malformed"),
        ("/credentials/0/claims/0/values", json!([1.5]), "dcql.malformed"),
        ("/credentials/0/claims/0/values", json!([null]), "dcql.malformed"),
        ("/credentials/0/claims/0/values", json!([{}]), "dcql.malformed"),
        ("/credentials/0/trusted_authorities", json!([{"type": "aki", "values": []}]), "dcql.malformed"),
        ("/credentials/0/trusted_authorities", json!([{"values": ["x"]}]), "dcql.malformed"),
    ] {
        let mut v = base();
        set(&mut v, pointer, bad.clone());
        assert_eq!(parse(v), Err(check), "{pointer} = {bad}");
    }
    assert_eq!(parse(json!([])), Err("dcql.malformed"));
    assert_eq!(DcqlQuery::from_json(br#"{"credentials":[],"credentials":[]}"#).unwrap_err().check(), "dcql.malformed");
    let big = format!("{{\"credentials\":[],\"x\":\"{}\"}}", "a".repeat(MAX_QUERY_BYTES));
    assert_eq!(DcqlQuery::from_json(big.as_bytes()).unwrap_err().check(), "dcql.limit");
    let many: Vec<Value> = (0..17).map(|i| json!({"id": format!("c{i}"), "format": "mso_mdoc", "meta": {}})).collect();
    assert_eq!(parse(json!({"credentials": many})), Err("dcql.limit"));
}

#[test]
fn consistency_refused() {
    let with = |pointer: &str, v: Value| {
        let mut q = base();
        set(&mut q, pointer, v);
        parse(q)
    };
    let mut two = base();
    let first = two["credentials"][0].clone();
    two["credentials"].as_array_mut().unwrap().push(first);
    assert_eq!(parse(two), Err("dcql.invalid"), "repeated credential id");
    assert_eq!(with("/credentials/0/claims/1/id", json!("t")), Err("dcql.invalid"), "repeated claim id");
    assert_eq!(with("/credentials/0/claims/1/path", json!(["tier"])), Err("dcql.invalid"), "repeated path");
    assert_eq!(
        with("/credentials/0/claims/0", json!({"path": ["perks"], "values": [true]})),
        Err("dcql.invalid"),
        "values on a claim with another below it"
    );
    assert_eq!(
        with(
            "/credentials/0/claims/1",
            json!({"path": ["range", "score"], "values": [1], "creditproof_predicate": {"op": "gte", "value": 1}})
        ),
        Err("dcql.invalid"),
        "values and a predicate"
    );
    let mut sets = base();
    sets["credentials"][0]["claim_sets"] = json!([["t"], ["nope"]]);
    assert_eq!(parse(sets), Err("dcql.invalid"), "undefined claim id");
    let mut sets = base();
    sets["credentials"][0]["claim_sets"] = json!([["t"]]);
    sets["credentials"][0]["claims"][1].as_object_mut().unwrap().remove("id");
    assert_eq!(parse(sets), Err("dcql.invalid"), "claim_sets with an id-less claim");
    let mut sets = base();
    sets["credentials"][0]["claim_sets"] = json!([[]]);
    assert_eq!(parse(sets), Err("dcql.malformed"), "an empty claim set");
    let mut cs = base();
    cs["credential_sets"] = json!([{"options": [["credit"], ["other"]]}]);
    assert_eq!(parse(cs), Err("dcql.invalid"), "undefined credential id");
    let mut cs = base();
    cs["credential_sets"] = json!([{"options": []}]);
    assert_eq!(parse(cs), Err("dcql.malformed"));
    let mut cs = base();
    cs["credential_sets"] = json!([{"options": [["credit"]], "required": "no"}]);
    assert_eq!(parse(cs), Err("dcql.malformed"));
    // Built in code, the same rules hold.
    let c = CredentialQuery::sd_jwt("c", vec![]);
    assert_eq!(DcqlQuery::new(vec![c], vec![]).unwrap_err().check(), "dcql.invalid");
}

#[test]
fn value_matching_is_exact() {
    assert!(ClaimValue::Integer(3).matches(&json!(3)));
    assert!(!ClaimValue::Integer(3).matches(&json!(3.0)));
    assert!(!ClaimValue::Integer(3).matches(&json!("3")));
    assert!(!ClaimValue::String("3".into()).matches(&json!(3)));
    assert!(ClaimValue::Bool(true).matches(&json!(true)));
    assert!(!ClaimValue::Bool(true).matches(&json!(1)));
}
