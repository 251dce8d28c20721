//! print(parse(x)) == x for any input, and loading never panics or produces a span that does not
//! slice the source.

use profilec::check::check_source;
use profilec::syntax::{Document, LineKind};
use proptest::prelude::*;

fn conf_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_string()),
        Just("]".to_string()),
        Just("=".to_string()),
        Just("#".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just("\u{FEFF}".to_string()),
        Just("NAME".to_string()),
        Just("EXTRA_ARGS=-ot blk\\.([0-9]|1[01])\\.=CUDA0,exps=CPU".to_string()),
        Just("[glm-flash-q4]\n".to_string()),
        Just("—→".to_string()),
        "[a-zA-Z0-9_.-]{1,8}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn print_parse_is_identity(text in conf_like()) {
        prop_assert_eq!(Document::parse(text.clone()).print(), text);
    }

    #[test]
    fn arbitrary_strings_round_trip(text in any::<String>()) {
        prop_assert_eq!(Document::parse(text.clone()).print(), text);
    }

    #[test]
    fn check_never_panics_and_spans_slice_the_source(text in conf_like()) {
        let report = check_source(text.clone(), None);
        for d in &report.diagnostics {
            if let Some(s) = &d.span {
                prop_assert!(text.get(s.clone()).is_some(), "{:?} {:?}", d.code, s);
            }
            for r in &d.related {
                prop_assert!(text.get(r.span.clone()).is_some());
            }
        }
    }
}

#[test]
fn keeps_bom_crlf_trailing_blanks_and_missing_final_newline() {
    let text = "\u{FEFF}# c\r\n[a]\r\nNAME=x  \r\nMODEL=m.gguf";
    let doc = Document::parse(text);
    assert!(doc.has_bom());
    assert_eq!(doc.print(), text);
    assert_eq!(doc.dominant_eol(), "\r\n");
    assert_eq!(doc.lines().len(), 4);
    assert!(matches!(doc.lines()[2].kind, LineKind::Entry { .. }));
    assert_eq!(doc.slice(&doc.lines()[3].eol), "");
}

#[test]
fn value_is_verbatim_after_the_first_equals() {
    let doc = Document::parse("EXTRA_ARGS=-ot blk\\.(1[2-5])\\.=CUDA1 # not a comment\n");
    let LineKind::Entry { key, value, .. } = &doc.lines()[0].kind else {
        panic!("entry expected");
    };
    assert_eq!(doc.slice(key), "EXTRA_ARGS");
    assert_eq!(
        doc.slice(value),
        "-ot blk\\.(1[2-5])\\.=CUDA1 # not a comment"
    );
}
