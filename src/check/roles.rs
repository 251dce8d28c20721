//! ROLES across the file: a role names one profile (`start --role`, the router alias a client
//! asks for), so two profiles with the same role, or a role spelled like a profile id, make the
//! name ambiguous. llama-server's router refuses both at startup
//! (tools/server/server-models.cpp, `server_models::add_model`); profilec says so before.

use std::collections::HashMap;
use std::ops::Range;

use super::outline::{Outline, slice};
use crate::diag::Diagnostic;

/// `ids`: [`Outline::first_by_id`].
pub fn check(
    outline: &Outline,
    source: &str,
    ids: &HashMap<&str, usize>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut first: HashMap<&str, (&str, &Range<usize>)> = HashMap::new();
    for p in &outline.profiles {
        let Some(roles) = &p.roles else { continue };
        let id = slice(source, &p.id);
        for role in &roles.value {
            if let Some(&other) = ids.get(role.as_str()) {
                diags.push(
                    Diagnostic::error(
                        "conf::role-is-id",
                        format!("role `{role}` of `[{id}]` is also a profile id"),
                    )
                    .at(roles.span.clone())
                    .label("this role")
                    .related(
                        outline.profiles[other].id.clone(),
                        "the profile with that id",
                    )
                    .help(format!(
                        "rename the role (e.g. `{role}-role`) or the profile: a client asking for \
                         `{role}` would get either, and llama-server's router refuses the preset"
                    )),
                );
            }
            match first.get(role.as_str()) {
                Some((owner, span)) => diags.push(
                    Diagnostic::error(
                        "conf::duplicate-role",
                        format!("role `{role}` is on `[{owner}]` and again on `[{id}]`"),
                    )
                    .at(roles.span.clone())
                    .label("role given again here")
                    .related((*span).clone(), format!("first given to `[{owner}]` here"))
                    .help(format!(
                        "a role names exactly one profile (`start --role {role}`, the router \
                         alias clients use): remove `{role}` from the ROLES of one of them"
                    )),
                ),
                None => {
                    first.insert(role, (id, &roles.span));
                }
            }
        }
    }
}
