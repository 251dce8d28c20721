//! `POST /api/v1/models/provision`: `pull` for the profiles with the given roles. Concurrent
//! requests for one file download it once: `pull` holds a lock on the model's folder across
//! threads and processes (src/pull/download.rs), so a request that waited finds it present.

use std::path::Path;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::pull::{FreeSpace, PullError, PullReport, PullRequest, pull};

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// Only the profiles with one of these roles; empty or absent: every profile.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Re-verify files that exist (SHA-256) instead of reporting them `present`.
    #[serde(default)]
    pub force: bool,
}

/// Pulls the models of `request.roles` in `conf` (free disk space measured).
pub fn provision(
    conf: &Path,
    hardware: Option<&Path>,
    request: &ProvisionRequest,
) -> Result<PullReport, PullError> {
    pull(&PullRequest {
        conf: conf.to_path_buf(),
        hardware: hardware.map(Path::to_path_buf),
        ids: Vec::new(),
        roles: request.roles.clone(),
        force: request.force,
        free_space: FreeSpace::Measure,
    })
}
