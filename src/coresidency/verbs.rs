//! `plan --together` and `plan --sets` as library functions on a checked project.

use super::{Sets, Together, co_resident_sets, footprints, together};
use crate::budget::Program;
use crate::project::{Project, ProjectError, ResolvedProfile};

#[derive(Debug, thiserror::Error)]
pub enum TogetherError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("profile `{id}` cannot be planned: {why}")]
    Unplanned { id: String, why: String },
}

impl crate::error::Failure for TogetherError {
    fn code(&self) -> &'static str {
        match self {
            TogetherError::Project(e) => e.code(),
            TogetherError::Unplanned { .. } => "plan::unplanned",
        }
    }

    fn help(&self) -> String {
        match self {
            TogetherError::Project(e) => e.help(),
            TogetherError::Unplanned { id, .. } => format!(
                "`profilec plan {id}` shows why; a model file must be readable here to be planned"
            ),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            TogetherError::Project(e) => e.exit_code(),
            TogetherError::Unplanned { .. } => crate::error::exit::FAILED,
        }
    }
}

/// The profiles `ids` resolved for llama-server, as `render` and `start` launch them.
pub fn resolve_all(
    project: &mut Project,
    ids: &[String],
) -> Result<Vec<ResolvedProfile>, ProjectError> {
    ids.iter()
        .map(|id| project.resolve(id, Program::LlamaServer))
        .collect()
}

/// The profiles `ids` loaded at the same time on the project's machine.
pub fn plan_together(project: &mut Project, ids: &[String]) -> Result<Together, TogetherError> {
    let resolved = resolve_all(project, ids)?;
    let (planned, unplanned) = footprints(&resolved, project.hardware.runtime.cuda_overhead_mib);
    if let Some(u) = unplanned.into_iter().next() {
        return Err(TogetherError::Unplanned {
            id: u.id,
            why: u.why,
        });
    }
    let refs: Vec<_> = planned.iter().collect();
    Ok(together(&refs, &project.hardware.machine()))
}

/// Every maximal co-resident set of the project's profiles and the safe `--models-max`.
pub fn plan_sets(project: &mut Project, step_limit: u64) -> Result<Sets, ProjectError> {
    let ids: Vec<String> = project.report.conf.ids();
    let resolved = resolve_all(project, &ids)?;
    Ok(sets_of(&resolved, project, step_limit))
}

/// [`plan_sets`] of profiles already resolved (what `render --all` launches).
pub fn sets_of(resolved: &[ResolvedProfile], project: &Project, step_limit: u64) -> Sets {
    let (planned, unplanned) = footprints(resolved, project.hardware.runtime.cuda_overhead_mib);
    co_resident_sets(&planned, unplanned, &project.hardware.machine(), step_limit)
}

/// What `plan --sets` prints.
pub fn render_sets_human(s: &Sets) -> String {
    let mut out = String::from("profiles that fit together (maximal sets):\n");
    for set in &s.maximal {
        out.push_str(&format!("  {}\n", set.join(" + ")));
    }
    if s.maximal.is_empty() {
        out.push_str("  none\n");
    }
    if !s.complete {
        out.push_str(&format!(
            "search stopped at its limit of {} fit evaluations: the list above is partial (pass --limit N to search further)\n",
            s.step_limit
        ));
    }
    for u in &s.unplanned {
        out.push_str(&format!("not planned: {} ({})\n", u.id, u.why));
    }
    out.push_str(&format!("safe --models-max {}\n", s.models_max.why));
    out.push_str(super::NO_ROLES);
    out.push('\n');
    out
}
