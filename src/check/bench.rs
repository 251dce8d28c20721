use crate::config::Conf;
use crate::diag::Diagnostic;

/// `bench-<id>` profiles measure `<id>`: the twin must exist and run the same model.
pub fn check(conf: &Conf, diags: &mut Vec<Diagnostic>) {
    for p in &conf.profiles {
        let Some(twin_id) = p.bench_of() else {
            continue;
        };
        match conf.profile(twin_id) {
            None => diags.push(
                Diagnostic::warning("bench::no-twin", format!("benchmark profile `[{}]` has no production profile `[{twin_id}]`", p.id.value))
                    .at(p.id.span.clone())
                    .label("no twin")
                    .help(format!("add `[{twin_id}]`, or rename this profile; benchmark results are reported against the production profile")),
            ),
            Some(twin) => {
                if let (Some(a), Some(b)) = (&p.model, &twin.model)
                    && a.value != b.value
                {
                    diags.push(
                        Diagnostic::warning("bench::model-differs", format!("`[{}]` benchmarks a different MODEL than `[{twin_id}]`", p.id.value))
                            .at(a.span.clone())
                            .label("differs from the production profile")
                            .related(b.span.clone(), "production MODEL")
                            .help("a benchmark twin should run the same model file as the profile it measures"),
                    );
                }
            }
        }
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
