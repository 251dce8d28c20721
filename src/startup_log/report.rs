//! The typed result of reading a startup log. This is the stable, documented shape behind
//! `profilec log --format json` (docs/startup-log.md); a plan comparison reads the same struct.
//! MiB values are the numbers llama.cpp printed (two decimals), never recomputed.

use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning or disappears; new optional fields do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupReport {
    pub schema_version: u32,
    /// Which llama.cpp program wrote the log, when its own lines say so.
    pub program: Option<Program>,
    pub build: Option<BuildInfo>,
    /// `-lv` level from `verbosity = N`; memory lines need 4 in current builds.
    pub verbosity: Option<u32>,
    /// Whether any buffer-size line was seen. False for logs written at the default verbosity.
    pub memory_lines: bool,
    pub model_path: Option<String>,
    pub devices: Vec<Device>,
    /// Text inside `loading model tensors, this can take a while... (…)`, e.g. `load_mode = mmap`.
    pub load_mode: Option<String>,
    pub offload: Option<Offload>,
    pub model_buffers: Vec<Buffer>,
    pub context: Context,
    pub output_buffers: Vec<Buffer>,
    /// `KV buffer size` lines, one per buffer type and cache (a SWA model has two caches).
    pub kv_buffers: Vec<Buffer>,
    pub kv_caches: Vec<KvCache>,
    /// `RS buffer size` lines of recurrent/hybrid models.
    pub recurrent_buffers: Vec<Buffer>,
    pub recurrent: Vec<RecurrentState>,
    pub compute_buffers: Vec<Buffer>,
    pub graph: Option<Graph>,
    pub fit: Option<Fit>,
    /// The last `memory breakdown [MiB]` table (printed at exit, and during fit).
    pub memory_breakdown: Vec<BreakdownRow>,
    /// Buffers summed per device (host buffer types count as `CPU`).
    pub per_device: Vec<DeviceMemory>,
    pub listening: Option<String>,
    pub outcome: Outcome,
    pub failure: Option<Failure>,
    pub warnings: Vec<LogLine>,
    pub errors: Vec<LogLine>,
    /// Lines in the file, and how many of them were recognised as llama.cpp output.
    pub lines: usize,
    pub recognized_lines: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Program {
    #[serde(rename = "llama-server")]
    LlamaServer,
    #[serde(rename = "llama-completion")]
    LlamaCompletion,
    #[serde(rename = "llama-cli")]
    LlamaCli,
}

impl Program {
    pub fn as_str(self) -> &'static str {
        match self {
            Program::LlamaServer => "llama-server",
            Program::LlamaCompletion => "llama-completion",
            Program::LlamaCli => "llama-cli",
        }
    }
}

/// `build 11434 (commit) with GNU 12.2.0 for Linux x86_64`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub number: u32,
    pub commit: String,
    pub compiler: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Backend device name: `CPU`, `CUDA0`, `Vulkan0`…
    pub name: String,
    pub description: Option<String>,
    pub total_mib: Option<u64>,
    pub free_mib: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offload {
    /// `offloaded N/M layers to GPU`: N.
    pub offloaded: u32,
    /// `offloaded N/M layers to GPU`: M (repeating layers + the output layer).
    pub total: u32,
    /// `offloading N repeating layers to GPU`.
    pub repeating: Option<u32>,
    /// `offloading output layer to GPU` was printed.
    pub output_layer: bool,
}

/// One `<name> … buffer size = X MiB` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buffer {
    /// Buffer type as printed: `CPU_Mapped`, `CPU_REPACK`, `CUDA0`, `CUDA_Host`…
    pub name: String,
    pub mib: f64,
}

impl Buffer {
    /// The device whose memory holds this buffer: host buffer types (`CPU*`, `*_Host`) are `CPU`.
    pub fn device(&self) -> String {
        buffer_device(&self.name)
    }
}

/// Maps a buffer-type name to the device that owns the memory.
/// [`buffer_device`] that also maps an RPC buffer back to its device: the log names buffers
/// `RPC<k>[HOST:PORT]` (`k` = the device's index on that server, ggml-rpc.cpp
/// `ggml_backend_rpc_buffer_type`; older builds `RPC[HOST:PORT]`) while devices are `RPC0`,
/// `RPC1`, … numbered across servers; the `using device RPC<n> (HOST:PORT)` lines join the two.
pub fn buffer_device_in(name: &str, devices: &[Device]) -> String {
    let Some(rest) = name.strip_prefix("RPC") else {
        return buffer_device(name);
    };
    let Some((index, endpoint)) = rest.strip_suffix(']').and_then(|r| r.split_once('[')) else {
        return buffer_device(name);
    };
    let k: usize = if index.is_empty() {
        0
    } else {
        match index.parse() {
            Ok(k) => k,
            Err(_) => return buffer_device(name),
        }
    };
    devices
        .iter()
        .filter(|d| d.name.starts_with("RPC") && d.description.as_deref() == Some(endpoint))
        .nth(k)
        .map_or_else(|| buffer_device(name), |d| d.name.clone())
}

pub fn buffer_device(name: &str) -> String {
    if name.starts_with("CPU") || name.ends_with("_Host") || name == "Host" {
        "CPU".to_string()
    } else {
        name.to_string()
    }
}

/// The `llama_context:` parameter lines; every field is what llama.cpp actually used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub n_ctx: Option<u32>,
    pub n_ctx_seq: Option<u32>,
    pub n_ctx_train: Option<u32>,
    pub n_batch: Option<u32>,
    pub n_ubatch: Option<u32>,
    pub n_seq_max: Option<u32>,
    pub n_outputs_max: Option<u32>,
    /// As printed: `enabled`, `disabled`, `auto` (older builds: `0`/`1`).
    pub flash_attn: Option<String>,
    /// Whether flash attention ended up on, resolving `auto` from `resolve_fused_ops`.
    pub flash_attn_effective: Option<bool>,
    pub kv_unified: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KvKind {
    /// A model without sliding-window layers: one cache.
    Full,
    /// The full-attention cache of a sliding-window model.
    NonSwa,
    /// The sliding-window cache.
    Swa,
}

/// `llama_kv_cache: size = X MiB (C cells, L layers, S/T seqs), K (t): X MiB, V (t): X MiB`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KvCache {
    pub kind: KvKind,
    pub size_mib: f64,
    pub cells: Option<u32>,
    pub layers: Option<u32>,
    /// First number of `S/T seqs` (n_seq_max).
    pub seqs: Option<u32>,
    /// Second number of `S/T seqs` (KV streams); absent in older builds.
    pub streams: Option<u32>,
    pub k_type: String,
    pub k_mib: f64,
    pub v_type: Option<String>,
    pub v_mib: Option<f64>,
}

/// `llama_memory_recurrent: size = X MiB (C cells, L layers, S seqs R rs_seq), R (t): …, S (t): …`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurrentState {
    pub size_mib: f64,
    pub cells: u32,
    pub layers: u32,
    pub seqs: u32,
    pub rs_seq: Option<u32>,
    pub r_type: String,
    pub r_mib: f64,
    pub s_type: String,
    pub s_mib: f64,
    pub p_mib: Option<f64>,
}

/// `graph: nodes = N, splits = S` (or `pp / tg` pairs when the two graphs differ).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    pub nodes: Option<u32>,
    pub splits: Option<u32>,
    pub nodes_tg: Option<u32>,
    pub splits_tg: Option<u32>,
    pub pp_batch: Option<u32>,
    pub tg_batch: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitStatus {
    /// `successfully fit params to free device memory` (with or without changes).
    Succeeded,
    /// `failed to fit params to free device memory: <why>`; loading goes on with the user's params.
    Aborted,
    /// `encountered an error while trying to fit params …`.
    Error,
    /// Fit started but the log ends before it says how it went.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub status: FitStatus,
    /// Why fit aborted or failed, as printed.
    pub reason: Option<String>,
    /// `no changes needed` was printed.
    pub no_changes: bool,
    /// `context size reduced from A to B`.
    pub ctx_reduced_from: Option<u32>,
    pub ctx_reduced_to: Option<u32>,
    /// `projected to use X MiB of … memory`.
    pub projected_mib: Option<u64>,
    pub seconds: Option<f64>,
    /// Every fit message in order, without the log prefix.
    pub messages: Vec<String>,
}

/// A row of the `memory breakdown [MiB]` table (whole MiB, as printed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakdownRow {
    /// `CUDA0`, `Host`, `CPU_REPACK`…
    pub name: String,
    /// The device description in parentheses, when printed.
    pub description: Option<String>,
    pub total: Option<u64>,
    pub free: Option<u64>,
    #[serde(rename = "self")]
    pub self_mib: u64,
    pub model: u64,
    pub context: u64,
    pub compute: u64,
    pub unaccounted: Option<u64>,
}

/// Buffers of one device, summed from the buffer lines (MiB, rounded to two decimals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceMemory {
    pub device: String,
    pub weights_mib: f64,
    pub kv_mib: f64,
    pub recurrent_mib: f64,
    pub compute_mib: f64,
    pub output_mib: f64,
    pub total_mib: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The model loaded: the server listens, or the program went on to generate.
    Loaded,
    /// A fatal error line: see `failure`.
    Failed,
    /// Neither: the log stops before loading finished (still running, or cut off).
    Incomplete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    OutOfMemory,
    /// The model file is missing, unreadable, truncated or not a valid GGUF.
    ModelFile,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// 1-based line of the first fatal line.
    pub line: usize,
    /// That line without its timestamp and level.
    pub message: String,
    /// Set when it was an out-of-memory failure.
    pub oom: Option<Oom>,
    /// The failure happened after the model had loaded (e.g. a CUDA error while serving).
    pub after_load: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocation {
    ModelWeights,
    KvCache,
    Compute,
    Output,
}

/// What could not be allocated, from the allocator lines around the failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Oom {
    /// Buffer type that failed: `CPU`, `CUDA0`…
    pub buffer_type: Option<String>,
    /// Device whose memory ran out (`CUDA0` for `on device 0`, `CPU` for host buffers).
    pub device: Option<String>,
    pub requested_bytes: Option<u64>,
    pub requested_mib: Option<f64>,
    pub allocation: Option<Allocation>,
}

/// A log line kept verbatim (without timestamp and level), with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub line: usize,
    pub text: String,
}

impl StartupReport {
    /// Exit code of `profilec log`: 0 loaded, 1 failed or never finished loading.
    pub fn exit_code(&self) -> i32 {
        match self.outcome {
            Outcome::Loaded => 0,
            Outcome::Failed | Outcome::Incomplete => 1,
        }
    }

    /// Sum of all model-weight buffers (MiB).
    pub fn weights_mib(&self) -> f64 {
        round2(self.model_buffers.iter().map(|b| b.mib).sum())
    }

    pub fn model_buffer(&self, name: &str) -> Option<f64> {
        self.model_buffers
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.mib)
    }

    pub fn compute_buffer(&self, name: &str) -> Option<f64> {
        self.compute_buffers
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.mib)
    }

    pub fn kv_cache(&self, kind: KvKind) -> Option<&KvCache> {
        self.kv_caches.iter().find(|k| k.kind == kind)
    }
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
