use crate::config::{Conf, Profile};
use crate::diag::Diagnostic;

/// Rules about what llama-server will be told: keys against each other, and EXTRA_ARGS.
pub fn check(conf: &Conf, diags: &mut Vec<Diagnostic>) {
    for p in &conf.profiles {
        fit_with_numeric_layers(p, diags);
    }
}

/// FIT on (llama-server's default) only places what the user left unset: a numeric layer
/// count makes it abort its placement, silently (the corpus' lesson 7).
fn fit_with_numeric_layers(p: &Profile, diags: &mut Vec<Diagnostic>) {
    let fit_on = p.fit.as_ref().is_none_or(|f| f.value);
    if let Some(ngl) = &p.n_gpu_layers
        && fit_on
        && ngl.value.is_numeric()
    {
        let mut d = Diagnostic::warning(
            "fit::numeric-gpu-layers",
            format!("N_GPU_LAYERS={} disables --fit's placement", ngl.value),
        )
        .at(ngl.span.clone())
        .label("fit gives up when the layer count is set")
        .help("use N_GPU_LAYERS=auto to let --fit place layers, or set FIT=off to pin the placement yourself");
        if let Some(f) = &p.fit {
            d = d.related(f.span.clone(), "FIT is on");
        }
        diags.push(d);
    }
}
