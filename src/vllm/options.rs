//! The `vllm serve` options the memory arithmetic reads, with vLLM v0.11.0's defaults
//! (vllm/config/cache.py, vllm/engine/arg_utils.py `_set_default_args`, vllm/platforms/cuda.py).

use serde::Serialize;

/// vLLM's default `gpu_memory_utilization` (CacheConfig).
pub const DEFAULT_GPU_MEMORY_UTILIZATION: f64 = 0.9;
/// CUDA's default block size (CudaPlatform.check_and_update_config), and FlashMLA's for MLA on
/// Hopper (Blackwell's CUTLASS MLA forces 128; this plan assumes Hopper-class MLA).
pub const DEFAULT_BLOCK_SIZE: u64 = 16;
pub const MLA_BLOCK_SIZE: u64 = 64;

/// Flags known to take exactly one value (the ones read here, and the address): the words after
/// it belong to no flag. Other flags take every word up to the next flag (the flag table has no
/// arity column, and some of vLLM's flags are lists).
pub const SINGLE_VALUE: &[&str] = &[
    "--max-model-len",
    "--gpu-memory-utilization",
    "--tensor-parallel-size",
    "--block-size",
    "--kv-cache-dtype",
    "--dtype",
    "--max-num-batched-tokens",
    "--max-num-seqs",
    "--num-gpu-blocks-override",
    "--kv-cache-memory-bytes",
    "--host",
    "--port",
];

/// Typed `vllm serve` settings (what the argv says, defaults filled in later per GPU).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServeOptions {
    pub max_model_len: Option<u64>,
    pub gpu_memory_utilization: Option<f64>,
    pub tensor_parallel_size: Option<u64>,
    pub block_size: Option<u64>,
    pub kv_cache_dtype: Option<String>,
    pub dtype: Option<String>,
    pub max_num_batched_tokens: Option<u64>,
    pub max_num_seqs: Option<u64>,
    pub num_gpu_blocks_override: Option<u64>,
    pub kv_cache_memory_bytes: Option<u64>,
    pub disable_hybrid_kv_cache_manager: bool,
}

/// A `vllm serve` argument the plan could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{flag}`: {reason}")]
pub struct OptionError {
    pub flag: String,
    pub reason: String,
}

impl ServeOptions {
    /// Reads the memory-relevant flags from `vllm serve` arguments (`--flag value` or
    /// `--flag=value`, dashes or underscores); other flags are left to the flag table.
    pub fn from_args(args: &[String]) -> Result<Self, OptionError> {
        let mut o = Self::default();
        let mut i = 0;
        while i < args.len() {
            let raw = &args[i];
            i += 1;
            let (flag, inline) = match raw.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f.replace('_', "-"), Some(v.to_owned())),
                _ => (raw.replace('_', "-"), None),
            };
            let mut value = || -> Result<String, OptionError> {
                if let Some(v) = &inline {
                    return Ok(v.clone());
                }
                let v = args.get(i).cloned().ok_or_else(|| OptionError {
                    flag: flag.clone(),
                    reason: "needs a value".into(),
                })?;
                i += 1;
                Ok(v)
            };
            let num = |v: String, flag: &str| -> Result<u64, OptionError> {
                parse_size(&v).ok_or_else(|| OptionError {
                    flag: flag.to_owned(),
                    reason: format!("`{v}` is not a whole number"),
                })
            };
            match flag.as_str() {
                "--max-model-len" => o.max_model_len = Some(num(value()?, &flag)?),
                "--gpu-memory-utilization" => {
                    let v = value()?;
                    let f: f64 = v
                        .parse()
                        .ok()
                        .filter(|f| *f > 0.0 && *f <= 1.0)
                        .ok_or_else(|| OptionError {
                            flag: flag.clone(),
                            reason: format!("`{v}` is not a fraction in (0, 1]"),
                        })?;
                    o.gpu_memory_utilization = Some(f);
                }
                "--tensor-parallel-size" | "-tp" => {
                    o.tensor_parallel_size = Some(num(value()?, &flag)?.max(1))
                }
                "--block-size" => o.block_size = Some(num(value()?, &flag)?.max(1)),
                "--kv-cache-dtype" => o.kv_cache_dtype = Some(value()?),
                "--dtype" => o.dtype = Some(value()?),
                "--max-num-batched-tokens" => {
                    o.max_num_batched_tokens = Some(num(value()?, &flag)?)
                }
                "--max-num-seqs" => o.max_num_seqs = Some(num(value()?, &flag)?),
                "--num-gpu-blocks-override" => {
                    o.num_gpu_blocks_override = Some(num(value()?, &flag)?)
                }
                "--kv-cache-memory-bytes" => o.kv_cache_memory_bytes = Some(num(value()?, &flag)?),
                "--disable-hybrid-kv-cache-manager" => o.disable_hybrid_kv_cache_manager = true,
                _ => {}
            }
        }
        Ok(o)
    }
}

/// `8192`, `25.6k`, `2G`-style sizes as vLLM's `human_readable_int` (vllm/engine/arg_utils.py)
/// reads them: k/m/g decimal (decimals allowed), K/M/G binary (whole numbers only).
fn parse_size(v: &str) -> Option<u64> {
    let last = v.chars().last()?;
    let num = &v[..v.len() - last.len_utf8()];
    let decimal = |m: f64| {
        let f: f64 = num.parse().ok()?;
        (f >= 0.0 && f.is_finite()).then_some((f * m) as u64)
    };
    let binary = |m: u64| num.parse::<u64>().ok()?.checked_mul(m);
    match last {
        'k' => decimal(1e3),
        'm' => decimal(1e6),
        'g' => decimal(1e9),
        'K' => binary(1 << 10),
        'M' => binary(1 << 20),
        'G' => binary(1 << 30),
        _ => v.parse().ok(),
    }
}
