//! `preset::models-max-unsafe`: the router may load more models of a preset at once than fit.
//! llama-server reads `--models-max` from its command line only (default 4,
//! tools/server/README.md); a preset `profilec render` wrote names the value in its header
//! (`; run: llama-server … --models-max N`), which is what the router is assumed to run with.

use std::path::Path;

use super::{Footprint, Unplanned, args_plan, co_resident_sets, footprint};
use crate::diag::Diagnostic;
use crate::flags::ValueKind;
use crate::gguf::ModelCache;
use crate::hardware::Hardware;
use crate::preset::{FALSY, Preset, Section, TRUTHY, resolve as resolve_key};

/// llama-server's `--models-max` when the command line does not set it (common/common.h).
pub const ROUTER_DEFAULT_MODELS_MAX: usize = 4;

/// A warning when `models-max` of the router lets it load a combination of the preset's models
/// that does not fit on `hw`. Models that cannot be planned here are left out (and said).
pub fn check_preset_models_max(preset: &Preset, base: &Path, hw: &Hardware) -> Option<Diagnostic> {
    let machine = hw.machine();
    let shared = preset.sections.iter().find(|s| s.is_shared());
    let mut planned: Vec<Footprint> = Vec::new();
    let mut unplanned = Vec::new();
    let mut models = ModelCache::default();
    for section in preset.models() {
        let args = section_args(shared, section, base);
        match args_plan(&args, &machine, &mut models) {
            Ok(plan) => planned.push(footprint(
                &section.name,
                &plan,
                hw.runtime.cuda_overhead_mib,
            )),
            Err(why) => unplanned.push(Unplanned {
                id: section.name.clone(),
                why,
            }),
        }
    }
    let (declared, span) = declared_models_max(preset);
    let sets = co_resident_sets(&planned, Vec::new(), &machine, 0);
    let safe = sets.models_max.proven;
    let limit = if declared == 0 {
        planned.len()
    } else {
        declared
    };
    // safe == 0: a model does not fit even alone, which its own plan reports.
    if safe == 0 || limit <= safe || planned.len() <= safe {
        return None;
    }
    let example = sets
        .models_max
        .counterexample
        .as_ref()
        .map_or(String::new(), |c| format!(": {}", c.sentence()));
    let skipped = if unplanned.is_empty() {
        String::new()
    } else {
        let ids: Vec<&str> = unplanned.iter().map(|u| u.id.as_str()).collect();
        format!(" ({} not planned: {})", ids.join(", "), unplanned[0].why)
    };
    let how = match &span {
        Some(_) => format!("--models-max {declared}"),
        None => format!("llama-server's default --models-max {ROUTER_DEFAULT_MODELS_MAX}"),
    };
    let mut d = Diagnostic::warning(
        "preset::models-max-unsafe",
        format!("with {how} the router may load {} of these models at once, but only {safe} fit together{example}{skipped}", limit.min(planned.len())),
    )
    .label("allows a combination that does not fit")
    .help(format!(
        "run the router with --models-max {safe} (every {safe} of them fit together; `profilec plan --sets` on the models.conf lists the sets)"
    ));
    if let Some(s) = span {
        d = d.at(s);
    }
    Some(d)
}

/// The `--models-max N` a comment of the preset names (the header `render` writes), else the
/// router's default; with the comment's span.
fn declared_models_max(preset: &Preset) -> (usize, Option<std::ops::Range<usize>>) {
    let src = preset.doc.source();
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if (t.starts_with(';') || t.starts_with('#'))
            && let Some(rest) = t.split("--models-max").nth(1)
            && let Some(n) = rest.split_whitespace().next().and_then(|w| w.parse().ok())
        {
            return (n, Some(offset..offset + line.trim_end().len()));
        }
        offset += line.len();
    }
    (ROUTER_DEFAULT_MODELS_MAX, None)
}

/// The arguments a model instance runs with: `[*]`, then its own section (llama.cpp
/// server-models.cpp `cascade`), each key as its llama-server flag; relative `model` from
/// `base`. Later keys win as later flags do.
fn section_args(shared: Option<&Section>, section: &Section, base: &Path) -> Vec<String> {
    let mut args = Vec::new();
    for e in shared.into_iter().chain([section]).flat_map(|s| &s.entries) {
        let Some(t) = resolve_key(&e.key) else {
            continue;
        };
        if t.preset_only {
            continue;
        }
        match t.spec.kind {
            ValueKind::Switch | ValueKind::Bool => {
                let v = e.value.to_ascii_lowercase();
                let on = TRUTHY.contains(&v.as_str());
                if !on && !FALSY.contains(&v.as_str()) {
                    continue;
                }
                if on != t.negated {
                    args.push(t.spec.canonical.to_string());
                } else if let Some(neg) = t.spec.negations.first() {
                    args.push(neg.to_string());
                }
            }
            ValueKind::IntPair => {
                args.push(t.spec.canonical.to_string());
                args.extend(e.value.split_whitespace().map(String::from));
            }
            _ if t.spec.canonical == "--model" => {
                args.push(t.spec.canonical.to_string());
                args.push(base.join(&e.value).to_string_lossy().into_owned());
            }
            _ => {
                args.push(t.spec.canonical.to_string());
                args.push(e.value.clone());
            }
        }
    }
    args
}
