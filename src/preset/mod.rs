//! llama-server's router-mode preset INI (`llama-server --models-preset FILE`), the second
//! dialect of the models.conf family: `[name]` sections, one per model, `[*]` shared by all,
//! `key = value` lines whose keys are llama-server flags without dashes. Read exactly as
//! llama.cpp common/preset.cpp (b11434) reads it; see docs/models-conf.md "preset dialect" and
//! docs/diagnostics.md for every `preset::` code.
//!
//! ```
//! use profilec::preset::check_preset_source;
//! let report = check_preset_source("[*]\nctx-size = 4096\n\n[m]\nhf = org/repo:Q4_K_M\n", None);
//! assert!(report.diagnostics.is_empty());
//! assert_eq!(report.model_count(), 1);
//! ```

mod check;
pub mod detect;
pub mod keys;
pub mod model;
pub mod syntax;

use std::path::Path;

pub use check::{
    FALSY, PresetCheckOptions, PresetReport, TRUTHY, check_preset_file, check_preset_source,
    is_ident,
};
pub use detect::{Dialect, detect};
pub use keys::{KeyTarget, resolve};
pub use model::{Entry, Preset, Section, canonical_name};
pub use syntax::{PresetDoc, PresetLine, PresetLineKind};

use crate::check::CheckError;

/// Reads a file as UTF-8 text, with the same errors `check` reports for a models.conf.
pub fn read_text(path: &Path) -> Result<String, CheckError> {
    crate::check::read_source(path)
}
