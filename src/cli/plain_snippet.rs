//! The common diagnostic — one labelled span inside one line of printable ASCII, no related
//! spans, a message and help that fit the width — written directly in the layout miette's
//! graphical handler gives it without color, byte for byte. miette builds a dozen strings and
//! vectors per diagnostic (`render_context`, `get_lines`, `render_single_line_highlights` in
//! miette-7.6.0 src/handlers/graphical.rs); for a file with a diagnostic per profile that was
//! most of `check`'s human output time (docs/performance.md, "The 50 MB file, streamed"). Every
//! other shape, and any colored output, goes through miette; `report::tests` compares the two
//! on every shape this path takes.

use std::ops::Range;

use miette::{SourceCode, SourceSpan};

use super::excerpt::Excerpt;
use crate::diag::{Diagnostic, Severity};

/// Appends `d` to `out` as miette's uncolored unicode handler prints it, and returns true;
/// false, with nothing written, when `d` is not of the simple shape. `span`: the primary span
/// in `src`'s coordinates; `fits`: whether the message and help print unwrapped.
pub(super) fn write(
    out: &mut String,
    d: &Diagnostic,
    src: &Excerpt,
    span: &Range<usize>,
    fits: bool,
) -> bool {
    let Some(label) = d.label.as_deref() else {
        return false;
    };
    // miette prints a label line per `str::lines` item: none for "", several for a break.
    let plain_label = !label.is_empty() && !label.chars().any(char::is_control);
    if !fits || !plain_label || !d.related.is_empty() || span.is_empty() {
        return false;
    }
    // The lines miette asks for (one of context either side) and where the span starts.
    let whole = SourceSpan::from(span.clone());
    let (Ok(context), Ok(primary)) = (src.read_span(&whole, 1, 1), src.read_span(&whole, 0, 0))
    else {
        return false;
    };
    let data = context.data();
    // Printable ASCII only: one column per byte, nothing for miette to expand or measure.
    if !data.ends_with(b"\n") || !data.iter().all(|b| matches!(b, b' '..=b'~' | b'\n')) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    // The line holding the span, and the span's columns on it.
    let mut line_start = context.span().offset();
    let mut marked = None;
    for (i, line) in lines.iter().enumerate() {
        if (line_start..=line_start + line.len()).contains(&span.start) {
            if span.end > line_start + line.len() {
                return false;
            }
            marked = Some((i, span.start - line_start, span.end - line_start));
            break;
        }
        line_start += line.len() + 1;
    }
    let Some((marked, start, end)) = marked else {
        return false;
    };
    let first = context.line() + 1;
    let width = (first + lines.len() - 1).to_string().len();
    let icon = match d.severity {
        Severity::Error => "×",
        Severity::Warning => "⚠",
        Severity::Note => "☞",
    };
    let name = primary.name().unwrap_or_default();
    // Pushed piece by piece: `write!` with padding costs more than the rest of the diagnostic.
    let (code, message) = (d.code, &d.message);
    push_all(out, &[code, "\n\n  ", icon, " ", message, "\n"]);
    spaces(out, width + 2);
    push_all(out, &["╭─[", name, ":"]);
    number(out, primary.line() + 1, 0);
    out.push(':');
    number(out, primary.column() + 1, 0);
    out.push_str("]\n");
    for (i, line) in lines.iter().enumerate() {
        out.push(' ');
        number(out, first + i, width);
        push_all(out, &[" │ ", line, "\n"]);
        if i == marked {
            // The label hangs from the middle of the underline.
            let middle = (start + end) / 2;
            no_number(out, width);
            spaces(out, start);
            repeat(out, "─", middle - start);
            out.push('┬');
            repeat(out, "─", end - middle - 1);
            out.push('\n');
            no_number(out, width);
            spaces(out, middle);
            push_all(out, &["╰── ", label, "\n"]);
        }
    }
    spaces(out, width + 2);
    out.push_str("╰────\n");
    if let Some(help) = &d.help {
        push_all(out, &["  help: ", help, "\n"]);
    }
    true
}

fn push_all(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push_str(p);
    }
}

fn repeat(out: &mut String, s: &str, n: usize) {
    for _ in 0..n {
        out.push_str(s);
    }
}

fn spaces(out: &mut String, n: usize) {
    repeat(out, " ", n);
}

/// The gutter of a line without a number: ` {:width$} · ` in miette.
fn no_number(out: &mut String, width: usize) {
    out.push(' ');
    spaces(out, width);
    out.push_str(" · ");
}

/// `n` right-aligned in `width` columns.
fn number(out: &mut String, n: usize, width: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    spaces(out, width.saturating_sub(digits.len() - at));
    out.extend(digits[at..].iter().map(|&b| char::from(b)));
}
