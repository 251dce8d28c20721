//! The memory vLLM leaves for the KV cache on one GPU (v0.11.0,
//! vllm/v1/worker/gpu_worker.py `determine_available_memory` and vllm/utils `memory_profiling`):
//!
//! available = total × gpu_memory_utilization − (weights + torch activation peak + non-torch)
//!
//! `total` is what CUDA reports for the device. Weights are exact from the shard headers
//! (divided over tensor-parallel ranks). The other two are measured by vLLM in a profiling run
//! that cannot happen here; this module estimates them (docs/vllm.md "Activation peak" states
//! the model and its error).

use serde::Serialize;

use crate::safetensors::HfModel;

const GIB: f64 = 1073741824.0;

/// Non-torch memory on one rank (cuBLAS/cuDNN workspaces and the CUDA graph pool before
/// capture; NCCL and custom all-reduce buffers with tensor parallel).
pub const NON_TORCH_SINGLE: u64 = 256 << 20;
pub const NON_TORCH_TP: u64 = 768 << 20;

/// The profile run's inputs (vllm/v1/worker/gpu_model_runner.py `profile_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProfileRun {
    /// Tokens of the dummy forward pass (`max_num_batched_tokens`).
    pub tokens: u64,
    /// Requests of the dummy sampler run (`min(max_num_seqs, tokens)`).
    pub seqs: u64,
    pub tensor_parallel: u64,
    /// Bytes per activation element (the model dtype).
    pub act_bytes: u64,
}

/// The peak of torch-allocated memory during the profile run, above the weights: the larger of
/// the forward pass (the widest MLP or fused-MoE intermediate live with the residual stream)
/// and the sampler (float32 logits and probabilities over the vocabulary).
pub fn activation_peak(model: &HfModel, run: ProfileRun) -> u64 {
    let c = &model.config;
    let tp = run.tensor_parallel.max(1);
    let t = run.tokens;
    let h = c.hidden_size;
    let dense_ffn = 3 * c.intermediate_size / tp + 2 * h;
    let moe = c.experts.as_ref().map_or(0, |e| {
        let n = e.intermediate_size / tp;
        e.per_token * ((2 * n).max(h) + n) + 2 * h
    });
    let attn = (c.n_heads * c.head_size * 2 + 2 * c.n_kv_heads * c.head_size) / tp + 2 * h;
    let forward = t * run.act_bytes * dense_ffn.max(moe).max(attn);
    let sampler = run.seqs * c.vocab_size * 4 * 2;
    forward.max(sampler)
}

/// The RoPE cos/sin cache vLLM registers as a buffer while loading, so "Model loading took"
/// includes it (vllm/model_executor/layers/rotary_embedding: `[max positions, rotary dim]` in
/// the model dtype, one per distinct RoPE; Gemma 3 has a local and a global one). Llama-3.1-8B:
/// 131072 × 128 × 2 B = 32 MiB, the difference between its 14.9575 GiB of tensors and the
/// 14.9888 GiB vLLM logs.
pub fn rope_cache_bytes(model: &HfModel, act_bytes: u64) -> u64 {
    let c = &model.config;
    let rotary_dim = c.mla.as_ref().map_or(c.head_size, |m| m.qk_rope_head_dim);
    let n = if c.model_type.starts_with("gemma3") {
        2
    } else {
        1
    };
    n * c.max_len.derived * rotary_dim * act_bytes
}

/// One rank's budget, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub total: u64,
    pub gpu_memory_utilization: f64,
    /// total × utilization ("requested memory").
    pub requested: u64,
    /// Shard bytes / tensor-parallel ranks + the RoPE cache ([`rope_cache_bytes`]).
    pub weights: u64,
    pub activation_peak: u64,
    pub non_torch: u64,
    /// requested − weights − activation − non-torch (may be negative: vLLM then fails with
    /// "No available memory for the cache blocks").
    pub available: i64,
    /// True when `available` was given (from a log or `--kv-cache-memory-bytes`), not predicted.
    pub available_given: bool,
}

impl Budget {
    pub fn predict(
        model: &HfModel,
        total: u64,
        util: f64,
        run: ProfileRun,
        non_torch: u64,
    ) -> Self {
        let requested = (total as f64 * util) as u64;
        let weights = model.weight_bytes() / run.tensor_parallel.max(1)
            + rope_cache_bytes(model, run.act_bytes);
        let activation_peak = activation_peak(model, run);
        let available =
            requested as i64 - weights as i64 - activation_peak as i64 - non_torch as i64;
        Self {
            total,
            gpu_memory_utilization: util,
            requested,
            weights,
            activation_peak,
            non_torch,
            available,
            available_given: false,
        }
    }

    /// vLLM's line: "Available KV cache memory: X GiB".
    pub fn available_line(&self) -> String {
        format!(
            "Available KV cache memory: {:.2} GiB",
            self.available as f64 / GIB
        )
    }
}

/// Bytes as vLLM prints GiB (two decimals).
pub fn gib(b: f64) -> String {
    format!("{:.2} GiB", b / GIB)
}
