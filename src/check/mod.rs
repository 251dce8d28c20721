//! `check`: every rule over a models.conf, all problems collected at once.
//!
//! Line-level problems come from `config::load`; this module adds the rules that need the whole
//! file (duplicate ids, bench twins), the llama-server flag table (EXTRA_ARGS) or the disk
//! (model files). Two stages: the file rules first (no model, no machine), then the rules that
//! read the model (`model_rules`) and plan it on the machine (`budget_rules`). EXTRA_ARGS is
//! parsed once per profile and each GGUF opened once per check ([`ModelCache`]), shared by both.

mod args;
mod bench;
mod budget_rules;
mod found;
mod ids;
mod model_rules;
mod models;
mod outline;
mod pass;
mod plan_refusal;
mod roles;
mod rpc_rules;
mod vllm_rules;

use std::path::{Path, PathBuf};

use crate::config::{Conf, Profile};
use crate::diag::{Diagnostic, Severity};
use crate::flags::{ParsedArgs, parse_args};
use crate::gguf::ModelCache;
use crate::hardware::Hardware;
pub use found::Findings;
use pass::Pass;

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Where MODEL paths resolve. `None`: see [`default_models_dir`].
    pub models_dir: Option<PathBuf>,
    /// The machine the budget rules (docs/diagnostics.md `budget::…`) plan for.
    pub hardware: MachineFor,
}

/// Which machine [`check_file`] holds profiles to.
#[derive(Debug, Clone, Default)]
pub enum MachineFor {
    /// The profilec.toml beside the file, when there is one (no file: no budget rules).
    #[default]
    BesideConf,
    Given(Box<Hardware>),
    /// No budget rules (callers that plan themselves).
    Skip,
}

#[derive(Debug, Clone)]
pub struct CheckReport {
    pub conf: Conf,
    pub diagnostics: Vec<Diagnostic>,
    /// The models the rules opened, for the verbs that plan or launch next.
    pub models: ModelCache,
}

/// A profile's EXTRA_ARGS parsed once, with the file offset of its value.
pub(crate) struct Extra {
    pub parsed: ParsedArgs,
    pub span: std::ops::Range<usize>,
}

impl Extra {
    /// The file span of the last occurrence of `flag`.
    pub fn span_of(&self, flag: &str) -> Option<std::ops::Range<usize>> {
        let s = self.parsed.last(flag)?.span();
        Some(s.start + self.span.start..s.end + self.span.start)
    }
}

fn parse_extra(p: &Profile) -> Option<Extra> {
    p.extra_args.as_ref().map(|e| Extra {
        parsed: parse_args(&e.value),
        span: e.span.clone(),
    })
}

impl CheckReport {
    pub fn count(&self, severity: Severity) -> usize {
        crate::diag::count(&self.diagnostics, severity)
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not UTF-8 text: the byte at line {line}, column {column} (byte offset {offset}) is not valid UTF-8"
    )]
    NotUtf8 {
        path: PathBuf,
        offset: usize,
        /// 1-based; columns count characters, as in every diagnostic.
        line: usize,
        column: usize,
        /// The file's text before the bad byte (valid UTF-8), so a report can point into it.
        before: String,
    },
}

impl crate::error::Failure for CheckError {
    fn code(&self) -> &'static str {
        match self {
            CheckError::Read { .. } => "io::read",
            CheckError::NotUtf8 { .. } => "io::not-utf8",
        }
    }
    fn help(&self) -> String {
        match self {
            CheckError::Read { .. } => {
                "check the path; without a FILE profilec uses the nearest models.conf here or above"
                    .into()
            }
            CheckError::NotUtf8 { .. } => {
                "the file must be UTF-8; convert it with `iconv -f LATIN1 -t UTF-8` (or fix the byte named)"
                    .into()
            }
        }
    }
    fn exit_code(&self) -> i32 {
        crate::error::exit::USAGE
    }
}

impl CheckError {
    /// The error as one diagnostic and the text it points into, for reports that list one
    /// object per file: the bad byte (shown as U+FFFD) after the valid text before it, so JSON
    /// gives its line and column; file-wide for a file that cannot be read.
    pub fn to_diagnostic(&self) -> (String, Diagnostic) {
        use crate::error::Failure;
        let d = Diagnostic::error(self.code(), self.to_string()).help(self.help());
        match self {
            CheckError::Read { .. } => (String::new(), d),
            CheckError::NotUtf8 { before, .. } => {
                let mut src = before.clone();
                let at = src.len();
                src.push(char::REPLACEMENT_CHARACTER);
                let d = d.at(at..src.len()).label("not UTF-8");
                (src, d)
            }
        }
    }
}

/// The text of a models.conf or preset: an unreadable or non-UTF-8 file is a typed error whose
/// position is a line and column, as diagnostics give them.
pub fn read_source(path: &Path) -> Result<String, CheckError> {
    let bytes = std::fs::read(path).map_err(|source| CheckError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        // The bytes before the bad one are valid UTF-8, so they index like any source.
        let mut bytes = e.into_bytes();
        bytes.truncate(offset);
        let before = String::from_utf8(bytes).unwrap_or_default();
        let (line, column) = crate::diag::line_col(&before, offset);
        CheckError::NotUtf8 {
            path: path.to_path_buf(),
            offset,
            line,
            column,
            before,
        }
    })
}

/// Reads and checks a models.conf.
pub fn check_file(path: &Path, opts: &CheckOptions) -> Result<CheckReport, CheckError> {
    let text = read_source(path)?;
    Ok(check_text(path, text, opts))
}

/// [`check_file`] on text already read from `path` (MODEL and profilec.toml resolve beside it).
pub fn check_text(path: &Path, text: String, opts: &CheckOptions) -> CheckReport {
    let (models_dir, hardware) = machine(path, opts);
    check_source_on(text, Some(&models_dir), hardware.as_ref())
}

/// Where MODEL paths resolve and the machine the budget rules plan for, for a file at `path`.
fn machine(path: &Path, opts: &CheckOptions) -> (PathBuf, Option<Hardware>) {
    let models_dir = opts
        .models_dir
        .clone()
        .unwrap_or_else(|| default_models_dir(path));
    let hardware = match &opts.hardware {
        MachineFor::Given(h) => Some(h.as_ref().clone()),
        MachineFor::Skip => None,
        MachineFor::BesideConf => {
            let toml = conf_dir(path).join(crate::hardware::FILE_NAME);
            // Only when a model file could be read at all: a missing directory costs one stat.
            if models_dir.is_dir() {
                crate::hardware::load(&toml).ok().map(|l| l.hardware)
            } else {
                None
            }
        }
    };
    (models_dir, hardware)
}

fn conf_dir(conf_path: &Path) -> PathBuf {
    match conf_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `[runtime] models_dir` of the profilec.toml beside the file, else `models/` beside it (the
/// corpus layout: start.sh mounts `./models`).
pub fn default_models_dir(conf_path: &Path) -> PathBuf {
    let base = match conf_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let toml = base.join(crate::hardware::FILE_NAME);
    match crate::hardware::load(&toml) {
        Ok(loaded) => loaded.hardware.runtime.models_dir,
        Err(_) => base.join("models"),
    }
}

/// Checks models.conf text. `models_dir`: where to look for model files (`None`: skip them).
pub fn check_source(text: impl Into<String>, models_dir: Option<&Path>) -> CheckReport {
    check_source_on(text, models_dir, None)
}

/// [`check_source`] plus the budget rules for `hardware` (profiles whose model file exists).
pub fn check_source_on(
    text: impl Into<String>,
    models_dir: Option<&Path>,
    hardware: Option<&Hardware>,
) -> CheckReport {
    let mut pass = Pass::new(models_dir, hardware);
    let conf = pass.chunk(text.into(), 0);
    let (diagnostics, models) = pass.finish(conf.doc.source());
    CheckReport {
        conf,
        diagnostics: diagnostics.to_vec(),
        models,
    }
}

/// What [`check_streamed`] keeps: the text, the diagnostics and how many profiles there were.
#[derive(Debug, Clone)]
pub struct CheckSummary {
    pub source: String,
    pub profiles: usize,
    /// In file order.
    pub diagnostics: Findings,
}

/// Text per chunk in [`check_streamed`]: a few thousand profiles, whose trees and typed
/// profiles (~3 KB each) are dropped before the next chunk is read.
const CHUNK_BYTES: usize = 256 * 1024;

/// [`check_text`] for callers that need only the diagnostics (the `check` verb): the file is
/// checked a chunk of sections at a time, so memory stays near the size of the text instead of
/// ~40 times it (docs/performance.md, "Hostile sizes"). Finds exactly what [`check_text`] finds.
pub fn check_streamed(path: &Path, text: String, opts: &CheckOptions) -> CheckSummary {
    let (models_dir, hardware) = machine(path, opts);
    let mut pass = Pass::new(Some(&models_dir), hardware.as_ref());
    for range in pass::chunks(&text, CHUNK_BYTES) {
        let start = range.start;
        pass.chunk(text[range].to_string(), start);
    }
    let profiles = pass.profiles();
    let (diagnostics, _) = pass.finish(&text);
    CheckSummary {
        source: text,
        profiles,
        diagnostics,
    }
}
