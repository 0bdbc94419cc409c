//! Delivery inside the issuing transaction: a failed deliver step records
//! nothing, a staged batch stays pending until confirmed or voided, a voided
//! batch's holder keys can be issued again; and version 1 files migrate.

use super::*;

/// A deliver step that stages the batch with `note`.
fn staged(note: &str) -> impl FnMut(&[StatusRef]) -> Result<Delivery, RegistryError> + '_ {
    move |_| Ok(Delivery::Staged(note.to_owned()))
}

#[test]
fn a_failed_delivery_records_nothing() {
    each_backend("deliver-fail", |place| {
        let mut reg = place.create(BASE, 64);
        let mut rng = TestRng(11);
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let hs = holders("f", 3);
        let old = reg.issue_batch(&batch("f0", "fred", &holders("g", 2)), 1, &mut fill, &mut done).unwrap();
        let (lists, history) = (reg.lists().unwrap(), reg.history(None).unwrap());

        let mut seen = Vec::new();
        let mut fail = |refs: &[StatusRef]| {
            seen = refs.to_vec();
            Err(RegistryError::Delivery("more than 256 disclosable claims".into()))
        };
        let got = reg.issue_batch(&batch("f1", "fred", &hs), 2, &mut fill, &mut fail);
        assert_eq!(got, Err(RegistryError::Delivery("more than 256 disclosable claims".into())));
        assert_eq!(seen.len(), 3, "the deliver step saw the drawn refs");
        let got = reg.correct("fred", &batch("f2", "fred", &hs), 2, &mut fill, &mut |_| {
            Err(RegistryError::Delivery("no such file".into()))
        });
        assert_eq!(got, Err(RegistryError::Delivery("no such file".into())));
        // A bad note fails like a failed delivery.
        let got = reg.issue_batch(&batch("f3", "fred", &hs), 2, &mut fill, &mut staged(""));
        assert!(matches!(got, Err(RegistryError::InvalidArgument(_))), "{got:?}");
        assert_eq!(reg.lists().unwrap(), lists, "no index used");
        assert_eq!(reg.history(None).unwrap(), history, "no history");
        assert_eq!(reg.subject_of(&hs[0]), Err(RegistryError::UnknownHolder), "no key bound");
        reg.check_invariants().unwrap();

        // The same keys and batch id then issue normally, on fresh indexes.
        let refs = reg.issue_batch(&batch("f1", "fred", &hs), 3, &mut fill, &mut done).unwrap();
        assert_eq!(refs.len(), 3);
        assert!(refs.iter().all(|r| !old.contains(r)));
        assert!(reg.pending_batches().unwrap().is_empty());
        reg.check_invariants().unwrap();
    });
}

#[test]
fn staged_batches_are_pending_until_confirmed() {
    each_backend("deliver-confirm", |place| {
        let mut reg = place.create(BASE, 64);
        let mut rng = TestRng(12);
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let (ha, hb) = (holders("a", 3), holders("b", 2));
        let a = reg.issue_batch(&batch("pa", "alice", &ha), 5, &mut fill, &mut staged("file a")).unwrap();
        reg.issue_batch(&batch("pb", "bob", &hb), 6, &mut fill, &mut done).unwrap();
        reg.check_invariants().unwrap();

        let pending = reg.pending_batches().unwrap();
        assert_eq!(pending.len(), 1);
        let p = &pending[0];
        assert_eq!(
            (p.batch_id.as_str(), p.subject.as_str(), p.issued_at, p.delivery, p.note.as_deref()),
            ("pa", "alice", 5, DeliveryState::Pending, Some("file a"))
        );
        let mut expected: Vec<(Thumbprint, StatusRef)> = ha.iter().cloned().zip(a.iter().cloned()).collect();
        expected.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(p.credentials, expected);
        assert_eq!(reg.batches_of(&ha[2..]).unwrap(), pending);
        let of_b = reg.batches_of(&hb).unwrap();
        assert_eq!(of_b.len(), 1);
        assert_eq!(
            (of_b[0].batch_id.as_str(), of_b[0].delivery, of_b[0].note.as_deref()),
            ("pb", DeliveryState::Delivered, None)
        );
        // Pending credentials are valid in the lists: they may reach the holder.
        assert!(a.iter().all(|r| reg.lists().unwrap()[0].1[idx_usize(r.idx)] == 0));

        reg.confirm_delivery("pa").unwrap();
        reg.confirm_delivery("pa").unwrap();
        assert!(reg.pending_batches().unwrap().is_empty());
        let of_a = reg.batches_of(&ha).unwrap();
        assert_eq!(
            (of_a.len(), of_a[0].delivery, of_a[0].note.as_deref()),
            (1, DeliveryState::Delivered, Some("file a"))
        );
        assert_eq!(reg.void_batch("pa", "late", 7), Err(RegistryError::NotPending));
        assert_eq!(reg.void_batch("pb", "never staged", 7), Err(RegistryError::NotPending));
        assert_eq!(reg.confirm_delivery("nope"), Err(RegistryError::UnknownBatch));
        assert_eq!(reg.void_batch("nope", "x", 7), Err(RegistryError::UnknownBatch));
        assert_eq!(
            reg.issue_batch(&batch("pc", "carol", &ha[..1]), 8, &mut fill, &mut done),
            Err(RegistryError::DuplicateHolder)
        );
        reg.check_invariants().unwrap();
    });
}

#[test]
fn voided_batches_free_their_keys_but_never_their_indexes() {
    each_backend("deliver-void", |place| {
        let mut reg = place.create(BASE, 64);
        let mut rng = TestRng(13);
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let hs = holders("v", 4);
        let old = reg.issue_batch(&batch("v0", "vic", &holders("w", 1)), 1, &mut fill, &mut done).unwrap();
        let first = reg.issue_batch(&batch("v1", "vic", &hs), 2, &mut fill, &mut staged("lost file")).unwrap();
        reg.set_status(Target::Index { uri: &first[0].uri, idx: first[0].idx }, Status::Suspended, "check", 3).unwrap();
        assert_eq!(reg.void_batch("v1", "never delivered", 4), Ok(4));
        assert_eq!(reg.void_batch("v1", "again", 4), Err(RegistryError::NotPending));
        assert_eq!(reg.confirm_delivery("v1"), Err(RegistryError::NotPending));
        assert!(reg.pending_batches().unwrap().is_empty());
        assert!(reg.batches_of(&hs).unwrap().is_empty(), "voided credentials are not live");
        let lists = reg.lists().unwrap();
        assert!(first.iter().all(|r| lists[0].1[idx_usize(r.idx)] == 1), "voided = revoked in the lists");
        reg.check_invariants().unwrap();

        // A correction supersedes the batches the holder can have: not the voided one.
        assert_eq!(reg.batch_ids_of_subject("vic").unwrap(), ["v0"]);
        // The same keys, issued afresh: new indexes, history tells both stories.
        let second = reg.correct("vic", &batch("v2", "vic", &hs), 5, &mut fill, &mut done).unwrap();
        assert!(second.iter().all(|r| !first.contains(r) && !old.contains(r)), "no index reused");
        assert_eq!(reg.subject_of(&hs[0]).unwrap(), "vic");
        let h = reg.history(Some(&hs[1])).unwrap();
        let actions: Vec<(&str, &str)> = h.iter().map(|e| (e.action.as_str(), e.batch_id.as_str())).collect();
        assert_eq!(actions.iter().filter(|a| **a == ("issued", "v1")).count(), 4);
        assert_eq!(actions.iter().filter(|a| **a == ("voided", "v1")).count(), 4);
        assert_eq!(actions.iter().filter(|a| **a == ("corrected", "v0")).count(), 1, "the older batch corrected");
        assert_eq!(actions.iter().filter(|a| **a == ("issued", "v2")).count(), 4);
        assert!(h.iter().filter(|e| e.action == "voided").all(|e| e.reason == "never delivered"));
        // The fresh batch holds the keys again; revoking by holder reaches it.
        assert_eq!(
            reg.issue_batch(&batch("v3", "vic", &hs[..1]), 6, &mut fill, &mut done),
            Err(RegistryError::DuplicateHolder)
        );
        assert_eq!(reg.set_status(Target::Holder(&hs[0]), Status::Revoked, "lost", 7), Ok(4));
        let lists = reg.lists().unwrap();
        assert!(second.iter().all(|r| lists[0].1[idx_usize(r.idx)] == 1));
        reg.check_invariants().unwrap();
    });
}

/// The version 1 schema, as released.
const SCHEMA_V1: &str = "
CREATE TABLE config (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    base_uri      TEXT    NOT NULL,
    list_capacity INTEGER NOT NULL CHECK (list_capacity > 0)
) STRICT;
CREATE TABLE lists (
    n        INTEGER PRIMARY KEY CHECK (n >= 1),
    uri      TEXT    NOT NULL UNIQUE,
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    used     INTEGER NOT NULL CHECK (used >= 0 AND used <= capacity)
) STRICT;
CREATE TABLE batches (
    seq       INTEGER PRIMARY KEY,
    batch_id  TEXT    NOT NULL UNIQUE,
    subject   TEXT    NOT NULL,
    policy    TEXT,
    issued_at INTEGER NOT NULL,
    reason    TEXT    NOT NULL
) STRICT;
CREATE INDEX batches_by_subject ON batches (subject);
CREATE TABLE credentials (
    list_n INTEGER NOT NULL REFERENCES lists (n),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    holder TEXT    NOT NULL UNIQUE,
    batch  INTEGER NOT NULL REFERENCES batches (seq),
    status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),
    PRIMARY KEY (list_n, idx)
) STRICT, WITHOUT ROWID;
CREATE INDEX credentials_by_batch ON credentials (batch);
CREATE TABLE history (
    seq    INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    action TEXT    NOT NULL
           CHECK (action IN ('issued', 'revoked', 'suspended', 'reinstated', 'corrected')),
    list_n INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    reason TEXT    NOT NULL,
    FOREIGN KEY (list_n, idx) REFERENCES credentials (list_n, idx)
) STRICT;
CREATE INDEX history_by_credential ON history (list_n, idx);
CREATE TABLE corrections (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    subject   TEXT    NOT NULL,
    new_batch INTEGER NOT NULL UNIQUE REFERENCES batches (seq),
    reason    TEXT    NOT NULL
) STRICT;
PRAGMA application_id = 1129337415;
PRAGMA user_version = 1;
PRAGMA journal_mode = WAL;
INSERT INTO config VALUES (1, 'https://issuer.example/status', 64);
INSERT INTO lists VALUES (1, 'https://issuer.example/status/1', 64, 3);
INSERT INTO batches VALUES (1, 'old', 'olga', NULL, 1, 'issued'), (2, 'new', 'olga', 'p/1', 2, 'corrected issue');
INSERT INTO credentials VALUES (1, 7, 'o-h0', 1, 1), (1, 30, 'o-h1', 2, 2), (1, 41, 'o-h2', 2, 0);
INSERT INTO history (at, action, list_n, idx, reason) VALUES
    (1, 'issued', 1, 7, 'issued'), (2, 'issued', 1, 30, 'corrected issue'), (2, 'issued', 1, 41, 'corrected issue'),
    (2, 'corrected', 1, 7, 'corrected: corrected issue'), (3, 'suspended', 1, 30, 'check');
INSERT INTO corrections VALUES (1, 2, 'olga', 2, 'corrected issue');
";

/// Tables, their columns and the indexes of a registry file.
fn shape(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.type || ' ' || m.name || ' ' || COALESCE(group_concat(c.name || ':' || c.type || ':' || c.pk, ','), '')
             FROM sqlite_schema m LEFT JOIN pragma_table_info(m.name) c WHERE m.name NOT LIKE 'sqlite_%'
             GROUP BY m.name ORDER BY m.name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn version_1_files_are_migrated() {
    let dir = TempDir::new("migrate");
    let db = dir.0.join("v1.sqlite");
    rusqlite::Connection::open(&db).unwrap().execute_batch(SCHEMA_V1).unwrap();
    let mut reg = SqliteRegistry::open(&db).unwrap();
    reg.check_invariants().unwrap();
    let version: i64 =
        rusqlite::Connection::open(&db).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, i64::from(SCHEMA_VERSION));
    let fresh = dir.0.join("v2.sqlite");
    drop(SqliteRegistry::create(&fresh, BASE, 64).unwrap());
    assert_eq!(shape(&db), shape(&fresh), "a migrated file has the schema of a new one");

    // Everything kept; the old batches count as delivered.
    assert_eq!(reg.history(None).unwrap().len(), 5);
    assert_eq!(reg.subject_of("o-h2").unwrap(), "olga");
    assert!(reg.pending_batches().unwrap().is_empty());
    assert_eq!(reg.confirm_delivery("new"), Ok(()));
    assert_eq!(reg.void_batch("old", "x", 9), Err(RegistryError::NotPending));
    assert_eq!(&reg.lists().unwrap()[0].1[..42].iter().filter(|&&b| b != 0).count(), &2);
    let mut rng = TestRng(14);
    let mut fill = |b: &mut [u8]| rng.fill(b);
    assert_eq!(
        reg.issue_batch(&batch("dup", "olga", &["o-h1".to_owned()]), 9, &mut fill, &mut done),
        Err(RegistryError::DuplicateHolder)
    );
    let refs = reg.issue_batch(&batch("next", "olga", &holders("n", 2)), 9, &mut fill, &mut staged("n")).unwrap();
    assert!(refs.iter().all(|r| ![7, 30, 41].contains(&r.idx)));
    reg.void_batch("next", "never delivered", 10).unwrap();
    reg.check_invariants().unwrap();
    drop(reg);
    // Opening again does nothing more.
    SqliteRegistry::open(&db).unwrap().check_invariants().unwrap();
}

/// A version 2 file (no free-index shuffle, the holder in two indexes)
/// with a half-used list is migrated: the shuffle then holds exactly the
/// unused indexes, and drawing goes on to fill the list without a repeat.
#[test]
fn version_2_files_are_migrated() {
    let dir = TempDir::new("migrate-v2");
    let db = dir.db();
    let mut rng = TestRng(15);
    let mut fill = |b: &mut [u8]| rng.fill(b);
    {
        let mut reg = SqliteRegistry::create(&db, BASE, 64).unwrap();
        reg.issue_batch(&batch("m1", "mia", &holders("m1", 20)), 1, &mut fill, &mut done).unwrap();
        reg.issue_batch(&batch("m2", "mia", &holders("m2", 13)), 2, &mut fill, &mut staged("x")).unwrap();
        reg.void_batch("m2", "never delivered", 3).unwrap();
    }
    // Back to version 2's shape.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TABLE free_slots; DROP INDEX credentials_voided_holder; DROP INDEX credentials_not_valid;
             CREATE INDEX credentials_by_holder ON credentials (holder, voided);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    let mut reg = SqliteRegistry::open(&db).unwrap();
    reg.check_invariants().unwrap();
    let fresh = dir.0.join("v3.sqlite");
    drop(SqliteRegistry::create(&fresh, BASE, 64).unwrap());
    assert_eq!(shape(&db), shape(&fresh), "a migrated file has the schema of a new one");
    assert_eq!(reg.subject_of("m2-h0").unwrap(), "mia", "voided holders still found");
    let refs = reg.issue_batch(&batch("m3", "mia", &holders("m3", 31)), 4, &mut fill, &mut done).unwrap();
    let all: HashSet<u64> = reg.history(None).unwrap().iter().map(|h| h.idx).collect();
    assert_eq!(all.len(), 64, "the list filled exactly, no index twice");
    assert!(refs.iter().all(|r| r.uri == format!("{BASE}/1")));
    reg.check_invariants().unwrap();
}
