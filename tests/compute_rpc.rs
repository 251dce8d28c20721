//! The per-device plan against REAL multi-device llama.cpp: two or three local
//! `ggml-rpc-server`s (CPU backend, 127.0.0.1, started and stopped here) serve as devices
//! `RPC0`…; `llama-completion --rpc` loads a fixture split over them by `-ts` (layer split),
//! with experts kept on the host by `-ot`, flash attention on and off, ubatch 128–2048. Every
//! device row is compared with the startup log: weights and KV to 0.01 MiB, compute per device
//! and host compute within 5 %.
//!
//! Needs llama.cpp built with `-DGGML_RPC=ON` (.ci/run does); `PROFILEC_SKIP_REAL=1` skips it
//! on a developer machine. `cargo test --test integration compute_rpc -- --nocapture` prints the
//! table docs/accuracy.md shows.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use profilec::budget::{Plan, Program, plan};
use profilec::hardware::{self, Machine};
use profilec::launch::find_program;
use profilec::resolve::{Effective, Origin, apply_args};
use profilec::startup_log::{self, StartupReport};

use crate::support::{fixture, free_port, real_completion, root, run_log, skip_or_fail};

const TOL: f64 = 0.001;
const COMPUTE_BAR: f64 = 0.05;

/// Kills the rpc-server it owns when dropped, so a failing assertion never leaves one behind.
struct RpcServer {
    child: Child,
    port: u16,
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_rpc(bin: &Path) -> RpcServer {
    let port = free_port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-t", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ggml-rpc-server starts");
    let server = RpcServer { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rpc-server on {port} never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// A machine of `n` RPC devices in front of this host's CPU (`[[gpu]] id = "RPC0"`…).
fn machine(n: usize) -> Machine {
    let mut toml = String::new();
    for i in 0..n {
        toml.push_str(&format!(
            "[[gpu]]\nid = \"RPC{i}\"\nname = \"rpc-server {i}\"\ntotal_mib = 16384\n\n"
        ));
    }
    toml.push_str(
        "[cpu]\nram_mib = 31958\nos_reserve_mib = 4096\ncores_physical = 2\ncores_logical = 2\nnuma_nodes = 1\narch = \"x86_64\"\n",
    );
    let loaded = hardware::parse(&toml, &root());
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == profilec::diag::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    loaded.hardware.machine()
}

struct Case {
    model: &'static str,
    devices: usize,
    args: &'static str,
}

/// The fixtures have four layers; `-ts 1,1` puts three on RPC0 and one (with the output) on
/// RPC1, `-ts 2,1,2` two on RPC0, one on RPC1 and one with the output on RPC2.
const CASES: &[Case] = &[
    // MoE with every expert on the host: the CPU runs the expert matmuls, the devices the rest.
    Case {
        model: "qwen3moe",
        devices: 2,
        args: "-ngl 99 -ts 1,1 -ot exps=CPU -c 4096 -ub 512 -fa on",
    },
    Case {
        model: "qwen3moe",
        devices: 3,
        args: "-ngl 99 -ts 2,1,2 -ot exps=CPU -c 2048 -ub 128 -fa off",
    },
    // Dense, layer split, everything offloaded and no -ot: pipeline parallelism (4 copies).
    Case {
        model: "llama-gqa",
        devices: 2,
        args: "-ngl 99 -ts 1,1 -c 8192 -ub 2048 -b 2048 -fa off",
    },
    Case {
        model: "llama-gqa",
        devices: 3,
        args: "-ngl 99 -ts 2,1,2 -c 4096 -ub 512 -fa on",
    },
    // Partial offload: layers 0-1 and the token embeddings on the host.
    Case {
        model: "qwen2moe-shexp",
        devices: 2,
        args: "-ngl 3 -ts 1,1 -c 4096 -ub 256 -fa on",
    },
    // Sliding-window and recurrent layers over two devices.
    Case {
        model: "gemma3-swa",
        devices: 2,
        args: "-ngl 99 -ts 1,1 -c 4096 -ub 1024 -b 1024 -fa off",
    },
    Case {
        model: "lfm2-hybrid",
        devices: 2,
        args: "-ngl 99 -ts 1,1 -c 4096 -ub 512 -fa on --no-op-offload",
    },
];

fn run(bin: &Path, model: &Path, servers: &[RpcServer], args: &str) -> String {
    let rpc: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port))
        .collect();
    let mut cmd = Command::new(bin);
    cmd.arg("-m")
        .arg(model)
        .args(["--rpc", &rpc.join(",")])
        .args([
            "-lv", "4", "-fit", "off", "-n", "1", "-p", "hello", "-no-cnv",
        ])
        .args(["--no-warmup", "--temp", "0", "-t", "2"])
        .args(args.split_whitespace());
    run_log(&mut cmd).0
}

/// The log names RPC buffers `RPC0[127.0.0.1:PORT]` (the device index inside that server); the
/// plan names them by position in `--rpc`.
fn rpc_name(name: &str, servers: &[RpcServer]) -> String {
    for (i, s) in servers.iter().enumerate() {
        if name.ends_with(&format!("[127.0.0.1:{}]", s.port)) {
            return format!("RPC{i}");
        }
    }
    name.to_string()
}

fn sum_named(bufs: &[startup_log::Buffer], servers: &[RpcServer], device: &str) -> f64 {
    bufs.iter()
        .filter(|b| startup_log::buffer_device(&rpc_name(&b.name, servers)) == device)
        .map(|b| b.mib)
        .sum()
}

fn compare(plan: &Plan, r: &StartupReport, servers: &[RpcServer], what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for d in &plan.devices {
        let weights = sum_named(&r.model_buffers, servers, &d.name);
        let kv = sum_named(&r.kv_buffers, servers, &d.name);
        let compute = sum_named(&r.compute_buffers, servers, &d.name);
        let planned_w = d.weights_mib + d.weights_repack_mib;
        println!(
            "{what} | {} | weights {planned_w:.2} / {weights:.2} | kv {:.2} / {kv:.2} | compute {:.2} / {compute:.2} ({:+.1} %)",
            d.name,
            d.kv_mib,
            d.compute_mib,
            100.0 * (d.compute_mib - compute) / compute.max(0.01)
        );
        if (planned_w - weights).abs() > TOL + 0.01 {
            bad.push(format!(
                "{what} {}: weights {planned_w} vs {weights}",
                d.name
            ));
        }
        if (d.kv_mib - kv).abs() > TOL + 0.01 {
            bad.push(format!("{what} {}: kv {} vs {kv}", d.name, d.kv_mib));
        }
        if (d.compute_mib - compute).abs() > COMPUTE_BAR * compute.max(0.01) {
            bad.push(format!(
                "{what} {}: compute {} vs {compute}",
                d.name, d.compute_mib
            ));
        }
    }
    bad
}

#[test]
fn per_device_plan_matches_llama_cpp_over_rpc() {
    let Some(completion) = real_completion() else {
        return;
    };
    let rpc_bin = match find_program("ggml-rpc-server", None, "GGML_RPC_SERVER") {
        Ok(p) => p,
        Err(e) => {
            let problem = format!(
                "{e}\nggml-rpc-server comes with llama.cpp built with -DGGML_RPC=ON: bash .ci/run rebuilds it"
            );
            // Panics unless the developer opted out of real-part tests.
            skip_or_fail::<()>(&problem);
            return;
        }
    };
    let servers: Vec<RpcServer> = (0..3).map(|_| start_rpc(&rpc_bin)).collect();
    let mut failures = Vec::new();
    for case in CASES {
        let model = fixture(&format!("{}.gguf", case.model));
        let used = servers.get(..case.devices).expect("enough servers");
        let what = format!("{} x{} [{}]", case.model, case.devices, case.args);
        let mut log = run(&completion, &model, used, case.args);
        if startup_log::parse(&log).map_or(true, |r| r.compute_buffers.is_empty()) {
            // On a loaded machine one run stopped at `load_tensors` (the RPC transfer broke off);
            // one retry tells such a flake from a real failure, which fails again below.
            println!("{what}: no compute buffers, retrying once");
            log = run(&completion, &model, used, case.args);
        }
        let report = startup_log::parse(&log).unwrap_or_else(|e| panic!("{what}: {e}\n{log}"));
        assert!(
            !report.compute_buffers.is_empty(),
            "{what}: no compute buffers\n{log}"
        );
        let mut eff = Effective::default();
        apply_args(&mut eff, case.args, Origin::ExtraArgs);
        let p = plan(
            &model,
            &eff.options().expect("options"),
            &machine(case.devices),
            Program::LlamaCompletion,
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        failures.extend(compare(&p, &report, used, &what));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
