//! Waiting for `GET /health` to answer 200. llama-server answers 503 while it loads the model
//! and, in older builds, refuses connections until it has; either way the loop also watches the
//! process, so a server that dies while loading is reported at once with its log, not after
//! the timeout.

use std::io::{IsTerminal, Write};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::LaunchOptions;
use super::error::LaunchError;
use super::forward::Forwarder;
use super::http;
use super::spawn::{LoggedChild, describe_status};
use super::spec::LaunchSpec;

/// Log lines quoted in startup errors.
pub const TAIL_LINES: usize = 20;
/// One health request may take this long; a loading server answers 503 in microseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nothing listens yet (connection refused or timed out).
    Connecting,
    /// The server answered 503: it is loading the model.
    Loading,
    /// Some other status than 200 or 503.
    Unexpected(u16),
    /// 200: ready for requests.
    Ready,
}

/// One observation of the health wait, passed to [`LaunchOptions::progress`] after every poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub url: String,
    pub phase: Phase,
    pub elapsed: Duration,
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A progress indicator on stderr: one updating line on a terminal, otherwise a line per phase
/// change (so logs of non-interactive runs stay short).
pub fn stderr_indicator() -> ProgressFn {
    let last = Mutex::new(None::<Phase>);
    let tty = std::io::stderr().is_terminal();
    Arc::new(move |p: &Progress| {
        let what = match p.phase {
            Phase::Connecting => "starting".to_owned(),
            Phase::Loading => "loading the model".to_owned(),
            Phase::Unexpected(s) => format!("unexpected HTTP {s}"),
            Phase::Ready => "ready".to_owned(),
        };
        let mut err = std::io::stderr().lock();
        let changed = last
            .lock()
            .map(|mut l| l.replace(p.phase) != Some(p.phase))
            .unwrap_or(true);
        if tty {
            let end = if p.phase == Phase::Ready { "\n" } else { "" };
            let secs = p.elapsed.as_secs_f32();
            let _ = write!(err, "\r\x1b[2K{}: {what} ({secs:.1}s){end}", p.url);
        } else if changed {
            let _ = writeln!(err, "{}: {what}", p.url);
        }
    })
}

/// How the wait ended when it did not fail.
pub(crate) enum WaitEnd {
    Ready,
    /// The server exited after profilec forwarded it a signal (foreground Ctrl-C while loading).
    Interrupted(ExitStatus),
}

pub(crate) fn wait_healthy(
    child: &mut LoggedChild,
    spec: &LaunchSpec,
    opts: &LaunchOptions,
    mut forwarder: Option<&mut Forwarder>,
) -> Result<WaitEnd, LaunchError> {
    let url = format!("{}/health", spec.base_url());
    let start = Instant::now();
    let deadline = start + opts.health_timeout;
    let io_err = |what: &str| {
        let what = what.to_owned();
        move |source| LaunchError::Io { what, source }
    };
    let mut last = "no answer yet".to_owned();
    loop {
        if let Some(f) = forwarder.as_deref_mut() {
            f.pump(child).map_err(io_err("cannot forward a signal"))?;
        }
        if let Some(status) = child
            .try_wait()
            .map_err(io_err("cannot wait for the server"))?
        {
            if forwarder
                .as_deref()
                .is_some_and(|f| f.forwarded().is_some())
            {
                return Ok(WaitEnd::Interrupted(status));
            }
            return Err(LaunchError::ExitedDuringStartup {
                program: spec.program.clone(),
                status: describe_status(status),
                log_path: child.log_path().to_owned(),
                log_tail: child.log_tail(TAIL_LINES),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let timeout = REQUEST_TIMEOUT.min(deadline - now);
        let phase = match http::get(spec.connect_host(), spec.port, "/health", timeout) {
            Ok(r) if r.status == 200 => Phase::Ready,
            Ok(r) if r.status == 503 => Phase::Loading,
            Ok(r) => Phase::Unexpected(r.status),
            Err(e) => {
                last = e.to_string();
                Phase::Connecting
            }
        };
        if phase != Phase::Connecting {
            last = match phase {
                Phase::Unexpected(s) => format!("HTTP {s}"),
                Phase::Loading => "HTTP 503 (loading)".to_owned(),
                _ => "HTTP 200".to_owned(),
            };
        }
        if let Some(p) = &opts.progress {
            p(&Progress {
                url: url.clone(),
                phase,
                elapsed: start.elapsed(),
            });
        }
        if phase == Phase::Ready {
            return Ok(WaitEnd::Ready);
        }
        let pause = opts
            .poll_interval
            .min(deadline.saturating_duration_since(Instant::now()));
        std::thread::sleep(pause);
    }
    // The server is useless if it never became healthy; stopping it keeps the promise that a
    // failed launch leaves nothing running.
    let _ = child.stop(opts.stop_grace);
    Err(LaunchError::HealthTimeout {
        url,
        waited: opts.health_timeout,
        last,
        log_path: child.log_path().to_owned(),
        log_tail: child.log_tail(TAIL_LINES),
    })
}
