//! After llama-server ended on its own: which rpc-server it lost. llama.cpp aborts on a failed
//! RPC call without naming the server (`RPC_STATUS_ASSERT`: "Remote RPC server crashed or
//! returned malformed response", ggml/src/ggml-rpc/ggml-rpc.cpp), so `start` probes every
//! `--rpc` endpoint once the server is gone and names the ones that no longer answer.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use crate::hardware::{parse_endpoint_list, probe_rpc_all};

/// What ggml-rpc.cpp prints before it aborts when a server fails (b11434).
const RPC_FAILURES: &[&str] = &[
    "Remote RPC server crashed or returned malformed response",
    "RPC handshake failed for",
    "Failed to connect to",
];

/// How much of the log's end is searched for those lines.
const TAIL_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "llama-server stopped: lost the rpc-server {} ({}){}",
    lost.join(", "),
    reasons.join("; "),
    log_line.as_ref().map(|l| format!("; llama.cpp said: {l}")).unwrap_or_default()
)]
pub struct RpcServerLost {
    /// The endpoints that no longer answer the handshake.
    pub lost: Vec<String>,
    /// Why each one failed, as the probe saw it.
    pub reasons: Vec<String>,
    /// llama.cpp's own RPC failure line from the log, if there is one.
    pub log_line: Option<String>,
}

impl crate::error::Failure for RpcServerLost {
    fn code(&self) -> &'static str {
        "rpc::server-lost"
    }

    fn help(&self) -> String {
        format!(
            "start ggml-rpc-server again on {} and rerun `profilec start`; if it died on its \
             own, look at that host's memory (the kernel's OOM killer) and the rpc-server's \
             output, and at the network between the hosts",
            self.lost.join(", ")
        )
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

/// Probes the endpoints of `rpc` (the profile's `--rpc` value) after llama-server exited on its
/// own, and reads the end of its log at `log`: `Some` when a server no longer answers.
pub fn rpc_lost(rpc: &str, log: &Path, timeout: Duration) -> Option<RpcServerLost> {
    let endpoints = parse_endpoint_list(rpc).ok()?;
    let mut lost = Vec::new();
    let mut reasons = Vec::new();
    for (e, result) in endpoints.iter().zip(probe_rpc_all(&endpoints, timeout)) {
        if let Err(err) = result {
            lost.push(e.to_string());
            reasons.push(err.to_string());
        }
    }
    if lost.is_empty() {
        return None;
    }
    Some(RpcServerLost {
        lost,
        reasons,
        log_line: failure_line(log),
    })
}

/// The last RPC failure line in the end of `log`, without llama.cpp's log prefix.
fn failure_line(log: &Path) -> Option<String> {
    let mut f = std::fs::File::open(log).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut bytes = Vec::new();
    f.take(TAIL_BYTES).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.lines().rev().find_map(|l| {
        RPC_FAILURES
            .iter()
            .find_map(|m| l.find(m).map(|at| l[at..].trim().to_string()))
    })
}
