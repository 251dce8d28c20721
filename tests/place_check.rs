//! Model-aware rules of `check`: real GGUF fixtures copied into a temporary models directory,
//! every code at its exact line and column.

use std::path::Path;

use crate::support::fixture;
use profilec::check::check_source;
use profilec::diag::{Severity, line_col};

/// A models directory holding `files` as `(fixture, name under the directory)`.
fn models_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in files {
        let dest = dir.path().join(to);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(fixture(from), dest).unwrap();
    }
    dir
}

/// `(code, line, column)` of every diagnostic.
fn check(text: &str, dir: &Path) -> Vec<(&'static str, usize, usize)> {
    check_source(text, Some(dir))
        .diagnostics
        .iter()
        .map(|d| {
            let (line, col) = d.span.as_ref().map_or((0, 0), |s| line_col(text, s.start));
            (d.code, line, col)
        })
        .collect()
}

#[test]
fn dense_model_with_expert_rule() {
    let dir = models_dir(&[("llama-gqa.gguf", "llama-gqa.gguf")]);
    let text = "[dense]\nNAME=d\nMODEL=llama-gqa.gguf\nFIT=off\nEXTRA_ARGS=--jinja -ot exps=CPU\n";
    assert_eq!(
        check(text, dir.path()),
        [("place::no-expert-tensors", 5, 24)]
    );
    let report = check_source(text, Some(dir.path()));
    assert_eq!(report.diagnostics[0].severity, Severity::Error);
}

#[test]
fn recurrent_model_without_no_context_shift() {
    let dir = models_dir(&[
        ("qwen3next-hybrid.gguf", "next.gguf"),
        ("lfm2-hybrid.gguf", "lfm2.gguf"),
    ]);
    let text = "[a]\nNAME=a\nMODEL=next.gguf\nFIT=off\nEXTRA_ARGS=--jinja -np 1\n\n\
                [b]\nNAME=b\nMODEL=lfm2.gguf\n\n\
                [c]\nNAME=c\nMODEL=next.gguf\nEXTRA_ARGS=--jinja --no-context-shift\n\n\
                [d]\nNAME=d\nMODEL=next.gguf\nEXTRA_ARGS=--context-shift\n";
    assert_eq!(
        check(text, dir.path()),
        [
            ("model::context-shift-recurrent", 5, 12),
            ("model::context-shift-recurrent", 9, 7),
            ("model::context-shift-recurrent", 19, 12),
        ]
    );
}

#[test]
fn context_above_trained() {
    let dir = models_dir(&[("gemma3-swa.gguf", "g.gguf")]);
    let text = "[a]\nNAME=a\nMODEL=g.gguf\nCTX_SIZE=8192\n\n\
                [b]\nNAME=b\nMODEL=g.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=--jinja -c 16384\n\n\
                [c]\nNAME=c\nMODEL=g.gguf\nCTX_SIZE=4096\n\n\
                [d]\nNAME=d\nMODEL=g.gguf\nCTX_SIZE=32768\nEXTRA_ARGS=--rope-scaling yarn\n";
    let got = check(text, dir.path());
    let ctx: Vec<_> = got
        .iter()
        .filter(|d| d.0 == "model::ctx-above-trained")
        .collect();
    assert_eq!(
        ctx,
        [
            &("model::ctx-above-trained", 4, 10),
            &("model::ctx-above-trained", 10, 20)
        ]
    );
    let report = check_source(text, Some(dir.path()));
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == "model::ctx-above-trained")
        .unwrap();
    assert_eq!(
        d.message,
        "context 8192 is above the model's trained context of 4096 tokens"
    );
}

#[test]
fn moe_with_tensor_split_only() {
    let dir = models_dir(&[
        ("qwen3moe.gguf", "moe.gguf"),
        ("llama-gqa.gguf", "dense.gguf"),
    ]);
    let text = "[moe]\nNAME=m\nMODEL=moe.gguf\nFIT=off\nEXTRA_ARGS=--tensor-split 1,1\n\n\
                [dense]\nNAME=d\nMODEL=dense.gguf\nFIT=off\nEXTRA_ARGS=--tensor-split 1,1\n";
    assert_eq!(
        check(text, dir.path()),
        [("place::moe-tensor-split", 5, 12)]
    );
}

#[test]
fn unreadable_gguf_is_one_error_per_profile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.gguf"),
        b"NOTAGGUF and then some bytes",
    )
    .unwrap();
    let text = "[a]\nNAME=a\nMODEL=broken.gguf\n\n[b]\nNAME=b\nMODEL=broken.gguf\n";
    assert_eq!(
        check(text, dir.path()),
        [("gguf::not-gguf", 3, 7), ("gguf::not-gguf", 7, 7)]
    );
}

#[test]
fn split_model_opens_and_missing_shard_is_reported_once() {
    let shards = [
        (
            "split-llama-00001-of-00003.gguf",
            "s/split-llama-00001-of-00003.gguf",
        ),
        (
            "split-llama-00002-of-00003.gguf",
            "s/split-llama-00002-of-00003.gguf",
        ),
        (
            "split-llama-00003-of-00003.gguf",
            "s/split-llama-00003-of-00003.gguf",
        ),
    ];
    let text = "[s]\nNAME=s\nMODEL=s/split-llama-00001-of-00003.gguf\nCTX_SIZE=5000\nFIT=off\nEXTRA_ARGS=-ot blk\\.(0|1)\\.=CUDA0,blk\\.([2-5])\\.=CUDA1\n";
    let dir = models_dir(&shards);
    assert_eq!(
        check(text, dir.path()),
        [
            ("model::ctx-above-trained", 4, 10),
            ("place::layer-out-of-range", 6, 35)
        ]
    );
    let dir = models_dir(&shards[..2]);
    assert_eq!(check(text, dir.path()), [("model::missing-file", 3, 7)]);
}

#[test]
fn cpu_rule_first_is_reported_once() {
    let dir = models_dir(&[("qwen3moe.gguf", "moe.gguf")]);
    let text = "[m]\nNAME=m\nMODEL=moe.gguf\nFIT=off\nEXTRA_ARGS=-ot exps=CPU,blk\\.(0)\\.=CUDA0\n";
    assert_eq!(check(text, dir.path()), [("ot::cpu-rule-shadows", 5, 16)]);
}

#[test]
fn no_models_dir_no_model_rules() {
    let text = "[dense]\nNAME=d\nMODEL=llama-gqa.gguf\nFIT=off\nEXTRA_ARGS=--jinja -ot exps=CPU\n";
    assert!(check_source(text, None).diagnostics.is_empty());
}

/// A real corpus profile (48-layer GPT-OSS 120B split) pointed at the 4-layer gpt-oss fixture.
#[test]
fn corpus_profile_on_a_fixture_model() {
    let path = crate::support::root().join("tests/fixtures/corpus/models.conf.04e565a");
    let text = std::fs::read_to_string(path).unwrap();
    let dir = models_dir(&[("gpt-oss-mxfp4.gguf", "GPT-OSS-120b/gpt-oss-120b-F16.gguf")]);
    let line = |n: usize| text.lines().nth(n - 1).unwrap();
    assert_eq!(line(62), "MODEL=GPT-OSS-120b/gpt-oss-120b-F16.gguf");
    let col = |n: usize, needle: &str| line(n).find(needle).unwrap() + 1;
    let got = check(&text, dir.path());
    let model_aware =
        |d: &&(&str, usize, usize)| d.0.starts_with("place::") || d.0.starts_with("model::ctx");
    let in_profile: Vec<_> = got
        .iter()
        .filter(|d| (60..=66).contains(&d.1))
        .filter(model_aware)
        .copied()
        .collect();
    assert_eq!(
        in_profile,
        [
            ("model::ctx-above-trained", 63, 10),
            ("place::layer-out-of-range", 66, col(66, r"blk\.([0-9]")),
            ("place::layer-out-of-range", 66, col(66, r"blk\.(1[2-5]")),
            ("place::shadowed-rule", 66, col(66, "exps=CPU")),
        ]
    );
    // The bench twin uses the same file: read once, same findings at its lines.
    let twin: Vec<_> = got
        .iter()
        .filter(|d| (145..=151).contains(&d.1))
        .filter(model_aware)
        .map(|d| d.0)
        .collect();
    assert_eq!(
        twin,
        [
            "model::ctx-above-trained",
            "place::layer-out-of-range",
            "place::layer-out-of-range",
            "place::shadowed-rule"
        ]
    );
    // Every other profile's model is missing: model rules stay silent for them.
    assert!(got.iter().all(|d| !d.0.starts_with("place::")
        || (60..=66).contains(&d.1)
        || (145..=151).contains(&d.1)));
}

#[test]
fn corpus_checks_clean_without_models() {
    let dir = crate::support::root().join("tests/fixtures/corpus");
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let report = check_source(text, None);
        assert!(!report.has_errors());
        assert!(
            report
                .diagnostics
                .iter()
                .all(|d| !d.code.starts_with("place::"))
        );
    }
}
