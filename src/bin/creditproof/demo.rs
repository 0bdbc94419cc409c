//! `creditproof demo`: the whole story on built-in defaults.

use creditproof::{
    verdict_json, Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, SystemRng,
    TrustStore, UnixTime, Verifier, Wallet,
};
use serde_json::Value;

use crate::files::CliError;

fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

fn fail(e: creditproof::Error) -> CliError {
    CliError(format!("demo failed: {e}"))
}

pub fn run() -> Result<(), CliError> {
    let mut rng = SystemRng::new();
    let now = UnixTime::now();

    step(1, "An issuer (a credit bureau) sets up a signing key");
    let issuer = Issuer::new(
        "https://bureau.example",
        IssuerSigningKey::generate(&mut rng),
    )
    .map_err(fail)?;
    println!("issuer {} publishes key id {}", issuer.id(), issuer.kid());

    step(
        2,
        "A holder creates a wallet and a fresh key for one credential",
    );
    let mut wallet = Wallet::new();
    let holder_key = wallet.generate_key(&mut rng);
    println!("holder key thumbprint {}", holder_key.thumbprint());

    step(
        3,
        "The issuer signs the holder's standing as selectively disclosable claims",
    );
    let mut claims = Claims::new();
    claims
        .insert("tier", "A")
        .and_then(|c| c.insert("policy", "sesame-style/1"))
        .and_then(|c| c.insert("no_deposit_rental", true))
        .and_then(|c| c.insert("preferential_loan_rate", false))
        .map_err(fail)?;
    for (k, v) in claims.iter() {
        println!("  {k} = {v}   (hidden behind a salted digest)");
    }
    let credential = issuer
        .issue(&holder_key, &claims, now, &mut rng)
        .map_err(fail)?;
    wallet.store(credential).map_err(fail)?;
    println!("credential stored; the JWT carries 16 digests (4 real, 12 decoys) and no claim in the clear");

    step(
        4,
        "A car-rental desk asks one question: eligible for a no-deposit rental?",
    );
    let mut trust = TrustStore::new();
    trust.add(issuer.id(), issuer.public_key());
    let desk = Verifier::new(trust);
    let request = PresentationRequest::builder("https://rental-desk.example")
        .predicate("perk:no_deposit_rental".parse().map_err(fail)?)
        .build(&mut rng)
        .map_err(fail)?;
    println!(
        "request: aud {}, nonce {}, predicate perk:no_deposit_rental",
        request.audience(),
        request.nonce()
    );

    step(5, "The holder reviews what would be revealed, then answers");
    let preview = wallet
        .preview(&request, PresentOptions::default(), now)
        .map_err(fail)?;
    println!("{preview}");
    let presentation = wallet
        .present(&request, PresentOptions::default(), now, &mut rng)
        .map_err(fail)?;
    println!(
        "presentation: {} bytes, bound to the desk's nonce and audience by the holder's key",
        presentation.as_str().len()
    );

    step(6, "The desk verifies");
    let outcome = desk.verify(&request, presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&outcome)));
    let verified = outcome.map_err(fail)?;

    step(7, "What the verifier learned, and what stayed private");
    println!(
        "learned: the issuer is {}, and the holder is eligible for a no-deposit rental",
        verified.issuer()
    );
    println!("private: the tier, the policy, every other perk flag, the number of claims, the score and every record");

    step(8, "The same presentation replayed to a hotel is rejected");
    let hotel_request = PresentationRequest::builder("https://hotel.example")
        .predicate("perk:no_deposit_rental".parse().map_err(fail)?)
        .build(&mut rng)
        .map_err(fail)?;
    let mut hotel_trust = TrustStore::new();
    hotel_trust.add(issuer.id(), issuer.public_key());
    let replay = Verifier::new(hotel_trust).verify(&hotel_request, presentation.as_str(), now);
    println!("{}", pretty(&verdict_json(&replay)));
    if replay.is_ok() {
        return Err(CliError(
            "demo failed: a replayed presentation was accepted".into(),
        ));
    }
    println!(
        "\nThe key binding names the rental desk and its one-time nonce, so the hotel refuses it."
    );
    Ok(())
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
