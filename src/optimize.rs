//! `optimize`: the seed's "run optimization" recommendation (docs/optimize.md) — hardware, model,
//! recommended llama.cpp parameters and one sentence of rationale per decision — computed with
//! the real memory model instead of rules of thumb. It never launches anything.
//!
//! The search starts from one [`ResolvedProfile`] (the model with `[defaults]`, `-np 1` and,
//! with a GPU, `--fit off`) and varies its typed `RunOptions`; the recommendation is applied to
//! that same value (`Recommendation::launch`), so `run --model` launches what was planned.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::budget::{Plan, Program, check_block_sizes, plan_model};
use crate::config::GpuLayers;
use crate::gguf::{GgufError, LoadedModel, ModelCache};
use crate::hardware::Hardware;
use crate::profile::ResolvedProfile;
use crate::resolve::{FlashAttn, OptionError, Origin, RunOptions};

#[derive(Debug, thiserror::Error)]
pub enum OptimizeError {
    #[error("model file {0} not found")]
    MissingModel(PathBuf),
    #[error("{0}")]
    Model(Rc<GgufError>),
    /// A `[defaults]` value of the wrong type: the launch cannot be read.
    #[error("profilec.toml [defaults]: {0}")]
    Defaults(#[from] OptionError),
    #[error("the memory model could not plan {model}: {why}")]
    Plan { model: PathBuf, why: String },
    #[error(
        "nothing fits: {model} does not fit this machine even with a {ctx}-token context{}: {short}",
        if *gpu { " and the fewest layers on the GPUs" } else { "" }
    )]
    NothingFits {
        model: PathBuf,
        ctx: u64,
        gpu: bool,
        /// Each device over its budget, as "CPU needs 300 of 2 MiB".
        short: String,
    },
}

impl crate::error::Failure for OptimizeError {
    fn code(&self) -> &'static str {
        match self {
            OptimizeError::MissingModel(_) => "io::model-missing",
            OptimizeError::Model(e) => crate::error::Failure::code(e.as_ref()),
            OptimizeError::Defaults(e) => e.code(),
            OptimizeError::Plan { .. } => "optimize::cannot-plan",
            OptimizeError::NothingFits { .. } => "optimize::nothing-fits",
        }
    }

    fn help(&self) -> String {
        match self {
            OptimizeError::MissingModel(_) => "pass the path of a .gguf file with --model".into(),
            OptimizeError::Model(e) => crate::error::Failure::help(e.as_ref()),
            OptimizeError::Defaults(e) => {
                format!("{} (in [defaults] of profilec.toml)", e.help())
            }
            OptimizeError::Plan { .. } => {
                "try `profilec plan --model FILE` to see the details".into()
            }
            OptimizeError::NothingFits { .. } => "check the memory profilec.toml declares \
                 (`[cpu] ram_mib`, `os_reserve_mib`, each GPU's `total_mib`; `profilec hw` shows \
                 them), or pick a smaller quantisation of the model"
                .into(),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            OptimizeError::Model(e) => crate::error::Failure::exit_code(e.as_ref()),
            OptimizeError::Defaults(e) => e.exit_code(),
            OptimizeError::Plan { .. } | OptimizeError::NothingFits { .. } => {
                crate::error::exit::FAILED
            }
            OptimizeError::MissingModel(_) => crate::error::exit::USAGE,
        }
    }
}

/// The recommendation, serialised in the seed's field order.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub hardware: Value,
    pub model: Value,
    pub recommended_params: Map<String, Value>,
    pub rationale: Vec<String>,
    /// The launch the recommendation planned: `[defaults]`, the model, `-np 1`, `--fit off`
    /// with a GPU, and the recommended flags (origin `placement`).
    #[serde(skip)]
    pub launch: ResolvedProfile,
}

const GIB: f64 = 1024.0;
/// Free memory kept on each GPU, like llama.cpp's `--fit-target` default.
const GPU_MARGIN_MIB: f64 = 1024.0;
/// Contexts tried, largest first, capped at the trained context.
const CTX_LADDER: [u64; 8] = [32768, 16384, 8192, 4096, 2048, 1024, 512, 256];

fn gb(mib: f64) -> f64 {
    (mib / GIB * 100.0).round() / 100.0
}

/// Recommends parameters for `model_path` on `hw`.
pub fn optimize(model_path: &Path, hw: &Hardware) -> Result<Recommendation, OptimizeError> {
    if !model_path.is_file() {
        return Err(OptimizeError::MissingModel(model_path.to_path_buf()));
    }
    let machine = hw.machine();
    let gpu = !machine.is_cpu_only();
    // One slot (the recommendation is for one user); with a GPU the layer count is ours, so
    // fit must not place the layers again.
    let mut base_args = vec!["--parallel".to_string(), "1".into()];
    if gpu {
        base_args.extend(["--fit".into(), "off".into()]);
    }
    let mut launch = ResolvedProfile::of_model(
        model_path,
        hw,
        &base_args,
        Program::LlamaServer,
        &mut ModelCache::default(),
    )?;
    let loaded: Rc<LoadedModel> = match &launch.model {
        Some(Ok(m)) => Rc::clone(m),
        Some(Err(e)) => return Err(OptimizeError::Model(Rc::clone(e))),
        None => return Err(OptimizeError::MissingModel(model_path.to_path_buf())),
    };
    let facts = &loaded.facts;
    let mut cache_note = None;
    // A `[defaults]` cache type whose blocks do not divide this model's head size is refused by
    // llama.cpp (`budget::check_block_sizes`): plan and launch f16 caches instead, as `new` does.
    let o = &launch.options;
    if let Err(e) = check_block_sizes(
        facts,
        &o.cache_type_k,
        &o.cache_type_v,
        o.flash_attn != FlashAttn::Off,
    ) {
        let f16 = ["--cache-type-k", "f16", "--cache-type-v", "f16"].map(String::from);
        launch.apply(&f16, Origin::Placement)?;
        cache_note = Some(format!(
            "--cache-type-k f16 --cache-type-v f16: {e}, so [defaults]' cache type cannot run this model"
        ));
    }
    let cpu = &hw.cpu;
    let size_mib = loaded.model.file_bytes() as f64 / (1024.0 * 1024.0);
    let mut rationale = Vec::new();
    let mut params = Map::new();

    let threads = cpu
        .cores_physical
        .saturating_sub(1)
        .clamp(1, cpu.cores_logical.max(1));
    params.insert("--threads".into(), json!(threads));
    rationale.push(format!(
        "--threads {threads}: {} physical cores minus one for the OS and the server's HTTP thread (within 1..={} logical)",
        cpu.cores_physical, cpu.cores_logical
    ));

    let n_layers = u64::from(facts.n_layer) + 1;
    let (ctx, ngl, plan) = choose(&loaded, &launch, gpu, n_layers)?;
    let batch = batch_for(gpu, ngl, n_layers);
    params.insert("--n-gpu-layers".into(), json!(ngl));
    params.insert("--n-ctx".into(), json!(ctx));
    params.insert("--batch-size".into(), json!(batch));
    let words: Vec<String> = [
        ("--threads", u64::from(threads)),
        ("--ctx-size", ctx),
        ("--n-gpu-layers", ngl),
        ("--batch-size", batch),
    ]
    .into_iter()
    .flat_map(|(f, v)| [f.to_string(), v.to_string()])
    .collect();
    launch.apply(&words, Origin::Placement)?;
    let ram_mib = cpu.ram_mib as f64;
    let mlock = ram_mib > 1.5 * size_mib;
    params.insert("--mlock".into(), json!(mlock));

    if gpu {
        let used: Vec<String> = plan
            .gpus()
            .map(|d| format!("{} {:.0}/{:.0} MiB", d.name, d.total_mib, d.capacity_mib))
            .collect();
        rationale.push(if ngl == n_layers {
            format!(
                "--n-gpu-layers {ngl}: all {n_layers} layer units (with the output layer) fit the GPUs with {GPU_MARGIN_MIB:.0} MiB left on each ({})",
                used.join(", ")
            )
        } else {
            format!(
                "--n-gpu-layers {ngl}: the most of {n_layers} layer units that fit the GPUs with {GPU_MARGIN_MIB:.0} MiB left on each ({}); the rest run on the CPU",
                used.join(", ")
            )
        });
    } else {
        rationale.push("--n-gpu-layers 0: no GPU (no NVIDIA driver, or none declared), everything runs on the CPU".into());
    }
    let cpu_plan = plan.cpu();
    rationale.push(format!(
        "--n-ctx {ctx}: the largest of {} tokens and below (trained: {}) whose KV cache and buffers fit{}",
        CTX_LADDER[0],
        facts.n_ctx_train,
        cpu_plan.map_or(String::new(), |c| format!(
            " (CPU side {:.0} of {:.0} MiB)",
            c.total_mib, c.capacity_mib
        ))
    ));
    rationale.push(if batch == 512 {
        "--batch-size 512: the whole model is on the GPUs, which have headroom for a 512-token batch".into()
    } else {
        "--batch-size 256: layers run on the CPU, where a smaller batch keeps the compute buffer and prompt latency down".into()
    });
    rationale.push(format!(
        "--mlock {mlock}: RAM {:.1} GiB is {} 1.5 × the model's {:.1} GiB",
        ram_mib / GIB,
        if mlock { "above" } else { "not above" },
        size_mib / GIB
    ));
    rationale.push("--no-mmap not recommended: memory-mapping loads lazily and lets the OS share pages; nothing here needs a copy".into());
    rationale.extend(cache_note);

    let gpus: Vec<Value> = hw
        .gpus
        .iter()
        .map(|g| json!({"id": g.id, "name": g.name, "vram_gb": gb(g.total_mib as f64), "usable_gb": gb(g.total_mib.saturating_sub(g.reserved_mib) as f64)}))
        .collect();
    let hardware = json!({
        "cpu_cores_physical": cpu.cores_physical,
        "cpu_cores_logical": cpu.cores_logical,
        "cpu_arch": cpu.arch,
        "numa_nodes": cpu.numa_nodes,
        "ram_total_gb": gb(ram_mib),
        "gpu_type": if hw.gpus.is_empty() { "none" } else { "CUDA" },
        "gpu_vram_gb": gb(hw.gpus.iter().fold(0.0, |a, g| a + g.total_mib as f64)),
        "gpus": gpus,
    });
    let model_json = json!({
        "path": model_path.display().to_string(),
        "size_gb": gb(size_mib),
        "architecture": facts.arch,
        "layers": facts.n_layer,
        "params": facts.params.total,
        "params_active": facts.params.active,
        "context_train": facts.n_ctx_train,
    });
    Ok(Recommendation {
        hardware,
        model: model_json,
        recommended_params: params,
        rationale,
        launch,
    })
}

/// `--batch-size`: 512 with the whole model on the GPUs, else 256 (it also caps `-ub`, so the
/// candidates are planned with it).
fn batch_for(gpu: bool, ngl: u64, n_layers: u64) -> u64 {
    if gpu && ngl == n_layers { 512 } else { 256 }
}

/// Whether a device's plan fits, keeping [`GPU_MARGIN_MIB`] free on a GPU.
fn fits_device(d: &crate::budget::DevicePlan) -> bool {
    let margin = if d.device.is_cpu() {
        0.0
    } else {
        GPU_MARGIN_MIB
    };
    d.total_mib + margin <= d.capacity_mib
}

/// The largest context (then the most GPU layers) whose plan fits every device: candidates
/// are `base`'s typed options with the context, layers and batch the recommendation writes.
fn choose(
    loaded: &LoadedModel,
    base: &ResolvedProfile,
    gpu: bool,
    n_layers: u64,
) -> Result<(u64, u64, Plan), OptimizeError> {
    let (facts, path) = (&loaded.facts, &loaded.path);
    let try_plan = |ctx: u64, ngl: u64| -> Result<Plan, OptimizeError> {
        let mut opts: RunOptions = base.options.clone();
        opts.ctx_size = ctx;
        opts.gpu_layers = GpuLayers::Count(u32::try_from(ngl).unwrap_or(u32::MAX));
        opts.batch = batch_for(gpu, ngl, n_layers);
        plan_model(
            &loaded.model,
            facts,
            path.to_path_buf(),
            &opts,
            &base.machine,
            base.program,
        )
        .map_err(|e| OptimizeError::Plan {
            model: path.to_path_buf(),
            why: e.to_string(),
        })
    };
    let fits = |p: &Plan| p.devices.iter().all(fits_device);
    let ladder: Vec<u64> = CTX_LADDER
        .iter()
        .copied()
        .filter(|&c| c <= facts.n_ctx_train.max(256))
        .collect();
    let mut last = None;
    for &ctx in &ladder {
        if !gpu {
            let p = try_plan(ctx, 0)?;
            if fits(&p) {
                return Ok((ctx, 0, p));
            }
            last = Some((ctx, 0, p));
            continue;
        }
        // Most GPU layers that fit at this context: binary search, fewer layers never use more VRAM.
        let (mut lo, mut hi) = (0u64, n_layers);
        let mut best: Option<(u64, Plan)> = None;
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let p = try_plan(ctx, mid)?;
            if fits(&p) {
                best = Some((mid, p));
                lo = mid + 1;
            } else if mid == 0 {
                break;
            } else {
                hi = mid - 1;
            }
        }
        if let Some((ngl, p)) = best {
            return Ok((ctx, ngl, p));
        }
        last = Some((ctx, 0, try_plan(ctx, 0)?));
    }
    // Not even the smallest context fits: say so rather than recommend a plan that overruns.
    match last {
        Some((ctx, _, plan)) => Err(OptimizeError::NothingFits {
            model: path.to_path_buf(),
            ctx,
            gpu,
            short: plan
                .devices
                .iter()
                .filter(|d| !fits_device(d))
                .map(|d| {
                    format!(
                        "{} needs {:.0} of {:.0} MiB",
                        d.name, d.total_mib, d.capacity_mib
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
        None => Err(OptimizeError::Plan {
            model: path.to_path_buf(),
            why: "no context size was tried".into(),
        }),
    }
}
