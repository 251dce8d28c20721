//! Tensor roles by name (llama.cpp `LLM_TENSOR_NAMES`), bytes per layer and role, parameters.

use serde::Serialize;

use super::ExpertFacts;
use crate::gguf::model::Model;

/// What a tensor is for, from its name. The memory model places weights by these roles
/// (`--cpu-moe` moves `RoutedExperts`; `token_embd` stays on the CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorRole {
    /// `blk.N.attn_*` (incl. MLA `attn_kv_a_mqa`, `attn_k_b`, sinks, q/k norms).
    Attention,
    /// `blk.N.ssm_*`, `blk.N.shortconv.*`, `blk.N.time_mix_*`: recurrent sequence mixers.
    Recurrent,
    /// `blk.N.ffn_{gate,up,down,gate_up}` of a dense FFN.
    DenseFfn,
    /// `blk.N.ffn_*_exps` / `_chexps` (weights and biases): what `--cpu-moe` moves.
    RoutedExperts,
    /// `blk.N.ffn_*_shexp`.
    SharedExperts,
    /// Any other `blk.N.*` tensor: norms, the router (`ffn_gate_inp`, `exp_probs_b`), nextn.
    LayerOther,
    /// `token_embd`, `per_layer_token_embd`, `position_embd`, `token_types`: always on the CPU.
    Input,
    /// `output.weight`.
    Output,
    /// `output_norm.*`.
    OutputNorm,
    /// Anything else outside the blocks (rope_freqs, cls, token_embd_norm, …).
    Other,
}

/// The block index of a `blk.N.…` tensor.
pub fn tensor_layer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("blk.")?;
    let (n, _) = rest.split_once('.')?;
    n.parse().ok()
}

pub fn tensor_role(name: &str) -> TensorRole {
    if let Some(rest) = name
        .strip_prefix("blk.")
        .and_then(|r| r.split_once('.'))
        .map(|p| p.1)
    {
        let base = rest.split('.').next().unwrap_or(rest);
        return if base.ends_with("_exps") || base.ends_with("_chexps") {
            TensorRole::RoutedExperts
        } else if base.ends_with("_shexp") {
            TensorRole::SharedExperts
        } else if base.starts_with("attn_") {
            TensorRole::Attention
        } else if base.starts_with("ssm_") || base == "shortconv" || base.starts_with("time_mix") {
            TensorRole::Recurrent
        } else if matches!(base, "ffn_gate" | "ffn_up" | "ffn_down" | "ffn_gate_up") {
            TensorRole::DenseFfn
        } else {
            TensorRole::LayerOther
        };
    }
    let base = name.split('.').next().unwrap_or(name);
    match base {
        "token_embd" | "per_layer_token_embd" | "position_embd" | "token_types" => {
            TensorRole::Input
        }
        "output" => TensorRole::Output,
        "output_norm" => TensorRole::OutputNorm,
        _ => TensorRole::Other,
    }
}

/// Bytes of one block by role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LayerBytes {
    pub attention: u64,
    pub recurrent: u64,
    pub dense_ffn: u64,
    pub experts_routed: u64,
    pub experts_shared: u64,
    pub other: u64,
    pub total: u64,
}

impl LayerBytes {
    fn add(&mut self, role: TensorRole, n: u64) {
        match role {
            TensorRole::Attention => self.attention += n,
            TensorRole::Recurrent => self.recurrent += n,
            TensorRole::DenseFfn => self.dense_ffn += n,
            TensorRole::RoutedExperts => self.experts_routed += n,
            TensorRole::SharedExperts => self.experts_shared += n,
            _ => self.other += n,
        }
        self.total += n;
    }
}

/// Bytes outside the blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NonLayerBytes {
    pub input: u64,
    pub output: u64,
    pub output_norm: u64,
    pub other: u64,
    /// True when there is no `output.weight`: llama.cpp then reuses `token_embd` for the output
    /// (a copy of it lands on the output device).
    pub tied_output: bool,
}

/// Parameter counts. Active = everything except routed experts, plus `used/count` of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ParamCounts {
    pub total: u64,
    pub active: u64,
    pub routed_experts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeShare {
    pub ggml_type: &'static str,
    pub n_tensors: usize,
    pub n_elements: u64,
    pub bytes: u64,
}

/// Bytes per block; tensors of blocks beyond `n_layer` are ignored (the header is what it is).
pub fn layer_bytes(model: &Model, n_layer: u32) -> Vec<LayerBytes> {
    let mut out = vec![LayerBytes::default(); n_layer as usize];
    for t in &model.tensors {
        if let Some(lb) = tensor_layer(&t.name).and_then(|il| out.get_mut(il as usize)) {
            lb.add(tensor_role(&t.name), t.n_bytes);
        }
    }
    out
}

pub fn totals(
    model: &Model,
    experts: Option<&ExpertFacts>,
) -> (ParamCounts, NonLayerBytes, Vec<TypeShare>) {
    let mut p = ParamCounts::default();
    let mut nl = NonLayerBytes::default();
    let mut mix: Vec<TypeShare> = Vec::new();
    for t in &model.tensors {
        let role = tensor_role(&t.name);
        p.total = p.total.saturating_add(t.n_elements);
        if role == TensorRole::RoutedExperts {
            p.routed_experts = p.routed_experts.saturating_add(t.n_elements);
        }
        match role {
            TensorRole::Input => nl.input += t.n_bytes,
            TensorRole::Output => nl.output += t.n_bytes,
            TensorRole::OutputNorm => nl.output_norm += t.n_bytes,
            TensorRole::Other => nl.other += t.n_bytes,
            _ => {}
        }
        match mix.iter_mut().find(|s| s.ggml_type == t.ggml_type.name) {
            Some(s) => {
                s.n_tensors += 1;
                s.n_elements += t.n_elements;
                s.bytes += t.n_bytes;
            }
            None => mix.push(TypeShare {
                ggml_type: t.ggml_type.name,
                n_tensors: 1,
                n_elements: t.n_elements,
                bytes: t.n_bytes,
            }),
        }
    }
    nl.tied_output = model.tensor("output.weight").is_none();
    let routed_active = match experts {
        Some(e) if e.count > 0 => {
            (u128::from(p.routed_experts) * u128::from(e.used.min(e.count)) / u128::from(e.count))
                as u64
        }
        _ => p.routed_experts,
    };
    p.active = p.total - p.routed_experts + routed_active;
    mix.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.ggml_type.cmp(b.ggml_type)));
    (p, nl, mix)
}
