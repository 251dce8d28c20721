//! A profile spanning hosts, end to end on this machine: two real `ggml-rpc-server`s on
//! 127.0.0.1 stand for two remote hosts, the local CPU holds the rest. `hw --rpc --write`
//! records them, `check` is clean, `plan` splits Gemma 3 270M over RPC0, RPC1 and the CPU,
//! `start` launches llama-server with `--rpc`, a completion returns text, SIGINT stops it, and
//! the buffers llama.cpp logged per RPC device match the plan (weights and KV to 0.01 MiB,
//! compute within 5 % on RPC0, RPC1 and the CPU). Every server is started and stopped here.

use std::fs;
use std::time::Duration;

use profilec::launch::http;
use serde_json::Value;

use crate::launch_support::{
    assert_device_matches_plan, complete, free_port, observed_run, real_parts, start_profile,
};
use crate::support::{RpcServer, output_within, profilec, rpc_server_bin, start_rpc};

/// A rig directory: models.conf with one profile over `servers`, profilec.toml with the local
/// CPU and runtime, and the `[[rpc]]` hosts recorded by `hw --rpc --write`.
fn rig(servers: &[RpcServer], model: &std::path::Path, port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let list: Vec<String> = servers.iter().map(RpcServer::endpoint).collect();
    let list = list.join(",");
    let name = model.file_name().expect("file").to_string_lossy();
    fs::write(
        dir.path().join("models.conf"),
        format!(
            "[gemma-rpc]\nNAME=Gemma over two hosts\nMODEL={name}\nCTX_SIZE=2048\nN_GPU_LAYERS=99\nFIT=off\n\
             EXTRA_ARGS=--rpc {list} -ts 1,1 -np 1 -t 2 --temp 0\n"
        ),
    )
    .expect("models.conf");
    let toml = dir.path().join("profilec.toml");
    fs::write(
        &toml,
        format!(
            "[cpu]\nram_mib = 8192\nos_reserve_mib = 1024\n\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n\n",
            model.parent().expect("dir").display()
        ),
    )
    .expect("profilec.toml");
    let out = output_within(
        profilec()
            .args(["hw", "--rpc", &list, "--write"])
            .arg(&toml),
    );
    assert!(out.status.success(), "{out:?}");
    dir
}

#[test]
fn a_profile_over_two_rpc_servers_plans_starts_and_matches_the_log() {
    let Some((_server, model)) = real_parts() else {
        return;
    };
    let Some(bin) = rpc_server_bin() else { return };
    let servers = [start_rpc(&bin), start_rpc(&bin)];
    let port = free_port();
    let dir = rig(&servers, &model, port);
    let conf = dir.path().join("models.conf");

    let check = output_within(profilec().arg("check").arg(&conf));
    assert_eq!(check.status.code(), Some(0), "{check:?}");

    let plan = output_within(
        profilec()
            .args(["plan", "gemma-rpc"])
            .arg(&conf)
            .args(["--format", "json"]),
    );
    assert_eq!(plan.status.code(), Some(0), "{plan:?}");
    let plan: Value = serde_json::from_slice(&plan.stdout).expect("plan json");
    let names: Vec<&str> = plan["plan"]["devices"]
        .as_array()
        .or_else(|| plan["devices"].as_array())
        .expect("devices")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["RPC0", "RPC1", "CPU"], "{plan}");

    let dry = output_within(
        profilec()
            .args(["start", "gemma-rpc"])
            .arg(&conf)
            .arg("--dry-run"),
    );
    let line = String::from_utf8_lossy(&dry.stdout);
    assert!(
        line.contains(&format!(
            "--rpc {},{}",
            servers[0].endpoint(),
            servers[1].endpoint()
        )),
        "{line}"
    );

    let mut started = start_profile("gemma-rpc", &conf, port, 180);
    complete(port, "Hello", 8, Duration::from_secs(120));
    let status = started.stop();
    assert_eq!(status.code(), Some(0));

    let (row, _cpu) = observed_run(dir.path(), "gemma-rpc", port, 2048);
    // RPC1 holds the last layers and the output: only the previous layer's output crosses into
    // it (llama.cpp pins each layer's first norm to the layer's device under full offload), so
    // its compute buffer holds four copies of one `n_embd × n_ubatch` input, not two.
    for device in ["CPU", "RPC0", "RPC1"] {
        assert_device_matches_plan(&row, device);
    }
}

#[test]
fn start_refuses_when_an_rpc_server_is_down_or_differs() {
    let Some((_server, model)) = real_parts() else {
        return;
    };
    let Some(bin) = rpc_server_bin() else { return };
    let mut servers = vec![start_rpc(&bin), start_rpc(&bin)];
    let port = free_port();
    let dir = rig(&servers, &model, port);
    let conf = dir.path().join("models.conf");
    let down = servers.pop().expect("second server");
    let endpoint = down.endpoint();
    drop(down);
    let out = output_within(profilec().args(["start", "gemma-rpc"]).arg(&conf));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("[rpc::unreachable]") && err.contains(&endpoint),
        "{err}"
    );
    assert!(
        http::get("127.0.0.1", port, "/health", Duration::from_millis(300)).is_err(),
        "nothing was started"
    );

    // The file declares a second device on the live server, which has one.
    let toml = dir.path().join("profilec.toml");
    let text = fs::read_to_string(&toml).expect("toml");
    let first = servers[0].endpoint();
    let text = text.replace(
        &format!("endpoint = \"{first}\"\n"),
        &format!("endpoint = \"{first}\"\n\n[[rpc.device]]\nname = \"ghost\"\ntotal_mib = 4096\n"),
    );
    fs::write(&toml, text).expect("toml");
    let conf_text = fs::read_to_string(&conf).expect("conf");
    fs::write(&conf, conf_text.replace(&format!(",{endpoint}"), "")).expect("conf");
    let out = output_within(profilec().args(["start", "gemma-rpc"]).arg(&conf));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("[rpc::device-count]"), "{err}");
}
