//! Asking a llama-server binary which build it is (`--version`) and which options it takes
//! (`--help`), bounded in time and size: a binary that hangs is killed with its process group,
//! output past [`OUTPUT_LIMIT`] is refused.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::help::{HelpError, parse_help};

/// The llama.cpp build the shipped table and the memory model follow.
pub const SHIPPED_BUILD: u32 = 11434;

/// How long `--version` or `--help` may take. Both print and exit without loading a model
/// (b11434 takes about 10 ms); the bound only stops a binary that never exits.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// b11434's help is 50 KB; anything past this is not a help text.
const OUTPUT_LIMIT: u64 = 4 << 20;

/// Which llama-server build a binary is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub path: PathBuf,
    /// The `version: …` line (`0.6.0-dev (build 11434, commit unknown)`), or empty.
    pub version: String,
    /// The build number from that line.
    pub number: Option<u32>,
}

impl Build {
    /// `b11434`, or `an unknown build` when `--version` did not say.
    pub fn name(&self) -> String {
        match self.number {
            Some(n) => format!("b{n}"),
            None => "an unknown build".to_string(),
        }
    }

    /// `llama-server b11500 (/usr/local/bin/llama-server)`, or `llama-server of an unknown
    /// build (…)`.
    pub fn describe(&self) -> String {
        let of = if self.number.is_some() { "" } else { "of " };
        format!("llama-server {of}{} ({})", self.name(), self.path.display())
    }

    pub fn is_shipped(&self) -> bool {
        self.number == Some(SHIPPED_BUILD)
    }
}

/// Why a binary's own table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("could not run {}: {}", path.display(), spawn_problem(path, source))]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{} {arg}` did not finish within {} s (killed)", path.display(), timeout.as_secs())]
    Timeout {
        path: PathBuf,
        arg: &'static str,
        timeout: Duration,
    },
    #[error("`{} {arg}` printed more than {} MiB", path.display(), OUTPUT_LIMIT >> 20)]
    TooMuchOutput { path: PathBuf, arg: &'static str },
    #[error("`{} --help` failed ({status})", path.display())]
    Failed { path: PathBuf, status: ExitStatus },
    #[error("`{} --help` is not llama-server's help: {source}", path.display())]
    NotHelp { path: PathBuf, source: HelpError },
    /// An earlier run of this unchanged binary failed with `why`: not run again, so a wrapper
    /// that hangs costs its timeout once, not on every `check`.
    #[error("{why} (remembered: {} is unchanged since that run)", path.display())]
    FailedBefore { path: PathBuf, why: String },
}

impl ProbeError {
    /// Whether running the unchanged binary again would fail the same way (what it printed or
    /// how it ended); a spawn error may be a permission fixed since, which leaves no new mtime.
    pub fn worth_remembering(&self) -> bool {
        !matches!(
            self,
            ProbeError::Spawn { .. } | ProbeError::FailedBefore { .. }
        )
    }
}

impl crate::error::Failure for ProbeError {
    fn code(&self) -> &'static str {
        match self {
            ProbeError::Spawn { .. } => "flags::cannot-run",
            ProbeError::Timeout { .. } => "flags::timeout",
            ProbeError::TooMuchOutput { .. } => "flags::too-much-output",
            ProbeError::Failed { .. } => "flags::help-failed",
            ProbeError::NotHelp { .. } => "flags::not-llama-server",
            ProbeError::FailedBefore { .. } => "flags::failed-before",
        }
    }

    fn help(&self) -> String {
        let fix = match self {
            ProbeError::Spawn { .. } => {
                "give the path of the llama-server program itself (`--from`, $LLAMA_SERVER or \
                 [runtime] llama_server)"
            }
            ProbeError::Timeout { .. } => {
                "llama-server answers --help at once without loading a model: check the path is \
                 llama-server, not a wrapper that waits for something"
            }
            ProbeError::FailedBefore { .. } => {
                "`profilec flags --from PATH` runs it again (a rebuilt or replaced binary is read again by itself)"
            }
            _ => {
                "give the path of a llama-server binary (`--from`, $LLAMA_SERVER or [runtime] llama_server)"
            }
        };
        format!(
            "{fix}; until then profilec checks against the shipped flag table (llama.cpp b11434)"
        )
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

/// Why `path` could not be started, in words: a directory and a file without the execute bit
/// both fail with "Permission denied", which does not say what to change.
fn spawn_problem(path: &Path, error: &std::io::Error) -> String {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => "it is a directory, not a program".to_string(),
        Ok(meta) if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 == 0 => {
            "the file is not executable (chmod +x, or give the llama-server binary)".to_string()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => error.to_string(),
    }
}

/// Runs `path --version` and `path --help`: the build and the help text, once [`parse_help`]
/// accepted it.
pub fn probe(path: &Path, timeout: Duration) -> Result<(Build, String), ProbeError> {
    let version = run(path, "--version", timeout)?;
    let text = [version.stdout, version.stderr].concat();
    let build = build_of(path, &String::from_utf8_lossy(&text));
    let help = run(path, "--help", timeout)?;
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    match parse_help(&text) {
        Ok(_) => Ok((build, text)),
        Err(_) if !help.status.success() => Err(ProbeError::Failed {
            path: path.to_owned(),
            status: help.status,
        }),
        Err(source) => Err(ProbeError::NotHelp {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `version: 0.6.0-dev (build 11434, commit unknown)` → 11434 (common/build-info.cpp.in
/// `llama_print_build_info`); builds before it printed `version: 8115 (ed4837891)` (the
/// `--version` handler in common/arg.cpp: `"version: %d (%s)"`, build number and commit).
fn build_of(path: &Path, text: &str) -> Build {
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("version: "))
        .unwrap_or("")
        .to_string();
    Build {
        path: path.to_owned(),
        number: build_number(&version),
        version,
    }
}

/// The build number in the text after `version: ` of either form above.
pub fn build_number(version: &str) -> Option<u32> {
    let leading_digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .ok()
    };
    match version.split_once("build ") {
        Some((_, rest)) => leading_digits(rest),
        None => version
            .split_once(' ')
            .map_or(version, |(first, _)| first)
            .parse()
            .ok(),
    }
}

struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(path: &Path, arg: &'static str, timeout: Duration) -> Result<Output, ProbeError> {
    let mut child = Command::new(path)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a script's children are killed with it.
        .process_group(0)
        .spawn()
        .map_err(|source| ProbeError::Spawn {
            path: path.to_owned(),
            source,
        })?;
    let group = Pid::from_raw(child.id() as i32);
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => break None,
        }
    };
    // Whatever is left of the group (a script's children holding the pipes) goes too.
    let _ = killpg(group, Signal::SIGKILL);
    let Some(status) = status else {
        let _ = child.wait();
        return Err(ProbeError::Timeout {
            path: path.to_owned(),
            arg,
            timeout,
        });
    };
    let (stdout, stderr) = (joined(stdout), joined(stderr));
    if stdout.len() as u64 > OUTPUT_LIMIT || stderr.len() as u64 > OUTPUT_LIMIT {
        return Err(ProbeError::TooMuchOutput {
            path: path.to_owned(),
            arg,
        });
    }
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    let pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.take(OUTPUT_LIMIT + 1).read_to_end(&mut buf);
        buf
    }))
}

fn joined(handle: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_number_from_the_version_line() {
        let b = build_of(
            Path::new("x"),
            "version: 0.6.0-dev (build 11434, commit unknown)\nbuilt with GNU 12.2.0",
        );
        assert_eq!(b.number, Some(11434));
        assert!(b.is_shipped());
        // Builds before the `(build N, commit C)` format: `version: N (commit)`.
        let older = build_of(
            Path::new("x"),
            "version: 8115 (ed4837891)\nbuilt with cc for x86_64",
        );
        assert_eq!(older.number, Some(8115));
        assert_eq!(older.describe(), "llama-server b8115 (x)");
        let unknown = build_of(Path::new("x"), "garbage");
        assert_eq!(unknown.name(), "an unknown build");
        assert_eq!(unknown.describe(), "llama-server of an unknown build (x)");
    }
}
