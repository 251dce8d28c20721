//! `check` with the model files and a profilec.toml beside the conf: the budget rules
//! (docs/diagnostics.md `budget::…`) on header-only models shaped like the corpus models, on the
//! reference rig (RTX 4090 + 5070 Ti, 64 GB).

use crate::solver_support;

use std::path::Path;

use profilec::check::{CheckOptions, CheckReport, MachineFor, check_file};
use profilec::diag::{Diagnostic, Severity};
use solver_support::models;

const CONF: &str = "\
[q8-pinned]
NAME=27B Q8 pinned
MODEL=qwen3.5-27b-ud-q8_k_xl.gguf
FIT=off
EXTRA_ARGS=-ngl 99 -c 262144 -np 1

[glm-none]
NAME=GLM Q8 on one GPU
MODEL=glm-4.7-flash-q8_0.gguf
FIT=off
EXTRA_ARGS=-ngl 99 --split-mode none -np 1

[glm-cmoe]
NAME=GLM Q4 experts on the CPU
MODEL=glm-4.7-flash-q4_k_m.gguf
FIT=off
EXTRA_ARGS=-ngl 99 -cmoe -np 1

[big-fit]
NAME=122B Q4 by fit
MODEL=qwen3.5-122b-a10b-ud-q4_k_xl.gguf
EXTRA_ARGS=-c 262144

[cuda2]
NAME=a third GPU
MODEL=glm-4.7-flash-q4_k_m.gguf
FIT=off
EXTRA_ARGS=-ngl 99 -ot exps=CUDA2 -np 1

[glm-fit]
NAME=GLM Q4 by fit
MODEL=glm-4.7-flash-q4_k_m.gguf

[glm-none-fit]
NAME=GLM Q8 on one GPU by fit
MODEL=glm-4.7-flash-q8_0.gguf
EXTRA_ARGS=--split-mode none

[q8-strategy]
NAME=27B Q8 placed by strategy B
MODEL=qwen3.5-27b-ud-q8_k_xl.gguf
FIT=off
STRATEGY=B
EXTRA_ARGS=-ngl 99 -c 262144 -np 1
";

fn write_toml(dir: &Path) {
    crate::support::write_rig_toml(dir, "profiles/profilec.toml", &models());
}

fn check(with_toml: bool) -> (CheckReport, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    if with_toml {
        write_toml(dir.path());
    }
    let conf = dir.path().join("models.conf");
    std::fs::write(&conf, CONF).expect("write conf");
    let opts = CheckOptions {
        models_dir: Some(models().to_path_buf()),
        ..Default::default()
    };
    (check_file(&conf, &opts).expect("check"), CONF.to_string())
}

fn in_profile<'a>(r: &'a CheckReport, id: &str) -> Vec<&'a Diagnostic> {
    let p = r.conf.profile(id).expect("profile");
    let start = p.id.span.start;
    let end = r
        .conf
        .profiles
        .iter()
        .map(|q| q.id.span.start)
        .filter(|&s| s > start)
        .min()
        .unwrap_or(usize::MAX);
    r.diagnostics
        .iter()
        .filter(|d| {
            d.span
                .as_ref()
                .is_some_and(|s| s.start >= start && s.start < end)
        })
        .filter(|d| d.code.starts_with("budget::") || d.code == "place::unknown-device")
        .collect()
}

fn text<'a>(src: &'a str, d: &Diagnostic) -> &'a str {
    d.span
        .as_ref()
        .and_then(|s| src.get(s.clone()))
        .unwrap_or("")
}

#[test]
fn budget_rules_on_the_reference_rig() {
    let (r, src) = check(true);

    let q8 = in_profile(&r, "q8-pinned");
    assert!(!q8.is_empty(), "{:?}", r.diagnostics);
    for d in &q8 {
        assert_eq!(d.code, "budget::does-not-fit");
        assert_eq!(d.severity, Severity::Error);
        assert!(d.message.contains("MiB over"), "{}", d.message);
        assert!(d.message.contains("FIT=off"), "{}", d.message);
    }
    assert!(q8.iter().any(|d| d.message.starts_with("CUDA0 needs ")));

    let none = in_profile(&r, "glm-none");
    assert_eq!(none.len(), 1, "{none:?}");
    assert_eq!(none[0].code, "budget::split-none-too-big");
    assert_eq!(none[0].severity, Severity::Error);
    assert_eq!(text(&src, none[0]), "--split-mode none");
    assert!(none[0].message.contains("on CUDA0"), "{}", none[0].message);
    assert!(
        none[0].message.ends_with("(FIT=off)"),
        "{}",
        none[0].message
    );

    let cmoe = in_profile(&r, "glm-cmoe");
    assert_eq!(cmoe.len(), 1, "{cmoe:?}");
    assert_eq!(cmoe[0].code, "budget::experts-fit-gpu");
    assert_eq!(cmoe[0].severity, Severity::Warning);
    assert_eq!(text(&src, cmoe[0]), "-cmoe");
    assert!(
        cmoe[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("--override-tensor")),
        "{:?}",
        cmoe[0].help
    );

    let big = in_profile(&r, "big-fit");
    assert_eq!(big.len(), 1, "{big:?}");
    assert_eq!(big[0].code, "budget::swap-risk");
    assert_eq!(big[0].severity, Severity::Warning);
    assert_eq!(text(&src, big[0]), "qwen3.5-122b-a10b-ud-q4_k_xl.gguf");
    assert!(
        big[0].message.starts_with("swap risk: "),
        "{}",
        big[0].message
    );

    let cuda2 = in_profile(&r, "cuda2");
    assert!(
        cuda2
            .iter()
            .any(|d| d.code == "place::unknown-device" && text(&src, d) == "CUDA2"),
        "{cuda2:?}"
    );

    assert!(in_profile(&r, "glm-fit").is_empty());

    // With fit on, llama.cpp would not OOM: fit moves layers to the CPU, and CUDA1 idles.
    let none_fit = in_profile(&r, "glm-none-fit");
    assert_eq!(none_fit.len(), 1, "{none_fit:?}");
    assert_eq!(none_fit[0].code, "budget::split-none-too-big");
    assert_eq!(text(&src, none_fit[0]), "--split-mode none");
    assert!(
        none_fit[0].message.ends_with("while the other GPUs idle"),
        "{}",
        none_fit[0].message
    );
}

/// check judges the launch `plan` and `render` use: with STRATEGY the solver's placement
/// replaces the profile's own `-ngl 99` (which `q8-pinned` shows over budget), so the same
/// profile placed by strategy B is within every budget.
#[test]
fn budget_rules_judge_the_strategys_placement() {
    let (r, _) = check(true);
    assert!(
        in_profile(&r, "q8-pinned")
            .iter()
            .any(|d| d.code == "budget::does-not-fit"),
        "{:?}",
        r.diagnostics
    );
    let placed = in_profile(&r, "q8-strategy");
    assert!(
        !placed.iter().any(|d| d.severity == Severity::Error),
        "{placed:?}"
    );
}

#[test]
fn without_a_machine_no_budget_rule_runs() {
    let (r, _) = check(false);
    assert!(
        !r.diagnostics
            .iter()
            .any(|d| d.code.starts_with("budget::") || d.code == "place::unknown-device"),
        "{:?}",
        r.diagnostics
    );
    // An explicit Skip also turns them off with a profilec.toml beside the file.
    let dir = tempfile::tempdir().expect("tempdir");
    write_toml(dir.path());
    let conf = dir.path().join("models.conf");
    std::fs::write(&conf, CONF).expect("write conf");
    let opts = CheckOptions {
        models_dir: Some(models().to_path_buf()),
        hardware: MachineFor::Skip,
    };
    let r = check_file(&conf, &opts).expect("check");
    assert!(!r.diagnostics.iter().any(|d| d.code.starts_with("budget::")));
}
