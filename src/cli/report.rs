//! Printing diagnostics: miette for people, one JSON object for scripts.

use std::borrow::Borrow;
use std::fmt;
use std::io::Write;
use std::ops::Range;

use super::excerpt::Excerpt;
use crate::diag::{Diagnostic, LineIndex, Severity};
use miette::{LabeledSpan, MietteHandler, MietteHandlerOpts, SourceSpan};
use serde_json::json;

/// Adapter so our plain diagnostic renders through miette's graphical handler.
struct Shown<'a> {
    d: &'a Diagnostic,
    src: Excerpt,
    /// The primary span, then the related ones, in excerpt coordinates.
    spans: Vec<Range<usize>>,
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
            self.d.label.clone(),
            SourceSpan::from(self.spans[0].clone()),
        );
        let related = self.d.related.iter().zip(&self.spans[1..]).map(|(r, s)| {
            LabeledSpan::new_with_span(Some(r.label.clone()), SourceSpan::from(s.clone()))
        });
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
/// [`super::term`] decided for stderr (80 columns when it is not a terminal). Returns how many
/// errors and warnings there were.
pub fn print_diagnostics<D: Borrow<Diagnostic>>(
    name: &str,
    source: &str,
    diags: impl IntoIterator<Item = D>,
) -> (usize, usize) {
    let stderr = super::term::get().stderr;
    let width = stderr.width.unwrap_or(DEFAULT_WIDTH);
    let handler = |wrap| {
        MietteHandlerOpts::new()
            .force_graphical(true)
            .unicode(true)
            .terminal_links(false)
            .color(stderr.color)
            .width(width)
            .wrap_lines(wrap)
            .build()
    };
    let (wrapping, plain) = (handler(true), handler(false));
    let index = LineIndex::new(source);
    // Buffered: stderr is unbuffered, and miette writes a diagnostic in dozens of pieces — one
    // system call each (a third of the time on a file with a diagnostic per profile).
    let mut out = std::io::BufWriter::new(std::io::stderr().lock());
    let (mut errors, mut warnings) = (0, 0);
    for d in diags {
        let d = d.borrow();
        match d.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Note => {}
        }
        let spans: Vec<Range<usize>> = d
            .span
            .iter()
            .cloned()
            .chain(d.related.iter().map(|r| r.span.clone()))
            .collect();
        let (src, spans) = Excerpt::new(name, &index, &spans);
        let shown = Shown { d, src, spans };
        let handler = if fits_unwrapped(d, width) {
            &plain
        } else {
            &wrapping
        };
        // A closed stderr (`2>&-`) loses the report, as `eprintln!` would; it must not panic.
        let _ = writeln!(out, "{}", Rendered(handler, &shown));
    }
    let _ = out.flush();
    (errors, warnings)
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
            && textwrap::core::display_width(text) + INDENT <= width
    };
    fits(&d.message) && d.help.as_deref().is_none_or(fits)
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
