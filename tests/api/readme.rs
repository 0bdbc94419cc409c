//! The README, followed literally: its command blocks replayed in an empty
//! folder, the sample records it points to, and the command-line
//! conveniences that make the blocks runnable as they are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::cli::{bin, fails_with_2, ok, run, setup, Tmp};

const README: &str = include_str!("../../README.md");

/// The shell script of the README: every ```sh block, in order, without the
/// lines that run `cargo` (the "Two commands" block — `cargo run --release
/// -- demo` and `cargo test`, which runs this very test — and the benchmark
/// commands under "Performance"). `cargo install --path .` is inline text,
/// never in a block. Returns the script and the lines left out.
fn readme_script() -> (String, Vec<String>) {
    let (mut script, mut skipped, mut in_block) = (String::new(), Vec::new(), false);
    for line in README.lines() {
        if !in_block {
            in_block = line.trim_end() == "```sh";
            continue;
        }
        if line.trim_end() == "```" {
            in_block = false;
            script.push('\n');
        } else if line.split_whitespace().next() == Some("cargo") {
            skipped.push(line.to_owned());
        } else {
            script.push_str(line);
            script.push('\n');
        }
    }
    assert!(!in_block, "README.md: a ```sh block is not closed");
    (script, skipped)
}

/// Runs `script` with `bash -euo pipefail` in `dir`, with the directory of
/// the binary under test first on the `PATH`, so that `creditproof` is it.
fn bash_in(dir: &Path, script: &str) -> Output {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_creditproof"));
    let mut path = std::ffi::OsString::from(exe.parent().unwrap());
    if let Some(rest) = std::env::var_os("PATH") {
        path.push(":");
        path.push(rest);
    }
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CREDITPROOF_TEST_CRASH_AT")
        .output()
        .unwrap()
}

fn example(name: &str) -> String {
    let path = format!("{}/policies/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Done means: every command block of the README, pasted top to bottom into
/// an empty folder, runs; any failing command fails this test.
#[cfg(unix)]
#[test]
fn readme_command_blocks_run_in_an_empty_folder() {
    let (script, skipped) = readme_script();
    for line in &skipped {
        let l = line.trim_start();
        assert!(l.starts_with("cargo run ") || l.starts_with("cargo test"), "an unexpected cargo line: {line}");
    }
    assert!(skipped.len() >= 2, "the two commands of the README: {skipped:?}");
    assert!(script.contains("creditproof issuer init"), "the command line blocks were found");
    // No placeholders in runnable blocks: syntax summaries go in ```text.
    for (n, line) in script.lines().enumerate() {
        let placeholder =
            line.contains("[--") || line.split('<').skip(1).any(|rest| rest.starts_with(char::is_uppercase));
        assert!(!placeholder, "README.md ```sh line {n} is not literal: {line}");
    }

    let t = Tmp::new("readme");
    assert_eq!(std::fs::read_dir(&t.0).unwrap().count(), 0, "the folder starts empty");
    // `set -x`: on failure, stderr shows each command up to the one that failed.
    let o = bash_in(&t.0, &format!("PS4='+ README: '\nset -x\n{script}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "README blocks failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", o.status);

    // What the prose around the blocks promises.
    assert!(stdout.contains("score 651, tier very_good"), "{stdout}");
    assert!(stdout.contains("\"accepted\": true"), "{stdout}");
    assert!(stdout.contains("\"check\": \"status.suspended\""), "the suspension took effect: {stdout}");
    assert!(stdout.contains("rejected, exit status 1"), "{stdout}");
    assert!(stdout.contains("score 676, tier very_good"), "the corrected breakdown: {stdout}");
    assert!(
        stdout.contains(
            r#"corrected: re-scored after dispute of loan-17 ("paid on 2024-05-14, before it was due"): 676"#
        ),
        "the history says why: {stdout}"
    );
    let verdict: serde_json::Value = serde_json::from_slice(&std::fs::read(t.path("verdict.json")).unwrap()).unwrap();
    let uri = verdict["status"]["uri"].as_str().unwrap();
    let idx = verdict["status"]["idx"].as_u64().unwrap();
    assert!(stdout.contains(&format!("1 credential(s) now suspended: {uri}#{idx}")), "{stdout}");
    // The files the README writes are the samples it points to.
    assert_eq!(std::fs::read_to_string(t.path("records.json")).unwrap(), example("records-sesame-style.json"));
    assert_eq!(std::fs::read_to_string(t.path("corrected.json")).unwrap(), example("corrected-sesame-style.json"));
}

/// Every shipped policy has sample records that score under it, named by
/// id or by path alike.
#[test]
fn shipped_example_records_score_under_their_policy() {
    for (id, _) in creditproof::policy::SHIPPED {
        let records = format!("{}/policies/examples/records-{id}.json", env!("CARGO_MANIFEST_DIR"));
        let file = format!("{}/policies/{id}.json", env!("CARGO_MANIFEST_DIR"));
        let by_id = run(&[&"issuer", &"score", &"--policy", &id, &"--records", &records, &"--as-of", &"2025-01-01"]);
        ok(&by_id);
        let by_file =
            run(&[&"issuer", &"score", &"--policy", &file, &"--records", &records, &"--as-of", &"2025-01-01"]);
        ok(&by_file);
        assert_eq!(by_id.stdout, by_file.stdout, "{id}");
        let table = String::from_utf8_lossy(&by_id.stdout);
        assert!(table.starts_with(&format!("policy {id} version 1")), "{table}");
        assert!(table.lines().count() > 5, "{id}: several records: {table}");
    }
}

/// `--policy NAME` is a file when one of that name exists, else a shipped
/// policy's id; an unknown bare name lists the shipped ids.
#[test]
fn policy_takes_a_shipped_id_unless_a_file_of_that_name_exists() {
    let t = Tmp::new("policy-id");
    std::fs::write(t.path("records.json"), example("records-sesame-style.json")).unwrap();
    let score = |policy: &str| {
        bin()
            .args(["issuer", "score", "--policy", policy, "--records", "records.json", "--as-of", "2025-01-01"])
            .current_dir(&t.0)
            .output()
            .unwrap()
    };
    let shipped = score("sesame-style");
    ok(&shipped);
    assert!(String::from_utf8_lossy(&shipped.stdout).contains("score 651"));

    // A file named like a shipped policy wins: here a copy with another start.
    let own = creditproof::policy::SHIPPED[1].1.replace("\"start\": 600", "\"start\": 610");
    assert_ne!(own, creditproof::policy::SHIPPED[1].1);
    std::fs::write(t.path("sesame-style"), own).unwrap();
    let from_file = score("sesame-style");
    ok(&from_file);
    assert!(String::from_utf8_lossy(&from_file.stdout).contains("score 661"));

    let err = fails_with_2(&score("sesame"));
    assert!(
        err.contains("sesame: no such file, nor a shipped policy (civic-1300, sesame-style, suining-2013)"),
        "{err}"
    );
    let err = fails_with_2(&score("./sesame"));
    assert!(err.contains("./sesame: no such file") && !err.contains("shipped"), "a path is only a path: {err}");
}

/// `issuer public`, `verifier request` and `holder present --out` say in
/// one line what they wrote.
#[test]
fn commands_that_write_a_file_say_so() {
    let t = Tmp::new("say-so");
    setup(&t, r#"{"tier":"A","perks":{"no_deposit_rental":true}}"#, "1");
    let line = |o: &Output| {
        ok(o);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(out.lines().count(), 1, "one line: {out}");
        out
    };
    let (pub_json, req, pres) = (t.path("again.pub.json"), t.path("req.json"), t.path("p.txt"));
    let out = line(&run(&[&"issuer", &"public", &"--dir", &t.path("bureau"), &"--out", &pub_json]));
    assert!(out.contains("issuer metadata of https://bureau.example (1 key(s)) written to"), "{out}");
    assert!(out.contains(&pub_json.display().to_string()), "{out}");
    let out = line(&run(&[
        &"verifier",
        &"request",
        &"--aud",
        &"https://rental.example",
        &"--predicate",
        &"perk:no_deposit_rental",
        &"--out",
        &req,
    ]));
    assert!(out.contains("request of https://rental.example") && out.contains(&req.display().to_string()), "{out}");
    let out = line(&run(&[&"holder", &"present", &"--wallet", &t.path("wallet"), &"--request", &req, &"--out", &pres]));
    assert!(out.contains("presentation for https://rental.example") && out.contains(&pres.display().to_string()));
}

/// Issues the README's records under sesame-style into `t`'s issuer and
/// wallet (from `setup`), with `n` keys.
fn issue_scored(t: &Tmp, n: &str) {
    std::fs::write(t.path("records.json"), example("records-sesame-style.json")).unwrap();
    let keys = t.path("scored-keys.json");
    ok(&run(&[&"holder", &"keys", &"--wallet", &t.path("wallet"), &"--count", &n, &"--out", &keys]));
    ok(&run(&[
        &"issuer",
        &"issue",
        &"--dir",
        &t.path("bureau"),
        &"--keys",
        &keys,
        &"--policy",
        &"sesame-style",
        &"--records",
        &t.path("records.json"),
        &"--out",
        &t.path("scored.json"),
    ]));
}

/// The history of a correction names the disputed records and the holder's
/// reasons (one line each, however long or odd the reasons) and the new
/// score, not "corrected: corrected issue".
#[test]
fn correction_history_says_which_records_were_disputed_and_why() {
    let t = Tmp::new("correct-reason");
    setup(&t, r#"{"tier":"A"}"#, "1");
    issue_scored(&t, "2");
    let long = "x".repeat(300);
    let dispute = t.path("dispute.json");
    ok(&run(&[
        &"holder",
        &"dispute",
        &"--batch",
        &t.path("scored.json"),
        &"--entry",
        &"loan-17=paid on time\nsee the bank statement",
        &"--entry",
        &format!("card-2024-01={long}"),
        &"--out",
        &dispute,
    ]));
    std::fs::write(t.path("corrected.json"), example("corrected-sesame-style.json")).unwrap();
    let keys = t.path("keys2.json");
    ok(&run(&[&"holder", &"keys", &"--wallet", &t.path("wallet"), &"--count", &"1", &"--out", &keys]));
    ok(&run(&[
        &"issuer",
        &"correct",
        &"--dir",
        &t.path("bureau"),
        &"--dispute",
        &dispute,
        &"--records",
        &t.path("corrected.json"),
        &"--keys",
        &keys,
        &"--out",
        &t.path("batch2.json"),
    ]));
    let o = run(&[&"issuer", &"history", &"--dir", &t.path("bureau")]);
    ok(&o);
    let history = String::from_utf8_lossy(&o.stdout);
    let expected = format!(
        r#"re-scored after dispute of 2 entries: loan-17 ("paid on time see the bank statement"), card-2024-01 ("{}…"): 676, very_good"#,
        "x".repeat(80)
    );
    let corrected: Vec<&str> = history.lines().filter(|l| l.contains("  corrected  ")).collect();
    assert_eq!(corrected.len(), 2, "the scored batch's two credentials: {history}");
    assert!(corrected.iter().all(|l| l.ends_with(&format!("corrected: {expected}"))), "{history}");
    let reissued: Vec<&str> = history.lines().filter(|l| l.ends_with(&format!("  {expected}"))).collect();
    assert_eq!(reissued.len(), 1, "the new credential says why too: {history}");
    assert!(!history.contains("corrected issue"), "{history}");
    assert_eq!(history.lines().count(), 1 + 2 + 2 + 1, "one line per change: {history}");
}

/// `issuer suspend --verdict` takes the entry from an accepted verdict on a
/// credential of this issuer, and refuses any other verdict with a hint.
#[test]
fn status_change_from_a_verdict() {
    let t = Tmp::new("verdict");
    setup(&t, r#"{"tier":"A"}"#, "1");
    let dir = t.path("bureau");
    let suspend = |verdict: &str| {
        std::fs::write(t.path("verdict.json"), verdict).unwrap();
        run(&[&"issuer", &"suspend", &"--dir", &dir, &"--verdict", &t.path("verdict.json"), &"--reason", &"check"])
    };
    let err = fails_with_2(&suspend(
        r#"{"accepted": false, "issuer": null, "disclosed": {}, "proven": [], "error": {"check": "status.suspended"}}"#,
    ));
    assert!(err.contains("is a rejected verdict, which names no credential; give --index URI#IDX"), "{err}");
    let err = fails_with_2(&suspend(
        r#"{"accepted": true, "issuer": "https://other.example", "status": {"uri": "https://other.example/status/1", "idx": 7}}"#,
    ));
    assert!(err.contains("is a verdict on a credential of https://other.example, not of https://bureau.example"));
    let err = fails_with_2(&suspend(r#"{"accepted": true, "issuer": "https://bureau.example", "status": null}"#));
    assert!(err.contains("names no status entry"), "{err}");
    let err = fails_with_2(&suspend(
        r#"{"accepted": true, "issuer": "https://bureau.example", "status": {"uri": "https://bureau.example/status/1", "idx": "7"}}"#,
    ));
    assert!(err.contains("without a string `uri` and an integer `idx`"), "{err}");
    let o = run(&[&"issuer", &"history", &"--dir", &dir]);
    let history = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!history.contains("suspended"), "nothing changed: {history}");

    let entry = history.split_whitespace().nth(2).unwrap().to_owned();
    let (uri, idx) = entry.rsplit_once('#').unwrap();
    let o = suspend(&format!(
        r#"{{"accepted": true, "issuer": "https://bureau.example", "status": {{"uri": "{uri}", "idx": {idx}}}}}"#
    ));
    ok(&o);
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("1 credential(s) now suspended: {entry}\n"));
}
