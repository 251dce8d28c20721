//! fit's log lines, the flags of its result, and the findings around it.

use super::{DeviceFit, FitPrediction, Fraction, Slot, layers};
use crate::budget::{DeviceRef, Plan, PlanError};
use crate::place::eval::Evaluator;
use crate::resolve::RunOptions;

fn label(eval: &Evaluator, id: usize) -> String {
    let dev = eval.machine.gpu_id(id);
    match eval.machine.gpus.get(id) {
        Some(g) if !g.name.is_empty() => format!("{dev} ({})", g.name),
        _ => dev,
    }
}

/// fit's first lines when the initial parameters do not fit.
pub fn deficit(eval: &Evaluator, plan: &Plan) -> Vec<String> {
    let mut out = vec!["projected memory use with initial parameters [MiB]:".to_string()];
    let mut need = 0.0;
    for (id, _) in eval.machine.gpus.iter().enumerate() {
        let Some(d) = plan.at(DeviceRef::Gpu(id)) else {
            continue;
        };
        let margin = eval.margins.get(id).copied().unwrap_or(1024);
        out.push(format!(
            "  - {}: {:6.0} total, {:6.0} used, {:6.0} free vs. target of {:6}",
            label(eval, id),
            d.capacity_mib,
            d.total_mib,
            d.capacity_mib - d.total_mib,
            margin
        ));
        need += (d.total_mib - eval.budget(d)).max(0.0);
    }
    out.push(format!(
        "cannot meet free memory targets on all devices, need to use {need:.0} MiB less in total"
    ));
    out
}

pub fn slot_lines(
    eval: &Evaluator,
    o: &RunOptions,
    slots: &[Slot],
    devs: &[usize],
    overflow: bool,
) -> Result<Vec<String>, PlanError> {
    let plan = eval.plan_options(&layers::options(o, slots, devs, eval.facts.n_layer))?;
    Ok(slots
        .iter()
        .zip(devs)
        .map(|(s, &id)| {
            let (used, free) = plan
                .at(DeviceRef::Gpu(id))
                .map_or((0.0, 0.0), |d| (d.total_mib, d.capacity_mib - d.total_mib));
            if overflow {
                format!(
                    "  - {}: {:2} layers ({:2} overflowing), {used:6.0} MiB used, {free:6.0} MiB free",
                    label(eval, id),
                    s.n_layer,
                    s.n_part
                )
            } else {
                format!(
                    "  - {}: {:2} layers, {used:6.0} MiB used, {free:6.0} MiB free",
                    label(eval, id),
                    s.n_layer
                )
            }
        })
        .collect())
}

pub fn devices(
    eval: &Evaluator,
    plan: &Plan,
    slots: Option<&[Slot]>,
    devs: &[usize],
) -> Vec<DeviceFit> {
    devs.iter()
        .enumerate()
        .map(|(k, &id)| {
            let d = plan.at(DeviceRef::Gpu(id));
            let slot = slots.and_then(|s| s.get(k)).copied();
            let layers = match slot {
                Some(s) => s.n_layer,
                None => {
                    let on = plan
                        .placement
                        .layers
                        .iter()
                        .filter(|l| **l == DeviceRef::Gpu(id))
                        .count() as u32;
                    on + u32::from(plan.placement.output == DeviceRef::Gpu(id))
                }
            };
            DeviceFit {
                device: eval.machine.gpu_id(id),
                layers,
                overflowing: slot.map_or(0, |s| s.n_part),
                fraction: slot.map_or(Fraction::Moe, |s| s.fraction),
                used_mib: d.map_or(0.0, |d| d.total_mib),
                free_mib: d.map_or(0.0, |d| d.capacity_mib - d.total_mib),
            }
        })
        .collect()
}

/// fit's result as arguments: `-c` when it shrank the context, and with a placement `-ngl`,
/// `-ts` (layer counts) and `-ot`.
pub fn flags(p: &FitPrediction, placed: bool) -> Vec<String> {
    let mut f = Vec::new();
    if p.ctx_reduced_from.is_some() {
        f.extend(["-c".to_string(), p.n_ctx.to_string()]);
    }
    if placed {
        f.extend(["-ngl".to_string(), p.n_gpu_layers.to_string()]);
        if p.devices.len() > 1 {
            let ts: Vec<String> = p.devices.iter().map(|d| d.layers.to_string()).collect();
            f.extend(["-ts".to_string(), ts.join(",")]);
        }
        if let Some(ot) = &p.overrides {
            f.extend(["-ot".to_string(), ot.clone()]);
        }
    }
    f
}

pub fn findings(p: &FitPrediction, eval: &Evaluator) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = &p.disabled_by {
        out.push(format!(
            "fit will not place layers: {why}; it can only shrink an automatic context (-c unset)"
        ));
    }
    let units = eval.facts.n_layer + 1;
    if p.n_gpu_layers < units && !eval.machine.gpus.is_empty() {
        out.push(format!(
            "{}/{units} layers on the GPUs, {} on the CPU",
            p.n_gpu_layers,
            units - p.n_gpu_layers
        ));
    }
    if !p.fits {
        out.push("even fit's placement leaves a GPU above capacity − --fit-target: the load will fail (OOM)".into());
    }
    let r = &p.ram;
    if r.over_mib > 0.0 {
        out.push(format!(
            "swap risk: {:.0} MiB over (CPU-resident weights {:.0} + KV {:.0} + compute {:.0} + OS reserve {} vs RAM {} MiB); fit does not check host memory",
            r.over_mib, r.weights_mib, r.kv_mib, r.compute_mib, r.os_reserve_mib, r.ram_mib
        ));
    } else if r.mapped_over_mib > 0.0 {
        out.push(format!(
            "swap risk: {:.0} MiB over with the mmap'd file in page cache (host side {:.0} MiB + OS reserve {} vs RAM {} MiB; resident alone fits); fit does not check host memory",
            r.mapped_over_mib, r.mapped_total_mib, r.os_reserve_mib, r.ram_mib
        ));
    }
    let now = &eval.margins;
    if !p.recommended_fit_target.is_empty() && *now != p.recommended_fit_target {
        let list: Vec<String> = p
            .recommended_fit_target
            .iter()
            .map(u64::to_string)
            .collect();
        out.push(format!(
            "--fit-target {}: 1024 MiB on a GPU that drives a display (its usage moves), 128 on dedicated GPUs",
            list.join(",")
        ));
    }
    out
}
