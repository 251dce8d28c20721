//! `optimize` (and `run --model X --optimize`): one JSON object valid against
//! docs/optimize.schema.json, decisions from the memory model, errors on stderr only.

use crate::support;
use crate::support::root;
use std::path::Path;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    support::profilec()
        .args(args)
        .output()
        .expect("run profilec")
}

fn valid(out: &Output) -> serde_json::Value {
    support::stdout_ok(out);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/optimize.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
    v
}

fn model_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn cpu_only_box() {
    let m = model_arg(&root().join("models/llama-gqa.gguf"));
    let hw = model_arg(&root().join("profiles/cpu-only.toml"));
    let v = valid(&run(&["optimize", "--model", &m, "--hardware", &hw]));
    let p = &v["recommended_params"];
    assert_eq!(p["--n-gpu-layers"], 0);
    assert_eq!(p["--threads"], 7, "8 physical cores minus one");
    assert_eq!(p["--batch-size"], 256);
    assert_eq!(p["--mlock"], true);
    assert_eq!(p["--n-ctx"], 4096, "capped at the trained context");
    assert_eq!(v["hardware"]["gpu_type"], "none");
    assert_eq!(v["model"]["architecture"], "llama");
    assert!(p.get("--no-mmap").is_none(), "only with a reason");
}

#[test]
fn reference_rig_model_that_fits() {
    let Some(gemma) = support::real_model() else {
        return;
    };
    let hw = model_arg(&root().join("profiles/profilec.toml"));
    let v = valid(&run(&[
        "optimize",
        "--model",
        &model_arg(&gemma),
        "--hardware",
        &hw,
    ]));
    let p = &v["recommended_params"];
    assert_eq!(
        p["--n-gpu-layers"], 19,
        "18 layers + output: all on the GPUs"
    );
    assert_eq!(p["--batch-size"], 512);
    assert_eq!(p["--threads"], 11);
    assert_eq!(v["hardware"]["gpu_type"], "CUDA");
    assert_eq!(v["hardware"]["gpus"].as_array().map(Vec::len), Some(2));
    assert!(
        v["rationale"][1]
            .as_str()
            .unwrap_or("")
            .contains("all 19 layer units")
    );
}

#[test]
fn small_gpu_model_that_does_not_fit() {
    let Some(gemma) = support::real_model() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let hw = dir.path().join("small.toml");
    std::fs::write(
        &hw,
        "[[gpu]]\nid = \"CUDA0\"\nname = \"small\"\ntotal_mib = 1800\nreserved_mib = 0\n\n[cpu]\nram_mib = 16384\ncores_physical = 4\ncores_logical = 8\n\n[runtime]\ncuda_overhead_mib = 500\n",
    )
    .expect("write");
    let v = valid(&run(&[
        "optimize",
        "--model",
        &model_arg(&gemma),
        "--hardware",
        &model_arg(&hw),
    ]));
    let ngl = v["recommended_params"]["--n-gpu-layers"]
        .as_u64()
        .expect("ngl");
    assert!(
        ngl < 19,
        "a 1.8 GB GPU with 1 GiB margin cannot hold all of Gemma: {ngl}"
    );
    assert_eq!(v["recommended_params"]["--batch-size"], 256);
    assert!(
        v["rationale"][1]
            .as_str()
            .unwrap_or("")
            .contains("the rest run on the CPU")
    );
}

#[test]
fn missing_model_is_an_error_with_nothing_on_stdout() {
    let out = run(&[
        "optimize",
        "--model",
        "/nonexistent/model.gguf",
        "--hardware",
        "profiles/cpu-only.toml",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = run(&["optimize"]);
    assert_eq!(out.status.code(), Some(2), "--model is required");
    assert!(out.stdout.is_empty());
}

#[test]
fn tiny_ram_says_nothing_fits_instead_of_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("profilec.toml");
    std::fs::write(
        &toml,
        "[cpu]\nram_mib = 2\nos_reserve_mib = 1\ncores_physical = 4\ncores_logical = 8\n",
    )
    .unwrap();
    let m = model_arg(&root().join("models/llama-gqa.gguf"));
    let out = run(&["optimize", "--model", &m, "--hardware", &model_arg(&toml)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "no recommendation on stdout");
    assert!(err.contains("nothing fits"), "{err}");
    assert!(err.contains("CPU needs"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn detection_without_a_driver_warns_and_plans_cpu_only() {
    let m = model_arg(&root().join("models/llama-gqa.gguf"));
    let out = run(&["run", "--model", &m, "--optimize"]);
    let v = valid(&out);
    assert_eq!(v["recommended_params"]["--n-gpu-layers"], 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: no NVIDIA driver"));
    // Without --optimize, `run --model` is the launch (docs/run.md); --dry-run only prints it.
    let dir = tempfile::tempdir().unwrap();
    let out = support::profilec()
        .current_dir(dir.path())
        .args(["run", "--model", &m, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--n-gpu-layers 0"));
}

/// What `optimize` recommends is the launch it planned: the recommendation's own
/// `ResolvedProfile` (what `run --model` starts) carries the context, layers and batch in its
/// argv, one slot, `--fit off` with a GPU, and its plan keeps every GPU's 1024 MiB margin.
#[test]
fn the_recommended_launch_is_the_planned_one() {
    let Some(gemma) = support::real_model() else {
        return;
    };
    let hw = profilec::hardware::load(&root().join("profiles/profilec.toml"))
        .expect("reference rig")
        .hardware;
    let rec = profilec::optimize::optimize(&gemma, &hw).expect("recommendation");
    let p = &rec.recommended_params;
    let argv = rec.launch.argv();
    let value = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .and_then(|i| argv.get(i + 1))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(value("--ctx-size"), p["--n-ctx"].to_string(), "{argv:?}");
    assert_eq!(
        value("--n-gpu-layers"),
        p["--n-gpu-layers"].to_string(),
        "{argv:?}"
    );
    assert_eq!(
        value("--batch-size"),
        p["--batch-size"].to_string(),
        "{argv:?}"
    );
    assert_eq!(value("--parallel"), "1", "{argv:?}");
    assert_eq!(value("--fit"), "off", "{argv:?}");
    let plan = rec.launch.plan().expect("the launch plans");
    for d in plan.devices.iter().filter(|d| d.device.is_gpu()) {
        assert!(
            d.total_mib + 1024.0 <= d.capacity_mib,
            "{} {:.0} of {:.0} MiB",
            d.name,
            d.total_mib,
            d.capacity_mib
        );
    }
}
