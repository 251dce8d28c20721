//! The vLLM plan of one model on one machine: options with vLLM's defaults, the per-rank budget,
//! the KV layout, and the result in vLLM's own log lines.

use serde::Serialize;

use super::kv::{self, KvResult, LayerKind, LayerSpec, Layout};
use super::memory::{self, Budget, ProfileRun};
use super::options::{self, ServeOptions};
use crate::safetensors::HfModel;

/// The vLLM release whose source this arithmetic transcribes.
pub const VLLM_VERSION: &str = "0.11.0";

const GIB: f64 = 1073741824.0;

/// One GPU as vLLM sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gpu {
    pub name: String,
    /// Bytes CUDA reports as the device total.
    pub total: u64,
    /// Bytes free when vLLM starts (total minus what other programs hold).
    pub free: u64,
}

/// Why vLLM would refuse to start before allocating anything.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("no GPU: vLLM needs one CUDA device per tensor-parallel rank")]
    NoGpu,
    #[error("--tensor-parallel-size {tp} needs {tp} GPUs; the machine has {have}")]
    TooFewGpus { tp: u64, have: usize },
    #[error(
        "Total number of attention heads ({heads}) must be divisible by tensor parallel size ({tp})"
    )]
    HeadsNotDivisible { heads: u64, tp: u64 },
    #[error(
        "User-specified max_model_len ({asked}) is greater than the derived max_model_len ({key}={derived} in model's config.json)"
    )]
    MaxLenTooLong {
        asked: u64,
        key: String,
        derived: u64,
    },
    #[error(
        "Free memory on device ({free:.2}/{total:.2} GiB) on startup is less than desired GPU memory utilization ({util}, {requested:.2} GiB)"
    )]
    FreeTooLow {
        free: f64,
        total: f64,
        util: f64,
        requested: f64,
    },
    #[error("{0}")]
    Option(#[from] options::OptionError),
}

impl crate::error::Failure for PlanError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoGpu => "vllm::no-gpu",
            Self::TooFewGpus { .. } => "vllm::too-few-gpus",
            Self::HeadsNotDivisible { .. } => "vllm::heads-not-divisible",
            Self::MaxLenTooLong { .. } => "vllm::max-len-too-long",
            Self::FreeTooLow { .. } => "vllm::free-too-low",
            Self::Option(_) => "vllm::invalid-argument",
        }
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }

    fn help(&self) -> String {
        match self {
            Self::NoGpu => {
                "declare the GPUs in profilec.toml ([[gpu]]) or run on the GPU machine".into()
            }
            Self::TooFewGpus { .. } => {
                "lower --tensor-parallel-size, or add the GPUs to profilec.toml".into()
            }
            Self::HeadsNotDivisible { .. } => {
                "pick a tensor-parallel size that divides the head count".into()
            }
            Self::MaxLenTooLong { derived, .. } => format!(
                "set CTX_SIZE / --max-model-len to at most {derived} (vLLM only allows more with VLLM_ALLOW_LONG_MAX_MODEL_LEN=1, at the cost of wrong output)"
            ),
            Self::FreeTooLow { free, total, .. } => format!(
                "lower --gpu-memory-utilization to at most {:.2}, or free the memory other programs hold on that GPU",
                (free / total * 100.0).floor() / 100.0
            ),
            Self::Option(_) => "fix the vLLM argument".into(),
        }
    }
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VllmPlan {
    pub vllm_version: &'static str,
    pub tensor_parallel: u64,
    /// The GPU every rank is planned for (the smallest, as vLLM's min over ranks does).
    pub gpu: Gpu,
    pub model_dtype: String,
    pub kv_cache_dtype: String,
    pub kv_dtype_bytes: u64,
    pub block_size: u64,
    pub max_model_len: u64,
    pub max_num_batched_tokens: u64,
    pub max_num_seqs: u64,
    pub kv_heads_per_rank: u64,
    pub budget: Budget,
    pub layers_full: u64,
    pub layers_sliding: u64,
    pub layers_mla: u64,
    pub layout: Option<Layout>,
    /// Bytes one request of max_model_len needs over all layers (`check_enough_kv_cache_memory`).
    pub needed: u64,
    pub result: Option<KvResult>,
    /// Set when one request does not fit: vLLM's "estimated maximum model length".
    pub estimated_max_model_len: Option<u64>,
    pub warnings: Vec<String>,
}

/// Plans `model` on `gpus` with `vllm serve` arguments `args`. `available` replaces the
/// predicted KV memory (e.g. the "Available KV cache memory" of a real log).
pub fn plan(
    model: &HfModel,
    args: &[String],
    gpus: &[Gpu],
    available: Option<u64>,
) -> Result<VllmPlan, PlanError> {
    let o = ServeOptions::from_args(args)?;
    let c = &model.config;
    let tp = o.tensor_parallel_size.unwrap_or(1);
    if gpus.is_empty() {
        return Err(PlanError::NoGpu);
    }
    if gpus.len() < tp as usize {
        return Err(PlanError::TooFewGpus {
            tp,
            have: gpus.len(),
        });
    }
    if !c.n_heads.is_multiple_of(tp) {
        return Err(PlanError::HeadsNotDivisible {
            heads: c.n_heads,
            tp,
        });
    }
    let mut warnings: Vec<String> = super::flags::unknown(args)
        .into_iter()
        .map(|(flag, near)| {
            format!(
                "`{flag}` is not a `vllm serve` flag in vLLM {VLLM_VERSION}: it would stop with \"unrecognized arguments\"{}",
                near.map_or(String::new(), |n| format!("; did you mean `{n}`?"))
            )
        })
        .collect();
    let ranks = &gpus[..tp as usize];
    let gpu = ranks
        .iter()
        .min_by_key(|g| g.total)
        .cloned()
        .ok_or(PlanError::NoGpu)?;
    if ranks
        .iter()
        .any(|g| g.total != gpu.total || g.name != gpu.name)
    {
        warnings.push(format!(
            "tensor parallel over different GPUs ({}): every rank gets the KV blocks of the smallest ({}, {:.2} GiB), the larger cards' extra memory stays unused",
            ranks.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", "),
            gpu.name,
            gpu.total as f64 / GIB
        ));
    }
    let derived = c.max_len.derived;
    let max_model_len = match o.max_model_len {
        Some(asked) if asked > derived => {
            return Err(PlanError::MaxLenTooLong {
                asked,
                key: c.max_len.key.clone(),
                derived,
            });
        }
        Some(v) => v,
        None => derived,
    };
    // arg_utils `_set_default_args` for the OpenAI server: big GPUs (≥ 70 GiB, not A100) get more.
    let big = gpu.total as f64 >= 70.0 * GIB && !gpu.name.to_lowercase().contains("a100");
    let max_num_batched_tokens = o
        .max_num_batched_tokens
        .unwrap_or(if big { 8192 } else { 2048 });
    let max_num_seqs = o.max_num_seqs.unwrap_or(if big { 1024 } else { 256 });
    let model_dtype = resolve_dtype(o.dtype.as_deref(), c.torch_dtype.as_deref());
    let act_bytes = if model_dtype == "float32" { 4 } else { 2 };
    let kv_cache_dtype = o.kv_cache_dtype.clone().unwrap_or_else(|| "auto".into());
    let kv_dtype_bytes = match kv_cache_dtype.as_str() {
        "auto" => act_bytes,
        s if s.starts_with("fp8") => 1,
        "float32" => 4,
        _ => 2,
    };
    let block_size = o.block_size.unwrap_or(if c.mla.is_some() {
        options::MLA_BLOCK_SIZE
    } else {
        options::DEFAULT_BLOCK_SIZE
    });
    let kv_heads_per_rank = if c.mla.is_some() {
        1
    } else {
        (c.n_kv_heads / tp).max(1)
    };
    let specs: Vec<LayerSpec> = (0..c.n_layers as usize)
        .map(|i| LayerSpec {
            kind: match (&c.mla, c.sliding_layers.get(i), c.sliding_window) {
                (Some(_), _, _) => LayerKind::Mla,
                (None, Some(true), Some(w)) => LayerKind::Sliding(w),
                _ => LayerKind::Full,
            },
            block_size,
            num_kv_heads: kv_heads_per_rank,
            head_size: c.head_size,
            dtype_bytes: kv_dtype_bytes,
        })
        .collect();
    let count = |f: fn(&LayerKind) -> bool| specs.iter().filter(|s| f(&s.kind)).count() as u64;
    let run = ProfileRun {
        tokens: max_num_batched_tokens,
        seqs: max_num_seqs.min(max_num_batched_tokens),
        tensor_parallel: tp,
        act_bytes,
    };
    let non_torch = if tp > 1 {
        memory::NON_TORCH_TP
    } else {
        memory::NON_TORCH_SINGLE
    };
    let util = o
        .gpu_memory_utilization
        .unwrap_or(options::DEFAULT_GPU_MEMORY_UTILIZATION);
    let mut budget = Budget::predict(model, gpu.total, util, run, non_torch);
    // gpu_worker.py init_device: every rank needs total × utilization free at startup.
    if let Some(g) = ranks
        .iter()
        .find(|g| (g.free as f64) < budget.requested as f64)
    {
        return Err(PlanError::FreeTooLow {
            free: g.free as f64 / GIB,
            total: g.total as f64 / GIB,
            util,
            requested: budget.requested as f64 / GIB,
        });
    }
    if let Some(a) = available.or(o.kv_cache_memory_bytes) {
        budget.available = a as i64;
        budget.available_given = true;
    }
    let layout = kv::layout(&specs, o.disable_hybrid_kv_cache_manager);
    if let Some(l) = &layout
        && l.padding_layers > 0
    {
        warnings.push(format!(
            "vLLM adds {} padding layers to group the KV cache (hybrid attention), wasting part of it",
            l.padding_layers
        ));
    }
    let needed = kv::needed_bytes(&specs, max_model_len, max_num_batched_tokens);
    let avail = budget.available.max(0) as u64;
    let (result, estimated) = if budget.available <= 0 {
        (None, None)
    } else if needed > avail {
        let est = kv::estimate_max_model_len(&specs, max_model_len, max_num_batched_tokens, avail);
        (None, Some(est))
    } else {
        let r = layout.as_ref().map(|l| {
            l.result(
                avail,
                max_model_len,
                max_num_batched_tokens,
                o.num_gpu_blocks_override,
            )
        });
        (r, None)
    };
    Ok(VllmPlan {
        vllm_version: VLLM_VERSION,
        tensor_parallel: tp,
        gpu,
        model_dtype,
        kv_cache_dtype,
        kv_dtype_bytes,
        block_size,
        max_model_len,
        max_num_batched_tokens,
        max_num_seqs,
        kv_heads_per_rank,
        budget,
        layers_full: count(|k| *k == LayerKind::Full),
        layers_sliding: count(|k| matches!(k, LayerKind::Sliding(_))),
        layers_mla: count(|k| *k == LayerKind::Mla),
        layout,
        needed,
        result,
        estimated_max_model_len: estimated,
        warnings,
    })
}

/// `--dtype` (default auto) → the dtype vLLM runs: auto takes config.json's, float32 checkpoints
/// run in bfloat16 (`_resolve_auto_dtype` on a GPU that supports it).
fn resolve_dtype(flag: Option<&str>, config: Option<&str>) -> String {
    let d = match flag {
        None | Some("auto") => config.unwrap_or("bfloat16"),
        Some(x) => x,
    };
    match d {
        "float32" | "float" if flag.is_none_or(|f| f == "auto") => "bfloat16".into(),
        "half" | "float16" => "float16".into(),
        "float" | "float32" => "float32".into(),
        _ => "bfloat16".into(),
    }
}

impl VllmPlan {
    /// The plan in vLLM's own log lines (vllm/v1/core/kv_cache_utils.py,
    /// vllm/v1/worker/gpu_worker.py).
    pub fn vllm_lines(&self) -> Vec<String> {
        let mut v = vec![
            format!(
                "Model loading took {:.4} GiB",
                self.budget.weights as f64 / GIB
            ),
            self.budget.available_line(),
        ];
        if self.budget.available <= 0 {
            v.push("ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.".into());
            return v;
        }
        if let Some(est) = self.estimated_max_model_len {
            let estimated = if est > 0 {
                format!(
                    "Based on the available memory, the estimated maximum model length is {est}."
                )
            } else {
                String::new()
            };
            v.push(format!(
                "ValueError: To serve at least one request with the models's max seq len ({}), ({:.2} GiB KV cache is needed, which is larger than the available KV cache memory ({:.2} GiB). {estimated} Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
                self.max_model_len,
                self.needed as f64 / GIB,
                self.budget.available as f64 / GIB
            ));
            return v;
        }
        if let Some(r) = &self.result {
            v.push(format!("GPU KV cache size: {} tokens", thousands(r.tokens)));
            v.push(format!(
                "Maximum concurrency for {} tokens per request: {:.2}x",
                thousands(self.max_model_len),
                r.max_concurrency
            ));
        }
        v
    }
}

/// Python's `f"{n:,}"`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
