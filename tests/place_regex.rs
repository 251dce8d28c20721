//! Generated `-ot` rules are proven against llama.cpp's own rule semantics as profilec models
//! them (`parse_ot` + `place`: split on `,`, first regex-search match wins): every tensor of
//! every layer lands on exactly the intended buffer, for random layer counts and splits.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use proptest::prelude::*;

use profilec::flags::{Backend, BufferType, OtRule, generated_rules, ot_value, parse_ot, place};
use profilec::place::{
    RuleError, device_rules, layer_range_pattern, layer_rules, layer_set_pattern,
};

/// Per-block tensor names llama.cpp models use (dense, MoE, shared experts, MLA, recurrent).
const BLOCK_TENSORS: &[&str] = &[
    "attn_norm.weight",
    "attn_q.weight",
    "attn_k.weight",
    "attn_v.weight",
    "attn_qkv.weight",
    "attn_output.weight",
    "attn_q_norm.weight",
    "attn_kv_a_mqa.weight",
    "attn_sinks.weight",
    "ffn_norm.weight",
    "ffn_gate.weight",
    "ffn_up.weight",
    "ffn_down.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_exps.weight",
    "ffn_up_exps.weight",
    "ffn_down_exps.weight",
    "ffn_gate_up_exps.weight",
    "ffn_up_exps.bias",
    "ffn_down_chexps.weight",
    "ffn_gate_shexp.weight",
    "ffn_up_shexp.weight",
    "ffn_gate_inp_shexp.weight",
    "exp_probs_b.bias",
    "ssm_in.weight",
    "ssm_conv1d.weight",
    "shortconv.in_proj.weight",
    "post_attention_norm.weight",
];

fn cuda(index: u32) -> BufferType {
    BufferType::Device {
        backend: Backend::Cuda,
        index,
    }
}

fn is_expert(suffix: &str) -> bool {
    suffix.contains("_exps") || suffix.contains("_chexps")
}

/// Checks one generated value against every tensor name of `n_layer` blocks and a few past it.
fn prove(
    n_layer: u32,
    assignments: &[(BufferType, RangeInclusive<u32>)],
    experts_to_cpu: bool,
) -> Result<String, TestCaseError> {
    let ot = device_rules(assignments, experts_to_cpu)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(!ot.contains('{'), "quantifier in {ot}");
    let parsed = parse_ot(&ot);
    prop_assert!(
        parsed.diagnostics.is_empty(),
        "{ot}: {:?}",
        parsed.diagnostics
    );
    let rules = parsed.rules;
    let typed =
        layer_rules(assignments, experts_to_cpu).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(same_rules(&typed, &rules), Ok(()), "{}", ot);
    for n in 0..n_layer + 3 {
        let owner = assignments
            .iter()
            .find(|(_, r)| r.contains(&n))
            .map(|(b, _)| b.clone());
        for suffix in BLOCK_TENSORS {
            let name = format!("blk.{n}.{suffix}");
            let expected = match &owner {
                Some(b) => Some(b.clone()),
                None if experts_to_cpu && is_expert(suffix) => Some(BufferType::Cpu),
                None => None,
            };
            let got = place(&rules, &name).map(|r| r.buffer.clone());
            prop_assert_eq!(got, expected, "{} with {}", name, ot);
        }
    }
    for name in ["token_embd.weight", "output.weight", "output_norm.weight"] {
        prop_assert!(place(&rules, name).is_none(), "{name} matched by {ot}");
    }
    Ok(ot)
}

/// The typed rules a search keeps are the rules llama.cpp reads from their `-ot` value:
/// pattern, buffer and spans alike.
fn same_rules(typed: &[OtRule], parsed: &[OtRule]) -> Result<(), String> {
    let key = |r: &OtRule| {
        (
            r.pattern.clone(),
            r.buffer.clone(),
            r.span.clone(),
            r.pattern_span.clone(),
            r.buffer_span.clone(),
        )
    };
    let (t, p): (Vec<_>, Vec<_>) = (
        typed.iter().map(key).collect(),
        parsed.iter().map(key).collect(),
    );
    if t == p {
        Ok(())
    } else {
        Err(format!("typed {t:?} != parsed {p:?}"))
    }
}

#[test]
fn generated_rules_are_what_their_value_parses_to() {
    let items = [
        (
            r"blk\.7\.ffn_(gate|up|gate_up|down).*".to_string(),
            BufferType::cuda(1),
        ),
        (
            r"blk\.\d+\.ffn_(up|down|gate_up|gate)_(ch|)exps".to_string(),
            BufferType::Cpu,
        ),
        ("exps".to_string(), BufferType::Cpu),
    ];
    let typed = generated_rules(items);
    let ot = ot_value(&typed);
    assert_eq!(
        ot,
        r"blk\.7\.ffn_(gate|up|gate_up|down).*=CUDA1,blk\.\d+\.ffn_(up|down|gate_up|gate)_(ch|)exps=CPU,exps=CPU"
    );
    let parsed = parse_ot(&ot);
    // fit's own `.*` draws a style warning from the parser; every rule still parses.
    assert_eq!(same_rules(&typed, &parsed.rules), Ok(()));
    for name in [
        "blk.7.ffn_down.weight",
        "blk.3.ffn_up_exps.weight",
        "blk.7.attn_q.weight",
    ] {
        assert_eq!(
            place(&typed, name).map(|r| r.buffer.clone()),
            place(&parsed.rules, name).map(|r| r.buffer.clone()),
            "{name}"
        );
    }
}

/// `n_layer` layers cut into `cuts.len() + 1` contiguous ranges; `skip` leaves the last range
/// unassigned (strategy D: those layers' experts go to the CPU).
fn split(
    n_layer: u32,
    mut cuts: Vec<u32>,
    skip_last: bool,
) -> Vec<(BufferType, RangeInclusive<u32>)> {
    cuts.retain(|&c| c > 0 && c < n_layer);
    cuts.sort_unstable();
    cuts.dedup();
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(n_layer);
    let mut out: Vec<(BufferType, RangeInclusive<u32>)> = bounds
        .windows(2)
        .enumerate()
        .filter_map(|(i, w)| match w {
            [a, b] => Some((cuda(i as u32), *a..=*b - 1)),
            _ => None,
        })
        .collect();
    if skip_last && out.len() > 1 {
        out.pop();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_rules_route_every_tensor(
        n_layer in 1u32..=200,
        cuts in prop::collection::vec(1u32..200, 0..=3),
        skip_last in any::<bool>(),
        experts_to_cpu in any::<bool>(),
    ) {
        let assignments = split(n_layer, cuts, skip_last);
        prove(n_layer, &assignments, experts_to_cpu)?;
    }

    #[test]
    fn one_device_with_several_ranges(
        a in 0u32..150, len_a in 0u32..30, gap in 1u32..20, len_b in 0u32..30,
    ) {
        let b = a + len_a + gap;
        let assignments = [(cuda(0), a..=a + len_a), (cuda(1), b..=b + len_b)];
        prove(b + len_b + 1, &assignments, true)?;
    }
}

/// Exhaustive over every range in 0..=130: the alternation matches exactly its numbers.
#[test]
fn range_pattern_matches_exactly_its_numbers() {
    for lo in 0..=130u32 {
        for hi in lo..=130u32 {
            let p = layer_range_pattern(lo, hi);
            assert!(!p.contains(',') && !p.contains('{'), "{p}");
            let re = regex::Regex::new(&format!("^(?:{p})$")).unwrap();
            for n in 0..=260u32 {
                assert_eq!(
                    re.is_match(&n.to_string()),
                    (lo..=hi).contains(&n),
                    "{lo}-{hi}: {p} on {n}"
                );
            }
        }
    }
}

#[test]
fn llama_cpp_style_alternations() {
    assert_eq!(layer_range_pattern(0, 11), "[0-9]|1[01]");
    assert_eq!(layer_range_pattern(12, 15), "1[2-5]");
    assert_eq!(layer_range_pattern(33, 46), "3[3-9]|4[0-6]");
    assert_eq!(layer_range_pattern(17, 24), "1[7-9]|2[0-4]");
    assert_eq!(layer_range_pattern(5, 5), "5");
    assert_eq!(layer_range_pattern(0, 99), "[0-9]|[1-9][0-9]");
    assert_eq!(layer_range_pattern(15, 12), "1[2-5]");
    assert_eq!(layer_set_pattern(&[12..=15, 0..=3, 4..=5]), "[0-5]|1[2-5]");
}

#[test]
fn strategy_shapes() {
    let d = device_rules(&[(cuda(0), 0..=16), (cuda(1), 17..=24)], true).unwrap();
    assert_eq!(
        d,
        r"blk\.([0-9]|1[0-6])\.=CUDA0,blk\.(1[7-9]|2[0-4])\.=CUDA1,exps=CPU"
    );
    let c = device_rules(&[(cuda(0), 0..=32), (cuda(1), 33..=46)], false).unwrap();
    assert_eq!(
        c,
        r"blk\.([0-9]|[12][0-9]|3[0-2])\.=CUDA0,blk\.(3[3-9]|4[0-6])\.=CUDA1"
    );
    assert_eq!(device_rules(&[], true).unwrap(), "exps=CPU");
}

#[test]
fn bad_assignments_are_typed_errors() {
    assert_eq!(
        device_rules(&[(cuda(0), 0..=12), (cuda(1), 12..=20)], true),
        Err(RuleError::Overlap {
            first: cuda(0),
            first_start: 0,
            first_end: 12,
            second: cuda(1),
            second_start: 12,
            second_end: 20,
        })
    );
    #[allow(clippy::reversed_empty_ranges)]
    let empty = 5..=3;
    assert_eq!(
        device_rules(&[(cuda(0), empty)], false),
        Err(RuleError::EmptyRange { start: 5, end: 3 })
    );
}

/// The layer set a hand-written rule selects among layers 0..256.
fn layers_of(rule: &profilec::flags::OtRule) -> BTreeSet<u32> {
    (0..256)
        .filter(|n| rule.matches(&format!("blk.{n}.attn_q.weight")))
        .collect()
}

fn ranges(set: &BTreeSet<u32>) -> Vec<RangeInclusive<u32>> {
    let mut out: Vec<RangeInclusive<u32>> = Vec::new();
    for &l in set {
        match out.last_mut() {
            Some(r) if *r.end() + 1 == l => *r = *r.start()..=l,
            _ => out.push(l..=l),
        }
    }
    out
}

/// Every distinct `-ot` spec of the corpus, regenerated from its layer sets: the same
/// placement, never longer. The table in docs/placement.md is this test's output
/// (`cargo test --test integration place_regex::corpus -- --nocapture`).
#[test]
fn corpus_specs_regenerated_no_longer() {
    let mut specs = BTreeSet::new();
    for entry in std::fs::read_dir("tests/fixtures/corpus").unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if w == "-ot"
                    && let Some(v) = words.next()
                    && v.contains("=C")
                    && parse_ot(v).diagnostics.is_empty()
                {
                    specs.insert(v.to_string());
                }
            }
        }
    }
    assert_eq!(specs.len(), 16, "{specs:#?}");
    let (mut theirs_total, mut ours_total) = (0, 0);
    for spec in &specs {
        let rules = parse_ot(spec).rules;
        let experts_to_cpu = rules.iter().any(|r| r.buffer.is_cpu());
        let assignments: Vec<(BufferType, RangeInclusive<u32>)> = rules
            .iter()
            .filter(|r| !r.buffer.is_cpu())
            .flat_map(|r| {
                ranges(&layers_of(r))
                    .into_iter()
                    .map(move |x| (r.buffer.clone(), x))
            })
            .collect();
        let n_layer = assignments
            .iter()
            .map(|(_, r)| *r.end() + 1)
            .max()
            .unwrap_or(1)
            + 8;
        let ours = prove(n_layer, &assignments, experts_to_cpu).unwrap();
        for n in 0..n_layer {
            for suffix in BLOCK_TENSORS {
                let name = format!("blk.{n}.{suffix}");
                let theirs = place(&rules, &name).map(|r| r.buffer.clone());
                let mine = place(&parse_ot(&ours).rules, &name).map(|r| r.buffer.clone());
                assert_eq!(mine, theirs, "{name}: {spec} vs {ours}");
            }
        }
        println!("| `{spec}` | {} | `{ours}` | {} |", spec.len(), ours.len());
        assert!(ours.len() <= spec.len(), "{ours} longer than {spec}");
        theirs_total += spec.len();
        ours_total += ours.len();
    }
    println!("total: corpus {theirs_total} bytes, generated {ours_total} bytes");
}
