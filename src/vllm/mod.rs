//! vLLM: its memory arithmetic for a Hugging Face model directory, transcribed from the source
//! of one pinned release (see [`plan::VLLM_VERSION`] and docs/vllm.md).
//!
//! [`options`] (the `vllm serve` flags it reads, defaults) → [`memory`] (per-rank budget:
//! weights, activation peak, non-torch) → [`kv`] (page sizes, groups, blocks, tokens,
//! concurrency) → [`plan`] (all of it, and the result in vLLM's log lines).

pub mod args;
pub mod flags;
pub mod kv;
pub mod memory;
pub mod options;
pub mod plan;

pub use plan::{Gpu, PlanError, VLLM_VERSION, VllmPlan, plan};
