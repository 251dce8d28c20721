//! A MODEL argument that names a remote file (`hf://…`, `https://…`): its header is read over
//! HTTP Range requests (docs/remote.md).

use std::path::Path;

use crate::remote::{Client, RemoteModel, Source, open_model};

pub(crate) fn is_remote(arg: &Path) -> bool {
    arg.to_str().is_some_and(Source::is_remote)
}

/// `Some` when `arg` is remote: the model, or the exit code after printing why not.
pub(crate) fn open(arg: &Path) -> Option<Result<RemoteModel, i32>> {
    let text = arg.to_str().filter(|s| Source::is_remote(s))?;
    let opened = Source::parse(text).and_then(|source| open_model(&source, &Client::from_env()));
    Some(opened.map_err(|e| super::fail(&e)))
}

/// One line on stderr: what reading the remote header cost.
pub(crate) fn note_transfer(m: &RemoteModel) {
    let total: u64 = m.transferred.iter().sum();
    eprintln!(
        "note: read {:.1} KiB of GGUF header from {} over HTTP ({} file(s), no tensor data)",
        total as f64 / 1024.0,
        m.source,
        m.transferred.len()
    );
}
