//! A model directory's weights: every shard's header (from `model.safetensors.index.json`, or
//! every `*.safetensors` in the directory), totals by dtype.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::SafetensorsError;
use super::header::{ShardHeader, read_shard};

/// Largest JSON file read (config.json, the index, tokenizer_config.json): real ones are KBs to
/// a few MB.
pub const MAX_JSON_BYTES: u64 = 64 << 20;

/// The shard index vLLM and transformers read.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// Bytes and tensors of one dtype over all shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DtypeShare {
    pub dtype: String,
    pub n_tensors: u64,
    pub bytes: u64,
    pub elements: u64,
}

/// All shards of one model directory.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub dir: PathBuf,
    /// The index file when the model has one.
    pub index: Option<PathBuf>,
    pub shards: Vec<ShardHeader>,
}

impl Checkpoint {
    /// Reads every shard header of the model in `dir`.
    pub fn open(dir: &Path) -> Result<Self, SafetensorsError> {
        let index_path = dir.join(INDEX_FILE);
        if index_path.is_file() {
            return Self::from_index(dir, index_path);
        }
        let read_dir = std::fs::read_dir(dir).map_err(|source| SafetensorsError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = read_dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors") && p.is_file())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(SafetensorsError::NoShards {
                path: dir.to_owned(),
            });
        }
        let shards = paths
            .iter()
            .map(|p| read_shard(p))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            dir: dir.to_owned(),
            index: None,
            shards,
        })
    }

    fn from_index(dir: &Path, index_path: PathBuf) -> Result<Self, SafetensorsError> {
        let index = read_json(&index_path)?;
        let map = index
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| SafetensorsError::Json {
                path: index_path.clone(),
                key: "weight_map".into(),
                reason: "missing or not an object of tensor → shard file".into(),
            })?;
        let mut wanted: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (tensor, shard) in map {
            let shard = shard.as_str().ok_or_else(|| SafetensorsError::Json {
                path: index_path.clone(),
                key: format!("weight_map.{tensor}"),
                reason: "not a file name".into(),
            })?;
            wanted.entry(shard.to_owned()).or_default().push(tensor);
        }
        let mut shards = Vec::with_capacity(wanted.len());
        for (shard, tensors) in &wanted {
            let path = dir.join(shard);
            if shard.contains('/') || shard.contains('\\') || !path.is_file() {
                return Err(SafetensorsError::MissingShard {
                    index: index_path,
                    tensor: tensors[0].to_owned(),
                    shard: shard.clone(),
                });
            }
            let header = read_shard(&path)?;
            let present: BTreeSet<&str> = header.tensors.iter().map(|t| t.name.as_str()).collect();
            if let Some(t) = tensors.iter().find(|t| !present.contains(**t)) {
                return Err(SafetensorsError::Json {
                    path: index_path,
                    key: format!("weight_map.{t}"),
                    reason: format!("names shard {shard}, whose header has no such tensor"),
                });
            }
            shards.push(header);
        }
        Ok(Self {
            dir: dir.to_owned(),
            index: Some(index_path),
            shards,
        })
    }

    /// Every tensor of every shard.
    pub fn tensors(&self) -> impl Iterator<Item = &super::TensorEntry> {
        self.shards.iter().flat_map(|s| s.tensors.iter())
    }

    /// Bytes of tensor data over all shards (what vLLM loads onto the GPUs, before any
    /// re-packing by the quantization method).
    pub fn total_bytes(&self) -> u64 {
        self.tensors().map(|t| t.n_bytes).sum()
    }

    /// Per dtype: tensors, bytes and elements, largest first.
    pub fn dtype_mix(&self) -> Vec<DtypeShare> {
        let mut by: BTreeMap<&str, DtypeShare> = BTreeMap::new();
        for t in self.tensors() {
            let e = by.entry(&t.dtype).or_insert_with(|| DtypeShare {
                dtype: t.dtype.clone(),
                n_tensors: 0,
                bytes: 0,
                elements: 0,
            });
            e.n_tensors += 1;
            e.bytes += t.n_bytes;
            e.elements += t.shape.iter().product::<u64>();
        }
        let mut v: Vec<DtypeShare> = by.into_values().collect();
        v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.dtype.cmp(&b.dtype)));
        v
    }
}

/// Reads a JSON file of at most [`MAX_JSON_BYTES`].
pub fn read_json(path: &Path) -> Result<serde_json::Value, SafetensorsError> {
    use std::io::Read;
    let io = |source| SafetensorsError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_JSON_BYTES {
        return Err(SafetensorsError::Json {
            path: path.to_owned(),
            key: "(file)".into(),
            reason: format!("{size} bytes, more than the {MAX_JSON_BYTES}-byte limit"),
        });
    }
    let mut text = Vec::with_capacity(size as usize);
    file.take(MAX_JSON_BYTES)
        .read_to_end(&mut text)
        .map_err(io)?;
    serde_json::from_slice(&text).map_err(|e| SafetensorsError::Json {
        path: path.to_owned(),
        key: "(file)".into(),
        reason: format!("not valid JSON: {e}"),
    })
}
