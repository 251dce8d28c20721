//! The lossless syntax tree of a preset INI (grammar/preset.pest): every byte belongs to one
//! line (text plus line ending), so `PresetDoc::print` gives back the input exactly.

use std::ops::Range;

use pest::Parser;

use crate::syntax::lines;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/preset.pest"]
struct PresetParser;

/// What a line is, with byte spans (absolute, into `PresetDoc::source`) of its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresetLineKind {
    Blank,
    /// `; …` or `# …`; `text` starts at the `;`/`#`.
    Comment {
        text: Range<usize>,
    },
    /// `[name]`; `name` is everything between the brackets, `tail` what follows `]`.
    Header {
        name: Range<usize>,
        tail: Range<usize>,
    },
    /// A `[`-line without `]`.
    BadHeader,
    /// `key = value`: `value` ends where llama.cpp ends it; `comment` is the `;`/`#` text that
    /// follows it on the line, if any.
    Entry {
        key: Range<usize>,
        eq: usize,
        value: Range<usize>,
        comment: Option<Range<usize>>,
    },
    /// Anything else.
    Stray,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetLine {
    /// 1-based line number (a lone `\r` ends a line too, as in llama.cpp).
    pub number: usize,
    /// The line without its ending.
    pub text: Range<usize>,
    /// Blanks before the first non-blank character.
    pub indent: Range<usize>,
    /// `\n`, `\r\n` or `\r`; empty on the last line.
    pub eol: Range<usize>,
    pub kind: PresetLineKind,
}

/// A parsed preset file that owns its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetDoc {
    source: String,
    bom: Range<usize>,
    lines: Vec<PresetLine>,
}

impl PresetDoc {
    /// Parses any text; the grammar accepts every input, and if it ever failed to cover it the
    /// lines fall back to unclassified text so `print` stays exact.
    pub fn parse(source: impl Into<String>) -> PresetDoc {
        let source = source.into();
        let lines = match PresetParser::parse(Rule::file, &source) {
            Ok(mut pairs) => pairs.next().map(collect_lines).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let bom = lines::bom_span(&source);
        let mut doc = PresetDoc { source, bom, lines };
        if !doc.covers_source() {
            doc.lines = fallback_lines(&doc.source, doc.bom.end);
        }
        doc
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn lines(&self) -> &[PresetLine] {
        &self.lines
    }

    /// The byte-order mark, if the file starts with one (llama.cpp refuses it).
    pub fn bom(&self) -> Option<Range<usize>> {
        (!self.bom.is_empty()).then(|| self.bom.clone())
    }

    pub fn slice(&self, span: &Range<usize>) -> &str {
        self.source.get(span.clone()).unwrap_or("")
    }

    /// Rebuilds the text from the tree.
    pub fn print(&self) -> String {
        lines::print(
            &self.source,
            &self.bom,
            self.lines.iter().map(|l| (&l.text, &l.eol)),
        )
    }

    fn covers_source(&self) -> bool {
        lines::covers(
            &self.source,
            self.bom.end,
            self.lines.iter().map(|l| (&l.text, &l.eol)),
        )
    }
}

fn span_of(pair: &pest::iterators::Pair<'_, Rule>) -> Range<usize> {
    pair.as_span().start()..pair.as_span().end()
}

fn collect_lines(file: pest::iterators::Pair<'_, Rule>) -> Vec<PresetLine> {
    let src = file.as_str();
    let base = file.as_span().start();
    let mut lines: Vec<PresetLine> = Vec::new();
    for pair in file.into_inner() {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::eol => {
                if let Some(last) = lines.last_mut() {
                    last.eol = span;
                }
            }
            Rule::bom | Rule::EOI => {}
            rule => {
                let indent = part(&pair, Rule::indent).unwrap_or(span.start..span.start);
                let kind = line_kind(rule, &pair, |at| {
                    // The `=` after the key: the first one at or after `at` (blanks between).
                    src.get(at - base..)
                        .and_then(|rest| rest.find('='))
                        .map_or(at, |i| at + i)
                });
                lines.push(PresetLine {
                    number: lines.len() + 1,
                    eol: span.end..span.end,
                    text: span,
                    indent,
                    kind,
                });
            }
        }
    }
    lines
}

fn part(pair: &pest::iterators::Pair<'_, Rule>, wanted: Rule) -> Option<Range<usize>> {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == wanted)
        .map(|p| span_of(&p))
}

fn line_kind(
    rule: Rule,
    pair: &pest::iterators::Pair<'_, Rule>,
    eq_after: impl Fn(usize) -> usize,
) -> PresetLineKind {
    let end = pair.as_span().end();
    match rule {
        Rule::blank => PresetLineKind::Blank,
        Rule::comment => PresetLineKind::Comment {
            text: part(pair, Rule::comment_text).unwrap_or(end..end),
        },
        Rule::header => PresetLineKind::Header {
            name: part(pair, Rule::section_name).unwrap_or(end..end),
            tail: part(pair, Rule::header_tail).unwrap_or(end..end),
        },
        Rule::bad_header => PresetLineKind::BadHeader,
        Rule::entry => {
            let key = part(pair, Rule::key).unwrap_or(end..end);
            let value = part(pair, Rule::value).unwrap_or(end..end);
            PresetLineKind::Entry {
                eq: eq_after(key.end),
                key,
                value,
                comment: part(pair, Rule::value_comment),
            }
        }
        _ => PresetLineKind::Stray,
    }
}

/// Line splitting without classification, only for a grammar that failed to cover the input.
fn fallback_lines(source: &str, start: usize) -> Vec<PresetLine> {
    lines::split(source, start, true)
        .into_iter()
        .enumerate()
        .map(|(i, (text, eol))| PresetLine {
            number: i + 1,
            indent: text.start..text.start,
            text,
            eol,
            kind: PresetLineKind::Stray,
        })
        .collect()
}
