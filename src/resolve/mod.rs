//! Effective options: what llama-server will really run with (DESIGN.md §4).
//!
//! llama-server's built-in defaults ← `[defaults]` of profilec.toml ← the profile's keys ←
//! EXTRA_ARGS, where a later setting of a flag replaces an earlier one, except flags that
//! accumulate (`-ot`, `--lora`). `Effective` keeps the written settings (for rendering the argv);
//! `RunOptions` is the typed view the memory model and the placement read.

mod options;

use std::path::Path;

pub use options::{FlashAttn, RunOptions, SplitMode};

use crate::config::{Key, Profile};
use crate::flags::{self, FlagSpec, ValueKind, parse_args};
use crate::hardware::Defaults;

/// Where a setting came from, for rationale and `plan --format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `[defaults]` of profilec.toml.
    Defaults,
    /// A profile key (MODEL, CTX_SIZE, …).
    Key(&'static str),
    ExtraArgs,
    /// Added by profilec's placement.
    Placement,
}

/// One flag as it will appear on the command line.
#[derive(Debug, Clone)]
pub struct Setting {
    pub spec: &'static FlagSpec,
    /// Written as the negative spelling (`--no-context-shift`).
    pub negated: bool,
    /// Zero (switch), one or two value words.
    pub values: Vec<String>,
    pub origin: Origin,
}

impl Setting {
    /// The spelling to render: the last long alias, which llama.cpp itself treats as the main
    /// spelling (common/preset.cpp `to_args`), e.g. `--n-gpu-layers`; or the long negation.
    pub fn flag(&self) -> &'static str {
        let long_last =
            |names: &[&'static str]| names.iter().rev().find(|n| n.starts_with("--")).copied();
        if self.negated {
            long_last(&self.spec.negations)
                .or(self.spec.negations.first().copied())
                .unwrap_or(self.spec.canonical)
        } else {
            let positive: Vec<&'static str> = self
                .spec
                .aliases
                .iter()
                .copied()
                .filter(|a| !self.spec.is_negation(a))
                .collect();
            long_last(&positive).unwrap_or(self.spec.canonical)
        }
    }
}

/// The settings of one launch, in first-set order, one per flag except accumulating flags.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub settings: Vec<Setting>,
}

impl Effective {
    /// Sets a flag: replaces an earlier setting in place, or appends for accumulating flags.
    pub fn set(&mut self, setting: Setting) {
        if !setting.spec.accumulates
            && let Some(old) = self
                .settings
                .iter_mut()
                .find(|s| std::ptr::eq(s.spec, setting.spec))
        {
            *old = setting;
            return;
        }
        self.settings.push(setting);
    }

    /// Sets a flag by any spelling; unknown flags are ignored (check reports them).
    pub fn set_flag(&mut self, flag: &str, values: &[&str], origin: Origin) {
        if let Some(spec) = flags::lookup(flag) {
            self.set(Setting {
                spec,
                negated: spec.is_negation(flag),
                values: values.iter().map(|v| v.to_string()).collect(),
                origin,
            });
        }
    }

    pub fn remove(&mut self, flag: &str) {
        if let Some(spec) = flags::lookup(flag) {
            self.settings.retain(|s| !std::ptr::eq(s.spec, spec));
        }
    }

    /// The last setting of a flag (any spelling).
    pub fn get(&self, flag: &str) -> Option<&Setting> {
        let spec = flags::lookup(flag)?;
        self.settings
            .iter()
            .rev()
            .find(|s| std::ptr::eq(s.spec, spec))
    }

    pub fn value(&self, flag: &str) -> Option<&str> {
        self.get(flag)?.values.first().map(String::as_str)
    }

    /// Whether a switch is on: present and not negated.
    pub fn switch(&self, flag: &str) -> Option<bool> {
        self.get(flag).map(|s| !s.negated)
    }

    /// The argv after the program name.
    pub fn argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.settings {
            out.push(s.flag().to_string());
            out.extend(s.values.iter().cloned());
        }
        out
    }

    pub fn options(&self) -> RunOptions {
        RunOptions::from_effective(self)
    }
}

/// Effective options of a profile. `models_dir` resolves MODEL; `defaults` is `[defaults]` of
/// profilec.toml (invalid entries are skipped here: `hw` and `check` report them).
pub fn resolve(profile: &Profile, defaults: &Defaults, models_dir: &Path) -> Effective {
    let mut eff = Effective::default();
    apply_defaults(&mut eff, defaults);
    if let Some(model) = &profile.model {
        let path = models_dir.join(&model.value);
        eff.set_flag("--model", &[&path.to_string_lossy()], Origin::Key("MODEL"));
    }
    if let Some(c) = &profile.ctx_size {
        eff.set_flag(
            "--ctx-size",
            &[&c.value.to_string()],
            Origin::Key("CTX_SIZE"),
        );
    }
    if let Some(n) = &profile.n_gpu_layers {
        eff.set_flag(
            "--n-gpu-layers",
            &[&n.value.to_string()],
            Origin::Key("N_GPU_LAYERS"),
        );
    }
    if let Some(f) = &profile.fit {
        eff.set_flag(
            "--fit",
            &[if f.value { "on" } else { "off" }],
            Origin::Key(Key::Fit.as_str()),
        );
    }
    if let Some(t) = &profile.fit_target {
        let list: Vec<String> = t.value.iter().map(u64::to_string).collect();
        eff.set_flag(
            "--fit-target",
            &[&list.join(",")],
            Origin::Key("FIT_TARGET"),
        );
    }
    if let Some(extra) = &profile.extra_args {
        apply_args(&mut eff, &extra.value, Origin::ExtraArgs);
    }
    eff
}

/// The effective options of `[defaults]` alone: the start of an ad-hoc or scaffolded launch.
pub fn from_defaults(defaults: &Defaults) -> Effective {
    let mut eff = Effective::default();
    apply_defaults(&mut eff, defaults);
    eff
}

/// Applies a whitespace-separated llama-server argument string (EXTRA_ARGS, or the arguments
/// after `--` of an ad-hoc plan). Arguments with errors are skipped.
pub fn apply_args(eff: &mut Effective, args: &str, origin: Origin) {
    for a in parse_args(args).args {
        let values: Vec<String> = [a.value, a.value2]
            .into_iter()
            .flatten()
            .map(|v| v.text)
            .collect();
        if values.len() != a.spec.arity() {
            continue;
        }
        eff.set(Setting {
            spec: a.spec,
            negated: a.negated,
            values,
            origin,
        });
    }
}

fn apply_defaults(eff: &mut Effective, defaults: &Defaults) {
    for entry in &defaults.entries {
        let flag = format!("--{}", entry.key);
        let Some(spec) = flags::lookup(&flag) else {
            continue;
        };
        match spec.kind {
            ValueKind::Switch | ValueKind::Bool => match entry.value.as_str() {
                "true" | "on" | "1" => eff.set_flag(&flag, &[], Origin::Defaults),
                _ => {
                    if let Some(neg) = spec.negations.first() {
                        eff.set_flag(neg, &[], Origin::Defaults);
                    }
                }
            },
            _ => eff.set_flag(&flag, &[&entry.value], Origin::Defaults),
        }
    }
}
