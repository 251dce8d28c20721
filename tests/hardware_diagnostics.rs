//! Every `hw::` code a profilec.toml can produce, with its exact line and column.

use std::path::Path;

use profilec::diag::{Diagnostic, Severity, line_col};
use profilec::hardware;

const CPU: &str =
    "[cpu]\nram_mib = 65536\ncores_physical = 8\ncores_logical = 16\nnuma_nodes = 1\n";

/// Parses `src` and returns each diagnostic as (code, line, column, text under the span).
fn diags(src: &str) -> Vec<(&'static str, usize, usize, String)> {
    hardware::parse(src, Path::new("/etc/profilec"))
        .diagnostics
        .iter()
        .map(|d: &Diagnostic| {
            let span = d.span.clone().expect("every file diagnostic has a span");
            let (line, col) = line_col(src, span.start);
            (d.code, line, col, src[span].to_owned())
        })
        .collect()
}

fn one(src: &str) -> Diagnostic {
    let mut all = hardware::parse(src, Path::new("/etc/profilec")).diagnostics;
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

#[test]
fn toml_syntax() {
    let src = format!("{CPU}[runtime\nport = 8080\n");
    assert_eq!(diags(&src), [("hw::toml-syntax", 6, 9, String::new())]);
    assert!(one(&src).message.contains("unclosed table"));
}

#[test]
fn unknown_key_suggests_the_closest() {
    let src = format!("{CPU}os_reserv_mib = 4096\n\n[gpus]\n");
    assert_eq!(
        diags(&src),
        [
            ("hw::unknown-key", 8, 2, "gpus".to_owned()),
            ("hw::unknown-key", 6, 1, "os_reserv_mib".to_owned()),
        ]
    );
    let all = hardware::parse(&src, Path::new(".")).diagnostics;
    assert_eq!(all[0].message, "unknown section `gpus` in profilec.toml");
    assert_eq!(
        all[0].help.as_deref(),
        Some("did you mean `gpu`? (see docs/hardware.md)")
    );
    assert_eq!(all[1].message, "unknown key `os_reserv_mib` in [cpu]");
    assert_eq!(
        all[1].help.as_deref(),
        Some("did you mean `os_reserve_mib`? (see docs/hardware.md)")
    );
}

#[test]
fn unknown_key_without_a_close_match_lists_the_known_ones() {
    let d = one(&format!("{CPU}\n[llm]\ntemperature = 0.2\n"));
    assert_eq!(d.code, "hw::unknown-key");
    assert_eq!(
        d.help.as_deref(),
        Some(
            "known keys in [llm]: model, base_url, api_key_env, timeout_secs (see docs/hardware.md)"
        )
    );
}

#[test]
fn wrong_type() {
    let src = format!(
        "{CPU}arch = 64\n\n[runtime]\nport = \"8080\"\n\n[defaults]\nfit-target = [128, 1024]\n"
    );
    assert_eq!(
        diags(&src),
        [
            ("hw::wrong-type", 6, 8, "64".to_owned()),
            ("hw::wrong-type", 12, 14, "[128, 1024]".to_owned()),
            ("hw::wrong-type", 9, 8, "\"8080\"".to_owned()),
        ]
    );
    let d = &hardware::parse(&src, Path::new(".")).diagnostics[2];
    assert_eq!(
        d.message,
        "[runtime] `port` must be an integer, found string"
    );
    assert_eq!(d.help.as_deref(), Some("write it like `port = 8192`"));
}

#[test]
fn section_of_the_wrong_type() {
    let src = format!("gpu = \"RTX 4090\"\n{CPU}");
    assert_eq!(
        diags(&src),
        [("hw::wrong-type", 1, 7, "\"RTX 4090\"".to_owned())]
    );
}

#[test]
fn negative_sizes() {
    let src = "[[gpu]]\nid = \"CUDA0\"\ntotal_mib = 24564\nreserved_mib = -300\n\n[cpu]\nram_mib = -1\ncores_physical = 8\ncores_logical = 16\nnuma_nodes = 1\n";
    let got = diags(src);
    assert_eq!(got[0], ("hw::negative-value", 4, 16, "-300".to_owned()));
    assert_eq!(got[1], ("hw::negative-value", 7, 11, "-1".to_owned()));
    assert_eq!(got.len(), 2, "{got:?}");
    let d = &hardware::parse(src, Path::new(".")).diagnostics[0];
    assert_eq!(d.message, "[[gpu]] #1 `reserved_mib` is negative (-300)");
}

#[test]
fn out_of_range() {
    let src = format!("{CPU}speed = 0\n\n[runtime]\nport = 70000\n");
    let src = src.replace("numa_nodes = 1", "numa_nodes = 0");
    assert_eq!(
        diags(&src),
        [
            ("hw::out-of-range", 5, 14, "0".to_owned()),
            ("hw::out-of-range", 6, 9, "0".to_owned()),
            ("hw::out-of-range", 9, 8, "70000".to_owned()),
        ]
    );
}

#[test]
fn missing_required_gpu_keys() {
    let src = format!("{CPU}\n[[gpu]]\nname = \"RTX 4090\"\n");
    assert_eq!(
        diags(&src),
        [
            ("hw::missing-key", 7, 1, "[[gpu]]".to_owned()),
            ("hw::missing-key", 7, 1, "[[gpu]]".to_owned()),
        ]
    );
    let all = hardware::parse(&src, Path::new(".")).diagnostics;
    assert_eq!(all[0].message, "[[gpu]] #1 has no `id`");
    assert_eq!(all[0].help.as_deref(), Some("add `id = \"CUDA0\"`"));
    assert_eq!(all[1].message, "[[gpu]] #1 has no `total_mib`");
}

#[test]
fn duplicate_gpu_ids() {
    let src = format!(
        "{CPU}\n[[gpu]]\nid = \"CUDA0\"\ntotal_mib = 24564\n\n[[gpu]]\nid = \"CUDA0\"\ntotal_mib = 16303\n"
    );
    assert_eq!(
        diags(&src),
        [("hw::duplicate-gpu-id", 12, 6, "\"CUDA0\"".to_owned())]
    );
    let d = one(&src);
    assert_eq!(d.related.len(), 1);
    assert_eq!(line_col(&src, d.related[0].span.start), (8, 6));
    assert_eq!(d.related[0].label, "first defined here");
}

#[test]
fn gpu_ids_must_be_cuda_order() {
    let src = format!(
        "{CPU}\n[[gpu]]\nid = \"CUDA1\"\ntotal_mib = 16303\n\n[[gpu]]\nid = \"CUDA0\"\ntotal_mib = 24564\n\n[[gpu]]\nid = \"GPU2\"\ntotal_mib = 8192\n"
    );
    assert_eq!(
        diags(&src),
        [
            ("hw::gpu-id-order", 8, 6, "\"CUDA1\"".to_owned()),
            ("hw::gpu-id-order", 12, 6, "\"CUDA0\"".to_owned()),
            ("hw::gpu-id-order", 16, 6, "\"GPU2\"".to_owned()),
        ]
    );
    let d = &hardware::parse(&src, Path::new(".")).diagnostics[2];
    assert_eq!(d.label.as_deref(), Some("expected `CUDA2`"));
}

#[test]
fn reserved_more_than_total() {
    let src = format!(
        "{CPU}\n[[gpu]]\nid = \"CUDA0\"\ntotal_mib = 16303\nreserved_mib = 20000  # oops\n"
    );
    assert_eq!(
        diags(&src),
        [("hw::reserved-exceeds-total", 10, 16, "20000".to_owned())]
    );
    let loaded = hardware::parse(&src, Path::new("."));
    // The bad value is clamped so the rest of the pipeline still sees a sane machine.
    assert_eq!(loaded.hardware.gpus[0].reserved_mib, 16303);
    assert_eq!(
        line_col(&src, loaded.diagnostics[0].related[0].span.start),
        (9, 13)
    );
}

#[test]
fn os_reserve_more_than_ram() {
    let src = CPU.replace("ram_mib = 65536", "ram_mib = 4096\nos_reserve_mib = 8192");
    assert_eq!(
        diags(&src),
        [("hw::reserve-exceeds-ram", 3, 18, "8192".to_owned())]
    );
}

#[test]
fn fewer_logical_than_physical_cores() {
    let src = CPU.replace("cores_logical = 16", "cores_logical = 4");
    assert_eq!(diags(&src), [("hw::cores-mismatch", 4, 17, "4".to_owned())]);
}

#[test]
fn all_problems_are_reported_at_once() {
    let src = "[[gpu]]\nid = \"CUDA3\"\ntotal_mib = -1\nspede = 1\n\n[cpu]\nram_mib = \"lots\"\ncores_physical = 8\ncores_logical = 16\nnuma_nodes = 1\n";
    let codes: Vec<&str> = diags(src).into_iter().map(|d| d.0).collect();
    assert_eq!(
        codes,
        [
            "hw::unknown-key",
            "hw::gpu-id-order",
            "hw::negative-value",
            "hw::wrong-type"
        ]
    );
    let loaded = hardware::parse(src, Path::new("."));
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Error)
    );
    assert!(loaded.diagnostics.iter().all(|d| d.help.is_some()));
}
