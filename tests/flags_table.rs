//! The embedded llama-server b11434 flag table.

use profilec::flags::{ListKind, TABLE, ValueKind, lookup};

#[test]
fn table_has_every_option_and_alias() {
    assert_eq!(TABLE.specs.len(), 256);
    assert_eq!(TABLE.all_aliases().count(), 413);
    let distinct: std::collections::HashSet<_> = TABLE.all_aliases().collect();
    assert_eq!(distinct.len(), 413, "no spelling belongs to two options");
    let ot = lookup("-ot").expect("-ot");
    assert_eq!(ot.canonical, "--override-tensor");
    assert!(std::ptr::eq(ot, lookup("--override-tensor").expect("long")));
    assert_eq!(ot.kind, ValueKind::List(ListKind::TensorOverrides));
    assert!(ot.accumulates);
    assert_eq!(ot.env, Some("LLAMA_ARG_OVERRIDE_TENSOR"));
    assert_eq!(
        lookup("-hfrd").map(|s| s.canonical),
        Some("--spec-draft-hf")
    );
    assert_eq!(lookup("-np").map(|s| s.canonical), Some("--parallel"));
    assert_eq!(
        lookup("--ctx_size").map(|s| s.canonical),
        Some("--ctx-size")
    );
    assert!(
        lookup("-ctx_size").is_none(),
        "only `--` spellings fold `_`"
    );
    assert!(lookup("--no-mmap").is_none());
}

#[test]
fn negations_come_from_the_neg_spellings() {
    let neg = |f: &str| lookup(f).map(|s| s.negations.clone()).unwrap_or_default();
    assert_eq!(neg("--context-shift"), ["--no-context-shift"]);
    assert_eq!(neg("-kvo"), ["-nkvo", "--no-kv-offload"]);
    assert_eq!(neg("--repack"), ["-nr", "--no-repack"]);
    assert_eq!(neg("-cb"), ["-nocb", "--no-cont-batching"]);
    assert_eq!(neg("-kvu"), ["-no-kvu", "--no-kv-unified"]);
    assert_eq!(neg("--mmproj-auto"), ["--no-mmproj", "--no-mmproj-auto"]);
    assert_eq!(
        neg("--ui-mcp-proxy"),
        ["--no-ui-mcp-proxy", "--no-webui-mcp-proxy"]
    );
    assert_eq!(
        neg("--no-host"),
        Vec::<&str>::new(),
        "a plain switch, not a negation"
    );
    let bools = TABLE
        .specs
        .iter()
        .filter(|s| s.kind == ValueKind::Bool)
        .count();
    assert_eq!(bools, 27);
    assert!(
        TABLE
            .specs
            .iter()
            .filter(|s| s.kind == ValueKind::Bool)
            .all(|s| !s.negations.is_empty())
    );
}

#[test]
fn value_kinds() {
    let kind = |f: &str| lookup(f).map(|s| s.kind.clone());
    assert_eq!(
        kind("-fa"),
        Some(ValueKind::Enum(vec!["on", "off", "auto"]))
    );
    assert_eq!(
        kind("-sm"),
        Some(ValueKind::Enum(vec!["none", "layer", "row", "tensor"]))
    );
    assert_eq!(
        kind("--numa"),
        Some(ValueKind::Enum(vec!["distribute", "isolate", "numactl"]))
    );
    assert_eq!(
        kind("-lzm"),
        Some(ValueKind::Enum(vec!["on", "auto", "off"]))
    );
    assert_eq!(kind("--reasoning-effort"), Some(ValueKind::String));
    assert_eq!(kind("-dr"), Some(ValueKind::String));
    assert_eq!(kind("-ctk"), Some(ValueKind::CacheType));
    assert_eq!(kind("--spec-draft-type-v"), Some(ValueKind::CacheType));
    assert_eq!(kind("-ngl"), Some(ValueKind::IntAutoAll));
    assert_eq!(kind("-ts"), Some(ValueKind::List(ListKind::Floats)));
    assert_eq!(kind("-fitt"), Some(ValueKind::List(ListKind::Ints)));
    assert_eq!(kind("-dev"), Some(ValueKind::List(ListKind::Names)));
    assert_eq!(
        kind("--lora-scaled"),
        Some(ValueKind::List(ListKind::ScaledFiles))
    );
    assert_eq!(
        kind("--override-kv"),
        Some(ValueKind::List(ListKind::KvOverrides))
    );
    assert_eq!(
        kind("--control-vector-layer-range"),
        Some(ValueKind::IntPair)
    );
    assert_eq!(kind("--logit-bias"), Some(ValueKind::String));
    assert_eq!(kind("--jinja"), Some(ValueKind::Bool));
    assert_eq!(kind("--metrics"), Some(ValueKind::Switch));
    assert_eq!(
        lookup("--control-vector-layer-range").map(|s| s.arity()),
        Some(2)
    );
    let removed: Vec<_> = TABLE
        .specs
        .iter()
        .filter(|s| s.removed)
        .map(|s| s.canonical)
        .collect();
    assert_eq!(
        removed,
        [
            "--draft",
            "--draft-min",
            "--spec-ngram-size-n",
            "--spec-ngram-size-m",
            "--spec-ngram-min-hits"
        ]
    );
}
