//! Tests of the registry; in `crash`, a crash test that kills a child
//! process in the middle of issuing, correcting and delivering; in
//! `delivery`, staged, confirmed and voided deliveries and the migration.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

const BASE: &str = "https://issuer.example/status";

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "creditproof-registry-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("registry.sqlite")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment variable naming the PostgreSQL server the suite also
/// runs against (a URL such as `postgres://postgres@127.0.0.1:5432/postgres`;
/// each test creates its own database there and drops it).
const PG_ENV: &str = "CREDITPROOF_TEST_POSTGRES";

/// A uniquely named PostgreSQL database, dropped with the value.
#[cfg(feature = "postgres")]
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

#[cfg(feature = "postgres")]
impl TestDb {
    fn new(admin: &str, tag: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let tag: String = tag.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let name =
            format!("creditproof_{tag}_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut client = ::postgres::Client::connect(admin, ::postgres::NoTls)
            .unwrap_or_else(|e| panic!("{PG_ENV}: cannot reach PostgreSQL: {e}"));
        client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).expect("create test database");
        let (head, query) = admin.split_once('?').map_or((admin, None), |(h, q)| (h, Some(q)));
        let (scheme, rest) = head.split_once("://").expect("a postgres:// URL");
        let authority = rest.split('/').next().unwrap_or(rest);
        let mut url = format!("{scheme}://{authority}/{name}");
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        Self { admin: admin.to_owned(), name, url }
    }

    /// A raw connection, to read or tamper with the tables.
    fn client(&self) -> ::postgres::Client {
        let mut c = ::postgres::Client::connect(&self.url, ::postgres::NoTls).expect("connect to the test database");
        c.batch_execute("SET search_path TO creditproof").unwrap();
        c
    }
}

#[cfg(feature = "postgres")]
impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut client) = ::postgres::Client::connect(&self.admin, ::postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name));
        }
    }
}

/// Where one run of a test keeps its registry.
enum Place {
    Sqlite(TempDir),
    #[cfg(feature = "postgres")]
    Postgres(TestDb),
}

impl Place {
    fn location(&self) -> RegistryLocation {
        match self {
            Self::Sqlite(dir) => RegistryLocation::Sqlite(dir.db()),
            #[cfg(feature = "postgres")]
            Self::Postgres(db) => RegistryLocation::Postgres(db.url.clone()),
        }
    }

    fn create(&self, base: &str, capacity: u64) -> AnyRegistry {
        self.location().create(base, capacity).unwrap()
    }

    fn open(&self) -> AnyRegistry {
        self.location().open().unwrap()
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => "postgres",
        }
    }

    /// Rows of a raw query, every value as text (NULL as "").
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Self::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.db()).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                                    rusqlite::types::Value::Null => String::new(),
                                    rusqlite::types::Value::Integer(v) => v.to_string(),
                                    rusqlite::types::Value::Real(v) => v.to_string(),
                                    rusqlite::types::Value::Text(v) => v,
                                    rusqlite::types::Value::Blob(_) => "<blob>".to_owned(),
                                })
                            })
                            .collect::<Result<Vec<String>, rusqlite::Error>>()
                    })
                    .unwrap();
                rows.collect::<Result<_, _>>().unwrap()
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(db) => db
                .client()
                .simple_query(sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    ::postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).unwrap_or("").to_owned()).collect())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// One integer from a raw query.
    fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].parse().unwrap()
    }
}

/// The places one test runs in: SQLite always; PostgreSQL when
/// `CREDITPROOF_TEST_POSTGRES` names a server (else one line says, once,
/// that those runs were skipped and how to run them).
fn places(tag: &str) -> Vec<Place> {
    let mut out = vec![Place::Sqlite(TempDir::new(tag))];
    #[cfg(feature = "postgres")]
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => out.push(Place::Postgres(TestDb::new(url.trim(), tag))),
        _ => skipped_postgres(),
    }
    #[cfg(not(feature = "postgres"))]
    skipped_postgres();
    out
}

/// Says once per test binary, past the test harness's capture, that the
/// PostgreSQL runs were skipped.
fn skipped_postgres() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "note: registry suite: the PostgreSQL runs were SKIPPED (only SQLite ran); \
             set {PG_ENV}=postgres://USER@HOST:PORT/DB to run them too"
        );
    });
}

/// Runs `test` once per backend.
fn each_backend(tag: &str, mut test: impl FnMut(&Place)) {
    for place in places(tag) {
        eprintln!("{tag}: {}", place.name());
        test(&place);
    }
}

/// SplitMix64: a deterministic test generator (never for production).
struct TestRng(u64);

impl TestRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn holders(prefix: &str, n: usize) -> Vec<Thumbprint> {
    (0..n).map(|i| format!("{prefix}-h{i}")).collect()
}

fn batch<'a>(id: &'a str, subject: &'a str, holders: &'a [Thumbprint]) -> NewBatch<'a> {
    NewBatch { batch_id: id, subject, policy: Some("income-v1"), holders, reason: "initial issuance" }
}

/// A deliver step that hands the batch over at once.
fn done(_: &[StatusRef]) -> Result<Delivery, RegistryError> {
    Ok(Delivery::Delivered)
}

fn list_of<'a>(lists: &'a [(String, Vec<u8>)], uri: &str) -> &'a [u8] {
    &lists.iter().find(|(u, _)| u == uri).expect("list present").1
}

fn idx_usize(idx: u64) -> usize {
    usize::try_from(idx).expect("index fits usize")
}

#[test]
fn status_bytes_round_trip() {
    for s in [Status::Valid, Status::Revoked, Status::Suspended] {
        assert_eq!(Status::from_u8(s.to_u8()), Some(s));
    }
    assert_eq!(Status::from_u8(3), None);
    assert_eq!(Status::Revoked.to_u8(), 1);
    assert_eq!(Status::Suspended.to_u8(), 2);
}

#[test]
fn issue_draws_distinct_random_indexes() {
    each_backend("issue", |place| {
        let mut reg = place.create(BASE, DEFAULT_LIST_CAPACITY);
        let mut rng = TestRng(1);
        let hs = holders("a", 16);
        let refs = reg.issue_batch(&batch("b1", "alice", &hs), 1000, &mut |b| rng.fill(b), &mut done).unwrap();
        assert_eq!(refs.len(), 16);
        assert!(refs.iter().all(|r| r.uri == format!("{BASE}/1")));
        let drawn: Vec<u64> = refs.iter().map(|r| r.idx).collect();
        let mut sorted = drawn.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 16, "indexes of one batch are distinct");
        assert_ne!(sorted, drawn, "draw order is not sorted order");
        assert!(sorted.windows(2).any(|w| w[1] - w[0] > 1), "indexes are not all adjacent");
        let lists = reg.lists().unwrap();
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].1.len(), idx_usize(DEFAULT_LIST_CAPACITY));
        assert!(lists[0].1.iter().all(|&b| b == 0));
        for h in &hs {
            assert_eq!(reg.subject_of(h).unwrap(), "alice");
        }
        reg.check_invariants().unwrap();

        // The state survives reopening.
        drop(reg);
        let mut reg = place.open();
        assert_eq!(reg.lists().unwrap(), [(format!("{BASE}/1"), lists[0].1.clone())]);
        assert_eq!(reg.history(None).unwrap().len(), 16);
        reg.check_invariants().unwrap();
    });
}

#[test]
fn status_changes_by_index_holder_and_batch() {
    each_backend("status", |place| {
        let mut reg = place.create(BASE, 1024);
        let mut rng = TestRng(2);
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let (ha, hb, hc) = (holders("a", 4), holders("b", 3), holders("c", 2));
        let a = reg.issue_batch(&batch("a1", "alice", &ha), 10, &mut fill, &mut done).unwrap();
        let b = reg.issue_batch(&batch("b1", "bob", &hb), 11, &mut fill, &mut done).unwrap();
        let b2_holders = holders("b2", 2);
        let b2 = reg.issue_batch(&batch("b2", "bob", &b2_holders), 12, &mut fill, &mut done).unwrap();
        let c = reg.issue_batch(&batch("c1", "carol", &hc), 13, &mut fill, &mut done).unwrap();
        let uri = format!("{BASE}/1");

        // Revoke one credential by index.
        let t = Target::Index { uri: &uri, idx: a[0].idx };
        assert_eq!(reg.set_status(t, Status::Revoked, "key lost", 20).unwrap(), 1);
        let lists = reg.lists().unwrap();
        assert_eq!(list_of(&lists, &uri)[idx_usize(a[0].idx)], 1);
        assert_eq!(list_of(&lists, &uri)[idx_usize(a[1].idx)], 0);
        // Revoked is final.
        assert_eq!(reg.set_status(t, Status::Valid, "oops", 21), Err(RegistryError::AlreadyRevoked));
        assert_eq!(reg.set_status(t, Status::Suspended, "oops", 21), Err(RegistryError::AlreadyRevoked));
        assert_eq!(reg.set_status(t, Status::Revoked, "again", 21), Err(RegistryError::AlreadyRevoked));

        // Suspend then reinstate a batch.
        assert_eq!(
            reg.set_status(Target::Batch("a1"), Status::Suspended, "dispute", 22).unwrap(),
            3,
            "the revoked one is left alone"
        );
        let lists = reg.lists().unwrap();
        let l = list_of(&lists, &uri);
        assert_eq!(l[idx_usize(a[0].idx)], 1);
        assert!(a[1..].iter().all(|r| l[idx_usize(r.idx)] == 2));
        assert_eq!(reg.set_status(Target::Batch("a1"), Status::Suspended, "again", 23).unwrap(), 0);
        assert_eq!(reg.set_status(Target::Batch("a1"), Status::Valid, "resolved", 24).unwrap(), 3);
        let lists = reg.lists().unwrap();
        let l = list_of(&lists, &uri);
        assert_eq!(l[idx_usize(a[0].idx)], 1);
        assert!(a[1..].iter().all(|r| l[idx_usize(r.idx)] == 0));

        // Revoke by holder: every batch of bob's, nothing of carol's.
        assert_eq!(reg.set_status(Target::Holder(&hb[1]), Status::Revoked, "fraud", 25).unwrap(), 5);
        let lists = reg.lists().unwrap();
        let l = list_of(&lists, &uri);
        assert!(b.iter().chain(&b2).all(|r| l[idx_usize(r.idx)] == 1));
        assert!(c.iter().all(|r| l[idx_usize(r.idx)] == 0));
        assert_eq!(reg.set_status(Target::Batch("b2"), Status::Valid, "x", 26), Err(RegistryError::AlreadyRevoked));

        // Revoke by batch.
        assert_eq!(reg.set_status(Target::Batch("c1"), Status::Revoked, "closed", 27).unwrap(), 2);

        // Unknown targets.
        assert_eq!(
            reg.set_status(Target::Holder("nobody"), Status::Revoked, "x", 28),
            Err(RegistryError::UnknownHolder)
        );
        assert_eq!(reg.set_status(Target::Batch("nope"), Status::Revoked, "x", 28), Err(RegistryError::UnknownBatch));
        let unused = (0..1024).find(|i| !a.iter().chain(&b).chain(&b2).chain(&c).any(|r| r.idx == *i));
        let t = Target::Index { uri: &uri, idx: unused.unwrap() };
        assert_eq!(reg.set_status(t, Status::Revoked, "x", 28), Err(RegistryError::UnknownIndex));
        let t = Target::Index { uri: "https://other/1", idx: a[1].idx };
        assert_eq!(reg.set_status(t, Status::Revoked, "x", 28), Err(RegistryError::UnknownIndex));
        let t = Target::Index { uri: &uri, idx: u64::MAX };
        assert_eq!(reg.set_status(t, Status::Revoked, "x", 28), Err(RegistryError::UnknownIndex));

        // History, with reasons.
        let alice = reg.history(Some(&ha[2])).unwrap();
        let summary: Vec<(&str, &str)> = alice.iter().map(|h| (h.action.as_str(), h.reason.as_str())).collect();
        assert_eq!(summary.iter().filter(|s| *s == &("issued", "initial issuance")).count(), 4);
        assert_eq!(summary[4], ("revoked", "key lost"));
        assert_eq!(summary.iter().filter(|s| *s == &("suspended", "dispute")).count(), 3);
        assert_eq!(summary.iter().filter(|s| *s == &("reinstated", "resolved")).count(), 3);
        assert_eq!(summary.len(), 4 + 1 + 3 + 3);
        assert!(alice.iter().all(|h| h.batch_id == "a1" && h.uri == uri));
        assert_eq!(alice[4].at, 20);
        assert_eq!(alice[4].holder, ha[0]);
        assert_eq!(alice[4].idx, a[0].idx);
        let bob = reg.history(Some(&b2_holders[0])).unwrap();
        assert_eq!(bob.len(), 5 + 5);
        assert!(bob[5..].iter().all(|h| h.action == "revoked" && h.reason == "fraud"));
        let all = reg.history(None).unwrap();
        assert_eq!(all.len(), 11 + 10 + 4);
        assert_eq!(reg.history(Some("nobody")), Err(RegistryError::UnknownHolder));
        reg.check_invariants().unwrap();
    });
}

#[test]
fn correction_revokes_old_and_issues_new() {
    each_backend("correct", |place| {
        let mut reg = place.create(BASE, 4096);
        let mut rng = TestRng(3);
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let (h1, h2, h3, hd) = (holders("1", 3), holders("2", 2), holders("3", 4), holders("d", 2));
        let old1 = reg.issue_batch(&batch("d1", "dana", &h1), 1, &mut fill, &mut done).unwrap();
        let old2 = reg.issue_batch(&batch("d2", "dana", &h2), 2, &mut fill, &mut done).unwrap();
        let other = reg.issue_batch(&batch("e1", "erin", &hd), 2, &mut fill, &mut done).unwrap();
        reg.set_status(Target::Index { uri: &old1[0].uri, idx: old1[0].idx }, Status::Revoked, "lost", 3).unwrap();
        reg.set_status(Target::Batch("d2"), Status::Suspended, "check", 4).unwrap();

        let mut new = batch("d3", "dana", &h3);
        new.reason = "income was wrong";
        assert_eq!(
            reg.correct("erin", &new, 5, &mut fill, &mut done),
            Err(RegistryError::InvalidArgument("the new batch's subject differs from the corrected subject"))
        );
        let ghost = batch("g1", "ghost", &h3);
        assert_eq!(reg.correct("ghost", &ghost, 5, &mut fill, &mut done), Err(RegistryError::UnknownSubject));
        // What the correcting batch will say it supersedes: dana's batches only.
        assert_eq!(reg.batch_ids_of_subject("dana").unwrap(), ["d1", "d2"]);
        assert_eq!(reg.batch_ids_of_subject("ghost").unwrap(), Vec::<String>::new());
        let fresh = reg.correct("dana", &new, 5, &mut fill, &mut done).unwrap();
        assert_eq!(reg.batch_ids_of_subject("dana").unwrap(), ["d1", "d2", "d3"]);
        assert_eq!(fresh.len(), 4);

        let lists = reg.lists().unwrap();
        let l = &lists[0].1;
        assert!(old1.iter().chain(&old2).all(|r| l[idx_usize(r.idx)] == 1));
        assert!(fresh.iter().chain(&other).all(|r| l[idx_usize(r.idx)] == 0));
        let hist = reg.history(Some(&h3[0])).unwrap();
        let corrected: Vec<&HistoryEntry> = hist.iter().filter(|h| h.action == "corrected").collect();
        assert_eq!(corrected.len(), 2 + 2, "the already-revoked one is not revoked again");
        assert!(corrected.iter().all(|h| h.reason == "corrected: income was wrong"));
        assert_eq!(hist.iter().filter(|h| h.action == "issued").count(), 3 + 2 + 4);
        reg.check_invariants().unwrap();

        // A failing correction changes nothing (duplicate holder in the new batch).
        let h4 = vec!["4-h0".to_owned(), h3[0].clone()];
        let before = reg.history(None).unwrap();
        assert_eq!(
            reg.correct("dana", &batch("d4", "dana", &h4), 6, &mut fill, &mut done),
            Err(RegistryError::DuplicateHolder)
        );
        assert_eq!(reg.history(None).unwrap(), before);
        assert_eq!(reg.lists().unwrap(), lists);
        reg.check_invariants().unwrap();
    });
}

#[test]
fn lists_roll_over_when_full() {
    each_backend("rollover", |place| {
        let mut reg = place.create(BASE, 8);
        let mut rng = TestRng(4);
        let mut seen = HashSet::new();
        for i in 0..3 {
            let hs = holders(&format!("r{i}"), 5);
            let id = format!("batch{i}");
            let refs = reg.issue_batch(&batch(&id, "sam", &hs), 1, &mut |b| rng.fill(b), &mut done).unwrap();
            for r in refs {
                assert!(r.idx < 8);
                assert!(seen.insert((r.uri, r.idx)), "index reused");
            }
        }
        let lists = reg.lists().unwrap();
        let uris: Vec<&str> = lists.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(uris, [format!("{BASE}/1"), format!("{BASE}/2")]);
        assert!(lists.iter().all(|(_, l)| l.len() == 8));
        let per_list: BTreeMap<&str, usize> = seen.iter().fold(BTreeMap::new(), |mut m, (u, _)| {
            *m.entry(u.as_str()).or_default() += 1;
            m
        });
        assert_eq!(per_list.values().copied().collect::<Vec<_>>(), [8, 7]);
        reg.check_invariants().unwrap();
    });
}

#[test]
fn nearly_full_lists_use_the_fallback() {
    each_backend("fallback", |place| {
        // A generator stuck on one value: rejection sampling keeps hitting the
        // same used index, and the enumeration fallback must still terminate.
        let mut reg = place.create(BASE, 16);
        let hs = holders("x", 16);
        let refs = reg.issue_batch(&batch("x1", "xavier", &hs), 1, &mut |b| b.fill(0xFF), &mut done).unwrap();
        let mut idx: Vec<u64> = refs.iter().map(|r| r.idx).collect();
        idx.sort_unstable();
        assert_eq!(idx, (0..16).collect::<Vec<_>>());
        assert_eq!(reg.lists().unwrap().len(), 1, "a full list alone does not open the next");
        reg.check_invariants().unwrap();
    });

    // A list of 4096 filled by a proper generator: the last few indexes come
    // from the fallback; every index is used exactly once.
    each_backend("fallback-big", |place| {
        let mut reg = place.create(BASE, 4096);
        let mut rng = TestRng(5);
        for i in 0..8 {
            let hs = holders(&format!("f{i}"), 512);
            let id = format!("f{i}");
            reg.issue_batch(&batch(&id, "fay", &hs), 1, &mut |b| rng.fill(b), &mut done).unwrap();
        }
        let lists = reg.lists().unwrap();
        assert_eq!(lists.len(), 1);
        let history = reg.history(None).unwrap();
        let used: HashSet<u64> = history.iter().map(|h| h.idx).collect();
        assert_eq!(used.len(), 4096);
        reg.check_invariants().unwrap();
    });
}

#[test]
fn schema_and_file_errors() {
    let dir = TempDir::new("schema");
    let db = dir.db();
    assert_eq!(SqliteRegistry::open(&db).unwrap_err(), RegistryError::NotFound);
    drop(SqliteRegistry::create(&db, BASE, 64).unwrap());
    assert_eq!(SqliteRegistry::create(&db, BASE, 64).unwrap_err(), RegistryError::Exists);

    // A newer schema is refused, not migrated.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    assert_eq!(
        SqliteRegistry::open(&db).unwrap_err(),
        RegistryError::NewerSchema { found: 99, supported: SCHEMA_VERSION }
    );

    // Not SQLite at all.
    let junk = dir.0.join("junk.sqlite");
    let mut rng = TestRng(6);
    let mut bytes = vec![0u8; 8192];
    rng.fill(&mut bytes);
    std::fs::write(&junk, &bytes).unwrap();
    assert_eq!(SqliteRegistry::open(&junk).unwrap_err(), RegistryError::NotARegistry);
    assert_eq!(std::fs::read(&junk).unwrap(), bytes, "left untouched");

    // SQLite, but not a registry; an empty file (a crashed create).
    let plain = dir.0.join("plain.sqlite");
    rusqlite::Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); PRAGMA user_version = 99;")
        .unwrap();
    assert_eq!(SqliteRegistry::open(&plain).unwrap_err(), RegistryError::NotARegistry);
    let empty = dir.0.join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(SqliteRegistry::open(&empty).unwrap_err(), RegistryError::NotARegistry);
    assert_eq!(SqliteRegistry::open(&dir.0).unwrap_err(), RegistryError::NotARegistry);

    // Bad creation arguments leave no file behind.
    let other = dir.0.join("other.sqlite");
    for (base, cap) in [("", 8), ("https://x/", 8), ("https://x y", 8), (BASE, 0), (BASE, MAX_LIST_CAPACITY + 1)] {
        assert!(matches!(SqliteRegistry::create(&other, base, cap), Err(RegistryError::InvalidArgument(_))));
        assert!(!other.exists());
    }
    let display = RegistryError::NewerSchema { found: 2, supported: 1 }.to_string();
    assert_eq!(display, "registry schema version 2 is newer than the supported version 1");
}

#[test]
fn bad_arguments_are_typed_errors() {
    each_backend("args", |place| {
        let mut reg = place.create(BASE, 64);
        let mut rng = TestRng(7);
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let hs = holders("z", 2);
        assert_eq!(reg.issue_batch(&batch("e", "zed", &[]), 1, &mut fill, &mut done), Err(RegistryError::EmptyBatch));
        let twice = vec!["same".to_owned(), "same".to_owned()];
        assert_eq!(
            reg.issue_batch(&batch("e", "zed", &twice), 1, &mut fill, &mut done),
            Err(RegistryError::DuplicateHolder)
        );
        assert!(matches!(
            reg.issue_batch(&batch("", "zed", &hs), 1, &mut fill, &mut done),
            Err(RegistryError::InvalidArgument(_))
        ));
        assert!(matches!(
            reg.issue_batch(&batch("e", "zed", &hs), u64::MAX, &mut fill, &mut done),
            Err(RegistryError::InvalidArgument(_))
        ));
        reg.issue_batch(&batch("z1", "zed", &hs), 1, &mut fill, &mut done).unwrap();
        assert_eq!(
            reg.issue_batch(&batch("z1", "zed", &holders("y", 1)), 1, &mut fill, &mut done),
            Err(RegistryError::DuplicateBatch)
        );
        assert_eq!(
            reg.issue_batch(&batch("z2", "yan", &hs[1..]), 1, &mut fill, &mut done),
            Err(RegistryError::DuplicateHolder)
        );
        assert_eq!(reg.subject_of("nobody"), Err(RegistryError::UnknownHolder));
        let long = "r".repeat(5000);
        assert!(matches!(
            reg.set_status(Target::Batch("z1"), Status::Revoked, &long, 1),
            Err(RegistryError::InvalidArgument(_))
        ));
        assert_eq!(reg.history(None).unwrap().len(), 2);
        reg.check_invariants().unwrap();
    });
}

#[test]
fn tampering_is_detected() {
    let dir = TempDir::new("tamper");
    let db = dir.db();
    {
        let mut reg = SqliteRegistry::create(&db, BASE, 64).unwrap();
        let mut rng = TestRng(8);
        let hs = holders("t", 4);
        reg.issue_batch(&batch("t1", "tim", &hs), 1, &mut |b| rng.fill(b), &mut done).unwrap();
        reg.set_status(Target::Batch("t1"), Status::Suspended, "x", 2).unwrap();
    }
    let tampered = |sql: &str| {
        let copy = dir.0.join("copy.sqlite");
        let _ = std::fs::remove_file(&copy);
        let src = rusqlite::Connection::open(&db).unwrap();
        src.execute("VACUUM INTO ?1", [copy.to_str().unwrap()]).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let reg = SqliteRegistry::open(&copy).unwrap();
        reg.check_invariants()
    };
    assert_eq!(tampered(""), Ok(()));
    for sql in [
        "UPDATE lists SET used = used - 1",
        "UPDATE credentials SET status = 0 WHERE rowid IN (SELECT rowid FROM credentials LIMIT 1)",
        "UPDATE credentials SET status = 1",
        "DELETE FROM history WHERE action = 'issued' AND seq = (SELECT MIN(seq) FROM history)",
        "UPDATE lists SET uri = 'https://evil/1'",
        "INSERT INTO batches (batch_id, subject, issued_at, reason) VALUES ('empty', 'tim', 1, 'x')",
        "INSERT INTO lists (n, uri, capacity, used) VALUES (2, 'https://issuer.example/status/2', 64, 0)",
        "UPDATE credentials SET status = 1, voided = 1",
        "UPDATE batches SET delivery = 'pending'",
        "UPDATE batches SET delivery = 'voided'",
        "INSERT INTO history (at, action, list_n, idx, reason) SELECT 9, 'voided', list_n, idx, 'x' FROM credentials",
    ] {
        // `credentials` is WITHOUT ROWID: rewrite that statement on its key.
        let sql = sql.replace(
            "rowid IN (SELECT rowid FROM credentials LIMIT 1)",
            "(list_n, idx) IN (SELECT list_n, idx FROM credentials LIMIT 1)",
        );
        let got = tampered(&sql);
        assert!(matches!(got, Err(RegistryError::Invariant(_))), "{sql}: {got:?}");
    }
    // A correction half-applied by hand is caught both ways.
    let got = tampered(
        "INSERT INTO history (at, action, list_n, idx, reason)
         SELECT 3, 'corrected', list_n, idx, 'x' FROM credentials LIMIT 1;
         UPDATE credentials SET status = 1 WHERE (list_n, idx) IN
           (SELECT list_n, idx FROM history WHERE action = 'corrected')",
    );
    assert!(matches!(got, Err(RegistryError::Invariant(_))), "{got:?}");
    let got = tampered(
        "INSERT INTO batches (seq, batch_id, subject, issued_at, reason) VALUES (99, 'n', 'tim', 3, 'x');
         INSERT INTO credentials SELECT 1, (SELECT MAX(idx) + 1 FROM credentials), 'new', 99, 0, 0;
         UPDATE lists SET used = used + 1;
         INSERT INTO history (at, action, list_n, idx, reason)
           SELECT 3, 'issued', 1, idx, 'x' FROM credentials WHERE holder = 'new';
         INSERT INTO corrections (at, subject, new_batch, reason) VALUES (3, 'tim', 99, 'x');",
    );
    assert!(matches!(got, Err(RegistryError::Invariant(_))), "{got:?}");
}

mod crash;
mod delivery;

/// PostgreSQL: a database without a registry, a second create, a newer
/// schema (refused, untouched) and a foreign `registry_meta`.
#[cfg(feature = "postgres")]
#[test]
fn postgres_schema_errors() {
    for place in places("pg-schema") {
        let Place::Postgres(db) = &place else { continue };
        let location = place.location();
        assert_eq!(location.open().err(), Some(RegistryError::NotFound));
        drop(place.create(BASE, 64));
        assert_eq!(location.create(BASE, 64).err(), Some(RegistryError::Exists));
        db.client().batch_execute("UPDATE registry_meta SET schema_version = 99").unwrap();
        assert_eq!(location.open().err(), Some(RegistryError::NewerSchema { found: 99, supported: PG_SCHEMA_VERSION }));
        assert_eq!(place.count("SELECT schema_version FROM creditproof.registry_meta"), 99, "left untouched");
        db.client().batch_execute("UPDATE registry_meta SET schema_version = 1, application = 'other'").unwrap();
        assert_eq!(location.open().err(), Some(RegistryError::NotARegistry));
        db.client().batch_execute("UPDATE registry_meta SET application = 'creditproof-registry'").unwrap();
        place.open().check_invariants().unwrap();
        // Tampering is caught, as in SQLite.
        db.client().batch_execute("UPDATE lists SET used = used + 1").unwrap();
        assert!(matches!(place.open().check_invariants(), Err(RegistryError::Invariant(_))));
        let bad = RegistryLocation::Postgres("mysql://x".into());
        assert!(matches!(bad.open().err(), Some(RegistryError::InvalidArgument(_))));
        let secret = RegistryLocation::Postgres("postgres://u:hunter2@h/db".into());
        assert!(!format!("{secret} {secret:?}").contains("hunter2"));
    }
}

/// Index draws stay O(1) and uniform at any fill level: filling a list of
/// 2^14 to the last index by batches of 1024 takes about as long per batch
/// at the end as at the start (no scan), and prints the figures.
#[test]
fn index_draws_do_not_slow_down_when_the_list_fills() {
    each_backend("fill", |place| {
        const CAP: u64 = 1 << 14;
        let mut reg = place.create(BASE, CAP);
        let mut rng = TestRng(21);
        let mut times = Vec::new();
        for i in 0..16 {
            // Real thumbprints: 43 base64url characters (SHA-256).
            let hs: Vec<Thumbprint> = (0..1024)
                .map(|_| {
                    let mut t = [0u8; 32];
                    rng.fill(&mut t);
                    crate::format::encoding::b64_encode(t)
                })
                .collect();
            let id = format!("fill{i}");
            let t = std::time::Instant::now();
            reg.issue_batch(&batch(&id, "fill", &hs), 1, &mut |b| rng.fill(b), &mut done).unwrap();
            times.push(t.elapsed());
        }
        assert_eq!(reg.lists().unwrap().len(), 1, "exactly full");
        reg.check_invariants().unwrap();
        let bytes = match place {
            Place::Sqlite(_) => {
                drop(reg);
                place.count("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            }
            #[cfg(feature = "postgres")]
            Place::Postgres(_) => {
                // What autovacuum leaves: the shuffle's churn reclaimed.
                place.rows("VACUUM");
                place.count(
                    "SELECT SUM(pg_total_relation_size(c.oid))::BIGINT FROM pg_class c
                 JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'creditproof' AND c.relkind = 'r'",
                )
            }
        };
        println!(
            "registry size ({}): {bytes} bytes for {CAP} credentials in batches of 1024 = {:.0} bytes per credential",
            place.name(),
            f64::from(u32::try_from(bytes).unwrap()) / f64::from(u32::try_from(CAP).unwrap())
        );
        let first = times[..4].iter().sum::<std::time::Duration>() / 4;
        let last = *times.last().unwrap();
        println!(
            "index draws ({}): batch of 1024 into an empty list of {CAP}: {:.1} ms; the last 1024 entries: {:.1} ms",
            place.name(),
            first.as_secs_f64() * 1e3,
            last.as_secs_f64() * 1e3
        );
    });
}
