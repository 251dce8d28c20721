//! Grids and argv: every run pins the settings llama.cpp would otherwise choose itself.

use std::path::Path;

use profilec::calibrate::{
    self, CalibrateError, FlashAttn, Grid, LoadMode, Program, Settings, moe_extras,
    settings_for_model,
};

fn has(argv: &[String], pair: [&str; 2]) -> bool {
    argv.windows(2).any(|w| w == pair)
}

#[test]
fn every_grid_run_pins_verbosity_fit_context_and_cpu() {
    for name in ["quick", "full", "server"] {
        let settings = calibrate::grid(name).expect("known grid");
        assert!(!settings.is_empty());
        for s in settings {
            let argv = s.argv(Path::new("m.gguf"), 8080);
            let ctx = s.ctx.to_string();
            for pair in [
                ["-lv", "4"],
                ["-fit", "off"],
                ["-ngl", "0"],
                ["-t", "2"],
                ["-c", &ctx],
            ] {
                assert!(has(&argv, pair), "{name}: {pair:?} missing in {argv:?}");
            }
            // llama-completion rejects -kvu; only server runs may ask for it.
            if s.kv_unified {
                assert_eq!(s.program, Program::Server, "{s}");
            }
        }
    }
}

#[test]
fn full_grid_is_the_product_plus_extras() {
    let full = calibrate::grid("full").expect("full");
    let server = calibrate::grid("server").expect("server");
    // The product first, then the corner cases, then the server grid.
    let mut i = 0;
    for ctx in [512, 4096, 32768] {
        for ubatch in [128, 512] {
            for n_parallel in [1, 4] {
                for ct in ["f16", "q8_0"] {
                    for flash_attn in [FlashAttn::On, FlashAttn::Off] {
                        let expected = Settings {
                            ctx,
                            ubatch,
                            n_parallel,
                            cache_k: ct.into(),
                            cache_v: ct.into(),
                            flash_attn,
                            ..Settings::default()
                        };
                        assert_eq!(full.get(i), Some(&expected), "row {i}");
                        i += 1;
                    }
                }
            }
        }
    }
    assert_eq!(i, 48);
    assert!(full.ends_with(&server));
    let extras = full.get(48..full.len() - server.len()).unwrap_or_default();
    assert!(extras.iter().any(|s| s.swa_full));
    assert!(extras.iter().any(|s| s.no_repack));
    assert!(extras.iter().any(|s| s.load_mode == LoadMode::None));
    assert!(extras.iter().any(|s| s.flash_attn == FlashAttn::Auto));
    assert!(extras.iter().any(|s| s.ctx == 1000));
    assert!(extras.iter().any(|s| s.cache_k != s.cache_v));
    assert!(server.iter().all(|s| s.program == Program::Server));
    assert!(server.iter().any(|s| s.kv_unified));
}

#[test]
fn quick_grid_has_both_programs_and_one_change_at_a_time() {
    let quick = Grid::Quick.settings();
    assert!(quick.len() <= 12, "quick has {} runs", quick.len());
    assert_eq!(quick[0], Settings::default());
    assert!(quick.iter().any(|s| s.program == Program::Server));
    assert!(quick.iter().any(|s| s.program == Program::Completion));
    let base = Settings::default();
    for s in quick.iter().filter(|s| s.program == Program::Completion) {
        let changed = [
            s.ctx != base.ctx,
            s.ubatch != base.ubatch,
            s.n_parallel != base.n_parallel,
            s.cache_k != base.cache_k || s.cache_v != base.cache_v,
            s.flash_attn != base.flash_attn,
        ];
        assert!(changed.iter().filter(|c| **c).count() <= 1, "{s}");
    }
}

#[test]
fn unknown_grid_is_a_typed_error() {
    let err = calibrate::grid("huge").expect_err("unknown");
    assert!(matches!(&err, CalibrateError::UnknownGrid { name } if name == "huge"));
    assert_eq!(
        err.to_string(),
        "unknown grid `huge`; expected one of: quick, full, server"
    );
}

#[test]
fn moe_models_get_expert_placement_runs() {
    let plain = settings_for_model(Grid::Quick, Path::new("models/llama-gqa.gguf"));
    let moe = settings_for_model(Grid::Quick, Path::new("models/qwen3moe.gguf"));
    assert_eq!(plain, Grid::Quick.settings());
    assert_eq!(moe.len(), plain.len() + moe_extras().len());
    assert!(moe.iter().any(|s| s.extra == ["-ot", "exps=CPU"]));
    assert!(moe.iter().any(|s| s.extra == ["--n-cpu-moe", "2"]));
}

#[test]
fn argv_of_each_program() {
    let s = Settings {
        ctx: 8192,
        ubatch: 256,
        batch: 1024,
        n_parallel: 2,
        kv_unified: true,
        cache_k: "q8_0".into(),
        cache_v: "q4_0".into(),
        flash_attn: FlashAttn::Auto,
        swa_full: true,
        no_repack: true,
        load_mode: LoadMode::MmapMlock,
        extra: vec!["-ot".into(), "exps=CPU".into()],
        ..Settings::default()
    }
    .server();
    let argv = s.argv(Path::new("/m/x.gguf"), 41234);
    let expected: Vec<String> = [
        "-m",
        "/m/x.gguf",
        "-c",
        "8192",
        "-ub",
        "256",
        "-b",
        "1024",
        "-np",
        "2",
        "-ctk",
        "q8_0",
        "-ctv",
        "q4_0",
        "-fa",
        "auto",
        "-t",
        "2",
        "-fit",
        "off",
        "-ngl",
        "0",
        "-lv",
        "4",
        "-kvu",
        "--swa-full",
        "--no-repack",
        "-lm",
        "mmap+mlock",
        "--host",
        "127.0.0.1",
        "--port",
        "41234",
        "--no-warmup",
        "-ot",
        "exps=CPU",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(argv, expected);

    let argv = Settings::default().argv(Path::new("x.gguf"), 0);
    assert!(has(&argv, ["-p", "hello world"]) && has(&argv, ["-n", "1"]));
    assert!(argv.iter().any(|a| a == "-no-cnv") && !argv.iter().any(|a| a == "--port"));
    assert!(!argv.iter().any(|a| a == "-lm" || a == "-kvu"));
}

#[test]
fn settings_serialise_with_llama_cpp_spellings() {
    let s = Settings {
        load_mode: LoadMode::MmapMlock,
        ..Settings::default()
    }
    .server();
    let v = serde_json::to_value(&s).expect("json");
    assert_eq!(v["program"], "server");
    assert_eq!(v["flash_attn"], "on");
    assert_eq!(v["load_mode"], "mmap+mlock");
    assert_eq!(v["ctx"], 4096);
    let back: Settings = serde_json::from_value(v).expect("reads back");
    assert_eq!(back, s);
}
