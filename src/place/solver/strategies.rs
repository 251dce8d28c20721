//! The four searches. Each builds layouts from per-GPU layer counts and asks the memory model.

use std::ops::RangeInclusive;

use super::advice::advise;
use super::eval::{Bench, Layout, Overrun, max_true};
use super::{Placement, SolveError, StrategyKind};
use crate::budget::Plan;
use crate::config::{GpuLayers, Strategy};
use crate::flags::{BufferType, parse_ot};
use crate::place::regex::device_rules;
use crate::resolve::SplitMode;

type Search = fn(&Bench) -> Result<Placement, SolveError>;

/// GPU indices, fastest first (stable: CUDA order among equals).
fn by_speed(bench: &Bench) -> Vec<usize> {
    let mut v: Vec<usize> = (0..bench.machine.gpus.len()).collect();
    v.sort_by(|&a, &b| {
        let s = |i: usize| bench.machine.gpus.get(i).map_or(0.0, |g| g.speed);
        s(b).total_cmp(&s(a))
    });
    v
}

fn cuda(i: usize) -> BufferType {
    BufferType::parse(&format!("CUDA{i}")).unwrap_or(BufferType::Cpu)
}

fn ngl_word(bench: &Bench) -> String {
    if bench.facts.n_layer < 99 {
        "99".into()
    } else {
        "all".into()
    }
}

pub fn solve(bench: &Bench, strategy: Strategy) -> Result<Placement, SolveError> {
    if bench.machine.gpus.is_empty() {
        return Err(SolveError::NotApplicable {
            strategy: "A-D",
            need: "at least one GPU",
            have: "no GPU".into(),
        });
    }
    let moe = bench.facts.experts.is_some();
    let mut rejected = Vec::new();
    let result = match strategy {
        Strategy::A => strategy_a(bench),
        Strategy::B => strategy_b(bench),
        Strategy::C if !moe => return Err(not_moe("C", bench)),
        Strategy::D if !moe => return Err(not_moe("D", bench)),
        Strategy::C => strategy_c(bench),
        Strategy::D => strategy_d(bench),
        Strategy::Auto => {
            let order: &[Search] = if moe {
                &[strategy_a, strategy_c, strategy_d]
            } else {
                &[strategy_a, strategy_b]
            };
            let mut last = None;
            for f in order {
                match f(bench) {
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
                            advice: advise(bench, strategy, &overruns),
                            strategy,
                            overruns,
                        }));
                    }
                    Err(e) => return Err(e),
                }
            }
            last.unwrap_or_else(|| Err(not_moe("auto", bench)))
        }
    };
    result.map(|mut p| {
        let mut r = rejected;
        r.append(&mut p.rationale);
        p.rationale = r;
        p
    })
}

fn not_moe(strategy: &'static str, bench: &Bench) -> SolveError {
    SolveError::NotApplicable {
        strategy,
        need: "a MoE model (routed experts)",
        have: format!("a dense `{}` model", bench.facts.arch),
    }
}

fn fail(bench: &Bench, strategy: StrategyKind, overruns: Vec<Overrun>) -> SolveError {
    SolveError::DoesNotFit {
        advice: advise(bench, strategy, &overruns),
        strategy,
        overruns,
    }
}

fn finish(
    bench: &Bench,
    strategy: StrategyKind,
    flags: Vec<String>,
    plan: Plan,
    counts: &[u32],
    why: String,
    layout: &Layout,
) -> Result<Placement, SolveError> {
    let mut rationale = vec![why];
    let cpu = bench.cpu_row(&bench.options(layout), &plan)?;
    for d in plan.devices.iter().map(|d| match &cpu {
        Some(c) if d.name == "CPU" => c,
        _ => d,
    }) {
        rationale.push(format!(
            "{}: {:.0} of {:.0} MiB budget (weights {:.0}, KV {:.0}, compute {:.0})",
            d.name,
            d.total_mib,
            bench.budget(d),
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
            .map(|(i, c)| (format!("CUDA{i}"), *c))
            .collect(),
        plan,
        rationale,
    })
}

/// A: everything on one GPU, the fastest that holds it.
fn strategy_a(bench: &Bench) -> Result<Placement, SolveError> {
    let mut best: Option<Vec<Overrun>> = None;
    for g in by_speed(bench) {
        let layout = Layout {
            split_mode: SplitMode::None,
            main_gpu: g as u64,
            ..Layout::all_layers()
        };
        let (plan, over) = bench.check(&layout)?;
        if over.is_empty() {
            let flags = [
                "--fit",
                "off",
                "--n-gpu-layers",
                &ngl_word(bench),
                "--split-mode",
                "none",
                "--main-gpu",
                &g.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let mut counts = vec![0; bench.machine.gpus.len()];
            if let Some(c) = counts.get_mut(g) {
                *c = bench.facts.n_layer + 1;
            }
            let why = format!(
                "A: the whole model fits CUDA{g} alone, so no layer crosses a device boundary"
            );
            return finish(bench, StrategyKind::A, flags, plan, &counts, why, &layout);
        }
        if best.is_none() {
            best = Some(over);
        }
    }
    Err(fail(bench, StrategyKind::A, best.unwrap_or_default()))
}

/// Greedy fill: each GPU, fastest first, takes the most units that keep it within budget.
/// `build(counts)` turns per-GPU counts (CUDA order) into a layout; `rest_to_last` gives every
/// unit not yet assigned to the last GPU in speed order (strategy C covers all layers).
fn fill(
    bench: &Bench,
    units: u32,
    rest_to_last: bool,
    build: &dyn Fn(&[u32]) -> Layout,
) -> Result<(Vec<u32>, Plan), SolveError> {
    let order = by_speed(bench);
    let mut counts = vec![0u32; bench.machine.gpus.len()];
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
        let name = format!("CUDA{g}");
        let best = max_true(0, remaining, |c| {
            Ok(bench.device_fits(&bench.plan(&build(&with(c)))?, &name))
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
        let (plan, over) = bench.check(&build(&counts))?;
        let gpu = over.iter().find_map(|o| super::eval::gpu_index(&o.device));
        match gpu {
            None => return Ok((counts, plan)),
            Some(_) if rest_to_last => return Ok((counts, plan)),
            Some(g) => match counts.get_mut(g) {
                Some(c) if *c > 0 => *c -= 1,
                _ => return Ok((counts, plan)),
            },
        }
    }
    let plan = bench.plan(&build(&counts))?;
    Ok((counts, plan))
}

/// Consecutive layer ranges from 0, in speed order.
fn ranges(bench: &Bench, counts: &[u32]) -> Vec<(BufferType, RangeInclusive<u32>)> {
    let mut at = 0u32;
    let mut out = Vec::new();
    for g in by_speed(bench) {
        let c = counts.get(g).copied().unwrap_or(0);
        if c > 0 {
            out.push((cuda(g), at..=at + c - 1));
            at += c;
        }
    }
    out
}

fn ot_layout(bench: &Bench, counts: &[u32], experts_to_cpu: bool) -> Layout {
    let rules = ranges(bench, counts);
    let ot = if rules.is_empty() {
        experts_to_cpu.then(|| super::super::regex::EXPERTS_PATTERN.to_string() + "=CPU")
    } else {
        device_rules(&rules, experts_to_cpu).ok()
    };
    Layout {
        // Generated rules always parse (tests/place_regex.rs); parsed once per candidate.
        ot: ot.map(|v| parse_ot(&v).rules).unwrap_or_default(),
        ..Layout::all_layers()
    }
}

fn ot_flags(bench: &Bench, layout: &Layout) -> Vec<String> {
    let mut f: Vec<String> = ["--fit", "off", "--n-gpu-layers", &ngl_word(bench)]
        .map(String::from)
        .to_vec();
    if let Some(ot) = layout.ot_value() {
        f.push("--override-tensor".into());
        f.push(ot);
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
fn strategy_b(bench: &Bench) -> Result<Placement, SolveError> {
    let units = bench.facts.n_layer + 1;
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
    let (counts, plan) = fill(bench, units, false, &build)?;
    let over = bench.overruns(&bench.options(&build(&counts)), &plan)?;
    let on_gpu: u32 = counts.iter().sum();
    if !over.is_empty() || on_gpu == 0 {
        return Err(fail(bench, StrategyKind::B, over));
    }
    let ts = counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let ngl = if on_gpu >= units {
        ngl_word(bench)
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
        bench,
        StrategyKind::B,
        flags,
        plan,
        &counts,
        why,
        &build(&counts),
    )
}

/// C: a MoE model whose layers all fit the GPUs, pinned by layer ranges.
fn strategy_c(bench: &Bench) -> Result<Placement, SolveError> {
    let n = bench.facts.n_layer;
    let build = |counts: &[u32]| ot_layout(bench, counts, false);
    let (counts, plan) = fill(bench, n, true, &build)?;
    let over = bench.overruns(&bench.options(&build(&counts)), &plan)?;
    if !over.is_empty() {
        return Err(fail(bench, StrategyKind::C, over));
    }
    let flags = ot_flags(bench, &build(&counts));
    let why = format!(
        "C: all {n} layers with their experts on the GPUs, split {} (fastest GPU first)",
        split_text(&counts)
    );
    finish(
        bench,
        StrategyKind::C,
        flags,
        plan,
        &counts,
        why,
        &build(&counts),
    )
}

/// D: the first layers whole on the GPUs, the experts of every later layer on the CPU.
fn strategy_d(bench: &Bench) -> Result<Placement, SolveError> {
    let n = bench.facts.n_layer;
    let build = |counts: &[u32]| ot_layout(bench, counts, true);
    let (counts, plan) = fill(bench, n, false, &build)?;
    let over = bench.overruns(&bench.options(&build(&counts)), &plan)?;
    if !over.is_empty() {
        return Err(fail(bench, StrategyKind::D, over));
    }
    let flags = ot_flags(bench, &build(&counts));
    let whole: u32 = counts.iter().sum();
    let why = format!(
        "D: {} = {whole}/{n} layers whole on the GPUs, the experts of the other {} on the CPU (exps=CPU last)",
        split_text(&counts),
        n - whole
    );
    finish(
        bench,
        StrategyKind::D,
        flags,
        plan,
        &counts,
        why,
        &build(&counts),
    )
}
