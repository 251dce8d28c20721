//! Minimal edits of a models.conf: every byte outside the lines an edit means to change stays
//! as it was (line endings, comments, spacing). Edits are computed on the lossless tree and
//! written atomically.

mod mark;

use std::path::Path;

pub use mark::mark_tested;

use crate::syntax::Document;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("no profile `{0}` in the file")]
    UnknownProfile(String),
    #[error("profile `{0}` already exists")]
    DuplicateId(String),
    #[error("the edit could not be applied: {0}")]
    Apply(String),
    #[error("the edited file would not check: {0}")]
    WouldBreak(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl crate::error::Failure for EditError {
    fn code(&self) -> &'static str {
        match self {
            EditError::UnknownProfile(_) => "usage::unknown-profile",
            EditError::DuplicateId(_) => "edit::duplicate-id",
            EditError::Apply(_) => "edit::not-applied",
            EditError::WouldBreak(_) => "edit::would-break",
            EditError::Write { .. } => "io::write",
        }
    }

    fn help(&self) -> String {
        match self {
            EditError::UnknownProfile(_) => {
                "the ids are the `[id]` headers; `profilec check` lists the file's problems"
            }
            EditError::DuplicateId(_) => {
                "choose another id with --id; existing profiles are never overwritten"
            }
            EditError::Apply(_) | EditError::WouldBreak(_) => {
                "the file was left unchanged; this is a bug in profilec: please report it with the file attached"
            }
            EditError::Write { .. } => {
                "check permissions of the file and its directory; the file was left unchanged"
            }
        }
        .into()
    }

    /// 2 for an id the file does not have and for I/O, 1 when the edit cannot be made.
    fn exit_code(&self) -> i32 {
        use crate::error::exit;
        match self {
            EditError::UnknownProfile(_) | EditError::Write { .. } => exit::USAGE,
            EditError::DuplicateId(_) | EditError::Apply(_) | EditError::WouldBreak(_) => {
                exit::FAILED
            }
        }
    }
}

/// Appends `block` (lines without a trailing line ending) at the end of the file, separated by
/// one blank line, in the file's own line-ending style. A file without a final newline gets one
/// first; nothing else changes.
pub fn append_block(doc: &Document, block: &str) -> String {
    let eol = doc.dominant_eol();
    let src = doc.source();
    let mut out = String::with_capacity(src.len() + block.len() + 4);
    out.push_str(src);
    if !src.is_empty() && !src.ends_with('\n') {
        out.push_str(eol);
    }
    if !src.is_empty() && !ends_with_blank_line(doc) {
        out.push_str(eol);
    }
    for line in block.lines() {
        out.push_str(line);
        out.push_str(eol);
    }
    out
}

/// Whether the file already ends in an empty line (`…\n\n`): the last tree line is the empty
/// text after the final newline, the one before it blank.
fn ends_with_blank_line(doc: &Document) -> bool {
    use crate::syntax::LineKind;
    let lines = doc.lines();
    match lines {
        [.., before, last] => {
            last.text.is_empty() && last.eol.is_empty() && before.kind == LineKind::Blank
        }
        _ => false,
    }
}

/// A unified diff for `--dry-run`.
pub fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string()
}
