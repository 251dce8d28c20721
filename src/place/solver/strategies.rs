//! The four searches. Each builds layouts from per-GPU layer counts and asks the memory model.

use std::ops::RangeInclusive;

use super::advice::advise;
use super::{Placement, SolveError};
use crate::budget::{DeviceRef, Plan};
use crate::config::{GpuLayers, Strategy};
use crate::flags::{BufferType, generated_rules, ot_value};
use crate::place::eval::{Evaluator, Layout, Overrun, max_true};
use crate::place::regex::{EXPERTS_PATTERN, layer_rules};
use crate::resolve::SplitMode;

type Search = fn(&Evaluator) -> Result<Placement, SolveError>;

/// GPU indices, fastest first; among equals local GPUs before RPC devices (stable: device order
/// among the rest, which keeps one server's devices together). Filling in this order uses a
/// remote host only when the local GPUs are full, so a placement that fits crosses as few host
/// boundaries as it can: each one moves the hidden state over the network for every token
/// (crate::budget::traffic).
fn by_speed(eval: &Evaluator) -> Vec<usize> {
    let mut v: Vec<usize> = (0..eval.machine.gpus.len()).collect();
    v.sort_by(|&a, &b| {
        let s = |i: usize| eval.machine.gpus.get(i).map_or(0.0, |g| g.speed);
        let remote = |i: usize| eval.machine.gpus.get(i).is_some_and(|g| g.is_rpc());
        s(b).total_cmp(&s(a)).then(remote(a).cmp(&remote(b)))
    });
    v
}

/// The `-ot` buffer type of GPU `i` (its id: an RPC machine's first local GPU is still `CUDA0`).
fn cuda(eval: &Evaluator, i: usize) -> BufferType {
    BufferType::parse(&eval.machine.gpu_id(i)).unwrap_or(BufferType::Cpu)
}

/// The GPUs an `-ot` layout (strategies C and D) can pin, fastest first: the local ones. An RPC
/// device's buffer type is `RPC<k>[HOST:PORT]`, which profilec's `-ot` rules do not take yet
/// (docs/distributed.md "Not yet modelled").
fn ot_targets(eval: &Evaluator) -> Vec<usize> {
    by_speed(eval)
        .into_iter()
        .filter(|&g| eval.machine.gpus.get(g).is_some_and(|d| !d.is_rpc()))
        .collect()
}

fn ngl_word(eval: &Evaluator) -> String {
    if eval.facts.n_layer < 99 {
        "99".into()
    } else {
        "all".into()
    }
}

pub fn solve(eval: &Evaluator, strategy: Strategy) -> Result<Placement, SolveError> {
    if eval.machine.gpus.is_empty() {
        return Err(SolveError::NotApplicable {
            strategy: "A-D",
            need: "at least one GPU",
            have: "no GPU".into(),
        });
    }
    let moe = eval.facts.experts.is_some();
    let mut rejected = Vec::new();
    let result = match strategy {
        Strategy::A => strategy_a(eval),
        Strategy::B => strategy_b(eval),
        Strategy::C if !moe => return Err(not_moe("C", eval)),
        Strategy::D if !moe => return Err(not_moe("D", eval)),
        Strategy::C => strategy_c(eval),
        Strategy::D => strategy_d(eval),
        Strategy::Auto => {
            let order: &[Search] = if moe {
                &[strategy_a, strategy_c, strategy_d]
            } else {
                &[strategy_a, strategy_b]
            };
            let mut last = None;
            for f in order {
                match f(eval) {
                    Ok(p) => {
                        last = Some(Ok(p));
                        break;
                    }
                    Err(SolveError::DoesNotFit {
                        strategy, overruns, ..
                    }) => {
                        rejected.push(format!(
                            "{} rejected: {}",
                            strategy.as_str(),
                            overruns
                                .iter()
                                .map(|o| format!(
                                    "{} {:.0} MiB over its budget",
                                    o.device, o.over_mib
                                ))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        last = Some(Err(SolveError::DoesNotFit {
                            advice: advise(eval, strategy, &overruns),
                            strategy,
                            overruns,
                        }));
                    }
                    Err(e) => return Err(e),
                }
            }
            last.unwrap_or_else(|| Err(not_moe("auto", eval)))
        }
    };
    result.map(|mut p| {
        let mut r = rejected;
        r.append(&mut p.rationale);
        p.rationale = r;
        p
    })
}

/// C and D pin layers with `-ot`, which reaches local GPUs only ([`ot_targets`]).
fn no_ot_target(strategy: &'static str, eval: &Evaluator) -> Result<(), SolveError> {
    if ot_targets(eval).is_empty() {
        return Err(SolveError::NotApplicable {
            strategy,
            need: "a local GPU (its -ot rules cannot name RPC devices yet; STRATEGY=B splits over them)",
            have: "RPC devices only".into(),
        });
    }
    Ok(())
}

fn not_moe(strategy: &'static str, eval: &Evaluator) -> SolveError {
    SolveError::NotApplicable {
        strategy,
        need: "a MoE model (routed experts)",
        have: format!("a dense `{}` model", eval.facts.arch),
    }
}

fn fail(eval: &Evaluator, strategy: Strategy, overruns: Vec<Overrun>) -> SolveError {
    SolveError::DoesNotFit {
        advice: advise(eval, strategy, &overruns),
        strategy,
        overruns,
    }
}

fn finish(
    eval: &Evaluator,
    strategy: Strategy,
    flags: Vec<String>,
    plan: Plan,
    counts: &[u32],
    why: String,
    layout: &Layout,
) -> Result<Placement, SolveError> {
    let mut rationale = vec![why];
    let cpu = eval.cpu_row(&eval.options(layout), &plan)?;
    for d in plan.devices.iter().map(|d| match &cpu {
        Some(c) if d.device.is_cpu() => c,
        _ => d,
    }) {
        rationale.push(format!(
            "{}: {:.0} of {:.0} MiB budget (weights {:.0}, KV {:.0}, compute {:.0})",
            d.name,
            d.total_mib,
            eval.budget(d),
            d.weights_mib + d.weights_repack_mib,
            d.kv_mib + d.recurrent_mib,
            d.compute_mib
        ));
    }
    if cpu.is_some() {
        rationale.push(
            "CPU counts the resident host weights, not the mmap'd file range llama.cpp reports as CPU_Mapped".into(),
        );
    }
    Ok(Placement {
        strategy,
        flags,
        gpu_layers: counts
            .iter()
            .enumerate()
            .map(|(i, c)| (eval.machine.gpu_id(i), *c))
            .collect(),
        plan,
        rationale,
    })
}

/// A: everything on one GPU, the fastest that holds it.
fn strategy_a(eval: &Evaluator) -> Result<Placement, SolveError> {
    let mut best: Option<Vec<Overrun>> = None;
    for g in by_speed(eval) {
        let layout = Layout {
            split_mode: SplitMode::None,
            main_gpu: g as u64,
            ..Layout::all_layers()
        };
        let (plan, over) = eval.check(&layout)?;
        if over.is_empty() {
            let flags = [
                "--fit",
                "off",
                "--n-gpu-layers",
                &ngl_word(eval),
                "--split-mode",
                "none",
                "--main-gpu",
                &g.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let mut counts = vec![0; eval.machine.gpus.len()];
            if let Some(c) = counts.get_mut(g) {
                *c = eval.facts.n_layer + 1;
            }
            let why = format!(
                "A: the whole model fits {} alone, so no layer crosses a device boundary",
                eval.machine.gpu_id(g)
            );
            return finish(eval, Strategy::A, flags, plan, &counts, why, &layout);
        }
        if best.is_none() {
            best = Some(over);
        }
    }
    Err(fail(eval, Strategy::A, best.unwrap_or_default()))
}

/// Greedy fill: each GPU of `order` (fastest first) takes the most units that keep it within
/// budget.
/// `build(counts)` turns per-GPU counts (CUDA order) into a layout; `rest_to_last` gives every
/// unit not yet assigned to the last GPU in speed order (strategy C covers all layers).
fn fill(
    eval: &Evaluator,
    order: Vec<usize>,
    units: u32,
    rest_to_last: bool,
    build: &dyn Fn(&[u32]) -> Layout,
) -> Result<(Vec<u32>, Plan), SolveError> {
    let mut counts = vec![0u32; eval.machine.gpus.len()];
    for (k, &g) in order.iter().enumerate() {
        let used: u32 = counts.iter().sum();
        let remaining = units.saturating_sub(used);
        let next = order.get(k + 1).copied().filter(|_| rest_to_last);
        let with = |c: u32| {
            let mut t = counts.clone();
            if let Some(x) = t.get_mut(g) {
                *x = c;
            }
            if let Some(n) = next
                && let Some(x) = t.get_mut(n)
            {
                *x = remaining - c;
            }
            t
        };
        if rest_to_last && next.is_none() {
            counts = with(remaining);
            break;
        }
        let best = max_true(0, remaining, |c| {
            Ok(eval.device_fits(&eval.plan(&build(&with(c)))?, DeviceRef::Gpu(g)))
        })?;
        counts = with(best.unwrap_or(0));
        if let (Some(n), true) = (next, rest_to_last)
            && let Some(x) = counts.get_mut(n)
        {
            *x = 0;
        }
    }
    // Fix-up: a later GPU taking the output layer or a share of the KV can push an earlier one
    // over; give up one layer at a time on the GPU that overran.
    for _ in 0..=units {
        let (plan, over) = eval.check(&build(&counts))?;
        let gpu = over.iter().find_map(|o| o.device_ref.gpu());
        match gpu {
            None => return Ok((counts, plan)),
            Some(_) if rest_to_last => return Ok((counts, plan)),
            Some(g) => match counts.get_mut(g) {
                Some(c) if *c > 0 => *c -= 1,
                _ => return Ok((counts, plan)),
            },
        }
    }
    let plan = eval.plan(&build(&counts))?;
    Ok((counts, plan))
}

/// Consecutive layer ranges from 0, in speed order.
fn ranges(eval: &Evaluator, counts: &[u32]) -> Vec<(BufferType, RangeInclusive<u32>)> {
    let mut at = 0u32;
    let mut out = Vec::new();
    for g in ot_targets(eval) {
        let c = counts.get(g).copied().unwrap_or(0);
        if c > 0 {
            out.push((cuda(eval, g), at..=at + c - 1));
            at += c;
        }
    }
    out
}

fn ot_layout(eval: &Evaluator, counts: &[u32], experts_to_cpu: bool) -> Layout {
    let rules = ranges(eval, counts);
    let ot = if rules.is_empty() {
        let experts = (EXPERTS_PATTERN.to_string(), BufferType::Cpu);
        generated_rules(experts_to_cpu.then_some(experts))
    } else {
        // Consecutive ranges from `ranges` never overlap: no error to drop.
        layer_rules(&rules, experts_to_cpu).unwrap_or_default()
    };
    Layout {
        ot,
        tensor_split: local_split(eval, counts),
        ..Layout::all_layers()
    }
}

/// With RPC devices present, `-ts` keeps the layers (and so their KV caches and activations,
/// which `-ot` does not move) on the local GPUs the rules pin: without it llama.cpp's default
/// split would give RPC devices layers whose weights sit elsewhere. Empty otherwise.
fn local_split(eval: &Evaluator, counts: &[u32]) -> Vec<f64> {
    if !eval.machine.gpus.iter().any(|g| g.is_rpc()) {
        return Vec::new();
    }
    let targets = ot_targets(eval);
    let any = counts.iter().any(|&c| c > 0);
    (0..eval.machine.gpus.len())
        .map(|g| match counts.get(g) {
            Some(&c) if any => f64::from(c),
            _ if targets.contains(&g) => 1.0,
            _ => 0.0,
        })
        .collect()
}

fn ot_flags(eval: &Evaluator, layout: &Layout) -> Vec<String> {
    let mut f: Vec<String> = ["--fit", "off", "--n-gpu-layers", &ngl_word(eval)]
        .map(String::from)
        .to_vec();
    if !layout.tensor_split.is_empty() {
        f.push("--tensor-split".into());
        f.push(
            layout
                .tensor_split
                .iter()
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if !layout.ot.is_empty() {
        f.push("--override-tensor".into());
        f.push(ot_value(&layout.ot));
    }
    f
}

fn split_text(counts: &[u32]) -> String {
    counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("+")
}

/// B: a dense model over the GPUs by `--tensor-split` layer counts; layers that fit nowhere stay
/// on the CPU (the first ones, as llama.cpp offloads the last `-ngl`).
fn strategy_b(eval: &Evaluator) -> Result<Placement, SolveError> {
    let units = eval.facts.n_layer + 1;
    let build = |counts: &[u32]| {
        let n: u32 = counts.iter().sum();
        Layout {
            gpu_layers: if n >= units {
                GpuLayers::All
            } else {
                GpuLayers::Count(n)
            },
            tensor_split: counts.iter().map(|&c| f64::from(c)).collect(),
            ..Layout::all_layers()
        }
    };
    let (counts, plan) = fill(eval, by_speed(eval), units, false, &build)?;
    let over = eval.overruns(&eval.options(&build(&counts)), &plan)?;
    let on_gpu: u32 = counts.iter().sum();
    if !over.is_empty() || on_gpu == 0 {
        return Err(fail(eval, Strategy::B, over));
    }
    let ts = counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let ngl = if on_gpu >= units {
        ngl_word(eval)
    } else {
        on_gpu.to_string()
    };
    let flags = [
        "--fit",
        "off",
        "--n-gpu-layers",
        &ngl,
        "--tensor-split",
        &ts,
    ]
    .map(String::from)
    .to_vec();
    let mut why = format!(
        "B: dense layers split {} of {units} (incl. the output layer), fastest GPU filled first",
        split_text(&counts)
    );
    if on_gpu < units {
        why.push_str(&format!(
            "; {} layers stay on the CPU: dense layers on the CPU run at RAM speed (expect a large slowdown)",
            units - on_gpu
        ));
    }
    finish(
        eval,
        Strategy::B,
        flags,
        plan,
        &counts,
        why,
        &build(&counts),
    )
}

/// C: a MoE model whose layers all fit the GPUs, pinned by layer ranges.
fn strategy_c(eval: &Evaluator) -> Result<Placement, SolveError> {
    no_ot_target("C", eval)?;
    let n = eval.facts.n_layer;
    let build = |counts: &[u32]| ot_layout(eval, counts, false);
    let (counts, plan) = fill(eval, ot_targets(eval), n, true, &build)?;
    let over = eval.overruns(&eval.options(&build(&counts)), &plan)?;
    if !over.is_empty() {
        return Err(fail(eval, Strategy::C, over));
    }
    let flags = ot_flags(eval, &build(&counts));
    let why = format!(
        "C: all {n} layers with their experts on the GPUs, split {} (fastest GPU first)",
        split_text(&counts)
    );
    finish(
        eval,
        Strategy::C,
        flags,
        plan,
        &counts,
        why,
        &build(&counts),
    )
}

/// D: the first layers whole on the GPUs, the experts of every later layer on the CPU.
fn strategy_d(eval: &Evaluator) -> Result<Placement, SolveError> {
    no_ot_target("D", eval)?;
    let n = eval.facts.n_layer;
    let build = |counts: &[u32]| ot_layout(eval, counts, true);
    let (counts, plan) = fill(eval, ot_targets(eval), n, false, &build)?;
    let over = eval.overruns(&eval.options(&build(&counts)), &plan)?;
    if !over.is_empty() {
        return Err(fail(eval, Strategy::D, over));
    }
    let flags = ot_flags(eval, &build(&counts));
    let whole: u32 = counts.iter().sum();
    let why = format!(
        "D: {} = {whole}/{n} layers whole on the GPUs, the experts of the other {} on the CPU (exps=CPU last)",
        split_text(&counts),
        n - whole
    );
    finish(
        eval,
        Strategy::D,
        flags,
        plan,
        &counts,
        why,
        &build(&counts),
    )
}
