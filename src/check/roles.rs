//! ROLES across the file: a role names one profile (`start --role`, the router alias a client
//! asks for), so two profiles with the same role, or a role spelled like a profile id, make the
//! name ambiguous. llama-server's router refuses both at startup
//! (tools/server/server-models.cpp, `server_models::add_model`); profilec says so before.

use std::collections::HashMap;
use std::ops::Range;

use crate::config::Conf;
use crate::diag::Diagnostic;

pub fn check(conf: &Conf, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, (&str, &Range<usize>)> = HashMap::new();
    for p in &conf.profiles {
        let Some(roles) = &p.roles else { continue };
        for role in &roles.value {
            if let Some(other) = conf.profile(role) {
                diags.push(
                    Diagnostic::error(
                        "conf::role-is-id",
                        format!("role `{role}` of `[{}]` is also a profile id", p.id.value),
                    )
                    .at(roles.span.clone())
                    .label("this role")
                    .related(other.id.span.clone(), "the profile with that id")
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
                        format!(
                            "role `{role}` is on `[{owner}]` and again on `[{}]`",
                            p.id.value
                        ),
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
                    first.insert(role, (&p.id.value, &roles.span));
                }
            }
        }
    }
}
