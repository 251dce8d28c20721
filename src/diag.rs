//! Diagnostics shared by every stage: a stable code, a severity, a byte span in the source, a
//! message and help that says how to fix it. Stages collect them instead of stopping at the
//! first problem; the CLI renders them with miette or as JSON.

use std::ops::Range;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A secondary span that explains the primary one ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub span: Range<usize>,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code documented in docs/diagnostics.md, e.g. `conf::unknown-key`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Byte range in the source file; `None` for file-wide findings.
    pub span: Option<Range<usize>>,
    /// Short text shown under the span.
    pub label: Option<String>,
    pub help: Option<String>,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Note, message)
    }

    pub fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            label: label.into(),
        });
        self
    }

    /// Moves every span by `offset` bytes: stages that work on a value (EXTRA_ARGS, an `-ot`
    /// spec) report spans relative to it, and the caller places them in the file.
    pub fn shifted(mut self, offset: usize) -> Self {
        if let Some(s) = &mut self.span {
            *s = s.start + offset..s.end + offset;
        }
        for r in &mut self.related {
            r.span = r.span.start + offset..r.span.end + offset;
        }
        self
    }
}

/// 1-based line and column (in characters) of a byte offset. Builds a [`LineIndex`]: callers
/// with many offsets into one source build the index once instead.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(src).line_col(offset)
}

/// Line starts and character checkpoints of one source, built once in linear time so every
/// offset → line:column lookup afterwards is a binary search plus at most one block of bytes
/// (`check` prints thousands of diagnostics on one file; a per-diagnostic scan is quadratic).
/// Lines end at `\n` only, as bash `read` splits them: a lone `\r` stays inside its line.
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
    /// Characters before byte `k * CHECKPOINT`, for columns on very long lines.
    chars_at: Vec<usize>,
}

const CHECKPOINT: usize = 4096;

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> LineIndex<'a> {
        let bytes = src.as_bytes();
        let starts = std::iter::once(0)
            .chain(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let mut chars_at = Vec::with_capacity(bytes.len() / CHECKPOINT + 1);
        let mut chars = 0;
        for block in bytes.chunks(CHECKPOINT) {
            chars_at.push(chars);
            chars += block.iter().filter(|b| !is_continuation(**b)).count();
        }
        chars_at.push(chars);
        LineIndex {
            src,
            starts,
            chars_at,
        }
    }

    pub fn source(&self) -> &'a str {
        self.src
    }

    /// 0-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|s| *s <= offset)
            .saturating_sub(1)
    }

    /// Byte offset where 0-based `line` starts (the source length past the last line).
    pub fn line_start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.src.len())
    }

    /// Number of lines (a trailing newline starts an empty last line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.src, offset.min(self.src.len()));
        let line = self.line_of(offset);
        let start = self.starts[line];
        let column = if offset - start < CHECKPOINT {
            self.src[start..offset].chars().count()
        } else {
            self.char_index(offset) - self.char_index(start)
        } + 1;
        (line + 1, column)
    }

    fn char_index(&self, offset: usize) -> usize {
        let block = offset / CHECKPOINT;
        let from = block * CHECKPOINT;
        self.chars_at[block]
            + self.src.as_bytes()[from..offset]
                .iter()
                .filter(|b| !is_continuation(**b))
                .count()
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

pub fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Counts by severity, for exit codes and summaries.
pub fn count(diags: &[Diagnostic], severity: Severity) -> usize {
    diags.iter().filter(|d| d.severity == severity).count()
}
