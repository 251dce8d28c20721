//! Key and value rules inside one section: the key must name a llama-server option, the value
//! must be what that option accepts, and each option is set once.

use std::collections::HashMap;

use super::lines::is_ident;
use crate::diag::Diagnostic;
use crate::flags::{ValueKind, suggest, values};
use crate::preset::keys::{self, KeyTarget, VERSION_KEY};
use crate::preset::model::{Entry, Section};

/// llama.cpp `common_arg_utils::is_truthy` / `is_falsey`.
pub const TRUTHY: &[&str] = &["on", "enabled", "true", "1"];
pub const FALSY: &[&str] = &["off", "disabled", "false", "0"];

/// Options the router strips from every model (`unset_reserved_args`) or overwrites when it
/// starts the model (`update_args`: host, port, log colours), server-models.cpp.
const ROUTER_OWNED: &[(&str, &str)] = &[
    (
        "--host",
        "the router starts each model on its own loopback address",
    ),
    ("--port", "the router gives each model a free port"),
    ("--log-colors", "the router sets it to match its own output"),
    ("--ssl-key-file", "only the router serves TLS"),
    ("--ssl-cert-file", "only the router serves TLS"),
    ("--api-key", "only the router checks API keys"),
    ("--api-key-file", "only the router checks API keys"),
    ("--models-dir", "it is a router option"),
    ("--models-max", "it is a router option"),
    ("--models-preset", "it is a router option"),
    ("--models-autoload", "it is a router option"),
];

pub fn check(section: &Section, out: &mut Vec<Diagnostic>) {
    let mut by_key: HashMap<&str, &Entry> = HashMap::new();
    let mut by_option: HashMap<&'static str, Vec<&Entry>> = HashMap::new();
    for entry in &section.entries {
        if !is_ident(&entry.key) || entry.key == VERSION_KEY {
            continue;
        }
        if let Some(first) = by_key.insert(&entry.key, entry) {
            out.push(
                Diagnostic::error(
                    "preset::duplicate-key",
                    format!("`{}` is set twice in [{}]", entry.key, section.written),
                )
                .at(entry.key_span.clone())
                .label("llama-server keeps only this value")
                .related(first.key_span.clone(), "first set here")
                .help("keep one of the two lines"),
            );
            continue;
        }
        let Some(target) = keys::resolve(&entry.key) else {
            out.push(unknown(entry));
            continue;
        };
        by_option
            .entry(target.spec.canonical)
            .or_default()
            .push(entry);
        option(entry, &target, out);
    }
    for entries in by_option.values().filter(|v| v.len() > 1) {
        same_option(entries, out);
    }
}

// Spellings older llama.cpp builds and their docs use that b11434 folded into `load-mode`.
const LOAD_MODE: &[(&str, &str)] = &[
    (
        "mmap",
        "`load-mode = mmap` (or `none` to load without mmap)",
    ),
    ("no-mmap", "`load-mode = none`"),
    ("mlock", "`load-mode = mlock` or `load-mode = mmap+mlock`"),
    ("direct-io", "`load-mode = dio`"),
];

fn unknown(entry: &Entry) -> Diagnostic {
    let d = Diagnostic::error(
        "preset::unknown-key",
        format!("`{}` is not a llama-server option", entry.key),
    )
    .at(entry.key_span.clone())
    .label("llama-server refuses the file: \"option not recognized\"");
    if let Some((_, fix)) = LOAD_MODE.iter().find(|(k, _)| *k == entry.key) {
        return d.help(format!(
            "this llama-server build sets memory mapping with `load-mode`: write {fix}"
        ));
    }
    let dashed = entry.key.replace('_', "-");
    let guess = if keys::resolve(&dashed).is_some() {
        Some(dashed.as_str())
    } else {
        suggest::closest(&entry.key, keys::spellings())
    };
    match guess {
        Some(g) => d.help(format!("did you mean `{g}`?")),
        None => d.help(
            "a key is a flag of `llama-server --help` without its dashes (`ctx-size`, `c`) or its env name (`LLAMA_ARG_CTX_SIZE`)",
        ),
    }
}

fn option(entry: &Entry, target: &KeyTarget, out: &mut Vec<Diagnostic>) {
    let spec = target.spec;
    if spec.removed {
        out.push(
            Diagnostic::error(
                "preset::removed-flag",
                format!("`{}` has been removed from llama-server", entry.key),
            )
            .at(entry.key_span.clone())
            .label("the model's llama-server refuses to start with it")
            .help(
                spec.help
                    .trim_start_matches("the argument has been removed. ")
                    .to_string(),
            ),
        );
        return;
    }
    if spec.deprecated {
        out.push(
            Diagnostic::warning(
                "preset::deprecated-flag",
                format!("`{}` is deprecated", entry.key),
            )
            .at(entry.key_span.clone())
            .label("llama-server accepts it but ignores it")
            .help("remove the line"),
        );
    }
    if let Some((_, why)) = ROUTER_OWNED.iter().find(|(c, _)| *c == spec.canonical) {
        out.push(
            Diagnostic::warning(
                "preset::router-key",
                format!("`{}` has no effect in a model preset", entry.key),
            )
            .at(entry.key_span.clone())
            .label("ignored or overwritten by the router")
            .help(format!(
                "remove the line: {why}; pass it to the router's own command line instead"
            )),
        );
    }
    if target.negative_env {
        out.push(
            Diagnostic::warning(
                "preset::negative-env-key",
                format!("`{}` is not reversed in a preset", entry.key),
            )
            .at(entry.key_span.clone())
            .label(format!(
                "`{} = true` turns {} ON",
                entry.key, spec.canonical
            ))
            .help(format!(
                "write `{} = false` (or a `no-` spelling) to switch it off",
                spec.canonical.trim_start_matches('-')
            )),
        );
    }
    match &spec.kind {
        ValueKind::Bool | ValueKind::Switch => boolean(entry, target, out),
        ValueKind::IntPair => out.push(
            Diagnostic::error(
                "preset::two-values",
                format!(
                    "`{}` takes two values, which presets cannot pass",
                    entry.key
                ),
            )
            .at(entry.key_span.clone())
            .label("llama-server fails when it starts this model: \"option has two values\"")
            .help(format!(
                "remove it from the preset; pass `{} START END` on the router's command line",
                spec.canonical
            )),
        ),
        _ => out.extend(values::check(spec, &entry.value, entry.value_span.clone()).diagnostics),
    }
}

// A flag's value is compared with the truthy/falsy words; anything else counts as "on" for a
// switch and as "off"-reversed for a negated spelling, which is never what was meant.
fn boolean(entry: &Entry, target: &KeyTarget, out: &mut Vec<Diagnostic>) {
    let v = entry.value.as_str();
    if TRUTHY.contains(&v) || FALSY.contains(&v) {
        return;
    }
    let effect = if target.negated {
        format!(
            "llama-server reads it as `{} = true`",
            target.spec.canonical.trim_start_matches('-')
        )
    } else {
        "llama-server reads anything but a false word as on".to_string()
    };
    out.push(
        Diagnostic::error(
            "preset::invalid-bool",
            format!("`{v}` is not a boolean for `{}`", entry.key),
        )
        .at(entry.value_span.clone())
        .label(effect)
        .help("write one of on, enabled, true, 1 or off, disabled, false, 0"),
    );
}

// llama.cpp stores a section as a map sorted by key, then applies the keys in that order: of
// two spellings of one option the alphabetically last wins, not the later line.
fn same_option(entries: &[&Entry], out: &mut Vec<Diagnostic>) {
    let Some(winner) = entries.iter().max_by(|a, b| a.key.cmp(&b.key)) else {
        return;
    };
    let Some(first) = entries.first() else { return };
    let later = entries.get(1).unwrap_or(first);
    out.push(
        Diagnostic::error(
            "preset::same-option",
            format!("`{}` and `{}` set the same option", first.key, later.key),
        )
        .at(later.key_span.clone())
        .label(format!(
            "llama-server uses `{} = {}`",
            winner.key, winner.value
        ))
        .related(first.key_span.clone(), "also set here")
        .help("keep one spelling; llama-server applies keys in alphabetical order, not file order"),
    );
}
