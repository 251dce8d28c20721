//! The per-role-group answer of `plan --sets`: can every role be served at once? A role names
//! one profile (docs/models-conf.md, "Roles") and becomes that model's router `alias` or
//! llama-swap `aliases`, so clients that ask by role reach exactly the profiles with ROLES. When
//! those fit together, the router (or llama-swap) never has to unload one role's model to serve
//! another; when they do not, the safe `--models-max` among them says how many roles can be
//! loaded at once.

use serde::Serialize;

use super::{Counterexample, Footprint, Unplanned, fits, safe_models_max};
use crate::hardware::Machine;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleGroup {
    /// Each role and the profile that serves it, in file order of the profiles.
    pub roles: Vec<RoleOf>,
    /// The profiles with ROLES that were planned, in file order.
    pub members: Vec<String>,
    /// The profiles with ROLES that could not be planned (nothing is known of them).
    pub unplanned: Vec<String>,
    /// Every planned member fits together.
    pub fits: bool,
    /// The largest N such that every N members fit together.
    pub models_max: usize,
    pub counterexample: Option<Counterexample>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleOf {
    pub role: String,
    pub id: String,
}

/// The role group of `roles` (each profile id with its ROLES, in file order; profiles without
/// ROLES are skipped), or `None` when no profile has a role.
pub fn role_group(
    roles: &[(String, Vec<String>)],
    planned: &[Footprint],
    unplanned: &[Unplanned],
    machine: &Machine,
) -> Option<RoleGroup> {
    let with_roles: Vec<&(String, Vec<String>)> =
        roles.iter().filter(|(_, r)| !r.is_empty()).collect();
    if with_roles.is_empty() {
        return None;
    }
    let members: Vec<Footprint> = with_roles
        .iter()
        .filter_map(|(id, _)| planned.iter().find(|f| &f.id == id).cloned())
        .collect();
    let not_planned: Vec<String> = with_roles
        .iter()
        .filter(|(id, _)| unplanned.iter().any(|u| &u.id == id))
        .map(|(id, _)| id.clone())
        .collect();
    let refs: Vec<&Footprint> = members.iter().collect();
    let all_fit = fits(&refs, machine);
    let (models_max, counterexample) = safe_models_max(&members, machine);
    let roles_of: Vec<RoleOf> = with_roles
        .iter()
        .flat_map(|(id, rs)| {
            rs.iter().map(|r| RoleOf {
                role: r.clone(),
                id: id.clone(),
            })
        })
        .collect();
    let why = explain(
        &roles_of,
        &not_planned,
        all_fit,
        models_max,
        &counterexample,
    );
    Some(RoleGroup {
        roles: roles_of,
        members: members.iter().map(|f| f.id.clone()).collect(),
        unplanned: not_planned,
        fits: all_fit,
        models_max,
        counterexample,
        why,
    })
}

fn explain(
    roles: &[RoleOf],
    not_planned: &[String],
    all_fit: bool,
    models_max: usize,
    counterexample: &Option<Counterexample>,
) -> String {
    // One entry per profile, its roles in brackets: `llama-gqa (general, chat)`.
    let mut ids: Vec<&str> = Vec::new();
    for r in roles {
        if !ids.contains(&r.id.as_str()) {
            ids.push(&r.id);
        }
    }
    let list: Vec<String> = ids
        .iter()
        .map(|id| {
            let of: Vec<&str> = roles
                .iter()
                .filter(|r| r.id == *id)
                .map(|r| r.role.as_str())
                .collect();
            format!("{id} ({})", of.join(", "))
        })
        .collect();
    let n = ids.len();
    if n == 1 && not_planned.is_empty() && models_max == 1 {
        return format!("one profile has ROLES, {}: it fits", list.join(""));
    }
    let head = format!("the {n} profiles with ROLES, {},", list.join(", "));
    if !not_planned.is_empty() {
        return format!(
            "{head} are not all planned ({} could not be), so whether every role can be served at once is unknown",
            not_planned.join(", ")
        );
    }
    if all_fit {
        return format!("{head} fit together: every role can be served at once");
    }
    let c = counterexample
        .as_ref()
        .map_or(String::new(), |c| format!("; {}", c.sentence()));
    if models_max == 0 {
        return format!("{head} cannot all be served: one does not fit even alone{c}");
    }
    format!(
        "{head} do not fit together, but every {models_max} of them do: serving all {n} roles' profiles at once makes the router unload one{c}"
    )
}
