//! profilec: compile llama.cpp launch profiles into launches that fit the machine.
//!
//! The pipeline, one module per stage (see docs/architecture.md):
//! `syntax` (lossless models.conf tree) → `config` (typed profiles) → `check` (file-wide rules),
//! `flags` (llama-server flag table, EXTRA_ARGS, `-ot`), `gguf` (model header and facts),
//! `hardware` (profilec.toml, detection), `resolve` (effective options), `budget` (memory
//! model), `place` (fit prediction, strategies, `-ot`), `render`, `launch` (the
//! llama-server process), `startup_log` (what llama.cpp reported).
//! `diag` carries diagnostics for all of them; `discover` finds models.conf and profilec.toml
//! when the command line does not name them.

/// The llama.cpp build whose flag table, defaults and memory rules profilec ships
/// (data/README.md).
pub const LLAMA_CPP_BUILD: u32 = 11434;

pub mod bench;
pub mod budget;
pub mod calibrate;
pub mod check;
pub mod cli;
pub mod compare;
pub mod config;
pub mod coresidency;
pub mod diag;
pub mod discover;
pub mod doctor;
pub mod edit;
pub mod error;
pub mod flags;
pub mod fsutil;
pub mod gguf;
pub mod hardware;
pub mod launch;
pub mod observed;
pub mod optimize;
pub mod place;
pub mod preset;
pub mod profile;
pub mod project;
pub mod pull;
pub mod remote;
pub mod render;
pub mod resolve;
pub mod run;
pub mod safetensors;
pub mod scaffold;
pub mod serve;
pub mod startup_log;
pub mod syntax;
pub mod vllm;
