//! `profilec inspect <model.gguf>`: the evaluation table of the add-model workflow.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::gguf::{self, AttentionKind, Model, ModelFacts};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The model file (for a split model, any of its shards).
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also list every tensor (name, type, dims, bytes, shard, offset).
    #[arg(long)]
    pub tensors: bool,
    /// Also print the per-layer table (human format; JSON always has it).
    #[arg(long)]
    pub layers: bool,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        matches!(self.format, Format::Json)
    }
}

pub fn run(args: Args) -> i32 {
    if args.model.is_dir() {
        return super::inspect_hf::run(
            &args.model,
            matches!(args.format, Format::Json),
            args.tensors,
        );
    }
    let (model, facts) = match gguf::inspect(&args.model) {
        Ok(x) => x,
        Err(e) => return super::fail(&e),
    };
    match args.format {
        Format::Json => {
            let mut v = serde_json::json!({
                "path": model.path(),
                "shards": model.shards,
                "facts": facts,
            });
            if args.tensors {
                v["tensors"] = serde_json::json!(model.tensors);
            }
            match serde_json::to_string_pretty(&v) {
                Ok(s) => println!("{s}"),
                Err(e) => return super::internal("cannot encode JSON", e),
            }
        }
        Format::Human => print!("{}", human(&model, &facts, args.layers, args.tensors)),
    }
    0
}

fn mib(b: u64) -> String {
    match b {
        0..1024 => format!("{b} B"),
        1024..1048576 => format!("{:.1} KiB", b as f64 / 1024.0),
        1048576..1073741824 => format!("{:.2} MiB", b as f64 / 1048576.0),
        _ => format!("{:.2} GiB", b as f64 / 1073741824.0),
    }
}

fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.2} K", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} M", n as f64 / 1e6),
        _ => format!("{:.2} B", n as f64 / 1e9),
    }
}

fn human(model: &Model, f: &ModelFacts, layers: bool, tensors: bool) -> String {
    let mut o = String::new();
    let g = &f.general;
    let name = g.name.as_deref().unwrap_or("(no general.name)");
    let _ = writeln!(o, "model       {name}  [arch {}]", f.arch);
    if let Some(q) = &g.quantization {
        let _ = writeln!(
            o,
            "file type   {q}{}",
            g.size_label
                .as_ref()
                .map_or(String::new(), |s| format!(", size label {s}"))
        );
    }
    let kind = match &f.experts {
        None => "dense".to_string(),
        Some(e) => {
            let shared = if e.shared_count > 0 {
                format!(", {} shared (ff {})", e.shared_count, e.n_ff_shexp)
            } else {
                String::new()
            };
            format!(
                "MoE: {} experts, {} used per token{shared}, expert ff {}, {} MoE layers, {} leading dense",
                e.count, e.used, e.n_ff_exp, e.moe_layers, e.leading_dense
            )
        }
    };
    let _ = writeln!(o, "kind        {kind}");
    let _ = writeln!(
        o,
        "params      {} total, {} active per token",
        count(f.params.total),
        count(f.params.active)
    );
    let _ = writeln!(
        o,
        "layers      {} ({} with KV, {} recurrent, {} nextn)",
        f.n_layer,
        f.n_layer_kv(),
        f.recurrent.as_ref().map_or(0, |r| r.n_recurrent_layers),
        f.n_layer_nextn
    );
    let _ = writeln!(
        o,
        "dims        n_embd {}, n_vocab {}, n_ctx_train {}, heads {} (kv {}), head dim k {} v {}",
        f.n_embd, f.n_vocab, f.n_ctx_train, f.n_head, f.n_head_kv, f.n_embd_head_k, f.n_embd_head_v
    );
    let kv_elems: u64 = f
        .layers
        .iter()
        .map(|l| l.n_embd_k_gqa + l.n_embd_v_gqa)
        .sum();
    let layout = match f.attention {
        AttentionKind::Standard => "standard (K and V)".to_string(),
        AttentionKind::Mla {
            kv_lora_rank,
            rope_dim,
        } => {
            format!("MLA: K only, kv_lora_rank {kv_lora_rank} + rope {rope_dim}, no V")
        }
        AttentionKind::None => "none".to_string(),
    };
    let _ = writeln!(
        o,
        "KV layout   {layout}; {kv_elems} elements per token over all layers ({} per 1024 tokens at f16)",
        mib(kv_elems * 2 * 1024)
    );
    if let Some(s) = &f.swa {
        let _ = writeln!(
            o,
            "SWA         window {} tokens on {} of {} layers (pattern: {})",
            s.window, s.n_swa_layers, f.n_layer, s.pattern_source
        );
    }
    if let Some(r) = &f.recurrent {
        let _ = writeln!(
            o,
            "recurrent   {} layers, per sequence r {} + s {} F32 elements per layer ({} per sequence)",
            r.n_recurrent_layers,
            r.n_embd_r,
            r.n_embd_s,
            mib(4 * (r.n_embd_r + r.n_embd_s) * u64::from(r.n_recurrent_layers))
        );
    }
    if !f.sampling.is_empty() {
        let _ = writeln!(
            o,
            "sampling    {}",
            serde_json::to_string(&f.sampling).unwrap_or_default()
        );
    }
    let nl = &f.non_layer;
    let sum = |g: fn(&gguf::LayerBytes) -> u64| f.layers.iter().map(|l| g(&l.bytes)).sum::<u64>();
    let _ = writeln!(
        o,
        "bytes       total {} in {} tensors",
        mib(f.total_bytes),
        model.tensors.len()
    );
    let _ = writeln!(
        o,
        "            input {}, output {}{}, output_norm {}, other {}",
        mib(nl.input),
        mib(nl.output),
        if nl.tied_output {
            " (tied to token_embd)"
        } else {
            ""
        },
        mib(nl.output_norm),
        mib(nl.other)
    );
    let _ = writeln!(
        o,
        "            layers: attention {}, recurrent {}, dense FFN {}, routed experts {}, shared experts {}, other {}",
        mib(sum(|b| b.attention)),
        mib(sum(|b| b.recurrent)),
        mib(sum(|b| b.dense_ffn)),
        mib(sum(|b| b.experts_routed)),
        mib(sum(|b| b.experts_shared)),
        mib(sum(|b| b.other))
    );
    let _ = writeln!(o, "quant mix");
    for s in &f.quant_mix {
        let pct = if f.total_bytes == 0 {
            0.0
        } else {
            s.bytes as f64 * 100.0 / f.total_bytes as f64
        };
        let _ = writeln!(
            o,
            "  {:<8} {:>5} tensors {:>14} {:>5.1}%",
            s.ggml_type,
            s.n_tensors,
            mib(s.bytes),
            pct
        );
    }
    let _ = writeln!(o, "shards");
    for (i, s) in model.shards.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {} {}  {} ({} tensors, GGUF v{})",
            i + 1,
            s.path.display(),
            mib(s.file_size),
            s.n_tensors,
            s.version
        );
    }
    if layers {
        let _ = writeln!(
            o,
            "layer  kv swa rec moe  heads kv   K_gqa  V_gqa    n_ff  attention    FFN/experts        total"
        );
        for l in &f.layers {
            let yn = |b: bool| if b { "y" } else { "-" };
            let _ = writeln!(
                o,
                "{:>5}  {:>2} {:>3} {:>3} {:>3}  {:>5} {:>2} {:>7} {:>6} {:>7} {:>10} {:>14} {:>12}",
                l.index,
                yn(l.has_kv),
                yn(l.is_swa),
                yn(l.is_recurrent),
                yn(l.is_moe),
                l.n_head,
                l.n_head_kv,
                l.n_embd_k_gqa,
                l.n_embd_v_gqa,
                l.n_ff,
                l.bytes.attention,
                l.bytes.dense_ffn + l.bytes.experts_routed + l.bytes.experts_shared,
                l.bytes.total
            );
        }
    }
    if tensors {
        for t in &model.tensors {
            let _ = writeln!(
                o,
                "  {:<40} {:<7} {:?} {} bytes, shard {} @ {}",
                t.name,
                t.ggml_type.name,
                t.dims,
                t.n_bytes,
                t.shard + 1,
                t.data_offset
            );
        }
    }
    o
}
