//! `profilec flags` as a library function: one llama-server's build and flag table (its
//! `--help` with the shipped value kinds merged in), whether the cache answered, and what
//! changed against the shipped b11434 table. The CLI (src/cli/flags.rs) only prints it.

use std::path::Path;
use std::time::Duration;

use super::active::{read_build, shipped_rows};
use super::diff::{TableDiff, diff};
use super::help::merge;
use super::probe::{Build, ProbeError};
use super::rows::{Row, to_tsv};

/// What `profilec flags` reports about one binary.
#[derive(Debug, Clone)]
pub struct BuildTable {
    pub build: Build,
    /// In the shipped table's order, new options last (what `--write` writes).
    pub rows: Vec<Row>,
    /// Read from the cache entry rather than by running the binary.
    pub cached: bool,
    /// Against the shipped b11434 table.
    pub diff: TableDiff,
}

impl BuildTable {
    /// Every spelling of every option.
    pub fn spellings(&self) -> usize {
        self.rows.iter().map(|r| r.flags.len()).sum()
    }

    /// The table in the format of data/llama-server-flags.tsv, written atomically.
    pub fn write(&self, file: &Path) -> std::io::Result<()> {
        crate::fsutil::write_atomic(file, &to_tsv(&self.rows))
    }
}

/// Reads the llama-server at `path` (or its cache entry; a remembered failure is tried again).
pub fn build_table(path: &Path, timeout: Duration) -> Result<BuildTable, ProbeError> {
    let (build, rows, cached) = read_build(path, timeout, true)?;
    let shipped = shipped_rows();
    let rows = merge(rows, &shipped);
    let diff = diff(&shipped, &rows);
    Ok(BuildTable {
        build,
        rows,
        cached,
        diff,
    })
}
