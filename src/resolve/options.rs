//! The typed view of effective options, with llama-server b11434's built-in defaults for
//! everything the settings leave out (llama.cpp common/common.h, tools/server/server.cpp).

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
    /// `--no-op-offload` turns it off: large-batch ops whose weights sit in host memory then
    /// run on the host instead of the first GPU (`cparams.op_offload`).
    pub op_offload: bool,
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

/// A setting whose value llama-server would not read as its flag's type: an error, never a
/// silent default (`check` reports the same value with its span as `args::invalid-value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{flag} {value}`: the value is not {expected}")]
pub struct OptionError {
    pub flag: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl crate::error::Failure for OptionError {
    fn code(&self) -> &'static str {
        "args::invalid-value"
    }
    fn help(&self) -> String {
        format!(
            "write {} after {} (`profilec check` shows where it is set)",
            self.expected, self.flag
        )
    }
    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

/// Reads the typed value of one flag, or `default` when no setting names it.
fn read<T>(
    eff: &Effective,
    flag: &'static str,
    expected: &'static str,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, OptionError> {
    match eff.value(flag) {
        None => Ok(default),
        Some(v) => parse(v).ok_or_else(|| OptionError {
            flag,
            value: v.to_string(),
            expected,
        }),
    }
}

fn list<T: std::str::FromStr>(v: &str) -> Option<Vec<T>> {
    v.split([',', '/'])
        .map(|x| x.trim().parse::<T>().ok())
        .collect()
}

impl RunOptions {
    /// llama-server b11434's built-in options: a launch with no settings.
    pub fn builtin() -> RunOptions {
        RunOptions {
            model: None,
            ctx_size: 0,
            batch: 2048,
            ubatch: 512,
            parallel: None,
            kv_unified: None,
            cache_type_k: "f16".into(),
            cache_type_v: "f16".into(),
            flash_attn: FlashAttn::Auto,
            swa_full: false,
            kv_offload: true,
            op_offload: true,
            load_mode: "auto".into(),
            repack: true,
            gpu_layers: GpuLayers::Auto,
            split_mode: SplitMode::Layer,
            tensor_split: Vec::new(),
            main_gpu: 0,
            overrides: Vec::new(),
            fit: true,
            fit_target: vec![1024],
            fit_ctx: 4096,
            context_shift: false,
            host: crate::hardware::DEFAULT_HOST.into(),
            port: crate::hardware::DEFAULT_PORT,
        }
    }

    /// The typed view of `eff`: each flag it sets, read as llama-server reads it; the
    /// [`RunOptions::builtin`] value for every other.
    pub fn from_effective(eff: &Effective) -> Result<RunOptions, OptionError> {
        let d = RunOptions::builtin();
        let int = |flag: &'static str, default: u64| {
            read(eff, flag, "a non-negative integer", default, |v| {
                v.parse::<u64>().ok()
            })
        };
        let text = |flag: &str, default: &str| eff.value(flag).unwrap_or(default).to_string();
        // Overrides are re-derived from the argv so `-cmoe`/`-ncmoe` expand exactly as `check` sees them.
        let overrides = parse_args(&override_args(eff)).tensor_overrides();
        Ok(RunOptions {
            model: eff.value("--model").map(PathBuf::from),
            ctx_size: int("--ctx-size", d.ctx_size)?,
            batch: int("--batch-size", d.batch)?,
            ubatch: int("--ubatch-size", d.ubatch)?,
            // A negative count (`-np -1`) is llama-server's auto.
            parallel: read(eff, "--parallel", "an integer", None, |v| {
                v.parse::<i64>().ok().map(|n| u64::try_from(n).ok())
            })?,
            kv_unified: eff.switch("--kv-unified"),
            cache_type_k: text("--cache-type-k", &d.cache_type_k),
            cache_type_v: text("--cache-type-v", &d.cache_type_v),
            flash_attn: read(
                eff,
                "--flash-attn",
                "on, off or auto",
                d.flash_attn,
                |v| match v {
                    "on" | "enabled" | "true" | "1" => Some(FlashAttn::On),
                    "off" | "disabled" | "false" | "0" => Some(FlashAttn::Off),
                    "auto" | "-1" => Some(FlashAttn::Auto),
                    _ => None,
                },
            )?,
            swa_full: eff.switch("--swa-full").unwrap_or(d.swa_full),
            kv_offload: eff.switch("--kv-offload").unwrap_or(d.kv_offload),
            op_offload: eff.switch("--op-offload").unwrap_or(d.op_offload),
            load_mode: text("--load-mode", &d.load_mode),
            repack: eff.switch("--repack").unwrap_or(d.repack),
            gpu_layers: read(
                eff,
                "--n-gpu-layers",
                "a layer count, auto or all",
                d.gpu_layers,
                |v| match v.parse::<i64>() {
                    // llama.cpp reads a negative count as auto (common/arg.cpp).
                    Ok(n) if n < 0 => Some(GpuLayers::Auto),
                    _ => GpuLayers::parse(v).ok(),
                },
            )?,
            split_mode: read(
                eff,
                "--split-mode",
                "none, layer, row or tensor",
                d.split_mode,
                |v| match v {
                    "none" => Some(SplitMode::None),
                    "layer" => Some(SplitMode::Layer),
                    "row" => Some(SplitMode::Row),
                    "tensor" => Some(SplitMode::Tensor),
                    _ => None,
                },
            )?,
            tensor_split: read(
                eff,
                "--tensor-split",
                "a list of proportions",
                d.tensor_split,
                list::<f64>,
            )?,
            main_gpu: int("--main-gpu", d.main_gpu)?,
            overrides,
            fit: !matches!(eff.value("--fit"), Some("off" | "disabled" | "false" | "0")),
            fit_target: read(
                eff,
                "--fit-target",
                "a list of MiB margins",
                d.fit_target,
                list::<u64>,
            )?,
            fit_ctx: int("--fit-ctx", d.fit_ctx)?,
            context_shift: eff.switch("--context-shift").unwrap_or(d.context_shift),
            host: text("--host", &d.host),
            port: read(eff, "--port", "a port number", d.port, |v| v.parse().ok())?,
        })
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
