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

/// Reads a regular file of at most `max` bytes. Anything else (a FIFO, a
/// socket, a device, a directory) is refused at once: see [`open_regular`].
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, CliError> {
    use std::io::Read as _;
    let file = open_regular(path, fs::OpenOptions::new().read(true))?;
    let len = file.metadata().map_err(|e| CliError::from((path, io_reason(&e))))?.len();
    if len > max {
        return Err((path, format!("is {len} bytes, larger than the {max}-byte limit")).into());
    }
    let mut buf = Vec::new();
    file.take(max + 1).read_to_end(&mut buf).map_err(|e| CliError::from((path, io_reason(&e))))?;
    if buf.len() as u64 > max {
        return Err((path, "grew beyond the size limit while being read").into());
    }
    if buf.is_empty() {
        return Err((path, "is empty").into());
    }
    Ok(buf)
}

/// Opens `path` with `opts`, refusing anything but a regular file before it
/// can block: opening a FIFO waits for its other end forever, and a device
/// or socket is no file of ours. The type is checked before opening, and
/// again on the opened handle, which is opened with `O_NONBLOCK` so that a
/// FIFO put in place in between cannot block either. (Reads and writes of a
/// regular file ignore `O_NONBLOCK`.) A missing file is left to `opts`.
pub fn open_regular(path: &Path, opts: &mut fs::OpenOptions) -> Result<fs::File, CliError> {
    match fs::metadata(path) {
        Ok(meta) => refuse_irregular(path, &meta)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err((path, io_reason(&e)).into()),
    }
    open_checked(path, opts)
}

/// Opens without blocking and refuses a handle that is no regular file.
fn open_checked(path: &Path, opts: &mut fs::OpenOptions) -> Result<fs::File, CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.custom_flags(O_NONBLOCK);
    }
    let file = opts.open(path).map_err(|e| CliError::from((path, io_reason(&e))))?;
    refuse_irregular(path, &file.metadata().map_err(|e| CliError::from((path, io_reason(&e))))?)?;
    Ok(file)
}

/// Refuses, without opening it, a `path` that exists and is not a regular
/// file (for files opened by others, e.g. SQLite).
pub fn check_regular(path: &Path) -> Result<(), CliError> {
    fs::metadata(path).map_or(Ok(()), |meta| refuse_irregular(path, &meta))
}

fn refuse_irregular(path: &Path, meta: &fs::Metadata) -> Result<(), CliError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let mut kind = if t.is_dir() { "a directory" } else { "of an unknown kind" };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        for (is, name) in [
            (t.is_fifo(), "a FIFO"),
            (t.is_socket(), "a socket"),
            (t.is_char_device(), "a character device"),
            (t.is_block_device(), "a block device"),
        ] {
            if is {
                kind = name;
            }
        }
    }
    Err((path, format!("is not a regular file ({kind})")).into())
}

/// `O_NONBLOCK` from each platform's `<fcntl.h>` (the values the `libc`
/// crate has), so that the crate, `#![forbid(unsafe_code)]` and without a
/// `libc` dependency, can pass it to `OpenOptionsExt::custom_flags`. On a
/// Unix not listed it is 0: the check before opening still refuses every
/// non-regular file; only a FIFO swapped in between the check and the open
/// could then block.
#[cfg(all(unix, any(target_os = "linux", target_os = "android")))]
const O_NONBLOCK: i32 =
    if cfg!(any(target_arch = "mips", target_arch = "mips32r6", target_arch = "mips64", target_arch = "mips64r6")) {
        0o200
    } else if cfg!(any(target_arch = "sparc", target_arch = "sparc64")) {
        0x4000
    } else {
        0o4000
    };
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
const O_NONBLOCK: i32 = 0x4;
#[cfg(any(target_os = "solaris", target_os = "illumos"))]
const O_NONBLOCK: i32 = 0x80;
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly",
        target_os = "solaris",
        target_os = "illumos"
    ))
))]
const O_NONBLOCK: i32 = 0;

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

/// Refuses secret files that others can read or write, unless overridden,
/// and anything but a regular file.
pub fn check_private(path: &Path, allow_insecure: bool) -> Result<(), CliError> {
    let meta = fs::metadata(path).map_err(|e| CliError::from((path, io_reason(&e))))?;
    refuse_irregular(path, &meta)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 && !allow_insecure {
            return Err((
                path,
                format!("has permissions {mode:o}; a secret file must be owner-only (chmod 600, or pass --allow-insecure-permissions)"),
            )
                .into());
        }
    }
    let _ = (meta, allow_insecure);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// `O_NONBLOCK` is right for this platform: a FIFO that slips past the
    /// check before opening (swapped in after it) is opened without waiting
    /// for a writer, or reader, and refused.
    #[test]
    fn a_fifo_past_the_first_check_does_not_block() {
        let dir = std::env::temp_dir().join(format!("creditproof-files-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let read = open_checked(&path, fs::OpenOptions::new().read(true)).map(drop);
            let write = open_checked(&path, fs::OpenOptions::new().write(true).create(true)).map(drop);
            let _ = tx.send((read, write));
        });
        let (read, write) = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("open blocked on a FIFO");
        assert!(read.is_err_and(|e| e.0.ends_with("is not a regular file (a FIFO)")));
        assert!(write.is_err(), "no reader: refused, not waited for");
        let _ = fs::remove_dir_all(&dir);
    }
}
