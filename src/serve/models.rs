//! What `GET /api/v1/models` lists: every profile with its roles, source, whether its model
//! file is there, and a plan summary on the project's machine.

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::budget::Program;
use crate::project::{Project, ProjectError, open, plan_report};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ModelEntry {
    pub id: String,
    pub name: Option<String>,
    pub roles: Vec<String>,
    /// SOURCE: where `pull` downloads the model from (`hf://…` or a URL).
    pub source: Option<String>,
    /// MODEL resolved against `[runtime] models_dir`.
    pub model: Option<String>,
    /// The model file is there (`present`) or not (`missing`).
    pub status: ModelStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanSummary>,
    /// Why there is no plan (a missing model, options out of range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelStatus {
    Present,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlanSummary {
    /// Fits the machine's capacity (for --fit profiles: fit's placement fits).
    pub fits: bool,
    pub n_ctx: u64,
    pub devices: Vec<DeviceUse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeviceUse {
    /// `CPU`, `CUDA0`, …
    pub name: String,
    pub total_mib: f64,
    pub capacity_mib: f64,
}

/// The models of `conf` on the machine `hardware` describes (else profilec.toml beside it, else
/// detection).
pub fn list_models(conf: &Path, hardware: Option<&Path>) -> Result<Vec<ModelEntry>, ProjectError> {
    let mut project = open(conf, hardware)?;
    let ids = project.report.conf.ids();
    Ok(ids.iter().map(|id| entry(&mut project, id)).collect())
}

fn entry(project: &mut Project, id: &str) -> ModelEntry {
    let profile = project.report.conf.profile(id).cloned().unwrap_or_default();
    let mut e = ModelEntry {
        id: id.to_string(),
        name: profile.name.as_ref().map(|n| n.value.clone()),
        roles: profile.role_names().to_vec(),
        source: profile.source.as_ref().map(|s| s.value.to_string()),
        model: None,
        status: ModelStatus::Missing,
        plan: None,
        plan_error: None,
    };
    let resolved = match project.resolve(id, Program::LlamaServer) {
        Ok(r) => r,
        Err(err) => {
            e.plan_error = Some(err.to_string());
            return e;
        }
    };
    if let Some(path) = &resolved.model_path {
        e.model = Some(path.display().to_string());
        if path.is_file() {
            e.status = ModelStatus::Present;
        }
    }
    match plan_report(&resolved, 0) {
        Ok(report) => {
            e.plan = Some(PlanSummary {
                fits: report.fits(),
                n_ctx: report.plan.n_ctx,
                devices: report
                    .plan
                    .devices
                    .iter()
                    .map(|d| DeviceUse {
                        name: d.name.clone(),
                        total_mib: d.total_mib,
                        capacity_mib: d.capacity_mib,
                    })
                    .collect(),
            })
        }
        Err(err) => e.plan_error = Some(err.to_string()),
    }
    e
}
