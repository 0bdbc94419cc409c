//! The command line for issue 8: ES256 keys, key rotation, and the generic
//! `sd-jwt verify`.

use std::process::Output;

use serde_json::Value;

use crate::cli::{bin, Tmp};

/// Runs the CLI with string arguments (paths given through `Tmp::arg`).
fn cp(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "stderr: {} stdout: {out}", String::from_utf8_lossy(&o.stderr));
    out
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)))
}

impl Tmp {
    fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

/// Keys of `holder_alg` in the wallet, one credential each issued by the
/// issuer directory `bureau`.
fn issue_to_wallet(t: &Tmp, holder_alg: &str, n: &str, now: &str) {
    let (keys, batch) = (t.arg("keys.json"), t.arg("batch.json"));
    ok(&cp(&[
        "holder",
        "keys",
        "--wallet",
        &t.arg("wallet"),
        "--count",
        n,
        "--alg",
        holder_alg,
        "--now",
        now,
        "--out",
        &keys,
    ]));
    ok(&cp(&[
        "issuer",
        "issue",
        "--dir",
        &t.arg("bureau"),
        "--keys",
        &keys,
        "--claims",
        &t.arg("claims.json"),
        "--out",
        &batch,
        "--now",
        now,
        "--force",
    ]));
    ok(&cp(&["holder", "store", "--wallet", &t.arg("wallet"), "--batch", &batch]));
}

fn present_and_verify(t: &Tmp, now: &str) -> Output {
    let (req, pres) = (t.arg("req.json"), t.arg("pres.txt"));
    ok(&cp(&["verifier", "request", "--aud", "https://rental.example", "--disclose", "tier", "--out", &req]));
    ok(&cp(&["holder", "present", "--wallet", &t.arg("wallet"), "--request", &req, "--out", &pres, "--now", now]));
    let lists = t.arg("lists");
    let _ = std::fs::remove_dir_all(&lists);
    ok(&cp(&["issuer", "status-list", "--dir", &t.arg("bureau"), "--out-dir", &lists]));
    let trust = t.arg("pub.json");
    let mut args =
        vec!["verifier", "verify", "--trust", &trust, "--request", &req, "--presentation", &pres, "--now", now];
    let list_files: Vec<String> =
        std::fs::read_dir(&lists).unwrap().map(|e| e.unwrap().path().to_string_lossy().into_owned()).collect();
    for f in &list_files {
        args.extend(["--status-list", f.as_str()]);
    }
    cp(&args)
}

/// The real time: `issuer status-list` signs its tokens at the real time.
fn now() -> String {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string()
}

fn init(t: &Tmp, alg: &str) {
    ok(&cp(&["issuer", "init", "--iss", "https://bureau.example", "--dir", &t.arg("bureau"), "--alg", alg]));
    ok(&cp(&["holder", "init", "--wallet", &t.arg("wallet")]));
    std::fs::write(t.path("claims.json"), r#"{"score":712,"score_scale":{"min":350,"max":950},"tier":"A"}"#).unwrap();
}

fn publish(t: &Tmp, now: &str) -> Value {
    ok(&cp(&["issuer", "public", "--dir", &t.arg("bureau"), "--out", &t.arg("pub.json"), "--now", now]));
    serde_json::from_slice(&std::fs::read(t.path("pub.json")).unwrap()).unwrap()
}

#[test]
fn es256_issuer_and_holders_from_the_command_line() {
    let t = Tmp::new("es256");
    let now = now();
    let now = now.as_str();
    init(&t, "es256");
    let metadata = publish(&t, now);
    assert_eq!(metadata["jwks"]["keys"][0]["alg"], "ES256");
    assert_eq!(metadata["jwks"]["keys"][0]["crv"], "P-256");
    for holder_alg in ["es256", "ed25519"] {
        issue_to_wallet(&t, holder_alg, "1", now);
        let o = present_and_verify(&t, now);
        assert_eq!(json_out(&o)["accepted"], true, "{holder_alg}: {}", String::from_utf8_lossy(&o.stdout));
    }
    let bad = cp(&["issuer", "init", "--iss", "https://b.example", "--dir", &t.arg("b2"), "--alg", "rs256"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn rotated_keys_stay_published_until_their_credentials_expire() {
    let t = Tmp::new("rotate");
    let now = now();
    let now = now.as_str();
    init(&t, "ed25519");
    let old_kid = publish(&t, now)["jwks"]["keys"][0]["kid"].as_str().unwrap().to_owned();
    issue_to_wallet(&t, "ed25519", "1", now);
    let out = ok(&cp(&["issuer", "rotate-key", "--dir", &t.arg("bureau"), "--alg", "es256", "--now", now]));
    assert!(out.contains(&old_kid), "{out}");
    let metadata = publish(&t, now);
    let kids: Vec<&str> =
        metadata["jwks"]["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old_kid, "the signing key comes first, the retired one after");
    // The credential signed by the retired key still verifies.
    assert_eq!(json_out(&present_and_verify(&t, now))["accepted"], true);
    // New credentials are signed by the new key.
    issue_to_wallet(&t, "ed25519", "1", now);
    assert_eq!(json_out(&present_and_verify(&t, now))["accepted"], true);
    let presented = std::fs::read_to_string(t.path("pres.txt")).unwrap();
    let header = crate::fixture::decode_json(presented.split('.').next().unwrap());
    assert_eq!((header["kid"].as_str(), header["alg"].as_str()), (Some(kids[0]), Some("ES256")));

    // Past the longest credential lifetime, the retired key is no longer published.
    let later = (now.parse::<u64>().unwrap() + 40 * 86_400).to_string();
    assert_eq!(publish(&t, &later)["jwks"]["keys"].as_array().unwrap().len(), 1);

    // remove-key unpublishes at once; the current key cannot be removed.
    let r = cp(&["issuer", "remove-key", "--dir", &t.arg("bureau"), "--kid", kids[0]]);
    assert_eq!(r.status.code(), Some(2));
    ok(&cp(&["issuer", "remove-key", "--dir", &t.arg("bureau"), "--kid", &old_kid]));
    assert_eq!(publish(&t, now)["jwks"]["keys"].as_array().unwrap().len(), 1);
    let again = cp(&["issuer", "remove-key", "--dir", &t.arg("bureau"), "--kid", &old_kid]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn sd_jwt_verify_reads_the_rfc_example_and_reports_failed_checks() {
    let t = Tmp::new("sdjwt");
    let v: Value = serde_json::from_str(include_str!("../vectors/rfc9901_examples.json")).unwrap();
    std::fs::write(t.path("issuer.jwk"), v["issuer_jwk"].to_string()).unwrap();
    let case = &v["cases"][0];
    std::fs::write(t.path("s52.txt"), case["sd_jwt"].as_str().unwrap()).unwrap();
    let (key, input) = (t.arg("issuer.jwk"), t.arg("s52.txt"));
    let now = case["now"].to_string();
    let base = ["sd-jwt", "verify", "--key", &key, "--typ", "example+sd-jwt", "--sd-jwt", &input, "--now", &now];
    let with = |extra: &[&str]| cp(&[&base[..], extra].concat());

    let o = with(&["--nonce", "1234567890", "--aud", "https://verifier.example.org"]);
    ok(&o);
    assert_eq!(json_out(&o)["claims"], case["processed"]);

    let o = with(&["--nonce", "0", "--aud", "https://verifier.example.org"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["error"]["check"], "holder_binding.nonce");
    let o = with(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["error"]["check"], "holder_binding.unexpected");
    // --nonce without --aud is a usage error.
    assert_eq!(with(&["--nonce", "1234567890"]).status.code(), Some(2));

    // Issuer metadata works as the key file too.
    let mut jwk = v["issuer_jwk"].clone();
    jwk["kid"] = "rfc-a5".into();
    let meta = t.arg("meta.json");
    let verify_with_issuer = |issuer: &str| {
        let doc = serde_json::json!({"issuer": issuer, "jwks": {"keys": [jwk]}});
        std::fs::write(&meta, doc.to_string()).unwrap();
        let kb = ["--nonce", "1234567890", "--aud", "https://verifier.example.org"];
        let args = ["sd-jwt", "verify", "--key", &meta, "--typ", "example+sd-jwt", "--sd-jwt", &input, "--now", &now];
        cp(&[&args[..], &kb[..]].concat())
    };
    ok(&verify_with_issuer("https://issuer.example.com"));
    // The metadata's issuer must be the token's `iss`.
    let o = verify_with_issuer("https://someone-else.example");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["error"]["check"], "trust.issuer");
}

#[test]
fn concurrent_commands_lose_no_state() {
    // Each rotation and each key request reads, changes and rewrites its
    // directory's state; run side by side, none may drop another's work.
    let t = Tmp::new("concurrent");
    let now = now();
    let now = now.as_str();
    init(&t, "ed25519");
    let (bureau, wallet) = (t.arg("bureau"), t.arg("wallet"));
    let children: Vec<std::process::Child> = (0..6)
        .map(|i| {
            let keys = t.arg(&format!("keys{i}.json"));
            let args: Vec<&str> = if i % 2 == 0 {
                vec!["issuer", "rotate-key", "--dir", &bureau, "--now", now]
            } else {
                vec!["holder", "keys", "--wallet", &wallet, "--count", "2", "--out", &keys]
            };
            bin().args(&args).stdout(std::process::Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // Three rotations: the first key and two intermediate ones retired, all published.
    assert_eq!(publish(&t, now)["jwks"]["keys"].as_array().unwrap().len(), 4);
    let status = ok(&cp(&["holder", "status", "--wallet", &wallet]));
    let w: Value = serde_json::from_slice(&std::fs::read(t.path("wallet").join("wallet.json")).unwrap()).unwrap();
    assert_eq!(w["keys"].as_array().unwrap().len(), 6, "three requests of two keys each: {status}");
}
