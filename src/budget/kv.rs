//! KV cache, recurrent state and output buffer (docs/memory-model.md §3–§5): exact byte counts
//! from the model's per-layer facts and the context parameters.

use serde::Serialize;

use super::context::ContextParams;
use super::placement::{DeviceRef, LayerPlacement};
use crate::gguf::{GgmlType, ModelFacts};

/// Cache types `-ctk`/`-ctv` accept (common/arg.cpp `kv_cache_types`).
const CACHE_TYPES: &[&str] = &[
    "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error(
        "`{0}` is not a KV cache type; use one of f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1"
    )]
    CacheType(String),
    #[error(
        "a quantized V cache ({0}) needs flash attention, but --flash-attn is off; llama.cpp refuses to start"
    )]
    QuantizedVWithoutFa(String),
    #[error(
        "the {which} cache type {ty} has blocks of {block} elements, which do not divide the head size {head}; llama.cpp refuses to create the context (use f16, or a type whose block divides {head})"
    )]
    BlockSize {
        which: &'static str,
        ty: String,
        block: u64,
        head: u32,
    },
    #[error("layer {layer}: {what} of {n} elements is not a whole number of {ty} blocks")]
    RowSize {
        layer: usize,
        what: &'static str,
        n: u64,
        ty: String,
    },
}

/// Which cache of the model: one for plain models, two (full + sliding window) for SWA models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheKind {
    Full,
    NonSwa,
    Swa,
}

/// One KV cache as llama.cpp logs it (`llama_kv_cache: size = …`), split per device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvCacheEstimate {
    pub kind: CacheKind,
    /// Cells per stream.
    pub cells: u64,
    pub layers: u32,
    pub streams: u64,
    pub k_bytes: u64,
    pub v_bytes: u64,
    /// Bytes per device (the layer's device, or CPU with `-nkvo`).
    pub per_device: Vec<(DeviceRef, u64)>,
    pub rule: String,
}

impl KvCacheEstimate {
    pub fn bytes(&self) -> u64 {
        self.k_bytes.saturating_add(self.v_bytes)
    }
}

/// `llama_memory_recurrent`: R and S state of the recurrent layers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurrentEstimate {
    pub layers: u32,
    /// `mem_size = max(1, n_seq)` cells.
    pub cells: u64,
    pub r_bytes: u64,
    pub s_bytes: u64,
    pub per_device: Vec<(DeviceRef, u64)>,
}

fn cache_type(name: &str) -> Result<GgmlType, KvError> {
    let lower = name.to_ascii_lowercase();
    CACHE_TYPES
        .contains(&lower.as_str())
        .then(|| GgmlType::from_name(&lower))
        .flatten()
        .ok_or_else(|| KvError::CacheType(name.to_string()))
}

fn row(ty: GgmlType, n: u64, layer: usize, what: &'static str) -> Result<u64, KvError> {
    ty.bytes_for(n, n).ok_or_else(|| KvError::RowSize {
        layer,
        what,
        n,
        ty: ty.name.to_string(),
    })
}

fn add(per: &mut Vec<(DeviceRef, u64)>, dev: DeviceRef, bytes: u64) {
    match per.iter_mut().find(|(d, _)| *d == dev) {
        Some((_, b)) => *b = b.saturating_add(bytes),
        None => per.push((dev, bytes)),
    }
}

/// llama_init_from_model (src/llama-context.cpp): with flash attention not off (`on` or `auto`),
/// a quantized K (V) cache type's block must divide the head size, else llama.cpp refuses the
/// context. With `-fa off` it starts (verified with llama-server on the 16-wide heads of
/// models/llama-gqa.gguf: `-ctk q8_0 -fa off` loads, `-fa on` and `auto` exit 1).
pub fn check_block_sizes(
    facts: &ModelFacts,
    type_k: &str,
    type_v: &str,
    flash_attn: bool,
) -> Result<(), KvError> {
    if !flash_attn {
        return Ok(());
    }
    for (which, name, head) in [
        ("K", type_k, facts.n_embd_head_k),
        ("V", type_v, facts.n_embd_head_v),
    ] {
        let ty = cache_type(name)?;
        if ty.is_quantized && head > 0 && !u64::from(head).is_multiple_of(ty.block_size) {
            return Err(KvError::BlockSize {
                which,
                ty: ty.name.to_ascii_lowercase(),
                block: ty.block_size,
                head,
            });
        }
    }
    Ok(())
}

/// The KV caches of the main context.
pub fn kv_caches(
    facts: &ModelFacts,
    ctx: &ContextParams,
    placement: &LayerPlacement,
) -> Result<Vec<KvCacheEstimate>, KvError> {
    let tk = cache_type(&ctx.type_k)?;
    let tv = cache_type(&ctx.type_v)?;
    if tv.is_quantized && !ctx.flash_attn {
        return Err(KvError::QuantizedVWithoutFa(ctx.type_v.clone()));
    }
    check_block_sizes(facts, &ctx.type_k, &ctx.type_v, ctx.flash_attn)?;
    let kv_layers: Vec<_> = facts.layers.iter().filter(|l| l.has_kv).collect();
    // Builds before MLA_V_LESS_BUILD store the MLA latent a second time as V.
    let mla_v = match facts.attention {
        crate::gguf::AttentionKind::Mla { kv_lora_rank, .. } if ctx.mla_v_cache => kv_lora_rank,
        _ => 0,
    };
    // Without FA, V is stored transposed and every layer's row is padded to the widest one.
    let v_max = kv_layers.iter().map(|l| l.n_embd_v_gqa).max().unwrap_or(0);
    let swa_model = facts.swa.is_some() && facts.layers.iter().any(|l| l.is_swa);
    let full_cells = ctx.n_ctx_seq;
    let swa_cells = if ctx.swa_full {
        full_cells
    } else {
        let window = facts.swa.as_ref().map_or(0, |s| s.window);
        let per = if ctx.unified { ctx.n_seq } else { 1 };
        full_cells.min(pad(
            window.saturating_mul(per).saturating_add(ctx.n_ubatch),
            256,
        ))
    };
    let groups: Vec<(CacheKind, u64, bool)> = if swa_model {
        vec![
            (CacheKind::NonSwa, full_cells, false),
            (CacheKind::Swa, swa_cells, true),
        ]
    } else {
        vec![(CacheKind::Full, full_cells, false)]
    };
    let mut out = Vec::new();
    for (kind, cells, want_swa) in groups {
        let mut est = KvCacheEstimate {
            kind,
            cells,
            layers: 0,
            streams: ctx.n_stream,
            k_bytes: 0,
            v_bytes: 0,
            per_device: Vec::new(),
            rule: rule_text(kind, ctx, facts),
        };
        for l in kv_layers
            .iter()
            .filter(|l| l.is_swa == want_swa || !swa_model)
        {
            let il = l.index as usize;
            let k = mul(&[row(tk, l.n_embd_k_gqa, il, "a K row")?, cells, ctx.n_stream]);
            // MLA layers have no V (n_embd_v_gqa = 0): V is a view of the latent K.
            let v = if l.n_embd_v_gqa == 0 && mla_v > 0 {
                mul(&[row(tv, mla_v, il, "a V row")?, cells, ctx.n_stream])
            } else if l.n_embd_v_gqa == 0 {
                0
            } else {
                let n = if ctx.flash_attn {
                    l.n_embd_v_gqa
                } else {
                    v_max
                };
                mul(&[row(tv, n, il, "a V row")?, cells, ctx.n_stream])
            };
            est.layers += 1;
            est.k_bytes = est.k_bytes.saturating_add(k);
            est.v_bytes = est.v_bytes.saturating_add(v);
            add(
                &mut est.per_device,
                placement.kv_device(il),
                k.saturating_add(v),
            );
        }
        if est.layers > 0 {
            out.push(est);
        }
    }
    Ok(out)
}

fn rule_text(kind: CacheKind, ctx: &ContextParams, facts: &ModelFacts) -> String {
    let v = if ctx.flash_attn {
        "V per layer"
    } else {
        "V padded to the widest layer (flash attention off)"
    };
    let mla = matches!(facts.attention, crate::gguf::AttentionKind::Mla { .. });
    let kv = if mla && ctx.mla_v_cache {
        "K (MLA latent + rope) + V (the latent again, builds before the V-less cache)".to_string()
    } else if mla {
        "K only (MLA latent + rope)".to_string()
    } else {
        format!("K + {v}")
    };
    let cells = match kind {
        CacheKind::Swa if ctx.swa_full => "n_ctx_seq cells (--swa-full)".to_string(),
        CacheKind::Swa => {
            "pad(min(n_ctx_seq, n_swa·(unified ? n_seq : 1) + n_ubatch), 256) cells".to_string()
        }
        _ => "n_ctx_seq cells".to_string(),
    };
    format!(
        "{kv}, {cells} × {} stream(s), on each layer's device",
        ctx.n_stream
    )
}

/// Recurrent state: `4·(n_embd_r + n_embd_s)·max(1, n_seq)` bytes per recurrent layer.
pub fn recurrent(
    facts: &ModelFacts,
    ctx: &ContextParams,
    placement: &LayerPlacement,
) -> Option<RecurrentEstimate> {
    let layers: Vec<_> = facts.layers.iter().filter(|l| l.is_recurrent).collect();
    if layers.is_empty() {
        return None;
    }
    let cells = ctx.n_seq.max(1);
    let mut est = RecurrentEstimate {
        layers: layers.len() as u32,
        cells,
        r_bytes: 0,
        s_bytes: 0,
        per_device: Vec::new(),
    };
    for l in layers {
        let r = mul(&[4, l.n_embd_r, cells]);
        let s = mul(&[4, l.n_embd_s, cells]);
        est.r_bytes = est.r_bytes.saturating_add(r);
        est.s_bytes = est.s_bytes.saturating_add(s);
        add(
            &mut est.per_device,
            placement.kv_device(l.index as usize),
            r.saturating_add(s),
        );
    }
    Some(est)
}

/// Logits buffer llama.cpp creates at startup (`output_reserve(n_seq)`): host memory.
pub fn output_bytes(facts: &ModelFacts, ctx: &ContextParams) -> u64 {
    mul(&[4, facts.n_vocab, ctx.n_seq.max(1)])
}

fn pad(x: u64, n: u64) -> u64 {
    x.div_ceil(n).saturating_mul(n)
}

/// Saturating product: hostile metadata must not overflow (a plan that large cannot fit anyway).
pub(crate) fn mul(xs: &[u64]) -> u64 {
    xs.iter().fold(1u64, |a, &x| a.saturating_mul(x))
}
