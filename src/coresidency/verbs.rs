//! `plan --together` and `plan --sets` as library functions on a checked project.

use super::{Sets, Together, co_resident_sets, footprints, role_group, together};
use crate::budget::Program;
use crate::config::Runtime;
use crate::project::{Project, ProjectError, ResolvedProfile};

#[derive(Debug, thiserror::Error)]
pub enum TogetherError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("profile `{id}` cannot be planned: {why}")]
    Unplanned { id: String, why: String },
    #[error(
        "profile `{id}` is named twice in --together; a router or llama-swap loads each profile once"
    )]
    NamedTwice { id: String },
    #[error(
        "profile `{id}` is a vLLM profile; --together sums llama-server processes, as the router preset and the llama-swap export run them"
    )]
    Vllm { id: String },
}

impl crate::error::Failure for TogetherError {
    fn code(&self) -> &'static str {
        match self {
            TogetherError::Project(e) => e.code(),
            TogetherError::Unplanned { .. } => "plan::unplanned",
            TogetherError::NamedTwice { .. } => "usage::duplicate-id",
            TogetherError::Vllm { .. } => "plan::vllm-profile",
        }
    }

    fn help(&self) -> String {
        match self {
            TogetherError::Project(e) => e.help(),
            TogetherError::Unplanned { id, .. } => format!(
                "`profilec plan {id}` shows why; a model file must be readable here to be planned"
            ),
            TogetherError::NamedTwice { id } => format!(
                "name `{id}` once; to run two copies side by side, copy its section under a new id"
            ),
            TogetherError::Vllm { id } => format!(
                "leave `{id}` out: `render --all` leaves vLLM profiles out of the preset and llama-swap config; `profilec plan {id}` shows vLLM's own memory"
            ),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            TogetherError::Project(e) => e.exit_code(),
            TogetherError::Unplanned { .. } | TogetherError::Vllm { .. } => {
                crate::error::exit::FAILED
            }
            TogetherError::NamedTwice { .. } => crate::error::exit::USAGE,
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
    if let Some(id) = ids
        .iter()
        .enumerate()
        .find_map(|(i, id)| ids[..i].contains(id).then_some(id))
    {
        return Err(TogetherError::NamedTwice { id: id.clone() });
    }
    let resolved = resolve_all(project, ids)?;
    if let Some(r) = resolved.iter().find(|r| r.runtime == Runtime::Vllm) {
        return Err(TogetherError::Vllm {
            id: r.id.clone().unwrap_or_default(),
        });
    }
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

/// Every maximal co-resident set of the profiles `render --all` writes (the llama-server ones)
/// and the safe `--models-max`; the vLLM profiles, left out, are named in `vllm`.
pub fn plan_sets(project: &mut Project, step_limit: u64) -> Result<Sets, ProjectError> {
    let ids: Vec<String> = project.report.conf.ids();
    let (resolved, vllm) = resolve_all(project, &ids)?
        .into_iter()
        .partition::<Vec<_>, _>(|r| r.runtime != Runtime::Vllm);
    let mut sets = sets_of(&resolved, project, step_limit);
    sets.vllm = vllm.into_iter().filter_map(|r| r.id).collect();
    Ok(sets)
}

/// [`plan_sets`] of llama-server profiles already resolved (what `render --all` launches),
/// with the answer for the profiles that have ROLES.
pub fn sets_of(resolved: &[ResolvedProfile], project: &Project, step_limit: u64) -> Sets {
    let (planned, unplanned) = footprints(resolved, project.hardware.runtime.cuda_overhead_mib);
    let machine = project.hardware.machine();
    let roles: Vec<(String, Vec<String>)> = resolved
        .iter()
        .filter_map(|r| r.id.clone())
        .map(|id| {
            let roles = project
                .report
                .conf
                .profile(&id)
                .map_or(Vec::new(), |p| p.role_names().to_vec());
            (id, roles)
        })
        .collect();
    let group = role_group(&roles, &planned, &unplanned, &machine);
    let mut sets = co_resident_sets(&planned, unplanned, &machine, step_limit);
    sets.role_group = group;
    sets
}

/// What `plan --sets` prints.
pub fn render_sets_human(s: &Sets) -> String {
    let mut out = String::from("profiles that fit together (maximal sets):\n");
    for set in &s.maximal {
        out.push_str(&format!("  {}\n", set.join(" + ")));
    }
    if s.maximal.is_empty() {
        out.push_str(if !s.complete {
            "  none found before the limit\n"
        } else if s.unplanned.is_empty() && s.models_max.proven == 0 {
            "  none: no profile fits even alone (`profilec check` shows where each overflows)\n"
        } else if !s.unplanned.is_empty() {
            "  none (the profiles below could not be planned)\n"
        } else {
            "  none\n"
        });
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
    for id in &s.vllm {
        out.push_str(&format!(
            "left out: {id} (a vLLM profile: the router preset and llama-swap config hold llama-server profiles; `profilec start {id}` serves it on its own)\n"
        ));
    }
    out.push_str(&format!("safe --models-max {}\n", s.models_max.why));
    match &s.role_group {
        Some(g) => out.push_str(&format!("per role group: {}\n", g.why)),
        None => out.push_str(
            "per role group: no profile has ROLES, so the answer above is for all profiles\n",
        ),
    }
    out
}
