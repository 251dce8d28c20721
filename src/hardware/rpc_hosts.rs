//! The `[[rpc]]` entries of profilec.toml: one table per llama.cpp RPC server (`--rpc`), with
//! the devices it exposes as `[[rpc.device]]` (docs/distributed.md).

use std::ops::Range;

use serde::Serialize;
use toml_edit::{Item, Table};

use super::fields::Section;
use super::rpc_client::parse_endpoint;
use crate::diag::Diagnostic;

const RPC_KEYS: &[&str] = &["endpoint", "device"];
const DEVICE_KEYS: &[&str] = &["name", "total_mib", "reserved_mib", "speed"];

/// One rpc-server, in `--rpc` order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcHost {
    /// `HOST:PORT` exactly as `--rpc` takes it (and as llama.cpp prints it in buffer names).
    pub endpoint: String,
    /// In the server's own order (its device index, the `N` of `RPCN[endpoint]` buffers).
    pub devices: Vec<RpcDevice>,
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcDevice {
    /// What the server runs on it (`CPU`, `CUDA0` on the remote host); the protocol does not carry
    /// it, so it is the user's label.
    pub name: String,
    pub total_mib: u64,
    /// Held by the remote host's OS and other programs.
    pub reserved_mib: u64,
    /// Relative speed; the fastest local GPU is 1.0. The network cost is separate.
    pub speed: f64,
}

pub(super) fn read_rpc_hosts<'a>(
    tables: impl Iterator<Item = &'a Table>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<RpcHost> {
    let mut hosts: Vec<RpcHost> = Vec::new();
    let mut endpoint_spans: Vec<Option<Range<usize>>> = Vec::new();
    for (i, table) in tables.enumerate() {
        let s = Section {
            table,
            name: format!("[[rpc]] #{}", i + 1),
            span: table.span(),
        };
        s.check_keys(RPC_KEYS, diags);
        let Some(endpoint) = s.string("endpoint", diags) else {
            if table.get("endpoint").is_none() {
                diags.push(s.missing("endpoint", "\"10.0.0.2:50052\""));
            }
            continue;
        };
        let span = s.value_span("endpoint");
        if let Err(e) = parse_endpoint(&endpoint) {
            let mut d = Diagnostic::error("hw::rpc-bad-endpoint", format!("{}: {e}", s.name))
                .label("not HOST:PORT")
                .help(e.help());
            if let Some(sp) = span.clone() {
                d = d.at(sp);
            }
            diags.push(d);
            continue;
        }
        if let Some(j) = hosts.iter().position(|h| h.endpoint == endpoint) {
            let mut d = Diagnostic::error(
                "hw::rpc-duplicate-endpoint",
                format!("rpc endpoint `{endpoint}` appears twice"),
            )
            .label("second definition")
            .help(
                "llama.cpp registers an endpoint once, so its devices cannot be counted twice: \
                 remove this [[rpc]] or give it the other server's address",
            );
            if let Some(sp) = span.clone() {
                d = d.at(sp);
            }
            if let Some(Some(first)) = endpoint_spans.get(j) {
                d = d.related(first.clone(), "first defined here");
            }
            diags.push(d);
            continue;
        }
        let devices = read_devices(&s, diags);
        hosts.push(RpcHost {
            endpoint,
            devices,
            span: s.span.clone(),
        });
        endpoint_spans.push(span);
    }
    hosts
}

fn read_devices(host: &Section, diags: &mut Vec<Diagnostic>) -> Vec<RpcDevice> {
    let tables: Vec<&Table> = match host.table.get("device") {
        None => {
            let mut d = Diagnostic::error(
                "hw::missing-key",
                format!("{} declares no device", host.name),
            )
            .label("an rpc-server exposes at least one device")
            .help(
                "add a [[rpc.device]] with name and total_mib under it, or let \
                 `profilec hw --write --rpc HOST:PORT` ask the running server",
            );
            if let Some(sp) = host.span.clone() {
                d = d.at(sp);
            }
            diags.push(d);
            return Vec::new();
        }
        Some(Item::ArrayOfTables(a)) => a.iter().collect(),
        Some(_) => {
            let mut d = Diagnostic::error(
                "hw::wrong-type",
                format!("{} `device` must be [[rpc.device]] tables", host.name),
            )
            .label("expected [[rpc.device]]")
            .help("write each device as a [[rpc.device]] table under its [[rpc]]");
            if let Some(sp) = host.value_span("device") {
                d = d.at(sp);
            }
            diags.push(d);
            return Vec::new();
        }
    };
    let mut devices = Vec::new();
    for (k, table) in tables.into_iter().enumerate() {
        let s = Section {
            table,
            name: format!("{} device #{}", host.name, k + 1),
            span: table.span(),
        };
        s.check_keys(DEVICE_KEYS, diags);
        let total = s.required_size("total_mib", "31958", diags);
        let mut reserved = s.u64("reserved_mib", diags).unwrap_or(0);
        if reserved > total && total > 0 {
            diags.push(s.out_of_range("reserved_mib", &format!("at most total_mib ({total})")));
            reserved = total;
        }
        devices.push(RpcDevice {
            name: s
                .string("name", diags)
                .unwrap_or_else(|| format!("device {k}")),
            total_mib: total,
            reserved_mib: reserved,
            speed: s.speed("speed", diags).unwrap_or(1.0),
        });
    }
    devices
}
