//! The pinned solver on a machine with RPC hosts: at equal speed it fills the local GPU first
//! and uses as few remote hosts as fit, so the hidden state crosses the network as rarely as it
//! can (docs/distributed.md "Network traffic"). Shaped header-only models; no server runs.

use profilec::config::Strategy;
use profilec::hardware::{self, Machine};
use profilec::place::solver::Placement;

use crate::solver_support::solve_on;
use crate::support::root;

const HOSTS: &str = "10.0.0.2:50052,10.0.0.3:50052";

/// One local 24 GiB GPU and two RPC servers with one 16 GiB device each, all of speed 1.0, as a
/// launch with `--rpc 10.0.0.2:50052,10.0.0.3:50052` sees them: RPC0, RPC1, CUDA0, CPU.
fn machine() -> Machine {
    let toml = "[[gpu]]\nid = \"CUDA0\"\nname = \"local GPU\"\ntotal_mib = 24564\nreserved_mib = 256\n\n\
        [cpu]\nram_mib = 65536\nos_reserve_mib = 8192\n\n\
        [[rpc]]\nendpoint = \"10.0.0.2:50052\"\n[[rpc.device]]\nname = \"GPU B\"\ntotal_mib = 16384\n\n\
        [[rpc]]\nendpoint = \"10.0.0.3:50052\"\n[[rpc.device]]\nname = \"GPU C\"\ntotal_mib = 16384\n";
    let loaded = hardware::parse(toml, &root());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let m = loaded.hardware.machine_for(Some(HOSTS));
    let ids: Vec<&str> = m.gpus.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["RPC0", "RPC1", "CUDA0"]);
    m
}

fn layers_on(p: &Placement, id: &str) -> u32 {
    p.gpu_layers
        .iter()
        .find(|(d, _)| d == id)
        .map_or(0, |(_, c)| *c)
}

#[test]
fn a_model_that_fits_one_device_stays_on_the_local_gpu() {
    let p = solve_on(
        "qwen3.5-9b-q4_k_m.gguf",
        &format!("--rpc {HOSTS} -c 8192"),
        Strategy::A,
        &machine(),
    )
    .expect("fits");
    // RPC0 comes first in device order and is as fast: the local GPU still wins.
    assert!(
        p.flags.ends_with(&["--main-gpu".into(), "2".into()]),
        "{:?}",
        p.flags
    );
    assert!(
        p.rationale[0].contains("fits CUDA0 alone"),
        "{:?}",
        p.rationale
    );
    assert!(p.plan.network.is_none(), "no layer on a remote host");
}

#[test]
fn a_split_fills_the_local_gpu_first_and_uses_one_remote_host() {
    let p = solve_on(
        "qwen3.5-27b-ud-q8_k_xl.gguf",
        &format!("--rpc {HOSTS} -c 8192"),
        Strategy::B,
        &machine(),
    )
    .expect("fits over two devices");
    assert!(
        layers_on(&p, "CUDA0") > 0 && layers_on(&p, "RPC0") > 0,
        "{:?}",
        p.gpu_layers
    );
    assert_eq!(layers_on(&p, "RPC1"), 0, "{:?}", p.gpu_layers);
    let net = p.plan.network.as_ref().expect("layers on RPC0");
    let hops: u32 = net.boundaries.iter().map(|b| b.hops).sum();
    // Token embeddings → RPC0 → CUDA0: two single-hop boundaries, one remote host.
    assert_eq!(hops, 2, "{:?}", net.boundaries);
    assert_eq!(net.per_token.hosts.len(), 1, "{:?}", net.per_token);
    assert_eq!(net.per_token.hosts[0].endpoint, "10.0.0.2:50052");
}

#[test]
fn moe_layer_rules_name_the_local_gpu_by_its_own_id() {
    let p = solve_on(
        "qwen3-30b-a3b-q4_k_m.gguf",
        &format!("--rpc {HOSTS} -c 8192"),
        Strategy::C,
        &machine(),
    )
    .expect("fits the local GPU");
    let ot = p
        .flags
        .iter()
        .skip_while(|f| *f != "--override-tensor")
        .nth(1)
        .expect("-ot rules");
    // The local GPU is machine device 2 (after RPC0 and RPC1) but llama.cpp's CUDA0.
    assert!(
        ot.contains("=CUDA0") && !ot.contains("CUDA2") && !ot.contains("RPC"),
        "{ot}"
    );
    // -ot moves weights only: -ts keeps the layers (their KV, their activations) local too.
    let ts = p.flags.iter().skip_while(|f| *f != "--tensor-split").nth(1);
    assert!(ts.is_some_and(|t| t.starts_with("0,0,")), "{:?}", p.flags);
    assert!(p.plan.network.is_none(), "{:?}", p.plan.network);
}
