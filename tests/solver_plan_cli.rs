//! `profilec plan` shows the solver's placement for a pinned profile (human and JSON).

use crate::solver_support;

use solver_support::{plan_cli, rig_project};

fn conf_dir() -> tempfile::TempDir {
    rig_project(
        "[glm-q8]\nNAME=GLM Q8\nMODEL=glm-4.7-flash-q8_0.gguf\nCTX_SIZE=131072\nFIT=off\n\
         EXTRA_ARGS=--jinja -np 1 -b 2048 -ub 512\n",
    )
}

#[test]
fn pinned_profile_gets_strategy_c_33_14() {
    let dir = conf_dir();
    let (_, json) = plan_cli(dir.path(), "glm-q8", "json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let p = &v["placement_strategy"];
    assert_eq!(p["strategy"], "C", "{json}");
    assert_eq!(p["gpu_layers"][0], serde_json::json!(["CUDA0", 33]));
    assert_eq!(p["gpu_layers"][1], serde_json::json!(["CUDA1", 14]));
    assert_eq!(
        p["flags"]
            .as_array()
            .and_then(|f| f.last())
            .and_then(|f| f.as_str()),
        Some(r"blk\.([0-9]|[12][0-9]|3[0-2])\.=CUDA0,blk\.(3[3-9]|4[0-6])\.=CUDA1")
    );
    let (_, human) = plan_cli(dir.path(), "glm-q8", "human");
    assert!(human.contains("placement: strategy C"), "{human}");
    assert!(
        human.contains("  flags: --fit off --n-gpu-layers 99 --override-tensor"),
        "{human}"
    );
}
