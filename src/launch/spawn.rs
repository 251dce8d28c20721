//! Starting a program from an argv (never through a shell) with its output in a log file, and
//! waiting for or signalling it without ever blocking unboundedly.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::error::LaunchError;

const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the log copiers to drain after the child exits; they end at EOF,
/// which only a grandchild holding the pipe open could delay.
const DRAIN: Duration = Duration::from_secs(2);

/// How the child's output is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Created (or truncated) before the child starts; its parent directory is created too.
    pub path: PathBuf,
    /// Also copy the output to this process's stdout/stderr, line by line.
    pub tee: bool,
    /// Start the child in its own process group, so a terminal's Ctrl-C reaches only profilec,
    /// which forwards it once (foreground mode); otherwise the child shares ours and dies with
    /// a Ctrl-C aimed at a test run.
    pub own_process_group: bool,
}

/// The child gets SIGKILL when profilec dies, even by SIGKILL itself (which no handler can
/// forward): no llama-server outlives `profilec start` holding the port and the GPU memory.
/// Linux `PR_SET_PDEATHSIG`; a parent already gone before it took effect fails the spawn.
fn die_with_parent(cmd: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and only makes two async-signal-safe
    // system calls (prctl, getppid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            if nix::unistd::getppid() != parent {
                return Err(io::Error::other("profilec exited before the child started"));
            }
            Ok(())
        });
    }
}

/// The child runs at niceness `n` (setpriority(2) between fork and exec, so llama-server and
/// every thread it creates inherit it): a low-priority server yields the CPU to the desktop.
fn lower_priority(cmd: &mut Command, n: i32) {
    // SAFETY: the closure runs between fork and exec and makes one async-signal-safe system
    // call; it allocates nothing. `who` 0 is the calling (forked, single-threaded) process.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpriority(libc::PRIO_PROCESS, 0, n) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A running child whose stdout and stderr go to a log file.
#[derive(Debug)]
pub struct LoggedChild {
    child: Child,
    log_path: PathBuf,
    copiers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

/// Spawns `program` with `args` exactly as given: each element reaches the program as one
/// argument, so `$(...)`, `;` and quotes are plain characters.
pub fn spawn_logged(
    program: &Path,
    args: &[String],
    log: &LogOptions,
) -> Result<LoggedChild, LaunchError> {
    spawn_logged_nice(program, args, log, None)
}

/// [`spawn_logged`] at niceness `nice` (`None`: profilec's own).
pub fn spawn_logged_nice(
    program: &Path,
    args: &[String],
    log: &LogOptions,
    nice: Option<i32>,
) -> Result<LoggedChild, LaunchError> {
    let log_err = |source| LaunchError::LogFile {
        path: log.path.clone(),
        source,
    };
    if let Some(dir) = log.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(log_err)?;
    }
    let file = File::create(&log.path).map_err(log_err)?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    if log.own_process_group {
        cmd.process_group(0);
    }
    die_with_parent(&mut cmd);
    if let Some(n) = nice {
        lower_priority(&mut cmd, n);
    }
    if log.tee {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        // Without tee the child writes the file itself: nothing to copy, and the log stays
        // complete even if profilec dies first.
        let err_file = file.try_clone().map_err(log_err)?;
        cmd.stdout(Stdio::from(file.try_clone().map_err(log_err)?))
            .stderr(Stdio::from(err_file));
    }
    let mut child = cmd.spawn().map_err(|source| LaunchError::Spawn {
        program: program.to_owned(),
        source,
    })?;
    let mut copiers = Vec::new();
    if log.tee {
        let file = Arc::new(Mutex::new(file));
        if let Some(out) = child.stdout.take() {
            copiers.push(copy_lines(out, Arc::clone(&file), false));
        }
        if let Some(err) = child.stderr.take() {
            copiers.push(copy_lines(err, file, true));
        }
    }
    Ok(LoggedChild {
        child,
        log_path: log.path.clone(),
        copiers,
        status: None,
    })
}

/// Whole lines under one lock, so stdout and stderr interleave by line, never mid-line.
fn copy_lines(
    from: impl Read + Send + 'static,
    file: Arc<Mutex<File>>,
    to_stderr: bool,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if let Ok(mut f) = file.lock() {
                        let _ = f.write_all(&line);
                    }
                    // A closed terminal must not stop the log.
                    let _ = if to_stderr {
                        io::stderr().lock().write_all(&line)
                    } else {
                        io::stdout().lock().write_all(&line)
                    };
                }
            }
        }
    })
}

impl LoggedChild {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The exit status once the child has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
            if self.status.is_some() {
                self.drain();
            }
        }
        Ok(self.status)
    }

    /// Waits at most `timeout` for the child to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Sends `signal` unless the child has already been reaped (its pid could be reused).
    pub fn signal(&mut self, signal: Signal) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = i32::try_from(self.child.id()).map_err(io::Error::other)?;
        match kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// SIGINT (llama-server shuts down cleanly), then SIGKILL if it is still running after
    /// `grace`. Returns the exit status; never waits longer than `grace` plus a moment.
    pub fn stop(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        self.signal(Signal::SIGINT)?;
        if let Some(s) = self.wait_timeout(grace)? {
            return Ok(s);
        }
        self.signal(Signal::SIGKILL)?;
        let status = self.child.wait()?;
        self.status = Some(status);
        self.drain();
        Ok(status)
    }

    /// The last `n` lines of the log, for error messages.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        log_tail(&self.log_path, n)
    }

    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN;
        while self.copiers.iter().any(|c| !c.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        for c in std::mem::take(&mut self.copiers) {
            if c.is_finished() {
                let _ = c.join();
            }
        }
    }
}

/// The last `n` non-empty lines of a log file (lossy UTF-8); empty if it cannot be read.
pub fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

/// `exit code 1`, `signal 9 (SIGKILL)`: how a status is worded in messages.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => match Signal::try_from(s) {
            Ok(sig) => format!("signal {s} ({})", sig.as_str()),
            Err(_) => format!("signal {s}"),
        },
        (None, None) => "unknown status".to_owned(),
    }
}

/// The shell convention: the code itself, or 128 + the signal that killed the process.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

impl Drop for LoggedChild {
    /// A child nobody waits for any more is killed, never left behind.
    fn drop(&mut self) {
        if matches!(self.try_wait(), Ok(None)) {
            let _ = self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}
