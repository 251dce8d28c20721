//! `.profilec/runs.jsonl`: one JSON line per `run` — time, model, the static argv, the advice
//! (who answered, what it said), the merged argv, the source and every decision with its
//! reason. Appended with one write, so concurrent runs never interleave rows; the API key is
//! never in it (only the variable's name is configured).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{Decision, RunOutcome, RunRequest, Smart, SmartOutcome};

#[derive(Serialize)]
struct Row<'a> {
    schema_version: u32,
    /// Unix seconds.
    time: u64,
    profile: Option<&'a str>,
    conf: Option<String>,
    model: Option<String>,
    runtime: &'static str,
    smart_run: bool,
    strict: bool,
    dry_run: bool,
    auto_batch: bool,
    measure: bool,
    user_args: &'a [String],
    baseline_argv: &'a [String],
    merged_argv: Vec<String>,
    /// `llm` or `static` (no `--smart-run`: `static`).
    source: &'static str,
    reason: Option<&'a str>,
    advice: Option<&'a SmartOutcome>,
    decisions: &'a [Decision],
    fits: Result<(), &'a str>,
    /// Strict and no usable advice: nothing was launched.
    failed: bool,
}

/// The trace file inside `.profilec/`.
pub fn path(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("runs.jsonl")
}

/// Appends the run's row; the error is returned as text for the caller to warn with.
pub fn append(out: &RunOutcome, req: &RunRequest, failed: bool) -> Result<PathBuf, String> {
    let strict = matches!(req.smart, Smart::On { strict: true });
    let row = Row {
        schema_version: 1,
        time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        profile: out.id.as_deref(),
        conf: out.conf_path.as_ref().map(|p| p.display().to_string()),
        model: out
            .resolved
            .model_path
            .as_ref()
            .map(|p| p.display().to_string()),
        runtime: "llama.cpp",
        smart_run: req.smart != Smart::Off,
        strict,
        dry_run: req.dry_run,
        auto_batch: req.auto_batch,
        measure: req.measure,
        user_args: &req.user_args,
        baseline_argv: &out.baseline_argv,
        merged_argv: out.argv(),
        source: out.smart.as_ref().map_or("static", |s| s.source.as_str()),
        reason: out.smart.as_ref().map(|s| s.reason.as_str()),
        advice: out.smart.as_ref(),
        decisions: &out.decisions,
        fits: out.fits.as_ref().map(|_| ()).map_err(String::as_str),
        failed,
    };
    let file = path(&out.state_dir);
    let line = serde_json::to_string(&row).map_err(|e| e.to_string())?;
    crate::fsutil::append_line(&file, &line)
        .map(|()| file.clone())
        .map_err(|e| format!("cannot append to {}: {e}", file.display()))
}
