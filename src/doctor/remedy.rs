//! What would make a profile fit in the memory free now, each candidate planned against it:
//! a smaller context, a q8_0 KV cache, MoE strategies C/D, and a `--fit-target` margin.

use serde::Serialize;

use crate::config::Strategy;
use crate::hardware::MemoryNow;
use crate::project::ResolvedProfile;

use super::Thresholds;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remedy {
    /// `ctx-size`, `kv-q8_0`, `strategy`, `fit-target`.
    pub action: &'static str,
    /// The change to make in models.conf.
    pub change: String,
    /// The changed profile's plan fits in the memory free now with the thresholds' floor left
    /// free on every device.
    pub fits_now: bool,
    pub detail: String,
}

/// The smallest context worth suggesting; below it a chat does not fit a system prompt.
const MIN_CTX: u64 = 512;
/// Contexts are suggested in whole steps of this many tokens.
const CTX_STEP: u64 = 256;

/// Candidates planned against what is free now less the thresholds' floor, so a remedy that
/// fits leaves every device at risk `ok`.
pub fn remedies(p: &ResolvedProfile, now: &MemoryNow, t: &Thresholds) -> Vec<Remedy> {
    let mut usable = now.clone();
    for d in &mut usable.devices {
        d.free_mib = d.free_mib.saturating_sub(t.floor_mib(d.total_mib));
    }
    let mut at_now = p.clone();
    at_now.machine = p.machine.with_free(&usable);
    let mut out = Vec::new();
    out.extend(context(&at_now));
    out.extend(kv_q8(&at_now));
    out.extend(strategies(&at_now));
    out.extend(fit_target(&at_now, now, t));
    out
}

/// Whether `p` (already on the free-now machine) fits, as `doctor` judges it.
fn fits(p: &ResolvedProfile) -> Option<bool> {
    match p.fit_prediction() {
        Some(r) => r.ok().map(|f| f.fits),
        None => p.plan().ok().map(|plan| plan.fits),
    }
}

fn with_ctx(p: &ResolvedProfile, ctx: u64) -> ResolvedProfile {
    let mut v = p.clone();
    v.options.ctx_size = ctx;
    v
}

/// The largest context (a multiple of 256, at least 512) whose plan fits now: binary search,
/// since memory grows with the context.
fn context(p: &ResolvedProfile) -> Option<Remedy> {
    let current = p.plan().ok()?.n_ctx;
    if current <= MIN_CTX || fits(&with_ctx(p, MIN_CTX)) != Some(true) {
        return None;
    }
    let (mut lo, mut hi) = (MIN_CTX / CTX_STEP, current / CTX_STEP);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(&with_ctx(p, mid * CTX_STEP)) == Some(true) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let ctx = lo * CTX_STEP;
    (ctx < current).then(|| Remedy {
        action: "ctx-size",
        change: format!("CTX_SIZE={ctx}"),
        fits_now: true,
        detail: format!("a context of {ctx} tokens (now {current}) fits in the memory free now"),
    })
}

fn kv_q8(p: &ResolvedProfile) -> Option<Remedy> {
    if p.options.cache_type_k == "q8_0" && p.options.cache_type_v == "q8_0" {
        return None;
    }
    let mut v = p.clone();
    v.options.cache_type_k = "q8_0".into();
    v.options.cache_type_v = "q8_0".into();
    let fits_now = fits(&v)?;
    Some(Remedy {
        action: "kv-q8_0",
        change: "EXTRA_ARGS+= --cache-type-k q8_0 --cache-type-v q8_0".into(),
        fits_now,
        detail: format!(
            "a q8_0 KV cache halves the f16 cache ({}); a quantized V cache needs flash \
             attention, which llama.cpp turns on by default where the backend supports it",
            if fits_now {
                "fits now"
            } else {
                "still does not fit now"
            }
        ),
    })
}

/// MoE strategies C (layer split) and D (experts on the CPU), solved against free memory.
fn strategies(p: &ResolvedProfile) -> Vec<Remedy> {
    let Ok(m) = p.loaded() else {
        return Vec::new();
    };
    if m.facts.experts.is_none() || p.machine.is_cpu_only() {
        return Vec::new();
    }
    [Strategy::C, Strategy::D]
        .into_iter()
        .filter_map(|s| {
            let placed = crate::place::solver::solve(
                &m.model, &m.facts, &m.path, &p.options, &p.machine, p.program, s,
            )
            .ok()?;
            Some(Remedy {
                action: "strategy",
                change: format!("STRATEGY={}", s.as_str()),
                fits_now: true,
                detail: format!(
                    "strategy {} places it in the memory free now: {}",
                    s.as_str(),
                    placed.flags.join(" ")
                ),
            })
        })
        .collect()
}

/// With --fit, llama.cpp leaves `--fit-target` MiB free per GPU; the floor the thresholds ask
/// for is the margin to give it.
fn fit_target(p: &ResolvedProfile, now: &MemoryNow, t: &Thresholds) -> Option<Remedy> {
    if p.machine.is_cpu_only() {
        return None;
    }
    let margins: Vec<String> = p
        .machine
        .gpus
        .iter()
        .map(|g| {
            let total = now.device(&g.id).map_or(g.total_mib, |d| d.total_mib);
            t.floor_mib(total).to_string()
        })
        .collect();
    let mut v = p.clone();
    v.options.fit = true;
    v.options.fit_target = margins.iter().filter_map(|m| m.parse().ok()).collect();
    let fits_now = fits(&v)?;
    Some(Remedy {
        action: "fit-target",
        change: format!("FIT=on FIT_TARGET={}", margins.join(",")),
        fits_now,
        detail: "llama.cpp's --fit reads free memory at load time and leaves this margin per \
                 GPU, offloading what does not fit to the CPU"
            .into(),
    })
}
