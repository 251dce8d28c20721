//! The typed view of effective options, with llama-server b11434's built-in defaults for
//! everything the settings leave out (common/common.h, tools/server; llama-cpp-memory.md §6).

use std::path::PathBuf;

use serde::Serialize;

use super::Effective;
use crate::config::GpuLayers;
use crate::flags::{OtRule, parse_args};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashAttn {
    On,
    Off,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    None,
    Layer,
    Row,
    Tensor,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOptions {
    pub model: Option<PathBuf>,
    /// Requested context; 0 = the model's trained context.
    pub ctx_size: u64,
    pub batch: u64,
    pub ubatch: u64,
    /// `-np`; `None` = auto (llama-server: 4 slots with a unified KV cache).
    pub parallel: Option<u64>,
    /// `-kvu`/`-no-kvu`; `None` = llama-server decides (unified when slots are auto).
    pub kv_unified: Option<bool>,
    pub cache_type_k: String,
    pub cache_type_v: String,
    pub flash_attn: FlashAttn,
    pub swa_full: bool,
    /// `-nkvo` turns it off: the KV cache then stays in host memory.
    pub kv_offload: bool,
    pub load_mode: String,
    pub repack: bool,
    #[serde(serialize_with = "ser_display")]
    pub gpu_layers: GpuLayers,
    pub split_mode: SplitMode,
    pub tensor_split: Vec<f64>,
    pub main_gpu: u64,
    /// `-ot`, `--cpu-moe`, `--n-cpu-moe` in the order llama.cpp tries them.
    #[serde(skip)]
    pub overrides: Vec<OtRule>,
    pub fit: bool,
    /// Per-device margins; one value applies to every device.
    pub fit_target: Vec<u64>,
    pub fit_ctx: u64,
    pub context_shift: bool,
    pub host: String,
    pub port: u16,
}

fn ser_display<S: serde::Serializer>(v: &GpuLayers, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

impl RunOptions {
    pub fn from_effective(eff: &Effective) -> RunOptions {
        let int = |flag: &str, default: u64| {
            eff.value(flag)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(default)
        };
        let text = |flag: &str, default: &str| eff.value(flag).unwrap_or(default).to_string();
        // Overrides are re-derived from the argv so `-cmoe`/`-ncmoe` expand exactly as `check` sees them.
        let overrides = parse_args(&override_args(eff)).tensor_overrides();
        RunOptions {
            model: eff.value("--model").map(PathBuf::from),
            ctx_size: int("--ctx-size", 0),
            batch: int("--batch-size", 2048),
            ubatch: int("--ubatch-size", 512),
            parallel: eff
                .value("--parallel")
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(|n| u64::try_from(n).ok()),
            kv_unified: eff.switch("--kv-unified"),
            cache_type_k: text("--cache-type-k", "f16"),
            cache_type_v: text("--cache-type-v", "f16"),
            flash_attn: match eff.value("--flash-attn") {
                Some("on" | "enabled" | "true" | "1") => FlashAttn::On,
                Some("off" | "disabled" | "false" | "0") => FlashAttn::Off,
                _ => FlashAttn::Auto,
            },
            swa_full: eff.switch("--swa-full").unwrap_or(false),
            kv_offload: eff.switch("--kv-offload").unwrap_or(true),
            load_mode: text("--load-mode", "auto"),
            repack: eff.switch("--repack").unwrap_or(true),
            gpu_layers: eff
                .value("--n-gpu-layers")
                .and_then(|v| GpuLayers::parse(v).ok())
                .unwrap_or(GpuLayers::Auto),
            split_mode: match eff.value("--split-mode") {
                Some("none") => SplitMode::None,
                Some("row") => SplitMode::Row,
                Some("tensor") => SplitMode::Tensor,
                _ => SplitMode::Layer,
            },
            tensor_split: eff
                .value("--tensor-split")
                .map(|v| {
                    v.split([',', '/'])
                        .filter_map(|x| x.trim().parse::<f64>().ok())
                        .collect()
                })
                .unwrap_or_default(),
            main_gpu: int("--main-gpu", 0),
            overrides,
            fit: !matches!(eff.value("--fit"), Some("off" | "disabled" | "false" | "0")),
            fit_target: eff
                .value("--fit-target")
                .map(|v| {
                    v.split([',', '/'])
                        .filter_map(|x| x.trim().parse::<u64>().ok())
                        .collect()
                })
                .unwrap_or_else(|| vec![1024]),
            fit_ctx: int("--fit-ctx", 4096),
            context_shift: eff.switch("--context-shift").unwrap_or(false),
            host: text("--host", crate::hardware::DEFAULT_HOST),
            port: eff
                .value("--port")
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::hardware::DEFAULT_PORT),
        }
    }

    /// Sequences (slots) llama-server serves: `-np`, auto = 4.
    pub fn n_seq(&self) -> u64 {
        self.parallel.filter(|&n| n > 0).unwrap_or(4)
    }

    /// Whether the KV cache is one stream shared by all sequences.
    pub fn unified(&self) -> bool {
        self.kv_unified
            .unwrap_or(self.parallel.is_none_or(|n| n == 0))
    }
}

fn override_args(eff: &Effective) -> String {
    let mut words = Vec::new();
    for s in &eff.settings {
        if matches!(
            s.spec.canonical,
            "--override-tensor" | "--cpu-moe" | "--n-cpu-moe"
        ) {
            words.push(s.flag().to_string());
            words.extend(s.values.iter().cloned());
        }
    }
    words.join(" ")
}
