//! The shipped profiles parse cleanly and carry exactly the reference values.

use std::path::{Path, PathBuf};

use profilec::hardware::{self, DeviceKind};

fn profile(name: &str) -> PathBuf {
    crate::support::root().join("profiles").join(name)
}

/// The `[defaults]` entries as (key, value).
fn defaults(hw: &hardware::Hardware) -> Vec<(&str, &str)> {
    hw.defaults
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect()
}

#[test]
fn reference_rig_parses_with_exact_values() {
    let loaded =
        hardware::load(&profile("profilec.toml")).expect("profiles/profilec.toml is readable");
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let hw = &loaded.hardware;

    assert_eq!(hw.gpus.len(), 2);
    let g0 = &hw.gpus[0];
    assert_eq!(g0.id, "CUDA0");
    assert_eq!(g0.name, "NVIDIA GeForce RTX 4090");
    assert_eq!((g0.total_mib, g0.reserved_mib), (24564, 256));
    assert_eq!(g0.speed, 1.0);
    assert!(!g0.drives_display);
    assert_eq!(g0.pci_bus_id, None);
    let g1 = &hw.gpus[1];
    assert_eq!(g1.id, "CUDA1");
    assert_eq!(g1.name, "NVIDIA GeForce RTX 5070 Ti");
    assert_eq!((g1.total_mib, g1.reserved_mib), (16303, 3328));
    assert_eq!(g1.speed, 0.7);
    assert!(g1.drives_display);

    let c = &hw.cpu;
    assert_eq!((c.ram_mib, c.os_reserve_mib), (64205, 8192));
    assert_eq!(
        (c.cores_physical, c.cores_logical, c.numa_nodes),
        (12, 24, 1)
    );
    assert_eq!(c.arch, "x86_64");
    assert_eq!(c.speed, 0.05);

    let defaults = defaults(hw);
    assert_eq!(
        defaults,
        [
            ("ctx-size", "131072"),
            ("n-gpu-layers", "auto"),
            ("split-mode", "layer"),
            ("main-gpu", "0"),
            ("flash-attn", "on"),
            ("cache-type-k", "q8_0"),
            ("cache-type-v", "q8_0"),
            ("fit", "on"),
            ("fit-target", "128,1024"),
        ]
    );
    assert_eq!(hw.defaults.get("fit-target"), Some("128,1024"));
    // Spans point at the key and the value as written.
    let fit_target = &hw.defaults.entries[8];
    let src = &loaded.source;
    assert_eq!(&src[fit_target.key_span.clone().unwrap()], "fit-target");
    assert_eq!(&src[fit_target.value_span.clone().unwrap()], "\"128,1024\"");

    let rt = &hw.runtime;
    assert_eq!(rt.llama_server, PathBuf::from("llama-server"));
    assert_eq!(rt.models_dir, profile("").join("../models"));
    assert_eq!(
        (rt.host.as_str(), rt.port, rt.cuda_overhead_mib),
        ("127.0.0.1", 8080, 500)
    );

    assert_eq!(hw.llm.model, "deepseek-ai/DeepSeek-V3.2");
    assert_eq!(hw.llm.base_url, "https://router.huggingface.co/v1");
    assert_eq!(hw.llm.api_key_env, "HF_TOKEN");
}

#[test]
fn reference_rig_machine_view() {
    let hw = hardware::load(&profile("profilec.toml")).unwrap().hardware;
    let m = hw.machine();
    let ids: Vec<&str> = m.devices().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["CUDA0", "CUDA1", "CPU"]);
    let caps: Vec<u64> = m.devices().map(|d| d.capacity_mib).collect();
    assert_eq!(caps, [24564 - 256, 16303 - 3328, 64205 - 8192]);
    assert_eq!(m.gpu_capacity_mib(), 24308 + 12975);
    assert_eq!(m.cuda_overhead_mib, 500);
    let cpu = m.device("CPU").unwrap();
    assert_eq!(cpu.kind, DeviceKind::Cpu);
    assert_eq!(cpu.speed, 0.05);
    assert!(m.device("CUDA1").unwrap().drives_display);
    assert!(m.device("CUDA2").is_none());
    assert!(!m.is_cpu_only());
}

#[test]
fn cpu_only_box_parses_with_exact_values() {
    let loaded = hardware::load(&profile("cpu-only.toml")).unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let hw = &loaded.hardware;
    assert!(hw.gpus.is_empty());
    let c = &hw.cpu;
    assert_eq!((c.ram_mib, c.os_reserve_mib), (31958, 4096));
    assert_eq!(
        (c.cores_physical, c.cores_logical, c.numa_nodes),
        (8, 16, 1)
    );
    assert_eq!((c.arch.as_str(), c.speed), ("x86_64", 0.08));
    let defaults = defaults(hw);
    assert_eq!(
        defaults,
        [
            ("ctx-size", "32768"),
            ("n-gpu-layers", "0"),
            ("threads", "8"),
            ("flash-attn", "on"),
            ("cache-type-k", "q8_0"),
            ("cache-type-v", "q8_0"),
            ("jinja", "true"),
        ]
    );
    // [runtime] without host/cuda_overhead_mib, and no [llm]: documented defaults.
    assert_eq!(hw.runtime.host, "127.0.0.1");
    assert_eq!(hw.runtime.cuda_overhead_mib, 500);
    assert_eq!(hw.llm, hardware::Llm::default());
    let m = hw.machine();
    assert!(m.is_cpu_only());
    assert_eq!(m.devices().count(), 1);
    assert_eq!(m.cpu.capacity_mib, 31958 - 4096);
}

#[test]
fn missing_sections_get_documented_defaults() {
    let src = "[cpu]\nram_mib = 16384\ncores_physical = 4\ncores_logical = 8\nnuma_nodes = 1\narch = \"aarch64\"\n";
    let loaded = hardware::parse(src, Path::new("/srv/llm"));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let hw = loaded.hardware;
    assert!(hw.gpus.is_empty());
    // 1/8 of RAM, clamped to 1..8 GiB.
    assert_eq!(hw.cpu.os_reserve_mib, 2048);
    assert_eq!(hw.cpu.speed, hardware::DEFAULT_CPU_SPEED);
    assert!(hw.defaults.entries.is_empty());
    assert_eq!(hw.runtime.models_dir, PathBuf::from("/srv/llm/models"));
    assert_eq!(hw.runtime.llama_server, PathBuf::from("llama-server"));
    assert_eq!(hw.runtime.port, 8080);
    assert_eq!(hw.llm.model, "deepseek-ai/DeepSeek-V3.2");
}

#[test]
fn default_os_reserve_rule() {
    use hardware::Cpu;
    assert_eq!(Cpu::default_os_reserve_mib(64205), 8025);
    assert_eq!(Cpu::default_os_reserve_mib(31958), 3994);
    assert_eq!(Cpu::default_os_reserve_mib(4096), 1024);
    assert_eq!(Cpu::default_os_reserve_mib(131072), 8192);
    assert_eq!(Cpu::default_os_reserve_mib(512), 512);
}

#[test]
fn relative_llama_server_path_resolves_against_the_file() {
    let src = "[runtime]\nllama_server = \"bin/llama-server\"\nmodels_dir = \"/abs/models\"\n";
    let hw = hardware::parse(src, Path::new("/home/u/llm")).hardware;
    assert_eq!(
        hw.runtime.llama_server,
        PathBuf::from("/home/u/llm/bin/llama-server")
    );
    assert_eq!(hw.runtime.models_dir, PathBuf::from("/abs/models"));
}

#[test]
fn resolve_prefers_explicit_then_beside_then_detection() {
    use hardware::Origin;
    let profiles = profile("");
    let explicit = profile("cpu-only.toml");
    let r = hardware::resolve(Some(&explicit), &profiles).unwrap();
    assert_eq!(r.origin, Origin::File(explicit));
    assert_eq!(r.hardware.cpu.ram_mib, 31958);

    // profiles/ holds a profilec.toml, as a models.conf directory would.
    let r = hardware::resolve(None, &profiles).unwrap();
    assert_eq!(r.origin, Origin::File(profiles.join("profilec.toml")));
    assert_eq!(r.hardware.gpus.len(), 2);
    assert!(r.diagnostics.is_empty());

    let empty = tempfile::tempdir().unwrap();
    let r = hardware::resolve(None, empty.path()).unwrap();
    assert_eq!(r.origin, Origin::Detected);
    assert_eq!(r.hardware.runtime.models_dir, empty.path().join("models"));

    assert!(hardware::resolve(Some(Path::new("/no/such/profilec.toml")), &profiles).is_err());
}
