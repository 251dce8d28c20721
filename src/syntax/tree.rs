use std::ops::Range;

use pest::Parser;

use super::lines;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/models_conf.pest"]
struct ConfParser;

/// What a line is, with byte spans (absolute, into `Document::source`) of its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or only blanks.
    Blank,
    /// `# …`; `text` is everything after the `#`.
    Comment { text: Range<usize> },
    /// `[id]`; `id` is the text between the brackets, `trailing` what follows `]`.
    Header {
        id: Range<usize>,
        trailing: Range<usize>,
    },
    /// A `[`-line without a closing `]`.
    BadHeader,
    /// `KEY=VALUE`; `key` is everything before the first `=` (after leading blanks).
    Entry {
        key: Range<usize>,
        eq: usize,
        value: Range<usize>,
    },
    /// Text that is neither blank, comment, header nor `KEY=VALUE`.
    Stray,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// The line's text without its line ending.
    pub text: Range<usize>,
    /// The line ending (`\n`, `\r\n`), empty on the last line.
    pub eol: Range<usize>,
    pub kind: LineKind,
}

/// A parsed models.conf that owns its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    source: String,
    bom: Range<usize>,
    lines: Vec<Line>,
}

impl Document {
    /// Parses any text. The grammar accepts every input (problems are found by `check`), so this
    /// cannot fail; a grammar bug would surface as a single `Stray` line rather than a panic.
    pub fn parse(source: impl Into<String>) -> Document {
        let source = source.into();
        let bom = lines::bom_span(&source);
        // Split at the line ends the grammar's `eol` names, then classify the lines a block at a
        // time with the grammar's `lines`: the same tree as `file`, without a token queue for
        // the whole file (grammar/models_conf.pest).
        let spans = lines::split(&source, bom.end, false);
        let mut lines = Vec::with_capacity(spans.len());
        for block in blocks(&spans) {
            let kinds = block_kinds(&source, &spans[block.clone()]);
            for ((text, eol), kind) in spans[block].iter().cloned().zip(kinds) {
                lines.push(Line {
                    number: lines.len() + 1,
                    text,
                    eol,
                    kind,
                });
            }
        }
        let doc = Document { source, bom, lines };
        debug_assert!(doc.covers_source());
        doc
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn has_bom(&self) -> bool {
        !self.bom.is_empty()
    }

    /// The text of a span of this document.
    pub fn slice(&self, span: &Range<usize>) -> &str {
        self.source.get(span.clone()).unwrap_or("")
    }

    /// Rebuilds the text from the tree: the BOM, then each line's text and line ending.
    pub fn print(&self) -> String {
        lines::print(
            &self.source,
            &self.bom,
            self.lines.iter().map(|l| (&l.text, &l.eol)),
        )
    }

    /// The line ending most lines use, so inserted text matches the file's style.
    pub fn dominant_eol(&self) -> &'static str {
        let crlf = self
            .lines
            .iter()
            .filter(|l| self.slice(&l.eol) == "\r\n")
            .count();
        let lf = self
            .lines
            .iter()
            .filter(|l| self.slice(&l.eol) == "\n")
            .count();
        if crlf > lf { "\r\n" } else { "\n" }
    }

    fn covers_source(&self) -> bool {
        lines::covers(
            &self.source,
            self.bom.end,
            self.lines.iter().map(|l| (&l.text, &l.eol)),
        )
    }
}

/// Text per parse of the `lines` rule.
const BLOCK_BYTES: usize = 64 * 1024;

/// Consecutive runs of `spans` of about [`BLOCK_BYTES`] of text each.
fn blocks(spans: &[(Range<usize>, Range<usize>)]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut first = 0;
    for (i, (_, eol)) in spans.iter().enumerate() {
        if eol.end - spans[first].0.start >= BLOCK_BYTES || i + 1 == spans.len() {
            out.push(first..i + 1);
            first = i + 1;
        }
    }
    out
}

/// The kind of each line of a block of consecutive lines, from one parse of the `lines` rule;
/// line by line with `one_line` should that parse ever disagree with the split.
fn block_kinds(source: &str, spans: &[(Range<usize>, Range<usize>)]) -> Vec<LineKind> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Vec::new();
    };
    let at = first.0.start;
    let text = &source[at..last.0.end];
    let kinds: Option<Vec<LineKind>> = ConfParser::parse(Rule::lines, text)
        .ok()
        .and_then(|mut pairs| pairs.next())
        .map(|block| {
            block
                .into_inner()
                .filter(|p| !matches!(p.as_rule(), Rule::eol | Rule::EOI))
                .map(|p| line_kind(p, at))
                .collect()
        });
    match kinds {
        Some(kinds) if kinds.len() == spans.len() => kinds,
        _ => spans.iter().map(|(t, _)| one_line(source, t)).collect(),
    }
}

/// The kind of a line parsed alone.
fn one_line(source: &str, text: &Range<usize>) -> LineKind {
    ConfParser::parse(Rule::one_line, &source[text.clone()])
        .ok()
        .and_then(|mut pairs| pairs.next()?.into_inner().next())
        .map_or(LineKind::Stray, |pair| line_kind(pair, text.start))
}

/// The kind of one line from its pair (`lines`' or `one_line`'s child); spans are shifted by `at`, where the line
/// starts in the document.
fn line_kind(pair: pest::iterators::Pair<'_, Rule>, at: usize) -> LineKind {
    let shift = |s: pest::Span<'_>| at + s.start()..at + s.end();
    let part = |wanted: Rule| {
        pair.clone()
            .into_inner()
            .find(|p| p.as_rule() == wanted)
            .map(|p| shift(p.as_span()))
    };
    let end = at + pair.as_span().end();
    match pair.as_rule() {
        Rule::blank => LineKind::Blank,
        Rule::comment => LineKind::Comment {
            text: part(Rule::comment_text).unwrap_or(end..end),
        },
        Rule::header => LineKind::Header {
            id: part(Rule::section_id).unwrap_or(end..end),
            trailing: part(Rule::trailing).unwrap_or(end..end),
        },
        Rule::bad_header => LineKind::BadHeader,
        Rule::entry => {
            let key = part(Rule::key).unwrap_or(end..end);
            let value = part(Rule::value).unwrap_or(end..end);
            LineKind::Entry {
                eq: key.end,
                key,
                value,
            }
        }
        _ => LineKind::Stray,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block parse classifies every line as a parse of that line alone does, blank and
    /// empty lines, CRLF, lone CRs and a last line without an ending included.
    #[test]
    fn block_parse_agrees_with_line_by_line() {
        let src = "\u{FEFF}# c\r\n\n  \n[a]\nK=v=w\r\n [b] x\n[bad\nstray\n\rK=\r\n\t# x\n\u{FEFF}[c]\nEND=";
        let doc = Document::parse(src);
        assert_eq!(doc.print(), src);
        for line in doc.lines() {
            assert_eq!(line.kind, one_line(src, &line.text), "line {}", line.number);
        }
        let spans = lines::split(src, 3, false);
        assert_eq!(blocks(&spans), std::slice::from_ref(&(0..spans.len())));
        let block = ConfParser::parse(Rule::lines, &src[3..])
            .unwrap()
            .next()
            .unwrap();
        let parsed = block
            .into_inner()
            .filter(|p| !matches!(p.as_rule(), Rule::eol | Rule::EOI))
            .count();
        assert_eq!(parsed, spans.len(), "one pair per line, no fallback");
    }
}
