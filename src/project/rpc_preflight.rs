//! `start`'s check of the remote side before llama-server is spawned: every `--rpc` endpoint
//! answers the RPC handshake (short timeout), and each RPC device reports at least the free
//! memory the plan puts on it. llama.cpp itself would abort mid-load (`RPC handshake failed`,
//! ggml-rpc.cpp) or run out of memory on the remote host after minutes of upload.

use std::time::Duration;

use crate::budget::Plan;
use crate::hardware::{Machine, RpcError, ServerInfo, parse_endpoint_list, probe_rpc_all};

/// How long `start` waits on each rpc-server: a live one answers in milliseconds.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum RpcPreflightError {
    #[error(transparent)]
    Server(#[from] RpcError),
    #[error(
        "{device} ({endpoint}, device {index} there) has {free_mib} MiB free, but the plan puts {planned_mib:.0} MiB on it"
    )]
    NotEnoughMemory {
        device: String,
        endpoint: String,
        index: u32,
        free_mib: u64,
        planned_mib: f64,
    },
    #[error("{endpoint} has {reported} device(s), but profilec.toml declares {declared}")]
    DeviceCount {
        endpoint: String,
        reported: usize,
        declared: usize,
    },
}

impl crate::error::Failure for RpcPreflightError {
    fn code(&self) -> &'static str {
        RpcPreflightError::code(self)
    }
    fn help(&self) -> String {
        RpcPreflightError::help(self)
    }
    /// Nothing was launched: the launch failed (docs/diagnostics.md).
    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

impl RpcPreflightError {
    pub fn code(&self) -> &'static str {
        match self {
            RpcPreflightError::Server(e) => e.code(),
            RpcPreflightError::NotEnoughMemory { .. } => "rpc::not-enough-memory",
            RpcPreflightError::DeviceCount { .. } => "rpc::device-count",
        }
    }

    pub fn help(&self) -> String {
        match self {
            RpcPreflightError::Server(e) => e.help(),
            RpcPreflightError::NotEnoughMemory { endpoint, .. } => format!(
                "free memory on {endpoint} (another model or process holds it), or move layers \
                 off that device (-ts, fewer -ngl) and run `profilec plan` again"
            ),
            RpcPreflightError::DeviceCount { endpoint, .. } => format!(
                "the server changed: record it again with `profilec hw --rpc {endpoint} --write`"
            ),
        }
    }
}

/// Probes every endpoint of `rpc` (the profile's `--rpc` value) and holds the answers to `plan`
/// on `machine` (whose RPC devices came from the same list).
pub fn rpc_preflight(
    rpc: &str,
    machine: &Machine,
    plan: Option<&Plan>,
    timeout: Duration,
) -> Result<(), RpcPreflightError> {
    let endpoints = parse_endpoint_list(rpc)?;
    let mut servers = Vec::new();
    for result in probe_rpc_all(&endpoints, timeout) {
        servers.push(result?);
    }
    match plan {
        Some(plan) => check_free(machine, plan, &servers),
        None => Ok(()),
    }
}

/// Each RPC device of `machine` against what its server reported.
pub fn check_free(
    machine: &Machine,
    plan: &Plan,
    servers: &[ServerInfo],
) -> Result<(), RpcPreflightError> {
    for server in servers {
        let declared = machine
            .gpus
            .iter()
            .filter(|d| d.endpoint.as_deref() == Some(server.endpoint.as_str()))
            .count();
        if declared > server.devices.len() {
            return Err(RpcPreflightError::DeviceCount {
                endpoint: server.endpoint.clone(),
                reported: server.devices.len(),
                declared,
            });
        }
    }
    for d in &machine.gpus {
        let (Some(endpoint), Some(index)) = (&d.endpoint, d.server_index) else {
            continue;
        };
        let Some(mem) = servers
            .iter()
            .find(|s| &s.endpoint == endpoint)
            .and_then(|s| s.devices.get(index as usize))
        else {
            continue;
        };
        let planned = plan.device(&d.id).map_or(0.0, |p| p.total_mib);
        if planned > mem.free_mib as f64 {
            return Err(RpcPreflightError::NotEnoughMemory {
                device: d.id.clone(),
                endpoint: endpoint.clone(),
                index,
                free_mib: mem.free_mib,
                planned_mib: planned,
            });
        }
    }
    Ok(())
}
