//! The hyper-parameter limits llama.cpp's loader enforces, checked once where the facts are
//! made so every size computed from them downstream stays in range (a hostile GGUF with
//! `expert_used_count = 0xFFFFFFFF` otherwise sends the compute graph into a 32 GiB allocation).
//!
//! The asserts are those of `llama_model_base::load_hparams` (src/llama-model.cpp) with the
//! bounds of src/llama-hparams.h; the dimension bound stands for the tensor shape checks of
//! `llama_model_loader::create_tensor` (a dimension larger than the model's whole parameter
//! count matches no tensor, so llama.cpp refuses the file with "wrong shape").

use super::ModelFacts;
use crate::gguf::error::GgufError;
use crate::gguf::value::{MetaValue, Metadata};

/// `LLAMA_MAX_LAYERS` (src/llama-hparams.h).
pub const MAX_LAYERS: u64 = 512;
/// `LLAMA_MAX_EXPERTS` (src/llama-hparams.h).
pub const MAX_EXPERTS: u64 = 1024;

/// Checks `facts` (and the raw values they were clamped from) against llama.cpp's limits.
/// `bad(key, reason)` makes the typed error naming the offending key.
pub(super) fn validate(
    facts: &ModelFacts,
    m: &Metadata,
    bad: &dyn Fn(&str, String) -> GgufError,
) -> Result<(), GgufError> {
    let key = |k: &str| format!("{}.{k}", facts.arch);
    let raw = |k: &str| largest(m, &key(k));
    if let Some(n) = raw("nextn_predict_layers").filter(|n| *n > u64::from(facts.n_layer)) {
        return Err(bad(
            &key("nextn_predict_layers"),
            format!(
                "is {n}, more than the {} blocks of the model (llama.cpp asserts n_layer_nextn <= n_layer)",
                facts.n_layer
            ),
        ));
    }
    experts(facts, &raw, &key, bad)?;
    if facts.n_embd == 0 && facts.n_layer_kv() > 0 {
        return Err(bad(&key("embedding_length"), "is missing or 0".into()));
    }
    if raw("attention.key_length").is_none() && facts.n_head > 0 {
        let heads = u64::from(facts.n_head);
        if !facts.n_embd.is_multiple_of(heads) {
            return Err(bad(
                &key("attention.head_count"),
                format!(
                    "is {heads}, which does not divide embedding_length {} (the head size \
                     llama.cpp derives is n_embd / n_head)",
                    facts.n_embd
                ),
            ));
        }
    }
    for l in &facts.layers {
        if l.n_head_kv > l.n_head || (l.n_head_kv > 0 && !l.n_head.is_multiple_of(l.n_head_kv)) {
            return Err(bad(
                &key("attention.head_count_kv"),
                format!(
                    "is {} on layer {}, which does not divide head_count {} (grouped-query \
                     attention shares each K/V head among a whole number of query heads)",
                    l.n_head_kv, l.index, l.n_head
                ),
            ));
        }
    }
    dimensions(facts, &key, bad)
}

fn experts(
    facts: &ModelFacts,
    raw: &dyn Fn(&str) -> Option<u64>,
    key: &dyn Fn(&str) -> String,
    bad: &dyn Fn(&str, String) -> GgufError,
) -> Result<(), GgufError> {
    let count = raw("expert_count").unwrap_or(0);
    let used = raw("expert_used_count").unwrap_or(0);
    if count > MAX_EXPERTS {
        return Err(bad(
            &key("expert_count"),
            format!("is {count}, more than llama.cpp's LLAMA_MAX_EXPERTS ({MAX_EXPERTS})"),
        ));
    }
    if used > count {
        return Err(bad(
            &key("expert_used_count"),
            format!(
                "is {used}, more than expert_count {count} (llama.cpp asserts n_expert_used <= n_expert)"
            ),
        ));
    }
    if count > 0 && used == 0 {
        return Err(bad(
            &key("expert_used_count"),
            format!("is missing or 0 while the model has {count} experts"),
        ));
    }
    if count == 0 && facts.experts.as_ref().is_some_and(|e| e.moe_layers > 0) {
        return Err(bad(
            &key("expert_count"),
            "is missing or 0 while layers hold routed expert tensors".into(),
        ));
    }
    Ok(())
}

/// Every per-token dimension the memory model multiplies by the context is at most the
/// model's parameter count: no tensor of the file could have such a shape otherwise.
fn dimensions(
    facts: &ModelFacts,
    key: &dyn Fn(&str) -> String,
    bad: &dyn Fn(&str, String) -> GgufError,
) -> Result<(), GgufError> {
    // A header-only file (no tensors: tests and `inspect` of a download in progress) has no
    // shapes to compare with.
    let limit = facts.params.total;
    if limit == 0 {
        return Ok(());
    }
    let too_big = |k: &str, what: &str, v: u64| -> Result<(), GgufError> {
        if v > limit {
            return Err(bad(
                &key(k),
                format!(
                    "gives a {what} of {v}, larger than the model's {limit} parameters: no \
                     tensor of the file has that shape, and llama.cpp refuses it"
                ),
            ));
        }
        Ok(())
    };
    too_big("embedding_length", "embedding length", facts.n_embd)?;
    too_big("vocab_size", "vocabulary", facts.n_vocab)?;
    for l in &facts.layers {
        too_big("feed_forward_length", "feed-forward length", l.n_ff)?;
        too_big("attention.key_length", "K row per token", l.n_embd_k_gqa)?;
        too_big("attention.value_length", "V row per token", l.n_embd_v_gqa)?;
        too_big(
            "attention.head_count",
            "query row per token",
            u64::from(l.n_head) * u64::from(l.n_embd_head_k),
        )?;
        too_big(
            "ssm.state_size",
            "recurrent state row",
            l.n_embd_r.max(l.n_embd_s),
        )?;
    }
    if let Some(e) = &facts.experts {
        too_big(
            "expert_feed_forward_length",
            "expert feed-forward length",
            e.n_ff_exp,
        )?;
        too_big(
            "expert_shared_feed_forward_length",
            "shared-expert feed-forward length",
            e.n_ff_shexp,
        )?;
    }
    Ok(())
}

/// A scalar key, or the largest entry of a per-layer array (`get_key_or_arr`).
fn largest(m: &Metadata, key: &str) -> Option<u64> {
    match m.get(key)? {
        MetaValue::Array(a) => a
            .values
            .as_deref()?
            .iter()
            .filter_map(MetaValue::as_u64)
            .max(),
        v => v.as_u64(),
    }
}
