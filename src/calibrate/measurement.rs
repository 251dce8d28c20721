//! One run of llama.cpp and what it reported: the row the memory model is compared with.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::bins::{LlamaVersion, llama_version};
use super::{CalibrateError, Program, Settings, process};
use crate::startup_log::{self, Outcome, StartupReport};

/// Bumped when a field of [`Measurement`] changes meaning or disappears.
pub const MEASUREMENT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Hard limit for the whole run; the process is killed when it passes.
    pub timeout: Duration,
    /// Keep each run's log here (file name from the model and a hash of the settings). Without
    /// it the log goes to a temporary file that is removed after parsing.
    pub log_dir: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(300),
            log_dir: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub schema_version: u32,
    /// The model path as passed to llama.cpp.
    pub model: String,
    /// Its file name, the key a comparison joins on.
    pub model_file: String,
    pub model_bytes: u64,
    /// `--version` of the binary that ran.
    pub llama_cpp: Option<LlamaVersion>,
    pub settings: Settings,
    /// The full command, binary first.
    pub argv: Vec<String>,
    /// Exit code; `None` when a signal ended the process.
    pub rc: Option<i32>,
    /// The signal that ended it (9 after a timeout).
    pub signal: Option<i32>,
    pub seconds: f64,
    pub timed_out: bool,
    pub pid: u32,
    /// Exit code 0, the log says the model loaded, and it printed memory lines.
    pub ok: bool,
    /// Why the run is not `ok`: llama.cpp's fatal line when there is one.
    pub error: Option<String>,
    /// The kept log, when [`RunOptions::log_dir`] was given.
    pub log_file: Option<String>,
    /// `None` only when the output was empty or not a llama.cpp log at all.
    pub report: Option<StartupReport>,
}

impl Measurement {
    /// One JSON line, without the newline.
    pub fn to_json_line(&self) -> String {
        // Every field is a plain string, number, bool or list of them; serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json_line(line: &str) -> Result<Measurement, serde_json::Error> {
        serde_json::from_str(line)
    }
}

/// [`measure_with`] with a timeout and no kept log.
pub fn measure(
    bin_dir: &Path,
    model: &Path,
    settings: &Settings,
    timeout: Duration,
) -> Result<Measurement, CalibrateError> {
    let options = RunOptions {
        timeout,
        log_dir: None,
    };
    measure_with(bin_dir, model, settings, &options)
}

/// Runs `settings.program` from `bin_dir` on `model` and parses its log.
///
/// `Err` only when the run could not be attempted (binary or model missing, process not
/// startable, log not writable). Everything llama.cpp does — reject a flag, fail to allocate,
/// hang past the timeout — comes back as a `Measurement` with `ok: false` and `error` set.
pub fn measure_with(
    bin_dir: &Path,
    model: &Path,
    settings: &Settings,
    options: &RunOptions,
) -> Result<Measurement, CalibrateError> {
    let binary = bin_dir.join(settings.program.binary());
    if !binary.is_file() {
        return Err(CalibrateError::BinaryNotFound {
            program: settings.program,
            path: binary,
        });
    }
    let model_bytes = std::fs::metadata(model)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .ok_or_else(|| CalibrateError::ModelNotFound {
            path: model.to_path_buf(),
        })?;
    let port = match settings.program {
        Program::Server => process::free_port()?,
        Program::Completion => 0,
    };
    let args = settings.argv(model, port);
    let model_file = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| model.display().to_string());
    let (log_path, keep) = match &options.log_dir {
        Some(dir) => (dir.join(log_name(&model_file, settings)), true),
        None => (temp_log_path(), false),
    };
    let run = process::run(settings.program, &binary, &args, &log_path, options.timeout);
    if !keep {
        // Best effort: a leftover temp file is harmless.
        let _ = std::fs::remove_file(&log_path);
    }
    let run = run?;
    let report = startup_log::parse_bytes(&run.log).ok();
    let rc = run.status.and_then(|s| s.code());
    let signal = run.status.and_then(exit_signal);
    let error = failure_reason(rc, signal, run.timed_out, options.timeout, report.as_ref());
    let mut argv = vec![binary.display().to_string()];
    argv.extend(args);
    Ok(Measurement {
        schema_version: MEASUREMENT_SCHEMA_VERSION,
        model: model.display().to_string(),
        model_file,
        model_bytes,
        llama_cpp: llama_version(&binary),
        settings: settings.clone(),
        argv,
        rc,
        signal,
        seconds: (run.seconds * 100.0).round() / 100.0,
        timed_out: run.timed_out,
        pid: run.pid,
        ok: error.is_none(),
        error,
        log_file: keep.then(|| log_path.display().to_string()),
        report,
    })
}

fn failure_reason(
    rc: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    timeout: Duration,
    report: Option<&StartupReport>,
) -> Option<String> {
    if timed_out {
        return Some(format!(
            "timed out after {:.1} s and was killed",
            timeout.as_secs_f64()
        ));
    }
    let Some(report) = report else {
        return Some(match rc {
            Some(code) => format!("exited with code {code} without writing a llama.cpp log"),
            None => "ended without writing a llama.cpp log".to_string(),
        });
    };
    // llama.cpp's own words first: they say which setting it rejected.
    if let Some(f) = &report.failure {
        return Some(f.message.clone());
    }
    match (rc, signal) {
        (Some(0), _) => {}
        (Some(code), _) => {
            let last = report.errors.last().map(|e| format!(": {}", e.text));
            return Some(format!(
                "exited with code {code}{}",
                last.unwrap_or_default()
            ));
        }
        (None, Some(sig)) => return Some(format!("killed by signal {sig}")),
        (None, None) => return Some("exit status unknown".to_string()),
    }
    if report.outcome != Outcome::Loaded {
        return Some("the log does not show the model loading".to_string());
    }
    if !report.memory_lines {
        return Some("the log has no memory lines (was -lv 4 dropped?)".to_string());
    }
    None
}

#[cfg(unix)]
fn exit_signal(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_: std::process::ExitStatus) -> Option<i32> {
    None
}

/// Same model and settings → same name, so a rerun replaces its old log.
fn log_name(model_file: &str, settings: &Settings) -> String {
    let stem = model_file.strip_suffix(".gguf").unwrap_or(model_file);
    let mut h = DefaultHasher::new();
    settings.hash(&mut h);
    format!(
        "{stem}__{}_{:016x}.log",
        settings.program.binary(),
        h.finish()
    )
}

fn temp_log_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("profilec-calibrate-{}-{n}.log", std::process::id()))
}
