//! `--fit` (on by default in llama-server) places only what the user left unset. Each of these
//! settings makes it abort its placement with a log line nobody reads (llama.cpp common/fit.cpp),
//! so the profile runs with a placement it did not ask for: warnings, since such profiles do run.

use super::Args;
use crate::config::{GpuLayers, Profile};
use crate::diag::Diagnostic;

const FIX: &str = "set FIT=off to pin the placement yourself, or remove the setting and let --fit place the model";

pub fn check(p: &Profile, args: Option<&Args<'_>>, diags: &mut Vec<Diagnostic>) {
    let flag_fit = args.and_then(|a| {
        a.parsed
            .last_value("--fit")
            .map(|v| (v == "on", a.span_of("--fit")))
    });
    // EXTRA_ARGS comes after the keys on the command line, so its --fit wins.
    let fit_on = match (&flag_fit, &p.fit) {
        (Some((on, _)), _) => *on,
        (None, Some(key)) => key.value,
        (None, None) => true,
    };
    if !fit_on {
        return;
    }
    let fit_span = flag_fit
        .and_then(|(_, s)| s)
        .or_else(|| p.fit.as_ref().map(|f| f.span.clone()));
    let with_fit = |d: Diagnostic| match &fit_span {
        Some(s) => d.related(s.clone(), "FIT is on"),
        None => d,
    };

    if let Some(ngl) = &p.n_gpu_layers
        && ngl.value.is_numeric()
        && !args.is_some_and(|a| a.parsed.has("--n-gpu-layers"))
    {
        diags.push(with_fit(
            numeric_layers(&ngl.value.to_string()).at(ngl.span.clone()),
        ));
    }
    let Some(args) = args else { return };
    if let Some(v) = args.parsed.last_value("--n-gpu-layers")
        && GpuLayers::parse(v).is_ok_and(GpuLayers::is_numeric)
        && let Some(span) = args.span_of("--n-gpu-layers")
    {
        diags.push(with_fit(numeric_layers(v).at(span)));
    }
    let overrides = args.parsed.tensor_overrides();
    if let Some(first) = overrides.first() {
        let device = overrides.iter().find(|r| !r.buffer.is_cpu());
        let (message, span) = match device {
            Some(r) => (
                format!("`-ot …={}` assigns devices while --fit is on", r.buffer),
                r.span.start + args.offset..r.span.end + args.offset,
            ),
            None => (
                "tensor overrides make --fit give up its placement".to_string(),
                first.span.start + args.offset..first.span.end + args.offset,
            ),
        };
        diags.push(with_fit(
            Diagnostic::warning("fit::tensor-overrides", message)
                .at(span)
                .label("fit aborts when tensor overrides are set")
                .help(format!(
                    "{FIX}. With `-ot exps=CPU` and fit on, the GPUs were left nearly empty (21.7 vs 32.9 t/s in the corpus' measurements)"
                )),
        ));
    }
    if let Some(span) = args.span_of("--tensor-split") {
        diags.push(with_fit(
            Diagnostic::warning(
                "fit::tensor-split",
                "--tensor-split makes --fit give up its placement on more than one GPU",
            )
            .at(span)
            .label("fit aborts when the split is set")
            .help(FIX),
        ));
    }
    if args.parsed.last_value("--split-mode") == Some("row")
        && let Some(span) = args.span_of("--split-mode")
    {
        diags.push(with_fit(
            Diagnostic::warning(
                "fit::split-mode-row",
                "--fit cannot place layers with --split-mode row",
            )
            .at(span)
            .label("fit aborts with row split")
            .help(FIX),
        ));
    }
}

fn numeric_layers(n: &str) -> Diagnostic {
    Diagnostic::warning("fit::numeric-gpu-layers", format!("N_GPU_LAYERS={n} disables --fit's placement"))
        .label("fit gives up when the layer count is set")
        .help("use N_GPU_LAYERS=auto to let --fit place layers, or set FIT=off to pin the placement yourself")
}
