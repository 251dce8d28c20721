//! `profilec hw --rpc HOST:PORT[,…]`: ask running llama.cpp rpc-servers for their devices and
//! memory; with `--write`, record them as `[[rpc]]` entries (docs/distributed.md).

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::hw::Format;
use crate::hardware::{self, RpcError, RpcWriteSummary, ServerInfo};

pub fn run(list: &str, timeout_secs: f64, write: Option<&Path>, format: Format) -> i32 {
    let endpoints = match hardware::parse_endpoint_list(list) {
        Ok(e) => e,
        Err(e) => return super::fail(&e),
    };
    let timeout = Duration::from_secs_f64(timeout_secs.clamp(0.1, 600.0));
    let results = hardware::probe_rpc_all(&endpoints, timeout);
    let (servers, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let servers: Vec<ServerInfo> = servers.into_iter().filter_map(Result::ok).collect();
    let errors: Vec<RpcError> = errors.into_iter().filter_map(Result::err).collect();
    // A partial answer is not written: the file would describe a rig that cannot start.
    let written = match (write, errors.is_empty()) {
        (Some(path), true) => match hardware::write_rpc(path, &servers) {
            Ok(summary) => Some(summary),
            Err(e) => return super::fail(&e),
        },
        _ => None,
    };
    match format {
        Format::Json => {
            let errs: Vec<_> = errors
                .iter()
                .map(|e| {
                    json!({"endpoint": e.endpoint(), "code": e.code(), "message": e.to_string(), "help": e.help()})
                })
                .collect();
            println!(
                "{}",
                json!({"servers": servers, "errors": errs, "written": written})
            );
        }
        Format::Human => {
            print!("{}", human(&servers, written.as_ref()));
            for e in &errors {
                eprintln!("error[{}]: {e}\n  help: {}", e.code(), e.help());
            }
            if write.is_some() && !errors.is_empty() {
                eprintln!("nothing written: every server must answer first");
            }
        }
    }
    if errors.is_empty() { 0 } else { 2 }
}

fn human(servers: &[ServerInfo], written: Option<&RpcWriteSummary>) -> String {
    let mut out = String::new();
    // Numbered across servers in --rpc order, as llama-server's --list-devices shows them.
    let mut n = 0;
    for s in servers {
        out += &format!("rpc-server {} (protocol {})\n", s.endpoint, s.version);
        for (k, d) in s.devices.iter().enumerate() {
            out += &format!(
                "  RPC{n:<3} {k} on the server, buffers RPC{k}[{}]: {} MiB total, {} MiB free\n",
                s.endpoint, d.total_mib, d.free_mib
            );
            n += 1;
        }
    }
    if let Some(w) = written {
        let verb = if w.changed { "updated" } else { "unchanged:" };
        out += &format!(
            "{verb} {} ([[rpc]] {}",
            w.path.display(),
            w.hosts_written.join(", ")
        );
        if w.hosts_kept > 0 {
            out += &format!("; {} other [[rpc]] left as declared", w.hosts_kept);
        }
        out += ")\n";
    }
    out
}
