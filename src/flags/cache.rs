//! The table read from a binary, kept per binary (path + size + mtime) under the user's cache
//! directory (`$XDG_CACHE_HOME/profilec`, else `~/.cache/profilec`), so `check` runs the binary
//! once per build, not once per commit. The entry is the binary's own `--help` text, not the
//! parsed table, so a newer profilec parses it anew. A file is written atomically
//! (src/fsutil.rs) and holds its key, so a stale or foreign file is a miss, never a wrong table.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::probe::Build;

/// Bumped when the entry's layout changes, so old entries are misses.
const FORMAT: &str = "profilec-flags-cache 2";

/// What identifies one binary: a rebuilt or replaced file has another size or mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
}

impl Key {
    pub fn of(path: &Path) -> Option<Key> {
        let path = std::fs::canonicalize(path).ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        let mtime_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(Key {
            path,
            size: meta.len(),
            mtime_ns,
        })
    }

    fn line(&self) -> String {
        format!(
            "# key\t{}\t{}\t{}",
            self.path.display(),
            self.size,
            self.mtime_ns
        )
    }

    /// One entry per binary path: a rebuilt binary replaces its entry instead of adding one
    /// per build (the key line inside tells them apart).
    fn file_name(&self) -> String {
        let path = self.path.as_os_str().as_encoded_bytes();
        format!("flags-{:016x}.tsv", fnv1a(path))
    }
}

/// What the cache holds for one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Its build and `--help` text.
    Read { build: Build, help: String },
    /// Why its last run failed.
    Failed(String),
}

/// The entry for the binary `key` names, if there is one for this very binary.
pub fn load(dir: &Path, key: &Key) -> Option<Entry> {
    let text = std::fs::read_to_string(dir.join(key.file_name())).ok()?;
    let mut lines = text.splitn(5, '\n');
    if lines.next()? != FORMAT || lines.next()? != key.line() {
        return None;
    }
    let third = lines.next()?;
    if let Some(why) = third.strip_prefix("# failed\t") {
        return Some(Entry::Failed(why.to_string()));
    }
    let version = third.strip_prefix("# version\t")?.to_string();
    let number = lines.next()?.strip_prefix("# build\t")?.parse().ok();
    let help = lines.next()?.to_string();
    let build = Build {
        path: key.path.clone(),
        version,
        number,
    };
    Some(Entry::Read { build, help })
}

/// Records that the binary `key` names failed with `why` (replacing its entry).
pub fn store_failure(dir: &Path, key: &Key, why: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let text = format!(
        "{FORMAT}\n{}\n# failed\t{}\n",
        key.line(),
        why.replace(['\n', '\t'], " ")
    );
    crate::fsutil::write_atomic(&dir.join(key.file_name()), &text)
}

/// Writes the entry for `key` (creating the directory).
pub fn store(dir: &Path, key: &Key, build: &Build, help: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let number = build.number.map(|n| n.to_string()).unwrap_or_default();
    let text = format!(
        "{FORMAT}\n{}\n# version\t{}\n# build\t{number}\n{help}",
        key.line(),
        build.version.replace(['\n', '\t'], " "),
    );
    crate::fsutil::write_atomic(&dir.join(key.file_name()), &text)
}

/// FNV-1a: a stable name for the entry (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_entry_loads_and_a_changed_binary_misses() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("llama-server");
        std::fs::write(&bin, "one").unwrap();
        let key = Key::of(&bin).unwrap();
        let build = Build {
            path: key.path.clone(),
            version: "0.6.0 (build 12000)".into(),
            number: Some(12000),
        };
        let help = "-c,    --ctx-size N    size\n".to_string();
        let dir = t.path().join("cache");
        store(&dir, &key, &build, &help).unwrap();
        assert_eq!(
            load(&dir, &key),
            Some(Entry::Read {
                build: build.clone(),
                help: help.clone()
            })
        );
        std::fs::write(&bin, "longer").unwrap();
        let rebuilt = Key::of(&bin).unwrap();
        assert_eq!(load(&dir, &rebuilt), None);
        store(&dir, &rebuilt, &build, &help).unwrap();
        let entries = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(
            entries, 1,
            "the rebuilt binary's entry replaces the old one"
        );
    }
}
