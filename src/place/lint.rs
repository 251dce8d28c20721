//! Diagnostics on an [`Expansion`]: what hand-written `-ot` rules really do to a model, with
//! spans at the rules (relative to wherever the rules' spans are relative to: EXTRA_ARGS for
//! rules from `parse_args`). Rules that one flag implies (`-ncmoe 50` is fifty rules with one
//! span) are reported once per flag.

use std::collections::BTreeSet;
use std::ops::Range;

use super::expand::{Expansion, layer_runs};
use crate::diag::Diagnostic;
use crate::flags::{BufferType, OtRule};

/// Rules sharing one span (one written rule, or every rule one flag implies).
struct Group {
    span: Range<usize>,
    members: Vec<usize>,
}

fn groups(rules: &[OtRule]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        match out.last_mut() {
            Some(g) if g.span == r.span => g.members.push(i),
            _ => out.push(Group {
                span: r.span.clone(),
                members: vec![i],
            }),
        }
    }
    out
}

fn describe(rules: &[OtRule], g: &Group) -> String {
    match (
        g.members.as_slice(),
        g.members.first().and_then(|&i| rules.get(i)),
    ) {
        ([_], Some(r)) => format!("`{}={}`", r.pattern, r.buffer),
        (_, Some(r)) => format!(
            "the {} rules of this flag (`…={}`)",
            g.members.len(),
            r.buffer
        ),
        _ => "this rule".to_string(),
    }
}

/// Every finding for `rules` on the model `exp` was computed for. `gpus`: the machine's device
/// names (`CUDA0`, …) when known; rules naming another device are errors.
pub fn lint(rules: &[OtRule], exp: &Expansion, gpus: Option<&[String]>) -> Vec<Diagnostic> {
    let gs = groups(rules);
    let group_of = |i: usize| gs.iter().position(|g| g.members.contains(&i));
    let mut out = Vec::new();
    for g in &gs {
        usage(rules, exp, g, &mut out);
    }
    shadowing(rules, exp, &gs, &group_of, &mut out);
    layout(rules, exp, &mut out);
    if let Some(gpus) = gpus {
        unknown_devices(rules, &gs, gpus, &mut out);
    }
    out
}

/// Dead rules, expert rules on a dense model, layers past the block count, CPU rules that
/// earlier rules leave nothing to.
fn usage(rules: &[OtRule], exp: &Expansion, g: &Group, out: &mut Vec<Diagnostic>) {
    let uses: Vec<_> = g.members.iter().filter_map(|&i| exp.rules.get(i)).collect();
    let matched: usize = uses.iter().map(|u| u.matched).sum();
    let won: usize = uses.iter().map(|u| u.won).sum();
    let past: BTreeSet<u32> = uses
        .iter()
        .filter(|u| !u.open_ended)
        .flat_map(|u| u.past_end.iter().copied())
        .collect();
    let what = describe(rules, g);
    let n = exp.n_layer;
    if matched == 0 && !exp.has_experts && uses.iter().any(|u| u.targets_experts) {
        out.push(
            Diagnostic::error(
                "place::no-expert-tensors",
                format!("{what} moves expert tensors, but this model is dense: it has none"),
            )
            .at(g.span.clone())
            .label("matches no tensor of this model")
            .help("remove it; only MoE models have `ffn_*_exps` tensors (check MODEL if you meant a MoE model)"),
        );
    } else if !past.is_empty() {
        out.push(
            Diagnostic::warning(
                "place::layer-out-of-range",
                format!(
                    "{what} names layers {} but the model has {n} layers (0-{})",
                    layer_runs(&past),
                    n.saturating_sub(1)
                ),
            )
            .at(g.span.clone())
            .label(format!("layers {} do not exist", layer_runs(&past)))
            .help("the ranges were probably written for another model; recompute them for this one's block count"),
        );
    } else if matched == 0 {
        out.push(
            Diagnostic::warning(
                "place::dead-rule",
                format!("{what} matches no tensor of this model"),
            )
            .at(g.span.clone())
            .label("does nothing")
            .help(
                "fix the pattern (`profilec inspect MODEL` lists the tensors) or remove the rule",
            ),
        );
    } else if won == 0
        && g.members
            .iter()
            .all(|&i| rules.get(i).is_some_and(|r| r.buffer.is_cpu()))
    {
        out.push(
            Diagnostic::warning(
                "place::shadowed-rule",
                format!("{what} never places a tensor: earlier rules take every tensor it matches"),
            )
            .at(g.span.clone())
            .label("first match wins: nothing is left for this rule")
            .help("remove it, or narrow the earlier rules if these tensors should go here"),
        );
    }
}

/// A device rule that loses tensors to an earlier rule of another buffer type.
fn shadowing(
    rules: &[OtRule],
    exp: &Expansion,
    gs: &[Group],
    group_of: &dyn Fn(usize) -> Option<usize>,
    out: &mut Vec<Diagnostic>,
) {
    // (winner group, loser group) -> (layers, example)
    let mut pairs: Vec<((usize, usize), BTreeSet<u32>, String)> = Vec::new();
    for (j, (rule, u)) in rules.iter().zip(&exp.rules).enumerate() {
        if rule.buffer.is_cpu() {
            continue;
        }
        for (i, layers, example) in &u.taken_by {
            let Some(winner) = rules.get(*i) else {
                continue;
            };
            if winner.buffer == rule.buffer {
                continue;
            }
            let (Some(gi), Some(gj)) = (group_of(*i), group_of(j)) else {
                continue;
            };
            match pairs.iter_mut().find(|(k, _, _)| *k == (gi, gj)) {
                Some(p) => p.1.extend(layers),
                None => pairs.push(((gi, gj), layers.clone(), example.clone())),
            }
        }
    }
    for ((gi, gj), layers, example) in pairs {
        let (Some(wg), Some(lg)) = (gs.get(gi), gs.get(gj)) else {
            continue;
        };
        let (Some(w), Some(l)) = (
            wg.members.first().and_then(|&i| rules.get(i)),
            lg.members.first().and_then(|&i| rules.get(i)),
        ) else {
            continue;
        };
        let at = if layers.is_empty() {
            String::new()
        } else {
            format!(" in layers {}", layer_runs(&layers))
        };
        let (winner, loser) = (describe(rules, wg), describe(rules, lg));
        let d = if w.buffer.is_cpu() {
            Diagnostic::warning(
                "place::cpu-rule-shadows",
                format!("{winner} comes first and keeps tensors{at} that {loser} was meant to place, e.g. `{example}`"),
            )
            .at(wg.span.clone())
            .label("first match wins: these tensors stay on the CPU")
            .related(lg.span.clone(), format!("never reached for them, so they do not go to {}", l.buffer))
            .help("put the CPU rule last (`blk\\.(…)\\.=CUDA0,…,exps=CPU`)")
        } else {
            Diagnostic::warning(
                "place::shadowed-rule",
                format!("{loser} loses tensors{at} to the earlier {winner}, e.g. `{example}`"),
            )
            .at(lg.span.clone())
            .label(format!("these tensors go to {} instead", w.buffer))
            .related(wg.span.clone(), "matches them first")
            .help("make the device ranges disjoint; with overlapping ranges only the first rule counts")
        };
        out.push(d);
    }
}

/// Gaps between device ranges, devices split in pieces, devices out of order.
fn layout(rules: &[OtRule], exp: &Expansion, out: &mut Vec<Diagnostic>) {
    let devices = exp.device_layers();
    let holder = |buffer: &BufferType, layer: u32| -> Option<&OtRule> {
        rules
            .iter()
            .zip(&exp.rules)
            .find(|(r, u)| r.buffer == *buffer && u.layers.contains(&layer))
            .map(|(r, _)| r)
    };
    let held_by = |layer: u32| {
        devices
            .iter()
            .find(|(_, l)| l.contains(&layer))
            .map(|d| &d.0)
    };
    let all: BTreeSet<u32> = devices
        .iter()
        .flat_map(|(_, l)| l.iter().copied())
        .collect();
    if let (Some(&lo), Some(&hi)) = (all.first(), all.last()) {
        // Layers pinned whole to the CPU are placed on purpose, not forgotten.
        let cpu_whole = exp
            .buffer(Some(BufferType::Cpu))
            .map(|b| b.full_layers.clone())
            .unwrap_or_default();
        let gap: BTreeSet<u32> = (lo..=hi)
            .filter(|l| !all.contains(l) && !cpu_whole.contains(l))
            .collect();
        for run in runs(&gap) {
            let before = run
                .start()
                .checked_sub(1)
                .and_then(|l| Some((held_by(l)?, l)));
            let after = run
                .end()
                .checked_add(1)
                .and_then(|l| Some((held_by(l)?, l)));
            let (Some((db, lb)), Some((da, la))) = (before, after) else {
                continue;
            };
            let (Some(rb), Some(ra)) = (holder(db, lb), holder(da, la)) else {
                continue;
            };
            let layers: BTreeSet<u32> = run.clone().collect();
            out.push(
                Diagnostic::warning(
                    "place::layer-gap",
                    format!(
                        "layers {} are in no device rule, between {db} (up to {lb}) and {da} (from {la})",
                        layer_runs(&layers)
                    ),
                )
                .at(ra.span.clone())
                .label(format!("starts at layer {la}"))
                .related(rb.span.clone(), format!("ends at layer {lb}"))
                .help("extend one of the ranges over the gap; unpinned layers go wherever the layer split puts them"),
            );
        }
    }
    for (d, layers) in &devices {
        let (Some(&lo), Some(&hi)) = (layers.first(), layers.last()) else {
            continue;
        };
        let between: BTreeSet<u32> = (lo..=hi)
            .filter(|l| !layers.contains(l) && held_by(*l).is_some_and(|o| o != d))
            .collect();
        let (Some(&first_between), Some(rule)) = (between.first(), holder(d, lo)) else {
            continue;
        };
        let other = held_by(first_between).map_or(String::new(), |o| o.to_string());
        out.push(
            Diagnostic::warning(
                "place::noncontiguous-device",
                format!(
                    "{d} holds layers {} with {other}'s layers {} between them",
                    layer_runs(layers),
                    layer_runs(&between)
                ),
            )
            .at(rule.span.clone())
            .label(format!("{d} is split in pieces"))
            .help("give each device one contiguous range: every boundary between devices copies activations for every token"),
        );
    }
    // RPC devices are left out: their order is the --rpc list's, not their names'.
    let mut by_index: Vec<(&'static str, u32, &BufferType, u32)> = devices
        .iter()
        .filter_map(|(d, l)| match d {
            BufferType::Device { backend, index } => {
                Some((backend.prefix(), *index, d, *l.first()?))
            }
            BufferType::Cpu | BufferType::Rpc { .. } => None,
        })
        .collect();
    by_index.sort_unstable_by_key(|&(prefix, index, _, _)| (prefix, index));
    for pair in by_index.windows(2) {
        let [(p0, _, d0, first0), (p1, _, d1, first1)] = pair else {
            continue;
        };
        if p0 != p1 || first1 >= first0 {
            continue;
        }
        let (Some(r1), Some(r0)) = (holder(d1, *first1), holder(d0, *first0)) else {
            continue;
        };
        out.push(
            Diagnostic::warning(
                "place::device-order",
                format!("{d1} holds earlier layers (from {first1}) than {d0} (from {first0})"),
            )
            .at(r1.span.clone())
            .label(format!("{d1} before {d0}"))
            .related(r0.span.clone(), format!("{d0} starts at layer {first0}"))
            .help(format!(
                "give {d0} the first layers: llama.cpp puts each layer's KV cache and the layer split in device order, so reversed ranges move data across GPUs every token"
            )),
        );
    }
}

fn unknown_devices(rules: &[OtRule], gs: &[Group], gpus: &[String], out: &mut Vec<Diagnostic>) {
    for g in gs {
        let Some(r) = g.members.first().and_then(|&i| rules.get(i)) else {
            continue;
        };
        let name = r.buffer.to_string();
        if r.buffer.is_cpu() || gpus.contains(&name) {
            continue;
        }
        let have = if gpus.is_empty() {
            "no GPU".to_string()
        } else {
            gpus.join(", ")
        };
        let help = if matches!(r.buffer, BufferType::Rpc { .. }) {
            let rpc: Vec<&str> = gpus
                .iter()
                .filter(|g| g.starts_with("RPC"))
                .map(String::as_str)
                .collect();
            if rpc.is_empty() {
                "RPC buffer types exist only for the servers in the profile's --rpc list, each declared as an [[rpc]] host in profilec.toml (docs/distributed.md)".to_string()
            } else {
                format!(
                    "this launch's RPC buffer types are {}: `RPC<k>[HOST:PORT]`, k the device's index on that server, HOST:PORT as in --rpc",
                    rpc.join(", ")
                )
            }
        } else {
            "llama-server aborts on an unknown buffer type; use one of the machine's devices (`profilec hw` lists them)".to_string()
        };
        out.push(
            Diagnostic::error(
                "place::unknown-device",
                format!("this machine has no {name}"),
            )
            .at(r.buffer_span.clone())
            .label(format!("the machine has {have}"))
            .help(help),
        );
    }
}

fn runs(set: &BTreeSet<u32>) -> Vec<std::ops::RangeInclusive<u32>> {
    let mut out: Vec<std::ops::RangeInclusive<u32>> = Vec::new();
    for &l in set {
        match out.last_mut() {
            Some(r) if *r.end() + 1 == l => *r = *r.start()..=l,
            _ => out.push(l..=l),
        }
    }
    out
}
