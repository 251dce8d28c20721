//! The models.conf pipeline on one generated input — check → resolve → plan → render — with the
//! invariants every stage must keep whatever the input. Shared by tests/fuzz_conf.rs and the
//! cargo-fuzz target fuzz/fuzz_targets/conf_pipeline.rs (included by path).

use std::path::Path;

use profilec::budget::Program;
use profilec::check::check_source_on;
use profilec::hardware::Hardware;
use profilec::project::{ResolvedProfile, plan_report};
use profilec::render::{render, sh_split};
use profilec::syntax::Document;

/// Runs every stage on `text` with `models_dir` and `hardware`; panics when an invariant breaks
/// (the fuzzers and proptest report the panic with the input).
pub fn run(text: &str, models_dir: &Path, hardware: &Hardware) {
    // Lossless: the tree prints back every byte.
    assert_eq!(Document::parse(text).print(), text, "print(parse(x)) != x");
    let mut report = check_source_on(text, Some(models_dir), Some(hardware));
    for d in &report.diagnostics {
        if let Some(s) = &d.span {
            assert!(
                text.get(s.clone()).is_some(),
                "{} span {s:?} out of range",
                d.code
            );
        }
        for r in &d.related {
            assert!(
                text.get(r.span.clone()).is_some(),
                "{} related span",
                d.code
            );
        }
    }
    let profiles = report.conf.profiles.clone();
    for profile in &profiles {
        let Ok(resolved) = ResolvedProfile::of_profile(
            profile,
            hardware,
            Program::LlamaServer,
            &mut report.models,
        ) else {
            continue;
        };
        if let Ok(plan) = plan_report(&resolved, 0) {
            let _ = plan.render_human();
            let _ = plan.fits();
        }
        let rendered = render(Path::new("llama-server"), &resolved.effective);
        let _ = rendered.to_json();
        // What `render --format sh` prints, when it prints, splits back into the same words.
        if let Ok(sh) = rendered.to_sh() {
            assert!(
                !sh.chars().any(|c| c.is_control() && c != '\t'),
                "control byte in sh output"
            );
            let words = sh_split(&sh).expect("sh output splits");
            assert_eq!(
                &words[1..],
                &rendered.argv[..],
                "sh output changes the argv"
            );
        }
    }
}

/// `plan --model MODEL -- ARGS` on a model file: reading, validating and planning it gives a
/// plan or a typed error.
pub fn plan_model(model: &Path, args: &str, hardware: &Hardware) {
    let words = sh_split(args).unwrap_or_default();
    let mut models = profilec::gguf::ModelCache::default();
    if let Ok(resolved) = ResolvedProfile::of_args(
        model,
        &words,
        hardware.machine(),
        Program::LlamaServer,
        &mut models,
    ) {
        if let Ok(plan) = plan_report(&resolved, 0) {
            let _ = plan.render_human();
        }
        let _ = resolved.suggestion();
        let _ = resolved.fit_prediction();
    }
}
