//! Printing diagnostics: miette for people, one JSON object for scripts.

use std::borrow::Borrow;
use std::fmt::{self, Write as _};
use std::io::Write;
use std::ops::Range;

use super::excerpt::{self, Excerpt};
use super::narrow::{self, Narrow};
use crate::diag::{Diagnostic, LineIndex, Severity};
use miette::{LabeledSpan, MietteHandler, MietteHandlerOpts, SourceSpan};
use serde_json::json;

/// Adapter so our plain diagnostic renders through miette's graphical handler.
struct Shown<'a> {
    d: &'a Diagnostic,
    src: Excerpt,
    /// The primary span, then the related ones, in excerpt coordinates.
    spans: Vec<Range<usize>>,
    /// Their labels, wrapped to the terminal (`narrow`).
    labels: Vec<Option<String>>,
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Shown<'_> {}

impl miette::Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.d
            .span
            .as_ref()
            .map(|_| &self.src as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.d.span.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(
            self.labels[0].clone(),
            SourceSpan::from(self.spans[0].clone()),
        );
        let related = self.labels[1..]
            .iter()
            .zip(&self.spans[1..])
            .map(|(l, s)| LabeledSpan::new_with_span(l.clone(), SourceSpan::from(s.clone())));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

pub fn print_human<D: Borrow<Diagnostic>>(
    name: &str,
    source: &str,
    diags: impl IntoIterator<Item = D>,
    profiles: usize,
) {
    let (errors, warnings) = print_diagnostics(name, source, diags);
    let summary = format!("{name}: {profiles} profiles, {errors} errors, {warnings} warnings\n");
    eprint!("{}", super::term::get().stderr.fit(&summary));
}

/// Every diagnostic with its source excerpt, through miette, on stderr: colored and wrapped as
/// [`super::term`] decided for stderr (80 columns when it is not a terminal). With a width (a
/// terminal, `COLUMNS`), no line is wider: source lines, labels and the file name are fitted
/// (`narrow`); without one, a long source line is shown up to [`excerpt::WIDTH`] characters.
/// Returns how many errors and warnings there were.
pub fn print_diagnostics<D: Borrow<Diagnostic>>(
    name: &str,
    source: &str,
    diags: impl IntoIterator<Item = D>,
) -> (usize, usize) {
    let stderr = super::term::get().stderr;
    let style = Style::new(
        stderr.color,
        stderr.width.unwrap_or(DEFAULT_WIDTH),
        stderr.width,
    );
    let index = LineIndex::new(source);
    // Buffered: stderr is unbuffered, and miette writes a diagnostic in dozens of pieces — one
    // system call each (a third of the time on a file with a diagnostic per profile).
    let mut out = std::io::BufWriter::new(std::io::stderr().lock());
    let (mut errors, mut warnings) = (0, 0);
    let mut text = String::new();
    for d in diags {
        let d = d.borrow();
        match d.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Note => {}
        }
        text.clear();
        style.render(&mut text, name, &index, d, true);
        // A closed stderr (`2>&-`) loses the report, as `eprintln!` would; it must not panic.
        let _ = out.write_all(text.as_bytes());
    }
    let _ = out.flush();
    (errors, warnings)
}

/// How diagnostics are drawn: miette's handlers for the terminal's color and width.
struct Style {
    color: bool,
    /// What miette wraps to.
    width: usize,
    /// The terminal's width, to which every line is fitted (`narrow`); `None` for a pipe or file.
    narrow: Option<usize>,
    wrapping: MietteHandler,
    /// The same with wrapping off, for texts that fit ([`fits_unwrapped`]).
    plain: MietteHandler,
}

impl Style {
    fn new(color: bool, width: usize, narrow: Option<usize>) -> Style {
        let handler = |wrap| {
            MietteHandlerOpts::new()
                .force_graphical(true)
                .unicode(true)
                .terminal_links(false)
                .color(color)
                .width(width)
                .wrap_lines(wrap)
                .build()
        };
        Style {
            color,
            width,
            narrow,
            wrapping: handler(true),
            plain: handler(false),
        }
    }

    /// Appends `d` and a blank line to `out`. `shortcuts`: texts that fit skip the line breaker
    /// and, for a pipe or file (whose lines are not fitted), the common shape skips miette
    /// ([`super::plain_snippet`]); without, every diagnostic goes the reference way.
    fn render(
        &self,
        out: &mut String,
        name: &str,
        index: &LineIndex,
        d: &Diagnostic,
        shortcuts: bool,
    ) {
        let spans: Vec<Range<usize>> = d
            .span
            .iter()
            .cloned()
            .chain(d.related.iter().map(|r| r.span.clone()))
            .collect();
        let labels = std::iter::once(d.label.clone())
            .chain(d.related.iter().map(|r| Some(r.label.clone())))
            .collect();
        let fits = shortcuts && fits_unwrapped(d, self.width);
        let handler = if fits { &self.plain } else { &self.wrapping };
        let Some(width) = self.narrow else {
            let (src, spans) = Excerpt::new(name, index, &spans, excerpt::WIDTH);
            if fits
                && !self.color
                && d.span.is_some()
                && super::plain_snippet::write(out, d, &src, &spans[0], fits)
            {
                out.push('\n');
                return;
            }
            let shown = Shown {
                d,
                src,
                spans,
                labels,
            };
            // A diagnostic miette cannot draw ends where it stopped, without the blank line.
            if write!(out, "{}", Rendered(handler, &shown)).is_ok() {
                out.push('\n');
            }
            return;
        };
        let shown = narrowed(d, name, index, &spans, labels, width);
        let text = Rendered(handler, &shown).to_string();
        out.push_str(&narrow::cut(&text, width));
        out.push('\n');
    }
}

/// Whether miette would print the message and help each on one line: then a handler with
/// wrapping off prints the same bytes without running textwrap's Unicode line breaker on
/// them (a quarter of the time on a file with a diagnostic per profile). miette wraps the
/// message after `  × ` and the help after `  help: ` to its width less 2
/// (miette-7.6.0 src/handlers/graphical.rs, `render_causes`, `render_footer`); textwrap's
/// first fit keeps a text on one line when its display width fits, and then only trims
/// trailing spaces (textwrap-0.16 src/wrap.rs, `wrap_single_line_slow_path`). A text with a
/// line break, a control character, leading or trailing white space, or no text at all keeps
/// the wrapping handler, whose output is the reference.
fn fits_unwrapped(d: &Diagnostic, width: usize) -> bool {
    // The help's indent (8 columns), miette's 2, and one spare.
    const INDENT: usize = 11;
    let fits = |text: &str| {
        !text.is_empty()
            && !text.starts_with(char::is_whitespace)
            && !text.ends_with(char::is_whitespace)
            && !text.chars().any(char::is_control)
            // Printable ASCII (control characters are out above) is one column a byte.
            && if text.is_ascii() {
                text.len()
            } else {
                textwrap::core::display_width(text)
            } + INDENT
                <= width
    };
    fits(&d.message) && d.help.as_deref().is_none_or(fits)
}

/// `d` laid out for `width` columns: the excerpt's window, the header's file name and the labels
/// fitted to it.
fn narrowed<'a>(
    d: &'a Diagnostic,
    name: &str,
    index: &LineIndex,
    spans: &[Range<usize>],
    labels: Vec<Option<String>>,
    width: usize,
) -> Shown<'a> {
    let last_line = spans
        .iter()
        .map(|s| index.line_of(s.end))
        .max()
        .unwrap_or(0)
        + 1;
    let layout = Narrow::new(width, last_line);
    let (line, column) = spans.first().map_or((1, 1), |s| index.line_col(s.start));
    let (src, spans) = Excerpt::new(
        &layout.name(name, line, column),
        index,
        spans,
        layout.window(),
    );
    let labels = labels
        .into_iter()
        .zip(&spans)
        .map(|(label, s)| {
            let (start, first) = src.column(s.start);
            let (end, last) = src.column(s.end);
            // A span over several lines is labelled at its end, beside miette's gutter.
            label.map(|l| {
                if first == last {
                    layout.label(&l, start, end)
                } else {
                    l
                }
            })
        })
        .collect();
    Shown {
        d,
        src,
        spans,
        labels,
    }
}

/// miette's default width, used for pipes and files.
const DEFAULT_WIDTH: usize = 80;

/// Formats one diagnostic through a miette handler.
struct Rendered<'a>(&'a MietteHandler, &'a Shown<'a>);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        miette::ReportHandler::debug(self.0, self.1, f)
    }
}

/// One JSON object per file on stdout; `flags_table` says which llama-server flag table was
/// used. Written item by item: a file with hundreds of thousands of diagnostics never holds
/// them all as JSON values at once.
pub fn print_json<D: Borrow<Diagnostic>>(
    name: &str,
    source: &str,
    diags: impl IntoIterator<Item = D>,
    profiles: usize,
    flags_table: Option<&str>,
) {
    let index = LineIndex::new(source);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = (|| -> std::io::Result<()> {
        out.write_all(b"{\"diagnostics\":[")?;
        for (i, d) in diags.into_iter().enumerate() {
            let d = d.borrow();
            let at = |o| index.line_col(o);
            let start = d.span.as_ref().map(|s| at(s.start));
            let end = d.span.as_ref().map(|s| at(s.end));
            let item = JsonItem {
                code: d.code,
                column: start.map(|p| p.1),
                end_column: end.map(|p| p.1),
                end_line: end.map(|p| p.0),
                help: d.help.as_deref(),
                line: start.map(|p| p.0),
                message: &d.message,
                severity: d.severity.as_str(),
            };
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut out, &item)?;
        }
        write!(
            out,
            "],\"file\":{},\"flags_table\":{},\"profiles\":{profiles}}}",
            json!(name),
            json!(flags_table)
        )?;
        writeln!(out)?;
        out.flush()
    })();
    if let Err(e) = written {
        eprintln!("error: writing the JSON report failed: {e}");
    }
}

/// One diagnostic of [`print_json`], serialised without building a `serde_json::Value` for it.
/// The fields are in the order `serde_json::json!` sorts its keys, the order the report has
/// always had (docs/diagnostics.md).
#[derive(serde::Serialize)]
struct JsonItem<'a> {
    code: &'a str,
    column: Option<usize>,
    end_column: Option<usize>,
    end_line: Option<usize>,
    help: Option<&'a str>,
    line: Option<usize>,
    message: &'a str,
    severity: &'a str,
}

#[cfg(test)]
mod tests {
    use super::Style;
    use crate::diag::{Diagnostic, LineIndex};

    /// The shortcuts (no line breaker for texts that fit, the direct drawing) print exactly what
    /// miette's wrapping handler prints.
    #[test]
    fn simple_diagnostics_drawn_directly_match_miette_byte_for_byte() {
        let mut source = String::new();
        for i in 0..150 {
            // Mostly what the direct path takes; a tab, a wide character, a cut line and a
            // CR (miette's) now and then, next to or under a span.
            match i % 29 {
                0 | 5 => source.push_str("[profile-with-a-long-id]\n"),
                1 | 7 => source.push('\n'),
                2 | 8 | 10 => source.push_str("EXTRA_ARGS=--bogus 3 -c 4096 --temp 0.7\n"),
                3 => source.push_str("NAME=tab\there\n"),
                4 => source.push_str("NAME=naïve\n"),
                6 => source.push_str(&format!("MODEL={}.gguf\n", "x".repeat(130))),
                9 => source.push_str("CTX_SIZE=8192\r\n"),
                _ => source.push_str("MODEL=a.gguf\n"),
            }
        }
        source.push_str("LAST=no newline");
        let index = LineIndex::new(&source);
        let helps = [None, Some("remove it"), Some(&*"word ".repeat(30))];
        let messages = ["unknown flag `--bogus`", &*"long message ".repeat(12)];
        let (mut direct, mut total) = (0, 0);
        for width in [80, 200] {
            // A pipe (no fitting) wrapped at `width`, as miette's default or a wide `COLUMNS`.
            let style = Style::new(false, width, None);
            let mut starts: Vec<usize> = (0..source.len()).step_by(2).collect();
            starts.extend([0, source.len() - 4]);
            for (k, start) in starts.into_iter().enumerate() {
                if !source.is_char_boundary(start) {
                    continue;
                }
                let len = [1, 2, 3, 8, 40][k % 5];
                let mut end = (start + len).min(source.len());
                while !source.is_char_boundary(end) {
                    end += 1;
                }
                let severity = [Diagnostic::error, Diagnostic::warning, Diagnostic::note][k % 3];
                let mut d = severity("test::code", messages[k / 27 % 2])
                    .at(start..end)
                    .label(["here", "", "a label, with \"quotes\""][k / 3 % 3]);
                if let Some(h) = helps[k / 9 % 3] {
                    d = d.help(h);
                }
                if k % 11 == 0 {
                    d = d.related(0..3, "first here");
                }
                let (mut fast, mut slow) = (String::new(), String::new());
                style.render(&mut fast, "models.conf", &index, &d, true);
                style.render(&mut slow, "models.conf", &index, &d, false);
                assert_eq!(fast, slow, "span {start}..{end}, width {width}: {d:?}");
                let spans = [d.span.clone().unwrap()];
                let (src, spans) =
                    super::Excerpt::new("models.conf", &index, &spans, super::excerpt::WIDTH);
                let fits = super::fits_unwrapped(&d, width);
                direct += usize::from(super::super::plain_snippet::write(
                    &mut String::new(),
                    &d,
                    &src,
                    &spans[0],
                    fits,
                ));
                total += 1;
            }
        }
        assert!(direct > 100, "{direct} of {total} drawn directly");
    }
}
