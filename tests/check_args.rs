//! EXTRA_ARGS rules of `check`: flag diagnostics placed in the file, keys against flags, batch
//! sizes, bench samplers, and what makes --fit give up.

use profilec::check::check_source;
use profilec::diag::{Severity, line_col};

type Hit = (Severity, (usize, usize), (usize, usize));

fn found(text: &str, code: &str) -> Vec<Hit> {
    check_source(text, None)
        .diagnostics
        .into_iter()
        .filter(|d| d.code == code)
        .map(|d| {
            let s = d.span.unwrap_or(0..0);
            (d.severity, line_col(text, s.start), line_col(text, s.end))
        })
        .collect()
}

const HEAD: &str = "[a]\nNAME=A\nMODEL=m.gguf\n";

#[test]
fn flag_diagnostics_point_into_the_file() {
    let text = format!("{HEAD}EXTRA_ARGS=--jinja --tmep 0.7\n");
    assert_eq!(
        found(&text, "args::unknown-flag"),
        vec![(Severity::Error, (4, 20), (4, 26))]
    );
    let text = format!("{HEAD}EXTRA_ARGS=-c=4096\n");
    assert_eq!(found(&text, "args::equals-value").len(), 1);
}

#[test]
fn flag_contradicting_a_key_is_an_error() {
    let text = format!("{HEAD}CTX_SIZE=65536\nEXTRA_ARGS=--jinja -c 4096\n");
    assert_eq!(
        found(&text, "args::contradicts-key"),
        vec![(Severity::Error, (5, 20), (5, 27))]
    );
    let text = format!("{HEAD}N_GPU_LAYERS=99\nFIT=off\nEXTRA_ARGS=-ngl 10\n");
    assert_eq!(found(&text, "args::contradicts-key").len(), 1);
    let text = format!("{HEAD}FIT=off\nEXTRA_ARGS=--fit on\n");
    assert_eq!(found(&text, "args::contradicts-key").len(), 1);
}

#[test]
fn flag_repeating_a_key_is_a_warning() {
    let text = format!("{HEAD}CTX_SIZE=4096\nEXTRA_ARGS=--ctx-size 4096\n");
    assert_eq!(
        found(&text, "args::repeats-key"),
        vec![(Severity::Warning, (5, 12), (5, 27))]
    );
    let text = format!("{HEAD}FIT_TARGET=128,1024\nEXTRA_ARGS=--fit-target 128/1024\n");
    assert_eq!(found(&text, "args::repeats-key").len(), 1);
}

#[test]
fn ubatch_equal_to_large_batch_warns() {
    let text = format!("{HEAD}EXTRA_ARGS=-b 2048 -ub 2048\n");
    assert_eq!(
        found(&text, "args::ubatch-equals-batch"),
        vec![(Severity::Warning, (4, 20), (4, 28))]
    );
    assert!(
        found(
            &format!("{HEAD}EXTRA_ARGS=-b 512 -ub 512\n"),
            "args::ubatch-equals-batch"
        )
        .is_empty()
    );
    assert_eq!(
        found(
            &format!("{HEAD}EXTRA_ARGS=-b 256 -ub 512\n"),
            "args::ubatch-above-batch"
        )
        .len(),
        1
    );
}

#[test]
fn bench_profiles_without_sampler_flags() {
    let text = format!(
        "{HEAD}[bench-a]\nNAME=B\nMODEL=m.gguf\nEXTRA_ARGS=--jinja --temp 0.7 --top-k 20\n"
    );
    let hits = found(&text, "bench::sampler-flags");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].1, (7, 20));
    assert!(
        found(
            &format!("{HEAD}EXTRA_ARGS=--temp 0.7\n"),
            "bench::sampler-flags"
        )
        .is_empty()
    );
}

#[test]
fn fit_on_with_device_overrides_warns() {
    // FIT unset: llama-server's default is on.
    let text = format!("{HEAD}EXTRA_ARGS=-ot blk\\.([0-9])\\.=CUDA0,exps=CPU\n");
    assert_eq!(
        found(&text, "fit::tensor-overrides"),
        vec![(Severity::Warning, (4, 16), (4, 36))]
    );
    let text =
        format!("{HEAD}FIT=off\nN_GPU_LAYERS=99\nEXTRA_ARGS=-ot blk\\.([0-9])\\.=CUDA0,exps=CPU\n");
    assert!(found(&text, "fit::tensor-overrides").is_empty());
    assert!(found(&text, "fit::numeric-gpu-layers").is_empty());
}

#[test]
fn fit_on_with_cpu_moe_or_split_or_numeric_ngl_flag_warns() {
    assert_eq!(
        found(
            &format!("{HEAD}EXTRA_ARGS=--cpu-moe\n"),
            "fit::tensor-overrides"
        )
        .len(),
        1
    );
    assert_eq!(
        found(&format!("{HEAD}EXTRA_ARGS=-ts 3,1\n"), "fit::tensor-split").len(),
        1
    );
    assert_eq!(
        found(
            &format!("{HEAD}EXTRA_ARGS=-sm row\n"),
            "fit::split-mode-row"
        )
        .len(),
        1
    );
    assert_eq!(
        found(
            &format!("{HEAD}EXTRA_ARGS=-ngl 99\n"),
            "fit::numeric-gpu-layers"
        ),
        vec![(Severity::Warning, (4, 12), (4, 19))]
    );
    // --fit off in EXTRA_ARGS wins over the default.
    assert!(
        found(
            &format!("{HEAD}EXTRA_ARGS=--fit off -ngl 99\n"),
            "fit::numeric-gpu-layers"
        )
        .is_empty()
    );
    assert!(
        found(
            &format!("{HEAD}EXTRA_ARGS=-ngl auto\n"),
            "fit::numeric-gpu-layers"
        )
        .is_empty()
    );
}
