//! Line-level rules: what llama.cpp's PEG reader refuses outright ("failed to parse server
//! config file"), and values it silently cuts at a comment character.

use crate::diag::Diagnostic;
use crate::preset::syntax::{PresetDoc, PresetLineKind};

const REFUSED: &str = "llama-server refuses the whole file: \"failed to parse server config file\"";

pub fn check(doc: &PresetDoc, out: &mut Vec<Diagnostic>) {
    if let Some(bom) = doc.bom() {
        out.push(
            Diagnostic::error("preset::bom", "the file starts with a byte-order mark")
                .at(bom)
                .label(REFUSED)
                .help("save the file as UTF-8 without BOM"),
        );
    }
    for line in doc.lines() {
        let indented = !line.indent.is_empty();
        match &line.kind {
            PresetLineKind::Header { name, tail } => {
                if indented {
                    out.push(indented_line(line.indent.clone(), "a section header"));
                }
                header(doc, name, tail, out);
            }
            PresetLineKind::Entry {
                key,
                value,
                comment,
                ..
            } => {
                if indented {
                    out.push(indented_line(line.indent.clone(), "a `key = value` line"));
                }
                key_shape(doc.slice(key), key.clone(), out);
                if let Some(c) = comment {
                    value_cut(doc, value, c, out);
                }
            }
            PresetLineKind::BadHeader => out.push(
                Diagnostic::error("preset::unclosed-header", "section header without `]`")
                    .at(line.text.clone())
                    .label(REFUSED)
                    .help("close the header on the same line: `[name]`"),
            ),
            PresetLineKind::Stray => out.push(
                Diagnostic::error(
                    "preset::not-an-entry",
                    "line is neither `[section]`, `key = value`, a comment nor blank",
                )
                .at(line.text.clone())
                .label(REFUSED)
                .help("write `key = value` (a llama-server flag without dashes), or start the line with `;` or `#` to comment it out"),
            ),
            PresetLineKind::Blank | PresetLineKind::Comment { .. } => {}
        }
    }
}

fn indented_line(span: std::ops::Range<usize>, what: &str) -> Diagnostic {
    Diagnostic::error(
        "preset::indented",
        format!("{what} must start at the beginning of the line"),
    )
    .at(span)
    .label(REFUSED)
    .help("remove the leading blanks; only comment and blank lines may be indented")
}

fn header(
    doc: &PresetDoc,
    name: &std::ops::Range<usize>,
    tail: &std::ops::Range<usize>,
    out: &mut Vec<Diagnostic>,
) {
    if doc.slice(name).trim_matches([' ', '\t']).is_empty() {
        out.push(
            Diagnostic::error("preset::empty-section-name", "section header without a name")
                .at(name.start.saturating_sub(1)..name.end + 1)
                .label(REFUSED)
                .help("name the section: `[*]` for options every model shares, `[model-name]` for one model"),
        );
    }
    let text = doc.slice(tail);
    let rest = text.trim_start_matches([' ', '\t']);
    if !rest.is_empty() && !rest.starts_with([';', '#']) {
        let start = tail.end - rest.len();
        out.push(
            Diagnostic::error(
                "preset::text-after-header",
                "text after the section header's `]`",
            )
            .at(start..tail.end)
            .label(REFUSED)
            .help("only blanks or a `;`/`#` comment may follow `]`"),
        );
    }
}

/// llama.cpp `ident ::= [a-zA-Z_] [a-zA-Z0-9_.-]*`.
pub fn is_ident(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn key_shape(key: &str, span: std::ops::Range<usize>, out: &mut Vec<Diagnostic>) {
    if is_ident(key) {
        return;
    }
    let bare = key.trim_start_matches('-');
    let help = if bare != key && is_ident(bare) {
        format!("write the flag without its dashes: `{bare}`")
    } else {
        "a key is a llama-server flag without dashes: letters, digits, `_`, `.`, `-`, starting with a letter or `_`".to_string()
    };
    out.push(
        Diagnostic::error("preset::bad-key", format!("`{key}` is not a valid key"))
            .at(span)
            .label(REFUSED)
            .help(help),
    );
}

// The value ends at the first `;`/`#` (blanks before it or not). A comment glued to the value,
// or one that leaves a quote or bracket open, almost certainly cut a value short.
fn value_cut(
    doc: &PresetDoc,
    value: &std::ops::Range<usize>,
    comment: &std::ops::Range<usize>,
    out: &mut Vec<Diagnostic>,
) {
    let text = doc.slice(value);
    if comment.start != value.end && !unbalanced(text) {
        return;
    }
    let ch = doc.slice(&(comment.start..comment.start + 1)).to_string();
    out.push(
        Diagnostic::warning(
            "preset::value-cut",
            format!("`{ch}` starts a comment: llama-server reads the value as `{text}`"),
        )
        .at(comment.clone())
        .label("ignored by llama-server")
        .help(format!(
            "a preset value cannot contain `;` or `#`; if `{ch}` belongs to the value, pass it another way (e.g. a file flag), otherwise put a blank before the comment"
        )),
    );
}

fn unbalanced(text: &str) -> bool {
    let count = |c: char| text.matches(c).count();
    count('"') % 2 == 1
        || count('{') > count('}')
        || count('[') > count(']')
        || count('(') > count(')')
}
