//! A launch the memory model refuses (`budget::PlanError`): a KV cache type llama.cpp rejects
//! for this model, more sequences than `LLAMA_MAX_SEQ`, a context beyond what can be modelled.
//! `plan`, `render` and `start` stop there, and llama-server exits 1 on the first two; `check`
//! used to pass such a profile when the setting came from profilec.toml's `[defaults]` or had no
//! rule of its own (issue 12). Reported at the setting when the profile wrote it, else at MODEL,
//! unless an earlier rule already gave the profile an error.

use crate::budget::{KvError, PlanError};
use crate::config::{Conf, Profile};
use crate::diag::{Diagnostic, Severity};
use crate::error::Failure;
use crate::resolve::{Effective, Origin, Setting};

pub(super) fn report(
    conf: &Conf,
    p: &Profile,
    eff: &Effective,
    e: &PlanError,
    out: &mut Vec<Diagnostic>,
) {
    // An unreadable model is `model_rules`' error at MODEL.
    if matches!(e, PlanError::Gguf(_)) || has_an_error(conf, p, out) {
        return;
    }
    let flag = flag_of(e);
    let setting = flag.and_then(|f| eff.get(f));
    let model = p
        .model
        .as_ref()
        .map_or(p.id.span.clone(), |m| m.span.clone());
    let written = setting.and_then(|s| s.span.clone());
    let span = written.clone().unwrap_or(model);
    let label = match (setting, &written) {
        (Some(_), Some(_)) | (None, _) => "llama-server refuses this launch".to_string(),
        (Some(s), None) => format!(
            "`{} {}` comes from {}",
            s.flag(),
            s.values.join(" "),
            origin_name(s.origin)
        ),
    };
    out.push(
        Diagnostic::error(e.code(), e.to_string())
            .at(span)
            .label(label)
            .help(help(e, setting, written.is_none())),
    );
}

/// The option a refusal is about.
fn flag_of(e: &PlanError) -> Option<&'static str> {
    match e {
        PlanError::Kv(KvError::BlockSize { which, .. }) if *which == "V" => Some("--cache-type-v"),
        PlanError::Kv(KvError::BlockSize { .. }) => Some("--cache-type-k"),
        PlanError::Kv(KvError::QuantizedVWithoutFa(_)) => Some("--flash-attn"),
        PlanError::OutOfRange { flag, .. } => Some(flag),
        _ => None,
    }
}

/// Whether an earlier rule already gave this profile an error: the plan's refusal is then
/// usually the same problem seen again (`model::kv-block-size` on the `-ctk`,
/// `place::unknown-device` on the `-ot`), and `plan` refuses a profile with errors anyway.
fn has_an_error(conf: &Conf, p: &Profile, out: &[Diagnostic]) -> bool {
    let lines = conf.doc.lines();
    let section = lines[p.header_line].text.start..lines[p.last_entry_line].eol.end;
    out.iter().any(|d| {
        d.severity == Severity::Error && d.span.as_ref().is_some_and(|s| section.contains(&s.start))
    })
}

fn origin_name(o: Origin) -> &'static str {
    match o {
        Origin::Defaults => "profilec.toml's [defaults]",
        Origin::Strategy => "the profile's STRATEGY",
        Origin::Runtime => "profilec.toml's [runtime]",
        _ => "outside the profile",
    }
}

fn help(e: &PlanError, setting: Option<&Setting>, elsewhere: bool) -> String {
    let fix = match e {
        PlanError::Kv(KvError::QuantizedVWithoutFa(_)) => {
            "turn flash attention on (`-fa on`) or use `-ctv f16`".to_string()
        }
        PlanError::Kv(KvError::BlockSize { .. }) => format!(
            "use `{} f16` (or bf16/f32) for this model; llama-server exits 1 at start with \"does not divide n_embd_head\"",
            setting.map_or("--cache-type-k", Setting::flag)
        ),
        _ => e.help(),
    };
    match setting {
        Some(s) if elsewhere => format!(
            "{fix}; the setting comes from {}: override it in this profile's EXTRA_ARGS",
            origin_name(s.origin)
        ),
        _ => fix,
    }
}
