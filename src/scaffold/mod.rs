//! `new`: a profile for a model file, written the way the corpus' add-model workflow writes one
//! by hand — facts from the GGUF header with their source, a context that fits, sampler flags the
//! model ships, and `# NOT YET TESTED` until someone has run it.

mod add;
mod budget;
mod ids;

use std::path::Path;

pub use add::{Added, NewError, add_profile, add_remote_profile};
pub use budget::plan_budget;
pub use ids::profile_id;

use crate::gguf::{AttentionKind, Model, ModelFacts};

/// What the memory model says about one candidate context, for the comment block.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub ctx: u64,
    /// One line per device: `CUDA0 21.3 / 24.0 GiB`.
    pub devices: Vec<String>,
    pub strategy: String,
    pub rationale: Vec<String>,
    /// Placement keys the planner chose (`FIT=on`, `N_GPU_LAYERS=…`) and EXTRA_ARGS flags.
    pub keys: Vec<(String, String)>,
    pub extra_flags: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewOptions {
    pub id: Option<String>,
    /// Context asked for; default: the largest that fits, capped at the trained context.
    pub ctx: Option<u64>,
    pub bench: bool,
    /// Where `pull` downloads the model from (written as SOURCE=).
    pub source: Option<String>,
}

/// The context of a bench twin (the corpus' `bench-*` profiles), capped at the trained context.
const BENCH_CTX: u64 = 10240;

/// The text to append: comment block, the profile, and its bench twin when asked for.
/// `model_rel` is MODEL as written (relative to the models dir, first shard).
/// `budget` is the plan for the chosen context, when the memory model could make one.
pub fn scaffold(
    facts: &ModelFacts,
    thinking: bool,
    model_rel: &str,
    model_file: &Path,
    opts: &NewOptions,
    budget: Option<&Budget>,
) -> (String, String) {
    let id = opts
        .id
        .clone()
        .unwrap_or_else(|| profile_id(facts, model_file));
    let ctx = opts
        .ctx
        .or(budget.map(|b| b.ctx))
        .unwrap_or(facts.n_ctx_train.max(4096));
    let name = display_name(facts, model_file);
    let recurrent = facts.recurrent.is_some();

    let mut out: Vec<String> = Vec::new();
    out.push(
        "# -----------------------------------------------------------------------------".into(),
    );
    out.push(format!("# {name} — {}", kind_summary(facts)));
    out.extend(
        architecture_lines(facts)
            .into_iter()
            .map(|l| format!("# {l}")),
    );
    out.push("#".into());
    out.push(format!(
        "# Architecture source: GGUF metadata of {} (profilec inspect)",
        model_file
            .file_name()
            .map_or_else(|| model_rel.into(), |n| n.to_string_lossy())
    ));
    if let Some(b) = budget {
        out.push(format!(
            "# Budget at CTX_SIZE={}, strategy {}:",
            b.ctx, b.strategy
        ));
        out.extend(b.devices.iter().map(|d| format!("#   {d}")));
        out.extend(b.rationale.iter().map(|r| format!("# - {r}")));
    } else {
        out.push(
            "# Budget: not planned (no memory model for this machine); check with `profilec plan`."
                .into(),
        );
    }
    out.push(format!(
        "# NOT YET TESTED — run `profilec start {id}`, then `profilec mark-tested {id} --speed \"~N t/s\"`"
    ));
    out.push(
        "# -----------------------------------------------------------------------------".into(),
    );
    out.push(format!("[{id}]"));
    out.push(format!("NAME={name}"));
    out.push(format!("DESCRIPTION={}", kind_summary(facts)));
    out.push("SPEED=~estimated".into());
    out.push(format!("MODEL={model_rel}"));
    if let Some(source) = &opts.source {
        out.push(format!("SOURCE={source}"));
    }
    out.push(format!("CTX_SIZE={ctx}"));
    for (k, v) in budget.map(|b| b.keys.as_slice()).unwrap_or(&[]) {
        out.push(format!("{k}={v}"));
    }
    let mut extra = vec!["--jinja".to_string(), "-np".into(), "1".into()];
    if recurrent {
        extra.push("--no-context-shift".into());
    }
    extra.extend(sampler_flags(facts));
    extra.extend(budget.map(|b| b.extra_flags.clone()).unwrap_or_default());
    out.push(format!("EXTRA_ARGS={}", extra.join(" ")));

    if opts.bench {
        out.push(String::new());
        // The corpus' twins run at 10K; a model trained on less gets its trained length, so the
        // file `new` just wrote does not warn `model::ctx-above-trained`.
        let bench_ctx = match facts.n_ctx_train {
            0 => BENCH_CTX,
            train => train.min(BENCH_CTX),
        };
        out.push(if bench_ctx == BENCH_CTX {
            format!("# Benchmark twin of [{id}]: fixed 10K context, no sampler flags.")
        } else {
            format!(
                "# Benchmark twin of [{id}]: the trained {bench_ctx}-token context (below the usual 10K), no sampler flags."
            )
        });
        out.push(format!("[bench-{id}]"));
        out.push(format!("NAME={name} (benchmark)"));
        out.push(format!("MODEL={model_rel}"));
        out.push(format!("CTX_SIZE={bench_ctx}"));
        for (k, v) in budget.map(|b| b.keys.as_slice()).unwrap_or(&[]) {
            out.push(format!("{k}={v}"));
        }
        let mut bench = vec!["--jinja", "-np", "1"];
        if recurrent {
            bench.push("--no-context-shift");
        }
        bench.extend(["-b", "512", "-ub", "512"]);
        if thinking {
            bench.extend(["--reasoning-format", "none"]);
        }
        let mut bench: Vec<String> = bench.into_iter().map(String::from).collect();
        bench.extend(budget.map(|b| b.extra_flags.clone()).unwrap_or_default());
        out.push(format!("EXTRA_ARGS={}", bench.join(" ")));
    }
    (id, out.join("\n"))
}

fn display_name(facts: &ModelFacts, model_file: &Path) -> String {
    let base = facts.general.name.clone().unwrap_or_else(|| {
        model_file
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned())
    });
    match &facts.general.quantization {
        Some(q) if !base.contains(q.as_str()) => format!("{base} {q}"),
        _ => base,
    }
}

/// `30.5B`, `270M`: the way model cards write parameter counts.
fn count(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1}B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.0}M", n / 1e6)
    } else {
        format!("{:.0}K", n / 1e3)
    }
}

fn kind_summary(facts: &ModelFacts) -> String {
    let params = count(facts.params.total);
    match &facts.experts {
        Some(e) => format!(
            "MoE {params} total, {} active ({} experts, {} used{})",
            count(facts.params.active),
            e.count,
            e.used,
            if e.shared_count > 0 {
                format!(" + {} shared", e.shared_count)
            } else {
                String::new()
            }
        ),
        None => format!("dense {params}"),
    }
}

fn architecture_lines(facts: &ModelFacts) -> Vec<String> {
    let mut l = vec![format!(
        "{} layers ({} with KV cache), architecture `{}`, trained context {}.",
        facts.n_layer,
        facts.n_layer_kv(),
        facts.arch,
        facts.n_ctx_train
    )];
    match &facts.attention {
        AttentionKind::Mla {
            kv_lora_rank,
            rope_dim,
        } => l.push(format!(
            "MLA attention: K-only latent cache of {} per layer.",
            kv_lora_rank + rope_dim
        )),
        AttentionKind::Standard => l.push(format!(
            "{} attention heads, {} KV heads of {}.",
            facts.n_head, facts.n_head_kv, facts.n_embd_head_k
        )),
        AttentionKind::None => {}
    }
    if let Some(s) = &facts.swa {
        l.push(format!(
            "Sliding window {} on {} layers.",
            s.window, s.n_swa_layers
        ));
    }
    if let Some(r) = &facts.recurrent {
        l.push(format!(
            "Hybrid: {} recurrent layers (needs --no-context-shift).",
            r.n_recurrent_layers
        ));
    }
    l
}

/// Sampler flags from `general.sampling.*` when the GGUF carries them.
fn sampler_flags(facts: &ModelFacts) -> Vec<String> {
    let s = &facts.sampling;
    let mut out = Vec::new();
    let mut push = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(flag.to_string());
            out.push(v);
        }
    };
    push("--temp", s.temp.map(fmt_f));
    push("--top-p", s.top_p.map(fmt_f));
    push("--top-k", s.top_k.map(|k| k.to_string()));
    push("--min-p", s.min_p.map(fmt_f));
    push("--repeat-penalty", s.penalty_repeat.map(fmt_f));
    out
}

fn fmt_f(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

/// Thinking models (a chat template that opens a `<think>` block, or "thinking" in the name)
/// emit reasoning the benchmark client must see as plain text: `--reasoning-format none`.
pub fn is_thinking(model: &Model, facts: &ModelFacts) -> bool {
    let template = model.metadata.str("tokenizer.chat_template").unwrap_or("");
    template.contains("<think>")
        || facts
            .general
            .name
            .as_deref()
            .is_some_and(|n| n.to_ascii_lowercase().contains("think"))
}
