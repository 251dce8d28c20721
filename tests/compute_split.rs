//! The graph model on the real fixture GGUFs without running llama.cpp: family choice, the
//! split variant's consistency with the CPU estimate, and how the buffer scales.

use crate::compute_support;

use compute_support::{Case, fixture, open};
use profilec::budget::Program;
use profilec::budget::compute::{estimate, estimate_split};

fn case(file: &str, ctx: u64, fa: bool) -> Case {
    Case {
        model: fixture(file),
        label: "fixture",
        ctx,
        ub: 512,
        np: 1,
        kv: "f16",
        fa,
    }
}

#[test]
fn families_resolve_from_the_architecture() {
    for (file, family) in [
        ("llama-gqa.gguf", "llama"),
        ("qwen3moe.gguf", "qwen3moe"),
        ("qwen2moe-shexp.gguf", "qwen2moe"),
        ("gemma3-swa.gguf", "gemma3"),
        ("lfm2-hybrid.gguf", "lfm2"),
        ("deepseek2-mla.gguf", "deepseek2"),
        ("qwen3next-hybrid.gguf", "qwen3next"),
        ("gpt-oss-mxfp4.gguf", "gpt-oss"),
    ] {
        let c = case(file, 4096, true);
        let (m, f) = open(&c.model);
        let e = estimate(&m, &f, &c.context(&f, Program::LlamaCompletion));
        assert_eq!(e.family, family, "{file}");
        assert!(e.exact_family, "{file}");
        assert!(e.cpu_mib > 0.0, "{file}");
        // Source-only families say so (deepseek2 is checked on DeepSeek-V3's public log,
        // gpu_logs::case_9_deepseek_v3_on_four_gpus_b5331).
        let source_only = family == "qwen3next";
        assert_eq!(!e.notes.is_empty(), source_only, "{file}: {:?}", e.notes);
    }
}

#[test]
fn without_flash_attention_the_kq_matrix_grows_with_context() {
    let (m, f) = open(&fixture("llama-gqa.gguf"));
    let at = |ctx: u64| {
        let c = case("llama-gqa.gguf", ctx, false);
        estimate(&m, &f, &c.context(&f, Program::LlamaCompletion)).cpu_mib
    };
    // kq is [n_kv, n_ubatch, n_head] F32 (4 heads x 512 tokens x 4 B = 8 KiB per cell) and
    // the F32 mask [n_kv, n_ubatch] adds 2 KiB per cell.
    let grow = at(16384) - at(8192);
    assert!(
        (grow - 8192.0 * 10.0 / 1024.0).abs() < 0.01,
        "grew {grow} MiB"
    );
    // With flash attention only the F16 mask grows: 512 tokens x 2 B = 1 KiB per cell.
    let fa = |ctx: u64| {
        let c = case("llama-gqa.gguf", ctx, true);
        estimate(&m, &f, &c.context(&f, Program::LlamaCompletion)).cpu_mib
    };
    let grow_fa = fa(16384) - fa(8192);
    assert!(
        (grow_fa - 8192.0 / 1024.0).abs() < 0.01,
        "grew {grow_fa} MiB"
    );
}

#[test]
fn server_reserves_fewer_logit_rows_than_completion() {
    let c = case("gemma3-swa.gguf", 4096, true);
    let (m, f) = open(&c.model);
    let cli = estimate(&m, &f, &c.context(&f, Program::LlamaCompletion));
    let srv = estimate(&m, &f, &c.context(&f, Program::LlamaServer));
    assert!(
        srv.cpu_mib < cli.cpu_mib,
        "{} vs {}",
        srv.cpu_mib,
        cli.cpu_mib
    );
    assert_eq!(cli.peak_graph, "pp");
}

#[test]
fn split_with_every_layer_on_the_cpu_equals_the_cpu_estimate() {
    let c = case("qwen3moe.gguf", 8192, false);
    let (m, f) = open(&c.model);
    let ctx = c.context(&f, Program::LlamaCompletion);
    let cpu = estimate(&m, &f, &ctx).cpu_mib;
    let layers = vec![None; f.n_layer as usize];
    let split = estimate_split(&m, &f, &ctx, &layers, None, 1);
    assert_eq!(split.len(), 2);
    assert_eq!(split[0], 0.0);
    assert!((split[1] - cpu).abs() < 1e-9, "{split:?} vs {cpu}");
}

#[test]
fn full_offload_moves_the_activations_to_the_gpu() {
    let c = case("llama-gqa.gguf", 8192, false);
    let (m, f) = open(&c.model);
    let ctx = c.context(&f, Program::LlamaCompletion);
    let cpu_only = estimate(&m, &f, &ctx).cpu_mib;
    let layers = vec![Some(0); f.n_layer as usize];
    let split = estimate_split(&m, &f, &ctx, &layers, Some(0), 1);
    // The kq matrix and the logits now live on the GPU; the CPU keeps the graph inputs (the
    // F32 mask is 16 of its 17 MiB here) and the token embeddings.
    assert!(split[0] > 0.9 * cpu_only, "{split:?} vs {cpu_only}");
    assert!(split[1] < 0.25 * cpu_only, "{split:?} vs {cpu_only}");
    // Two GPUs: each holds about half the layers, and both see a kq matrix.
    let half = f.n_layer as usize / 2;
    let two: Vec<Option<usize>> = (0..f.n_layer as usize)
        .map(|il| Some(usize::from(il >= half)))
        .collect();
    let split2 = estimate_split(&m, &f, &ctx, &two, Some(1), 2);
    assert_eq!(split2.len(), 3);
    assert!(split2[0] > 0.0 && split2[1] > 0.0, "{split2:?}");
}
