//! Rules that take tensors away from a later device rule. llama.cpp uses the first rule whose
//! pattern is found in a tensor name, so `exps=CPU,blk\.(0|1)\.=CUDA0` sends the experts of
//! layers 0-1 to the CPU, not to CUDA0: the CPU rule shadows the device rule for them.
//! Regex overlap is undecidable in general, so the check runs both rules over the tensor
//! names llama.cpp models use (every common per-layer tensor for layers 0-255).

use std::sync::LazyLock;

use super::ot::{BufferType, OtRule};
use crate::diag::Diagnostic;

const LAYER_TENSORS: &[&str] = &[
    "attn_norm",
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_qkv",
    "attn_output",
    "attn_q_norm",
    "attn_k_norm",
    "attn_q_a",
    "attn_q_b",
    "attn_kv_a_mqa",
    "attn_kv_b",
    "attn_sinks",
    "post_attention_norm",
    "ffn_norm",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
    "ffn_gate_inp",
    "ffn_gate_exps",
    "ffn_up_exps",
    "ffn_down_exps",
    "ffn_gate_up_exps",
    "ffn_gate_shexp",
    "ffn_up_shexp",
    "ffn_down_shexp",
    "ffn_gate_inp_shexp",
    "exp_probs_b",
    "ssm_in",
    "ssm_out",
    "ssm_conv1d",
    "shortconv.conv",
    "shortconv.in_proj",
    "shortconv.out_proj",
];
const GLOBAL_TENSORS: &[&str] = &["token_embd.weight", "output.weight", "output_norm.weight"];
const MAX_LAYER: usize = 256;
/// Regex runs one EXTRA_ARGS line may spend on the lint (~50–100 ns each in a release build):
/// every probe name for ~57 device rules, far more than a real placement has.
const MAX_REGEX_RUNS: usize = 1_000_000;

static PROBES: LazyLock<Vec<String>> = LazyLock::new(probe_names);

/// The tensor names the lint probes with, in a stable order.
pub fn probe_names() -> Vec<String> {
    let mut names: Vec<String> = GLOBAL_TENSORS.iter().map(|s| s.to_string()).collect();
    for layer in 0..MAX_LAYER {
        for t in LAYER_TENSORS {
            names.push(format!("blk.{layer}.{t}.weight"));
            names.push(format!("blk.{layer}.{t}.bias"));
        }
    }
    names
}

/// One warning per (CPU rule, device rule) pair where the CPU rule comes first and takes
/// tensors the device rule matches; at the CPU rule's span, the device rule as related span.
pub fn lint_shadowing(rules: &[OtRule]) -> Vec<Diagnostic> {
    let devices: Vec<usize> = (0..rules.len())
        .filter(|&j| rules.get(j).is_some_and(|r| !r.buffer.is_cpu()))
        .collect();
    let has_cpu_before = devices
        .iter()
        .any(|&j| rules.iter().take(j).any(|r| r.buffer == BufferType::Cpu));
    if !has_cpu_before {
        return Vec::new();
    }
    // (cpu rule, device rule) -> (layers taken, first example). Starting from the names each
    // device rule matches keeps this cheap even with hundreds of `-ncmoe` rules before it.
    let mut hits: Vec<((usize, usize), Vec<usize>, String)> = Vec::new();
    // Hostile lists (hundreds of device rules that each match every probe, behind as many CPU
    // rules) cost rules² × 17,410 regex runs; found by the structured fuzzing of issue 12 as a
    // check that ran for minutes. A budget keeps one EXTRA_ARGS line to a few tens of
    // milliseconds; past it the lint stops with the warnings found so far (it is advisory).
    let mut budget = MAX_REGEX_RUNS;
    let mut spend = |n: usize| {
        budget = budget.saturating_sub(n);
        budget > 0
    };
    'rules: for &j in &devices {
        let Some(dev) = rules.get(j) else { continue };
        if !spend(PROBES.len()) {
            break;
        }
        for name in PROBES.iter().filter(|n| dev.matches(n)) {
            if !spend(j + 1) {
                break 'rules;
            }
            let first = rules.iter().take(j).position(|r| r.matches(name));
            let Some(i) = first.filter(|&i| rules.get(i).is_some_and(|r| r.buffer.is_cpu())) else {
                continue;
            };
            let layer = layer_of(name);
            match hits.iter_mut().find(|(k, _, _)| *k == (i, j)) {
                Some(h) => h.1.extend(layer.filter(|l| !h.1.contains(l))),
                None => hits.push(((i, j), layer.into_iter().collect(), name.clone())),
            }
        }
    }
    hits.sort_by_key(|(k, _, _)| *k);
    hits.into_iter()
        .filter_map(|((i, j), layers, example)| {
            let (cpu, dev) = (rules.get(i)?, rules.get(j)?);
            Some(
                Diagnostic::warning(
                    "ot::cpu-rule-shadows",
                    format!(
                        "`{}={}` comes first and keeps tensors that `{}={}` was meant to place, e.g. `{example}`{}",
                        cpu.pattern,
                        cpu.buffer,
                        dev.pattern,
                        dev.buffer,
                        layer_note(&layers)
                    ),
                )
                .at(cpu.span.clone())
                .label("first match wins: these tensors stay on the CPU")
                .related(
                    dev.span.clone(),
                    format!("never reached for those tensors, so they do not go to {}", dev.buffer),
                )
                .help("move the CPU rule after the device rules (e.g. `blk\\.(0|1)\\.=CUDA0,exps=CPU`)"),
            )
        })
        .collect()
}

fn layer_of(name: &str) -> Option<usize> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

/// ` (layers 0-3, 7)`.
fn layer_note(layers: &[usize]) -> String {
    let mut sorted = layers.to_vec();
    sorted.sort_unstable();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for l in sorted {
        match runs.last_mut() {
            Some((_, b)) if l == *b + 1 => *b = l,
            _ => runs.push((l, l)),
        }
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (layers {})", parts.join(", "))
    }
}
