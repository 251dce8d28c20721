//! Two gaps seen on held-out models (issue 11), each with a fixture of the shape that showed it,
//! measured against real llama.cpp b11434 (CPU) with the same comparison as tests/budget_real.rs:
//! weights (CPU_Mapped, CPU_REPACK, CPU), KV and output to 0.01 MiB, compute within 5 %.
//!
//! - `models/llama-h80-tied.gguf`: llama, head size 80, 2 KV heads, tied embeddings in Q4_0.
//!   llama.cpp duplicates `token_embd` for the output matmul and repacks that copy, so
//!   CPU_REPACK holds one embedding more than the file's matrices (the plan was 0.05 MiB low in
//!   every setting except `--no-repack`).
//! - `models/deepseek2-v3.gguf`: MLA with DeepSeek-V3's proportions (kv_lora_rank 64, no-rope
//!   head 32, rope 16, V head 32), where `key_length` (rank + rope) is not the query head
//!   `key_length_mla` (nope + rope). The replay sized Q with the former: 13 % low without flash
//!   attention at ubatch 128, 17 % low with it.
//!
//! `cargo test --test integration budget_gaps:: -- --nocapture` prints the error table.

use crate::budget_real::{Case, plan_against_completion};
use crate::support::{self, fixture, root};

use profilec::budget::{Plan, Program, mib, plan};
use profilec::gguf::Model;
use profilec::hardware;
use profilec::resolve::{Effective, Origin, apply_args};

/// ubatch 128–2048, flash attention on and off, both load modes, one and four streams, a
/// quantized cache (refused by both llama.cpp and the planner on the h80 fixture: 80 is not a
/// multiple of q8_0's block) and `--no-repack`.
const SETTINGS: &[&str] = &[
    "-c 512 -ub 128 -np 1 -fa on",
    "-c 512 -ub 128 -np 1 -fa off",
    "-c 4096 -ub 512 -np 1 -fa off",
    "-c 4096 -ub 2048 -np 1 -fa on",
    "-c 2048 -ub 2048 -np 1 -fa off -lm none",
    "-c 16384 -ub 128 -np 4 -fa off",
    "-c 8192 -ub 512 -np 2 -ctk q8_0 -ctv q8_0 -fa on",
    "-c 4096 -ub 512 -np 1 -fa auto --no-repack",
];

#[test]
fn held_out_shapes_match_llama_completion() {
    let Some(bin) = support::real_completion() else {
        return;
    };
    let mut cases = Vec::new();
    for label in ["llama-h80-tied", "deepseek2-v3"] {
        for args in SETTINGS {
            cases.push(Case {
                label: label.into(),
                model: fixture(&format!("{label}.gguf")),
                args: args.to_string(),
            });
        }
    }
    let failures = plan_against_completion(&bin, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn plan_h80(args: &str, hardware: &str) -> Plan {
    let machine = hardware::load(&root().join(hardware))
        .expect("hardware profile")
        .hardware
        .machine();
    let mut eff = Effective::default();
    apply_args(&mut eff, args, Origin::ExtraArgs);
    plan(
        &fixture("llama-h80-tied.gguf"),
        &eff.options().expect("options"),
        &machine,
        Program::LlamaCompletion,
    )
    .expect("plan")
}

fn repack_mib(p: &Plan) -> f64 {
    let cpu = p.device("CPU").expect("CPU row");
    cpu.buffers
        .iter()
        .filter(|b| b.name == "CPU_REPACK")
        .map(|b| b.mib)
        .sum()
}

/// Without llama.cpp: the tied copy lands in CPU_REPACK on a CPU-only machine (every Q4_0
/// matrix of the fixture repacks, and the embedding twice: once as itself for the output), not
/// with `--no-repack`, and not on a CUDA rig whose host buffer type takes every op.
#[test]
fn tied_q4_embedding_gets_a_repacked_copy_only_where_llama_cpp_makes_one() {
    let model = Model::open(&fixture("llama-h80-tied.gguf")).expect("fixture");
    let q4: u64 = model
        .tensors
        .iter()
        .filter(|t| t.ggml_type.name == "Q4_0" && t.name != "token_embd.weight")
        .map(|t| t.n_bytes)
        .sum();
    let embd = model
        .tensors
        .iter()
        .find(|t| t.name == "token_embd.weight")
        .expect("token_embd");
    assert!(
        !model.tensors.iter().any(|t| t.name == "output.weight"),
        "the fixture has tied embeddings"
    );
    let cpu_only = "profiles/cpu-only.toml";
    let args = "-c 4096 -ub 512 -ngl 0";
    assert_eq!(
        repack_mib(&plan_h80(args, cpu_only)),
        mib(q4 + embd.n_bytes)
    );
    assert_eq!(
        repack_mib(&plan_h80(&format!("{args} --no-repack"), cpu_only)),
        0.0
    );
    assert_eq!(repack_mib(&plan_h80(args, "profiles/profilec.toml")), 0.0);
}
