//! `plan --together` and `plan --sets` as library functions on a checked project.

use super::{Sets, Together, co_resident_sets, footprints, together};
use crate::project::{Project, ProjectError};

#[derive(Debug, thiserror::Error)]
pub enum TogetherError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("profile `{id}` cannot be planned: {why}")]
    Unplanned { id: String, why: String },
}

impl TogetherError {
    pub fn help(&self) -> String {
        match self {
            TogetherError::Project(e) => e.help(),
            TogetherError::Unplanned { id, .. } => format!(
                "`profilec plan {id}` shows why; a model file must be readable here to be planned"
            ),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            TogetherError::Project(e) => e.exit_code(),
            TogetherError::Unplanned { .. } => 1,
        }
    }
}

/// The profiles `ids` loaded at the same time on the project's machine.
pub fn plan_together(project: &Project, ids: &[String]) -> Result<Together, TogetherError> {
    let profiles = ids
        .iter()
        .map(|id| project.profile(id))
        .collect::<Result<Vec<_>, _>>()?;
    let (planned, unplanned) = footprints(profiles, &project.hardware);
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
pub fn plan_sets(project: &Project, step_limit: u64) -> Sets {
    let (planned, unplanned) = footprints(&project.report.conf.profiles, &project.hardware);
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
