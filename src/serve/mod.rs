//! `profilec serve`: a small HTTP management API over one models.conf — the models with their
//! plans, a profile's plan, `doctor`, and provisioning (`pull`) — behind a bearer token
//! (docs/api.md). axum on tokio; the work of each request (reading files, planning, downloading)
//! runs on tokio's blocking threads.

mod api;
mod auth;
mod models;
mod provision;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use api::{ApiError, ServeState, openapi_json, router};
pub use auth::{Auth, TOKEN_ENV, auth_policy, token_matches};
pub use models::{DeviceUse, ModelEntry, ModelStatus, PlanSummary, list_models};
pub use provision::{ProvisionRequest, provision};

/// Default `--bind`.
pub const DEFAULT_BIND: &str = "127.0.0.1:8765";

#[derive(Clone)]
pub struct ServeOptions {
    pub conf: PathBuf,
    pub hardware: Option<PathBuf>,
    pub bind: SocketAddr,
    pub auth: Auth,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("no API token: {TOKEN_ENV} is not set")]
    NoToken,
    #[error("--no-auth is only allowed on a loopback address, not {bind}")]
    NoAuthOffLoopback { bind: SocketAddr },
    #[error("{TOKEN_ENV} is set and --no-auth asks for no token")]
    TokenAndNoAuth,
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

impl crate::error::Failure for ServeError {
    fn code(&self) -> &'static str {
        match self {
            ServeError::NoToken => "serve::no-token",
            ServeError::NoAuthOffLoopback { .. } => "serve::no-auth-off-loopback",
            ServeError::TokenAndNoAuth => "serve::token-and-no-auth",
            ServeError::Bind { .. } => "serve::bind",
            ServeError::Io(_) => "serve::io",
        }
    }

    /// Every way `serve` cannot run is the command line or the machine's I/O (2).
    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }

    fn help(&self) -> String {
        match self {
            ServeError::NoToken => format!(
                "set {TOKEN_ENV} to a long random secret (e.g. `export {TOKEN_ENV}=$(openssl rand -hex 32)`); clients send `Authorization: Bearer <it>`. On 127.0.0.1 only, `--no-auth` runs without one"
            ),
            ServeError::NoAuthOffLoopback { .. } => format!(
                "bind to 127.0.0.1 (or ::1) for --no-auth, or set {TOKEN_ENV}: anyone who can reach the address could otherwise start downloads"
            ),
            ServeError::TokenAndNoAuth => format!("unset {TOKEN_ENV} or drop --no-auth"),
            ServeError::Bind { .. } => {
                "choose a free port (`--bind 127.0.0.1:PORT`) or stop what listens there".into()
            }
            ServeError::Io(_) => "see the error; restart `profilec serve`".into(),
        }
    }
}

/// Serves until SIGINT or SIGTERM; `ready` is called with the bound address once listening.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|source| ServeError::Bind {
                bind: opts.bind,
                source,
            })?;
        ready(listener.local_addr()?);
        let state = Arc::new(ServeState {
            conf: opts.conf,
            hardware: opts.hardware,
        });
        axum::serve(listener, router(state, opts.auth))
            .with_graceful_shutdown(stop_signal())
            .await?;
        Ok(())
    })
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
