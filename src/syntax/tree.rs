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
        // Split at the line ends the grammar's `eol` names, then classify each line with the
        // grammar's `one_line`: the same tree as `file`, without a token queue for the whole
        // file (grammar/models_conf.pest).
        let spans = lines::split(&source, bom.end, false);
        let mut lines = Vec::with_capacity(spans.len());
        for (text, eol) in spans {
            let kind = ConfParser::parse(Rule::one_line, &source[text.clone()])
                .ok()
                .and_then(|mut pairs| pairs.next()?.into_inner().next())
                .map_or(LineKind::Stray, |pair| line_kind(pair, text.start));
            lines.push(Line {
                number: lines.len() + 1,
                text,
                eol,
                kind,
            });
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

/// The kind of one line from its `one_line` pair; spans are shifted by `at`, where the line
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
