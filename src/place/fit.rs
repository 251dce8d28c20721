//! What llama.cpp's `--fit` will do with a profile that leaves placement to it (llama.cpp
//! common/fit.cpp, `common_params_fit_impl`): step 1 measure, step 2 shrink an automatic context, steps 3–4 place
//! layers ([`layers`]). fit runs llama.cpp's allocator dry; this runs the memory model
//! ([`crate::budget::plan_model`]) the same way, so the prediction is as good as that model.
//! It adds what fit does not check: host RAM (fit assumes it is unlimited).

pub mod layers;
mod report;

use std::path::Path;

use serde::Serialize;

pub use layers::{Fraction, Slot};

use crate::budget::{Plan, PlanError, Program};
use crate::config::GpuLayers;
use crate::flags::ot_value;
use crate::gguf::{Model, ModelFacts};
use crate::hardware::Machine;
use crate::place::eval::{Evaluator, margins};
use crate::resolve::{RunOptions, SplitMode};

/// One GPU's share of fit's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceFit {
    pub device: String,
    /// Layer units (the output layer counts as one, on the last GPU).
    pub layers: u32,
    /// Of those, layers whose experts (or part of whose FFN) live elsewhere.
    pub overflowing: u32,
    pub fraction: Fraction,
    pub used_mib: f64,
    /// Capacity left after `used_mib` (fit's "MiB free").
    pub free_mib: f64,
}

/// The host side fit ignores: resident weights, KV and compute against RAM − OS reserve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RamCheck {
    pub weights_mib: f64,
    pub kv_mib: f64,
    pub compute_mib: f64,
    pub os_reserve_mib: u64,
    pub ram_mib: u64,
    /// MiB the resident host memory is above RAM − OS reserve: it must swap. 0 when it fits.
    pub over_mib: f64,
    /// The host side with the whole mmap'd file range (`CPU_Mapped`) instead of the resident
    /// weights: the page cache the load fills. Above RAM − OS reserve the kernel evicts and
    /// swaps under load; the corpus' 122B Q4 run (68 GB file, 64 GB RAM) swapped this way.
    pub mapped_total_mib: f64,
    pub mapped_over_mib: f64,
}

impl RamCheck {
    /// The larger of the two overruns: what the swap-risk findings report.
    pub fn swap_risk_mib(&self) -> f64 {
        self.over_mib.max(self.mapped_over_mib)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FitPrediction {
    /// The setting that stops fit from placing layers (it then only shrinks the context).
    pub disabled_by: Option<String>,
    pub n_ctx: u64,
    /// The context before step 2 shrank it.
    pub ctx_reduced_from: Option<u64>,
    pub n_gpu_layers: u32,
    pub devices: Vec<DeviceFit>,
    /// The `-ot` value fit adds (MoE partial layers).
    pub overrides: Option<String>,
    /// fit's result as llama-server arguments (what `llama-fit-params` prints).
    pub flags: Vec<String>,
    pub plan: Plan,
    /// Every GPU within capacity − `--fit-target` under the predicted placement.
    pub fits: bool,
    /// What fit would print at `-lv 4` (common_params_fit_impl lines).
    pub log: Vec<String>,
    pub ram: RamCheck,
    /// `--fit-target` per GPU as the corpus settled on it: 1024 on a GPU that drives a display,
    /// 128 on a dedicated one.
    pub recommended_fit_target: Vec<u64>,
    pub findings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("--fit is off: placement is pinned by the profile (see the solver's strategy)")]
    Off,
}

/// The setting that makes fit abort its layer placement, as fit's log names it.
pub fn placement_disabled_by(opts: &RunOptions, n_gpus: usize) -> Option<String> {
    match opts.gpu_layers {
        GpuLayers::Count(n) => return Some(format!("-ngl {n} (n_gpu_layers set by the user)")),
        GpuLayers::All => return Some("-ngl all (n_gpu_layers set by the user)".into()),
        GpuLayers::Auto => {}
    }
    if opts.split_mode == SplitMode::Tensor {
        return Some("-sm tensor (fit is not implemented for it)".into());
    }
    if n_gpus > 1 && opts.tensor_split.iter().any(|&v| v > 0.0) {
        return Some("-ts (tensor_split set by the user)".into());
    }
    if n_gpus > 1 && opts.split_mode == SplitMode::Row {
        return Some("-sm row (fit cannot move weights in row mode)".into());
    }
    if !opts.overrides.is_empty() {
        return Some("-ot/--cpu-moe/--n-cpu-moe (tensor overrides set by the user)".into());
    }
    None
}

/// Predicts fit's result for `opts` on `machine`. `Err(FitError::Off)` when `--fit off`.
pub fn predict(
    model: &Model,
    facts: &ModelFacts,
    path: &Path,
    opts: &RunOptions,
    machine: &Machine,
    program: Program,
) -> Result<FitPrediction, FitError> {
    if !opts.fit {
        return Err(FitError::Off);
    }
    // `-sm none` leaves llama.cpp (and so fit) one device: the main GPU.
    let devs: Vec<usize> = match opts.split_mode {
        SplitMode::None => usize::try_from(opts.main_gpu)
            .ok()
            .filter(|&g| g < machine.gpus.len())
            .into_iter()
            .collect(),
        _ => (0..machine.gpus.len()).collect(),
    };
    let nd = devs.len();
    let eval = Evaluator {
        model,
        facts,
        path,
        machine,
        program,
        margins: margins(&opts.fit_target, machine.gpus.len()),
        base: opts.clone(),
    };
    let disabled_by = placement_disabled_by(opts, machine.gpus.len());
    let mut log = Vec::new();
    let mut o = opts.clone();
    let first = eval.plan_options(&o)?;
    let n_streams = first.context.n_stream.max(1);
    let auto_ctx = opts.ctx_size == 0;
    if auto_ctx {
        o.ctx_size = facts.n_ctx_train.saturating_mul(n_streams);
    }
    let tensor = opts.split_mode == SplitMode::Tensor;
    let mut plan = if auto_ctx {
        eval.plan_options(&o)?
    } else {
        first
    };
    let mut ctx_reduced_from = None;
    let mut slots = None;
    if tensor {
        log.push("llama_params_fit is not implemented for SPLIT_MODE_TENSOR, abort".into());
    } else if nd == 0 {
        log.push("no GPU: fit only compares the context against host memory".into());
    } else if all_fit(&eval, &plan) {
        log.push("targets for free memory can be met on all devices, no changes needed".into());
    } else {
        log.extend(report::deficit(&eval, &plan));
        if auto_ctx && facts.n_ctx_train > opts.fit_ctx {
            let n_max = o.ctx_size;
            let n_min = opts.fit_ctx.saturating_mul(n_streams);
            let n = reduce_ctx(&eval, &o, &plan, &devs, n_min, n_max)?;
            if n < n_max {
                o.ctx_size = n;
                plan = eval.plan_options(&o)?;
                ctx_reduced_from = Some(n_max);
                log.push(format!("context size reduced from {n_max} to {n}"));
            }
        } else if auto_ctx {
            log.push(format!(
                "user has requested full context size of {} -> no change",
                o.ctx_size
            ));
        } else {
            log.push(format!(
                "context size set by user to {} -> no change",
                o.ctx_size
            ));
        }
        if nd == 1 && all_fit(&eval, &plan) {
            log.push("entire model can be fit by reducing context".into());
        } else if let Some(why) = &disabled_by {
            log.push(format!("{why}, abort"));
        } else {
            let s = place_layers(&eval, &o, &devs, &mut log)?;
            plan = eval.plan_options(&layers::options(&o, &s, &devs, facts.n_layer))?;
            slots = Some(s);
        }
    }
    let final_opts = match &slots {
        Some(s) => layers::options(&o, s, &devs, facts.n_layer),
        None => o.clone(),
    };
    let ram = ram_check(&eval, &final_opts, &plan)?;
    let fits = all_fit(&eval, &plan);
    let mut p = FitPrediction {
        disabled_by,
        n_ctx: plan.n_ctx,
        ctx_reduced_from,
        n_gpu_layers: u32::try_from(plan.placement.n_gpu_layers).unwrap_or(u32::MAX),
        devices: report::devices(&eval, &plan, slots.as_deref(), &devs),
        overrides: slots
            .as_deref()
            .map(|s| layers::overrides(s, &devs, facts.n_layer))
            .filter(|rules| !rules.is_empty())
            .map(|rules| ot_value(&rules)),
        flags: Vec::new(),
        fits,
        log,
        ram,
        recommended_fit_target: machine
            .gpus
            .iter()
            .map(|g| if g.drives_display { 1024 } else { 128 })
            .collect(),
        findings: Vec::new(),
        plan,
    };
    p.flags = report::flags(&p, slots.is_some());
    p.findings = report::findings(&p, &eval);
    Ok(p)
}

fn all_fit(eval: &Evaluator, plan: &Plan) -> bool {
    plan.gpus().all(|d| d.total_mib <= eval.budget(d))
}

/// Σ `f` over the GPUs fit works with (`-sm none`: the main GPU only).
fn gpu_sum(plan: &Plan, devs: &[usize], f: impl Fn(&crate::budget::DevicePlan) -> f64) -> f64 {
    plan.devices
        .iter()
        .filter(|d| d.device.gpu().is_some_and(|g| devs.contains(&g)))
        .map(f)
        .sum()
}

/// Step 2: the context where total GPU use meets the total target, interpolated linearly
/// between `n_min` and `n_max`, rounded down to 256 per stream.
fn reduce_ctx(
    eval: &Evaluator,
    o: &RunOptions,
    at_max: &Plan,
    devs: &[usize],
    n_min: u64,
    n_max: u64,
) -> Result<u64, PlanError> {
    let mut target = gpu_sum(at_max, devs, |d| eval.budget(d));
    let nd = devs.len();
    if nd > 1 {
        let model = gpu_sum(at_max, devs, |d| d.weights_mib + d.weights_repack_mib);
        let ngl = at_max
            .placement
            .n_gpu_layers
            .min(u64::from(eval.facts.n_layer))
            .max(1);
        let per_layer = model / ngl as f64;
        let div = if eval.facts.experts.is_some() {
            6.0
        } else {
            2.0
        };
        target -= (nd as f64 + 1.0) * per_layer / div;
    }
    let used_max = gpu_sum(at_max, devs, |d| d.total_mib);
    if used_max <= target {
        return Ok(n_max);
    }
    let mut lo = o.clone();
    lo.ctx_size = n_min;
    let used_min = gpu_sum(&eval.plan_options(&lo)?, devs, |d| d.total_mib);
    if used_min >= target || used_max <= used_min {
        return Ok(n_min);
    }
    let span = (n_max - n_min) as f64;
    let n = n_min + (span * (target - used_min) / (used_max - used_min)) as u64;
    let step = 256 * (n_min / eval.base.fit_ctx.max(1)).max(1);
    Ok((n / step * step).clamp(n_min, n_max))
}

fn place_layers(
    eval: &Evaluator,
    o: &RunOptions,
    devs: &[usize],
    log: &mut Vec<String>,
) -> Result<Vec<Slot>, PlanError> {
    let moe = eval.facts.experts.is_some();
    let mut surplus = false;
    if moe {
        let plan = eval.plan_options(&layers::dense_only(o))?;
        let s = gpu_sum(&plan, devs, |d| eval.budget(d) - d.total_mib);
        surplus = s >= 0.0;
        log.push(format!(
            "with only dense weights in device memory there is a total {} of {:.0} MiB",
            if surplus { "surplus" } else { "deficit" },
            s.abs()
        ));
    }
    log.push(if moe {
        "filling dense-only layers back-to-front:".into()
    } else {
        "filling dense layers back-to-front:".into()
    });
    let slots = layers::fill_back_to_front(eval, o, devs)?;
    log.extend(report::slot_lines(eval, o, &slots, devs, false)?);
    if !moe || !surplus {
        return Ok(slots);
    }
    let slots = layers::convert_front_to_back(eval, o, devs, slots)?;
    log.push("converting dense-only layers to full layers and filling them front-to-back with overflow to next device/system memory:".into());
    log.extend(report::slot_lines(eval, o, &slots, devs, true)?);
    Ok(slots)
}

/// The host side of `plan` under `opts` against RAM − OS reserve (resident and mapped).
pub fn ram_check(eval: &Evaluator, opts: &RunOptions, plan: &Plan) -> Result<RamCheck, PlanError> {
    let cpu = &eval.machine.cpu;
    let row = eval.cpu_row(opts, plan)?;
    let mapped = plan.cpu().map_or(0.0, |d| d.total_mib);
    let (w, kv, compute, total, cap) = match &row {
        Some(r) => (
            r.weights_mib,
            r.kv_mib + r.recurrent_mib,
            r.compute_mib + r.output_mib,
            r.total_mib,
            r.capacity_mib,
        ),
        None => (0.0, 0.0, 0.0, 0.0, cpu.capacity_mib as f64),
    };
    Ok(RamCheck {
        weights_mib: w,
        kv_mib: kv,
        compute_mib: compute,
        os_reserve_mib: cpu.reserved_mib,
        ram_mib: cpu.total_mib,
        over_mib: round2((total - cap).max(0.0)),
        mapped_total_mib: mapped,
        mapped_over_mib: round2((mapped - cap).max(0.0)),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
