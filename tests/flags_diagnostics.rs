//! Each `args::` diagnostic: its code, severity, exact span and the fix it suggests.

use profilec::diag::{Diagnostic, Severity};
use profilec::flags::{TypedValue, parse_args};

/// The single diagnostic `src` produces; its span must slice to `spanned`.
fn only(src: &str, code: &str, severity: Severity, spanned: &str) -> Diagnostic {
    let parsed = parse_args(src);
    assert_eq!(
        parsed.diagnostics.len(),
        1,
        "{src}: {:#?}",
        parsed.diagnostics
    );
    let d = parsed.diagnostics[0].clone();
    assert_eq!(d.code, code, "{src}: {d:#?}");
    assert_eq!(d.severity, severity);
    let span = d.span.clone().expect("span");
    assert_eq!(&src[span], spanned, "{src}");
    d
}

fn help(d: &Diagnostic) -> &str {
    d.help.as_deref().unwrap_or("")
}

#[test]
fn unknown_flag_suggests_the_closest_alias() {
    let d = only(
        "--jinja --no-context-shfit",
        "args::unknown-flag",
        Severity::Error,
        "--no-context-shfit",
    );
    assert_eq!(d.span, Some(8..26));
    assert_eq!(help(&d), "did you mean `--no-context-shift`?");
    // Its value is not reported again as a stray value.
    let d = only(
        "--tmep 0.7 -np 1",
        "args::unknown-flag",
        Severity::Error,
        "--tmep",
    );
    assert_eq!(help(&d), "did you mean `--temp`?");
}

#[test]
fn unknown_flag_without_a_close_match() {
    let src = "--jinja --frobnicate-everything";
    let d = parse_args(src).diagnostics;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "args::unknown-flag");
    assert_eq!(d[0].span, Some(8..31));
    assert!(help(&d[0]).contains("llama-server --help"));
}

#[test]
fn llama_cli_and_old_flags_are_not_for_the_server() {
    let d = only(
        "-np 1 -no-cnv",
        "args::not-for-server",
        Severity::Error,
        "-no-cnv",
    );
    assert!(help(&d).contains("llama-cli"));
    let d = only(
        "--no-mmap -np 1",
        "args::not-for-server",
        Severity::Error,
        "--no-mmap",
    );
    assert_eq!(d.span, Some(0..9));
    assert!(help(&d).contains("--load-mode"));
}

#[test]
fn removed_and_deprecated_flags() {
    let d = only(
        "--draft 8",
        "args::removed-flag",
        Severity::Error,
        "--draft",
    );
    assert_eq!(help(&d), "use --spec-draft-n-max or --spec-ngram-mod-n-max");
    let d = only("-dt 0.1", "args::deprecated-flag", Severity::Warning, "-dt");
    assert_eq!(help(&d), "remove `-dt`");
}

#[test]
fn equals_form_is_rejected_with_the_spaced_form_as_fix() {
    let src = "--jinja --ctx-size=4096";
    let d = only(
        src,
        "args::equals-value",
        Severity::Error,
        "--ctx-size=4096",
    );
    assert_eq!(
        help(&d),
        "write `--ctx-size 4096` (flag and value separated by a space)"
    );
    // The intent is still recorded, so later stages see the value.
    assert_eq!(parse_args(src).last_value("-c"), Some("4096"));
    let d = only(
        "-ot=exps=CPU",
        "args::equals-value",
        Severity::Error,
        "-ot=exps=CPU",
    );
    assert_eq!(
        help(&d),
        "write `-ot exps=CPU` (flag and value separated by a space)"
    );
    let d = only(
        "--jinja=1",
        "args::equals-value",
        Severity::Error,
        "--jinja=1",
    );
    assert_eq!(
        help(&d),
        "write `--jinja` (flag and value separated by a space)"
    );
}

#[test]
fn missing_value_at_end_or_before_another_flag() {
    let d = only("--jinja -np", "args::missing-value", Severity::Error, "-np");
    assert_eq!(d.span, Some(8..11));
    assert_eq!(d.label.as_deref(), Some("nothing follows it"));
    assert_eq!(help(&d), "write `-np N`");
    let d = only("-fa --jinja", "args::missing-value", Severity::Error, "-fa");
    assert_eq!(
        d.label.as_deref(),
        Some("followed by the flag `--jinja`, not a value")
    );
    assert_eq!(help(&d), "write `-fa on|off|auto`");
    let parsed = parse_args("-fa --jinja");
    assert!(parsed.has("--jinja"), "the following flag is still parsed");
}

#[test]
fn negative_numbers_are_values() {
    let parsed = parse_args("-s -1 --temp -0.5 --mirostat-lr -.1 -n -1");
    assert!(
        parsed
            .diagnostics
            .iter()
            .all(|d| d.code != "args::missing-value"),
        "{:#?}",
        parsed.diagnostics
    );
    assert_eq!(parsed.last_value("--seed"), Some("-1"));
    assert!(
        matches!(parsed.last("--temp").and_then(|a| a.typed.clone()), Some(TypedValue::Float(v)) if v == -0.5)
    );
    assert_eq!(parsed.last_value("--n-predict"), Some("-1"));
}

#[test]
fn invalid_int_float_and_list_items() {
    let d = only("-np one", "args::invalid-value", Severity::Error, "one");
    assert_eq!(help(&d), "write an integer here (--parallel N)");
    let d = only("-c 12k", "args::invalid-value", Severity::Error, "12k");
    assert_eq!(
        help(&d),
        "write an integer; llama-server would silently read `12k` as 12"
    );
    only(
        "-c 99999999999",
        "args::invalid-value",
        Severity::Error,
        "99999999999",
    );
    only(
        "--temp warm",
        "args::invalid-value",
        Severity::Error,
        "warm",
    );
    only("-ngl most", "args::invalid-value", Severity::Error, "most");
    only("-ts 21,x0", "args::invalid-value", Severity::Error, "x0");
    only(
        "-fitt 1024,,512",
        "args::invalid-value",
        Severity::Error,
        "",
    );
    only(
        "--lora-scaled a.gguf:0.5,b.gguf",
        "args::invalid-value",
        Severity::Error,
        "b.gguf",
    );
    only(
        "--lora-scaled a.gguf:big",
        "args::invalid-value",
        Severity::Error,
        "big",
    );
    let d = only(
        "--override-kv foo=int:x",
        "args::invalid-value",
        Severity::Error,
        "x",
    );
    assert_eq!(
        d.message,
        "`x` is not an integer (llama-server would silently use 0)"
    );
    only(
        "--override-kv foo=bool:yes",
        "args::invalid-value",
        Severity::Error,
        "yes",
    );
    only(
        "--override-kv foo=u8:1",
        "args::invalid-value",
        Severity::Error,
        "foo=u8:1",
    );
    only(
        "--override-kv foo",
        "args::invalid-value",
        Severity::Error,
        "foo",
    );
    only(
        "--control-vector-layer-range 1 x",
        "args::invalid-value",
        Severity::Error,
        "x",
    );
    let parsed =
        parse_args("--control-vector-layer-range 1 10 -ngl all --override-kv a.b=bool:true");
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    assert!(matches!(
        parsed.args[0].typed,
        Some(TypedValue::IntPair(1, 10))
    ));
    assert!(matches!(parsed.args[1].typed, Some(TypedValue::All)));
}

#[test]
fn enum_values_list_the_choices() {
    let d = only("-fa yes", "args::invalid-choice", Severity::Error, "yes");
    assert_eq!(help(&d), "--flash-attn accepts `on`, `off`, `auto`");
    let d = only(
        "--split-mode layr",
        "args::invalid-choice",
        Severity::Error,
        "layr",
    );
    assert_eq!(
        help(&d),
        "did you mean `layer`? --split-mode accepts `none`, `layer`, `row`, `tensor`"
    );
    let parsed = parse_args("--numa isolate -lm mmap+mlock --pooling rank");
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
}

#[test]
fn cache_types_follow_llama_cpp_kv_cache_types() {
    let d = only(
        "-ctk q8_0 -ctv q8_1",
        "args::invalid-cache-type",
        Severity::Error,
        "q8_1",
    );
    assert!(help(&d).starts_with("did you mean `q8_0`?"), "{}", help(&d));
    assert!(help(&d).contains("`iq4_nl`"));
    only(
        "-ctkd q4_K",
        "args::invalid-cache-type",
        Severity::Error,
        "q4_K",
    );
    for t in profilec::flags::CACHE_TYPES {
        assert!(
            parse_args(&format!("-ctk {t} -ctv {t}"))
                .diagnostics
                .is_empty()
        );
    }
}

#[test]
fn stray_values() {
    let d = only("--jinja true", "args::stray-value", Severity::Error, "true");
    assert_eq!(
        help(&d),
        "`--jinja` is a switch and takes no value: write `--jinja` alone, `--no-jinja` to disable it"
    );
    let d = only(
        "-np 1 exps=CPU",
        "args::stray-value",
        Severity::Error,
        "exps=CPU",
    );
    assert_eq!(
        help(&d),
        "if this is a tensor override, write `-ot exps=CPU`"
    );
    let d = only("-np 1 2", "args::stray-value", Severity::Error, "2");
    assert_eq!(
        help(&d),
        "remove it, or put the flag it is meant for in front of it"
    );
}

#[test]
fn repeated_flags_warn_last_wins() {
    let src = "--temp 1.0 -np 1 --temperature 0.7";
    let d = only(
        src,
        "args::repeated-flag",
        Severity::Warning,
        "--temperature",
    );
    assert_eq!(d.related[0].span, 0..6);
    assert!(d.message.contains("(`0.7`)"));
    assert_eq!(parse_args(src).last_value("--temp"), Some("0.7"));
    let src = "--context-shift --no-context-shift";
    only(
        src,
        "args::repeated-flag",
        Severity::Warning,
        "--no-context-shift",
    );
    assert_eq!(parse_args(src).switch("--context-shift"), Some(false));
}

#[test]
fn accumulating_flags_add_up() {
    let src = r"-ot blk\.0\.=CUDA0 --lora a.gguf -ot exps=CPU --lora b.gguf";
    let parsed = parse_args(src);
    let codes: Vec<_> = parsed
        .diagnostics
        .iter()
        .map(|d| (d.code, d.severity, d.span.clone()))
        .collect();
    assert_eq!(
        codes,
        [
            ("args::repeated-list-flag", Severity::Note, Some(33..36)),
            ("args::repeated-list-flag", Severity::Note, Some(46..52)),
        ]
    );
    assert_eq!((&src[33..36], &src[46..52]), ("-ot", "--lora"));
    assert_eq!(parsed.all_values("--lora"), ["a.gguf", "b.gguf"]);
    assert_eq!(parsed.all("-ot").len(), 2);
    assert_eq!(parsed.ot_rules().count(), 2);
}

#[test]
fn underscores_in_long_flags_are_dashes() {
    let parsed = parse_args("--ctx_size 4096 --no_context_shift");
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    assert_eq!(parsed.last_value("--ctx-size"), Some("4096"));
    assert_eq!(parsed.switch("--context-shift"), Some(false));
}

#[test]
fn negations_by_every_spelling() {
    let parsed = parse_args("-nkvo -no-kvu --no-repack -nocb --no-webui");
    assert!(parsed.diagnostics.is_empty());
    for f in [
        "--kv-offload",
        "--kv-unified",
        "--repack",
        "--cont-batching",
        "--ui",
    ] {
        assert_eq!(parsed.switch(f), Some(false), "{f}");
    }
    let parsed = parse_args("-kvu --webui -cb");
    for f in ["--kv-unified", "--ui", "--cont-batching"] {
        assert_eq!(parsed.switch(f), Some(true), "{f}");
    }
    assert_eq!(parsed.switch("--jinja"), None);
}

#[test]
fn spans_are_relative_and_shift_into_the_file() {
    let line = "EXTRA_ARGS=--jinja -fa maybe";
    let offset = "EXTRA_ARGS=".len();
    let d = parse_args(&line[offset..])
        .diagnostics
        .remove(0)
        .shifted(offset);
    assert_eq!(&line[d.span.expect("span")], "maybe");
}

#[test]
fn dash_words_that_are_values() {
    let parsed = parse_args("--reverse-prompt --> -np 1");
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    assert_eq!(parsed.last_value("-r"), Some("-->"));
    let d = only("-np 1 -", "args::stray-value", Severity::Error, "-");
    assert_eq!(d.span, Some(6..7));
}
