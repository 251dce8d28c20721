//! Typed errors of the safetensors stage: every one names the file (and the key or tensor) and
//! says how to fix it.

use std::path::PathBuf;

/// Every error of reading a Hugging Face model directory.
#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a directory with a config.json")]
    NoConfig { path: PathBuf },
    #[error("{path}: no *.safetensors file and no model.safetensors.index.json")]
    NoShards { path: PathBuf },
    #[error("{path}: {reason}")]
    Header { path: PathBuf, reason: String },
    #[error("{path}: key `{key}`: {reason}")]
    Json {
        path: PathBuf,
        key: String,
        reason: String,
    },
    #[error("{index}: tensor `{tensor}` is in shard {shard}, which does not exist")]
    MissingShard {
        index: PathBuf,
        tensor: String,
        shard: String,
    },
    #[error(
        "{path}: architecture `{model_type}` ({architectures}) is not one vLLM's memory rules are modelled for here"
    )]
    UnknownArchitecture {
        path: PathBuf,
        model_type: String,
        architectures: String,
    },
}

impl SafetensorsError {
    /// Stable code for scripts and docs/diagnostics.md.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "safetensors::io",
            Self::NoConfig { .. } => "safetensors::no-config",
            Self::NoShards { .. } => "safetensors::no-shards",
            Self::Header { .. } => "safetensors::bad-header",
            Self::Json { .. } => "safetensors::bad-json",
            Self::MissingShard { .. } => "safetensors::missing-shard",
            Self::UnknownArchitecture { .. } => "safetensors::unknown-architecture",
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            Self::Io { .. } => "check the path and its permissions".into(),
            Self::NoConfig { .. } => "point at the model directory (the one holding config.json and the *.safetensors shards), as `vllm serve DIR` expects".into(),
            Self::NoShards { .. } => "download the weights too (e.g. `huggingface-cli download REPO --local-dir DIR`); a directory with only config.json cannot be planned".into(),
            Self::Header { .. } => "the shard is truncated or not a safetensors file; download it again and compare its size with the one on the model page".into(),
            Self::Json { .. } => "fix or re-download this JSON file; the key named is the one vLLM would read".into(),
            Self::MissingShard { .. } => "download the missing shard, or fix weight_map in the index".into(),
            Self::UnknownArchitecture { .. } => "profilec models decoder-only attention models (llama, qwen, mistral, gemma, deepseek MLA, gpt-oss and their relatives); plan this one by hand".into(),
        }
    }

    /// 2 for I/O, 1 for a model with problems (the project's exit-code convention).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Io { .. } => 2,
            _ => 1,
        }
    }
}

/// The verb-wide protocol ([`crate::error`]) over the inherent methods above.
impl crate::error::Failure for SafetensorsError {
    fn code(&self) -> &'static str {
        SafetensorsError::code(self)
    }
    fn help(&self) -> String {
        SafetensorsError::help(self)
    }
    fn exit_code(&self) -> i32 {
        SafetensorsError::exit_code(self)
    }
}
