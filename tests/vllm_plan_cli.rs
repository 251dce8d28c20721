//! `profilec plan --model DIR -- VLLM_ARGS`: the vLLM plan of a model directory on the reference
//! rig (profiles/profilec.toml: RTX 4090 24 GB + RTX 5070 Ti 16 GB), in vLLM's own log lines.

use std::process::Output;

use crate::safetensors_facts::{hf, materialize};
use crate::support::stdout_of as stdout;
use crate::support::{profilec, root};

fn plan(dir: &std::path::Path, args: &[&str]) -> Output {
    profilec()
        .args(["plan", "--hardware"])
        .arg(root().join("profiles/profilec.toml"))
        .arg("--model")
        .arg(dir)
        .arg("--")
        .args(args)
        .output()
        .expect("run profilec")
}

#[test]
fn llama_8b_on_a_4090_prints_vllms_lines() {
    let dir = materialize("Llama-3.1-8B-Instruct");
    let out = plan(dir.path(), &["--max-model-len", "32768"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    // Shard bytes + the 32 MiB RoPE cache: the 14.9888 GiB public logs print for this model.
    assert!(text.contains("Model loading took 14.9888 GiB"), "{text}");
    assert!(text.contains("GPU KV cache size: "), "{text}");
    assert!(
        text.contains("Maximum concurrency for 32,768 tokens per request: "),
        "{text}"
    );
}

#[test]
fn a_given_kv_memory_reproduces_the_logged_tokens() {
    // --kv-cache-memory-bytes replaces the profiled memory, as in vLLM; 3.81 GiB exactly → 1950 blocks (the log's 1952 is within its rounding: vllm_kv).
    let dir = materialize("Llama-3.1-8B-Instruct");
    let out = plan(
        dir.path(),
        &[
            "--max-model-len",
            "20000",
            "--kv-cache-memory-bytes",
            "4090956349",
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("GPU KV cache size: 31,200 tokens"), "{text}");
    assert!(
        text.contains("Maximum concurrency for 20,000 tokens per request: 1.56x"),
        "{text}"
    );
}

#[test]
fn too_long_a_context_gives_vllms_error_and_estimate() {
    let dir = materialize("Llama-3.1-8B-Instruct");
    let out = plan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("To serve at least one request with the models's max seq len (131072)"),
        "{text}"
    );
    assert!(
        text.contains("the estimated maximum model length is "),
        "{text}"
    );
    let out = plan(dir.path(), &["--max-model-len", "200000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("greater than the derived max_model_len (max_position_embeddings=131072"),
        "{err}"
    );
}

#[test]
fn tensor_parallel_over_different_cards_plans_for_the_smaller() {
    let dir = materialize("Llama-3.1-8B-Instruct");
    let out = plan(
        dir.path(),
        &[
            "-tp",
            "2",
            "--max-model-len",
            "16384",
            "--gpu-memory-utilization",
            "0.75",
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains("tensor parallel 2 on NVIDIA GeForce RTX 5070 Ti"),
        "{text}"
    );
    assert!(
        text.contains("warning: tensor parallel over different GPUs"),
        "{text}"
    );
    assert!(text.contains("4 KV heads per rank"), "{text}");
    // The 5070 Ti drives the display (3.25 GiB held): 0.9 of it is not free.
    let out = plan(dir.path(), &["-tp", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Free memory on device") && err.contains("lower --gpu-memory-utilization"),
        "{err}"
    );
}

#[test]
fn hybrid_and_mla_fixtures_plan_in_json() {
    for (name, groups) in [
        ("gemma3-swa", 6),
        ("gpt-oss", 2),
        ("deepseek-mla", 1),
        ("qwen3-moe", 1),
    ] {
        let out = profilec()
            .args(["plan", "--format", "json", "--hardware"])
            .arg(root().join("profiles/profilec.toml"))
            .arg("--model")
            .arg(hf(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["runtime"], "vllm");
        assert_eq!(
            v["plan"]["layout"]["groups"].as_array().unwrap().len(),
            groups,
            "{name}"
        );
        assert!(
            v["vllm_lines"][2]
                .as_str()
                .unwrap()
                .starts_with("GPU KV cache size"),
            "{name}"
        );
    }
}

#[test]
fn flags_outside_vllms_table_are_flagged_with_the_nearest() {
    let out = plan(
        &hf("qwen3"),
        &[
            "--max-model-len",
            "2048",
            "--enforce_eager",
            "--no-enable-prefix-caching",
            "--tensor-paralel-size",
            "1",
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains("`--tensor-paralel-size` is not a `vllm serve` flag in vLLM 0.11.0"),
        "{text}"
    );
    assert!(
        text.contains("did you mean `--tensor-parallel-size`?"),
        "{text}"
    );
    assert!(
        !text.contains("enforce_eager") && !text.contains("no-enable-prefix"),
        "{text}"
    );
}

#[test]
fn the_flag_table_is_what_the_generator_writes() {
    let table = std::fs::read_to_string(root().join("data/vllm-serve-flags.tsv")).unwrap();
    assert!(table.starts_with("# vllm serve flags of vLLM 0.11.0"));
    for f in [
        "--max-model-len",
        "--gpu-memory-utilization",
        "--kv-cache-memory-bytes",
        "--port",
        "--api-key",
    ] {
        assert!(profilec::vllm::flags::is_known(f), "{f}");
    }
    assert!(profilec::vllm::flags::is_known("-tp"));
    assert!(!profilec::vllm::flags::is_known("--ctx-size"));
}
