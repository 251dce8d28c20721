//! Writing user files safely: a models.conf or profilec.toml is either the old file or the new
//! one, never half of each.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `text` to `path` through a temp file in the same directory (same filesystem, so the
/// rename is atomic), keeping the original permissions, fsync'ed before the rename. A symlink is
/// followed so the link survives.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.profilec-tmp-{}", std::process::id()));
    let perms = fs::metadata(&path).ok().map(|m| m.permissions());
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        if let Some(p) = perms {
            fs::set_permissions(&tmp, p)?;
        }
        fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
