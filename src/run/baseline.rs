//! The static baseline of a run: the target (a profile, or a model path) resolved to the launch
//! `start` would make, the runtime detected from the model source, and the user's flags on top.

use std::path::{Path, PathBuf};

use super::{RunError, Target};
use crate::budget::Program;
use crate::diag::Severity;
use crate::error::Failure;
use crate::flags::parse_args;
use crate::hardware::{self, Hardware};
use crate::project::{self, ResolvedProfile};
use crate::resolve::{Effective, OptionError, Origin, apply_words};

/// The resolved target before any advice: where it came from and the machine it runs on.
pub struct Baseline {
    pub resolved: ResolvedProfile,
    pub hardware: Hardware,
    /// The models.conf (a profile target).
    pub conf_path: Option<PathBuf>,
    /// The directory `.profilec/` (trace, logs) goes in.
    pub state_dir: PathBuf,
    /// Where the static settings came from, one line each (the `optimize` rationale for a
    /// model target).
    pub rationale: Vec<String>,
}

/// A profile as `start` resolves it (checked, STRATEGY applied), or a model with `optimize`'s
/// recommendation.
pub fn resolve(target: &Target, hardware: Option<&Path>) -> Result<Baseline, RunError> {
    match target {
        Target::Profile { id, conf } => of_profile(id, conf, hardware),
        Target::Model(path) => of_model(path, hardware),
    }
}

fn of_profile(id: &str, conf: &Path, hardware: Option<&Path>) -> Result<Baseline, RunError> {
    let mut project = project::open(conf, hardware)?;
    let profile = project.profile(id)?;
    let errors: Vec<_> = project.errors_for(profile).into_iter().cloned().collect();
    if !errors.is_empty() {
        return Err(RunError::ProfileErrors {
            id: id.to_owned(),
            file: conf.to_path_buf(),
            source_text: project.report.conf.doc.source().to_owned(),
            profiles: project.report.conf.profiles.len(),
            diagnostics: errors,
        });
    }
    let resolved = project.resolve(id, Program::LlamaServer)?;
    if let Some(e) = resolved.launch_blocker() {
        return Err(RunError::Blocked {
            id: id.to_owned(),
            why: e.to_string(),
            help: e.help(),
        });
    }
    let state_dir = crate::observed::path_for(conf)
        .parent()
        .map_or_else(|| PathBuf::from(".profilec"), Path::to_path_buf);
    Ok(Baseline {
        resolved,
        hardware: project.hardware,
        conf_path: Some(conf.to_path_buf()),
        state_dir,
        rationale: vec![format!(
            "profile `{id}` of {} as `start` resolves it",
            conf.display()
        )],
    })
}

fn of_model(path: &Path, hardware: Option<&Path>) -> Result<Baseline, RunError> {
    if path.is_dir() {
        return Err(if crate::safetensors::inspect(path).is_ok() {
            RunError::VllmNotSupported(path.to_path_buf())
        } else {
            RunError::UnknownModel(path.to_path_buf())
        });
    }
    let hw = hardware::resolve(hardware, Path::new("."))?;
    if hardware.is_some() && hw.diagnostics.iter().any(|d| d.severity == Severity::Error) {
        let first = hw
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .map_or(String::new(), |d| d.message.clone());
        return Err(RunError::Hardware(first));
    }
    let hw = hw.hardware;
    let rec = crate::optimize::optimize(path, &hw)?;
    // The launch optimize planned (`--mlock`, a load mode in b11434, is left to the user), with
    // the address and log level `start` makes explicit.
    let mut resolved = rec.launch;
    resolved
        .apply(&runtime_words(&hw), Origin::Runtime)
        .map_err(|error| RunError::Options {
            what: "the static recommendation".into(),
            error,
        })?;
    let mut rationale = vec![format!(
        "`optimize --model {}`'s recommendation",
        path.display()
    )];
    rationale.extend(rec.rationale);
    Ok(Baseline {
        resolved,
        hardware: hw,
        conf_path: None,
        state_dir: PathBuf::from(".profilec"),
        rationale,
    })
}

/// The address and log level `start` makes explicit for a profile (`resolve::for_launch`).
fn runtime_words(hw: &Hardware) -> Vec<String> {
    [
        ("--host", hw.runtime.host.clone()),
        ("--port", hw.runtime.port.to_string()),
        ("--log-verbosity", "4".to_owned()),
    ]
    .into_iter()
    .flat_map(|(f, v)| [f.to_owned(), v])
    .collect()
}

/// The flags the user typed after `--`, validated against the flag table: their canonical
/// names, for precedence. Errors are returned, not skipped: user intent is never dropped silently.
pub fn user_flags(args: &[String]) -> Result<Vec<&'static str>, RunError> {
    let parsed = parse_args(&args.join(" "));
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    if !errors.is_empty() {
        return Err(RunError::UserArgs(errors.join("; ")));
    }
    Ok(parsed.args.iter().map(|a| a.spec.canonical).collect())
}

/// `resolved` with `eff` as its settings: the options are read back from the argv, so what is
/// planned is what would run.
pub fn with_effective(
    resolved: &ResolvedProfile,
    eff: Effective,
) -> Result<ResolvedProfile, OptionError> {
    let mut r = resolved.clone();
    r.options = eff.options()?;
    r.effective = eff;
    Ok(r)
}

/// `resolved` with the user's flags applied last (origin `command_line`).
pub fn apply_user(
    resolved: &ResolvedProfile,
    args: &[String],
) -> Result<ResolvedProfile, RunError> {
    let mut eff = resolved.effective.clone();
    apply_words(&mut eff, args, Origin::CommandLine);
    with_effective(resolved, eff).map_err(|error| RunError::Options {
        what: "the flags after --".into(),
        error,
    })
}
