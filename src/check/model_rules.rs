//! Rules that need the model itself: when a profile's MODEL file is on disk, its header is read
//! (once per path per check run, shared with the budget rules; header and tensor table only) and the profile is checked
//! against it: `-ot` rules expanded on the real tensor names (docs/placement.md), the context
//! against the trained context, recurrent models without `--no-context-shift`, `-ts` on MoE.
//! Profiles whose model is missing cost one `stat`: `model::missing-file` reports those.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use super::Extra;
use crate::budget::{KvError, check_block_sizes};
use crate::config::{Conf, Profile};
use crate::diag::Diagnostic;
use crate::flags::ParsedArgs;
use crate::gguf::{GgufError, Model, ModelCache, ModelFacts};
use crate::hardware::Defaults;
use crate::place;
use crate::resolve::{self, Effective};

/// Flags that stretch the trained context on purpose.
const ROPE_SCALING: &[&str] = &[
    "--rope-scaling",
    "--rope-scale",
    "--rope-freq-scale",
    "--yarn-orig-ctx",
];

pub fn check(
    conf: &Conf,
    extra: &[Option<Extra>],
    models_dir: Option<&Path>,
    models: &mut ModelCache,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(dir) = models_dir else { return };
    let mut found = Vec::new();
    for (p, e) in conf.profiles.iter().zip(extra) {
        let Some(model) = &p.model else { continue };
        let Some(path) = model_path(dir, &model.value) else {
            continue;
        };
        match models.open(&path) {
            Ok(m) => {
                // The profile's own settings, as llama-server would take them: the rules read
                // the winner and where it was written, not EXTRA_ARGS and the keys separately.
                let parsed = e.as_ref().map(|e| &e.parsed);
                let eff = resolve::effective_parsed(p, &Defaults::default(), dir, parsed);
                profile(p, e.as_ref(), &eff, &m.model, &m.facts, &mut found);
            }
            // A split set with a shard missing: `model::missing-file` names the shards.
            Err(e) if matches!(*e, GgufError::MissingShard { .. }) => {}
            Err(e) => found.push(
                e.to_diagnostic()
                    .at(model.span.clone())
                    .label("cannot read this model"),
            ),
        }
    }
    // `ot::cpu-rule-shadows` already reports these from the flag table's probe names.
    found.retain(|d| {
        d.code != "place::cpu-rule-shadows"
            || !diags
                .iter()
                .any(|o| o.code == "ot::cpu-rule-shadows" && o.span == d.span)
    });
    diags.extend(found);
}

/// The file to open, or `None` when MODEL is not a usable relative path to an existing file
/// (other rules report those).
pub(super) fn model_path(dir: &Path, model: &str) -> Option<PathBuf> {
    model_path_any(dir, model).filter(|p| p.is_file())
}

/// MODEL under `dir` when it is a plain relative path to something that exists (a GGUF file,
/// or a vLLM profile's model directory).
pub(super) fn model_path_any(dir: &Path, model: &str) -> Option<PathBuf> {
    let rel = Path::new(model);
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let path = dir.join(rel);
    (plain && path.exists()).then_some(path)
}

fn profile(
    p: &Profile,
    extra: Option<&Extra>,
    eff: &Effective,
    model: &Model,
    facts: &ModelFacts,
    out: &mut Vec<Diagnostic>,
) {
    let parsed = extra.map(|e| (&e.parsed, e.span.clone()));
    let offset = parsed.as_ref().map_or(0, |(_, s)| s.start);
    let span_of = |args: &ParsedArgs, flag: &str| -> Option<Range<usize>> {
        let s = args.last(flag)?.span();
        Some(s.start + offset..s.end + offset)
    };
    if let Some((args, _)) = &parsed {
        let rules = args.tensor_overrides();
        if !rules.is_empty() {
            let exp = place::expand(&rules, &model.tensors, facts.n_layer);
            out.extend(
                place::lint(&rules, &exp, None)
                    .into_iter()
                    .map(|d| d.shifted(offset)),
            );
        } else if facts.experts.is_some()
            && let Some(ts) = span_of(args, "--tensor-split")
        {
            out.push(
                Diagnostic::note(
                    "place::moe-tensor-split",
                    "`--tensor-split` alone on a MoE model keeps every expert on the GPUs",
                )
                .at(ts)
                .label("splits whole layers, experts included")
                .help("fine while the experts fit in VRAM; beyond it, pin device ranges with `-ot …=CUDAn,exps=CPU` (strategy D) or let --fit place them"),
            );
        }
    }
    context(eff, facts, out);
    if let Some((args, _)) = &parsed {
        cache_blocks(args, &span_of, facts, out);
    }
    if facts.recurrent.is_some() {
        let shift = parsed
            .as_ref()
            .and_then(|(a, _)| a.switch("--context-shift"));
        if shift != Some(false) {
            let at = parsed
                .as_ref()
                .and_then(|(a, s)| span_of(a, "--context-shift").or(Some(s.clone())))
                .or_else(|| p.model.as_ref().map(|m| m.span.clone()));
            let d = Diagnostic::warning(
                "model::context-shift-recurrent",
                format!(
                    "{} is a recurrent/hybrid model ({}) and the profile does not pass `--no-context-shift`",
                    p.model.as_ref().map_or("MODEL", |m| m.value.as_str()),
                    facts.arch
                ),
            )
            .label("add `--no-context-shift`")
            .help("a recurrent state cannot be shifted like a KV cache; the corpus passes `--no-context-shift` for every DeltaNet hybrid so a full context ends the request instead");
            out.push(match at {
                Some(s) => d.at(s),
                None => d,
            });
        }
    }
}

/// `-ctk q8_0` on a model whose head size is not a multiple of 32: llama.cpp refuses the
/// context (`budget::check_block_sizes`), so the profile would never start.
fn cache_blocks(
    args: &ParsedArgs,
    span_of: &dyn Fn(&ParsedArgs, &str) -> Option<Range<usize>>,
    facts: &ModelFacts,
    out: &mut Vec<Diagnostic>,
) {
    let fa_off = args.last_value("--flash-attn").is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "off" | "disabled" | "false" | "0"
        )
    });
    for flag in ["--cache-type-k", "--cache-type-v"] {
        let Some(ty) = args.last_value(flag) else {
            continue;
        };
        let (k, v) = if flag == "--cache-type-k" {
            (ty, "f16")
        } else {
            ("f16", ty)
        };
        // Unknown type names are `args::invalid-value`; a quantized V without FA is its own rule.
        let Err(e @ KvError::BlockSize { block, head, .. }) =
            check_block_sizes(facts, k, v, !fa_off)
        else {
            continue;
        };
        let Some(span) = span_of(args, flag) else {
            continue;
        };
        out.push(
            Diagnostic::error("model::kv-block-size", e.to_string())
                .at(span)
                .label(format!("blocks of {block} do not divide the head size {head}"))
                .help(format!(
                    "use `{flag} f16` (or bf16/f32) for this model; a quantized cache needs a head size that is a multiple of {block}. llama-server exits 1 at start with \"does not divide n_embd_head\""
                )),
        );
    }
}

/// The context the profile runs with (EXTRA_ARGS `-c` beats CTX_SIZE: `resolve::effective`
/// decides) against the trained context.
fn context(eff: &Effective, facts: &ModelFacts, out: &mut Vec<Diagnostic>) {
    let Some(setting) = eff.get("--ctx-size") else {
        return;
    };
    let ctx = setting.values.first().and_then(|v| v.parse::<u64>().ok());
    let (Some(ctx), Some(span)) = (ctx, setting.span.clone()) else {
        return;
    };
    let train = facts.n_ctx_train;
    let scaled = ROPE_SCALING.iter().any(|f| eff.get(f).is_some());
    if train == 0 || ctx <= train || scaled {
        return;
    }
    out.push(
        Diagnostic::warning(
            "model::ctx-above-trained",
            format!("context {ctx} is above the model's trained context of {train} tokens"),
        )
        .at(span)
        .label(format!("trained on {train}"))
        .help(format!(
            "use at most {train} (or 0 for the trained length); beyond it quality drops unless you configure RoPE scaling (`--rope-scaling yarn`)"
        )),
    );
}
