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
    /// Flash attention reads an F32 mask cast to F16 inside the graph (`self_kq_mask_cnv`),
    /// as builds before [`F16_MASK_BUILD`] did; b11434 builds the mask in F16.
    pub fa_mask_cast: bool,
    /// The graph selects its input among token rows, an embedding input and a mixed path
    /// (src/llama-graph.cpp `build_inp_embd`, b11434); builds before [`EMBD_SELECT_BUILD`] read
    /// the token rows only.
    pub embd_select: bool,
    /// MLA layers store the latent twice, as K (`kv_lora_rank + rope`) and as a V cache of
    /// `kv_lora_rank` per cell, as builds before [`MLA_V_LESS_BUILD`] did; b11434 reads V as a
    /// view of K and allocates no V cache.
    pub mla_v_cache: bool,
    /// Gated FFNs apply the activation as one fused GLU op (`ggml_swiglu_split`, a new tensor,
    /// gate computed before up); builds before [`FUSED_GLU_BUILD`] ran `silu` and `mul` in place
    /// and computed a MoE layer's up projection before its gate.
    pub fused_glu: bool,
}

const CTX_PAD: u64 = 256;

/// The first llama.cpp build whose llama-server reserves logits for one output per sequence
/// (`n_outputs_max`, tools/server/server-context.cpp `server_output_limits`; llama.cpp PR #23861,
/// merged after b9272, the build its issue #23527 reports). Older servers reserved a whole
/// ubatch of logit rows, like every other program (`n_vocab × n_ubatch` F32 on the output
/// device: 485 MiB for a 248K vocabulary at ub 512).
pub const SERVER_OUTPUT_LIMIT_BUILD: u32 = 9273;

/// The first build that creates the attention mask in F16 when flash attention is on
/// (src/llama-graph.cpp `build_attn_inp_kq_mask`; llama.cpp PR #23764, merged days before
/// #23861, also after b9272). Older builds kept an F32 mask input on the host and cast it to
/// F16 in the graph: every public CUDA log here (b5192–b9026) shows the F32 mask in its
/// `CUDA_Host` compute buffer.
pub const F16_MASK_BUILD: u32 = 9273;

/// From this build on, `build_inp_embd` expands an embedding input and a mixed token/embedding
/// path next to the token rows (the mixed path's `set_rows` into a copy of the input has no
/// reader, so its copy stays allocated on the first layer's device for the whole graph). The
/// public logs up to b8571 match to the byte without it; the build that added it lies between
/// b8571 and b11434 and is not pinned down here, so the late-May 2026 boundary stands in.
pub const EMBD_SELECT_BUILD: u32 = 9273;

/// From this build on, an MLA model's KV cache holds K only: V is a view of the latent in K
/// (llama.cpp PR #19067 "kv-cache : support V-less cache", merged 2026-01-24; src/llama-kv-cache.cpp
/// skips the V tensors when `hparams.is_mla()`). Before it the cache also stored the latent as
/// V (`kv_lora_rank` per cell): public log case 9 (DeepSeek-V3, b5331) shows 34 MiB per layer at
/// 16384 f16 cells = 576 (K) + 512 (V) × 2 B. The PR's build number is not recorded here; it is
/// interpolated from its merge date between b7045 (2025-11-13) and b8115 (2026-02-22), ±30 builds.
pub const MLA_V_LESS_BUILD: u32 = 7810;

/// From this build on, `build_ffn` and `build_moe_ffn` (src/llama-graph.cpp) apply the gated
/// activation as one op, `ggml_swiglu_split(gate, up)` (llama.cpp PR #14158 and its split form,
/// June 2025; the backward pass for the split form, PR #14483, is dated 2025-07-01): the graph
/// visits the gate's matmul first and the GLU gets a tensor of its own (`GGML_OP_GLU` is not in
/// `ggml_op_can_inplace`, ggml/src/ggml-alloc.c). Before it `build_moe_ffn` ended in
/// `ggml_mul(up, ggml_silu(gate))`: the up projection first, `silu` and `mul` in place (the
/// product takes the up projection's block). With experts op-offloaded from host memory, each
/// expert matmul copies its weight into the GPU's buffer, so the order decides where the larger
/// `down` copy lands: public log case 9 (b5331) shows it above the up projection's block. The
/// build number is interpolated between b5622 (2025-06-10) and b6168 (2025-08-15), ±50 builds.
pub const FUSED_GLU_BUILD: u32 = 5800;

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
            fa_mask_cast: false,
            embd_select: true,
            mla_v_cache: false,
            fused_glu: true,
        }
    }

    /// The same context on llama.cpp build `build` (`None` = b11434): a llama-server older than
    /// [`SERVER_OUTPUT_LIMIT_BUILD`] reserves `n_batch` logit rows, as llama-completion does,
    /// builds older than [`F16_MASK_BUILD`] cast an F32 mask for flash attention, and builds
    /// older than [`EMBD_SELECT_BUILD`] have no embedding-input select.
    pub fn on_build(mut self, build: Option<u32>) -> ContextParams {
        if self.program == Program::LlamaServer
            && build.is_some_and(|b| b < SERVER_OUTPUT_LIMIT_BUILD)
        {
            self.n_outputs_max = self.n_batch;
        }
        self.fa_mask_cast = self.flash_attn && build.is_some_and(|b| b < F16_MASK_BUILD);
        self.embd_select = build.is_none_or(|b| b >= EMBD_SELECT_BUILD);
        self.mla_v_cache = build.is_some_and(|b| b < MLA_V_LESS_BUILD);
        self.fused_glu = build.is_none_or(|b| b >= FUSED_GLU_BUILD);
        self
    }
}
