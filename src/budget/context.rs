use serde::Serialize;

use crate::gguf::ModelFacts;
use crate::resolve::{FlashAttn, RunOptions};

/// Which llama.cpp program the plan is for: the compute and output buffers differ (llama-completion
/// reserves logits for `n_batch` outputs, llama-server for one per sequence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Program {
    #[default]
    LlamaServer,
    LlamaCompletion,
}

impl Program {
    pub fn as_str(self) -> &'static str {
        match self {
            Program::LlamaServer => "llama-server",
            Program::LlamaCompletion => "llama-completion",
        }
    }
}

/// llama.cpp's context numbers (`llama_context::llama_context`, src/llama-context.cpp).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextParams {
    pub program: Program,
    /// Total KV cells over all streams (padded to 256).
    pub n_ctx: u64,
    /// Cells per stream.
    pub n_ctx_seq: u64,
    /// Sequences (`n_seq_max`).
    pub n_seq: u64,
    /// KV streams: 1 when unified, else `n_seq`.
    pub n_stream: u64,
    pub unified: bool,
    pub n_batch: u64,
    pub n_ubatch: u64,
    /// Logit rows reserved: llama-server `n_seq`, llama-completion `n_batch`.
    pub n_outputs_max: u64,
    /// Flash attention as it will run (`auto` is on for the CPU backend, and on for CUDA).
    pub flash_attn: bool,
    pub swa_full: bool,
    pub type_k: String,
    pub type_v: String,
}

const CTX_PAD: u64 = 256;

fn pad(x: u64, n: u64) -> u64 {
    x.div_ceil(n).saturating_mul(n)
}

impl ContextParams {
    pub fn new(opts: &RunOptions, facts: &ModelFacts, program: Program) -> ContextParams {
        let requested = if opts.ctx_size == 0 {
            facts.n_ctx_train
        } else {
            opts.ctx_size
        };
        let (n_seq, unified) = match program {
            Program::LlamaServer => (opts.n_seq(), opts.unified()),
            // llama-completion has no slots: one sequence unless -np says otherwise.
            Program::LlamaCompletion => (
                opts.parallel.filter(|&n| n > 0).unwrap_or(1),
                opts.kv_unified.unwrap_or(false),
            ),
        };
        let mut n_ctx = pad(requested.max(1), CTX_PAD);
        let (n_ctx_seq, n_stream) = if unified || n_seq == 1 {
            (n_ctx, 1)
        } else {
            let per = pad(n_ctx / n_seq, CTX_PAD);
            n_ctx = per.saturating_mul(n_seq);
            (per, n_seq)
        };
        let n_batch = opts.batch.min(n_ctx).max(1);
        let n_ubatch = opts.ubatch.min(n_batch).max(1);
        let n_outputs_max = match program {
            Program::LlamaServer => n_seq,
            Program::LlamaCompletion => n_batch,
        };
        ContextParams {
            program,
            n_ctx,
            n_ctx_seq,
            n_seq,
            n_stream,
            unified: unified || n_seq == 1,
            n_batch,
            n_ubatch,
            n_outputs_max,
            flash_attn: opts.flash_attn != FlashAttn::Off,
            swa_full: opts.swa_full,
            type_k: opts.cache_type_k.clone(),
            type_v: opts.cache_type_v.clone(),
        }
    }
}
