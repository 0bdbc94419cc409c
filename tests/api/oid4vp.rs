//! OpenID4VP + DCQL without sockets: a lender and a wallet in process, the
//! Tier-1/Tier-2 negotiation, and every named bad input with the check it
//! must fail.

use creditproof::dcql::*;
use creditproof::oid4vp::*;
use creditproof::status_list::StatusList;
use creditproof::{
    Claims, Grid, HolderSigningKey, Issuer, IssuerConfig, IssuerSigningKey, Limits, PresentOptions,
    PresentationRequest, StatusRef, TrustStore, UnixTime, Verifier, Wallet, DAY,
};
use serde_json::{json, Value};

use crate::fixture::{split, Fixture, FIXTURE_STATUS_URI, ISS, NOW};

const CLIENT: &str = "redirect_uri:https://lender.example/response";
const RESPONSE_URI: &str = "https://lender.example/response";

fn score_claims() -> Claims {
    let mut c = Claims::new();
    c.commit("score", 712, 950).unwrap();
    c.set_grid("score", Grid::default_for(350, 950).unwrap()).unwrap();
    c.insert("tier", "A").unwrap();
    c.insert_perk("no_deposit_rental", true).unwrap();
    c.insert_perk("express_airport_security", false).unwrap();
    c
}

/// A lender with its store and presentation checks, and a holder whose
/// wallet holds `n` revocable score credentials (key: the fixture's).
struct Setup {
    fx: Fixture,
    wallet: Wallet,
    lender: Oid4vpVerifier,
    store: MemoryStore,
    checks: Verifier<TrustStore>,
}

fn setup(n: usize) -> Setup {
    let mut fx = Fixture::new();
    let mut wallet = Wallet::new();
    let holder = wallet.insert_key(HolderSigningKey::from_secret_bytes(&fx.holder_secret));
    for _ in 0..n {
        wallet.store(fx.issue_revocable(&holder, &score_claims())).unwrap();
    }
    let mut checks = Verifier::new(fx.trust.clone());
    let list = StatusList::new(2, 1 << 12).unwrap();
    checks.add_status_list(&fx.issuer.sign_status_list(FIXTURE_STATUS_URI, &list, NOW, DAY, 3600), NOW).unwrap();
    let lender = Oid4vpVerifier::new(ClientId::parse(CLIENT).unwrap(), "https://lender.example/request").unwrap();
    Setup { fx, wallet, lender, store: MemoryStore::new(), checks }
}

fn ask(predicates: &[&str]) -> ScoreAsk {
    predicates.iter().fold(ScoreAsk::new(), |a, p| a.predicate(p.parse().unwrap()))
}

/// Percent-encodes a form component.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Decodes one field of a form body the library wrote.
fn field(body: &str, name: &str) -> String {
    let raw = body.split('&').find_map(|f| f.strip_prefix(&format!("{name}="))).unwrap();
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

impl Setup {
    fn create(&mut self, t: NewTransaction) -> CreatedTransaction {
        self.lender.create(&mut self.store, t, NOW, &mut self.fx.rng).unwrap()
    }

    fn create_ask(&mut self, a: &ScoreAsk) -> CreatedTransaction {
        self.create(NewTransaction::from_ask(a).unwrap())
    }

    /// The wallet fetches the request object with `metadata` at `now`.
    fn fetch_at(
        &mut self,
        created: &CreatedTransaction,
        metadata: &WalletMetadata,
        now: UnixTime,
    ) -> Result<AuthorizationRequest, Oid4vpError> {
        let RequestLink::ByReference(reference) = parse_link(&created.link)? else { panic!("by reference") };
        let (pending, post) = fetch_request(&reference, metadata, &mut self.fx.rng);
        assert_eq!(post.url, self.lender.request_uri(created.handle.request_id()));
        let object = self.lender.request_object(
            &mut self.store,
            created.handle.request_id(),
            Some(post.body.as_bytes()),
            now,
        )?;
        pending.accept(200, object.as_bytes())
    }

    fn fetch(&mut self, created: &CreatedTransaction) -> AuthorizationRequest {
        self.fetch_at(created, &WalletMetadata::creditproof(), NOW).unwrap()
    }

    fn respond(&mut self, request: AuthorizationRequest) -> String {
        let plan = plan(request, &self.wallet, PresentOptions::default(), NOW).unwrap();
        plan.respond(&mut self.wallet, NOW, &mut self.fx.rng).unwrap().body.as_str().to_owned()
    }

    fn post_at(&mut self, body: &str, now: UnixTime) -> Result<Verdict, Oid4vpError> {
        self.lender.direct_post(&mut self.store, &self.checks, body.as_bytes(), now)
    }

    fn post(&mut self, body: &str) -> Result<Verdict, Oid4vpError> {
        self.post_at(body, NOW)
    }

    /// A presentation for credential query `id` of `request`, made by the
    /// wallet for a presentation request bound to `aud` (the request's
    /// nonce), bypassing `plan`'s own checks.
    fn present_as(&mut self, request: &AuthorizationRequest, id: &str, aud: &str) -> String {
        let c = request.dcql_query().credential(id).unwrap();
        let r = obligations(c).unwrap()[0].request(aud, request.nonce()).unwrap();
        self.present(&r)
    }

    fn present(&mut self, r: &PresentationRequest) -> String {
        self.wallet.present(r, PresentOptions::default(), NOW, &mut self.fx.rng).unwrap().as_str().to_owned()
    }

    /// A presentation request with the transaction's aud and nonce and
    /// the given predicates, as a wallet ignoring the query could build.
    fn raw_request(&self, request: &AuthorizationRequest, predicates: &[&str]) -> PresentationRequest {
        let v = json!({"aud": CLIENT, "nonce": request.nonce(), "predicates": predicates});
        PresentationRequest::from_json(v.to_string().as_bytes(), &Limits::default()).unwrap()
    }
}

fn response(token: &Value, state: Option<&str>) -> String {
    let t = token.to_string();
    let mut fields = vec![("vp_token", t.as_str())];
    if let Some(s) = state {
        fields.push(("state", s));
    }
    form(&fields)
}

fn rejected(v: Result<Verdict, Oid4vpError>) -> &'static str {
    let v = v.unwrap();
    assert!(!v.is_accepted(), "{v:?}");
    v.check().unwrap()
}

// ---------------------------------------------------------------- round trip

#[test]
fn a_lender_asks_score_at_least_650_and_a_perk_and_accepts() {
    let mut s = setup(2);
    let created = s.create_ask(&ask(&["score>=650", "perk:no_deposit_rental"]));
    assert!(created.link.starts_with("openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Flender.example%2Fresponse"));
    assert_eq!(s.lender.outcome(&s.store, &created.handle, NOW).unwrap(), Outcome::Pending { fetched: false });

    let request = s.fetch(&created);
    assert_eq!(request.client_id().as_str(), CLIENT);
    assert_eq!((request.response_uri(), request.state()), (RESPONSE_URI, Some(created.handle.request_id())));
    assert!(request.nonce().len() >= 43, "a 256-bit nonce");
    let claims = request.dcql_query().to_json()["credentials"][0]["claims"].clone();
    assert_eq!(
        claims,
        json!([
            {"id": "score", "path": ["range", "score"], "creditproof_predicate": {"op": "gte", "value": 650}},
            {"path": ["perks", "no_deposit_rental"], "values": [true]}
        ])
    );
    assert_eq!(s.lender.outcome(&s.store, &created.handle, NOW).unwrap(), Outcome::Pending { fetched: true });

    let plan = plan(request, &s.wallet, PresentOptions::default(), NOW).unwrap();
    let preview = plan.preview();
    assert_eq!((preview.tier, preview.authenticated, preview.credentials.len()), (Tier::Two, false, 1));
    let shown = preview.to_string();
    for part in [CLIENT, "NOT AUTHENTICATED", RESPONSE_URI, "score>=650", "perk:no_deposit_rental"] {
        assert!(shown.contains(part), "{part} in\n{shown}");
    }
    let post = plan.respond(&mut s.wallet, NOW, &mut s.fx.rng).unwrap();
    assert_eq!((post.method, post.url.as_str()), ("POST", RESPONSE_URI));
    assert_eq!(post.content_type, Some("application/x-www-form-urlencoded"));
    assert!(!format!("{post:?}").contains("~"), "presentations stay out of debug output");
    let token: Value = serde_json::from_str(&field(&post.body, "vp_token")).unwrap();
    let presentations = token["credit"].as_array().unwrap();
    assert_eq!(presentations.len(), 1);
    let p = presentations[0].as_str().unwrap();
    assert!(!p.contains("712"));
    let kb = split(p).kb_payload;
    assert_eq!(kb["aud"], CLIENT, "the KB-JWT audience is the full client identifier");
    assert!(kb["range_proofs"]["score>=650"].is_string());

    let verdict = s.post(&post.body).unwrap();
    let Verdict::Accepted(accepted) = &verdict else { panic!("{verdict:?}") };
    assert_eq!(accepted.tier, Tier::Two);
    let v = &accepted.presentations["credit"][0];
    let proven: Vec<String> = v.proven().iter().map(ToString::to_string).collect();
    assert_eq!(proven, ["score>=650", "perk:no_deposit_rental"]);
    assert_eq!((v.issuer(), v.vct()), (ISS, "urn:creditproof:score:2"));
    assert!(v.disclosed().is_empty(), "nothing but the facts asked for");
    assert_eq!(v.status().unwrap().uri, FIXTURE_STATUS_URI);
    assert_eq!(s.lender.outcome(&s.store, &created.handle, NOW).unwrap(), Outcome::Done(verdict.clone()));
    assert_eq!(verdict.to_json()["presentations"]["credit"][0]["status"]["uri"], FIXTURE_STATUS_URI);
    assert_eq!(accept_ack(200, DIRECT_POST_ACK.as_bytes()).unwrap(), None);
    assert_eq!(s.wallet.inventory(NOW)[0].unspent, 1, "one credential spent");
}

#[test]
fn by_value_links_carry_the_request() {
    let mut s = setup(1);
    let created = s.create(NewTransaction::from_ask(&ask(&["score>=650"])).unwrap().by_value());
    assert_eq!(s.lender.outcome(&s.store, &created.handle, NOW).unwrap(), Outcome::Pending { fetched: true });
    let RequestLink::ByValue(request) = parse_link(&created.link).unwrap() else { panic!("by value") };
    // By value the request is served: no request_uri to fetch.
    assert_eq!(
        s.lender.request_object(&mut s.store, created.handle.request_id(), None, NOW).unwrap_err(),
        Oid4vpError::RequestAlreadyServed
    );
    let body = s.respond(request);
    assert!(s.post(&body).unwrap().is_accepted());
}

#[test]
fn credential_sets_and_claim_sets() {
    let mut s = setup(2);
    let perk = CredentialQuery::sd_jwt("perk", vec!["urn:creditproof:score:2".into()])
        .claim(ClaimsQuery::new(["perks", "no_deposit_rental"]).id("p").values(vec![true.into()]))
        .claim(ClaimsQuery::new(["perks", "express_airport_security"]).id("e").values(vec![true.into()]))
        .claim_sets(vec![vec!["e".into()], vec!["p".into()]]);
    let tier =
        CredentialQuery::sd_jwt("tier", vec!["urn:creditproof:score:2".into()]).claim(ClaimsQuery::new(["tier"]));
    let sets = vec![
        CredentialSetQuery::new(vec![vec!["perk".into()]], true),
        CredentialSetQuery::new(vec![vec!["tier".into()]], false),
    ];
    let query = DcqlQuery::new(vec![perk, tier], sets).unwrap();
    let created = s.create(NewTransaction::new(query).unwrap());
    let request = s.fetch(&created);
    let body = s.respond(request);
    let Verdict::Accepted(a) = s.post(&body).unwrap() else { panic!("accepted") };
    // The first claim set asks for a perk the holder lacks: the second.
    let proven: Vec<String> = a.presentations["perk"][0].proven().iter().map(ToString::to_string).collect();
    assert_eq!(proven, ["perk:no_deposit_rental"]);
    assert_eq!(a.presentations["tier"][0].disclosed()["tier"], "A");
}

// ---------------------------------------------------------------- negotiation

#[test]
fn negotiation_serves_one_tier_per_wallet() {
    let mut s = setup(4);
    // A Tier-1 request to a wallet that does not announce Tier 2.
    let created = s.create_ask(&ask(&["perk:no_deposit_rental"]));
    let request = s.fetch_at(&created, &WalletMetadata::tier1(), NOW).unwrap();
    assert_eq!(query_tier(request.dcql_query()), Tier::One);
    let body = s.respond(request);
    let Verdict::Accepted(a) = s.post(&body).unwrap() else { panic!("accepted") };
    assert_eq!(a.tier, Tier::One);

    // A Tier-2 request without a fallback: refused to that wallet, and the
    // request stays available to one that announces Tier 2.
    let created = s.create_ask(&ask(&["score>=650"]));
    assert_eq!(s.fetch_at(&created, &WalletMetadata::tier1(), NOW).unwrap_err(), Oid4vpError::TierTwoNotAnnounced);
    let get = s.lender.request_object(&mut s.store, created.handle.request_id(), None, NOW);
    assert_eq!(get.unwrap_err(), Oid4vpError::TierTwoNotAnnounced, "a GET announces nothing");
    assert_eq!(query_tier(s.fetch(&created).dcql_query()), Tier::Two);

    // With a Tier-1 fallback: the fallback alone to the plain wallet, the
    // Tier-2 query alone to the creditproof wallet; never both in one.
    let fallback = ask(&["perk:no_deposit_rental"]).to_query(SCORE_QUERY_ID).unwrap();
    let t = || NewTransaction::from_ask(&ask(&["score>=650"])).unwrap().with_tier1_fallback(fallback.clone()).unwrap();
    let plain = s.create(t());
    let request = s.fetch_at(&plain, &WalletMetadata::tier1(), NOW).unwrap();
    assert!(!request.dcql_query().to_json().to_string().contains("creditproof_"));
    let body = s.respond(request);
    let Verdict::Accepted(a) = s.post(&body).unwrap() else { panic!("accepted") };
    assert_eq!(
        (a.tier, a.presentations["credit"][0].proven()[0].to_string().as_str()),
        (Tier::One, "perk:no_deposit_rental")
    );
    let aware = s.create(t());
    let request = s.fetch(&aware);
    assert_eq!(request.dcql_query().credentials().len(), 1);
    assert_eq!(query_tier(request.dcql_query()), Tier::Two);
    // A wallet that knows only some ops gets the fallback.
    let mut partial = WalletMetadata::creditproof().to_json();
    partial[RANGE_PREDICATES_MEMBER]["ops"] = json!(["lte"]);
    let partial = WalletMetadata::from_json(partial.to_string().as_bytes()).unwrap();
    let third = s.create(t());
    assert_eq!(query_tier(s.fetch_at(&third, &partial, NOW).unwrap().dcql_query()), Tier::One);
    // A fallback must be Tier 1.
    let tier2 = ask(&["score>=700"]).to_query(SCORE_QUERY_ID).unwrap();
    assert!(NewTransaction::from_ask(&ask(&["score>=650"])).unwrap().with_tier1_fallback(tier2).is_err());
}

// ---------------------------------------------------------------- transactions

#[test]
fn unknown_expired_and_second_uses_are_refused() {
    let mut s = setup(3);
    let created = s.create_ask(&ask(&["score>=650"]));
    assert_eq!(
        s.lender.request_object(&mut s.store, "no-such-transaction", None, NOW).unwrap_err(),
        Oid4vpError::UnknownTransaction
    );
    let wrong = TransactionHandle::new(created.handle.request_id(), "not the secret");
    assert_eq!(s.lender.outcome(&s.store, &wrong, NOW).unwrap_err(), Oid4vpError::UnknownTransaction);
    assert!(!format!("{:?}", created.handle).contains(created.handle.expose_secret()));
    // A response before the request was fetched.
    let early = response(&json!({"credit": ["x"]}), Some(created.handle.request_id()));
    assert_eq!(s.post(&early).unwrap_err().code(), "invalid_request");

    let request = s.fetch(&created);
    let again = s.fetch_at(&created, &WalletMetadata::creditproof(), NOW);
    assert_eq!(again.unwrap_err(), Oid4vpError::RequestAlreadyServed);
    let body = s.respond(request);
    assert_eq!(
        s.post(&response(&json!({"credit": ["x"]}), Some("unknown-state"))).unwrap_err(),
        Oid4vpError::UnknownTransaction
    );
    assert_eq!(s.post(&response(&json!({"credit": ["x"]}), None)).unwrap_err().check(), "oid4vp.invalid_request");
    assert!(s.post(&body).unwrap().is_accepted());
    assert_eq!(s.post(&body).unwrap_err(), Oid4vpError::AlreadyAnswered, "a replayed response");

    // Expiry: the request object, the response and the outcome.
    let late = UnixTime(NOW.as_secs() + DEFAULT_TRANSACTION_LIFETIME_SECS + 1);
    let unfetched = s.create_ask(&ask(&["score>=650"]));
    assert_eq!(s.fetch_at(&unfetched, &WalletMetadata::creditproof(), late).unwrap_err(), Oid4vpError::Expired);
    assert_eq!(s.lender.outcome(&s.store, &unfetched.handle, late).unwrap(), Outcome::Done(Verdict::Expired));
    let fetched = s.create_ask(&ask(&["score>=650"]));
    let request = s.fetch(&fetched);
    let body = s.respond(request);
    assert_eq!(s.post_at(&body, late).unwrap_err(), Oid4vpError::Expired);
    assert_eq!(s.lender.outcome(&s.store, &fetched.handle, late).unwrap(), Outcome::Done(Verdict::Expired));
    assert_eq!(s.store.prune(late).unwrap(), 3);
}

#[test]
fn a_response_under_another_transactions_state_fails_its_nonce() {
    let mut s = setup(2);
    let a = s.create_ask(&ask(&["score>=650"]));
    let b = s.create_ask(&ask(&["score>=650"]));
    let request_a = s.fetch(&a);
    let _request_b = s.fetch(&b);
    let body = s.respond(request_a);
    let token = field(&body, "vp_token");
    let wrong_state = form(&[("vp_token", &token), ("state", b.handle.request_id())]);
    assert_eq!(rejected(s.post(&wrong_state)), "holder_binding.nonce");
    // That ended b, with its verdict; a is still open for its own answer.
    assert_eq!(s.post(&body).unwrap().check(), None);
    let Outcome::Done(v) = s.lender.outcome(&s.store, &b.handle, NOW).unwrap() else { panic!("done") };
    assert_eq!(v.check(), Some("holder_binding.nonce"));
}

// ---------------------------------------------------------------- vp_token shape

/// A fresh Tier-2 transaction, fetched, with a good presentation for it;
/// posts the `vp_token` text `make` builds from it (none: no `vp_token`).
fn token_case(s: &mut Setup, make: &dyn Fn(&str) -> Option<String>) -> Result<Verdict, Oid4vpError> {
    let created = s.create_ask(&ask(&["score>=650"]));
    let request = s.fetch(&created);
    let p = s.present_as(&request, "credit", CLIENT);
    let state = created.handle.request_id().to_owned();
    let body = match make(&p) {
        Some(token) => form(&[("vp_token", &token), ("state", &state)]),
        None => form(&[("state", &state)]),
    };
    s.post(&body)
}

#[test]
fn vp_token_shapes_are_checked() {
    let mut s = setup(12);
    assert!(token_case(&mut s, &|p| Some(json!({"credit": [p]}).to_string())).unwrap().is_accepted());
    for (make, check) in [
        (&(|_: &str| None) as &dyn Fn(&str) -> Option<String>, "vp_token.missing"),
        (&|p: &str| Some(p.to_owned()), "vp_token.json"),
        (&|_: &str| Some("[]".to_owned()), "vp_token.json"),
        (&|p: &str| Some(format!("{{\"credit\":[\"{p}\"],\"credit\":[\"{p}\"]}}")), "vp_token.json"),
        (&|p: &str| Some(json!({"credit": [p], "other": [p]}).to_string()), "vp_token.unknown_query"),
        (&|_: &str| Some(json!({}).to_string()), "vp_token.missing_query"),
        (&|p: &str| Some(json!({"credit": p}).to_string()), "vp_token.not_an_array"),
        (&|_: &str| Some(json!({"credit": []}).to_string()), "vp_token.empty"),
        (&|p: &str| Some(json!({"credit": [p, p]}).to_string()), "vp_token.too_many"),
        (&|_: &str| Some(json!({"credit": [{"sd_jwt": "x"}]}).to_string()), "vp_token.not_a_string"),
        (&|_: &str| Some(json!({"credit": ["not a presentation"]}).to_string()), "malformed.sd_jwt"),
    ] {
        assert_eq!(rejected(token_case(&mut s, make)), check);
    }
}

#[test]
fn a_presentation_under_another_query_id() {
    let mut s = setup(2);
    let vct = || vec!["urn:creditproof:score:2".to_owned()];
    let query = DcqlQuery::new(
        vec![
            CredentialQuery::sd_jwt("tier", vct()).claim(ClaimsQuery::new(["tier"])),
            CredentialQuery::sd_jwt("perk", vct())
                .claim(ClaimsQuery::new(["perks", "no_deposit_rental"]).values(vec![true.into()])),
        ],
        vec![],
    )
    .unwrap();
    let created = s.create(NewTransaction::new(query).unwrap());
    let request = s.fetch(&created);
    let tier = s.present_as(&request, "tier", CLIENT);
    let perk = s.present_as(&request, "perk", CLIENT);
    let state = created.handle.request_id();
    let swapped = response(&json!({"tier": [perk], "perk": [tier]}), Some(state));
    let v = s.post(&swapped).unwrap();
    assert_eq!(v.check(), Some("disclosure.missing"));
    let Verdict::Rejected(Rejection::Presentation { query_id, index, .. }) = v else { panic!("{v:?}") };
    assert_eq!((query_id.as_str(), index), ("tier", 0));
}

// ---------------------------------------------------------------- the query's constraints

#[test]
fn values_and_vct_values_are_checked_by_the_verifier() {
    let mut s = setup(1);
    // `values`: the wallet would refuse (tier A is not asked for); a wallet
    // that ignores `values` answers anyway, and the verifier rejects.
    let created = s.create_ask(&ScoreAsk::new().disclose_if("tier", vec!["AA".into(), "AAA".into()]));
    let request = s.fetch(&created);
    let refused = plan(request.clone(), &s.wallet, PresentOptions::default(), NOW).unwrap_err();
    assert_eq!(refused.code(), "access_denied");
    let p = s.present_as(&request, "credit", CLIENT);
    let v = s.post(&response(&json!({"credit": [p]}), Some(created.handle.request_id()))).unwrap();
    assert_eq!(v.check(), Some("dcql.values"));

    // `vct_values`: a credential of another type, from a trusted issuer.
    let mut s = setup(0);
    let other = Issuer::new(ISS, IssuerSigningKey::from_secret_bytes(&s.fx.issuer_secret))
        .unwrap()
        .with_config(IssuerConfig::default().with_vct("urn:example:other"))
        .unwrap();
    let holder = HolderSigningKey::from_secret_bytes(&s.fx.holder_secret).public_key();
    let status = StatusRef { uri: FIXTURE_STATUS_URI.into(), idx: 99 };
    s.wallet.store(other.issue_with_status(&holder, &score_claims(), &status, NOW, &mut s.fx.rng).unwrap()).unwrap();
    let created = s.create_ask(&ask(&["score>=650"]));
    let request = s.fetch(&created);
    // The wallet considers only the query's types: it refuses rather than
    // spend a credential the verifier would reject.
    let refused = plan(request.clone(), &s.wallet, PresentOptions::default(), NOW).unwrap_err();
    assert_eq!(refused.code(), "access_denied");
    // A wallet that ignores `vct_values` answers anyway, and the verifier rejects.
    let p = s.present(&s.raw_request(&request, &["score>=650"]));
    let v = s.post(&response(&json!({"credit": [p]}), Some(created.handle.request_id())));
    assert_eq!(rejected(v), "request.vct");
}

// ---------------------------------------------------------------- holder binding and proofs

#[test]
fn the_kb_jwt_audience_is_the_full_client_identifier() {
    let mut s = setup(2);
    for aud in [RESPONSE_URI, "redirect_uri:https://other.example/response"] {
        let created = s.create_ask(&ask(&["score>=650"]));
        let request = s.fetch(&created);
        let p = s.present_as(&request, "credit", aud);
        assert_eq!(split(&p).kb_payload["aud"], aud);
        let v = s.post(&response(&json!({"credit": [p]}), Some(created.handle.request_id())));
        assert_eq!(rejected(v), "holder_binding.aud", "{aud}");
    }
}

#[test]
fn a_tier_two_answer_needs_its_own_range_proof() {
    let mut s = setup(2);
    // Without a proof: a wallet that ignored creditproof_predicate.
    let created = s.create_ask(&ask(&["score>=650"]));
    let request = s.fetch(&created);
    let r = s.raw_request(&request, &[]);
    let p = s.present(&r);
    assert!(split(&p).kb_payload.get("range_proofs").is_none());
    let v = s.post(&response(&json!({"credit": [p]}), Some(created.handle.request_id())));
    assert_eq!(rejected(v), "predicate.missing_proof");

    // A proof of score>=600 relabelled as score>=650, re-signed by the
    // holder's own key.
    let created = s.create_ask(&ask(&["score>=650"]));
    let request = s.fetch(&created);
    let r = s.raw_request(&request, &["score>=600"]);
    let p = s.present(&r);
    let mut parts = split(&p);
    let proof = parts.kb_payload["range_proofs"]["score>=600"].clone();
    parts.kb_payload["range_proofs"] = json!({"score>=650": proof});
    let relabelled = parts.assemble(&s.fx.issuer_secret, &s.fx.holder_secret);
    let v = s.post(&response(&json!({"credit": [relabelled]}), Some(created.handle.request_id())));
    assert_eq!(rejected(v), "predicate.proof_invalid");
}

// ---------------------------------------------------------------- the wallet refuses

#[test]
fn the_wallet_refuses_bad_requests() {
    let mut s = setup(2);
    let created = s.create_ask(&ask(&["score>=650"]));
    // The link's client_id differs from the request object's.
    let RequestLink::ByReference(mut reference) = parse_link(&created.link).unwrap() else { panic!("by reference") };
    reference.client_id = "redirect_uri:https://other.example/response".into();
    let (pending, post) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut s.fx.rng);
    let object =
        s.lender.request_object(&mut s.store, created.handle.request_id(), Some(post.body.as_bytes()), NOW).unwrap();
    assert_eq!(pending.accept(200, object.as_bytes()).unwrap_err(), Oid4vpError::ClientIdMismatch);
    // The verifier answered with an error, or a redirect.
    let (pending, _) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut s.fx.rng);
    let e = pending.accept(400, Oid4vpError::RequestAlreadyServed.to_json().to_string().as_bytes()).unwrap_err();
    assert_eq!((e.check(), e.code()), ("oid4vp.error_response", "invalid_request"));
    let (pending, _) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut s.fx.rng);
    assert_eq!(pending.accept(302, b"").unwrap_err().check(), "oid4vp.error_response");

    // Links by value built from a good request's parameters, changed.
    let good = s.create(NewTransaction::from_ask(&ask(&["score>=650"])).unwrap().by_value());
    let RequestLink::ByValue(request) = parse_link(&good.link).unwrap() else { panic!("by value") };
    let link_with = |k: &str, v: Value| {
        let mut claims = request.to_claims();
        claims.insert(k.into(), v);
        let texts: Vec<(String, String)> =
            claims.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect();
        let fields: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        parse_link(&format!("openid4vp://?{}", form(&fields))).map(|_| ()).unwrap_err().check()
    };
    assert_eq!(link_with("client_id", json!("x509_san_dns:lender.example")), "oid4vp.request_signature");
    assert_eq!(link_with("response_uri", json!("http://lender.example/response")), "oid4vp.response_uri");
    assert_eq!(link_with("client_id", json!("redirect_uri:http://lender.example/response")), "oid4vp.client_id_prefix");
    let mut dcql = request.dcql_query().to_json();
    dcql["credentials"][0]["claims"][0]["creditproof_predicate"]["op"] = json!("gt");
    assert_eq!(link_with("dcql_query", dcql), "oid4vp.invalid_request", "an unknown creditproof_ op");
    let mut dcql = request.dcql_query().to_json();
    dcql["credentials"][0]["claims"][0]["creditproof_median"] = json!({});
    assert_eq!(link_with("dcql_query", dcql), "oid4vp.invalid_request", "an unknown creditproof_ member");
    // http to a loopback verifier is fine (tests, local development).
    let local = Oid4vpVerifier::new(
        ClientId::redirect_uri("http://127.0.0.1:8080/response").unwrap(),
        "http://127.0.0.1:8080/request",
    )
    .unwrap();
    let t = local
        .create(&mut s.store, NewTransaction::from_ask(&ask(&["score>=650"])).unwrap().by_value(), NOW, &mut s.fx.rng)
        .unwrap();
    assert!(parse_link(&t.link).is_ok());
    // An x509_san_dns: verifier signs: `new` (unsigned requests) refuses
    // it; `Oid4vpVerifier::x509_san_dns` takes its key and chain.
    assert_eq!(
        Oid4vpVerifier::new(ClientId::parse("x509_san_dns:lender.example").unwrap(), "https://lender.example/r")
            .unwrap_err()
            .check(),
        "oid4vp.request_signature"
    );
}

#[test]
fn the_wallet_refuses_what_it_cannot_prove() {
    let mut s = setup(2);
    let tier2 = |s: &mut Setup, claim: ClaimsQuery| {
        let query = DcqlQuery::new(
            vec![CredentialQuery::sd_jwt("c", vec!["urn:creditproof:score:2".into()]).claim(claim)],
            vec![],
        )
        .unwrap();
        let created = s.create(NewTransaction::new(query).unwrap().by_value());
        let RequestLink::ByValue(request) = parse_link(&created.link).unwrap() else { panic!("by value") };
        request
    };
    // An attribute the credential does not commit to.
    let request = tier2(&mut s, ClaimsQuery::new(["range", "income"]).predicate(RangePredicate::AtLeast(1000)));
    let e = plan(request, &s.wallet, PresentOptions::default(), NOW).unwrap_err();
    assert_eq!(e.code(), "access_denied");
    let Oid4vpError::AccessDenied { cause: Some(cause), .. } = &e else { panic!("{e:?}") };
    assert_eq!(cause.check(), "holder.claim_not_available");
    // A threshold off the credential's grid, unless the holder allows it.
    let request = tier2(&mut s, ClaimsQuery::new(["range", "score"]).predicate(RangePredicate::AtLeast(660)));
    let e = plan(request.clone(), &s.wallet, PresentOptions::default(), NOW).unwrap_err();
    let Oid4vpError::AccessDenied { cause: Some(cause), .. } = &e else { panic!("{e:?}") };
    assert_eq!(cause.check(), "holder.off_grid");
    assert!(!e.to_form(request.state()).contains("660"), "the refusal does not say why");
    assert!(plan(request, &s.wallet, PresentOptions::default().allow_off_grid(true), NOW).is_ok());
    // A predicate is false: refused, and the refusal reaches the verifier
    // as a rejection that says nothing about the score.
    let request = tier2(&mut s, ClaimsQuery::new(["range", "score"]).predicate(RangePredicate::AtLeast(800)));
    let e = plan(request.clone(), &s.wallet, PresentOptions::default(), NOW).unwrap_err();
    let post = refusal(&request, &e);
    assert_eq!(post.url, RESPONSE_URI);
    let v = s.post(&post.body).unwrap();
    assert_eq!(v.check(), Some("oid4vp.wallet_error"));
    assert!(!v.to_json().to_string().contains("800"));
    assert_eq!(s.wallet.inventory(NOW)[0].unspent, 2, "nothing spent, nothing sent");
}
