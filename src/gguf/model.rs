//! A model on disk: one GGUF file or a split set (`NAME-00001-of-00003.gguf`), read as one
//! tensor table.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::GgufError;
use super::reader::{GgufFile, read_header};
use super::types::GgmlType;
use super::value::Metadata;

/// Reads one file of a model: `(path, Some((index, count)))` for a shard found from the first
/// file's name, `None` for the file named by the caller.
pub type ReadShard<'a> = dyn FnMut(&Path, Option<(u32, u32)>) -> Result<GgufFile, GgufError> + 'a;

/// One file of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shard {
    pub path: PathBuf,
    pub version: u32,
    pub file_size: u64,
    pub n_tensors: usize,
    /// Sum of the tensor bytes in this file.
    pub tensor_bytes: u64,
    /// Where the tensor data section starts (so `file_size - data_offset` ≈ `tensor_bytes`).
    pub data_offset: u64,
}

/// One tensor of the model, wherever it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tensor {
    pub name: String,
    pub ggml_type: GgmlType,
    /// `ne` in ggml order: `dims[0]` is the row length.
    pub dims: Vec<u64>,
    pub n_elements: u64,
    pub n_bytes: u64,
    /// Index into `Model::shards`.
    pub shard: usize,
    /// Byte offset of the data within its shard file.
    pub data_offset: u64,
}

/// A GGUF model: the metadata of its first file and the tensors of every file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub shards: Vec<Shard>,
    pub metadata: Metadata,
    pub tensors: Vec<Tensor>,
}

impl Model {
    /// Opens a model. For a split model any shard may be given; every shard is found beside it,
    /// read and checked (`split.no`, `split.count`, `split.tensors.count`).
    pub fn open(path: &Path) -> Result<Model, GgufError> {
        Model::open_with(path, &mut |p, shard| {
            if let Some((index, count)) = shard
                && !p.is_file()
            {
                return Err(GgufError::MissingShard {
                    path: path.to_path_buf(),
                    expected: p.to_path_buf(),
                    index,
                    count,
                });
            }
            read_file(p)
        })
    }

    /// [`Model::open`] with the files read by `read(path, Some((index, count)))` (`None` for the
    /// file named first): the same split checks for a model read over HTTP (src/remote/).
    pub fn open_with(path: &Path, read: &mut ReadShard<'_>) -> Result<Model, GgufError> {
        let first = read(path, None)?;
        let count = first.metadata.u64("split.count").unwrap_or(1);
        let named = split_name(path);
        if count <= 1 {
            if let Some((_, _, n)) = &named
                && *n > 1
            {
                return Err(GgufError::ShardMismatch {
                    path: path.to_path_buf(),
                    reason: format!("the name says {n} shards but the file has no split.count"),
                });
            }
            return Ok(Model::from_files(vec![(path.to_path_buf(), first)]));
        }
        let Some((prefix, _, n)) = named else {
            return Err(GgufError::ShardMismatch {
                path: path.to_path_buf(),
                reason: format!(
                    "split.count is {count} but the file name does not follow NAME-00001-of-{count:05}.gguf"
                ),
            });
        };
        let count32 = u32::try_from(count).unwrap_or(u32::MAX);
        if u64::from(n) != count {
            return Err(GgufError::ShardMismatch {
                path: path.to_path_buf(),
                reason: format!("the name says {n} shards but split.count is {count}"),
            });
        }
        let mut files = Vec::new();
        for i in 1..=count32 {
            let p = shard_path(&prefix, i, count32);
            let f = if p == path {
                first.clone()
            } else {
                read(&p, Some((i, count32)))?
            };
            check_shard(&p, &f, i, count)?;
            files.push((p, f));
        }
        let expected = files
            .first()
            .and_then(|(_, f)| f.metadata.u64("split.tensors.count"));
        let total: usize = files.iter().map(|(_, f)| f.tensors.len()).sum();
        if let Some(expected) = expected
            && expected != total as u64
        {
            return Err(GgufError::ShardMismatch {
                path: path.to_path_buf(),
                reason: format!(
                    "split.tensors.count is {expected} but the shards hold {total} tensors"
                ),
            });
        }
        let model = Model::from_files(files);
        let mut seen = HashSet::new();
        for t in &model.tensors {
            if !seen.insert(t.name.as_str()) {
                return Err(GgufError::ShardMismatch {
                    path: path.to_path_buf(),
                    reason: format!("tensor `{}` is in more than one shard", t.name),
                });
            }
        }
        Ok(model)
    }

    fn from_files(files: Vec<(PathBuf, GgufFile)>) -> Model {
        let mut shards = Vec::new();
        let mut tensors = Vec::new();
        let mut metadata = None;
        for (i, (path, f)) in files.into_iter().enumerate() {
            shards.push(Shard {
                path,
                version: f.version,
                file_size: f.file_size,
                n_tensors: f.tensors.len(),
                tensor_bytes: f.tensors.iter().map(|t| t.n_bytes).sum(),
                data_offset: f.data_offset,
            });
            tensors.extend(f.tensors.into_iter().map(|t| Tensor {
                name: t.name,
                ggml_type: t.ggml_type,
                dims: t.dims,
                n_elements: t.n_elements,
                n_bytes: t.n_bytes,
                shard: i,
                data_offset: t.data_offset,
            }));
            metadata.get_or_insert(f.metadata);
        }
        Model {
            shards,
            metadata: metadata.unwrap_or_default(),
            tensors,
        }
    }

    /// The path of the first file (what llama.cpp's `-m` takes).
    pub fn path(&self) -> &Path {
        self.shards
            .first()
            .map_or(Path::new(""), |s| s.path.as_path())
    }

    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Sum of every tensor's bytes.
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.n_bytes).sum()
    }

    /// Sum of the shard file sizes.
    pub fn file_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.file_size).sum()
    }
}

/// Reads one file's header.
pub fn read_file(path: &Path) -> Result<GgufFile, GgufError> {
    let io = |source| GgufError::Io {
        path: path.to_path_buf(),
        source,
    };
    // stat before open: opening a FIFO blocks until a writer appears, so `inspect FIFO` would
    // hang; a directory would read as a truncated GGUF.
    let kind = std::fs::metadata(path).map_err(io)?.file_type();
    if !kind.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a GGUF file", describe_kind(kind)),
        )));
    }
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    read_header(BufReader::new(file), len).map_err(|source| GgufError::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// What a path that is not a regular file is, in words (`check`'s MODEL rule says it too).
pub fn describe_kind(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

fn check_shard(p: &Path, f: &GgufFile, index: u32, count: u64) -> Result<(), GgufError> {
    let mismatch = |reason: String| GgufError::ShardMismatch {
        path: p.to_path_buf(),
        reason,
    };
    let c = f.metadata.u64("split.count");
    if c != Some(count) {
        return Err(mismatch(format!(
            "split.count is {c:?}, expected {count} like the first shard"
        )));
    }
    // split.no is 0-based (gguf-split, gguf-py); the file name is 1-based.
    let no = f.metadata.u64("split.no");
    if no != Some(u64::from(index) - 1) {
        return Err(mismatch(format!(
            "split.no is {no:?}, expected {} for shard {index} of {count}",
            index - 1
        )));
    }
    Ok(())
}

/// `(prefix, index, count)` of a `PREFIX-0000I-of-0000N.gguf` path.
pub fn split_name(path: &Path) -> Option<(PathBuf, u32, u32)> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, index) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(count) || !digits(index) {
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    Some((dir.join(prefix), index.parse().ok()?, count.parse().ok()?))
}

/// llama.cpp's `llama_split_path`: `PREFIX-%05d-of-%05d.gguf`.
pub fn shard_path(prefix: &Path, index: u32, count: u32) -> PathBuf {
    let name = prefix.file_name().and_then(|n| n.to_str()).unwrap_or("");
    prefix.with_file_name(format!("{name}-{index:05}-of-{count:05}.gguf"))
}
