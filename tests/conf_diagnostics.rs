//! Each diagnostic code of the front end, with the exact line and column it points at.

use std::fs;

use profilec::check::check_source;
use profilec::diag::{Severity, line_col};

/// (code, severity, start line, start col, end line, end col) of every diagnostic.
fn diags(text: &str) -> Vec<(&'static str, Severity, usize, usize, usize, usize)> {
    check_source(text, None)
        .diagnostics
        .iter()
        .map(|d| {
            let s = d.span.clone().unwrap_or(0..0);
            let (l, c) = line_col(text, s.start);
            let (el, ec) = line_col(text, s.end);
            (d.code, d.severity, l, c, el, ec)
        })
        .collect()
}

fn only(text: &str, code: &str) -> (usize, usize, usize, usize) {
    let found: Vec<_> = diags(text).into_iter().filter(|d| d.0 == code).collect();
    assert_eq!(found.len(), 1, "{code} in {:?}", diags(text));
    let (_, _, l, c, el, ec) = found[0];
    (l, c, el, ec)
}

const OK: &str = "[a]\nNAME=A\nMODEL=a.gguf\n";

#[test]
fn clean_profile_has_no_diagnostics() {
    assert_eq!(diags(OK), vec![]);
}

#[test]
fn invalid_header_character() {
    let text = "[a]\nNAME=A\nMODEL=a.gguf\n[qwen3.5-q4]\nNAME=B\nMODEL=b.gguf\n";
    assert_eq!(only(text, "conf::invalid-header"), (4, 7, 4, 8));
    // The keys under the invalid header must not land in profile `a`.
    let report = check_source(text, None);
    assert_eq!(report.conf.profiles.len(), 1);
    assert_eq!(
        report.conf.profiles[0]
            .model
            .as_ref()
            .map(|m| m.value.as_str()),
        Some("a.gguf")
    );
}

#[test]
fn header_without_closing_bracket() {
    assert_eq!(only("[a\nNAME=A\n", "conf::invalid-header"), (1, 1, 1, 3));
}

#[test]
fn text_after_header() {
    assert_eq!(
        only("[a] x\nNAME=A\nMODEL=m\n", "conf::invalid-header"),
        (1, 5, 1, 6)
    );
}

#[test]
fn duplicate_id() {
    let text = format!("{OK}[a]\nNAME=B\nMODEL=b.gguf\n");
    assert_eq!(only(&text, "conf::duplicate-id"), (4, 2, 4, 3));
}

#[test]
fn duplicate_key() {
    assert_eq!(
        only("[a]\nNAME=A\nMODEL=a.gguf\nNAME=B\n", "conf::duplicate-key"),
        (4, 1, 4, 5)
    );
}

#[test]
fn unknown_key_suggests_the_known_one() {
    let text = "[a]\nNAME=A\nMODEL=a.gguf\nCTX_SZE=4096\n";
    assert_eq!(only(text, "conf::unknown-key"), (4, 1, 4, 8));
    let report = check_source(text, None);
    let help = report.diagnostics[0].help.clone().unwrap_or_default();
    assert!(help.contains("did you mean `CTX_SIZE`"), "{help}");
}

#[test]
fn spaces_around_equals() {
    assert_eq!(
        only("[a]\nNAME=A\nMODEL = a.gguf\n", "conf::space-around-equals"),
        (3, 6, 3, 9)
    );
}

#[test]
fn key_before_first_section() {
    assert_eq!(
        only(
            "CTX_SIZE=1\n[a]\nNAME=A\nMODEL=m\n",
            "conf::key-outside-section"
        ),
        (1, 1, 1, 11)
    );
}

#[test]
fn stray_line() {
    assert_eq!(
        only("[a]\nNAME=A\nMODEL=m\njust words\n", "conf::stray-line"),
        (4, 1, 4, 11)
    );
}

#[test]
fn bad_values() {
    let text = "[a]\nNAME=A\nMODEL=m\nCTX_SIZE=128k\nN_GPU_LAYERS=most\nFIT=yes\nFIT_TARGET=128,x\nSTRATEGY=E\n";
    let found: Vec<_> = diags(text)
        .into_iter()
        .filter(|d| d.0 == "conf::bad-value")
        .map(|d| (d.2, d.3, d.5))
        .collect();
    assert_eq!(
        found,
        vec![
            (4, 10, 14),
            (5, 14, 18),
            (6, 5, 8),
            (7, 12, 17),
            (8, 10, 11)
        ]
    );
}

#[test]
fn missing_model_and_name() {
    assert_eq!(only("[a]\nNAME=A\n", "conf::missing-model"), (1, 2, 1, 3));
    assert_eq!(only("[a]\nMODEL=m\n", "conf::missing-name"), (1, 2, 1, 3));
}

#[test]
fn fit_on_with_numeric_layers_is_a_warning() {
    let text = "[a]\nNAME=A\nMODEL=m\nN_GPU_LAYERS=99\nFIT=on\n";
    let d = diags(text);
    assert_eq!(
        d,
        vec![("fit::numeric-gpu-layers", Severity::Warning, 4, 14, 4, 16)]
    );
    // FIT=off is the pinned mode: a layer count is what it needs.
    assert_eq!(
        diags("[a]\nNAME=A\nMODEL=m\nN_GPU_LAYERS=99\nFIT=off\n"),
        vec![]
    );
}

#[test]
fn bench_without_twin() {
    assert_eq!(
        only("[bench-x]\nNAME=B\nMODEL=m\n", "bench::no-twin"),
        (1, 2, 1, 9)
    );
}

#[test]
fn bench_twin_with_other_model() {
    let text = "[x]\nNAME=X\nMODEL=a.gguf\n[bench-x]\nNAME=B\nMODEL=b.gguf\n";
    assert_eq!(only(text, "bench::model-differs"), (6, 7, 6, 13));
}

#[test]
fn model_paths() {
    assert_eq!(
        only(
            "[a]\nNAME=A\nMODEL=/models/a.gguf\n",
            "model::absolute-path"
        ),
        (3, 7, 3, 21)
    );
    assert_eq!(
        only(
            "[a]\nNAME=A\nMODEL=../a.gguf\n",
            "model::escapes-models-dir"
        ),
        (3, 7, 3, 16)
    );
    assert_eq!(
        only(
            "[a]\nNAME=A\nMODEL=x/m-00002-of-00003.gguf\n",
            "model::not-first-shard"
        ),
        (3, 7, 3, 30)
    );
}

#[test]
fn missing_model_file_and_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("Q")).expect("mkdir");
    fs::write(dir.path().join("Q/m-00001-of-00003.gguf"), b"x").expect("write");
    fs::write(dir.path().join("Q/m-00003-of-00003.gguf"), b"x").expect("write");
    fs::write(dir.path().join("here.gguf"), b"x").expect("write");
    let text = "[a]\nNAME=A\nMODEL=Q/m-00001-of-00003.gguf\n[b]\nNAME=B\nMODEL=gone.gguf\n[c]\nNAME=C\nMODEL=here.gguf\n";
    let report = check_source(text, Some(dir.path()));
    let missing: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "model::missing-file")
        .map(|d| {
            (
                line_col(text, d.span.clone().unwrap_or(0..0).start),
                d.message.clone(),
            )
        })
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert_eq!(missing[0].0, (3, 7));
    assert!(
        missing[0].1.contains("Q/m-00002-of-00003.gguf"),
        "{}",
        missing[0].1
    );
    assert!(!missing[0].1.contains("00001"), "{}", missing[0].1);
    assert_eq!(missing[1].0, (6, 7));
}

#[test]
fn absent_models_dir_is_one_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "[a]\nNAME=A\nMODEL=a.gguf\n[b]\nNAME=B\nMODEL=b.gguf\n";
    let report = check_source(text, Some(&dir.path().join("nope")));
    let codes: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| (d.code, d.severity))
        .collect();
    assert_eq!(codes, vec![("model::no-models-dir", Severity::Note)]);
}
