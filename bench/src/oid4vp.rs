//! The verifier service's in-process cost of one OpenID4VP `direct_post`
//! response: `Oid4vpVerifier::direct_post` parses the form body, finds the
//! transaction by `state`, checks the `vp_token` against the DCQL query
//! (ids, shape, `values`, `vct_values`, Tier-2 predicates), verifies the
//! presentation with a `Verifier` whose status list is already loaded (the
//! service's cached case), and records the verdict once. It is timed
//! against `Verifier::verify` of presentations of the same kind — the same
//! claims, the same `perk:no_deposit_rental` + `score>=650` predicates, a
//! status entry in the same loaded 2^20 list — sampled interleaved, so the
//! ratio is the protocol layer's overhead on top of verification.
//!
//! Every response is built (untimed) by the library's own wallet from a
//! fresh transaction: a transaction answers once, so none is reused.

use std::hint::black_box;

use creditproof::dcql::ScoreAsk;
use creditproof::oid4vp::{
    fetch_request, parse_link, plan, ClientId, MemoryStore, NewTransaction, Oid4vpVerifier, RequestLink, WalletMetadata,
};
use creditproof::{HolderSigningKey, PresentOptions, TrustStore, Verifier, Wallet};

use crate::fixture::{Case, Fixture, Kind, Score, NOW, PERK};
use crate::harness::{with_setup, Harness};
use crate::report::{Base, Report};
use crate::BoxError;

const CLIENT: &str = "redirect_uri:https://lender.example/response";

/// The lender: its protocol state and its transactions.
struct Lender {
    oid4vp: Oid4vpVerifier,
    store: MemoryStore,
}

/// A wallet holding one fresh credential of kind (c) under a fresh key.
fn holder_of_one(fx: &mut Fixture) -> Result<Wallet, BoxError> {
    let holder = HolderSigningKey::generate(&mut fx.rng);
    let credential = fx.issue_to(&holder.public_key(), Score::DEFAULT, Kind::PerkRangeStatus)?;
    let mut wallet = Wallet::new();
    wallet.insert_key(holder);
    wallet.store(credential)?;
    Ok(wallet)
}

/// A transaction created by the lender and answered by a wallet: the
/// `direct_post` form body, ready to be handled.
fn answered(fx: &mut Fixture, lender: &mut Lender) -> Result<String, BoxError> {
    let score = Score::DEFAULT;
    let mut wallet = holder_of_one(fx)?;
    let ask = ScoreAsk::new().predicate(format!("perk:{PERK}").parse()?).predicate(score.predicate().parse()?);
    let created = lender.oid4vp.create(&mut lender.store, NewTransaction::from_ask(&ask)?, NOW, &mut fx.rng)?;
    let RequestLink::ByReference(reference) = parse_link(&created.link)? else {
        return Err("the link is not by reference".into());
    };
    let (pending, post) = fetch_request(&reference, &WalletMetadata::creditproof(), &mut fx.rng);
    let object = lender.oid4vp.request_object(
        &mut lender.store,
        created.handle.request_id(),
        Some(post.body.as_bytes()),
        NOW,
    )?;
    let request = pending.accept(200, object.as_bytes())?;
    // Benchmarks measure cost, not privacy (the fixture's claims carry no
    // threshold grid).
    let planned = plan(request, &wallet, PresentOptions::default().allow_off_grid(true), NOW)?;
    Ok(planned.respond(&mut wallet, NOW, &mut fx.rng)?.body.as_str().to_owned())
}

/// A fresh presentation of kind (c) and its request, made as
/// [`answered`] makes its response: a fresh key and credential, presented
/// once and never verified before it is timed (the fixture's `case`
/// verifies its presentation once, which would warm the caches for it).
fn fresh_case(fx: &mut Fixture) -> Result<Case, BoxError> {
    let score = Score::DEFAULT;
    let mut wallet = holder_of_one(fx)?;
    let request = Kind::PerkRangeStatus.request(score, &mut fx.rng)?;
    let p = wallet.present(&request, PresentOptions::default().allow_off_grid(true), NOW, &mut fx.rng)?;
    Ok(Case { request, presentation: p.as_str().to_owned() })
}

/// Handles one response; true when the verdict is an acceptance.
fn handle(lender: &mut Lender, checks: &Verifier<TrustStore>, body: &str) -> bool {
    lender.oid4vp.direct_post(&mut lender.store, checks, body.as_bytes(), NOW).is_ok_and(|v| v.is_accepted())
}

/// The `direct_post` row: its time, and its ratio to `Verifier::verify`
/// of a presentation of the same kind, sampled interleaved.
pub fn direct_post(h: &Harness, report: &Report, fx: &mut Fixture) -> Result<(), BoxError> {
    report.section("OpenID4VP: handle one direct_post response (Oid4vpVerifier::direct_post, status list cached)");
    report
        .note("parse + transaction lookup + DCQL checks + verify + verdict; ratio to Verifier::verify, same kind (c)");
    let client = ClientId::parse(CLIENT)?;
    let mut lender =
        Lender { oid4vp: Oid4vpVerifier::new(client, "https://lender.example/request")?, store: MemoryStore::new() };
    let checks = fx.verifier.clone();
    // Every figure is of a response that is accepted.
    let body = answered(fx, &mut lender)?;
    if !handle(&mut lender, &checks, &body) {
        return Err("the benchmark's direct_post response was not accepted".into());
    }
    let case = fresh_case(fx)?;
    fx.verifier.verify(&case.request, &case.presentation, NOW)?;
    let (fx_cell, lender_cell) = (std::cell::RefCell::new(fx), std::cell::RefCell::new(lender));
    let timings = h.measure_group(vec![
        with_setup(
            || fx_cell.borrow_mut().case(Score::DEFAULT, Kind::PerkRangeStatus).expect("a case").0,
            |case: &mut Case| {
                let fx = fx_cell.borrow();
                black_box(fx.verifier.verify(&case.request, black_box(&case.presentation), NOW).is_ok())
            },
        ),
        with_setup(
            || answered(&mut fx_cell.borrow_mut(), &mut lender_cell.borrow_mut()).expect("an answered transaction"),
            |body: &mut String| black_box(handle(&mut lender_cell.borrow_mut(), &checks, black_box(body))),
        ),
    ]);
    let (verify, post) = (timings[0], timings[1]);
    report.time("oid4vp.verify_baseline", "Verifier::verify, (c) perk + score>=650 + status", &verify, &[]);
    report.time(
        "oid4vp.direct_post",
        "Oid4vpVerifier::direct_post, same query over DCQL",
        &post,
        &[Base::paired(&post, 1.0, "x_verify", "Verifier::verify")],
    );
    Ok(())
}
