use std::collections::HashMap;

use crate::config::Conf;
use crate::diag::Diagnostic;

/// Duplicate ids: start.sh listed such a profile twice and merged the two sections' keys.
pub fn check(conf: &Conf, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &std::ops::Range<usize>> = HashMap::new();
    for p in &conf.profiles {
        match first.get(p.id.value.as_str()) {
            Some(span) => diags.push(
                Diagnostic::error(
                    "conf::duplicate-id",
                    format!("profile `[{}]` is defined twice", p.id.value),
                )
                .at(p.id.span.clone())
                .label("defined again here")
                .related((*span).clone(), "first defined here")
                .help("rename one of them (start.sh merged both sections' keys into one profile)"),
            ),
            None => {
                first.insert(&p.id.value, &p.id.span);
            }
        }
    }
    if conf.profiles.is_empty() {
        diags.push(
            Diagnostic::warning("conf::no-profiles", "the file defines no profile")
                .help("add a section: `[my-model]` followed by `NAME=…` and `MODEL=…` lines"),
        );
    }
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
