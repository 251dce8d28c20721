//! Typed errors of remote headers and downloads, with stable codes (docs/remote.md).

use crate::diag::{Diagnostic, Severity};
use crate::error::Failure;
use crate::gguf::GgufError;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("`{given}` is not a model source: {reason}")]
    BadSource { given: String, reason: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} did not answer in time")]
    Timeout { url: String },
    #[error("{url} does not exist (HTTP 404)")]
    NotFound { url: String },
    #[error("{url} refused access (HTTP {status})")]
    Unauthorized { url: String, status: u16 },
    #[error("{url} answered HTTP {status}{}", if excerpt.is_empty() { String::new() } else { format!(": {excerpt}") })]
    Status {
        url: String,
        status: u16,
        excerpt: String,
    },
    #[error("{url} does not serve byte ranges (no 206 answer to a Range request)")]
    NoRange { url: String },
    #[error("{url}: {reason}")]
    Protocol { url: String, reason: String },
    #[error("{url}: the connection ended early: {reason}")]
    Interrupted { url: String, reason: String },
    #[error("{url}: the GGUF header needs more than {budget} bytes, more than any real model's")]
    HeaderTooLarge { url: String, budget: u64 },
    #[error("{0}")]
    Gguf(Box<GgufError>),
}

impl Failure for RemoteError {
    /// Stable diagnostic code (`remote::…`, or the GGUF stage's own for a bad header).
    fn code(&self) -> &'static str {
        match self {
            RemoteError::BadSource { .. } => "remote::bad-source",
            RemoteError::Unreachable { .. } => "remote::unreachable",
            RemoteError::Timeout { .. } => "remote::timeout",
            RemoteError::NotFound { .. } => "remote::not-found",
            RemoteError::Unauthorized { .. } => "remote::unauthorized",
            RemoteError::Status { .. } => "remote::http-status",
            RemoteError::NoRange { .. } => "remote::no-range",
            RemoteError::Protocol { .. } => "remote::protocol",
            RemoteError::Interrupted { .. } => "remote::interrupted",
            RemoteError::HeaderTooLarge { .. } => "remote::header-too-large",
            RemoteError::Gguf(e) => e.code(),
        }
    }

    fn help(&self) -> String {
        self.help_text().to_string()
    }

    /// 2 for what cannot be reached or read; 1 when the bytes are there but not a usable GGUF.
    fn exit_code(&self) -> i32 {
        match self {
            RemoteError::Gguf(e) => e.exit_code(),
            RemoteError::HeaderTooLarge { .. } => 1,
            _ => 2,
        }
    }
}

impl RemoteError {
    fn help_text(&self) -> &'static str {
        match self {
            RemoteError::BadSource { .. } => {
                "write hf://ORG/REPO/PATH.gguf (optionally @REVISION) or an https:// URL of a .gguf file"
            }
            RemoteError::Unreachable { .. } => {
                "check the network, the URL's host and HF_ENDPOINT; then run the command again"
            }
            RemoteError::Timeout { .. } => {
                "the server is slow or stalled: run again (pull resumes), or raise PROFILEC_HTTP_TIMEOUT (seconds)"
            }
            RemoteError::NotFound { .. } => {
                "check ORG/REPO, the file's path in the repository and the revision (the hub's file list shows them)"
            }
            RemoteError::Unauthorized { .. } => {
                "the repository is gated or private: accept its terms on the hub and set HF_TOKEN to a token with read access"
            }
            RemoteError::Status { .. } | RemoteError::Protocol { .. } => {
                "the server misbehaved: try again later, or download the file by hand and set MODEL"
            }
            RemoteError::NoRange { .. } => {
                "use a server that supports HTTP Range requests (the hub and its CDN do), or download the file and inspect it locally"
            }
            RemoteError::Interrupted { .. } => {
                "run the command again; `pull` resumes where it stopped"
            }
            RemoteError::HeaderTooLarge { .. } => {
                "the file is not a usable GGUF (its header claims gigabytes); check the URL"
            }
            RemoteError::Gguf(e) => e.help(),
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::new(self.code(), Severity::Error, self.to_string()).help(self.help())
    }
}
