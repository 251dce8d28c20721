//! The routes of the management API and its OpenAPI document (generated from these
//! annotations into docs/api/openapi.json; docs/api.md).

use crate::error::Failure as _;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use super::auth::{Auth, require_token};
use super::models::{DeviceUse, ModelEntry, ModelStatus, PlanSummary, list_models};
use super::provision::{ProvisionRequest, provision};
use crate::budget::Program;
use crate::doctor::{DEFAULT_MIN_FREE_GIB, DEFAULT_MIN_FREE_RATIO, Thresholds, doctor};
use crate::project::{ProjectError, open, plan_report};

/// What every handler reads: the models.conf and machine it serves.
pub struct ServeState {
    pub conf: PathBuf,
    pub hardware: Option<PathBuf>,
}

/// An error as the API returns it (never for 401, which has no body).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// Stable code, e.g. `api::bad-json`, `project::unknown-profile`.
    pub code: String,
    pub message: String,
    /// How to fix it.
    pub help: String,
}

struct Failure(StatusCode, ApiError);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

fn failure(status: StatusCode, code: &str, message: String, help: String) -> Failure {
    Failure(
        status,
        ApiError {
            code: code.into(),
            message,
            help,
        },
    )
}

fn project_failure(e: &ProjectError) -> Failure {
    match e {
        ProjectError::UnknownProfile { .. } => failure(
            StatusCode::NOT_FOUND,
            "project::unknown-profile",
            e.to_string(),
            crate::error::Failure::help(e),
        ),
        _ => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "project::unreadable",
            e.to_string(),
            crate::error::Failure::help(e),
        ),
    }
}

/// Runs `work` off the async threads (it reads files and plans).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api::internal",
            format!("the request's worker failed: {e}"),
            "report this with the request that caused it".into(),
        ))
    })
}

#[derive(Serialize, ToSchema)]
pub struct ModelList {
    pub conf: String,
    pub models: Vec<ModelEntry>,
}

/// The profiles with their plan summary, roles, source and whether the model file is there.
#[utoipa::path(get, path = "/api/v1/models", tag = "models",
    responses((status = 200, body = ModelList), (status = 401, description = "no or wrong bearer token (no body)")),
    security(("bearer" = [])))]
async fn models(State(s): State<Arc<ServeState>>) -> Result<Json<ModelList>, Failure> {
    blocking(move || {
        let models =
            list_models(&s.conf, s.hardware.as_deref()).map_err(|e| project_failure(&e))?;
        Ok(Json(ModelList {
            conf: s.conf.display().to_string(),
            models,
        }))
    })
    .await
}

/// `profilec plan ID --format json` of one profile.
#[utoipa::path(get, path = "/api/v1/models/{id}/plan", tag = "models",
    params(("id" = String, Path, description = "profile id")),
    responses(
        (status = 200, description = "the plan report (as `profilec plan ID --format json`)", body = Object),
        (status = 404, body = ApiError), (status = 422, description = "no plan: the model is missing or the options cannot be planned", body = ApiError),
        (status = 401, description = "no or wrong bearer token (no body)")),
    security(("bearer" = [])))]
async fn plan(
    State(s): State<Arc<ServeState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Failure> {
    blocking(move || {
        let mut project = open(&s.conf, s.hardware.as_deref()).map_err(|e| project_failure(&e))?;
        let errors = {
            let profile = project.profile(&id).map_err(|e| project_failure(&e))?;
            project.errors_for(profile).len()
        };
        let resolved = project
            .resolve(&id, Program::LlamaServer)
            .map_err(|e| project_failure(&e))?;
        let report = plan_report(&resolved, errors).map_err(|e| {
            failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plan::no-plan",
                e.to_string(),
                "`profilec plan ID` shows the problem; `profilec pull ID` fetches a missing model"
                    .into(),
            )
        })?;
        Ok(Json(serde_json::to_value(&report).unwrap_or_default()))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DoctorQuery {
    /// A profile id: also check its plan against the memory free now.
    id: Option<String>,
    /// GiB that must stay free on every device (default 1).
    min_free_gib: Option<f64>,
    /// Fraction of each device's total that must stay free (default 0.05).
    min_free_ratio: Option<f64>,
}

/// `profilec doctor [ID] --json`: memory free now, risk per device, remediation.
#[utoipa::path(get, path = "/api/v1/doctor", tag = "doctor", params(DoctorQuery),
    responses(
        (status = 200, description = "the doctor report (docs/doctor.schema.json)", body = Object),
        (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 401, description = "no or wrong bearer token (no body)")),
    security(("bearer" = [])))]
async fn doctor_route(
    State(s): State<Arc<ServeState>>,
    Query(q): Query<DoctorQuery>,
) -> Result<Json<serde_json::Value>, Failure> {
    let t = Thresholds {
        min_free_gib: q.min_free_gib.unwrap_or(DEFAULT_MIN_FREE_GIB),
        min_free_ratio: q.min_free_ratio.unwrap_or(DEFAULT_MIN_FREE_RATIO),
    };
    if !(t.min_free_gib >= 0.0 && (0.0..=1.0).contains(&t.min_free_ratio)) {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "api::bad-threshold",
            "min_free_gib must be 0 or more and min_free_ratio between 0 and 1".into(),
            "e.g. ?min_free_gib=2&min_free_ratio=0.1".into(),
        ));
    }
    blocking(move || {
        let now = crate::hardware::memory_now();
        let report = match &q.id {
            None => doctor(&now, &t, None),
            Some(id) => {
                let mut project =
                    open(&s.conf, s.hardware.as_deref()).map_err(|e| project_failure(&e))?;
                let resolved = project
                    .resolve(id, Program::LlamaServer)
                    .map_err(|e| project_failure(&e))?;
                doctor(&now, &t, Some(&resolved))
            }
        };
        Ok(Json(serde_json::to_value(&report).unwrap_or_default()))
    })
    .await
}

/// `profilec pull --roles … [--force] --json`: download the missing models of these roles.
/// Concurrent requests for the same file download it once.
#[utoipa::path(post, path = "/api/v1/models/provision", tag = "models",
    request_body = ProvisionRequest,
    responses(
        (status = 200, description = "one action per profile (as `profilec pull --json`)", body = Object),
        (status = 400, description = "malformed JSON, or a role no profile has", body = ApiError),
        (status = 415, description = "not `Content-Type: application/json`", body = ApiError),
        (status = 401, description = "no or wrong bearer token (no body)")),
    security(("bearer" = [])))]
async fn provision_route(
    State(s): State<Arc<ServeState>>,
    body: Result<Json<ProvisionRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Failure> {
    let Json(request) = body.map_err(|r| {
        let status = match r {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        failure(
            status,
            "api::bad-json",
            r.body_text(),
            "send `Content-Type: application/json` and a body like {\"roles\": [\"coding\"], \"force\": false}".into(),
        )
    })?;
    blocking(move || {
        let report = provision(&s.conf, s.hardware.as_deref(), &request).map_err(|e| {
            let status = match e {
                crate::pull::PullError::UnknownRole { .. }
                | crate::pull::PullError::UnknownProfile { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            failure(status, e.code(), e.to_string(), e.help())
        })?;
        Ok(Json(serde_json::to_value(&report).unwrap_or_default()))
    })
    .await
}

async fn not_found() -> Failure {
    failure(
        StatusCode::NOT_FOUND,
        "api::not-found",
        "no such endpoint".into(),
        "the endpoints are listed in docs/api/openapi.json".into(),
    )
}

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "profilec management API", description = "docs/api.md"),
    paths(models, plan, doctor_route, provision_route),
    components(schemas(ModelList, ModelEntry, ModelStatus, PlanSummary, DeviceUse, ApiError, ProvisionRequest)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// The OpenAPI document of the routes (docs/api/openapi.json holds it; a test keeps it current).
pub fn openapi_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// Every route behind the token check; unknown paths are a JSON 404, wrong methods axum's 405.
pub fn router(state: Arc<ServeState>, auth: Auth) -> Router {
    Router::new()
        .route("/api/v1/models", get(models))
        .route("/api/v1/models/{id}/plan", get(plan))
        .route("/api/v1/doctor", get(doctor_route))
        .route("/api/v1/models/provision", post(provision_route))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(auth, require_token))
        .with_state(state)
}
