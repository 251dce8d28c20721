//! One safetensors shard's header, read without its tensor data.
//!
//! Layout (the format's own README): 8-byte little-endian header length `n`, `n` bytes of JSON
//! (`{"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}`), then the
//! data section. Why not the `safetensors` crate: its only header API,
//! `SafeTensors::read_metadata(buffer)`, wants the whole file in the buffer (it rejects a buffer
//! whose length is not header + data) and its offset validation is private, so reading a 10 GB
//! shard's header with it needs a full mmap of the file. This reader reads at most
//! [`MAX_HEADER_BYTES`] (the crate's own `MAX_HEADER_SIZE` cap), then applies the same checks
//! the crate's `Metadata::validate` does (contiguous, non-overlapping offsets; dtype × shape =
//! bytes) plus "the data fits the file".

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::SafetensorsError;

/// Largest header read (100 MB, the safetensors crate's `MAX_HEADER_SIZE`).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor of a shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    /// Bytes of data (end − begin of `data_offsets`).
    pub n_bytes: u64,
}

/// The header of one shard.
#[derive(Debug, Clone, Serialize)]
pub struct ShardHeader {
    pub path: PathBuf,
    pub file_size: u64,
    pub header_len: u64,
    /// Tensors in data order.
    pub tensors: Vec<TensorEntry>,
    /// `__metadata__` (string → string), e.g. `{"format": "pt"}`.
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// Bits per element of a safetensors dtype (the list of the format's README and the crate's
/// `Dtype::bitsize`); `None` for a dtype the format does not define.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ"
        | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// Reads and validates the header of the shard at `path`.
pub fn read_shard(path: &Path) -> Result<ShardHeader, SafetensorsError> {
    let io = |source| SafetensorsError::Io {
        path: path.to_owned(),
        source,
    };
    let bad = |reason: String| SafetensorsError::Header {
        path: path.to_owned(),
        reason,
    };
    let mut file = File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    if file_size < 8 {
        return Err(bad(format!(
            "the file has {file_size} bytes, fewer than the 8-byte header length"
        )));
    }
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io)?;
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "the header claims {header_len} bytes, more than the {MAX_HEADER_BYTES}-byte limit of the format"
        )));
    }
    if header_len > file_size - 8 {
        return Err(bad(format!(
            "the header claims {header_len} bytes but only {} follow the length: the file is truncated",
            file_size - 8
        )));
    }
    let mut json = Vec::with_capacity(header_len as usize);
    file.take(header_len).read_to_end(&mut json).map_err(io)?;
    let value: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| bad(format!("the header is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(bad("the header JSON is not an object".into()));
    };
    let data_size = file_size - 8 - header_len;
    let mut metadata = std::collections::BTreeMap::new();
    let mut entries = Vec::with_capacity(map.len());
    for (name, v) in map {
        if name == "__metadata__" {
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    if let serde_json::Value::String(s) = v {
                        metadata.insert(k, s);
                    }
                }
            }
            continue;
        }
        let (entry, begin, end) = tensor_entry(&name, &v).map_err(bad)?;
        entries.push((begin, end, entry));
    }
    entries.sort_by_key(|(b, e, _)| (*b, *e));
    let mut cursor = 0u64;
    let mut prev: Option<&str> = None;
    for (begin, end, t) in &entries {
        if *begin < cursor {
            return Err(bad(format!(
                "tensors `{}` and `{}` overlap in the data section (offset {begin} < {cursor})",
                prev.unwrap_or("?"),
                t.name
            )));
        }
        if *begin > cursor {
            return Err(bad(format!(
                "tensor `{}` starts at data offset {begin}, leaving a hole after byte {cursor}",
                t.name
            )));
        }
        if *end > data_size {
            return Err(bad(format!(
                "tensor `{}` data ends at byte {} of the file, past its end ({file_size} bytes): the file is truncated",
                t.name,
                8 + header_len + end
            )));
        }
        cursor = *end;
        prev = Some(&t.name);
    }
    Ok(ShardHeader {
        path: path.to_owned(),
        file_size,
        header_len,
        tensors: entries.into_iter().map(|(_, _, t)| t).collect(),
        metadata,
    })
}

/// One `"NAME": {dtype, shape, data_offsets}` entry, checked: known dtype, dtype × shape =
/// the offsets' byte length.
fn tensor_entry(name: &str, v: &serde_json::Value) -> Result<(TensorEntry, u64, u64), String> {
    let field = |k: &str| {
        v.get(k)
            .ok_or_else(|| format!("tensor `{name}` has no `{k}`"))
    };
    let dtype = field("dtype")?
        .as_str()
        .ok_or_else(|| format!("tensor `{name}`: `dtype` is not a string"))?;
    let bits =
        dtype_bits(dtype).ok_or_else(|| format!("tensor `{name}`: unknown dtype `{dtype}`"))?;
    let nums = |k: &str| -> Result<Vec<u64>, String> {
        field(k)?
            .as_array()
            .ok_or_else(|| format!("tensor `{name}`: `{k}` is not an array"))?
            .iter()
            .map(|x| {
                x.as_u64().ok_or_else(|| {
                    format!("tensor `{name}`: `{k}` holds {x}, not a non-negative integer")
                })
            })
            .collect()
    };
    let shape = nums("shape")?;
    let offsets = nums("data_offsets")?;
    let [begin, end] = offsets[..] else {
        return Err(format!(
            "tensor `{name}`: `data_offsets` must hold two numbers"
        ));
    };
    if end < begin {
        return Err(format!(
            "tensor `{name}`: data_offsets end {end} < begin {begin}"
        ));
    }
    let bytes = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .and_then(|n| n.checked_mul(bits))
        .ok_or_else(|| format!("tensor `{name}`: shape {shape:?} overflows"))?;
    if bytes % 8 != 0 || bytes / 8 != end - begin {
        return Err(format!(
            "tensor `{name}`: {dtype} × {shape:?} is {} bytes but data_offsets span {}",
            bytes as f64 / 8.0,
            end - begin
        ));
    }
    Ok((
        TensorEntry {
            name: name.to_owned(),
            dtype: dtype.to_owned(),
            shape,
            n_bytes: end - begin,
        },
        begin,
        end,
    ))
}
