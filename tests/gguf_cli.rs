//! `profilec inspect` through the binary: output, JSON and exit codes.

use crate::support;
use crate::support::models_dir as models;

fn inspect(args: &[&str]) -> (i32, String, String) {
    let out = support::profilec()
        .arg("inspect")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn human_table_for_a_moe_model() {
    let p = models().join("qwen3moe.gguf");
    let (code, out, err) = inspect(&[p.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("model       tiny-qwen3moe  [arch qwen3moe]"),
        "{out}"
    );
    assert!(out.contains("MoE: 8 experts, 2 used per token"), "{out}");
    assert!(
        out.contains("layers      3 (3 with KV, 0 recurrent, 0 nextn)"),
        "{out}"
    );
    assert!(out.contains("quant mix"), "{out}");
}

#[test]
fn json_has_facts_shards_and_tensors() {
    let p = models().join("split-llama-00001-of-00003.gguf");
    let (code, out, err) = inspect(&[
        p.to_str().unwrap_or_default(),
        "--format",
        "json",
        "--tensors",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["facts"]["arch"], "llama");
    assert_eq!(v["facts"]["n_layer"], 4);
    assert_eq!(v["facts"]["layers"][0]["n_embd_k_gqa"], 32);
    assert_eq!(v["shards"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["tensors"].as_array().map(Vec::len), Some(39));
    assert_eq!(v["tensors"][0]["ggml_type"]["name"], "Q8_0");
}

#[test]
fn missing_file_is_exit_2() {
    let (code, out, err) = inspect(&["/nonexistent/model.gguf"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("error[gguf::io]: cannot read /nonexistent/model.gguf"),
        "{err}"
    );
}

#[test]
fn invalid_and_truncated_files_are_exit_1() {
    let (code, _, err) = inspect(&[concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")]);
    assert_eq!(code, 1);
    assert!(err.contains("not a GGUF file"), "{err}");
    let dir = tempfile::tempdir().expect("tmp");
    let cut = dir.path().join("cut.gguf");
    let bytes = std::fs::read(models().join("llama-gqa.gguf")).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let (code, _, err) = inspect(&[cut.to_str().unwrap_or_default()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error[gguf::truncated]") || err.contains("past the end"),
        "{err}"
    );
    assert!(err.contains("download it again"), "{err}");
}
