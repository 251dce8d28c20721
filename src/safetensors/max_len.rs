//! The maximum model length vLLM derives from config.json (vllm/config/model.py
//! `_get_and_verify_max_len`, v0.11.0).

use serde::Serialize;
use serde_json::Value;

use super::config::KeyErr;

/// The derived maximum model length and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaxLen {
    pub key: String,
    pub positions: u64,
    pub rope_type: Option<String>,
    pub rope_factor: Option<f64>,
    /// What vLLM uses when `--max-model-len` is not given.
    pub derived: u64,
}

/// vllm/config/model.py `_get_and_verify_max_len` without a user value: the smallest of the
/// position keys, `model_max_length` overriding, RoPE scaling applied (not for su/longrope/llama3,
/// not for gemma3; yarn starts from `original_max_position_embeddings`). No key at all: 2048.
pub(super) fn max_len(
    text: &Value,
    model_type: &str,
    k: &dyn Fn(&str) -> String,
) -> Result<MaxLen, KeyErr> {
    const KEYS: &[&str] = &[
        "max_position_embeddings",
        "n_positions",
        "max_seq_len",
        "seq_length",
        "model_max_length",
        "max_target_positions",
        "max_sequence_length",
        "max_seq_length",
        "seq_len",
    ];
    let mut best: Option<(f64, &str)> = None;
    for key in KEYS {
        if let Some(v) = text.get(*key).and_then(Value::as_f64)
            && best.is_none_or(|(b, _)| v < b)
        {
            best = Some((v, key));
        }
    }
    if let Some(v) = text
        .get("model_max_length")
        .and_then(Value::as_f64)
        .filter(|v| *v > 0.0)
    {
        best = Some((v, "model_max_length"));
    }
    let (mut derived, key) = best.unwrap_or((2048.0, "(none: vLLM assumes 2048)"));
    let positions = derived as u64;
    let mut rope_type = None;
    let mut rope_factor = None;
    if let Some(rs) = text.get("rope_scaling").filter(|v| v.is_object()) {
        let ty = rs
            .get("rope_type")
            .or_else(|| rs.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        rope_type = Some(ty.to_owned());
        if !model_type.contains("gemma3") && !matches!(ty, "su" | "longrope" | "llama3") {
            let factor = rs.get("factor").and_then(Value::as_f64).unwrap_or(1.0);
            rope_factor = Some(factor);
            if ty == "yarn" {
                derived = rs
                    .get("original_max_position_embeddings")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| {
                        (
                            k("rope_scaling.original_max_position_embeddings"),
                            "missing: yarn scaling needs it (vLLM reads it)".to_owned(),
                        )
                    })?;
            }
            derived *= factor;
        }
    }
    Ok(MaxLen {
        key: k(key),
        positions,
        rope_type,
        rope_factor,
        derived: derived as u64,
    })
}
