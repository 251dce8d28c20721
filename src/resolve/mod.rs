//! Effective options: what llama-server will really run with (docs/render.md, the canonical argv).
//!
//! llama-server's built-in defaults ← `[defaults]` of profilec.toml ← the profile's keys ←
//! EXTRA_ARGS, where a later setting of a flag replaces an earlier one, except flags that
//! accumulate (`-ot`, `--lora`). `Effective` keeps the written settings (for rendering the argv);
//! `RunOptions` is the typed view the memory model and the placement read.

mod options;
mod vllm;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use options::{FlashAttn, OptionError, RunOptions, SplitMode};
pub use vllm::{VllmLaunch, VllmSetting, resolve_vllm, runtime_of, vllm_for_launch, vllm_gpus};

use crate::config::{Key, Profile};
use crate::flags::{self, FlagSpec, ParsedArgs, ValueKind, parse_args};
use crate::hardware::{Defaults, Hardware};

/// Where a setting came from, for rationale and `plan --format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `[defaults]` of profilec.toml.
    Defaults,
    /// A profile key (MODEL, CTX_SIZE, …).
    Key(&'static str),
    ExtraArgs,
    /// The runtime address and log level `render` makes explicit (`[runtime]` of profilec.toml).
    Runtime,
    /// The solver's flags for the profile's STRATEGY (docs/placement.md).
    Strategy,
    /// Candidates of profilec's own searches (`optimize`, `new`, `run --auto-batch`).
    Placement,
    /// Flags the user typed after `--` (`run ID -- ARGS`): they beat everything else.
    CommandLine,
    /// An LLM advisor's value, validated, clamped and planned (`run --smart-run`).
    Advice,
}

impl Origin {
    /// The origin's kind as `render --format json` prints it.
    pub fn kind(self) -> &'static str {
        match self {
            Origin::Defaults | Origin::Runtime => "default",
            Origin::Key(_) => "key",
            Origin::ExtraArgs => "extra_args",
            Origin::Strategy => "strategy",
            Origin::Placement => "placement",
            Origin::CommandLine => "command_line",
            Origin::Advice => "advice",
        }
    }

    /// The profile key a `Key` origin names.
    pub fn key(self) -> Option<&'static str> {
        match self {
            Origin::Key(k) => Some(k),
            _ => None,
        }
    }
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
    /// Where the profile wrote it (bytes of models.conf): the key's value or the EXTRA_ARGS
    /// argument; `None` for settings from elsewhere (`[defaults]`, searches, the command line).
    pub span: Option<Range<usize>>,
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
        self.set_flag_at(flag, values, origin, None);
    }

    /// [`Effective::set_flag`] for a setting written at `span` of models.conf.
    fn set_flag_at(
        &mut self,
        flag: &str,
        values: &[&str],
        origin: Origin,
        span: Option<Range<usize>>,
    ) {
        if let Some(spec) = flags::lookup(flag) {
            self.set(Setting {
                spec,
                negated: spec.is_negation(flag),
                values: values.iter().map(|v| v.to_string()).collect(),
                origin,
                span,
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

    /// The argv after the program name. `--rpc` goes before the first `--device` or
    /// `--override-tensor`: llama.cpp registers the RPC devices while it parses `--rpc` and looks
    /// device and buffer-type names up while it parses those (common/arg.cpp,
    /// `add_rpc_devices`, `parse_device_list`), so `--device RPC0 --rpc …` fails with
    /// `invalid device: RPC0`.
    pub fn argv(&self) -> Vec<String> {
        let is =
            |s: &Setting, flag: &str| flags::lookup(flag).is_some_and(|f| std::ptr::eq(s.spec, f));
        let rpc = self.settings.iter().position(|s| is(s, "--rpc"));
        let first_user = self
            .settings
            .iter()
            .position(|s| is(s, "--device") || is(s, "--override-tensor"));
        let mut order: Vec<&Setting> = self.settings.iter().collect();
        if let (Some(r), Some(u)) = (rpc, first_user)
            && u < r
        {
            let moved = order.remove(r);
            order.insert(u, moved);
        }
        let mut out = Vec::new();
        for s in order {
            out.push(s.flag().to_string());
            out.extend(s.values.iter().cloned());
        }
        out
    }

    /// The typed options; a value of the wrong type is an error, never a default.
    pub fn options(&self) -> Result<RunOptions, OptionError> {
        RunOptions::from_effective(self)
    }
}

/// Effective options of a profile. `models_dir` resolves MODEL; `defaults` is `[defaults]` of
/// profilec.toml (invalid entries are skipped here: `hw` and `check` report them).
pub fn effective(profile: &Profile, defaults: &Defaults, models_dir: &Path) -> Effective {
    effective_parsed(profile, defaults, models_dir, None)
}

/// [`effective`] with the profile's EXTRA_ARGS already parsed by the caller (`check` parses each
/// line once and shares it); `None` parses it here.
pub fn effective_parsed(
    profile: &Profile,
    defaults: &Defaults,
    models_dir: &Path,
    extra_parsed: Option<&ParsedArgs>,
) -> Effective {
    let mut eff = Effective::default();
    apply_defaults(&mut eff, defaults);
    if let Some(model) = &profile.model {
        let path = models_dir.join(&model.value);
        eff.set_flag_at(
            "--model",
            &[&path.to_string_lossy()],
            Origin::Key("MODEL"),
            Some(model.span.clone()),
        );
    }
    if let Some(c) = &profile.ctx_size {
        eff.set_flag_at(
            "--ctx-size",
            &[&c.value.to_string()],
            Origin::Key("CTX_SIZE"),
            Some(c.span.clone()),
        );
    }
    if let Some(n) = &profile.n_gpu_layers {
        eff.set_flag_at(
            "--n-gpu-layers",
            &[&n.value.to_string()],
            Origin::Key("N_GPU_LAYERS"),
            Some(n.span.clone()),
        );
    }
    if let Some(f) = &profile.fit {
        eff.set_flag_at(
            "--fit",
            &[if f.value { "on" } else { "off" }],
            Origin::Key(Key::Fit.as_str()),
            Some(f.span.clone()),
        );
    }
    if let Some(t) = &profile.fit_target {
        let list: Vec<String> = t.value.iter().map(u64::to_string).collect();
        eff.set_flag_at(
            "--fit-target",
            &[&list.join(",")],
            Origin::Key("FIT_TARGET"),
            Some(t.span.clone()),
        );
    }
    if let Some(extra) = &profile.extra_args {
        let offset = Some(extra.span.start);
        match extra_parsed {
            Some(parsed) => apply_parsed_at(&mut eff, parsed, Origin::ExtraArgs, offset),
            None => apply_args_at(&mut eff, &extra.value, Origin::ExtraArgs, offset),
        }
    }
    eff
}

/// The effective options of a profile on this machine, MODEL under `models_dir`, with the
/// server's address from `[runtime]` made explicit (so `start` and the log agree on where it
/// listens).
pub fn for_launch(profile: &Profile, hw: &Hardware, models_dir: &Path) -> Effective {
    let mut eff = effective(profile, &hw.defaults, models_dir);
    if eff.get("--host").is_none() {
        eff.set_flag("--host", &[&hw.runtime.host], Origin::Runtime);
    }
    if eff.get("--port").is_none() {
        eff.set_flag("--port", &[&hw.runtime.port.to_string()], Origin::Runtime);
    }
    // b11434 prints its buffer sizes only at -lv 4; without them `start` cannot record what was
    // allocated (`log`, observed.jsonl). A profile's own verbosity wins.
    if eff.get("--log-verbosity").is_none() && eff.get("--log-verbose").is_none() {
        eff.set_flag("--log-verbosity", &["4"], Origin::Runtime);
    }
    eff
}

/// An absolute, `..`-free path, so the command works from any directory (the router preset is
/// read by a server started elsewhere). Lexical: symlinks are left as the user wrote them.
pub fn absolute(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
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
    apply_args_at(eff, args, origin, None);
}

/// [`apply_args`] for arguments written in models.conf from byte `offset` on (EXTRA_ARGS): each
/// setting keeps its span in the file.
fn apply_args_at(eff: &mut Effective, args: &str, origin: Origin, offset: Option<usize>) {
    apply_parsed_at(eff, &parse_args(args), origin, offset);
}

fn apply_parsed_at(
    eff: &mut Effective,
    parsed: &ParsedArgs,
    origin: Origin,
    offset: Option<usize>,
) {
    for a in &parsed.args {
        let span = offset.map(|o| {
            let s = a.span();
            s.start + o..s.end + o
        });
        let values: Vec<String> = [&a.value, &a.value2]
            .into_iter()
            .flatten()
            .map(|v| v.text.clone())
            .collect();
        if values.len() != a.spec.arity() {
            continue;
        }
        eff.set(Setting {
            spec: a.spec,
            negated: a.negated,
            values,
            origin,
            span,
        });
    }
}

/// [`apply_args`] for argv words (`plan --model M -- ARGS`, the solver's flags).
pub fn apply_words(eff: &mut Effective, words: &[String], origin: Origin) {
    apply_args(eff, &words.join(" "), origin);
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
