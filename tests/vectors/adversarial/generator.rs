//! Generator of the adversarial test vectors in `tests/vectors/adversarial/`.
//!
//! Shared, through `#[path]`, by `examples/gen_vectors.rs` (which writes the
//! files) and `tests/vectors.rs` (which regenerates them in memory and fails
//! if the checked-in files drifted). Everything is derived from fixed seeds
//! and a fixed time, so the output is reproducible byte for byte.
//!
//! Every tampered presentation is re-signed with the real issuer and holder
//! keys (and gets a correct `sd_hash`) so that earlier checks pass and the
//! vector fails for exactly the reason it names.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use creditproof::hazmat::SeededRng;
use creditproof::status_list::StatusList;
use creditproof::{
    Claims, HolderSigningKey, Issuer, IssuerConfig, IssuerSigningKey, PresentOptions, PresentationRequest, StatusRef,
    UnixTime, Wallet, DAY,
};
use ed25519_dalek::Signer as _;
use serde_json::{json, Value};

/// 2026-11-21T12:00:00Z: the verification time of every presentation vector.
const NOW: u64 = 1_795_262_400;
const ISS: &str = "https://bureau.example";
const AUD: &str = "https://rental.example";
const STATUS_URI: &str = "https://bureau.example/status/1";
const SALT: &str = "c2FsdHNhbHRzYWx0c2FsdA";

/// The vector files: `(file name, pretty JSON text)`.
pub fn generate() -> Vec<(String, String)> {
    let mut g = Gen::new();
    g.all();
    let presentations = json!({
        "category": "presentations",
        "description": "SD-JWT VC presentations checked by Verifier::verify at `now` with default \
            options except `allow_missing_status` (most vectors exercise other checks on \
            credentials without a status; the `status/` vectors carry one), trusting the issuer metadata in `trust` (plus a vector's `extra_trust`) and \
            with the status list tokens of `status_lists` loaded (a vector's own `status_lists` \
            replaces them; if loading one fails, that error is the outcome). `presentation_b64` \
            holds bytes that are not UTF-8, verified with `Verifier::verify_bytes`, whose \
            outcome is `malformed.utf8`. A vector with \
            `known_deviation` states the expected outcome in `expect`/`error` and the outcome \
            the current library gives in `known_deviation.actual` (suspected bug).",
        "now": NOW,
        "trust": g.issuer.metadata(),
        "status_lists": [g.status_token(&StatusList::new(2, 16).unwrap_or_else(|e| panic!("{e}")))],
        "vectors": g.vectors,
    });
    vec![
        ("presentations.json".to_owned(), pretty(&presentations)),
        ("requests.json".to_owned(), pretty(&requests())),
        ("policies.json".to_owned(), pretty(&policies())),
    ]
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|e| panic!("{e}"));
    s.push('\n');
    s
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&unb64(part)).unwrap_or_else(|e| panic!("{e}"))
}

fn sha256_b64(bytes: &[u8]) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, bytes))
}

fn sign_raw(header: &str, payload: &str, secret: &[u8; 32]) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(secret);
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(sig))
}

fn sign(header: &Value, payload: &Value, secret: &[u8; 32]) -> String {
    sign_raw(&header.to_string(), &payload.to_string(), secret)
}

/// A disclosure `[SALT, name, value]` (or any array) encoded.
fn disclosure(v: &Value) -> String {
    b64(v.to_string())
}

/// `value` serialized with the string `"__RAW__"` replaced by `raw` text.
fn with_raw(value: &Value, raw: &str) -> String {
    let s = value.to_string();
    assert!(s.contains("\"__RAW__\""));
    s.replace("\"__RAW__\"", raw)
}

fn obj(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    v.as_object_mut().unwrap_or_else(|| panic!("not an object"))
}

fn sd_array(payload: &mut Value) -> &mut Vec<Value> {
    payload["_sd"].as_array_mut().unwrap_or_else(|| panic!("no _sd"))
}

/// A presentation taken apart, to be edited and reassembled.
#[derive(Clone)]
struct Parts {
    header: Value,
    payload: Value,
    disclosures: Vec<String>,
    kb_header: Value,
    kb_payload: Value,
    /// Exact header / payload / KB payload text, overriding the values.
    /// `"__SD_HASH__"` in `kb_payload_raw` is replaced by the correct hash.
    header_raw: Option<String>,
    payload_raw: Option<String>,
    kb_payload_raw: Option<String>,
    /// This exact issuer JWT instead of signing header and payload.
    jwt: Option<String>,
    /// This exact last component instead of a signed KB-JWT.
    kb: Option<String>,
    /// Set `sd_hash` to the hash of the presented SD-JWT.
    fix_sd_hash: bool,
    issuer_secret: [u8; 32],
    holder_secret: [u8; 32],
}

impl Parts {
    fn split(p: &str, issuer_secret: [u8; 32], holder_secret: [u8; 32]) -> Self {
        let comps: Vec<&str> = p.split('~').collect();
        let jwt: Vec<&str> = comps[0].split('.').collect();
        let kb: Vec<&str> = comps[comps.len() - 1].split('.').collect();
        Self {
            header: decode_json(jwt[0]),
            payload: decode_json(jwt[1]),
            disclosures: comps[1..comps.len() - 1].iter().map(|s| (*s).to_owned()).collect(),
            kb_header: decode_json(kb[0]),
            kb_payload: decode_json(kb[1]),
            header_raw: None,
            payload_raw: None,
            kb_payload_raw: None,
            jwt: None,
            kb: None,
            fix_sd_hash: true,
            issuer_secret,
            holder_secret,
        }
    }

    fn jwt(&self) -> String {
        self.jwt.clone().unwrap_or_else(|| {
            let h = self.header_raw.clone().unwrap_or_else(|| self.header.to_string());
            let p = self.payload_raw.clone().unwrap_or_else(|| self.payload.to_string());
            sign_raw(&h, &p, &self.issuer_secret)
        })
    }

    fn sd_jwt(&self) -> String {
        let mut sd = self.jwt();
        sd.push('~');
        for d in &self.disclosures {
            sd.push_str(d);
            sd.push('~');
        }
        sd
    }

    fn assemble(&self) -> String {
        let sd = self.sd_jwt();
        let kb = match &self.kb {
            Some(kb) => kb.clone(),
            None => {
                let hash = sha256_b64(sd.as_bytes());
                let payload = match &self.kb_payload_raw {
                    Some(raw) => raw.replace("__SD_HASH__", &hash),
                    None => {
                        let mut kb = self.kb_payload.clone();
                        if self.fix_sd_hash {
                            kb["sd_hash"] = json!(hash);
                        }
                        kb.to_string()
                    }
                };
                sign_raw(&self.kb_header.to_string(), &payload, &self.holder_secret)
            }
        };
        format!("{sd}{kb}")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cred {
    /// tier, policy, and in `perks`: no_deposit_rental (true),
    /// express_airport_security (false).
    Plain,
    /// The same claims, revocable at index 3 of the status list.
    Status,
    /// The same claims, at index 16 (outside the 16-entry list).
    Status16,
    /// A committed score (712 on a 0..=950 scale) and a tier.
    Scored,
    /// Another credential committing to the same score, with another seed.
    Scored2,
}

struct Gen {
    rng: SeededRng,
    issuer: Issuer,
    issuer_secret: [u8; 32],
    holder_secret: [u8; 32],
    other_issuer: Issuer,
    other_secret: [u8; 32],
    wallets: BTreeMap<u8, Wallet>,
    /// Every disclosure of the plain credential, by claim name.
    plain_disclosures: BTreeMap<String, String>,
    vectors: Vec<Value>,
}

fn fixture_claims() -> Claims {
    let mut c = Claims::new();
    c.insert("tier", "A")
        .and_then(|c| c.insert("policy", "sesame-style/1"))
        .and_then(|c| c.insert_perk("no_deposit_rental", true))
        .and_then(|c| c.insert_perk("express_airport_security", false))
        .unwrap_or_else(|e| panic!("{e}"));
    c
}

fn cred_id(c: Cred) -> u8 {
    match c {
        Cred::Plain => 0,
        Cred::Status => 1,
        Cred::Status16 => 2,
        Cred::Scored => 3,
        Cred::Scored2 => 4,
    }
}

impl Gen {
    fn new() -> Self {
        let mut rng = SeededRng::new(b"creditproof adversarial vectors v1");
        let issuer_key = IssuerSigningKey::generate(&mut rng);
        let issuer_secret = *issuer_key.to_secret_bytes();
        // Eight top-level slots rather than the default four, so the plain
        // credential carries decoys for the decoy vectors to tamper with.
        let issuer = Issuer::new(ISS, issuer_key)
            .and_then(|i| i.with_config(IssuerConfig::default().with_sd_slots(8)))
            .unwrap_or_else(|e| panic!("{e}"));
        let other_key = IssuerSigningKey::generate(&mut rng);
        let other_secret = *other_key.to_secret_bytes();
        let other_issuer = Issuer::new("https://other.example", other_key).unwrap_or_else(|e| panic!("{e}"));
        let holder = HolderSigningKey::generate(&mut rng);
        let holder_secret = *holder.to_secret_bytes();
        let now = UnixTime(NOW);
        let mut wallets = BTreeMap::new();
        let mut plain_disclosures = BTreeMap::new();
        for c in [Cred::Plain, Cred::Status, Cred::Status16, Cred::Scored, Cred::Scored2] {
            let mut w = Wallet::new();
            let pk = w.insert_key(HolderSigningKey::from_secret_bytes(&holder_secret));
            let status = |idx| StatusRef { uri: STATUS_URI.into(), idx };
            let issued = match c {
                Cred::Plain => issuer.issue(&pk, &fixture_claims(), now, &mut rng),
                Cred::Status => issuer.issue_with_status(&pk, &fixture_claims(), &status(3), now, &mut rng),
                Cred::Status16 => issuer.issue_with_status(&pk, &fixture_claims(), &status(16), now, &mut rng),
                Cred::Scored | Cred::Scored2 => {
                    let mut claims = Claims::new();
                    claims
                        .commit("score", 712, 950)
                        .and_then(|c| c.insert("tier", "excellent"))
                        .unwrap_or_else(|e| panic!("{e}"));
                    issuer.issue(&pk, &claims, now, &mut rng)
                }
            }
            .unwrap_or_else(|e| panic!("{e}"));
            if c == Cred::Plain {
                for d in issued.expose_sd_jwt().split('~').skip(1) {
                    if !d.is_empty() {
                        let name = decode_json(d)[1].as_str().unwrap_or_default().to_owned();
                        plain_disclosures.insert(name, d.to_owned());
                    }
                }
            }
            w.store(issued).unwrap_or_else(|e| panic!("{e}"));
            wallets.insert(cred_id(c), w);
        }
        Self {
            rng,
            issuer,
            issuer_secret,
            holder_secret,
            other_issuer,
            other_secret,
            wallets,
            plain_disclosures,
            vectors: Vec::new(),
        }
    }

    fn request(&mut self, disclose: &[&str], predicates: &[&str]) -> PresentationRequest {
        let mut b = PresentationRequest::builder(AUD);
        for d in disclose {
            b = b.disclose(*d);
        }
        for p in predicates {
            b = b.predicate(p.parse().unwrap_or_else(|e| panic!("{p}: {e}")));
        }
        b.build(&mut self.rng).unwrap_or_else(|e| panic!("{e}"))
    }

    fn present(&mut self, c: Cred, req: &PresentationRequest) -> String {
        // The vectors present the same signed credential many times (so
        // that forged variants can splice parts of one another). A wallet
        // refuses a second range proof on a spent credential, so each
        // presentation comes from a fresh copy of the wallet.
        let mut w = Wallet::from_secret_json(
            self.wallets.get(&cred_id(c)).unwrap_or_else(|| panic!("wallet")).to_secret_json().as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // The vectors exercise the verifier; their thresholds (e.g.
        // `score<=800`) predate the wallet's threshold grid, a holder-side
        // default that verifiers never see, so the generator allows them.
        w.present(req, PresentOptions::default().allow_off_grid(true), UnixTime(NOW), &mut self.rng)
            .unwrap_or_else(|e| panic!("{e}"))
            .as_str()
            .to_owned()
    }

    /// A fresh request and its honest presentation.
    fn base(&mut self, c: Cred, disclose: &[&str], preds: &[&str]) -> (PresentationRequest, String) {
        let req = self.request(disclose, preds);
        let p = self.present(c, &req);
        (req, p)
    }

    fn parts(&self, p: &str) -> Parts {
        Parts::split(p, self.issuer_secret, self.holder_secret)
    }

    fn push(
        &mut self,
        name: &str,
        description: &str,
        req: &PresentationRequest,
        presentation: String,
        expect: Option<&str>,
    ) -> &mut Value {
        let mut v = json!({
            "name": name,
            "description": description,
            "request": req.to_json(),
            "presentation": presentation,
        });
        match expect {
            None => v["expect"] = json!("valid"),
            Some(e) => {
                v["expect"] = json!("invalid");
                v["error"] = json!(e);
            }
        }
        self.vectors.push(v);
        let last = self.vectors.len() - 1;
        &mut self.vectors[last]
    }

    /// An honest presentation of `c` for a request (`disclose`, `preds`),
    /// edited by `f` and reassembled.
    #[allow(clippy::too_many_arguments)]
    fn edit(
        &mut self,
        name: &str,
        description: &str,
        expect: Option<&str>,
        c: Cred,
        disclose: &[&str],
        preds: &[&str],
        f: impl FnOnce(&mut Parts),
    ) -> &mut Value {
        let (req, p) = self.base(c, disclose, preds);
        let mut parts = self.parts(&p);
        f(&mut parts);
        let s = parts.assemble();
        self.push(name, description, &req, s, expect)
    }

    /// The plain credential presenting `tier`, edited by `f`.
    fn tamper(
        &mut self,
        name: &str,
        description: &str,
        expect: Option<&str>,
        f: impl FnOnce(&mut Parts),
    ) -> &mut Value {
        self.edit(name, description, expect, Cred::Plain, &["tier"], &[], f)
    }

    /// The plain credential presenting `tier`, as a string edited by `f`.
    fn tamper_str(
        &mut self,
        name: &str,
        description: &str,
        expect: Option<&str>,
        f: impl FnOnce(&str) -> String,
    ) -> &mut Value {
        let (req, p) = self.base(Cred::Plain, &["tier"], &[]);
        let s = f(&p);
        self.push(name, description, &req, s, expect)
    }

    fn status_token(&self, list: &StatusList) -> String {
        self.issuer.sign_status_list(STATUS_URI, list, UnixTime(NOW), DAY, 3600)
    }

    /// The digests of the plain credential's undisclosed decoys.
    fn decoys(&self, payload: &Value) -> Vec<String> {
        let real: Vec<String> = self.plain_disclosures.values().map(|d| sha256_b64(d.as_bytes())).collect();
        payload["_sd"]
            .as_array()
            .unwrap_or_else(|| panic!("_sd"))
            .iter()
            .filter_map(Value::as_str)
            .filter(|d| !real.iter().any(|r| r == d))
            .map(str::to_owned)
            .collect()
    }

    fn digest_of(&self, claim: &str) -> String {
        sha256_b64(self.plain_disclosures[claim].as_bytes())
    }

    fn all(&mut self) {
        self.valid();
        self.structure();
        self.header();
        self.trust_signature_time();
        self.jose();
        self.rfc9901();
        self.holder_binding();
        self.status();
        self.predicates();
    }

    fn valid(&mut self) {
        let (r, p) = self.base(Cred::Plain, &["tier"], &[]);
        self.push("valid/disclose_tier", "Baseline: the holder discloses `tier` and nothing else.", &r, p, None);
        let (r, p) = self.base(Cred::Plain, &[], &[]);
        self.push(
            "valid/nothing_disclosed",
            "An empty request: issuer JWT, no disclosure, KB-JWT (`jwt~kb`).",
            &r,
            p,
            None,
        );
        let (r, p) = self.base(Cred::Plain, &["tier", "policy", "perks"], &[]);
        self.push("valid/all_disclosed", "Every claim disclosed.", &r, p, None);
        let (r, p) = self.base(Cred::Plain, &[], &["perk:no_deposit_rental"]);
        self.push(
            "valid/perk",
            "A perk predicate answered by disclosing the `perks` object and that one flag.",
            &r,
            p,
            None,
        );
        let (r, p) = self.base(Cred::Scored, &[], &["700<=score<=800"]);
        self.push(
            "valid/score_range_proofs",
            "A two-sided range on the committed score (one proof on each commitment), in the KB-JWT.",
            &r,
            p,
            None,
        );
        let (r, p) = self.base(Cred::Status, &["tier"], &[]);
        self.push(
            "valid/status_valid",
            "A revocable credential whose entry in the loaded status list is 0 (valid).",
            &r,
            p,
            None,
        );
    }

    fn structure(&mut self) {
        self.tamper_str(
            "limit/input_size",
            "A valid presentation followed by 64 KiB of `A`: over the 64 KiB limit.",
            Some("limit.input_size"),
            |p| format!("{p}{}", "A".repeat(64 * 1024)),
        );
        self.tamper(
            "limit/disclosures",
            "65 disclosures, each referenced from `_sd` of a re-signed payload: over the limit of 64.",
            Some("limit.disclosures"),
            |parts| {
                for i in 0..65 {
                    let d = disclosure(&json!([SALT, format!("c{i}"), i]));
                    sd_array(&mut parts.payload).push(json!(sha256_b64(d.as_bytes())));
                    parts.disclosures.push(d);
                }
            },
        );
        self.tamper(
            "limit/json_depth",
            "The issuer payload nests 40 arrays deep (limit 16).",
            Some("limit.json_depth"),
            |parts| {
                let mut deep = json!(1);
                for _ in 0..40 {
                    deep = json!([deep]);
                }
                parts.payload["deep"] = deep;
            },
        );
        self.tamper(
            "limit/string_length",
            "The issuer payload holds a 20000-byte string (limit 16 KiB).",
            Some("limit.string_length"),
            |parts| parts.payload["long"] = json!("x".repeat(20_000)),
        );
        self.tamper_str("split/no_tilde", "Only the issuer JWT: no `~` at all.", Some("malformed.sd_jwt"), |p| {
            p.split('~').next().unwrap_or_default().to_owned()
        });
        self.tamper_str("split/empty_input", "The empty string.", Some("malformed.sd_jwt"), |_| String::new());
        self.tamper(
            "split/empty_disclosure",
            "`jwt~~disclosure~kb`: an empty disclosure between two `~` (KB-JWT re-signed over it).",
            Some("malformed.sd_jwt"),
            |parts| parts.disclosures.insert(0, String::new()),
        );
        self.tamper(
            "split/kb_not_a_jwt",
            "The last component is neither empty nor a KB-JWT.",
            Some("malformed.jws"),
            |parts| parts.kb = Some("not-a-jwt".into()),
        );
        self.tamper_str(
            "split/no_trailing_tilde",
            "`jwt~disclosure` without the trailing `~`: the disclosure is taken for the KB-JWT.",
            Some("malformed.jws"),
            |p| {
                let comps: Vec<&str> = p.split('~').collect();
                format!("{}~{}", comps[0], comps[1])
            },
        );
        self.tamper_str(
            "split/jws_four_parts",
            "The issuer JWT has a fourth dot-separated part.",
            Some("malformed.jws"),
            |p| p.replacen('~', ".AAAA~", 1),
        );
        self.tamper_str(
            "split/jws_empty_signature",
            "The issuer JWT ends in `.` with an empty signature.",
            Some("malformed.jws"),
            |p| {
                let (jwt, rest) = p.split_once('~').unwrap_or_default();
                let cut = jwt.rfind('.').unwrap_or_default();
                format!("{}.~{rest}", &jwt[..cut])
            },
        );
        self.tamper_str(
            "base64/standard_alphabet",
            "The first character of the header replaced by `+` (standard alphabet).",
            Some("malformed.base64url"),
            |p| format!("+{}", &p[1..]),
        );
        self.tamper(
            "base64/padded_disclosure",
            "A disclosure with `==` padding (KB-JWT re-signed over it).",
            Some("malformed.base64url"),
            |parts| parts.disclosures[0].push_str("=="),
        );
        self.tamper(
            "base64/non_canonical_header",
            "The header's last base64url character has non-zero unused bits.",
            Some("malformed.base64url"),
            |parts| {
                let mut text = parts.header.to_string();
                while b64(&text).len() % 4 == 0 {
                    text.insert(text.len() - 1, ' ');
                }
                let jwt = sign_raw(&text, &parts.payload.to_string(), &parts.issuer_secret);
                let h = b64(&text);
                const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let last = h.as_bytes()[h.len() - 1];
                let idx = ALPHABET.iter().position(|&c| c == last).unwrap_or(0);
                let bumped = char::from(ALPHABET[idx | 1]);
                assert_ne!(char::from(last), bumped);
                parts.jwt = Some(format!("{}{bumped}{}", &h[..h.len() - 1], &jwt[h.len()..]));
            },
        );
        self.tamper(
            "base64/signature_too_long",
            "The issuer signature has two extra base64url characters.",
            Some("malformed.base64url"),
            |parts| {
                let mut jwt = parts.jwt();
                jwt.push_str("AA");
                parts.jwt = Some(jwt);
            },
        );
    }

    fn header(&mut self) {
        for (name, alg) in [
            ("none", json!("none")),
            ("hs256", json!("HS256")),
            ("rs256", json!("RS256")),
            ("lowercase_eddsa", json!("eddsa")),
            ("uppercase_eddsa", json!("EDDSA")),
            ("mixed_case_eddsa", json!("EdDsa")),
            ("trailing_space", json!("EdDSA ")),
            ("null", json!(null)),
            ("array", json!(["EdDSA"])),
        ] {
            self.tamper(
                &format!("header/alg_{name}"),
                &format!("Issuer JWT header `alg` is {alg} (signed with the real key). Only `EdDSA`, `Ed25519` and `ES256` are accepted, case-sensitively."),
                Some("header.alg"),
                |parts| parts.header["alg"] = alg,
            );
        }
        self.tamper(
            "header/alg_fully_specified_ed25519",
            "Issuer JWT header `alg` is the fully-specified `Ed25519`, signed by the real Ed25519 key: accepted.",
            None,
            |parts| parts.header["alg"] = json!("Ed25519"),
        );
        self.tamper(
            "header/alg_es256_on_an_ed25519_key",
            "Issuer JWT header `alg` is `ES256`, signed by the real Ed25519 key. The trusted key's type decides the algorithm, so the Ed25519 signature is not checked as ES256 or as Ed25519: refused as a bad signature.",
            Some("signature.issuer"),
            |parts| parts.header["alg"] = json!("ES256"),
        );
        self.tamper("header/alg_missing", "Issuer JWT header without `alg`.", Some("header.alg"), |parts| {
            obj(&mut parts.header).remove("alg");
        });
        self.tamper(
            "header/alg_none_unsigned",
            "`alg: none` with an empty signature part: rejected as a JWS without three non-empty parts.",
            Some("malformed.jws"),
            |parts| {
                parts.header["alg"] = json!("none");
                parts.jwt = Some(format!("{}.{}.", b64(parts.header.to_string()), b64(parts.payload.to_string())));
            },
        );
        for (name, typ) in [
            ("jwt", json!("JWT")),
            ("legacy_vc_sd_jwt", json!("vc+sd-jwt")),
            ("kb_jwt", json!("kb+jwt")),
            ("number", json!(1)),
        ] {
            self.tamper(
                &format!("header/typ_{name}"),
                &format!("Issuer JWT header `typ` is {typ}; only `dc+sd-jwt` is accepted."),
                Some("header.typ"),
                |parts| parts.header["typ"] = typ,
            );
        }
        for (name, typ) in [("uppercase", "DC+SD-JWT"), ("application_prefix", "application/dc+sd-jwt")] {
            self.tamper(
                &format!("header/typ_{name}"),
                &format!("Issuer JWT header `typ` is {typ:?}: the same media type as `dc+sd-jwt` (RFC 7515 §4.1.9: case-insensitive, `application/` optional), accepted."),
                None,
                |parts| parts.header["typ"] = json!(typ),
            );
        }
        self.tamper("header/typ_missing", "Issuer JWT header without `typ`.", Some("header.typ"), |parts| {
            obj(&mut parts.header).remove("typ");
        });
        for name in ["crit", "jwk", "x5u", "x5c", "jku", "x5t"] {
            let value = match name {
                "crit" => json!(["exp"]),
                "jwk" => json!({"kty": "OKP", "crv": "Ed25519", "x": b64([9u8; 32])}),
                "x5c" => json!(["MIIB"]),
                _ => json!("https://evil.example/key"),
            };
            self.tamper(
                &format!("header/forbidden_{name}"),
                &format!("Issuer JWT header carries `{name}`."),
                Some("header.forbidden"),
                |parts| parts.header[name] = value,
            );
        }
        self.tamper("header/kid_missing", "Issuer JWT header without `kid`.", Some("header.kid"), |parts| {
            obj(&mut parts.header).remove("kid");
        });
        self.tamper("header/kid_number", "Issuer JWT header `kid` is a number.", Some("header.kid"), |parts| {
            parts.header["kid"] = json!(1)
        });
    }

    fn trust_signature_time(&mut self) {
        self.tamper(
            "trust/unknown_issuer",
            "`iss` is an issuer not in the trust store.",
            Some("trust.issuer"),
            |parts| parts.payload["iss"] = json!("https://other.example"),
        );
        self.tamper(
            "trust/issuer_trailing_slash",
            "`iss` is the trusted issuer with a trailing slash: no normalisation.",
            Some("trust.issuer"),
            |parts| parts.payload["iss"] = json!("https://bureau.example/"),
        );
        self.tamper("trust/unknown_kid", "`kid` is not a key of the trusted issuer.", Some("trust.kid"), |parts| {
            parts.header["kid"] = json!("not-a-known-kid")
        });
        self.tamper("trust/iss_missing", "The payload has no `iss`.", Some("malformed.claim"), |parts| {
            obj(&mut parts.payload).remove("iss");
        });
        let holder = self.holder_secret;
        self.tamper(
            "signature/signed_by_holder_key",
            "Header and payload unchanged, signed by the holder's key instead of the issuer's.",
            Some("signature.issuer"),
            |parts| parts.issuer_secret = holder,
        );
        self.tamper(
            "signature/payload_changed",
            "`exp` extended by a year; the original signature kept.",
            Some("signature.issuer"),
            |parts| {
                let jwt = parts.jwt();
                let sig = jwt.rsplit('.').next().unwrap_or_default().to_owned();
                let mut payload = parts.payload.clone();
                payload["exp"] = json!(payload["exp"].as_u64().unwrap_or(0) + 365 * DAY);
                parts.jwt = Some(format!("{}.{}.{sig}", b64(parts.header.to_string()), b64(payload.to_string())));
            },
        );
        self.tamper(
            "signature/header_reserialized",
            "The same header JSON with a space added; the signature over the original bytes kept.",
            Some("signature.issuer"),
            |parts| {
                let jwt = parts.jwt();
                let (_, rest) = jwt.split_once('.').unwrap_or_default();
                let spaced = parts.header.to_string().replacen(':', ": ", 1);
                parts.jwt = Some(format!("{}.{rest}", b64(spaced)));
            },
        );
        self.tamper(
            "signature/non_canonical_s",
            "A malleated signature: S replaced by S + L (the group order). verify_strict rejects it.",
            Some("signature.issuer"),
            |parts| {
                let jwt = parts.jwt();
                let cut = jwt.rfind('.').unwrap_or_default();
                let mut sig = unb64(&jwt[cut + 1..]);
                const L: [u8; 32] = [
                    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
                ];
                let mut carry = 0u16;
                for (s, l) in sig[32..].iter_mut().zip(L) {
                    let sum = u16::from(*s) + u16::from(l) + carry;
                    *s = sum.to_le_bytes()[0];
                    carry = sum >> 8;
                }
                assert_eq!(carry, 0);
                parts.jwt = Some(format!("{}.{}", &jwt[..cut], b64(&sig)));
            },
        );
        self.tamper("signature/all_zero", "A signature of 64 zero bytes.", Some("signature.issuer"), |parts| {
            let jwt = parts.jwt();
            let cut = jwt.rfind('.').unwrap_or_default();
            parts.jwt = Some(format!("{}.{}", &jwt[..cut], b64([0u8; 64])));
        });
        for (name, claim, value, expect, desc) in [
            ("time/expired", "exp", json!(NOW - 301), Some("time.expired"), "`exp` 301 s before now (skew 300 s)."),
            (
                "time/exp_at_skew_edge",
                "exp",
                json!(NOW - 300),
                None,
                "`exp` exactly 300 s before now: within the skew.",
            ),
            (
                "time/exp_u64_max",
                "exp",
                json!(u64::MAX),
                None,
                "`exp` = 2^64-1, signed by the issuer: never expires (no overflow).",
            ),
            ("time/nbf_future", "nbf", json!(NOW + 301), Some("time.not_yet_valid"), "`nbf` 301 s after now."),
            ("time/nbf_at_skew_edge", "nbf", json!(NOW + 300), None, "`nbf` exactly 300 s after now: within the skew."),
            ("time/iat_future", "iat", json!(NOW + 301), Some("time.not_yet_valid"), "`iat` 301 s after now."),
            ("time/iat_zero", "iat", json!(0), None, "`iat` = 0 (1970)."),
        ] {
            self.tamper(name, desc, expect, |parts| parts.payload[claim] = value);
        }
        self.tamper("time/exp_missing", "The payload has no `exp`.", Some("malformed.claim"), |parts| {
            obj(&mut parts.payload).remove("exp");
        });
    }

    fn jose(&mut self) {
        for (name, claim, raw, expect) in [
            ("exp_1e400", "exp", "1e400", "malformed.json"),
            ("exp_2_pow_64", "exp", "18446744073709551616", "malformed.claim"),
            ("exp_float_integral", "exp", "1.8e9", "malformed.claim"),
            ("exp_null", "exp", "null", "malformed.claim"),
            ("iat_1_5", "iat", "1.5", "malformed.claim"),
            ("iat_minus_1", "iat", "-1", "malformed.claim"),
            ("iat_string", "iat", "\"1795219200\"", "malformed.claim"),
            ("iat_trailing_dot_zero", "iat", "1795219200.0", "malformed.claim"),
            ("iat_1e400", "iat", "1e400", "malformed.json"),
            ("nbf_minus_1", "nbf", "-1", "malformed.claim"),
            ("nbf_2_pow_64", "nbf", "18446744073709551616", "malformed.claim"),
        ] {
            let desc = format!(
                "Issuer payload `{claim}` is the JSON number text `{raw}`: only integers in 0..=2^64-1 are NumericDates here{}.",
                if expect == "malformed.json" { "; the parser itself refuses a number beyond f64" } else { "" }
            );
            self.tamper(&format!("jose/{name}"), &desc, Some(expect), |parts| {
                parts.payload[claim] = json!("__RAW__");
                parts.payload_raw = Some(with_raw(&parts.payload, raw));
            });
        }
        self.tamper(
            "jose/duplicate_key_header",
            "Issuer header `{\"alg\":\"none\",\"alg\":\"EdDSA\",...}`: duplicate key.",
            Some("malformed.json"),
            |parts| {
                let h = parts.header.to_string();
                parts.header_raw = Some(format!("{{\"alg\":\"none\",{}", &h[1..]));
            },
        );
        self.tamper(
            "jose/duplicate_key_escaped",
            "Issuer header `{\"alg\":\"EdDSA\",\"\\u0061lg\":\"none\",...}`: the same key, once escaped.",
            Some("malformed.json"),
            |parts| {
                let h = parts.header.to_string();
                parts.header_raw = Some(format!("{{\"\\u0061lg\":\"none\",{}", &h[1..]));
            },
        );
        self.tamper(
            "jose/b64_false_without_crit",
            "Header `b64: false` (RFC 7797) without `crit`: ignored as RFC 7797 requires, the payload is base64url as usual; valid.",
            None,
            |parts| parts.header["b64"] = json!(false),
        );
        self.tamper("jose/kb_iat_1e400", "KB-JWT `iat` is the number text `1e400`.", Some("malformed.json"), |parts| {
            let mut kb = parts.kb_payload.clone();
            kb["sd_hash"] = json!("__SD_HASH__");
            kb["iat"] = json!("__RAW__");
            parts.kb_payload_raw = Some(with_raw(&kb, "1e400"));
        });
        self.tamper(
            "jose/duplicate_key_payload",
            "Issuer payload with `iss` twice (first an untrusted issuer).",
            Some("malformed.json"),
            |parts| {
                let p = parts.payload.to_string();
                parts.payload_raw = Some(format!("{{\"iss\":\"https://evil.example\",{}", &p[1..]));
            },
        );
        self.tamper(
            "jose/duplicate_key_nested_cnf",
            "`cnf.jwk.x` twice, the first an attacker's key.",
            Some("malformed.json"),
            |parts| {
                let p = parts.payload.to_string();
                parts.payload_raw =
                    Some(p.replacen("\"jwk\":{", &format!("\"jwk\":{{\"x\":\"{}\",", b64([9u8; 32])), 1));
                assert_ne!(parts.payload_raw.as_deref(), Some(p.as_str()));
            },
        );
        self.tamper(
            "jose/duplicate_key_kb_payload",
            "KB-JWT payload with `nonce` twice (first a wrong one).",
            Some("malformed.json"),
            |parts| {
                let mut kb = parts.kb_payload.clone();
                kb["sd_hash"] = json!("__SD_HASH__");
                let k = kb.to_string();
                parts.kb_payload_raw = Some(format!("{{\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\",{}", &k[1..]));
            },
        );
        self.tamper(
            "jose/duplicate_key_in_disclosure_value",
            "A referenced disclosure whose value object has a duplicate key.",
            Some("malformed.json"),
            |parts| {
                let d = b64(format!("[\"{SALT}\",\"extra\",{{\"a\":1,\"a\":2}}]"));
                sd_array(&mut parts.payload)[0] = json!(sha256_b64(d.as_bytes()));
                parts.disclosures.push(d);
            },
        );
        self.tamper(
            "jose/non_utf8_in_header_json",
            "The header JSON contains the bytes 0xff 0xfe inside a string (valid base64url, invalid UTF-8 JSON text).",
            Some("malformed.json"),
            |parts| {
                let mut h = b"{\"x\":\"\xff\xfe\",".to_vec();
                h.extend_from_slice(&parts.header.to_string().as_bytes()[1..]);
                let input = format!("{}.{}", b64(&h), b64(parts.payload.to_string()));
                let key = ed25519_dalek::SigningKey::from_bytes(&parts.issuer_secret);
                let sig = key.sign(input.as_bytes()).to_bytes();
                parts.jwt = Some(format!("{input}.{}", b64(sig)));
            },
        );
        self.tamper(
            "jose/lone_surrogate",
            "The payload contains the escape `\\ud800` (a lone surrogate).",
            Some("malformed.json"),
            |parts| {
                parts.payload["note"] = json!("__RAW__");
                parts.payload_raw = Some(with_raw(&parts.payload, "\"\\ud800\""));
            },
        );
        self.tamper(
            "jose/bom_before_header",
            "The header JSON starts with a UTF-8 byte order mark.",
            Some("malformed.json"),
            |parts| parts.header_raw = Some(format!("\u{feff}{}", parts.header)),
        );
        self.tamper(
            "jose/trailing_garbage_payload",
            "The payload JSON is followed by `x`.",
            Some("malformed.json"),
            |parts| parts.payload_raw = Some(format!("{}x", parts.payload)),
        );
        self.tamper("jose/payload_not_object", "The payload is a JSON array.", Some("malformed.json"), |parts| {
            parts.payload_raw = Some("[1]".into())
        });
        let (req, p) = self.base(Cred::Plain, &["tier"], &[]);
        let mut bytes = p.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe");
        let v = json!({
            "name": "jose/non_utf8_presentation",
            "description": "A valid presentation followed by the bytes 0xff 0xfe: not UTF-8, so not a &str. The CLI refuses the file before verifying (`is not utf-8 text`, exit 2).",
            "request": req.to_json(),
            "presentation_b64": b64(&bytes),
            "expect": "invalid",
            "error": "malformed.utf8",
        });
        self.vectors.push(v);
    }

    fn rfc9901(&mut self) {
        let tier = self.digest_of("tier");
        let perks = self.digest_of("perks");
        let (_, probe) = self.base(Cred::Plain, &[], &[]);
        let mut probe = self.parts(&probe);
        let decoys = self.decoys(&probe.payload);
        probe.disclosures.clear();
        assert!(decoys.len() >= 3, "decoys");
        let (d0, d1) = (decoys[0].clone(), decoys[1].clone());
        let replace = |parts: &mut Parts, from: &str, to: &str| {
            let sd = sd_array(&mut parts.payload);
            let pos = sd.iter().position(|d| d == from).unwrap_or_else(|| panic!("digest"));
            sd[pos] = json!(to);
        };
        self.tamper(
            "rfc9901/duplicate_decoy_digest",
            "`_sd` repeats a decoy digest (one decoy replaced by a copy of another).",
            Some("disclosure.duplicate_digest"),
            |parts| replace(parts, &d1, &d0),
        );
        self.tamper(
            "rfc9901/duplicate_undisclosed_digest",
            "`_sd` repeats the digest of an undisclosed real claim (`perks`).",
            Some("disclosure.duplicate_digest"),
            |parts| replace(parts, &d0, &perks),
        );
        self.tamper(
            "rfc9901/duplicate_disclosed_digest",
            "`_sd` repeats the digest of the disclosed `tier`.",
            Some("disclosure.duplicate_digest"),
            |parts| replace(parts, &d0, &tier),
        );
        self.tamper(
            "rfc9901/duplicate_digest_across_levels",
            "A decoy digest of the top-level `_sd` also appears in a nested object's `_sd`.",
            Some("disclosure.duplicate_digest"),
            |parts| parts.payload["address"] = json!({"_sd": [d0]}),
        );
        self.tamper(
            "rfc9901/duplicate_digest_in_array",
            "A decoy digest of `_sd` also appears as an array element `{\"...\": digest}`.",
            Some("disclosure.duplicate_digest"),
            |parts| parts.payload["nationalities"] = json!([{"...": d0}]),
        );
        self.tamper(
            "rfc9901/same_disclosure_twice",
            "The `tier` disclosure presented twice.",
            Some("disclosure.duplicate"),
            |parts| {
                let d = parts.disclosures[0].clone();
                parts.disclosures.push(d);
            },
        );
        self.tamper(
            "rfc9901/unreferenced_disclosure",
            "An extra disclosure (`tier: AAA`) whose digest the credential does not contain.",
            Some("disclosure.unreferenced"),
            |parts| parts.disclosures.push(disclosure(&json!([SALT, "tier", "AAA"]))),
        );
        let (_, scored) = self.base(Cred::Scored, &["tier"], &[]);
        let foreign = self.parts(&scored).disclosures[0].clone();
        self.tamper(
            "rfc9901/disclosure_from_another_credential",
            "The `tier` disclosure of another credential of the same issuer replaces this one's.",
            Some("disclosure.unreferenced"),
            |parts| parts.disclosures = vec![foreign],
        );
        let elem = disclosure(&json!([SALT, "DE"]));
        let prop = disclosure(&json!([SALT, "nickname", "x"]));
        let (e2, p2) = (elem.clone(), prop.clone());
        self.tamper(
            "rfc9901/two_element_disclosure_in_sd",
            "A `[salt, value]` array-element disclosure referenced from `_sd`.",
            Some("disclosure.shape"),
            |parts| {
                replace(parts, &d0, &sha256_b64(e2.as_bytes()));
                parts.disclosures.push(e2);
            },
        );
        self.tamper(
            "rfc9901/three_element_disclosure_in_array",
            "A `[salt, name, value]` disclosure referenced from an array element `{\"...\": digest}`.",
            Some("disclosure.shape"),
            |parts| {
                parts.payload["nationalities"] = json!([{"...": sha256_b64(p2.as_bytes())}]);
                parts.disclosures.push(p2);
            },
        );
        let e3 = elem.clone();
        self.tamper(
            "rfc9901/array_element_disclosed",
            "A `[salt, value]` disclosure referenced from an array element: valid.",
            None,
            |parts| {
                parts.payload["nationalities"] =
                    json!([{"...": sha256_b64(e3.as_bytes())}, "FR", {"...": sha256_b64(b"array decoy")}]);
                parts.disclosures.push(e3);
            },
        );
        let nested = disclosure(&json!([SALT, "street", "Schulstr. 12"]));
        self.tamper(
            "rfc9901/nested_object_disclosed",
            "A disclosure referenced from a nested object's `_sd`: valid.",
            None,
            |parts| {
                parts.payload["address"] = json!({"_sd": [sha256_b64(nested.as_bytes())], "country": "DE"});
                parts.disclosures.push(nested);
            },
        );
        let child = disclosure(&json!([SALT, "street", "Schulstr. 12"]));
        let parent = disclosure(&json!([SALT, "address", {"_sd": [sha256_b64(child.as_bytes())]}]));
        let (c2, p3) = (child.clone(), parent.clone());
        self.tamper(
            "rfc9901/recursive_disclosure",
            "A disclosure (`address`) whose value references another (`street`); both presented: valid.",
            None,
            |parts| {
                replace(parts, &d0, &sha256_b64(p3.as_bytes()));
                parts.disclosures.push(p3);
                parts.disclosures.push(c2);
            },
        );
        self.tamper(
            "rfc9901/child_without_parent",
            "Only the inner disclosure (`street`) presented; its parent (`address`) is not, so nothing references it.",
            Some("disclosure.unreferenced"),
            |parts| {
                replace(parts, &d0, &sha256_b64(parent.as_bytes()));
                parts.disclosures.push(child);
            },
        );
        for (name, content, desc) in [
            ("four_elements", json!([SALT, "tier", "A", "extra"]), "a four-element array"),
            ("one_element", json!([SALT]), "a one-element array"),
            ("object", json!({"salt": SALT, "tier": "A"}), "a JSON object"),
            ("salt_not_string", json!([1, "tier", "A"]), "an array whose salt is a number"),
            ("name_not_string", json!([SALT, 5, "A"]), "an array whose name is a number"),
        ] {
            self.tamper(
                &format!("rfc9901/shape_{name}"),
                &format!("A disclosure referenced from `_sd` that is {desc}."),
                Some("disclosure.shape"),
                |parts| {
                    let d = disclosure(&content);
                    replace(parts, &d0, &sha256_b64(d.as_bytes()));
                    parts.disclosures.push(d);
                },
            );
        }
        self.tamper(
            "rfc9901/array_digest_not_string",
            "An array element `{\"...\": 5}`.",
            Some("disclosure.shape"),
            |parts| parts.payload["nationalities"] = json!([{"...": 5}]),
        );
        self.tamper(
            "rfc9901/name_exists_in_clear",
            "The payload has `tier: B` in the clear and `tier` is also disclosed.",
            Some("disclosure.name_exists"),
            |parts| parts.payload["tier"] = json!("B"),
        );
        self.tamper(
            "rfc9901/name_exists_registered_claim",
            "A referenced disclosure named `iss` (would overwrite the issuer).",
            Some("disclosure.name_exists"),
            |parts| {
                let d = disclosure(&json!([SALT, "iss", "https://evil.example"]));
                replace(parts, &d0, &sha256_b64(d.as_bytes()));
                parts.disclosures.push(d);
            },
        );
        self.tamper(
            "rfc9901/name_exists_two_disclosures",
            "Two different referenced disclosures both named `tier`.",
            Some("disclosure.name_exists"),
            |parts| {
                let d = disclosure(&json!([SALT, "tier", "AAA"]));
                replace(parts, &d0, &sha256_b64(d.as_bytes()));
                parts.disclosures.push(d);
            },
        );
        for (name, sd) in [
            ("string", json!(d0.clone())),
            ("numbers", json!([1, 2])),
            ("object", json!({"a": d0.clone()})),
            ("null", json!(null)),
        ] {
            self.tamper(
                &format!("rfc9901/sd_not_array_{name}"),
                &format!("`_sd` is {sd}."),
                Some("disclosure.sd_not_array"),
                |parts| parts.payload["_sd"] = sd,
            );
        }
        for (name, alg) in [("sha512", json!("sha-512")), ("uppercase", json!("SHA-256")), ("number", json!(256))] {
            self.tamper(
                &format!("rfc9901/sd_alg_{name}"),
                &format!("`_sd_alg` is {alg}."),
                Some("disclosure.hash_alg"),
                |parts| parts.payload["_sd_alg"] = alg,
            );
        }
        self.tamper(
            "rfc9901/sd_alg_explicit",
            "`_sd_alg` written as \"sha-256\" (creditproof issuers omit it: RFC 9901 §4.1.1 defaults to it); valid.",
            None,
            |parts| parts.payload["_sd_alg"] = json!("sha-256"),
        );
        for name in ["_sd", "..."] {
            self.tamper(
                &format!("rfc9901/reserved_name_{}", if name == "_sd" { "sd" } else { "ellipsis" }),
                &format!("A referenced disclosure named `{name}`."),
                Some("disclosure.reserved_name"),
                |parts| {
                    let d = disclosure(&json!([SALT, name, "x"]));
                    replace(parts, &d0, &sha256_b64(d.as_bytes()));
                    parts.disclosures.push(d);
                },
            );
        }
        self.tamper(
            "rfc9901/disclosure_not_json",
            "A disclosure whose base64url decodes to text that is not JSON.",
            Some("malformed.json"),
            |parts| parts.disclosures.push(b64("[not json")),
        );
        self.tamper(
            "rfc9901/plain_sd_jwt_no_kb",
            "An SD-JWT without key binding (`jwt~disclosure~`).",
            Some("holder_binding.missing"),
            |parts| parts.kb = Some(String::new()),
        );
        let issued = probe.sd_jwt();
        let (req, _) = self.base(Cred::Plain, &[], &[]);
        let mut all = issued.clone();
        for d in self.plain_disclosures.values() {
            all.push_str(d);
            all.push('~');
        }
        self.push(
            "rfc9901/issued_credential_as_presentation",
            "The whole issued SD-JWT (every disclosure, no KB-JWT).",
            &req,
            all,
            Some("holder_binding.missing"),
        );
    }

    fn holder_binding(&mut self) {
        self.tamper(
            "holder_binding/kb_signed_by_other_key",
            "The KB-JWT signed by a key that is not `cnf.jwk`.",
            Some("holder_binding.signature"),
            |parts| parts.holder_secret = [7u8; 32],
        );
        let issuer = self.issuer_secret;
        self.tamper(
            "holder_binding/kb_signed_by_issuer_key",
            "The KB-JWT signed by the issuer's key.",
            Some("holder_binding.signature"),
            |parts| parts.holder_secret = issuer,
        );
        self.tamper(
            "holder_binding/kb_embeds_attacker_jwk",
            "The KB-JWT signed by an attacker key it carries in a `jwk` header.",
            Some("header.forbidden"),
            |parts| {
                let attacker = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
                parts.kb_header["jwk"] =
                    json!({"kty": "OKP", "crv": "Ed25519", "x": b64(attacker.verifying_key().to_bytes())});
                parts.holder_secret = [7u8; 32];
            },
        );
        for (name, typ) in [("jwt", Some(json!("JWT"))), ("dc_sd_jwt", Some(json!("dc+sd-jwt"))), ("missing", None)] {
            self.tamper(
                &format!("holder_binding/kb_typ_{name}"),
                "The KB-JWT `typ` is not `kb+jwt`.",
                Some("header.typ"),
                |parts| match typ {
                    Some(t) => parts.kb_header["typ"] = t,
                    None => {
                        obj(&mut parts.kb_header).remove("typ");
                    }
                },
            );
        }
        self.tamper("holder_binding/kb_alg_none", "The KB-JWT header has `alg: none`.", Some("header.alg"), |parts| {
            parts.kb_header["alg"] = json!("none")
        });
        for (name, field, value, expect) in [
            ("nonce_wrong", "nonce", Some(json!("AAAAAAAAAAAAAAAAAAAAAA")), "holder_binding.nonce"),
            ("nonce_missing", "nonce", None, "holder_binding.nonce"),
            ("nonce_number", "nonce", Some(json!(1)), "holder_binding.nonce"),
            ("aud_wrong", "aud", Some(json!("https://hotel.example")), "holder_binding.aud"),
            ("aud_array", "aud", Some(json!([AUD])), "holder_binding.aud"),
            ("aud_missing", "aud", None, "holder_binding.aud"),
            ("iat_stale", "iat", Some(json!(NOW - 301)), "holder_binding.iat_stale"),
            ("iat_future", "iat", Some(json!(NOW + 301)), "holder_binding.iat_future"),
            ("iat_missing", "iat", None, "malformed.claim"),
            ("iat_string", "iat", Some(json!(NOW.to_string())), "malformed.claim"),
            ("sd_hash_wrong", "sd_hash", Some(json!(sha256_b64(b"x"))), "holder_binding.sd_hash"),
            ("sd_hash_number", "sd_hash", Some(json!(0)), "holder_binding.sd_hash"),
        ] {
            self.tamper(
                &format!("holder_binding/{name}"),
                &format!(
                    "KB-JWT `{field}` is {}.",
                    value.as_ref().map_or_else(|| "missing".to_owned(), ToString::to_string)
                ),
                Some(expect),
                |parts| {
                    match value {
                        Some(v) => parts.kb_payload[field] = v,
                        None => {
                            obj(&mut parts.kb_payload).remove(field);
                        }
                    }
                    if field == "sd_hash" {
                        parts.fix_sd_hash = false;
                    }
                },
            );
        }
        self.tamper(
            "holder_binding/sd_hash_missing",
            "The KB-JWT has no `sd_hash`.",
            Some("holder_binding.sd_hash"),
            |parts| {
                obj(&mut parts.kb_payload).remove("sd_hash");
                parts.fix_sd_hash = false;
            },
        );
        for (name, value, expect, desc) in [
            ("iat_at_max_age", NOW - 300, None, "KB-JWT `iat` exactly 300 s old: valid."),
            ("iat_at_skew_edge", NOW + 300, None, "KB-JWT `iat` 300 s in the future: within the skew, valid."),
        ] {
            self.tamper(&format!("holder_binding/{name}"), desc, expect, |parts| {
                parts.kb_payload["iat"] = json!(value)
            });
        }
        self.tamper(
            "holder_binding/disclosure_stripped",
            "The disclosure removed after the holder signed: `sd_hash` covers it.",
            Some("holder_binding.sd_hash"),
            |parts| {
                parts.fix_sd_hash = false;
                parts.disclosures.clear();
            },
        );
        let policy = self.plain_disclosures["policy"].clone();
        self.tamper(
            "holder_binding/disclosure_added",
            "A disclosure (`policy`) added after the holder signed.",
            Some("holder_binding.sd_hash"),
            |parts| {
                parts.fix_sd_hash = false;
                parts.disclosures.push(policy);
            },
        );
        self.tamper(
            "holder_binding/sd_hash_without_trailing_tilde",
            "`sd_hash` computed over the SD-JWT without its final `~`.",
            Some("holder_binding.sd_hash"),
            |parts| {
                let sd = parts.sd_jwt();
                parts.kb_payload["sd_hash"] = json!(sha256_b64(&sd.as_bytes()[..sd.len() - 1]));
                parts.fix_sd_hash = false;
            },
        );
        let (_, p) = self.base(Cred::Plain, &["tier"], &[]);
        let hotel = PresentationRequest::builder("https://hotel.example")
            .disclose("tier")
            .build(&mut self.rng)
            .unwrap_or_else(|e| panic!("{e}"));
        self.push(
            "holder_binding/replayed_to_another_verifier",
            "An honest presentation for the rental desk, replayed to a hotel (another nonce and audience).",
            &hotel,
            p,
            Some("holder_binding.nonce"),
        );
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for (name, jwk, desc) in [
            ("cnf_missing", None, "The issuer payload has no `cnf`."),
            (
                "cnf_weak_key",
                Some(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(identity)})),
                "`cnf.jwk` is the identity point (small order).",
            ),
            (
                "cnf_private_key",
                Some(json!({"kty": "OKP", "crv": "Ed25519", "x": "__X__", "d": b64([1u8; 32])})),
                "`cnf.jwk` carries a private `d`.",
            ),
            (
                "cnf_ec_key",
                Some(json!({"kty": "EC", "crv": "P-256", "x": "__X__", "y": "__X__"})),
                "`cnf.jwk` is an EC key.",
            ),
        ] {
            self.tamper(&format!("holder_binding/{name}"), desc, Some("holder_binding.cnf"), |parts| {
                let x = parts.payload["cnf"]["jwk"]["x"].clone();
                match jwk {
                    None => {
                        obj(&mut parts.payload).remove("cnf");
                    }
                    Some(mut j) => {
                        for v in obj(&mut j).values_mut() {
                            if v == "__X__" {
                                *v = x.clone();
                            }
                        }
                        parts.payload["cnf"]["jwk"] = j;
                    }
                }
            });
        }
    }

    fn status(&mut self) {
        let list = StatusList::new(2, 16).unwrap_or_else(|e| panic!("{e}"));
        let mut tokens: Vec<(&str, String, &str, &str)> = Vec::new();
        for (name, value, expect) in [
            ("revoked", 1u8, "status.revoked"),
            ("suspended", 2, "status.suspended"),
            ("application_specific_value", 3, "status.unknown_value"),
        ] {
            let mut l = list.clone();
            l.set(3, value).unwrap_or_else(|e| panic!("{e}"));
            let t = self.status_token(&l);
            tokens.push((name, t, expect, "The credential's entry in the list (index 3) is set."));
        }
        let other_uri =
            self.issuer.sign_status_list("https://bureau.example/status/2", &list, UnixTime(NOW), DAY, 3600);
        tokens.push(("list_for_another_uri", other_uri, "status.uri", "The only list loaded is for another uri."));
        let expired = self.issuer.sign_status_list(STATUS_URI, &list, UnixTime(NOW - 2 * DAY), DAY, 3600);
        tokens.push(("list_expired", expired, "status.expired", "The list expired a day ago."));
        let untrusted = self.other_issuer.sign_status_list(STATUS_URI, &list, UnixTime(NOW), DAY, 3600);
        tokens.push((
            "list_by_untrusted_issuer",
            untrusted.clone(),
            "status.untrusted",
            "The list is signed by an issuer not in the trust store: refused when loaded.",
        ));
        let header = json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": self.issuer.kid()});
        let payload = json!({"iss": ISS, "sub": STATUS_URI, "iat": NOW, "exp": NOW + DAY, "ttl": 3600, "status_list": {"bits": 2, "lst": list.encode_lst()}});
        tokens.push((
            "list_wrong_key",
            sign(&header, &payload, &self.other_secret),
            "status.signature",
            "The list names the issuer and its kid but is signed by another key: refused when loaded.",
        ));
        let mut h = header.clone();
        h["typ"] = json!("JWT");
        tokens.push((
            "list_wrong_typ",
            sign(&h, &payload, &self.issuer_secret),
            "header.typ",
            "The list token's `typ` is `JWT`: refused when loaded.",
        ));
        let mut p = payload.clone();
        p["status_list"]["bits"] = json!(3);
        tokens.push((
            "list_bits_3",
            sign(&header, &p, &self.issuer_secret),
            "status_list.bits",
            "The list declares `bits: 3`: refused when loaded.",
        ));
        let lst = list.encode_lst();
        let mut p = payload.clone();
        p["status_list"]["lst"] = json!(&lst[..lst.len() - 4]);
        tokens.push((
            "list_truncated_zlib",
            sign(&header, &p, &self.issuer_secret),
            "status_list.truncated",
            "The list's zlib stream is truncated: refused when loaded.",
        ));
        for (name, token, expect, desc) in tokens {
            let (r, pres) = self.base(Cred::Status, &["tier"], &[]);
            let v = self.push(&format!("status/{name}"), desc, &r, pres, Some(expect));
            v["status_lists"] = json!([token]);
        }
        let mut revoked = list.clone();
        revoked.set(3, 1).unwrap_or_else(|e| panic!("{e}"));
        let fresh = self.status_token(&revoked);
        let stale = self.issuer.sign_status_list(STATUS_URI, &list, UnixTime(NOW - 3600), DAY, 3600);
        let (r, pres) = self.base(Cred::Status, &["tier"], &[]);
        let v = self.push(
            "status/stale_list_loaded_after_fresh",
            "Two unexpired lists for the same uri: the fresh one (iat now) revokes index 3, an older one (iat now - 1 h) loaded after it does not. The newer list should win.",
            &r,
            pres,
            Some("status.revoked"),
        );
        v["status_lists"] = json!([fresh, stale]);
        let (r, pres) = self.base(Cred::Status, &["tier"], &[]);
        let v = self.push(
            "status/no_list",
            "A revocable credential and no status list loaded.",
            &r,
            pres,
            Some("status.no_list"),
        );
        v["status_lists"] = json!([]);
        let (r, pres) = self.base(Cred::Status, &["tier"], &[]);
        let meta = self.other_issuer.metadata();
        let v = self.push(
            "status/list_by_other_trusted_issuer",
            "The list for the credential's uri is signed by another issuer that is trusted (`extra_trust`).",
            &r,
            pres,
            Some("status.issuer"),
        );
        v["status_lists"] = json!([untrusted]);
        v["extra_trust"] = json!([meta]);
        let (r, pres) = self.base(Cred::Status16, &["tier"], &[]);
        self.push(
            "status/index_out_of_range",
            "The credential's index is 16; the list holds 0..=15.",
            &r,
            pres,
            Some("status.index"),
        );
        self.edit(
            "status/idx_not_integer",
            "`status.status_list.idx` is the string \"3\" (re-signed).",
            Some("malformed.claim"),
            Cred::Status,
            &["tier"],
            &[],
            |parts| parts.payload["status"]["status_list"]["idx"] = json!("3"),
        );
        self.edit(
            "status/status_claim_removed",
            "The issuer-signed `status` claim removed and re-signed: no status check applies (valid; only an issuer can do this).",
            None,
            Cred::Status,
            &["tier"],
            &[],
            |parts| {
                obj(&mut parts.payload).remove("status");
            },
        );
    }

    fn predicates(&mut self) {
        let ge650 = ["score>=650"];
        self.edit(
            "predicates/missing_proof",
            "`range_proofs` removed from the KB-JWT (re-signed).",
            Some("predicate.missing_proof"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| {
                obj(&mut parts.kb_payload).remove("range_proofs");
            },
        );
        let (_, p600) = self.base(Cred::Scored, &[], &["score>=600"]);
        let proof600 = self.parts(&p600).kb_payload["range_proofs"]["score>=600"].clone();
        self.edit(
            "predicates/proof_for_another_threshold",
            "The proof of `score>=600` relabelled as `score>=650`.",
            Some("predicate.proof_invalid"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.kb_payload["range_proofs"] = json!({"score>=650": proof600}),
        );
        let (_, ple) = self.base(Cred::Scored, &[], &["score<=800"]);
        let le = self.parts(&ple).kb_payload["range_proofs"]["score<=800"].clone();
        self.edit(
            "predicates/le_proof_relabelled_ge",
            "The proof of `score<=800` relabelled as `score>=650`.",
            Some("predicate.proof_invalid"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.kb_payload["range_proofs"] = json!({"score>=650": le}),
        );
        let (_, pother) = self.base(Cred::Scored2, &[], &ge650);
        let other = self.parts(&pother).kb_payload["range_proofs"]["score>=650"].clone();
        self.edit(
            "predicates/proof_from_another_credential",
            "A valid `score>=650` proof for another credential (same score, other seed).",
            Some("predicate.proof_invalid"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.kb_payload["range_proofs"] = json!({"score>=650": other}),
        );
        self.edit(
            "predicates/corrupted_proof",
            "One base64url character in the middle of the proof changed.",
            Some("predicate.proof_invalid"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| {
                let s = parts.kb_payload["range_proofs"]["score>=650"].as_str().unwrap_or_default().to_owned();
                let mid = s.len() / 2;
                let c = if &s[mid..=mid] == "A" { "B" } else { "A" };
                parts.kb_payload["range_proofs"]["score>=650"] = json!(format!("{}{c}{}", &s[..mid], &s[mid + 1..]));
            },
        );
        self.edit(
            "predicates/truncated_proof",
            "The proof with its last 4 characters removed.",
            Some("predicate.proof_invalid"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| {
                let s = parts.kb_payload["range_proofs"]["score>=650"].as_str().unwrap_or_default().to_owned();
                parts.kb_payload["range_proofs"]["score>=650"] = json!(&s[..s.len() - 4]);
            },
        );
        self.edit(
            "predicates/no_commitment",
            "The signed `range` claim removed (re-signed by the issuer): nothing to check the proof against.",
            Some("predicate.no_commitment"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| {
                obj(&mut parts.payload).remove("range");
            },
        );
        self.edit(
            "predicates/no_commitment_for_attribute",
            "A `score>=650` proof presented against a request for `income>=650`, which the credential does not commit to.",
            Some("predicate.no_commitment"),
            Cred::Scored,
            &[],
            &ge650,
            |_| {},
        );
        // The request of the last vector asks for income: same nonce and aud.
        let last = self.vectors.len() - 1;
        self.vectors[last]["request"]["predicates"] = json!(["income>=650"]);
        self.edit(
            "predicates/range_proofs_not_object",
            "`range_proofs` is an array.",
            Some("malformed.claim"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.kb_payload["range_proofs"] = json!(["x"]),
        );
        self.edit(
            "predicates/too_many_range_proofs",
            "17 entries in `range_proofs` (limit 2 x 8).",
            Some("limit.predicates"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| {
                for i in 0..16 {
                    parts.kb_payload["range_proofs"][format!("score>={i}")] = json!("x");
                }
            },
        );
        self.edit(
            "predicates/range_entry_malformed",
            "The signed `range.score.bits` is a string (re-signed).",
            Some("malformed.claim"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.payload["range"]["score"]["bits"] = json!("10"),
        );
        self.edit(
            "predicates/range_entry_with_base",
            "The signed `range.score` names a `base` (re-signed): hashwires-v2 derives it from `bits`, \
             so an entry that sets one is refused.",
            Some("malformed.claim"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.payload["range"]["score"]["base"] = json!(32),
        );
        self.edit(
            "predicates/range_entry_v1",
            "The signed `range.score` says `hashwires-v1` (re-signed).",
            Some("malformed.claim"),
            Cred::Scored,
            &[],
            &ge650,
            |parts| parts.payload["range"]["score"]["scheme"] = json!("hashwires-v1"),
        );
        // Perks and disclosures: the holder answered one request; the
        // verifier's request (same nonce and audience) asks for more.
        for (name, answered, asked, expect, desc) in [
            (
                "perk_false",
                json!({"disclose": ["perks"]}),
                json!({"disclose": [], "predicates": ["perk:express_airport_security"]}),
                "predicate.proof_invalid",
                "The `perks` object is disclosed whole; the flag asked for is signed `false`.",
            ),
            (
                "perk_not_disclosed",
                json!({"disclose": []}),
                json!({"disclose": [], "predicates": ["perk:no_deposit_rental"]}),
                "predicate.missing_proof",
                "A perk is requested and its flag is not disclosed.",
            ),
            (
                "requested_claim_not_disclosed",
                json!({"disclose": []}),
                json!({"disclose": ["tier"], "predicates": []}),
                "disclosure.missing",
                "`tier` is requested and not disclosed.",
            ),
        ] {
            let holder_req = {
                let mut j = self.request(&[], &[]).to_json();
                j["disclose"] = answered["disclose"].clone();
                PresentationRequest::from_json(j.to_string().as_bytes(), &creditproof::Limits::default())
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let p = self.present(Cred::Plain, &holder_req);
            let mut j = holder_req.to_json();
            j["disclose"] = asked["disclose"].clone();
            j["predicates"] = asked["predicates"].clone();
            let verifier_req =
                PresentationRequest::from_json(j.to_string().as_bytes(), &creditproof::Limits::default())
                    .unwrap_or_else(|e| panic!("{e}"));
            self.push(&format!("predicates/{name}"), desc, &verifier_req, p, Some(expect));
        }
    }
}

fn request_vector(name: &str, description: &str, raw: &str, expect: Option<&str>) -> Value {
    let mut v = json!({"name": name, "description": description, "request_raw": raw});
    match expect {
        None => v["expect"] = json!("valid"),
        Some(e) => {
            v["expect"] = json!("invalid");
            v["error"] = json!(e);
        }
    }
    v
}

fn requests() -> Value {
    const N: &str = "0123456789abcdef";
    let preds = |n: usize| -> String {
        let v: Vec<String> = (0..n).map(|i| format!("\"a{i}>=1\"")).collect();
        v.join(",")
    };
    let r = |body: &str| format!("{{\"aud\":\"{AUD}\",\"nonce\":\"{N}\"{body}}}");
    let vectors = vec![
        request_vector("valid_minimal", "Audience and a 16-byte nonce.", &r(""), None),
        request_vector(
            "valid_full",
            "Disclosures and every predicate form, one proof per commitment.",
            &r(
                r#","disclose":["tier"],"predicates":["score>=650","months_on_time<=900","600<=income<=800","perk:no_deposit_rental"]"#,
            ),
            None,
        ),
        request_vector(
            "eight_predicates",
            "Exactly the limit of 8 predicates.",
            &r(&format!(",\"predicates\":[{}]", preds(8))),
            None,
        ),
        request_vector(
            "two_proofs_on_one_commitment",
            "`score>=0` and `score>=511` need two proofs on the same commitment, which would reveal the score.",
            &r(r#","predicates":["score>=0","score>=511"]"#),
            Some("malformed.request"),
        ),
        request_vector(
            "range_and_bound_on_one_commitment",
            "`600<=score<=800` and `score>=650` need two `>=` proofs on one commitment.",
            &r(r#","predicates":["600<=score<=800","score>=650"]"#),
            Some("malformed.request"),
        ),
        request_vector(
            "duplicate_predicates",
            "`score>=650` requested twice: refused, like a claim disclosed twice.",
            &r(r#","predicates":["score>=650","score>=650"]"#),
            Some("malformed.request"),
        ),
        request_vector("missing_nonce", "No nonce.", &format!("{{\"aud\":\"{AUD}\"}}"), Some("malformed.request")),
        request_vector("missing_aud", "No aud.", &format!("{{\"nonce\":\"{N}\"}}"), Some("malformed.request")),
        request_vector(
            "empty_aud",
            "`aud` is empty.",
            &format!("{{\"aud\":\"\",\"nonce\":\"{N}\"}}"),
            Some("malformed.request"),
        ),
        request_vector(
            "short_nonce",
            "A 15-byte nonce.",
            &format!("{{\"aud\":\"{AUD}\",\"nonce\":\"{}\"}}", &N[..15]),
            Some("malformed.request"),
        ),
        request_vector(
            "nonce_number",
            "`nonce` is a number.",
            &format!("{{\"aud\":\"{AUD}\",\"nonce\":12345678901234567890}}"),
            Some("malformed.request"),
        ),
        request_vector("unknown_field", "An unknown field `extra`.", &r(r#","extra":1"#), Some("malformed.request")),
        request_vector(
            "bad_predicate_operator",
            "`score>650`.",
            &r(r#","predicates":["score>650"]"#),
            Some("malformed.predicate"),
        ),
        request_vector(
            "bad_predicate_spaces",
            "`score >= 650`.",
            &r(r#","predicates":["score >= 650"]"#),
            Some("malformed.predicate"),
        ),
        request_vector(
            "bad_predicate_leading_zero",
            "`score>=0650`.",
            &r(r#","predicates":["score>=0650"]"#),
            Some("malformed.predicate"),
        ),
        request_vector(
            "bad_predicate_inverted_range",
            "`800<=score<=600`.",
            &r(r#","predicates":["800<=score<=600"]"#),
            Some("malformed.predicate"),
        ),
        request_vector(
            "bad_predicate_overflow",
            "Threshold 2^64.",
            &r(r#","predicates":["score>=18446744073709551616"]"#),
            Some("malformed.predicate"),
        ),
        request_vector(
            "bad_predicate_perk_name",
            "`perk:No Deposit`.",
            &r(r#","predicates":["perk:No Deposit"]"#),
            Some("malformed.predicate"),
        ),
        request_vector(
            "too_many_predicates",
            "9 predicates (limit 8).",
            &r(&format!(",\"predicates\":[{}]", preds(9))),
            Some("limit.predicates"),
        ),
        request_vector(
            "predicates_not_array",
            "`predicates` is a string.",
            &r(r#","predicates":"score>=650""#),
            Some("malformed.request"),
        ),
        request_vector(
            "duplicate_disclose",
            "`tier` requested twice.",
            &r(r#","disclose":["tier","tier"]"#),
            Some("malformed.request"),
        ),
        request_vector(
            "disclose_not_identifier",
            "`Tier` is not a claim name.",
            &r(r#","disclose":["Tier"]"#),
            Some("malformed.request"),
        ),
        request_vector(
            "duplicate_json_key",
            "`nonce` twice.",
            &format!("{{\"aud\":\"{AUD}\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"nonce\":\"{N}\"}}"),
            Some("malformed.json"),
        ),
        request_vector("not_an_object", "A JSON array.", "[]", Some("malformed.json")),
        request_vector("not_json", "Not JSON.", "aud=x&nonce=y", Some("malformed.json")),
        request_vector(
            "trailing_garbage",
            "A valid request followed by `x`.",
            &format!("{}x", r("")),
            Some("malformed.json"),
        ),
        request_vector(
            "oversized",
            "17 KiB (limit 16 KiB).",
            &r(&format!(",\"extra\":\"{}\"", "x".repeat(17 * 1024))),
            Some("limit.input_size"),
        ),
    ];
    json!({
        "category": "requests",
        "description": "Verifier requests parsed by PresentationRequest::from_json(request_raw, &Limits::default()).",
        "vectors": vectors,
    })
}

fn policy_vector(name: &str, description: &str, raw: String, expect: Option<&str>) -> Value {
    let mut v = json!({"name": name, "description": description, "policy_raw": raw});
    match expect {
        None => v["expect"] = json!("valid"),
        Some(prefix) => {
            v["expect"] = json!("invalid");
            v["error"] = json!("invalid");
            v["message_prefix"] = json!(prefix);
        }
    }
    v
}

fn policies() -> Value {
    let shipped = [
        ("suining-2013", include_str!("../../../policies/suining-2013.json")),
        ("sesame-style", include_str!("../../../policies/sesame-style.json")),
        ("civic-1300", include_str!("../../../policies/civic-1300.json")),
    ];
    let mut vectors: Vec<Value> = shipped
        .iter()
        .map(|(name, text)| {
            policy_vector(
                &format!("shipped_{}", name.replace('-', "_")),
                &format!("policies/{name}.json as shipped."),
                (*text).to_owned(),
                None,
            )
        })
        .collect();
    let base: Value = serde_json::from_str(shipped[1].1).unwrap_or_else(|e| panic!("{e}"));
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        pretty(&v)
    };
    let cases: Vec<(&str, &str, String, Option<&str>)> = vec![
        (
            "tiers_unordered",
            "The sesame-style tiers listed highest first: order does not matter.",
            edit(&|v| {
                if let Some(t) = v["tiers"].as_array_mut() {
                    t.reverse();
                }
            }),
            None,
        ),
        (
            "perks_omitted",
            "No `perks` field.",
            edit(&|v| {
                obj(v).remove("perks");
            }),
            None,
        ),
        (
            "min_equals_max",
            "scale.min = scale.max.",
            edit(&|v| v["scale"]["min"] = json!(950)),
            Some("scale.min (950) must be below scale.max (950)"),
        ),
        (
            "min_above_max",
            "scale.min > scale.max.",
            edit(&|v| v["scale"]["min"] = json!(1000)),
            Some("scale.min (1000) must be below scale.max (950)"),
        ),
        (
            "start_below_scale",
            "scale.start below scale.min.",
            edit(&|v| v["scale"]["start"] = json!(349)),
            Some("scale.start (349) is outside the scale"),
        ),
        (
            "start_above_scale",
            "scale.start above scale.max.",
            edit(&|v| v["scale"]["start"] = json!(951)),
            Some("scale.start (951) is outside the scale"),
        ),
        (
            "max_beyond_i64",
            "scale.max = 2^63.",
            edit(&|v| v["scale"]["max"] = json!(9_223_372_036_854_775_808_u64)),
            Some("scale.max is invalid"),
        ),
        (
            "overlapping_tiers",
            "`fair` starts at 540, inside `poor`.",
            edit(&|v| v["tiers"][1]["min"] = json!(540)),
            Some("tiers \"poor\" and \"fair\" overlap"),
        ),
        (
            "gap_in_tiers",
            "`fair` starts at 560: 550..=559 uncovered.",
            edit(&|v| v["tiers"][1]["min"] = json!(560)),
            Some("scores 550..=559 between tiers"),
        ),
        (
            "tiers_short_of_scale",
            "The top tier ends at 900, the scale at 950.",
            edit(&|v| v["tiers"][4]["max"] = json!(900)),
            Some("tiers span 350..=900"),
        ),
        ("no_tiers", "`tiers` is empty.", edit(&|v| v["tiers"] = json!([])), Some("tiers is empty")),
        (
            "inverted_tier",
            "A tier with min above max.",
            edit(&|v| {
                v["tiers"][1]["min"] = json!(599);
                v["tiers"][1]["max"] = json!(550);
            }),
            Some("tier \"fair\" has min (599) above max (550)"),
        ),
        (
            "duplicate_tier_name",
            "Two tiers named `poor`.",
            edit(&|v| v["tiers"][1]["name"] = json!("poor")),
            Some("tier name \"poor\" is used twice"),
        ),
        (
            "perk_unknown_tier",
            "A perk's min_tier names no tier.",
            edit(&|v| v["perks"]["no_deposit_rental"] = json!({"min_tier": "platinum"})),
            Some("perk \"no_deposit_rental\" names unknown min_tier \"platinum\""),
        ),
        (
            "perk_threshold_above_scale",
            "A perk's min_score above the scale.",
            edit(&|v| v["perks"]["no_deposit_rental"]["min_score"] = json!(1000)),
            Some("perk \"no_deposit_rental\" has min_score 1000 outside the scale"),
        ),
        (
            "perk_threshold_below_scale",
            "A perk's min_score below the scale.",
            edit(&|v| v["perks"]["no_deposit_rental"]["min_score"] = json!(100)),
            Some("perk \"no_deposit_rental\" has min_score 100 outside the scale"),
        ),
        (
            "empty_cap",
            "A cap with neither max_records nor max_points.",
            edit(&|v| v["rules"]["default"]["cap"] = json!({"per": "calendar_year"})),
            Some("rules.\"default\".cap sets neither"),
        ),
        ("invalid_id", "An id with a space.", edit(&|v| v["id"] = json!("sesame style")), Some("id is invalid")),
        (
            "unknown_field",
            "An unknown top-level field.",
            edit(&|v| v["extra"] = json!(1)),
            Some("policy file is not valid:"),
        ),
        ("not_json", "Not JSON.", "scale: 350..950".to_owned(), Some("policy file is not valid:")),
        (
            "duplicate_rule_key",
            "The rule `default` twice (first +100 points).",
            pretty(&base).replacen("\"rules\": {", "\"rules\": {\n    \"default\": { \"points\": 100 },", 1),
            Some("policy file is not valid:"),
        ),
        (
            "duplicate_perk_key",
            "The perk `no_deposit_rental` twice (first from 350).",
            pretty(&base).replacen(
                "\"perks\": {",
                "\"perks\": {\n    \"no_deposit_rental\": { \"min_score\": 350 },",
                1,
            ),
            Some("policy file is not valid:"),
        ),
        (
            "duplicate_top_level_key",
            "`scale` twice.",
            pretty(&base).replacen("{\n", "{\n  \"scale\": { \"min\": 0, \"max\": 10, \"start\": 5 },\n", 1),
            Some("policy file is not valid:"),
        ),
    ];
    for (name, desc, raw, expect) in cases {
        vectors.push(policy_vector(name, desc, raw, expect));
    }
    json!({
        "category": "policies",
        "description": "Scoring policies parsed by creditproof::policy::Policy::from_json_slice(policy_raw, 1 MiB). An invalid one's Display text starts with `message_prefix`.",
        "vectors": vectors,
    })
}
