//! Typed errors of the GGUF stage. `FormatError` says what is wrong inside one file's bytes;
//! `GgufError` adds which file, and covers I/O, split sets and metadata the facts need.

use std::path::PathBuf;

use crate::diag::{Diagnostic, Severity};

/// A problem in the bytes of one GGUF file. Offsets are byte offsets from the file start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not a GGUF file: the first bytes are {found:?}, expected \"GGUF\"")]
    BadMagic { found: [u8; 4] },
    #[error("big-endian GGUF (version {version} byte-swapped) is not supported")]
    BigEndian { version: u32 },
    #[error("GGUF version {version} is not supported (only versions 2 and 3)")]
    UnsupportedVersion { version: u32 },
    #[error("file ends at byte {file_size} while reading {what} at byte {offset}")]
    Truncated {
        what: String,
        offset: u64,
        file_size: u64,
    },
    #[error(
        "{what} at byte {offset} claims {count} entries, more than the {remaining} bytes left in the file allow"
    )]
    CountTooLarge {
        what: String,
        offset: u64,
        count: u64,
        remaining: u64,
    },
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { what: String, offset: u64 },
    #[error("metadata key `{key}` has unknown value type {type_id}")]
    UnknownValueType { key: String, type_id: u32 },
    #[error("metadata key `{key}` is an array of arrays, which GGUF readers do not support")]
    NestedArray { key: String },
    #[error("metadata key `{key}` appears twice")]
    DuplicateKey { key: String },
    #[error("general.alignment must be a power of two between 1 and 2^30, found {found}")]
    BadAlignment { found: String },
    #[error("tensor `{tensor}` has unknown GGML type {type_id}")]
    UnknownTensorType { tensor: String, type_id: u32 },
    #[error("tensor `{tensor}` is invalid: {reason}")]
    InvalidTensor { tensor: String, reason: String },
    #[error("tensor `{tensor}` appears twice")]
    DuplicateTensor { tensor: String },
    #[error(
        "tensor `{tensor}` data offset {offset} is not a multiple of the alignment {alignment}"
    )]
    Misaligned {
        tensor: String,
        offset: u64,
        alignment: u64,
    },
    #[error(
        "tensor `{tensor}` data ends at byte {end}, past the end of the file ({file_size} bytes)"
    )]
    TensorPastEnd {
        tensor: String,
        end: u64,
        file_size: u64,
    },
    #[error("tensors `{first}` and `{second}` overlap in the data section")]
    TensorOverlap { first: String, second: String },
}

/// Every error of the GGUF stage.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Format { path: PathBuf, source: FormatError },
    #[error("{path}: shard {index} of {count} is missing (expected {expected})")]
    MissingShard {
        path: PathBuf,
        expected: PathBuf,
        index: u32,
        count: u32,
    },
    #[error("{path}: {reason}")]
    ShardMismatch { path: PathBuf, reason: String },
    #[error("{path}: metadata key `{key}` {reason}")]
    BadMetadata {
        path: PathBuf,
        key: String,
        reason: String,
    },
}

impl GgufError {
    /// Stable diagnostic code (`gguf::…`), documented in docs/gguf.md.
    pub fn code(&self) -> &'static str {
        match self {
            GgufError::Io { .. } => "gguf::io",
            GgufError::MissingShard { .. } => "gguf::missing-shard",
            GgufError::ShardMismatch { .. } => "gguf::shard-mismatch",
            GgufError::BadMetadata { .. } => "gguf::bad-metadata",
            GgufError::Format { source, .. } => match source {
                FormatError::BadMagic { .. } => "gguf::not-gguf",
                FormatError::BigEndian { .. } | FormatError::UnsupportedVersion { .. } => {
                    "gguf::unsupported-version"
                }
                FormatError::Truncated { .. } => "gguf::truncated",
                FormatError::UnknownTensorType { .. } => "gguf::unknown-tensor-type",
                FormatError::Misaligned { .. }
                | FormatError::TensorPastEnd { .. }
                | FormatError::TensorOverlap { .. } => "gguf::bad-tensor-offset",
                _ => "gguf::malformed",
            },
        }
    }

    /// Process exit code: 2 when a file cannot be read (missing, permissions, missing shard),
    /// 1 when the bytes are there but are not a usable GGUF model.
    pub fn exit_code(&self) -> i32 {
        match self {
            GgufError::Io { .. } | GgufError::MissingShard { .. } => 2,
            _ => 1,
        }
    }

    /// How to fix it, in one sentence.
    pub fn help(&self) -> &'static str {
        match self {
            GgufError::Io { .. } => "check the path and that the file is readable",
            GgufError::MissingShard { .. } => {
                "download every shard of the split model into the same directory"
            }
            GgufError::ShardMismatch { .. } => {
                "the shards come from different conversions; download the whole set again"
            }
            GgufError::BadMetadata { .. } => {
                "the model's metadata is inconsistent; re-convert it with a current llama.cpp"
            }
            GgufError::Format { source, .. } => match source {
                FormatError::BadMagic { .. } => "pass a .gguf model file",
                FormatError::BigEndian { .. } | FormatError::UnsupportedVersion { .. } => {
                    "convert the model with a current llama.cpp (little-endian GGUF v3)"
                }
                FormatError::Truncated { .. } | FormatError::TensorPastEnd { .. } => {
                    "the file is incomplete (interrupted download?); download it again"
                }
                FormatError::UnknownTensorType { .. } => {
                    "the model uses a GGML type this profilec does not know; update profilec"
                }
                _ => "the file is corrupt or not written by a GGUF writer; download it again",
            },
        }
    }

    /// The error as a shared diagnostic (file-wide, no span).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::new(self.code(), Severity::Error, self.to_string()).help(self.help())
    }
}

/// The verb-wide protocol ([`crate::error`]) over the inherent methods above.
impl crate::error::Failure for GgufError {
    fn code(&self) -> &'static str {
        GgufError::code(self)
    }
    fn help(&self) -> String {
        GgufError::help(self).into()
    }
    fn exit_code(&self) -> i32 {
        GgufError::exit_code(self)
    }
}
