use std::collections::HashMap;

use super::outline::{Outline, slice};
use crate::config::Conf;
use crate::diag::Diagnostic;

/// Each `bench-<id>` against its production twin `[<id>]`. `ids`: [`Outline::first_by_id`].
pub fn check(
    outline: &Outline,
    source: &str,
    ids: &HashMap<&str, usize>,
    diags: &mut Vec<Diagnostic>,
) {
    for p in &outline.profiles {
        let id = slice(source, &p.id);
        let Some(twin_id) = id.strip_prefix("bench-") else {
            continue;
        };
        match ids.get(twin_id).map(|&t| &outline.profiles[t]) {
            None => diags.push(
                Diagnostic::warning("bench::no-twin", format!("benchmark profile `[{id}]` has no production profile `[{twin_id}]`"))
                    .at(p.id.clone())
                    .label("no twin")
                    .help(format!("add `[{twin_id}]`, or rename this profile; benchmark results are reported against the production profile")),
            ),
            Some(twin) => {
                if let (Some(a), Some(b)) = (&p.model, &twin.model)
                    && slice(source, a) != slice(source, b)
                {
                    diags.push(
                        Diagnostic::warning("bench::model-differs", format!("`[{id}]` benchmarks a different MODEL than `[{twin_id}]`"))
                            .at(a.clone())
                            .label("differs from the production profile")
                            .related(b.clone(), "production MODEL")
                            .help("a benchmark twin should run the same model file as the profile it measures"),
                    );
                }
            }
        }
    }
}

/// What benchmark.sh drops from a benchmark profile.
pub fn check_each(conf: &Conf, diags: &mut Vec<Diagnostic>) {
    for p in conf.profiles.iter().filter(|p| p.bench_of().is_some()) {
        if let Some(ft) = &p.fit_target {
            diags.push(
                Diagnostic::warning("bench::fit-target-dropped", "benchmark.sh does not forward FIT_TARGET")
                    .at(ft.span.clone())
                    .label("ignored by benchmark.sh")
                    .help("set the margin in EXTRA_ARGS (`--fit-target …`) or in profilec.toml [defaults]"),
            );
        }
    }
}
