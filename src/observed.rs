//! After a run, what llama.cpp really allocated, appended to `.profilec/observed.jsonl` beside
//! the models.conf: the start of a calibration loop (plan vs measured, per profile and build).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::startup_log::{DeviceMemory, Outcome, StartupReport};

#[derive(Debug, Clone, Serialize)]
pub struct Observation<'a> {
    pub schema_version: u32,
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub profile: &'a str,
    pub llama_cpp_build: Option<u32>,
    pub argv: &'a [String],
    pub outcome: Outcome,
    pub n_ctx: Option<u32>,
    pub graph_splits: Option<u32>,
    pub measured: &'a [DeviceMemory],
    /// The plan's per-device numbers when one was made (JSON of `profilec plan`).
    pub plan: Option<serde_json::Value>,
}

/// The file beside `conf_path`.
pub fn path_for(conf_path: &Path) -> PathBuf {
    let dir = match conf_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.join(".profilec").join("observed.jsonl")
}

/// Appends one row; one `write` of a whole line so concurrent runs do not interleave rows.
pub fn record(
    conf_path: &Path,
    profile: &str,
    argv: &[String],
    report: &StartupReport,
    plan: Option<serde_json::Value>,
) -> std::io::Result<PathBuf> {
    let row = Observation {
        schema_version: 1,
        time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        profile,
        llama_cpp_build: report.build.as_ref().map(|b| b.number),
        argv,
        outcome: report.outcome,
        n_ctx: report.context.n_ctx,
        graph_splits: report.graph.as_ref().and_then(|g| g.splits),
        measured: &report.per_device,
        plan,
    };
    let path = path_for(conf_path);
    let line = serde_json::to_string(&row).map_err(std::io::Error::other)?;
    crate::fsutil::append_line(&path, &line)?;
    Ok(path)
}
