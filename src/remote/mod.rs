//! Models you do not have yet: a GGUF header read over HTTP Range requests (`inspect`, `plan`,
//! `new` of `hf://…` or a URL) and the client `pull` downloads with. See docs/remote.md.
//!
//! Layers: [`Source`] (what the user wrote) → [`Client`] (ureq, timeouts, hub redirects and
//! token) → [`RangeReader`] (bounded ranged reads) → [`open_model`] (every shard's header through
//! `gguf::Model::open_with`, so a remote model passes the same checks as a local one).

mod error;
mod http;
mod ranged;
mod source;

use std::path::{Path, PathBuf};

pub use error::RemoteError;
pub use http::{Client, DEFAULT_TIMEOUT, Probe};
pub use ranged::{CHUNK, HEADER_BUDGET, RangeReader};
pub use source::{DEFAULT_ENDPOINT, Source};

use crate::gguf::{GgufError, LoadedModel, Model, ModelFacts, read_header};

/// A remote model's header, and what reading it cost.
#[derive(Debug)]
pub struct RemoteModel {
    pub source: Source,
    pub loaded: LoadedModel,
    /// Bytes received per shard (first shard first).
    pub transferred: Vec<u64>,
}

/// Reads the header (tokenizer included) of `source` and of every shard of a split set, with
/// Range requests only: no tensor data is fetched. Shard paths in the model are the sources as
/// written (`hf://ORG/REPO/NAME-00002-of-00003.gguf`).
pub fn open_model(source: &Source, client: &Client) -> Result<RemoteModel, RemoteError> {
    let first = PathBuf::from(source.to_string());
    let mut transferred = Vec::new();
    let mut failure = None;
    let opened = Model::open_with(&first, &mut |p, _shard| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let shard_source = source.with_file_name(name);
        match read_remote_header(&shard_source, client) {
            Ok((file, bytes)) => {
                transferred.push(bytes);
                Ok(file)
            }
            Err(RemoteError::Gguf(e)) => Err(*e),
            Err(e) => {
                // The GGUF stage's error type has no network variant: keep ours, return a
                // placeholder that ends the walk.
                let placeholder = GgufError::Io {
                    path: p.to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                };
                failure = Some(e);
                Err(placeholder)
            }
        }
    });
    let model = match (opened, failure) {
        (Ok(m), _) => m,
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => return Err(RemoteError::Gguf(Box::new(e))),
    };
    let facts = ModelFacts::from_model(&model).map_err(|e| RemoteError::Gguf(Box::new(e)))?;
    Ok(RemoteModel {
        source: source.clone(),
        loaded: LoadedModel {
            path: first,
            model,
            facts,
        },
        transferred,
    })
}

/// One file's header over HTTP, and the bytes it took.
fn read_remote_header(
    source: &Source,
    client: &Client,
) -> Result<(crate::gguf::GgufFile, u64), RemoteError> {
    let probe = client.probe(source)?;
    let mut reader = RangeReader::new(client, &probe.url, probe.size, HEADER_BUDGET);
    let result = read_header(&mut reader, probe.size);
    // The probe's single byte counts too.
    let bytes = reader.transferred() + 1;
    match result {
        Ok(file) => Ok((file, bytes)),
        Err(_) if reader.error.is_some() => {
            Err(reader.error.take().unwrap_or(RemoteError::Interrupted {
                url: probe.url,
                reason: "read failed".into(),
            }))
        }
        Err(source_err) => Err(RemoteError::Gguf(Box::new(GgufError::Format {
            path: Path::new(&source.to_string()).to_path_buf(),
            source: source_err,
        }))),
    }
}
