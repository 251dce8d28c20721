//! `profilec plan` shows the solver's placement for a pinned profile (human and JSON).

use crate::solver_support;
use crate::support;

use solver_support::{models, root};

fn conf_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml")).expect("rig");
    let toml = toml.replace(
        r#"models_dir = "../models""#,
        &format!("models_dir = {:?}", models().display().to_string()),
    );
    std::fs::write(dir.path().join("profilec.toml"), toml).expect("write toml");
    std::fs::write(
        dir.path().join("models.conf"),
        "[glm-q8]\nNAME=GLM Q8\nMODEL=glm-4.7-flash-q8_0.gguf\nCTX_SIZE=131072\nFIT=off\n\
         EXTRA_ARGS=--jinja -np 1 -b 2048 -ub 512\n",
    )
    .expect("write conf");
    dir
}

fn plan(dir: &tempfile::TempDir, format: &str) -> (i32, String) {
    let out = support::profilec()
        .args(["plan", "glm-q8", "models.conf", "--format", format])
        .current_dir(dir.path())
        .output()
        .expect("run profilec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn pinned_profile_gets_strategy_c_33_14() {
    let dir = conf_dir();
    let (_, json) = plan(&dir, "json");
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
    let (_, human) = plan(&dir, "human");
    assert!(human.contains("placement: strategy C"), "{human}");
    assert!(
        human.contains("  flags: --fit off --n-gpu-layers 99 --override-tensor"),
        "{human}"
    );
}
