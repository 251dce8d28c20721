//! Rules about what llama-server will be told: EXTRA_ARGS against the flag table, against the
//! profile's own keys, and against what `--fit` can still do.

use std::ops::Range;

use super::Extra;
use crate::config::{Conf, GpuLayers, Key, Profile};
use crate::diag::Diagnostic;
use crate::flags::ParsedArgs;

mod fit;

/// Sampling flags; the evaluation harness sends its own temperature, so bench twins leave them out.
const SAMPLER_FLAGS: &[&str] = &["--temp", "--top-p", "--top-k", "--min-p"];

/// `extra`: each profile's parsed EXTRA_ARGS, in profile order; their own diagnostics are
/// moved out (not copied: a file can have one per profile) into `diags`, in the file.
pub fn check(conf: &Conf, extra: &mut [Option<Extra>], diags: &mut Vec<Diagnostic>) {
    for (p, e) in conf.profiles.iter().zip(extra.iter_mut()) {
        if let Some(e) = e {
            let offset = e.span.start;
            diags.extend(
                std::mem::take(&mut e.parsed.diagnostics)
                    .into_iter()
                    .map(|d| d.shifted(offset)),
            );
        }
        let args = e.as_ref().map(|e| Args {
            parsed: &e.parsed,
            offset: e.span.start,
        });
        if let Some(args) = &args {
            contradictions(p, args, diags);
            batch_sizes(args, diags);
            slots(args, diags);
            bench_samplers(p, args, diags);
        }
        fit::check(p, args.as_ref(), diags);
    }
}

/// Parsed EXTRA_ARGS with the offset that turns their spans into file spans.
pub(crate) struct Args<'a> {
    pub parsed: &'a ParsedArgs,
    pub offset: usize,
}

impl Args<'_> {
    pub fn span_of(&self, flag: &str) -> Option<Range<usize>> {
        let s = self.parsed.last(flag)?.span();
        Some(s.start + self.offset..s.end + self.offset)
    }
}

/// A key and a flag for the same setting: EXTRA_ARGS comes last on the command line and wins,
/// so the key silently does nothing.
fn contradictions(p: &Profile, args: &Args<'_>, diags: &mut Vec<Diagnostic>) {
    let keyed: [(Key, Option<String>, Option<Range<usize>>); 5] = [
        (
            Key::Model,
            p.model.as_ref().map(|v| v.value.clone()),
            p.model.as_ref().map(|v| v.span.clone()),
        ),
        (
            Key::CtxSize,
            p.ctx_size.as_ref().map(|v| v.value.to_string()),
            p.ctx_size.as_ref().map(|v| v.span.clone()),
        ),
        (
            Key::NGpuLayers,
            p.n_gpu_layers.as_ref().map(|v| v.value.to_string()),
            p.n_gpu_layers.as_ref().map(|v| v.span.clone()),
        ),
        (
            Key::Fit,
            p.fit
                .as_ref()
                .map(|v| if v.value { "on" } else { "off" }.to_string()),
            p.fit.as_ref().map(|v| v.span.clone()),
        ),
        (
            Key::FitTarget,
            p.fit_target.as_ref().map(|v| join(&v.value)),
            p.fit_target.as_ref().map(|v| v.span.clone()),
        ),
    ];
    for (key, key_value, key_span) in keyed {
        let (Some(key_value), Some(key_span)) = (key_value, key_span) else {
            continue;
        };
        let Some(flag) = key.flag() else { continue };
        let Some(arg) = args.parsed.last(flag) else {
            continue;
        };
        let Some(flag_span) = args.span_of(flag) else {
            continue;
        };
        let flag_value = arg.value.as_ref().map(|v| v.text.as_str()).unwrap_or("");
        let same = normalise(key, flag_value) == normalise(key, &key_value);
        let d = if same {
            Diagnostic::warning(
                "args::repeats-key",
                format!("`{}` in EXTRA_ARGS repeats {}", arg.name, key.as_str()),
            )
            .label("same value as the key")
            .help(format!(
                "remove `{} {flag_value}` from EXTRA_ARGS; {} already sets it",
                arg.name,
                key.as_str()
            ))
        } else {
            Diagnostic::error(
                "args::contradicts-key",
                format!(
                    "`{} {flag_value}` in EXTRA_ARGS overrides {}={key_value}",
                    arg.name,
                    key.as_str()
                ),
            )
            .label("this wins: EXTRA_ARGS comes last")
            .help(format!(
                "keep one: set {} and drop the flag, or drop the key",
                key.as_str()
            ))
        };
        diags.push(d.at(flag_span).related(key_span, "set by the key"));
    }
}

fn normalise(key: Key, value: &str) -> String {
    match key {
        Key::NGpuLayers => GpuLayers::parse(value).map_or(value.to_string(), |g| g.to_string()),
        Key::FitTarget => {
            crate::config::values_mib_list(value).map_or(value.to_string(), |v| join(&v))
        }
        _ => value.to_string(),
    }
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// `-ub` sizes the compute buffer; `-b` above it costs nothing. Equal and large wastes VRAM
/// (the corpus' lesson 5: each doubling of -ub adds ~450–2000 MiB of compute buffer).
fn batch_sizes(args: &Args<'_>, diags: &mut Vec<Diagnostic>) {
    let int = |flag: &str| {
        args.parsed
            .last_value(flag)
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (Some(ub), Some(b)) = (int("--ubatch-size"), int("--batch-size")) else {
        return;
    };
    let Some(ub_span) = args.span_of("--ubatch-size") else {
        return;
    };
    if ub == b && ub > 512 {
        diags.push(
            Diagnostic::warning("args::ubatch-equals-batch", format!("-ub {ub} equals -b {b}"))
                .at(ub_span)
                .label("large physical batch")
                .help("-ub sizes the compute buffer on every GPU; `-b 2048 -ub 512` keeps prompt speed and saves VRAM (lesson 5)"),
        );
    } else if ub > b {
        diags.push(
            Diagnostic::warning(
                "args::ubatch-above-batch",
                format!("-ub {ub} is larger than -b {b}"),
            )
            .at(ub_span)
            .label("clamped to -b by llama.cpp")
            .help("llama.cpp uses min(-ub, -b); set -ub at most -b"),
        );
    }
}

/// `--parallel` above llama.cpp's sequence limit: the context refuses it and llama-server exits
/// at load. Said here with `plan`'s own code and words, because `plan`'s refusal needs the
/// machine (src/check/plan_refusal.rs then stays quiet: the profile has its error).
fn slots(args: &Args<'_>, diags: &mut Vec<Diagnostic>) {
    use crate::error::Failure;
    let Some(n) = args
        .parsed
        .last_value("--parallel")
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let (Some(span), Err(e)) = (args.span_of("--parallel"), crate::budget::within_max_seq(n))
    else {
        return;
    };
    let crate::budget::PlanError::OutOfRange {
        flag,
        value,
        limit,
        limit_what,
        ..
    } = &e
    else {
        return;
    };
    diags.push(
        Diagnostic::error(
            e.code(),
            format!("{flag} {value} is beyond {limit_what} ({limit})"),
        )
        .at(span)
        .label("llama-server refuses this at load")
        .help(e.help()),
    );
}

fn bench_samplers(p: &Profile, args: &Args<'_>, diags: &mut Vec<Diagnostic>) {
    if p.bench_of().is_none() {
        return;
    }
    for flag in SAMPLER_FLAGS {
        if let Some(span) = args.span_of(flag) {
            diags.push(
                Diagnostic::warning("bench::sampler-flags", format!("benchmark profile sets `{flag}`"))
                    .at(span)
                    .label("sampler flag in a bench profile")
                    .help("the benchmark client sends its own sampling (temperature 0); drop sampler flags from bench-* profiles"),
            );
        }
    }
}
