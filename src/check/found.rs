//! The diagnostics a streamed check keeps until the whole-file rules have run, stored flat: every
//! message, label and help back to back in one string, and one fixed-size record per
//! diagnostic. A 50 MB file can have ~775,000 diagnostics; kept as `Diagnostic`s they are three
//! small heap strings each, allocated between the chunk's tree and profiles that are freed right
//! after, which fragmented glibc's heap until malloc took a third of the time
//! (docs/performance.md, "The 50 MB file, streamed"). Here the kept data is a few large blocks
//! that grow by doubling, and the heap between chunks empties again.

use std::ops::Range;

use crate::diag::{Diagnostic, Related, Severity};

/// Diagnostics in the order they were added until [`Findings::sort_by_key`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    text: String,
    records: Vec<Record>,
    /// Related spans of every record: (span, label's end in `text`, label's start).
    related: Vec<RelatedRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    code: &'static str,
    /// Where the message starts in `text`; the label and help follow it.
    text_start: usize,
    message_end: usize,
    label_end: usize,
    help_end: usize,
    span_start: usize,
    span_end: usize,
    related_start: usize,
    related_len: u32,
    /// [`Self::sort_key`]'s second part: which rule found it (`check::pass`'s rule order).
    rule: u8,
    severity: Severity,
    has_span: bool,
    has_label: bool,
    has_help: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RelatedRecord {
    span: Range<usize>,
    label: Range<usize>,
}

impl Findings {
    /// Keeps `d`, found by the rule whose order is `rule`, its spans moved by `offset`.
    pub fn push(&mut self, rule: u8, d: Diagnostic, offset: usize) {
        let text_start = self.text.len();
        self.text.push_str(&d.message);
        let message_end = self.text.len();
        self.text.push_str(d.label.as_deref().unwrap_or(""));
        let label_end = self.text.len();
        self.text.push_str(d.help.as_deref().unwrap_or(""));
        let help_end = self.text.len();
        let related_start = self.related.len();
        for r in &d.related {
            let start = self.text.len();
            self.text.push_str(&r.label);
            self.related.push(RelatedRecord {
                span: r.span.start + offset..r.span.end + offset,
                label: start..self.text.len(),
            });
        }
        let span = d.span.as_ref();
        self.records.push(Record {
            code: d.code,
            text_start,
            message_end,
            label_end,
            help_end,
            span_start: span.map_or(0, |s| s.start + offset),
            span_end: span.map_or(0, |s| s.end + offset),
            related_start,
            // A diagnostic has a handful of related spans; saturating keeps the type total.
            related_len: u32::try_from(d.related.len()).unwrap_or(u32::MAX),
            rule,
            severity: d.severity,
            has_span: span.is_some(),
            has_label: d.label.is_some(),
            has_help: d.help.is_some(),
        });
    }

    /// File order: by where the span starts (file-wide findings last), then by rule; stable, so
    /// one rule's findings at one byte keep the order the rule found them in.
    pub fn sort(&mut self) {
        self.records.sort_by_key(|r| {
            let start = if r.has_span { r.span_start } else { usize::MAX };
            (start, r.rule)
        });
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// How many have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.records
            .iter()
            .filter(|r| r.severity == severity)
            .count()
    }

    /// Each diagnostic, rebuilt one at a time (a renderer holds one, not all of them).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Diagnostic> + '_ {
        self.records.iter().map(|r| self.diagnostic(r))
    }

    pub fn to_vec(&self) -> Vec<Diagnostic> {
        self.iter().collect()
    }

    fn diagnostic(&self, r: &Record) -> Diagnostic {
        let text = |range: Range<usize>| self.text[range].to_owned();
        let end = r.related_start + r.related_len as usize;
        Diagnostic {
            code: r.code,
            severity: r.severity,
            message: text(r.text_start..r.message_end),
            span: r.has_span.then_some(r.span_start..r.span_end),
            label: r.has_label.then(|| text(r.message_end..r.label_end)),
            help: r.has_help.then(|| text(r.label_end..r.help_end)),
            related: self.related[r.related_start..end]
                .iter()
                .map(|x| Related {
                    span: x.span.clone(),
                    label: text(x.label.clone()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Findings;
    use crate::diag::{Diagnostic, Severity};

    #[test]
    fn findings_give_back_what_was_kept_moved_and_in_file_order() {
        let full = Diagnostic::error("a::full", "m1")
            .at(5..7)
            .label("")
            .help("h")
            .related(1..2, "r1")
            .related(3..4, "");
        let bare = Diagnostic::warning("a::bare", "");
        let late_rule = Diagnostic::note("a::late-rule", "m3").at(0..1);
        let early_rule = Diagnostic::note("a::early-rule", "m4").at(0..1);
        let mut f = Findings::default();
        f.push(2, full.clone(), 10);
        f.push(0, bare.clone(), 10);
        f.push(1, late_rule.clone(), 0);
        f.push(0, early_rule.clone(), 0);
        assert_eq!(f.count(Severity::Note), 2);
        f.sort();
        let got = f.to_vec();
        assert_eq!(got, [early_rule, late_rule, full.shifted(10), bare]);
        assert_eq!(f.len(), 4);
    }
}
