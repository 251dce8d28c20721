//! PLACEHOLDER compute-buffer estimate, until `budget::compute` (the graph + allocator replay,
//! branch `compute`) lands. The plan marks every number from here with the note
//! "compute: placeholder". It models only the largest live tensors of the prompt-processing
//! graph, so it is low by roughly 10–40 %.

use super::context::ContextParams;
use super::kv::mul;
use super::placement::{DeviceRef, LayerPlacement};
use crate::gguf::ModelFacts;

/// Compute buffer per device, bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeStub {
    pub per_device: Vec<(DeviceRef, u64)>,
}

/// Peak of the pp graph per device: the widest layer activation (FFN or, without flash
/// attention, the KQ matrix), plus the logits on the output layer's device.
pub fn estimate_placeholder(
    facts: &ModelFacts,
    ctx: &ContextParams,
    placement: &LayerPlacement,
) -> ComputeStub {
    let t = ctx.n_ubatch;
    let n_out = t.min(ctx.n_outputs_max);
    let mut per: Vec<(DeviceRef, u64)> = Vec::new();
    let mut bump = |dev: DeviceRef, bytes: u64| match per.iter_mut().find(|(d, _)| *d == dev) {
        Some((_, b)) => *b = (*b).max(bytes),
        None => per.push((dev, bytes)),
    };
    for l in &facts.layers {
        let ffn = facts
            .experts
            .as_ref()
            .filter(|_| l.is_moe)
            .map_or(l.n_ff, |e| mul(&[e.n_ff_exp, u64::from(e.used)]));
        let ffn_bytes = mul(&[4, t, mul(&[3, ffn]).saturating_add(mul(&[2, facts.n_embd]))]);
        let attn = if l.has_kv && !ctx.flash_attn {
            let n_kv = ctx.n_ctx_seq;
            mul(&[
                4,
                n_kv,
                t / ctx.n_stream.max(1),
                u64::from(l.n_head),
                ctx.n_stream.max(1),
            ])
        } else {
            mul(&[
                4,
                t,
                l.n_embd_k_gqa
                    .saturating_add(l.n_embd_v_gqa)
                    .saturating_add(mul(&[2, facts.n_embd])),
            ])
        };
        bump(placement.layer(l.index as usize), ffn_bytes.max(attn));
    }
    let logits = mul(&[4, facts.n_vocab, n_out]).saturating_add(mul(&[4, facts.n_embd, t]));
    let out_dev = placement.output;
    match per.iter_mut().find(|(d, _)| *d == out_dev) {
        Some((_, b)) => *b = b.saturating_add(logits),
        None => per.push((out_dev, logits)),
    }
    // The host always runs the input embedding lookup and owns the inputs.
    if !per.iter().any(|(d, _)| *d == DeviceRef::Cpu) {
        per.push((DeviceRef::Cpu, mul(&[4, facts.n_embd, t])));
    }
    ComputeStub { per_device: per }
}
