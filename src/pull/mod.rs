//! `profilec pull`: download the MODEL of profiles that have a SOURCE and no file yet — free disk
//! space checked first, resumed from a `.part` file, SHA-256 verified (the hub's LFS object id or
//! SHA256=), installed by atomic rename, split shards included. One [`ProfileAction`] per
//! profile. See docs/remote.md.
//!
//! The library entry point is [`pull`]; `serve`'s provision endpoint calls it too, so its input
//! and output types are stable.

mod disk;
mod download;
mod select;

use std::path::PathBuf;

use serde::Serialize;

pub use disk::{FreeSpace, free_bytes};
pub use select::Planned;

use crate::error::Failure;
use crate::remote::Client;

/// What to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The models.conf.
    pub conf: PathBuf,
    /// profilec.toml (its `[runtime] models_dir` is where MODEL lives); `None`: the usual lookup.
    pub hardware: Option<PathBuf>,
    /// Profile ids; empty means every profile.
    pub ids: Vec<String>,
    /// Only profiles with one of these roles (the `ROLES=` key, comma-separated); empty: all.
    pub roles: Vec<String>,
    /// Re-verify files that exist (SHA-256 against SHA256= or the hub) instead of `present`.
    pub force: bool,
    /// How free disk space is found (measured, or given: tests and dry runs).
    pub free_space: FreeSpace,
}

impl PullRequest {
    /// Every profile of `conf`, disk space measured, no progress bar.
    pub fn new(conf: impl Into<PathBuf>) -> PullRequest {
        PullRequest {
            conf: conf.into(),
            hardware: None,
            ids: Vec::new(),
            roles: Vec::new(),
            force: false,
            free_space: FreeSpace::Measure,
        }
    }
}

/// What happened to one profile's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The file is there; nothing was checked or fetched.
    Present,
    /// Downloaded from the start.
    Downloaded,
    /// Downloaded, continuing a `.part` file (from an earlier run or a dropped connection).
    Resumed,
    /// `--force`: the file that was there hashes to the expected SHA-256.
    Verified,
    /// Nothing was installed at the MODEL path.
    Failed {
        /// Stable code (`pull::…` or `remote::…`, docs/remote.md).
        code: String,
        reason: String,
        help: String,
    },
}

/// One profile's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileAction {
    pub id: String,
    pub roles: Vec<String>,
    /// MODEL resolved against `[runtime] models_dir` (the first shard of a split model).
    pub model: Option<PathBuf>,
    pub source: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    /// Bytes received for this profile in this run.
    pub bytes_downloaded: u64,
    /// SHA-256 of each file checked (first shard first); empty when nothing was hashed.
    pub sha256: Vec<String>,
    /// What the digest was checked against: `SHA256` (models.conf), `hub` (LFS object id), or
    /// `null` (nothing to check against: the digest is reported only).
    pub verified_against: Option<String>,
}

/// Every profile's outcome, in models.conf order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullReport {
    pub actions: Vec<ProfileAction>,
}

impl PullReport {
    pub fn failed(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a.action, Action::Failed { .. }))
            .count()
    }

    /// 0 when every profile has its model, 1 when one failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failed() > 0)
    }
}

/// Problems with the request itself (no profile was looked at).
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("cannot read {path}: {source}")]
    Conf {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Hardware(#[from] crate::hardware::LoadError),
    #[error("no profile `{id}` in {file}; profiles: {known}")]
    UnknownProfile {
        id: String,
        file: PathBuf,
        known: String,
    },
    #[error("no profile in {file} has the role `{role}`")]
    UnknownRole { role: String, file: PathBuf },
}

impl Failure for PullError {
    fn code(&self) -> &'static str {
        match self {
            PullError::Conf { .. } => "pull::conf",
            PullError::Hardware(_) => "pull::hardware",
            PullError::UnknownProfile { .. } => "pull::unknown-profile",
            PullError::UnknownRole { .. } => "pull::unknown-role",
        }
    }

    fn help(&self) -> String {
        match self {
            PullError::Conf { .. } => "check the path of models.conf".into(),
            PullError::Hardware(e) => crate::error::Failure::help(e),
            PullError::UnknownProfile { .. } => "use an id from models.conf".into(),
            PullError::UnknownRole { .. } => {
                "add the role to a profile's ROLES (e.g. ROLES=general,coding), or drop --roles"
                    .into()
            }
        }
    }

    /// 2: nothing was attempted.
    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }
}

/// Pulls with the client `HF_ENDPOINT`/`HF_TOKEN` describe.
pub fn pull(request: &PullRequest) -> Result<PullReport, PullError> {
    pull_with(request, &Client::from_env())
}

/// [`pull`] through a given client.
pub fn pull_with(request: &PullRequest, client: &Client) -> Result<PullReport, PullError> {
    pull_observed(request, client, &mut |_| {})
}

/// Download progress, for a progress bar (the CLI draws it; the library prints nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A profile's download begins: `total` bytes to fetch, `done` of them already in `.part`.
    Start { id: String, total: u64, done: u64 },
    /// More bytes arrived.
    Advance(u64),
    /// The profile's download ended (installed or failed).
    Finish { id: String },
}

/// [`pull_with`], reporting progress to `observe`.
pub fn pull_observed(
    request: &PullRequest,
    client: &Client,
    observe: &mut dyn FnMut(Progress),
) -> Result<PullReport, PullError> {
    let planned = select::plan(request)?;
    let actions = planned
        .iter()
        .map(|p| download::run(p, request, client, observe))
        .collect();
    Ok(PullReport { actions })
}
