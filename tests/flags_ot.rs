//! `-ot` rules: parsing like llama.cpp, ECMAScript-faithful matching, and each `ot::` code.

use profilec::diag::{Diagnostic, Severity};
use profilec::flags::{Backend, BufferType, parse_args, parse_ot, place};

/// Diagnostics of `-ot <spec>` as codes with the text their spans cover in EXTRA_ARGS.
fn diags(spec: &str) -> Vec<(&'static str, Severity, String)> {
    let src = format!("--jinja -ot {spec}");
    parse_args(&src)
        .diagnostics
        .into_iter()
        .map(|d| (d.code, d.severity, src[d.span.expect("span")].to_string()))
        .collect()
}

fn first(spec: &str) -> Diagnostic {
    parse_ot(spec)
        .diagnostics
        .into_iter()
        .next()
        .expect("a diagnostic")
}

#[test]
fn buffer_type_names() {
    let dev = |backend, index| Some(BufferType::Device { backend, index });
    assert_eq!(BufferType::parse("CPU"), Some(BufferType::Cpu));
    assert_eq!(BufferType::parse("CUDA0"), dev(Backend::Cuda, 0));
    assert_eq!(BufferType::parse("CUDA12"), dev(Backend::Cuda, 12));
    assert_eq!(BufferType::parse("ROCm1"), dev(Backend::Rocm, 1));
    assert_eq!(BufferType::parse("Vulkan0"), dev(Backend::Vulkan, 0));
    assert_eq!(BufferType::parse("SYCL0"), dev(Backend::Sycl, 0));
    assert_eq!(BufferType::parse("MTL0"), dev(Backend::Metal, 0));
    assert_eq!(BufferType::parse("Metal"), dev(Backend::Metal, 0));
    for bad in ["cpu", "cuda0", "CUDA", "CUDA-1", "GPU0", "", "CUDA0 "] {
        assert_eq!(BufferType::parse(bad), None, "{bad}");
    }
    assert_eq!(
        BufferType::parse("ROCm3").map(|b| b.to_string()),
        Some("ROCm3".to_string())
    );
}

#[test]
fn rules_split_on_commas_then_first_equals() {
    let list = parse_ot(r"blk\.(0|1)\.=CUDA0,ffn_.*_exps=CPU");
    assert!(list.diagnostics.is_empty());
    assert_eq!(list.rules.len(), 2);
    assert_eq!(list.rules[0].pattern, r"blk\.(0|1)\.");
    assert_eq!(list.rules[0].span, 0..18);
    assert_eq!(list.rules[1].span, 19..34);
    assert_eq!(list.rules[1].buffer_span, 31..34);
    // A second `=` belongs to the buffer name, which then is unknown.
    assert_eq!(
        diags("a=b=CPU"),
        [("ot::unknown-buffer", Severity::Error, "b=CPU".into())]
    );
}

#[test]
fn first_match_wins_and_patterns_search() {
    let list = parse_ot(r"exps=CPU,blk\.1\.=CUDA1,attn=CUDA0");
    let at = |t: &str| place(&list.rules, t).map(|r| r.buffer.to_string());
    assert_eq!(at("blk.1.ffn_up_exps.weight").as_deref(), Some("CPU"));
    assert_eq!(at("blk.1.attn_q.weight").as_deref(), Some("CUDA1"));
    assert_eq!(at("blk.2.attn_q.weight").as_deref(), Some("CUDA0"));
    assert_eq!(at("token_embd.weight"), None);
    // Unanchored: `exps` is found inside the name.
    assert!(list.rules[0].matches("blk.40.ffn_down_exps.weight"));
}

#[test]
fn empty_rule() {
    assert_eq!(
        diags("exps=CPU,"),
        [("ot::empty-rule", Severity::Error, "".into())]
    );
    let d = first("a=CPU,,b=CPU");
    assert_eq!((d.code, d.span), ("ot::empty-rule", Some(6..6)));
}

#[test]
fn missing_equals_explains_commas_in_quantifiers() {
    let got = diags(r"blk\.[0-9]{1,2}\.=CUDA0");
    assert_eq!(
        got,
        [(
            "ot::missing-equals",
            Severity::Error,
            r"blk\.[0-9]{1".into()
        )]
    );
    let d = first(r"blk\.[0-9]{1,2}\.=CUDA0");
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("instead of `{1,2}`")
    );
    let d = first("exps");
    assert_eq!(d.span, Some(0..4));
    assert_eq!(
        d.help.as_deref(),
        Some("write each rule as `<pattern>=<buffer type>`, e.g. `exps=CPU`")
    );
}

#[test]
fn unknown_buffer_suggests_the_spelling() {
    assert_eq!(
        diags("exps=cuda0"),
        [("ot::unknown-buffer", Severity::Error, "cuda0".into())]
    );
    let help = |s| first(s).help.unwrap_or_default();
    assert_eq!(
        help("exps=cuda0"),
        "did you mean `CUDA0`? buffer type names are case-sensitive"
    );
    assert_eq!(
        help("exps=cpu"),
        "did you mean `CPU`? buffer type names are case-sensitive"
    );
    assert!(help("exps=GPU").contains("--list-devices"));
    assert_eq!(first("exps=").message, "empty buffer type");
}

#[test]
fn empty_pattern_matches_everything() {
    assert_eq!(
        diags("=CUDA0"),
        [("ot::empty-pattern", Severity::Warning, "=CUDA0".into())]
    );
    let list = parse_ot("=CUDA0");
    assert!(list.rules[0].matches("token_embd.weight"));
}

#[test]
fn ecmascript_identity_escapes_are_plain_letters() {
    assert_eq!(
        diags(r"exps\z=CPU"),
        [("ot::identity-escape", Severity::Warning, r"\z".into())]
    );
    let list = parse_ot(r"exps\z=CPU");
    // std::regex reads `\z` as `z`, so this does not match the end of the name.
    assert!(!list.rules[0].matches("blk.0.ffn_up_exps"));
    assert!(list.rules[0].matches("blk.0.ffn_up_expsz"));
}

#[test]
fn regexes_std_regex_rejects() {
    assert_eq!(
        diags("(?i)EXPS=CPU"),
        [("ot::invalid-regex", Severity::Error, "(?i".into())]
    );
    assert_eq!(
        diags(r"exps\=CPU"),
        [("ot::invalid-regex", Severity::Error, r"\".into())]
    );
    assert_eq!(
        diags("ex{ps=CPU"),
        [("ot::invalid-regex", Severity::Error, "ex{ps".into())]
    );
    assert_eq!(
        diags("(exps=CPU"),
        [("ot::invalid-regex", Severity::Error, "(exps".into())]
    );
}

#[test]
fn regexes_only_std_regex_understands() {
    assert_eq!(
        diags("exps(?!_b)=CPU"),
        [("ot::unsupported-regex", Severity::Error, "(?!".into())]
    );
    assert_eq!(
        diags(r"(blk)\.\1=CPU"),
        [("ot::unsupported-regex", Severity::Error, r"\1".into())]
    );
}

#[test]
fn classes_keep_their_ecmascript_meaning() {
    let list = parse_ot(r"blk\.[[:digit:]]\.=CUDA0,a[[]b=CPU,c[&~]d=CPU");
    assert!(list.diagnostics.is_empty(), "{:#?}", list.diagnostics);
    assert!(list.rules[0].matches("blk.7.attn_q.weight"));
    assert!(!list.rules[0].matches("blk.17.attn_q.weight"));
    assert!(list.rules[1].matches("a[b"));
    assert!(list.rules[2].matches("c~d") && list.rules[2].matches("c&d"));
}

#[test]
fn unescaped_dot_after_the_layer_number() {
    let got = diags("blk.1.=CUDA0");
    assert_eq!(got, [("ot::unescaped-dot", Severity::Warning, ".".into())]);
    let d = first("blk.1.=CUDA0");
    assert_eq!(
        d.span,
        Some(5..6),
        "the dot after `1`, not the one after `blk`"
    );
    let list = parse_ot("blk.1.=CUDA0");
    assert!(
        list.rules[0].matches("blk.12.attn_q.weight"),
        "why it is a warning"
    );
    assert_eq!(first(r"blk.(1|2)\.=CUDA0").span, Some(3..4));
    assert!(parse_ot(r"blk\.1\.=CUDA0").diagnostics.is_empty());
    assert!(
        parse_ot(r"ffn_.*_exps=CPU").diagnostics.is_empty(),
        "only `blk` patterns"
    );
}

#[test]
fn cpu_rule_before_device_rules_shadows_them() {
    let src = r"-ot exps=CPU,blk\.(0|1)\.=CUDA0,blk\.2\.=CUDA1";
    let parsed = parse_args(src);
    let got: Vec<_> = parsed
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.code,
                &src[d.span.clone().expect("span")],
                &src[d.related[0].span.clone()],
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ot::cpu-rule-shadows", "exps=CPU", r"blk\.(0|1)\.=CUDA0"),
            ("ot::cpu-rule-shadows", "exps=CPU", r"blk\.2\.=CUDA1"),
        ]
    );
    assert!(
        parsed.diagnostics[0]
            .message
            .ends_with("e.g. `blk.0.ffn_gate_exps.weight` (layers 0-1)"),
        "{}",
        parsed.diagnostics[0].message
    );
    assert!(parsed.diagnostics[1].message.ends_with("(layers 2)"));
    // The corpus order (device rules first, CPU catch-all last) is fine,
    assert!(
        parse_args(r"-ot blk\.(0|1)\.=CUDA0,exps=CPU")
            .diagnostics
            .is_empty()
    );
    // and so is a CPU rule that takes nothing the device rule wants.
    assert!(
        parse_args(r"-ot blk\.3\.=CPU,blk\.(0|1)\.=CUDA0")
            .diagnostics
            .is_empty()
    );
}

#[test]
fn shadowing_is_checked_across_repeated_ot_flags() {
    let src = r"-ot exps=CPU -ot blk\.0\.=CUDA0";
    let parsed = parse_args(src);
    let codes: Vec<_> = parsed.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["args::repeated-list-flag", "ot::cpu-rule-shadows"]);
    let d = &parsed.diagnostics[1];
    assert_eq!(&src[d.span.clone().expect("span")], "exps=CPU");
    assert_eq!(&src[d.related[0].span.clone()], r"blk\.0\.=CUDA0");
}

#[test]
fn cpu_moe_flags_join_the_override_list_in_argv_order() {
    let src = r"-ncmoe 2 -ot blk\.1\.=CUDA0 -cmoe";
    let parsed = parse_args(src);
    let rules = parsed.tensor_overrides();
    let patterns: Vec<_> = rules.iter().map(|r| r.pattern.as_str()).collect();
    assert_eq!(
        patterns,
        [
            r"blk\.0\.ffn_(up|down|gate|gate_up)_(ch|)exps",
            r"blk\.1\.ffn_(up|down|gate|gate_up)_(ch|)exps",
            r"blk\.1\.",
            r"\.ffn_(up|down|gate|gate_up)_(ch|)exps",
        ]
    );
    assert_eq!(&src[rules[0].span.clone()], "-ncmoe 2");
    let at = |t: &str| place(&rules, t).map(|r| r.buffer.to_string());
    assert_eq!(at("blk.1.ffn_up_exps.weight").as_deref(), Some("CPU"));
    assert_eq!(at("blk.1.attn_q.weight").as_deref(), Some("CUDA0"));
    assert_eq!(at("blk.12.ffn_down_chexps.weight").as_deref(), Some("CPU"));
    assert_eq!(at("blk.12.ffn_down_shexp.weight"), None);
    // `-ncmoe 2` comes first and keeps layer 1's experts from the CUDA0 rule.
    let d: Vec<_> = parsed
        .diagnostics
        .iter()
        .map(|d| (d.code, &src[d.span.clone().expect("span")]))
        .collect();
    assert_eq!(d, [("ot::cpu-rule-shadows", "-ncmoe 2")]);
    assert!(
        parsed.diagnostics[0].message.ends_with("(layers 1)"),
        "{}",
        parsed.diagnostics[0].message
    );
}
