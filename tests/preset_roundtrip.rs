//! The preset tree is lossless: `print(parse(x)) == x` for any input, and the typed layer
//! reads the documentation's examples the way llama.cpp does.

use profilec::preset::{Preset, PresetDoc, PresetLineKind};
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    include_str!("fixtures/presets/docs-preset-hf.ini"),
    include_str!("fixtures/presets/docs-preset-named.ini"),
    include_str!("fixtures/presets/server-readme.ini"),
];

#[test]
fn fixtures_round_trip() {
    for src in FIXTURES {
        assert_eq!(PresetDoc::parse(*src).print(), *src);
        let crlf = src.replace('\n', "\r\n");
        assert_eq!(PresetDoc::parse(crlf.as_str()).print(), crlf);
        let cr = src.replace('\n', "\r");
        assert_eq!(PresetDoc::parse(cr.as_str()).print(), cr);
    }
}

#[test]
fn docs_example_sections_and_values() {
    let p = Preset::parse(FIXTURES[0]);
    let names: Vec<&str> = p.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["*", "Qwen3.5-4B", "gpt-oss-120b-hf"]);
    let last = &p.sections[2];
    let kwargs = last
        .entries
        .iter()
        .find(|e| e.key == "chat-template-kwargs")
        .expect("kwargs");
    assert_eq!(kwargs.value, r#"{"reasoning_effort": "high"}"#);
    assert_eq!(p.doc.slice(&kwargs.value_span), kwargs.value);
    assert_eq!(p.models().count(), 2);
}

#[test]
fn line_endings_and_comments_split_like_llama_cpp() {
    // A lone CR ends a line; a value stops before blanks and before `;`/`#`.
    let doc = PresetDoc::parse("[a]\rk = v ; c\r\nx = y#z  \n");
    let kinds: Vec<&PresetLineKind> = doc.lines().iter().map(|l| &l.kind).collect();
    assert_eq!(kinds.len(), 4);
    assert_eq!(kinds[3], &PresetLineKind::Blank);
    match kinds[1] {
        PresetLineKind::Entry { value, comment, .. } => {
            assert_eq!(doc.slice(value), "v");
            assert_eq!(comment.as_ref().map(|c| doc.slice(c)), Some("; c"));
        }
        other => panic!("not an entry: {other:?}"),
    }
    match kinds[2] {
        PresetLineKind::Entry { value, comment, .. } => {
            assert_eq!(doc.slice(value), "y");
            assert_eq!(comment.as_ref().map(|c| doc.slice(c)), Some("#z  "));
        }
        other => panic!("not an entry: {other:?}"),
    }
}

fn preset_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_string()),
        Just("]".to_string()),
        Just("[*]".to_string()),
        Just("=".to_string()),
        Just(" = ".to_string()),
        Just(";".to_string()),
        Just("#".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\u{FEFF}".to_string()),
        Just("ctx-size".to_string()),
        "[a-zA-Z0-9_.-]{1,8}",
        "\\PC{0,4}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_parse_is_identity(src in preset_like()) {
        prop_assert_eq!(PresetDoc::parse(src.as_str()).print(), src.clone());
        // The checker never panics and every span is inside the text.
        let report = profilec::preset::check_preset_source(src.as_str(), None);
        for d in &report.diagnostics {
            if let Some(s) = &d.span {
                prop_assert!(s.start <= s.end && s.end <= src.len());
            }
        }
    }

    #[test]
    fn print_parse_is_identity_any_text(src in "\\PC*") {
        prop_assert_eq!(PresetDoc::parse(src.as_str()).print(), src);
    }
}
