//! Per-layer attention, KV, sliding-window and recurrent facts, following llama.cpp's hparams.

use std::path::Path;

use serde::Serialize;

use super::sizes::{LayerBytes, layer_bytes};
use crate::gguf::error::GgufError;
use crate::gguf::model::Model;
use crate::gguf::value::{MetaValue, Metadata};

pub(super) struct Ctx<'a> {
    pub m: &'a Metadata,
    pub arch: &'a str,
    pub n_layer: u32,
    pub n_embd: u64,
    pub path: &'a Path,
}

impl Ctx<'_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.arch)
    }

    fn u64(&self, k: &str) -> Option<u64> {
        self.m.u64(&self.key(k))
    }

    fn bad(&self, k: &str, reason: String) -> GgufError {
        GgufError::BadMetadata {
            path: self.path.to_path_buf(),
            key: self.key(k),
            reason,
        }
    }

    /// llama.cpp `get_key_or_arr`: a scalar applies to every layer; an array must have one
    /// entry per layer.
    fn per_layer(&self, k: &str) -> Result<Option<Vec<u64>>, GgufError> {
        let n = self.n_layer as usize;
        match self.m.get(&self.key(k)) {
            None => Ok(None),
            Some(MetaValue::Array(a)) => {
                let vals = a.values.as_deref().unwrap_or(&[]);
                if a.len != n as u64 || vals.len() != n {
                    return Err(self.bad(
                        k,
                        format!("has {} entries, expected {n} (one per layer)", a.len),
                    ));
                }
                vals.iter()
                    .map(|v| {
                        v.as_u64()
                            .ok_or_else(|| self.bad(k, "holds a non-integer".into()))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(v) => v
                .as_u64()
                .map(|x| Some(vec![x; n]))
                .ok_or_else(|| self.bad(k, "is not an unsigned integer".into())),
        }
    }

    fn bool_array(&self, k: &str) -> Result<Option<Vec<bool>>, GgufError> {
        match self.m.get(&self.key(k)) {
            Some(MetaValue::Array(a)) => {
                let vals = a.values.as_deref().unwrap_or(&[]);
                if a.len != u64::from(self.n_layer) || vals.len() as u64 != a.len {
                    return Err(self.bad(
                        k,
                        format!("has {} entries, expected {}", a.len, self.n_layer),
                    ));
                }
                Ok(Some(
                    vals.iter().map(|v| v.as_bool().unwrap_or(false)).collect(),
                ))
            }
            _ => Ok(None),
        }
    }
}

/// How the KV cache of attention layers is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttentionKind {
    /// K and V per layer: `n_embd_k_gqa` / `n_embd_v_gqa` elements per cell.
    Standard,
    /// DeepSeek2-style MLA (`key_length_mla`/`value_length_mla` present): the cache holds the
    /// compressed latent plus the rope part as K (`kv_lora_rank + rope_dim`), and no V.
    Mla { kv_lora_rank: u64, rope_dim: u64 },
    /// No attention layer has a KV cache (pure recurrent models).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwaFacts {
    /// `{arch}.attention.sliding_window` (n_swa), in tokens.
    pub window: u64,
    /// Where the layer pattern came from: `array`, `scalar N`, or `arch default N`.
    pub pattern_source: String,
    pub n_swa_layers: u32,
}

/// Per-sequence recurrent state, F32 elements (llama.cpp `n_embd_r()` / `n_embd_s()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecurrentFacts {
    pub n_embd_r: u64,
    pub n_embd_s: u64,
    pub n_recurrent_layers: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerFacts {
    pub index: u32,
    /// The layer has a cache in the main context's KV (false for recurrent, nextn and
    /// shared-KV layers).
    pub has_kv: bool,
    pub is_swa: bool,
    pub is_recurrent: bool,
    pub is_nextn: bool,
    /// Holds routed experts (`*_exps` tensors).
    pub is_moe: bool,
    pub n_head: u32,
    pub n_head_kv: u32,
    pub n_embd_head_k: u32,
    pub n_embd_head_v: u32,
    /// K elements per cell: `n_embd_head_k * n_head_kv` (MLA: `kv_lora_rank + rope_dim`).
    pub n_embd_k_gqa: u64,
    /// V elements per cell; 0 for MLA (V is a view of K).
    pub n_embd_v_gqa: u64,
    /// F32 elements of recurrent state per sequence (0 unless `is_recurrent`).
    pub n_embd_r: u64,
    pub n_embd_s: u64,
    /// `feed_forward_length` for this layer (dense FFN width; 0 for MoE-only layers in some archs).
    pub n_ff: u64,
    pub bytes: LayerBytes,
}

/// Archs whose every layer is recurrent (llama.cpp `llm_arch_is_recurrent`).
const RECURRENT: &[&str] = &["mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"];
/// Hybrids whose recurrent layers are the ones without KV heads.
const HYBRID_BY_KV_HEADS: &[&str] = &["lfm2", "lfm2moe", "jamba", "granitehybrid", "plamo2"];
/// Hybrids with DeltaNet / linear-attention layers chosen by `full_attention_interval`.
const HYBRID_BY_INTERVAL: &[&str] = &["qwen3next", "qwen35", "qwen35moe", "kimi-linear"];

/// Default `set_swa_pattern(n)` per arch when the file gives no pattern.
fn default_swa_pattern(arch: &str) -> Option<u64> {
    Some(match arch {
        "gemma2" => 2,
        "gemma3" | "gemma-embedding" => 6,
        "gemma3n" => 5,
        "gpt-oss" => 2,
        "cohere2" => 4,
        _ => return None,
    })
}

type Computed = (
    Vec<LayerFacts>,
    AttentionKind,
    Option<SwaFacts>,
    Option<RecurrentFacts>,
);

pub(super) fn compute(c: &Ctx, model: &Model) -> Result<Computed, GgufError> {
    let n = c.n_layer as usize;
    let n_head = c
        .per_layer("attention.head_count")?
        .unwrap_or_else(|| vec![0; n]);
    let n_head_kv = c
        .per_layer("attention.head_count_kv")?
        .unwrap_or_else(|| n_head.clone());
    let n_ff = c
        .per_layer("feed_forward_length")?
        .unwrap_or_else(|| vec![0; n]);
    let head0 = n_head.first().copied().unwrap_or(0);
    let default_head = c.n_embd.checked_div(head0).unwrap_or(0);
    let head_k = c.u64("attention.key_length").unwrap_or(default_head);
    let head_v = c.u64("attention.value_length").unwrap_or(default_head);
    let head_k_swa = c.u64("attention.key_length_swa").unwrap_or(head_k);
    let head_v_swa = c.u64("attention.value_length_swa").unwrap_or(head_v);

    let is_mla = c.u64("attention.key_length_mla").is_some()
        && c.u64("attention.value_length_mla").is_some();
    let mla_rank = c.u64("attention.kv_lora_rank").unwrap_or(0);

    let (swa_layers, swa) = swa_layers(c)?;
    let recurrent_layers = recurrent_layers(c, &n_head_kv, &n_ff)?;
    let (r, s) = state_sizes(c);

    let nextn = c
        .u64("nextn_predict_layers")
        .unwrap_or(0)
        .min(u64::from(c.n_layer));
    let first_nextn = u64::from(c.n_layer) - nextn;
    // Gemma3n/Gemma4: the last `shared_kv_layers` reuse earlier caches.
    let kv_from_start = c
        .u64("attention.shared_kv_layers")
        .map(|sh| u64::from(c.n_layer).saturating_sub(sh));
    let bytes = layer_bytes(model, c.n_layer);

    let mut layers = Vec::with_capacity(n);
    for il in 0..n {
        let get = |v: &[u64]| v.get(il).copied().unwrap_or(0);
        let is_swa = swa_layers.get(il).copied().unwrap_or(false);
        let is_rec = recurrent_layers.get(il).copied().unwrap_or(false);
        let is_nextn = il as u64 >= first_nextn;
        let falcon_h1 = c.arch == "falcon-h1";
        let has_kv = (!is_rec || falcon_h1)
            && !is_nextn
            && kv_from_start.is_none_or(|k| (il as u64) < k)
            && !RECURRENT.contains(&c.arch);
        let (hk, hv) = if is_swa {
            (head_k_swa, head_v_swa)
        } else {
            (head_k, head_v)
        };
        let kv = get(&n_head_kv);
        let (k_gqa, v_gqa) = if is_mla {
            (hk * kv, 0)
        } else {
            (hk * kv, hv * kv)
        };
        let b = bytes.get(il).copied().unwrap_or_default();
        layers.push(LayerFacts {
            index: il as u32,
            has_kv,
            is_swa,
            is_recurrent: is_rec,
            is_nextn,
            is_moe: b.experts_routed > 0,
            n_head: u32::try_from(get(&n_head)).unwrap_or(u32::MAX),
            n_head_kv: u32::try_from(kv).unwrap_or(u32::MAX),
            n_embd_head_k: u32::try_from(hk).unwrap_or(u32::MAX),
            n_embd_head_v: u32::try_from(hv).unwrap_or(u32::MAX),
            n_embd_k_gqa: if has_kv { k_gqa } else { 0 },
            n_embd_v_gqa: if has_kv { v_gqa } else { 0 },
            n_embd_r: if is_rec { r } else { 0 },
            n_embd_s: if is_rec { s } else { 0 },
            n_ff: get(&n_ff),
            bytes: b,
        });
    }
    let any_kv = layers.iter().any(|l| l.has_kv);
    let attention = if !any_kv {
        AttentionKind::None
    } else if is_mla {
        AttentionKind::Mla {
            kv_lora_rank: mla_rank,
            rope_dim: head_k.saturating_sub(mla_rank),
        }
    } else {
        AttentionKind::Standard
    };
    let n_rec = layers.iter().filter(|l| l.is_recurrent).count() as u32;
    let recurrent = (n_rec > 0).then_some(RecurrentFacts {
        n_embd_r: r,
        n_embd_s: s,
        n_recurrent_layers: n_rec,
    });
    let swa = swa.map(|mut f| {
        f.n_swa_layers = layers.iter().filter(|l| l.is_swa).count() as u32;
        f
    });
    Ok((layers, attention, swa, recurrent))
}

fn swa_layers(c: &Ctx) -> Result<(Vec<bool>, Option<SwaFacts>), GgufError> {
    let n = c.n_layer as usize;
    let window = c.u64("attention.sliding_window").unwrap_or(0);
    if window == 0 {
        return Ok((vec![false; n], None));
    }
    // llama.cpp `set_swa_pattern(p, dense_first = false)`: every p-th layer is full attention.
    let by_pattern =
        |p: u64| -> Vec<bool> { (0..n as u64).map(|il| p == 0 || il % p < p - 1).collect() };
    let key = "attention.sliding_window_pattern";
    let (layers, source) = if let Some(arr) = c.bool_array(key)? {
        (arr, "array".to_string())
    } else if let Some(p) = c.u64(key) {
        (by_pattern(p), format!("scalar {p}"))
    } else if let Some(p) = default_swa_pattern(c.arch) {
        (by_pattern(p), format!("arch default {p}"))
    } else {
        // A window without a pattern (old mistral/qwen2 files): llama.cpp ignores it.
        return Ok((vec![false; n], None));
    };
    Ok((
        layers,
        Some(SwaFacts {
            window,
            pattern_source: source,
            n_swa_layers: 0,
        }),
    ))
}

fn recurrent_layers(c: &Ctx, n_head_kv: &[u64], n_ff: &[u64]) -> Result<Vec<bool>, GgufError> {
    let n = c.n_layer as usize;
    if RECURRENT.contains(&c.arch) || c.arch == "falcon-h1" {
        return Ok(vec![true; n]);
    }
    if HYBRID_BY_INTERVAL.contains(&c.arch) {
        if let Some(arr) = c.bool_array("attention.recurrent_layers")? {
            return Ok(arr);
        }
        // Trailing nextn/MTP blocks are full attention, never recurrent (qwen35.cpp).
        let interval = c.u64("full_attention_interval").unwrap_or(4).max(1);
        let n_main =
            u64::from(c.n_layer).saturating_sub(c.u64("nextn_predict_layers").unwrap_or(0));
        return Ok((0..n as u64)
            .map(|il| il < n_main && (il + 1) % interval != 0)
            .collect());
    }
    if HYBRID_BY_KV_HEADS.contains(&c.arch) {
        return Ok(n_head_kv.iter().map(|&kv| kv == 0).collect());
    }
    if matches!(c.arch, "nemotron_h" | "nemotron_h_moe") {
        // Nemotron-H: layers with neither heads nor FFN are Mamba2; FFN-only layers are MLP.
        return Ok((0..n)
            .map(|il| n_head_kv.get(il) == Some(&0) && n_ff.get(il) == Some(&0))
            .collect());
    }
    Ok(vec![false; n])
}

/// llama.cpp `n_embd_r()` / `n_embd_s()` in F32 elements per sequence.
fn state_sizes(c: &Ctx) -> (u64, u64) {
    let g = |k: &str| c.u64(k).unwrap_or(0);
    let (d_conv, d_inner, d_state, n_group) = (
        g("ssm.conv_kernel"),
        g("ssm.inner_size"),
        g("ssm.state_size"),
        g("ssm.group_count"),
    );
    let s_mamba = d_state.saturating_mul(d_inner);
    let wkv = g("wkv.head_size");
    if wkv != 0 {
        let shift = c.u64("token_shift_count").unwrap_or(2);
        return (shift.saturating_mul(c.n_embd), c.n_embd.saturating_mul(wkv));
    }
    let kda = g("kda.head_dim");
    if kda != 0 {
        let heads = c.u64("attention.head_count").unwrap_or(0);
        let r = 3u64
            .saturating_mul(d_conv.saturating_sub(1))
            .saturating_mul(heads)
            .saturating_mul(kda);
        return (r, kda.saturating_mul(kda).saturating_mul(heads));
    }
    let l_cache = g("shortconv.l_cache");
    if l_cache != 0 {
        return (c.n_embd.saturating_mul(l_cache - 1), s_mamba);
    }
    let conv_channels =
        d_inner.saturating_add(2u64.saturating_mul(n_group).saturating_mul(d_state));
    (
        d_conv.saturating_sub(1).saturating_mul(conv_channels),
        s_mamba,
    )
}
