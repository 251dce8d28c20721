//! Writing user files safely: a models.conf or profilec.toml is either the old file or the new
//! one, never half of each.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// profilec's cache directory: `$XDG_CACHE_HOME/profilec` (when absolute, as the XDG spec asks),
/// else `~/.cache/profilec`.
pub fn cache_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from);
    let base = match xdg.filter(|p| p.is_absolute()) {
        Some(p) => p,
        None => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    Some(base.join("profilec"))
}

/// Writes `text` to `path` through a temp file in the same directory (same filesystem, so the
/// rename is atomic), keeping the original permissions, fsync'ed before the rename. A symlink is
/// followed so the link survives.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let perms = fs::metadata(&path).ok().map(|m| m.permissions());
    let tmp = temp_beside(&path);
    let result = (|| {
        let f = write_temp(&tmp, text)?;
        if let Some(p) = perms {
            f.set_permissions(p)?;
        }
        drop(f);
        fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `tmp` (never an existing file) holding `text`, synced to disk; the file stays open
/// for the caller to adjust.
fn write_temp(tmp: &Path, text: &str) -> std::io::Result<fs::File> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(f)
}

/// Why a guarded write did not happen; the file is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum GuardedWriteError {
    #[error(
        "{0} changed since it was read (another edit ran at the same time); nothing was written"
    )]
    Changed(PathBuf),
    #[error("{0} is read-only; nothing was written")]
    ReadOnly(PathBuf),
    #[error("cannot write {path}: {source}; nothing was written")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl crate::error::Failure for GuardedWriteError {
    fn code(&self) -> &'static str {
        match self {
            GuardedWriteError::Changed(_) => "edit::file-changed",
            GuardedWriteError::ReadOnly(_) => "edit::read-only",
            GuardedWriteError::Io { .. } => "io::write",
        }
    }

    fn help(&self) -> String {
        match self {
            GuardedWriteError::Changed(_) => "file changed, retry: run the command again",
            GuardedWriteError::ReadOnly(_) => "make it writable (chmod u+w) if you mean to edit it",
            GuardedWriteError::Io { .. } => "check permissions of the file and its directory",
        }
        .into()
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }
}

/// Replaces `path` with `text` as one transaction: only when the file still holds exactly
/// `before` (`None`: the file must still be absent), under an advisory lock (`flock`) that
/// other profilec edits wait for, keeping the file's permissions, owner and group. Two edits
/// racing on one file therefore either both land or the later one fails with
/// [`GuardedWriteError::Changed`]; never does one silently undo the other.
pub fn replace_if_unchanged(
    path: &Path,
    before: Option<&str>,
    text: &str,
) -> Result<(), GuardedWriteError> {
    use std::os::unix::fs::MetadataExt;
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let io = |source| GuardedWriteError::Io {
        path: path.to_owned(),
        source,
    };
    let Some(before) = before else {
        return create_new(path, &target, text);
    };
    // The rename of a concurrent edit replaces the inode a waiter locked: after taking the
    // lock, make sure it is still the file at `path`, else lock the new one.
    for _ in 0..64 {
        let mut f = match fs::File::open(&target) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(GuardedWriteError::Changed(path.to_owned()));
            }
            Err(e) => return Err(io(e)),
        };
        let meta = f.metadata().map_err(io)?;
        if meta.permissions().readonly() {
            return Err(GuardedWriteError::ReadOnly(path.to_owned()));
        }
        f.lock().map_err(io)?;
        let now = fs::metadata(&target).map_err(io)?;
        if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
            continue;
        }
        let mut current = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut current).map_err(io)?;
        if current != before.as_bytes() {
            return Err(GuardedWriteError::Changed(path.to_owned()));
        }
        // `f` and its lock are released after the rename.
        return write_keeping(&target, text, &meta).map_err(io);
    }
    Err(GuardedWriteError::Changed(path.to_owned()))
}

/// Writes through a temp file that takes the original's permissions, owner and group, then
/// renames it over `target`.
fn write_keeping(target: &Path, text: &str, meta: &fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let tmp = temp_beside(target);
    let result = (|| {
        let f = write_temp(&tmp, text)?;
        if (meta.uid(), meta.gid()) != (f.metadata()?.uid(), f.metadata()?.gid()) {
            std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()))?;
        }
        f.set_permissions(meta.permissions())?;
        drop(f);
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `target` with `text` only if it does not exist yet: a hard link of the finished
/// temp file fails when another edit created the file first.
fn create_new(path: &Path, target: &Path, text: &str) -> Result<(), GuardedWriteError> {
    let tmp = temp_beside(target);
    let result = write_temp(&tmp, text).and_then(|f| {
        drop(f);
        fs::hard_link(&tmp, target)
    });
    let _ = fs::remove_file(&tmp);
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(GuardedWriteError::Changed(path.to_owned()))
        }
        Err(source) => Err(GuardedWriteError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn temp_beside(target: &Path) -> PathBuf {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    dir.join(format!(".{name}.profilec-tmp-{}", std::process::id()))
}
