//! vLLM v0.11.0's KV arithmetic: page sizes, hybrid grouping and padding, tokens and
//! concurrency, and public vLLM startup logs reproduced from their "Available KV cache memory"
//! line (docs/accuracy.md, "vLLM").

use profilec::vllm::kv::{self, LayerKind, LayerSpec};

fn spec(kind: LayerKind, heads: u64, head: u64, bytes: u64) -> LayerSpec {
    LayerSpec {
        kind,
        block_size: 16,
        num_kv_heads: heads,
        head_size: head,
        dtype_bytes: bytes,
    }
}

const GIB: f64 = 1073741824.0;

/// The range of bytes a "X.XX GiB" log line stands for.
fn printed_gib(x: f64) -> (u64, u64) {
    (((x - 0.005) * GIB) as u64, ((x + 0.005) * GIB) as u64)
}

#[test]
fn page_sizes_are_vllms() {
    // AttentionSpec: 2 · block · heads · head · dtype.
    assert_eq!(spec(LayerKind::Full, 8, 128, 2).page_size_bytes(), 65536);
    // MLAAttentionSpec: no factor 2 (one latent per token), block 64 with FlashMLA.
    let mla = LayerSpec {
        block_size: 64,
        ..spec(LayerKind::Mla, 1, 576, 2)
    };
    assert_eq!(mla.page_size_bytes(), 64 * 576 * 2);
    // Sliding window: window − 1 + max_num_batched_tokens tokens, plus one block.
    let swa = spec(LayerKind::Sliding(1024), 8, 128, 2);
    assert_eq!(
        swa.max_memory_usage_bytes(131072, 2048),
        ((1023u64 + 2048).div_ceil(16) + 1) * 65536
    );
    assert_eq!(
        swa.max_memory_usage_bytes(100, 2048),
        (100u64.div_ceil(16) + 1) * 65536
    );
}

#[test]
fn gemma3_style_5_to_1_layers_group_by_the_smaller_count_with_padding() {
    // 26 layers, 5 sliding : 1 full → 22 sliding + 4 full (gemma-3-1b).
    let mut layers = Vec::new();
    for i in 0..26 {
        let kind = if (i + 1) % 6 == 0 {
            LayerKind::Full
        } else {
            LayerKind::Sliding(512)
        };
        layers.push(spec(kind, 1, 256, 2));
    }
    let l = kv::layout(&layers, false).expect("uniform page size");
    // group size 4: sliding 22 → 6 groups (padding 2), full 4 → 1 group.
    assert_eq!(l.group_size, 4);
    assert_eq!(l.groups.len(), 7);
    assert_eq!(l.padding_layers, 2);
    let r = l.result(1 << 30, 32768, 2048, None);
    let page = 2 * 16 * 256 * 2;
    assert_eq!(r.num_blocks, (1u64 << 30) / page / 4);
    assert_eq!(r.tokens, r.num_blocks / 7 * 16);
    // Disabling the hybrid manager makes every layer full: one group of 26.
    let l = kv::layout(&layers, true).unwrap();
    assert_eq!((l.groups.len(), l.group_size), (1, 26));
}

#[test]
fn the_estimated_max_model_len_is_the_largest_that_fits() {
    let layers = vec![spec(LayerKind::Full, 8, 128, 2); 32];
    let avail = 2u64 << 30; // 2 GiB: 128 KiB per token → 16384 tokens.
    assert_eq!(kv::needed_bytes(&layers, 16384, 2048), avail);
    assert_eq!(
        kv::estimate_max_model_len(&layers, 131072, 2048, avail),
        16384
    );
    assert_eq!(kv::estimate_max_model_len(&layers, 131072, 2048, 1000), 0);
}

/// Asserts a public log: the logged token count lies in what `layers` give for the printed
/// "Available KV cache memory: X.XX GiB" interval, and the concurrency from the logged count
/// prints the same two decimals.
fn assert_log(layers: &[LayerSpec], gib: f64, logged_tokens: u64, max_model_len: u64, conc: &str) {
    let l = kv::layout(layers, false).unwrap();
    let (lo, hi) = printed_gib(gib);
    let (a, b) = (
        l.result(lo, max_model_len, 8192, None),
        l.result(hi, max_model_len, 8192, None),
    );
    assert!(
        a.tokens <= logged_tokens && logged_tokens <= b.tokens,
        "{a:?} {b:?}"
    );
    let exact = l.result(0, max_model_len, 8192, Some(logged_tokens / 16));
    assert_eq!(format!("{:.2}", exact.max_concurrency), conc);
}

/// Llama-3.1-8B with an EAGLE draft (one more attention layer: 33), H100 80GB, vLLM V1:
/// "Available KV cache memory: 51.63 GiB / GPU KV cache size: 410,128 tokens / Maximum
/// concurrency for 131,072 tokens per request: 3.13x" (vllm-project/vllm, spec-decode
/// prefix-caching overhead report, June 2025).
#[test]
fn llama_8b_eagle_h100_log_is_reproduced() {
    let layers = vec![spec(LayerKind::Full, 8, 128, 2); 33];
    assert_log(&layers, 51.63, 410_128, 131072, "3.13");
}

/// Llama-3.1-8B-Instruct on an RTX 3090 (vllm-project/vllm#10517): kv_cache_size=3.81GiB,
/// "# GPU blocks: 1952", "Maximum concurrency for 20000 tokens per request: 1.56x" (V0 printed
/// blocks · block / max_model_len; V1's cdiv form gives the same here).
#[test]
fn llama_8b_rtx3090_log_is_reproduced() {
    let layers = vec![spec(LayerKind::Full, 8, 128, 2); 32];
    assert_log(&layers, 3.81, 1952 * 16, 20000, "1.56");
}

/// granite-4.0-micro (40 layers, 8 KV heads × 64, bf16) on an L40S with vLLM v0.11.0 itself
/// (the log's kv_cache_utils.py line numbers 1087/1091 are 0.11.0's): "Available KV cache
/// memory: 35.34 GiB / GPU KV cache size: 463,136 tokens / Maximum concurrency for 131,072
/// tokens per request: 3.53x" (an IBM Cloud Code Engine fleet tutorial's log, Nov 2025).
#[test]
fn granite_micro_l40s_v0_11_log_is_reproduced() {
    let layers = vec![spec(LayerKind::Full, 8, 64, 2); 40];
    assert_log(&layers, 35.34, 463_136, 131072, "3.53");
}
