//! The `vllm serve` launch of a vLLM profile (docs/vllm.md "Profiles"): `serve MODEL_DIR`, then
//! CTX_SIZE as `--max-model-len`, then EXTRA_ARGS exactly as written (vLLM flags), then the
//! `[runtime]` address unless EXTRA_ARGS gives one. argparse lets a later flag win, so EXTRA_ARGS
//! overrides the key (`check` warns) and nothing needs merging: the words are kept in order.
//! `[defaults]` of profilec.toml are llama-server flags and do not apply.

use std::path::{Path, PathBuf};

use super::{Origin, absolute};
use crate::config::{Profile, Runtime};
use crate::hardware::{Hardware, Machine};
use crate::vllm::Gpu;
use crate::vllm::args::{ServeArgs, parse};

/// The runtime of a profile: its RUNTIME key, else vLLM when MODEL is a directory under
/// `models_dir` (a Hugging Face checkpoint), else llama-server.
pub fn runtime_of(profile: &Profile, models_dir: Option<&Path>) -> Runtime {
    if let Some(r) = &profile.runtime {
        return r.value;
    }
    match (&profile.model, models_dir) {
        (Some(m), Some(dir)) if !m.value.is_empty() && dir.join(&m.value).is_dir() => Runtime::Vllm,
        _ => Runtime::LlamaServer,
    }
}

/// One argument group of the `vllm serve` argv and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VllmSetting {
    /// The flag's long name when known (`--max-model-len`), else the word as written.
    pub flag: String,
    pub values: Vec<String>,
    /// The argv words, as they are launched.
    pub words: Vec<String>,
    pub origin: Origin,
}

/// The resolved `vllm serve` command of a profile (after the program name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VllmLaunch {
    /// MODEL resolved against `[runtime] models_dir` (absolute).
    pub model: Option<PathBuf>,
    pub settings: Vec<VllmSetting>,
    /// EXTRA_ARGS parsed against the pinned flag table.
    pub extra: ServeArgs,
}

impl VllmLaunch {
    /// `serve MODEL_DIR ARGS…`: what `render` prints and `start` runs after the program.
    pub fn argv(&self) -> Vec<String> {
        let mut out = vec!["serve".to_owned()];
        out.extend(self.model.iter().map(|m| m.to_string_lossy().into_owned()));
        out.extend(self.serve_args());
        out
    }

    /// The flags after the model: what vLLM's memory arithmetic reads (`vllm::plan`).
    pub fn serve_args(&self) -> Vec<String> {
        self.settings
            .iter()
            .flat_map(|s| s.words.iter().cloned())
            .collect()
    }

    /// The last setting of a flag (long name).
    pub fn get(&self, flag: &str) -> Option<&VllmSetting> {
        self.settings.iter().rev().find(|s| s.flag == flag)
    }
}

/// The launch of a vLLM profile with MODEL under `models_dir`.
pub fn resolve_vllm(profile: &Profile, models_dir: &Path) -> VllmLaunch {
    let mut launch = VllmLaunch {
        model: profile
            .model
            .as_ref()
            .map(|m| absolute(&models_dir.join(&m.value))),
        ..VllmLaunch::default()
    };
    // CTX_SIZE=0 means "the model's own length" (as for llama-server): vLLM's default.
    if let Some(c) = profile.ctx_size.as_ref().filter(|c| c.value > 0) {
        let v = c.value.to_string();
        launch.settings.push(VllmSetting {
            flag: "--max-model-len".into(),
            values: vec![v.clone()],
            words: vec!["--max-model-len".into(), v],
            origin: Origin::Key("CTX_SIZE"),
        });
    }
    if let Some(extra) = &profile.extra_args {
        launch.extra = parse(&extra.value);
        // In the order written: a stray word stays where it was.
        let mut written: Vec<(usize, VllmSetting)> = launch
            .extra
            .args
            .iter()
            .map(|a| {
                let setting = VllmSetting {
                    flag: a.name.map_or_else(|| a.written.text.clone(), str::to_owned),
                    values: a.values.clone(),
                    words: a.words(),
                    origin: Origin::ExtraArgs,
                };
                (a.written.span.start, setting)
            })
            .chain(launch.extra.stray.iter().map(|w| {
                let setting = VllmSetting {
                    flag: w.text.clone(),
                    values: vec![],
                    words: vec![w.text.clone()],
                    origin: Origin::ExtraArgs,
                };
                (w.span.start, setting)
            }))
            .collect();
        written.sort_by_key(|(at, _)| *at);
        launch.settings.extend(written.into_iter().map(|(_, s)| s));
    }
    launch
}

/// [`resolve_vllm`] on this machine, with `[runtime]`'s host and port made explicit (vLLM's
/// own default port is 8000; profilec's health wait must know where to look).
pub fn vllm_for_launch(profile: &Profile, hw: &Hardware, models_dir: &Path) -> VllmLaunch {
    let mut launch = resolve_vllm(profile, models_dir);
    for (flag, value) in [
        ("--host", hw.runtime.host.clone()),
        ("--port", hw.runtime.port.to_string()),
    ] {
        if launch.get(flag).is_none() {
            launch.settings.push(VllmSetting {
                flag: flag.into(),
                values: vec![value.clone()],
                words: vec![flag.into(), value],
                origin: Origin::Runtime,
            });
        }
    }
    launch
}

/// The machine's GPUs as vLLM sees them: `[[gpu]] total_mib` as CUDA's total, and what other
/// programs leave (`total_mib − reserved_mib`) as free at startup.
pub fn vllm_gpus(machine: &Machine) -> Vec<Gpu> {
    machine
        .gpus
        .iter()
        .map(|d| Gpu {
            name: d.name.clone(),
            total: d.total_mib << 20,
            free: d.capacity_mib << 20,
        })
        .collect()
}
