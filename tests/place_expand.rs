//! Hand-written `-ot` rules expanded on real GGUF fixtures (models/*.gguf): layer sets and
//! bytes per buffer type, and every `place::` lint with its span inside EXTRA_ARGS.

use std::collections::BTreeSet;

use profilec::diag::{Diagnostic, Severity};
use profilec::flags::{BufferType, parse_args};
use profilec::gguf::{Model, ModelFacts};
use profilec::place::{Expansion, expand, lint};

fn model(name: &str) -> (Model, ModelFacts) {
    let m = Model::open(&crate::support::fixture(name)).unwrap();
    let f = ModelFacts::from_model(&m).unwrap();
    (m, f)
}

fn run(name: &str, extra: &str, gpus: Option<&[String]>) -> (Expansion, Vec<Diagnostic>) {
    let (m, f) = model(name);
    let parsed = parse_args(extra);
    let rules = parsed.tensor_overrides();
    let exp = expand(&rules, &m.tensors, f.n_layer);
    let diags = lint(&rules, &exp, gpus);
    (exp, diags)
}

fn set(v: &[u32]) -> BTreeSet<u32> {
    v.iter().copied().collect()
}

fn cuda(n: u32) -> Option<BufferType> {
    BufferType::parse(&format!("CUDA{n}"))
}

/// The byte range of the `nth` occurrence of `needle` in `hay`.
fn span(hay: &str, needle: &str) -> std::ops::Range<usize> {
    let start = hay.find(needle).unwrap();
    start..start + needle.len()
}

fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

#[test]
fn strategy_d_on_qwen3moe_layers_and_bytes() {
    let (m, _) = model("qwen3moe.gguf");
    let extra = r"-ot blk\.(0)\.=CUDA0,blk\.(1)\.=CUDA1,exps=CPU";
    let (exp, diags) = run("qwen3moe.gguf", extra, None);
    assert!(diags.is_empty(), "{diags:#?}");
    let layer_bytes = |l: u32, experts: Option<bool>| -> u64 {
        m.tensors
            .iter()
            .filter(|t| t.name.starts_with(&format!("blk.{l}.")))
            .filter(|t| experts.is_none_or(|e| t.name.contains("_exps") == e))
            .map(|t| t.n_bytes)
            .sum()
    };
    let c0 = exp.buffer(cuda(0)).unwrap();
    assert_eq!(
        (c0.full_layers.clone(), c0.partial_layers.clone()),
        (set(&[0]), set(&[]))
    );
    assert_eq!(c0.bytes, layer_bytes(0, None));
    let c1 = exp.buffer(cuda(1)).unwrap();
    assert_eq!(c1.full_layers, set(&[1]));
    assert_eq!(c1.bytes, layer_bytes(1, None));
    let cpu = exp.buffer(Some(BufferType::Cpu)).unwrap();
    assert_eq!(
        (cpu.full_layers.clone(), cpu.partial_layers.clone()),
        (set(&[]), set(&[2]))
    );
    assert_eq!(cpu.bytes, layer_bytes(2, Some(true)));
    assert_eq!(cpu.tensors, 3, "gate/up/down experts of layer 2");
    let rest = exp.buffer(None).unwrap();
    assert_eq!(rest.partial_layers, set(&[2]));
    assert_eq!(
        rest.bytes,
        m.tensor_bytes() - c0.bytes - c1.bytes - cpu.bytes
    );
    assert_eq!(
        exp.rules.iter().map(|r| r.won).sum::<usize>() + rest.tensors,
        m.tensors.len()
    );
    assert!(exp.has_experts);
}

#[test]
fn layer_sets_not_strings() {
    let (a, _) = run(
        "gpt-oss-mxfp4.gguf",
        r"-ot blk\.([0-1])\.=CUDA0,blk\.(2|3)\.=CUDA1",
        None,
    );
    let (b, _) = run(
        "gpt-oss-mxfp4.gguf",
        r"-ot blk\.(0|1)\.=CUDA0,blk\.([2-3])\.=CUDA1",
        None,
    );
    assert_eq!(a.buffers, b.buffers);
    assert_eq!(a.buffer(cuda(1)).unwrap().full_layers, set(&[2, 3]));
}

#[test]
fn overlapping_device_rules_are_shadowed() {
    let extra = r"-ot blk\.([0-2])\.=CUDA0,blk\.([2-3])\.=CUDA1";
    let (exp, d) = run("gpt-oss-mxfp4.gguf", extra, None);
    assert_eq!(codes(&d), ["place::shadowed-rule"]);
    assert_eq!(d[0].span, Some(span(extra, r"blk\.([2-3])\.=CUDA1")));
    assert_eq!(d[0].related[0].span, span(extra, r"blk\.([0-2])\.=CUDA0"));
    assert!(d[0].message.contains("in layers 2"), "{}", d[0].message);
    assert_eq!(exp.buffer(cuda(1)).unwrap().full_layers, set(&[3]));
}

#[test]
fn cpu_rule_first_shadows_device_rule() {
    let extra = r"-ot exps=CPU,blk\.(0|1)\.=CUDA0";
    let (exp, d) = run("qwen3moe.gguf", extra, None);
    assert_eq!(codes(&d), ["place::cpu-rule-shadows"]);
    assert_eq!(d[0].span, Some(span(extra, "exps=CPU")));
    assert!(d[0].message.contains("layers 0-1"), "{}", d[0].message);
    assert_eq!(exp.buffer(cuda(0)).unwrap().partial_layers, set(&[0, 1]));
}

#[test]
fn gap_between_devices() {
    let extra = r"-ot blk\.0\.=CUDA0,blk\.3\.=CUDA1";
    let (_, d) = run("gpt-oss-mxfp4.gguf", extra, None);
    assert_eq!(codes(&d), ["place::layer-gap"]);
    assert!(
        d[0].message.starts_with("layers 1-2 are in no device rule"),
        "{}",
        d[0].message
    );
    assert_eq!(d[0].span, Some(span(extra, r"blk\.3\.=CUDA1")));
    assert_eq!(d[0].related[0].span, span(extra, r"blk\.0\.=CUDA0"));

    // Strategy D leaves the experts of gap layers to `exps=CPU`: still a gap.
    let (_, d) = run("gpt-oss-mxfp4.gguf", &format!("{extra},exps=CPU"), None);
    assert_eq!(codes(&d), ["place::layer-gap"]);
    // Layers pinned whole to the CPU are not a gap.
    let extra = r"-ot blk\.0\.=CUDA0,blk\.(1|2)\.=CPU,blk\.3\.=CUDA1";
    let (_, d) = run("gpt-oss-mxfp4.gguf", extra, None);
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn device_in_pieces_and_out_of_order() {
    let extra = r"-ot blk\.(0|2)\.=CUDA0,blk\.(1|3)\.=CUDA1";
    let (_, d) = run("gpt-oss-mxfp4.gguf", extra, None);
    assert_eq!(
        codes(&d),
        ["place::noncontiguous-device", "place::noncontiguous-device"]
    );
    assert!(
        d[0].message
            .contains("CUDA0 holds layers 0, 2 with CUDA1's layers 1"),
        "{}",
        d[0].message
    );

    let extra = r"-ot blk\.([0-1])\.=CUDA1,blk\.([2-3])\.=CUDA0";
    let (_, d) = run("gpt-oss-mxfp4.gguf", extra, None);
    assert_eq!(codes(&d), ["place::device-order"]);
    assert_eq!(d[0].span, Some(span(extra, r"blk\.([0-1])\.=CUDA1")));
}

#[test]
fn layers_past_the_block_count() {
    // A 48-layer split copied onto a 3-layer model.
    let extra = r"-ot blk\.([0-9]|1[01])\.=CUDA0,blk\.(1[2-5])\.=CUDA1,exps=CPU";
    let (_, d) = run("qwen3moe.gguf", extra, None);
    assert_eq!(
        codes(&d),
        [
            "place::layer-out-of-range",
            "place::layer-out-of-range",
            "place::shadowed-rule"
        ]
    );
    assert!(
        d[0].message
            .contains("layers 3-11 but the model has 3 layers (0-2)"),
        "{}",
        d[0].message
    );
    assert_eq!(d[1].span, Some(span(extra, r"blk\.(1[2-5])\.=CUDA1")));
    assert_eq!(d[2].span, Some(span(extra, "exps=CPU")));

    // `-ncmoe 5` is five rules with the flag's span: one diagnostic for the flag.
    let extra = "--jinja -ncmoe 5";
    let (_, d) = run("qwen3moe.gguf", extra, None);
    assert_eq!(codes(&d), ["place::layer-out-of-range"]);
    assert_eq!(d[0].span, Some(span(extra, "-ncmoe 5")));
    assert!(d[0].message.contains("layers 3-4"), "{}", d[0].message);

    // Open-ended patterns are not out of range.
    let (_, d) = run("qwen3moe.gguf", r"-ot blk\.[0-9]+\.=CUDA0", None);
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn dead_rules_and_dense_models() {
    let extra = "-ot attn_bogus=CPU";
    let (_, d) = run("qwen3moe.gguf", extra, None);
    assert_eq!(codes(&d), ["place::dead-rule"]);
    assert_eq!(d[0].span, Some(span(extra, "attn_bogus=CPU")));

    let extra = "-ot exps=CPU";
    let (exp, d) = run("llama-gqa.gguf", extra, None);
    assert_eq!(codes(&d), ["place::no-expert-tensors"]);
    assert_eq!(d[0].severity, Severity::Error);
    assert_eq!(d[0].span, Some(span(extra, "exps=CPU")));
    assert!(!exp.has_experts);

    let (_, d) = run("llama-gqa.gguf", "--cpu-moe", None);
    assert_eq!(codes(&d), ["place::no-expert-tensors"]);
    assert_eq!(d[0].span, Some(0..9));

    // Shared experts are not routed experts: `shexp` rules are fine on qwen2moe.
    let (exp, d) = run("qwen2moe-shexp.gguf", "-ot shexp=CUDA0", None);
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(exp.buffer(cuda(0)).unwrap().partial_layers, set(&[0, 1]));
}

#[test]
fn unknown_device_needs_the_machine() {
    let extra = r"-ot blk\.(0)\.=CUDA0,blk\.(1)\.=CUDA2";
    let gpus = ["CUDA0".to_string(), "CUDA1".to_string()];
    let (_, d) = run("qwen3moe.gguf", extra, Some(&gpus));
    assert_eq!(codes(&d), ["place::unknown-device"]);
    assert_eq!(d[0].span, Some(span(extra, "CUDA2")));
    assert_eq!(d[0].label.as_deref(), Some("the machine has CUDA0, CUDA1"));
    let (_, d) = run("qwen3moe.gguf", extra, None);
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn every_fixture_expands_consistently() {
    for name in [
        "llama-gqa.gguf",
        "qwen3moe.gguf",
        "qwen2moe-shexp.gguf",
        "gemma3-swa.gguf",
        "lfm2-hybrid.gguf",
        "qwen3next-hybrid.gguf",
        "deepseek2-mla.gguf",
        "gpt-oss-mxfp4.gguf",
        "split-llama-00001-of-00003.gguf",
    ] {
        let (m, f) = model(name);
        let half = f.n_layer / 2;
        let extra = format!(
            r"-ot blk\.({})\.=CUDA0,exps=CPU",
            profilec::place::layer_range_pattern(0, half.max(1) - 1)
        );
        let (exp, _) = run(name, &extra, None);
        let total: u64 = exp.buffers.iter().map(|b| b.bytes).sum();
        assert_eq!(total, m.tensor_bytes(), "{name}");
        let c0 = exp.buffer(cuda(0)).unwrap();
        let want: BTreeSet<u32> = (0..half.max(1)).collect();
        assert_eq!(c0.full_layers, want, "{name}");
        let cpu = exp.buffer(Some(BufferType::Cpu));
        assert_eq!(
            cpu.is_some(),
            exp.has_experts && half.max(1) < f.n_layer,
            "{name}"
        );
    }
}
