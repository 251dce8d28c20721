//! The machine profilec plans for: `profilec.toml` (declared, see docs/hardware.md) or what NVML
//! and sysinfo detect. Both produce the same typed [`Hardware`]; [`Machine`] is the narrow view
//! the memory model uses (capacities and speeds per device).
//!
//! Sizes are MiB (1024 × 1024 bytes) everywhere, because that is the unit llama.cpp prints in
//! its load logs and nvidia-smi shows, so numbers can be compared without conversion.

mod detect;
mod fields;
mod file;
mod gpus;
mod model;
mod now;
mod nvml;
mod resolve;
mod rpc_client;
mod rpc_hosts;
mod rpc_write;
mod write;

use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

pub use detect::{Detected, Observed, detect, detect_cpu};
pub use file::{FILE_NAME, LoadError, Loaded, load, parse};
pub use model::{Device, DeviceKind, Machine};
pub use now::{DeviceMemory, MemoryNow, SwapMemory, memory_now};
pub use resolve::{Origin, Resolved, resolve};
pub use rpc_client::{
    DEFAULT_TIMEOUT as RPC_TIMEOUT, DeviceMemory as RpcDeviceMemory, Endpoint, RpcError,
    ServerInfo, parse_endpoint, parse_endpoint_list, probe as probe_rpc,
    probe_all as probe_rpc_all,
};
pub use rpc_hosts::{RpcDevice, RpcHost};
pub use rpc_write::{RpcWriteSummary, update_rpc_toml, write_rpc};
pub use write::{Updated, WriteError, WriteSummary, update_toml, write_detected};

/// Default CUDA context + cuBLAS workspace per active GPU (docs/memory-model.md, "Overhead");
/// `[runtime] cuda_overhead_mib` overrides it.
pub const DEFAULT_CUDA_OVERHEAD_MIB: u64 = 500;
/// Advice model used by `run --smart-run` when `[llm] model` is unset (docs/run.md).
pub const DEFAULT_LLM_MODEL: &str = "deepseek-ai/DeepSeek-V3.2";
/// OpenAI-compatible endpoint that serves [`DEFAULT_LLM_MODEL`] under that exact name.
pub const DEFAULT_LLM_BASE_URL: &str = "https://router.huggingface.co/v1";
pub const DEFAULT_LLM_API_KEY_ENV: &str = "HF_TOKEN";
/// Seconds `run --smart-run` waits for the advice (connect, send, the whole reply).
pub const DEFAULT_LLM_TIMEOUT_SECS: u64 = 60;
/// llama-server's own defaults, so an absent `[runtime]` renders nothing surprising.
pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 8080;
/// Relative speed assumed for system RAM against the fastest GPU (=1.0) when `[cpu] speed` is
/// unset: dual-channel DDR4/DDR5 (~50–90 GB/s) against a ~1 TB/s GPU, since token generation is
/// memory-bandwidth bound.
pub const DEFAULT_CPU_SPEED: f64 = 0.05;

/// Everything profilec knows about the machine and its run-time settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hardware {
    /// In CUDA order: `gpus[i].id == "CUDA{i}"`.
    pub gpus: Vec<Gpu>,
    /// llama.cpp RPC servers (`--rpc`), in the order `--rpc` lists them; their devices come
    /// before the local GPUs in llama.cpp's device list (docs/distributed.md).
    pub rpc: Vec<RpcHost>,
    pub cpu: Cpu,
    pub defaults: Defaults,
    pub runtime: Runtime,
    pub llm: Llm,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gpu {
    /// `CUDA0`, `CUDA1`, … — the name llama.cpp gives the device (and `-ot …=CUDA1` uses).
    pub id: String,
    pub name: String,
    pub total_mib: u64,
    /// Memory other programs hold (the display, a desktop session): never available to llama.cpp.
    pub reserved_mib: u64,
    /// Relative throughput; the fastest GPU is 1.0 by convention.
    pub speed: f64,
    pub drives_display: bool,
    pub pci_bus_id: Option<String>,
    /// Span of the `[[gpu]]` header in profilec.toml (None when detected).
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpu {
    pub ram_mib: u64,
    /// RAM kept for the OS, desktop and page cache; never planned for model data.
    pub os_reserve_mib: u64,
    pub cores_physical: u32,
    pub cores_logical: u32,
    pub numa_nodes: u32,
    /// `x86_64`, `aarch64`, … (Rust's `std::env::consts::ARCH` spelling).
    pub arch: String,
    /// Relative speed of RAM-resident weights against the fastest GPU (1.0).
    pub speed: f64,
}

impl Cpu {
    /// The documented default OS reserve: 1/8 of RAM, between 1 GiB and 8 GiB (the seed rig
    /// budgets "64 GB minus ~8 GB OS").
    pub fn default_os_reserve_mib(ram_mib: u64) -> u64 {
        (ram_mib / 8).clamp(1024, 8192).min(ram_mib)
    }
}

/// Effective-option defaults between llama-server's built-ins and a profile (docs/hardware.md,
/// "`[defaults]`"). Keys are llama-server long flag names without dashes; values are kept as
/// written (booleans as `true`).
/// Checking them against the flag table is the `flags` stage's job.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Defaults {
    pub entries: Vec<DefaultEntry>,
}

impl Defaults {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefaultEntry {
    pub key: String,
    pub value: String,
    #[serde(skip)]
    pub key_span: Option<Range<usize>>,
    #[serde(skip)]
    pub value_span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runtime {
    /// A bare name is looked up on PATH at launch; a path is resolved against the toml's directory.
    pub llama_server: PathBuf,
    /// `vllm` for vLLM profiles (docs/vllm.md); a bare name is looked up on PATH at launch.
    pub vllm: PathBuf,
    /// Where profile MODEL paths are relative to; resolved against the toml's directory.
    pub models_dir: PathBuf,
    pub host: String,
    pub port: u16,
    /// CUDA context and library workspace per active GPU, in MiB.
    pub cuda_overhead_mib: u64,
    /// The llama.cpp build the machine runs (`llama-server --version`), for the memory rules
    /// that changed between builds; `None` = the build profilec follows (b11434).
    pub llama_cpp_build: Option<u32>,
}

impl Runtime {
    /// Defaults for a machine without a file: paths relative to `base`.
    pub fn default_in(base: &std::path::Path) -> Self {
        Runtime {
            llama_server: PathBuf::from("llama-server"),
            vllm: PathBuf::from("vllm"),
            models_dir: base.join("models"),
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            cuda_overhead_mib: DEFAULT_CUDA_OVERHEAD_MIB,
            llama_cpp_build: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Llm {
    pub model: String,
    pub base_url: String,
    /// Name of the environment variable holding the API key (never the key itself).
    pub api_key_env: String,
    /// The whole request's deadline, seconds.
    pub timeout_secs: u64,
}

impl Default for Llm {
    fn default() -> Self {
        Llm {
            model: DEFAULT_LLM_MODEL.to_owned(),
            base_url: DEFAULT_LLM_BASE_URL.to_owned(),
            api_key_env: DEFAULT_LLM_API_KEY_ENV.to_owned(),
            timeout_secs: DEFAULT_LLM_TIMEOUT_SECS,
        }
    }
}
