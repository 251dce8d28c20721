//! Free disk space where a download goes: measured with statvfs(3), or given by the caller
//! (a typed input, so tests and dry runs decide it without touching the download path).

use std::path::Path;

/// How `pull` learns the free space of the target filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreeSpace {
    /// statvfs(3) of the nearest existing folder of the target.
    #[default]
    Measure,
    /// Take this many bytes as free.
    Assume(u64),
}

impl FreeSpace {
    pub fn bytes_at(self, path: &Path) -> std::io::Result<u64> {
        match self {
            FreeSpace::Assume(n) => Ok(n),
            FreeSpace::Measure => free_bytes(path),
        }
    }
}

/// Bytes an unprivileged user may still write on the filesystem holding `path` (or its nearest
/// existing ancestor: the models folder may not exist yet).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let mut dir = path;
    while !dir.exists() {
        dir = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if dir == Path::new(".") {
            break;
        }
    }
    let st = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    // u64 on Linux (fsblkcnt_t, c_ulong); `as` keeps other targets compiling.
    #[allow(clippy::unnecessary_cast)]
    Ok((st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64))
}
