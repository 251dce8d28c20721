//! Which machine a verb plans for: an explicit `--hardware FILE`, else the profilec.toml beside
//! models.conf, else detection. One function so every verb makes the same choice.

use std::path::{Path, PathBuf};

use super::{FILE_NAME, Hardware, LoadError, detect, load};
use crate::diag::Diagnostic;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Detected,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub hardware: Hardware,
    pub origin: Origin,
    /// The file's diagnostics, or detection's notes.
    pub diagnostics: Vec<Diagnostic>,
    /// The file's text when `origin` is a file, for rendering diagnostics.
    pub source: Option<String>,
}

/// `explicit` wins; otherwise `profilec.toml` in `conf_dir` (the directory holding models.conf)
/// if it exists; otherwise the machine detected here, with `[runtime]` paths relative to `conf_dir`.
pub fn resolve(explicit: Option<&Path>, conf_dir: &Path) -> Result<Resolved, LoadError> {
    let beside = conf_dir.join(FILE_NAME);
    let file = match explicit {
        Some(p) => Some(p.to_owned()),
        None => beside.is_file().then_some(beside),
    };
    Ok(match file {
        Some(path) => {
            let l = load(&path)?;
            Resolved {
                hardware: l.hardware,
                origin: Origin::File(path),
                diagnostics: l.diagnostics,
                source: Some(l.source),
            }
        }
        None => {
            let d = detect(conf_dir);
            Resolved {
                hardware: d.hardware,
                origin: Origin::Detected,
                diagnostics: d.notes,
                source: None,
            }
        }
    })
}
