//! GGUF model header, tensor table and model facts.
//!
//! Reads only the header and tensor table of a GGUF (v2/v3, little-endian), never tensor data:
//! a multi-gigabyte model is inspected by reading its first few megabytes. Split models
//! (`NAME-00001-of-00003.gguf`) are read as one tensor table. See docs/gguf.md and
//! docs/decisions/0001-gguf-reader.md.
//!
//! Layers: [`read_header`] (one file, any `Read + Seek`) → [`Model::open`] (all shards of a
//! model) → [`ModelFacts::from_model`] (architecture facts for the memory model and `inspect`).

mod cache;
mod error;
pub mod facts;
mod model;
mod reader;
pub mod types;
mod value;

pub use cache::{LoadedModel, ModelCache};
pub use error::{FormatError, GgufError};
pub use facts::{
    AttentionKind, ExpertFacts, GeneralInfo, LayerBytes, LayerFacts, ModelFacts, NonLayerBytes,
    ParamCounts, RecurrentFacts, Sampling, SwaFacts, TensorRole, TypeShare, inspect, tensor_layer,
    tensor_role,
};
pub use model::{
    Model, ReadShard, Shard, Tensor, describe_kind, read_file, shard_path, split_name,
};
pub use reader::{GgufFile, TensorInfo, read_header};
pub use types::GgmlType;
pub use value::{MAX_KEPT_ARRAY, MAX_KEPT_STRING_ARRAY, MetaArray, MetaValue, Metadata, ValueType};
