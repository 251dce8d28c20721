//! Effective options: llama-server defaults ← [defaults] ← keys ← EXTRA_ARGS.

use std::path::Path;

use profilec::check::check_source;
use profilec::config::GpuLayers;
use profilec::hardware;
use profilec::resolve::{FlashAttn, Origin, effective};

fn reference_rig() -> hardware::Hardware {
    let root = crate::support::root();
    hardware::load(&root.join("profiles/profilec.toml"))
        .expect("reference rig")
        .hardware
}

#[test]
fn layers_apply_in_order_and_later_flags_win() {
    let text = "[a]\nNAME=A\nMODEL=Q/m.gguf\nCTX_SIZE=65536\nEXTRA_ARGS=--jinja -np 1 --split-mode none -ot exps=CPU -ot blk\\.0\\.=CUDA0\n";
    let report = check_source(text, None);
    let hw = reference_rig();
    let eff = effective(&report.conf.profiles[0], &hw.defaults, Path::new("/models"));
    let argv = eff.argv();
    // [defaults] of the reference rig: ctx 131072 replaced in place by CTX_SIZE.
    let ctx = argv.iter().position(|a| a == "--ctx-size").expect("ctx");
    assert_eq!(argv[ctx + 1], "65536");
    assert_eq!(argv.iter().filter(|a| *a == "--ctx-size").count(), 1);
    assert_eq!(
        eff.get("--ctx-size").map(|s| s.origin),
        Some(Origin::Key("CTX_SIZE"))
    );
    // split-mode layer from [defaults], replaced by EXTRA_ARGS.
    assert_eq!(eff.value("-sm"), Some("none"));
    assert_eq!(eff.get("-sm").map(|s| s.origin), Some(Origin::ExtraArgs));
    // -ot accumulates.
    assert_eq!(argv.iter().filter(|a| *a == "--override-tensor").count(), 2);
    assert_eq!(eff.value("--model"), Some("/models/Q/m.gguf"));

    let o = eff.options().expect("options");
    assert_eq!(o.ctx_size, 65536);
    assert_eq!(o.cache_type_k, "q8_0");
    assert_eq!(o.flash_attn, FlashAttn::On);
    assert_eq!(o.gpu_layers, GpuLayers::Auto);
    assert_eq!(o.fit_target, vec![128, 1024]);
    assert_eq!(o.n_seq(), 1);
    assert!(!o.unified());
    assert_eq!(o.overrides.len(), 2);
    assert!(o.overrides[0].buffer.is_cpu());
}

#[test]
fn llama_server_builtins_when_nothing_is_set() {
    let report = check_source("[a]\nNAME=A\nMODEL=m.gguf\n", None);
    let eff = effective(
        &report.conf.profiles[0],
        &Default::default(),
        Path::new("models"),
    );
    let o = eff.options().expect("options");
    assert_eq!((o.ctx_size, o.batch, o.ubatch), (0, 2048, 512));
    assert_eq!((o.n_seq(), o.unified()), (4, true));
    assert_eq!(
        (o.cache_type_k.as_str(), o.flash_attn),
        ("f16", FlashAttn::Auto)
    );
    assert!(o.fit && o.repack && o.kv_offload);
    assert_eq!(o.fit_target, vec![1024]);
}

#[test]
fn negations_and_cpu_moe_expand() {
    let report = check_source(
        "[a]\nNAME=A\nMODEL=m.gguf\nEXTRA_ARGS=--no-repack -nkvo --n-cpu-moe 3 --no-context-shift\n",
        None,
    );
    let eff = effective(
        &report.conf.profiles[0],
        &Default::default(),
        Path::new("models"),
    );
    let o = eff.options().expect("options");
    assert!(!o.repack);
    assert!(!o.kv_offload);
    assert!(!o.context_shift);
    assert_eq!(o.overrides.len(), 3);
    assert!(eff.argv().contains(&"--no-repack".to_string()));
}

#[test]
fn settings_keep_where_the_profile_wrote_them() {
    let text = "[a]\nNAME=A\nMODEL=m.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=--jinja -c 16384\n\n\
                [b]\nNAME=B\nMODEL=m.gguf\nCTX_SIZE=8192\n";
    let report = check_source(text, None);
    let hw = reference_rig();
    let span_text = |eff: &profilec::resolve::Effective, flag: &str| {
        let s = eff.get(flag).and_then(|s| s.span.clone()).expect("span");
        &text[s]
    };
    // EXTRA_ARGS `-c` beats CTX_SIZE, and the setting points at the `-c` the user wrote.
    let a = effective(&report.conf.profiles[0], &hw.defaults, Path::new("/models"));
    assert_eq!(a.value("--ctx-size"), Some("16384"));
    assert_eq!(
        a.get("--ctx-size").map(|s| s.origin),
        Some(Origin::ExtraArgs)
    );
    assert_eq!(span_text(&a, "--ctx-size"), "-c 16384");
    assert_eq!(span_text(&a, "--model"), "m.gguf");
    let b = effective(&report.conf.profiles[1], &hw.defaults, Path::new("/models"));
    assert_eq!(span_text(&b, "--ctx-size"), "8192");
    // [defaults] were written in profilec.toml, not in this file: no span.
    assert_eq!(b.get("--split-mode").map(|s| s.span.clone()), Some(None));
}
