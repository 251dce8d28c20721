//! `check` on a llama-swap config.yaml (the file [`super::to_llama_swap`] writes, or a
//! hand-written one): a group whose members run together (`swap: false`) but do not fit together
//! on the machine described beside the file, and a `matrix` set that does not fit
//! (super::llama_swap_matrix_check). Each member is planned from its `cmd` the way
//! `plan --together` plans profiles (docs/coresidency.md).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;

use super::llama_swap_matrix_check::check_matrix;
use super::sh_split;
use crate::coresidency::{Footprint, args_plan, footprint, together};
use crate::diag::Diagnostic;
use crate::gguf::ModelCache;
use crate::hardware::{Hardware, Machine};

#[derive(Deserialize, Default)]
struct SwapFile {
    #[serde(default)]
    models: BTreeMap<String, SwapModel>,
    #[serde(default)]
    groups: BTreeMap<String, SwapGroup>,
    #[serde(default)]
    routing: Option<Routing>,
    #[serde(default)]
    matrix: Option<SwapMatrix>,
}

/// llama-swap's `matrix`: short names of models and the DSL of each set
/// (super::llama_swap_matrix).
#[derive(Deserialize)]
pub(super) struct SwapMatrix {
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub sets: BTreeMap<String, String>,
}

#[derive(Deserialize)]
pub(super) struct SwapModel {
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
    #[serde(default)]
    matrix: Option<SwapMatrix>,
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
    let mut groups = file.groups;
    let mut matrices: Vec<SwapMatrix> = file.matrix.into_iter().collect();
    if let Some(s) = file.routing.and_then(|r| r.router).and_then(|r| r.settings) {
        groups.extend(s.groups);
        matrices.extend(s.matrix);
    }
    let mut planner = hw.map(|hw| Planner {
        models: &file.models,
        machine: hw.machine(),
        overhead_mib: hw.runtime.cuda_overhead_mib,
        cache: ModelCache::default(),
        planned: BTreeMap::new(),
    });
    let out = &mut report.diagnostics;
    if !groups.is_empty() && !matrices.is_empty() {
        let mut d = Diagnostic::error(
            "llama-swap::bad-set",
            "the config has both `groups` and `matrix`; llama-swap reads one or the other",
        )
        .label("llama-swap refuses the file")
        .help("keep one: `profilec render --all --format llama-swap` writes groups, `--format llama-swap-matrix` a matrix");
        if let Some(span) = key_span(source, "matrix:", "matrix") {
            d = d.at(span);
        }
        out.push(d);
    }
    for m in &matrices {
        out.extend(check_matrix(source, m, &file.models, planner.as_mut()));
    }
    let Some(mut planner) = planner else {
        return report;
    };
    for (name, g) in groups
        .iter()
        .filter(|(_, g)| !g.swap && g.members.len() > 1)
    {
        let Some((who, over)) = planner.overflow(&g.members) else {
            continue;
        };
        let mut d = Diagnostic::warning(
            "llama-swap::group-does-not-fit",
            format!(
                "group `{name}` runs {who} together (swap: false), but they do not fit: over on {over}"
            ),
        )
        .label("these members do not fit together")
        .help("split the group, set `swap: true`, or regenerate it with `profilec render --all --format llama-swap` (groups of profiles that fit)");
        if let Some(span) = key_span(source, "groups:", name) {
            d = d.at(span);
        }
        out.push(d);
    }
    report
}

/// The footprints of a config's models, each planned once from its `cmd`.
pub(super) struct Planner<'a> {
    models: &'a BTreeMap<String, SwapModel>,
    machine: Machine,
    overhead_mib: u64,
    cache: ModelCache,
    planned: BTreeMap<String, Result<Footprint, String>>,
}

impl Planner<'_> {
    fn footprint(&mut self, id: &str) -> Result<Footprint, String> {
        if let Some(done) = self.planned.get(id) {
            return done.clone();
        }
        let plan = self
            .models
            .get(id)
            .ok_or_else(|| "not in models".to_string())
            .and_then(|m| args_plan(&cmd_args(&m.cmd), &self.machine, &mut self.cache))
            .map(|p| footprint(id, &p, self.overhead_mib));
        self.planned.insert(id.to_string(), plan.clone());
        plan
    }

    /// `None` when `members` fit together; else who (`a + b`) and where they overflow
    /// (`CUDA0 by … MiB`, and the members that could not be planned).
    pub(super) fn overflow(&mut self, members: &[String]) -> Option<(String, String)> {
        let mut planned = Vec::new();
        let mut skipped = Vec::new();
        for id in members {
            match self.footprint(id) {
                Ok(f) => planned.push(f),
                Err(why) => skipped.push(format!("{id} ({why})")),
            }
        }
        let refs: Vec<_> = planned.iter().collect();
        let t = together(&refs, &self.machine);
        if t.fits {
            return None;
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
        Some((
            t.members.join(" + "),
            format!("{}{not_planned}", over.join(", ")),
        ))
    }
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

/// Where `name:` is written as a mapping key, for the diagnostic's span: the first such key
/// after a `section` line such as `groups:` (a group may be named like a model), else anywhere.
pub(super) fn key_span(source: &str, section: &str, name: &str) -> Option<Range<usize>> {
    let groups = source
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .find(|(_, line)| line.trim_start().starts_with(section))
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
