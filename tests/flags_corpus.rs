//! Every EXTRA_ARGS value in the 23 historical models.conf versions of the seed repository
//! (active and commented out) parses as llama-server would accept it.

use std::collections::BTreeSet;

use profilec::diag::Severity;
use profilec::flags::{BufferType, TypedValue, parse_args, place};

/// `(file, 1-based line, value, byte offset of the value in the file)` for every
/// `EXTRA_ARGS=` line, including `# EXTRA_ARGS=` ones. Prose examples write `...` for the
/// elided leading flags; that placeholder is skipped (offset moved past it).
fn extra_args_lines() -> Vec<(String, usize, String, usize)> {
    let files = crate::support::corpus_files();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read corpus file");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut offset = 0;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let body = line.trim_end_matches('\n');
            let stripped = body.trim_start().trim_start_matches('#').trim_start();
            if let Some(v) = stripped.strip_prefix("EXTRA_ARGS=") {
                let mut start = offset + body.len() - v.len();
                let mut value = v;
                if let Some(rest) = value.strip_prefix("... ") {
                    start += 4;
                    value = rest;
                }
                out.push((name.clone(), n + 1, value.to_string(), start));
                assert_eq!(&text[start..start + value.len()], value);
            }
            offset += line.len();
        }
    }
    out
}

#[test]
fn corpus_extra_args_parse_without_errors_or_warnings() {
    let lines = extra_args_lines();
    assert_eq!(lines.len(), 336, "EXTRA_ARGS lines across the 23 versions");
    assert_eq!(lines.iter().filter(|l| l.2.contains("-ot ")).count(), 144);
    for (file, line, value, _) in &lines {
        let parsed = parse_args(value);
        let bad: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .collect();
        assert!(bad.is_empty(), "{file}:{line}: {value}\n{bad:#?}");
        assert!(!parsed.args.is_empty());
    }
}

#[test]
fn corpus_uses_exactly_the_known_flags() {
    let mut flags = BTreeSet::new();
    for (_, _, value, _) in extra_args_lines() {
        for a in parse_args(&value).args {
            flags.insert(a.spec.canonical);
        }
    }
    let expected = [
        "--batch-size",
        "--context-shift",
        "--jinja",
        "--main-gpu",
        "--min-p",
        "--override-tensor",
        "--parallel",
        "--reasoning-format",
        "--split-mode",
        "--temp",
        "--tensor-split",
        "--top-k",
        "--top-p",
        "--ubatch-size",
    ];
    assert_eq!(flags.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn corpus_ot_rules_place_layers_on_the_intended_device() {
    let value = r"--jinja -np 1 -b 512 -ub 512 --no-context-shift -ot blk\.([0-9]|1[0-8])\.=CUDA0,blk\.(1[9]|2[0-7])\.=CUDA1,exps=CPU";
    let parsed = parse_args(value);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    assert_eq!(parsed.switch("--context-shift"), Some(false));
    let rules: Vec<_> = parsed.ot_rules().cloned().collect();
    assert_eq!(rules.len(), 3);
    let cuda = |index| BufferType::Device {
        backend: profilec::flags::Backend::Cuda,
        index,
    };
    let at = |t: &str| place(&rules, t).map(|r| r.buffer.clone());
    assert_eq!(at("blk.0.ffn_up_exps.weight"), Some(cuda(0)));
    assert_eq!(at("blk.18.attn_q.weight"), Some(cuda(0)));
    assert_eq!(at("blk.19.ffn_down_exps.weight"), Some(cuda(1)));
    assert_eq!(at("blk.27.ffn_gate_exps.weight"), Some(cuda(1)));
    assert_eq!(at("blk.28.ffn_gate_exps.weight"), Some(BufferType::Cpu));
    assert_eq!(at("blk.28.attn_q.weight"), None);
    assert_eq!(at("blk.1x.attn_q.weight"), None);
    // Rule spans point back into the value.
    assert_eq!(&value[rules[2].span.clone()], "exps=CPU");
    assert_eq!(
        &value[rules[0].pattern_span.clone()],
        r"blk\.([0-9]|1[0-8])\."
    );
    assert_eq!(&value[rules[1].buffer_span.clone()], "CUDA1");
}

#[test]
fn corpus_tensor_split_and_values_are_typed() {
    let parsed = parse_args(
        "--jinja -np 1 -b 2048 -ub 512 --no-context-shift --tensor-split 21,10 -ot exps=CPU",
    );
    assert!(parsed.diagnostics.is_empty());
    match &parsed.last("-ts").and_then(|a| a.typed.clone()) {
        Some(TypedValue::Floats(v)) => assert_eq!(v, &[21.0, 10.0]),
        other => panic!("unexpected {other:?}"),
    }
    match parsed.last("-b").and_then(|a| a.typed.clone()) {
        Some(TypedValue::Int(v)) => assert_eq!(v, 2048),
        other => panic!("unexpected {other:?}"),
    }
}
