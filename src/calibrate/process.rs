//! Running one llama.cpp process to the end with a hard deadline.
//!
//! stdout and stderr go to one log file rather than pipes: nothing has to drain them while we
//! poll, and the interleaving is the one a user sees in a terminal.

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{CalibrateError, Program};

const POLL: Duration = Duration::from_millis(50);
/// How long a server may take to print its exit table after SIGINT before it is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// What llama-server prints once the model is loaded and the HTTP socket is bound.
const LISTENING: &[u8] = b"listening on";

pub(crate) struct Finished {
    pub status: Option<ExitStatus>,
    pub pid: u32,
    pub timed_out: bool,
    pub seconds: f64,
    pub log: Vec<u8>,
}

/// A port on 127.0.0.1 that was free a moment ago. Another process may take it before the server
/// binds; the run then fails with a bind error and is recorded like any other failure.
pub(crate) fn free_port() -> Result<u16, CalibrateError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| CalibrateError::Io {
            what: "cannot find a free port on",
            path: PathBuf::from("127.0.0.1"),
            source,
        })
}

pub(crate) fn create_log(path: &Path) -> Result<File, CalibrateError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|source| CalibrateError::Io {
            what: "cannot create the log file",
            path: path.to_path_buf(),
            source,
        })
}

/// Runs `binary args…` until it exits or `timeout` passes. A server is sent SIGINT as soon as it
/// listens, because its memory breakdown table is printed only on the way out.
pub(crate) fn run(
    program: Program,
    binary: &Path,
    args: &[String],
    log_path: &Path,
    timeout: Duration,
) -> Result<Finished, CalibrateError> {
    let log = create_log(log_path)?;
    let log_err = log.try_clone().map_err(|source| CalibrateError::Io {
        what: "cannot share the log file",
        path: log_path.to_path_buf(),
        source,
    })?;
    let start = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .spawn()
        .map_err(|source| CalibrateError::Spawn {
            path: binary.to_path_buf(),
            source,
        })?;
    let pid = child.id();
    let deadline = start + timeout;
    let mut interrupted_at: Option<Instant> = None;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            // The child cannot be queried; make sure it does not outlive us.
            Err(_) => break kill_and_reap(&mut child),
        }
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break kill_and_reap(&mut child);
        }
        if let Some(at) = interrupted_at {
            if now.duration_since(at) > SHUTDOWN_GRACE {
                timed_out = true;
                break kill_and_reap(&mut child);
            }
        } else if program == Program::Server && log_contains(log_path, LISTENING) {
            if !interrupt(&mut child) {
                break kill_and_reap(&mut child);
            }
            interrupted_at = Some(now);
        }
        std::thread::sleep(POLL);
    };
    let seconds = start.elapsed().as_secs_f64();
    let log = std::fs::read(log_path).map_err(|source| CalibrateError::Io {
        what: "cannot read the log file",
        path: log_path.to_path_buf(),
        source,
    })?;
    Ok(Finished {
        status,
        pid,
        timed_out,
        seconds,
        log,
    })
}

fn log_contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .map(|b| b.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

/// SIGINT through kill(1): std has no way to send it, and a crate (libc/nix) plus `unsafe` for
/// one call is not worth it on the machines this runs on.
fn interrupt(child: &mut Child) -> bool {
    Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn kill_and_reap(child: &mut Child) -> Option<ExitStatus> {
    // Fails only when the child has already exited; wait() reaps it either way.
    let _ = child.kill();
    child.wait().ok()
}
