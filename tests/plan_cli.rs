//! `profilec plan`: JSON shape, exit codes, profile and ad-hoc modes.

use crate::support;
use crate::support::root;

use crate::support::profilec_in as profilec;

use crate::support::stdout_json as json;

#[test]
fn ad_hoc_json_has_the_issue_shape() {
    let o = profilec(
        &[
            "plan",
            "--model",
            "models/llama-gqa.gguf",
            "--hardware",
            "profiles/cpu-only.toml",
            "--format",
            "json",
            "--",
            "-c",
            "4096",
            "-np",
            "1",
        ],
        &root(),
    );
    support::stdout_ok(&o);
    let v = json(&o);
    assert_eq!(v["model"], "models/llama-gqa.gguf");
    assert_eq!(v["n_ctx"], 4096);
    assert_eq!(v["fits"], true);
    let cpu = &v["devices"][0];
    for key in [
        "name",
        "weights_mib",
        "weights_repack_mib",
        "kv_mib",
        "recurrent_mib",
        "compute_mib",
        "output_mib",
        "overhead_mib",
        "total_mib",
        "capacity_mib",
    ] {
        assert!(cpu.get(key).is_some(), "devices[0].{key} missing: {cpu}");
    }
    assert_eq!(cpu["name"], "CPU");
    // 4 layers × 4096 cells × (2 KV heads × 16 + same for V) × f16 = 2 MiB.
    assert_eq!(cpu["kv_mib"], 2.0);
    assert_eq!(cpu["weights_mib"], 0.25);
    assert_eq!(cpu["weights_repack_mib"], 0.05);
    assert_eq!(cpu["capacity_mib"], 27862.0);
    let notes = v["notes"].as_array().expect("notes");
    assert!(notes.iter().any(|n| {
        n.as_str()
            .is_some_and(|s| s.starts_with("compute: ggml-alloc replay"))
    }));
}

#[test]
fn a_launch_that_does_not_fit_exits_1_and_names_the_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hw = dir.path().join("small.toml");
    std::fs::write(
        &hw,
        "[cpu]\nram_mib = 4150\nos_reserve_mib = 4096\ncores_physical = 2\ncores_logical = 2\narch = \"x86_64\"\n",
    )
    .expect("write");
    let o = profilec(
        &[
            "plan",
            "--model",
            &root().join("models/llama-gqa.gguf").to_string_lossy(),
            "--hardware",
            &hw.to_string_lossy(),
            "--",
            "-c",
            "131072",
            "-np",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("does not fit: CPU needs"), "{text}");
    // At 131072 cells the flash-attention mask (F16, 131072 × 512 tokens = 128 MiB) makes the
    // compute buffer larger than the 64 MiB KV cache.
    assert!(text.contains("largest component: compute"), "{text}");
}

#[test]
fn a_profile_plans_with_the_defaults_of_profilec_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = root().join("models");
    std::fs::write(
        dir.path().join("models.conf"),
        "[gqa]\nNAME=GQA\nMODEL=llama-gqa.gguf\nCTX_SIZE=8192\nEXTRA_ARGS=-np 1 -ctk f16 -ctv f16\n\n\
         [dflt]\nNAME=D\nMODEL=llama-gqa.gguf\nEXTRA_ARGS=-np 1\n",
    )
    .expect("conf");
    let cpu_only = std::fs::read_to_string(root().join("profiles/cpu-only.toml")).expect("toml");
    let toml = cpu_only.replace(
        "models_dir = \"../models\"",
        &format!("models_dir = {:?}", models.to_string_lossy()),
    );
    std::fs::write(dir.path().join("profilec.toml"), toml).expect("toml");
    let o = profilec(&["plan", "gqa", "--format", "json"], dir.path());
    support::stdout_ok(&o);
    let v = json(&o);
    // CTX_SIZE and EXTRA_ARGS beat [defaults] (ctx-size 32768, q8_0 caches).
    assert_eq!(v["n_ctx"], 8192);
    assert_eq!(v["context"]["type_k"], "f16");
    // Without them the defaults apply, and q8_0 does not divide the fixture's 16-wide heads:
    // llama.cpp would refuse the context, so the plan is an error (exit 1) saying so.
    let o = profilec(&["plan", "dflt"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("q8_0 has blocks of 32 elements"), "{err}");
    // An unknown profile is a usage error.
    let o = profilec(&["plan", "nope"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("profiles: gqa, dflt"));
}
