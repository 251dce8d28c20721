//! llama.cpp's compute buffer per backend, predicted from the model graph
//! (docs/memory-model.md §6 and "Compute buffers").
//!
//! `llama_context::sched_reserve` reserves three graphs with the full KV view — prompt
//! processing (`n_tokens = n_ubatch`), token generation (`n_tokens = n_seq`) and prompt
//! processing again — and ggml-alloc sizes each backend's buffer to its high-water mark. This
//! module builds the list of intermediate tensors of those graphs for the model's family
//! ([`graph`], [`blocks`], [`recurrent`]) and replays the allocator ([`alloc`]).

pub mod alloc;
mod blocks;
pub mod family;
pub mod graph;
pub mod ir;
mod leafs;
mod recurrent;
pub mod sched;

use serde::Serialize;

use self::alloc::{DynAlloc, replay};
use self::graph::{Builder, Shape};
pub use self::graph::{Placement, WeightMap};
pub use self::sched::{Backends, DeviceKind};
use crate::budget::ContextParams;
use crate::gguf::{Model, ModelFacts};

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComputeEstimate {
    /// The CPU backend's compute buffer with every layer on the CPU.
    pub cpu_mib: f64,
    /// Graph builder used (`llama`, `qwen3moe`, `qwen2moe`, `gemma3`, `lfm2`, `deepseek2`,
    /// `qwen3next`, `gpt-oss`).
    pub family: &'static str,
    /// False when the architecture has no builder here and the closest family stood in.
    pub exact_family: bool,
    /// Which reserve set the high-water mark: `pp` (prompt) or `tg` (generation).
    pub peak_graph: &'static str,
    pub notes: Vec<String>,
}

/// The three reserves of `sched_reserve`: pp, tg, pp.
fn shapes(ctx: &ContextParams) -> [(Shape, &'static str); 3] {
    let n_tok = ctx.n_ubatch.min(ctx.n_ctx).max(1);
    let n_seq = ctx.n_seq.max(1);
    let pp = Shape {
        n_tokens: n_tok,
        n_seqs: n_seq,
        n_outputs: n_tok.min(ctx.n_outputs_max.max(1)),
    };
    let tg = Shape {
        n_tokens: n_seq,
        n_seqs: n_seq,
        n_outputs: n_seq,
    };
    [(pp, "pp"), (tg, "tg"), (pp, "pp")]
}

/// Whether every tensor size of the graph fits in u64 arithmetic: the graph multiplies up to four
/// dimensions, so each is bounded far above any real model or context (llama.cpp itself takes
/// n_ctx as a 32-bit int). Beyond that the estimate saturates instead of overflowing.
pub fn within_limits(facts: &ModelFacts, ctx: &ContextParams) -> bool {
    const DIM: u64 = 1 << 22;
    let widest_layer = facts
        .layers
        .iter()
        .map(|l| {
            l.n_ff
                .max(l.n_embd_r)
                .max(l.n_embd_s)
                .max(u64::from(l.n_head) * u64::from(l.n_embd_head_k))
        })
        .max()
        .unwrap_or(0);
    ctx.n_ctx <= 1 << 26
        && ctx.n_ubatch <= 1 << 20
        && ctx.n_seq <= 1 << 12
        && facts.n_embd <= DIM
        && facts.n_vocab <= DIM
        && widest_layer <= DIM
        && facts.layers.iter().all(|l| l.n_head <= 1 << 12)
        && facts
            .experts
            .as_ref()
            .is_none_or(|e| e.count <= 1 << 14 && e.n_ff_exp <= DIM)
}

/// Replays the three reserves; returns the per-backend high-water marks (bytes), which graph
/// first reached the largest one on `focus`, and the pp graph's number of splits.
fn run(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    place: Placement,
    backends: &Backends,
    focus: usize,
) -> (Vec<u64>, &'static str, usize) {
    let n_backends = backends.devices.len() + 1;
    let (fam, _) = family::resolve(facts);
    if !within_limits(facts, ctx) {
        return (vec![u64::MAX; n_backends], "pp", 1);
    }
    let mut allocs = vec![DynAlloc::new(); n_backends];
    let cpu = n_backends - 1;
    let dev_index = |d: Option<usize>| d.filter(|&i| i < cpu).unwrap_or(cpu);
    let mut peak = "pp";
    let mut splits = 1;
    for (k, (shape, name)) in shapes(ctx).into_iter().enumerate() {
        let before = allocs.get(focus).map_or(0, |a| a.max);
        let g = build_graph(model, facts, ctx, fam, shape, place);
        let g = if n_backends > 1 {
            let (g, n) = sched::schedule(&g, backends);
            if k == 0 {
                splits = n;
            }
            g
        } else {
            g
        };
        replay(&g, &mut allocs, &dev_index);
        if allocs.get(focus).map_or(0, |a| a.max) > before {
            peak = name;
        }
        for a in &mut allocs {
            a.reset();
        }
    }
    (allocs.iter().map(|a| a.max).collect(), peak, splits)
}

fn build_graph(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    fam: family::Family,
    shape: Shape,
    place: Placement,
) -> alloc::Graph {
    let b = Builder {
        g: alloc::Graph::new(),
        model,
        facts,
        ctx,
        fam,
        shape,
        t: shape.n_tokens,
        dev: None,
        full: None,
        swa: None,
        s_copy: None,
        pos: alloc::EXTERNAL,
        place,
        il: None,
        implicit: Vec::new(),
    };
    b.build()
}

/// Every allocation of the three CPU reserves in order (`pp`, `tg`, `pp`), for comparing the
/// graph with ggml-alloc's placement of llama.cpp's own graph (`GGML_SCHED_DEBUG`, or a dump of
/// the graph `ggml_gallocr_reserve_n` receives). A debugging aid; estimates never call it.
#[doc(hidden)]
pub fn debug_trace(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
) -> Vec<(&'static str, Vec<alloc::Placed>)> {
    let (fam, _) = family::resolve(facts);
    if !within_limits(facts, ctx) {
        return Vec::new();
    }
    let place = Placement::CPU;
    shapes(ctx)
        .into_iter()
        .map(|(shape, name)| {
            let g = build_graph(model, facts, ctx, fam, shape, place);
            let mut allocs = [DynAlloc::new()];
            let mut trace = Vec::new();
            alloc::replay_traced(&g, &mut allocs, &|_| 0, Some(&mut trace));
            (name, trace)
        })
        .collect()
}

/// The CPU backend's compute buffer with all layers on the CPU (`-ngl 0`).
pub fn estimate(model: &Model, facts: &ModelFacts, ctx: &ContextParams) -> ComputeEstimate {
    let (fam, exact) = family::resolve(facts);
    let cpu_only = Backends {
        devices: Vec::new(),
        op_offload: false,
        n_copies: 1,
    };
    let (bytes, peak, _) = run(model, facts, ctx, Placement::CPU, &cpu_only, 0);
    ComputeEstimate {
        cpu_mib: bytes.first().copied().unwrap_or(0) as f64 / MIB,
        family: fam.name(),
        exact_family: exact,
        peak_graph: peak,
        notes: family_notes(facts),
    }
}

/// What the plan should say about how far the compute model can be trusted for this model.
pub fn family_notes(facts: &ModelFacts) -> Vec<String> {
    let (fam, exact) = family::resolve(facts);
    let mut notes = Vec::new();
    if !exact {
        notes.push(format!(
            "architecture `{}` has no graph model of its own; the `{}` family stands in, so the \
             compute buffer is an approximation",
            facts.arch,
            fam.name()
        ));
    } else if !fam.measured() {
        notes.push(format!(
            "the `{}` graph follows llama.cpp's source and matches llama.cpp on a small test \
             fixture only, not on a released model",
            fam.name()
        ));
    }
    notes
}

/// Compute buffers with layers split over GPUs: MiB per backend, GPUs `0..n_gpus` then the CPU.
/// `gpu_layers[il]` is the device of layer `il` (`None` = CPU); `output_device` runs the output
/// norm and logits. Every GPU is taken as CUDA with op offload off and weights without sizes;
/// [`scheduled`] takes the real weights, devices and pipeline setting.
pub fn estimate_split(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    gpu_layers: &[Option<usize>],
    output_device: Option<usize>,
    n_gpus: usize,
) -> Vec<f64> {
    split_bytes(model, facts, ctx, gpu_layers, output_device, n_gpus)
        .iter()
        .map(|&b| b as f64 / MIB)
        .collect()
}

/// [`estimate_split`] in bytes (GPUs in order, then the CPU).
pub fn split_bytes(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    gpu_layers: &[Option<usize>],
    output_device: Option<usize>,
    n_gpus: usize,
) -> Vec<u64> {
    let layers: Vec<Option<usize>> = gpu_layers
        .iter()
        .map(|d| d.filter(|&i| i < n_gpus))
        .collect();
    let place = Placement {
        layers: &layers,
        output: output_device.filter(|&i| i < n_gpus),
        kv: &[],
        weights: None,
    };
    let backends = Backends {
        devices: vec![DeviceKind::Cuda; n_gpus],
        op_offload: false,
        n_copies: 1,
    };
    scheduled(model, facts, ctx, place, &backends).bytes
}

/// The compute buffers of a multi-backend launch, as the scheduler allocates them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    /// Bytes per backend: the devices in order, then the CPU.
    pub bytes: Vec<u64>,
    /// Splits of the prompt-processing graph (llama.cpp logs `graph splits = N`).
    pub splits: usize,
}

/// Runs the three reserves through the scheduler ([`sched`]) and one allocator per backend.
pub fn scheduled(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    place: Placement,
    backends: &Backends,
) -> Scheduled {
    let cpu = backends.devices.len();
    let (bytes, _, splits) = run(model, facts, ctx, place, backends, cpu);
    Scheduled { bytes, splits }
}

/// The scheduler's cut of one graph of `n_tokens` tokens (one sequence) with `n_outputs` logit
/// rows and the full KV view: what crosses between backends each time such a batch is computed
/// (the network traffic of an RPC launch, crate::budget::traffic).
pub fn cut(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    place: Placement,
    backends: &Backends,
    n_tokens: u64,
    n_outputs: u64,
) -> sched::Cut {
    if !within_limits(facts, ctx) || backends.devices.is_empty() {
        return sched::Cut::default();
    }
    let (fam, _) = family::resolve(facts);
    let shape = Shape {
        n_tokens,
        n_seqs: 1,
        n_outputs,
    };
    let g = build_graph(model, facts, ctx, fam, shape, place);
    sched::schedule_cut(&g, backends).1
}
