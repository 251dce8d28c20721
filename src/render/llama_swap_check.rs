//! `check` on a llama-swap config.yaml (the file [`super::to_llama_swap`] writes, or a
//! hand-written one): a group whose members run together (`swap: false`) but do not fit together
//! on the machine described beside the file. Each member is planned from its `cmd` the way
//! `plan --together` plans profiles (docs/coresidency.md).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;

use super::sh_split;
use crate::coresidency::{args_plan, footprint, together};
use crate::diag::Diagnostic;
use crate::gguf::ModelCache;
use crate::hardware::Hardware;

#[derive(Deserialize, Default)]
struct SwapFile {
    #[serde(default)]
    models: BTreeMap<String, SwapModel>,
    #[serde(default)]
    groups: BTreeMap<String, SwapGroup>,
    #[serde(default)]
    routing: Option<Routing>,
}

#[derive(Deserialize)]
struct SwapModel {
    #[serde(default)]
    cmd: String,
}

#[derive(Deserialize)]
struct SwapGroup {
    /// llama-swap's default: only one member runs at a time.
    #[serde(default = "yes")]
    swap: bool,
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Routing {
    #[serde(default)]
    router: Option<Router>,
}

#[derive(Deserialize, Default)]
struct Router {
    #[serde(default)]
    settings: Option<Settings>,
}

#[derive(Deserialize, Default)]
struct Settings {
    #[serde(default)]
    groups: BTreeMap<String, SwapGroup>,
}

fn yes() -> bool {
    true
}

/// What `check` found in a llama-swap config.
pub struct SwapReport {
    pub models: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// Every problem `check` reports for llama-swap config text; the memory rule needs `hw`.
pub fn check_llama_swap(source: &str, hw: Option<&Hardware>) -> SwapReport {
    let file: SwapFile = match serde_saphyr::from_str(source) {
        Ok(f) => f,
        Err(e) => {
            let diagnostics = vec![
                Diagnostic::error("llama-swap::bad-yaml", format!("not a llama-swap config: {e}"))
                    .help("llama-swap reads YAML with a `models:` map; `profilec render --all --format llama-swap` writes one"),
            ];
            return SwapReport {
                models: 0,
                diagnostics,
            };
        }
    };
    let mut report = SwapReport {
        models: file.models.len(),
        diagnostics: Vec::new(),
    };
    let Some(hw) = hw else {
        return report;
    };
    let mut groups = file.groups;
    if let Some(s) = file.routing.and_then(|r| r.router).and_then(|r| r.settings) {
        groups.extend(s.groups);
    }
    let machine = hw.machine();
    let mut models = ModelCache::default();
    let out = &mut report.diagnostics;
    for (name, g) in groups
        .iter()
        .filter(|(_, g)| !g.swap && g.members.len() > 1)
    {
        let mut planned = Vec::new();
        let mut skipped = Vec::new();
        for id in &g.members {
            let plan = file
                .models
                .get(id)
                .ok_or_else(|| "not in models".to_string())
                .and_then(|m| args_plan(&cmd_args(&m.cmd), &machine, &mut models));
            match plan {
                Ok(p) => planned.push(footprint(id, &p, hw.runtime.cuda_overhead_mib)),
                Err(why) => skipped.push(format!("{id} ({why})")),
            }
        }
        let refs: Vec<_> = planned.iter().collect();
        let t = together(&refs, &machine);
        if t.fits {
            continue;
        }
        let over: Vec<String> = t
            .over()
            .map(|d| format!("{} by {:.2} MiB", d.name, d.over_mib))
            .collect();
        let not_planned = if skipped.is_empty() {
            String::new()
        } else {
            format!(" (not planned: {})", skipped.join(", "))
        };
        let mut d = Diagnostic::warning(
            "llama-swap::group-does-not-fit",
            format!(
                "group `{name}` runs {} together (swap: false), but they do not fit: over on {}{not_planned}",
                t.members.join(" + "),
                over.join(", ")
            ),
        )
        .label("these members do not fit together")
        .help("split the group, set `swap: true`, or regenerate it with `profilec render --all --format llama-swap` (groups of profiles that fit)");
        if let Some(span) = key_span(source, name) {
            d = d.at(span);
        }
        out.push(d);
    }
    report
}

/// The llama-server arguments of a `cmd`: its words after the program, `${PORT}` as a port.
fn cmd_args(cmd: &str) -> Vec<String> {
    sh_split(cmd)
        .unwrap_or_default()
        .into_iter()
        .skip(1)
        .map(|w| w.replace("${PORT}", "8080"))
        .collect()
}

/// Where group `name:` is written as a mapping key, for the diagnostic's span: the first such
/// key after a `groups:` line (a group may be named like a model), else anywhere.
fn key_span(source: &str, name: &str) -> Option<Range<usize>> {
    let groups = source
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .find(|(_, line)| line.trim_start().starts_with("groups:"))
        .map_or(0, |(start, _)| start);
    key_in(&source[groups..], name)
        .map(|r| r.start + groups..r.end + groups)
        .or_else(|| key_in(source, name))
}

fn key_in(source: &str, name: &str) -> Option<Range<usize>> {
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        for key in [
            format!("{name}:"),
            format!("\"{name}\":"),
            format!("'{name}':"),
        ] {
            if t.starts_with(&key) {
                let start = offset + indent;
                return Some(start..start + key.len() - 1);
            }
        }
        offset += line.len();
    }
    None
}
