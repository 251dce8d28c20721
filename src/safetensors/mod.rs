//! Hugging Face model directories (config.json + `*.safetensors` shards): the facts vLLM plans
//! with, read without loading a byte of weights. See docs/vllm.md.
//!
//! [`header::read_shard`] (one shard's header, bounded) → [`Checkpoint::open`] (every shard,
//! through the index when there is one) → [`config::read_config`] (config.json by vLLM's rules)
//! → [`inspect`] (both, for `profilec inspect DIR` and the vLLM plan).

pub mod checkpoint;
pub mod config;
mod error;
pub mod header;
mod max_len;

use std::path::Path;

pub use checkpoint::{Checkpoint, DtypeShare};
pub use config::{Experts, HfConfig, MaxLen, Mla, Quantization};
pub use error::SafetensorsError;
pub use header::{ShardHeader, TensorEntry};

/// A model directory: its config facts and its shards.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HfModel {
    pub config: HfConfig,
    pub checkpoint: Checkpoint,
}

impl HfModel {
    /// Weight bytes over all shards.
    pub fn weight_bytes(&self) -> u64 {
        self.checkpoint.total_bytes()
    }

    /// Parameters as stored (elements over all tensors; packed 4-bit formats count their
    /// containers, not the logical weights).
    pub fn stored_elements(&self) -> u64 {
        self.checkpoint.dtype_mix().iter().map(|d| d.elements).sum()
    }
}

/// True when `path` is a model directory rather than a GGUF file: the test every verb uses to
/// route a model to vLLM.
pub fn is_model_dir(path: &Path) -> bool {
    path.is_dir()
}

/// Reads config.json and every shard header of the model directory `dir`.
pub fn inspect(dir: &Path) -> Result<HfModel, SafetensorsError> {
    if !dir.is_dir() {
        return Err(SafetensorsError::NoConfig {
            path: dir.to_owned(),
        });
    }
    let config = config::read_config(dir)?;
    let checkpoint = Checkpoint::open(dir)?;
    Ok(HfModel { config, checkpoint })
}
