use std::collections::HashMap;

use super::outline::{Outline, slice};
use crate::config::Conf;
use crate::diag::Diagnostic;

/// Ids across the whole file: each defined once, at least one profile.
/// `first`: [`Outline::first_by_id`].
pub fn check(
    outline: &Outline,
    source: &str,
    first: &HashMap<&str, usize>,
    diags: &mut Vec<Diagnostic>,
) {
    for (i, p) in outline.profiles.iter().enumerate() {
        let id = slice(source, &p.id);
        let Some(&earlier) = first.get(id).filter(|&&f| f != i) else {
            continue;
        };
        diags.push(
            Diagnostic::error(
                "conf::duplicate-id",
                format!("profile `[{id}]` is defined twice"),
            )
            .at(p.id.clone())
            .label("defined again here")
            .related(outline.profiles[earlier].id.clone(), "first defined here")
            .help("rename one of them (start.sh merged both sections' keys into one profile)"),
        );
    }
    if outline.profiles.is_empty() {
        diags.push(
            Diagnostic::warning("conf::no-profiles", "the file defines no profile")
                .help("add a section: `[my-model]` followed by `NAME=…` and `MODEL=…` lines"),
        );
    }
}

/// The keys every profile needs.
pub fn check_each(conf: &Conf, diags: &mut Vec<Diagnostic>) {
    for p in &conf.profiles {
        if p.model.is_none() && p.entry(crate::config::Key::Model).is_none() {
            diags.push(
                Diagnostic::error(
                    "conf::missing-model",
                    format!("profile `[{}]` has no MODEL", p.id.value),
                )
                .at(p.id.span.clone())
                .label("MODEL is required")
                .help("add `MODEL=<path relative to the models directory>`"),
            );
        }
        if p.name.is_none() {
            diags.push(
                Diagnostic::warning(
                    "conf::missing-name",
                    format!("profile `[{}]` has no NAME", p.id.value),
                )
                .at(p.id.span.clone())
                .label("no NAME")
                .help("add `NAME=…`: start.sh's menu shows it"),
            );
        }
    }
}
