//! Every rule over a preset file, all problems collected at once.

mod entries;
mod lines;
mod sections;

use std::path::{Path, PathBuf};

use super::model::Preset;
use crate::check::CheckError;
use crate::diag::{Diagnostic, Severity};

pub use entries::{FALSY, TRUTHY};
pub use lines::is_ident;

#[derive(Debug, Clone, Default)]
pub struct PresetCheckOptions {
    /// Where relative `model` paths resolve. `None`: the preset file's directory.
    pub models_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct PresetReport {
    pub preset: Preset,
    pub diagnostics: Vec<Diagnostic>,
}

impl PresetReport {
    pub fn count(&self, severity: Severity) -> usize {
        crate::diag::count(&self.diagnostics, severity)
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// How many models llama-server would list from this file.
    pub fn model_count(&self) -> usize {
        self.preset.models().count()
    }
}

/// Reads and checks a preset file.
pub fn check_preset_file(
    path: &Path,
    opts: &PresetCheckOptions,
) -> Result<PresetReport, CheckError> {
    let text = crate::preset::read_text(path)?;
    let base = opts
        .models_dir
        .clone()
        .unwrap_or_else(|| match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        });
    Ok(check_preset_source(text, Some(&base)))
}

/// Checks preset text. `base`: where relative `model` paths resolve (`None`: skip model files).
pub fn check_preset_source(text: impl Into<String>, base: Option<&Path>) -> PresetReport {
    let preset = Preset::parse(text);
    let mut diagnostics = Vec::new();
    lines::check(&preset.doc, &mut diagnostics);
    for section in &preset.sections {
        entries::check(section, &mut diagnostics);
    }
    sections::check(&preset, &mut diagnostics);
    sections::model_files(&preset, base, &mut diagnostics);
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    PresetReport {
        preset,
        diagnostics,
    }
}
