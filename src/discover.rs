//! Finding the files a run works on when the command line does not name them: `models.conf` by
//! walking up from the current directory (the way `just` finds its justfile), and the
//! `profilec.toml` that describes the machine (beside models.conf, else `$PROFILEC_CONFIG`, else
//! the user's config directory). See docs/hardware.md, "Which profilec.toml".

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The file name looked for in the current directory and each of its ancestors.
pub const CONF_NAME: &str = "models.conf";
/// The machine description looked for beside models.conf and in the user's config directory.
pub const HARDWARE_NAME: &str = "profilec.toml";
/// Names a profilec.toml to use when none lies beside models.conf.
pub const CONFIG_ENV: &str = "PROFILEC_CONFIG";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}", no_conf(start))]
    NoConf { start: PathBuf },
    #[error("cannot read the current directory: {detail}")]
    NoCurrentDir { detail: String },
    #[error("${CONFIG_ENV} names {path}, which is not a file")]
    ConfigEnvMissing { path: PathBuf },
}

impl crate::error::Failure for DiscoverError {
    fn code(&self) -> &'static str {
        match self {
            DiscoverError::NoConf { .. } => "usage::no-models-conf",
            DiscoverError::NoCurrentDir { .. } => "io::current-dir",
            DiscoverError::ConfigEnvMissing { .. } => "usage::config-env-missing",
        }
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }

    fn help(&self) -> String {
        match self {
            DiscoverError::NoConf { .. } => format!(
                "pass the file, e.g. `profilec check path/to/{CONF_NAME}`, or cd into the \
                 project that holds it; `profilec new MODEL.gguf` creates one"
            ),
            DiscoverError::NoCurrentDir { .. } => {
                "the directory may have been deleted; cd somewhere else and retry".into()
            }
            DiscoverError::ConfigEnvMissing { .. } => format!(
                "point ${CONFIG_ENV} at an existing profilec.toml, or unset it \
                 (`profilec hw --write FILE` records this machine in a new one)"
            ),
        }
    }
}

fn no_conf(start: &Path) -> String {
    if start.parent().is_none() {
        format!(
            "no {CONF_NAME} in {} (the filesystem root)",
            start.display()
        )
    } else {
        format!(
            "no {CONF_NAME} in {} or any directory above it (searched up to the filesystem root)",
            start.display()
        )
    }
}

/// The nearest `models.conf` from the current directory upwards. One in the current directory is
/// returned as the relative `models.conf` (what error messages and reports have always shown);
/// one further up as an absolute path.
pub fn find_conf() -> Result<PathBuf, DiscoverError> {
    let cwd = std::env::current_dir().map_err(|e| DiscoverError::NoCurrentDir {
        detail: e.to_string(),
    })?;
    let found = find_conf_from(&cwd)?;
    Ok(if found.parent() == Some(cwd.as_path()) {
        PathBuf::from(CONF_NAME)
    } else {
        found
    })
}

/// The nearest `models.conf` in `start` or an ancestor of it; stops at the filesystem root.
pub fn find_conf_from(start: &Path) -> Result<PathBuf, DiscoverError> {
    start
        .ancestors()
        .map(|dir| dir.join(CONF_NAME))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| DiscoverError::NoConf {
            start: start.to_path_buf(),
        })
}

/// The profile ids (with their NAME) of `conf`, in file order, for shell completion: parsed
/// only (no checks), and empty when the file cannot be read.
pub fn profile_ids(conf: &Path) -> Vec<(String, Option<String>)> {
    let Ok(text) = std::fs::read_to_string(conf) else {
        return Vec::new();
    };
    let (conf, _) = crate::config::load(crate::syntax::Document::parse(text));
    conf.profiles
        .into_iter()
        .map(|p| (p.id.value, p.name.map(|n| n.value)))
        .collect()
}

/// Why a profilec.toml was chosen (or why none was).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// `--hardware FILE` on the command line.
    Flag,
    /// `profilec.toml` in the directory holding models.conf.
    BesideConf,
    /// `$PROFILEC_CONFIG`.
    Env,
    /// `<user config dir>/profilec/profilec.toml` (`$XDG_CONFIG_HOME` or `~/.config` on Linux).
    UserConfig,
    /// No file: the machine is detected.
    Detected,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Flag => "given with --hardware",
            Reason::BesideConf => "the profilec.toml beside models.conf",
            Reason::Env => "named by $PROFILEC_CONFIG",
            Reason::UserConfig => "the user's config directory",
            Reason::Detected => "no profilec.toml found: the machine is detected",
        }
    }
}

/// One place looked at, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub reason: Reason,
    /// `None` when the place does not apply (no flag, variable unset, no config dir).
    pub path: Option<PathBuf>,
    pub found: bool,
}

/// The profilec.toml a verb uses, and every place looked at to choose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardwareFile {
    /// `None`: detect the machine.
    pub path: Option<PathBuf>,
    pub reason: Reason,
    pub searched: Vec<Candidate>,
}

/// `--hardware` if given; else `profilec.toml` in `conf_dir`; else `$PROFILEC_CONFIG` (which
/// must exist: an explicit choice is never silently skipped); else the user's config directory;
/// else none (detect).
pub fn hardware_file(
    explicit: Option<&Path>,
    conf_dir: &Path,
) -> Result<HardwareFile, DiscoverError> {
    let env = std::env::var_os(CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let user = dirs::config_dir().map(|d| d.join("profilec").join(HARDWARE_NAME));
    hardware_file_in(explicit, conf_dir, env, user)
}

fn hardware_file_in(
    explicit: Option<&Path>,
    conf_dir: &Path,
    env: Option<PathBuf>,
    user: Option<PathBuf>,
) -> Result<HardwareFile, DiscoverError> {
    let places = [
        (Reason::Flag, explicit.map(Path::to_path_buf)),
        (Reason::BesideConf, Some(beside(conf_dir))),
        (Reason::Env, env),
        (Reason::UserConfig, user),
    ];
    let mut searched = Vec::new();
    for (reason, path) in places {
        // The flag is taken as given: loading reports a missing file with its own message.
        let found = match (&path, reason) {
            (Some(_), Reason::Flag) => true,
            (Some(p), _) => p.is_file(),
            (None, _) => false,
        };
        if reason == Reason::Env
            && !found
            && let Some(p) = path
        {
            return Err(DiscoverError::ConfigEnvMissing { path: p });
        }
        searched.push(Candidate {
            reason,
            path: path.clone(),
            found,
        });
        if found {
            return Ok(HardwareFile {
                path,
                reason,
                searched,
            });
        }
    }
    Ok(HardwareFile {
        path: None,
        reason: Reason::Detected,
        searched,
    })
}

/// What a verb run here without FILE would use: the models.conf in reach (if any) and the
/// profilec.toml chosen for it (what `profilec hw --where` shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub models_conf: Option<PathBuf>,
    pub hardware: HardwareFile,
}

/// [`find_conf`], then [`hardware_file`] beside it (beside the current directory when there is
/// no models.conf).
pub fn locate(explicit_hardware: Option<&Path>) -> Result<Located, DiscoverError> {
    let models_conf = match find_conf() {
        Ok(p) => Some(p),
        Err(DiscoverError::NoConf { .. }) => None,
        Err(e) => return Err(e),
    };
    let conf_dir = match models_conf.as_deref().and_then(Path::parent) {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let hardware = hardware_file(explicit_hardware, &conf_dir)?;
    Ok(Located {
        models_conf,
        hardware,
    })
}

/// `DIR/profilec.toml`, shown as plain `profilec.toml` for the current directory.
fn beside(conf_dir: &Path) -> PathBuf {
    if conf_dir == Path::new(".") {
        PathBuf::from(HARDWARE_NAME)
    } else {
        conf_dir.join(HARDWARE_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_conf_wins_and_the_walk_stops_at_the_root() {
        let t = tempfile::tempdir().unwrap();
        let deep = t.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(t.path().join("a").join(CONF_NAME), "").unwrap();
        std::fs::write(t.path().join(CONF_NAME), "").unwrap();
        assert_eq!(
            find_conf_from(&deep).unwrap(),
            t.path().join("a").join(CONF_NAME)
        );
        let err = find_conf_from(Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("filesystem root"), "{err}");
    }

    #[test]
    fn hardware_file_order() {
        let t = tempfile::tempdir().unwrap();
        let beside = t.path().join(HARDWARE_NAME);
        let env = t.path().join("env.toml");
        let user = t.path().join("user.toml");
        std::fs::write(&env, "").unwrap();
        std::fs::write(&user, "").unwrap();
        let pick = |e: Option<&Path>, u: Option<&Path>| {
            hardware_file_in(None, t.path(), e.map(Into::into), u.map(Into::into)).unwrap()
        };
        assert_eq!(pick(Some(&env), Some(&user)).reason, Reason::Env);
        assert_eq!(
            pick(None, Some(&user)).path.as_deref(),
            Some(user.as_path())
        );
        assert_eq!(pick(None, Some(&beside)).reason, Reason::Detected);
        std::fs::write(&beside, "").unwrap();
        let chosen = pick(Some(&env), Some(&user));
        assert_eq!(
            (chosen.reason, chosen.searched.len()),
            (Reason::BesideConf, 2)
        );
        let flag = hardware_file_in(Some(&env), t.path(), None, None).unwrap();
        assert_eq!(flag.reason, Reason::Flag);
        std::fs::remove_file(&beside).unwrap();
        let missing = t.path().join("nope.toml");
        let err = hardware_file_in(None, t.path(), Some(missing), Some(user)).unwrap_err();
        assert!(matches!(err, DiscoverError::ConfigEnvMissing { .. }));
    }
}
