//! A bounded excerpt of the source around one diagnostic's spans, as miette's `SourceCode`.
//!
//! miette's own `SourceCode` for a string scans the whole file for every label (quadratic over
//! thousands of diagnostics) and its graphical handler panics on columns past 65,535 (a format
//! width is a `u16`). The excerpt holds only the lines the spans touch plus one line of context,
//! each cut to a window of [`WIDTH`] characters (fewer on a narrower terminal) around the span,
//! with control characters shown as their Unicode control pictures; the header still names the
//! true line and column.

use std::ops::Range;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diag::{LineIndex, floor_char_boundary};

/// Characters shown of one line at most (the window on a pipe or a wide terminal).
pub const WIDTH: usize = 120;
/// Characters shown before the first span start on a cut line (at most a third of the window).
const LEAD: usize = 30;
/// Lines shown of one multi-line span; its end is clipped after that.
const MAX_SPAN_LINES: usize = 6;
const ELLIPSIS: &str = "…";

/// One excerpt line: where it sits in the excerpt text and in the source.
struct ExLine {
    /// Byte range of the shown text in the excerpt (without the line end).
    text: Range<usize>,
    /// Byte just past the excerpt's `\n` after this line.
    end: usize,
    /// 0-based source line and the byte where it starts.
    line: usize,
    line_start: usize,
    /// Source column (0-based, characters) of the first shown character after any ellipsis.
    column: usize,
    /// Index of the block of adjacent lines this line belongs to.
    block: usize,
    /// Source byte → excerpt byte for every shown character, plus the end of the window.
    map: Vec<(usize, usize)>,
}

pub struct Excerpt {
    name: String,
    text: String,
    lines: Vec<ExLine>,
}

impl Excerpt {
    /// The excerpt for `spans` (byte ranges in the indexed source), each line cut to `window`
    /// characters; returns it with the spans moved into excerpt coordinates, in the same order.
    pub fn new(
        name: &str,
        index: &LineIndex,
        spans: &[Range<usize>],
        window: usize,
    ) -> (Excerpt, Vec<Range<usize>>) {
        let src = index.source();
        let clip = |o: usize| floor_char_boundary(src, o.min(src.len()));
        let spans: Vec<Range<usize>> = spans
            .iter()
            .map(|s| {
                let start = clip(s.start);
                let first = index.line_of(start);
                let end = clip(s.end.max(start)).min(index.line_start(first + MAX_SPAN_LINES));
                start..end.max(start)
            })
            .collect();
        let mut wanted: Vec<(usize, usize)> = spans
            .iter()
            .map(|s| {
                let first = index.line_of(s.start);
                let last = index.line_of(s.end.saturating_sub(1).max(s.start));
                (
                    first.saturating_sub(1),
                    (last + 1).min(index.line_count() - 1),
                )
            })
            .collect();
        wanted.sort_unstable();
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        for (a, b) in wanted {
            match blocks.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => blocks.push((a, b)),
            }
        }
        let mut ex = Excerpt {
            name: name.to_string(),
            text: String::new(),
            lines: Vec::new(),
        };
        for (block, (a, b)) in blocks.into_iter().enumerate() {
            for line in a..=b {
                ex.push_line(index, line, block, &spans, window);
            }
        }
        let moved = spans
            .iter()
            .map(|s| ex.map(s.start)..ex.map(s.end))
            .collect();
        (ex, moved)
    }

    fn push_line(
        &mut self,
        index: &LineIndex,
        line: usize,
        block: usize,
        spans: &[Range<usize>],
        window: usize,
    ) {
        let src = index.source();
        let start = index.line_start(line);
        // The line's text without its `\n` or `\r\n`.
        let whole = &src[start..index.line_start(line + 1).min(src.len())];
        let text = whole.strip_suffix('\n').unwrap_or(whole);
        let end = start + text.strip_suffix('\r').unwrap_or(text).len();
        // The window follows the primary span (the first one) when it starts on this line.
        let anchor = spans
            .iter()
            .map(|s| s.start)
            .find(|o| (start..=end).contains(o))
            .unwrap_or(start);
        let line_text = &src[start..end];
        // Walk back the lead from the anchor, then forward `window` characters.
        let lead = LEAD.min(window / 3).max(1);
        let back = src[start..anchor]
            .char_indices()
            .rev()
            .nth(lead - 1)
            .map_or(start, |(i, _)| start + i);
        let from = if line_text.chars().nth(window).is_none() {
            start
        } else {
            back
        };
        let to = src[from..end]
            .char_indices()
            .nth(window)
            .map_or(end, |(i, _)| from + i);
        let column = index.line_col(from).1 - 1;
        let ex_start = self.text.len();
        if from > start {
            self.text.push_str(ELLIPSIS);
        }
        let mut map = Vec::with_capacity(to - from + 1);
        for (i, c) in src[from..to].char_indices() {
            map.push((from + i, self.text.len()));
            match c {
                '\t' => self.text.push('\t'),
                c if (c as u32) < 0x20 => {
                    self.text
                        .push(char::from_u32(0x2400 + c as u32).unwrap_or('?'));
                }
                '\u{7f}' => self.text.push('\u{2421}'),
                c => self.text.push(c),
            }
        }
        map.push((to, self.text.len()));
        let text_range = ex_start..self.text.len();
        if to < end {
            self.text.push_str(ELLIPSIS);
        }
        self.text.push('\n');
        self.lines.push(ExLine {
            text: text_range,
            end: self.text.len(),
            line,
            line_start: start,
            column,
            block,
            map,
        });
    }

    /// Excerpt byte of a source byte: positions cut from a line land on the window's edge.
    fn map(&self, offset: usize) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.line_start <= offset)
            .saturating_sub(1);
        let Some(l) = self.lines.get(i) else {
            return 0;
        };
        let at = l.map.partition_point(|m| m.0 <= offset).saturating_sub(1);
        match l.map.get(at) {
            Some(&(src, ex)) if src <= offset => ex,
            _ => l.map[0].1,
        }
    }

    /// Display column (0-based) of excerpt byte `offset` on its excerpt line, and that line's
    /// index: where miette draws a label under it.
    pub fn column(&self, offset: usize) -> (usize, usize) {
        let i = self.line_at(offset);
        let Some(l) = self.lines.get(i) else {
            return (0, 0);
        };
        let upto = offset.clamp(l.text.start, l.text.end);
        (
            textwrap::core::display_width(&self.text[l.text.start..upto]),
            i,
        )
    }

    /// Index of the excerpt line holding excerpt byte `offset`.
    fn line_at(&self, offset: usize) -> usize {
        self.lines
            .partition_point(|l| l.end <= offset)
            .min(self.lines.len().saturating_sub(1))
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if self.lines.is_empty() {
            return Err(MietteError::OutOfBounds);
        }
        let start = span.offset().min(self.text.len());
        let end = (start + span.len()).min(self.text.len());
        let first = self.line_at(start);
        let last = self.line_at(end.saturating_sub(1).max(start));
        if before == 0 && after == 0 {
            let l = &self.lines[first];
            let shown = self.text[l.text.start..start.max(l.text.start)]
                .trim_start_matches(ELLIPSIS)
                .chars()
                .count();
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.clone(),
                &self.text.as_bytes()[start..end],
                (start..end).into(),
                l.line,
                l.column + shown,
                last - first + 1,
            )));
        }
        let block = self.lines[first].block;
        let mut a = first;
        while a > 0 && first - a < before && self.lines[a - 1].block == block {
            a -= 1;
        }
        let mut b = last;
        while b + 1 < self.lines.len() && b - last < after && self.lines[b + 1].block == block {
            b += 1;
        }
        let from = self.lines[a].text.start;
        let to = self.lines[b].end;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[from..to],
            (from..to).into(),
            self.lines[a].line,
            0,
            b - a + 1,
        )))
    }
}
