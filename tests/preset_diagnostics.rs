//! Every `preset::` code on a small input that llama-server b11434 reads the way the message
//! says (each case was run through `llama-server --models-preset`), with exact positions.

use profilec::diag::{Diagnostic, Severity, line_col};
use profilec::preset::check_preset_source;

/// `(severity, line, column, end_line, end_column)` of a diagnostic.
type At = (Severity, usize, usize, usize, usize);

/// The [`At`] of the only diagnostic with `code`.
fn at(src: &str, code: &str) -> At {
    let report = check_preset_source(src, None);
    let found: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .collect();
    assert_eq!(found.len(), 1, "{code} in {:#?}", report.diagnostics);
    let d = found[0];
    let span = d.span.clone().expect("span");
    let (l, c) = line_col(src, span.start);
    let (el, ec) = line_col(src, span.end);
    (d.severity, l, c, el, ec)
}

/// Asserts [`at`] for each `(source, code, expected)` case, naming the case that differs.
fn expect_at(cases: &[(&str, &str, At)]) {
    for (src, code, want) in cases {
        assert_eq!(at(src, code), *want, "{code} in {src:?}");
    }
}

fn codes(src: &str) -> Vec<&'static str> {
    check_preset_source(src, None)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

fn help(src: &str, code: &str) -> String {
    let report = check_preset_source(src, None);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == code)
        .expect(code);
    d.help.clone().unwrap_or_default()
}

use Severity::{Error, Note, Warning};

#[test]
fn clean_file_has_no_diagnostics() {
    let src = "version = 1\n; shared\n[*]\nc = 8192\njinja = true\n\n[m] # model\nhf = org/repo:Q4_K_M\nno-mmproj = on\nLLAMA_ARG_CACHE_RAM = 0\nload-on-startup = true\nstop-timeout = 5\n";
    assert!(codes(src).is_empty(), "{:?}", codes(src));
}

#[test]
fn syntax_errors_point_at_the_refused_bytes() {
    expect_at(&[
        (
            "\u{FEFF}[m]\nhf = a/b\n",
            "preset::bom",
            (Error, 1, 1, 1, 2),
        ),
        ("[m]\n  hf = a/b\n", "preset::indented", (Error, 2, 1, 2, 3)),
        (" [m]\nhf = a/b\n", "preset::indented", (Error, 1, 1, 1, 2)),
        ("[m]\nhf a/b\n", "preset::not-an-entry", (Error, 2, 1, 2, 7)),
        (
            "[m\nhf = a/b\n",
            "preset::unclosed-header",
            (Error, 1, 1, 1, 3),
        ),
        (
            "[m] x\nhf = a/b\n",
            "preset::text-after-header",
            (Error, 1, 5, 1, 6),
        ),
        ("[ ]\n", "preset::empty-section-name", (Error, 1, 1, 1, 4)),
        (
            "[m]\n--ctx-size = 1\nhf = a/b\n",
            "preset::bad-key",
            (Error, 2, 1, 2, 11),
        ),
    ]);
    assert!(help("[m]\n--ctx-size = 1\nhf = a/b\n", "preset::bad-key").contains("`ctx-size`"));
    // Comment lines and blank lines may be indented; a comment after `]` is fine.
    assert!(codes("  ; c\n\t\n[m] ; c\nhf = a/b\n").is_empty());
}

#[test]
fn value_cut_by_a_comment_character() {
    assert_eq!(
        at("[m]\nhf = a/b#c\n", "preset::value-cut"),
        (Warning, 2, 9, 2, 11)
    );
    let src = "[m]\nhf = a/b\nchat-template-kwargs = {\"x\": \"a ; b\"}\n";
    assert_eq!(at(src, "preset::value-cut"), (Warning, 3, 33, 3, 38));
    // A blank-separated comment after a complete value is an ordinary INI comment.
    assert!(codes("[m]\nhf = a/b   ; the repo\n").is_empty());
}

#[test]
fn unknown_keys_get_suggestions() {
    assert_eq!(
        at("[m]\nhf = a/b\nctx-sze = 1\n", "preset::unknown-key"),
        (Error, 3, 1, 3, 8)
    );
    assert!(help("[m]\nhf = a/b\nctx-sze = 1\n", "preset::unknown-key").contains("`ctx-size`"));
    // argv folds `_` to `-`; the preset loader does not.
    assert!(help("[m]\nhf = a/b\nctx_size = 1\n", "preset::unknown-key").contains("`ctx-size`"));
    assert!(help("[*]\nmmap = 1\n", "preset::unknown-key").contains("load-mode = mmap"));
}

#[test]
fn values_are_checked_as_llama_server_parses_them() {
    expect_at(&[
        (
            "[m]\nhf = a/b\njinja = yes\n",
            "preset::invalid-bool",
            (Error, 3, 9, 3, 12),
        ),
        (
            "[m]\nhf = a/b\nno-jinja = yes\n",
            "preset::invalid-bool",
            (Error, 3, 12, 3, 15),
        ),
    ]);
    let src = "[m]\nhf = a/b\nctx-size = 12k\n";
    assert_eq!(at(src, "args::invalid-value"), (Error, 3, 12, 3, 15));
    assert_eq!(
        at("[m]\nhf = a/b\nfa = maybe\n", "args::invalid-choice"),
        (Error, 3, 6, 3, 11)
    );
    // `-ot` values go through the tensor-override parser, spans placed in the file.
    let ot = codes("[m]\nhf = a/b\not = exps=NOPE\n");
    assert!(ot.iter().any(|c| c.starts_with("ot::")), "{ot:?}");
    assert_eq!(
        at(
            "[m]\nhf = a/b\ncontrol-vector-layer-range = 1 2\n",
            "preset::two-values"
        ),
        (Error, 3, 1, 3, 27)
    );
}

#[test]
fn keys_the_router_owns() {
    expect_at(&[
        (
            "[m]\nhf = a/b\nport = 8080\n",
            "preset::router-key",
            (Warning, 3, 1, 3, 5),
        ),
        (
            "[*]\nmodels-max = 2\n[m]\nhf = a/b\n",
            "preset::router-key",
            (Warning, 2, 1, 2, 11),
        ),
    ]);
}

#[test]
fn negative_env_name_is_not_reversed() {
    let src = "[m]\nhf = a/b\nLLAMA_ARG_NO_KV_UNIFIED = true\n";
    assert_eq!(at(src, "preset::negative-env-key"), (Warning, 3, 1, 3, 24));
}

#[test]
fn duplicates_within_and_across_sections() {
    let src = "[m]\nhf = a/b\nc = 1\nc = 2\n";
    assert_eq!(at(src, "preset::duplicate-key"), (Error, 4, 1, 4, 2));
    // `c` < `ctx-size`: llama.cpp applies keys sorted, so ctx-size wins whatever the order.
    let src = "[m]\nhf = a/b\nctx-size = 7\nc = 5\n";
    assert_eq!(at(src, "preset::same-option"), (Error, 4, 1, 4, 2));
    let report = check_preset_source(src, None);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == "preset::same-option")
        .expect("same");
    assert_eq!(d.label.as_deref(), Some("llama-server uses `ctx-size = 7`"));
    let src = "[m]\nhf = a/b\n[m]\nc = 5\n";
    assert_eq!(at(src, "preset::duplicate-section"), (Error, 3, 1, 3, 4));
    // Tags are canonicalised before names are compared.
    let src = "[m:q4_k_m]\nhf = a/b\n[m:Q4_K_M]\nhf = a/b\n";
    assert_eq!(at(src, "preset::duplicate-section"), (Error, 3, 1, 3, 11));
    // Keys before any header are the `default` section; `[default]` starts it over.
    let src = "c = 1\n[default]\nhf = a/b\n";
    assert_eq!(at(src, "preset::duplicate-section"), (Error, 2, 1, 2, 10));
}

#[test]
fn section_names_as_the_router_lists_them() {
    expect_at(&[
        (
            "[m ]\nhf = a/b\n",
            "preset::name-blanks",
            (Warning, 1, 2, 1, 4),
        ),
        (
            "[m:q4_k_m]\nhf = a/b\n",
            "preset::renamed-model",
            (Note, 1, 2, 1, 10),
        ),
    ]);
    assert!(help("[m:UD-q4_k_xl]\nhf = a/b\n", "preset::renamed-model").contains("[m:Q4_K_XL]"));
    assert_eq!(
        at("c = 1\n[m]\nhf = a/b\n", "preset::default-section"),
        (Warning, 1, 1, 1, 2)
    );
    // `version` alone does not make a model.
    assert!(codes("version = 1\n[m]\nhf = a/b\n").is_empty());
}

#[test]
fn models_must_name_a_file() {
    expect_at(&[
        ("[m]\nc = 1\n", "preset::no-model", (Warning, 1, 1, 1, 4)),
        (
            "[org/repo:Q8_0]\nc = 1\n",
            "preset::no-model",
            (Note, 1, 1, 1, 16),
        ),
    ]);
    assert!(
        codes("[*]\nmodel = /x.gguf\n[m]\nc = 1\n")
            .iter()
            .all(|c| *c != "preset::no-model")
    );
}

#[test]
fn model_files_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("here.gguf"), b"GGUF").expect("write");
    let src =
        "[a]\nmodel = here.gguf\n[b]\nmodel = gone.gguf\n[c]\nmodel = /nonexistent-dir/x.gguf\n";
    let report = check_preset_source(src, Some(dir.path()));
    let got: Vec<(&str, Option<usize>)> = report
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span.as_ref().map(|s| line_col(src, s.start).0)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("preset::missing-model-file", Some(4)),
            ("preset::model-not-checked", None)
        ]
    );
}
