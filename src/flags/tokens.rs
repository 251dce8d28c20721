//! Splitting EXTRA_ARGS into words the way the launcher's shell does: on ASCII whitespace,
//! with no quoting (no profile in the corpus ever quotes).

use std::ops::Range;

/// One whitespace-separated word and where it sits in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    pub span: Range<usize>,
}

/// Splits on ASCII whitespace; `&src[t.span.clone()] == t.text` for every token.
pub fn tokenize(src: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in src.bytes().enumerate() {
        if b.is_ascii_whitespace() {
            if let Some(s) = start.take() {
                push(&mut out, src, s, i);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        push(&mut out, src, s, src.len());
    }
    out
}

// ASCII whitespace bytes never sit inside a UTF-8 sequence, so both ends are char boundaries.
fn push<'a>(out: &mut Vec<Token<'a>>, src: &'a str, start: usize, end: usize) {
    if let Some(text) = src.get(start..end) {
        out.push(Token {
            text,
            span: start..end,
        });
    }
}

/// A word meant as an option name rather than a value: one or two dashes, then a letter
/// (every llama-server spelling has that shape). `-1`, `-.5`, `-->` and `-` are values.
pub fn looks_like_flag(s: &str) -> bool {
    let rest = s.strip_prefix("--").or_else(|| s.strip_prefix('-'));
    rest.and_then(|r| r.bytes().next())
        .is_some_and(|b| b.is_ascii_alphabetic())
}
