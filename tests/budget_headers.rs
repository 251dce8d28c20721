//! KV cache of large real models, from header-only GGUFs with their real hyper-parameters
//! (scripts/make_header_models.py writes them under target/header-models), against what users
//! measured with llama.cpp (seed-repo-notes §3–4: q8_0 K and V, flash attention on, ctx 262144).

use crate::support::{header_models as models, reference_rig};

use profilec::budget::{CacheKind, Plan, Program, plan};
use profilec::resolve::{Effective, Origin, apply_args};

fn plan_of(file: &str, args: &str) -> Plan {
    let mut eff = Effective::default();
    apply_args(&mut eff, args, Origin::ExtraArgs);
    let machine = reference_rig();
    plan(
        &models().join(file),
        &eff.options().expect("options"),
        &machine,
        Program::LlamaServer,
    )
    .expect("plan")
}

const LONG: &str = "-c 262144 -ctk q8_0 -ctv q8_0 -fa on -np 1";

fn only_cache(p: &Plan) -> (u32, f64) {
    assert_eq!(p.kv_caches.len(), 1);
    let c = &p.kv_caches[0];
    assert_eq!(c.kind, CacheKind::Full);
    assert_eq!(c.cells, 262144);
    (c.layers, c.size_mib)
}

#[test]
fn qwen35_35b_a3b_has_ten_kv_layers_of_272_mib() {
    let p = plan_of("qwen35moe-35b-a3b.gguf", LONG);
    assert_eq!(only_cache(&p), (10, 2720.0));
    // 30 DeltaNet layers keep their state instead: 3·(4096 + 2·16·128) + 128·4096 floats each.
    let rs = p.recurrent.as_ref().expect("recurrent state");
    assert_eq!((rs.layers, rs.r_mib, rs.s_mib), (30, 2.81, 60.0));
}

#[test]
fn qwen3_next_80b_has_twelve_kv_layers_and_75_mib_of_state() {
    let p = plan_of("qwen3next-80b-a3b.gguf", LONG);
    assert_eq!(only_cache(&p), (12, 3264.0));
    // "RS 75 MiB" measured (seed-repo-notes §4 row 25).
    assert_eq!(p.recurrent.as_ref().map(|r| r.size_mib), Some(75.38));
}

#[test]
fn qwen35_27b_has_sixteen_kv_layers_of_four_heads() {
    let p = plan_of("qwen35-27b.gguf", LONG);
    assert_eq!(only_cache(&p), (16, 8704.0));
}

#[test]
fn mistral_small_4_mla_caches_only_the_latent() {
    let p = plan_of("mistral-small-4-119b.gguf", LONG);
    assert_eq!(only_cache(&p), (36, 3060.0));
    let c = &p.kv_caches[0];
    // K only: 36 × 85 MiB ("1020/2040" on the two GPUs), no V.
    assert_eq!((c.k_mib, c.v_mib), (3060.0, 0.0));
}

#[test]
fn kv_follows_the_layers_over_both_gpus() {
    // -ngl all over the rig's 24308 + 12975 MiB: layers split by capacity, KV with its layer.
    let p = plan_of("mistral-small-4-119b.gguf", LONG);
    let kv: Vec<f64> = ["CUDA0", "CUDA1", "CPU"]
        .iter()
        .map(|d| p.device(d).expect("device").kv_mib)
        .collect();
    let on0 = p
        .placement
        .layers
        .iter()
        .filter(|d| d.to_string() == "CUDA0")
        .count();
    assert_eq!(
        on0 + p
            .placement
            .layers
            .iter()
            .filter(|d| d.to_string() == "CUDA1")
            .count(),
        36
    );
    assert_eq!(kv[0], on0 as f64 * 85.0);
    assert_eq!(kv[0] + kv[1], 3060.0);
    assert_eq!(kv[2], 0.0);
    // -nkvo keeps all of it in host memory.
    let p = plan_of("mistral-small-4-119b.gguf", &format!("{LONG} -nkvo"));
    assert_eq!(p.device("CPU").map(|d| d.kv_mib), Some(3060.0));
    assert_eq!(p.device("CUDA0").map(|d| d.kv_mib), Some(0.0));
}
