//! Profiles that use llama.cpp's RPC backend (`--rpc HOST:PORT,…`): every endpoint must be a
//! declared `[[rpc]]` host, or its memory is unknown and nothing can be planned on it; and an
//! endpoint on a public address is a warning, since rpc-server has no authentication
//! (docs/distributed.md).

use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::Path;

use super::Extra;
use crate::config::{Conf, Profile};
use crate::diag::Diagnostic;
use crate::hardware::{Hardware, parse_endpoint_list};

/// Every profile's effective `--rpc` (EXTRA_ARGS or `[defaults] rpc`) against `hw`.
pub(super) fn check_all(
    conf: &Conf,
    extra: &[Option<Extra>],
    hw: Option<&Hardware>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(hw) = hw else { return };
    for (p, e) in conf.profiles.iter().zip(extra) {
        // MODEL's directory does not matter for --rpc.
        let eff = crate::resolve::effective(p, &hw.defaults, Path::new("."));
        check(p, eff.value("--rpc"), e.as_ref(), hw, out);
        if let Some(devices) = eff.value("--device") {
            check_devices(p, devices, eff.value("--rpc"), e.as_ref(), hw, out);
        }
    }
}

/// `--device LIST` against the devices the launch will have: llama.cpp looks each name up
/// case-insensitively among the registered devices (`parse_device_list` in common/arg.cpp,
/// `ggml_backend_dev_by_name`) and refuses an unknown one or the CPU; `none` alone keeps every
/// layer on the CPU. RPC devices (`RPC0`…) exist only with `--rpc`.
fn check_devices(
    p: &Profile,
    list: &str,
    rpc: Option<&str>,
    args: Option<&Extra>,
    hw: &Hardware,
    out: &mut Vec<Diagnostic>,
) {
    if list == "none" {
        return;
    }
    let machine = hw.machine_for(rpc);
    let have: Vec<&str> = machine.gpus.iter().map(|g| g.id.as_str()).collect();
    let span: Range<usize> = args
        .and_then(|a| a.span_of("--device"))
        .unwrap_or_else(|| p.id.span.clone());
    for name in list.split(',') {
        if have.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            continue;
        }
        let has = if have.is_empty() {
            "no GPU or RPC device".to_string()
        } else {
            have.join(", ")
        };
        let help = if name.eq_ignore_ascii_case("cpu") {
            "llama.cpp offloads only to GPUs and RPC devices (`invalid device: CPU`); \
             `--device none` keeps every layer on the CPU"
                .to_string()
        } else if name.to_ascii_uppercase().starts_with("RPC") && rpc.is_none() {
            "RPC devices exist only with `--rpc HOST:PORT,…`: add the servers to the profile \
             (each declared as an [[rpc]] host in profilec.toml)"
                .to_string()
        } else if have.is_empty() {
            "this machine has nothing to offload to: remove --device, or declare the GPUs in \
             profilec.toml (`profilec hw --write`)"
                .to_string()
        } else {
            format!(
                "name one of {has} (`llama-server --list-devices` prints them; RPC devices are \
                 numbered across the --rpc servers in order)"
            )
        };
        out.push(
            Diagnostic::error(
                "place::unknown-device",
                format!(
                    "profile `{}`: --device {name} names a device this launch does not have (it has {has})",
                    p.id.value
                ),
            )
            .at(span.clone())
            .label(format!("no device {name}"))
            .help(help),
        );
    }
}

fn check(
    p: &Profile,
    rpc: Option<&str>,
    args: Option<&Extra>,
    hw: &Hardware,
    out: &mut Vec<Diagnostic>,
) {
    let Some(list) = rpc else { return };
    // `--rpc` from [defaults] has no span in models.conf: the profile header stands for it.
    let span: Range<usize> = args
        .and_then(|a| a.span_of("--rpc"))
        .unwrap_or_else(|| p.id.span.clone());
    let endpoints = match parse_endpoint_list(list) {
        Ok(e) => e,
        Err(e) => {
            out.push(
                Diagnostic::error(e.code(), format!("profile `{}`: {e}", p.id.value))
                    .at(span)
                    .label("in this --rpc list")
                    .help(e.help()),
            );
            return;
        }
    };
    if hw.rpc.is_empty() {
        out.push(
            Diagnostic::error(
                "rpc::no-rpc-hosts",
                format!(
                    "profile `{}` uses --rpc, but profilec.toml declares no [[rpc]] host",
                    p.id.value
                ),
            )
            .at(span)
            .label("remote devices of unknown size")
            .help(format!(
                "describe the servers so their memory can be planned: with them running, \
                 `profilec hw --rpc {list} --write` records them (docs/distributed.md)"
            )),
        );
        return;
    }
    for e in &endpoints {
        let name = e.to_string();
        if !hw.rpc.iter().any(|h| h.endpoint == name) {
            let declared: Vec<&str> = hw.rpc.iter().map(|h| h.endpoint.as_str()).collect();
            out.push(
                Diagnostic::error(
                    "rpc::undeclared-endpoint",
                    format!(
                        "profile `{}` uses the rpc-server {name}, which profilec.toml does not declare",
                        p.id.value
                    ),
                )
                .at(span.clone())
                .label(format!("{name} has no [[rpc]] entry"))
                .help(format!(
                    "declared: {}; fix the endpoint (written exactly as in [[rpc]] endpoint) or \
                     record the server with `profilec hw --rpc {name} --write`",
                    declared.join(", ")
                )),
            );
        }
        if let Ok(ip) = e.host.parse::<Ipv4Addr>()
            && !(ip.is_loopback() || ip.is_private() || ip.is_link_local())
        {
            out.push(
                Diagnostic::warning(
                    "rpc::public-endpoint",
                    format!(
                        "profile `{}` sends the model to {name}, which is not a loopback or private address",
                        p.id.value
                    ),
                )
                .at(span.clone())
                .label("public address")
                .help(
                    "rpc-server has no authentication or encryption: anyone who reaches the port \
                     can run code on that host's memory. Bind it to a private interface \
                     (`ggml-rpc-server -H 10.x.y.z`), never 0.0.0.0 on a public network, or \
                     tunnel it (ssh -L)",
                ),
            );
        }
    }
}
