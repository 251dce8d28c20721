use std::ops::Range;

use super::Document;

/// Replace the bytes of `span` with `text` (an insertion when the span is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Range<usize>,
    pub text: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            span: at..at,
            text: text.into(),
        }
    }

    pub fn replace(span: Range<usize>, text: impl Into<String>) -> Edit {
        Edit {
            span,
            text: text.into(),
        }
    }
}

impl Document {
    /// Applies edits to the source and returns the new text; every byte outside the edited spans
    /// stays as it was. Overlapping or out-of-range edits are refused, not guessed at.
    pub fn apply(&self, edits: &[Edit]) -> Result<String, String> {
        let mut sorted: Vec<&Edit> = edits.iter().collect();
        sorted.sort_by_key(|e| (e.span.start, e.span.end));
        let src = self.source();
        let mut out = String::with_capacity(src.len());
        let mut at = 0;
        for edit in sorted {
            let Range { start, end } = edit.span;
            if start < at || end < start || end > src.len() {
                return Err(format!(
                    "overlapping or invalid edit at bytes {start}..{end}"
                ));
            }
            if !src.is_char_boundary(start) || !src.is_char_boundary(end) {
                return Err(format!("edit at bytes {start}..{end} splits a character"));
            }
            out.push_str(&src[at..start]);
            out.push_str(&edit.text);
            at = end;
        }
        out.push_str(&src[at..]);
        Ok(out)
    }
}
