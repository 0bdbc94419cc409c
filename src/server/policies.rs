//! Published policies: the issuer's append-only book of the policy
//! versions it scores under, and the public endpoints that serve them.
//!
//! ```text
//! GET /policies                    → 200 {"issuer", "policies": [{"id", "version", "sha256", "url"}]}
//! GET /policies/{id}/{version}     → 200 application/jwt: the version signed by the issuer
//!                                    (typ creditproof-policy+jwt; see crate::policy::verify_policy_token)
//! ```
//!
//! The book is a directory (`policies/` in the issuer directory) of one
//! file per version, `ID@VERSION.json`, holding the version's canonical
//! JSON ([`Policy::canonical_json`]). Versions are append-only: publishing
//! a version again with the same document is a no-op, with another
//! document it is refused ([`PolicyBookError::Conflict`]); nothing removes
//! a version. Scoring goes through [`PolicyBook::publish`] first, so a
//! credential never names a policy version that is not in the book, and
//! the book never changes the rules behind a version it already serves.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::http::not_found;
use super::IssuerService;
use crate::format::time::UnixTime;
use crate::profile::policy::Policy;
use crate::Limits;

/// The issuer's published policy versions, in a directory.
#[derive(Debug, Clone)]
pub struct PolicyBook {
    dir: PathBuf,
}

/// What can go wrong with the book.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyBookError {
    /// This id and version are published with another document (its
    /// SHA-256 is given): a changed policy needs a new version.
    Conflict {
        /// `id@version`.
        version: String,
        /// The SHA-256 of the document already published.
        published: String,
    },
    /// The version is not in the book.
    NotPublished(String),
    /// Reading or writing the directory failed.
    Io(String),
}

impl std::fmt::Display for PolicyBookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict { version, published } => write!(
                f,
                "policy {version} is already published with another document (sha256 {published}); \
                 versions are append-only: publish the change as a new version"
            ),
            Self::NotPublished(v) => write!(f, "policy {v} is not published by this issuer"),
            Self::Io(e) => write!(f, "policy book: {e}"),
        }
    }
}

impl std::error::Error for PolicyBookError {}

/// One published version, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    /// The policy id.
    pub id: String,
    /// The version.
    pub version: String,
    /// The SHA-256 of its canonical JSON.
    pub sha256: String,
}

/// The most versions the list reads (a bound on untrusted directory size).
const MAX_VERSIONS: usize = 10_000;

impl PolicyBook {
    /// The book in `dir` (created on the first publication).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &FsPath {
        &self.dir
    }

    fn path(&self, id: &str, version: &str) -> PathBuf {
        // Ids and versions are `[A-Za-z0-9_+.-]` (checked by `Policy::new`),
        // so this is one file name inside the directory ("." and ".." are
        // not possible: the name always has an `@`).
        self.dir.join(format!("{id}@{version}.json"))
    }

    /// Publishes `policy`: adds its version to the book, or checks that
    /// the book holds exactly this document for it. Returns whether it was
    /// added. The file is written to a temporary name, synced and renamed,
    /// so a crash leaves no half-written version.
    pub fn publish(&self, policy: &Policy) -> Result<bool, PolicyBookError> {
        match self.get(policy.id(), policy.version())? {
            Some(p) if p.sha256() == policy.sha256() => return Ok(false),
            Some(p) => {
                return Err(PolicyBookError::Conflict {
                    version: format!("{}@{}", policy.id(), policy.version()),
                    published: p.sha256(),
                })
            }
            None => {}
        }
        let io = |e: std::io::Error| PolicyBookError::Io(e.to_string());
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let path = self.path(policy.id(), policy.version());
        // A name of this writer's own: concurrent publishers (several CLI
        // processes, a service's threads) must not share a temporary file.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.dir.join(format!(".{}@{}.json.{}.{n}.tmp", policy.id(), policy.version(), std::process::id()));
        {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&policy.canonical_json()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        // A hard link fails if another writer published the same version
        // in between; then the version it wrote is checked instead.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.publish(policy).map(|_| false),
            Err(e) => Err(io(e)),
        }
    }

    /// The published document of `id@version`, if any.
    pub fn get(&self, id: &str, version: &str) -> Result<Option<Policy>, PolicyBookError> {
        if !valid_name(id) || !valid_name(version) {
            return Ok(None);
        }
        let limits = Limits::default();
        let path = self.path(id, version);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PolicyBookError::Io(format!("{}: {e}", path.display()))),
        };
        Policy::from_json_slice(&bytes, limits.max_policy_bytes())
            .map(Some)
            .map_err(|e| PolicyBookError::Io(format!("{}: {e}", path.display())))
    }

    /// Checks that `policy` is published with exactly this document.
    pub fn require(&self, policy: &Policy) -> Result<(), PolicyBookError> {
        let name = format!("{}@{}", policy.id(), policy.version());
        match self.get(policy.id(), policy.version())? {
            Some(p) if p.sha256() == policy.sha256() => Ok(()),
            Some(p) => Err(PolicyBookError::Conflict { version: name, published: p.sha256() }),
            None => Err(PolicyBookError::NotPublished(name)),
        }
    }

    /// Every published version, by id, then by version in natural order
    /// (`2` before `10`, `1.2` before `1.10`).
    pub fn list(&self) -> Result<Vec<PublishedVersion>, PolicyBookError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(PolicyBookError::Io(e.to_string())),
        };
        let mut out = Vec::new();
        for entry in entries.take(MAX_VERSIONS) {
            let name = entry.map_err(|e| PolicyBookError::Io(e.to_string()))?.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else { continue };
            let Some((id, version)) = stem.split_once('@') else { continue };
            if let Some(p) = self.get(id, version)? {
                out.push(PublishedVersion { id: id.to_owned(), version: version.to_owned(), sha256: p.sha256() });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| natural(&a.version, &b.version)));
        Ok(out)
    }
}

/// Compares versions with their digit runs as numbers.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for ((da, x), (db, y)) in ra.iter().zip(&rb) {
        let o = if *da && *db {
            let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        } else {
            x.cmp(y)
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ra.len().cmp(&rb.len()).then_with(|| a.cmp(b))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= crate::profile::policy::MAX_NAME_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.'))
}

type Shared = State<Arc<IssuerService>>;

/// The public policy routes under the service's path prefix `p`.
pub(crate) fn routes(p: &str) -> Router<Arc<IssuerService>> {
    Router::new()
        .route(&format!("{p}/policies"), get(list))
        .route(&format!("{p}/policies/{{id}}/{{version}}"), get(version))
}

fn public(body: String, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "policy book");
    let body = json!({"error": "server_error", "error_description": "the policy book could not be read"});
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn list(State(s): Shared) -> Response {
    let Some(book) = s.config.policies.clone() else { return not_found() };
    let base = s.config.public_url.trim_end_matches('/').to_owned();
    let listed = tokio::task::spawn_blocking(move || book.list()).await;
    match listed {
        Ok(Ok(versions)) => {
            let items: Vec<_> = versions
                .iter()
                .map(|v| {
                    json!({"id": v.id, "version": v.version, "sha256": v.sha256,
                           "url": format!("{base}/policies/{}/{}", v.id, v.version)})
                })
                .collect();
            public(json!({"issuer": s.config.public_url, "policies": items}).to_string(), "application/json")
        }
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e),
    }
}

async fn version(State(s): Shared, Path((id, version)): Path<(String, String)>) -> Response {
    let Some(book) = s.config.policies.clone() else { return not_found() };
    let shared = s.clone();
    let found = tokio::task::spawn_blocking(move || {
        let policy = book.get(&id, &version).map_err(|e| e.to_string())?;
        let vci = shared.vci()?;
        Ok::<_, String>(policy.map(|p| vci.issuer().sign_policy(&p, UnixTime::now())))
    })
    .await;
    match found {
        Ok(Ok(Some(token))) => public(token, "application/jwt"),
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::policy::shipped;

    #[test]
    fn versions_sort_naturally() {
        let mut v = vec!["10", "2", "1.10", "1.2", "1", "b", "a"];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(v, ["1", "1.2", "1.10", "2", "10", "a", "b"]);
    }

    #[test]
    fn the_book_is_append_only() {
        let dir = std::env::temp_dir().join(format!("creditproof-book-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let book = PolicyBook::new(&dir);
        let p = shipped("sesame-style").unwrap().unwrap();
        assert_eq!(book.require(&p), Err(PolicyBookError::NotPublished("sesame-style@1".into())));
        assert!(book.publish(&p).unwrap());
        assert!(!book.publish(&p).unwrap(), "the same document again is a no-op");
        let mut spec = p.spec().clone();
        spec.scale.start = 601;
        let changed = Policy::new(spec).unwrap();
        assert!(matches!(book.publish(&changed), Err(PolicyBookError::Conflict { .. })));
        assert!(matches!(book.require(&changed), Err(PolicyBookError::Conflict { .. })));
        assert_eq!(book.get("sesame-style", "1").unwrap().unwrap().sha256(), p.sha256(), "unchanged");
        book.require(&p).unwrap();
        assert_eq!(book.get("../x", "1").unwrap(), None, "no path outside the book");
        assert_eq!(book.list().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Writers publishing the same version at once (several CLI processes
    /// or service threads) all succeed, and exactly one adds it.
    #[test]
    fn concurrent_publications_of_one_version_all_succeed() {
        let dir = std::env::temp_dir().join(format!("creditproof-book-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = shipped("sesame-style").unwrap().unwrap();
        for _ in 0..20 {
            let _ = std::fs::remove_dir_all(&dir);
            let added: Vec<bool> = std::thread::scope(|s| {
                let writers: Vec<_> = (0..8).map(|_| s.spawn(|| PolicyBook::new(&dir).publish(&p))).collect();
                writers.into_iter().map(|w| w.join().unwrap().unwrap()).collect()
            });
            assert_eq!(added.iter().filter(|&&a| a).count(), 1, "{added:?}");
            assert_eq!(PolicyBook::new(&dir).list().unwrap().len(), 1);
            let leftovers = std::fs::read_dir(&dir).unwrap().count();
            assert_eq!(leftovers, 1, "no temporary file is left behind");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
