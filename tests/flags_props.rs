//! Arbitrary input: token spans slice back to the token, nothing panics, spans stay in range.

use proptest::prelude::*;

use profilec::flags::{parse_args, parse_ot, tokenize};

fn args_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("-ot".to_string()),
        Just("--jinja".to_string()),
        Just("-np".to_string()),
        Just("-fa".to_string()),
        Just("--temp".to_string()),
        Just("-ctk".to_string()),
        Just("--control-vector-layer-range".to_string()),
        Just("--lora-scaled".to_string()),
        Just("--override-kv".to_string()),
        Just(r"blk\.(0|1)\.=CUDA0,exps=CPU".to_string()),
        "[-a-z0-9_=,.:\\\\()\\[\\]{}?!|*+^$éß→]{0,12}",
    ];
    prop::collection::vec((word, "[ \t\n]{1,3}"), 0..12)
        .prop_map(|v| v.into_iter().map(|(w, s)| w + &s).collect())
}

proptest! {
    #[test]
    fn token_spans_slice_back(src in any::<String>()) {
        let tokens = tokenize(&src);
        for t in &tokens {
            prop_assert_eq!(&src[t.span.clone()], t.text);
            prop_assert!(!t.text.is_empty());
            prop_assert!(!t.text.bytes().any(|b| b.is_ascii_whitespace()));
        }
        let joined: Vec<&str> = src.split_ascii_whitespace().collect();
        let texts: Vec<&str> = tokens.iter().map(|t| t.text).collect();
        prop_assert_eq!(texts, joined);
    }

    #[test]
    fn parse_args_never_panics_and_spans_are_in_range(src in prop_oneof![any::<String>(), args_like()]) {
        let parsed = parse_args(&src);
        for d in &parsed.diagnostics {
            for span in d.span.iter().chain(d.related.iter().map(|r| &r.span)) {
                prop_assert!(src.get(span.clone()).is_some(), "{:?} in {:?}", d, src);
            }
        }
        for a in &parsed.args {
            prop_assert!(src.get(a.name_span.clone()).is_some());
            if let Some(v) = &a.value {
                prop_assert_eq!(&src[v.span.clone()], v.text.as_str());
            }
        }
    }

    #[test]
    fn parse_ot_never_panics(spec in "[-a-zA-Z0-9_=,.:\\\\()\\[\\]{}?!|*+^$&~é]{0,40}") {
        let list = parse_ot(&spec);
        for r in &list.rules {
            prop_assert_eq!(&spec[r.pattern_span.clone()], r.pattern.as_str());
            let _ = r.matches("blk.0.ffn_up_exps.weight");
        }
        for d in &list.diagnostics {
            prop_assert!(d.span.as_ref().is_some_and(|s| spec.get(s.clone()).is_some()), "{:?}", d);
        }
    }
}
