//! Reading untrusted files with bounds, and writing files safely.

use std::fs;
use std::io::Write as _;
use std::path::Path;

/// A one-line error for the user; the process exits with status 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<(&Path, E)> for CliError {
    fn from((path, e): (&Path, E)) -> Self {
        CliError(format!("{}: {e}", path.display()))
    }
}

/// Default bound on any input file.
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// Reads a regular file of at most `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, CliError> {
    let meta = fs::metadata(path).map_err(|e| CliError::from((path, io_reason(&e))))?;
    if meta.is_dir() {
        return Err((path, "is a directory, expected a file").into());
    }
    if meta.len() > max {
        return Err((path, format!("is {} bytes, larger than the {max}-byte limit", meta.len())).into());
    }
    let mut buf = Vec::new();
    use std::io::Read as _;
    fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut buf))
        .map_err(|e| CliError::from((path, io_reason(&e))))?;
    if buf.len() as u64 > max {
        return Err((path, "grew beyond the size limit while being read").into());
    }
    if buf.is_empty() {
        return Err((path, "is empty").into());
    }
    Ok(buf)
}

/// Reads a text file and trims one trailing newline.
pub fn read_text(path: &Path, max: u64) -> Result<String, CliError> {
    let bytes = read_bounded(path, max)?;
    let s = String::from_utf8(bytes).map_err(|_| CliError::from((path, "is not utf-8 text")))?;
    Ok(s.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&s).to_owned())
}

/// A short reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Who may read a file we write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Owner read/write only (0600): keys, wallets, batches.
    Secret,
    /// World-readable (0644): metadata, requests, presentations.
    Public,
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
/// Refuses to replace an existing file unless `replace` is set.
pub fn write_file(path: &Path, bytes: &[u8], access: Access, replace: bool) -> Result<(), CliError> {
    if !replace && path.exists() {
        return Err((path, "already exists (use --force to overwrite)").into());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| CliError::from((path, "is not a file path")))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(if access == Access::Secret { 0o600 } else { 0o644 });
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| CliError::from((path, io_reason(&e))))
}

/// Creates an owner-only directory (0700) that must not exist yet, or may
/// exist empty.
pub fn create_private_dir(path: &Path) -> Result<(), CliError> {
    if path.exists() && !path.is_dir() {
        return Err((path, "exists and is not a directory").into());
    }
    fs::create_dir_all(path).map_err(|e| CliError::from((path, io_reason(&e))))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .map_err(|e| CliError::from((path, io_reason(&e))))?;
    }
    Ok(())
}

/// Refuses secret files that others can read or write, unless overridden.
pub fn check_private(path: &Path, allow_insecure: bool) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = fs::metadata(path).map_err(|e| CliError::from((path, io_reason(&e))))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 && !allow_insecure {
            return Err((
                path,
                format!("has permissions {mode:o}; a secret file must be owner-only (chmod 600, or pass --allow-insecure-permissions)"),
            )
                .into());
        }
    }
    let _ = (path, allow_insecure);
    Ok(())
}
