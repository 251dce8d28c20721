//! A models.conf together with the machine it runs on: what every verb that takes a profile id
//! (`plan`, `render`, `start`, `new`) starts from, so they all read, check and resolve the same
//! way.

mod plan;
mod roles;
mod rpc_lost;
mod rpc_preflight;

use std::path::{Path, PathBuf};

pub use crate::profile::{
    ProfilePlanError, ResolvedProfile, StrategyError, VllmPlanError, VllmProfile,
};
pub use plan::{Outcome, PlanReport, detected_note, plan_report};
pub use roles::RoleError;
pub use rpc_lost::{RpcServerLost, rpc_lost};
pub use rpc_preflight::{PREFLIGHT_TIMEOUT, RpcPreflightError, check_free, rpc_preflight};

use crate::budget::Program;
use crate::check::{CheckError, CheckOptions, CheckReport, MachineFor, check_file};
use crate::config::Profile;
use crate::diag::{Diagnostic, Severity};
use crate::error::{Failure, exit};
use crate::hardware::{self, Hardware, LoadError, Origin};
use crate::resolve::{OptionError, absolute};

#[derive(Debug, Clone)]
pub struct Project {
    pub conf_path: PathBuf,
    pub report: CheckReport,
    pub hardware: Hardware,
    pub hardware_origin: Origin,
    /// Problems of profilec.toml (spans into `hardware_source`) or detection notes.
    pub hardware_diagnostics: Vec<Diagnostic>,
    pub hardware_source: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Hardware(#[from] LoadError),
    #[error("no profile `{id}` in {file}")]
    UnknownProfile {
        id: String,
        file: PathBuf,
        suggestion: Option<String>,
        /// The file's ids, in file order.
        known: Vec<String>,
    },
    #[error("profile `{id}`: {error}")]
    Options {
        id: String,
        #[source]
        error: OptionError,
    },
}

impl Failure for ProjectError {
    fn code(&self) -> &'static str {
        match self {
            ProjectError::Check(e) => e.code(),
            ProjectError::Hardware(e) => e.code(),
            ProjectError::UnknownProfile { .. } => "usage::unknown-profile",
            ProjectError::Options { error, .. } => error.code(),
        }
    }

    fn help(&self) -> String {
        match self {
            ProjectError::UnknownProfile {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`? (`profilec check` lists the file's problems)"),
            ProjectError::UnknownProfile { file, known, .. } => {
                format!(
                    "the ids are the `[id]` headers of {}; profiles: {}",
                    file.display(),
                    list_ids(known)
                )
            }
            ProjectError::Check(e) => e.help(),
            ProjectError::Hardware(e) => e.help(),
            ProjectError::Options { error, .. } => error.help(),
        }
    }

    /// 2 for files that cannot be read and ids the file does not have (the command line is
    /// wrong), 1 for a profile whose options are wrong.
    fn exit_code(&self) -> i32 {
        match self {
            ProjectError::Check(e) => e.exit_code(),
            ProjectError::Hardware(e) => e.exit_code(),
            ProjectError::UnknownProfile { .. } => exit::USAGE,
            ProjectError::Options { error, .. } => error.exit_code(),
        }
    }
}

/// `a, b, c`, at most 20 of them and then how many more.
fn list_ids(ids: &[String]) -> String {
    const SHOWN: usize = 20;
    match ids.len() {
        0 => "none".into(),
        n if n <= SHOWN => ids.join(", "),
        n => format!("{}, … ({} more)", ids[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Reads and checks `conf_path` and decides the machine: `--hardware`, else profilec.toml beside
/// the file, else detection. MODEL paths resolve against that machine's `[runtime] models_dir`.
pub fn open(conf_path: &Path, hardware_file: Option<&Path>) -> Result<Project, ProjectError> {
    open_with(conf_path, hardware_file, MachineFor::BesideConf)
}

/// [`open`] without the file-wide budget rules: for `plan`, which plans the one profile itself.
pub fn open_for_plan(
    conf_path: &Path,
    hardware_file: Option<&Path>,
) -> Result<Project, ProjectError> {
    open_with(conf_path, hardware_file, MachineFor::Skip)
}

fn open_with(
    conf_path: &Path,
    hardware_file: Option<&Path>,
    budget_machine: MachineFor,
) -> Result<Project, ProjectError> {
    let conf_dir = match conf_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let hw = hardware::resolve(hardware_file, &conf_dir)?;
    let opts = CheckOptions {
        // Absolute, as resolution makes MODEL: the check's model cache serves the verbs too.
        models_dir: Some(absolute(&hw.hardware.runtime.models_dir)),
        hardware: budget_machine,
    };
    let report = check_file(conf_path, &opts)?;
    Ok(Project {
        conf_path: conf_path.to_path_buf(),
        report,
        hardware: hw.hardware,
        hardware_origin: hw.origin,
        hardware_diagnostics: hw.diagnostics,
        hardware_source: hw.source,
    })
}

impl Project {
    pub fn profile(&self, id: &str) -> Result<&Profile, ProjectError> {
        self.report.conf.profile(id).ok_or_else(|| {
            let suggestion = self
                .report
                .conf
                .profiles
                .iter()
                .map(|p| (strsim::levenshtein(id, &p.id.value), &p.id.value))
                .filter(|(d, _)| *d <= 3)
                .min()
                .map(|(_, s)| s.clone());
            ProjectError::UnknownProfile {
                id: id.to_string(),
                file: self.conf_path.clone(),
                suggestion,
                known: self.report.conf.ids(),
            }
        })
    }

    /// Profile `id` resolved on this project's machine for `program`: the one value `plan`,
    /// `render` and `start` read.
    pub fn resolve(&mut self, id: &str, program: Program) -> Result<ResolvedProfile, ProjectError> {
        let profile = self.profile(id)?.clone();
        ResolvedProfile::of_profile(&profile, &self.hardware, program, &mut self.report.models)
            .map_err(|error| ProjectError::Options {
                id: id.to_string(),
                error,
            })
    }

    /// Errors located inside one profile's section (its header to its last key), plus the
    /// file-wide ones: what must stop `render` and `start` of that profile.
    pub fn errors_for(&self, profile: &Profile) -> Vec<&Diagnostic> {
        let lines = self.report.conf.doc.lines();
        let start = lines.get(profile.header_line).map_or(0, |l| l.text.start);
        let end = lines
            .get(profile.last_entry_line)
            .map_or(usize::MAX, |l| l.eol.end);
        self.report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .filter(|d| {
                d.span
                    .as_ref()
                    .is_none_or(|s| s.start >= start && s.start < end)
            })
            .collect()
    }
}
