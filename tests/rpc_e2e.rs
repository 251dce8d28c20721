//! A profile spanning hosts, end to end on this machine: two real `ggml-rpc-server`s on
//! 127.0.0.1 stand for two remote hosts, the local CPU holds the rest. `hw --rpc --write`
//! records them, `check` is clean, `plan` splits Gemma 3 270M over RPC0, RPC1 and the CPU,
//! `start` launches llama-server with `--rpc`, a completion returns text, SIGINT stops it, and
//! the buffers llama.cpp logged per RPC device match the plan (weights and KV to 0.01 MiB,
//! compute within 5 % on RPC0, RPC1 and the CPU). A server killed during the run ends `start`
//! with `rpc::server-lost` naming it. Every server is started and stopped here.

use std::fs;
use std::time::Duration;

use profilec::launch::http;
use serde_json::Value;

use crate::launch_support::{
    assert_device_matches_plan, complete, free_port, observed_run, real_parts, rpc_rig,
    start_profile,
};
use crate::support::{RpcServer, output_within, profilec, rpc_server_bin, start_rpc};

/// Two real rpc-servers, a free port for llama-server and the rig over them; `None` when the
/// real parts are skipped.
fn two_server_rig() -> Option<(Vec<RpcServer>, u16, tempfile::TempDir)> {
    let (_server, model) = real_parts()?;
    let bin = rpc_server_bin()?;
    let servers = vec![start_rpc(&bin), start_rpc(&bin)];
    let port = free_port();
    let endpoints: Vec<String> = servers.iter().map(RpcServer::endpoint).collect();
    let dir = rpc_rig(
        &endpoints,
        &model,
        port,
        2048,
        "-ts 1,1 -np 1 -t 2 --temp 0",
    );
    Some((servers, port, dir))
}

#[test]
fn a_profile_over_two_rpc_servers_plans_starts_and_matches_the_log() {
    let Some((servers, port, dir)) = two_server_rig() else {
        return;
    };
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
    let Some((mut servers, port, dir)) = two_server_rig() else {
        return;
    };
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

#[test]
fn a_remote_server_that_dies_during_the_run_is_named() {
    let Some((mut servers, port, dir)) = two_server_rig() else {
        return;
    };
    let conf = dir.path().join("models.conf");
    let mut started = start_profile("gemma-rpc", &conf, port, 180);
    let child = &mut started.0;
    let dead = servers.pop().expect("second server");
    let endpoint = dead.endpoint();
    drop(dead);
    // The next RPC call fails: llama.cpp aborts (the request gets no answer).
    let _ = http::post_json(
        "127.0.0.1",
        port,
        "/completion",
        r#"{"prompt":"Hello","n_predict":4}"#,
        Duration::from_secs(60),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            let _ = child.wait();
            panic!("profilec start still runs 60 s after its rpc-server {endpoint} died");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    println!("{err}");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("[rpc::server-lost]") && err.contains(&endpoint),
        "{err}"
    );
    assert!(
        !err.contains(&servers[0].endpoint()),
        "the live server is not blamed: {err}"
    );
}
