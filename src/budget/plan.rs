//! The plan: every component per device, against each device's capacity.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::context::{ContextParams, Program};
use super::kv::{self, KvCacheEstimate, KvError, RecurrentEstimate};
use super::placement::{DeviceRef, LayerPlacement, PlacementError};
use super::sched_view::SchedView;
use super::traffic::NetworkTraffic;
use super::weights::{self, WeightsError, WeightsEstimate};
use crate::config::GpuLayers;
use crate::gguf::{GgufError, Model, ModelFacts};
use crate::hardware::Machine;
use crate::resolve::{FlashAttn, RunOptions};

/// MiB rounded to two decimals exactly as llama.cpp's `%.2f` prints them: glibc rounds the exact
/// binary value, so a tie (2.625 MiB, common for power-of-two sizes) goes to the even digit.
pub fn mib(bytes: u64) -> f64 {
    let scaled = u128::from(bytes) * 100;
    let unit = 1u128 << 20;
    let (q, r) = (scaled / unit, scaled % unit);
    let q = match (2 * r).cmp(&unit) {
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal if q % 2 == 1 => q + 1,
        _ => q,
    };
    q as f64 / 100.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A context setting beyond what llama.cpp accepts or profilec can model: a plan of it
    /// would only show saturated numbers.
    #[error("{flag} {value} is beyond {limit_what} ({limit}); {help}")]
    OutOfRange {
        flag: &'static str,
        value: u64,
        limit: u64,
        limit_what: &'static str,
        help: &'static str,
    },
}

impl crate::error::Failure for PlanError {
    fn code(&self) -> &'static str {
        match self {
            PlanError::Gguf(e) => crate::error::Failure::code(e),
            PlanError::Placement(_) => "budget::bad-placement",
            PlanError::Weights(_) => "budget::bad-weights",
            PlanError::Kv(_) => "budget::bad-kv",
            PlanError::OutOfRange { .. } => "budget::out-of-range",
        }
    }

    fn help(&self) -> String {
        match self {
            PlanError::Gguf(e) => crate::error::Failure::help(e),
            PlanError::OutOfRange { help, .. } => (*help).into(),
            _ => "fix the options the message names (`profilec check` shows where they are set)"
                .into(),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            PlanError::Gguf(e) => crate::error::Failure::exit_code(e),
            _ => crate::error::exit::FAILED,
        }
    }
}

/// llama.cpp's `LLAMA_MAX_SEQ` (src/llama-cparams.h): `llama_context` refuses more sequences.
pub const MAX_SEQ: u64 = 256;

/// `n_seq` sequences (`--parallel`) within llama.cpp's limit; `check` asks this without a machine.
pub fn within_max_seq(n_seq: u64) -> Result<(), PlanError> {
    if n_seq > MAX_SEQ {
        return Err(PlanError::OutOfRange {
            flag: "--parallel",
            value: n_seq,
            limit: MAX_SEQ,
            limit_what: "the sequences llama.cpp accepts (LLAMA_MAX_SEQ, src/llama-cparams.h)",
            help: "llama-server refuses to start with more than 256 slots: use --parallel 256 or fewer",
        });
    }
    Ok(())
}

/// The context sizes the memory model replays: sequences within llama.cpp's limit, and a
/// context and micro-batch within [`super::compute::within_limits`].
fn check_ranges(facts: &ModelFacts, ctx: &ContextParams) -> Result<(), PlanError> {
    within_max_seq(ctx.n_seq)?;
    if !super::compute::within_limits(facts, ctx) {
        let (flag, value, limit) = if ctx.n_ubatch > 1 << 20 {
            ("--ubatch-size", ctx.n_ubatch, 1 << 20)
        } else {
            ("--ctx-size", ctx.n_ctx, 1 << 26)
        };
        return Err(PlanError::OutOfRange {
            flag,
            value,
            limit,
            limit_what: "what profilec can model",
            help: "the buffers of such a context need terabytes on any machine; plan a smaller \
                   --ctx-size (and --ubatch-size)",
        });
    }
    Ok(())
}

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevicePlan {
    /// `CPU`, `CUDA0`, `RPC0`, … (the machine's name for [`Self::device`]).
    pub name: String,
    /// The device this row plans, for comparisons (the name is for printing).
    #[serde(skip)]
    pub device: DeviceRef,
    /// Weight buffers other than `CPU_REPACK` (`CPU_Mapped`/`CPU`/`CUDA_Host` on the host).
    pub weights_mib: f64,
    pub weights_repack_mib: f64,
    pub kv_mib: f64,
    pub recurrent_mib: f64,
    pub compute_mib: f64,
    pub output_mib: f64,
    /// CUDA context per active GPU; 0 on the host (the OS reserve is already out of capacity).
    pub overhead_mib: f64,
    pub total_mib: f64,
    /// What llama.cpp may use here: total minus `reserved_mib` (GPU) or `os_reserve_mib` (CPU).
    pub capacity_mib: f64,
    /// Weight buffers as llama.cpp's load log names them.
    pub buffers: Vec<NamedMib>,
    /// Which rule produced each component.
    pub rules: Vec<ComponentRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedMib {
    pub name: String,
    pub mib: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentRule {
    pub component: &'static str,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KvCachePlan {
    pub kind: kv::CacheKind,
    pub cells: u64,
    pub layers: u32,
    pub streams: u64,
    pub k_mib: f64,
    pub v_mib: f64,
    pub size_mib: f64,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurrentPlan {
    pub layers: u32,
    pub cells: u64,
    pub r_mib: f64,
    pub s_mib: f64,
    pub size_mib: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub model: String,
    pub n_ctx: u64,
    pub devices: Vec<DevicePlan>,
    pub fits: bool,
    pub notes: Vec<String>,
    pub program: Program,
    pub context: ContextParams,
    pub placement: LayerPlacement,
    pub kv_caches: Vec<KvCachePlan>,
    pub recurrent: Option<RecurrentPlan>,
    /// Splits of the prompt-processing graph, as llama.cpp logs them (`graph splits = N (with
    /// bs=n_ubatch)`): one per run of nodes on one backend (docs/memory-model.md §8).
    pub graph_splits: usize,
    /// What crosses the network per generated token and per prompt ubatch when layers sit on
    /// RPC servers (docs/distributed.md "Network traffic"); absent without `--rpc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkTraffic>,
    /// The llama.cpp build whose memory rules the plan follows (`Machine::llama_cpp_build`);
    /// absent for b11434's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llama_cpp_build: Option<u32>,
}

impl Plan {
    pub fn device(&self, name: &str) -> Option<&DevicePlan> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// The row of `device`.
    pub fn at(&self, device: DeviceRef) -> Option<&DevicePlan> {
        self.devices.iter().find(|d| d.device == device)
    }

    /// The host row.
    pub fn cpu(&self) -> Option<&DevicePlan> {
        self.at(DeviceRef::Cpu)
    }

    /// The GPU rows (CUDA and RPC), in device order.
    pub fn gpus(&self) -> impl Iterator<Item = &DevicePlan> {
        self.devices.iter().filter(|d| d.device.is_gpu())
    }
}

/// Plans `model_path` launched with `opts` by `program` on `machine`.
pub fn plan(
    model_path: &Path,
    opts: &RunOptions,
    machine: &Machine,
    program: Program,
) -> Result<Plan, PlanError> {
    let model = Model::open(model_path)?;
    let facts = ModelFacts::from_model(&model)?;
    plan_model(
        &model,
        &facts,
        model_path.to_path_buf(),
        opts,
        machine,
        program,
    )
}

/// [`plan`] for a model already opened.
pub fn plan_model(
    model: &Model,
    facts: &ModelFacts,
    model_path: PathBuf,
    opts: &RunOptions,
    machine: &Machine,
    program: Program,
) -> Result<Plan, PlanError> {
    let ctx = ContextParams::new(opts, facts, program).on_build(machine.llama_cpp_build);
    check_ranges(facts, &ctx)?;
    let placement = LayerPlacement::new(facts, opts, machine)?;
    let w = weights::estimate(model, opts, &placement, machine)?;
    let caches = kv::kv_caches(facts, &ctx, &placement)?;
    let rs = kv::recurrent(facts, &ctx, &placement);
    let output = kv::output_bytes(facts, &ctx);
    let view = SchedView::new(facts, &placement, &w, opts, machine);
    let (compute, graph_splits) = compute_per_device(model, facts, &ctx, &view, machine.gpus.len());
    let network = super::traffic::network(model, facts, &ctx, &view, &placement, machine);
    let mut notes = notes(opts, machine, &ctx, &placement);
    notes.extend(super::compute::family_notes(facts));

    let mut devices = Vec::new();
    let mut refs: Vec<DeviceRef> = (0..machine.gpus.len()).map(DeviceRef::Gpu).collect();
    refs.push(DeviceRef::Cpu);
    for dev in refs {
        let info = match dev {
            DeviceRef::Gpu(i) => machine.gpus.get(i),
            DeviceRef::Cpu => Some(&machine.cpu),
        };
        let Some(info) = info else {
            continue;
        };
        let on = |per: &[(DeviceRef, u64)]| -> u64 {
            per.iter()
                .filter(|(d, _)| *d == dev)
                .fold(0u64, |a, (_, b)| a.saturating_add(*b))
        };
        let kv_b = caches
            .iter()
            .fold(0u64, |a, c| a.saturating_add(on(&c.per_device)));
        let rs_b = rs.as_ref().map_or(0, |r| on(&r.per_device));
        let comp_b = on(&compute);
        let out_b = if dev == DeviceRef::Cpu { output } else { 0 };
        let plain = w.plain_bytes(dev);
        let repack = w.repack_bytes(dev);
        let active = dev.is_gpu() && (plain > 0 || repack > 0 || kv_b > 0 || rs_b > 0);
        // An RPC server's own process holds its context, not this device's memory budget.
        let overhead = if active && !info.is_rpc() {
            machine.cuda_overhead_mib
        } else {
            0
        };
        let components = [
            mib(plain),
            mib(repack),
            mib(kv_b),
            mib(rs_b),
            mib(comp_b),
            mib(out_b),
        ];
        let total = round2(components.iter().sum::<f64>() + overhead as f64);
        devices.push(DevicePlan {
            name: info.id.clone(),
            device: dev,
            weights_mib: components[0],
            weights_repack_mib: components[1],
            kv_mib: components[2],
            recurrent_mib: components[3],
            compute_mib: components[4],
            output_mib: components[5],
            overhead_mib: overhead as f64,
            total_mib: total,
            capacity_mib: info.capacity_mib as f64,
            buffers: w
                .buffers
                .iter()
                .filter(|b| b.device == dev)
                .map(|b| NamedMib {
                    name: b.name.clone(),
                    mib: mib(b.bytes),
                })
                .collect(),
            rules: rules(dev, &w, &caches, rs.as_ref(), overhead > 0, machine),
        });
    }
    let fits = devices.iter().all(|d| d.total_mib <= d.capacity_mib);
    if !fits {
        notes.push("does not fit: see the devices whose total exceeds capacity".into());
    }
    Ok(Plan {
        model: model_path.display().to_string(),
        n_ctx: ctx.n_ctx,
        devices,
        fits,
        notes,
        program,
        kv_caches: caches.iter().map(kv_plan).collect(),
        recurrent: rs.as_ref().map(|r| RecurrentPlan {
            layers: r.layers,
            cells: r.cells,
            r_mib: mib(r.r_bytes),
            s_mib: mib(r.s_bytes),
            size_mib: mib(r.r_bytes.saturating_add(r.s_bytes)),
        }),
        context: ctx,
        placement,
        graph_splits,
        network,
        llama_cpp_build: machine.llama_cpp_build,
    })
}

fn kv_plan(c: &KvCacheEstimate) -> KvCachePlan {
    KvCachePlan {
        kind: c.kind,
        cells: c.cells,
        layers: c.layers,
        streams: c.streams,
        k_mib: mib(c.k_bytes),
        v_mib: mib(c.v_bytes),
        size_mib: mib(c.bytes()),
        rule: c.rule.clone(),
    }
}

fn rules(
    dev: DeviceRef,
    w: &WeightsEstimate,
    caches: &[KvCacheEstimate],
    rs: Option<&RecurrentEstimate>,
    active: bool,
    machine: &Machine,
) -> Vec<ComponentRule> {
    let mut out = Vec::new();
    let mut push = |component: &'static str, rule: String| {
        out.push(ComponentRule { component, rule });
    };
    let n_tensors = w.tensors.iter().filter(|t| t.device == dev).count();
    let n_over = w
        .tensors
        .iter()
        .filter(|t| t.device == dev && matches!(t.rule, weights::WeightRule::Override(_)))
        .count();
    if n_tensors > 0 {
        let how = if dev.is_gpu() {
            "Σ tensor bytes (quantized rows padded to 512, 128-byte aligned)"
        } else {
            "CPU_Mapped = file range of the mapped tensors per shard; CPU_REPACK = Σ bytes of Q4_0/Q4_K/IQ4_NL/MXFP4 matrices with rows % 8 == 0 (AVX2)"
        };
        push(
            "weights",
            format!("{n_tensors} tensors ({n_over} by -ot/-cmoe/-ncmoe): {how}"),
        );
    }
    for c in caches {
        if c.per_device.iter().any(|(d, _)| *d == dev) {
            push("kv", format!("{:?} cache: {}", c.kind, c.rule));
        }
    }
    if rs.is_some_and(|r| r.per_device.iter().any(|(d, _)| *d == dev)) {
        push(
            "recurrent",
            "4·(n_embd_r + n_embd_s)·max(1, n_seq) bytes per recurrent layer".into(),
        );
    }
    push(
        "compute",
        "ggml-alloc replay of the pp, tg and pp graphs of this architecture (budget::compute)"
            .into(),
    );
    if dev == DeviceRef::Cpu {
        push("output", "4·n_vocab·n_seq bytes of logits (host)".into());
    }
    if active {
        push(
            "overhead",
            format!(
                "CUDA context + cuBLAS: [runtime] cuda_overhead_mib = {}",
                machine.cuda_overhead_mib
            ),
        );
    }
    out
}

/// Compute buffer per backend from the scheduler and the graph replay (`budget::compute`):
/// the machine's devices in order, then the host; and the pp graph's number of splits.
fn compute_per_device(
    model: &Model,
    facts: &ModelFacts,
    ctx: &ContextParams,
    view: &SchedView,
    n_gpus: usize,
) -> (Vec<(DeviceRef, u64)>, usize) {
    let sched = super::compute::scheduled(model, facts, ctx, view.place(), &view.backends);
    let per_device = sched
        .bytes
        .into_iter()
        .enumerate()
        .filter(|(_, b)| *b > 0)
        .map(|(i, b)| {
            (
                if i < n_gpus {
                    DeviceRef::Gpu(i)
                } else {
                    DeviceRef::Cpu
                },
                b,
            )
        })
        .collect();
    (per_device, sched.splits)
}

fn notes(
    opts: &RunOptions,
    machine: &Machine,
    ctx: &ContextParams,
    placement: &LayerPlacement,
) -> Vec<String> {
    let mut n = vec![
        "compute: ggml-alloc replay of the model graph; measured 0 to -5.8 % of llama.cpp b11434 on the CPU backend (docs/accuracy.md)".to_string(),
    ];
    if machine.is_cpu_only() {
        n.push(
            "CPU_REPACK assumes an x86_64 CPU with AVX2 and without AVX512 (Q2_K not repacked)"
                .into(),
        );
    } else {
        n.extend(
            [
                "weights and KV per device: exact to 0.01 MiB on llama.cpp's RPC backend (2-3 devices, tests/compute_rpc.rs, tests/rpc_e2e.rs) and on the public CUDA startup logs (tests/gpu_logs.rs)",
                "compute per device and host compute follow ggml-backend's scheduler (splits, input copies, one allocator per backend): within 0.7 % on the RPC runs; on 12 public CUDA logs of b5192-b8571 (1 to 4 GPUs), 10 to 0.02 MiB, case 1 +2 MiB, the GLM stand-ins within max(10 %, 64 MiB) (docs/accuracy.md)",
                "op offload of host-weight ops to the first CUDA device: calibrated on the public CUDA logs with experts on the host (cases 4-7, 9, 11); RPC devices never take ops",
                "pipeline parallelism (4 copies of every split input with every layer and the output offloaded, -sm layer, no -ot): measured on RPC; on CUDA it follows llama.cpp's source (no public log of such a launch)",
                "not modelled: CUDA's F16 copies of quantized K/V for flash attention (CUDA pool memory outside the printed buffers)",
            ]
            .map(String::from),
        );
        if machine.has_cuda() {
            n.push(
                "with a CUDA device llama.cpp prefers CUDA_Host for host weights: nothing is repacked"
                    .into(),
            );
        } else {
            n.push("RPC devices add no host buffer type: host weights repack (CPU_REPACK) as on a CPU-only machine".into());
        }
        if opts.gpu_layers == GpuLayers::Auto {
            let fit = if opts.fit {
                "; --fit may offload fewer layers or shrink the context (not modelled here)"
            } else {
                ""
            };
            n.push(format!(
                "-ngl auto: all {} layers offloaded, as llama.cpp does without fit{fit}",
                placement.n_gpu_layers
            ));
        }
    }
    // On every machine: the rules of docs/memory-model.md §8.1 apply to the CPU backend too.
    if let Some(b) = machine.llama_cpp_build {
        let from = match &machine.llama_cpp_build_from {
            Some(from) => from.clone(),
            None => "[runtime] llama_cpp_build".to_string(),
        };
        n.push(format!(
            "planned for llama.cpp b{b} ({from}): the memory rules that changed since follow that build (docs/memory-model.md §8.1)"
        ));
    }
    if opts.flash_attn == FlashAttn::Auto {
        n.push("flash attention auto resolves to on (CPU and CUDA support it)".into());
    }
    if ctx.program == Program::LlamaCompletion && ctx.n_outputs_max > ctx.n_seq {
        n.push(format!(
            "the output buffer grows at run time up to {} logit rows when a batch asks for all logits",
            ctx.n_outputs_max
        ));
    }
    n.push("CPU capacity is RAM minus os_reserve_mib; the OS reserve is not counted again".into());
    n
}
