//! Rules for vLLM profiles (MODEL is a Hugging Face model directory, or RUNTIME=vllm;
//! docs/vllm.md "Profiles"): keys that do not apply, EXTRA_ARGS against the pinned `vllm serve`
//! flag table, the model directory read without its weights, the length against the model's
//! derived maximum, and — with a machine — vLLM's own memory arithmetic.

use crate::error::Failure;
use std::ops::Range;
use std::path::Path;

use super::model_rules::model_path_any;
use crate::config::{Conf, Profile, Runtime};
use crate::diag::Diagnostic;
use crate::hardware::Hardware;
use crate::resolve::{VllmLaunch, resolve_vllm};
use crate::safetensors::{self, HfModel};
use crate::vllm::args::ServeArgs;
use crate::vllm::options::ServeOptions;
use crate::vllm::{PlanError, VLLM_VERSION};

pub fn check(
    conf: &Conf,
    runtimes: &[Runtime],
    models_dir: Option<&Path>,
    hw: Option<&Hardware>,
    out: &mut Vec<Diagnostic>,
) {
    for (p, _) in conf
        .profiles
        .iter()
        .zip(runtimes)
        .filter(|(_, r)| **r == Runtime::Vllm)
    {
        keys_not_applicable(p, out);
        let launch = resolve_vllm(p, models_dir.unwrap_or(Path::new(".")));
        let offset = p.extra_args.as_ref().map_or(0, |e| e.span.start);
        flags(p, &launch.extra, offset, out);
        let Ok(options) = ServeOptions::from_args(&launch.serve_args()) else {
            continue;
        };
        let Some(model) = model(p, models_dir, out) else {
            continue;
        };
        if let Some(d) = too_long(p, &launch, &options, &model, offset) {
            out.push(d);
            continue;
        }
        if let Some(hw) = hw {
            plan(p, &launch, &model, hw, out);
        }
    }
}

/// Keys that configure llama-server only.
fn keys_not_applicable(p: &Profile, out: &mut Vec<Diagnostic>) {
    let set: [(&str, Option<Range<usize>>, &str); 5] = [
        (
            "N_GPU_LAYERS",
            p.n_gpu_layers.as_ref().map(|v| v.span.clone()),
            "vLLM keeps every layer on the GPUs; spread a model over several with `-tp N` in EXTRA_ARGS",
        ),
        (
            "FIT",
            p.fit.as_ref().map(|v| v.span.clone()),
            "vLLM sizes its KV cache itself from --gpu-memory-utilization; set that in EXTRA_ARGS",
        ),
        (
            "FIT_TARGET",
            p.fit_target.as_ref().map(|v| v.span.clone()),
            "vLLM leaves (1 − --gpu-memory-utilization) of each GPU free; set that in EXTRA_ARGS",
        ),
        (
            "STRATEGY",
            p.strategy.as_ref().map(|v| v.span.clone()),
            "placement strategies are llama.cpp's; vLLM shards with `-tp N` in EXTRA_ARGS",
        ),
        (
            "TTL",
            p.ttl.as_ref().map(|v| v.span.clone()),
            "TTL is read by llama-server's router and llama-swap, which do not serve vLLM profiles",
        ),
    ];
    for (key, span, help) in set {
        let Some(span) = span else { continue };
        out.push(
            Diagnostic::warning(
                "vllm::key-not-applicable",
                format!("{key} does not apply to a vLLM profile and is ignored"),
            )
            .at(span)
            .label("llama-server only")
            .help(format!(
                "{help}; remove {key} (`[{}]` runs `vllm serve`: docs/vllm.md)",
                p.id.value
            )),
        );
    }
}

/// EXTRA_ARGS against the pinned flag table: what vLLM would stop at ("unrecognized
/// arguments"), values the arithmetic cannot read, and CTX_SIZE overridden.
fn flags(p: &Profile, args: &ServeArgs, offset: usize, out: &mut Vec<Diagnostic>) {
    let at = |r: Range<usize>| r.start + offset..r.end + offset;
    for a in args.args.iter().filter(|a| a.name.is_none()) {
        let name = a.written.text.split('=').next().unwrap_or_default();
        let mut help = match a.nearest {
            Some(n) => format!("did you mean `{n}`? "),
            None => String::new(),
        };
        if crate::flags::lookup(name).is_some() {
            help.push_str(&format!(
                "`{name}` is a llama-server flag, but `[{}]` runs vLLM (MODEL is a model directory or RUNTIME=vllm). ",
                p.id.value
            ));
        }
        help.push_str(&format!(
            "`profilec flags` lists llama-server's flags; vLLM {VLLM_VERSION}'s are in data/vllm-serve-flags.tsv"
        ));
        out.push(
            Diagnostic::error(
                "vllm::unknown-flag",
                format!("`{name}` is not a `vllm serve` flag in vLLM {VLLM_VERSION}"),
            )
            .at(at(a.written.span.clone()))
            .label("vLLM would stop: unrecognized arguments")
            .help(help),
        );
    }
    for w in &args.stray {
        out.push(
            Diagnostic::error(
                "vllm::stray-argument",
                format!("`{}` in EXTRA_ARGS belongs to no flag", w.text),
            )
            .at(at(w.span.clone()))
            .label("not a flag's value")
            .help("vLLM takes the model as MODEL (the directory), not in EXTRA_ARGS; a switch such as `--enforce-eager` takes no value"),
        );
    }
    for a in args.args.iter().filter(|a| a.name.is_some()) {
        let words: Vec<String> = a.words();
        if let Err(e) = ServeOptions::from_args(&words) {
            out.push(
                Diagnostic::error("vllm::invalid-value", format!("EXTRA_ARGS {e}"))
                    .at(at(a.span()))
                    .label("vLLM would refuse this value")
                    .help("give the flag a value of its type (`vllm serve --help=FLAG` on the GPU machine shows it)"),
            );
        }
    }
    if let (Some(ctx), Some(flag)) = (&p.ctx_size, args.last("--max-model-len")) {
        out.push(
            Diagnostic::warning(
                "vllm::key-overridden",
                "CTX_SIZE is overridden by --max-model-len in EXTRA_ARGS",
            )
            .at(ctx.span.clone())
            .label("has no effect")
            .related(
                at(flag.span()),
                "this comes later on the command line and wins",
            )
            .help("keep one of them: CTX_SIZE becomes `--max-model-len` in a vLLM profile"),
        );
    }
}

/// The model directory read (config.json and shard headers); `None` after reporting why not.
fn model(p: &Profile, models_dir: Option<&Path>, out: &mut Vec<Diagnostic>) -> Option<HfModel> {
    let m = p.model.as_ref()?;
    let path = model_path_any(models_dir?, &m.value)?;
    match safetensors::inspect(&path) {
        Ok(model) => Some(model),
        Err(e) => {
            out.push(
                Diagnostic::error(e.code(), e.to_string())
                    .at(m.span.clone())
                    .label("cannot read this model directory")
                    .help(e.help()),
            );
            None
        }
    }
}

/// `--max-model-len` (from CTX_SIZE or EXTRA_ARGS) above the model's derived maximum: vLLM
/// stops with a ValueError before loading (vllm/config/model.py `_get_and_verify_max_len`).
fn too_long(
    p: &Profile,
    launch: &VllmLaunch,
    options: &ServeOptions,
    model: &HfModel,
    offset: usize,
) -> Option<Diagnostic> {
    let asked = options.max_model_len?;
    let max = &model.config.max_len;
    if asked <= max.derived {
        return None;
    }
    let span = match launch.extra.last("--max-model-len") {
        Some(a) => a.span().start + offset..a.span().end + offset,
        None => p.ctx_size.as_ref()?.span.clone(),
    };
    let e = PlanError::MaxLenTooLong {
        asked,
        key: max.key.clone(),
        derived: max.derived,
    };
    Some(
        Diagnostic::error(
            "vllm::ctx-too-long",
            format!("vLLM would refuse to start: {e}"),
        )
        .at(span)
        .label(format!("above the model's {}", max.derived))
        .help(e.help()),
    )
}

/// vLLM's memory arithmetic on the machine: the per-rank budget, the KV cache and one request of
/// max_model_len, as `profilec plan ID` prints it.
fn plan(
    p: &Profile,
    launch: &VllmLaunch,
    model: &HfModel,
    hw: &Hardware,
    out: &mut Vec<Diagnostic>,
) {
    let span = p
        .model
        .as_ref()
        .map_or(p.id.span.clone(), |m| m.span.clone());
    let gpus = crate::resolve::vllm_gpus(&hw.machine());
    let id = &p.id.value;
    let plan = match crate::vllm::plan(model, &launch.serve_args(), &gpus, None) {
        Ok(plan) => plan,
        Err(PlanError::NoGpu) => {
            out.push(
                Diagnostic::note(
                    "vllm::no-gpu",
                    format!("`[{id}]` runs vLLM, which needs a CUDA GPU; the machine declares none: not planned"),
                )
                .at(span)
                .help("declare the GPUs in profilec.toml ([[gpu]]) to check the memory plan"),
            );
            return;
        }
        // Reported above with their spans.
        Err(PlanError::MaxLenTooLong { .. } | PlanError::Option(_)) => return,
        Err(e) => {
            out.push(
                Diagnostic::error("vllm::cannot-start", format!("vLLM would not start: {e}"))
                    .at(span)
                    .label("on this machine")
                    .help(format!("{}; `profilec plan {id}` shows the plan", e.help())),
            );
            return;
        }
    };
    for w in &plan.warnings {
        if w.starts_with("tensor parallel over different GPUs") {
            out.push(
                Diagnostic::warning("vllm::uneven-gpus", w.clone())
                    .at(span.clone())
                    .help("vLLM plans every rank for the smallest card; pair cards of one size, or accept the smaller KV cache"),
            );
        }
    }
    if plan.result.is_none() {
        let lines = plan.vllm_lines();
        let why = lines.last().cloned().unwrap_or_default();
        let help = match plan.estimated_max_model_len {
            Some(est) if est > 0 => format!(
                "lower CTX_SIZE to at most {est} (vLLM's own estimate), raise --gpu-memory-utilization, use --kv-cache-dtype fp8, or add GPUs with -tp; `profilec plan {id}` shows the budget"
            ),
            _ => format!(
                "the weights leave no room for a KV cache: raise --gpu-memory-utilization, add GPUs with -tp, or use a quantized checkpoint; `profilec plan {id}` shows the budget"
            ),
        };
        out.push(
            Diagnostic::error(
                "vllm::kv-does-not-fit",
                format!("vLLM would stop at startup: {why}"),
            )
            .at(span)
            .label("does not fit this machine")
            .help(help),
        );
    }
}
