//! What llama.cpp reported at startup: reads a llama-server / llama-completion log into a
//! [`StartupReport`] (outcome, devices, buffers per device and kind, KV cache, graph, fit).
//!
//! The log is the ground truth a plan is checked against, so numbers are kept exactly as
//! printed. A log is not a grammar: lines that match no rule are skipped, and only a file with
//! no llama.cpp line at all is an error. Which lines are read: docs/startup-log.md.

mod failure;
mod fit;
mod line;
mod memory;
mod parser;
mod render;
mod report;
mod session;

use std::path::{Path, PathBuf};

pub use render::render_human;
pub use report::{
    Allocation, BreakdownRow, Buffer, BuildInfo, Context, Device, DeviceMemory, Failure,
    FailureKind, Fit, FitStatus, Graph, KvCache, KvKind, LogLine, Offload, Oom, Outcome, Program,
    RecurrentState, SCHEMA_VERSION, StartupReport, buffer_device,
};

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the log is empty")]
    Empty,
    #[error(
        "this is not a llama.cpp log: none of its {lines} lines looks like llama.cpp output \
         (expected lines such as `load_tensors: …`, `llama_context: …`, `srv  load_model: …`)"
    )]
    NotALlamaLog { lines: usize },
}

impl crate::error::Failure for LogError {
    fn code(&self) -> &'static str {
        match self {
            LogError::Io { .. } => "io::read",
            LogError::Empty => "log::empty",
            LogError::NotALlamaLog { .. } => "log::not-a-log",
        }
    }

    /// 2 when the file cannot be read, 1 when it is read but is not a llama.cpp log (as a file
    /// that is not a GGUF is for `inspect`).
    fn exit_code(&self) -> i32 {
        match self {
            LogError::Io { .. } => crate::error::exit::USAGE,
            LogError::Empty | LogError::NotALlamaLog { .. } => crate::error::exit::FAILED,
        }
    }

    /// What to do about it, for the CLI's `help:` line.
    fn help(&self) -> String {
        match self {
            LogError::Io { .. } => "check the path and that the file is readable",
            LogError::Empty => {
                "capture the server's stderr (e.g. `llama-server … 2> server.log`) and pass that file"
            }
            LogError::NotALlamaLog { .. } => {
                "pass the stderr output of llama-server or llama-completion; run it with `-lv 4` \
                 to include the memory lines"
            }
        }
        .into()
    }
}

/// Parses the text of a startup log.
pub fn parse(text: &str) -> Result<StartupReport, LogError> {
    if text.trim().is_empty() {
        return Err(LogError::Empty);
    }
    let report = parser::run(text);
    if report.recognized_lines == 0 {
        return Err(LogError::NotALlamaLog {
            lines: report.lines,
        });
    }
    Ok(report)
}

/// Parses raw log bytes; invalid UTF-8 (a log cut mid-character, binary noise) is replaced,
/// not rejected.
pub fn parse_bytes(bytes: &[u8]) -> Result<StartupReport, LogError> {
    parse(&String::from_utf8_lossy(bytes))
}

/// Reads and parses a log file.
pub fn read_log(path: &Path) -> Result<StartupReport, LogError> {
    let bytes = std::fs::read(path).map_err(|source| LogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_bytes(&bytes)
}
