use std::path::PathBuf;

/// One problem of an input file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub message: String,
}

impl LineProblem {
    pub fn new(line: usize, message: String) -> Self {
        LineProblem { line, message }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} has {} problem(s):\n{}", path.display(), problems.len(), list(path, problems))]
    Input {
        path: PathBuf,
        problems: Vec<LineProblem>,
    },
    #[error("--criteria: {0}")]
    Criteria(String),
    #[error("profile `{id}` cannot be benchmarked: {reason}")]
    Refused { id: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--url {0}: {1}")]
    Url(String, String),
    #[error("no such run: {0}")]
    NoRun(String),
    #[error("the plot could not be drawn: {0}")]
    Plot(String),
}

fn list(path: &std::path::Path, problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}:{}: {}", path.display(), p.line, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

impl crate::error::Failure for BenchError {
    fn code(&self) -> &'static str {
        match self {
            BenchError::Read { .. } => "io::read",
            BenchError::Input { .. } => "bench::bad-input",
            BenchError::Criteria(_) => "usage::bad-criteria",
            BenchError::Refused { .. } => "bench::refused",
            BenchError::Write { .. } => "io::write",
            BenchError::Url(..) => "usage::bad-url",
            BenchError::NoRun(_) => "usage::no-bench-run",
            BenchError::Plot(_) => "bench::plot",
        }
    }

    fn help(&self) -> String {
        match self {
            BenchError::Read { .. } => "check the path".into(),
            BenchError::Input { .. } => {
                "fix the lines above; nothing was launched (the formats are in docs/bench.md)"
                    .into()
            }
            BenchError::Criteria(_) => {
                "use KEY=VALUE pairs separated by commas, e.g. --criteria p95_latency_ms_max=2000,correctness_min=0.8 (docs/bench.md lists the keys)".into()
            }
            BenchError::Refused { id, .. } => format!(
                "nothing was launched; `profilec check` and `profilec plan {id}` show the details"
            ),
            BenchError::Write { .. } => "check the permissions of --out".into(),
            BenchError::Url(..) => "give http://HOST:PORT of a running llama-server".into(),
            BenchError::NoRun(_) => {
                "give the run directory, e.g. .profilec/bench/run-1764420000 (it holds summary.json)"
                    .into()
            }
            BenchError::Plot(_) => {
                "summary.json is written and holds every number; please report the plot failure"
                    .into()
            }
        }
    }

    /// 2 for unreadable files and usage, 1 for input that has problems.
    fn exit_code(&self) -> i32 {
        match self {
            BenchError::Read { .. } | BenchError::Write { .. } | BenchError::Url(..) => 2,
            BenchError::Criteria(_) | BenchError::NoRun(_) => 2,
            BenchError::Input { .. } | BenchError::Refused { .. } | BenchError::Plot(_) => 1,
        }
    }
}

/// Reads `path` and parses it with `parse`; problems become [`BenchError::Input`] for that path.
pub fn read_input<T>(
    path: &std::path::Path,
    parse: impl FnOnce(&str) -> Result<T, Vec<LineProblem>>,
) -> Result<T, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BenchError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|problems| BenchError::Input {
        path: path.to_owned(),
        problems,
    })
}
