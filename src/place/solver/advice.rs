//! What to say when no layout fits: which term broke which budget, and what would fix it.

use crate::budget::Component;
use crate::config::Strategy;
use crate::place::eval::{Evaluator, Overrun};

pub fn describe(strategy: &Strategy, overruns: &[Overrun], advice: &[String]) -> String {
    let what: Vec<String> = overruns
        .iter()
        .map(|o| {
            format!(
                "{} needs {:.0} MiB but its budget is {:.0} MiB ({:.0} MiB over; the largest part is {} at {:.0} MiB)",
                o.device, o.total_mib, o.budget_mib, o.over_mib, o.largest, o.largest_mib
            )
        })
        .collect();
    let mut s = format!(
        "no placement fits (strategy {}): {}",
        strategy.as_str(),
        what.join("; ")
    );
    if !advice.is_empty() {
        s.push_str("; to make it fit: ");
        s.push_str(&advice.join("; "));
    }
    s
}

/// Changes that shrink the terms that overran, most specific first.
pub fn advise(eval: &Evaluator, strategy: Strategy, overruns: &[Overrun]) -> Vec<String> {
    let o = &eval.base;
    let mut out = Vec::new();
    let kv_heavy = overruns.iter().any(|r| r.largest == Component::Kv);
    let gpu_over = overruns.iter().any(|r| r.device_ref.is_gpu());
    if gpu_over || kv_heavy {
        if o.ctx_size == 0 || o.ctx_size > 8192 {
            let now = if o.ctx_size == 0 {
                eval.facts.n_ctx_train
            } else {
                o.ctx_size
            };
            out.push(format!(
                "a smaller context (-c {}: the KV cache shrinks in proportion)",
                (now / 2).max(4096)
            ));
        }
        match o.cache_type_k.as_str() {
            "f16" | "bf16" | "f32" => {
                out.push("a q8_0 cache (-ctk q8_0 -ctv q8_0: half the KV bytes of f16)".into())
            }
            "q8_0" => out.push("a q4_0 cache (-ctk q4_0 -ctv q4_0: ~half of q8_0)".into()),
            _ => {}
        }
    }
    if overruns.iter().any(|r| r.largest == Component::Compute) || gpu_over && o.ubatch > 512 {
        out.push(format!(
            "a smaller micro-batch (-ub {}: the compute buffer scales with it)",
            (o.ubatch / 2).max(128)
        ));
    }
    if strategy == Strategy::C {
        out.push("strategy D: keep the experts of the last layers on the CPU".into());
    }
    if strategy == Strategy::A && eval.machine.gpus.len() > 1 {
        out.push("strategy B/C/D: split over the GPUs".into());
    }
    if overruns.iter().any(|r| r.device_ref.is_cpu()) {
        out.push(
            "the CPU side is above RAM minus the OS reserve (it would swap): a smaller quant, or more of the model on the GPUs"
                .into(),
        );
    } else if overruns.iter().any(|r| r.largest == Component::Weights) {
        out.push("a smaller quant of the model".into());
    }
    out
}
