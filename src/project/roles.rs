//! ROLES: a role names the one profile that serves it (docs/models-conf.md, "Roles").

use std::path::PathBuf;

use super::Project;
use crate::error::{Failure, exit};

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("no profile has role `{role}` in {file}")]
    Unknown {
        role: String,
        file: PathBuf,
        /// The roles the file does give, sorted.
        known: Vec<String>,
    },
    #[error("role `{role}` is on several profiles: {}", ids.join(", "))]
    Ambiguous { role: String, ids: Vec<String> },
}

impl Failure for RoleError {
    fn code(&self) -> &'static str {
        match self {
            RoleError::Unknown { .. } => "usage::unknown-role",
            RoleError::Ambiguous { .. } => "conf::duplicate-role",
        }
    }

    fn help(&self) -> String {
        match self {
            RoleError::Unknown { known, .. } if known.is_empty() => {
                "add `ROLES=<role>` to the profile that should serve it (docs/models-conf.md)"
                    .into()
            }
            RoleError::Unknown { known, .. } => format!(
                "roles in this file: {}; or add `ROLES=<role>` to a profile",
                known.join(", ")
            ),
            RoleError::Ambiguous { role, .. } => format!(
                "a role names exactly one profile: remove `{role}` from all ROLES but one \
                 (`profilec check` shows both places)"
            ),
        }
    }

    /// An unknown role is a wrong command line (2, like an unknown id); a role on several
    /// profiles is the file's problem (1).
    fn exit_code(&self) -> i32 {
        match self {
            RoleError::Unknown { .. } => exit::USAGE,
            RoleError::Ambiguous { .. } => exit::FAILED,
        }
    }
}

impl Project {
    /// The id of the one profile with `role` in its ROLES.
    pub fn profile_for_role(&self, role: &str) -> Result<String, RoleError> {
        let conf = &self.report.conf;
        let ids: Vec<String> = conf
            .with_role(role)
            .into_iter()
            .map(|p| p.id.value.clone())
            .collect();
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => {
                let mut known: Vec<String> = conf
                    .profiles
                    .iter()
                    .flat_map(|p| p.role_names().iter().cloned())
                    .collect();
                known.sort();
                known.dedup();
                Err(RoleError::Unknown {
                    role: role.to_string(),
                    file: self.conf_path.clone(),
                    known,
                })
            }
            _ => Err(RoleError::Ambiguous {
                role: role.to_string(),
                ids,
            }),
        }
    }
}
