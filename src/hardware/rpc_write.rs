//! `hw --write --rpc HOST:PORT,…`: record what running rpc-servers report as `[[rpc]]` entries.
//! Like `hw --write` for local GPUs, only measured facts change (`total_mib`, the device count);
//! names, `reserved_mib` and `speed` the user wrote stay, as do comments and hosts not asked about.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{ArrayOfTables, Item, Table, Value};

use super::rpc_client::ServerInfo;
use super::write::{WriteError, int, parse_doc, set, set_if_absent};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcWriteSummary {
    pub path: PathBuf,
    pub changed: bool,
    /// Endpoints recorded (updated or added), in `--rpc` order.
    pub hosts_written: Vec<String>,
    /// `[[rpc]]` entries for other endpoints, left as they were.
    pub hosts_kept: usize,
}

/// Returns `src` with one `[[rpc]]` per probed server (matched by endpoint, new ones appended)
/// holding exactly its devices. `path` only names the file in errors.
pub fn update_rpc_toml(
    src: &str,
    servers: &[ServerInfo],
    path: &Path,
) -> Result<(String, usize), WriteError> {
    let mut doc = parse_doc(src, path)?;
    let not_table = || WriteError::NotATable {
        path: path.to_owned(),
        key: "rpc".to_owned(),
    };
    let root = doc.as_table_mut();
    let aot = root
        .entry("rpc")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(not_table)?;
    let mut asked = vec![false; aot.len()];
    for server in servers {
        let existing = aot
            .iter()
            .position(|t| t.get("endpoint").and_then(Item::as_str) == Some(&server.endpoint));
        let table = match existing {
            Some(i) => {
                asked[i] = true;
                aot.get_mut(i).ok_or_else(not_table)?
            }
            None => {
                let mut t = Table::new();
                t.insert(
                    "endpoint",
                    Item::Value(Value::from(server.endpoint.as_str())),
                );
                aot.push(t);
                asked.push(true);
                let last = aot.len() - 1;
                aot.get_mut(last).ok_or_else(not_table)?
            }
        };
        set_devices(table, server).ok_or_else(not_table)?;
    }
    let kept = asked.iter().filter(|a| !**a).count();
    Ok((doc.to_string(), kept))
}

fn set_devices(host: &mut Table, server: &ServerInfo) -> Option<()> {
    let devices = host
        .entry("device")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()?;
    while devices.len() > server.devices.len() {
        devices.remove(devices.len() - 1);
    }
    for (k, mem) in server.devices.iter().enumerate() {
        if devices.get(k).is_none() {
            devices.push(Table::new());
        }
        let t = devices.get_mut(k)?;
        // The protocol carries no device name: a label the user may change.
        set_if_absent(t, "name", Value::from(format!("device {k}")));
        set(t, "total_mib", int(mem.total_mib));
        // What others hold right now, as `hw --write` records for a local GPU; kept once written.
        set_if_absent(
            t,
            "reserved_mib",
            int(mem.total_mib.saturating_sub(mem.free_mib)),
        );
    }
    Some(())
}

/// Writes the probed servers into `path` (created if missing), atomically.
pub fn write_rpc(path: &Path, servers: &[ServerInfo]) -> Result<RpcWriteSummary, WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let old = match fs::read_to_string(&target) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let (text, hosts_kept) = update_rpc_toml(&old, servers, path)?;
    let changed = text != old;
    if changed {
        crate::fsutil::write_atomic(&target, &text).map_err(io)?;
    }
    Ok(RpcWriteSummary {
        path: path.to_owned(),
        changed,
        hosts_written: servers.iter().map(|s| s.endpoint.clone()).collect(),
        hosts_kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::RpcDeviceMemory as DeviceMemory;

    fn server(endpoint: &str, total: u64, free: u64) -> ServerInfo {
        ServerInfo {
            endpoint: endpoint.into(),
            version: "7.0.0".into(),
            devices: vec![DeviceMemory {
                total_mib: total,
                free_mib: free,
            }],
        }
    }

    #[test]
    fn updates_by_endpoint_and_keeps_user_values() {
        let src = "# rig\n[[rpc]]\nendpoint = \"10.0.0.2:50052\" # box B\n[[rpc.device]]\nname = \"CPU\"\ntotal_mib = 1\nreserved_mib = 4096\nspeed = 0.05\n\n[[rpc]]\nendpoint = \"10.0.0.9:1\"\n[[rpc.device]]\ntotal_mib = 5\n";
        let (out, kept) = update_rpc_toml(
            src,
            &[
                server("10.0.0.2:50052", 31958, 30000),
                server("10.0.0.3:50052", 8000, 7000),
            ],
            Path::new("x"),
        )
        .expect("updated");
        assert_eq!(kept, 1);
        assert!(out.contains("# box B"), "{out}");
        assert!(out.contains("total_mib = 31958"), "{out}");
        assert!(out.contains("reserved_mib = 4096"), "{out}");
        assert!(out.contains("speed = 0.05"), "{out}");
        assert!(out.contains("endpoint = \"10.0.0.3:50052\""), "{out}");
        assert!(out.contains("reserved_mib = 1000"), "{out}");
        let parsed = crate::hardware::parse(&out, Path::new("."));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.hardware.rpc.len(), 3);
    }
}
