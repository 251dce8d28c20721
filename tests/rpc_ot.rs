//! `-ot PATTERN=RPC<k>[HOST:PORT]`: the buffer type name llama.cpp b11434 gives a device of an
//! rpc-server (`ggml_backend_rpc_buffer_type` in ggml/src/ggml-rpc/ggml-rpc.cpp) and the only
//! RPC spelling `-ot` accepts (`parse_tensor_buffer_overrides` in common/arg.cpp). `check`
//! accepts it for the launch's `--rpc` servers, refuses other endpoints, device indices and the
//! bare `RPC<k>` with the exact names in the help; `plan` puts the matched tensors on that
//! device; `render` passes the value through after `--rpc`; and a real llama-server over two
//! real rpc-servers loads the weights where the plan put them.

use std::time::Duration;

use profilec::flags::{BufferType, parse_ot};
use serde_json::Value;

use crate::launch_support::{
    complete, free_port, observed_run, real_parts, rpc_rig, start_profile,
};
use crate::support::{RpcServer, fixture, output_within, profilec, rpc_server_bin, start_rpc};

/// Two rpc-servers with one device each: buffer types `RPC0[10.0.0.2:50052]` (device RPC0)
/// and `RPC0[10.0.0.3:50052]` (device RPC1).
const TOML: &str = "[cpu]\nram_mib = 8192\n\n\
    [[rpc]]\nendpoint = \"10.0.0.2:50052\"\n[[rpc.device]]\ntotal_mib = 8192\n\n\
    [[rpc]]\nendpoint = \"10.0.0.3:50052\"\n[[rpc.device]]\ntotal_mib = 8192\n";
const RPC: &str = "--rpc 10.0.0.2:50052,10.0.0.3:50052";

fn rig(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("models")).expect("models dir");
    std::fs::copy(
        fixture("qwen2moe-shexp.gguf"),
        dir.path().join("models/m.gguf"),
    )
    .expect("model");
    std::fs::write(dir.path().join("models.conf"), conf).expect("conf");
    std::fs::write(dir.path().join("profilec.toml"), TOML).expect("toml");
    dir
}

fn run(dir: &tempfile::TempDir, args: &[&str]) -> String {
    let out = output_within(profilec().args(args).arg(dir.path().join("models.conf")));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(code, message, help)` of every error.
fn errors(dir: &tempfile::TempDir) -> Vec<(String, String, String)> {
    let text = run(dir, &["check", "--format", "json"]);
    let v: Value = serde_json::from_str(text.lines().next().unwrap_or("{}")).expect("json");
    let s = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_string();
    v["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["severity"] == "error")
        .map(|d| (s(d, "code"), s(d, "message"), s(d, "help")))
        .collect()
}

#[test]
fn rpc_buffer_type_parses_and_prints_as_llama_cpp_spells_it() {
    let rules = parse_ot("exps=RPC1[10.0.0.2:50052],norm=RPC0[rpc-b.lan:1]").rules;
    let names: Vec<String> = rules.iter().map(|r| r.buffer.to_string()).collect();
    assert_eq!(names, ["RPC1[10.0.0.2:50052]", "RPC0[rpc-b.lan:1]"]);
    assert!(matches!(
        &rules[0].buffer,
        BufferType::Rpc { index: 1, endpoint } if &**endpoint == "10.0.0.2:50052"
    ));
    for bad in [
        "RPC[10.0.0.2:50052]",
        "RPC0[]",
        "RPC0[a]b]",
        "rpc0[h:1]",
        "RPCx[h:1]",
    ] {
        assert_eq!(BufferType::parse(bad), None, "{bad}");
    }
    let bare = parse_ot("exps=RPC0");
    assert!(bare.rules.is_empty());
    assert_eq!(bare.diagnostics[0].code, "ot::rpc-needs-endpoint");
}

#[test]
fn check_accepts_the_launch_rpc_buffer_types_and_names_them_for_the_rest() {
    let dir = rig(&format!(
        "[ok]\nNAME=A\nMODEL=m.gguf\nFIT=off\nEXTRA_ARGS={RPC} -ot exps=RPC0[10.0.0.3:50052]\n\n\
         [index]\nNAME=B\nMODEL=m.gguf\nFIT=off\nEXTRA_ARGS={RPC} -ot exps=RPC1[10.0.0.3:50052]\n\n\
         [endpoint]\nNAME=C\nMODEL=m.gguf\nFIT=off\nEXTRA_ARGS={RPC} -ot exps=RPC0[10.0.0.9:50052]\n\n\
         [bare]\nNAME=D\nMODEL=m.gguf\nFIT=off\nEXTRA_ARGS={RPC} -ot exps=RPC0\n\n\
         [no-rpc]\nNAME=E\nMODEL=m.gguf\nFIT=off\nEXTRA_ARGS=-ot exps=RPC0\n"
    ));
    let found = errors(&dir);
    let codes: Vec<&str> = found.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "place::unknown-device",
            "place::unknown-device",
            "ot::rpc-needs-endpoint",
            "ot::rpc-needs-endpoint"
        ],
        "{found:#?}"
    );
    let both = "RPC0[10.0.0.2:50052], RPC0[10.0.0.3:50052]";
    assert!(
        found[0].1.contains("no RPC1[10.0.0.3:50052]"),
        "{:?}",
        found[0]
    );
    assert!(found[0].2.contains(both), "{:?}", found[0]);
    assert!(
        found[1].1.contains("no RPC0[10.0.0.9:50052]"),
        "{:?}",
        found[1]
    );
    assert!(found[1].2.contains(both), "{:?}", found[1]);
    assert!(
        found[2]
            .2
            .contains("`RPC0[10.0.0.2:50052]`, `RPC0[10.0.0.3:50052]`"),
        "{:?}",
        found[2]
    );
    assert!(
        found[3].2.contains("add `--rpc HOST:PORT`"),
        "{:?}",
        found[3]
    );
}

fn weights(plan: &Value) -> Vec<(String, f64)> {
    plan["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let name = d["name"].as_str().unwrap_or_default().to_string();
            (name, d["weights_mib"].as_f64().unwrap_or(-1.0))
        })
        .collect()
}

#[test]
fn plan_puts_the_matched_tensors_on_that_rpc_device() {
    // -ts 1,0: every layer on RPC0; the rule moves the experts to the second server's device.
    let base = format!("MODEL=m.gguf\nN_GPU_LAYERS=99\nFIT=off\nEXTRA_ARGS={RPC} -ts 1,0");
    let dir = rig(&format!(
        "[split]\nNAME=A\n{base}\n\n[moved]\nNAME=B\n{base} -ot exps=RPC0[10.0.0.3:50052]\n"
    ));
    let plan = |p: &str| -> Value {
        serde_json::from_str(&run(&dir, &["plan", p, "--format", "json"])).expect("plan json")
    };
    let (split, moved) = (plan("split"), plan("moved"));
    let (ws, wm) = (weights(&split), weights(&moved));
    let names: Vec<&str> = wm.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["RPC0", "RPC1", "CPU"], "{moved}");
    assert_eq!(ws[1].1, 0.0, "{split}");
    assert!(wm[1].1 > 0.0, "{moved}");
    // What RPC1 gains, RPC0 loses (MiB rounded to 0.01); the CPU keeps its share.
    assert!(
        (ws[0].1 - wm[0].1 - wm[1].1).abs() <= 0.011,
        "{ws:?} {wm:?}"
    );
    assert_eq!(ws[2].1, wm[2].1);
    let rule = moved["devices"][1]["rules"][0]["rule"]
        .as_str()
        .unwrap_or_default();
    assert!(rule.contains("6 tensors (6 by -ot"), "{rule}");
}

#[test]
fn render_passes_the_rpc_buffer_type_after_rpc() {
    let dir = rig(&format!(
        "[ok]\nNAME=A\nMODEL=m.gguf\nFIT=off\nEXTRA_ARGS=-ot exps=RPC0[10.0.0.3:50052] {RPC}\n"
    ));
    let argv: Vec<String> = run(&dir, &["render", "ok"])
        .lines()
        .map(str::to_owned)
        .collect();
    let at = |a: &str| argv.iter().position(|x| x == a);
    let (rpc, ot) = (at("--rpc"), at("exps=RPC0[10.0.0.3:50052]"));
    assert!(rpc.is_some() && ot.is_some() && rpc < ot, "{argv:?}");
}

/// Gemma 3 270M over two local rpc-servers, every layer on RPC0 (`-ts 1,0`) except the FFN
/// matrices, which `-ot` sends to the second server's device (RPC1): llama-server accepts the
/// name, the weights and KV it logs per device equal the plan's, compute within 5 %.
#[test]
fn llama_server_loads_ot_rpc_weights_where_the_plan_puts_them() {
    let Some((_server, model)) = real_parts() else {
        return;
    };
    let Some(bin) = rpc_server_bin() else {
        return;
    };
    let servers = [start_rpc(&bin), start_rpc(&bin)];
    let endpoints: Vec<String> = servers.iter().map(RpcServer::endpoint).collect();
    let port = free_port();
    let extra = format!(
        "-ts 1,0 -ot ffn_(up|down|gate)=RPC0[{}] -np 1 -t 2 --temp 0",
        endpoints[1]
    );
    let dir = rpc_rig(&endpoints, &model, port, 512, &extra);
    let conf = dir.path().join("models.conf");
    let check = output_within(profilec().arg("check").arg(&conf));
    assert_eq!(check.status.code(), Some(0), "{check:?}");

    let mut started = start_profile("gemma-rpc", &conf, port, 180);
    complete(port, "Hello", 4, Duration::from_secs(120));
    assert_eq!(started.stop().code(), Some(0));

    let (row, _cpu) = observed_run(dir.path(), "gemma-rpc", port, 512);
    let find = |list: &Value, key: &str, device: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|d| d[key] == device))
            .cloned()
            .unwrap_or_else(|| panic!("no {device} in {list}"))
    };
    for device in ["RPC0", "RPC1", "CPU"] {
        let plan = find(&row["plan"]["devices"], "name", device);
        let seen = find(&row["measured"], "device", device);
        println!("{device}: plan {plan}\n{device}: measured {seen}");
        let p = |k: &str| plan[k].as_f64().unwrap_or(f64::NAN);
        let m = |k: &str| seen[k].as_f64().unwrap_or(f64::NAN);
        let planned = p("weights_mib") + p("weights_repack_mib");
        assert!(
            (planned - m("weights_mib")).abs() <= 0.01,
            "{plan} vs {seen}"
        );
        assert!(
            (p("kv_mib") - m("kv_mib")).abs() <= 0.01,
            "{plan} vs {seen}"
        );
    }
    let rpc1 = find(&row["measured"], "device", "RPC1");
    assert!(rpc1["weights_mib"].as_f64().unwrap_or(0.0) > 10.0, "{rpc1}");
}
