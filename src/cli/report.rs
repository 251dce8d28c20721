//! Printing diagnostics: miette for people, one JSON object for scripts.

use std::fmt;
use std::io::Write;
use std::ops::Range;

use super::excerpt::{self, Excerpt};
use super::narrow::{self, Narrow};
use crate::diag::{Diagnostic, LineIndex, Severity, count};
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

pub fn print_human(name: &str, source: &str, diags: &[Diagnostic], profiles: usize) {
    print_diagnostics(name, source, diags);
    let errors = count(diags, Severity::Error);
    let warnings = count(diags, Severity::Warning);
    let summary = format!("{name}: {profiles} profiles, {errors} errors, {warnings} warnings\n");
    eprint!("{}", super::term::get().stderr.fit(&summary));
}

/// Every diagnostic with its source excerpt, through miette, on stderr: colored and wrapped as
/// [`super::term`] decided for stderr (80 columns when it is not a terminal). With a width (a
/// terminal, `COLUMNS`), no line is wider: source lines, labels and the file name are fitted
/// (`narrow`); without one, a long source line is shown up to [`excerpt::WIDTH`] characters.
pub fn print_diagnostics(name: &str, source: &str, diags: &[Diagnostic]) {
    let stderr = super::term::get().stderr;
    let handler = MietteHandlerOpts::new()
        .force_graphical(true)
        .unicode(true)
        .terminal_links(false)
        .color(stderr.color)
        .width(stderr.width.unwrap_or(DEFAULT_WIDTH))
        .build();
    let index = LineIndex::new(source);
    // Buffered: stderr is unbuffered, and miette writes a diagnostic in dozens of pieces — one
    // system call each (a third of the time on a file with a diagnostic per profile).
    let mut out = std::io::BufWriter::new(std::io::stderr().lock());
    for d in diags {
        let spans: Vec<Range<usize>> = d
            .span
            .iter()
            .cloned()
            .chain(d.related.iter().map(|r| r.span.clone()))
            .collect();
        let labels = std::iter::once(d.label.clone())
            .chain(d.related.iter().map(|r| Some(r.label.clone())))
            .collect();
        let Some(width) = stderr.width else {
            let (src, spans) = Excerpt::new(name, &index, &spans, excerpt::WIDTH);
            let shown = Shown {
                d,
                src,
                spans,
                labels,
            };
            // A closed stderr (`2>&-`) loses the report, as `eprintln!` would; it must not panic.
            let _ = writeln!(out, "{}", Rendered(&handler, &shown));
            continue;
        };
        let shown = narrowed(d, name, &index, &spans, labels, width);
        let text = Rendered(&handler, &shown).to_string();
        let _ = writeln!(out, "{}", narrow::cut(&text, width));
    }
    let _ = out.flush();
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
pub fn print_json(
    name: &str,
    source: &str,
    diags: &[Diagnostic],
    profiles: usize,
    flags_table: Option<&str>,
) {
    let index = LineIndex::new(source);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Keys in the order `serde_json::json!` sorts them.
    let written = (|| -> std::io::Result<()> {
        out.write_all(b"{\"diagnostics\":[")?;
        for (i, d) in diags.iter().enumerate() {
            let (line, column, end_line, end_column) = match &d.span {
                Some(s) => {
                    let (l, c) = index.line_col(s.start);
                    let (el, ec) = index.line_col(s.end);
                    (json!(l), json!(c), json!(el), json!(ec))
                }
                None => (json!(null), json!(null), json!(null), json!(null)),
            };
            let item = json!({
                "code": d.code,
                "severity": d.severity.as_str(),
                "message": d.message,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
                "help": d.help,
            });
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
