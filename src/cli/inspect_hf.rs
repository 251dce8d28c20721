//! `profilec inspect DIR`: the facts of a Hugging Face model directory, as vLLM reads them.

use std::fmt::Write as _;
use std::path::Path;

use crate::safetensors::{self, HfModel};

pub fn run(dir: &Path, json: bool, tensors: bool) -> i32 {
    let model = match safetensors::inspect(dir) {
        Ok(m) => m,
        Err(e) => return super::fail(&e),
    };
    if json {
        let mut v = serde_json::json!({
            "path": dir,
            "format": "safetensors",
            "config": model.config,
            "weight_bytes": model.weight_bytes(),
            "dtype_mix": model.checkpoint.dtype_mix(),
            "shards": model.checkpoint.shards.iter().map(|s| serde_json::json!({
                "path": s.path, "file_size": s.file_size, "n_tensors": s.tensors.len(),
            })).collect::<Vec<_>>(),
        });
        if tensors {
            v["tensors"] = serde_json::json!(model.checkpoint.tensors().collect::<Vec<_>>());
        }
        match serde_json::to_string_pretty(&v) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::internal("cannot encode JSON", e),
        }
    } else {
        print!("{}", human(&model, tensors));
    }
    0
}

fn size(b: u64) -> String {
    match b {
        0..1048576 => format!("{:.1} KiB", b as f64 / 1024.0),
        1048576..1073741824 => format!("{:.2} MiB", b as f64 / 1048576.0),
        _ => format!("{:.2} GiB", b as f64 / 1073741824.0),
    }
}

fn human(m: &HfModel, tensors: bool) -> String {
    let c = &m.config;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "model       {}  [model_type {}{}]",
        c.architectures.join(", "),
        c.model_type,
        if c.nested_text_config {
            ", text_config"
        } else {
            ""
        }
    );
    let kind = match &c.experts {
        None => "dense".to_string(),
        Some(e) => format!(
            "MoE: {} experts, {} per token{}, expert ff {}",
            e.count,
            e.per_token,
            if e.shared > 0 {
                format!(", {} shared", e.shared)
            } else {
                String::new()
            },
            e.intermediate_size
        ),
    };
    let _ = writeln!(o, "kind        {kind}");
    let _ = writeln!(
        o,
        "dims        layers {}, hidden {}, ff {}, vocab {}, heads {} (KV {} from `{}`), head size {}",
        c.n_layers,
        c.hidden_size,
        c.intermediate_size,
        c.vocab_size,
        c.n_heads,
        c.n_kv_heads,
        c.kv_heads_key,
        c.head_size
    );
    if let Some(mla) = &c.mla {
        let _ = writeln!(
            o,
            "KV layout   MLA: kv_lora_rank {} + qk_rope_head_dim {} = {} per token per layer, no V",
            mla.kv_lora_rank, mla.qk_rope_head_dim, c.head_size
        );
    } else {
        let _ = writeln!(
            o,
            "KV layout   K and V: 2 × {} heads × {} per token per layer",
            c.n_kv_heads, c.head_size
        );
    }
    if let Some(w) = c.sliding_window {
        let _ = writeln!(
            o,
            "sliding     window {w} tokens on {} of {} layers",
            c.n_sliding(),
            c.n_layers
        );
    }
    let ml = &c.max_len;
    let rope = match (&ml.rope_type, ml.rope_factor) {
        (Some(t), Some(f)) => format!(", RoPE {t} × {f}"),
        (Some(t), None) => format!(", RoPE {t} (not scaled by vLLM)"),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "context     {} = {}{rope} → vLLM max_model_len {}",
        ml.key, ml.positions, ml.derived
    );
    if let Some(q) = &c.quantization {
        let _ = writeln!(o, "quantized   {} {}", q.method, q.detail);
    }
    let _ = writeln!(
        o,
        "dtype       {}{}",
        c.torch_dtype
            .as_deref()
            .unwrap_or("(not set: vLLM assumes float32 → bfloat16)"),
        if c.tie_word_embeddings {
            ", tied embeddings"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "weights     {} in {} tensors ({} stored elements)",
        size(m.weight_bytes()),
        m.checkpoint.tensors().count(),
        m.stored_elements()
    );
    for d in m.checkpoint.dtype_mix() {
        let _ = writeln!(
            o,
            "  {:<8} {:>6} tensors {:>12}",
            d.dtype,
            d.n_tensors,
            size(d.bytes)
        );
    }
    let _ = writeln!(
        o,
        "shards{}",
        match &m.checkpoint.index {
            Some(i) => format!(" (index {})", i.display()),
            None => String::new(),
        }
    );
    for (i, s) in m.checkpoint.shards.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {} {}  {} ({} tensors)",
            i + 1,
            s.path.display(),
            size(s.file_size),
            s.tensors.len()
        );
    }
    if tensors {
        for t in m.checkpoint.tensors() {
            let _ = writeln!(
                o,
                "  {:<48} {:<8} {:?} {} bytes",
                t.name, t.dtype, t.shape, t.n_bytes
            );
        }
    }
    o
}
