//! Hugging Face model directories: the shard reader against the `safetensors` package's own
//! view (models/hf/NAME.expect.json, written by scripts/make_safetensors_fixtures.py), config
//! facts by vLLM's rules, and header-only sparse checkpoints with real shapes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use profilec::safetensors::{self, HfModel};

use crate::support::{profilec, root, test_fixture};

pub fn hf(name: &str) -> PathBuf {
    root().join("models/hf").join(name)
}

/// Writes tests/fixtures/hf-large/NAME as a real checkpoint directory: config.json and every
/// shard as 8-byte length + header + a hole the size of the data (sparse: costs only the header
/// on disk).
pub fn materialize(name: &str) -> tempfile::TempDir {
    let src = test_fixture(&format!("hf-large/{name}"));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(src.join("config.json"), dir.path().join("config.json")).expect("config");
    let shards: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(src.join("shards.json")).expect("shards.json"))
            .expect("shards json");
    for (file, header) in shards {
        let text = serde_json::to_vec(&header).expect("encode");
        let data: u64 = header
            .as_object()
            .expect("object")
            .values()
            .filter_map(|t| t.get("data_offsets"))
            .map(|o| o[1].as_u64().expect("end"))
            .max()
            .unwrap_or(0);
        let mut f = std::fs::File::create(dir.path().join(file)).expect("shard");
        f.write_all(&(text.len() as u64).to_le_bytes())
            .expect("len");
        f.write_all(&text).expect("header");
        f.set_len(8 + text.len() as u64 + data)
            .expect("sparse data");
    }
    dir
}

fn open(name: &str) -> HfModel {
    safetensors::inspect(&hf(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_small_fixture_reads_as_the_safetensors_package_reads_it() {
    for name in [
        "llama",
        "qwen3",
        "qwen3-moe",
        "deepseek-mla",
        "gemma3-swa",
        "gpt-oss",
    ] {
        let model = open(name);
        let expect: BTreeMap<String, BTreeMap<String, serde_json::Value>> = serde_json::from_slice(
            &std::fs::read(root().join(format!("models/hf/{name}.expect.json"))).expect("expect"),
        )
        .expect("expect json");
        let mut ours: BTreeMap<String, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
        for s in &model.checkpoint.shards {
            let file = s.path.file_name().unwrap().to_string_lossy().into_owned();
            for t in &s.tensors {
                ours.entry(file.clone()).or_default().insert(
                    t.name.clone(),
                    serde_json::json!({"dtype": t.dtype, "shape": t.shape}),
                );
            }
        }
        assert_eq!(ours, expect, "{name}");
        // Data bytes = file sizes minus headers: nothing counted twice, nothing missed.
        let files: u64 = model
            .checkpoint
            .shards
            .iter()
            .map(|s| s.file_size - 8 - s.header_len)
            .sum();
        assert_eq!(model.weight_bytes(), files, "{name}");
    }
}

#[test]
fn config_facts_follow_vllms_rules() {
    let llama = open("llama").config;
    assert_eq!((llama.n_kv_heads, llama.head_size), (2, 16));
    assert_eq!(llama.kv_heads_key, "num_key_value_heads");
    // llama3 RoPE scaling is not applied by vLLM (_get_and_verify_max_len).
    assert_eq!(llama.max_len.derived, 4096);
    assert!(open("llama").checkpoint.index.is_some());
    assert_eq!(open("llama").checkpoint.shards.len(), 2);

    let qwen3 = open("qwen3").config;
    assert_eq!(
        qwen3.head_size, 32,
        "explicit head_dim wins over hidden/heads"
    );
    assert_eq!(qwen3.sliding_window, None);

    let moe = open("qwen3-moe").config;
    let e = moe.experts.expect("experts");
    assert_eq!((e.count, e.per_token, e.intermediate_size), (8, 2, 32));

    let mla = open("deepseek-mla").config;
    assert_eq!(
        mla.head_size,
        32 + 8,
        "MLA head size = kv_lora_rank + qk_rope_head_dim"
    );
    assert!(mla.mla.is_some());
    // yarn: original_max_position_embeddings × factor.
    assert_eq!(mla.max_len.derived, 4096 * 4);
    assert_eq!(mla.experts.expect("experts").shared, 1);

    let gemma = open("gemma3-swa").config;
    assert_eq!(gemma.sliding_window, Some(512));
    assert_eq!(
        gemma.sliding_layers,
        vec![true, true, true, true, true, false]
    );
    assert_eq!(
        gemma.max_len.derived, 32768,
        "gemma3's RoPE factor is not applied again"
    );

    let oss = open("gpt-oss").config;
    assert_eq!(oss.sliding_layers, vec![true, false, true, false]);
    assert_eq!(oss.max_len.derived, 131072);
    assert_eq!(oss.quantization.expect("quant").method, "mxfp4");
}

#[test]
fn header_only_checkpoints_have_the_real_parameter_counts() {
    // Parameter counts the model pages state (bf16: 2 bytes each).
    for (name, params) in [
        ("Llama-3.1-8B-Instruct", 8_030_261_248u64),
        ("Qwen2.5-7B-Instruct", 7_615_616_512),
        ("Qwen3-30B-A3B", 30_532_122_624),
        ("gemma-3-1b-it", 999_885_952),
    ] {
        let dir = materialize(name);
        let model = safetensors::inspect(dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(model.weight_bytes(), 2 * params, "{name}");
        assert_eq!(model.stored_elements(), params, "{name}");
    }
    let dir = materialize("gemma-3-1b-it");
    let c = safetensors::inspect(dir.path()).unwrap().config;
    // sliding_window_pattern 6: every sixth layer is global.
    assert_eq!(c.n_sliding(), 26 - 4);
    assert_eq!(c.head_size, 256);
}

#[test]
fn inspect_prints_a_model_directory_and_its_json() {
    let out = profilec()
        .arg("inspect")
        .arg(hf("deepseek-mla"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MLA: kv_lora_rank 32 + qk_rope_head_dim 8 = 40"),
        "{text}"
    );
    assert!(
        text.contains("MoE: 8 experts, 2 per token, 1 shared"),
        "{text}"
    );
    let out = profilec()
        .args(["inspect", "--format", "json"])
        .arg(hf("gemma3-swa"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["config"]["sliding_window"], 512);
    assert_eq!(v["format"], "safetensors");
}

#[test]
fn a_sparse_60_gb_checkpoint_is_inspected_by_reading_headers_only() {
    let dir = materialize("Qwen3-30B-A3B");
    let on_disk: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            use std::os::unix::fs::MetadataExt;
            e.unwrap().metadata().unwrap().blocks() * 512
        })
        .sum();
    assert!(on_disk < 64 << 20, "sparse: {on_disk} bytes on disk");
    let out = profilec().arg("inspect").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("56.87 GiB"));
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
