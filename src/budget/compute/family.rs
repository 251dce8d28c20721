//! Which graph builder an architecture gets.

use crate::gguf::{AttentionKind, ModelFacts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// llama / qwen2 / qwen3 and other dense GQA transformers (biases and q/k norms are taken
    /// from the tensors the file has; MoE layers use the generic router).
    Llama,
    Qwen3Moe,
    Qwen2Moe,
    Gemma3,
    Lfm2,
    Deepseek2,
    Qwen3Next,
    GptOss,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Qwen3Moe => "qwen3moe",
            Family::Qwen2Moe => "qwen2moe",
            Family::Gemma3 => "gemma3",
            Family::Lfm2 => "lfm2",
            Family::Deepseek2 => "deepseek2",
            Family::Qwen3Next => "qwen3next",
            Family::GptOss => "gpt-oss",
        }
    }

    /// Archs whose graph gathers the output rows after the last layer instead of inside it
    /// (`embeddings_nextn_masked` is false at reserve time).
    pub fn gathers_after_layers(self) -> bool {
        matches!(self, Family::Qwen3Next | Family::GptOss)
    }

    /// `norm_w` of `build_moe_ffn`: the top-k weights are divided by their sum.
    pub fn normalises_expert_weights(self) -> bool {
        matches!(
            self,
            Family::Qwen3Moe | Family::Deepseek2 | Family::Qwen3Next
        )
    }

    /// Whether the builder was checked against llama.cpp runs of a released model (qwen3next only
    /// on small fixtures; deepseek2 on DeepSeek-V3's public 4-GPU log, docs/accuracy.md case 9).
    pub fn measured(self) -> bool {
        !matches!(self, Family::Qwen3Next)
    }
}

/// The family for `facts.arch`, and whether it is the arch's own builder (`false` = the
/// closest family was used as a stand-in).
pub fn resolve(facts: &ModelFacts) -> (Family, bool) {
    let exact = match facts.arch.as_str() {
        "llama" | "qwen2" | "qwen3" => Some(Family::Llama),
        "qwen3moe" => Some(Family::Qwen3Moe),
        "qwen2moe" => Some(Family::Qwen2Moe),
        "gemma3" => Some(Family::Gemma3),
        "lfm2" => Some(Family::Lfm2),
        "deepseek2" => Some(Family::Deepseek2),
        "qwen3next" | "qwen35" | "qwen35moe" => Some(Family::Qwen3Next),
        "gpt-oss" => Some(Family::GptOss),
        _ => None,
    };
    if let Some(f) = exact {
        return (f, true);
    }
    let recurrent = facts.recurrent.is_some();
    let shared = facts
        .experts
        .as_ref()
        .is_some_and(|e| e.shared_count > 0 || e.n_ff_shexp > 0);
    let f = if matches!(facts.attention, AttentionKind::Mla { .. }) {
        Family::Deepseek2
    } else if recurrent && facts.arch.starts_with("lfm2") {
        Family::Lfm2
    } else if recurrent {
        Family::Qwen3Next
    } else if facts.arch.starts_with("gemma") {
        Family::Gemma3
    } else if shared {
        Family::Qwen2Moe
    } else if facts.experts.is_some() {
        Family::Qwen3Moe
    } else {
        Family::Llama
    };
    (f, false)
}
