//! Which machine a verb plans for: an explicit `--hardware FILE`, else the profilec.toml beside
//! models.conf, else `$PROFILEC_CONFIG`, else the user's config directory, else detection
//! ([`crate::discover::hardware_file`]). One function so every verb makes the same choice.

use std::path::{Path, PathBuf};

use super::{Hardware, LoadError, detect, load};
use crate::diag::Diagnostic;
use crate::discover::{self, HardwareFile};

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
    /// Why this file (or detection) was chosen, and every place looked at.
    pub found: HardwareFile,
}

/// `explicit` wins; otherwise the first of [`discover::hardware_file`]'s places that holds a
/// file; otherwise the machine detected here, with `[runtime]` paths relative to `conf_dir`.
pub fn resolve(explicit: Option<&Path>, conf_dir: &Path) -> Result<Resolved, LoadError> {
    let found = discover::hardware_file(explicit, conf_dir)?;
    Ok(match &found.path {
        Some(path) => {
            let l = load(path)?;
            Resolved {
                hardware: l.hardware,
                origin: Origin::File(path.clone()),
                diagnostics: l.diagnostics,
                source: Some(l.source),
                found,
            }
        }
        None => {
            let d = detect(conf_dir);
            Resolved {
                hardware: d.hardware,
                origin: Origin::Detected,
                diagnostics: d.notes,
                source: None,
                found,
            }
        }
    })
}
