//! `issuer offer --bulk SUBJECTS.jsonl --out OFFERS.jsonl`: one offer per
//! subject, resumable after a crash (a torn last line is redone), bad
//! lines refused by line number before any offer is made.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::cli::{fails_with_2, ok, run, Tmp};

fn records() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/examples/records-sesame-style.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An issuer directory and a subjects file of `n` subjects (every third
/// one with claims instead of records).
fn setup(t: &Tmp, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = t.path("bureau");
    ok(&run(&[&"issuer", &"init", &"--iss", &"https://bureau.example", &"--dir", &dir]));
    let mut text = String::new();
    for i in 0..n {
        let line = if i % 3 == 2 {
            json!({"subject": format!("person-{i}"), "claims": {"tier": "B"}})
        } else {
            json!({"subject": format!("person-{i}"), "records": records()})
        };
        text.push_str(&line.to_string());
        text.push('\n');
        if i == 1 {
            text.push('\n'); // blank lines are skipped
        }
    }
    let subjects = t.path("subjects.jsonl");
    std::fs::write(&subjects, text).unwrap();
    (dir, subjects)
}

fn bulk(dir: &std::path::Path, subjects: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    run(&[
        &"issuer",
        &"offer",
        &"--dir",
        &dir,
        &"--bulk",
        &subjects,
        &"--out",
        &out,
        &"--policy",
        &"sesame-style",
        &"--as-of",
        &"2025-01-01",
        &"--tx-code",
    ])
}

fn offers(out: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.ends_with('\n'), "every line is complete");
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn subjects_of(lines: &[Value]) -> Vec<String> {
    lines.iter().map(|v| v["subject"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn one_offer_per_subject_with_progress() {
    let t = Tmp::new("bulk-offer");
    let (dir, subjects) = setup(&t, 5);
    let out = t.path("offers.jsonl");
    let o = bulk(&dir, &subjects, &out);
    ok(&o);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("5 offer(s) made, appended to {}", out.display()));
    // Not a terminal: a plain progress line, ending with the total.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().last().unwrap().starts_with("offers: 5/5 (100%)"), "{err}");
    let lines = offers(&out);
    assert_eq!(subjects_of(&lines), (0..5).map(|i| format!("person-{i}")).collect::<Vec<_>>());
    let links: HashSet<&str> = lines.iter().map(|v| v["offer"].as_str().unwrap()).collect();
    assert_eq!(links.len(), 5, "five different offers");
    for v in &lines {
        assert!(v["offer"].as_str().unwrap().starts_with("openid-credential-offer://?credential_offer_uri="), "{v}");
        let tx = v["tx_code"].as_str().unwrap();
        assert!(tx.len() == 6 && tx.bytes().all(|b| b.is_ascii_digit()), "{v}");
        assert!(v["expires_at"].as_u64().unwrap() > 0);
    }
    // Source line numbers count the blank line.
    assert_eq!(lines[2]["line"], 4);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600, "it holds tx codes");
    }
    // Done is done: a re-run makes nothing.
    let o = bulk(&dir, &subjects, &out);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("0 offer(s) made"));
    assert_eq!(offers(&out), lines);
}

#[test]
fn resumes_after_a_crash_and_redoes_a_torn_line() {
    let t = Tmp::new("bulk-resume");
    let (dir, subjects) = setup(&t, 6);
    let out = t.path("offers.jsonl");
    ok(&bulk(&dir, &subjects, &out));
    let full = std::fs::read_to_string(&out).unwrap();
    // The state a crash during the third write leaves: two complete lines
    // and half of the third.
    let kept: String = full.lines().take(2).map(|l| format!("{l}\n")).collect();
    let third = full.lines().nth(2).unwrap();
    std::fs::write(&out, format!("{kept}{}", &third[..third.len() / 2])).unwrap();
    let o = bulk(&dir, &subjects, &out);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("4 offer(s) made"), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 3 is torn"), "{o:?}");
    let after = std::fs::read_to_string(&out).unwrap();
    assert!(after.starts_with(&kept), "the complete lines are kept as they were");
    let lines = offers(&out);
    assert_eq!(subjects_of(&lines), (0..6).map(|i| format!("person-{i}")).collect::<Vec<_>>());
    // The redone subject got a new offer (the torn one is never used).
    assert_ne!(lines[2]["offer"].as_str().unwrap(), serde_json::from_str::<Value>(third).unwrap()["offer"]);
}

#[test]
fn new_subjects_are_offered_on_a_later_run() {
    let t = Tmp::new("bulk-grow");
    let (dir, subjects) = setup(&t, 2);
    let out = t.path("offers.jsonl");
    ok(&bulk(&dir, &subjects, &out));
    let mut text = std::fs::read_to_string(&subjects).unwrap();
    text.push_str(&json!({"subject": "person-late", "claims": {"tier": "A"}}).to_string());
    std::fs::write(&subjects, text).unwrap(); // no final newline: still a line
    let o = bulk(&dir, &subjects, &out);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("1 offer(s) made"), "{o:?}");
    assert_eq!(subjects_of(&offers(&out)), ["person-0", "person-1", "person-late"]);
}

#[test]
fn bad_lines_are_named_and_nothing_is_offered() {
    let t = Tmp::new("bulk-bad");
    let (dir, subjects) = setup(&t, 3);
    let good = std::fs::read_to_string(&subjects).unwrap();
    let out = t.path("offers.jsonl");
    let cases = [
        ("{not json", "line 5: not a JSON object"),
        ("[1, 2]", "line 5: not a JSON object"),
        (r#"{"records": []}"#, "line 5: `subject` must be a string"),
        (r#"{"subject": "x"}"#, "line 5: give `records` or `claims`"),
        (r#"{"subject": "x", "claims": {"tier": "A"}, "nickname": "y"}"#, "line 5: unknown member `nickname`"),
        (r#"{"subject": "x", "records": {"nope": 1}}"#, "line 5: records:"),
        (r#"{"subject": "person-0", "claims": {"tier": "A"}}"#, "line 5: the subject of line 1 again"),
    ];
    for (line, expected) in cases {
        std::fs::write(&subjects, format!("{good}{line}\n")).unwrap();
        let err = fails_with_2(&bulk(&dir, &subjects, &out));
        assert!(err.contains(&format!("subjects.jsonl: {expected}")), "{line}: {err}");
        assert!(!out.exists(), "{line}: no offer before the whole file is checked");
    }
    // Records without a policy.
    std::fs::write(&subjects, &good).unwrap();
    let o = run(&[&"issuer", &"offer", &"--dir", &dir, &"--bulk", &subjects, &"--out", &out]);
    let err = fails_with_2(&o);
    assert!(err.contains("line 1: `records` need --policy"), "{err}");
    // A file that is not OFFERS.jsonl is not appended to.
    std::fs::write(&out, "hello\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let err = fails_with_2(&bulk(&dir, &subjects, &out));
    assert!(err.contains("offers.jsonl: line 1: not an offer line"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello\n");
}
