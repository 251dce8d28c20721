//! vLLM's KV cache arithmetic (v0.11.0), transcribed from vllm/v1/kv_cache_interface.py
//! (page size and per-request maximum of each layer spec) and vllm/v1/core/kv_cache_utils.py
//! (grouping, hybrid padding, `num_blocks`, the logged token count and concurrency, the
//! estimated maximum length). docs/vllm.md cites each function.

use serde::Serialize;

/// What one attention layer stores per token (vLLM's `KVCacheSpec` subclasses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LayerKind {
    /// `FullAttentionSpec`: K and V for every token.
    Full,
    /// `SlidingWindowSpec(sliding_window)`: only the window.
    Sliding(u64),
    /// `MLAAttentionSpec`: one latent vector per token (no separate V).
    Mla,
}

/// One layer's spec on one tensor-parallel rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LayerSpec {
    pub kind: LayerKind,
    pub block_size: u64,
    pub num_kv_heads: u64,
    pub head_size: u64,
    pub dtype_bytes: u64,
}

fn cdiv(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

impl LayerSpec {
    /// `page_size_bytes`: AttentionSpec 2·block·heads·head·dtype; MLA without the factor 2.
    pub fn page_size_bytes(&self) -> u64 {
        let per = self.block_size * self.num_kv_heads * self.head_size * self.dtype_bytes;
        match self.kind {
            LayerKind::Mla => per,
            _ => 2 * per,
        }
    }

    /// `max_memory_usage_bytes`: what one request of `max_model_len` tokens needs in this layer.
    /// Sliding: min(window − 1 + max_num_batched_tokens, max_model_len) tokens, plus one block.
    pub fn max_memory_usage_bytes(&self, max_model_len: u64, max_num_batched_tokens: u64) -> u64 {
        match self.kind {
            LayerKind::Full | LayerKind::Mla => {
                cdiv(max_model_len, self.block_size) * self.page_size_bytes()
            }
            LayerKind::Sliding(w) => {
                let tokens = (w.saturating_sub(1) + max_num_batched_tokens).min(max_model_len);
                (cdiv(tokens, self.block_size) + 1) * self.page_size_bytes()
            }
        }
    }
}

/// One KV cache group: layers sharing a block table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub spec: LayerSpec,
    pub n_layers: u64,
}

/// How vLLM groups the layers (`get_kv_cache_groups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub groups: Vec<Group>,
    /// Layers per group (the most of any group): the number of shared KV tensors.
    pub group_size: u64,
    /// Padding layers added to make the groups equal (vLLM warns "Add N padding layers").
    pub padding_layers: u64,
}

/// `get_kv_cache_groups` for layers in model order. One spec → one group
/// (`_get_kv_cache_groups_uniform_spec`); several specs with one page size → groups of
/// `min(count per spec)` layers, the last of each type padded
/// (`_get_kv_cache_groups_uniform_page_size`). `disable_hybrid` turns sliding layers into full
/// ones first (`unify_hybrid_kv_cache_specs`). `None` for an attention-free model or specs with
/// different page sizes (vLLM raises NotImplementedError there too).
pub fn layout(layers: &[LayerSpec], disable_hybrid: bool) -> Option<Layout> {
    let mut specs: Vec<LayerSpec> = layers.to_vec();
    let has_full = specs.iter().any(|s| s.kind == LayerKind::Full);
    if disable_hybrid && has_full {
        for s in &mut specs {
            if matches!(s.kind, LayerKind::Sliding(_)) {
                s.kind = LayerKind::Full;
            }
        }
    }
    let first = *specs.first()?;
    if specs.iter().all(|s| *s == first) {
        let n = specs.len() as u64;
        return Some(Layout {
            groups: vec![Group {
                spec: first,
                n_layers: n,
            }],
            group_size: n,
            padding_layers: 0,
        });
    }
    if specs
        .iter()
        .any(|s| s.page_size_bytes() != first.page_size_bytes())
    {
        return None;
    }
    // Types in first-seen order (a Python dict keeps insertion order).
    let mut types: Vec<(LayerSpec, u64)> = Vec::new();
    for s in &specs {
        match types.iter_mut().find(|(t, _)| t == s) {
            Some((_, n)) => *n += 1,
            None => types.push((*s, 1)),
        }
    }
    let group_size = types.iter().map(|(_, n)| *n).min()?;
    let mut groups = Vec::new();
    let mut padding = 0;
    for (spec, n) in types {
        let pad = group_size - n % group_size;
        if pad != group_size {
            padding += pad;
        }
        let n_groups = cdiv(n, group_size);
        for i in 0..n_groups {
            // layers[i::num_groups]
            let count = (n - i).div_ceil(n_groups);
            groups.push(Group {
                spec,
                n_layers: count,
            });
        }
    }
    Some(Layout {
        groups,
        group_size,
        padding_layers: padding,
    })
}

/// The numbers vLLM logs after profiling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvResult {
    pub num_blocks: u64,
    /// "GPU KV cache size: N tokens".
    pub tokens: u64,
    /// "Maximum concurrency for L tokens per request: X".
    pub max_concurrency: f64,
}

impl Layout {
    pub fn page_size(&self) -> u64 {
        self.groups[0].spec.page_size_bytes()
    }

    fn block_size(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| g.spec.block_size)
            .min()
            .unwrap_or(16)
    }

    /// `get_kv_cache_config_from_groups` (general case): num_blocks = available // page //
    /// group_size; tokens = num_blocks // n_groups · block_size; concurrency per
    /// `get_max_concurrency_for_kv_cache_config`.
    pub fn result(
        &self,
        available: u64,
        max_model_len: u64,
        max_num_batched_tokens: u64,
        num_gpu_blocks_override: Option<u64>,
    ) -> KvResult {
        let page = self.page_size();
        let num_blocks =
            num_gpu_blocks_override.unwrap_or(available / page / self.group_size.max(1));
        let tokens = num_blocks / self.groups.len() as u64 * self.block_size();
        let per_request: u64 = self
            .groups
            .iter()
            .map(|g| {
                g.spec
                    .max_memory_usage_bytes(max_model_len, max_num_batched_tokens)
            })
            .sum::<u64>()
            * self.group_size;
        let blocks_per_request = cdiv(per_request, page * self.group_size).max(1);
        KvResult {
            num_blocks,
            tokens,
            max_concurrency: num_blocks as f64 / blocks_per_request as f64,
        }
    }
}

/// `check_enough_kv_cache_memory`'s need: the sum over every layer of its per-request maximum.
pub fn needed_bytes(layers: &[LayerSpec], max_model_len: u64, max_num_batched_tokens: u64) -> u64 {
    layers
        .iter()
        .map(|l| l.max_memory_usage_bytes(max_model_len, max_num_batched_tokens))
        .sum()
}

/// `estimate_max_model_len`: the largest length in 1..=max_model_len whose need fits, by the
/// same binary search; 0 when even one token does not fit.
pub fn estimate_max_model_len(
    layers: &[LayerSpec],
    max_model_len: u64,
    max_num_batched_tokens: u64,
    available: u64,
) -> u64 {
    let fits = |len| needed_bytes(layers, len, max_num_batched_tokens) <= available;
    if !fits(1) {
        return 0;
    }
    let (mut left, mut right, mut result) = (1u64, max_model_len, 1u64);
    while left <= right {
        let mid = (left + right) / 2;
        if fits(mid) {
            result = mid;
            left = mid + 1;
        } else {
            right = mid - 1;
        }
    }
    result
}
