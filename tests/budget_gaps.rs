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
use crate::support::{self, fixture};

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
