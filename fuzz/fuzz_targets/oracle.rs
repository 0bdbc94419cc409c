//! Mutation oracle. Three valid presentations (a disclosure; a disclosure
//! and `score>=650`; a status-checked credential with a disclosure, a perk
//! and `600<=score<=800`) are built once. The input picks one (first byte)
//! and then, in 4-byte ops `[op, x, y, z]`, edits it: substitute, insert or
//! truncate bytes, delete / duplicate / swap `~`-separated components, or
//! splice in a component of another valid presentation by the same issuer.
//! Any result that differs from the original must be rejected: the target
//! PANICS if such a mutant verifies.
#![no_main]

use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{
    Claims, Issuer, IssuerSigningKey, PresentOptions, PresentationRequest, StatusRef, TrustStore, UnixTime, Verifier,
    Wallet, DAY, VerifierOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// 2026-11-21T12:00:00Z.
const NOW: UnixTime = UnixTime(1_795_262_400);
const AUD: &str = "https://lender.example";
const URI: &str = "https://bureau.example/status/1";

struct Case {
    request: PresentationRequest,
    presentation: String,
    verifier: Verifier<TrustStore>,
}

fn claims(score: bool) -> Claims {
    let mut c = Claims::new();
    c.insert("tier", "A").unwrap();
    c.insert_perk("no_deposit_rental", true).unwrap();
    if score {
        c.commit("score", 712, 950).unwrap();
    }
    c
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut rng = SeededRng::new(b"creditproof fuzz oracle");
        let issuer = Issuer::new("https://bureau.example", IssuerSigningKey::generate(&mut rng)).unwrap();
        let mut trust = TrustStore::new();
        trust.add(issuer.id(), issuer.public_key());
        let mut list = StatusList::new(2, 16).unwrap();
        list.set(5, 1).unwrap();
        let token = issuer.sign_status_list(URI, &list, NOW, DAY, 3600);
        let status = StatusRef { uri: URI.into(), idx: 3 };

        let mut out = Vec::new();
        for (i, preds) in
            [&[][..], &["score>=650"][..], &["perk:no_deposit_rental", "600<=score<=800"][..]].into_iter().enumerate()
        {
            let mut w = Wallet::new();
            let pk = w.generate_key(&mut rng);
            let cred = if i == 2 {
                issuer.issue_with_status(&pk, &claims(true), &status, NOW, &mut rng)
            } else {
                issuer.issue(&pk, &claims(i == 1), NOW, &mut rng)
            };
            w.store(cred.unwrap()).unwrap();
            let mut b = PresentationRequest::builder(AUD).disclose("tier");
            for p in preds {
                b = b.predicate(p.parse().unwrap());
            }
            let request = b.build(&mut rng).unwrap();
            let presentation = w
                .present(&request, PresentOptions::default().allow_off_grid(true), NOW, &mut rng)
                .unwrap()
                .as_str()
                .to_owned();
            let mut verifier = Verifier::with_options(trust.clone(), VerifierOptions::default().allow_missing_status());
            verifier.add_status_list(&token, NOW).unwrap();
            verifier.verify(&request, &presentation, NOW).expect("the original presentation verifies");
            out.push(Case { request, presentation, verifier });
        }
        out
    })
}

fn components(s: &[u8]) -> Vec<Vec<u8>> {
    s.split(|&b| b == b'~').map(<[u8]>::to_vec).collect()
}

fn join(c: &[Vec<u8>]) -> Vec<u8> {
    c.join(&b'~')
}

fn apply(m: &mut Vec<u8>, op: [u8; 4], all: &[Case]) {
    let [op, x, y, z] = op;
    let pos = usize::from(u16::from_be_bytes([x, y]));
    let mut comps = components(m);
    let n = comps.len();
    match op % 7 {
        0 if !m.is_empty() => {
            let p = pos % m.len();
            m[p] = z;
        }
        1 if n > 1 => {
            comps.remove(usize::from(x) % n);
            *m = join(&comps);
        }
        2 => {
            let i = usize::from(x) % n;
            let c = comps[i].clone();
            comps.insert(i + 1, c);
            *m = join(&comps);
        }
        3 => {
            comps.swap(usize::from(x) % n, usize::from(y) % n);
            *m = join(&comps);
        }
        4 => m.truncate(pos % (m.len() + 1)),
        5 => m.insert(pos % (m.len() + 1), z),
        6 => {
            let other = components(all[usize::from(z) % all.len()].presentation.as_bytes());
            comps[usize::from(x) % n] = other[usize::from(y) % other.len()].clone();
            *m = join(&comps);
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let all = cases();
    let Some((&which, ops)) = data.split_first() else {
        return;
    };
    let case = &all[usize::from(which) % all.len()];
    let mut m = case.presentation.as_bytes().to_vec();
    for op in ops.chunks_exact(4).take(16) {
        apply(&mut m, [op[0], op[1], op[2], op[3]], all);
    }
    if m == case.presentation.as_bytes() {
        return;
    }
    let Ok(s) = std::str::from_utf8(&m) else {
        return;
    };
    if case.verifier.verify(&case.request, s, NOW).is_ok() {
        panic!("mutant accepted:\noriginal: {}\nmutant:   {s}", case.presentation);
    }
});
