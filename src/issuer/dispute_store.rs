//! The issuer's dispute state: disputes, their entries and answers, the
//! last scoring of each person, the one-time ids of dispute requests, and
//! the history of every step.
//!
//! It sits behind the [`DisputeStore`] trait, kept apart from the
//! [`crate::registry::IssuerRegistry`] so the two evolve separately;
//! [`SqliteDisputes`] keeps it in one SQLite file (`disputes.sqlite` in the
//! issuer directory), every change one `BEGIN IMMEDIATE … COMMIT`
//! transaction, so a crash leaves the old or the new state. The trait takes
//! and returns plain values and an explicit `now`: a PostgreSQL version
//! can follow behind the same trait, with the same tests.
//!
//! What is kept is what the dispute needs and nothing more: the holder key
//! thumbprint and issuer-internal subject (both already in the registry),
//! the disputed references and the holder's reasons, the evidence bytes
//! (bounded; never logged), and the signed documents handed to the holder.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};

use crate::format::time::{UnixTime, DAY};
use crate::profile::dispute::Outcome;
use crate::profile::policy::{EntryClock, ScoreReport};

/// What can go wrong with the dispute store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisputeStoreError {
    /// An error of the database, as text.
    Database(String),
    /// The request's one-time id was used before: a replay.
    Replayed,
    /// The person has filed too many disputes lately.
    RateLimited,
    /// No dispute has this id, or it has no such entry.
    NotFound,
    /// The entry is already answered.
    AlreadyAnswered,
    /// The entry was not answered after its deadline (or was reinstated
    /// already): there is nothing to reinstate.
    NotLate,
}

impl std::fmt::Display for DisputeStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Database(e) => write!(f, "dispute store: {e}"),
            Self::Replayed => f.write_str("this dispute request was already used"),
            Self::RateLimited => f.write_str("too many disputes from this holder; try again later"),
            Self::NotFound => f.write_str("no such dispute or entry"),
            Self::AlreadyAnswered => f.write_str("the entry is already answered"),
            Self::NotLate => f.write_str("the entry was not answered late, or is reinstated already"),
        }
    }
}

impl std::error::Error for DisputeStoreError {}

impl From<rusqlite::Error> for DisputeStoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// The most disputes one person may file in [`RATE_WINDOW_SECS`].
pub const MAX_DISPUTES_PER_WINDOW: u32 = 10;
/// The window of the per-person dispute limit: a day.
pub const RATE_WINDOW_SECS: u64 = DAY;

/// A dispute to record.
#[derive(Debug, Clone)]
pub struct NewDispute<'a> {
    /// Its id (random, chosen by the caller).
    pub id: &'a str,
    /// The holder key thumbprint that signed it.
    pub holder: &'a str,
    /// The issuer-internal person.
    pub subject: &'a str,
    /// The disputed breakdown's policy id and version.
    pub policy: (&'a str, &'a str),
    /// `(reference, reason)` of each entry.
    pub entries: &'a [(String, String)],
    /// When it was received.
    pub received_at: UnixTime,
    /// The deadline.
    pub answer_by: UnixTime,
    /// The signed receipt handed to the holder.
    pub receipt: &'a str,
    /// The evidence attachment, if any (bounded by the caller).
    pub evidence: Option<&'a [u8]>,
    /// The request's one-time id, refused if seen before.
    pub jti: &'a str,
    /// When the one-time id may be forgotten.
    pub jti_expires_at: UnixTime,
}

/// One entry of a stored dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The record's reference.
    pub reference: String,
    /// The holder's reason.
    pub reason: String,
    /// The answer, if any.
    pub outcome: Option<Outcome>,
    /// The issuer's reason.
    pub answer: Option<String>,
    /// When it was answered.
    pub answered_at: Option<UnixTime>,
    /// The signed resolution.
    pub resolution: Option<String>,
    /// The new offer made when it was upheld or reinstated (a secret for
    /// the holder).
    pub offer: Option<String>,
    /// When the issuer, after answering late, re-scored with the entry
    /// counted again (see [`EntryClock::reinstated_at`]).
    pub reinstated_at: Option<UnixTime>,
}

/// A stored dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDispute {
    /// Its id.
    pub id: String,
    /// The holder key thumbprint that filed it.
    pub holder: String,
    /// The issuer-internal person.
    pub subject: String,
    /// Policy id and version of the disputed breakdown.
    pub policy: (String, String),
    /// When it was received.
    pub received_at: UnixTime,
    /// The deadline.
    pub answer_by: UnixTime,
    /// The signed receipt.
    pub receipt: String,
    /// Whether evidence was attached.
    pub has_evidence: bool,
    /// Its entries, by reference.
    pub entries: Vec<StoredEntry>,
}

impl StoredDispute {
    /// Whether some entry is unanswered.
    pub fn is_open(&self) -> bool {
        self.entries.iter().any(|e| e.outcome.is_none())
    }

    /// Whether some entry is unanswered past the deadline at `now`.
    pub fn is_overdue(&self, now: UnixTime) -> bool {
        self.is_open() && now > self.answer_by
    }

    /// The clocks of its entries for the scoring rule.
    pub fn clocks(&self) -> Vec<EntryClock> {
        self.entries
            .iter()
            .map(|e| EntryClock {
                reference: e.reference.clone(),
                received_at: self.received_at,
                answer_by: self.answer_by,
                answered_at: e.answered_at,
                reinstated_at: e.reinstated_at,
            })
            .collect()
    }
}

/// An answer to one entry.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    /// The dispute.
    pub dispute_id: &'a str,
    /// The entry's reference.
    pub reference: &'a str,
    /// Upheld or rejected.
    pub outcome: Outcome,
    /// The issuer's reason.
    pub reason: &'a str,
    /// The signed resolution for the holder.
    pub resolution: &'a str,
    /// The new offer, when upheld.
    pub offer: Option<&'a str>,
    /// When.
    pub at: UnixTime,
}

/// One row of the dispute history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeEvent {
    /// When.
    pub at: UnixTime,
    /// The dispute.
    pub dispute_id: String,
    /// `received`, `upheld`, `rejected`, `rejected_late`, `upheld_late`.
    pub action: String,
    /// The entry, for answers.
    pub reference: Option<String>,
    /// Free text (the issuer's reason; never the holder's evidence).
    pub detail: String,
}

/// The issuer's dispute state; see the [module documentation](self).
pub trait DisputeStore {
    /// Records a dispute in one transaction: refuses a replayed `jti`
    /// ([`DisputeStoreError::Replayed`]) and a person over the limit
    /// ([`DisputeStoreError::RateLimited`]) without changing anything.
    fn file(&mut self, d: &NewDispute<'_>, now: UnixTime) -> Result<(), DisputeStoreError>;
    /// Records the answer to one entry, in one transaction.
    fn answer(&mut self, a: &Answer<'_>) -> Result<(), DisputeStoreError>;
    /// Records that the issuer re-scored with an entry it answered late
    /// counted again, and the new offer of that re-issue, in one
    /// transaction (history action `reinstated`). Only an entry answered
    /// after its deadline can be reinstated ([`DisputeStoreError::NotLate`]).
    fn reinstate(
        &mut self,
        dispute_id: &str,
        reference: &str,
        offer: &str,
        at: UnixTime,
    ) -> Result<(), DisputeStoreError>;
    /// One dispute.
    fn get(&self, id: &str) -> Result<Option<StoredDispute>, DisputeStoreError>;
    /// Every dispute of a person, oldest first.
    fn of_subject(&self, subject: &str) -> Result<Vec<StoredDispute>, DisputeStoreError>;
    /// Every dispute, oldest first.
    fn all(&self) -> Result<Vec<StoredDispute>, DisputeStoreError>;
    /// Keeps the last scoring of a person (the breakdown a holder may
    /// dispute), replacing the one before.
    fn keep_report(&mut self, subject: &str, report: &ScoreReport, now: UnixTime) -> Result<(), DisputeStoreError>;
    /// The last scoring of a person.
    fn report_of(&self, subject: &str) -> Result<Option<ScoreReport>, DisputeStoreError>;
    /// The history, oldest first.
    fn history(&self) -> Result<Vec<DisputeEvent>, DisputeStoreError>;
    /// The clocks of every disputed entry of a person, for
    /// [`crate::policy::score_with_disputes`].
    fn clocks_of(&self, subject: &str) -> Result<Vec<EntryClock>, DisputeStoreError> {
        Ok(self.of_subject(subject)?.iter().flat_map(StoredDispute::clocks).collect())
    }
}

/// [`DisputeStore`] in one SQLite file.
#[derive(Debug)]
pub struct SqliteDisputes {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS disputes (
    id TEXT PRIMARY KEY, holder TEXT NOT NULL, subject TEXT NOT NULL,
    policy_id TEXT NOT NULL, policy_version TEXT NOT NULL,
    received_at INTEGER NOT NULL, answer_by INTEGER NOT NULL,
    receipt TEXT NOT NULL, evidence BLOB);
CREATE INDEX IF NOT EXISTS disputes_subject ON disputes(subject, received_at);
CREATE TABLE IF NOT EXISTS entries (
    dispute_id TEXT NOT NULL REFERENCES disputes(id), reference TEXT NOT NULL, reason TEXT NOT NULL,
    outcome TEXT, answer TEXT, answered_at INTEGER, resolution TEXT, offer TEXT, reinstated_at INTEGER,
    PRIMARY KEY (dispute_id, reference));
CREATE TABLE IF NOT EXISTS jtis (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reports (subject TEXT PRIMARY KEY, report TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, dispute_id TEXT NOT NULL,
    action TEXT NOT NULL, reference TEXT, detail TEXT NOT NULL);
";

fn secs(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

fn time(v: i64) -> UnixTime {
    UnixTime(u64::try_from(v).unwrap_or(0))
}

impl SqliteDisputes {
    /// Opens (creating if needed, owner-only) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, DisputeStoreError> {
        if !path.exists() {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            opts.open(path).map_err(|e| DisputeStoreError::Database(format!("{}: {e}", path.display())))?;
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    fn load(&self, id: &str) -> Result<Option<StoredDispute>, DisputeStoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT holder, subject, policy_id, policy_version, received_at, answer_by, receipt, \
                 evidence IS NOT NULL FROM disputes WHERE id = ?1",
                params![id],
                |r| {
                    Ok(StoredDispute {
                        id: id.to_owned(),
                        holder: r.get(0)?,
                        subject: r.get(1)?,
                        policy: (r.get(2)?, r.get(3)?),
                        received_at: time(r.get(4)?),
                        answer_by: time(r.get(5)?),
                        receipt: r.get(6)?,
                        has_evidence: r.get(7)?,
                        entries: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut d) = row else { return Ok(None) };
        let mut stmt = self.conn.prepare(
            "SELECT reference, reason, outcome, answer, answered_at, resolution, offer, reinstated_at FROM entries \
             WHERE dispute_id = ?1 ORDER BY reference",
        )?;
        let rows = stmt.query_map(params![id], |r| {
            let outcome: Option<String> = r.get(2)?;
            Ok(StoredEntry {
                reference: r.get(0)?,
                reason: r.get(1)?,
                outcome: outcome.map(|o| if o == "upheld" { Outcome::Upheld } else { Outcome::Rejected }),
                answer: r.get(3)?,
                answered_at: r.get::<_, Option<i64>>(4)?.map(time),
                resolution: r.get(5)?,
                offer: r.get(6)?,
                reinstated_at: r.get::<_, Option<i64>>(7)?.map(time),
            })
        })?;
        for e in rows {
            d.entries.push(e?);
        }
        Ok(Some(d))
    }

    fn ids(&self, subject: Option<&str>) -> Result<Vec<String>, DisputeStoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM disputes WHERE ?1 IS NULL OR subject = ?1 ORDER BY received_at, rowid")?;
        let ids = stmt.query_map(params![subject], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }
}

impl DisputeStore for SqliteDisputes {
    fn file(&mut self, d: &NewDispute<'_>, now: UnixTime) -> Result<(), DisputeStoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM jtis WHERE expires_at < ?1", params![secs(now)])?;
        let seen: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM jtis WHERE jti = ?1)", params![d.jti], |r| r.get(0))?;
        if seen {
            return Err(DisputeStoreError::Replayed);
        }
        let since = secs(UnixTime(now.as_secs().saturating_sub(RATE_WINDOW_SECS)));
        let recent: u32 = tx.query_row(
            "SELECT COUNT(*) FROM disputes WHERE subject = ?1 AND received_at > ?2",
            params![d.subject, since],
            |r| r.get(0),
        )?;
        if recent >= MAX_DISPUTES_PER_WINDOW {
            return Err(DisputeStoreError::RateLimited);
        }
        tx.execute("INSERT INTO jtis (jti, expires_at) VALUES (?1, ?2)", params![d.jti, secs(d.jti_expires_at)])?;
        tx.execute(
            "INSERT INTO disputes (id, holder, subject, policy_id, policy_version, received_at, answer_by, receipt, evidence) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                d.id,
                d.holder,
                d.subject,
                d.policy.0,
                d.policy.1,
                secs(d.received_at),
                secs(d.answer_by),
                d.receipt,
                d.evidence
            ],
        )?;
        for (reference, reason) in d.entries {
            tx.execute(
                "INSERT INTO entries (dispute_id, reference, reason) VALUES (?1, ?2, ?3)",
                params![d.id, reference, reason],
            )?;
        }
        let refs: Vec<&str> = d.entries.iter().map(|(r, _)| r.as_str()).collect();
        tx.execute(
            "INSERT INTO events (at, dispute_id, action, reference, detail) VALUES (?1, ?2, 'received', NULL, ?3)",
            params![
                secs(d.received_at),
                d.id,
                format!("entries {}; answer by {}", refs.join(", "), d.answer_by.as_secs())
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn answer(&mut self, a: &Answer<'_>) -> Result<(), DisputeStoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<(Option<String>, i64)> = tx
            .query_row(
                "SELECT e.outcome, d.answer_by FROM entries e JOIN disputes d ON d.id = e.dispute_id \
                 WHERE e.dispute_id = ?1 AND e.reference = ?2",
                params![a.dispute_id, a.reference],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((outcome, answer_by)) = state else { return Err(DisputeStoreError::NotFound) };
        if outcome.is_some() {
            return Err(DisputeStoreError::AlreadyAnswered);
        }
        tx.execute(
            "UPDATE entries SET outcome = ?3, answer = ?4, answered_at = ?5, resolution = ?6, offer = ?7 \
             WHERE dispute_id = ?1 AND reference = ?2",
            params![a.dispute_id, a.reference, a.outcome.to_string(), a.reason, secs(a.at), a.resolution, a.offer],
        )?;
        let late = secs(a.at) > answer_by;
        let action = format!("{}{}", a.outcome, if late { "_late" } else { "" });
        tx.execute(
            "INSERT INTO events (at, dispute_id, action, reference, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![secs(a.at), a.dispute_id, action, a.reference, a.reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn reinstate(
        &mut self,
        dispute_id: &str,
        reference: &str,
        offer: &str,
        at: UnixTime,
    ) -> Result<(), DisputeStoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<(Option<i64>, Option<i64>, i64)> = tx
            .query_row(
                "SELECT e.answered_at, e.reinstated_at, d.answer_by FROM entries e JOIN disputes d \
                 ON d.id = e.dispute_id WHERE e.dispute_id = ?1 AND e.reference = ?2",
                params![dispute_id, reference],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match state {
            None => return Err(DisputeStoreError::NotFound),
            Some((Some(answered), None, answer_by)) if answered > answer_by => {}
            Some(_) => return Err(DisputeStoreError::NotLate),
        }
        tx.execute(
            "UPDATE entries SET reinstated_at = ?3, offer = ?4 WHERE dispute_id = ?1 AND reference = ?2",
            params![dispute_id, reference, secs(at), offer],
        )?;
        tx.execute(
            "INSERT INTO events (at, dispute_id, action, reference, detail) \
             VALUES (?1, ?2, 'reinstated', ?3, 'answered late; re-scored with the entry and re-issued')",
            params![secs(at), dispute_id, reference],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<StoredDispute>, DisputeStoreError> {
        self.load(id)
    }

    fn of_subject(&self, subject: &str) -> Result<Vec<StoredDispute>, DisputeStoreError> {
        self.ids(Some(subject))?.iter().filter_map(|id| self.load(id).transpose()).collect()
    }

    fn all(&self) -> Result<Vec<StoredDispute>, DisputeStoreError> {
        self.ids(None)?.iter().filter_map(|id| self.load(id).transpose()).collect()
    }

    fn keep_report(&mut self, subject: &str, report: &ScoreReport, now: UnixTime) -> Result<(), DisputeStoreError> {
        let json = serde_json::to_string(report).map_err(|e| DisputeStoreError::Database(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO reports (subject, report, at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(subject) DO UPDATE SET report = excluded.report, at = excluded.at",
            params![subject, json, secs(now)],
        )?;
        Ok(())
    }

    fn report_of(&self, subject: &str) -> Result<Option<ScoreReport>, DisputeStoreError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT report FROM reports WHERE subject = ?1", params![subject], |r| r.get(0))
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| DisputeStoreError::Database(e.to_string()))).transpose()
    }

    fn history(&self) -> Result<Vec<DisputeEvent>, DisputeStoreError> {
        let mut stmt =
            self.conn.prepare("SELECT at, dispute_id, action, reference, detail FROM events ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(DisputeEvent {
                at: time(r.get(0)?),
                dispute_id: r.get(1)?,
                action: r.get(2)?,
                reference: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::policy::shipped;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("creditproof-disputes-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("disputes.sqlite")
    }

    fn new<'a>(id: &'a str, jti: &'a str, entries: &'a [(String, String)], now: UnixTime) -> NewDispute<'a> {
        NewDispute {
            id,
            holder: "thumb",
            subject: "person-1",
            policy: ("sesame-style", "1"),
            entries,
            received_at: now,
            answer_by: UnixTime(now.as_secs() + 30 * DAY),
            receipt: "receipt",
            evidence: Some(b"letter"),
            jti,
            jti_expires_at: UnixTime(now.as_secs() + 600),
        }
    }

    #[test]
    fn file_answer_replay_limit_and_reopen() {
        let path = tmp("basic");
        let now = UnixTime(1_767_225_600);
        let entries = vec![("loan-17".to_owned(), "not mine".to_owned()), ("card-1".to_owned(), "paid".to_owned())];
        let mut store = SqliteDisputes::open(&path).unwrap();
        store.file(&new("d1", "jti-1", &entries, now), now).unwrap();
        // A replayed jti changes nothing.
        assert_eq!(store.file(&new("d2", "jti-1", &entries, now), now), Err(DisputeStoreError::Replayed));
        assert!(store.get("d2").unwrap().is_none());
        // A duplicate id fails inside the transaction, and its jti is not used up.
        assert!(store.file(&new("d1", "jti-2", &entries, now), now).is_err());
        store.file(&new("d2", "jti-2", &entries, now), now).unwrap();
        let d = store.get("d1").unwrap().unwrap();
        assert!(d.is_open() && d.has_evidence && !d.is_overdue(now));
        assert!(d.is_overdue(UnixTime(now.as_secs() + 30 * DAY + 1)));
        let answer = |reference, at| Answer {
            dispute_id: "d1",
            reference,
            outcome: Outcome::Rejected,
            reason: "confirmed",
            resolution: "signed",
            offer: None,
            at,
        };
        store.answer(&answer("loan-17", UnixTime(now.as_secs() + DAY))).unwrap();
        assert_eq!(store.answer(&answer("loan-17", now)), Err(DisputeStoreError::AlreadyAnswered));
        assert_eq!(store.answer(&answer("loan-99", now)), Err(DisputeStoreError::NotFound));
        // In time: nothing to reinstate. Late: reinstated once.
        assert_eq!(store.reinstate("d1", "loan-17", "offer", now), Err(DisputeStoreError::NotLate));
        store.answer(&answer("card-1", UnixTime(now.as_secs() + 40 * DAY))).unwrap();
        let p = shipped("sesame-style").unwrap().unwrap();
        let late = UnixTime(now.as_secs() + 41 * DAY);
        let clocks = store.clocks_of("person-1").unwrap();
        let card = clocks.iter().find(|c| c.reference == "card-1").unwrap();
        assert!(!card.counts(late), "answered late: out");
        store.reinstate("d1", "card-1", "offer", late).unwrap();
        assert_eq!(store.reinstate("d1", "card-1", "offer", late), Err(DisputeStoreError::NotLate));
        let clocks = store.clocks_of("person-1").unwrap();
        assert!(clocks.iter().find(|c| c.reference == "card-1").unwrap().counts(late));
        // Reports are kept per person, replaced by the next.
        let report =
            crate::profile::policy::score(&p, &[], crate::profile::policy::Date::parse("2025-12-31").unwrap()).unwrap();
        store.keep_report("person-1", &report, now).unwrap();
        assert_eq!(store.report_of("person-1").unwrap(), Some(report));
        assert_eq!(store.report_of("person-2").unwrap(), None);
        // The per-person limit: 2 filed, 8 more fit, the 11th is refused.
        for i in 3..=MAX_DISPUTES_PER_WINDOW {
            let (id, jti) = (format!("d{i}"), format!("jti-{i}"));
            store.file(&new(&id, &jti, &entries, now), now).unwrap();
        }
        assert_eq!(store.file(&new("dx", "jti-x", &entries, now), now), Err(DisputeStoreError::RateLimited));
        // A day later the window has moved on.
        let next_day = UnixTime(now.as_secs() + DAY + 1);
        store.file(&new("dy", "jti-y", &entries, next_day), next_day).unwrap();
        // Everything survives a reopen; the history has every step.
        drop(store);
        let store = SqliteDisputes::open(&path).unwrap();
        assert_eq!(store.all().unwrap().len(), MAX_DISPUTES_PER_WINDOW as usize + 1);
        let actions: Vec<String> = store.history().unwrap().into_iter().map(|e| e.action).collect();
        assert!(actions.starts_with(&["received".to_owned(), "received".to_owned()]), "{actions:?}");
        for a in ["rejected", "rejected_late", "reinstated"] {
            assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
