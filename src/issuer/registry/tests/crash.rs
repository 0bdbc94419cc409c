//! Crash safety: a child process issues, corrects, stages, confirms and
//! voids batches until it is killed at a random point; after each kill the
//! registry must hold every invariant and have lost nothing committed.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

const CHILD_ENV: &str = "CREDITPROOF_REGISTRY_CRASH_CHILD";
const CRASH_BATCH: usize = 16;
const CRASH_CAPACITY: u64 = 200;

fn child_test_name() -> String {
    let path = module_path!();
    let rest = path.split_once("::").map_or(path, |(_, rest)| rest);
    format!("{rest}::crash_child")
}

/// Run by `crash_safety_under_kill` in a child process; does nothing unless
/// told to by the environment. Issues and corrects until killed (or 10 s),
/// half the batches staged (pending until confirmed). Like a re-run after a
/// crash, each operation first settles the pending batches: confirms them,
/// or voids them and issues their holder keys afresh.
#[test]
#[ignore = "child process of crash_safety_under_kill"]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (run, seed, path) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().parse::<u64>().unwrap(),
        parts.next().unwrap().to_owned(),
    );
    #[cfg(feature = "postgres")]
    let location = if is_postgres_url(&path) {
        RegistryLocation::Postgres(path)
    } else {
        RegistryLocation::Sqlite(PathBuf::from(path))
    };
    #[cfg(not(feature = "postgres"))]
    let location = RegistryLocation::Sqlite(PathBuf::from(path));
    let mut reg = location.open().unwrap();
    let mut rng = TestRng(seed);
    let start = Instant::now();
    let mut op = 0u64;
    while start.elapsed() < Duration::from_secs(10) {
        let mut draw = TestRng(rng.next_u64());
        let mut fill = |buf: &mut [u8]| draw.fill(buf);
        for p in reg.pending_batches().unwrap() {
            if rng.below(2) == 0 {
                reg.confirm_delivery(&p.batch_id).unwrap();
            } else {
                assert_eq!(reg.void_batch(&p.batch_id, "never delivered", op).unwrap(), CRASH_BATCH);
                let hs: Vec<Thumbprint> = p.credentials.into_iter().map(|(h, _)| h).collect();
                let id = format!("r{run}-b{op}-again");
                reg.issue_batch(&batch(&id, &p.subject, &hs), op, &mut fill, &mut done).unwrap();
            }
        }
        let subject = format!("s{}", rng.below(5));
        let id = format!("r{run}-b{op}");
        let hs = holders(&id, CRASH_BATCH);
        let mut b = batch(&id, &subject, &hs);
        let stage = rng.below(2) == 0;
        let mut deliver =
            |_: &[StatusRef]| Ok(if stage { Delivery::Staged("staged".to_owned()) } else { Delivery::Delivered });
        if rng.below(3) == 0 {
            b.reason = "recomputed";
            match reg.correct(&subject, &b, op, &mut fill, &mut deliver) {
                Ok(_) => {}
                Err(RegistryError::UnknownSubject) => {
                    reg.issue_batch(&b, op, &mut fill, &mut deliver).unwrap();
                }
                Err(e) => panic!("correct: {e}"),
            }
        } else {
            reg.issue_batch(&b, op, &mut fill, &mut deliver).unwrap();
        }
        if stage && rng.below(2) == 0 {
            reg.confirm_delivery(&id).unwrap();
        }
        op += 1;
    }
}

/// Independent checks of the raw tables after a crash.
fn crash_checks(place: &Place, prev: &mut HashMap<(i64, i64), (String, i64)>) -> (usize, usize, usize) {
    let mut reg = place.open();
    reg.check_invariants().expect("invariants after kill");
    let lists = reg.lists().unwrap();
    drop(reg);
    let int = |v: &String| v.parse::<i64>().unwrap();
    // Every batch is complete: 16 credentials, or none (absent).
    let sizes = place.rows(
        "SELECT b.batch_id, COUNT(c.idx) FROM batches b LEFT JOIN credentials c ON c.batch = b.seq GROUP BY b.seq",
    );
    for row in &sizes {
        assert_eq!(int(&row[1]), 16, "batch {} incomplete", row[0]);
    }
    // No (list, idx) issued twice, per the history.
    let issued = place.rows("SELECT list_n, idx FROM history WHERE action = 'issued'");
    let unique: HashSet<&Vec<String>> = issued.iter().collect();
    assert_eq!(unique.len(), issued.len(), "an index was issued twice");
    // Every correction is complete; no revocation by correction without one.
    let corrections = place.count("SELECT COUNT(*) FROM corrections");
    let live_after_correction = place.count(
        "SELECT COUNT(*) FROM corrections k JOIN batches b ON b.subject = k.subject AND b.seq < k.new_batch
         JOIN credentials c ON c.batch = b.seq WHERE c.status != 1",
    );
    assert_eq!(live_after_correction, 0, "half-applied correction");
    let orphan_revocations = place.count(
        "SELECT COUNT(*) FROM history h JOIN credentials c ON c.list_n = h.list_n AND c.idx = h.idx
         JOIN batches b ON b.seq = c.batch WHERE h.action = 'corrected'
         AND NOT EXISTS (SELECT 1 FROM corrections k WHERE k.subject = b.subject AND k.new_batch > b.seq)",
    );
    assert_eq!(orphan_revocations, 0, "revoked by a correction that did not happen");
    // Committed state is never lost or rolled back by a later crash; revoked
    // stays revoked.
    let now: HashMap<(i64, i64), (String, i64)> = place
        .rows("SELECT list_n, idx, holder, status FROM credentials")
        .into_iter()
        .map(|r| ((int(&r[0]), int(&r[1])), (r[2].clone(), int(&r[3]))))
        .collect();
    for (key, (holder, status)) in prev.iter() {
        let (h, s) = now.get(key).expect("committed credential lost");
        assert_eq!(h, holder, "index reassigned");
        if *status == 1 {
            assert_eq!(*s, 1, "revocation undone");
        }
    }
    assert_eq!(
        lists.iter().map(|(_, l)| l.iter().filter(|&&b| b == 1).count()).sum::<usize>(),
        now.values().filter(|(_, s)| *s == 1).count()
    );
    *prev = now;
    // A voided batch's keys are live in at most one later batch.
    let voided = place.count("SELECT COUNT(*) FROM batches WHERE delivery = 'voided'");
    (sizes.len(), usize::try_from(corrections).unwrap(), usize::try_from(voided).unwrap())
}

#[test]
fn crash_safety_under_kill() {
    each_backend("crash", crash_run);
}

fn crash_run(place: &Place) {
    const KILLS: usize = 36;
    drop(place.create(BASE, CRASH_CAPACITY));
    let db = match place.location() {
        RegistryLocation::Sqlite(path) => path.display().to_string(),
        #[cfg(feature = "postgres")]
        RegistryLocation::Postgres(url) => url,
    };
    let exe = std::env::current_exe().unwrap();
    let seed = std::env::var("CREDITPROOF_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_u64);
    let mut rng = TestRng(seed);
    let started = Instant::now();
    let mut prev = HashMap::new();
    let (mut batches, mut corrections, mut voided) = (0usize, 0usize, 0usize);
    for kill in 0..KILLS {
        let delay = 3 + rng.below(148);
        let mut child = Command::new(&exe)
            .args(["--exact", &child_test_name(), "--nocapture", "--ignored"])
            .env(CHILD_ENV, format!("{kill}|{}|{db}", rng.next_u64()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!("child exited early ({status}): {}", String::from_utf8_lossy(&out.stderr));
        }
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (b, c, v) = crash_checks(place, &mut prev);
        println!(
            "kill {:2}: after {delay:3} ms, {:3} operations completed ({} corrections, {} voided)",
            kill + 1,
            b - batches,
            c - corrections,
            v - voided
        );
        (batches, corrections, voided) = (b, c, v);
    }
    let lists = place.open().lists().unwrap().len();
    println!(
        "crash test ({}): {KILLS} kills, {batches} batches ({corrections} corrections, {voided} voided) committed, \
         {lists} lists, {:.1} s",
        place.name(),
        started.elapsed().as_secs_f64()
    );
    assert!(batches > 0, "the child never completed an operation");
}
