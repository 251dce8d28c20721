//! `profilec plan` shows fit's predicted result for a FIT profile (human and JSON).

use crate::solver_support;

use solver_support::{plan_cli, rig_project};

fn conf_dir() -> tempfile::TempDir {
    rig_project(
        "[q8]\nNAME=27B Q8\nMODEL=qwen3.5-27b-ud-q8_k_xl.gguf\nCTX_SIZE=262144\n\
         EXTRA_ARGS=--no-context-shift\n\n\
         [q8-pinned]\nNAME=27B Q8 pinned\nMODEL=qwen3.5-27b-ud-q8_k_xl.gguf\nFIT=off\n",
    )
}

#[test]
fn fit_profile_shows_the_prediction() {
    let dir = conf_dir();
    let (code, json) = plan_cli(dir.path(), "q8", "json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let f = &v["fit_prediction"];
    assert_eq!(f["n_ctx"], 262144, "{json}");
    assert_eq!(f["fits"], true);
    let ngl = f["n_gpu_layers"].as_u64().expect("ngl");
    assert!(ngl < 65, "{ngl}");
    let per_gpu: u64 = f["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["layers"].as_u64())
        .sum();
    assert_eq!(per_gpu, ngl);
    assert_eq!(f["flags"][0], "-ngl");
    assert_eq!(f["recommended_fit_target"], serde_json::json!([128, 1024]));
    assert!(v.get("placement_strategy").is_none());
    // The all-layers plan does not fit, fit's does: plan succeeds.
    assert_eq!(code, 0);

    let (_, human) = plan_cli(dir.path(), "q8", "human");
    assert!(
        human.contains("fit prediction (llama.cpp --fit at load time):"),
        "{human}"
    );
    assert!(
        human.contains(&format!("n_ctx 262144, n_gpu_layers {ngl}: CUDA0 ")),
        "{human}"
    );
    assert!(
        human.contains("    filling dense layers back-to-front:"),
        "{human}"
    );
    assert!(
        human.contains(&format!("  fit adds: -ngl {ngl} -ts ")),
        "{human}"
    );
}

#[test]
fn pinned_profile_has_no_fit_prediction() {
    let dir = conf_dir();
    let (_, json) = plan_cli(dir.path(), "q8-pinned", "json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(v.get("fit_prediction").is_none(), "{json}");
    assert!(v.get("placement_strategy").is_some());
}
