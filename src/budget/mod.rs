//! The memory model: what llama.cpp will allocate on each device for a launch, before anything
//! loads (docs/memory-model.md has every formula with its llama.cpp source).
//!
//! `ContextParams` is the one place where the effective options become llama.cpp's context
//! numbers (n_ctx padding, streams, batch clamps); every component reads it.

pub mod compute;
mod context;

pub use context::{ContextParams, Program};
