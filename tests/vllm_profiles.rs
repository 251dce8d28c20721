//! vLLM profiles in models.conf (MODEL = a Hugging Face model directory, or RUNTIME=vllm):
//! `check`, `plan ID` and `render` over the fixtures of models/hf and tests/fixtures/hf-large,
//! on a machine of two different GPUs (docs/vllm.md "Profiles").

use std::fs;
use std::process::Output;

use serde_json::Value;

use crate::safetensors_facts::materialize;
use crate::support::{profilec, root};

/// The reference rig's two cards (profiles/profilec.toml) plus a second 4090 for TP 2.
const RIG: &str = "[[gpu]]\nid = \"CUDA0\"\nname = \"NVIDIA GeForce RTX 4090\"\ntotal_mib = 24564\nreserved_mib = 0\n\n\
[[gpu]]\nid = \"CUDA1\"\nname = \"NVIDIA GeForce RTX 4090\"\ntotal_mib = 24564\nreserved_mib = 0\n\n\
[[gpu]]\nid = \"CUDA2\"\nname = \"NVIDIA GeForce RTX 5070 Ti\"\ntotal_mib = 16303\nreserved_mib = 0\n\n\
[cpu]\nram_mib = 65536\n";

/// A project directory: models.conf, profilec.toml (RIG, models_dir, port) and `models/` with
/// the tiny HF fixtures and any materialized large ones.
pub struct Project {
    pub dir: tempfile::TempDir,
    _large: Vec<tempfile::TempDir>,
}

impl Project {
    pub fn new(conf: &str, large: &[&str], runtime_extra: &str) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let models = dir.path().join("models");
        fs::create_dir_all(models.join("hf")).expect("models/hf");
        for name in ["llama", "qwen3", "gemma3-swa", "deepseek-mla"] {
            std::os::unix::fs::symlink(
                root().join("models/hf").join(name),
                models.join("hf").join(name),
            )
            .expect("link fixture");
        }
        fs::create_dir_all(models.join("no-config")).expect("empty dir");
        let mut keep = Vec::new();
        for name in large {
            let m = materialize(name);
            std::os::unix::fs::symlink(m.path(), models.join(name)).expect("link large");
            keep.push(m);
        }
        fs::write(dir.path().join("models.conf"), conf).expect("models.conf");
        fs::write(
            dir.path().join("profilec.toml"),
            format!("{RIG}\n[runtime]\nmodels_dir = \"models\"\nport = 18555\n{runtime_extra}"),
        )
        .expect("profilec.toml");
        Project { dir, _large: keep }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        profilec()
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("run profilec")
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `check --format json` → (code, severity, line) of every diagnostic.
fn diagnostics(p: &Project) -> Vec<(String, String, u64)> {
    let out = p.run(&["check", "--format", "json", "models.conf"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("check JSON");
    v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_owned(),
                d["severity"].as_str().unwrap_or_default().to_owned(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[test]
fn a_clean_vllm_profile_checks_plans_and_renders() {
    let p = Project::new(
        "[tiny]\nNAME=tiny llama\nMODEL=hf/llama\nCTX_SIZE=2048\nEXTRA_ARGS=--gpu-memory-utilization 0.8 --enforce-eager --max_num_seqs=4\n",
        &[],
        "",
    );
    let out = p.run(&["check", "models.conf"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let r = json(&p.run(&["render", "tiny", "--format", "json"]));
    assert_eq!(r["program"], "vllm");
    let model = p.dir.path().join("models/hf/llama");
    let argv: Vec<String> = serde_json::from_value(r["argv"].clone()).expect("argv");
    assert_eq!(
        argv,
        [
            "serve",
            &model.to_string_lossy(),
            "--max-model-len",
            "2048",
            "--gpu-memory-utilization",
            "0.8",
            "--enforce-eager",
            "--max_num_seqs=4",
            "--host",
            "127.0.0.1",
            "--port",
            "18555"
        ]
    );
    let origins: Vec<(String, String)> = r["arguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .map(|a| {
            (
                a["flag"].as_str().unwrap().to_owned(),
                a["origin"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(origins[0], ("--max-model-len".into(), "key".into()));
    assert_eq!(origins[3], ("--max-num-seqs".into(), "extra_args".into()));
    assert_eq!(origins[4], ("--host".into(), "default".into()));

    let sh = p.run(&["render", "tiny", "--format", "sh"]);
    let line = String::from_utf8_lossy(&sh.stdout).trim().to_owned();
    assert_eq!(
        profilec::render::sh_split(&line).expect("one sh line"),
        std::iter::once("vllm".to_owned())
            .chain(argv.iter().cloned())
            .collect::<Vec<_>>()
    );

    let env =
        String::from_utf8_lossy(&p.run(&["render", "tiny", "--format", "env"]).stdout).into_owned();
    assert_eq!(
        env,
        "RUNTIME=vllm\nMODEL=hf/llama\nCTX_SIZE=2048\nEXTRA_ARGS=--gpu-memory-utilization 0.8 --enforce-eager --max_num_seqs=4\n"
    );

    // plan ID: vLLM's arithmetic on the profile's own flags, the argv equal to render's.
    let plan = p.run(&["plan", "tiny", "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let v = json(&plan);
    assert_eq!(v["runtime"], "vllm");
    assert_eq!(v["argv"], r["argv"]);
    assert_eq!(v["plan"]["max_model_len"], 2048);
    assert_eq!(v["plan"]["max_num_seqs"], 4);
    assert_eq!(v["plan"]["budget"]["gpu_memory_utilization"], 0.8);
    let human = text(&p.run(&["plan", "tiny"]));
    assert!(human.contains("GPU KV cache size: "), "{human}");
    assert!(
        human.contains("Maximum concurrency for 2,048 tokens per request: "),
        "{human}"
    );
}

#[test]
fn runtime_key_and_ctx_zero() {
    // RUNTIME=vllm says it explicitly; CTX_SIZE=0 leaves the length to vLLM (the model's own).
    let p = Project::new(
        "[g]\nNAME=gemma\nRUNTIME=vllm\nMODEL=hf/gemma3-swa\nCTX_SIZE=0\n",
        &[],
        "vllm = \"/opt/vllm/bin/vllm\"\n",
    );
    assert_eq!(diagnostics(&p), vec![]);
    let out = p.run(&["render", "g"]);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines[0], "/opt/vllm/bin/vllm");
    assert_eq!(lines[1], "serve");
    assert!(!lines.iter().any(|l| l == "--max-model-len"), "{lines:?}");
}

#[test]
fn tensor_parallel_sizes() {
    // CUDA0 + CUDA1 are two 4090s: -tp 2 shares the KV heads; -tp 3 cannot split 28 heads.
    let p = Project::new(
        "[even]\nNAME=even\nMODEL=Qwen2.5-7B-Instruct\nCTX_SIZE=32768\nEXTRA_ARGS=-tp 2 --gpu-memory-utilization 0.6\n\n\
         [uneven]\nNAME=uneven\nMODEL=Qwen2.5-7B-Instruct\nCTX_SIZE=32768\nEXTRA_ARGS=--tensor-parallel-size 3 --gpu-memory-utilization 0.6\n",
        &["Qwen2.5-7B-Instruct"],
        "",
    );
    let d = diagnostics(&p);
    // Qwen2.5-7B has 28 heads: TP 3 does not divide them, which vLLM refuses.
    assert!(
        d.iter()
            .any(|(c, s, l)| c == "vllm::cannot-start" && s == "error" && *l == 9),
        "{d:?}"
    );
    assert!(!d.iter().any(|(_, _, l)| *l < 6), "{d:?}");
    let even = json(&p.run(&["plan", "even", "--format", "json"]));
    assert_eq!(even["plan"]["tensor_parallel"], 2);
    assert_eq!(even["plan"]["kv_heads_per_rank"], 2);
}

#[test]
fn uneven_pair_warns() {
    let p = Project::new(
        "[x]\nNAME=x\nMODEL=hf/llama\nEXTRA_ARGS=-tp 2 --gpu-memory-utilization 0.5\n",
        &[],
        "",
    );
    // The rig's first two cards are equal: the 5070 Ti joins only with a third rank, so a
    // rig whose second card differs is written here.
    let toml = p.dir.path().join("profilec.toml");
    let text = fs::read_to_string(&toml).unwrap().replacen(
        "id = \"CUDA1\"\nname = \"NVIDIA GeForce RTX 4090\"\ntotal_mib = 24564",
        "id = \"CUDA1\"\nname = \"NVIDIA GeForce RTX 5070 Ti\"\ntotal_mib = 16303",
        1,
    );
    fs::write(&toml, text).unwrap();
    let d = diagnostics(&p);
    assert!(
        d.iter()
            .any(|(c, s, _)| c == "vllm::uneven-gpus" && s == "warning"),
        "{d:?}"
    );
    let v = json(&p.run(&["plan", "x", "--format", "json"]));
    assert_eq!(v["plan"]["gpu"]["name"], "NVIDIA GeForce RTX 5070 Ti");
}

#[test]
fn bad_input_gets_clear_diagnostics() {
    let p = Project::new(
        "[no-config]\nNAME=a\nMODEL=no-config\n\n\
         [unknown-flag]\nNAME=b\nMODEL=hf/qwen3\nEXTRA_ARGS=--max-modle-len 4096 --ctx-size 8\n\n\
         [too-long]\nNAME=c\nMODEL=hf/llama\nCTX_SIZE=999999\n\n\
         [llama-keys]\nNAME=d\nMODEL=hf/llama\nN_GPU_LAYERS=99\nFIT=on\nSTRATEGY=A\n\n\
         [missing]\nNAME=e\nRUNTIME=vllm\nMODEL=hf/not-there\n\n\
         [overridden]\nNAME=f\nMODEL=hf/llama\nCTX_SIZE=1024\nEXTRA_ARGS=--max-model-len 2048 stray --gpu-memory-utilization 2\n\n\
         [forced]\nNAME=g\nRUNTIME=llama-server\nMODEL=hf/llama\n",
        &[],
        "",
    );
    let d = diagnostics(&p);
    let has = |code: &str, sev: &str, line: u64| {
        d.iter()
            .any(|(c, s, l)| c == code && s == sev && *l == line)
    };
    assert!(has("safetensors::no-config", "error", 3), "{d:?}");
    assert!(has("vllm::unknown-flag", "error", 8), "{d:?}");
    assert!(has("vllm::ctx-too-long", "error", 13), "{d:?}");
    assert!(has("vllm::key-not-applicable", "warning", 18), "{d:?}");
    assert!(has("vllm::key-not-applicable", "warning", 19), "{d:?}");
    assert!(has("vllm::key-not-applicable", "warning", 20), "{d:?}");
    assert!(has("model::missing-file", "error", 25), "{d:?}");
    assert!(has("vllm::key-overridden", "warning", 30), "{d:?}");
    assert!(has("vllm::stray-argument", "error", 31), "{d:?}");
    assert!(has("vllm::invalid-value", "error", 31), "{d:?}");
    // RUNTIME=llama-server on a directory: llama-server reads one GGUF file.
    assert!(has("model::missing-file", "error", 36), "{d:?}");
    // No llama-server rule looks at a vLLM profile.
    assert!(
        !d.iter().any(|(c, _, _)| c.starts_with("args::")
            || c.starts_with("flags::")
            || c.starts_with("fit::")),
        "{d:?}"
    );

    let human = text(&p.run(&["check", "models.conf"]));
    assert!(human.contains("did you mean `--max-model-len`?"), "{human}");
    assert!(
        human.contains("`--ctx-size` is a llama-server flag"),
        "{human}"
    );
    assert!(
        human.contains("set CTX_SIZE / --max-model-len to at most 4096"),
        "{human}"
    );

    // render, plan and start refuse what check refuses.
    for verb in ["render", "start"] {
        let out = p.run(&[verb, "too-long"]);
        assert_eq!(out.status.code(), Some(1), "{verb}: {}", text(&out));
    }
    let plan = p.run(&["plan", "too-long"]);
    assert_eq!(plan.status.code(), Some(1));
    assert!(
        text(&plan).contains("vllm::ctx-too-long"),
        "{}",
        text(&plan)
    );
}

#[test]
fn a_model_too_big_for_the_card_is_an_error_with_vllms_estimate() {
    // Llama-3.1-8B at its full 131072 tokens on one 24 GB card: 16 GiB of KV cache for one
    // request, ~7 GiB left after the weights.
    let p = Project::new(
        "[big]\nNAME=big\nMODEL=Llama-3.1-8B-Instruct\nEXTRA_ARGS=--gpu-memory-utilization 0.95\n",
        &["Llama-3.1-8B-Instruct"],
        "",
    );
    let toml = p.dir.path().join("profilec.toml");
    fs::write(
        &toml,
        "[[gpu]]\nid = \"CUDA0\"\nname = \"NVIDIA GeForce RTX 4090\"\ntotal_mib = 24564\nreserved_mib = 0\n[cpu]\nram_mib = 65536\n[runtime]\nmodels_dir = \"models\"\n",
    )
    .unwrap();
    let d = diagnostics(&p);
    assert!(
        d.iter()
            .any(|(c, s, _)| c == "vllm::kv-does-not-fit" && s == "error"),
        "{d:?}"
    );
    let human = text(&p.run(&["check", "models.conf"]));
    assert!(
        human.contains("the estimated maximum model length is"),
        "{human}"
    );
    let plan = p.run(&["plan", "big"]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
}

#[test]
fn llama_profiles_beside_vllm_ones_are_unchanged() {
    let p = Project::new(
        "[gguf]\nNAME=gguf\nMODEL=llama-gqa.gguf\nCTX_SIZE=512\n\n[hf]\nNAME=hf\nMODEL=hf/llama\n",
        &[],
        "",
    );
    std::os::unix::fs::symlink(
        root().join("models/llama-gqa.gguf"),
        p.dir.path().join("models/llama-gqa.gguf"),
    )
    .expect("link gguf");
    let out = p.run(&["render", "gguf"]);
    let words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(words[0], "llama-server", "{}", text(&out));
    assert!(words.contains(&"--ctx-size".to_owned()), "{words:?}");
    let all = p.run(&["render", "--all", "models.conf", "--format", "preset"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all));
    assert!(
        text(&all).contains("`[hf]` is a vLLM profile: left out"),
        "{}",
        text(&all)
    );
    assert!(!String::from_utf8_lossy(&all.stdout).contains("[hf]"));
}
