//! `check` of a llama-swap `matrix`: a set llama-swap would refuse (bad DSL, an unknown model, a
//! `+ref` loop, more than 1000 combinations), and, with a profilec.toml, a combination of a set
//! whose models do not fit together. llama-swap keeps the requested model's set running and
//! stops the rest (super::llama_swap_matrix), so every combination of a set may run at once.

use std::collections::BTreeMap;

use super::llama_swap_check::{Planner, SwapMatrix, SwapModel, key_span};
use super::llama_swap_matrix::{MAX_COMBINATIONS, expand};
use crate::diag::Diagnostic;

/// Every problem of matrix `m`: errors for what llama-swap refuses, warnings (with `planner`)
/// for combinations that do not fit.
pub(super) fn check_matrix(
    source: &str,
    m: &SwapMatrix,
    models: &BTreeMap<String, SwapModel>,
    planner: Option<&mut Planner>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let (expanded, failed) = expand_all(m);
    for (name, why) in failed {
        out.push(at(
            source,
            &name,
            Diagnostic::error("llama-swap::bad-set", format!("matrix set `{name}`: {why}"))
                .label("llama-swap refuses this set")
                .help("sets are model names or vars joined by `&` (together) and `|` (either), with `(…)` and `+set`; `profilec render --all --format llama-swap-matrix` writes sets that fit"),
        ));
    }
    let total: usize = expanded.values().map(Vec::len).sum();
    if total > MAX_COMBINATIONS {
        out.push(
            Diagnostic::error(
                "llama-swap::bad-set",
                format!("the matrix sets expand to {total} combinations; llama-swap reads at most {MAX_COMBINATIONS}"),
            )
            .help("drop sets, or write fewer alternatives (`|`) per set"),
        );
    }
    let mut planner = planner;
    for (name, combos) in &expanded {
        let mut unknown = Vec::new();
        for combo in combos {
            let ids: Vec<String> = combo
                .iter()
                .map(|w| m.vars.get(w).cloned().unwrap_or_else(|| w.clone()))
                .collect();
            unknown.extend(ids.iter().filter(|id| !models.contains_key(*id)).cloned());
            if let Some(p) = planner.as_mut()
                && ids.iter().all(|id| models.contains_key(id))
                && let Some((who, over)) = p.overflow(&ids)
            {
                out.push(at(
                    source,
                    name,
                    Diagnostic::warning(
                        "llama-swap::set-does-not-fit",
                        format!("matrix set `{name}` lets {who} run together, but they do not fit: over on {over}"),
                    )
                    .label("a combination that does not fit")
                    .help("remove a model from this combination, or regenerate the matrix with `profilec render --all --format llama-swap-matrix` (every set that fits)"),
                ));
            }
        }
        unknown.sort();
        unknown.dedup();
        if !unknown.is_empty() {
            out.push(at(
                source,
                name,
                Diagnostic::error(
                    "llama-swap::bad-set",
                    format!(
                        "matrix set `{name}` names {}, neither a var nor a model",
                        unknown.join(", ")
                    ),
                )
                .label("llama-swap refuses this set")
                .help("use a key of `models:` or of `matrix.vars`"),
            ));
        }
    }
    out
}

fn at(source: &str, name: &str, d: Diagnostic) -> Diagnostic {
    match key_span(source, "sets:", name) {
        Some(span) => d.at(span),
        None => d,
    }
}

type Combos = Vec<Vec<String>>;

/// Each set's combinations, sets expanded after the sets they name with `+` (in any order, as
/// llama-swap sorts them); the sets that cannot be expanded, with why.
fn expand_all(m: &SwapMatrix) -> (BTreeMap<String, Combos>, Vec<(String, String)>) {
    let mut done: BTreeMap<String, Combos> = BTreeMap::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut pending: Vec<(&String, &String)> = m.sets.iter().collect();
    while !pending.is_empty() {
        let mut waiting = Vec::new();
        for (name, dsl) in pending.iter().copied() {
            match expand(dsl, &done) {
                Ok(c) => {
                    done.insert(name.clone(), c);
                }
                Err(why) if why.starts_with("`+") && refers_to_pending(dsl, &m.sets, &done) => {
                    waiting.push((name, dsl));
                }
                Err(why) => failed.push((name.clone(), why)),
            }
        }
        if waiting.len() == pending.len() {
            // No set expanded in this round: the rest name each other in a loop.
            failed.extend(
                waiting
                    .iter()
                    .map(|(n, _)| ((*n).clone(), "its `+` references form a loop".to_string())),
            );
            break;
        }
        pending = waiting;
    }
    (done, failed)
}

/// Whether `dsl` names with `+` a set that exists but is not expanded yet.
fn refers_to_pending(
    dsl: &str,
    sets: &BTreeMap<String, String>,
    done: &BTreeMap<String, Combos>,
) -> bool {
    dsl.split('+').skip(1).any(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .collect();
        sets.contains_key(&name) && !done.contains_key(&name)
    })
}
