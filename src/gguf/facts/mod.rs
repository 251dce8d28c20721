//! Model facts by architecture: what the memory model needs to size KV cache, recurrent state,
//! compute buffers and weights per device. The rules follow llama.cpp b11434
//! (`llama_model_base::load_hparams`, `src/models/<arch>.cpp`, `src/llama-hparams.cpp`); see
//! docs/gguf.md for each rule and its source.

mod general;
mod layers;
mod limits;
mod sizes;

use std::path::Path;

use serde::Serialize;

use super::error::GgufError;
use super::model::Model;

pub use general::{GeneralInfo, Sampling};
pub use layers::{AttentionKind, LayerFacts, RecurrentFacts, SwaFacts};
pub use sizes::{
    LayerBytes, NonLayerBytes, ParamCounts, TensorRole, TypeShare, tensor_layer, tensor_role,
};

/// Everything `inspect`, `plan` and `new` need to know about a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFacts {
    /// `general.architecture`, e.g. `llama`, `qwen3moe`, `gpt-oss`.
    pub arch: String,
    pub general: GeneralInfo,
    pub sampling: Sampling,
    /// `{arch}.block_count`: every block, including nextn/MTP blocks.
    pub n_layer: u32,
    /// Trailing nextn/MTP blocks (`{arch}.nextn_predict_layers`); not in the main KV cache.
    pub n_layer_nextn: u32,
    pub n_ctx_train: u64,
    pub n_embd: u64,
    /// `{arch}.vocab_size`, else the length of `tokenizer.ggml.tokens`.
    pub n_vocab: u64,
    /// Head count of layer 0 (per-layer values are in `layers`).
    pub n_head: u32,
    pub n_head_kv: u32,
    pub n_embd_head_k: u32,
    pub n_embd_head_v: u32,
    pub attention: AttentionKind,
    pub swa: Option<SwaFacts>,
    pub recurrent: Option<RecurrentFacts>,
    pub experts: Option<ExpertFacts>,
    pub layers: Vec<LayerFacts>,
    pub params: ParamCounts,
    pub non_layer: NonLayerBytes,
    /// Bytes and tensor count per GGML type, largest first.
    pub quant_mix: Vec<TypeShare>,
    pub total_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpertFacts {
    /// `{arch}.expert_count`.
    pub count: u32,
    /// `{arch}.expert_used_count` (experts per token).
    pub used: u32,
    /// `{arch}.expert_shared_count`; 1 when the file has `_shexp` tensors but no count (qwen2moe).
    pub shared_count: u32,
    /// `{arch}.expert_feed_forward_length`.
    pub n_ff_exp: u64,
    /// `{arch}.expert_shared_feed_forward_length`.
    pub n_ff_shexp: u64,
    /// `{arch}.leading_dense_block_count`: the first layers have a dense FFN instead.
    pub leading_dense: u32,
    /// Layers that hold routed experts.
    pub moe_layers: u32,
}

impl ModelFacts {
    /// Facts of an opened model. Errors name the metadata key that is missing or inconsistent.
    pub fn from_model(model: &Model) -> Result<ModelFacts, GgufError> {
        let path = model.path();
        let m = &model.metadata;
        let bad = |key: &str, reason: &str| GgufError::BadMetadata {
            path: path.to_path_buf(),
            key: key.to_string(),
            reason: reason.to_string(),
        };
        let arch = m
            .str("general.architecture")
            .ok_or_else(|| bad("general.architecture", "is missing (not a model file?)"))?
            .to_string();
        let key = |k: &str| format!("{arch}.{k}");
        let n_layer = m
            .u64(&key("block_count"))
            .ok_or_else(|| bad(&key("block_count"), "is missing"))?;
        if n_layer == 0 || n_layer > limits::MAX_LAYERS {
            return Err(bad(
                &key("block_count"),
                &format!(
                    "is {n_layer}; llama.cpp accepts 1 to {} blocks (LLAMA_MAX_LAYERS)",
                    limits::MAX_LAYERS
                ),
            ));
        }
        let n_layer = n_layer as u32;
        let n_embd = m.u64(&key("embedding_length")).unwrap_or(0);
        let n_vocab = m
            .u64(&key("vocab_size"))
            .or_else(|| m.array_len("tokenizer.ggml.tokens"))
            .unwrap_or(0);
        let ctx = layers::Ctx {
            m,
            arch: &arch,
            n_layer,
            n_embd,
            path,
        };
        let (layer_facts, attention, swa, recurrent) = layers::compute(&ctx, model)?;
        // Model-level head facts come from the first attention layer (LFM2's layer 0 is a conv).
        let first = layer_facts
            .iter()
            .find(|l| l.has_kv)
            .or(layer_facts.first());
        let nextn = m
            .u64(&key("nextn_predict_layers"))
            .unwrap_or(0)
            .min(u64::from(n_layer)) as u32;
        let experts = expert_facts(m, &arch, &layer_facts);
        let (params, non_layer, quant_mix) = sizes::totals(model, experts.as_ref());
        let facts = ModelFacts {
            general: GeneralInfo::from_metadata(m),
            sampling: Sampling::from_metadata(m),
            n_layer,
            n_layer_nextn: nextn,
            n_ctx_train: m.u64(&key("context_length")).unwrap_or(0),
            n_embd,
            n_vocab,
            n_head: first.map_or(0, |l| l.n_head),
            n_head_kv: first.map_or(0, |l| l.n_head_kv),
            n_embd_head_k: first.map_or(0, |l| l.n_embd_head_k),
            n_embd_head_v: first.map_or(0, |l| l.n_embd_head_v),
            attention,
            swa,
            recurrent,
            experts,
            layers: layer_facts,
            params,
            non_layer,
            quant_mix,
            total_bytes: model.tensor_bytes(),
            arch,
        };
        limits::validate(&facts, m, &|k, reason| bad(k, &reason))?;
        Ok(facts)
    }

    pub fn is_moe(&self) -> bool {
        self.experts.is_some()
    }

    /// Layers that hold a KV cache in the main context.
    pub fn n_layer_kv(&self) -> usize {
        self.layers.iter().filter(|l| l.has_kv).count()
    }
}

fn expert_facts(
    m: &super::value::Metadata,
    arch: &str,
    layers: &[LayerFacts],
) -> Option<ExpertFacts> {
    let key = |k: &str| format!("{arch}.{k}");
    let count = m.u64(&key("expert_count")).unwrap_or(0);
    let moe_layers = layers.iter().filter(|l| l.bytes.experts_routed > 0).count() as u32;
    if count == 0 && moe_layers == 0 {
        return None;
    }
    let has_shexp = layers.iter().any(|l| l.bytes.experts_shared > 0);
    let shared = m
        .u64(&key("expert_shared_count"))
        .unwrap_or(u64::from(has_shexp));
    Some(ExpertFacts {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        used: u32::try_from(m.u64(&key("expert_used_count")).unwrap_or(0)).unwrap_or(u32::MAX),
        shared_count: u32::try_from(shared).unwrap_or(u32::MAX),
        n_ff_exp: m.u64(&key("expert_feed_forward_length")).unwrap_or(0),
        n_ff_shexp: m
            .u64(&key("expert_shared_feed_forward_length"))
            .unwrap_or(0),
        leading_dense: u32::try_from(m.u64(&key("leading_dense_block_count")).unwrap_or(0))
            .unwrap_or(u32::MAX),
        moe_layers,
    })
}

/// Opens a model (all shards) and computes its facts.
pub fn inspect(path: &Path) -> Result<(Model, ModelFacts), GgufError> {
    let model = Model::open(path)?;
    let facts = ModelFacts::from_model(&model)?;
    Ok((model, facts))
}
