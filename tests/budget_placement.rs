//! GPU placement on the reference rig (profiles/profilec.toml: CUDA0 24308 MiB, CUDA1 12975 MiB
//! usable, 56013 MiB RAM), from the real tensor tables of the fixture GGUFs: `-ngl`, `-ts`,
//! `-sm none`, `-ot` layer ranges and `exps=CPU`. Each test selects the tensors a rule should
//! move by name, independently of the planner, and compares the per-device weights.

use crate::support::root;

use profilec::budget::{
    DeviceRef, PlacementError, Plan, PlanError, Program, WeightsError, mib, plan,
};
use profilec::gguf::{Model, Tensor};
use profilec::hardware::{self, Machine};
use profilec::resolve::{Effective, Origin, apply_args};

fn rig() -> Machine {
    hardware::load(&root().join("profiles/profilec.toml"))
        .expect("reference rig")
        .hardware
        .machine()
}

fn try_plan(model: &str, args: &str, machine: &Machine) -> Result<Plan, PlanError> {
    let mut eff = Effective::default();
    apply_args(&mut eff, args, Origin::ExtraArgs);
    plan(
        &root().join("models").join(model),
        &eff.options().expect("options"),
        machine,
        Program::LlamaServer,
    )
}

fn plan_rig(model: &str, args: &str) -> Plan {
    try_plan(model, args, &rig()).expect("plan")
}

fn tensors(model: &str) -> Vec<Tensor> {
    Model::open(&root().join("models").join(model))
        .expect("fixture")
        .tensors
}

/// CUDA buffer size of a tensor: quantized rows padded to 512 elements, 128-byte aligned.
fn cuda_bytes(t: &Tensor) -> u64 {
    let ne0 = t.dims[0];
    let ty = t.ggml_type;
    let mut b = t.n_bytes;
    if ty.is_quantized && !ne0.is_multiple_of(512) {
        b += (512 - ne0 % 512) / ty.block_size * ty.type_size;
    }
    b.div_ceil(128) * 128
}

fn layer(name: &str) -> Option<usize> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

/// Σ CUDA bytes of the tensors `pick` selects.
fn gpu_sum(ts: &[Tensor], pick: impl Fn(&Tensor) -> bool) -> f64 {
    mib(ts.iter().filter(|t| pick(t)).map(cuda_bytes).sum())
}

/// The mmap'd range [first, last end) of the tensors `pick` keeps on the host.
fn mapped_range(ts: &[Tensor], pick: impl Fn(&Tensor) -> bool) -> f64 {
    let host: Vec<&Tensor> = ts.iter().filter(|t| pick(t)).collect();
    let lo = host.iter().map(|t| t.data_offset).min().unwrap_or(0);
    let hi = host
        .iter()
        .map(|t| t.data_offset + t.n_bytes)
        .max()
        .unwrap_or(0);
    mib(hi - lo)
}

fn weights(p: &Plan, dev: &str) -> f64 {
    p.device(dev).map_or(-1.0, |d| d.weights_mib)
}

#[test]
fn ngl_offloads_the_last_layers_and_splits_them_by_capacity() {
    // llama-gqa: 4 blocks + the output layer = 5 units; -ngl 3 keeps blocks 0-1 on the host.
    // Capacity split 24308:12975 → cumulative [0.652, 1]; units at 0, 1/3, 2/3 → CUDA0, CUDA0, CUDA1.
    let p = plan_rig("llama-gqa.gguf", "-ngl 3");
    let names: Vec<String> = p.placement.layers.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["CPU", "CPU", "CUDA0", "CUDA0"]);
    assert_eq!(p.placement.output, DeviceRef::Gpu(1));
    assert_eq!(p.placement.n_gpu_layers, 3);
    let ts = tensors("llama-gqa.gguf");
    assert_eq!(
        weights(&p, "CUDA0"),
        gpu_sum(&ts, |t| matches!(layer(&t.name), Some(2 | 3)))
    );
    assert_eq!(
        weights(&p, "CUDA1"),
        gpu_sum(&ts, |t| t.name.starts_with("output"))
    );
    // Host: token_embd + blocks 0-1, one mapped range; nothing repacked with a CUDA device.
    assert_eq!(
        weights(&p, "CPU"),
        mapped_range(&ts, |t| t.name.starts_with("token_embd")
            || matches!(layer(&t.name), Some(0 | 1)))
    );
    assert_eq!(p.device("CPU").map(|d| d.weights_repack_mib), Some(0.0));
    // Both GPUs hold something: a CUDA context each.
    assert_eq!(p.device("CUDA0").map(|d| d.overhead_mib), Some(500.0));
    assert_eq!(p.device("CUDA1").map(|d| d.overhead_mib), Some(500.0));
}

#[test]
fn tensor_split_sets_the_proportions() {
    // -ts 1,1 with all 5 units: 0, .2, .4 → CUDA0; .6, .8 (block 3, output) → CUDA1.
    let p = plan_rig("llama-gqa.gguf", "-ngl all -ts 1,1");
    let names: Vec<String> = p.placement.layers.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["CUDA0", "CUDA0", "CUDA0", "CUDA1"]);
    let ts = tensors("llama-gqa.gguf");
    assert_eq!(
        weights(&p, "CUDA0"),
        gpu_sum(&ts, |t| matches!(layer(&t.name), Some(0..=2)))
    );
    assert_eq!(
        weights(&p, "CUDA1"),
        gpu_sum(&ts, |t| layer(&t.name) == Some(3)
            || t.name.starts_with("output"))
    );
    assert_eq!(
        weights(&p, "CPU"),
        mapped_range(&ts, |t| t.name.starts_with("token_embd"))
    );
    // -ts 0,1: CUDA0 gets nothing, and no CUDA context is counted for it.
    let p = plan_rig("llama-gqa.gguf", "-ngl all -ts 0,1");
    assert_eq!(weights(&p, "CUDA0"), 0.0);
    assert_eq!(p.device("CUDA0").map(|d| d.overhead_mib), Some(0.0));
}

#[test]
fn split_mode_none_uses_only_the_main_gpu() {
    let p = plan_rig("qwen3moe.gguf", "-ngl all -sm none --main-gpu 1");
    assert!(p.placement.layers.iter().all(|d| *d == DeviceRef::Gpu(1)));
    let ts = tensors("qwen3moe.gguf");
    assert_eq!(weights(&p, "CUDA0"), 0.0);
    assert_eq!(
        weights(&p, "CUDA1"),
        gpu_sum(&ts, |t| !t.name.starts_with("token_embd"))
    );
    let err = try_plan("qwen3moe.gguf", "-sm none --main-gpu 4", &rig()).unwrap_err();
    assert!(matches!(
        err,
        PlanError::Placement(PlacementError::MainGpu { index: 4, count: 2 })
    ));
}

#[test]
fn ot_layer_ranges_with_experts_on_the_cpu_first_match_wins() {
    // Strategy D: blocks 0 → CUDA0, 1 → CUDA1 entirely (their exps match the block rule first),
    // and the experts of block 2 go to the host; block 2's other tensors follow -ngl.
    let ot = r"-ngl all -ot blk\.0\.=CUDA0,blk\.1\.=CUDA1,exps=CPU";
    let p = plan_rig("qwen3moe.gguf", ot);
    let ts = tensors("qwen3moe.gguf");
    let exps2 = |t: &Tensor| layer(&t.name) == Some(2) && t.name.contains("exps");
    // Capacity split over 4 units: block 2 at x = .5 → CUDA0; output at .75 → CUDA1.
    assert_eq!(p.placement.layers[2], DeviceRef::Gpu(0));
    assert_eq!(
        weights(&p, "CUDA0"),
        gpu_sum(&ts, |t| layer(&t.name) == Some(0)
            || (layer(&t.name) == Some(2) && !exps2(t)))
    );
    assert_eq!(
        weights(&p, "CUDA1"),
        gpu_sum(&ts, |t| layer(&t.name) == Some(1)
            || t.name.starts_with("output"))
    );
    assert_eq!(
        weights(&p, "CPU"),
        mapped_range(&ts, |t| t.name.starts_with("token_embd") || exps2(t))
    );
    // --cpu-moe after the same ranges changes nothing: -ot rules come first.
    let p2 = plan_rig("qwen3moe.gguf", &format!("{ot} -cmoe"));
    assert_eq!(weights(&p2, "CPU"), weights(&p, "CPU"));
    // KV follows -ngl's layer device (`dev_layer`), not -ot: block 1's weights are on CUDA1 but
    // its KV, like every block's here, is on CUDA0.
    let kv = |p: &Plan, d: &str| p.device(d).map_or(-1.0, |x| x.kv_mib);
    assert_eq!(kv(&p, "CUDA1"), 0.0);
    assert_eq!(kv(&p, "CPU"), 0.0);
    assert_eq!(kv(&p, "CUDA0"), p.kv_caches[0].size_mib);
}

#[test]
fn an_override_to_a_missing_gpu_is_an_error() {
    let err = try_plan("qwen3moe.gguf", r"-ot exps=CUDA2", &rig()).unwrap_err();
    match err {
        PlanError::Weights(WeightsError::UnknownDevice { target, tensor, .. }) => {
            assert_eq!(target, "CUDA2");
            assert_eq!(tensor, "blk.0.ffn_gate_exps.weight");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn without_a_gpu_everything_stays_on_the_host() {
    let cpu = hardware::load(&root().join("profiles/cpu-only.toml"))
        .expect("cpu-only")
        .hardware
        .machine();
    let p = try_plan("llama-gqa.gguf", "-ngl 99", &cpu).expect("plan");
    assert_eq!(p.devices.len(), 1);
    assert_eq!(p.placement.n_gpu_layers, 0);
    let d = p.device("CPU").expect("cpu");
    assert_eq!(d.overhead_mib, 0.0);
    // Q4_0 / Q4_K matrices with rows % 8 == 0 are repacked on AVX2.
    let ts = tensors("llama-gqa.gguf");
    let repack: u64 = ts
        .iter()
        .filter(|t| t.dims.len() == 2 && t.dims[1] % 8 == 0 && !t.name.starts_with("token_embd"))
        .filter(|t| matches!(t.ggml_type.name, "Q4_0" | "Q4_K"))
        .map(|t| t.n_bytes)
        .sum();
    assert_eq!(d.weights_repack_mib, mib(repack));
}

#[test]
fn a_plan_that_does_not_fit_says_where() {
    let tiny = {
        let mut m = rig();
        m.gpus[1].capacity_mib = 400;
        m
    };
    let p = try_plan("llama-gqa.gguf", "-ngl all -ts 1,1", &tiny).expect("plan");
    assert!(!p.fits);
    let text = profilec::budget::render_human(&p);
    assert!(text.contains("does not fit: CUDA1"), "{text}");
    assert!(text.contains("largest component: overhead"), "{text}");
}

#[test]
fn absurd_sizes_saturate_instead_of_overflowing() {
    let p = try_plan(
        "llama-gqa.gguf",
        "-c 18446744073709551615 -b 18446744073709551615 -ub 18446744073709551615 -np 7 -ts inf,nan",
        &rig(),
    )
    .expect("plan");
    assert!(!p.fits);
}
