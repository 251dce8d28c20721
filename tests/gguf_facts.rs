//! Model facts of each fixture equal the metadata the generator wrote (scripts/make_fixtures.py)
//! and llama.cpp's rules for that architecture.

use crate::support::fixture as path;
use profilec::gguf::{self, AttentionKind, Model, ModelFacts, TensorRole};

fn facts(name: &str) -> (Model, ModelFacts) {
    gguf::inspect(&path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn kv_widths(f: &ModelFacts) -> Vec<(u64, u64)> {
    f.layers
        .iter()
        .map(|l| (l.n_embd_k_gqa, l.n_embd_v_gqa))
        .collect()
}

#[test]
fn llama_gqa() {
    let (m, f) = facts("llama-gqa.gguf");
    assert_eq!(f.arch, "llama");
    assert_eq!(
        (f.n_layer, f.n_embd, f.n_vocab, f.n_ctx_train),
        (4, 64, 320, 4096)
    );
    assert_eq!(
        (f.n_head, f.n_head_kv, f.n_embd_head_k, f.n_embd_head_v),
        (4, 2, 16, 16)
    );
    assert_eq!(f.attention, AttentionKind::Standard);
    assert_eq!(kv_widths(&f), vec![(32, 32); 4]);
    assert!(f.experts.is_none() && f.swa.is_none() && f.recurrent.is_none());
    assert!(
        f.layers
            .iter()
            .all(|l| l.has_kv && l.n_ff == 256 && !l.is_moe)
    );
    let elements: u64 = m.tensors.iter().map(|t| t.n_elements).sum();
    assert_eq!((f.params.total, f.params.active), (elements, elements));
    assert_eq!(f.total_bytes, m.tensor_bytes());
    assert_eq!(f.general.name.as_deref(), Some("tiny-llama-gqa"));
    assert_eq!(f.general.basename.as_deref(), Some("tiny"));
    assert_eq!(f.general.size_label.as_deref(), Some("tiny"));
    assert_eq!(f.general.quantization.as_deref(), Some("Q8_0"));
    assert_eq!(f.sampling.top_k, Some(40));
    assert_eq!(f.sampling.top_p, Some(0.95));
    assert_eq!(f.sampling.temp, Some(0.7));
    assert_eq!(f.sampling.sequence.as_deref(), Some("edskypmxt"));
    assert_eq!(f.sampling.min_p, None);
    // token_embd and output are Q8_0 [64, 320]: 320 rows of 2 blocks of 34 bytes.
    assert_eq!(
        (f.non_layer.input, f.non_layer.output),
        (320 * 2 * 34, 320 * 2 * 34)
    );
    assert!(!f.non_layer.tied_output);
    // Every byte is in exactly one bucket.
    let layers: u64 = f.layers.iter().map(|l| l.bytes.total).sum();
    let nl = f.non_layer;
    assert_eq!(
        layers + nl.input + nl.output + nl.output_norm + nl.other,
        f.total_bytes
    );
    let mix: u64 = f.quant_mix.iter().map(|s| s.bytes).sum();
    assert_eq!(mix, f.total_bytes);
    assert_eq!(f.quant_mix.first().map(|s| s.ggml_type), Some("Q8_0"));
}

#[test]
fn qwen3moe_experts_and_active_params() {
    let (m, f) = facts("qwen3moe.gguf");
    let e = f.experts.clone().expect("MoE");
    assert_eq!(
        (e.count, e.used, e.shared_count, e.n_ff_exp, e.moe_layers),
        (8, 2, 0, 128, 3)
    );
    let routed: u64 = m
        .tensors
        .iter()
        .filter(|t| t.name.contains("_exps"))
        .map(|t| t.n_elements)
        .sum();
    assert_eq!(routed, 3 * 3 * 64 * 128 * 8);
    assert_eq!(f.params.routed_experts, routed);
    assert_eq!(f.params.active, f.params.total - routed + routed * 2 / 8);
    for l in &f.layers {
        assert!(l.is_moe);
        assert_eq!(l.bytes.dense_ffn, 0);
        // gate+up Q8_0 [64,128,8] and down Q4_0 [128,64,8]
        assert_eq!(
            l.bytes.experts_routed,
            2 * 64 * 128 * 8 / 32 * 34 + 64 * 128 * 8 / 32 * 18
        );
    }
}

#[test]
fn qwen2moe_shared_expert() {
    let (_, f) = facts("qwen2moe-shexp.gguf");
    let e = f.experts.clone().expect("MoE");
    assert_eq!(
        (e.count, e.used, e.shared_count, e.n_ff_exp, e.n_ff_shexp),
        (4, 2, 1, 64, 128)
    );
    for l in &f.layers {
        // gate/up/down_shexp Q8_0 with 64*128 elements each, plus the F32 [64] shexp gate.
        assert_eq!(l.bytes.experts_shared, 3 * 64 * 128 / 32 * 34 + 64 * 4);
    }
    assert_eq!(
        gguf::tensor_role("blk.0.ffn_gate_inp_shexp.weight"),
        TensorRole::SharedExperts
    );
}

#[test]
fn gemma3_sliding_window_pattern() {
    let (_, f) = facts("gemma3-swa.gguf");
    let swa = f.swa.clone().expect("SWA");
    assert_eq!((swa.window, swa.n_swa_layers), (512, 6));
    assert_eq!(swa.pattern_source, "arch default 6");
    let pattern: Vec<bool> = f.layers.iter().map(|l| l.is_swa).collect();
    assert_eq!(pattern, [true, true, true, true, true, false, true]);
    assert_eq!(kv_widths(&f), vec![(32, 32); 7]);
    assert!(f.non_layer.tied_output);
    assert_eq!(f.non_layer.output, 0);
}

#[test]
fn gpt_oss_alternating_swa_and_mxfp4() {
    let (m, f) = facts("gpt-oss-mxfp4.gguf");
    assert_eq!(f.arch, "gpt-oss");
    let pattern: Vec<bool> = f.layers.iter().map(|l| l.is_swa).collect();
    assert_eq!(pattern, [true, false, true, false]);
    assert_eq!(f.swa.as_ref().map(|s| s.window), Some(128));
    let t = m.tensor("blk.0.ffn_down_exps.weight").expect("tensor");
    assert_eq!(
        (t.ggml_type.name, t.n_bytes),
        ("MXFP4", 64 * 64 * 4 / 32 * 17)
    );
    let e = f.experts.expect("MoE");
    assert_eq!((e.count, e.used), (4, 2));
    // Expert biases move with the experts.
    assert_eq!(
        gguf::tensor_role("blk.0.ffn_up_exps.bias"),
        TensorRole::RoutedExperts
    );
}

#[test]
fn lfm2_short_conv_hybrid() {
    let (_, f) = facts("lfm2-hybrid.gguf");
    let rec: Vec<bool> = f.layers.iter().map(|l| l.is_recurrent).collect();
    assert_eq!(rec, [true, true, false, true, true, false]);
    let kv: Vec<bool> = f.layers.iter().map(|l| l.has_kv).collect();
    assert_eq!(kv, [false, false, true, false, false, true]);
    let r = f.recurrent.clone().expect("recurrent");
    // n_embd * (l_cache - 1) = 64 * 2; no S state.
    assert_eq!((r.n_embd_r, r.n_embd_s, r.n_recurrent_layers), (128, 0, 4));
    assert_eq!(
        kv_widths(&f),
        [(0, 0), (0, 0), (32, 32), (0, 0), (0, 0), (32, 32)]
    );
    assert_eq!((f.n_head_kv, f.n_layer_kv()), (2, 2));
    assert!(
        f.layers
            .iter()
            .filter(|l| l.is_recurrent)
            .all(|l| l.bytes.recurrent > 0)
    );
}

#[test]
fn qwen3next_deltanet_hybrid() {
    let (m, f) = facts("qwen3next-hybrid.gguf");
    let rec: Vec<bool> = f.layers.iter().map(|l| l.is_recurrent).collect();
    assert_eq!(rec, [true, true, true, false]);
    let r = f.recurrent.clone().expect("recurrent");
    // (conv 4 - 1) * (inner 128 + 2 * groups 2 * state 32) and state 32 * inner 128.
    assert_eq!(
        (r.n_embd_r, r.n_embd_s, r.n_recurrent_layers),
        (3 * (128 + 2 * 2 * 32), 32 * 128, 3)
    );
    assert_eq!(
        (f.n_head, f.n_head_kv, f.n_embd_head_k, f.n_embd_head_v),
        (4, 2, 32, 32)
    );
    assert_eq!(kv_widths(&f), [(0, 0), (0, 0), (0, 0), (64, 64)]);
    let e = f.experts.expect("MoE");
    assert_eq!(
        (e.count, e.used, e.shared_count, e.n_ff_exp, e.n_ff_shexp),
        (4, 2, 1, 64, 64)
    );
    // llama.cpp's loader wants the output gate inside Q: 2 * head_dim 32 * n_head 4 rows.
    let dims = |n: &str| m.tensor(n).map(|t| t.dims.clone());
    assert_eq!(dims("blk.3.attn_q.weight"), Some(vec![64, 256]));
    assert_eq!(dims("blk.3.attn_output.weight"), Some(vec![128, 64]));
    assert_eq!(dims("blk.3.attn_q_norm.weight"), Some(vec![32]));
    // DeltaNet: conv over q+k+v (2 * 2 groups * 32 + 4 heads * 32), beta/alpha per v head.
    assert_eq!(dims("blk.0.ssm_conv1d.weight"), Some(vec![4, 256]));
    assert_eq!(dims("blk.0.ssm_ba.weight"), Some(vec![64, 8]));
    assert!(
        f.layers
            .iter()
            .all(|l| l.is_moe && l.bytes.experts_shared > 0)
    );
}

#[test]
fn deepseek2_mla_stores_k_only() {
    let (m, f) = facts("deepseek2-mla.gguf");
    // key_length / value_length are the MLA cache widths, as llama.cpp prints them
    // (n_embd_head_k = 48, n_embd_head_v = 32 for this file).
    assert_eq!(
        (f.n_head, f.n_head_kv, f.n_embd_head_k, f.n_embd_head_v),
        (4, 1, 48, 32)
    );
    assert_eq!(
        f.attention,
        AttentionKind::Mla {
            kv_lora_rank: 32,
            rope_dim: 16
        }
    );
    // K = kv_lora_rank + rope = 48 per cell, head_count_kv 1, no V.
    assert_eq!(kv_widths(&f), vec![(48, 0); 3]);
    let e = f.experts.clone().expect("MoE");
    assert_eq!(
        (
            e.count,
            e.used,
            e.shared_count,
            e.leading_dense,
            e.moe_layers
        ),
        (4, 2, 1, 1, 2)
    );
    assert!(!f.layers[0].is_moe && f.layers[0].bytes.dense_ffn > 0);
    assert!(f.layers[1].is_moe && f.layers[1].bytes.experts_shared > 0);
    // GLM-4.7-Flash's shape: Q through a rank-96 LoRA instead of a full attn_q.
    assert_eq!(m.metadata.u64("deepseek2.attention.q_lora_rank"), Some(96));
    assert!(m.tensor("blk.0.attn_q.weight").is_none());
    // norm F32 [64]; q_a Q8_0 [64,96]; q_a_norm F32 [96]; q_b Q8_0 [96,4*48];
    // kv_a_mqa Q8_0 [64,48]; kv_a_norm F32 [32]; k_b, v_b F16 [32,32,4]; output Q8_0 [128,64].
    let attn = 64 * 4
        + 96 * 2 * 34
        + 96 * 4
        + 192 * 3 * 34
        + 48 * 2 * 34
        + 32 * 4
        + 2 * 32 * 32 * 4 * 2
        + 64 * 4 * 34;
    assert!(f.layers.iter().all(|l| l.bytes.attention == attn));
    assert_eq!(
        gguf::tensor_role("blk.1.attn_kv_a_mqa.weight"),
        TensorRole::Attention
    );
    assert_eq!(
        gguf::tensor_role("blk.1.exp_probs_b.bias"),
        TensorRole::LayerOther
    );
}

#[test]
fn split_model_reads_every_shard() {
    let (m, f) = facts("split-llama-00002-of-00003.gguf");
    assert_eq!(m.shards.len(), 3);
    assert_eq!(m.tensors.len(), 39);
    assert_eq!(
        m.shards.iter().map(|s| s.n_tensors).collect::<Vec<_>>(),
        [16, 16, 7]
    );
    assert!(m.path().ends_with("split-llama-00001-of-00003.gguf"));
    assert_eq!(f.n_layer, 4);
    assert_eq!(f.general.name.as_deref(), Some("tiny-llama-gqa"));
    let t = m.tensor("output.weight").expect("in some shard");
    assert_eq!(t.n_bytes, 320 * 2 * 34);
    for (i, s) in m.shards.iter().enumerate() {
        let sum: u64 = m
            .tensors
            .iter()
            .filter(|t| t.shard == i)
            .map(|t| t.n_bytes)
            .sum();
        assert_eq!(sum, s.tensor_bytes);
    }
    // The same model as one file has the same facts.
    let (single, sf) = facts("llama-gqa.gguf");
    assert_eq!(m.tensor_bytes(), single.tensor_bytes());
    assert_eq!((f.params, kv_widths(&f)), (sf.params, kv_widths(&sf)));
}
